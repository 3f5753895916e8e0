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

static void ivr_and_abandon_paths(void **state)
{
    (void)state;
    /* IVR: prompt, the transfer digit, the agent; or no agent: the abandon message. */
    int s = BST_SCREENING;
    const enum bridge_input ivr[] = {BIN_PROMPT, BIN_TRANSFER, BIN_AGENT_ANSWER};
    const enum bridge_state ivr_want[] = {BST_PROMPTING, BST_AGENT_RINGING, BST_BRIDGED};
    for (size_t i = 0; i < 3; i++) {
        s = bridge_state_next((enum bridge_state)s, ivr[i]);
        assert_int_equal(s, ivr_want[i]);
    }
    for (int from = 0; from < BST_COUNT; from++) {
        int p = bridge_state_next((enum bridge_state)from, BIN_PROMPT);
        int t = bridge_state_next((enum bridge_state)from, BIN_TRANSFER);
        int a = bridge_state_next((enum bridge_state)from, BIN_ABANDON);
        assert_int_equal(p, from == BST_SCREENING ? BST_PROMPTING : -1);
        assert_int_equal(t, from == BST_PROMPTING ? BST_AGENT_RINGING : -1);
        /* Only a live answer without its agent yet is abandoned with a message. */
        int live_waiting = from == BST_SCREENING || from == BST_PROMPTING ||
                           from == BST_AGENT_RINGING;
        assert_int_equal(a, live_waiting ? BST_ANNOUNCING : -1);
    }
    assert_int_equal(bridge_state_next(BST_ANNOUNCING, BIN_HUMAN), -1);
    assert_int_equal(bridge_state_next(BST_ANNOUNCING, BIN_AGENT_ANSWER), -1);
    assert_int_equal(bridge_state_next(BST_PROMPTING, BIN_HUMAN), -1);
    assert_string_equal(bridge_state_name(BST_PROMPTING), "prompting");
    assert_string_equal(bridge_state_name(BST_ANNOUNCING), "announcing");
    assert_string_equal(bridge_input_name(BIN_ABANDON), "abandon");
    assert_string_equal(bridge_play_state_name(PLAY_REQUESTED), "none");
    assert_string_equal(bridge_play_state_name(PLAY_STARTED), "partial");
    assert_string_equal(bridge_play_state_name(PLAY_COMPLETE), "complete");
    assert_string_equal(bridge_play_state_name(PLAY_ERROR), "error");
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
        cmocka_unit_test(ivr_and_abandon_paths),
        cmocka_unit_test(carrier_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
