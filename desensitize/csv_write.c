/* Buffered CSV writer: quotes a field only when it contains a comma, a
 * quote, CR or LF, and writes the only field of a record as "" when it is
 * empty, so the record does not read back as a blank line. */
#include "desensitize/csv.h"

#include "common/fsutil.h"
#include "desensitize/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CSV_WRITE_FLUSH (256u << 10)

struct csv_writer {
    int fd;
    int error; /* first write error, kept for csv_writer_close() */
    struct dz_buf out;
    size_t fields_in_row;
    size_t row_start; /* offset of the current record in out */
};

static const bool needs_quote[256] = {
    [','] = true, ['"'] = true, ['\r'] = true, ['\n'] = true};

int csv_writer_new(int fd, struct csv_writer **ret_writer)
{
    struct csv_writer *w = calloc(1, sizeof(*w));

    if (!w)
        return -ENOMEM;
    w->fd = fd;
    if (dz_buf_reserve(&w->out, CSV_WRITE_FLUSH + 4096) < 0) {
        free(w);
        return -ENOMEM;
    }
    *ret_writer = w;
    return 0;
}

int csv_writer_flush(struct csv_writer *w)
{
    int ret;

    if (w->error)
        return w->error;
    if (w->fd < 0 || w->out.len == 0)
        return 0;
    ret = fs_write_all(w->fd, w->out.data, w->out.len);
    if (ret < 0)
        return w->error = ret;
    w->out.len = 0;
    w->row_start = 0;
    return 0;
}

int csv_writer_close(struct csv_writer *w)
{
    int ret;

    if (!w)
        return 0;
    ret = csv_writer_flush(w);
    dz_buf_free(&w->out);
    free(w);
    return ret;
}

static int write_quoted(struct csv_writer *w, const char *data, size_t len)
{
    const char *p = data, *end = data + len, *q;
    int ret = dz_buf_putc(&w->out, '"');

    while (ret == 0 && (q = memchr(p, '"', (size_t)(end - p)))) {
        ret = dz_buf_append(&w->out, p, (size_t)(q - p) + 1);
        if (ret == 0)
            ret = dz_buf_putc(&w->out, '"');
        p = q + 1;
    }
    if (ret == 0)
        ret = dz_buf_append(&w->out, p, (size_t)(end - p));
    return ret < 0 ? ret : dz_buf_putc(&w->out, '"');
}

int csv_writer_field(struct csv_writer *w, const char *data, size_t len)
{
    bool quote = false;
    int ret;

    if (w->fields_in_row++ > 0) {
        ret = dz_buf_putc(&w->out, ',');
        if (ret < 0)
            return ret;
    }
    for (size_t i = 0; i < len && !quote; i++)
        quote = needs_quote[(uint8_t)data[i]];
    if (quote)
        return write_quoted(w, data, len);
    return dz_buf_append(&w->out, data, len);
}

int csv_writer_end_row(struct csv_writer *w)
{
    int ret = 0;

    /* A lone empty field would read back as a blank line. */
    if (w->fields_in_row == 1 && w->out.len == w->row_start)
        ret = dz_buf_append(&w->out, "\"\"", 2);
    if (ret == 0)
        ret = dz_buf_putc(&w->out, '\n');
    w->fields_in_row = 0;
    w->row_start = w->out.len;
    if (ret == 0 && w->out.len >= CSV_WRITE_FLUSH)
        ret = csv_writer_flush(w);
    return ret;
}

int csv_writer_row(struct csv_writer *w, const struct csv_field *fields,
                   size_t n_fields)
{
    for (size_t i = 0; i < n_fields; i++) {
        int ret = csv_writer_field(w, fields[i].data, fields[i].len);

        if (ret < 0)
            return ret;
    }
    return csv_writer_end_row(w);
}

int csv_writer_raw(struct csv_writer *w, const char *data, size_t len)
{
    int ret = dz_buf_append(&w->out, data, len);

    w->row_start = w->out.len;
    if (ret == 0 && w->out.len >= CSV_WRITE_FLUSH)
        ret = csv_writer_flush(w);
    return ret;
}

const char *csv_writer_data(const struct csv_writer *w, size_t *ret_len)
{
    *ret_len = w->out.len;
    return w->out.data;
}

void csv_writer_reset(struct csv_writer *w)
{
    w->out.len = 0;
    w->row_start = 0;
    w->fields_in_row = 0;
}
