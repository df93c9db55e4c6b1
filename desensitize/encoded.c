/* Decoding of base64 and hex text for the overlap check. */
#include "desensitize/encoded.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

static bool is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

bool enc_is_token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '-' ||
           c == '_';
}

size_t enc_token_length(const char *s, size_t len)
{
    size_t n = 0, pad = 0;

    while (n < len && enc_is_token_char(s[n]))
        n++;
    while (n > 0 && n < len && pad < 2 && s[n] == '=') {
        n++;
        pad++;
    }
    return n;
}

static bool all_hex(const char *s, size_t len, size_t *ret_digits)
{
    size_t digits = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            continue;
        if (!is_hex_digit(s[i]))
            return false;
        digits++;
    }
    *ret_digits = digits;
    return true;
}

/* Length of the UTF-8 sequence that starts with byte c, 0 if none does. */
static size_t sequence_length(unsigned char c)
{
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

bool enc_make_text(struct dz_buf *b)
{
    size_t bad = 0, i = 0;

    while (i < b->len) {
        unsigned char c = (unsigned char)b->data[i];
        size_t n = c < 0x80 ? 1 : sequence_length(c), offset;
        bool ok;

        if (c < 0x80)
            ok = (c >= 0x20 && c != 0x7f) || c == '\t' || c == '\r' ||
                 c == '\n';
        else
            ok = n > 0 && i + n <= b->len &&
                 utf8_validate((const uint8_t *)b->data + i, n, &offset) ==
                     UTF8_VALID;
        if (!ok) {
            b->data[i] = '\n';
            bad++;
            n = 1;
        }
        i += n;
    }
    return b->len > 0 && bad * ENC_BAD_RATIO <= b->len;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decode leniently: characters outside the alphabet (line feeds, padding,
 * damage) are skipped instead of failing the whole text, and a cut-off
 * last group is dropped.  Both base64 alphabets are accepted. */
static int decode_digits(const char *s, size_t len, bool hex,
                         struct dz_buf *out)
{
    unsigned bits = hex ? 4 : 6, acc = 0, acc_bits = 0;

    out->len = 0;
    if (dz_buf_reserve(out, len) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        int v = hex ? hex_value(s[i]) : base64_value(s[i]);

        if (v < 0)
            continue;
        acc = (acc << bits) | (unsigned)v;
        acc_bits += bits;
        if (acc_bits >= 8) {
            acc_bits -= 8;
            out->data[out->len++] = (char)((acc >> acc_bits) & 0xff);
            acc &= (1u << acc_bits) - 1;
        }
    }
    out->data[out->len] = '\0';
    return 0;
}

int enc_decode_text(const char *s, size_t len, struct dz_buf *out)
{
    size_t digits = 0;
    int ret;

    if (all_hex(s, len, &digits) && digits % 2 == 0) {
        ret = decode_digits(s, len, true, out);
        if (ret < 0 || enc_make_text(out))
            return ret < 0 ? ret : 1;
    }
    ret = decode_digits(s, len, false, out);
    if (ret < 0)
        return ret;
    return enc_make_text(out);
}

static size_t skip_spaces(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

int enc_dump_line(const char *s, size_t len, struct dz_buf *out)
{
    size_t start = out->len, i = skip_spaces(s, len, 0), j = i;
    int bytes = 0;

    while (j < len && is_hex_digit(s[j]))
        j++;
    if (j - i < 6 || j - i > 16 || j == len || (s[j] != ':' && s[j] != ' '))
        return 0;
    i = j + (s[j] == ':');
    for (;;) {
        size_t gap_end = skip_spaces(s, len, i);
        size_t digits = 0;

        /* Three or more spaces separate the hex from the character column
         * of a short last line, in both layouts. */
        if (gap_end == i || gap_end - i > 2 || gap_end == len)
            break;
        j = gap_end;
        while (j < len && is_hex_digit(s[j]))
            j++;
        digits = j - gap_end;
        if (digits < 2 || digits > 8 || digits % 2 != 0 ||
            (j < len && s[j] != ' '))
            break;
        for (size_t k = gap_end; k < j; k += 2) {
            char pair[3] = {s[k], s[k + 1], '\0'};
            unsigned char byte = 0;

            sodium_hex2bin(&byte, 1, pair, 2, NULL, NULL, NULL);
            if (dz_buf_putc(out, (char)byte) < 0)
                return -ENOMEM;
            bytes++;
        }
        i = j;
    }
    if (bytes == 0)
        out->len = start;
    return bytes;
}
