/* Prompt files (src/media/prompt.c): WAV images built here, accepted or refused with a
 * reason; frames cut and encoded; loading from disk. Pure but for one temporary file. */
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

struct wav_spec {
    uint16_t format, channels, bits;
    uint32_t rate;
    size_t samples;        /* per channel */
    int extensible;        /* WAVE_FORMAT_EXTENSIBLE header (40-byte fmt) */
    int list_chunk;        /* a LIST chunk with an odd length before the data */
    long cut;              /* bytes removed from the end (truncation) */
    int odd_byte;          /* one more data byte: an odd data chunk */
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static int16_t sample_at(size_t i)
{
    return (int16_t)((int)(i * 97 % 2000) - 1000);
}

/* Builds a WAV image; *len gets its size. Caller frees. */
static uint8_t *wav_build(const struct wav_spec *w, size_t *len)
{
    size_t bytes_per = w->bits / 8u;
    size_t data = w->samples * w->channels * bytes_per + (size_t)w->odd_byte;
    size_t fmt_len = w->extensible ? 40 : 16;
    size_t total = 12 + 8 + fmt_len + (w->list_chunk ? 8 + 5 + 1 : 0) + 8 + data;
    uint8_t *b = calloc(1, total);
    assert_non_null(b);
    memcpy(b, "RIFF", 4);
    put32(b + 4, (uint32_t)(total - 8));
    memcpy(b + 8, "WAVE", 4);
    size_t o = 12;
    memcpy(b + o, "fmt ", 4);
    put32(b + o + 4, (uint32_t)fmt_len);
    put16(b + o + 8, w->extensible ? 0xfffe : w->format);
    put16(b + o + 10, w->channels);
    put32(b + o + 12, w->rate);
    put32(b + o + 16, (uint32_t)(w->rate * w->channels * bytes_per));
    put16(b + o + 20, (uint16_t)(w->channels * bytes_per));
    put16(b + o + 22, w->bits);
    if (w->extensible) {
        put16(b + o + 24, 22);
        put16(b + o + 26, w->bits);
        put16(b + o + 32, w->format); /* the sub-format GUID starts with it */
    }
    o += 8 + fmt_len;
    if (w->list_chunk) {
        memcpy(b + o, "LIST", 4);
        put32(b + o + 4, 5);
        memcpy(b + o + 8, "INFOx", 5);
        o += 8 + 6; /* odd length: one pad byte */
    }
    memcpy(b + o, "data", 4);
    put32(b + o + 4, (uint32_t)data);
    o += 8;
    for (size_t i = 0; i < w->samples * w->channels && bytes_per == 2; i++)
        put16(b + o + 2 * i, (uint16_t)sample_at(i));
    *len = total - (size_t)w->cut;
    return b;
}

static const struct wav_spec GOOD = {.format = 1, .channels = 1, .bits = 16, .rate = 8000,
                                     .samples = 8000};

/* Parses spec's image; returns the error and the message. */
static int parse(const struct wav_spec *w, struct media_prompt **p, char *err, size_t cap)
{
    size_t len;
    uint8_t *b = wav_build(w, &len);
    err[0] = '\0';
    int rv = media_prompt_parse(b, len, p, err, cap);
    free(b);
    return rv;
}

static void expect_refusal(const struct wav_spec *w, const char *why)
{
    struct media_prompt *p = NULL;
    char err[200];
    assert_int_equal(parse(w, &p, err, sizeof(err)), WAIHU_EINVAL);
    assert_null(p);
    if (strstr(err, why) == NULL)
        fail_msg("want \"%s\" in \"%s\"", why, err);
}

static void good_file_is_accepted(void **state)
{
    (void)state;
    struct media_prompt *p = NULL;
    char err[200];
    assert_int_equal(parse(&GOOD, &p, err, sizeof(err)), 0);
    assert_int_equal(media_prompt_samples(p), 8000);
    assert_int_equal(media_prompt_duration_ms(p), 1000);
    assert_int_equal(media_prompt_frames(p), 50);
    media_prompt_unref(p);

    struct wav_spec w = GOOD;
    w.extensible = 1;
    w.list_chunk = 1;
    w.samples = 1000; /* 6.25 frames */
    assert_int_equal(parse(&w, &p, err, sizeof(err)), 0);
    assert_int_equal(media_prompt_samples(p), 1000);
    assert_int_equal(media_prompt_frames(p), 7);
    struct media_prompt *q = media_prompt_ref(p);
    media_prompt_unref(p);
    assert_int_equal(media_prompt_samples(q), 1000); /* still alive: one reference left */
    media_prompt_unref(q);
    media_prompt_unref(NULL);
}

static void wrong_formats_are_refused_with_a_reason(void **state)
{
    (void)state;
    struct wav_spec w = GOOD;
    w.rate = 16000;
    expect_refusal(&w, "16000 Hz: want 8000 Hz");
    w = GOOD;
    w.rate = 44100;
    expect_refusal(&w, "44100 Hz");
    w = GOOD;
    w.channels = 2;
    expect_refusal(&w, "2 channels: want mono");
    w = GOOD;
    w.bits = 8;
    expect_refusal(&w, "8-bit samples: want 16-bit");
    w = GOOD;
    w.format = 7; /* mu-law */
    w.bits = 8;
    expect_refusal(&w, "format 7: want PCM");
    w = GOOD;
    w.format = 3; /* float, inside WAVE_FORMAT_EXTENSIBLE */
    w.bits = 32;
    w.extensible = 1;
    expect_refusal(&w, "format 3");
    w = GOOD;
    w.samples = 0;
    expect_refusal(&w, "no audio");
}

static void truncated_files_are_refused(void **state)
{
    (void)state;
    struct wav_spec w = GOOD;
    w.cut = 1000; /* the data chunk ends early */
    expect_refusal(&w, "truncated");
    w.cut = (long)(2 * GOOD.samples + 8 + 10); /* inside the fmt chunk */
    expect_refusal(&w, "truncated");
    w = GOOD;
    w.cut = (long)(2 * GOOD.samples + 8); /* the data chunk is gone */
    expect_refusal(&w, "no data chunk");
    w = GOOD;
    w.odd_byte = 1;
    expect_refusal(&w, "not whole 16-bit samples");
    /* Every shorter prefix is refused, never read past. */
    size_t len;
    uint8_t *b = wav_build(&GOOD, &len);
    for (size_t n = 0; n < len; n += n < 64 ? 1 : 997) {
        struct media_prompt *p = NULL;
        uint8_t *copy = malloc(n + 1); /* exact size for ASan */
        memcpy(copy, b, n);
        assert_int_equal(media_prompt_parse(copy, n, &p, NULL, 0), WAIHU_EINVAL);
        assert_null(p);
        free(copy);
    }
    free(b);
}

static void not_riff_is_refused(void **state)
{
    (void)state;
    struct media_prompt *p = NULL;
    char err[200];
    const char *text = "this is not a WAV file at all, just text";
    assert_int_equal(media_prompt_parse((const uint8_t *)text, strlen(text), &p, err, sizeof(err)),
                     WAIHU_EINVAL);
    assert_string_equal(err, "not a RIFF/WAVE file");
    size_t len;
    uint8_t *b = wav_build(&GOOD, &len);
    memcpy(b + 8, "AVI ", 4);
    assert_int_equal(media_prompt_parse(b, len, &p, err, sizeof(err)), WAIHU_EINVAL);
    assert_string_equal(err, "not a RIFF/WAVE file");
    free(b);
    assert_int_equal(media_prompt_parse(NULL, 0, &p, err, sizeof(err)), WAIHU_EINVAL);
}

static void frames_are_cut_and_encoded(void **state)
{
    (void)state;
    struct wav_spec w = GOOD;
    w.samples = 400; /* two full frames and 80 samples */
    struct media_prompt *p = NULL;
    char err[200];
    assert_int_equal(parse(&w, &p, err, sizeof(err)), 0);
    assert_int_equal(media_prompt_frames(p), 3);
    uint8_t out[MEDIA_FRAME_SAMPLES], want[MEDIA_FRAME_SAMPLES];
    int16_t pcm[MEDIA_FRAME_SAMPLES];
    for (int law = 0; law < 2; law++) {
        enum media_codec codec = law ? MEDIA_PCMA : MEDIA_PCMU;
        for (size_t f = 0; f < 4; f++) {
            size_t n = media_prompt_frame(p, f, codec, out, pcm);
            assert_int_equal(n, f < 2 ? 160 : f == 2 ? 80 : 0);
            for (size_t i = 0; i < MEDIA_FRAME_SAMPLES; i++) {
                size_t at = f * MEDIA_FRAME_SAMPLES + i;
                int16_t s = at < 400 ? sample_at(at) : 0; /* padded with silence */
                assert_int_equal(pcm[i], s);
                want[i] = codec == MEDIA_PCMU ? media_ulaw_encode(s) : media_alaw_encode(s);
            }
            assert_memory_equal(out, want, sizeof(out));
        }
    }
    assert_int_equal(media_prompt_frame(p, 0, MEDIA_PCMU, out, NULL), 160); /* pcm optional */
    media_prompt_unref(p);
}

static void files_load_with_their_path_in_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/waihu-prompt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len;
    uint8_t *b = wav_build(&GOOD, &len);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
    free(b);
    struct media_prompt *p = NULL;
    char err[300];
    assert_int_equal(media_prompt_load(path, &p, err, sizeof(err)), 0);
    assert_int_equal(media_prompt_samples(p), 8000);
    media_prompt_unref(p);
    assert_int_equal(truncate(path, 100), 0);
    assert_int_equal(media_prompt_load(path, &p, err, sizeof(err)), WAIHU_EINVAL);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "truncated"));
    unlink(path);
    assert_int_equal(media_prompt_load(path, &p, err, sizeof(err)), WAIHU_EIO);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(media_prompt_load("/tmp", &p, err, sizeof(err)), WAIHU_EIO);
    assert_non_null(strstr(err, "not a regular file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_file_is_accepted),
        cmocka_unit_test(wrong_formats_are_refused_with_a_reason),
        cmocka_unit_test(truncated_files_are_refused),
        cmocka_unit_test(not_riff_is_refused),
        cmocka_unit_test(frames_are_cut_and_encoded),
        cmocka_unit_test(files_load_with_their_path_in_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
