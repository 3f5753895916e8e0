/* Destination allow-lists (src/sip/dest.c): longest prefix, deny entries, fallback
 * tenant, normalisation, bad rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dest.h"
#include "sip.h"

static void test_allow_and_deny(void **state)
{
    (void)state;
    const struct sip_dest_rule rules[] = {{"acme", "1, 44, !1900, !4470"}, {"*", "33"}};
    struct sip_dest_table *t;
    char err[128];
    assert_int_equal(sip_dest_compile(rules, 2, &t, err, sizeof err), 0);
    assert_true(sip_dest_allowed(t, "acme", "+15551234567"));
    assert_true(sip_dest_allowed(t, "acme", "+44 20 7946 0000"));
    assert_false(sip_dest_allowed(t, "acme", "+19005550000"));   /* premium: denied */
    assert_false(sip_dest_allowed(t, "acme", "447012345678"));   /* longer deny wins */
    assert_true(sip_dest_allowed(t, "acme", "447112345678"));
    assert_false(sip_dest_allowed(t, "acme", "+8613812341234")); /* no match denies */
    assert_false(sip_dest_allowed(t, "acme", "33123"));          /* own list, not "*" */
    assert_true(sip_dest_allowed(t, "other", "33123456789"));    /* falls back to "*" */
    assert_false(sip_dest_allowed(t, "other", "15551234567"));
    assert_false(sip_dest_allowed(t, NULL, "15551234567"));
    assert_true(sip_dest_allowed(t, NULL, "33123"));
    assert_false(sip_dest_allowed(t, "acme", "1555abc"));        /* not a number */
    assert_true(sip_dest_allowed(t, "acme", "1555;user=phone"));
    sip_dest_free(t);
}

static void test_no_star_denies_unknown_tenant(void **state)
{
    (void)state;
    const struct sip_dest_rule rules[] = {{"acme", "1"}};
    struct sip_dest_table *t;
    char err[128];
    assert_int_equal(sip_dest_compile(rules, 1, &t, err, sizeof err), 0);
    assert_false(sip_dest_allowed(t, "evil", "15551234567"));
    sip_dest_free(t);
}

static void test_normalise(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(sip_dest_normalise("+1 (555) 123-4567", out, sizeof out), 0);
    assert_string_equal(out, "15551234567");
    assert_int_equal(sip_dest_normalise("", out, sizeof out), -1);
    assert_int_equal(sip_dest_normalise("+", out, sizeof out), -1);
    assert_int_equal(sip_dest_normalise("12345678901234567890", out, sizeof out), -1);
    assert_int_equal(sip_dest_normalise("1*2", out, sizeof out), -1);
}

static void test_bad_rules(void **state)
{
    (void)state;
    struct sip_dest_table *t = NULL;
    char err[128];
    const struct sip_dest_rule bad1[] = {{"acme", "1,,2"}};
    assert_int_equal(sip_dest_compile(bad1, 1, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "acme"));
    const struct sip_dest_rule bad2[] = {{"acme", "1x"}};
    assert_int_equal(sip_dest_compile(bad2, 1, &t, err, sizeof err), -1);
    const struct sip_dest_rule bad3[] = {{NULL, "1"}};
    assert_int_equal(sip_dest_compile(bad3, 1, &t, err, sizeof err), -1);
    const struct sip_dest_rule bad4[] = {{"acme", "!"}};
    assert_int_equal(sip_dest_compile(bad4, 1, &t, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_and_deny),
        cmocka_unit_test(test_no_star_denies_unknown_tenant),
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_bad_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
