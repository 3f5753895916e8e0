#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "health.h"

static void test_healthy(void **state)
{
    struct health_node n[] = {{1, "n1", "voter", true, false, "leader", 3},
                              {2, "n2", "voter", true, false, "follower", 3},
                              {3, "n3", "voter", true, false, "follower", 3},
                              {4, "n4", "spare", false, false, NULL, 0}};
    struct health_report r;
    char buf[256];
    (void)state;
    health_assess(n, 4, &r);
    assert_true(r.healthy);
    health_summary(n, 4, &r, buf, sizeof(buf));
    assert_string_equal(buf, "cluster healthy: leader n1 (id 1), 3/3 voters up");
}

static void test_voter_down(void **state)
{
    struct health_node n[] = {{1, "n1", "voter", true, false, "follower", 4},
                              {2, "n2", "voter", true, false, "leader", 4},
                              {3, "n3", "voter", false, false, NULL, 0}};
    struct health_report r;
    char buf[256];
    (void)state;
    health_assess(n, 3, &r);
    assert_false(r.healthy);
    health_summary(n, 3, &r, buf, sizeof(buf));
    assert_string_equal(buf, "cluster DEGRADED: leader n2 (id 2), 2/3 voters up (down: n3)");
}

static void test_stale_and_fenced_leaders(void **state)
{
    /* A fenced old leader and a stale-term leader must not count; the higher term wins. */
    struct health_node n[] = {{1, "n1", "voter", true, true, "leader", 5},
                              {2, "n2", "voter", true, false, "leader", 4},
                              {3, "n3", "voter", true, false, "leader", 6}};
    struct health_report r;
    char buf[256];
    (void)state;
    health_assess(n, 3, &r);
    assert_true(r.has_leader);
    assert_int_equal(r.leader, 2);
    health_summary(n, 3, &r, buf, sizeof(buf));
    assert_string_equal(buf, "cluster DEGRADED: leader n3 (id 3), 2/3 voters up (down: n1)");
}

static void test_no_leader(void **state)
{
    struct health_node n[] = {{1, "n1", "voter", true, false, "candidate", 5},
                              {2, NULL, "voter", true, false, "unavailable", 5}};
    struct health_report r;
    char buf[256];
    (void)state;
    health_assess(n, 2, &r);
    assert_false(r.healthy);
    health_summary(n, 2, &r, buf, sizeof(buf));
    assert_string_equal(buf, "cluster DEGRADED: no leader, 1/2 voters up (down: id 2)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy),
        cmocka_unit_test(test_voter_down),
        cmocka_unit_test(test_stale_and_fenced_leaders),
        cmocka_unit_test(test_no_leader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
