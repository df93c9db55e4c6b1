/* The value transformations of the masking rules. */
#include "desensitize/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest magnitude generalized exactly: doubles hold every integer up to
 * 2^53, about 9e15. */
#define GENERALIZE_MAX 1e15

void dz_mask_ctx_init(struct dz_mask_ctx *ctx,
                      const uint8_t secret[DZ_SECRET_SIZE])
{
    crypto_auth_hmacsha256_init(&ctx->hmac, secret, DZ_SECRET_SIZE);
}

static int append_stars(struct dz_buf *out, size_t n)
{
    int ret = dz_buf_reserve(out, n);

    if (ret < 0)
        return ret;
    memset(out->data + out->len, '*', n);
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

/* Byte offset where the last n code points of s begin. */
static size_t utf8_suffix_start(const char *s, size_t len, size_t n)
{
    size_t i = len;

    while (i > 0 && n > 0) {
        i--;
        while (i > 0 && ((uint8_t)s[i] & 0xC0) == 0x80)
            i--;
        n--;
    }
    return i;
}

static int apply_mask(const struct dz_rule *rule, const char *v, size_t len,
                      struct dz_buf *out)
{
    size_t chars = utf8_count(v, len), head, tail;
    int ret;

    if (chars <= rule->head + rule->tail)
        return append_stars(out, chars);
    head = utf8_prefix_bytes(v, len, rule->head);
    tail = utf8_suffix_start(v, len, rule->tail);
    ret = dz_buf_append(out, v, head);
    if (ret == 0)
        ret = append_stars(out, chars - rule->head - rule->tail);
    if (ret == 0)
        ret = dz_buf_append(out, v + tail, len - tail);
    return ret;
}

static int apply_pseudonym(const struct dz_rule *rule,
                           const struct dz_mask_ctx *ctx, const char *v,
                           size_t len, struct dz_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    crypto_auth_hmacsha256_state st = ctx->hmac;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    char text[DZ_PREFIX_MAX + 16];
    size_t n = strlen(rule->prefix);

    dz_trim(&v, &len);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)v, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(text, rule->prefix, n);
    for (size_t i = 0; i < 8; i++) {
        text[n++] = hex[mac[i] >> 4];
        text[n++] = hex[mac[i] & 0xF];
    }
    sodium_memzero(&st, sizeof(st));
    return dz_buf_append(out, text, n);
}

/* Format v in decimal at out (at least 21 bytes); return the length. */
static size_t format_int(int64_t v, char *out)
{
    char digits[20];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, len = 0;

    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = digits[--n];
    return len;
}

/* Return 1 when the value is not a number. */
static int apply_generalize(const struct dz_rule *rule, const char *v,
                            size_t len, struct dz_buf *out)
{
    char text[64], number[64], *end = NULL;
    double x, width = (double)rule->width;
    int64_t low;
    size_t n;

    dz_trim(&v, &len);
    if (len == 0 || len >= sizeof(number))
        return 1;
    memcpy(number, v, len);
    number[len] = '\0';
    x = strtod(number, &end);
    if (*end || !isfinite(x) || fabs(x) > GENERALIZE_MAX)
        return 1;
    low = (int64_t)(floor(x / width) * width);
    n = format_int(low, text);
    if (rule->width > 1) {
        text[n++] = '-';
        n += format_int(low + (int64_t)rule->width - 1, text + n);
    }
    return dz_buf_append(out, text, n);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Return 1 when the value is not a date YYYY-MM-DD or YYYY/MM/DD. */
static int apply_date(const struct dz_rule *rule, const char *v, size_t len,
                      struct dz_buf *out)
{
    unsigned month, day;
    char sep;

    dz_trim(&v, &len);
    if (len < 10 || !digits(v, 4) || !digits(v + 5, 2) || !digits(v + 8, 2))
        return 1;
    sep = v[4];
    if ((sep != '-' && sep != '/') || v[7] != sep)
        return 1;
    if (len > 10 && v[10] != ' ' && v[10] != 'T')
        return 1;
    month = (unsigned)(v[5] - '0') * 10 + (unsigned)(v[6] - '0');
    day = (unsigned)(v[8] - '0') * 10 + (unsigned)(v[9] - '0');
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return 1;
    if (rule->precision == DZ_DATE_YEAR)
        return dz_buf_append(out, v, 4);
    if (dz_buf_append(out, v, 4) < 0 || dz_buf_putc(out, '-') < 0)
        return -ENOMEM;
    return dz_buf_append(out, v + 5, 2);
}

static int apply(const struct dz_rule *rule, const struct dz_mask_ctx *ctx,
                 const char *v, size_t len, struct dz_buf *out)
{
    switch (rule->action) {
    case DZ_ACTION_MASK:
        return apply_mask(rule, v, len, out);
    case DZ_ACTION_PSEUDONYM:
        return apply_pseudonym(rule, ctx, v, len, out);
    case DZ_ACTION_GENERALIZE:
        return apply_generalize(rule, v, len, out);
    case DZ_ACTION_DATE:
        return apply_date(rule, v, len, out);
    case DZ_ACTION_REDACT:
        return dz_buf_append(out, DZ_REDACTED, strlen(DZ_REDACTED));
    default:
        return dz_buf_append(out, v, len);
    }
}

int dz_mask_value(const struct dz_rule *rule, const struct dz_mask_ctx *ctx,
                  const char *value, size_t len, struct dz_buf *out)
{
    size_t start = out->len;
    int ret;

    if (len == 0 && rule->action != DZ_ACTION_REDACT)
        return 0;
    ret = apply(rule, ctx, value, len, out);
    if (ret != 1)
        return ret;
    out->len = start;
    ret = dz_buf_append(out, DZ_REDACTED, strlen(DZ_REDACTED));
    return ret < 0 ? ret : 1;
}
