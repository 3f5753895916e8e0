/* Unit tests of cluster-wide trunk channel shares (src/dialer/trunk.h, leases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "trunk.h"

#define MARGIN_MS 500
#define LEASE_MS 10000

static void test_share_and_check(void **state)
{
    (void)state;
    struct trunk_lease l[2] = {
        {.node_id = 1, .channels = 60, .want = 60, .expires_ms = 10000},
        {.node_id = 2, .channels = 40, .want = 40, .expires_ms = 20000},
    };
    assert_int_equal(trunk_lease_share(100, l, 2, 1, 9000, MARGIN_MS), 60);
    /* The node stops margin before its expiry... */
    assert_int_equal(trunk_lease_share(100, l, 2, 1, 9500, MARGIN_MS), 0);
    assert_int_equal(trunk_lease_share(100, l, 2, 3, 9000, MARGIN_MS), 0); /* no lease */
    /* ... and the FSM frees it only margin after. */
    assert_int_equal(trunk_lease_held(l, 2, 10499, MARGIN_MS), 100);
    assert_int_equal(trunk_lease_held(l, 2, 10500, MARGIN_MS), 40);
    assert_int_equal(trunk_lease_check(100, l, 2, 3, 10499, MARGIN_MS, 1), WAIHU_ECONFLICT);
    assert_int_equal(trunk_lease_check(100, l, 2, 3, 10500, MARGIN_MS, 60), 0);
    assert_int_equal(trunk_lease_check(100, l, 2, 3, 10500, MARGIN_MS, 61), WAIHU_ECONFLICT);
    /* A node may always re-lease its own channels. */
    assert_int_equal(trunk_lease_check(100, l, 2, 1, 9000, MARGIN_MS, 60), 0);
    /* The FSM grants what fits. */
    assert_int_equal(trunk_lease_grant(100, l, 2, 3, 10500, MARGIN_MS, 80), 60);
    assert_int_equal(trunk_lease_grant(100, l, 2, 3, 10499, MARGIN_MS, 80), 0);
    assert_int_equal(trunk_lease_grant(100, l, 2, 2, 9000, MARGIN_MS, 45), 40);
    /* A share never exceeds a (lowered) limit. */
    assert_int_equal(trunk_lease_share(50, l, 2, 1, 9000, MARGIN_MS), 50);
}

static void test_propose_grows_shrinks_and_shares_fairly(void **state)
{
    (void)state;
    uint32_t want;
    /* Alone: demand plus 5% slack. */
    assert_int_equal(trunk_lease_propose(100, NULL, 0, 1, 0, MARGIN_MS, 0, 30, &want), 35);
    assert_int_equal(want, 30);
    struct trunk_lease l[2] = {
        {.node_id = 1, .channels = 35, .want = 30, .expires_ms = 10000},
        {.node_id = 2, .channels = 65, .want = 65, .expires_ms = 10000},
    };
    /* Small moves keep the share (fewer commands). */
    assert_int_equal(trunk_lease_propose(100, l, 2, 1, 0, MARGIN_MS, 20, 28, &want), 35);
    /* Contended: node 1 wants 80, node 2 holds 65 and wants 65: node 1 gets the
     * free 0 now; node 2, on its turn, shrinks to its fair share 50 ... */
    assert_int_equal(trunk_lease_propose(100, l, 2, 1, 0, MARGIN_MS, 35, 80, &want), 35);
    l[0].want = want;
    assert_int_equal(trunk_lease_propose(100, l, 2, 2, 0, MARGIN_MS, 40, 65, &want), 50);
    l[1].channels = 50;
    /* ... never below what it uses ... */
    assert_int_equal(trunk_lease_propose(100, l, 2, 2, 0, MARGIN_MS, 58, 65, &want), 58);
    /* ... and node 1 grows into the freed channels up to its fair share. */
    assert_int_equal(trunk_lease_propose(100, l, 2, 1, 0, MARGIN_MS, 35, 80, &want), 50);
    /* Demand falls: the share shrinks back toward it. */
    l[0].channels = 50;
    assert_int_equal(trunk_lease_propose(100, l, 2, 1, 0, MARGIN_MS, 10, 10, &want), 15);
}

/* Property: nodes with random demand, crashing and clocks off by up to the
 * margin, proposing in random order through the FSM's check: the held leases
 * and the channels in use never sum above the limit, and demand is served. */
static void test_leases_never_sum_above_limit(void **state)
{
    (void)state;
    enum { NODES = 5, LIMIT = 120 };
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct trunk_lease l[NODES];
        int64_t skew[NODES];
        uint32_t in_use[NODES] = {0}, demand[NODES] = {0};
        int alive[NODES];
        uint64_t x = seed * 0x9E3779B97F4A7C15ULL;
#define RND() (x = x * 6364136223846793005ULL + 1442695040888963407ULL, (uint32_t)(x >> 33))
        for (int i = 0; i < NODES; i++) {
            l[i] = (struct trunk_lease){.node_id = (uint32_t)i + 1};
            skew[i] = (int64_t)(RND() % (2 * MARGIN_MS - 100)) - (MARGIN_MS - 50);
            alive[i] = 1;
        }
        uint64_t served = 0, asked = 0;
        for (int64_t now = 0; now < 600000; now += 50) {
            int n = (int)(RND() % NODES);
            int64_t node_now = now + skew[n];
            if (RND() % 2000 == 0) {
                alive[n] = !alive[n]; /* crash (its calls drop) or restart */
                in_use[n] = 0;
            }
            if (!alive[n])
                continue;
            if (RND() % 20 == 0)
                demand[n] = RND() % 80;
            uint32_t want;
            uint32_t p = trunk_lease_propose(LIMIT, l, NODES, l[n].node_id, node_now, MARGIN_MS,
                                             in_use[n], demand[n], &want);
            /* The leader stamps the grant with its time (here: true time). */
            uint32_t g = trunk_lease_grant(LIMIT, l, NODES, l[n].node_id, now, MARGIN_MS, p);
            assert_true(g <= p);
            if (p >= in_use[n])
                assert_true(g >= in_use[n]); /* a renewal never drops below the calls */
            l[n].channels = g;
            l[n].want = want;
            l[n].expires_ms = now + LEASE_MS;
            assert_int_equal(
                trunk_lease_check(LIMIT, l, NODES, l[n].node_id, now, MARGIN_MS, g), 0);
            uint32_t share = trunk_lease_share(LIMIT, l, NODES, l[n].node_id, node_now, MARGIN_MS);
            /* Calls end at random; new ones start within the share. */
            if (in_use[n] && RND() % 3 == 0)
                in_use[n]--;
            while (in_use[n] < demand[n] && in_use[n] < share)
                in_use[n]++;
            asked += demand[n];
            served += in_use[n] < demand[n] ? in_use[n] : demand[n];
            uint64_t used = 0;
            for (int i = 0; i < NODES; i++)
                used += in_use[i];
            assert_true(trunk_lease_held(l, NODES, now, MARGIN_MS) <= LIMIT);
            if (used > LIMIT) {
                for (int i = 0; i < NODES; i++)
                    printf("seed %llu now %lld node %d alive %d in_use %u demand %u lease %u "
                           "want %u exp %lld\n",
                           (unsigned long long)seed, (long long)now, i, alive[i], in_use[i],
                           demand[i], l[i].channels, l[i].want, (long long)l[i].expires_ms);
            }
            assert_true(used <= LIMIT);
        }
#undef RND
        assert_true(served > asked / 2); /* shares follow demand */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share_and_check),
        cmocka_unit_test(test_propose_grows_shrinks_and_shares_fairly),
        cmocka_unit_test(test_leases_never_sum_above_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
