/* Development views of the residents table, profiles, blocking, sampling
 * and the export checks, on the shipped test data. */
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

static const uint8_t tenant_a[DZ_SECRET_SIZE] = "tenant-a secret, 32 bytes long!";
static const uint8_t tenant_b[DZ_SECRET_SIZE] = "tenant-b secret, 32 bytes long!";

static const char full_rules[] =
    "record_no keep sequential number of the extract, not linked to a person\n"
    "name mask 1 0\n"
    "gender keep\n"
    "resident_id pseudonym\n"
    "birth_date date year\n"
    "phone mask 3 4\n"
    "bank_card drop\n"
    "county keep\n"
    "address mask 6 0\n"
    "employer_uscc pseudonym org\n"
    "service keep\n"
    "visit_date date month\n"
    "amount_yuan generalize 1000\n"
    "note redact\n";

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

static int memfile(const char *text)
{
    int fd = memfd_create("csv", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, text, strlen(text)), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static struct dz_rules *rules_of(const char *text)
{
    struct dz_rules *rules = NULL;
    struct werr err = {0};

    if (dz_rules_parse(text, strlen(text), "rules", &rules, &err) < 0)
        fail_msg("rules do not parse: %s", err.msg);
    return rules;
}

/* Run the view of residents-10k.csv into a new memory file. */
static int residents_view(const char *rules_text, const uint8_t *secret,
                          struct dz_sample sample, struct dz_view_stats *stats,
                          struct werr *err, int *ret_out)
{
    struct dz_rules *rules = rules_of(rules_text);
    int in = open_data("residents-10k.csv");
    struct dz_view_request req = {.in_fd = in, .rules = rules,
                                  .secret = secret, .sample = sample};
    int ret;

    req.out_fd = *ret_out = memfd_create("view", MFD_CLOEXEC);
    ret = dz_view_make(&req, stats, err);
    dz_rules_free(rules);
    close(in);
    lseek(*ret_out, 0, SEEK_SET);
    return ret;
}

static char *slurp(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)size + 1);

    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    return buf;
}

static void view_full_rules_leaves_no_pii(void **state)
{
    struct dz_sample all = {.mode = DZ_SAMPLE_ALL};
    struct dz_view_stats stats = {0};
    struct dz_report report;
    struct werr err = {0};
    int out;

    (void)state;
    assert_int_equal(residents_view(full_rules, tenant_a, all, &stats, &err,
                                    &out), 0);
    assert_int_equal(stats.rows_in, 10000);
    assert_int_equal(stats.rows_out, 10000);
    assert_int_equal(stats.columns_out, 13);
    assert_int_equal(stats.unparsed_values, 0);
    assert_int_equal(dz_scan_fd(out, DZ_FORMAT_CSV, CSV_ENCODING_UTF8,
                                &report, &err), 0);
    assert_int_equal(report.rows, 10000);
    if (report.total > 0)
        fail_msg("PII left in the view: %s at line %llu column %s: %s",
                 pii_kind_to_string(report.findings[0].pii),
                 (unsigned long long)report.findings[0].line,
                 report.findings[0].column_name, report.findings[0].example);
    close(out);
}

static void view_raw_residents_has_pii(void **state)
{
    struct dz_report report;
    struct werr err = {0};
    int fd = open_data("residents-10k.csv");

    (void)state;
    assert_int_equal(dz_scan_fd(fd, DZ_FORMAT_CSV, CSV_ENCODING_UTF8, &report,
                                &err), 0);
    assert_int_equal(report.pii[PII_RESIDENT_ID], 10000);
    assert_true(report.pii[PII_MOBILE] >= 10000);
    assert_int_equal(report.pii[PII_BANK_CARD], 10000);
    assert_int_equal(report.pii[PII_USCC], 10000);
    assert_int_equal(report.n_findings, DZ_FINDINGS_MAX);
    assert_string_equal(report.findings[0].column_name, "resident_id");
    assert_string_equal(report.findings[0].example, "330726********7956");
    close(fd);
}

/* Value of column col in the first data row that has record_no. */
static void pseudonyms_per_tenant_match(void **state)
{
    struct dz_sample all = {.mode = DZ_SAMPLE_ALL};
    struct werr err = {0};
    int a1, a2, b;
    char *ta1, *ta2, *tb;

    (void)state;
    assert_int_equal(residents_view(full_rules, tenant_a, all, NULL, &err, &a1), 0);
    assert_int_equal(residents_view(full_rules, tenant_a, all, NULL, &err, &a2), 0);
    assert_int_equal(residents_view(full_rules, tenant_b, all, NULL, &err, &b), 0);
    ta1 = slurp(a1);
    ta2 = slurp(a2);
    tb = slurp(b);
    assert_string_equal(ta1, ta2);
    assert_string_not_equal(ta1, tb);
    /* Only the pseudonyms differ: the row "1,黄**,男,p...," keeps its
     * other columns. */
    assert_memory_equal(ta1, tb, strlen("record_no,name,gender,resident_id"));
    free(ta1);
    free(ta2);
    free(tb);
    close(a1);
    close(a2);
    close(b);
}

static uint64_t count_rows(int fd, uint64_t *ret_first_record,
                           bool *ret_ordered)
{
    struct csv_reader *r = NULL;
    struct werr err = {0};
    struct csv_row row;
    uint64_t n = 0, last = 0;

    *ret_ordered = true;
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(csv_reader_new(fd, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    assert_int_equal(csv_reader_next(r, &row, &err), 1);
    while (csv_reader_next(r, &row, &err) > 0) {
        uint64_t rec = strtoull(row.fields[0].data, NULL, 10);

        if (n == 0)
            *ret_first_record = rec;
        *ret_ordered &= rec > last;
        last = rec;
        n++;
    }
    csv_reader_free(r);
    return n;
}

static void sample_count_exact_and_ordered(void **state)
{
    struct dz_sample s = {.mode = DZ_SAMPLE_COUNT, .count = 500, .seed = 7};
    struct dz_view_stats stats = {0};
    struct werr err = {0};
    uint64_t first1 = 0, first2 = 0, first3 = 0;
    bool ordered;
    int o1, o2, o3;

    (void)state;
    assert_int_equal(residents_view(full_rules, tenant_a, s, &stats, &err, &o1), 0);
    assert_int_equal(stats.rows_out, 500);
    assert_int_equal(count_rows(o1, &first1, &ordered), 500);
    assert_true(ordered);
    assert_int_equal(residents_view(full_rules, tenant_a, s, NULL, &err, &o2), 0);
    count_rows(o2, &first2, &ordered);
    assert_int_equal(first1, first2);
    s.seed = 8;
    assert_int_equal(residents_view(full_rules, tenant_a, s, NULL, &err, &o3), 0);
    count_rows(o3, &first3, &ordered);
    assert_int_not_equal(first1, first3);
    close(o1);
    close(o2);
    close(o3);
}

static void sample_fraction_reproducible(void **state)
{
    struct dz_sample s = {.mode = DZ_SAMPLE_FRACTION, .fraction = 0.1,
                          .seed = 42};
    struct dz_view_stats st1 = {0}, st2 = {0};
    struct werr err = {0};
    char *t1, *t2;
    int o1, o2;

    (void)state;
    assert_int_equal(residents_view(full_rules, tenant_a, s, &st1, &err, &o1), 0);
    assert_int_equal(residents_view(full_rules, tenant_a, s, &st2, &err, &o2), 0);
    assert_in_range(st1.rows_out, 850, 1150);
    assert_int_equal(st1.rows_out, st2.rows_out);
    t1 = slurp(o1);
    t2 = slurp(o2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    close(o1);
    close(o2);
}

static void sample_parse_forms(void **state)
{
    struct dz_sample s;
    struct werr err = {0};

    (void)state;
    assert_int_equal(dz_sample_parse("5%", 1, &s, &err), 0);
    assert_int_equal(s.mode, DZ_SAMPLE_FRACTION);
    assert_true(s.fraction > 0.0499 && s.fraction < 0.0501);
    assert_int_equal(dz_sample_parse("1000", 1, &s, &err), 0);
    assert_int_equal(s.mode, DZ_SAMPLE_COUNT);
    assert_int_equal(s.count, 1000);
    assert_int_equal(dz_sample_parse("all", 1, &s, &err), 0);
    assert_int_equal(s.mode, DZ_SAMPLE_ALL);
    assert_int_equal(dz_sample_parse("1.5", 1, &s, &err), -EINVAL);
    assert_int_equal(dz_sample_parse("-3", 1, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "invalid sample '-3'"));
}

/* full_rules without the rules for phone, bank_card and note, followed by
 * extra. */
static char *rules_without_note_and_phone(const char *extra)
{
    char *copy = strdup(full_rules), *save = NULL, *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(copy);
    assert_non_null(f);
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "phone ", 6) != 0 &&
            strncmp(line, "bank_card ", 10) != 0 &&
            strncmp(line, "note ", 5) != 0)
            fprintf(f, "%s\n", line);
    }
    fputs(extra, f);
    fclose(f);
    free(copy);
    return text;
}

static void block_unruled_pii_columns(void **state)
{
    struct dz_sample all = {.mode = DZ_SAMPLE_ALL};
    struct werr err = {0};
    char *rules = rules_without_note_and_phone("");
    int out;

    (void)state;
    assert_int_equal(residents_view(rules, tenant_a, all, NULL, &err, &out),
                     -EPERM);
    assert_non_null(strstr(err.msg, "'phone' (mobile in 10000 of 10000"));
    assert_non_null(strstr(err.msg, "'bank_card'"));
    assert_non_null(strstr(err.msg, "'note' (mobile in free text)"));
    assert_non_null(strstr(err.msg, "keep REASON"));
    assert_null(strstr(err.msg, "'address'"));
    assert_int_equal(lseek(out, 0, SEEK_END), 0);
    free(rules);
    close(out);
}

static void block_keep_without_reason(void **state)
{
    struct dz_sample all = {.mode = DZ_SAMPLE_ALL};
    struct werr err = {0};
    char *rules = rules_without_note_and_phone(
        "phone keep\nbank_card drop\nnote keep call-back numbers are needed "
        "by the pilot\n");
    int out;

    (void)state;
    assert_int_equal(residents_view(rules, tenant_a, all, NULL, &err, &out),
                     -EPERM);
    assert_non_null(strstr(err.msg, "1 column(s)"));
    assert_non_null(strstr(err.msg, "'phone'"));
    free(rules);
    close(out);
}

static void keep_with_reason_is_allowed(void **state)
{
    struct dz_sample all = {.mode = DZ_SAMPLE_ALL};
    struct werr err = {0};
    char *rules = rules_without_note_and_phone(
        "phone keep reviewed exception for the call centre\nbank_card drop\n"
        "note keep call-back numbers are needed by the pilot\n");
    int out;

    (void)state;
    assert_int_equal(residents_view(rules, tenant_a, all, NULL, &err, &out), 0);
    free(rules);
    close(out);
}

static void profile_residents_columns(void **state)
{
    struct dz_profile *p = NULL;
    struct werr err = {0};
    int fd = open_data("residents-10k.csv");

    (void)state;
    assert_int_equal(dz_profile_fd(fd, CSV_ENCODING_UTF8, &p, &err), 0);
    if (!p)
        return;
    assert_int_equal(p->rows, 10000);
    assert_string_equal(p->columns[3].name, "resident_id");
    assert_int_equal(p->columns[3].matches[PII_RESIDENT_ID], 10000);
    assert_true(p->columns[3].pii);
    assert_true(p->columns[5].pii);  /* phone */
    assert_true(p->columns[6].pii);  /* bank_card */
    assert_true(p->columns[9].pii);  /* employer_uscc */
    assert_true(p->columns[13].pii); /* note */
    assert_in_range(p->columns[13].in_text, 200, 400);
    assert_false(p->columns[0].pii); /* record_no */
    assert_false(p->columns[1].pii); /* name */
    assert_false(p->columns[8].pii); /* address */
    assert_false(p->columns[12].pii); /* amount_yuan */
    dz_profile_free(p);
    close(fd);
}

static void profile_public_data_has_no_pii(void **state)
{
    static const char *const files[] = {"airports.csv", "birdstrikes.csv",
                                        "seattle-weather.csv", "zipcodes.csv"};

    (void)state;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        struct dz_profile *p = NULL;
        struct werr err = {0};
        int fd = open_data(files[f]);

        assert_int_equal(dz_profile_fd(fd, CSV_ENCODING_UTF8, &p, &err), 0);
        for (size_t i = 0; p && i < p->n_columns; i++)
            if (p->columns[i].pii)
                fail_msg("%s: column %s flagged as PII", files[f],
                         p->columns[i].name);
        dz_profile_free(p);
        close(fd);
    }
}

static void view_keeps_zip_leading_zeros(void **state)
{
    struct dz_rules *rules = rules_of("latitude generalize 1\n");
    int in = open_data("zipcodes.csv"), out = memfd_create("v", MFD_CLOEXEC);
    struct dz_view_request req = {.in_fd = in, .rules = rules,
                                  .secret = tenant_a, .out_fd = out};
    struct werr err = {0};
    char *text;

    (void)state;
    assert_int_equal(dz_view_make(&req, NULL, &err), 0);
    text = slurp(out);
    assert_memory_equal(text, "zip_code,latitude,longitude,city,state,county\n"
                              "00501,40,-72.637078,Holtsville,NY,Suffolk\n", 88);
    free(text);
    dz_rules_free(rules);
    close(in);
    close(out);
}

static void view_from_pipe_needs_every_rule(void **state)
{
    struct dz_rules *partial = rules_of("a redact\n");
    struct dz_rules *complete = rules_of("a redact\nb keep not personal\n");
    struct dz_view_request req = {.secret = tenant_a};
    struct dz_view_stats stats = {0};
    struct werr err = {0};
    int p[2], q[2];

    (void)state;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(pipe2(q, O_CLOEXEC), 0);
    assert_int_equal(fs_write_all(p[1], "a,b\n1,2\n", 8), 0);
    assert_int_equal(fs_write_all(q[1], "a,b\n1,2\n", 8), 0);
    close(p[1]);
    close(q[1]);
    req.in_fd = p[0];
    req.out_fd = memfd_create("v", MFD_CLOEXEC);
    req.rules = partial;
    assert_int_equal(dz_view_make(&req, NULL, &err), -ESPIPE);
    assert_non_null(strstr(err.msg, "give every column a rule"));
    req.in_fd = q[0];
    req.rules = complete;
    assert_int_equal(dz_view_make(&req, &stats, &err), 0);
    assert_int_equal(stats.rows_out, 1);
    dz_rules_free(partial);
    dz_rules_free(complete);
    close(p[0]);
    close(q[0]);
    close(req.out_fd);
}

static void view_rejects_gbk_without_encoding(void **state)
{
    static const char gbk[] = "name\n\xd5\xc5\xc8\xfd\n";
    struct dz_rules *rules = rules_of("name mask 1 0\n");
    int in = memfile(gbk), out = memfd_create("v", MFD_CLOEXEC);
    struct dz_view_request req = {.in_fd = in, .rules = rules,
                                  .secret = tenant_a, .out_fd = out};
    struct werr err = {0};
    char *text;

    (void)state;
    assert_int_equal(dz_view_make(&req, NULL, &err), -EILSEQ);
    assert_non_null(strstr(err.msg, "byte offset 5"));
    lseek(in, 0, SEEK_SET);
    lseek(out, 0, SEEK_SET);
    assert_int_equal(ftruncate(out, 0), 0);
    req.encoding = CSV_ENCODING_GBK;
    assert_int_equal(dz_view_make(&req, NULL, &err), 0);
    text = slurp(out);
    assert_string_equal(text, "name\n张*\n");
    free(text);
    dz_rules_free(rules);
    close(in);
    close(out);
}

/* Raw set of residents-10k.csv with name as an extra identifier column. */
static struct dz_rawset *residents_rawset(void)
{
    static const char *const ids[] = {"name"};
    struct dz_rawset *set = NULL;
    struct werr err = {0};
    int in = open_data("residents-10k.csv");
    int out = memfd_create("set", MFD_CLOEXEC);

    assert_int_equal(dz_rawset_build(in, CSV_ENCODING_UTF8, ids, 1, out, &err),
                     0);
    assert_int_equal(dz_rawset_open(out, &set, &err), 0);
    close(in);
    close(out);
    return set;
}

/* An export holding the first n raw rows, rewritten by the CSV writer. */
static int first_raw_rows(size_t n)
{
    int in = open_data("residents-10k.csv");
    int out = memfd_create("export", MFD_CLOEXEC);
    struct csv_reader *r = NULL;
    struct csv_writer *w = NULL;
    struct werr err = {0};
    struct csv_row row;

    assert_int_equal(csv_reader_new(in, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    assert_int_equal(csv_writer_new(out, &w), 0);
    for (size_t i = 0; i <= n && csv_reader_next(r, &row, &err) > 0; i++)
        assert_int_equal(csv_writer_row(w, row.fields, row.n_fields), 0);
    assert_int_equal(csv_writer_close(w), 0);
    csv_reader_free(r);
    close(in);
    lseek(out, 0, SEEK_SET);
    return out;
}

static void overlap_finds_verbatim_rows(void **state)
{
    struct dz_rawset *set = residents_rawset();
    struct dz_report report;
    struct werr err = {0};
    int fd = first_raw_rows(20);

    (void)state;
    assert_int_equal(dz_rawset_rows(set), 10000);
    assert_int_equal(dz_overlap_check(set, fd, DZ_FORMAT_CSV,
                                      CSV_ENCODING_UTF8, &report, &err), 0);
    assert_int_equal(report.rows, 20);
    assert_int_equal(report.raw_rows, 20);
    assert_int_equal(report.raw_value_rows, 20);
    assert_int_equal(report.findings[0].kind, DZ_FINDING_RAW_ROW);
    assert_int_equal(report.findings[0].line, 2);
    close(fd);
    dz_rawset_close(set);
}

static void overlap_finds_ids_and_their_hashes(void **state)
{
    struct dz_rawset *set = residents_rawset();
    const char *id = "330784195910087972";
    uint8_t digest[crypto_hash_sha256_BYTES];
    char hex[65], text[512];
    struct dz_report report;
    struct werr err = {0};
    int fd;

    (void)state;
    crypto_hash_sha256(digest, (const uint8_t *)id, strlen(id));
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    snprintf(text, sizeof(text),
             "person,visits\n%s,3\nhash %s,4\n黄鹏志,5\nsomeone else,6\n",
             id, hex);
    fd = memfile(text);
    assert_int_equal(dz_overlap_check(set, fd, DZ_FORMAT_CSV,
                                      CSV_ENCODING_UTF8, &report, &err), 0);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_value_rows, 3);
    assert_int_equal(report.findings[0].kind, DZ_FINDING_RAW_VALUE);
    assert_string_equal(report.findings[0].column_name, "person");
    assert_string_equal(report.findings[0].example, "3****************");
    assert_int_equal(report.findings[1].line, 3);
    assert_int_equal(report.findings[2].line, 4);
    assert_string_equal(report.findings[2].example, "黄**");
    close(fd);
    dz_rawset_close(set);
}

static void overlap_text_dump_matches(void **state)
{
    struct dz_rawset *set = residents_rawset();
    struct dz_report report;
    struct werr err = {0};
    int fd = memfile("notes\n1,黄鹏志,男,330726199509017956,1995-09-01,"
                     "13257086619,6221941328550327,浦江县,"
                     "浙江省金华市浦江县宾虹路696号,913307008041151026,"
                     "社保缴费,2023-04-28,2612.98,\n");

    (void)state;
    assert_int_equal(dz_overlap_check(set, fd, DZ_FORMAT_TEXT,
                                      CSV_ENCODING_UTF8, &report, &err), 0);
    assert_int_equal(report.raw_rows, 1);
    assert_int_equal(report.findings[0].line, 2);
    close(fd);
    dz_rawset_close(set);
}

static void overlap_masked_view_is_clean(void **state)
{
    struct dz_sample all = {.mode = DZ_SAMPLE_ALL};
    struct dz_rawset *set = residents_rawset();
    struct dz_report report;
    struct werr err = {0};
    int out;

    (void)state;
    assert_int_equal(residents_view(full_rules, tenant_a, all, NULL, &err,
                                    &out), 0);
    assert_int_equal(dz_overlap_check(set, out, DZ_FORMAT_CSV,
                                      CSV_ENCODING_UTF8, &report, &err), 0);
    assert_int_equal(report.rows, 10000);
    assert_int_equal(report.raw_rows, 0);
    assert_int_equal(report.raw_value_rows, 0);
    close(out);
    dz_rawset_close(set);
}

static void rawset_rejects_damaged_file(void **state)
{
    struct dz_rawset *set = NULL;
    struct werr err = {0};
    int fd = memfile("WDZRAW01\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0short");

    (void)state;
    assert_int_equal(dz_rawset_open(fd, &set, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "rebuild it"));
    close(fd);
}

static void small_counts_and_dominance(void **state)
{
    struct dz_report report;
    struct werr err = {0};
    int fd = memfile("county,n_people,amount\nA,3,100\nB,120,200\nC,15,50\n"
                     "D,0,70\n");

    (void)state;
    assert_int_equal(dz_small_count_check(fd, CSV_ENCODING_UTF8, 0, &report,
                                          &err), 0);
    assert_int_equal(report.total, 2);
    assert_int_equal(report.findings[0].kind, DZ_FINDING_SMALL_COUNT);
    assert_int_equal(report.findings[0].line, 2);
    assert_string_equal(report.findings[0].column_name, "n_people");
    assert_string_equal(report.findings[0].example, "3");
    assert_int_equal(report.findings[1].kind, DZ_FINDING_DOMINANCE);
    assert_int_equal(report.findings[1].column, 2);
    close(fd);
}

static void small_counts_skip_codes_and_zips(void **state)
{
    struct dz_report report;
    struct werr err = {0};
    int fd = open_data("zipcodes.csv");

    (void)state;
    assert_int_equal(dz_small_count_check(fd, CSV_ENCODING_UTF8, 10, &report,
                                          &err), 0);
    assert_int_equal(report.rows, 42049);
    assert_int_equal(report.total, 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(view_full_rules_leaves_no_pii),
        cmocka_unit_test(view_raw_residents_has_pii),
        cmocka_unit_test(pseudonyms_per_tenant_match),
        cmocka_unit_test(sample_count_exact_and_ordered),
        cmocka_unit_test(sample_fraction_reproducible),
        cmocka_unit_test(sample_parse_forms),
        cmocka_unit_test(block_unruled_pii_columns),
        cmocka_unit_test(block_keep_without_reason),
        cmocka_unit_test(keep_with_reason_is_allowed),
        cmocka_unit_test(profile_residents_columns),
        cmocka_unit_test(profile_public_data_has_no_pii),
        cmocka_unit_test(view_keeps_zip_leading_zeros),
        cmocka_unit_test(view_from_pipe_needs_every_rule),
        cmocka_unit_test(view_rejects_gbk_without_encoding),
        cmocka_unit_test(overlap_finds_verbatim_rows),
        cmocka_unit_test(overlap_finds_ids_and_their_hashes),
        cmocka_unit_test(overlap_text_dump_matches),
        cmocka_unit_test(overlap_masked_view_is_clean),
        cmocka_unit_test(rawset_rejects_damaged_file),
        cmocka_unit_test(small_counts_and_dominance),
        cmocka_unit_test(small_counts_skip_codes_and_zips),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
