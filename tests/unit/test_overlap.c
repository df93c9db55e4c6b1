/* The raw-record overlap check against disguised copies of raw rows:
 * reordered columns, other delimiters, subsets of fields, base64 and hex
 * encodings, and legitimate exports that must stay clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "desensitize/desensitize.h"

#define BIRD_ROWS 20
#define RESIDENT_ROWS 5
#define WRAP 76

struct sets {
    struct dz_rawset *birdstrikes;
    struct dz_rawset *residents;
};

static int open_data(const char *name)
{
    const char *dir = getenv("WARDEN_TEST_DATA");
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("cannot open test data %s: run from the repository root "
                 "or set WARDEN_TEST_DATA", path);
    return fd;
}

static int memfile(const char *text, size_t len)
{
    int fd = memfd_create("export", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, text, len), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static struct dz_rawset *build_set(const char *name, const char *id_column)
{
    struct dz_rawset *set = NULL;
    struct werr err = {0};
    int in = open_data(name);
    int out = memfd_create("set", MFD_CLOEXEC);

    if (dz_rawset_build(in, CSV_ENCODING_UTF8, &id_column, id_column ? 1 : 0,
                        out, &err) < 0)
        fail_msg("building the raw set of %s failed: %s", name, err.msg);
    assert_int_equal(dz_rawset_open(out, &set, &err), 0);
    close(in);
    close(out);
    return set;
}

static int setup_sets(void **state)
{
    struct sets *sets = calloc(1, sizeof(*sets));

    if (!sets || sodium_init() < 0)
        return -1;
    sets->birdstrikes = build_set("birdstrikes.csv", NULL);
    sets->residents = build_set("residents-10k.csv", "name");
    *state = sets;
    return 0;
}

static int teardown_sets(void **state)
{
    struct sets *sets = *state;

    dz_rawset_close(sets->birdstrikes);
    dz_rawset_close(sets->residents);
    free(sets);
    return 0;
}

/* The first n + 1 lines (header and n rows) of a data file, each ending in
 * LF.  A row of the residents table with a line break in its note spans
 * two lines. */
static char *data_head(const char *name, size_t n)
{
    int fd = open_data(name);
    FILE *f = fdopen(fd, "r");
    char *text = NULL, *line = NULL;
    size_t len = 0, cap = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(f);
    assert_non_null(out);
    for (size_t i = 0; i <= n && getline(&line, &cap, f) > 0; i++)
        fputs(line, out);
    fclose(out);
    fclose(f);
    free(line);
    return text;
}

/* head without its first line. */
static const char *data_rows(const char *head)
{
    return strchr(head, '\n') + 1;
}

static void replace_char(char *s, char from, char to)
{
    for (; *s; s++)
        if (*s == from)
            *s = to;
}

/* The fields of every line printed in the order 3, 2, 1, 4, 5, ..., as
 * awk -F, 'BEGIN { OFS = "," } { t = $1; $1 = $3; $3 = t; print }' does. */
static char *swap_first_and_third(const char *text)
{
    char *copy = strdup(text), *save = NULL, *out_text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&out_text, &len);

    assert_non_null(copy);
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f1 = line, *f2 = strchr(f1, ',') + 1, *f3 = strchr(f2, ',') + 1;
        char *rest = strchr(f3, ',');

        fprintf(out, "%.*s,%.*s,%.*s%s\n", (int)(rest - f3), f3,
                (int)(f3 - 1 - f2), f2, (int)(f2 - 1 - f1), f1, rest);
    }
    fclose(out);
    free(copy);
    return out_text;
}

/* base64 of text wrapped at WRAP characters, as base64(1) writes it. */
static char *base64_wrapped(const char *text, size_t wrap)
{
    size_t len = strlen(text);
    size_t size = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(size), *out = malloc(size + size / wrap + 2);
    size_t b64_len, n = 0;

    assert_non_null(b64);
    assert_non_null(out);
    sodium_bin2base64(b64, size, (const unsigned char *)text, len,
                      sodium_base64_VARIANT_ORIGINAL);
    b64_len = strlen(b64);
    for (size_t i = 0; i < b64_len; i++) {
        out[n++] = b64[i];
        if ((i + 1) % wrap == 0 || i + 1 == b64_len)
            out[n++] = '\n';
    }
    out[n] = '\0';
    free(b64);
    return out;
}

/* A dump of text in the layout of xxd(1): offset, eight groups of two
 * bytes, two spaces and the characters. */
static char *xxd_dump(const char *text)
{
    size_t len = strlen(text), out_len = 0;
    char *out_text = NULL;
    FILE *out = open_memstream(&out_text, &out_len);

    for (size_t off = 0; off < len; off += 16) {
        size_t n = len - off < 16 ? len - off : 16;

        fprintf(out, "%08zx: ", off);
        for (size_t i = 0; i < 16; i++) {
            if (i < n)
                fprintf(out, "%02x", (unsigned char)text[off + i]);
            else
                fputs("  ", out);
            if (i % 2 == 1)
                fputc(' ', out);
        }
        fputc(' ', out);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)text[off + i];

            fputc(c >= 0x20 && c < 0x7f ? c : '.', out);
        }
        fputc('\n', out);
    }
    fclose(out);
    return out_text;
}

/* Plain hex of text, 60 digits a line, as xxd -p writes it. */
static char *plain_hex(const char *text)
{
    size_t len = strlen(text), out_len = 0;
    char *out_text = NULL;
    FILE *out = open_memstream(&out_text, &out_len);

    for (size_t i = 0; i < len; i++) {
        fprintf(out, "%02x", (unsigned char)text[i]);
        if ((i + 1) % 30 == 0 || i + 1 == len)
            fputc('\n', out);
    }
    fclose(out);
    return out_text;
}

static void run_check(const struct dz_rawset *set, const char *text,
                      enum dz_format format, struct dz_report *report)
{
    struct werr err = {0};
    int fd = memfile(text, strlen(text));

    if (dz_overlap_check(set, fd, format, CSV_ENCODING_UTF8, report, &err) < 0)
        fail_msg("overlap check failed: %s", err.msg);
    close(fd);
}

static void reordered_columns_match(void **state)
{
    struct sets *sets = *state;
    char *head = data_head("birdstrikes.csv", BIRD_ROWS);
    char *swapped = swap_first_and_third(head);
    struct dz_report report;

    run_check(sets->birdstrikes, swapped, DZ_FORMAT_CSV, &report);
    assert_int_equal(report.rows, BIRD_ROWS);
    assert_int_equal(report.raw_rows, BIRD_ROWS);
    assert_int_equal(report.raw_subset_rows, 0);
    assert_int_equal(report.findings[0].kind, DZ_FINDING_RAW_ROW);
    assert_int_equal(report.findings[0].line, 2);
    run_check(sets->birdstrikes, swapped, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_rows, BIRD_ROWS);
    free(swapped);
    free(head);
}

/* Rows with the delimiter changed by tr ',' 'delimiter'. */
static void check_delimiter(const struct dz_rawset *set, char delimiter)
{
    char *head = data_head("birdstrikes.csv", BIRD_ROWS);
    struct dz_report report;

    replace_char(head, ',', delimiter);
    run_check(set, head, DZ_FORMAT_CSV, &report);
    assert_int_equal(report.rows, BIRD_ROWS);
    assert_int_equal(report.raw_rows, BIRD_ROWS);
    assert_int_equal(report.raw_subset_rows, 0);
    run_check(set, head, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.rows, BIRD_ROWS + 1);
    assert_int_equal(report.raw_rows, BIRD_ROWS);
    run_check(set, data_rows(head), DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_rows, BIRD_ROWS);
    free(head);
}

static void semicolon_delimiter_matches(void **state)
{
    check_delimiter(((struct sets *)*state)->birdstrikes, ';');
}

static void pipe_delimiter_matches(void **state)
{
    check_delimiter(((struct sets *)*state)->birdstrikes, '|');
}

static void tab_delimiter_matches(void **state)
{
    check_delimiter(((struct sets *)*state)->birdstrikes, '\t');
}

/* Number of CSV records after the header of text. */
static uint64_t count_records(const char *text)
{
    int fd = memfile(text, strlen(text));
    struct csv_reader *r = NULL;
    struct werr err = {0};
    struct csv_row row;
    uint64_t n = 0;

    assert_int_equal(csv_reader_new(fd, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    assert_int_equal(csv_reader_next(r, &row, &err), 1);
    while (csv_reader_next(r, &row, &err) > 0)
        n++;
    csv_reader_free(r);
    close(fd);
    return n;
}

/* After tr ',' ';' the quoted addresses that had commas differ from the
 * raw ones, and notes with line breaks span two lines, so the subset rule
 * finds those rows. */
static void semicolon_residents_match(void **state)
{
    struct sets *sets = *state;
    char *head = data_head("residents-10k.csv", 200);
    uint64_t records = count_records(head);
    struct dz_report report;

    replace_char(head, ',', ';');
    run_check(sets->residents, head, DZ_FORMAT_CSV, &report);
    assert_true(records < 200);
    assert_int_equal(report.raw_rows, records);
    assert_true(report.raw_subset_rows > 0);
    free(head);
}

/* Check that text contains rows raw rows in encoded form, the first at
 * line. */
static void check_encoded(const struct dz_rawset *set, const char *text,
                          enum dz_format format, uint64_t rows, uint64_t line)
{
    const struct dz_finding *first = NULL;
    struct dz_report report;

    run_check(set, text, format, &report);
    assert_int_equal(report.raw_rows, rows);
    assert_int_equal(report.raw_encoded_rows, rows);
    for (size_t i = 0; !first && i < report.n_findings; i++)
        if (report.findings[i].kind == DZ_FINDING_RAW_ENCODED)
            first = &report.findings[i];
    if (!first)
        fail_msg("no finding of kind %s among the first %zu",
                 dz_finding_kind_to_string(DZ_FINDING_RAW_ENCODED),
                 report.n_findings);
    else
        assert_int_equal(first->line, line);
}

static void base64_of_rows_matches(void **state)
{
    struct sets *sets = *state;
    char *head = data_head("residents-10k.csv", RESIDENT_ROWS);
    char *wrapped = base64_wrapped(data_rows(head), WRAP);
    char *one_line = base64_wrapped(data_rows(head), SIZE_MAX);
    char json[4096], csv[4096];

    check_encoded(sets->residents, wrapped, DZ_FORMAT_TEXT, RESIDENT_ROWS, 1);
    check_encoded(sets->residents, wrapped, DZ_FORMAT_CSV, RESIDENT_ROWS, 1);
    one_line[strlen(one_line) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"blob\": \"%s\"}\n", one_line);
    check_encoded(sets->residents, json, DZ_FORMAT_TEXT, RESIDENT_ROWS, 1);
    snprintf(csv, sizeof(csv), "id,payload\n1,%s\n", one_line);
    check_encoded(sets->residents, csv, DZ_FORMAT_CSV, RESIDENT_ROWS, 2);
    free(one_line);
    free(wrapped);
    free(head);
}

/* base64 cut off in the middle of a character still shows its rows. */
static void truncated_base64_matches(void **state)
{
    struct sets *sets = *state;
    char *head = data_head("residents-10k.csv", RESIDENT_ROWS);
    char *wrapped = base64_wrapped(data_rows(head), WRAP);
    char *last_line = strrchr(wrapped, '\n');
    struct dz_report report;

    /* Drop the last line and the last 10 characters of the one before,
     * which cuts the last row and a character in it. */
    *last_line = '\0';
    last_line = strrchr(wrapped, '\n');
    strcpy(last_line - 10, "\n");
    run_check(sets->residents, wrapped, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_encoded_rows, RESIDENT_ROWS);
    assert_int_equal(report.raw_subset_rows, 1);
    free(wrapped);
    free(head);
}

static void hex_dump_of_rows_matches(void **state)
{
    struct sets *sets = *state;
    char *head = data_head("birdstrikes.csv", 3);
    char *dump = xxd_dump(data_rows(head));
    char *hex = plain_hex(data_rows(head));

    check_encoded(sets->birdstrikes, dump, DZ_FORMAT_TEXT, 3, 1);
    check_encoded(sets->birdstrikes, hex, DZ_FORMAT_TEXT, 3, 1);
    free(hex);
    free(dump);
    free(head);
}

static void hex_dump_of_residents_matches(void **state)
{
    struct sets *sets = *state;
    char *head = data_head("residents-10k.csv", RESIDENT_ROWS);
    char *dump = xxd_dump(data_rows(head));

    check_encoded(sets->residents, dump, DZ_FORMAT_TEXT, RESIDENT_ROWS, 1);
    free(dump);
    free(head);
}

/* Four raw fields of each row in another order, among made-up ones. */
static void subset_of_fields_matches(void **state)
{
    struct sets *sets = *state;
    int in = open_data("residents-10k.csv");
    struct csv_reader *r = NULL;
    struct werr err = {0};
    struct dz_report report;
    struct csv_row row;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_int_equal(csv_reader_new(in, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    assert_int_equal(csv_reader_next(r, &row, &err), 1);
    fputs("x,phone,card,when,id,born\n", out);
    for (int i = 0; i < 10 && csv_reader_next(r, &row, &err) > 0; i++)
        fprintf(out, "%d,%s,%s,today,%s,%s\n", i, row.fields[5].data,
                row.fields[6].data, row.fields[3].data, row.fields[4].data);
    fclose(out);
    run_check(sets->residents, text, DZ_FORMAT_CSV, &report);
    assert_int_equal(report.rows, 10);
    assert_int_equal(report.raw_rows, 10);
    assert_int_equal(report.raw_subset_rows, 10);
    assert_int_equal(report.findings[0].kind, DZ_FINDING_RAW_SUBSET);
    csv_reader_free(r);
    close(in);
    free(text);
}

/* Two distinctive values of a row are below the subset threshold. */
static void two_fields_do_not_match(void **state)
{
    struct sets *sets = *state;
    struct dz_report report;

    run_check(sets->residents, "when,amount\n2023-04-28,2612.98\n"
              "1995-09-01,2612.98\n", DZ_FORMAT_CSV, &report);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_value_rows, 0);
}

static char *residents_view(void)
{
    static const char rules_text[] =
        "record_no keep sequential number of the extract\n"
        "name mask 1 0\n"
        "resident_id pseudonym\n"
        "birth_date date year\n"
        "phone mask 3 4\n"
        "bank_card drop\n"
        "address mask 6 0\n"
        "employer_uscc pseudonym org\n"
        "visit_date date month\n"
        "amount_yuan generalize 1000\n"
        "note redact\n";
    static const uint8_t secret[DZ_SECRET_SIZE] = "tenant secret, 32 bytes long..";
    struct dz_rules *rules = NULL;
    struct werr err = {0};
    struct dz_view_request req = {.secret = secret,
                                  .sample = {.mode = DZ_SAMPLE_ALL}};
    off_t size;
    char *text;

    assert_int_equal(dz_rules_parse(rules_text, strlen(rules_text), "rules",
                                    &rules, &err), 0);
    req.rules = rules;
    req.in_fd = open_data("residents-10k.csv");
    req.out_fd = memfd_create("view", MFD_CLOEXEC);
    assert_int_equal(dz_view_make(&req, NULL, &err), 0);
    size = lseek(req.out_fd, 0, SEEK_END);
    text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(req.out_fd, text, (size_t)size, 0), size);
    dz_rules_free(rules);
    close(req.in_fd);
    close(req.out_fd);
    return text;
}

static void view_has_no_raw_rows(void **state)
{
    struct sets *sets = *state;
    char *view = residents_view();
    char *b64 = base64_wrapped(view, WRAP);
    struct dz_report report;

    run_check(sets->residents, view, DZ_FORMAT_CSV, &report);
    assert_int_equal(report.rows, 10000);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_value_rows, 0);
    run_check(sets->residents, view, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_value_rows, 0);
    replace_char(view, ',', '\t');
    run_check(sets->residents, view, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_rows, 0);
    run_check(sets->residents, b64, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_encoded_rows, 0);
    free(b64);
    free(view);
}

/* Rows per county, counties with at least 10 rows. */
static void county_counts_have_no_raw_rows(void **state)
{
    struct sets *sets = *state;
    int in = open_data("residents-10k.csv");
    struct csv_reader *r = NULL;
    struct werr err = {0};
    struct dz_report report;
    struct csv_row row;
    char names[64][64];
    uint64_t counts[64] = {0};
    size_t n_counties = 0, written = 0, len = 0;
    char *text = NULL;
    FILE *out = open_memstream(&text, &len);

    assert_int_equal(csv_reader_new(in, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    assert_int_equal(csv_reader_next(r, &row, &err), 1);
    while (csv_reader_next(r, &row, &err) > 0) {
        size_t i = 0;

        while (i < n_counties && strcmp(names[i], row.fields[7].data) != 0)
            i++;
        if (i == n_counties) {
            assert_true(n_counties < 64);
            snprintf(names[n_counties++], sizeof(names[0]), "%s",
                     row.fields[7].data);
        }
        counts[i]++;
    }
    fputs("county,people\n", out);
    for (size_t i = 0; i < n_counties; i++) {
        if (counts[i] < 10)
            continue;
        fprintf(out, "%s,%llu\n", names[i], (unsigned long long)counts[i]);
        written++;
    }
    fclose(out);
    assert_true(written >= 5);
    run_check(sets->residents, text, DZ_FORMAT_CSV, &report);
    assert_int_equal(report.rows, written);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_value_rows, 0);
    run_check(sets->residents, text, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_rows, 0);
    csv_reader_free(r);
    close(in);
    free(text);
}

/* Long tokens that are not encoded text decode to bytes, not text. */
static void unrelated_tokens_stay_clean(void **state)
{
    struct sets *sets = *state;
    unsigned char random[600];
    char b64[1024];
    struct dz_report report;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    randombytes_buf(random, sizeof(random));
    sodium_bin2base64(b64, sizeof(b64), random, sizeof(random),
                      sodium_base64_VARIANT_ORIGINAL);
    fprintf(out, "commit 3b18e512dba79e4c8300dd08aeb37f8e728b8dad\n"
                 "key %s\n"
                 "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
                 "AbcdefghijklmnopqrstuvwxyzABCDEFGH\n",
            b64);
    fclose(out);
    run_check(sets->residents, text, DZ_FORMAT_TEXT, &report);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_encoded_rows, 0);
    assert_int_equal(report.total, 0);
    free(text);
}

static void rawset_rejects_old_version(void **state)
{
    static const char v1[] = "WDZRAW01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    struct dz_rawset *set = NULL;
    struct werr err = {0};
    int fd = memfile(v1, sizeof(v1) - 1);

    (void)state;
    assert_int_equal(dz_rawset_open(fd, &set, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "old format"));
    assert_non_null(strstr(err.msg, "rebuild it"));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reordered_columns_match),
        cmocka_unit_test(semicolon_delimiter_matches),
        cmocka_unit_test(pipe_delimiter_matches),
        cmocka_unit_test(tab_delimiter_matches),
        cmocka_unit_test(semicolon_residents_match),
        cmocka_unit_test(base64_of_rows_matches),
        cmocka_unit_test(truncated_base64_matches),
        cmocka_unit_test(hex_dump_of_rows_matches),
        cmocka_unit_test(hex_dump_of_residents_matches),
        cmocka_unit_test(subset_of_fields_matches),
        cmocka_unit_test(two_fields_do_not_match),
        cmocka_unit_test(view_has_no_raw_rows),
        cmocka_unit_test(county_counts_have_no_raw_rows),
        cmocka_unit_test(unrelated_tokens_stay_clean),
        cmocka_unit_test(rawset_rejects_old_version),
    };

    return cmocka_run_group_tests(tests, setup_sets, teardown_sets);
}
