/* CSV reader and writer: RFC 4180 cases, encodings, errors, public data. */
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

/* An in-memory file holding len bytes of data, positioned at 0. */
static int memfile(const void *data, size_t len)
{
    int fd = memfd_create("csv", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, data, len), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

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

/* Reader over a string, for one test. */
struct fixture {
    int fd;
    struct csv_reader *reader;
    struct werr err;
};

static void fixture_open(struct fixture *f, const char *text, size_t len,
                         enum csv_encoding encoding)
{
    memset(f, 0, sizeof(*f));
    f->fd = memfile(text, len);
    assert_int_equal(csv_reader_new(f->fd, encoding, 0, &f->reader, &f->err),
                     0);
}

static void fixture_close(struct fixture *f)
{
    csv_reader_free(f->reader);
    close(f->fd);
}

static int next(struct fixture *f, struct csv_row *row)
{
    return csv_reader_next(f->reader, row, &f->err);
}

#define OPEN(f, s) fixture_open(f, s, sizeof(s) - 1, CSV_ENCODING_UTF8)

static void csv_quotes_and_doubled_quotes(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "a,b,c\nx,\"say \"\"hi\"\", ok\",\"\"\n");
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(row.n_fields, 3);
    assert_string_equal(row.fields[1].data, "say \"hi\", ok");
    assert_int_equal(row.fields[2].len, 0);
    assert_int_equal(next(&f, &row), 0);
    fixture_close(&f);
}

static void csv_embedded_newline_line_numbers(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "h1,h2\n\"a\nb\",c\nd,e\n");
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[0].data, "a\nb");
    assert_int_equal(row.line, 2);
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(row.line, 4);
    fixture_close(&f);
}

static void csv_crlf_and_lone_cr(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "h1,h2\r\na,b\r\n\"c\r\nd\",e\rf,g");
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[1].data, "h2");
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[1].data, "b");
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[0].data, "c\r\nd");
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[0].data, "f");
    assert_string_equal(row.fields[1].data, "g");
    assert_int_equal(next(&f, &row), 0);
    fixture_close(&f);
}

static void csv_bom_is_skipped(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "\xEF\xBB\xBFname,id\n张三,1\n");
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[0].data, "name");
    fixture_close(&f);
}

static void csv_blank_lines_and_trailing_comma(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "a,b\n\n1,\n\r\n");
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(row.n_fields, 2);
    assert_int_equal(row.line, 3);
    assert_int_equal(row.fields[1].len, 0);
    assert_int_equal(next(&f, &row), 0);
    fixture_close(&f);
}

static void csv_ragged_row_names_line(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "a,b\n1,2\n\"x\ny\"\n3,4\n");
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), -EBADMSG);
    assert_non_null(strstr(f.err.msg, "line 3"));
    assert_non_null(strstr(f.err.msg, "1 fields but the header has 2"));
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(row.line, 5);
    fixture_close(&f);
}

static void csv_unclosed_quote_fails(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "a,b\n1,\"open\n2,3\n");
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), -EBADMSG);
    assert_non_null(strstr(f.err.msg, "line 2"));
    assert_non_null(strstr(f.err.msg, "not closed"));
    fixture_close(&f);
}

static void csv_text_after_closing_quote_fails(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "a,b\n\"x\"y,2\n");
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), -EBADMSG);
    assert_non_null(strstr(f.err.msg, "line 2, field 1"));
    fixture_close(&f);
}

static void csv_invalid_utf8_names_offset(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "a,b\nok,\xd5\xc5\xc8\xfd\n");
    assert_int_equal(next(&f, &row), -EILSEQ);
    assert_non_null(strstr(f.err.msg, "byte offset 7"));
    assert_non_null(strstr(f.err.msg, "0xd5"));
    assert_non_null(strstr(f.err.msg, "GB 18030 or GBK"));
    fixture_close(&f);
}

static void csv_truncated_utf8_at_end(void **state)
{
    struct fixture f;
    struct csv_row row;

    (void)state;
    OPEN(&f, "a\n\xe5\xbc");
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), -EILSEQ);
    assert_non_null(strstr(f.err.msg, "byte offset 2"));
    fixture_close(&f);
}

static void csv_gbk_converted(void **state)
{
    static const char gbk[] = "\xd0\xd5\xc3\xfb,\xb3\xc7\xca\xd0\n"
                              "\xd5\xc5\xc8\xfd,\xb1\xb1\xbe\xa9\n";
    struct fixture f;
    struct csv_row row;

    (void)state;
    fixture_open(&f, gbk, sizeof(gbk) - 1, CSV_ENCODING_GBK);
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[0].data, "姓名");
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[0].data, "张三");
    assert_string_equal(row.fields[1].data, "北京");
    fixture_close(&f);
}

static void csv_gb18030_four_byte_converted(void **state)
{
    static const char gb[] = "v\n\xa8\xa6\xa2\xe3\x95\x32\x82\x36\n";
    struct fixture f;
    struct csv_row row;

    (void)state;
    fixture_open(&f, gb, sizeof(gb) - 1, CSV_ENCODING_GB18030);
    assert_int_equal(next(&f, &row), 1);
    assert_int_equal(next(&f, &row), 1);
    assert_string_equal(row.fields[0].data, "é€𠀀");
    fixture_close(&f);
}

static void csv_gbk_invalid_names_offset(void **state)
{
    static const char gbk[] = "a,b\n\xd5\xc5,\x81\x20x\n";
    struct fixture f;
    struct csv_row row;

    (void)state;
    fixture_open(&f, gbk, sizeof(gbk) - 1, CSV_ENCODING_GBK);
    assert_int_equal(next(&f, &row), -EILSEQ);
    assert_non_null(strstr(f.err.msg, "byte offset 7"));
    assert_non_null(strstr(f.err.msg, "0x81"));
    fixture_close(&f);
}

static void csv_gbk_rejects_utf8_bom(void **state)
{
    static const char utf8[] = "\xef\xbb\xbfid,name\n1,\xe5\xbc\xa0\n";
    struct fixture f;
    struct csv_row row;

    (void)state;
    fixture_open(&f, utf8, sizeof(utf8) - 1, CSV_ENCODING_GBK);
    assert_int_equal(next(&f, &row), -EILSEQ);
    assert_non_null(strstr(f.err.msg, "UTF-8 byte order mark"));
    fixture_close(&f);
}

static void csv_encoding_names(void **state)
{
    (void)state;
    assert_int_equal(csv_encoding_from_string("GBK"), CSV_ENCODING_GBK);
    assert_int_equal(csv_encoding_from_string("gb18030"), CSV_ENCODING_GB18030);
    assert_int_equal(csv_encoding_from_string("UTF-8"), CSV_ENCODING_UTF8);
    assert_int_equal(csv_encoding_from_string("latin1"), -EINVAL);
}

/* Write rows with every kind of special character, large enough to cross
 * many read buffers, and read them back unchanged. */
static void csv_writer_round_trip(void **state)
{
    static const char *const values[] = {"plain", "with,comma", "q\"uote",
                                         "line\nbreak", "cr\rlf\r\n", "",
                                         "中文,姓名", "\"\""};
    const size_t n_values = sizeof(values) / sizeof(values[0]);
    int fd = memfd_create("out", MFD_CLOEXEC);
    struct csv_writer *w = NULL;
    struct csv_reader *r = NULL;
    struct werr err = {0};
    struct csv_row row;

    (void)state;
    assert_int_equal(csv_writer_new(fd, &w), 0);
    for (size_t i = 0; i < 30000; i++) {
        assert_int_equal(csv_writer_field(w, values[i % n_values],
                                          strlen(values[i % n_values])), 0);
        assert_int_equal(csv_writer_field(w, values[(i + 3) % n_values],
                                          strlen(values[(i + 3) % n_values])), 0);
        assert_int_equal(csv_writer_end_row(w), 0);
    }
    assert_int_equal(csv_writer_close(w), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(csv_reader_new(fd, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    for (size_t i = 0; i < 30000; i++) {
        assert_int_equal(csv_reader_next(r, &row, &err), 1);
        assert_int_equal(row.n_fields, 2);
        assert_string_equal(row.fields[0].data, values[i % n_values]);
        assert_string_equal(row.fields[1].data, values[(i + 3) % n_values]);
    }
    assert_int_equal(csv_reader_next(r, &row, &err), 0);
    csv_reader_free(r);
    close(fd);
}

static void csv_writer_lone_empty_field(void **state)
{
    struct csv_writer *w = NULL;
    const char *data;
    size_t len;

    (void)state;
    assert_int_equal(csv_writer_new(-1, &w), 0);
    assert_int_equal(csv_writer_field(w, "", 0), 0);
    assert_int_equal(csv_writer_end_row(w), 0);
    data = csv_writer_data(w, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "\"\"\n", 3);
    assert_int_equal(csv_writer_close(w), 0);
}

static void csv_zipcodes_keep_leading_zeros(void **state)
{
    int fd = open_data("zipcodes.csv");
    struct csv_reader *r = NULL;
    struct werr err = {0};
    struct csv_row row;
    size_t rows = 0;

    (void)state;
    assert_int_equal(csv_reader_new(fd, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    assert_int_equal(csv_reader_next(r, &row, &err), 1);
    assert_string_equal(row.fields[0].data, "zip_code");
    assert_int_equal(csv_reader_next(r, &row, &err), 1);
    assert_string_equal(row.fields[0].data, "00501");
    rows = 1;
    while (csv_reader_next(r, &row, &err) > 0)
        rows++;
    assert_int_equal(err.code, 0);
    assert_int_equal(rows, 42049);
    csv_reader_free(r);
    close(fd);
}

static void csv_birdstrikes_dollar_header_and_empties(void **state)
{
    int fd = open_data("birdstrikes.csv");
    struct csv_reader *r = NULL;
    struct werr err = {0};
    struct csv_row row;
    size_t rows = 0, empty = 0;

    (void)state;
    assert_int_equal(csv_reader_new(fd, CSV_ENCODING_UTF8, 0, &r, &err), 0);
    assert_int_equal(csv_reader_next(r, &row, &err), 1);
    assert_string_equal(row.fields[12].data, "Cost Total $");
    while (csv_reader_next(r, &row, &err) > 0) {
        rows++;
        for (size_t i = 0; i < row.n_fields; i++)
            empty += row.fields[i].len == 0;
    }
    assert_int_equal(err.code, 0);
    assert_int_equal(rows, 10000);
    assert_int_equal(empty, 2836);
    csv_reader_free(r);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_quotes_and_doubled_quotes),
        cmocka_unit_test(csv_embedded_newline_line_numbers),
        cmocka_unit_test(csv_crlf_and_lone_cr),
        cmocka_unit_test(csv_bom_is_skipped),
        cmocka_unit_test(csv_blank_lines_and_trailing_comma),
        cmocka_unit_test(csv_ragged_row_names_line),
        cmocka_unit_test(csv_unclosed_quote_fails),
        cmocka_unit_test(csv_text_after_closing_quote_fails),
        cmocka_unit_test(csv_invalid_utf8_names_offset),
        cmocka_unit_test(csv_truncated_utf8_at_end),
        cmocka_unit_test(csv_gbk_converted),
        cmocka_unit_test(csv_gb18030_four_byte_converted),
        cmocka_unit_test(csv_gbk_invalid_names_offset),
        cmocka_unit_test(csv_gbk_rejects_utf8_bom),
        cmocka_unit_test(csv_encoding_names),
        cmocka_unit_test(csv_writer_round_trip),
        cmocka_unit_test(csv_writer_lone_empty_field),
        cmocka_unit_test(csv_zipcodes_keep_leading_zeros),
        cmocka_unit_test(csv_birdstrikes_dollar_header_and_empties),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
