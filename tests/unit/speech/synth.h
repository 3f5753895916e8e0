/* Synthetic stereo audio for the speech tests: tones and bursts at known times. */
#ifndef WAIHU_TEST_SPEECH_SYNTH_H
#define WAIHU_TEST_SPEECH_SYNTH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "speech.h"

static inline int16_t *synth_new(uint32_t ms)
{
    return calloc((size_t)ms * SPEECH_RATE / 1000 * 2, sizeof(int16_t));
}

/* Adds a sine of amplitude amp (fraction of full scale) to channel ch over [from, to). */
static inline void synth_tone(int16_t *pcm, int ch, uint32_t from_ms, uint32_t to_ms, double hz,
                              double amp)
{
    for (size_t i = (size_t)from_ms * 8; i < (size_t)to_ms * 8; i++) {
        double v = pcm[2 * i + ch] + amp * 32767.0 * sin(2.0 * M_PI * hz * (double)i / 8000.0);
        pcm[2 * i + ch] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
}

/* Adds uniform noise of amplitude amp to both channels over [0, ms). */
static inline void synth_noise(int16_t *pcm, uint32_t ms, double amp)
{
    uint32_t seed = 12345;
    for (size_t i = 0; i < (size_t)ms * 8 * 2; i++) {
        seed = seed * 1103515245u + 12345u;
        pcm[i] = (int16_t)(pcm[i] + amp * 32767.0 * ((double)(seed >> 8) / 8388608.0 - 1.0));
    }
}

#endif
