/* 8 kHz to 16 kHz for recognisers trained on wideband audio: a half-band interpolator.
 * The even outputs are the input samples; the odd ones sit half-way between and come
 * from a windowed sinc, which is all a factor-2 polyphase FIR needs. */
#include <math.h>

#include "speech_internal.h"

#define HALF_TAPS 24 /* taps per side of the odd phase; full filter length 4*24-1 = 95 */

void speech_upsample2(const int16_t *in, size_t n, int16_t *out)
{
    /* g[i] weighs in[m - i] and in[m + 1 + i] for the sample between in[m] and in[m + 1]:
     * sinc at half-integers (i + 0.5) times a Blackman window over the full filter. */
    double g[HALF_TAPS], sum = 0.0;
    const double len = 4.0 * HALF_TAPS - 1.0, center = (len - 1.0) / 2.0;
    for (int i = 0; i < HALF_TAPS; i++) {
        double x = (double)i + 0.5;
        double sinc = sin(M_PI * x) / (M_PI * x);
        double pos = center + 2.0 * x; /* tap position in the 16 kHz filter */
        double w = 0.42 - 0.5 * cos(2.0 * M_PI * pos / (len - 1.0)) +
                   0.08 * cos(4.0 * M_PI * pos / (len - 1.0));
        g[i] = sinc * w;
        sum += 2.0 * g[i];
    }
    for (int i = 0; i < HALF_TAPS; i++)
        g[i] /= sum; /* unity gain at DC */
    for (size_t m = 0; m < n; m++) {
        double acc = 0.0;
        for (size_t i = 0; i < HALF_TAPS; i++) {
            double a = i <= m ? in[m - i] : 0.0;
            double b = m + 1 + i < n ? in[m + 1 + i] : 0.0;
            acc += g[i] * (a + b);
        }
        long v = lrint(acc);
        out[2 * m] = in[m];
        out[2 * m + 1] = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
    }
}
