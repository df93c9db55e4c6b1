/* Base64 and hex decoding for the overlap check: which text looks
 * encoded, and whether it decodes to text worth checking. */
#ifndef WARDEN_DESENSITIZE_ENCODED_H
#define WARDEN_DESENSITIZE_ENCODED_H

#include <stdbool.h>
#include <stddef.h>

#include "desensitize/internal.h"

/* Whether c may appear in base64 (standard or URL-safe) or hex text,
 * padding '=' excluded. */
bool enc_is_token_char(char c);

/* Length of the encoded token at the start of s: token characters and up
 * to two '=' of padding. */
size_t enc_token_length(const char *s, size_t len);

/* Decode s as hex (when it holds only hex digits and line feeds) or else
 * as base64 of either alphabet, and replace the contents of out with the
 * result, passed through enc_make_text().  Characters outside the
 * alphabet are skipped, so damaged or cut-off text still decodes.  Return
 * 1 when the result is text, 0 when not, or -ENOMEM. */
int enc_decode_text(const char *s, size_t len, struct dz_buf *out);

/* Append the bytes of one line of an xxd(1) or hexdump -C dump to out:
 * an offset of 6 to 16 hex digits, then groups of 2 to 8 hex digits,
 * up to the character column.  Return the number of bytes appended, 0
 * when the line is not a dump line, or -ENOMEM. */
int enc_dump_line(const char *s, size_t len, struct dz_buf *out);

/* Replace each control character other than tab, CR and LF, and each
 * byte outside a valid UTF-8 sequence, with LF, so that the text around
 * them is still checked line by line.  Return whether b is not empty and
 * at most 1 byte in ENC_BAD_RATIO was replaced: decoding something that
 * never was encoded text replaces far more (about half of random bytes). */
#define ENC_BAD_RATIO 10
bool enc_make_text(struct dz_buf *b);

#endif
