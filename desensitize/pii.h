/* Detectors for personal identifiers that validate check characters and
 * dates instead of only matching a pattern.
 *
 * Detectors work on ASCII.  The scanner maps full-width digits and letters
 * (U+FF10..U+FF19, U+FF21..U+FF3A, U+FF41..U+FF5A), the full-width plus,
 * hyphen, full stop and commercial at, and the ideographic space to their
 * ASCII forms first, so "１３８..." is found like "138...". */
#ifndef WARDEN_DESENSITIZE_PII_H
#define WARDEN_DESENSITIZE_PII_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum pii_kind {
    PII_RESIDENT_ID, /* 18 characters, ISO 7064 MOD 11-2; or 15 legacy digits */
    PII_MOBILE,      /* mainland mobile: 1[3-9] and 9 digits, +86/0086 allowed */
    PII_BANK_CARD,   /* 13 to 19 digits with a valid Luhn check digit */
    PII_USCC,        /* unified social credit code, GB 32100-2015 */
    PII_EMAIL,
    PII_KIND_MAX
};

/* "resident_id", "mobile", "bank_card", "uscc" or "email". */
const char *pii_kind_to_string(enum pii_kind kind);

/* Validators.  Each takes exactly the candidate (no separators, no
 * surrounding text) and returns whether it is valid. */
bool pii_resident_id18_valid(const char *s, size_t len);
bool pii_resident_id15_valid(const char *s, size_t len);
bool pii_mobile_valid(const char *s, size_t len);
bool pii_luhn_valid(const char *s, size_t len);
bool pii_bank_card_valid(const char *s, size_t len);
bool pii_uscc_valid(const char *s, size_t len);
bool pii_email_valid(const char *s, size_t len);

/* Size of the masked form of an 18-character resident id, with its NUL. */
#define PII_RESIDENT_ID_MASKED_SIZE 19

/* Check an 18-character resident identity number: 17 digits, a check
 * character (digit, 'X' or 'x') matching ISO 7064 MOD 11-2, and a valid
 * birth date between 1900-01-01 and today.  Return 0 or -EINVAL with a
 * message naming the part that is wrong (the number itself is not copied
 * into the message). */
int pii_resident_id_check(const char *id, struct werr *err);

/* Check id as pii_resident_id_check() does and write its masked form
 * (first 6 and last 4 characters kept, 8 '*' between, 'x' uppercased). */
int pii_resident_id_mask(const char *id,
                         char ret_masked[PII_RESIDENT_ID_MASKED_SIZE],
                         struct werr *err);

#define PII_VALUE_MAX 256

/* One identifier found by pii_scan(). */
struct pii_hit {
    enum pii_kind kind;
    bool whole;                /* the identifier is the whole trimmed text */
    char value[PII_VALUE_MAX]; /* normalized: digits without separators */
};

/* Called for each hit; a negative return stops the scan and is returned. */
typedef int (*pii_hit_fn)(const struct pii_hit *hit, void *userdata);

/* Find identifiers anywhere in text, also inside free text.  Candidates
 * are maximal runs of ASCII letters and digits, digit groups joined by
 * single spaces or hyphens ("138 1234 5678", "+86-138-1234-5678") and
 * e-mail addresses; a run glued to other letters or digits is not a
 * candidate.  Return the number of hits or the callback's negative value.
 * fn may be NULL to only count. */
int pii_scan(const char *text, size_t len, pii_hit_fn fn, void *userdata);

/* Write the masked example of a normalized value for reports: resident ids
 * keep 6 + 4, mobiles 3 + 4, bank cards the last 4, credit codes 2 + 4 and
 * e-mail addresses the first character and the domain. */
void pii_mask_example(enum pii_kind kind, const char *value, char *ret,
                      size_t size);

#endif
