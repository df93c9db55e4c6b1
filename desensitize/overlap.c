/* Export check (b), the lookup side: rows of an export that equal raw
 * rows or contain raw identifier values (see rawset.c for the set). */
#include "desensitize/internal.h"

#include "desensitize/rawset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_LINE_MAX (1u << 20)

struct checker {
    const struct dz_rawset *set;
    struct dz_report *report;
    uint64_t line;
    size_t column;
    const char *column_name;
    bool found; /* a raw value was found in the current field */
};

static void add_value_finding(struct checker *ch, const char *example)
{
    struct dz_finding f = {.kind = DZ_FINDING_RAW_VALUE, .line = ch->line};

    dz_finding_set_column(&f, ch->column, ch->column_name);
    snprintf(f.example, sizeof(f.example), "%s", example);
    dz_report_add(ch->report, &f);
    ch->found = true;
}

static int check_hit(const struct pii_hit *hit, void *userdata)
{
    struct checker *ch = userdata;
    char example[PII_VALUE_MAX];

    if (ch->found || !rawset_has_value(ch->set, hit->value, strlen(hit->value)))
        return 0;
    pii_mask_example(hit->kind, hit->value, example, sizeof(example));
    add_value_finding(ch, example);
    return 0;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

static bool is_word(char c)
{
    return is_hex(c) || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z');
}

/* Look up every 64-digit hex token, the form of a plain SHA-256. */
static void check_hex_tokens(struct checker *ch, const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && !ch->found) {
        size_t j = i;

        while (j < len && is_word(s[j]))
            j++;
        if (j - i == 64 && rawset_has_value(ch->set, s + i, 64)) {
            char example[24];

            snprintf(example, sizeof(example), "%.8s...(sha256)", s + i);
            add_value_finding(ch, example);
        }
        i = j + 1;
    }
}

static bool check_field(struct checker *ch, const char *data, size_t len)
{
    const char *t = data;
    size_t tlen = len;

    ch->found = false;
    dz_trim(&t, &tlen);
    if (tlen == 0)
        return false;
    if (rawset_has_value(ch->set, t, tlen)) {
        char example[PII_VALUE_MAX];

        dz_mask_generic(t, tlen, example, sizeof(example));
        add_value_finding(ch, example);
        return true;
    }
    pii_scan(data, len, check_hit, ch);
    if (!ch->found)
        check_hex_tokens(ch, data, len);
    return ch->found;
}

static void check_row(struct checker *ch, const struct csv_row *row,
                      char *const *names, size_t n_names)
{
    bool any = false;

    if (rawset_has_row(ch->set, row)) {
        struct dz_finding f = {.kind = DZ_FINDING_RAW_ROW, .line = ch->line};

        if (row->n_fields > 0)
            dz_mask_generic(row->fields[0].data, row->fields[0].len,
                            f.example, sizeof(f.example));
        ch->report->raw_rows++;
        dz_report_add(ch->report, &f);
    }
    for (size_t i = 0; i < row->n_fields; i++) {
        ch->column = i + 1;
        ch->column_name = names && i < n_names ? names[i] : NULL;
        any |= check_field(ch, row->fields[i].data, row->fields[i].len);
    }
    ch->report->raw_value_rows += any;
}

static int check_csv(struct checker *ch, int fd, enum csv_encoding encoding,
                     struct werr *err)
{
    struct csv_reader *reader = NULL;
    char **names = NULL;
    size_t n_names = 0;
    struct csv_row row;
    int ret = csv_reader_new(fd, encoding, CSV_ALLOW_RAGGED, &reader, err);

    while (ret >= 0 && (ret = csv_reader_next(reader, &row, err)) > 0) {
        ch->line = row.line;
        if (!names) {
            n_names = row.n_fields;
            names = calloc(n_names + 1, sizeof(*names));
            for (size_t i = 0; names && i < n_names; i++)
                names[i] = strdup(row.fields[i].data);
        } else {
            ch->report->rows++;
        }
        check_row(ch, &row, names, n_names);
    }
    for (size_t i = 0; names && i < n_names; i++)
        free(names[i]);
    free(names);
    csv_reader_free(reader);
    return ret;
}

/* Split a text line at tabs, or at commas when it has no tab, without
 * quote handling, so that CSV and TSV dumps saved as text still match. */
static int split_line(char *line, size_t len, struct csv_field **fields,
                      size_t *cap, struct csv_row *ret_row)
{
    char sep = memchr(line, '\t', len) ? '\t' : ',';
    size_t n = 0, start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != sep)
            continue;
        if (n == *cap) {
            size_t grown_cap = *cap ? 2 * *cap : 32;
            struct csv_field *grown = realloc(*fields,
                                              grown_cap * sizeof(*grown));

            if (!grown)
                return -ENOMEM;
            *fields = grown;
            *cap = grown_cap;
        }
        line[i] = '\0';
        (*fields)[n++] = (struct csv_field){line + start, i - start};
        start = i + 1;
    }
    ret_row->fields = *fields;
    ret_row->n_fields = n;
    return 0;
}

static int check_text_line(struct checker *ch, struct dz_buf *line,
                           struct csv_field **fields, size_t *cap)
{
    struct csv_row row = {.line = ch->line};

    if (line->len > 0 && line->data[line->len - 1] == '\r')
        line->len--;
    if (dz_buf_reserve(line, 1) < 0 ||
        split_line(line->data, line->len, fields, cap, &row) < 0)
        return -ENOMEM;
    ch->report->rows++;
    check_row(ch, &row, NULL, 0);
    line->len = 0;
    return 0;
}

static int check_text(struct checker *ch, int fd, struct werr *err)
{
    struct csv_field *fields = NULL;
    struct dz_buf line = {0};
    size_t cap = 0;
    char buf[65536];
    ssize_t n;
    int ret = 0;

    ch->line = 1;
    while (ret == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            ret = errno == EINTR ? 0 : neg_errno();
            continue;
        }
        for (ssize_t i = 0; i < n && ret == 0; i++) {
            if (buf[i] != '\n' && line.len < TEXT_LINE_MAX) {
                ret = dz_buf_putc(&line, buf[i]);
                continue;
            }
            ret = check_text_line(ch, &line, &fields, &cap);
            ch->line += buf[i] == '\n';
        }
    }
    if (ret == 0 && line.len > 0)
        ret = check_text_line(ch, &line, &fields, &cap);
    free(fields);
    dz_buf_free(&line);
    return ret < 0 ? werr_errno(err, ret, "failed to check the file") : 0;
}

int dz_overlap_check(const struct dz_rawset *set, int export_fd,
                     enum dz_format format, enum csv_encoding encoding,
                     struct dz_report *ret_report, struct werr *err)
{
    struct checker ch = {.set = set, .report = ret_report};
    int ret;

    memset(ret_report, 0, sizeof(*ret_report));
    if (format == DZ_FORMAT_CSV)
        ret = check_csv(&ch, export_fd, encoding, err);
    else
        ret = check_text(&ch, export_fd, err);
    return ret < 0 ? ret : 0;
}
