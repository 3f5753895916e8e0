/* The recordings' search index (src/api/recording_index.c) against a brute-force model:
 * random recordings put, replaced and removed in random order, random queries paged with
 * cursors must give exactly the model's matches, newest first; expiry honours holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recording_index.h"

#define N 3000
static const char *const agents[] = {"agent1", "agent2", "agent3", "agent4"};
static const char *const dispositions[] = {"sale", "callback", "other"};

struct model {
    struct rec_index_entry e;
    bool live;
};

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool matches(const struct model *m, uint64_t tenant, const struct recording_query *q,
                    uint32_t agent, uint32_t disp)
{
    const struct rec_index_entry *e = &m->e;
    return m->live && e->tenant == tenant && e->start_ms >= q->from_ms && e->start_ms < q->to_ms &&
           (!q->has_customer || e->customer == q->customer_id) &&
           (!q->has_campaign || e->campaign == q->campaign_id) &&
           (agent == REC_INDEX_NO_NAME || e->agent == agent) &&
           (disp == REC_INDEX_NO_NAME || e->disposition == disp) &&
           e->duration_ms >= q->min_duration_ms && e->duration_ms <= q->max_duration_ms;
}

static int newest_first(const void *a, const void *b)
{
    const struct rec_index_entry *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? 1 : -1;
    if (x->node != y->node)
        return x->node < y->node ? 1 : -1;
    return x->call < y->call ? 1 : x->call > y->call ? -1 : 0;
}

static void test_search_matches_model(void **state)
{
    (void)state;
    struct rec_index *ix = rec_index_new();
    assert_non_null(ix);
    struct model *m = calloc(N, sizeof *m);
    assert_non_null(m);
    for (int i = 0; i < N; i++) {
        struct rec_index_entry *e = &m[i].e;
        e->tenant = 1 + next() % 2;
        e->start_ms = (int64_t)(next() % 5000); /* many equal starts: ties by node, call */
        e->node = 1 + next() % 3;
        e->call = (uint64_t)i;
        e->customer = 1 + next() % 20;
        e->campaign = next() % 4;
        e->duration_ms = (uint32_t)(next() % 100000);
        e->agent = rec_index_name(ix, agents[next() % 4]);
        e->disposition = next() % 4 == 0 ? REC_INDEX_NO_NAME
                                          : rec_index_name(ix, dispositions[next() % 3]);
        rec_index_put(ix, e);
        m[i].live = true;
    }
    /* Replace some (a hold, a new duration) and remove others. */
    for (int k = 0; k < N / 3; k++) {
        struct model *x = &m[next() % N];
        if (next() % 2) {
            x->e.duration_ms = (uint32_t)(next() % 100000);
            x->e.flags = REC_INDEX_HELD;
            rec_index_put(ix, &x->e);
            x->live = true;
        } else {
            rec_index_remove(ix, x->e.tenant, x->e.start_ms, x->e.node, x->e.call);
            x->live = false;
        }
    }
    size_t live = 0;
    for (int i = 0; i < N; i++)
        live += m[i].live;
    assert_int_equal(rec_index_size(ix), live);

    struct rec_index_entry *want = malloc(N * sizeof *want);
    struct rec_hit *got = malloc(N * sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    for (int round = 0; round < 300; round++) {
        struct recording_query q = {.to_ms = INT64_MAX, .max_duration_ms = UINT32_MAX,
                                    .limit = 1 + (uint32_t)(next() % 40)};
        uint64_t tenant = 1 + next() % 2;
        if (next() % 2) {
            q.from_ms = (int64_t)(next() % 5000);
            q.to_ms = q.from_ms + 1 + (int64_t)(next() % 3000);
        }
        if (next() % 3 == 0) {
            q.has_customer = true;
            q.customer_id = 1 + next() % 20;
        }
        if (next() % 3 == 0) {
            q.has_campaign = true;
            q.campaign_id = next() % 4;
        }
        if (next() % 3 == 0)
            snprintf(q.agent, sizeof q.agent, "%s", agents[next() % 4]);
        if (next() % 3 == 0)
            snprintf(q.disposition, sizeof q.disposition, "%s", dispositions[next() % 3]);
        if (next() % 3 == 0)
            q.min_duration_ms = (uint32_t)(next() % 50000);
        uint32_t agent = q.agent[0] ? rec_index_name_find(ix, q.agent) : REC_INDEX_NO_NAME;
        uint32_t disp = q.disposition[0] ? rec_index_name_find(ix, q.disposition)
                                         : REC_INDEX_NO_NAME;
        size_t nw = 0;
        for (int i = 0; i < N; i++)
            if (matches(&m[i], tenant, &q, agent, disp))
                want[nw++] = m[i].e;
        qsort(want, nw, sizeof *want, newest_first);
        /* Page through with cursors. */
        size_t ng = 0;
        bool more = true;
        while (more) {
            int n = rec_index_search(ix, tenant, NULL, &q, NULL, NULL, got + ng, &more);
            assert_true(n >= 0 && (uint32_t)n <= q.limit);
            if (more)
                assert_int_equal((uint32_t)n, q.limit);
            ng += (size_t)n;
            if (n > 0) {
                q.has_cursor = true;
                q.cursor_start_ms = got[ng - 1].start_ms;
                q.cursor_node = got[ng - 1].node;
                q.cursor_call = got[ng - 1].call;
            }
            assert_true(ng <= N);
        }
        assert_int_equal(ng, nw);
        for (size_t i = 0; i < nw; i++) {
            if (got[i].call != want[i].call || got[i].node != want[i].node)
                fail_msg("round %d: hit %zu is %llu, want %llu", round, i,
                         (unsigned long long)got[i].call, (unsigned long long)want[i].call);
        }
    }
    free(want);
    free(got);
    free(m);
    rec_index_free(ix);
}

static void test_agent_sees_only_own(void **state)
{
    (void)state;
    struct rec_index *ix = rec_index_new();
    struct rec_index_entry e = {.tenant = 1, .start_ms = 10, .node = 1, .call = 1,
                                .agent = rec_index_name(ix, "agent1"),
                                .disposition = REC_INDEX_NO_NAME};
    rec_index_put(ix, &e);
    e.call = 2;
    e.agent = rec_index_name(ix, "agent2");
    rec_index_put(ix, &e);
    struct recording_query q = {.to_ms = INT64_MAX, .max_duration_ms = UINT32_MAX, .limit = 10};
    struct rec_hit hits[10];
    bool more;
    assert_int_equal(rec_index_search(ix, 1, "agent1", &q, NULL, NULL, hits, &more), 1);
    assert_int_equal(hits[0].call, 1);
    snprintf(q.agent, sizeof q.agent, "agent2");
    assert_int_equal(rec_index_search(ix, 1, "agent1", &q, NULL, NULL, hits, &more), 0);
    assert_int_equal(rec_index_search(ix, 2, NULL, &q, NULL, NULL, hits, &more), 0);
    rec_index_free(ix);
}

static int64_t keep_100(void *data, uint64_t tenant)
{
    (void)data;
    return tenant == 1 ? 100 : 1000;
}

struct seen {
    uint64_t calls[16];
    int n;
};

static int collect(void *data, uint64_t tenant, int64_t start_ms, uint64_t node, uint64_t call)
{
    (void)tenant, (void)start_ms, (void)node;
    struct seen *s = data;
    s->calls[s->n++] = call;
    return 0;
}

static void test_expired_keeps_held_and_recent(void **state)
{
    (void)state;
    struct rec_index *ix = rec_index_new();
    /* tenant 1 keeps 100 ms, tenant 2 1000 ms; now = 1000. */
    struct rec_index_entry rows[] = {
        {.tenant = 1, .start_ms = 100, .node = 1, .call = 1, .duration_ms = 50},  /* 250: due */
        {.tenant = 1, .start_ms = 200, .node = 1, .call = 2, .duration_ms = 10,
         .flags = REC_INDEX_HELD},                                                 /* held */
        {.tenant = 1, .start_ms = 850, .node = 1, .call = 3, .duration_ms = 50},  /* 1000: due */
        {.tenant = 1, .start_ms = 880, .node = 1, .call = 4, .duration_ms = 50},  /* 1030 */
        {.tenant = 2, .start_ms = 0, .node = 1, .call = 5, .duration_ms = 0},     /* 1000: due */
        {.tenant = 2, .start_ms = 0, .node = 1, .call = 6, .duration_ms = 1},     /* 1001 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        rec_index_put(ix, &rows[i]);
    struct seen s = {0};
    rec_index_expired(ix, 1000, 10, keep_100, collect, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.calls[0], 1);
    assert_int_equal(s.calls[1], 3);
    assert_int_equal(s.calls[2], 5);
    s.n = 0;
    rec_index_expired(ix, 1000, 2, keep_100, collect, &s);
    assert_int_equal(s.n, 2);
    rec_index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_matches_model),
        cmocka_unit_test(test_agent_sees_only_own),
        cmocka_unit_test(test_expired_keeps_held_and_recent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
