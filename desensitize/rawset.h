/* Lookups in a raw set, shared by rawset.c and overlap.c. */
#ifndef WARDEN_DESENSITIZE_RAWSET_H
#define WARDEN_DESENSITIZE_RAWSET_H

#include "desensitize/desensitize.h"

/* Whether the normalized row is in the set. */
bool rawset_has_row(const struct dz_rawset *set, const struct csv_row *row);

/* Whether the normalized value (trimmed, ASCII folded) is in the set. */
bool rawset_has_value(const struct dz_rawset *set, const char *s, size_t len);

#endif
