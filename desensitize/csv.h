/* Streaming CSV reader and writer (RFC 4180).
 *
 * The reader accepts quoted fields with doubled quotes and embedded line
 * breaks, CRLF, LF and lone CR line endings, and a UTF-8 byte order mark.
 * Input is UTF-8, or GB 18030 or GBK converted to UTF-8 with iconv(3) when
 * the caller names that encoding.  Invalid input is rejected with the byte
 * offset of the first bad byte; it is never passed on garbled.  Blank lines
 * between records are skipped, so a one-column table must write an empty
 * value as "" (the writer does).  The first record is the header: every
 * later record must have as many fields, or reading it fails with its line
 * number (unless CSV_ALLOW_RAGGED is set).  Memory stays bounded by the
 * buffer size plus the longest record (at most CSV_RECORD_MAX bytes). */
#ifndef WARDEN_DESENSITIZE_CSV_H
#define WARDEN_DESENSITIZE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CSV_RECORD_MAX (64u << 20)

enum csv_encoding {
    CSV_ENCODING_UTF8,
    CSV_ENCODING_GB18030,
    CSV_ENCODING_GBK,
    CSV_ENCODING_MAX
};

/* Parse "utf-8", "utf8", "gb18030" or "gbk" (any case); return the
 * encoding or -EINVAL. */
int csv_encoding_from_string(const char *name);
const char *csv_encoding_to_string(enum csv_encoding encoding);

/* One field of a record: data is NUL-terminated, quotes already removed. */
struct csv_field {
    const char *data;
    size_t len;
};

/* One record; the fields stay valid until the next csv_reader_next(). */
struct csv_row {
    const struct csv_field *fields;
    size_t n_fields;
    uint64_t line; /* physical line on which the record starts, from 1 */
};

enum {
    CSV_ALLOW_RAGGED = 1u << 0, /* accept rows wider or narrower than the header */
};

struct csv_reader;

/* Create a reader on fd, which stays owned by the caller and is read from
 * its current offset.  Return 0 or -ENOMEM, -EINVAL (encoding unknown to
 * iconv). */
int csv_reader_new(int fd, enum csv_encoding encoding, unsigned flags,
                   struct csv_reader **ret_reader, struct werr *err);
void csv_reader_free(struct csv_reader *reader);

/* Read the next record into ret_row.  Return 1 for a record, 0 at the end
 * of input, -EBADMSG for malformed CSV, -EILSEQ for invalid encoding or a
 * negative errno from read(2).  A ragged row fails with -EBADMSG after it
 * was consumed, so the caller may go on reading. */
int csv_reader_next(struct csv_reader *reader, struct csv_row *ret_row,
                    struct werr *err);

/* Number of raw input bytes consumed so far. */
uint64_t csv_reader_offset(const struct csv_reader *reader);

struct csv_writer;

/* Create a writer that buffers output for fd (owned by the caller).  With
 * fd < 0 the writer only collects output in memory (see csv_writer_data).
 * Records end in LF. */
int csv_writer_new(int fd, struct csv_writer **ret_writer);

/* Flush and free the writer; return the first write error, if any. */
int csv_writer_close(struct csv_writer *writer);

/* Append one field to the current record, quoted when it contains a comma,
 * a quote, CR or LF. */
int csv_writer_field(struct csv_writer *writer, const char *data,
                     size_t len);

/* End the current record. */
int csv_writer_end_row(struct csv_writer *writer);

/* Write a whole record. */
int csv_writer_row(struct csv_writer *writer, const struct csv_field *fields,
                   size_t n_fields);

/* Append bytes that are already formatted CSV. */
int csv_writer_raw(struct csv_writer *writer, const char *data, size_t len);

int csv_writer_flush(struct csv_writer *writer);

/* Bytes collected by a memory writer since the last csv_writer_reset(). */
const char *csv_writer_data(const struct csv_writer *writer, size_t *ret_len);
void csv_writer_reset(struct csv_writer *writer);

#endif
