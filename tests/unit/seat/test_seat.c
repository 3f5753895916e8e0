/* Agent states: changes that make sense pass, the others say why; day tallies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "seat.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < SEAT_STATE_COUNT; i++) {
        enum seat_state s;
        assert_int_equal(seat_state_parse(seat_state_name((enum seat_state)i), &s), 0);
        assert_int_equal(s, i);
    }
    enum seat_state s;
    assert_int_equal(seat_state_parse("lunch", &s), -1);
    assert_int_equal(seat_state_parse(NULL, &s), -1);
}

/* Users move between availability states; the call states are not theirs to set. */
static void test_user_changes(void **state)
{
    (void)state;
    const char *why;
    assert_true(seat_change_ok(SEAT_ONLINE, SEAT_READY, SEAT_BY_USER, true, &why));
    assert_true(seat_change_ok(SEAT_READY, SEAT_BREAK, SEAT_BY_USER, true, &why));
    assert_true(seat_change_ok(SEAT_WRAP_UP, SEAT_READY, SEAT_BY_USER, true, &why));
    assert_true(seat_change_ok(SEAT_BREAK, SEAT_OFFLINE, SEAT_BY_USER, false, &why));

    assert_false(seat_change_ok(SEAT_READY, SEAT_WRAP_UP, SEAT_BY_USER, true, &why));
    assert_string_equal(why, "wrap_up needs a call: it starts when a call ends");
    assert_false(seat_change_ok(SEAT_OFFLINE, SEAT_READY, SEAT_BY_USER, false, &why));
    assert_string_equal(why, "the agent's softphone is not registered");
    assert_false(seat_change_ok(SEAT_ON_CALL, SEAT_BREAK, SEAT_BY_USER, true, &why));
    assert_string_equal(why, "the agent is on a call");
    assert_false(seat_change_ok(SEAT_RESERVED, SEAT_OFFLINE, SEAT_BY_USER, true, &why));
    assert_false(seat_change_ok(SEAT_READY, SEAT_ON_CALL, SEAT_BY_USER, true, &why));
    assert_false(seat_change_ok(SEAT_READY, SEAT_STATE_COUNT, SEAT_BY_USER, true, &why));
    assert_string_equal(why, "unknown state");
}

/* The life of a call: ready -> reserved -> on_call -> wrap_up -> ready. */
static void test_system_changes(void **state)
{
    (void)state;
    const char *why;
    assert_true(seat_change_ok(SEAT_READY, SEAT_RESERVED, SEAT_BY_SYSTEM, true, &why));
    assert_true(seat_change_ok(SEAT_RESERVED, SEAT_ON_CALL, SEAT_BY_SYSTEM, true, &why));
    assert_true(seat_change_ok(SEAT_ON_CALL, SEAT_WRAP_UP, SEAT_BY_SYSTEM, true, &why));
    assert_true(seat_change_ok(SEAT_WRAP_UP, SEAT_READY, SEAT_BY_SYSTEM, true, &why));
    assert_true(seat_change_ok(SEAT_RESERVED, SEAT_READY, SEAT_BY_SYSTEM, true, &why));
    assert_true(seat_change_ok(SEAT_ON_CALL, SEAT_OFFLINE, SEAT_BY_SYSTEM, false, &why));

    assert_false(seat_change_ok(SEAT_BREAK, SEAT_RESERVED, SEAT_BY_SYSTEM, true, &why));
    assert_string_equal(why, "only a ready agent is given a call");
    assert_false(seat_change_ok(SEAT_READY, SEAT_WRAP_UP, SEAT_BY_SYSTEM, true, &why));
    assert_string_equal(why, "wrap_up needs a call");
    assert_true(seat_change_ok(SEAT_ONLINE, SEAT_ON_CALL, SEAT_BY_SYSTEM, true, &why));
    assert_false(seat_change_ok(SEAT_BREAK, SEAT_ON_CALL, SEAT_BY_SYSTEM, true, &why));
    assert_false(seat_change_ok(SEAT_READY, SEAT_BREAK, SEAT_BY_SYSTEM, true, &why));
}

static void test_tally_buckets(void **state)
{
    (void)state;
    struct seat_tally t = {.day = 20261124};
    seat_tally_close(&t, SEAT_READY, 1000, SEAT_RESERVED, 31000, 20261124);    /* 30 s idle */
    seat_tally_close(&t, SEAT_RESERVED, 31000, SEAT_ON_CALL, 33000, 20261124); /* 2 s idle */
    seat_tally_close(&t, SEAT_ON_CALL, 33000, SEAT_WRAP_UP, 123000, 20261124); /* 90 s talk */
    seat_tally_close(&t, SEAT_WRAP_UP, 123000, SEAT_READY, 133000, 20261124); /* 10 s wrap */
    seat_tally_close(&t, SEAT_READY, 133000, SEAT_BREAK, 141000, 20261124);   /* 8 s idle */
    seat_tally_close(&t, SEAT_BREAK, 141000, SEAT_READY, 441000, 20261124);   /* 300 s break */
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.connects, 1);
    assert_int_equal(t.idle_ms, 40000);
    assert_int_equal(t.talk_ms, 90000);
    assert_int_equal(t.wrap_ms, 10000);
    assert_int_equal(t.break_ms, 300000);
    assert_float_equal(seat_occupancy(&t), 100.0 / 140.0, 1e-9);
    assert_float_equal(seat_aht_s(&t), 100.0, 1e-9);
}

static void test_tally_new_day_and_clock_back(void **state)
{
    (void)state;
    struct seat_tally t = {.day = 20261123, .calls = 50, .talk_ms = 999999};
    seat_tally_close(&t, SEAT_READY, 5000, SEAT_RESERVED, 4000, 20261124);
    assert_int_equal(t.day, 20261124);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.talk_ms, 0);
    assert_int_equal(t.idle_ms, 0); /* the clock went back: nothing counted */
    struct seat_tally empty = {0};
    assert_float_equal(seat_occupancy(&empty), 0.0, 0);
    assert_float_equal(seat_aht_s(&empty), 0.0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_user_changes),
        cmocka_unit_test(test_system_changes),
        cmocka_unit_test(test_tally_buckets),
        cmocka_unit_test(test_tally_new_day_and_clock_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
