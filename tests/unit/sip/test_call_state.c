/* The call state table (src/sip/call_state.c): legal paths, forbidden moves, and that
 * every state can reach DONE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "call_state.h"

static enum call_state walk(enum call_state s, const enum call_input *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int next = call_state_next(s, in[i]);
        if (next < 0) {
            fail_msg("%s --%s--> forbidden", call_state_name(s), call_input_name(in[i]));
        }
        s = (enum call_state)next;
    }
    return s;
}

static void test_outgoing_paths(void **state)
{
    (void)state;
    const enum call_input answered[] = {CI_SEND_INVITE, CI_PROVISIONAL, CI_PROVISIONAL,
                                        CI_ANSWERED, CI_REMOTE_BYE, CI_TERMINATED};
    assert_int_equal(walk(CS_IDLE, answered, 6), CS_DONE);
    const enum call_input busy[] = {CI_SEND_INVITE, CI_FAILED, CI_TERMINATED};
    assert_int_equal(walk(CS_IDLE, busy, 3), CS_DONE);
    const enum call_input local_bye[] = {CI_SEND_INVITE, CI_ANSWERED, CI_HANGUP, CI_TERMINATED};
    assert_int_equal(walk(CS_IDLE, local_bye, 4), CS_DONE);
    const enum call_input cancel[] = {CI_SEND_INVITE, CI_PROVISIONAL, CI_HANGUP, CI_FAILED};
    assert_int_equal(walk(CS_IDLE, cancel, 4), CS_DONE);
    /* 200 crossing our CANCEL: we BYE it. */
    const enum call_input crossed[] = {CI_SEND_INVITE, CI_HANGUP, CI_ANSWERED, CI_TERMINATED};
    assert_int_equal(walk(CS_IDLE, crossed, 4), CS_DONE);
    const enum call_input transfer[] = {CI_SEND_INVITE, CI_ANSWERED, CI_REFER, CI_REMOTE_BYE};
    assert_int_equal(walk(CS_IDLE, transfer, 4), CS_DONE);
}

static void test_incoming_paths(void **state)
{
    (void)state;
    const enum call_input answered[] = {CI_RECV_INVITE, CI_PROVISIONAL, CI_ANSWERED, CI_HANGUP,
                                        CI_REMOTE_BYE};
    assert_int_equal(walk(CS_IDLE, answered, 5), CS_DONE);
    const enum call_input cancelled[] = {CI_RECV_INVITE, CI_REMOTE_CANCEL, CI_TERMINATED};
    assert_int_equal(walk(CS_IDLE, cancelled, 3), CS_DONE);
    const enum call_input rejected[] = {CI_RECV_INVITE, CI_FAILED};
    assert_int_equal(walk(CS_IDLE, rejected, 2), CS_DONE);
}

static void test_forbidden_moves(void **state)
{
    (void)state;
    assert_int_equal(call_state_next(CS_IDLE, CI_ANSWERED), -1);
    assert_int_equal(call_state_next(CS_CALLING, CI_REMOTE_BYE), -1);
    assert_int_equal(call_state_next(CS_ACTIVE, CI_SEND_INVITE), -1);
    assert_int_equal(call_state_next(CS_ACTIVE, CI_PROVISIONAL), -1);
    assert_int_equal(call_state_next(CS_INCOMING, CI_REFER), -1);
    assert_int_equal(call_state_next(CS_DONE, CI_ANSWERED), -1);
    assert_int_equal(call_state_next(CS_DONE, CI_REMOTE_BYE), -1);
    assert_int_equal(call_state_next(CS_COUNT, CI_HANGUP), -1);
    assert_int_equal(call_state_next(CS_IDLE, CI_COUNT), -1);
}

static void test_every_state_can_end(void **state)
{
    (void)state;
    /* Hang-up and terminated are accepted everywhere: the core may always end a call. */
    for (int s = 0; s < CS_COUNT; s++) {
        assert_true(call_state_next((enum call_state)s, CI_TERMINATED) == CS_DONE);
        assert_true(call_state_next((enum call_state)s, CI_HANGUP) >= 0);
        assert_string_not_equal(call_state_name((enum call_state)s), "?");
    }
    for (int i = 0; i < CI_COUNT; i++) {
        assert_string_not_equal(call_input_name((enum call_input)i), "?");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outgoing_paths),
        cmocka_unit_test(test_incoming_paths),
        cmocka_unit_test(test_forbidden_moves),
        cmocka_unit_test(test_every_state_can_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
