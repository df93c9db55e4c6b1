/* Strict UTF-8 validation and code point counting. */
#include "desensitize/internal.h"

#include <string.h>

/* Length of the sequence that starts with lead byte c, or 0 when c cannot
 * start one (continuation bytes, C0, C1 and F5..FF). */
static size_t sequence_length(uint8_t c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

/* Check the second byte, which carries the overlong, surrogate and range
 * limits (Unicode 15, table 3-7). */
static bool second_byte_ok(uint8_t lead, uint8_t c)
{
    uint8_t lo = 0x80, hi = 0xBF;

    if (lead == 0xE0)
        lo = 0xA0;
    else if (lead == 0xED)
        hi = 0x9F;
    else if (lead == 0xF0)
        lo = 0x90;
    else if (lead == 0xF4)
        hi = 0x8F;
    return c >= lo && c <= hi;
}

/* Validate one multibyte sequence at s; return its length, 0 when invalid
 * and -1 when it is cut off by the end of the buffer. */
static int check_sequence(const uint8_t *s, size_t avail)
{
    size_t n = sequence_length(s[0]);

    if (n == 0)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (i >= avail)
            return -1;
        if (i == 1 ? !second_byte_ok(s[0], s[1]) : (s[i] & 0xC0) != 0x80)
            return 0;
    }
    return (int)n;
}

static bool ascii_word(const uint8_t *s)
{
    uint64_t w;

    memcpy(&w, s, sizeof(w));
    return (w & 0x8080808080808080ULL) == 0;
}

enum utf8_status utf8_validate(const uint8_t *s, size_t len,
                               size_t *ret_offset)
{
    size_t i = 0;

    while (i < len) {
        int n;

        if (i + 8 <= len && ascii_word(s + i)) {
            i += 8;
            continue;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        /* Fast path for the common three-byte form (U+0800..U+FFFF,
         * including CJK); check_sequence() handles the rest. */
        if (i + 2 < len && s[i] >= 0xE1 && s[i] <= 0xEC &&
            (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80) {
            i += 3;
            continue;
        }
        n = check_sequence(s + i, len - i);
        if (n <= 0) {
            *ret_offset = i;
            return n < 0 ? UTF8_INCOMPLETE : UTF8_INVALID;
        }
        i += (size_t)n;
    }
    return UTF8_VALID;
}

size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((uint8_t)s[i] & 0xC0) != 0x80;
    return n;
}

size_t utf8_prefix_bytes(const char *s, size_t len, size_t n)
{
    size_t i = 0;

    while (i < len && n > 0) {
        i++;
        while (i < len && ((uint8_t)s[i] & 0xC0) == 0x80)
            i++;
        n--;
    }
    return i;
}
