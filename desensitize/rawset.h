/* Lookups in a raw set, shared by rawset.c and the overlap check. */
#ifndef WARDEN_DESENSITIZE_RAWSET_H
#define WARDEN_DESENSITIZE_RAWSET_H

#include "desensitize/desensitize.h"

#define RAWSET_HASH_SIZE crypto_hash_sha256_BYTES

/* Reusable memory of rawset_match_subset(); zero-initialize it. */
struct rawset_scratch {
    uint64_t *items;
    size_t cap;
};

/* Write the digest of a normalized value (trimmed, ASCII folded). */
void rawset_digest(const char *s, size_t len, uint8_t out[RAWSET_HASH_SIZE]);

/* Whether the normalized row, fields in this order, is in the set. */
bool rawset_has_row(const struct dz_rawset *set, const struct csv_row *row);

/* Whether the multiset of n field digests is the multiset of a raw row.
 * Sorts digests in place. */
bool rawset_has_bag(const struct dz_rawset *set,
                    uint8_t (*digests)[RAWSET_HASH_SIZE], size_t n);

/* Whether the normalized value (trimmed, ASCII folded) is in the set. */
bool rawset_has_value(const struct dz_rawset *set, const char *s, size_t len);
bool rawset_has_value_digest(const struct dz_rawset *set,
                             const uint8_t digest[RAWSET_HASH_SIZE]);

/* Whether the n sorted field digests include min(DZ_SUBSET_VALUES_MIN, m)
 * of the m distinctive values of one raw row, for a row with
 * m >= DZ_SUBSET_ROW_VALUES_MIN.
 * Return 1 or 0, or -ENOMEM. */
int rawset_match_subset(const struct dz_rawset *set,
                        const uint8_t (*digests)[RAWSET_HASH_SIZE], size_t n,
                        struct rawset_scratch *scratch);
void rawset_scratch_free(struct rawset_scratch *scratch);

#endif
