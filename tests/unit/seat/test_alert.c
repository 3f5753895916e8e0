/* Supervisor alerts: when a rule holds, and when it must not (thin weeks, a window not
 * yet covered, too few live answers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert.h"

static void test_kind_names(void **state)
{
    (void)state;
    for (int i = 0; i < ALERT_KIND_COUNT; i++) {
        enum alert_kind k;
        assert_int_equal(alert_kind_parse(alert_kind_name((enum alert_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    enum alert_kind k;
    assert_int_equal(alert_kind_parse("conversion", &k), WAIHU_EINVAL);
}

/* Conversion 30% -> 25% -> 20%: fell two weeks in a row. */
static void test_falling_two_weeks(void **state)
{
    (void)state;
    struct alert_week w[3] = {{0.30, true, 40}, {0.25, true, 40}, {0.20, true, 40}};
    assert_true(alert_falling(w, 3, 20));
    /* A flat week breaks the run; so does a rise. */
    w[1].value = 0.30;
    assert_false(alert_falling(w, 3, 20));
    w[1].value = 0.35;
    assert_false(alert_falling(w, 3, 20));
    /* One fall is not two. */
    assert_true(alert_falling(w + 1, 2, 20));
    assert_false(alert_falling(w + 2, 1, 20));
}

/* A week with too few answered calls cannot be judged: no alert on noise. */
static void test_falling_needs_volume(void **state)
{
    (void)state;
    struct alert_week w[3] = {{0.30, true, 40}, {0.25, true, 5}, {0.20, true, 40}};
    assert_false(alert_falling(w, 3, 20));
    w[1].volume = 20;
    assert_true(alert_falling(w, 3, 20));
    w[0].defined = false; /* no answered call that week */
    assert_false(alert_falling(w, 3, 0));
    w[0].defined = true;
    w[2].volume = 0;
    assert_false(alert_falling(w, 3, 0));
}

/* 10 agents working, 6 busy, sampled every 10 s: 60% once 5 minutes are covered. */
static void test_occupancy_window(void **state)
{
    (void)state;
    struct alert_occupancy *w = malloc(sizeof *w);
    assert_non_null(w);
    alert_occ_init(w);
    double occ = -1, agents = -1;
    int64_t t0 = 1000000;
    for (int i = 0; i <= 20; i++) {
        alert_occ_add(w, t0 + i * 10000, 6, 10);
    }
    /* 200 s of samples: a 300 s window is not covered yet. */
    assert_false(alert_occ_mean(w, t0 + 200000, 300000, 10000, &occ, &agents));
    for (int i = 21; i <= 40; i++) {
        alert_occ_add(w, t0 + i * 10000, i > 30 ? 2 : 6, 10);
    }
    /* Last 300 s: samples 10..40 (31 of them), 10 of them with 2 busy. */
    assert_true(alert_occ_mean(w, t0 + 400000, 300000, 10000, &occ, &agents));
    assert_float_equal(occ, (21.0 * 6 + 10.0 * 2) / (31.0 * 10), 1e-9);
    assert_float_equal(agents, 10.0, 1e-9);
    /* A sample from a clock that went back is ignored. */
    alert_occ_add(w, t0, 0, 10);
    assert_true(alert_occ_mean(w, t0 + 400000, 300000, 10000, &occ, &agents));
    assert_float_equal(agents, 10.0, 1e-9);
    free(w);
}

/* Nobody working: no occupancy to judge (a floor closed for the night). */
static void test_occupancy_nobody_working(void **state)
{
    (void)state;
    struct alert_occupancy *w = malloc(sizeof *w);
    assert_non_null(w);
    alert_occ_init(w);
    for (int i = 0; i < 100; i++) {
        alert_occ_add(w, i * 10000, 0, 0);
    }
    double occ, agents;
    assert_false(alert_occ_mean(w, 990000, 300000, 10000, &occ, &agents));
    /* The ring keeps the newest samples when it overflows. */
    for (int i = 100; i < 100 + ALERT_OCC_SAMPLES; i++) {
        alert_occ_add(w, i * 10000, 1, 4);
    }
    assert_int_equal(w->n, ALERT_OCC_SAMPLES);
    assert_true(alert_occ_mean(w, (99 + ALERT_OCC_SAMPLES) * 10000LL, 300000, 10000, &occ,
                               &agents));
    assert_float_equal(occ, 0.25, 1e-9);
    free(w);
}

static void test_near_cap(void **state)
{
    (void)state;
    double rate = -1;
    /* 3% cap, warn at 80% of it (2.4%): 5 abandoned of 200 live = 2.5%. */
    assert_true(alert_near_cap(5, 195, 0.03, 0.8, 50, &rate));
    assert_float_equal(rate, 0.025, 1e-12);
    assert_false(alert_near_cap(4, 196, 0.03, 0.8, 50, &rate)); /* 2.0% */
    /* Too few live answers to judge, no cap, nothing at all. */
    assert_false(alert_near_cap(5, 20, 0.03, 0.8, 50, &rate));
    assert_false(alert_near_cap(5, 195, 0, 0.8, 50, &rate));
    assert_false(alert_near_cap(0, 0, 0.03, 0.8, 0, &rate));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_falling_two_weeks),
        cmocka_unit_test(test_falling_needs_volume),
        cmocka_unit_test(test_occupancy_window),
        cmocka_unit_test(test_occupancy_nobody_working),
        cmocka_unit_test(test_near_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
