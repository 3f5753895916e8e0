/* Detectors as pure code: AMD on synthetic calls, in-band DTMF through G.711. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>
#include <spandsp.h>

#include "media.h"

#define RATE 8000

static uint32_t seed = 1;

static double rnoise(void)
{
    seed = seed * 1103515245u + 12345u;
    return ((double)(seed >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
}

/* Speech-like bursts: noise shaped by a 4 Hz syllable envelope at amplitude amp. */
static void speech(int16_t *out, size_t n, double amp)
{
    for (size_t i = 0; i < n; i++) {
        double env = 0.55 + 0.45 * sin(2.0 * M_PI * 4.0 * (double)i / RATE);
        out[i] = (int16_t)(amp * env * (0.6 * rnoise() + 0.4 * sin(2.0 * M_PI * 180.0 * i / RATE)));
    }
}

static void quiet(int16_t *out, size_t n, double amp)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (int16_t)(amp * rnoise());
}

static enum media_amd_result run_amd(const int16_t *pcm, size_t n, enum media_amd_reason *why,
                                     uint32_t *ms)
{
    struct media_amd *a;
    assert_int_equal(media_amd_new(NULL, &a), 0);
    enum media_amd_result r = MEDIA_AMD_UNDECIDED;
    for (size_t off = 0; off < n && r == MEDIA_AMD_UNDECIDED; off += 160)
        r = media_amd_feed(a, pcm + off, n - off < 160 ? n - off : 160);
    *why = media_amd_reason(a);
    *ms = media_amd_decided_ms(a);
    media_amd_free(a);
    return r;
}

static void test_amd_short_greeting_is_human(void **state)
{
    (void)state;
    for (int level = 0; level < 3; level++) {
        size_t n = 4 * RATE;
        int16_t *pcm = calloc(n, sizeof(int16_t));
        double noise_amp = level == 0 ? 0 : level == 1 ? 30 : 150;
        quiet(pcm, n, noise_amp);
        speech(pcm + RATE / 2, (size_t)(0.7 * RATE), 6000); /* 0.5 s ring-off, 0.7 s "hello?" */
        for (size_t i = RATE / 2; i < RATE / 2 + (size_t)(0.7 * RATE); i++)
            pcm[i] = (int16_t)(pcm[i] + noise_amp * rnoise());
        enum media_amd_reason why;
        uint32_t ms;
        assert_int_equal(run_amd(pcm, n, &why, &ms), MEDIA_AMD_HUMAN);
        assert_int_equal(why, MEDIA_AMD_R_SILENCE_AFTER_GREETING);
        assert_true(ms <= 3000);
        free(pcm);
    }
}

static void test_amd_long_greeting_is_machine(void **state)
{
    (void)state;
    size_t n = 6 * RATE;
    int16_t *pcm = calloc(n, sizeof(int16_t));
    quiet(pcm, n, 20);
    speech(pcm + RATE / 4, 5 * RATE, 5000);
    enum media_amd_reason why;
    uint32_t ms;
    assert_int_equal(run_amd(pcm, n, &why, &ms), MEDIA_AMD_MACHINE);
    assert_true(why == MEDIA_AMD_R_LONG_GREETING || why == MEDIA_AMD_R_MANY_WORDS);
    assert_true(ms <= 3000);
    free(pcm);
}

static void test_amd_decides_by_deadline(void **state)
{
    (void)state;
    size_t n = 5 * RATE;
    int16_t *pcm = calloc(n, sizeof(int16_t)); /* digital silence */
    enum media_amd_reason why;
    uint32_t ms;
    assert_int_equal(run_amd(pcm, n, &why, &ms), MEDIA_AMD_HUMAN);
    assert_int_equal(why, MEDIA_AMD_R_DEADLINE_QUIET);
    assert_int_equal(ms, 3000);
    /* A tone is a beep. */
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)(6000 * sin(2.0 * M_PI * 1000.0 * i / RATE));
    assert_int_equal(run_amd(pcm, n, &why, &ms), MEDIA_AMD_MACHINE);
    assert_int_equal(why, MEDIA_AMD_R_BEEP);
    assert_true(ms <= 200);
    free(pcm);
    struct media_amd_config bad;
    media_amd_config_default(&bad);
    bad.max_ms = 0;
    struct media_amd *a;
    assert_int_equal(media_amd_new(&bad, &a), WAIHU_EINVAL);
    assert_string_equal(media_amd_reason_name(MEDIA_AMD_R_BEEP), "beep");
}

static void on_digits(void *data, const char *digits, int len)
{
    strncat((char *)data, digits, (size_t)len);
}

static void test_inband_dtmf_survives_g711(void **state)
{
    (void)state;
    const enum media_codec codecs[] = {MEDIA_PCMU, MEDIA_PCMA};
    for (int c = 0; c < 2; c++) {
        char got[32] = {0};
        dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
        dtmf_rx_state_t *rx = dtmf_rx_init(NULL, on_digits, got);
        dtmf_tx_put(tx, "0123456789*#ABCD", -1);
        int16_t pcm[160];
        uint8_t law[160];
        for (int block = 0; block < 400; block++) {
            memset(pcm, 0, sizeof(pcm));
            dtmf_tx(tx, pcm, 160);
            media_g711_encode(codecs[c], pcm, 160, law);
            media_g711_decode(codecs[c], law, 160, pcm);
            dtmf_rx(rx, pcm, 160);
        }
        assert_string_equal(got, "0123456789*#ABCD");
        dtmf_tx_free(tx);
        dtmf_rx_free(rx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amd_short_greeting_is_human),
        cmocka_unit_test(test_amd_long_greeting_is_machine),
        cmocka_unit_test(test_amd_decides_by_deadline),
        cmocka_unit_test(test_inband_dtmf_survives_g711),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
