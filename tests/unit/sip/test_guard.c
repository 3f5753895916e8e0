/* Source guard (src/sip/guard.c) on virtual time: bucket, bans, expiry, failures,
 * exemptions, eviction under many sources, scanner user agents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "guard.h"

static const struct sip_guard_config cfg = {
    .rate_per_s = 10, .burst = 20, .fail_limit = 3, .fail_window_ms = 60000, .ban_ms = 5000,
    .capacity = 64};

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static void test_burst_then_ban_then_expiry(void **state)
{
    (void)state;
    struct sip_guard *g = sip_guard_new(&cfg);
    uint32_t ip = IP(127, 0, 0, 66);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(sip_guard_check(g, ip, 1000), SIP_GUARD_PASS);
    }
    assert_int_equal(sip_guard_check(g, ip, 1000), SIP_GUARD_NEW_BAN);
    assert_int_equal(sip_guard_check(g, ip, 1001), SIP_GUARD_BANNED);
    assert_true(sip_guard_is_banned(g, ip, 5999));
    /* Other sources are untouched. */
    assert_int_equal(sip_guard_check(g, IP(127, 0, 0, 1), 1001), SIP_GUARD_PASS);
    /* After the ban the bucket has refilled. */
    assert_false(sip_guard_is_banned(g, ip, 6001));
    assert_int_equal(sip_guard_check(g, ip, 6001), SIP_GUARD_PASS);
    sip_guard_free(g);
}

static void test_sustained_rate_passes(void **state)
{
    (void)state;
    struct sip_guard *g = sip_guard_new(&cfg);
    uint32_t ip = IP(10, 1, 2, 3);
    /* 9 requests per second for a minute stays under 10/s. */
    for (uint64_t t = 0; t < 60000; t += 111) {
        assert_int_equal(sip_guard_check(g, ip, t), SIP_GUARD_PASS);
    }
    sip_guard_free(g);
}

static void test_auth_failures_ban(void **state)
{
    (void)state;
    struct sip_guard *g = sip_guard_new(&cfg);
    uint32_t ip = IP(127, 0, 0, 9);
    assert_int_equal(sip_guard_auth_failed(g, ip, 0), SIP_GUARD_PASS);
    assert_int_equal(sip_guard_auth_failed(g, ip, 10), SIP_GUARD_PASS);
    /* A failure outside the window starts a new count. */
    assert_int_equal(sip_guard_auth_failed(g, ip, 70000), SIP_GUARD_PASS);
    assert_int_equal(sip_guard_auth_failed(g, ip, 70001), SIP_GUARD_PASS);
    assert_int_equal(sip_guard_auth_failed(g, ip, 70002), SIP_GUARD_NEW_BAN);
    assert_int_equal(sip_guard_check(g, ip, 70003), SIP_GUARD_BANNED);
    sip_guard_free(g);
}

static void test_exempt_never_banned(void **state)
{
    (void)state;
    struct sip_guard *g = sip_guard_new(&cfg);
    uint32_t trunk = IP(127, 0, 0, 1);
    assert_int_equal(sip_guard_exempt(g, trunk), 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sip_guard_check(g, trunk, 0), SIP_GUARD_PASS);
    }
    assert_int_equal(sip_guard_ban(g, trunk, 0), SIP_GUARD_PASS);
    assert_false(sip_guard_is_banned(g, trunk, 0));
    sip_guard_free(g);
}

static void test_many_sources_keep_bans(void **state)
{
    (void)state;
    struct sip_guard *g = sip_guard_new(&cfg);
    uint32_t bad = IP(192, 0, 2, 1);
    assert_int_equal(sip_guard_ban(g, bad, 0), SIP_GUARD_NEW_BAN);
    assert_int_equal(sip_guard_ban(g, bad, 1), SIP_GUARD_BANNED);
    /* A spray of sources evicts idle unbanned entries before banned ones. */
    for (uint32_t i = 0; i < 10000; i++) {
        sip_guard_check(g, IP(10, 0, 0, 0) + i, 100);
    }
    assert_true(sip_guard_is_banned(g, bad, 200));
    sip_guard_free(g);
}

static void test_scanner_agents(void **state)
{
    (void)state;
    assert_true(sip_guard_is_scanner("friendly-scanner"));
    assert_true(sip_guard_is_scanner("sipvicious 0.3.4"));
    assert_true(sip_guard_is_scanner("VaxSIPUserAgent/3.1"));
    assert_true(sip_guard_is_scanner("SIPCLI/v1.8"));
    assert_false(sip_guard_is_scanner("baresip v1.0.0 (x86_64/linux)"));
    assert_false(sip_guard_is_scanner("Linphone/5.0"));
    assert_false(sip_guard_is_scanner(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_ban_then_expiry),
        cmocka_unit_test(test_sustained_rate_passes),
        cmocka_unit_test(test_auth_failures_ban),
        cmocka_unit_test(test_exempt_never_banned),
        cmocka_unit_test(test_many_sources_keep_bans),
        cmocka_unit_test(test_scanner_agents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
