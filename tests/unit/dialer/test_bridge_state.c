/* The bridge's call state table and result names (src/dialer/bridge_state.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bridge_internal.h"

static void happy_path(void **state)
{
    (void)state;
    int s = BST_DIALING;
    const enum bridge_input path[] = {BIN_CARRIER_ANSWER, BIN_HUMAN, BIN_AGENT_ANSWER, BIN_END,
                                      BIN_RELEASED};
    const enum bridge_state want[] = {BST_SCREENING, BST_AGENT_RINGING, BST_BRIDGED, BST_ENDING,
                                      BST_DONE};
    for (size_t i = 0; i < 5; i++) {
        s = bridge_state_next((enum bridge_state)s, path[i]);
        assert_int_equal(s, want[i]);
    }
}

static void every_live_state_can_end_and_only_ending_releases(void **state)
{
    (void)state;
    for (int s = 0; s < BST_COUNT; s++) {
        int end = bridge_state_next((enum bridge_state)s, BIN_END);
        int rel = bridge_state_next((enum bridge_state)s, BIN_RELEASED);
        assert_int_equal(end, s == BST_DONE ? -1 : BST_ENDING);
        assert_int_equal(rel, s == BST_ENDING ? BST_DONE : -1);
    }
}

static void no_skipping_steps(void **state)
{
    (void)state;
    assert_int_equal(bridge_state_next(BST_DIALING, BIN_AGENT_ANSWER), -1);
    assert_int_equal(bridge_state_next(BST_DIALING, BIN_HUMAN), -1);
    assert_int_equal(bridge_state_next(BST_SCREENING, BIN_AGENT_ANSWER), -1);
    assert_int_equal(bridge_state_next(BST_BRIDGED, BIN_CARRIER_ANSWER), -1);
    assert_int_equal(bridge_state_next(BST_ENDING, BIN_HUMAN), -1);
    assert_int_equal(bridge_state_next(BST_DONE, BIN_END), -1);
    assert_int_equal(bridge_state_next(BST_COUNT, BIN_END), -1);
    assert_int_equal(bridge_state_next(BST_DIALING, BIN_COUNT), -1);
    for (int s = 0; s <= BST_COUNT; s++) {
        assert_non_null(bridge_state_name((enum bridge_state)s));
    }
}

static void only_a_dialing_call_moves_to_the_next_trunk(void **state)
{
    (void)state;
    for (int s = 0; s < BST_COUNT; s++) {
        int to = bridge_state_next((enum bridge_state)s, BIN_RETRY);
        assert_int_equal(to, s == BST_DIALING ? BST_DIALING : -1);
    }
    assert_string_equal(bridge_input_name(BIN_RETRY), "retry");
}

static void only_a_ringing_agent_leg_is_replaced(void **state)
{
    (void)state;
    for (int s = 0; s < BST_COUNT; s++) {
        int to = bridge_state_next((enum bridge_state)s, BIN_AGENT_RETRY);
        assert_int_equal(to, s == BST_AGENT_RINGING ? BST_AGENT_RINGING : -1);
    }
    assert_string_equal(bridge_input_name(BIN_AGENT_RETRY), "agent-retry");
    assert_string_equal(bridge_input_name(BIN_COUNT), "?");
}

static void carrier_results(void **state)
{
    (void)state;
    assert_string_equal(bridge_carrier_result(408), "no-answer");
    assert_string_equal(bridge_carrier_result(480), "no-answer");
    assert_string_equal(bridge_carrier_result(486), "busy");
    assert_string_equal(bridge_carrier_result(503), "carrier-failure");
    assert_string_equal(bridge_carrier_result(404), "unreachable");
    assert_string_equal(bridge_carrier_result(403), "not-allowed");
    assert_string_equal(bridge_carrier_result(487), "cancelled");
    assert_string_equal(bridge_party_name(BRIDGE_BY_AGENT), "agent");
    assert_string_equal(bridge_party_name(BRIDGE_BY_CARRIER), "carrier");
    assert_string_equal(bridge_party_name((enum bridge_party)99), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(happy_path),
        cmocka_unit_test(every_live_state_can_end_and_only_ending_releases),
        cmocka_unit_test(no_skipping_steps),
        cmocka_unit_test(only_a_dialing_call_moves_to_the_next_trunk),
        cmocka_unit_test(only_a_ringing_agent_leg_is_replaced),
        cmocka_unit_test(carrier_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
