/* Trunk failover simulation (deterministic, virtual time): 10,000 calls at
 * 100 calls per second over two trunks; trunk A answers 503 to every call from
 * call 3,000 on; a call that fails on a trunk is retried on the next one. Under
 * 1% of the calls may end failed. Figures are printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trunk.h"

#define CALLS 10000
#define GAP_MS 10          /* 100 calls per second */
#define BREAK_CALL 3000    /* A answers 503 from this call on */
#define FAIL_503_MS 20     /* a 503 comes back quickly */
#define B_GLITCH 0.003     /* B's own background 503 rate */
#define CPS_WAIT_MAX_MS 2000 /* a call waits this long for a CPS slot at most */

enum ev_type { EV_LAUNCH, EV_FINAL, EV_END, EV_PROBE, EV_TICK };

struct ev {
    int64_t t;
    uint64_t seq;
    enum ev_type type;
    int call, trunk, status, had_prov;
    int64_t picked; /* EV_FINAL: when the trunk was picked */
    uint64_t cookie;
};

struct heap {
    struct ev *v;
    size_t n, cap;
    uint64_t seq;
};

static void push(struct heap *h, struct ev e)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = realloc(h->v, h->cap * sizeof(*h->v));
        assert_non_null(h->v);
    }
    e.seq = h->seq++;
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p].t < e.t || (h->v[p].t == e.t && h->v[p].seq < e.seq))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
}

static int less(const struct ev *a, const struct ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static struct ev pop(struct heap *h)
{
    struct ev top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && less(&h->v[c + 1], &h->v[c]))
            c++;
        if (!less(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* Uniform in [0,1) from (call, attempt, salt). */
static double unif(int call, int attempt, int salt)
{
    uint64_t x = mix(((uint64_t)call << 20) ^ ((uint64_t)attempt << 8) ^ (uint64_t)salt);
    return (double)(x >> 11) / 9007199254740992.0;
}

struct scenario {
    const char *name;
    int failover;          /* retry a failed call on the next trunk */
    int options_ok_broken; /* A answers OPTIONS 200 while it 503s calls (flapping) */
    int recover_call;      /* A works again from this call (0: never) */
};

struct call {
    uint64_t tried;
    int attempts;
    int64_t first_try_ms;
};

struct figures {
    int failed, answered, attempts, retries, carrier_fail, cps_waits;
    int picks_before[2], picks_after[2];
    int max_in_use[2];
    uint32_t downs_a;
    enum trunk_reason why_a;
    int64_t first_down_ms; /* after the break */
    uint64_t illegal;
};

static int a_broken(const struct scenario *sc, int64_t t)
{
    int64_t from = (int64_t)BREAK_CALL * GAP_MS;
    int64_t to = sc->recover_call ? (int64_t)sc->recover_call * GAP_MS : INT64_MAX;
    return t >= from && t < to;
}

static void run(const struct scenario *sc, struct figures *f)
{
    memset(f, 0, sizeof(*f));
    f->first_down_ms = -1;
    static const char *const cids[] = {"+861012345678", "+861012345679"};
    struct trunk_config tc[2] = {
        {.name = "A", .target = "10.0.0.1:5060", .weight = 3, .channels = 2000, .cps = 100,
         .caller_ids = cids, .n_caller_ids = 2},
        {.name = "B", .target = "10.0.0.2:5060", .weight = 2, .channels = 2000, .cps = 120,
         .caller_ids = cids, .n_caller_ids = 2},
    };
    struct trunk_set *set = NULL;
    assert_int_equal(trunk_set_new(NULL, &set, NULL, 0), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(trunk_set_add(set, &tc[i], NULL, NULL, 0), 0);

    struct call *calls = calloc(CALLS, sizeof(*calls));
    int64_t *starts[2];
    int n_starts[2] = {0};
    starts[0] = calloc(2 * CALLS, sizeof(int64_t));
    starts[1] = calloc(2 * CALLS, sizeof(int64_t));
    assert_non_null(calls);
    struct heap h = {0};
    push(&h, (struct ev){.t = 0, .type = EV_LAUNCH, .call = 0});
    push(&h, (struct ev){.t = 0, .type = EV_TICK});
    int done = 0;
    while (h.n && done < CALLS) {
        struct ev e = pop(&h);
        int64_t now = e.t;
        struct call *c = e.call >= 0 && e.call < CALLS ? &calls[e.call] : NULL;
        switch (e.type) {
        case EV_TICK: {
            struct trunk_probe p;
            while (trunk_probe_next(set, now, &p)) {
                int ok = p.trunk == 1 || !a_broken(sc, now) || sc->options_ok_broken;
                push(&h, (struct ev){.t = now + 15, .type = EV_PROBE, .cookie = p.cookie,
                                     .status = ok});
            }
            push(&h, (struct ev){.t = now + 100, .type = EV_TICK});
            break;
        }
        case EV_PROBE:
            trunk_probe_result(set, e.cookie, now, e.status);
            break;
        case EV_LAUNCH: {
            if (c->attempts == 0) {
                c->first_try_ms = now;
                if (e.call + 1 < CALLS)
                    push(&h, (struct ev){.t = now + GAP_MS, .type = EV_LAUNCH, .call = e.call + 1});
            }
            struct trunk_pick_request req = {.destination = "+861087654321", .exclude = c->tried};
            struct trunk_pick_result r;
            if (trunk_pick(set, now, &req, &r) != 0) {
                if (r.why == TRUNK_NONE_CPS && r.retry_at_ms - c->first_try_ms <= CPS_WAIT_MAX_MS) {
                    f->cps_waits++;
                    push(&h, (struct ev){.t = r.retry_at_ms, .type = EV_LAUNCH, .call = e.call});
                } else {
                    f->failed++;
                    done++;
                }
                break;
            }
            int t = (int)r.trunk;
            assert_true(strcmp(r.caller_id, cids[0]) == 0 || strcmp(r.caller_id, cids[1]) == 0);
            c->tried |= UINT64_C(1) << t;
            c->attempts++;
            f->attempts++;
            f->retries += c->attempts > 1;
            if (e.call < BREAK_CALL)
                f->picks_before[t]++;
            else
                f->picks_after[t]++;
            /* The carrier never sees more than cps starts in a sliding second. */
            starts[t][n_starts[t]++] = now;
            if (n_starts[t] > (int)tc[t].cps)
                assert_true(now - starts[t][n_starts[t] - 1 - tc[t].cps] >= 1000);
            struct trunk_info ti;
            trunk_set_info(set, (uint32_t)t, now, &ti);
            assert_true(ti.in_use <= tc[t].channels);
            if ((int)ti.in_use > f->max_in_use[t])
                f->max_in_use[t] = (int)ti.in_use;
            /* What the carrier answers. */
            struct ev fin = {.type = EV_FINAL, .call = e.call, .trunk = t, .picked = now};
            double u = unif(e.call, c->attempts, 1), v = unif(e.call, c->attempts, 2);
            if ((t == 0 && a_broken(sc, now)) || (t == 1 && u < B_GLITCH)) {
                fin.t = now + FAIL_503_MS;
                fin.status = 503;
            } else if (u < 0.45) {
                fin.t = now + 2000 + (int64_t)(v * 10000);
                fin.status = 200;
                fin.had_prov = 1;
            } else if (u < 0.80) {
                fin.t = now + 2000 + (int64_t)(v * 23000);
                fin.status = 480;
                fin.had_prov = 1;
            } else if (u < 0.95) {
                fin.t = now + 500 + (int64_t)(v * 1500);
                fin.status = 486;
            } else {
                fin.t = now + 200;
                fin.status = 404;
            }
            push(&h, fin);
            break;
        }
        case EV_FINAL: {
            enum trunk_outcome o = trunk_outcome_from_sip(e.status, e.had_prov);
            trunk_report(set, (uint32_t)e.trunk, e.picked, now, o);
            if (e.trunk == 0 && f->first_down_ms < 0 && now >= BREAK_CALL * GAP_MS) {
                struct trunk_info ti;
                trunk_set_info(set, 0, now, &ti);
                if (ti.state == TRUNK_DOWN)
                    f->first_down_ms = now - BREAK_CALL * GAP_MS;
            }
            if (o == TRUNK_OUT_ANSWERED) {
                double talk = 5000 + unif(e.call, c->attempts, 3) * 35000;
                push(&h, (struct ev){.t = now + (int64_t)talk, .type = EV_END, .call = e.call,
                                     .trunk = e.trunk});
                f->answered++;
                done++;
                break;
            }
            trunk_release(set, (uint32_t)e.trunk);
            if (o == TRUNK_OUT_CARRIER) {
                f->carrier_fail++;
                if (sc->failover) {
                    push(&h, (struct ev){.t = now, .type = EV_LAUNCH, .call = e.call});
                    break;
                }
                f->failed++;
            }
            done++;
            break;
        }
        case EV_END:
            trunk_release(set, (uint32_t)e.trunk);
            break;
        }
    }
    assert_int_equal(done, CALLS);
    struct trunk_info ta;
    trunk_set_info(set, 0, 0, &ta);
    f->downs_a = ta.downs;
    f->why_a = ta.reason;
    f->illegal = trunk_set_illegal_moves(set);
    free(h.v);
    free(starts[0]);
    free(starts[1]);
    free(calls);
    trunk_set_free(set);
}

static void print(const struct scenario *sc, const struct figures *f)
{
    printf("[sim] %s\n", sc->name);
    printf("[sim]   calls %d, failed %d (%.2f%%), answered %d, attempts %d, retries %d, "
           "carrier failures %d, CPS waits %d\n",
           CALLS, f->failed, 100.0 * f->failed / CALLS, f->answered, f->attempts, f->retries,
           f->carrier_fail, f->cps_waits);
    printf("[sim]   picks A/B before call %d: %d/%d, after: %d/%d; A out %u times, "
           "first after %lld ms, last reason %s; max channels A %d B %d; illegal moves %llu\n",
           BREAK_CALL, f->picks_before[0], f->picks_before[1], f->picks_after[0],
           f->picks_after[1], f->downs_a, (long long)f->first_down_ms, trunk_reason_str(f->why_a),
           f->max_in_use[0],
           f->max_in_use[1], (unsigned long long)f->illegal);
}

static void test_failover_simulation(void **state)
{
    (void)state;
    static const struct scenario scs[] = {
        {"A 503s from call 3000, OPTIONS fail too; failover on", 1, 0, 0},
        {"A 503s from call 3000, OPTIONS still 200 (flapping); failover on", 1, 1, 0},
        {"A 503s for calls 3000..6000, then recovers; failover on", 1, 0, 6000},
        {"A 503s from call 3000; failover off (baseline)", 0, 0, 0},
    };
    struct figures f[4];
    for (int i = 0; i < 4; i++) {
        run(&scs[i], &f[i]);
        print(&scs[i], &f[i]);
        assert_int_equal(f[i].illegal, 0);
        /* Before the break the weights (3:2) hold. */
        double share_a =
            (double)f[i].picks_before[0] / (f[i].picks_before[0] + f[i].picks_before[1]);
        assert_true(share_a > 0.58 && share_a < 0.62);
        assert_true(f[i].first_down_ms >= 0 && f[i].first_down_ms < 1000);
    }
    for (int i = 0; i < 3; i++)
        assert_true(f[i].failed * 100 < CALLS); /* under 1% */
    /* Out for good in the first case: after the burst A gets no calls. */
    assert_int_equal(f[0].downs_a, 1);
    assert_true(f[0].picks_after[0] < 20);
    /* Flapping is damped by the doubling hold-down. */
    assert_true(f[1].downs_a <= 4);
    /* Recovery: A is probed back in and takes its share again. */
    assert_true(f[2].picks_after[0] > 1500);
    /* Without failover, A's share of the calls after the break is lost. */
    assert_true(f[3].failed > f[0].failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_simulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
