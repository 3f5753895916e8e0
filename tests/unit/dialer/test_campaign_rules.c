/* Campaign rules: calling windows in the customer's local day (zones with DST, days
 * that start before UTC's), and what each call result does to a lead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "campaign.h"

/* 2026-11-24 02:30:00 UTC: already 10:30 in Shanghai, still 21:30 (23rd) in New York. */
#define T0 1795487400000ll

static void test_zone_from_number(void **state)
{
    (void)state;
    char z[CAMPAIGN_ZONE_MAX];
    assert_true(campaign_zone_for_number("+8613912345678", z));
    assert_string_equal(z, "Asia/Shanghai");
    assert_true(campaign_zone_for_number("+85291234567", z)); /* not "86" */
    assert_string_equal(z, "Asia/Hong_Kong");
    assert_true(campaign_zone_for_number("+12125550100", z));
    assert_string_equal(z, "America/New_York");
    assert_false(campaign_zone_for_number("+999123", z));
    assert_false(campaign_zone_for_number("13912345678", z));
}

static void test_offsets_follow_dst(void **state)
{
    (void)state;
    int32_t off;
    assert_int_equal(campaign_zone_offset("Asia/Shanghai", T0, &off), 0);
    assert_int_equal(off, 8 * 3600);
    assert_int_equal(campaign_zone_offset("America/New_York", T0, &off), 0);
    assert_int_equal(off, -5 * 3600); /* November: standard time */
    /* 2026-07-01 12:00 UTC: summer time */
    assert_int_equal(campaign_zone_offset("America/New_York", 1782907200000ll, &off), 0);
    assert_int_equal(off, -4 * 3600);
    assert_int_equal(campaign_zone_offset("Mars/Olympus", T0, &off), WAIHU_EINVAL);
    assert_int_equal(campaign_zone_offset("../etc/passwd", T0, &off), WAIHU_EINVAL);
}

static void test_window_on_local_day(void **state)
{
    (void)state;
    struct campaign_window w;
    campaign_window_on(T0, 8 * 3600, 9 * 60, 21 * 60, &w);
    assert_int_equal(w.day, 20261124);
    assert_int_equal(w.open_ms, T0 - 90 * 60000ll);       /* 09:00 Shanghai = 01:00 UTC */
    assert_int_equal(w.close_ms, T0 + 630 * 60000ll);     /* 21:00 Shanghai = 13:00 UTC */
    assert_true(w.open_ms <= T0 && T0 < w.close_ms);
    campaign_window_on(T0, -5 * 3600, 9 * 60, 21 * 60, &w);
    assert_int_equal(w.day, 20261123);                    /* still the 23rd there */
    assert_true(T0 >= w.close_ms);                        /* 21:30: closed */
}

static void test_after_call(void **state)
{
    (void)state;
    struct campaign_retry rule = {.attempts = 1, .max_attempts = 3, .retry_after_s = 600};
    struct campaign_next n;
    campaign_after_call("answered", T0, &rule, &n);
    assert_true(n.done && n.live && !n.abandoned);
    campaign_after_call("busy", T0, &rule, &n);
    assert_false(n.done);
    assert_int_equal(n.next_at_ms, T0 + 600000);
    campaign_after_call("unreachable", T0, &rule, &n);
    assert_true(n.done && !n.live);
    campaign_after_call("abandoned", T0, &rule, &n);
    assert_true(!n.done && n.live && n.abandoned);
    assert_int_equal(n.next_at_ms, T0 + CAMPAIGN_NO_REPEAT_AFTER_ABANDON_MS);
    rule.attempts = 3;
    campaign_after_call("no-answer", T0, &rule, &n);
    assert_true(n.done);
}

/* Overdial only while the worst case (every extra call abandoned) keeps the rate capped. */
static void test_abandon_guard(void **state)
{
    (void)state;
    /* Calls up to the ready agents are never held back. */
    assert_int_equal(campaign_abandon_guard(5, 0, 5, 0, 0, 0.03), 5);
    assert_int_equal(campaign_abandon_guard(3, 2, 5, 0, 0, 0.03), 3);
    /* No live answers yet: nothing beyond the agents. */
    assert_int_equal(campaign_abandon_guard(9, 0, 5, 0, 0, 0.03), 5);
    /* 100 live, 0 abandoned: one extra call may be abandoned (1 <= 0.03 * 101)... */
    assert_int_equal(campaign_abandon_guard(9, 0, 5, 100, 0, 0.03), 8);
    /* ... 3 extra ones: 3 <= 0.03 * 103 = 3.09 */
    assert_int_equal(campaign_abandon_guard(20, 0, 5, 100, 0, 0.03), 8);
    /* 3 of 100 already abandoned: no room left. */
    assert_int_equal(campaign_abandon_guard(9, 0, 5, 100, 3, 0.03), 5);
    /* Ringing calls already beyond the agents use the room first. */
    assert_int_equal(campaign_abandon_guard(4, 8, 5, 100, 0, 0.03), 0);
    assert_int_equal(campaign_abandon_guard(0, 0, 5, 0, 0, 0.03), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_from_number),
        cmocka_unit_test(test_offsets_follow_dst),
        cmocka_unit_test(test_window_on_local_day),
        cmocka_unit_test(test_after_call),
        cmocka_unit_test(test_abandon_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
