/* Input decoding for the CSV reader: strict UTF-8 validation, or GB 18030
 * and GBK conversion to UTF-8 with iconv(3). */
#ifndef WARDEN_DESENSITIZE_CSV_DECODE_H
#define WARDEN_DESENSITIZE_CSV_DECODE_H

#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "desensitize/csv.h"

#define CSV_RAW_CHUNK (64u << 10)

struct csv_decoder {
    int fd;
    enum csv_encoding encoding;
    iconv_t cd;
    char carry[CSV_RAW_CHUNK]; /* raw bytes not decoded yet */
    size_t carry_len;
    uint64_t consumed; /* raw bytes read from fd and decoded */
    bool eof;
};

int csv_decoder_init(struct csv_decoder *d, int fd,
                     enum csv_encoding encoding, struct werr *err);
void csv_decoder_done(struct csv_decoder *d);

/* Store up to cap bytes of UTF-8 in dst (cap must be at least
 * 2 * CSV_RAW_CHUNK).  Return the byte count, 0 at the end of input, or a
 * negative errno. */
ssize_t csv_decoder_read(struct csv_decoder *d, char *dst, size_t cap,
                         struct werr *err);

#endif
