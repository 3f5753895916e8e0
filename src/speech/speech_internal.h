/* Private to src/speech: the resampler, voice activity per channel, growable arrays. */
#ifndef WAIHU_SPEECH_INTERNAL_H
#define WAIHU_SPEECH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "speech.h"

#define SPEECH_FRAME_MS 10
#define SPEECH_FRAME_SAMPLES (SPEECH_RATE * SPEECH_FRAME_MS / 1000)

/* Doubles the sample rate of n mono samples into out[2 * n]: even outputs are the
 * inputs, odd ones a 48-tap Blackman-windowed half-band sinc interpolation (passband to
 * ~3.4 kHz at 8 kHz input, images above 4 kHz attenuated > 70 dB). Samples outside
 * [0, n) count as zero; no delay, so times are preserved exactly. Pure. */
void speech_upsample2(const int16_t *in, size_t n, int16_t *out);

/* A talk spurt: voiced 10 ms frames joined over gaps shorter than the hangover. */
struct spurt {
    uint32_t start_ms;
    uint32_t end_ms;
};

/* Voice activity and per-channel measures of one channel of an interleaved stereo buffer. */
struct channel_vad {
    struct spurt *spurts; /* heap, sorted; freed with channel_vad_free */
    size_t n_spurts;
    double threshold_dbfs;
    double loudness_dbfs;
    uint32_t speech_ms;
    uint32_t peaks; /* syllable-like energy peaks inside spurts */
};

/* Runs the VAD on channel ch (0 or 1) of n_frames stereo frames. Returns 0 or
 * WAIHU_ENOMEM. */
int channel_vad_run(const struct speech_signal_config *cfg, const int16_t *frames, size_t n_frames,
                    int ch, struct channel_vad *out);
void channel_vad_free(struct channel_vad *v);

/* Fills out from the two channels' VAD and the hits. Pure. */
void signals_combine(const struct speech_signal_config *cfg, const struct channel_vad v[2],
                     size_t n_frames, const struct speech_hit *hits, size_t n_hits,
                     struct speech_signals *out);

/* Up to max dictionary words within two phone edits of a one-word keyword (not the
 * keyword, its inflections or alternate pronunciations), closest first: *out is an array
 * of *n_out strings, the caller frees each and the array. keyword_phones is the keyword's
 * pronunciation ("K AA N T R AE K T"). Returns 0, WAIHU_EIO (dict unreadable) or
 * WAIHU_ENOMEM, with errmsg set. */
int decoys_find(const char *dict_path, const char *keyword, const char *keyword_phones, size_t max,
                char ***out, size_t *n_out, char *errmsg, size_t size);

/* Grows *items (of item_size bytes) to hold at least want items. Returns 0 or
 * WAIHU_ENOMEM (*items unchanged). */
int array_reserve(void **items, size_t *cap, size_t want, size_t item_size);

#endif
