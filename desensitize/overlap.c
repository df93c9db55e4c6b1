/* Export check (b), the lookup side: rows of an export that are raw rows
 * or contain raw identifier values (see rawset.c for the set and
 * desensitize.h for the rules). */
#include "desensitize/internal.h"

#include "desensitize/encoded.h"
#include "desensitize/rawset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_LINE_MAX (1u << 20)
#define SNIFF_BYTES 65536
#define SNIFF_LINES 20

static const char delimiters[] = {',', ';', '|', '\t'};
#define N_DELIMITERS sizeof(delimiters)

enum row_match {
    MATCH_NONE,
    MATCH_SUBSET,
    MATCH_WHOLE,
};

struct checker {
    const struct dz_rawset *set;
    struct dz_report *report;
    uint64_t line; /* where the current record or encoded text starts */
    size_t column;
    const char *column_name;
    bool found;      /* a raw value was found in the current field */
    char delimiter;  /* of the export, from its first lines; 0 if none */
    struct dz_buf split;        /* unquoted fields of a split line */
    struct csv_field *fields;   /* into split */
    size_t fields_cap;
    uint8_t (*digests)[RAWSET_HASH_SIZE]; /* of the fields, in order */
    uint8_t (*sorted)[RAWSET_HASH_SIZE];  /* the same, sorted */
    size_t digests_cap;
    struct rawset_scratch scratch;
};

/* Lines of the export itself (depth 0) or of decoded text, with the run
 * of whole encoded lines or hex dump lines that is being collected. */
struct line_stream {
    unsigned depth;
    struct dz_buf run;  /* encoded lines, joined with LF */
    size_t run_width;   /* length of the first line of run */
    struct dz_buf dump; /* bytes of consecutive dump lines */
    uint64_t run_line;  /* where run or dump starts */
};

static int stream_finish(struct checker *ch, struct line_stream *st);
static int text_line(struct checker *ch, struct line_stream *st,
                     const char *line, size_t len);

/* ---- raw values ---- */

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

/* Check one field; digest is that of the field (see rawset_digest()). */
static bool check_field(struct checker *ch, const char *data, size_t len,
                        const uint8_t digest[RAWSET_HASH_SIZE])
{
    const char *t = data;
    size_t tlen = len;

    ch->found = false;
    dz_trim(&t, &tlen);
    if (tlen == 0)
        return false;
    if (rawset_has_value_digest(ch->set, digest)) {
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

/* Check the values of row, whose digests are in ch->digests. */
static void check_values(struct checker *ch, const struct csv_row *row,
                         char *const *names, size_t n_names)
{
    bool any = false;

    for (size_t i = 0; i < row->n_fields; i++) {
        ch->column = i + 1;
        ch->column_name = names && i < n_names ? names[i] : NULL;
        any |= check_field(ch, row->fields[i].data, row->fields[i].len,
                           ch->digests[i]);
    }
    ch->report->raw_value_rows += any;
}

/* ---- raw rows ---- */

/* Fill ch->digests and ch->sorted for the fields of row. */
static int digest_fields(struct checker *ch, const struct csv_row *row)
{
    if (row->n_fields > ch->digests_cap) {
        size_t size = row->n_fields * RAWSET_HASH_SIZE;
        void *digests = realloc(ch->digests, size);
        void *sorted = digests ? realloc(ch->sorted, size) : NULL;

        if (digests)
            ch->digests = digests;
        if (!sorted)
            return -ENOMEM;
        ch->sorted = sorted;
        ch->digests_cap = row->n_fields;
    }
    for (size_t i = 0; i < row->n_fields; i++)
        rawset_digest(row->fields[i].data, row->fields[i].len,
                      ch->digests[i]);
    if (row->n_fields > 0)
        memcpy(ch->sorted, ch->digests, row->n_fields * RAWSET_HASH_SIZE);
    return 0;
}

/* Match one row against the row rules: in order, in any order, subset.
 * Call digest_fields() first. */
static int match_row(struct checker *ch, const struct csv_row *row)
{
    int ret;

    if (rawset_has_row(ch->set, row))
        return MATCH_WHOLE;
    if (rawset_has_bag(ch->set, ch->sorted, row->n_fields))
        return MATCH_WHOLE;
    ret = rawset_match_subset(ch->set,
                              (const uint8_t (*)[RAWSET_HASH_SIZE])ch->sorted,
                              row->n_fields, &ch->scratch);
    if (ret < 0)
        return ret;
    return ret ? MATCH_SUBSET : MATCH_NONE;
}

static void add_row_finding(struct checker *ch, enum row_match match,
                            const struct csv_row *row, bool encoded)
{
    struct dz_finding f = {.kind = DZ_FINDING_RAW_ROW, .line = ch->line};

    if (match == MATCH_SUBSET)
        f.kind = DZ_FINDING_RAW_SUBSET;
    if (encoded)
        f.kind = DZ_FINDING_RAW_ENCODED;
    if (row->n_fields > 0)
        dz_mask_generic(row->fields[0].data, row->fields[0].len, f.example,
                        sizeof(f.example));
    ch->report->raw_rows++;
    ch->report->raw_subset_rows += match == MATCH_SUBSET;
    ch->report->raw_encoded_rows += encoded;
    dz_report_add(ch->report, &f);
}

/* ---- splitting text lines ---- */

static int reserve_fields(struct checker *ch, size_t n)
{
    struct csv_field *grown;
    size_t cap = ch->fields_cap ? ch->fields_cap : 32;

    if (n <= ch->fields_cap)
        return 0;
    while (cap < n)
        cap *= 2;
    grown = realloc(ch->fields, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    ch->fields = grown;
    ch->fields_cap = cap;
    return 0;
}

/* Split line at delimiter (no split when it is 0) into ch->split and
 * ch->fields.  A field that starts with '"' runs to the closing quote,
 * with "" for a quote inside, as in CSV, but never past the line. */
static int split_line(struct checker *ch, const char *line, size_t len,
                      char delimiter, struct csv_row *ret_row)
{
    size_t n = 0, i = 0;

    ch->split.len = 0;
    /* Every field adds at most its bytes and a NUL, so the buffer never
     * moves while the fields point into it. */
    if (dz_buf_reserve(&ch->split, 2 * len + 2) < 0)
        return -ENOMEM;
    for (;;) {
        size_t start = ch->split.len;
        bool quoted = delimiter && i < len && line[i] == '"';

        i += quoted;
        while (i < len) {
            char c = line[i];

            if (quoted && c == '"' && i + 1 < len && line[i + 1] == '"') {
                i++;
            } else if (quoted && c == '"') {
                quoted = false;
                i++;
                continue;
            } else if (!quoted && delimiter && c == delimiter) {
                break;
            }
            ch->split.data[ch->split.len++] = c;
            i++;
        }
        ch->split.data[ch->split.len++] = '\0';
        if (reserve_fields(ch, n + 1) < 0)
            return -ENOMEM;
        ch->fields[n++] = (struct csv_field){ch->split.data + start,
                                             ch->split.len - 1 - start};
        if (i >= len)
            break;
        i++; /* the delimiter */
    }
    *ret_row = (struct csv_row){.fields = ch->fields, .n_fields = n,
                                .line = ch->line};
    return 0;
}

/* Delimiter to split the values of line at: the export's own when the line
 * contains it, else the candidate that occurs most often, else none. */
static char line_delimiter(const struct checker *ch, const char *line,
                           size_t len, const size_t counts[N_DELIMITERS])
{
    size_t best = 0;
    char delimiter = 0;

    if (ch->delimiter && memchr(line, ch->delimiter, len))
        return ch->delimiter;
    for (size_t d = 0; d < N_DELIMITERS; d++) {
        if (counts[d] > best) {
            best = counts[d];
            delimiter = delimiters[d];
        }
    }
    return delimiter;
}

/* Check one text line under every delimiter it contains, then its values
 * under one of them. */
static int check_text_row(struct checker *ch, const char *line, size_t len,
                          bool encoded)
{
    size_t counts[N_DELIMITERS] = {0};
    enum row_match best;
    struct csv_row row;
    char primary;
    bool resplit = false;
    int ret;

    for (size_t i = 0; i < len; i++)
        for (size_t d = 0; d < N_DELIMITERS; d++)
            counts[d] += line[i] == delimiters[d];
    primary = line_delimiter(ch, line, len, counts);
    ret = split_line(ch, line, len, primary, &row);
    if (ret == 0)
        ret = digest_fields(ch, &row);
    if (ret == 0)
        ret = match_row(ch, &row);
    if (ret < 0)
        return ret;
    best = (enum row_match)ret;
    /* The line is one field when it has no delimiter, and then primary is
     * 0 and no other split exists. */
    for (size_t d = 0; d < N_DELIMITERS && best != MATCH_WHOLE; d++) {
        if (counts[d] == 0 || delimiters[d] == primary)
            continue;
        resplit = true;
        ret = split_line(ch, line, len, delimiters[d], &row);
        if (ret == 0)
            ret = digest_fields(ch, &row);
        if (ret == 0)
            ret = match_row(ch, &row);
        if (ret < 0)
            return ret;
        if (ret > (int)best)
            best = (enum row_match)ret;
    }
    if (resplit) {
        ret = split_line(ch, line, len, primary, &row);
        if (ret == 0)
            ret = digest_fields(ch, &row);
        if (ret < 0)
            return ret;
    }
    if (best != MATCH_NONE)
        add_row_finding(ch, best, &row, encoded);
    check_values(ch, &row, NULL, 0);
    return 0;
}

/* ---- encoded text ---- */

/* Check decoded text line by line, one nesting level deeper. */
static int check_decoded(struct checker *ch, const char *text, size_t len,
                         uint64_t line, unsigned depth)
{
    struct line_stream sub = {.depth = depth};
    uint64_t saved_line = ch->line;
    size_t start = 0;
    int ret = 0;

    ch->line = line;
    while (ret == 0 && start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;

        ret = text_line(ch, &sub, text + start, end - start);
        start = end + 1;
    }
    if (ret == 0)
        ret = stream_finish(ch, &sub);
    dz_buf_free(&sub.run);
    dz_buf_free(&sub.dump);
    ch->line = saved_line;
    return ret;
}

static int decode_and_check(struct checker *ch, const char *s, size_t len,
                            uint64_t line, unsigned depth)
{
    struct dz_buf decoded = {0};
    int ret = enc_decode_text(s, len, &decoded);

    if (ret > 0)
        ret = check_decoded(ch, decoded.data, decoded.len, line, depth + 1);
    dz_buf_free(&decoded);
    return ret < 0 ? ret : 0;
}

/* Decode every encoded token of at least DZ_ENCODED_MIN characters. */
static int check_tokens(struct checker *ch, const struct line_stream *st,
                        const char *s, size_t len)
{
    size_t i = 0;

    if (st->depth >= DZ_ENCODED_DEPTH_MAX)
        return 0;
    while (i < len) {
        size_t n = enc_token_length(s + i, len - i);
        int ret;

        if (n == 0) {
            i++;
            continue;
        }
        if (n >= DZ_ENCODED_MIN) {
            ret = decode_and_check(ch, s + i, n, ch->line, st->depth);
            if (ret < 0)
                return ret;
        }
        i += n;
    }
    return 0;
}

static int stream_finish(struct checker *ch, struct line_stream *st)
{
    int ret = 0;

    if (st->run.len > 0)
        ret = decode_and_check(ch, st->run.data, st->run.len, st->run_line,
                               st->depth);
    if (ret == 0 && st->dump.len > 0 && enc_make_text(&st->dump))
        ret = check_decoded(ch, st->dump.data, st->dump.len, st->run_line,
                            st->depth + 1);
    st->run.len = 0;
    st->run_width = 0;
    st->dump.len = 0;
    return ret;
}

/* Whether the whole line is one encoded token. */
static bool is_encoded_line(const char *s, size_t len)
{
    return len > 0 && enc_token_length(s, len) == len;
}

/* Add line to the run of whole encoded lines or dump lines when it
 * belongs there, checking a finished run first.  Base64(1) and xxd -p
 * wrap at a fixed width, so a run continues while lines have the width
 * of its first line and ends after a shorter line or padding.  Return 1
 * when line went into a run, 0 when not, or -ENOMEM. */
static int stream_take(struct checker *ch, struct line_stream *st,
                       const char *line, size_t len)
{
    bool encoded;
    int ret;

    if (st->depth >= DZ_ENCODED_DEPTH_MAX)
        return 0;
    dz_trim(&line, &len);
    encoded = is_encoded_line(line, len);
    if (st->run.len > 0 && (!encoded || len > st->run_width)) {
        ret = stream_finish(ch, st);
        if (ret < 0)
            return ret;
    }
    if (st->dump.len > 0 || !encoded) {
        size_t before = st->dump.len;

        ret = enc_dump_line(line, len, &st->dump);
        if (ret < 0)
            return ret;
        if (ret > 0) {
            st->run_line = before == 0 ? ch->line : st->run_line;
            return 1;
        }
        if (before > 0 && (ret = stream_finish(ch, st)) < 0)
            return ret;
    }
    if (!encoded || (st->run.len == 0 && len < DZ_ENCODED_MIN))
        return 0;
    if (st->run.len == 0) {
        st->run_line = ch->line;
        st->run_width = len;
    } else if (dz_buf_putc(&st->run, '\n') < 0) {
        return -ENOMEM;
    }
    if (dz_buf_append(&st->run, line, len) < 0)
        return -ENOMEM;
    if (len < st->run_width || line[len - 1] == '=')
        return stream_finish(ch, st) < 0 ? -ENOMEM : 1;
    return 1;
}

/* ---- text exports ---- */

static int text_line(struct checker *ch, struct line_stream *st,
                     const char *line, size_t len)
{
    int in_run, ret;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    in_run = stream_take(ch, st, line, len);
    if (in_run < 0)
        return in_run;
    if (st->depth == 0)
        ch->report->rows++;
    ret = check_text_row(ch, line, len, st->depth > 0);
    if (ret == 0 && !in_run)
        ret = check_tokens(ch, st, line, len);
    return ret;
}

/* Delimiter shared by the first lines of buf: the candidate whose smallest
 * count outside quotes over those lines is largest, ',' on a tie; 0 when
 * none occurs on every line. */
static char sniff_delimiter(const char *buf, size_t len)
{
    size_t min[N_DELIMITERS], counts[N_DELIMITERS] = {0}, best = 0;
    unsigned lines = 0;
    bool quoted = false;
    char delimiter = 0;

    for (size_t d = 0; d < N_DELIMITERS; d++)
        min[d] = SIZE_MAX;
    for (size_t i = 0; i < len && lines < SNIFF_LINES; i++) {
        if (buf[i] == '"')
            quoted = !quoted;
        if (quoted)
            continue;
        if (buf[i] != '\n') {
            for (size_t d = 0; d < N_DELIMITERS; d++)
                counts[d] += buf[i] == delimiters[d];
            continue;
        }
        for (size_t d = 0; d < N_DELIMITERS; d++) {
            if (counts[d] < min[d])
                min[d] = counts[d];
            counts[d] = 0;
        }
        lines++;
    }
    for (size_t d = 0; lines > 0 && d < N_DELIMITERS; d++) {
        if (min[d] > best) {
            best = min[d];
            delimiter = delimiters[d];
        }
    }
    return delimiter;
}

/* Read lines of at most TEXT_LINE_MAX bytes; longer lines are cut into
 * pieces that are checked as lines of their own. */
static int check_lines(struct checker *ch, int fd, bool has_header)
{
    struct line_stream st = {0};
    struct dz_buf line = {0};
    char buf[65536];
    bool first = true;
    ssize_t n;
    int ret = 0;

    ch->line = 1;
    while (ret == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            ret = errno == EINTR ? 0 : neg_errno();
            continue;
        }
        if (first && !ch->delimiter)
            ch->delimiter = sniff_delimiter(buf, (size_t)n);
        first = false;
        for (ssize_t i = 0; i < n && ret == 0; i++) {
            if (buf[i] != '\n' && line.len < TEXT_LINE_MAX) {
                ret = dz_buf_putc(&line, buf[i]);
                continue;
            }
            ret = text_line(ch, &st, line.data ? line.data : "", line.len);
            line.len = 0;
            ch->line += buf[i] == '\n';
            if (buf[i] != '\n')
                ret = ret < 0 ? ret : dz_buf_putc(&line, buf[i]);
        }
    }
    if (ret == 0 && line.len > 0)
        ret = text_line(ch, &st, line.data, line.len);
    if (ret == 0)
        ret = stream_finish(ch, &st);
    if (has_header && ch->report->rows > 0)
        ch->report->rows--;
    dz_buf_free(&line);
    dz_buf_free(&st.run);
    dz_buf_free(&st.dump);
    return ret;
}

/* ---- CSV exports ---- */

static int check_csv_row(struct checker *ch, struct line_stream *st,
                         const struct csv_row *row, char *const *names,
                         size_t n_names)
{
    int in_run = 0, ret;

    if (row->n_fields == 1)
        in_run = stream_take(ch, st, row->fields[0].data, row->fields[0].len);
    else if (st->run.len > 0 || st->dump.len > 0)
        in_run = stream_finish(ch, st);
    if (in_run < 0)
        return in_run;
    ret = digest_fields(ch, row);
    if (ret == 0)
        ret = match_row(ch, row);
    if (ret < 0)
        return ret;
    if (ret != MATCH_NONE)
        add_row_finding(ch, (enum row_match)ret, row, false);
    check_values(ch, row, names, n_names);
    for (size_t i = 0; !in_run && i < row->n_fields; i++) {
        ret = check_tokens(ch, st, row->fields[i].data, row->fields[i].len);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static void free_names(char **names, size_t n_names)
{
    for (size_t i = 0; names && i < n_names; i++)
        free(names[i]);
    free(names);
}

static int check_csv(struct checker *ch, int fd, enum csv_encoding encoding,
                     struct werr *err)
{
    struct line_stream st = {0};
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
        if (check_csv_row(ch, &st, &row, names, n_names) < 0)
            ret = werr_set(err, -ENOMEM, "out of memory checking the file");
    }
    if (ret >= 0 && stream_finish(ch, &st) < 0)
        ret = werr_set(err, -ENOMEM, "out of memory checking the file");
    free_names(names, n_names);
    dz_buf_free(&st.run);
    dz_buf_free(&st.dump);
    csv_reader_free(reader);
    return ret;
}

/* Delimiter of a CSV export from its first bytes, read without moving the
 * file offset; ',' when they cannot be read (a pipe) or show none. */
static char csv_delimiter(int fd)
{
    char *buf = malloc(SNIFF_BYTES);
    off_t offset = lseek(fd, 0, SEEK_CUR);
    ssize_t n = -1;
    char delimiter = 0;

    if (buf && offset >= 0)
        n = pread(fd, buf, SNIFF_BYTES, offset);
    if (n > 0)
        delimiter = sniff_delimiter(buf, (size_t)n);
    free(buf);
    return delimiter ? delimiter : ',';
}

int dz_overlap_check(const struct dz_rawset *set, int export_fd,
                     enum dz_format format, enum csv_encoding encoding,
                     struct dz_report *ret_report, struct werr *err)
{
    struct checker ch = {.set = set, .report = ret_report};
    int ret;

    memset(ret_report, 0, sizeof(*ret_report));
    /* TODO: text exports, and CSV exports with another delimiter, are
     * read as UTF-8, so a GB 18030 or GBK CSV export is only read as
     * comma-separated. */
    if (format == DZ_FORMAT_CSV)
        ch.delimiter = encoding == CSV_ENCODING_UTF8 ? csv_delimiter(export_fd)
                                                     : ',';
    if (format == DZ_FORMAT_CSV && ch.delimiter == ',') {
        ret = check_csv(&ch, export_fd, encoding, err);
    } else {
        ret = check_lines(&ch, export_fd, format == DZ_FORMAT_CSV);
        if (ret < 0)
            ret = werr_errno(err, ret, "failed to check the file");
    }
    dz_buf_free(&ch.split);
    free(ch.fields);
    free(ch.digests);
    free(ch.sorted);
    rawset_scratch_free(&ch.scratch);
    return ret < 0 ? ret : 0;
}
