/* Prompts in the bridge (src/dialer/bridge_prompt.c) over the real SIP and media engines,
 * against the scripted carrier and softphone of bridge_fixture.h: an IVR prompt played to
 * its end and the hang-up after its digit window; the transfer digit (RFC 4733) bridging
 * the picked agent; no agent for it; machines hung up or left a message; the abandon
 * message of a live answer without an agent (the 2-second rule); hang-up during a prompt;
 * unplayable files; the prompt in the recording. The carrier's RTP socket checks that the
 * prompt arrives as one stream. WAV files are written at test time.
 * Loopback only, ports 19600-19699 (the fixture's layout from base 19600). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bridge_fixture.h"

#define BASE 19600

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/waihu-ivr-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return fixture_setup(state, BASE);
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return fixture_teardown(state);
}

static void le(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Writes <dir>/name: ms of a 600 Hz tone, 8 kHz mono 16-bit PCM; returns its path. */
static const char *wav(const char *name, unsigned ms, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t n = ms * 8, data = n * 2;
    uint8_t hdr[44];
    memcpy(hdr, "RIFF", 4);
    le(hdr + 4, 36 + data, 4);
    memcpy(hdr + 8, "WAVEfmt ", 8);
    le(hdr + 16, 16, 4);
    le(hdr + 20, 1, 2);
    le(hdr + 22, 1, 2);
    le(hdr + 24, 8000, 4);
    le(hdr + 28, 16000, 4);
    le(hdr + 32, 2, 2);
    le(hdr + 34, 16, 2);
    memcpy(hdr + 36, "data", 4);
    le(hdr + 40, data, 4);
    assert_int_equal(fwrite(hdr, 1, 44, f), 44);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b[2];
        le(b, (uint16_t)(int16_t)(8000.0 * sin(2.0 * M_PI * 600.0 * i / 8000.0)), 2);
        assert_int_equal(fwrite(b, 1, 2, f), 2);
    }
    fclose(f);
    return path;
}

/* One digit as a phone sends it over RFC 4733: three updates, then the end three times. */
static void press(struct fixture *f, char digit)
{
    for (uint16_t d = 160; d <= 480; d += 160) {
        carrier_send_digit(f, digit, 0, d);
    }
    for (int i = 0; i < 3; i++) {
        carrier_send_digit(f, digit, 1, 640);
    }
    f->tx_ts += 800;
}

static int prompt_heard(struct fixture *f)
{
    return f->rtp_voiced >= 5;
}

static void assert_one_stream(struct fixture *f)
{
    assert_int_equal(f->rtp_seq_breaks, 0);
    assert_int_equal(f->rtp_ssrcs, 0);
}

static void ivr_prompt_plays_then_hangs_up_after_its_window(void **state)
{
    struct fixture *f = *state;
    char path[128], rec_dir[96];
    snprintf(rec_dir, sizeof rec_dir, "%s/rec", dir);
    assert_int_equal(mkdir(rec_dir, 0700), 0);
    struct bridge_config bc = {.record_dir = rec_dir, .record_key = {7}};
    use_bridge(f, &bc);
    f->mode = ANSWER;
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.prompt_path = wav("ivr.wav", 600, path, sizeof path),
                                        .transfer_digit = '1', .transfer_window_ms = 400}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    printf("ivr: prompt started %u ms after the answer, BYE %llu ms after it, %d packets "
           "(%d voiced)\n", f->cdr.prompt.start_ms,
           (unsigned long long)(f->bye_ms - f->answer_ms), f->rtp_rx, f->rtp_voiced);
    assert_string_equal(f->result, "played");
    assert_string_equal(f->end_reason, "prompt-end");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_int_equal(f->cdr.status, 200);
    assert_string_equal(f->prompt_state, "complete");
    assert_int_equal(f->cdr.prompt.played_ms, 600);
    assert_true(f->cdr.prompt.start_ms < 500);
    assert_string_equal(f->abandon_state, "none");
    assert_int_equal(f->cdr.ivr_digit, 0);
    assert_int_equal(f->cdr.transferred, 0);
    assert_string_equal(f->states, "screening prompting ending");
    assert_string_equal(f->prompt_events, "ivr:started ivr:complete");
    assert_int_equal(f->picks, 0); /* nobody asked for an agent */
    assert_int_equal(f->agent_invites, 0);
    assert_int_equal(f->byes, 1);
    assert_true(f->bye_ms - f->answer_ms >= 1000); /* the prompt, then the digit window */
    assert_true(f->rtp_voiced >= 28 && f->rtp_voiced <= 31);
    assert_true(f->rtp_rx >= 48); /* 30 prompt frames and 20 silent ones */
    assert_int_equal(f->rtp_markers, 1);
    assert_one_stream(f);
    /* The recording holds the prompt on the right (what the carrier heard from us). */
    assert_true(f->recording[0] != '\0');
    char wav_out[160];
    snprintf(wav_out, sizeof wav_out, "%s/call.wav", dir);
    struct media_rec_info info;
    char err[256];
    uint8_t key[MEDIA_REC_KEY_BYTES] = {7};
    assert_true(run_until(f, idle));
    assert_int_equal(media_rec_decrypt(f->recording, key, wav_out, &info, err, sizeof err), 0);
    FILE *w = fopen(wav_out, "rb");
    assert_non_null(w);
    fseek(w, 44, SEEK_SET);
    double sum[2] = {0, 0};
    uint8_t b[4];
    while (fread(b, 1, 4, w) == 4) {
        for (int c = 0; c < 2; c++) {
            int16_t v = (int16_t)(b[2 * c] | b[2 * c + 1] << 8);
            sum[c] += (double)v * v;
        }
    }
    fclose(w);
    printf("ivr recording: %llu frames, energy left %.0f right %.0f\n",
           (unsigned long long)info.frames, sum[0], sum[1]);
    assert_true(sum[0] == 0 && sum[1] > 1e9);
    assert_clean(f);
}

static void broadcast_needs_no_agent_and_options_are_checked(void **state)
{
    struct fixture *f = *state; /* the fixture's bridge has no picker */
    char path[128];
    f->mode = ANSWER;
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.prompt_path = wav("b.wav", 200, path, sizeof path)}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "played");
    assert_string_equal(f->prompt_state, "complete");
    assert_true(f->bye_ms - f->answer_ms < 1000); /* no digit window without a digit */
    assert_true(run_until(f, idle));
    /* A transfer digit needs someone to transfer to; digits are DTMF symbols. */
    d.prompts.transfer_digit = '1';
    assert_int_equal(bridge_dial(f->bridge, &d, &id), WAIHU_EINVAL);
    d.agent = "agent1";
    d.prompts.transfer_digit = 'x';
    assert_int_equal(bridge_dial(f->bridge, &d, &id), WAIHU_EINVAL);
    d.prompts.transfer_digit = 0;
    d.prompts.prompt_path = "";
    assert_int_equal(bridge_dial(f->bridge, &d, &id), WAIHU_EINVAL);
    struct bridge_dial plain = {.number = "5551000", .trunk_target = f->carrier,
                                .prompts = {.transfer_digit = '1'}}; /* no prompt */
    plain.agent = "agent1";
    assert_int_equal(bridge_dial(f->bridge, &plain, &id), WAIHU_EINVAL);
    assert_int_equal(f->n_cdrs, 1);
    assert_clean(f);
}

static void transfer_digit_bridges_the_picked_agent(void **state)
{
    struct fixture *f = *state;
    char path[128];
    use_picker(f);
    f->mode = ANSWER;
    f->pick_names[0] = "agent2";
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.prompt_path = wav("ivr.wav", 3000, path, sizeof path),
                                        .transfer_digit = '1'}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, prompt_heard));
    press(f, '5'); /* not the transfer digit: noted, the prompt goes on */
    press(f, '1');
    assert_true(run_until(f, bridged));
    assert_int_equal(f->picks, 1);
    assert_non_null(strstr(f->agent_ruri, "INVITE sip:agent2@"));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    printf("transfer: prompt played %u ms of 3000, answer to agent INVITE %u ms\n",
           f->cdr.prompt.played_ms, f->cdr.answer_to_agent_ms);
    assert_string_equal(f->result, "answered");
    assert_string_equal(f->agent_name, "agent2");
    assert_int_equal(f->cdr.transferred, 1);
    assert_int_equal(f->cdr.ivr_digit, '5');
    assert_string_equal(f->digits, "51");
    assert_string_equal(f->prompt_state, "partial");
    assert_true(f->cdr.prompt.played_ms > 0 && f->cdr.prompt.played_ms < 2500);
    assert_true(f->cdr.answer_to_agent_ms > 0);
    assert_string_equal(f->states, "screening prompting agent-ringing bridged ending");
    assert_string_equal(f->prompt_events, "ivr:started ivr:partial");
    assert_one_stream(f);
    assert_clean(f);
}

static void transfer_without_a_free_agent_plays_the_abandon_message(void **state)
{
    struct fixture *f = *state;
    char path[128], sorry[128];
    use_picker(f);
    f->mode = ANSWER; /* pick_names[0] NULL: nobody free */
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.prompt_path = wav("ivr.wav", 3000, path, sizeof path),
                                        .transfer_digit = '#',
                                        .abandon_prompt_path =
                                            wav("sorry.wav", 400, sorry, sizeof sorry)}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, prompt_heard));
    press(f, '#');
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_string_equal(f->prompt_state, "partial");
    assert_string_equal(f->abandon_state, "complete");
    assert_int_equal(f->cdr.abandon_prompt.played_ms, 400);
    assert_int_equal(f->cdr.ivr_digit, '#');
    assert_int_equal(f->cdr.transferred, 0);
    assert_int_equal(f->picks, 1);
    assert_int_equal(f->agent_invites, 0);
    assert_string_equal(f->states, "screening prompting announcing ending");
    assert_string_equal(f->prompt_events,
                        "ivr:started ivr:partial abandon:started abandon:complete");
    assert_one_stream(f); /* the message continues the prompt's stream */
    assert_clean(f);
}

/* The carrier's answering machine: a 1 kHz beep-like tone, then nothing. */
static int beep_left;

static void on_beep(uv_timer_t *t)
{
    struct fixture *f = t->data;
    if (beep_left > 0) {
        beep_left--;
        carrier_send_audio(f, 1000.0, 8000.0);
    } else {
        carrier_send_audio(f, 1000.0, 0.0);
    }
}

static int answers_wanted;

static int answered(struct fixture *f)
{
    return f->answers >= answers_wanted;
}

static void machine_call(struct fixture *f, const struct bridge_dial *d, uv_timer_t *beep)
{
    uint64_t id;
    beep_left = 25;
    answers_wanted = f->answers + 1;
    assert_int_equal(bridge_dial(f->bridge, d, &id), 0);
    assert_true(run_until(f, answered));
    uv_timer_init(&f->loop, beep);
    beep->data = f;
    uv_timer_start(beep, on_beep, 0, 20);
    assert_true(run_until(f, cdrs_reached));
    uv_timer_stop(beep);
    uv_close((uv_handle_t *)beep, NULL);
}

static void machine_is_hung_up_or_left_a_message(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct bridge_config bc = {.amd = 1};
    use_bridge(f, &bc);
    f->mode = ANSWER;
    f->pick_names[0] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.prompt_path = wav("vm.wav", 500, path, sizeof path),
                                        .transfer_digit = '1'}};
    uv_timer_t beep;
    f->want_cdrs = 1;
    machine_call(f, &d, &beep);
    assert_string_equal(f->result, "machine");
    assert_string_equal(f->end_reason, "amd-machine");
    assert_string_equal(f->prompt_state, "none");
    assert_int_equal(f->rtp_voiced, 0);
    assert_true(run_until(f, idle));

    /* Voice broadcast: the message is left once the greeting is over (1 s of silence). */
    f->want_cdrs = 2;
    f->rtp_voiced = 0;
    f->states[0] = f->prompt_events[0] = '\0';
    d.prompts.prompt_on_machine = 1;
    machine_call(f, &d, &beep);
    printf("voicemail: message started %u ms after the answer (the beep: 500 ms)\n",
           f->cdr.prompt.start_ms);
    assert_string_equal(f->result, "machine");
    assert_string_equal(f->end_reason, "prompt-end");
    assert_string_equal(f->cdr.amd, "machine");
    assert_string_equal(f->prompt_state, "complete");
    assert_true(f->cdr.prompt.start_ms >= 1400 && f->cdr.prompt.start_ms < 3000);
    assert_true(f->rtp_voiced >= 23);
    assert_int_equal(f->picks, 0);
    assert_string_equal(f->states, "screening prompting ending");
    assert_clean(f);
}

static void abandon_message_for_a_live_answer_without_an_agent(void **state)
{
    struct fixture *f = *state;
    char sorry[128];
    use_picker(f);
    f->mode = ANSWER; /* a predictive call, nobody free */
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.abandon_prompt_path =
                                            wav("sorry.wav", 800, sorry, sizeof sorry)}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    printf("abandon message: started %u ms after the answer (carrier's first voiced packet "
           "%llu ms after its 200), BYE %llu ms after the answer\n",
           f->cdr.abandon_prompt.start_ms,
           (unsigned long long)(f->rtp_first_voiced_ms - f->answer_ms),
           (unsigned long long)(f->bye_ms - f->answer_ms));
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_int_equal(f->cdr.status, 200);
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_string_equal(f->abandon_state, "complete");
    assert_int_equal(f->cdr.abandon_prompt.played_ms, 800);
    assert_true(f->cdr.abandon_prompt.start_ms < 2000); /* the law: within 2 s */
    assert_true(f->rtp_first_voiced_ms - f->answer_ms < 2000);
    assert_true(f->bye_ms - f->answer_ms >= 800);
    assert_string_equal(f->prompt_state, "none");
    assert_string_equal(f->states, "screening announcing ending");
    assert_int_equal(f->agent_invites, 0);
    assert_int_equal(f->picks, 1);
    assert_true(f->rtp_voiced >= 38);
    assert_clean(f);
}

static void agent_failing_after_the_window_plays_the_abandon_message(void **state)
{
    struct fixture *f = *state;
    char sorry[128];
    use_picker(f);
    f->mode = ANSWER;
    f->agent_mode = AGENT_RING;
    f->pick_names[0] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.abandon_prompt_path =
                                            wav("sorry.wav", 300, sorry, sizeof sorry)}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, agent_ringing));
    f->until_ms = f->answer_ms + BRIDGE_PICK_WINDOW_MS + 100;
    assert_true(run_until(f, time_passed));
    agent_answer(f, 486);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 486);
    assert_string_equal(f->abandon_state, "complete");
    assert_true(f->cdr.abandon_prompt.start_ms >= BRIDGE_PICK_WINDOW_MS); /* too late by law */
    assert_string_equal(f->states, "screening agent-ringing announcing ending");
    assert_clean(f);
}

static void hangup_during_a_prompt_stops_it(void **state)
{
    struct fixture *f = *state;
    char path[128], sorry[128];
    use_picker(f);
    f->mode = ANSWER;
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.prompt_path = wav("ivr.wav", 5000, path, sizeof path),
                                        .transfer_digit = '1'}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, prompt_heard));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "played");
    assert_string_equal(f->end_reason, "local-hangup");
    assert_string_equal(f->prompt_state, "partial");
    assert_true(f->cdr.prompt.played_ms < 2000);
    assert_true(run_until(f, idle));
    int heard = f->rtp_rx;
    f->until_ms = clock_now_ms() + 200;
    assert_true(run_until(f, time_passed));
    assert_int_equal(f->rtp_rx, heard); /* nothing plays once the session is closed */

    /* The same while the abandon message plays: still abandoned. */
    f->want_cdrs = 2;
    struct bridge_dial p = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.abandon_prompt_path =
                                            wav("sorry.wav", 5000, sorry, sizeof sorry)}};
    assert_int_equal(bridge_dial(f->bridge, &p, &id), 0);
    f->rtp_voiced = 0;
    assert_true(run_until(f, prompt_heard));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, cdrs_reached));
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_string_equal(f->abandon_state, "partial");
    assert_clean(f);
}

static void unplayable_files_end_the_call_or_abandon_in_silence(void **state)
{
    struct fixture *f = *state;
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing.wav", dir);
    use_picker(f);
    f->mode = ANSWER;
    struct bridge_dial d = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.prompt_path = missing}};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "error");
    assert_string_equal(f->end_reason, "prompt-error");
    assert_string_equal(f->prompt_state, "error");
    assert_int_equal(f->byes, 1);
    assert_true(run_until(f, idle));

    f->want_cdrs = 2;
    struct bridge_dial p = {.number = "5551000", .trunk_target = f->carrier,
                            .prompts = {.abandon_prompt_path = missing}};
    assert_int_equal(bridge_dial(f->bridge, &p, &id), 0);
    assert_true(run_until(f, cdrs_reached));
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_string_equal(f->abandon_state, "error");
    assert_int_equal(f->byes, 2);
    assert_int_equal(f->rtp_voiced, 0);
    assert_clean(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ivr_prompt_plays_then_hangs_up_after_its_window, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(broadcast_needs_no_agent_and_options_are_checked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transfer_digit_bridges_the_picked_agent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(transfer_without_a_free_agent_plays_the_abandon_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(machine_is_hung_up_or_left_a_message, setup, teardown),
        cmocka_unit_test_setup_teardown(abandon_message_for_a_live_answer_without_an_agent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(agent_failing_after_the_window_plays_the_abandon_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(hangup_during_a_prompt_stops_it, setup, teardown),
        cmocka_unit_test_setup_teardown(unplayable_files_end_the_call_or_abandon_in_silence,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
