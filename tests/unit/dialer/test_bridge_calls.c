/* The bridge (src/dialer/bridge.h) driving the real SIP and media engines against a tiny
 * scripted carrier in this process (bridge_fixture.h). It covers the paths
 * the integration test cannot force: a hangup while ringing, a carrier answer with unusable
 * SDP, a carrier that is not there, bad arguments, and over a trunk set: failover from a
 * dead trunk, every trunk failing (then out of rotation and probed), a call waiting for CPS
 * budget; with an agent picker and a scripted softphone that registers (digest) as agent1
 * and agent2: the agent chosen when the carrier answers, abandon when none is free, a
 * second pick within 2 s, none after; after each, no call, SIP leg, media session or trunk
 * channel may remain and no move may be illegal.
 * Loopback only, ports 19700-19799 (the fixture's layout from base 19700). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bridge_fixture.h"

#define CARRIER "sip:5551000@127.0.0.1:19702"
#define DEAD_CARRIER "sip:5551000@127.0.0.1:19704"
#define FAST_PROBES                                                                        \
    "\"health\": {\"probe_interval_ms\": 200, \"probe_timeout_ms\": 150, "                 \
    "\"hold_ms\": 60000, \"hold_max_ms\": 60000}"

static int setup(void **state)
{
    return fixture_setup(state, 19700);
}

static int teardown(void **state)
{
    return fixture_teardown(state);
}

static void hangup_while_ringing_cancels(void **state)
{
    struct fixture *f = *state;
    f->mode = RING;
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, ringing));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_int_equal(bridge_hangup(f->bridge, id), WAIHU_ENOTFOUND); /* already ending */
    assert_true(run_until(f, has_cdr));
    assert_int_equal(f->n_cdrs, 1);
    assert_int_equal(f->cdr.id, id);
    assert_string_equal(f->result, "cancelled");
    assert_string_equal(f->end_reason, "local-hangup");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_int_equal(f->cancels, 1);
    assert_null(f->cdr.recording);
    assert_clean(f);
}

static void unusable_answer_sdp_hangs_up_the_carrier(void **state)
{
    struct fixture *f = *state;
    f->mode = ANSWER_BAD_SDP;
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "error");
    assert_string_equal(f->end_reason, "sdp-error");
    assert_int_equal(f->cdr.status, 488);
    assert_int_equal(f->byes, 1); /* the answered carrier leg got a BYE */
    assert_clean(f);
}

static void unregistered_agent_ends_the_answered_call(void **state)
{
    struct fixture *f = *state;
    f->mode = ANSWER;
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "nobody"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "agent-unavailable");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 404);
    assert_int_equal(f->byes, 1);
    assert_non_null(f->cdr.carrier_dialog);
    assert_null(f->cdr.agent_dialog);
    assert_clean(f);
}

static void absent_carrier_fails_the_call(void **state)
{
    struct fixture *f = *state;
    struct bridge_dial d = {.number = "5551000", .trunk_target = DEAD_CARRIER, .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    /* Loopback answers with ICMP port unreachable (503) or nothing at all (408). */
    assert_true(strcmp(f->result, "carrier-failure") == 0 || strcmp(f->result, "no-answer") == 0);
    assert_string_equal(f->end_reason, "carrier-failed");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_NONE);
    assert_clean(f);
}

static void bad_arguments(void **state)
{
    struct fixture *f = *state;
    uint64_t id;
    struct bridge_dial no_agent = {.number = "1", .trunk_target = CARRIER};
    struct bridge_dial no_target = {.number = "1", .agent = "agent1"};
    char long_number[100];
    memset(long_number, '1', sizeof long_number - 1);
    long_number[sizeof long_number - 1] = '\0';
    struct bridge_dial too_long = {.number = long_number, .trunk_target = CARRIER,
                                   .agent = "agent1"};
    assert_int_equal(bridge_dial(f->bridge, &no_agent, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_dial(f->bridge, &no_target, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_dial(f->bridge, &too_long, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_dial(f->bridge, NULL, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_hangup(f->bridge, 12345), WAIHU_ENOTFOUND);
    assert_int_equal(f->n_cdrs, 0);
    assert_clean(f);
}

static void failover_from_a_dead_trunk_to_the_next(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": ["
                  "{\"name\": \"dead\", \"target\": \"127.0.0.1:19704\", \"channels\": 5, "
                  "\"cps\": 10, \"caller_ids\": [\"+15550001001\"]},"
                  "{\"name\": \"live\", \"target\": \"127.0.0.1:19702\", \"channels\": 5, "
                  "\"cps\": 10, \"caller_ids\": [\"+15550002001\"], \"priority\": 1}]}");
    f->mode = RING;
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, ringing));
    assert_non_null(strstr(f->invite, "INVITE sip:+15551000@127.0.0.1:19702 "));
    assert_non_null(strstr(f->invite, "sip:+15550002001@waihu")); /* live's caller ID */
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    assert_int_equal(bs.trunk_channels, 1);
    assert_int_equal(bs.retries, 1);
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "cancelled");
    assert_string_equal(f->trunks_tried, "dead,live");
    assert_string_equal(f->trunk, "live");
    assert_string_equal(f->caller_id, "+15550002001");
    assert_int_equal(f->cdr.attempts, 2);
    assert_clean(f);
}

static int probed(struct fixture *f)
{
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    return bs.probes_sent >= 4 && bs.probes_pending == 0;
}

static void every_trunk_fails_then_none_is_left(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{" FAST_PROBES ", \"trunks\": ["
                  "{\"name\": \"x\", \"target\": \"127.0.0.1:19704\", \"channels\": 5, "
                  "\"cps\": 100, \"caller_ids\": [\"+15550001001\"]},"
                  "{\"name\": \"y\", \"target\": \"127.0.0.1:19706\", \"channels\": 5, "
                  "\"cps\": 100, \"caller_ids\": [\"+15550002001\"]}]}");
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id;
    int rv = 0, calls = 0;
    /* Five carrier failures in a row take a trunk out; each call fails on both. */
    while (calls < 10 && (rv = bridge_dial(f->bridge, &d, &id)) == 0) {
        f->want_cdrs = ++calls;
        assert_true(run_until(f, cdrs_reached));
        assert_string_equal(f->cdr.end_reason, "carrier-failed");
        assert_int_equal(f->cdr.attempts, 2);
        assert_true(strcmp(f->trunks_tried, "x,y") == 0 ||
                    strcmp(f->trunks_tried, "y,x") == 0);
    }
    assert_int_equal(rv, WAIHU_EUNAVAILABLE);
    assert_int_equal(calls, 5);
    for (uint32_t i = 0; i < 2; i++) {
        struct trunk_info ti;
        trunk_set_info(f->trunks, i, 0, &ti);
        assert_int_equal(ti.state, TRUNK_DOWN);
        assert_int_equal(ti.reason, TRUNK_WHY_CONSECUTIVE);
    }
    /* Out of rotation: OPTIONS probes go out and come back (ICMP 503 or timeout). */
    assert_true(run_until(f, probed));
    assert_clean(f);
}

static int two_invites(struct fixture *f)
{
    return f->invites >= 2 && f->n_cdrs >= 2;
}

static void a_call_waits_for_cps_budget(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": [{\"name\": \"slow\", \"target\": \"127.0.0.1:19702\", "
                  "\"channels\": 5, \"cps\": 1, \"caller_ids\": [\"+15550001001\"]}]}");
    f->mode = ANSWER_BAD_SDP; /* each call ends at once with a BYE */
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id1, id2;
    uint64_t t0 = clock_now_ms();
    assert_int_equal(bridge_dial(f->bridge, &d, &id1), 0);
    assert_int_equal(bridge_dial(f->bridge, &d, &id2), 0);
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    assert_int_equal(bs.calls_waiting, 1);
    assert_true(run_until(f, two_invites));
    assert_true(clock_now_ms() - t0 >= 950); /* one INVITE per second on this trunk */
    assert_string_equal(f->result, "error");
    assert_clean(f);
}

static void hangup_while_waiting_for_cps_sends_nothing(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": [{\"name\": \"slow\", \"target\": \"127.0.0.1:19702\", "
                  "\"channels\": 5, \"cps\": 1, \"caller_ids\": [\"+15550001001\"]}]}");
    f->mode = ANSWER_BAD_SDP;
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id1, id2;
    assert_int_equal(bridge_dial(f->bridge, &d, &id1), 0);
    assert_int_equal(bridge_dial(f->bridge, &d, &id2), 0); /* waits for the next second */
    assert_int_equal(bridge_hangup(f->bridge, id2), 0);
    f->want_cdrs = 2;
    assert_true(run_until(f, cdrs_reached));
    assert_int_equal(f->n_cancelled, 1);
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    assert_int_equal(bs.calls_waiting, 0);
    f->until_ms = clock_now_ms() + 1200; /* past the time its CPS slot frees */
    assert_true(run_until(f, time_passed));
    assert_int_equal(f->invites, 1); /* the cancelled call never left */
    assert_clean(f);
}

static void routed_dial_needs_a_dial_string(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": [{\"name\": \"t\", \"target\": \"127.0.0.1:19702\", "
                  "\"channels\": 5, \"cps\": 5, \"caller_ids\": [\"+15550001001\"]}]}");
    struct bridge_dial d = {.number = "555-1000", .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), WAIHU_EINVAL); /* never in a URI */
    assert_int_equal(f->invites, 0);
    assert_int_equal(f->n_cdrs, 0);
    assert_clean(f);
}

/* (a) The agent is the one the picker names when the carrier answers, not at dial time. */
static void picked_agent_is_chosen_at_answer(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = RING;
    f->pick_names[0] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER}; /* no agent */
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, ringing));
    assert_int_equal(f->picks, 0); /* nobody is chosen while the customer's phone rings */
    f->pick_names[0] = "agent2";   /* agent1 got busy meanwhile */
    carrier_answer(f);
    assert_true(run_until(f, bridged));
    assert_int_equal(f->n_cdrs, 0);
    assert_int_equal(f->picks, 1);
    assert_int_equal(f->answers_at_pick[0], 1);
    assert_int_equal(f->agent_invites, 1);
    assert_non_null(strstr(f->agent_ruri, "INVITE sip:agent2@127.0.0.1:19708"));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "answered");
    assert_string_equal(f->agent_name, "agent2");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_true(f->cdr.answer_to_agent_ms < BRIDGE_PICK_WINDOW_MS);
    assert_non_null(f->cdr.agent_dialog);
    assert_int_equal(f->byes, 1);
    assert_int_equal(f->agent_byes, 1);
    assert_clean(f);
}

/* (b) No agent free at answer: the live carrier leg gets a BYE at once, no agent a call. */
static void no_free_agent_abandons_at_once(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER; /* pick_names[0] NULL: nobody free */
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_int_equal(f->cdr.status, 200);
    assert_string_equal(f->agent_name, "");
    assert_int_equal(f->cdr.answer_to_agent_ms, 0);
    assert_null(f->cdr.agent_dialog);
    assert_int_equal(f->picks, 1);
    assert_int_equal(f->answers_at_pick[0], 1);
    assert_int_equal(f->byes, 1);
    assert_true(f->bye_ms - f->answer_ms < 500); /* measured: a few ms on loopback */
    assert_int_equal(f->agent_invites, 0);
    struct sip_engine_stats ss;
    sip_engine_stats(f->sip, &ss);
    assert_int_equal(ss.calls_out, 1); /* the carrier leg only */
    assert_clean(f);
}

/* An unreachable pick (not registered: 404 at once) is replaced within 2 s of the answer. */
static void unreachable_pick_is_replaced(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_names[0] = "ghost";
    f->pick_names[1] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, bridged));
    assert_int_equal(f->picks, 2);
    assert_non_null(strstr(f->agent_ruri, "INVITE sip:agent1@"));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "answered");
    assert_string_equal(f->agent_name, "agent1");
    assert_true(f->cdr.answer_to_agent_ms < BRIDGE_PICK_WINDOW_MS);
    assert_clean(f);
}

/* The picker is asked twice at most; a second failure or no second agent abandons. */
static void second_pick_failing_abandons(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_names[0] = "ghost";
    f->pick_names[1] = "ghost2";
    f->pick_names[2] = "agent1"; /* never asked for */
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_int_equal(f->picks, 2);
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 404);
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_string_equal(f->agent_name, "");
    assert_int_equal(f->agent_invites, 0);
    assert_true(run_until(f, idle));

    f->picks = 0;
    f->pick_names[1] = NULL; /* nobody else free */
    f->want_cdrs = 2;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, cdrs_reached));
    assert_int_equal(f->picks, 2);
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_int_equal(f->byes, 2);
    assert_clean(f);
}

/* The 2-second rule: an agent leg failing later than that is not replaced. */
static void agent_failing_after_two_seconds_abandons(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->agent_mode = AGENT_RING;
    f->pick_names[0] = "agent1";
    f->pick_names[1] = "agent2"; /* free, but too late */
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, agent_ringing));
    f->until_ms = f->answer_ms + BRIDGE_PICK_WINDOW_MS + 100;
    assert_true(run_until(f, time_passed));
    agent_answer(f, 486);
    assert_true(run_until(f, has_cdr));
    assert_int_equal(f->picks, 1);
    assert_int_equal(f->agent_invites, 1);
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 486);
    assert_string_equal(f->agent_name, "");
    assert_true(f->cdr.answer_to_agent_ms < BRIDGE_PICK_WINDOW_MS); /* INVITE was in time */
    assert_int_equal(f->byes, 1);
    assert_clean(f);
}

/* (c) A dial that names its agent never asks the picker, and fails as before. */
static void named_agent_ignores_the_picker(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_names[0] = "agent2";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "nobody"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "agent-unavailable");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 404);
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_NONE);
    assert_string_equal(f->agent_name, "nobody");
    assert_true(run_until(f, idle));

    d.agent = "agent1";
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, bridged));
    assert_non_null(strstr(f->agent_ruri, "INVITE sip:agent1@"));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    f->want_cdrs = 2;
    assert_true(run_until(f, cdrs_reached));
    assert_string_equal(f->result, "answered");
    assert_string_equal(f->agent_name, "agent1");
    assert_int_equal(f->picks, 0);
    assert_clean(f);
}

/* The picker may hang the call up itself; its answer is then ignored. */
static void picker_hanging_up_the_call(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_hangs_up = 1;
    f->pick_names[0] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "dropped");
    assert_string_equal(f->end_reason, "local-hangup");
    assert_int_equal(f->agent_invites, 0);
    assert_int_equal(f->byes, 1);
    assert_clean(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hangup_while_ringing_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(unusable_answer_sdp_hangs_up_the_carrier, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unregistered_agent_ends_the_answered_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(absent_carrier_fails_the_call, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(failover_from_a_dead_trunk_to_the_next, setup, teardown),
        cmocka_unit_test_setup_teardown(every_trunk_fails_then_none_is_left, setup, teardown),
        cmocka_unit_test_setup_teardown(a_call_waits_for_cps_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(hangup_while_waiting_for_cps_sends_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(routed_dial_needs_a_dial_string, setup, teardown),
        cmocka_unit_test_setup_teardown(picked_agent_is_chosen_at_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(no_free_agent_abandons_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(unreachable_pick_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(second_pick_failing_abandons, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_failing_after_two_seconds_abandons, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(named_agent_ignores_the_picker, setup, teardown),
        cmocka_unit_test_setup_teardown(picker_hanging_up_the_call, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
