/* pocketsphinx keyword spotting on flite speech made at test time (flite, sox): the word
 * is found on the channel that said it, near the time it was said, and not in a control
 * call with confusable words. Needs Debian's pocketsphinx-en-us model. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "speech.h"

static char dir[] = "/tmp/waihu-speech-kw-XXXXXX";
static struct speech_engine *engine;

/* flite speech as 8 kHz mono 16-bit (what G.711 carries); *n gets the sample count. */
static int16_t *speak(const char *voice, const char *text, size_t *n)
{
    static int seq;
    char wav[128], raw[128], cmd[1024];
    snprintf(wav, sizeof(wav), "%s/s%d.wav", dir, seq);
    snprintf(raw, sizeof(raw), "%s/s%d.raw", dir, seq++);
    snprintf(cmd, sizeof(cmd),
             "flite -voice %s -t '%s' -o %s && sox %s -r 8000 -c 1 -b 16 -e signed-integer "
             "-t raw %s",
             voice, text, wav, wav, raw);
    assert_int_equal(system(cmd), 0);
    FILE *fp = fopen(raw, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long bytes = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    int16_t *pcm = malloc((size_t)bytes);
    assert_int_equal(fread(pcm, 1, (size_t)bytes, fp), (size_t)bytes);
    fclose(fp);
    unlink(wav);
    unlink(raw);
    *n = (size_t)bytes / 2;
    return pcm;
}

/* Says text on channel ch of a stereo buffer of total_ms starting at at_ms; returns the
 * time the speech ends. */
static uint32_t say(int16_t *call, uint32_t total_ms, int ch, uint32_t at_ms, const char *voice,
                    const char *text)
{
    size_t n;
    int16_t *pcm = speak(voice, text, &n);
    size_t first = (size_t)at_ms * 8, max = (size_t)total_ms * 8;
    for (size_t i = 0; i < n && first + i < max; i++)
        call[2 * (first + i) + (size_t)ch] = pcm[i];
    free(pcm);
    return at_ms + (uint32_t)(n / 8);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    struct speech_config cfg;
    speech_config_default(&cfg);
    char err[256];
    if (speech_engine_new(&cfg, &engine, err, sizeof(err)) != 0) {
        fprintf(stderr, "speech_engine_new: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    speech_engine_free(engine);
    rmdir(dir);
    return 0;
}

static const struct speech_keyword keywords[] = {{.phrase = "complaint"}, {.phrase = "contract"}};

static void test_keyword_on_its_channel(void **state)
{
    (void)state;
    const uint32_t total = 16000;
    int16_t *call = calloc((size_t)total * 16, sizeof(int16_t));
    /* The customer says the keyword as its own flite utterance, so its time is known. */
    uint32_t t = say(call, total, SPEECH_CUSTOMER, 1000, "slt", "please listen, I want to make a");
    uint32_t complaint_ms = t + 50;
    t = say(call, total, SPEECH_CUSTOMER, complaint_ms, "slt", "complaint");
    say(call, total, SPEECH_CUSTOMER, t + 50, "slt", "about my last bill");
    uint32_t agent_ms = 8000;
    say(call, total, SPEECH_AGENT, agent_ms, "rms", "thank you, we can renew the contract today");

    struct speech_result *r;
    char err[256];
    assert_int_equal(
        speech_analyse(engine, keywords, 2, call, (size_t)total * 8, &r, err, sizeof(err)), 0);
    int complaint = 0, contract = 0;
    for (size_t i = 0; i < r->n_hits; i++) {
        const struct speech_hit *h = &r->hits[i];
        printf("# %s %s %u-%u ms score %.2f\n", speech_channel_name(h->channel), h->phrase,
               h->start_ms, h->end_ms, h->score);
        if (h->keyword == 0) {
            assert_int_equal(h->channel, SPEECH_CUSTOMER);
            assert_in_range(h->start_ms, complaint_ms - 300, complaint_ms + 300);
            complaint++;
        } else {
            assert_int_equal(h->channel, SPEECH_AGENT);
            assert_in_range(h->start_ms, agent_ms, agent_ms + 4000);
            contract++;
        }
    }
    assert_int_equal(complaint, 1);
    assert_int_equal(contract, 1);
    assert_true(r->score >= 50);
    printf("# audio %.1f s, processing %.3f s, RTF %.3f\n", r->audio_s, r->processing_s,
           r->processing_s / r->audio_s);
    speech_result_free(r);
    free(call);
}

static void test_control_call_has_no_hits(void **state)
{
    (void)state;
    const uint32_t total = 12000;
    int16_t *call = calloc((size_t)total * 16, sizeof(int16_t));
    say(call, total, SPEECH_CUSTOMER, 500, "slt",
        "I would like to pay a compliment about the concert, and the contact was kind");
    say(call, total, SPEECH_AGENT, 6500, "rms", "thank you for calling, have a nice day");
    struct speech_result *r;
    char err[256];
    assert_int_equal(
        speech_analyse(engine, keywords, 2, call, (size_t)total * 8, &r, err, sizeof(err)), 0);
    for (size_t i = 0; i < r->n_hits; i++)
        printf("# unexpected %s %s at %u ms\n", speech_channel_name(r->hits[i].channel),
               r->hits[i].phrase, r->hits[i].start_ms);
    assert_int_equal(r->n_hits, 0);
    speech_result_free(r);
    free(call);
}

/* Two threads, each with its own engine, analyse the same call at once: same hits as one
 * thread alone (the recogniser's dither is per object, so results are deterministic). */
struct job {
    const int16_t *call;
    size_t frames;
    struct speech_result *r;
    int rv;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    struct speech_config cfg;
    speech_config_default(&cfg);
    struct speech_engine *e;
    char err[256];
    j->rv = speech_engine_new(&cfg, &e, err, sizeof(err));
    if (j->rv == 0) {
        j->rv = speech_analyse(e, keywords, 2, j->call, j->frames, &j->r, err, sizeof(err));
        speech_engine_free(e);
    }
    return NULL;
}

static void test_threads_own_engines(void **state)
{
    (void)state;
    const uint32_t total = 9000;
    int16_t *call = calloc((size_t)total * 16, sizeof(int16_t));
    say(call, total, SPEECH_CUSTOMER, 500, "awb", "my contract ends in March, this is a complaint");
    say(call, total, SPEECH_AGENT, 5000, "slt", "let me check your account for a moment");
    struct job jobs[2] = {{call, (size_t)total * 8, NULL, -1}, {call, (size_t)total * 8, NULL, -1}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    struct job alone = {call, (size_t)total * 8, NULL, -1};
    run_job(&alone);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(jobs[i].rv, 0);
        assert_int_equal(jobs[i].r->n_hits, alone.r->n_hits);
        for (size_t h = 0; h < alone.r->n_hits; h++) {
            assert_string_equal(jobs[i].r->hits[h].phrase, alone.r->hits[h].phrase);
            assert_int_equal(jobs[i].r->hits[h].start_ms, alone.r->hits[h].start_ms);
        }
        speech_result_free(jobs[i].r);
    }
    assert_int_equal(alone.r->n_hits, 2);
    speech_result_free(alone.r);
    free(call);
}

/* A word the dictionary lacks is refused by name. */
static void test_unknown_word(void **state)
{
    (void)state;
    int16_t call[16000] = {0};
    const struct speech_keyword kw[] = {{.phrase = "complaint"}, {.phrase = "zqxwv"}};
    struct speech_result *r;
    char err[256];
    assert_int_equal(speech_analyse(engine, kw, 2, call, 8000, &r, err, sizeof(err)), WAIHU_EINVAL);
    assert_non_null(strstr(err, "zqxwv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_on_its_channel),
        cmocka_unit_test(test_control_call_has_no_hits),
        cmocka_unit_test(test_threads_own_engines),
        cmocka_unit_test(test_unknown_word),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
