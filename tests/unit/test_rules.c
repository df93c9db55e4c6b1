/* Rules file parsing and the value transformations of each action. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "desensitize/desensitize.h"

static const uint8_t tenant_a[DZ_SECRET_SIZE] = "tenant-a secret, 32 bytes long!";
static const uint8_t tenant_b[DZ_SECRET_SIZE] = "tenant-b secret, 32 bytes long!";

static int memfile(const char *text)
{
    int fd = memfd_create("csv", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, text, strlen(text)), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static char *read_back(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)size + 1);

    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    return buf;
}

static struct dz_rules *parse(const char *text, struct werr *err)
{
    struct dz_rules *rules = NULL;

    if (dz_rules_parse(text, strlen(text), "rules.txt", &rules, err) < 0)
        return NULL;
    return rules;
}

/* Run the view over csv with rules; return the output (caller frees) or
 * NULL with *ret set to the error. */
static char *view(const char *csv, const char *rules_text,
                  const uint8_t *secret, struct dz_view_stats *stats,
                  struct werr *err, int *ret)
{
    struct dz_rules *rules = parse(rules_text, err);
    int in = memfile(csv), out = memfd_create("out", MFD_CLOEXEC);
    struct dz_view_request req = {.in_fd = in, .rules = rules,
                                  .secret = secret, .out_fd = out};
    char *text = NULL;

    if (!rules) {
        fail_msg("rules do not parse: %s", err->msg);
        return NULL;
    }
    *ret = dz_view_make(&req, stats, err);
    if (*ret == 0)
        text = read_back(out);
    dz_rules_free(rules);
    close(in);
    close(out);
    return text;
}

static char *view_ok(const char *csv, const char *rules_text)
{
    struct werr err = {0};
    int ret;
    char *out = view(csv, rules_text, tenant_a, NULL, &err, &ret);

    if (ret != 0)
        fail_msg("view failed: %s", err.msg);
    return out;
}

static void rules_parse_all_actions(void **state)
{
    struct werr err = {0};
    struct dz_rules *r = parse(
        "# comment\n"
        "  \n"
        "name mask 1 0\n"
        "\"Cost Total $\" generalize 1000\n"
        "\"say \"\"x\"\"\" redact\n"
        "id pseudonym org\n"
        "born date month\r\n"
        "phone keep needed for call-backs # not a comment\n"
        "card drop\n",
        &err);

    (void)state;
    if (!r) {
        fail_msg("parse failed: %s", err.msg);
        return;
    }
    assert_int_equal(r->n_rules, 7);
    assert_int_equal(r->rules[0].head, 1);
    assert_string_equal(r->rules[1].column, "Cost Total $");
    assert_int_equal(r->rules[1].width, 1000);
    assert_string_equal(r->rules[2].column, "say \"x\"");
    assert_string_equal(r->rules[3].prefix, "org");
    assert_int_equal(r->rules[4].precision, DZ_DATE_MONTH);
    assert_string_equal(r->rules[5].reason,
                        "needed for call-backs # not a comment");
    assert_int_equal(r->rules[6].action, DZ_ACTION_DROP);
    assert_int_equal(r->rules[6].line, 9);
    dz_rules_free(r);
}

static void expect_parse_error(const char *text, const char *part)
{
    struct werr err = {0};

    assert_null(parse(text, &err));
    assert_int_equal(err.code, -EINVAL);
    if (!strstr(err.msg, part))
        fail_msg("message '%s' lacks '%s'", err.msg, part);
}

static void rules_parse_errors_name_line_and_fix(void **state)
{
    (void)state;
    expect_parse_error("a keep\nb hide\n", "rules.txt:2: unknown action 'hide'");
    expect_parse_error("a mask 1\n", "rules.txt:1: missing TAIL count");
    expect_parse_error("a mask -1 2\n", "invalid HEAD count of mask '-1'");
    expect_parse_error("a generalize 0\n", "use a whole number from 1");
    expect_parse_error("a date day\n", "date needs 'year' or 'month'");
    expect_parse_error("a drop now\n", "unexpected 'now' after the drop rule");
    expect_parse_error("a pseudonym p_\n", "invalid pseudonym prefix 'p_'");
    expect_parse_error("a drop\nb drop\na redact\n",
                       "rules.txt:3: second rule for column 'a' (the first "
                       "is on line 1)");
    expect_parse_error("\"a drop\n", "no closing quote");
    expect_parse_error("a\n", "missing action for column 'a'");
}

static void rules_unknown_column_lists_header(void **state)
{
    struct werr err = {0};
    int ret;
    char *out = view("name,phone\nx,y\n", "nmae drop\n", tenant_a, NULL,
                     &err, &ret);

    (void)state;
    assert_null(out);
    assert_int_equal(ret, -EINVAL);
    assert_non_null(strstr(err.msg, "unknown column 'nmae'"));
    assert_non_null(strstr(err.msg, "the header has: name, phone"));
}

static void mask_counts_characters_not_bytes(void **state)
{
    char *out = view_ok("name,phone\n黄鹏志,13257086619\n谢怡,1\n,\n",
                        "name mask 1 0\nphone mask 3 4\n");

    (void)state;
    assert_string_equal(out, "name,phone\n黄**,132****6619\n谢*,*\n,\n");
    free(out);
}

static void mask_short_value_is_masked_completely(void **state)
{
    char *out = view_ok("name\n谢怡\n", "name mask 1 1\n");

    (void)state;
    assert_string_equal(out, "name\n**\n");
    free(out);
}

static void generalize_buckets(void **state)
{
    struct dz_view_stats stats = {0};
    struct werr err = {0};
    int ret;
    char *out = view("a,b\n2612.98,2612.98\n-5,7\nn/a,\n", 
                     "a generalize 1000\nb generalize 1\n", tenant_a, &stats,
                     &err, &ret);

    (void)state;
    assert_int_equal(ret, 0);
    assert_string_equal(out, "a,b\n2000-2999,2612\n-1000--1,7\n[REDACTED],\n");
    assert_int_equal(stats.unparsed_values, 1);
    free(out);
}

static void date_year_and_month(void **state)
{
    char *out = view_ok("a,b\n1995-09-01,2023-04-28\n1995/09/01,"
                        "2023-04-28 10:00\n1995-13-01,28.04.2023\n",
                        "a date year\nb date month\n");

    (void)state;
    assert_string_equal(out, "a,b\n1995,2023-04\n1995,2023-04\n"
                             "[REDACTED],[REDACTED]\n");
    free(out);
}

static void redact_and_drop(void **state)
{
    char *out = view_ok("a,b,c\nx,y,z\n,,\n", "a redact\nb drop\n");

    (void)state;
    assert_string_equal(out, "a,c\n[REDACTED],z\n[REDACTED],\n");
    free(out);
}

static void mask_keeps_quoting_of_output(void **state)
{
    char *out = view_ok("a\n\"x,y,z\"\n", "a mask 2 0\n");

    (void)state;
    assert_string_equal(out, "a\n\"x,***\"\n");
    free(out);
}

/* Pseudonym column of the first data row. */
static void pseudonym_of(const char *value, const uint8_t *secret,
                         char ret[32])
{
    char csv[128];
    struct werr err = {0};
    int ret_code;
    char *out;

    snprintf(csv, sizeof(csv), "id\n%s\n", value);
    out = view(csv, "id pseudonym\n", secret, NULL, &err, &ret_code);
    assert_int_equal(ret_code, 0);
    snprintf(ret, 32, "%s", out + 3);
    ret[strcspn(ret, "\n")] = '\0';
    free(out);
}

static void pseudonym_stable_within_tenant(void **state)
{
    char a1[32], a2[32];

    (void)state;
    pseudonym_of("330726199509017956", tenant_a, a1);
    pseudonym_of("330726199509017956", tenant_a, a2);
    assert_string_equal(a1, a2);
    assert_int_equal(strlen(a1), 17);
    assert_int_equal(a1[0], 'p');
    assert_int_equal(strspn(a1 + 1, "0123456789abcdef"), 16);
}

static void pseudonym_differs_across_tenants(void **state)
{
    char a[32], b[32], other[32];

    (void)state;
    pseudonym_of("330726199509017956", tenant_a, a);
    pseudonym_of("330726199509017956", tenant_b, b);
    pseudonym_of("110105194912310020", tenant_a, other);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, other);
}

static void pseudonym_is_keyed_not_plain_hash(void **state)
{
    const char *id = "330726199509017956";
    uint8_t digest[crypto_hash_sha256_BYTES];
    char hex[65], p[32];

    (void)state;
    crypto_hash_sha256(digest, (const uint8_t *)id, strlen(id));
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    pseudonym_of(id, tenant_a, p);
    assert_memory_not_equal(p + 1, hex, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_parse_all_actions),
        cmocka_unit_test(rules_parse_errors_name_line_and_fix),
        cmocka_unit_test(rules_unknown_column_lists_header),
        cmocka_unit_test(mask_counts_characters_not_bytes),
        cmocka_unit_test(mask_short_value_is_masked_completely),
        cmocka_unit_test(generalize_buckets),
        cmocka_unit_test(date_year_and_month),
        cmocka_unit_test(redact_and_drop),
        cmocka_unit_test(mask_keeps_quoting_of_output),
        cmocka_unit_test(pseudonym_stable_within_tenant),
        cmocka_unit_test(pseudonym_differs_across_tenants),
        cmocka_unit_test(pseudonym_is_keyed_not_plain_hash),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
