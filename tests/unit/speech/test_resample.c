/* The 8 -> 16 kHz interpolator: a tone keeps its frequency and level, the image is gone,
 * and input samples pass through unchanged (no delay). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "speech_internal.h"

/* Power of x at hz (Goertzel), normalised so a sine of amplitude A gives A^2/2. */
static double tone_power(const int16_t *x, size_t n, double rate, double hz)
{
    double w = 2.0 * M_PI * hz / rate, c = 2.0 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    double p = s1 * s1 + s2 * s2 - c * s1 * s2;
    return 2.0 * p / ((double)n * (double)n);
}

static void check_tone(double hz, double min_db, double max_db, double max_image_db)
{
    const size_t n = 8000;
    int16_t *in = malloc(n * sizeof(*in)), *out = malloc(2 * n * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        in[i] = (int16_t)lrint(10000.0 * sin(2.0 * M_PI * hz * (double)i / 8000.0));
    speech_upsample2(in, n, out);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[2 * i], in[i]);
    /* Away from the edges (the filter sees zeros beyond them). */
    const int16_t *mid = out + 1600;
    size_t m = 2 * n - 3200;
    double p_in = tone_power(in + 800, n - 1600, 8000.0, hz);
    double p_out = tone_power(mid, m, 16000.0, hz);
    double image = tone_power(mid, m, 16000.0, 8000.0 - hz); /* where zero-stuffing mirrors it */
    double gain_db = 10.0 * log10(p_out / p_in);
    double image_db = 10.0 * log10(image / p_out);
    assert_true(gain_db > min_db && gain_db < max_db);
    assert_true(image_db < max_image_db);
    /* The frequency: zero crossings per second. */
    size_t zc = 0;
    for (size_t i = 1; i < m; i++)
        zc += (mid[i - 1] < 0) != (mid[i] < 0);
    double measured = (double)zc / 2.0 / ((double)m / 16000.0);
    assert_true(fabs(measured - hz) < 2.0);
    free(in);
    free(out);
}

static void test_tone_1khz(void **state)
{
    (void)state;
    check_tone(1000.0, -0.05, 0.05, -70.0);
}

static void test_tone_3khz(void **state)
{
    (void)state;
    check_tone(3000.0, -0.5, 0.1, -40.0);
}

/* A full-scale square wave overshoots between its samples: saturate, never wrap. */
static void test_saturation(void **state)
{
    (void)state;
    int16_t sq[64], out[128];
    for (int i = 0; i < 64; i++)
        sq[i] = (int16_t)((i / 4) % 2 ? 32767 : -32768);
    speech_upsample2(sq, 64, out);
    int plateaus = 0, clipped = 0;
    for (int i = 1; i < 127; i += 2)
        if (out[i - 1] == 32767 && out[i + 1] == 32767) {
            assert_true(out[i] > 16384);
            plateaus++;
            clipped += out[i] == 32767;
        }
    assert_true(plateaus > 10);
    assert_true(clipped > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tone_1khz),
        cmocka_unit_test(test_tone_3khz),
        cmocka_unit_test(test_saturation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
