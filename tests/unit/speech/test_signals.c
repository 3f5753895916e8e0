/* Conversation signals on synthetic calls: talk time, silence, loudness, rate,
 * interruptions, and the score's reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "speech_internal.h"
#include "synth.h"

static struct speech_signal_config defaults(void)
{
    struct speech_config cfg;
    speech_config_default(&cfg);
    return cfg.signals;
}

/* Customer 0.5-2.5 s (loud), agent starts at 2.0 s over the customer until 3.5 s; the
 * customer blips 3.0-3.2 s over the agent (too short to interrupt). 5 s in all. */
static int16_t *make_call(double noise)
{
    int16_t *pcm = synth_new(5000);
    synth_tone(pcm, SPEECH_CUSTOMER, 500, 2500, 300.0, 0.5);
    synth_tone(pcm, SPEECH_AGENT, 2000, 3500, 450.0, 0.1);
    synth_tone(pcm, SPEECH_CUSTOMER, 3000, 3200, 300.0, 0.5);
    if (noise > 0)
        synth_noise(pcm, 5000, noise);
    return pcm;
}

static void check_call(const struct speech_signals *s)
{
    const struct speech_channel_signals *c = &s->ch[SPEECH_CUSTOMER], *a = &s->ch[SPEECH_AGENT];
    assert_int_equal(s->duration_ms, 5000);
    assert_in_range(c->speech_ms, 2180, 2220); /* 2000 + the 200 ms blip */
    assert_in_range(a->speech_ms, 1480, 1520);
    assert_int_equal(c->spurts, 2);
    assert_int_equal(a->spurts, 1);
    assert_true(fabs(c->speaking_ratio - 0.44) < 0.01);
    assert_true(fabs(c->silence_ratio - 0.56) < 0.01);
    /* A 0.5 sine is -9.03 dBFS, 0.1 is -23.0. */
    assert_true(fabs(c->loudness_dbfs + 9.03) < 0.3);
    assert_true(fabs(a->loudness_dbfs + 23.0) < 0.3);
    assert_int_equal(a->interruptions, 1);
    assert_int_equal(c->interruptions, 0);
    assert_in_range(s->overlap_ms, 680, 720); /* 2.0-2.5 and 3.0-3.2 */
    /* Neither talks 0-0.5 and 3.5-5.0 s. */
    assert_true(fabs(s->mutual_silence_ratio - 0.4) < 0.01);
    assert_in_range(s->longest_silence_ms, 1480, 1520);
}

static void test_call_signals(void **state)
{
    (void)state;
    struct speech_signal_config cfg = defaults();
    int16_t *pcm = make_call(0.0);
    struct speech_signals s;
    assert_int_equal(speech_signals_compute(&cfg, pcm, 5000 * 8, NULL, 0, &s), 0);
    check_call(&s);
    free(pcm);
}

/* A line hiss at about -50 dBFS moves the threshold, not the answers. */
static void test_call_signals_with_noise(void **state)
{
    (void)state;
    struct speech_signal_config cfg = defaults();
    int16_t *pcm = make_call(0.0055);
    struct speech_signals s;
    assert_int_equal(speech_signals_compute(&cfg, pcm, 5000 * 8, NULL, 0, &s), 0);
    check_call(&s);
    free(pcm);
}

/* Silence: no speech, everything is silence, loudness at the floor. */
static void test_silence(void **state)
{
    (void)state;
    struct speech_signal_config cfg = defaults();
    int16_t *pcm = synth_new(3000);
    struct speech_signals s;
    assert_int_equal(speech_signals_compute(&cfg, pcm, 3000 * 8, NULL, 0, &s), 0);
    for (int c = 0; c < 2; c++) {
        assert_int_equal(s.ch[c].speech_ms, 0);
        assert_true(s.ch[c].silence_ratio == 1.0);
        assert_true(s.ch[c].loudness_dbfs == SPEECH_FLOOR_DBFS);
        assert_true(s.ch[c].rate_per_s == 0.0);
    }
    assert_true(s.mutual_silence_ratio == 1.0);
    assert_int_equal(s.longest_silence_ms, 3000);
    free(pcm);
}

/* Syllable-like bursts: 100 ms on, 100 ms off, 2 s: one spurt, 10 peaks, ~5.3/s. A click
 * shorter than min_spurt_ms is not speech. */
static void test_rate_and_clicks(void **state)
{
    (void)state;
    struct speech_signal_config cfg = defaults();
    int16_t *pcm = synth_new(4000);
    for (uint32_t t = 1000; t < 3000; t += 200)
        synth_tone(pcm, SPEECH_AGENT, t, t + 100, 200.0, 0.3);
    synth_tone(pcm, SPEECH_CUSTOMER, 2000, 2040, 1000.0, 0.5);
    struct speech_signals s;
    assert_int_equal(speech_signals_compute(&cfg, pcm, 4000 * 8, NULL, 0, &s), 0);
    assert_int_equal(s.ch[SPEECH_AGENT].spurts, 1);
    assert_in_range(s.ch[SPEECH_AGENT].speech_ms, 1880, 1920);
    assert_true(fabs(s.ch[SPEECH_AGENT].rate_per_s - 10.0 / 1.9) < 0.2);
    assert_int_equal(s.ch[SPEECH_CUSTOMER].spurts, 0);
    assert_int_equal(s.ch[SPEECH_AGENT].interruptions, 0);
    free(pcm);
}

static int has_reason(const struct speech_result *r, const char *text, int points)
{
    for (size_t i = 0; i < r->n_reasons; i++)
        if (strcmp(r->reasons[i].text, text) == 0 && r->reasons[i].points == points)
            return 1;
    return 0;
}

/* The score is the clamped sum of the reasons, largest first. */
static void test_score_reasons(void **state)
{
    (void)state;
    struct speech_signal_config cfg = defaults();
    int16_t *pcm = make_call(0.0);
    struct speech_keyword kw[] = {{.phrase = "complaint"}, {.phrase = "lawyer", .points = 40}};
    struct speech_hit hits[] = {
        {.phrase = "complaint", .keyword = 0, .channel = SPEECH_CUSTOMER, .start_ms = 1200},
        {.phrase = "lawyer", .keyword = 1, .channel = SPEECH_CUSTOMER, .start_ms = 2300},
    };
    struct speech_result r = {.hits = hits, .n_hits = 2};
    assert_int_equal(speech_signals_compute(&cfg, pcm, 5000 * 8, hits, 2, &r.signals), 0);
    assert_int_equal(r.signals.ch[SPEECH_CUSTOMER].hits, 2);
    assert_int_equal(speech_score(kw, 2, &r), 0);
    for (size_t i = 0; i < r.n_reasons; i++)
        printf("# %d %s\n", r.reasons[i].points, r.reasons[i].text);
    assert_true(has_reason(&r, "keyword 'complaint' (customer) at 1.2 s", 25));
    assert_true(has_reason(&r, "keyword 'lawyer' (customer) at 2.3 s", 40));
    assert_true(has_reason(&r, "agent interrupted 1 time", 5));
    assert_true(has_reason(&r, "customer loud: -9.0 dBFS", 6));
    assert_int_equal(r.n_reasons, 4);
    assert_int_equal(r.reasons[0].points, 40);
    assert_int_equal(r.score, 76);
    /* More points than 100 clamp. */
    kw[0].points = 90;
    assert_int_equal(speech_score(kw, 2, &r), 0);
    assert_int_equal(r.score, 100);
    free(r.reasons);
    free(pcm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_signals),  cmocka_unit_test(test_call_signals_with_noise),
        cmocka_unit_test(test_silence),       cmocka_unit_test(test_rate_and_clicks),
        cmocka_unit_test(test_score_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
