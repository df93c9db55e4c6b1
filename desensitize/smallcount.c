/* Export check (c): small counts and dominance in aggregate tables. */
#include "desensitize/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dominance rule: the two largest values of a column make at least this
 * percentage of its total. */
#define DOMINANCE_PERCENT 90
#define DOMINANCE_MIN_VALUES 3

struct small_cell {
    uint64_t line;
    uint64_t value;
};

struct count_column {
    char *name;
    bool named;       /* the header names a count */
    bool all_integer; /* every non-empty value is a plain integer */
    uint64_t values, total, top1, top2;
    uint64_t n_small;
    struct small_cell small[DZ_FINDINGS_MAX];
};

static bool word_in(const char *name, const char *const *words)
{
    char buf[DZ_NAME_MAX + 1], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", name);
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (char *w = strtok_r(buf, " _-.$#/()", &save); w;
         w = strtok_r(NULL, " _-.$#/()", &save))
        for (size_t i = 0; words[i]; i++)
            if (strcmp(w, words[i]) == 0)
                return true;
    return false;
}

static bool names_count(const char *name)
{
    static const char *const words[] = {"count", "n", "cnt", "total", "num",
                                        NULL};

    return word_in(name, words);
}

/* Integer columns that are identifiers or codes, not counts. */
static bool names_identifier(const char *name)
{
    static const char *const words[] = {"id",  "no",   "code", "year", "zip",
                                        "date", "phone", "tel", "index",
                                        "rank", "postcode", NULL};

    return word_in(name, words);
}

/* Parse a non-negative integer without a leading zero. */
static bool parse_count(const char *s, size_t len, uint64_t *ret)
{
    uint64_t v = 0;

    dz_trim(&s, &len);
    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *ret = v;
    return true;
}

static void add_cell(struct count_column *c, const char *data, size_t len,
                     uint64_t line, uint64_t threshold)
{
    uint64_t v;

    dz_trim(&data, &len);
    if (len == 0)
        return;
    if (!parse_count(data, len, &v)) {
        c->all_integer = false;
        return;
    }
    c->values++;
    c->total += v;
    if (v > c->top1) {
        c->top2 = c->top1;
        c->top1 = v;
    } else if (v > c->top2) {
        c->top2 = v;
    }
    if (v >= 1 && v < threshold && c->n_small++ < DZ_FINDINGS_MAX)
        c->small[c->n_small - 1] = (struct small_cell){line, v};
}

static bool is_count_column(const struct count_column *c)
{
    if (c->values == 0)
        return false;
    return c->named || (c->all_integer && !names_identifier(c->name));
}

static void report_column(const struct count_column *c, size_t column,
                          struct dz_report *report)
{
    struct dz_finding f = {.kind = DZ_FINDING_SMALL_COUNT};

    dz_finding_set_column(&f, column, c->name);
    for (uint64_t i = 0; i < c->n_small; i++) {
        if (i < DZ_FINDINGS_MAX) {
            f.line = c->small[i].line;
            snprintf(f.example, sizeof(f.example), "%llu",
                     (unsigned long long)c->small[i].value);
        }
        dz_report_add(report, &f);
    }
    if (c->values < DOMINANCE_MIN_VALUES || c->total == 0 ||
        (c->top1 + c->top2) * 100 < c->total * DOMINANCE_PERCENT)
        return;
    f.kind = DZ_FINDING_DOMINANCE;
    f.line = 0;
    snprintf(f.example, sizeof(f.example),
             "top two values %llu of total %llu",
             (unsigned long long)(c->top1 + c->top2),
             (unsigned long long)c->total);
    dz_report_add(report, &f);
}

static int init_columns(const struct csv_row *header,
                        struct count_column **ret)
{
    struct count_column *cols = calloc(header->n_fields + 1, sizeof(*cols));

    if (!cols)
        return -ENOMEM;
    for (size_t i = 0; i < header->n_fields; i++) {
        cols[i].name = strdup(header->fields[i].data);
        cols[i].named = names_count(header->fields[i].data);
        cols[i].all_integer = true;
        if (!cols[i].name) {
            *ret = cols;
            return -ENOMEM;
        }
    }
    *ret = cols;
    return 0;
}

static int read_cells(struct csv_reader *reader, struct count_column *cols,
                      size_t n_cols, uint64_t threshold,
                      struct dz_report *report, struct werr *err)
{
    struct csv_row row;
    int ret;

    while ((ret = csv_reader_next(reader, &row, err)) > 0) {
        report->rows++;
        for (size_t i = 0; i < n_cols && i < row.n_fields; i++)
            add_cell(&cols[i], row.fields[i].data, row.fields[i].len,
                     row.line, threshold);
    }
    return ret;
}

int dz_small_count_check(int fd, enum csv_encoding encoding,
                         uint64_t threshold, struct dz_report *ret_report,
                         struct werr *err)
{
    struct count_column *cols = NULL;
    struct csv_reader *reader = NULL;
    struct csv_row header;
    size_t n_cols = 0;
    int ret = csv_reader_new(fd, encoding, 0, &reader, err);

    memset(ret_report, 0, sizeof(*ret_report));
    if (threshold == 0)
        threshold = DZ_SMALL_COUNT_DEFAULT;
    if (ret == 0 && (ret = csv_reader_next(reader, &header, err)) > 0) {
        n_cols = header.n_fields;
        ret = init_columns(&header, &cols);
        if (ret == 0)
            ret = read_cells(reader, cols, n_cols, threshold, ret_report, err);
        else
            ret = werr_set(err, ret, "out of memory checking counts");
    }
    for (size_t i = 0; ret == 0 && i < n_cols; i++)
        if (is_count_column(&cols[i]))
            report_column(&cols[i], i + 1, ret_report);
    for (size_t i = 0; cols && i < n_cols; i++)
        free(cols[i].name);
    free(cols);
    csv_reader_free(reader);
    return ret < 0 ? ret : 0;
}
