/* The analysis around the recogniser, with a fake one: each channel's talk spurts reach
 * it as padded utterances at its sample rate, its detections land on the recording's
 * timeline, channel masks filter them, and encrypted recordings are read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "media.h"
#include "speech_internal.h"
#include "synth.h"

/* The fake reports keyword 0 where the audio is loudest in each utterance. */
struct fake {
    int rate_hz;
    size_t n_kw;
};

/* What the fake was given, for the tests (one thread). */
static int fake_utterances;
static size_t fake_samples;

static int fake_open(const struct speech_recogniser_config *cfg, void **out, char *errmsg,
                     size_t size)
{
    (void)errmsg;
    (void)size;
    struct fake *f = calloc(1, sizeof(*f));
    f->rate_hz = cfg->sample_rate_hz;
    *out = f;
    return 0;
}

static int fake_set(void *r, const struct speech_keyword *kw, size_t n, char *errmsg, size_t size)
{
    struct fake *f = r;
    for (size_t i = 0; i < n; i++)
        if (strcmp(kw[i].phrase, "unknownword") == 0) {
            snprintf(errmsg, size, "word '%s' is not in the dictionary", kw[i].phrase);
            return WAIHU_EINVAL;
        }
    f->n_kw = n;
    return 0;
}

static int fake_spot(void *r, const int16_t *pcm, size_t n, speech_spot_cb cb, void *arg,
                     char *errmsg, size_t size)
{
    (void)errmsg;
    (void)size;
    struct fake *f = r;
    fake_utterances++;
    fake_samples += n;
    size_t loudest = 0;
    for (size_t i = 0; i < n; i++)
        if (abs(pcm[i]) > abs(pcm[loudest]))
            loudest = i;
    uint32_t ms = (uint32_t)(loudest * 1000 / (size_t)f->rate_hz);
    struct speech_spot s = {.keyword = 0, .start_ms = ms, .end_ms = ms + 10, .score = -1.0};
    cb(arg, &s);
    return 0;
}

static void fake_close(void *r) { free(r); }

static const struct speech_recogniser_ops fake_ops = {.name = "fake",
                                                      .open = fake_open,
                                                      .set_keywords = fake_set,
                                                      .spot = fake_spot,
                                                      .close = fake_close};

/* Customer: quiet tone 1.0-2.0 s with a loud click at 1.5 s. Agent: quiet tone 3.0-4.0 s
 * with a loud click at 3.25 s. 6 s. */
static int16_t *make_call(void)
{
    int16_t *pcm = synth_new(6000);
    synth_tone(pcm, SPEECH_CUSTOMER, 1000, 2000, 300.0, 0.05);
    synth_tone(pcm, SPEECH_CUSTOMER, 1500, 1502, 1000.0, 0.9);
    synth_tone(pcm, SPEECH_AGENT, 3000, 4000, 300.0, 0.05);
    synth_tone(pcm, SPEECH_AGENT, 3250, 3252, 1000.0, 0.9);
    return pcm;
}

static struct speech_engine *fake_engine(int rate_hz)
{
    struct speech_config cfg;
    speech_config_default(&cfg);
    cfg.ops = &fake_ops;
    cfg.recogniser.sample_rate_hz = rate_hz;
    struct speech_engine *e;
    char err[256];
    assert_int_equal(speech_engine_new(&cfg, &e, err, sizeof(err)), 0);
    return e;
}

static void run_offsets(int rate_hz)
{
    struct speech_engine *e = fake_engine(rate_hz);
    int16_t *pcm = make_call();
    struct speech_keyword kw[] = {{.phrase = "complaint"}};
    struct speech_result *r;
    char err[256];
    assert_int_equal(speech_analyse(e, kw, 1, pcm, 6000 * 8, &r, err, sizeof(err)), 0);
    assert_int_equal(r->n_hits, 2);
    assert_int_equal(r->hits[0].channel, SPEECH_CUSTOMER);
    assert_in_range(r->hits[0].start_ms, 1499, 1502);
    assert_string_equal(r->hits[0].phrase, "complaint");
    assert_int_equal(r->hits[1].channel, SPEECH_AGENT);
    assert_in_range(r->hits[1].start_ms, 3249, 3252);
    assert_int_equal(r->signals.ch[SPEECH_CUSTOMER].hits, 1);
    assert_int_equal(r->score, 50);
    assert_true(r->audio_s == 6.0);
    speech_result_free(r);

    /* A keyword for the agent only: the customer's detection is dropped. */
    kw[0].channels = SPEECH_ON_AGENT;
    assert_int_equal(speech_analyse(e, kw, 1, pcm, 6000 * 8, &r, err, sizeof(err)), 0);
    assert_int_equal(r->n_hits, 1);
    assert_int_equal(r->hits[0].channel, SPEECH_AGENT);
    speech_result_free(r);

    /* The recogniser's refusal comes back with its message. */
    struct speech_keyword bad[] = {{.phrase = "unknownword"}};
    assert_int_equal(speech_analyse(e, bad, 1, pcm, 6000 * 8, &r, err, sizeof(err)), WAIHU_EINVAL);
    assert_non_null(strstr(err, "unknownword"));
    speech_engine_free(e);
    free(pcm);
}

static void test_offsets_16k(void **state)
{
    (void)state;
    run_offsets(16000);
}

static void test_offsets_8k(void **state)
{
    (void)state;
    run_offsets(8000);
}

/* Only speech is decoded: two 1 s spurts padded by 250 ms each side, at 16 kHz. */
static void test_only_speech_is_decoded(void **state)
{
    (void)state;
    struct speech_engine *e = fake_engine(16000);
    int16_t *pcm = make_call();
    struct speech_keyword kw[] = {{.phrase = "complaint"}};
    struct speech_result *r;
    char err[256];
    fake_utterances = 0;
    fake_samples = 0;
    assert_int_equal(speech_analyse(e, kw, 1, pcm, 6000 * 8, &r, err, sizeof(err)), 0);
    assert_int_equal(fake_utterances, 2);
    assert_int_equal(fake_samples, 2 * 1500 * 16);
    speech_result_free(r);
    speech_engine_free(e);
    free(pcm);
}

/* Engine "none": signals only, no keywords needed. */
static void test_engine_none(void **state)
{
    (void)state;
    struct speech_config cfg;
    speech_config_default(&cfg);
    cfg.recogniser.engine = "none";
    struct speech_engine *e;
    char err[256];
    assert_int_equal(speech_engine_new(&cfg, &e, err, sizeof(err)), 0);
    int16_t *pcm = make_call();
    struct speech_result *r;
    assert_int_equal(speech_analyse(e, NULL, 0, pcm, 6000 * 8, &r, err, sizeof(err)), 0);
    assert_int_equal(r->n_hits, 0);
    assert_in_range(r->signals.ch[SPEECH_AGENT].speech_ms, 980, 1020);
    speech_result_free(r);
    speech_engine_free(e);
    cfg.recogniser.engine = "whisper";
    assert_int_equal(speech_engine_new(&cfg, &e, err, sizeof(err)), WAIHU_EINVAL);
    assert_non_null(strstr(err, "whisper"));
    free(pcm);
}

/* Model files that are not there are named in the error. */
static void test_missing_model(void **state)
{
    (void)state;
    struct speech_config cfg;
    speech_config_default(&cfg);
    cfg.recogniser.hmm_dir = "/nonexistent/zh-cn";
    struct speech_engine *e;
    char err[256];
    assert_int_equal(speech_engine_new(&cfg, &e, err, sizeof(err)), WAIHU_EINVAL);
    assert_non_null(strstr(err, "/nonexistent/zh-cn/mdef"));
}

/* An encrypted recording is decrypted, analysed and its plaintext removed; a wrong key
 * fails as corrupt. */
static void test_encrypted_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/waihu-speech-test-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/call.wrec", dir);
    uint8_t key[MEDIA_REC_KEY_BYTES];
    for (int i = 0; i < MEDIA_REC_KEY_BYTES; i++)
        key[i] = (uint8_t)(i * 7);
    struct media_rec_writer *w;
    char err[256];
    assert_int_equal(media_rec_writer_open(path, key, &w, err, sizeof(err)), 0);
    int16_t *pcm = make_call();
    assert_int_equal(media_rec_writer_append(w, pcm, 6000 * 8), 0);
    assert_int_equal(media_rec_writer_close(w), 0);

    struct speech_config cfg;
    speech_config_default(&cfg);
    cfg.ops = &fake_ops;
    struct speech_engine *e;
    assert_int_equal(speech_engine_new(&cfg, &e, err, sizeof(err)), 0);
    struct speech_keyword kw[] = {{.phrase = "complaint"}};
    struct speech_result *r;
    assert_int_equal(speech_analyse_file(e, kw, 1, path, key, &r, err, sizeof(err)), 0);
    assert_int_equal(r->n_hits, 2);
    assert_true(r->audio_s == 6.0);
    speech_result_free(r);
    key[0] ^= 1;
    assert_int_equal(speech_analyse_file(e, kw, 1, path, key, &r, err, sizeof(err)),
                     WAIHU_ECORRUPT);
    assert_int_equal(speech_analyse_file(e, kw, 1, "/nonexistent.wav", NULL, &r, err, sizeof(err)),
                     WAIHU_EIO);
    speech_engine_free(e);
    unlink(path);
    rmdir(dir);
    free(pcm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_16k),
        cmocka_unit_test(test_offsets_8k),
        cmocka_unit_test(test_only_speech_is_decoded),
        cmocka_unit_test(test_engine_none),
        cmocka_unit_test(test_missing_model),
        cmocka_unit_test(test_encrypted_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
