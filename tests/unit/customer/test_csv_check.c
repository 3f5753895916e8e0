/* Tests of the import field checks (src/customer/csv_check.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "customer_csv.h"

static void test_phone(void **state)
{
    (void)state;
    char out[PHONE_E164_SIZE], why[FIELDCHECK_WHY_SIZE];
    assert_int_equal(fieldcheck_phone("phone", "138 0013 8000", "CN", out, why, sizeof(why)), 0);
    assert_string_equal(out, "+8613800138000");
    assert_int_equal(fieldcheck_phone("phone", "+1 202 555 0123", "CN", out, why, sizeof(why)), 0);
    assert_string_equal(out, "+12025550123");
    assert_int_equal(fieldcheck_phone("phone", "12345", "CN", out, why, sizeof(why)),
                     WAIHU_EINVAL);
    assert_non_null(strstr(why, "phone: \"12345\" is not a valid number for CN ("));
    assert_string_equal(out, "");
    assert_int_equal(fieldcheck_phone("mobile", "555-0100", "US", out, why, sizeof(why)),
                     WAIHU_EINVAL);
    assert_non_null(strstr(why, "mobile: \"555-0100\" is not a valid number for US"));
    assert_int_equal(fieldcheck_phone("phone", "13800138000", NULL, out, why, sizeof(why)),
                     WAIHU_EINVAL);
    assert_non_null(strstr(why, "for international use"));
}

static void test_date(void **state)
{
    (void)state;
    int64_t t;
    int timed;
    char why[FIELDCHECK_WHY_SIZE];
    assert_int_equal(fieldcheck_date("d", "1970-01-01", &t, &timed, why, sizeof(why)), 0);
    assert_int_equal(t, 0);
    assert_int_equal(timed, 0);
    assert_int_equal(fieldcheck_date("d", "2024-02-29 23:59:59", &t, &timed, why, sizeof(why)), 0);
    assert_int_equal(t, 1709251199);
    assert_int_equal(timed, 1);
    assert_int_equal(fieldcheck_date("d", "2024-02-29T08:30", &t, NULL, why, sizeof(why)), 0);
    assert_int_equal(t, 1709195400);
    assert_int_equal(fieldcheck_date("d", " 1900-03-01 ", &t, NULL, why, sizeof(why)), 0);
    assert_int_equal(t, -2203891200LL);
    static const char *bad[][2] = {
        {"2023-02-29", "signup: \"2023-02-29\" has no day 29 (2023-02 has 28 days)"},
        {"2023-13-01", "signup: \"2023-13-01\" has no month 13"},
        {"2023-1-01", "signup: \"2023-1-01\" is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])"},
        {"2023-01-01 24:00", "signup: \"2023-01-01 24:00\" has no time 24:00:00"},
        {"2023-01-01 12", "signup: \"2023-01-01 12\" has a bad time (HH:MM[:SS])"},
        {"2023-01-01 12:00:6", "signup: \"2023-01-01 12:00:6\" has bad seconds (HH:MM:SS)"},
        {"1899-12-31", "signup: \"1899-12-31\" has a year outside 1900..2999"},
        {"01/02/2023", "signup: \"01/02/2023\" is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])"},
        {"", "signup: \"\" is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])"},
        {"2023-01-01x", "signup: \"2023-01-01x\" is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fieldcheck_date("signup", bad[i][0], &t, NULL, why, sizeof(why)),
                         WAIHU_EINVAL);
        assert_string_equal(why, bad[i][1]);
    }
}

static void test_number(void **state)
{
    (void)state;
    double v;
    char why[FIELDCHECK_WHY_SIZE];
    assert_int_equal(fieldcheck_number("n", " 12.50 ", 0, 100, 0, &v, why, sizeof(why)), 0);
    assert_true(v == 12.5);
    assert_int_equal(fieldcheck_number("n", "-3", -10, 10, 1, &v, why, sizeof(why)), 0);
    assert_true(v == -3);
    static const char *bad[][2] = {
        {"12x", "budget: \"12x\" is not a number"},
        {"1e5", "budget: \"1e5\" is not a number"},
        {"1,000", "budget: \"1,000\" is not a number"},
        {".5", "budget: \".5\" is not a number"},
        {"5.", "budget: \"5.\" is not a number"},
        {"", "budget: \"\" is not a number"},
        {"-", "budget: \"-\" is not a number"},
        {"nan", "budget: \"nan\" is not a number"},
        {"1.5", "budget: \"1.5\" is not a whole number"},
        {"1001", "budget: \"1001\" is outside 0..1000"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fieldcheck_number("budget", bad[i][0], 0, 1000, 1, &v, why, sizeof(why)),
                         WAIHU_EINVAL);
        assert_string_equal(why, bad[i][1]);
    }
}

static void test_enum(void **state)
{
    (void)state;
    static const char *const industries[] = {"education", "finance", "retail"};
    size_t idx;
    char why[FIELDCHECK_WHY_SIZE];
    assert_int_equal(fieldcheck_enum("industry", " Finance ", industries, 3, &idx, why,
                                     sizeof(why)), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(fieldcheck_enum("industry", "fin", industries, 3, &idx, why, sizeof(why)),
                     WAIHU_EINVAL);
    assert_string_equal(why, "industry: \"fin\" is not one of: education, finance, retail");
}

static void test_tags(void **state)
{
    (void)state;
    struct fieldcheck_tags tags;
    char why[FIELDCHECK_WHY_SIZE];
    assert_int_equal(fieldcheck_tags("tags", "High_Intent; vip |;closed|vip", &tags, why,
                                     sizeof(why)), 0);
    assert_int_equal(tags.n, 3);
    assert_string_equal(tags.tag[0], "high_intent");
    assert_string_equal(tags.tag[1], "vip");
    assert_string_equal(tags.tag[2], "closed");
    assert_int_equal(fieldcheck_tags("tags", "", &tags, why, sizeof(why)), 0);
    assert_int_equal(tags.n, 0);
    assert_int_equal(fieldcheck_tags("tags", "ok;high intent", &tags, why, sizeof(why)),
                     WAIHU_EINVAL);
    assert_string_equal(why, "tags: \"ok;high intent\" has tag \"high intent\": only a-z, 0-9 "
                             "and _ are allowed");
    assert_int_equal(fieldcheck_tags("tags", "a;\xE9\xAB\x98\xE6\x84\x8F\xE5\x90\x91", &tags,
                                     why, sizeof(why)), WAIHU_EINVAL);
    assert_int_equal(fieldcheck_tags("tags", "abcdefghijklmnopqrstuvwxyz0123456", &tags, why,
                                     sizeof(why)), WAIHU_EINVAL);
    assert_non_null(strstr(why, "longer than 32 characters"));
    assert_int_equal(fieldcheck_tags("tags", "abcdefghijklmnopqrstuvwxyz012345", &tags, why,
                                     sizeof(why)), 0);
    char many[256] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "t%d;", i);
    assert_int_equal(fieldcheck_tags("tags", many, &tags, why, sizeof(why)), WAIHU_EINVAL);
    assert_non_null(strstr(why, "has more than 32 tags"));
}

static void test_quote(void **state)
{
    (void)state;
    char out[200];
    fieldcheck_quote("a\"b\\c\n", 6, out, sizeof(out));
    assert_string_equal(out, "\"a\\\"b\\\\c\\x0a\"");
    /* Cut after 40 bytes, never inside a character; stray bytes escaped. */
    const char *cjk = "\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD"
                      "\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD"
                      "\xE4\xB8\xAD\xE4\xB8\xAD\xE4\xB8\xAD";
    fieldcheck_quote(cjk, strlen(cjk), out, sizeof(out));
    assert_int_equal(strlen(out), 2 + 42 + 3);
    assert_int_equal(csvenc_utf8_check((const unsigned char *)out, strlen(out)), strlen(out));
    fieldcheck_quote("\xFF", 1, out, sizeof(out));
    assert_string_equal(out, "\"\\xff\"");
    fieldcheck_quote(cjk, strlen(cjk), out, 6); /* tiny buffer: still valid UTF-8 */
    assert_int_equal(csvenc_utf8_check((const unsigned char *)out, strlen(out)), strlen(out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone),  cmocka_unit_test(test_date), cmocka_unit_test(test_number),
        cmocka_unit_test(test_enum),   cmocka_unit_test(test_tags), cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
