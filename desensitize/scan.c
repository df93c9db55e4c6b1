/* Export check (a): identifiers anywhere in a CSV or text file. */
#include "desensitize/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest text line scanned as one piece; longer lines are scanned in
 * pieces of this size. */
#define TEXT_LINE_MAX (1u << 20)

struct scan_state {
    struct dz_report *report;
    uint64_t line;
    size_t column;
    const char *column_name;
};

static int add_hit(const struct pii_hit *hit, void *userdata)
{
    struct scan_state *st = userdata;
    struct dz_finding f = {.kind = DZ_FINDING_PII, .pii = hit->kind,
                           .line = st->line};

    dz_finding_set_column(&f, st->column, st->column_name);
    pii_mask_example(hit->kind, hit->value, f.example, sizeof(f.example));
    st->report->pii[hit->kind]++;
    dz_report_add(st->report, &f);
    return 0;
}

static int scan_csv(int fd, enum csv_encoding encoding,
                    struct dz_report *report, struct werr *err)
{
    struct scan_state st = {.report = report};
    struct csv_reader *reader = NULL;
    char **names = NULL;
    size_t n_names = 0;
    struct csv_row row;
    int ret = csv_reader_new(fd, encoding, CSV_ALLOW_RAGGED, &reader, err);

    while (ret >= 0 && (ret = csv_reader_next(reader, &row, err)) > 0) {
        if (!names) {
            n_names = row.n_fields;
            names = calloc(n_names, sizeof(*names));
            for (size_t i = 0; names && i < n_names; i++)
                names[i] = strdup(row.fields[i].data);
        } else {
            report->rows++;
        }
        st.line = row.line;
        for (size_t i = 0; i < row.n_fields; i++) {
            st.column = i + 1;
            st.column_name = names && i < n_names ? names[i] : NULL;
            pii_scan(row.fields[i].data, row.fields[i].len, add_hit, &st);
        }
    }
    for (size_t i = 0; names && i < n_names; i++)
        free(names[i]);
    free(names);
    csv_reader_free(reader);
    return ret;
}

static int scan_text(int fd, struct dz_report *report, struct werr *err)
{
    struct scan_state st = {.report = report, .line = 1};
    struct dz_buf line = {0};
    char buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            dz_buf_free(&line);
            return werr_errno(err, neg_errno(), "failed to read the file");
        }
        for (ssize_t i = 0; i < n; i++) {
            bool eol = buf[i] == '\n';

            if (!eol && dz_buf_putc(&line, buf[i]) < 0) {
                dz_buf_free(&line);
                return werr_set(err, -ENOMEM, "out of memory scanning");
            }
            if (!eol && line.len < TEXT_LINE_MAX)
                continue;
            if (line.len > 0)
                pii_scan(line.data, line.len, add_hit, &st);
            report->rows++;
            st.line += eol;
            line.len = 0;
        }
    }
    if (line.len > 0) {
        pii_scan(line.data, line.len, add_hit, &st);
        report->rows++;
    }
    dz_buf_free(&line);
    return 0;
}

int dz_scan_fd(int fd, enum dz_format format, enum csv_encoding encoding,
               struct dz_report *ret_report, struct werr *err)
{
    int ret;

    memset(ret_report, 0, sizeof(*ret_report));
    if (format == DZ_FORMAT_CSV)
        ret = scan_csv(fd, encoding, ret_report, err);
    else
        ret = scan_text(fd, ret_report, err);
    return ret < 0 ? ret : 0;
}
