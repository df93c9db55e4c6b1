/* PII detectors: valid values, near misses and wrong check characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "desensitize/desensitize.h"

#define VALID(fn, s) assert_true(fn(s, strlen(s)))
#define INVALID(fn, s) assert_false(fn(s, strlen(s)))

static void resident_id18_valid_values(void **state)
{
    (void)state;
    VALID(pii_resident_id18_valid, "330726199509017956");
    VALID(pii_resident_id18_valid, "11010519491231002X");
    VALID(pii_resident_id18_valid, "11010519491231002x");
    VALID(pii_resident_id18_valid, "110105200002290013"); /* 2000-02-29 */
    VALID(pii_resident_id18_valid, "11010519000101001X");
}

static void resident_id18_wrong_check_char(void **state)
{
    (void)state;
    INVALID(pii_resident_id18_valid, "330726199509017957");
    INVALID(pii_resident_id18_valid, "110105194912310020");
    INVALID(pii_resident_id18_valid, "330726199509017950");
}

static void resident_id18_near_misses(void **state)
{
    (void)state;
    INVALID(pii_resident_id18_valid, "110105199902290013"); /* 1999-02-29 */
    INVALID(pii_resident_id18_valid, "440524188001010014"); /* before 1900 */
    INVALID(pii_resident_id18_valid, "33072619950901795");  /* 17 chars */
    INVALID(pii_resident_id18_valid, "3307261995090179566");
    INVALID(pii_resident_id18_valid, "3307261995O9017956"); /* letter O */
    INVALID(pii_resident_id18_valid, "X10105194912310020");
}

static void resident_id18_future_birth_date(void **state)
{
    char id[] = "11010520991231001?";
    const unsigned w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    unsigned sum = 0;

    (void)state;
    for (int i = 0; i < 17; i++)
        sum += (unsigned)(id[i] - '0') * w[i];
    id[17] = "10X98765432"[sum % 11];
    INVALID(pii_resident_id18_valid, id);
}

static void resident_id15_legacy(void **state)
{
    (void)state;
    VALID(pii_resident_id15_valid, "110105491231002");
    INVALID(pii_resident_id15_valid, "110105491331002"); /* month 13 */
    INVALID(pii_resident_id15_valid, "110105990229002"); /* 1999-02-29 */
    INVALID(pii_resident_id15_valid, "11010549123100");
}

static void resident_id_check_messages(void **state)
{
    struct werr err = {0};

    (void)state;
    assert_int_equal(pii_resident_id_check("330726199509017956", &err), 0);
    assert_int_equal(pii_resident_id_check("330726199509017957", &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "check character"));
    assert_int_equal(pii_resident_id_check("110105199902290013", &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "birth date"));
    assert_int_equal(pii_resident_id_check("1234", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "4 characters"));
    assert_null(strstr(err.msg, "1234"));
}

static void resident_id_mask_keeps_6_and_4(void **state)
{
    char masked[PII_RESIDENT_ID_MASKED_SIZE];
    struct werr err = {0};

    (void)state;
    assert_int_equal(pii_resident_id_mask("11010519491231002x", masked, &err),
                     0);
    assert_string_equal(masked, "110105********002X");
    assert_int_equal(pii_resident_id_mask("110105194912310020", masked, &err),
                     -EINVAL);
}

static void mobile_values(void **state)
{
    (void)state;
    VALID(pii_mobile_valid, "13257086619");
    VALID(pii_mobile_valid, "19912345678");
    INVALID(pii_mobile_valid, "12257086619"); /* second digit 2 */
    INVALID(pii_mobile_valid, "1325708661");
    INVALID(pii_mobile_valid, "132570866190");
    INVALID(pii_mobile_valid, "23257086619");
}

static void bank_card_luhn(void **state)
{
    (void)state;
    VALID(pii_bank_card_valid, "6221941328550327");
    VALID(pii_bank_card_valid, "6222021001123456789");
    VALID(pii_bank_card_valid, "4111111111119");
    INVALID(pii_bank_card_valid, "6221941328550328"); /* wrong check digit */
    INVALID(pii_bank_card_valid, "6222021001123456780");
    INVALID(pii_bank_card_valid, "411111111119");     /* 12 digits */
    INVALID(pii_bank_card_valid, "62220210011234567890"); /* 20 digits */
}

static void uscc_check(void **state)
{
    (void)state;
    VALID(pii_uscc_valid, "913307008041151026");
    VALID(pii_uscc_valid, "9133070083617473XQ");
    VALID(pii_uscc_valid, "91350100M000100Y43");
    INVALID(pii_uscc_valid, "913307008041151027"); /* wrong check */
    INVALID(pii_uscc_valid, "91350100M000100Y44");
    INVALID(pii_uscc_valid, "91350100M000100I43"); /* I not in alphabet */
    INVALID(pii_uscc_valid, "9133070083617473xq"); /* lower case */
    INVALID(pii_uscc_valid, "0133070083617473XQ"); /* authority 0 */
}

static void email_values(void **state)
{
    (void)state;
    VALID(pii_email_valid, "zhang.san@example.com");
    VALID(pii_email_valid, "a+tag@mail.example.cn");
    INVALID(pii_email_valid, "zhang.san@localhost");
    INVALID(pii_email_valid, ".zhang@example.com");
    INVALID(pii_email_valid, "zhang..san@example.com");
    INVALID(pii_email_valid, "zhang@-example.com");
    INVALID(pii_email_valid, "zhang@example.c0m");
    INVALID(pii_email_valid, "@example.com");
}

/* Scan results collected by the callback. */
struct hits {
    int n;
    struct pii_hit hit[8];
};

static int collect(const struct pii_hit *hit, void *userdata)
{
    struct hits *h = userdata;

    if (h->n < 8)
        h->hit[h->n] = *hit;
    h->n++;
    return 0;
}

static struct hits scan(const char *text)
{
    struct hits h = {0};

    pii_scan(text, strlen(text), collect, &h);
    return h;
}

static void scan_whole_values(void **state)
{
    struct hits h = scan(" 330726199509017956 ");

    (void)state;
    assert_int_equal(h.n, 1);
    assert_int_equal(h.hit[0].kind, PII_RESIDENT_ID);
    assert_true(h.hit[0].whole);
}

static void scan_mobile_in_free_text(void **state)
{
    struct hits h = scan("回访电话 13257086619，已联系");

    (void)state;
    assert_int_equal(h.n, 1);
    assert_int_equal(h.hit[0].kind, PII_MOBILE);
    assert_false(h.hit[0].whole);
    assert_string_equal(h.hit[0].value, "13257086619");
}

static void scan_mobile_with_prefix_and_separators(void **state)
{
    const char *forms[] = {"+86 132 5708 6619", "+86-132-5708-6619",
                           "0086 13257086619", "008613257086619",
                           "+8613257086619", "132-5708-6619"};

    (void)state;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct hits h = scan(forms[i]);

        assert_int_equal(h.n, 1);
        assert_int_equal(h.hit[0].kind, PII_MOBILE);
        assert_string_equal(h.hit[0].value, "13257086619");
        assert_true(h.hit[0].whole);
    }
}

static void scan_full_width_digits(void **state)
{
    /* "手机１３２５７０８６６１９" with U+FF10..U+FF19 digits */
    struct hits h = scan("手机\xef\xbc\x91\xef\xbc\x93\xef\xbc\x92\xef\xbc\x95"
                         "\xef\xbc\x97\xef\xbc\x90\xef\xbc\x98\xef\xbc\x96"
                         "\xef\xbc\x96\xef\xbc\x91\xef\xbc\x99");

    (void)state;
    assert_int_equal(h.n, 1);
    assert_int_equal(h.hit[0].kind, PII_MOBILE);
    assert_string_equal(h.hit[0].value, "13257086619");
}

static void scan_bank_card_in_groups(void **state)
{
    struct hits h = scan("卡号 6222 0210 0112 3456 789 请核对");

    (void)state;
    assert_int_equal(h.n, 1);
    assert_int_equal(h.hit[0].kind, PII_BANK_CARD);
    assert_string_equal(h.hit[0].value, "6222021001123456789");
}

static void scan_email_and_uscc(void **state)
{
    struct hits h = scan("contact zhang.san@example.com, code 91350100M000100Y43.");

    (void)state;
    assert_int_equal(h.n, 2);
    assert_int_equal(h.hit[0].kind, PII_EMAIL);
    assert_string_equal(h.hit[0].value, "zhang.san@example.com");
    assert_int_equal(h.hit[1].kind, PII_USCC);
}

static void scan_ignores_glued_and_plain_numbers(void **state)
{
    (void)state;
    assert_int_equal(scan("ID330726199509017956").n, 0);
    assert_int_equal(scan("2023-04-28").n, 0);
    assert_int_equal(scan("2612.98").n, 0);
    assert_int_equal(scan("-89.23450472,31.95376472").n, 0);
    assert_int_equal(scan("132570866191").n, 0);
    assert_int_equal(scan("p3f9a0c1d2e4b5a6978").n, 0);
}

static void scan_two_mobiles_in_a_row(void **state)
{
    struct hits h = scan("13257086619 13812345678");

    (void)state;
    assert_int_equal(h.n, 2);
    assert_false(h.hit[0].whole);
    assert_string_equal(h.hit[1].value, "13812345678");
}

static void mask_examples(void **state)
{
    char out[64];

    (void)state;
    pii_mask_example(PII_MOBILE, "13257086619", out, sizeof(out));
    assert_string_equal(out, "132****6619");
    pii_mask_example(PII_BANK_CARD, "6221941328550327", out, sizeof(out));
    assert_string_equal(out, "************0327");
    pii_mask_example(PII_EMAIL, "zhang.san@example.com", out, sizeof(out));
    assert_string_equal(out, "z***@example.com");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resident_id18_valid_values),
        cmocka_unit_test(resident_id18_wrong_check_char),
        cmocka_unit_test(resident_id18_near_misses),
        cmocka_unit_test(resident_id18_future_birth_date),
        cmocka_unit_test(resident_id15_legacy),
        cmocka_unit_test(resident_id_check_messages),
        cmocka_unit_test(resident_id_mask_keeps_6_and_4),
        cmocka_unit_test(mobile_values),
        cmocka_unit_test(bank_card_luhn),
        cmocka_unit_test(uscc_check),
        cmocka_unit_test(email_values),
        cmocka_unit_test(scan_whole_values),
        cmocka_unit_test(scan_mobile_in_free_text),
        cmocka_unit_test(scan_mobile_with_prefix_and_separators),
        cmocka_unit_test(scan_full_width_digits),
        cmocka_unit_test(scan_bank_card_in_groups),
        cmocka_unit_test(scan_email_and_uscc),
        cmocka_unit_test(scan_ignores_glued_and_plain_numbers),
        cmocka_unit_test(scan_two_mobiles_in_a_row),
        cmocka_unit_test(mask_examples),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
