/* RFC 4180 record parser on top of the decoder.  Field bytes are copied,
 * with quotes removed, into one record buffer where each field ends in a
 * NUL byte; spans without special bytes are copied in one piece. */
#include "desensitize/csv.h"

#include "desensitize/csv_decode.h"
#include "desensitize/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF_SIZE (2 * CSV_RAW_CHUNK)

enum parse_state {
    STATE_FIELD_START,
    STATE_UNQUOTED,
    STATE_QUOTED,
    STATE_QUOTE_IN_QUOTED, /* a quote seen inside a quoted field */
};

struct csv_reader {
    struct csv_decoder decoder;
    char buf[CSV_BUF_SIZE];
    size_t pos, len;
    bool eof, started, skip_lf;
    unsigned flags;
    uint64_t line;       /* current physical line */
    uint64_t quote_line; /* line where the open quoted field started */
    struct dz_buf record;
    size_t *offsets;
    struct csv_field *fields;
    size_t n_fields, fields_cap;
    size_t header_width; /* 0 until the header was read */
};

/* Bytes that end an unquoted span. */
static bool special[256] = {[','] = true, ['\r'] = true, ['\n'] = true};

int csv_reader_new(int fd, enum csv_encoding encoding, unsigned flags,
                   struct csv_reader **ret_reader, struct werr *err)
{
    struct csv_reader *r = calloc(1, sizeof(*r));
    int ret;

    if (!r)
        return werr_set(err, -ENOMEM, "out of memory for the CSV reader");
    ret = csv_decoder_init(&r->decoder, fd, encoding, err);
    if (ret < 0) {
        free(r);
        return ret;
    }
    r->flags = flags;
    r->line = 1;
    *ret_reader = r;
    return 0;
}

void csv_reader_free(struct csv_reader *r)
{
    if (!r)
        return;
    csv_decoder_done(&r->decoder);
    dz_buf_free(&r->record);
    free(r->offsets);
    free(r->fields);
    free(r);
}

uint64_t csv_reader_offset(const struct csv_reader *r)
{
    return r->decoder.consumed;
}

static int refill(struct csv_reader *r, struct werr *err)
{
    bool first = r->decoder.consumed == 0;
    ssize_t n = csv_decoder_read(&r->decoder, r->buf, sizeof(r->buf), err);

    if (n < 0)
        return (int)n;
    r->pos = 0;
    r->len = (size_t)n;
    r->eof = n == 0;
    /* NOTE: a byte order mark is only recognized when the first read
     * returns at least three bytes, which holds for files and pipes that
     * were written in larger blocks. */
    if (first && r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    return 0;
}

static int append(struct csv_reader *r, const char *data, size_t len,
                  struct werr *err)
{
    if (r->record.len + len > CSV_RECORD_MAX)
        return werr_set(err, -EBADMSG,
                        "line %llu: record longer than %u bytes; check for "
                        "an unclosed quote", (unsigned long long)r->line,
                        CSV_RECORD_MAX);
    if (dz_buf_append(&r->record, data, len) < 0)
        return werr_set(err, -ENOMEM, "out of memory for a CSV record");
    return 0;
}

static int end_field(struct csv_reader *r, struct werr *err)
{
    int ret;

    if (r->n_fields == r->fields_cap) {
        size_t cap = r->fields_cap ? 2 * r->fields_cap : 32;
        size_t *offsets = realloc(r->offsets, cap * sizeof(*offsets));

        if (!offsets)
            return werr_set(err, -ENOMEM, "out of memory for CSV fields");
        r->offsets = offsets;
        r->fields_cap = cap;
    }
    ret = append(r, "", 1, err);
    if (ret < 0)
        return ret;
    r->offsets[r->n_fields++] = r->record.len;
    return 0;
}

/* Consume a line break at pos (CR, LF or CRLF) and count the line. */
static void take_newline(struct csv_reader *r)
{
    char c = r->buf[r->pos++];

    r->line++;
    if (c == '\r')
        r->skip_lf = true;
}

static int parse_unquoted(struct csv_reader *r, enum parse_state *state,
                          struct werr *err)
{
    size_t start = r->pos;
    int ret;

    while (r->pos < r->len && !special[(uint8_t)r->buf[r->pos]])
        r->pos++;
    ret = append(r, r->buf + start, r->pos - start, err);
    if (ret < 0 || r->pos == r->len)
        return ret;
    ret = end_field(r, err);
    if (ret < 0)
        return ret;
    *state = STATE_FIELD_START;
    if (r->buf[r->pos] == ',') {
        r->pos++;
        return 0;
    }
    take_newline(r);
    return 1;
}

static int parse_quoted(struct csv_reader *r, enum parse_state *state,
                        struct werr *err)
{
    const char *start = r->buf + r->pos;
    const char *quote = memchr(start, '"', r->len - r->pos);
    size_t span = quote ? (size_t)(quote - start) : r->len - r->pos;

    for (size_t i = 0; i < span; i++)
        r->line += start[i] == '\n';
    r->pos += span;
    if (quote) {
        r->pos++;
        *state = STATE_QUOTE_IN_QUOTED;
    }
    return append(r, start, span, err);
}

/* After a quote inside a quoted field: a second quote, or the field end. */
static int parse_after_quote(struct csv_reader *r, enum parse_state *state,
                             struct werr *err)
{
    char c = r->buf[r->pos];
    int ret;

    if (c == '"') {
        r->pos++;
        *state = STATE_QUOTED;
        return append(r, "\"", 1, err);
    }
    if (c != ',' && c != '\r' && c != '\n')
        return werr_set(err, -EBADMSG,
                        "line %llu, field %zu: unexpected character after "
                        "the closing quote; write a quote inside a quoted "
                        "field as two quotes", (unsigned long long)r->line,
                        r->n_fields + 1);
    ret = end_field(r, err);
    if (ret < 0)
        return ret;
    *state = STATE_FIELD_START;
    if (c == ',') {
        r->pos++;
        return 0;
    }
    take_newline(r);
    return 1;
}

/* At the start of a field.  A line break before the first field of a
 * record is a blank line and is skipped. */
static int parse_field_start(struct csv_reader *r, enum parse_state *state)
{
    char c = r->buf[r->pos];

    if (r->skip_lf) {
        r->skip_lf = false;
        if (c == '\n') {
            r->pos++;
            return 0;
        }
    }
    if (!r->started && (c == '\r' || c == '\n')) {
        take_newline(r);
        return 0;
    }
    r->started = true;
    if (c == '"') {
        r->pos++;
        r->quote_line = r->line;
        *state = STATE_QUOTED;
    } else {
        *state = STATE_UNQUOTED;
    }
    return 0;
}

static int step(struct csv_reader *r, enum parse_state *state,
                struct werr *err)
{
    switch (*state) {
    case STATE_FIELD_START:
        return parse_field_start(r, state);
    case STATE_UNQUOTED:
        return parse_unquoted(r, state, err);
    case STATE_QUOTED:
        return parse_quoted(r, state, err);
    case STATE_QUOTE_IN_QUOTED:
        return parse_after_quote(r, state, err);
    }
    return -EINVAL;
}

static int finish_at_eof(struct csv_reader *r, enum parse_state state,
                         struct werr *err)
{
    int ret;

    if (state == STATE_QUOTED)
        return werr_set(err, -EBADMSG,
                        "line %llu: quoted field is not closed at the end of "
                        "input; add the closing quote",
                        (unsigned long long)r->quote_line);
    if (!r->started)
        return 0;
    ret = end_field(r, err);
    return ret < 0 ? ret : 1;
}

static int build_row(struct csv_reader *r, uint64_t line,
                     struct csv_row *ret_row, struct werr *err)
{
    struct csv_field *fields = realloc(r->fields,
                                       r->fields_cap * sizeof(*fields));
    size_t start = 0;

    if (!fields)
        return werr_set(err, -ENOMEM, "out of memory for CSV fields");
    r->fields = fields;
    for (size_t i = 0; i < r->n_fields; i++) {
        fields[i].data = r->record.data + start;
        fields[i].len = r->offsets[i] - start - 1;
        start = r->offsets[i];
    }
    *ret_row = (struct csv_row){fields, r->n_fields, line};
    if (r->header_width == 0) {
        r->header_width = r->n_fields;
        return 1;
    }
    if (r->n_fields != r->header_width && !(r->flags & CSV_ALLOW_RAGGED))
        return werr_set(err, -EBADMSG,
                        "line %llu: row has %zu fields but the header has "
                        "%zu; fix the row, or quote values that contain "
                        "commas", (unsigned long long)line, r->n_fields,
                        r->header_width);
    return 1;
}

int csv_reader_next(struct csv_reader *r, struct csv_row *ret_row,
                    struct werr *err)
{
    enum parse_state state = STATE_FIELD_START;
    uint64_t line = 0;
    int ret = 0;

    r->record.len = 0;
    r->n_fields = 0;
    r->started = false;
    while (ret == 0) {
        if (r->pos == r->len) {
            ret = refill(r, err);
            if (ret < 0)
                return ret;
            if (r->eof) {
                ret = finish_at_eof(r, state, err);
                break;
            }
            continue;
        }
        if (!r->started)
            line = r->line;
        ret = step(r, &state, err);
    }
    if (ret <= 0)
        return ret;
    return build_row(r, line, ret_row, err);
}
