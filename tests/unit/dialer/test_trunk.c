/* Unit tests of trunk selection and health (src/dialer/trunk.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trunk.h"

#define T0 1000000 /* virtual now, ms */

static const char *const pool_a[] = {"+12125550100", "+12125550101", "+13105550100",
                                     "+861012345678"};
static const char *const pool_b[] = {"+442071234567"};

static struct trunk_config tcfg(const char *name, uint32_t weight, uint32_t channels, uint32_t cps,
                                uint32_t priority)
{
    struct trunk_config c = {
        .name = name,
        .target = "127.0.0.1:5060",
        .weight = weight,
        .channels = channels,
        .cps = cps,
        .caller_ids = pool_a,
        .n_caller_ids = 4,
        .priority = priority,
    };
    return c;
}

static struct trunk_set *set_new(const struct trunk_health_config *cfg)
{
    struct trunk_set *s = NULL;
    char err[200];
    assert_int_equal(trunk_set_new(cfg, &s, err, sizeof(err)), 0);
    return s;
}

static uint32_t add(struct trunk_set *s, struct trunk_config c)
{
    uint32_t idx;
    char err[200] = "";
    int rv = trunk_set_add(s, &c, &idx, err, sizeof(err));
    if (rv)
        fail_msg("add %s: %s", c.name, err);
    return idx;
}

static struct trunk_info info(struct trunk_set *s, uint32_t i)
{
    struct trunk_info ti;
    assert_int_equal(trunk_set_info(s, i, T0, &ti), 0);
    return ti;
}

/* Picks one call and returns its trunk, or -1. */
static int pick(struct trunk_set *s, int64_t now, uint64_t exclude)
{
    struct trunk_pick_request req = {.destination = "+12125559999", .exclude = exclude};
    struct trunk_pick_result r;
    if (trunk_pick(s, now, &req, &r) != 0)
        return -1;
    return (int)r.trunk;
}

static void test_weights_respected(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t a = add(s, tcfg("a", 3, 1000, 10000, 0));
    uint32_t b = add(s, tcfg("b", 1, 1000, 10000, 0));
    uint32_t c = add(s, tcfg("c", 6, 1000, 10000, 0));
    int count[3] = {0};
    int window[3] = {0};
    for (int i = 0; i < 10000; i++) {
        int t = pick(s, T0 + i, 0);
        assert_true(t >= 0);
        count[t]++;
        window[t]++;
        trunk_release(s, (uint32_t)t);
        if (i % 10 == 9) {
            /* Smooth: every 10 consecutive picks hold exactly the weights. */
            assert_int_equal(window[a], 3);
            assert_int_equal(window[b], 1);
            assert_int_equal(window[c], 6);
            memset(window, 0, sizeof(window));
        }
    }
    assert_int_equal(count[a], 3000);
    assert_int_equal(count[b], 1000);
    assert_int_equal(count[c], 6000);
    assert_int_equal(trunk_set_illegal_moves(s), 0);
    trunk_set_free(s);
}

/* Random picks and releases never hold more channels than allowed, and the
 * set fills every channel before refusing. */
static void test_channel_limit_never_exceeded(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    add(s, tcfg("a", 2, 7, 10000, 0));
    add(s, tcfg("b", 1, 3, 10000, 0));
    struct trunk_pick_request req = {.destination = "+12125559999"};
    struct trunk_pick_result r;
    int held[2] = {0};
    uint64_t x = 7;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        if ((x >> 33) % 3 != 0) {
            int rv = trunk_pick(s, T0 + i, &req, &r);
            if (held[0] + held[1] < 10) {
                assert_int_equal(rv, 0);
                held[r.trunk]++;
            } else {
                assert_int_equal(rv, WAIHU_EUNAVAILABLE);
                assert_int_equal(r.why, TRUNK_NONE_CHANNELS);
            }
        } else {
            int t = (x >> 40) % 2;
            if (held[t]) {
                trunk_release(s, (uint32_t)t);
                held[t]--;
            }
        }
        assert_true(held[0] <= 7 && held[1] <= 3);
        assert_int_equal(info(s, 0).in_use, held[0]);
        assert_int_equal(info(s, 1).in_use, held[1]);
    }
    trunk_set_free(s);
}

/* Calls per second: no sliding second ever holds more than the limit, and the
 * limit is reached (the budget is not wasted). */
static void test_cps_limit_never_exceeded(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    add(s, tcfg("a", 1, 100000, 10, 0));
    add(s, tcfg("b", 1, 100000, 25, 0));
    enum { N = 2000 };
    int64_t *times[2];
    int n[2] = {0};
    times[0] = calloc(N, sizeof(int64_t));
    times[1] = calloc(N, sizeof(int64_t));
    struct trunk_pick_request req = {.destination = "+12125559999"};
    struct trunk_pick_result r;
    int64_t now = T0;
    int waited = 0;
    while (n[0] + n[1] < 35 * 20) { /* 20 s at the combined limit */
        if (trunk_pick(s, now, &req, &r) == 0) {
            times[r.trunk][n[r.trunk]++] = now;
            continue; /* greedy: ask again at once */
        }
        assert_int_equal(r.why, TRUNK_NONE_CPS);
        assert_true(r.retry_at_ms > now);
        now = r.retry_at_ms; /* the slot frees exactly then */
        waited++;
    }
    int cps[2] = {10, 25};
    for (int t = 0; t < 2; t++)
        for (int i = cps[t]; i < n[t]; i++)
            assert_true(times[t][i] - times[t][i - cps[t]] >= 1000);
    /* 700 calls at 35 per second take 20 s (the first second is free). */
    assert_true(now - T0 <= 20000);
    assert_true(waited > 0);
    free(times[0]);
    free(times[1]);
    trunk_set_free(s);
}

static void report_n(struct trunk_set *s, uint32_t t, int64_t now, enum trunk_outcome o, int n)
{
    for (int i = 0; i < n; i++)
        trunk_report(s, t, now, now, o);
}

static void test_outcome_classes(void **state)
{
    (void)state;
    assert_string_equal(trunk_state_str(TRUNK_PROBATION), "probation");
    assert_string_equal(trunk_reason_str(TRUNK_WHY_ASR), "asr");
    assert_string_equal(trunk_reason_str((enum trunk_reason)99), "unknown");
    assert_int_equal(trunk_outcome_from_sip(200, 1), TRUNK_OUT_ANSWERED);
    int normal[] = {486, 404, 480, 487, 603, 484, 410};
    for (size_t i = 0; i < sizeof(normal) / sizeof(normal[0]); i++)
        assert_int_equal(trunk_outcome_from_sip(normal[i], 0), TRUNK_OUT_NORMAL);
    assert_int_equal(trunk_outcome_from_sip(408, 1), TRUNK_OUT_NORMAL); /* rang, no answer */
    assert_int_equal(trunk_outcome_from_sip(408, 0), TRUNK_OUT_CARRIER);
    assert_int_equal(trunk_outcome_from_sip(503, 0), TRUNK_OUT_CARRIER);
    assert_int_equal(trunk_outcome_from_sip(500, 1), TRUNK_OUT_CARRIER);
    assert_int_equal(trunk_outcome_from_sip(0, 0), TRUNK_OUT_CARRIER);
    assert_int_equal(trunk_probe_ok_from_sip(200), 1);
    assert_int_equal(trunk_probe_ok_from_sip(404), 1);
    assert_int_equal(trunk_probe_ok_from_sip(503), 0);
    assert_int_equal(trunk_probe_ok_from_sip(408), 0);
    assert_int_equal(trunk_probe_ok_from_sip(0), 0);
}

/* Busy, unknown and unavailable numbers are the callee's answer: a trunk that
 * only gets those stays in rotation. */
static void test_normal_failures_do_not_count(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t a = add(s, tcfg("a", 1, 100, 100, 0));
    for (int i = 0; i < 1000; i++)
        trunk_report(s, a, T0 + i, T0 + i, trunk_outcome_from_sip(i % 3 ? 486 : 404, 0));
    assert_int_equal(info(s, a).state, TRUNK_UP);
    assert_int_equal(info(s, a).normal, 1000);
    trunk_set_free(s);
}

/* A 503 burst takes the trunk out; the next calls (and the failed call's
 * retry) go to the other trunk. */
static void test_503_burst_fails_over(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t a = add(s, tcfg("a", 5, 100, 1000, 0));
    uint32_t b = add(s, tcfg("b", 1, 100, 1000, 0));
    int64_t now = T0;
    int b_calls = 0;
    for (int call = 0; call < 200; call++, now += 10) {
        int t = pick(s, now, 0);
        assert_true(t >= 0);
        if ((uint32_t)t == a) {
            trunk_report(s, a, now + 5, now + 5, trunk_outcome_from_sip(503, 0));
            trunk_release(s, a);
            int retry = pick(s, now + 5, UINT64_C(1) << a);
            assert_int_equal(retry, (int)b); /* never the trunk that just failed it */
            t = retry;
        }
        trunk_report(s, (uint32_t)t, now + 5, now + 5, TRUNK_OUT_ANSWERED);
        trunk_release(s, (uint32_t)t);
        b_calls += (uint32_t)t == b;
    }
    struct trunk_info ia = info(s, a);
    assert_int_equal(ia.state, TRUNK_DOWN);
    assert_int_equal(ia.reason, TRUNK_WHY_CONSECUTIVE);
    assert_int_equal(ia.carrier, 5); /* 5 in a row take it out; then no more calls */
    assert_int_equal(b_calls, 200);
    /* Excluding the only healthy trunk leaves nothing. */
    struct trunk_pick_request req = {.destination = "+1212", .exclude = UINT64_C(1) << b};
    struct trunk_pick_result r;
    assert_int_equal(trunk_pick(s, now, &req, &r), WAIHU_EUNAVAILABLE);
    assert_int_equal(r.why, TRUNK_NONE_DOWN);
    assert_int_equal(trunk_set_illegal_moves(s), 0);
    trunk_set_free(s);
}

/* Outcomes arrive out of launch order: answers to calls launched before a 503
 * burst (long rings) must not hide the burst; and once a trunk is back, late
 * outcomes of calls launched before it went out do not count. */
static void test_late_answers_do_not_hide_a_burst(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t a = add(s, tcfg("a", 1, 100, 1000, 0));
    int64_t now = T0 + 30000;
    for (int i = 0; i < 5; i++) {
        trunk_report(s, a, now + i * 10, now + i * 10 + 20, TRUNK_OUT_CARRIER);
        /* an answer to a call launched 20 s ago */
        trunk_report(s, a, now - 20000 + i, now + i * 10 + 25, TRUNK_OUT_ANSWERED);
    }
    assert_int_equal(info(s, a).state, TRUNK_DOWN);
    assert_int_equal(info(s, a).reason, TRUNK_WHY_CONSECUTIVE);
    /* A newer call that went through does break the run. */
    struct trunk_set *s2 = set_new(NULL);
    uint32_t b = add(s2, tcfg("b", 1, 100, 1000, 0));
    for (int i = 0; i < 8; i++)
        trunk_report(s2, b, now + i * 10, now + i * 10 + 20,
                     i == 3 ? TRUNK_OUT_NORMAL : TRUNK_OUT_CARRIER);
    assert_int_equal(info(s2, b).state, TRUNK_UP);
    trunk_set_free(s2);
    trunk_set_free(s);
}

/* Scattered carrier failures: under the ratio the trunk stays, over it it goes. */
static void test_failure_ratio(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t a = add(s, tcfg("a", 1, 100, 1000, 0));
    uint32_t b = add(s, tcfg("b", 1, 100, 1000, 0));
    for (int i = 0; i < 2000; i++) { /* 20%: one in five, never 5 in a row */
        trunk_report(s, a, T0 + i, T0 + i, i % 5 == 0 ? TRUNK_OUT_CARRIER : TRUNK_OUT_NORMAL);
    }
    assert_int_equal(info(s, a).state, TRUNK_UP);
    for (int i = 0; i < 200 && info(s, b).state == TRUNK_UP; i++) /* 50% */
        trunk_report(s, b, T0 + i, T0 + i, i % 2 ? TRUNK_OUT_CARRIER : TRUNK_OUT_NORMAL);
    assert_int_equal(info(s, b).state, TRUNK_DOWN);
    assert_int_equal(info(s, b).reason, TRUNK_WHY_FAIL_RATIO);
    trunk_set_free(s);
}

static void test_backup_used_only_when_primary_unavailable(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t p1 = add(s, tcfg("ct-a", 2, 3, 1000, 0));
    uint32_t p2 = add(s, tcfg("ct-b", 1, 2, 1000, 0));
    uint32_t v = add(s, tcfg("voip", 10, 100, 1000, 5));
    int64_t now = T0;
    /* Normal operation: the backup never gets a call. */
    for (int i = 0; i < 1000; i++) {
        int t = pick(s, now++, 0);
        assert_true(t == (int)p1 || t == (int)p2);
        trunk_release(s, (uint32_t)t);
    }
    assert_int_equal(info(s, v).picks, 0);
    /* Primary group full: the 6th concurrent call overflows to the backup. */
    for (int i = 0; i < 5; i++)
        assert_int_not_equal(pick(s, now, 0), (int)v);
    assert_int_equal(pick(s, now, 0), (int)v);
    trunk_release(s, v);
    trunk_release(s, p1);
    assert_int_equal(pick(s, now, 0), (int)p1); /* a freed primary channel comes first */
    for (int i = 0; i < 3; i++)
        trunk_release(s, p1);
    for (int i = 0; i < 2; i++)
        trunk_release(s, p2);
    /* A call that failed on both primaries retries on the backup. */
    assert_int_equal(pick(s, now, (UINT64_C(1) << p1) | (UINT64_C(1) << p2)), (int)v);
    trunk_release(s, v);
    /* Both primaries out: every call goes to the backup. */
    report_n(s, p1, now, TRUNK_OUT_CARRIER, 5);
    report_n(s, p2, now, TRUNK_OUT_CARRIER, 5);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(pick(s, now++, 0), (int)v);
        trunk_release(s, v);
    }
    trunk_set_free(s);
}

/* Answers every due ping of trunk t with ok and runs time to `until`. */
static int64_t run_probes(struct trunk_set *s, int64_t now, int64_t until, int ok, int *pings)
{
    struct trunk_probe p;
    for (; now <= until; now += 100) {
        while (trunk_probe_next(s, now, &p)) {
            (*pings)++;
            trunk_probe_result(s, p.cookie, now + 20, ok);
        }
    }
    return now;
}

static void test_probes_bring_it_back(void **state)
{
    (void)state;
    struct trunk_health_config cfg;
    trunk_health_default(&cfg);
    cfg.keepalive_interval_ms = 0;
    struct trunk_set *s = set_new(&cfg);
    uint32_t a = add(s, tcfg("a", 1, 100, 1000, 0));
    add(s, tcfg("b", 1, 100, 1000, 0));
    struct trunk_probe p;
    assert_int_equal(trunk_probe_next(s, T0, &p), 0); /* healthy, no keep-alive: no ping */
    report_n(s, a, T0, TRUNK_OUT_CARRIER, 5);
    assert_int_equal(info(s, a).state, TRUNK_DOWN);

    /* Pings come every probe_interval_ms; failures keep it out. */
    int pings = 0;
    int64_t now = run_probes(s, T0, T0 + 60000, 0, &pings);
    assert_int_equal(pings, 12);
    assert_int_equal(info(s, a).state, TRUNK_DOWN);
    /* A stale answer (cookie of an old ping) changes nothing. */
    trunk_probe_result(s, 1, now, 1);
    assert_int_equal(info(s, a).state, TRUNK_DOWN);

    /* Three answered pings in a row bring it back, on probation. */
    now = T0 + 65000; /* the next ping is due 5 s after the last one */
    assert_int_equal(trunk_probe_next(s, now - 1, &p), 0);
    assert_int_equal(trunk_probe_next(s, now, &p), 1);
    assert_int_equal(p.trunk, a);
    assert_string_equal(p.target, "127.0.0.1:5060");
    trunk_probe_result(s, p.cookie, now, 1);
    now += cfg.probe_interval_ms;
    assert_int_equal(trunk_probe_next(s, now, &p), 1);
    trunk_probe_result(s, p.cookie, now, 1);
    assert_int_equal(info(s, a).state, TRUNK_DOWN);
    now += cfg.probe_interval_ms;
    /* A ping without an answer counts as failed: the run starts again. */
    assert_int_equal(trunk_probe_next(s, now, &p), 1);
    now += cfg.probe_timeout_ms;
    assert_int_equal(trunk_probe_next(s, now, &p), 0);
    trunk_probe_result(s, p.cookie, now, 1); /* too late: ignored */
    for (int i = 0; i < 3; i++) {
        now += cfg.probe_interval_ms;
        assert_int_equal(trunk_probe_next(s, now, &p), 1);
        trunk_probe_result(s, p.cookie, now, 1);
    }
    assert_int_equal(info(s, a).state, TRUNK_PROBATION);
    /* On probation it takes calls again, and good calls make it UP. */
    int got = 0;
    for (int i = 0; i < 10; i++) {
        int t = pick(s, now, 0);
        got += t == (int)a;
        trunk_release(s, (uint32_t)t);
    }
    assert_true(got >= 4);
    report_n(s, a, now, TRUNK_OUT_ANSWERED, (int)cfg.probation_calls);
    assert_int_equal(info(s, a).state, TRUNK_UP);
    assert_int_equal(trunk_set_illegal_moves(s), 0);
    trunk_set_free(s);
}

/* A trunk that fails again on probation goes out for twice as long. */
static void test_relapse_doubles_hold(void **state)
{
    (void)state;
    struct trunk_health_config cfg;
    trunk_health_default(&cfg);
    cfg.keepalive_interval_ms = 0;
    struct trunk_set *s = set_new(&cfg);
    uint32_t a = add(s, tcfg("a", 1, 100, 1000, 0));
    int64_t now = T0;
    int64_t out_for[3];
    for (int round = 0; round < 3; round++) {
        report_n(s, a, now, TRUNK_OUT_CARRIER, round == 0 ? 5 : 2);
        assert_int_equal(info(s, a).state, TRUNK_DOWN);
        assert_int_equal(info(s, a).reason,
                         round == 0 ? TRUNK_WHY_CONSECUTIVE : TRUNK_WHY_PROBATION);
        int64_t since = now;
        int pings = 0;
        while (info(s, a).state == TRUNK_DOWN)
            now = run_probes(s, now, now + 100, 1, &pings);
        out_for[round] = now - since;
    }
    assert_true(out_for[0] >= 30000 && out_for[0] < 40000);
    assert_true(out_for[1] >= 60000 && out_for[1] < 70000);
    assert_true(out_for[2] >= 120000 && out_for[2] < 130000);
    assert_int_equal(trunk_set_illegal_moves(s), 0);
    trunk_set_free(s);
}

static void test_keepalive_takes_dead_trunk_out(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t a = add(s, tcfg("a", 1, 100, 1000, 0));
    int pings = 0;
    int64_t now = run_probes(s, T0, T0 + 35000, 1, &pings);
    assert_int_equal(pings, 2); /* at once, then every 30 s */
    assert_int_equal(info(s, a).state, TRUNK_UP);
    run_probes(s, now, now + 3 * 30000, 0, &pings);
    assert_int_equal(info(s, a).state, TRUNK_DOWN);
    assert_int_equal(info(s, a).reason, TRUNK_WHY_KEEPALIVE);
    trunk_set_free(s);
}

/* 40% ASR on both trunks; then one answers nothing (404s, "normal" failures):
 * it goes out. When both drop together it is the leads: nobody goes out. */
static void test_asr_drop_against_baseline(void **state)
{
    (void)state;
    for (int both = 0; both < 2; both++) {
        struct trunk_set *s = set_new(NULL);
        uint32_t a = add(s, tcfg("a", 1, 100, 1000, 0));
        uint32_t b = add(s, tcfg("b", 1, 100, 1000, 0));
        int64_t now = T0;
        for (int i = 0; i < 1000; i++, now++) {
            enum trunk_outcome o = i % 5 < 2 ? TRUNK_OUT_ANSWERED : TRUNK_OUT_NORMAL;
            trunk_report(s, a, now, now, o);
            trunk_report(s, b, now, now, o);
        }
        assert_true(info(s, a).asr_baseline > 0.39 && info(s, a).asr_baseline < 0.41);
        for (int i = 0; i < 200; i++, now++) {
            trunk_report(s, a, now, now, TRUNK_OUT_NORMAL);
            trunk_report(s, b, now, now,
                         both || i % 5 >= 2 ? TRUNK_OUT_NORMAL : TRUNK_OUT_ANSWERED);
        }
        if (both) {
            assert_int_equal(info(s, a).state, TRUNK_UP);
            assert_int_equal(info(s, b).state, TRUNK_UP);
        } else {
            assert_int_equal(info(s, a).state, TRUNK_DOWN);
            assert_int_equal(info(s, a).reason, TRUNK_WHY_ASR);
            assert_int_equal(info(s, b).state, TRUNK_UP);
        }
        trunk_set_free(s);
    }
}

static int in_pool(const char *cid, const char *const *pool, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cid, pool[i]) == 0)
            return 1;
    return 0;
}

static void test_caller_id_from_pool(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    add(s, tcfg("a", 1, 1000, 10000, 0));
    struct trunk_config cb = tcfg("b", 1, 1000, 10000, 0);
    cb.caller_ids = pool_b;
    cb.n_caller_ids = 1;
    add(s, cb);
    struct trunk_pick_result r;
    uint64_t x = 3;
    char dest[20];
    for (int i = 0; i < 5000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(dest, sizeof(dest), "+%llu", (unsigned long long)(x >> 24) % 100000000000ULL);
        struct trunk_pick_request req = {.destination = i % 7 ? dest : NULL};
        assert_int_equal(trunk_pick(s, T0 + i, &req, &r), 0);
        if (r.trunk == 0)
            assert_true(in_pool(r.caller_id, pool_a, 4));
        else
            assert_string_equal(r.caller_id, pool_b[0]);
        trunk_release(s, r.trunk);
    }
    /* Local presence: the New York destination gets the two 212 numbers in turn,
     * Beijing gets the 10 number, a mobile (no local number) rotates the pool. */
    struct trunk_set *one = set_new(NULL);
    add(one, tcfg("a", 1, 1000, 10000, 0));
    struct trunk_pick_request ny = {.destination = "+1 212 555 9999"};
    struct trunk_pick_request bj = {.destination = "+861087654321"};
    struct trunk_pick_request mob = {.destination = "+8613812345678"};
    int seen_ny[2] = {0}, seen_any[4] = {0};
    for (int i = 0; i < 40; i++) {
        assert_int_equal(trunk_pick(one, T0, &ny, &r), 0);
        assert_memory_equal(r.caller_id, "+1212555010", 11);
        seen_ny[r.caller_id[11] - '0']++;
        assert_int_equal(trunk_pick(one, T0, &bj, &r), 0);
        assert_string_equal(r.caller_id, "+861012345678");
        assert_int_equal(trunk_pick(one, T0, &mob, &r), 0);
        for (int k = 0; k < 4; k++)
            seen_any[k] += strcmp(r.caller_id, pool_a[k]) == 0;
    }
    assert_int_equal(seen_ny[0], 20);
    assert_int_equal(seen_ny[1], 20);
    for (int k = 0; k < 4; k++)
        assert_true(seen_any[k] > 0);
    trunk_set_free(one);
    trunk_set_free(s);
}

static void test_headroom_and_share(void **state)
{
    (void)state;
    struct trunk_set *s = set_new(NULL);
    uint32_t a = add(s, tcfg("a", 1, 100, 30, 0));
    uint32_t b = add(s, tcfg("b", 1, 5, 50, 0));
    assert_int_equal(trunk_set_headroom(s, T0), 30 + 5);
    trunk_set_share(s, a, 50); /* half the channels: half the CPS */
    assert_int_equal(info(s, a).share, 50);
    assert_int_equal(info(s, a).cps_share, 15);
    trunk_set_share(s, b, 0);
    assert_int_equal(trunk_set_headroom(s, T0), 15);
    int n = 0;
    while (pick(s, T0, 0) >= 0)
        n++;
    assert_int_equal(n, 15);
    assert_int_equal(trunk_set_headroom(s, T0), 0);
    trunk_set_free(s);
}

static void test_json_ok(void **state)
{
    (void)state;
    const char *doc =
        "{\"health\": {\"down_consecutive\": 3, \"down_fail_ratio\": 0.4},"
        " \"trunks\":[{\"name\":\"ct-a\",\"target\":\"127.0.0.1:5060\",\"weight\":3,"
        "\"channels\":100,\"cps\":30,\"caller_ids\":[\"+861012345678\"],\"cost_per_min\":0.012,"
        "\"priority\":0},"
        "{\"name\":\"voip\",\"target\":\"sip.example.net:5061\",\"transport\":\"tls\","
        "\"proxy\":\"[2001:db8::1]:5060\",\"channels\":30,\"cps\":5,"
        "\"caller_ids\":[\"+861012345679\",\"+862112345678\"],\"priority\":10}]}";
    struct trunk_set *s = NULL;
    char err[200] = "";
    int rv = trunk_set_from_json(doc, &s, err, sizeof(err));
    if (rv)
        fail_msg("%s", err);
    assert_int_equal(trunk_set_count(s), 2);
    uint32_t i;
    assert_int_equal(trunk_set_find(s, "voip", &i), 0);
    assert_int_equal(i, 1);
    assert_int_equal(trunk_set_find(s, "nope", &i), WAIHU_ENOTFOUND);
    struct trunk_info a = info(s, 0), v = info(s, 1);
    assert_string_equal(a.name, "ct-a");
    assert_int_equal(a.weight, 3);
    assert_int_equal(a.channels, 100);
    assert_int_equal(a.cps, 30);
    assert_null(a.proxy);
    assert_int_equal(a.transport, TRUNK_UDP);
    assert_true(a.cost_per_min > 0.0119 && a.cost_per_min < 0.0121);
    assert_int_equal(v.weight, 1);
    assert_int_equal(v.transport, TRUNK_TLS);
    assert_string_equal(v.proxy, "[2001:db8::1]:5060");
    assert_int_equal(v.priority, 10);
    assert_int_equal(v.n_caller_ids, 2);
    /* URIs for the SIP engine; nothing but "+digits" reaches them. */
    char uri[128];
    assert_int_equal(trunk_request_uri(s, 0, "+8613812345678", uri, sizeof(uri)), 0);
    assert_string_equal(uri, "sip:+8613812345678@127.0.0.1:5060");
    assert_int_equal(trunk_proxy_uri(s, 0, uri, sizeof(uri)), WAIHU_ENOTFOUND);
    assert_int_equal(trunk_request_uri(s, 1, "+8613812345678", uri, sizeof(uri)), 0);
    assert_string_equal(uri, "sip:+8613812345678@sip.example.net:5061;transport=tls");
    assert_int_equal(trunk_proxy_uri(s, 1, uri, sizeof(uri)), 0);
    assert_string_equal(uri, "sip:[2001:db8::1]:5060;transport=tls");
    assert_int_equal(trunk_request_uri(s, 0, "+86;x=1", uri, sizeof(uri)), WAIHU_EINVAL);
    assert_int_equal(trunk_request_uri(s, 0, "1@evil", uri, sizeof(uri)), WAIHU_EINVAL);
    assert_int_equal(trunk_request_uri(s, 0, "", uri, sizeof(uri)), WAIHU_EINVAL);
    assert_int_equal(trunk_request_uri(s, 1, "+8613812345678", uri, 20), WAIHU_ETOOBIG);
    /* The health override took: 3 carrier failures take a trunk out. */
    report_n(s, 0, T0, TRUNK_OUT_CARRIER, 3);
    assert_int_equal(info(s, 0).state, TRUNK_DOWN);
    trunk_set_free(s);
}

static void test_json_errors_name_the_field(void **state)
{
    (void)state;
#define TR(body) "\"trunks\":[{\"name\":\"ct-a\",\"target\":\"127.0.0.1:5060\",\"channels\":10," \
                "\"cps\":5,\"caller_ids\":[\"+861012345678\"]" body "}]}"
#define T(body) "{" TR(body)
    static const struct { const char *doc, *msg; } cases[] = {
        {"{\"trunks\":[", "line 1 column"},
        {"[]", "top level: must be an object"},
        {"{\"trunk\":[]}", "trunk: unknown field"},
        {"{\"trunks\":[]}", "trunks: must be a non-empty array"},
        {T(",\"weight\":0"), "trunks[0].weight: must be an integer in 1..1000"},
        {T(",\"weight\":2.5"), "trunks[0].weight: must be an integer"},
        {T(",\"wieght\":2"), "trunks[0].wieght: unknown field"},
        {T(",\"priority\":-1"), "trunks[0].priority: must be an integer"},
        {T(",\"cost_per_min\":\"x\""), "trunks[0].cost_per_min: must be a number >= 0"},
        {T(",\"transport\":\"sctp\""), "trunks[0].transport: must be"},
        {T(",\"proxy\":\"10.0.0.1\""), "trunks[0].proxy: must be host:port"},
        {"{\"trunks\":[{\"name\":\"ct-a\",\"target\":\"127.0.0.1:99999\",\"channels\":1,\"cps\":1,"
         "\"caller_ids\":[\"+861012345678\"]}]}",
         "trunks[0].target: must be host:port"},
        {"{\"trunks\":[{\"name\":\"ct a\",\"target\":\"h:1\",\"channels\":1,\"cps\":1,"
         "\"caller_ids\":[\"+861012345678\"]}]}",
         "trunks[0].name: must be"},
        {"{\"trunks\":[{\"name\":\"a\",\"target\":\"h:1\",\"cps\":1,"
         "\"caller_ids\":[\"+861012345678\"]}]}",
         "trunks[0].channels: missing"},
        {"{\"trunks\":[{\"name\":\"a\",\"target\":\"h:1\",\"channels\":1,\"cps\":0,"
         "\"caller_ids\":[\"+861012345678\"]}]}",
         "trunks[0].cps: must be an integer in 1..10000"},
        {"{\"trunks\":[{\"name\":\"a\",\"target\":\"h:1\",\"channels\":1,\"cps\":1,"
         "\"caller_ids\":[]}]}",
         "trunks[0].caller_ids: must be an array"},
        {"{\"trunks\":[{\"name\":\"a\",\"target\":\"h:1\",\"channels\":1,\"cps\":1,"
         "\"caller_ids\":[\"+86101\"]}]}",
         "trunks[0].caller_ids[0]: must be E.164"},
        {"{\"trunks\":[{\"name\":\"a\",\"target\":\"h:1\",\"channels\":1,\"cps\":1,"
         "\"caller_ids\":[\"+861012345678\",\"01012345678\"]}]}",
         "trunks[0].caller_ids[1]: must be E.164"},
        {"{\"trunks\":[{\"name\":\"a\",\"target\":\"h:1\",\"channels\":1,\"cps\":1,"
         "\"caller_ids\":[\"+861012345678\"]},{\"name\":\"a\",\"target\":\"h:2\",\"channels\":1,"
         "\"cps\":1,\"caller_ids\":[\"+861012345678\"]}]}",
         "trunks[1].name: duplicate trunk name"},
        {"{\"health\":{\"down_consecutiv\":3}," TR(""), "health.down_consecutiv: unknown field"},
        {"{\"health\":{\"down_fail_ratio\":2}," TR(""), "health.down_fail_ratio: must be in"},
        {"{\"health\":{\"up_probes\":0}," TR(""), "health.up_probes: must be an integer in 1..100"},
        {"{\"health\":{\"hold_ms\":5000,\"hold_max_ms\":1000}," TR(""), "health.hold_max_ms:"},
    };
#undef T
#undef TR
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct trunk_set *s = (struct trunk_set *)&cases; /* must be reset to NULL */
        char err[200] = "";
        int rv = trunk_set_from_json(cases[i].doc, &s, err, sizeof(err));
        if (rv != WAIHU_EINVAL || strstr(err, cases[i].msg) == NULL)
            fail_msg("case %zu: rv %d, got \"%s\", want \"%s\"", i, rv, err, cases[i].msg);
        assert_null(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_respected),
        cmocka_unit_test(test_channel_limit_never_exceeded),
        cmocka_unit_test(test_cps_limit_never_exceeded),
        cmocka_unit_test(test_outcome_classes),
        cmocka_unit_test(test_normal_failures_do_not_count),
        cmocka_unit_test(test_503_burst_fails_over),
        cmocka_unit_test(test_late_answers_do_not_hide_a_burst),
        cmocka_unit_test(test_failure_ratio),
        cmocka_unit_test(test_backup_used_only_when_primary_unavailable),
        cmocka_unit_test(test_probes_bring_it_back),
        cmocka_unit_test(test_relapse_doubles_hold),
        cmocka_unit_test(test_keepalive_takes_dead_trunk_out),
        cmocka_unit_test(test_asr_drop_against_baseline),
        cmocka_unit_test(test_caller_id_from_pool),
        cmocka_unit_test(test_headroom_and_share),
        cmocka_unit_test(test_json_ok),
        cmocka_unit_test(test_json_errors_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
