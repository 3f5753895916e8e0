/* Unit and property tests of phone normalisation and masking (src/customer/phone.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "customer.h"

static void expect_ok(const char *in, const char *cc, const char *want)
{
    char out[PHONE_E164_SIZE], why[128];
    int rv = phone_normalize(in, cc, out, why, sizeof(why));
    if (rv != 0)
        fail_msg("'%s' (%s): %s", in, cc ? cc : "-", why);
    assert_string_equal(out, want);
}

static void expect_bad(const char *in, const char *cc, const char *why_part)
{
    char out[PHONE_E164_SIZE], why[128];
    int rv = phone_normalize(in, cc, out, why, sizeof(why));
    if (rv != WAIHU_EINVAL)
        fail_msg("'%s' (%s) accepted as %s", in, cc ? cc : "-", out);
    if (why_part != NULL && strstr(why, why_part) == NULL)
        fail_msg("'%s': reason '%s' lacks '%s'", in, why, why_part);
    assert_string_equal(out, "");
}

static void test_cn(void **state)
{
    (void)state;
    expect_ok("13812341234", "CN", "+8613812341234");
    expect_ok("138 1234 1234", "CN", "+8613812341234");
    expect_ok("138-1234-1234", "CN", "+8613812341234");
    expect_ok("+86 138 1234 1234", "CN", "+8613812341234");
    expect_ok("0086 13812341234", "CN", "+8613812341234");
    expect_ok("+86 13812341234", "US", "+8613812341234");
    expect_ok("010-12345678", "CN", "+861012345678");   /* Beijing */
    expect_ok("(021) 6123 4567", "CN", "+862161234567"); /* Shanghai */
    expect_ok("0755-2345678", "CN", "+867552345678");   /* Shenzhen, 7-digit */
    expect_ok("0755.23456789", "CN", "+8675523456789");
    expect_ok("+86 (0)755 23456789", "CN", "+8675523456789");
    expect_bad("12812341234", "CN", "mobile");
    expect_bad("1381234123", "CN", "11 digits");
    expect_bad("138123412345", "CN", "11 digits");
    expect_bad("013812341234", "CN", "trunk 0");
    expect_bad("12345678", "CN", "area code");
    expect_bad("1012345678", "CN", "trunk 0");
    expect_bad("010-1234567", "CN", "10 digits");
    expect_bad("0755-123456", "CN", "10 or 11");
}

static void test_nanp(void **state)
{
    (void)state;
    expect_ok("(202) 555-0123", "US", "+12025550123");
    expect_ok("202.555.0123", "US", "+12025550123");
    expect_ok("1-202-555-0123", "US", "+12025550123");
    expect_ok("+1 416 555 0199", "CA", "+14165550199");
    expect_ok("416 555 0199", "CA", "+14165550199");
    expect_ok("011 86 138 1234 1234", "US", "+8613812341234");
    expect_ok("+1 202 555 0123", "CN", "+12025550123");
    expect_bad("(102) 555-0123", "US", "area code");
    expect_bad("(202) 155-0123", "US", "exchange");
    expect_bad("555-0123", "US", "10 digits");
    expect_bad("+1 202 555 01234", NULL, "10 digits");
}

static void test_uk(void **state)
{
    (void)state;
    expect_ok("020 7946 0018", "GB", "+442079460018");
    expect_ok("07700 900123", "UK", "+447700900123");
    expect_ok("+44 (0)20 7946 0018", "CN", "+442079460018");
    expect_ok("0044 20 7946 0018", "GB", "+442079460018");
    expect_ok("01632 960123", "GB", "+441632960123");
    expect_bad("7700 900123", "GB", "trunk 0");
    expect_bad("020 7946 001", "GB", "10 digits");
    expect_bad("01632 9601", "GB", "9 or 10");
    expect_ok("0800 111111", "GB", "+44800111111");
    expect_bad("000 7946 0018", "GB", NULL);
}

static void test_generic_and_garbage(void **state)
{
    (void)state;
    expect_ok("+49 30 1234567", NULL, "+49301234567");
    expect_ok("+33 1 23 45 67 89", "CN", "+33123456789");
    expect_ok("+7 495 123-45-67", "GB", "+74951234567");
    expect_bad("+49 301", NULL, "8 to 15");
    expect_bad("+49 3012 3456 7890 12", NULL, "8 to 15");
    expect_bad("+0 123 456 789", NULL, "country code");
    expect_bad("13812341234", NULL, "no default country");
    expect_bad("13812341234", "FR", "no numbering plan for default country FR");
    expect_ok("+33 1 23 45 67 89", "FR", "+33123456789");
    expect_bad("138abc41234", "CN", "letter 'a'");
    expect_bad("1381234l234", "CN", "letter 'l'");
    expect_bad("138#1234", "CN", "unexpected character");
    expect_bad("138+1234", "CN", "'+' only");
    expect_bad("", "CN", "no digits");
    expect_bad(" -() ", "CN", "no digits");
    expect_bad("+", NULL, "no digits");
    expect_bad("=HYPERLINK(\"x\")", "CN", "unexpected character '=' at position 1");
    expect_bad("1381234\xe4\xb8\x80", "CN", "unexpected character");
    expect_bad("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3", "CN",
               "longer than");
    expect_bad(NULL, "CN", NULL);
}

static void test_mask(void **state)
{
    (void)state;
    char out[PHONE_MASK_SIZE];
    assert_int_equal(phone_mask("+8613812341234", "CN", out), 0);
    assert_string_equal(out, "138****1234");
    assert_int_equal(phone_mask("+8613812341234", "US", out), 0);
    assert_string_equal(out, "+86 138****1234");
    assert_int_equal(phone_mask("+8613812341234", NULL, out), 0);
    assert_string_equal(out, "+86 138****1234");
    assert_int_equal(phone_mask("+12025550123", "US", out), 0);
    assert_string_equal(out, "202***0123");
    assert_int_equal(phone_mask("+442079460018", "GB", out), 0);
    assert_string_equal(out, "207***0018");
    assert_int_equal(phone_mask("+44169772345", "GB", out), 0); /* 9-digit national */
    assert_string_equal(out, "16***2345");
    assert_int_equal(phone_mask("+3531234567", "CN", out), 0); /* 3-digit cc, 7 national */
    assert_string_equal(out, "+353 1***567");
    assert_int_equal(phone_mask("8613812341234", "CN", out), WAIHU_EINVAL);
    assert_int_equal(phone_mask("+86138x2341234", "CN", out), WAIHU_EINVAL);
    assert_int_equal(phone_mask("+0123456789", "CN", out), WAIHU_EINVAL);
    assert_int_equal(phone_mask(NULL, "CN", out), WAIHU_EINVAL);
    assert_int_equal(phone_country_code_len("+12025550123"), 1);
    assert_int_equal(phone_country_code_len("+8613812341234"), 2);
    assert_int_equal(phone_country_code_len("+35312345678"), 3);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Random person-written numbers: digits, separators, sometimes '+', 00 or letters. */
static void random_input(char *buf, size_t size)
{
    static const char alphabet[] = "0123456789012345678901234567890123456789 -.()+x";
    size_t n = 1 + rnd((unsigned)size - 2), i = 0;
    if (rnd(3) == 0)
        buf[i++] = '+';
    if (rnd(4) == 0 && i + 1 < n) {
        buf[i++] = '1';
        buf[i++] = '3' + (char)rnd(7);
    }
    for (; i < n; i++)
        buf[i] = alphabet[rnd(sizeof(alphabet) - 1)];
    buf[n] = '\0';
}

static int digits_shown(const char *masked, size_t skip)
{
    int n = 0;
    for (const char *p = masked + skip; *p; p++)
        n += *p >= '0' && *p <= '9';
    return n;
}

/* Properties: normalisation is idempotent (also across default countries), its output
 * is "+" and 8..15 digits, and a mask never shows more than 7 national digits nor any
 * whole number. */
static void test_properties(void **state)
{
    (void)state;
    static const char *const countries[] = {"CN", "US", "CA", "GB", NULL};
    char in[24], out[PHONE_E164_SIZE], again[PHONE_E164_SIZE], masked[PHONE_MASK_SIZE];
    int accepted = 0;
    for (int iter = 0; iter < 200000; iter++) {
        random_input(in, sizeof(in));
        const char *cc = countries[rnd(5)];
        if (phone_normalize(in, cc, out, NULL, 0) != 0)
            continue;
        accepted++;
        size_t n = strlen(out);
        assert_true(out[0] == '+' && n >= 9 && n <= 16);
        for (int k = 0; k < 5; k++) {
            if (phone_normalize(out, countries[k], again, NULL, 0) != 0)
                fail_msg("'%s' -> '%s' rejected on renormalisation", in, out);
            assert_string_equal(again, out);
        }
        int cl = phone_country_code_len(out);
        assert_true(cl >= 1 && cl <= 3);
        for (int k = 0; k < 5; k++) {
            assert_int_equal(phone_mask(out, countries[k], masked), 0);
            size_t skip = masked[0] == '+' ? (size_t)cl + 2 : 0;
            int shown = digits_shown(masked, skip);
            int national = (int)n - 1 - cl;
            if (shown > 7 || shown >= national)
                fail_msg("mask of %s shows %d of %d digits: %s", out, shown, national, masked);
            assert_int_equal(strlen(masked) - skip, (size_t)national);
        }
    }
    assert_true(accepted > 1000);
}

/* Every masked length from 1 to 14 national digits hides at least one digit. */
static void test_mask_short(void **state)
{
    (void)state;
    char e164[PHONE_E164_SIZE], masked[PHONE_MASK_SIZE];
    for (int n = 1; n <= 12; n++) {
        snprintf(e164, sizeof(e164), "+353%.*s", n, "987654321098");
        if (phone_country_code_len(e164) == 0)
            continue;
        assert_int_equal(phone_mask(e164, NULL, masked), 0);
        int shown = digits_shown(masked, 5);
        assert_true(shown <= 7 && shown < n);
        assert_non_null(strchr(masked, '*'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cn),
        cmocka_unit_test(test_nanp),
        cmocka_unit_test(test_uk),
        cmocka_unit_test(test_generic_and_garbage),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_mask_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
