/* Duplicate logins (src/sip/dup.c): the same host may always take its registration back,
 * another host only once every registration it would take over has expired; the
 * cluster's view of another node decides over a stale local binding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dup.h"

#define NOW 100000u     /* monotonic */
#define WALL 5000000u   /* wall clock */

static void test_nobody_holds_it(void **state)
{
    (void)state;
    assert_int_equal(sip_dup_check(NULL, NOW, NULL, WALL, "10.0.0.2"), SIP_DUP_ALLOW);
    struct sip_holder none = {"", NOW + 60000}, gone = {NULL, 0};
    assert_int_equal(sip_dup_check(&none, NOW, &gone, WALL, "10.0.0.2"), SIP_DUP_ALLOW);
}

static void test_local_binding(void **state)
{
    (void)state;
    struct sip_holder b = {"10.0.0.1", NOW + 60000};
    /* The same machine (a restarted softphone has a new port, not a new host). */
    assert_int_equal(sip_dup_check(&b, NOW, NULL, WALL, "10.0.0.1"), SIP_DUP_ALLOW);
    /* Another machine while it holds; "10.0.0.10" is not "10.0.0.1". */
    assert_int_equal(sip_dup_check(&b, NOW, NULL, WALL, "10.0.0.2"), SIP_DUP_HERE);
    assert_int_equal(sip_dup_check(&b, NOW, NULL, WALL, "10.0.0.10"), SIP_DUP_HERE);
    /* Expired: free for anyone, to the millisecond. */
    assert_int_equal(sip_dup_check(&b, NOW + 59999, NULL, WALL, "10.0.0.2"), SIP_DUP_HERE);
    assert_int_equal(sip_dup_check(&b, NOW + 60000, NULL, WALL, "10.0.0.2"), SIP_DUP_ALLOW);
    /* An unknown source is never a conflict (no IPv4 source). */
    assert_int_equal(sip_dup_check(&b, NOW, NULL, WALL, ""), SIP_DUP_ALLOW);
    assert_int_equal(sip_dup_check(&b, NOW, NULL, WALL, NULL), SIP_DUP_ALLOW);
}

static void test_registered_on_another_node(void **state)
{
    (void)state;
    struct sip_holder away = {"10.0.0.1", WALL + 30000};
    assert_int_equal(sip_dup_check(NULL, NOW, &away, WALL, "10.0.0.2"), SIP_DUP_ELSEWHERE);
    /* Failover: the device of that registration moves here when its node dies. */
    assert_int_equal(sip_dup_check(NULL, NOW, &away, WALL, "10.0.0.1"), SIP_DUP_ALLOW);
    /* Its time is wall-clock time, not the local clock's. */
    assert_int_equal(sip_dup_check(NULL, WALL + 99999, &away, WALL + 29999, "10.0.0.2"),
                     SIP_DUP_ELSEWHERE);
    assert_int_equal(sip_dup_check(NULL, 0, &away, WALL + 30000, "10.0.0.2"), SIP_DUP_ALLOW);
}

static void test_the_cluster_view_decides_over_a_stale_local_binding(void **state)
{
    (void)state;
    /* 10.0.0.1 was here; the agent has moved to another node from 10.0.0.3 since. */
    struct sip_holder b = {"10.0.0.1", NOW + 60000}, away = {"10.0.0.3", WALL + 60000};
    assert_int_equal(sip_dup_check(&b, NOW, &away, WALL, "10.0.0.3"), SIP_DUP_ALLOW);
    assert_int_equal(sip_dup_check(&b, NOW, &away, WALL, "10.0.0.1"), SIP_DUP_ELSEWHERE);
    assert_int_equal(sip_dup_check(&b, NOW, &away, WALL, "10.0.0.2"), SIP_DUP_ELSEWHERE);
    /* Once that registration has expired, the local binding counts again. */
    assert_int_equal(sip_dup_check(&b, NOW, &away, WALL + 60000, "10.0.0.3"), SIP_DUP_HERE);
    assert_int_equal(sip_dup_check(&b, NOW, &away, WALL + 60000, "10.0.0.1"), SIP_DUP_ALLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nobody_holds_it),
        cmocka_unit_test(test_local_binding),
        cmocka_unit_test(test_registered_on_another_node),
        cmocka_unit_test(test_the_cluster_view_decides_over_a_stale_local_binding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
