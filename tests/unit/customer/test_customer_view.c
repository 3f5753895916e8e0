/* The customer view answers filters exactly as evaluating each record does: counts and
 * first pages agree with a brute-force pass over the same records, through updates,
 * deletes, tenants and a visibility rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "customer_view.h"

#define N 5000
#define NOW_MS 1800000000000LL
#define DAY_MS 86400000LL

static const char *const OWNERS[] = {"", "a1", "a2", "a3"};
static const char *const DEPTS[] = {"", "east", "west"};

struct rec {
    CustomerRecord r;
    char *tags[5];
    bool live;
};

static struct rec recs[N];

static uint64_t rng = 42;
static uint32_t next_rand(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

/* A random record; its tags sorted, as records keep them. */
static void fill(struct rec *x, uint64_t tenant, uint64_t id)
{
    customer_record__init(&x->r);
    x->r.format = 1;
    x->r.tenant_id = tenant;
    x->r.id = id;
    x->r.owner = (char *)OWNERS[next_rand() % 4];
    x->r.department = (char *)DEPTS[next_rand() % 3];
    x->r.status = next_rand() % 2 ? (char *)"open" : (char *)"won";
    x->r.source = (char *)"csv";
    x->r.last_contact_ms = next_rand() % 4 ? NOW_MS - (int64_t)(next_rand() % 90) * DAY_MS : 0;
    x->r.created_ms = NOW_MS - 100 * DAY_MS;
    static const char *const sorted[] = {"callback", "closed", "high_intent", "new", "vip"};
    unsigned mask = next_rand() % 32;
    x->r.n_tags = 0;
    x->r.tags = x->tags;
    for (unsigned t = 0; t < 5; t++) {
        if (mask & (1u << t)) {
            x->tags[x->r.n_tags++] = (char *)sorted[t];
        }
    }
    x->live = true;
}

static bool east_only(void *ctx, const CustomerRecord *r)
{
    (void)ctx;
    return strcmp(r->department, "east") == 0;
}

static struct filter_node *parse(const char *text)
{
    struct filter_node *f = NULL;
    struct filter_error err;
    assert_int_equal(filter_parse(text, strlen(text), &f, &err), 0);
    return f;
}

static size_t brute_count(uint64_t tenant, const struct filter_node *f,
                          customer_view_allow_fn allow)
{
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        const struct rec *x = &recs[i];
        n += x->live && x->r.tenant_id == tenant && (allow == NULL || allow(NULL, &x->r)) &&
             (f == NULL || customer_filter_match(f, &x->r, NULL, NOW_MS));
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Walks every page of 37 through the view and compares with the sorted brute ids. */
static void check_pages(struct customer_view *v, uint64_t tenant, const struct filter_node *f,
                        customer_view_allow_fn allow)
{
    uint64_t *want = calloc(N, sizeof *want), page[37];
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        const struct rec *x = &recs[i];
        if (x->live && x->r.tenant_id == tenant && (allow == NULL || allow(NULL, &x->r)) &&
            (f == NULL || customer_filter_match(f, &x->r, NULL, NOW_MS))) {
            want[n++] = x->r.id;
        }
    }
    qsort(want, n, sizeof *want, cmp_u64);
    size_t seen = 0;
    uint64_t after = 0;
    for (;;) {
        size_t got = customer_view_first(v, tenant, f, NOW_MS, allow, NULL, after, page, 37);
        for (size_t i = 0; i < got; i++) {
            assert_true(seen < n);
            assert_int_equal(page[i], want[seen++]);
        }
        if (got < 37) {
            break;
        }
        after = page[got - 1];
    }
    assert_int_equal(seen, n);
    free(want);
}

static const char *const FILTERS[] = {
    "tag:high_intent AND NOT tag:closed AND last_contact < -30d",
    "tag:vip OR owner = \"a2\"",
    "status = \"won\" AND NOT (tag:new OR tag:callback)",
    "last_contact > -7d",
};

static void check_all(struct customer_view *v)
{
    for (size_t i = 0; i < sizeof FILTERS / sizeof *FILTERS; i++) {
        struct filter_node *f = parse(FILTERS[i]);
        assert_true(customer_view_can_answer(f));
        assert_true(brute_count(1, f, NULL) > 0); /* every filter selects someone */
        assert_true(brute_count(1, f, NULL) < brute_count(1, NULL, NULL));
        for (uint64_t tenant = 1; tenant <= 2; tenant++) {
            assert_int_equal(customer_view_count(v, tenant, f, NOW_MS, NULL, NULL),
                             brute_count(tenant, f, NULL));
            assert_int_equal(customer_view_count(v, tenant, f, NOW_MS, east_only, NULL),
                             brute_count(tenant, f, east_only));
        }
        check_pages(v, 1, f, NULL);
        check_pages(v, 2, f, east_only);
        filter_free(f);
    }
    assert_int_equal(customer_view_count(v, 1, NULL, NOW_MS, NULL, NULL), brute_count(1, NULL, NULL));
}

static void test_view_agrees_with_records(void **state)
{
    (void)state;
    struct customer_view *v = customer_view_new();
    for (size_t i = 0; i < N; i++) {
        /* ids in no order, two tenants sharing id values */
        fill(&recs[i], 1 + i % 2, (uint64_t)(next_rand() % 1000000) * N + i + 1);
        customer_view_put(v, &recs[i].r);
    }
    assert_int_equal(customer_view_size(v), N);
    check_all(v);

    /* Updates (new tags, times, owners) and deletes, then reuse of freed slots. */
    for (size_t i = 0; i < N; i += 3) {
        fill(&recs[i], recs[i].r.tenant_id, recs[i].r.id);
        customer_view_put(v, &recs[i].r);
    }
    for (size_t i = 1; i < N; i += 4) {
        recs[i].live = false;
        customer_view_delete(v, recs[i].r.tenant_id, recs[i].r.id);
        customer_view_delete(v, recs[i].r.tenant_id, recs[i].r.id); /* twice: no-op */
    }
    check_all(v);
    for (size_t i = 1; i < N; i += 4) {
        fill(&recs[i], recs[i].r.tenant_id, recs[i].r.id + 7);
        customer_view_put(v, &recs[i].r);
    }
    check_all(v);
    assert_int_equal(customer_view_size(v), N);

    customer_view_clear(v);
    assert_int_equal(customer_view_size(v), 0);
    assert_int_equal(customer_view_count(v, 1, NULL, NOW_MS, NULL, NULL), 0);
    customer_view_free(v);
}

static void test_custom_fields_need_a_scan(void **state)
{
    (void)state;
    struct filter_node *f = parse("tag:vip AND budget > 100");
    assert_false(customer_view_can_answer(f));
    filter_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_agrees_with_records),
        cmocka_unit_test(test_custom_fields_need_a_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
