/* Unit tests of the pacing module (src/dialer/pacing.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pacing.h"

#define T0 1000000 /* virtual now, ms */

static struct pacing *pacing_new(enum pacing_mode mode)
{
    struct pacing *p = malloc(sizeof(*p));
    assert_non_null(p);
    struct pacing_config cfg;
    pacing_config_default(&cfg);
    cfg.mode = mode;
    assert_int_equal(pacing_init(p, &cfg), 0);
    return p;
}

/* A campaign that has been running: 25% answer rate, 20% machines, 120 s talks. */
static void feed_history(struct pacing *p, int64_t now_ms)
{
    uint64_t s = 42;
    for (int i = 0; i < 4000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        int64_t t = now_ms - 4000 * 250 + i * 250;
        if (u < 0.75)
            pacing_observe_call(p, t, PACING_OUT_NOANSWER, u < 0.2 ? 3000 : 25000, 0);
        else if (u < 0.80)
            pacing_observe_call(p, t, PACING_OUT_MACHINE, 6000 + (uint32_t)(u * 8000), 3000);
        else
            pacing_observe_call(p, t, PACING_OUT_LIVE, 5000 + (uint32_t)(u * 8000), 1200);
        if (i % 5 == 0) {
            pacing_observe_talk(p, 40000 + (uint32_t)(u * 150000));
            pacing_observe_wrap(p, 10000 + (uint32_t)(u * 20000));
        }
    }
}

static struct pacing_input input(struct pacing_agent *agents, size_t n_agents,
                                 struct pacing_call *calls, size_t n_calls)
{
    struct pacing_input in = {
        .now_ms = T0,
        .agents = agents,
        .n_agents = n_agents,
        .calls = calls,
        .n_calls = n_calls,
        .day_remaining_s = 4 * 3600,
    };
    return in;
}

static void set_agents(struct pacing_agent *a, size_t n, enum pacing_agent_state st, uint32_t elapsed)
{
    for (size_t i = 0; i < n; i++) {
        a[i].state = st;
        a[i].elapsed_ms = elapsed;
    }
}

static void test_no_agents(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    struct pacing_decision d;
    struct pacing_input in = input(NULL, 0, NULL, 0);
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_int_equal(d.launch, 0);
    assert_int_equal(d.reason, PACING_WHY_NO_AGENTS);

    struct pacing_agent off[4];
    set_agents(off, 4, PACING_AGENT_OFF, 0);
    in = input(off, 4, NULL, 0);
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_int_equal(d.launch, 0);
    assert_int_equal(d.reason, PACING_WHY_NO_AGENTS);
    free(p);
}

static void test_all_busy_for_long(void **state)
{
    (void)state;
    struct pacing *p = malloc(sizeof(*p));
    assert_non_null(p);
    struct pacing_config cfg;
    pacing_config_default(&cfg);
    cfg.prior_talk_ms = 600000; /* ten-minute calls, little spread */
    cfg.prior_talk_cv = 0.2;
    assert_int_equal(pacing_init(p, &cfg), 0);
    struct pacing_agent a[10];
    set_agents(a, 10, PACING_AGENT_TALK, 5000);
    struct pacing_input in = input(a, 10, NULL, 0);
    struct pacing_decision d;
    for (int i = 0; i < 30; i++) { /* the controller cannot talk itself into it */
        in.now_ms = T0 + i * 1000;
        assert_int_equal(pacing_decide(p, &in, &d), 0);
        assert_int_equal(d.launch, 0);
        for (size_t k = 0; k < 10; k++)
            a[k].elapsed_ms += 1000;
    }
    free(p);
}

static void test_progressive_exact(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PROGRESSIVE);
    struct pacing_agent a[10];
    struct pacing_call c[10];
    struct pacing_decision d;
    for (size_t ready = 0; ready <= 6; ready++) {
        for (size_t calls = 0; calls <= 8; calls++) {
            set_agents(a, 10, PACING_AGENT_TALK, 1000);
            set_agents(a, ready, PACING_AGENT_READY, 0);
            for (size_t i = 0; i < calls; i++)
                c[i] = (struct pacing_call){PACING_CALL_RINGING, 3000};
            struct pacing_input in = input(a, 10, c, calls);
            assert_int_equal(pacing_decide(p, &in, &d), 0);
            assert_int_equal(d.launch, ready > calls ? ready - calls : 0);
            assert_int_equal(d.reason, PACING_WHY_PROGRESSIVE);
        }
    }
    /* Trunk headroom caps it. */
    set_agents(a, 10, PACING_AGENT_READY, 0);
    struct pacing_input in = input(a, 10, NULL, 0);
    in.max_launch = 3;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_int_equal(d.launch, 3);
    free(p);
}

/* 20 agents: ready ones, the rest in wrap-up about to finish. */
static struct pacing_input busy_team(struct pacing_agent *a, size_t ready)
{
    set_agents(a, 20, PACING_AGENT_WRAP, 15000);
    set_agents(a, ready, PACING_AGENT_READY, 0);
    return input(a, 20, NULL, 0);
}

static void test_budget_exhausted(void **state)
{
    (void)state;
    struct pacing_agent a[20];
    struct pacing_decision d;

    /* With budget left, agents about to free up attract calls. */
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    struct pacing_input in = busy_team(a, 0);
    in.today = (struct pacing_tally){1000, 10};
    in.window = in.today;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_true(d.launch > 0);
    free(p);

    /* Today's budget spent: nothing, even though agents are about to free. */
    p = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    in.today = (struct pacing_tally){1000, 200};
    in.window = (struct pacing_tally){30000, 400};
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_int_equal(d.launch, 0);
    assert_int_equal(d.reason, PACING_WHY_BUDGET);

    /* ... and with ready agents, only the zero-risk calls (one per uncovered agent). */
    in = busy_team(a, 3);
    in.today = (struct pacing_tally){1000, 200};
    in.window = (struct pacing_tally){30000, 400};
    struct pacing_call c[1] = {{PACING_CALL_RINGING, 1000}};
    in.calls = c;
    in.n_calls = 1;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_int_equal(d.launch, 2);
    assert_int_equal(d.reason, PACING_WHY_BUDGET);

    /* The rolling window alone can exhaust it too. */
    in.today = (struct pacing_tally){100, 0};
    in.window = (struct pacing_tally){30000, 1500};
    in.n_calls = 0;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_int_equal(d.launch, 3);
    assert_int_equal(d.reason, PACING_WHY_BUDGET);
    free(p);
}

static void test_spent_budget_tightens(void **state)
{
    (void)state;
    struct pacing_agent a[20];
    struct pacing_decision fresh, spent;
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    struct pacing *q = malloc(sizeof(*q));
    assert_non_null(q);
    memcpy(q, p, sizeof(*p));
    struct pacing_input in = busy_team(a, 2);
    in.today = (struct pacing_tally){2000, 20};
    in.window = in.today;
    assert_int_equal(pacing_decide(p, &in, &fresh), 0);
    in.today = (struct pacing_tally){2000, 85};
    in.window = in.today;
    assert_int_equal(pacing_decide(q, &in, &spent), 0);
    assert_true(spent.target_rate < fresh.target_rate);
    assert_true(spent.launch <= fresh.launch);
    free(p);
    free(q);
}

static void test_monotonic_in_ready(void **state)
{
    (void)state;
    struct pacing *tmpl = pacing_new(PACING_PREDICTIVE);
    feed_history(tmpl, T0);
    struct pacing *p = malloc(sizeof(*p));
    assert_non_null(p);
    struct pacing_agent a[30];
    struct pacing_call c[12];
    for (size_t i = 0; i < 12; i++)
        c[i] = (struct pacing_call){PACING_CALL_RINGING, (uint32_t)(i * 2000)};
    for (size_t calls = 0; calls <= 12; calls += 6) {
        uint32_t prev = 0;
        for (size_t ready = 0; ready <= 30; ready++) {
            memcpy(p, tmpl, sizeof(*p));
            set_agents(a, 30, PACING_AGENT_TALK, 60000);
            set_agents(a, ready, PACING_AGENT_READY, 0);
            struct pacing_input in = input(a, 30, c, calls);
            struct pacing_decision d;
            assert_int_equal(pacing_decide(p, &in, &d), 0);
            assert_true(d.launch >= prev);
            prev = d.launch;
        }
        assert_true(prev > 0);
    }
    free(p);
    free(tmpl);
}

static void test_risk_grows_with_calls(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    struct pacing_agent a[20];
    struct pacing_input in = busy_team(a, 2);
    double prev = -1;
    for (uint32_t k = 1; k <= 200; k += 3) {
        double r = pacing_risk(p, &in, k);
        assert_true(r >= prev - 1e-12);
        assert_true(r >= 0 && r <= 1);
        prev = r;
    }
    assert_true(prev > 0.5);
    /* More ready agents, less risk for the same call. */
    struct pacing_input more = busy_team(a, 10);
    double r10 = pacing_risk(p, &more, 5);
    in = busy_team(a, 2);
    assert_true(r10 <= pacing_risk(p, &in, 5));
    free(p);
}

static void test_large_team_normal_path(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    enum { N = 500 };
    struct pacing_agent *a = calloc(N, sizeof(*a));
    struct pacing_call *c = calloc(400, sizeof(*c));
    assert_non_null(a);
    assert_non_null(c);
    for (size_t i = 0; i < N; i++) {
        a[i].state = i % 7 == 0 ? PACING_AGENT_WRAP : PACING_AGENT_TALK;
        a[i].elapsed_ms = (uint32_t)(i * 997 % 200000);
    }
    for (size_t i = 0; i < 400; i++)
        c[i] = (struct pacing_call){PACING_CALL_RINGING, (uint32_t)(i * 61 % 25000)};
    struct pacing_input in = input(a, N, c, 400);
    struct pacing_decision d;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_true(d.launch < 1000);
    double r1 = pacing_risk(p, &in, 1), r50 = pacing_risk(p, &in, 50);
    assert_true(r1 <= r50);
    free(a);
    free(c);
    free(p);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PREDICTIVE), *q = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    feed_history(q, T0);
    struct pacing_agent a[20];
    struct pacing_call c[8];
    for (int step = 0; step < 200; step++) {
        for (size_t i = 0; i < 20; i++) {
            a[i].state = (enum pacing_agent_state)(1 + (i + (size_t)step / 7) % 3);
            a[i].elapsed_ms = (uint32_t)((i * 7919 + (size_t)step * 1000) % 90000);
        }
        size_t n = (size_t)step % 8;
        for (size_t i = 0; i < n; i++)
            c[i] = (struct pacing_call){(enum pacing_call_state)(i % 3), (uint32_t)(i * 3100)};
        struct pacing_input in = input(a, 20, c, n);
        in.now_ms = T0 + step * 1000;
        in.today = (struct pacing_tally){(uint64_t)step * 3, (uint64_t)step / 20};
        in.window = in.today;
        struct pacing_decision dp, dq;
        assert_int_equal(pacing_decide(p, &in, &dp), 0);
        assert_int_equal(pacing_decide(q, &in, &dq), 0);
        assert_memory_equal(&dp, &dq, sizeof(dp));
        if (step % 3 == 0) {
            pacing_observe_call(p, in.now_ms, PACING_OUT_LIVE, 7000, 1000);
            pacing_observe_call(q, in.now_ms, PACING_OUT_LIVE, 7000, 1000);
        }
    }
    assert_memory_equal(p, q, sizeof(*p));
    free(p);
    free(q);
}

static void test_invalid_input(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    struct pacing_decision d;
    assert_int_equal(pacing_decide(p, NULL, &d), WAIHU_EINVAL);
    assert_int_equal(d.launch, 0);
    struct pacing_input in = input(NULL, 3, NULL, 0); /* agents missing */
    assert_int_equal(pacing_decide(p, &in, &d), WAIHU_EINVAL);
    struct pacing_agent a[1] = {{(enum pacing_agent_state)9, 0}};
    in = input(a, 1, NULL, 0);
    assert_int_equal(pacing_decide(p, &in, &d), WAIHU_EINVAL);
    a[0].state = PACING_AGENT_READY;
    in = input(a, 1, NULL, 0);
    in.today = (struct pacing_tally){1, 2}; /* more abandons than live answers */
    assert_int_equal(pacing_decide(p, &in, &d), WAIHU_EINVAL);
    assert_int_equal(pacing_decide(p, &in, NULL), WAIHU_EINVAL);

    struct pacing_config cfg;
    pacing_config_default(&cfg);
    cfg.abandon_cap = 0;
    assert_int_equal(pacing_init(p, &cfg), WAIHU_EINVAL);
    pacing_config_default(&cfg);
    cfg.connect_latency_ms = cfg.grace_ms;
    assert_int_equal(pacing_init(p, &cfg), WAIHU_EINVAL);
    assert_int_equal(pacing_init(NULL, &cfg), WAIHU_EINVAL);
    free(p);
}

static void test_rate_estimator(void **state)
{
    (void)state;
    struct pacing_rate r;
    pacing_rate_init(&r, 0.5, 10, 200, 600000);
    assert_true(fabs(pacing_rate_value(&r, 0) - 0.5) < 1e-12);
    for (int i = 0; i < 2000; i++)
        pacing_rate_observe(&r, i * 100, i % 4 == 0);
    double v = pacing_rate_value(&r, 200000);
    assert_true(fabs(v - 0.25) < 0.03);
    /* A change shows within a few half-lives. */
    for (int i = 0; i < 1000; i++)
        pacing_rate_observe(&r, 200000 + i * 100, i % 10 == 0);
    assert_true(fabs(pacing_rate_value(&r, 300000) - 0.10) < 0.03);
    /* A night without calls forgets: back to the prior. */
    assert_true(fabs(pacing_rate_value(&r, 300000 + 16LL * 3600 * 1000) - 0.5) < 0.01);
    assert_true(pacing_rate_weight(&r, 300000 + 16LL * 3600 * 1000) < 1e-3);
}

static void test_hist_and_lognormal(void **state)
{
    (void)state;
    struct pacing_hist h;
    pacing_hist_init(&h, 500, 0);
    assert_true(pacing_hist_cdf(&h, 1000) == 0);
    for (uint32_t x = 0; x < 20000; x += 10)
        pacing_hist_observe(&h, x); /* uniform on [0, 20 s) */
    assert_true(fabs(pacing_hist_cdf(&h, 5000) - 0.25) < 0.01);
    assert_true(fabs(pacing_hist_quantile(&h, 0.5) - 10000) < 300);
    assert_true(pacing_hist_cdf(&h, 1e9) == 1.0);
    /* Forgetting: new data dominates. */
    struct pacing_hist f;
    pacing_hist_init(&f, 500, 100);
    for (int i = 0; i < 1000; i++)
        pacing_hist_observe(&f, 2000);
    for (int i = 0; i < 1000; i++)
        pacing_hist_observe(&f, 30000);
    assert_true(pacing_hist_quantile(&f, 0.5) > 25000);

    struct pacing_lognormal l;
    pacing_lognormal_init(&l, 120000, 1.0, 20, 0);
    assert_true(fabs(pacing_lognormal_mean(&l) - 120000) < 1);
    struct pacing_lognormal k;
    pacing_lognormal_init(&k, 60000, 0.5, 1, 0);
    uint64_t s = 7;
    for (int i = 0; i < 20000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u1 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u2 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        pacing_lognormal_observe(&k, exp(log(200000) + 0.7 * z));
    }
    double mu, sigma;
    pacing_lognormal_params(&k, &mu, &sigma);
    assert_true(fabs(mu - log(200000)) < 0.03);
    assert_true(fabs(sigma - 0.7) < 0.03);
}

/* Quick failures (busy, unreachable) end first: learning from them before the
 * slower outcomes of the same calls would drag the answer rate down and
 * over-dial a cold start. */
static void test_cold_start_not_fooled_by_quick_failures(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    struct pacing_agent a[500];
    set_agents(a, 500, PACING_AGENT_READY, 0);
    struct pacing_input in = input(a, 500, NULL, 0);
    struct pacing_decision d0, d;
    assert_int_equal(pacing_decide(p, &in, &d0), 0);
    for (int i = 0; i < 60; i++) /* 60 busy signals 1.5 s after launch */
        pacing_observe_call(p, T0 + 2000, PACING_OUT_NOANSWER, 1500, 0);
    in.now_ms = T0 + 2000;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_true(d.p_live >= d0.p_live - 1e-9);
    /* Once those calls' second is complete, the data count. */
    for (int i = 0; i < 200; i++)
        pacing_observe_call(p, T0 + 30000, PACING_OUT_NOANSWER, 25000, 0);
    in.now_ms = T0 + 60000;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_true(d.p_live < d0.p_live / 2);
    free(p);
}

/* A new day (today's tally restarts) brings the threshold back to the target. */
static void test_new_day_restarts_controller(void **state)
{
    (void)state;
    struct pacing *p = pacing_new(PACING_PREDICTIVE);
    feed_history(p, T0);
    struct pacing_agent a[20];
    struct pacing_input in = busy_team(a, 0);
    struct pacing_decision d;
    in.day_remaining_s = 600;
    for (int i = 0; i < 600; i++) { /* end of a quiet day: budget left, theta climbs */
        in.now_ms = T0 + i * 1000;
        in.today = (struct pacing_tally){3000, 10};
        in.window = in.today;
        assert_int_equal(pacing_decide(p, &in, &d), 0);
    }
    double evening = d.threshold;
    in.now_ms += 1000;
    in.today = (struct pacing_tally){0, 0};
    in.day_remaining_s = 8 * 3600;
    assert_int_equal(pacing_decide(p, &in, &d), 0);
    assert_true(d.threshold < evening);
    assert_true(fabs(d.threshold - d.target_rate) < 1e-12);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_agents),
        cmocka_unit_test(test_all_busy_for_long),
        cmocka_unit_test(test_progressive_exact),
        cmocka_unit_test(test_budget_exhausted),
        cmocka_unit_test(test_spent_budget_tightens),
        cmocka_unit_test(test_monotonic_in_ready),
        cmocka_unit_test(test_risk_grows_with_calls),
        cmocka_unit_test(test_large_team_normal_path),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_rate_estimator),
        cmocka_unit_test(test_hist_and_lognormal),
        cmocka_unit_test(test_cold_start_not_fooled_by_quick_failures),
        cmocka_unit_test(test_new_day_restarts_controller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
