/* Helpers shared by the files of the desensitize module.  Nothing here is
 * part of the module's public face. */
#ifndef WARDEN_DESENSITIZE_INTERNAL_H
#define WARDEN_DESENSITIZE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "desensitize/desensitize.h"

/* Growable byte buffer; data is NUL-terminated after every append. */
struct dz_buf {
    char *data;
    size_t len;
    size_t cap;
};

int dz_buf_reserve(struct dz_buf *b, size_t extra);
void dz_buf_free(struct dz_buf *b);

/* Inline because the CSV reader and writer call it for every field. */
static inline int dz_buf_append(struct dz_buf *b, const void *data,
                                size_t len)
{
    if (b->len + len >= b->cap) {
        int ret = dz_buf_reserve(b, len);

        if (ret < 0)
            return ret;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static inline int dz_buf_putc(struct dz_buf *b, char c)
{
    return dz_buf_append(b, &c, 1);
}

/* Result of utf8_validate(). */
enum utf8_status {
    UTF8_VALID,      /* every byte belongs to a complete sequence */
    UTF8_INCOMPLETE, /* valid, but the last sequence is cut off */
    UTF8_INVALID,    /* an invalid byte was found */
};

/* Validate s strictly (no overlong forms, surrogates or code points above
 * U+10FFFF).  On UTF8_INCOMPLETE and UTF8_INVALID, *ret_offset is the index
 * of the first byte of the cut-off sequence or of the invalid byte. */
enum utf8_status utf8_validate(const uint8_t *s, size_t len,
                               size_t *ret_offset);

/* Number of code points in the valid UTF-8 string s. */
size_t utf8_count(const char *s, size_t len);

/* Byte length of the first n code points of s (at most len). */
size_t utf8_prefix_bytes(const char *s, size_t len, size_t n);

/* Rules bound to the columns of one header: rule_of[i] is the rule for
 * column i or NULL for an implicit keep. */
struct dz_plan {
    size_t n_columns;
    const struct dz_rule **rule_of;
};

int dz_plan_bind(const struct dz_rules *rules, const struct csv_row *header,
                 struct dz_plan *ret_plan, struct werr *err);
void dz_plan_free(struct dz_plan *plan);

/* Profile the columns of reader (positioned after the header) whose entry
 * in want is true (all columns when want is NULL). */
int dz_profile_reader(struct csv_reader *reader, const struct csv_row *header,
                      const bool *want, struct dz_profile **ret_profile,
                      struct werr *err);

/* Keyed state for pseudonyms, prepared once per tenant secret. */
struct dz_mask_ctx {
    crypto_auth_hmacsha256_state hmac;
};

void dz_mask_ctx_init(struct dz_mask_ctx *ctx,
                      const uint8_t secret[DZ_SECRET_SIZE]);

/* Apply rule to one value and append the result to out.  Return 1 when the
 * value did not fit the rule (and was redacted), 0 otherwise, or -ENOMEM. */
int dz_mask_value(const struct dz_rule *rule, const struct dz_mask_ctx *ctx,
                  const char *value, size_t len, struct dz_buf *out);

static inline char dz_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static inline bool dz_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* Shrink [*s, *s + *len) to drop ASCII white space at both ends. */
void dz_trim(const char **s, size_t *len);



/* Count a finding in report and keep it when there is room. */
void dz_report_add(struct dz_report *report, const struct dz_finding *finding);

/* Write a masked example of an arbitrary value: its first character, then
 * one '*' per further character (at most 16). */
void dz_mask_generic(const char *value, size_t len, char *ret, size_t size);

/* Copy a column name into a finding, cut to fit. */
void dz_finding_set_column(struct dz_finding *f, size_t column,
                           const char *name);
#endif
