/* Finding identifiers in arbitrary text (see pii_scan() in pii.h). */
#include "desensitize/pii.h"

#include "common/cleanup.h"
#include "desensitize/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Longest digit sequence worth checking: 0086 plus 11 digits, or a 19-digit
 * card in groups. */
#define SEQUENCE_DIGITS_MAX 24
#define EMAIL_LOCAL_MAX 64

struct scan {
    const char *s;
    size_t len;
    size_t first, last; /* the trimmed text is [first, last) */
    pii_hit_fn fn;
    void *userdata;
    int hits;
    int error; /* negative value returned by fn */
    bool has_at;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t token_end(const struct scan *sc, size_t i)
{
    while (i < sc->len && is_alnum(sc->s[i]))
        i++;
    return i;
}

static bool digits_only(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static int report(struct scan *sc, enum pii_kind kind, const char *value,
                  size_t len, size_t start, size_t end)
{
    struct pii_hit hit = {.kind = kind};

    hit.whole = start == sc->first && end == sc->last;
    if (len >= sizeof(hit.value))
        len = sizeof(hit.value) - 1;
    memcpy(hit.value, value, len);
    sc->hits++;
    if (sc->fn) {
        int r = sc->fn(&hit, sc->userdata);

        if (r < 0) {
            sc->error = r;
            return r;
        }
    }
    return 0;
}

/* Classify one token [a, b) on its own; return 1 and report on a hit. */
static int check_token(struct scan *sc, size_t a, size_t b)
{
    const char *t = sc->s + a;
    size_t len = b - a;
    enum pii_kind kind;
    size_t skip = 0;

    if (pii_resident_id18_valid(t, len) || pii_resident_id15_valid(t, len))
        kind = PII_RESIDENT_ID;
    else if (pii_uscc_valid(t, len))
        kind = PII_USCC;
    else if (len == 15 && memcmp(t, "0086", 4) == 0 &&
             pii_mobile_valid(t + 4, 11))
        kind = PII_MOBILE, skip = 4;
    else if (pii_mobile_valid(t, len))
        kind = PII_MOBILE;
    else if (pii_bank_card_valid(t, len))
        kind = PII_BANK_CARD;
    else
        return 0;
    return report(sc, kind, t + skip, len - skip, a, b) < 0 ? -1 : 1;
}

/* Classify the digits of several groups ("138 1234 5678") or of a group
 * after a plus sign ("+86 138..."). */
static int check_sequence(struct scan *sc, const char *d, size_t n,
                          size_t groups, bool plus, size_t start, size_t end)
{
    enum pii_kind kind;
    size_t skip = 0;

    if (plus && n == 13 && memcmp(d, "86", 2) == 0 && pii_mobile_valid(d + 2, 11))
        kind = PII_MOBILE, skip = 2;
    else if (n == 15 && memcmp(d, "0086", 4) == 0 && pii_mobile_valid(d + 4, 11))
        kind = PII_MOBILE, skip = 4;
    else if (groups < 2)
        return 0;
    else if (pii_mobile_valid(d, n))
        kind = PII_MOBILE;
    else if (pii_resident_id18_valid(d, n))
        kind = PII_RESIDENT_ID;
    else if (pii_bank_card_valid(d, n))
        kind = PII_BANK_CARD;
    else
        return 0;
    return report(sc, kind, d + skip, n - skip, start, end) < 0 ? -1 : 1;
}

/* Collect digit groups joined by single spaces or hyphens from the digit
 * token [a, b); return the end of the last group. */
static size_t collect_groups(const struct scan *sc, size_t a, size_t b,
                             char *d, size_t *ret_n, size_t *ret_groups)
{
    size_t n = b - a, groups = 1;

    memcpy(d, sc->s + a, n);
    while (b + 1 < sc->len && (sc->s[b] == ' ' || sc->s[b] == '-') &&
           is_digit(sc->s[b + 1])) {
        size_t e = token_end(sc, b + 1);

        if (!digits_only(sc->s + b + 1, e - b - 1) ||
            n + (e - b - 1) > SEQUENCE_DIGITS_MAX)
            break;
        memcpy(d + n, sc->s + b + 1, e - b - 1);
        n += e - b - 1;
        groups++;
        b = e;
    }
    *ret_n = n;
    *ret_groups = groups;
    return b;
}

/* Handle the candidate at i (a token, or '+' before digits); return the
 * index to continue at, or SIZE_MAX when the callback stopped the scan. */
static size_t scan_candidate(struct scan *sc, size_t i)
{
    bool plus = sc->s[i] == '+';
    size_t a = plus ? i + 1 : i, b = token_end(sc, a);
    char digits[SEQUENCE_DIGITS_MAX];
    size_t n, groups, end;
    int r;

    if (!digits_only(sc->s + a, b - a) || b - a > SEQUENCE_DIGITS_MAX) {
        r = plus ? 0 : check_token(sc, a, b);
        return r < 0 ? SIZE_MAX : b;
    }
    end = collect_groups(sc, a, b, digits, &n, &groups);
    r = check_sequence(sc, digits, n, groups, plus, i, end);
    if (r > 0)
        return end;
    if (r == 0)
        r = check_token(sc, a, b);
    return r < 0 ? SIZE_MAX : b;
}

/* Try an e-mail address whose local part starts at i; return its end or
 * 0. */
static size_t try_email(struct scan *sc, size_t i, bool *ret_stop)
{
    size_t j = i, k;
    const char *s = sc->s;

    while (j < sc->len && j - i <= EMAIL_LOCAL_MAX &&
           (is_alnum(s[j]) || (s[j] && strchr("._%+-", s[j]))))
        j++;
    if (j >= sc->len || s[j] != '@')
        return 0;
    for (k = j + 1; k < sc->len && (is_alnum(s[k]) || s[k] == '-' ||
                                    s[k] == '.');)
        k++;
    while (k > j + 1 && s[k - 1] == '.')
        k--;
    if (!pii_email_valid(s + i, k - i))
        return 0;
    *ret_stop = report(sc, PII_EMAIL, s + i, k - i, i, k) < 0;
    return k;
}

static int scan_normalized(struct scan *sc)
{
    size_t i = 0;

    sc->last = sc->len;
    while (sc->last > 0 && dz_is_space(sc->s[sc->last - 1]))
        sc->last--;
    while (i < sc->len && dz_is_space(sc->s[i]))
        i++;
    sc->first = i;
    sc->has_at = memchr(sc->s, '@', sc->len) != NULL;
    while (i < sc->len) {
        char c = sc->s[i];
        bool stop = false;
        size_t next;

        if (!is_alnum(c) && !(c == '+' && i + 1 < sc->len && is_digit(sc->s[i + 1]))) {
            i++;
            continue;
        }
        next = sc->has_at && is_alnum(c) ? try_email(sc, i, &stop) : 0;
        if (next == 0)
            next = scan_candidate(sc, i);
        if (stop || next == SIZE_MAX)
            return -1;
        i = next;
    }
    return 0;
}

/* Map the full-width forms of digits, letters, '+', '-', '.', '@' and the
 * ideographic space to ASCII; return the length written to out (which
 * must hold len bytes). */
static size_t normalize(const char *s, size_t len, char *out)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        uint8_t b2 = i + 2 < len ? u[i + 2] : 0;

        if (u[i] == 0xEF && i + 2 < len && u[i + 1] == 0xBC) {
            if (b2 >= 0x90 && b2 <= 0x99) {
                out[o++] = (char)('0' + b2 - 0x90);
            } else if (b2 >= 0xA1 && b2 <= 0xBA) {
                out[o++] = (char)('A' + b2 - 0xA1);
            } else if (b2 == 0x8B || b2 == 0x8D || b2 == 0x8E || b2 == 0xA0) {
                out[o++] = b2 == 0x8B ? '+' : b2 == 0x8D ? '-'
                         : b2 == 0x8E ? '.' : '@';
            } else {
                out[o++] = s[i];
                continue;
            }
            i += 2;
        } else if (u[i] == 0xEF && i + 2 < len && u[i + 1] == 0xBD &&
                   b2 >= 0x81 && b2 <= 0x9A) {
            out[o++] = (char)('a' + b2 - 0x81);
            i += 2;
        } else if (u[i] == 0xE3 && i + 2 < len && u[i + 1] == 0x80 && b2 == 0x80) {
            out[o++] = ' ';
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

int pii_scan(const char *text, size_t len, pii_hit_fn fn, void *userdata)
{
    struct scan sc = {.s = text, .len = len, .fn = fn, .userdata = userdata};
    _cleanup_free_ char *copy = NULL;
    char local[1024];
    char *out = local;

    if (memchr(text, 0xEF, len) || memchr(text, 0xE3, len)) {
        if (len > sizeof(local)) {
            out = copy = malloc(len);
            if (!copy)
                return -ENOMEM;
        }
        sc.s = out;
        sc.len = normalize(text, len, out);
    }
    if (scan_normalized(&sc) < 0)
        return sc.error;
    return sc.hits;
}
