/* Answering-machine detection from the first seconds after answer.
 *
 * People answer with a short greeting ("Hello?") and wait; machines play a long
 * greeting. Per 10 ms frame, a spandsp power meter (after a 250 Hz high-pass)
 * gives the level and a minimum-statistics noise floor sets the speech threshold
 * (never under min_speech_dbm0). Voiced runs become words; a long pause after a short
 * greeting means a person, a long or wordy greeting means a machine, and a
 * beep (a dominant steady tone, found with goertzel filters) means a machine.
 * At max_ms the detector settles on what it has. See docs/media.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp.h>

#include "media.h"

#define FRAME_SAMPLES 80 /* 10 ms */
#define FRAME_MS 10
#define NOISE_BLOCKS 10  /* noise floor: minimum over 10 blocks of 200 ms */
#define NOISE_BLOCK_FRAMES 20
#define BEEP_BLOCK 160   /* 20 ms goertzel blocks */
#define BEEP_MIN_BLOCKS 5 /* a beep lasts at least 100 ms */
#define N_BEEP_FREQS 5

static const float beep_freqs[N_BEEP_FREQS] = {440.0f, 800.0f, 1000.0f, 1400.0f, 2000.0f};

#ifndef AMD_METER_SHIFT
#define AMD_METER_SHIFT 7 /* ~16 ms: chosen on the tuning set (docs/media.md) */
#endif

enum phase { BEFORE_SPEECH, IN_WORD, IN_GAP };

/* Second-order Butterworth high-pass at 250 Hz (fs 8 kHz): the telephone band
 * starts at 300 Hz, so rumble under it is not speech. */
static const float hp_b[3] = {0.87033078f, -1.74066156f, 0.87033078f};
static const float hp_a[2] = {-1.72377617f, 0.75754694f};

struct media_amd {
    struct media_amd_config cfg;
    power_meter_t meter;
    float hp_x[2], hp_y[2];   /* high-pass filter state */
    goertzel_descriptor_t beep_desc[N_BEEP_FREQS];
    goertzel_state_t beep[N_BEEP_FREQS];
    double beep_energy;       /* sum of squares over the current goertzel block */
    int beep_run;             /* consecutive tone-dominated blocks */
    int beep_freq;            /* index of the frequency of the run */
    int frame_fill;
    uint32_t ms;              /* audio time fed so far, at frame resolution */
    float block_min[NOISE_BLOCKS];
    int block_frames, block_idx, blocks_full;
    enum phase phase;
    uint32_t run_ms;          /* length of the current word or gap */
    uint32_t greeting_start_ms, greeting_end_ms;
    uint32_t words;
    enum media_amd_result result;
    enum media_amd_reason reason;
    uint32_t decided_ms;
};

void media_amd_config_default(struct media_amd_config *cfg)
{
    cfg->max_ms = 3000;
    cfg->min_speech_dbm0 = -40.0f;
    cfg->speech_over_noise_db = 9.0f;
    cfg->min_word_ms = 90;
    cfg->between_words_ms = 70;
    cfg->after_greeting_ms = 700;
    cfg->max_greeting_ms = 1600;
    cfg->max_words = 5;
    cfg->deadline_greeting_ms = 1100;
}

int media_amd_new(const struct media_amd_config *cfg, struct media_amd **out)
{
    struct media_amd_config def;
    if (cfg == NULL) {
        media_amd_config_default(&def);
        cfg = &def;
    }
    if (cfg->max_ms == 0 || cfg->after_greeting_ms == 0 || cfg->between_words_ms == 0)
        return WAIHU_EINVAL;
    struct media_amd *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return WAIHU_ENOMEM;
    a->cfg = *cfg;
    power_meter_init(&a->meter, AMD_METER_SHIFT);
    for (int i = 0; i < N_BEEP_FREQS; i++) {
        make_goertzel_descriptor(&a->beep_desc[i], beep_freqs[i], BEEP_BLOCK);
        goertzel_init(&a->beep[i], &a->beep_desc[i]);
    }
    for (int i = 0; i < NOISE_BLOCKS; i++)
        a->block_min[i] = 100.0f;
    a->beep_freq = -1;
    *out = a;
    return 0;
}

void media_amd_free(struct media_amd *amd)
{
    free(amd);
}

static void decide(struct media_amd *a, enum media_amd_result r, enum media_amd_reason why)
{
    a->result = r;
    a->reason = why;
    a->decided_ms = a->ms;
}

static float noise_floor(const struct media_amd *a)
{
    float m = 100.0f;
    int n = a->blocks_full ? NOISE_BLOCKS : a->block_idx + 1;
    for (int i = 0; i < n; i++)
        m = fminf(m, a->block_min[i]);
    return m;
}

static void track_noise(struct media_amd *a, float level)
{
    a->block_min[a->block_idx] = fminf(a->block_min[a->block_idx], level);
    if (++a->block_frames == NOISE_BLOCK_FRAMES) {
        a->block_frames = 0;
        a->block_idx = (a->block_idx + 1) % NOISE_BLOCKS;
        if (a->block_idx == 0)
            a->blocks_full = 1;
        a->block_min[a->block_idx] = 100.0f;
    }
}

static uint32_t greeting_ms(const struct media_amd *a)
{
    return a->greeting_end_ms - a->greeting_start_ms;
}

/* One 10 ms frame ended at a->ms: classify it and move the word/gap machine. */
static void end_frame(struct media_amd *a)
{
    const struct media_amd_config *c = &a->cfg;
    float level = power_meter_current_dbm0(&a->meter);
    track_noise(a, level);
    float thr = fmaxf(c->min_speech_dbm0, noise_floor(a) + c->speech_over_noise_db);
    int voiced = level > thr;

    switch (a->phase) {
    case BEFORE_SPEECH:
        if (voiced) {
            a->phase = IN_WORD;
            a->run_ms = FRAME_MS;
            a->greeting_start_ms = a->ms - FRAME_MS;
            a->greeting_end_ms = a->ms;
        }
        break;
    case IN_WORD:
        if (voiced) {
            a->run_ms += FRAME_MS;
            a->greeting_end_ms = a->ms;
        } else {
            if (a->run_ms >= c->min_word_ms)
                a->words++;
            a->phase = IN_GAP;
            a->run_ms = FRAME_MS;
        }
        break;
    case IN_GAP:
        if (voiced) {
            if (a->words == 0 && a->run_ms >= c->after_greeting_ms) {
                /* Only clicks so far: start the greeting again here. */
                a->greeting_start_ms = a->ms - FRAME_MS;
            }
            a->phase = IN_WORD;
            a->run_ms = FRAME_MS;
            a->greeting_end_ms = a->ms;
        } else {
            a->run_ms += FRAME_MS;
        }
        break;
    }

    if (a->phase == IN_GAP && a->words > 0 && a->run_ms >= c->after_greeting_ms) {
        decide(a, MEDIA_AMD_HUMAN, MEDIA_AMD_R_SILENCE_AFTER_GREETING);
        return;
    }
    if (a->phase != BEFORE_SPEECH && greeting_ms(a) > c->max_greeting_ms) {
        decide(a, MEDIA_AMD_MACHINE, MEDIA_AMD_R_LONG_GREETING);
        return;
    }
    if (a->words > c->max_words) {
        decide(a, MEDIA_AMD_MACHINE, MEDIA_AMD_R_MANY_WORDS);
        return;
    }
    if (a->ms >= c->max_ms) {
        int talking = a->phase == IN_WORD || (a->phase == IN_GAP && a->run_ms < c->between_words_ms * 3);
        if (a->phase != BEFORE_SPEECH && talking && greeting_ms(a) >= c->deadline_greeting_ms)
            decide(a, MEDIA_AMD_MACHINE, MEDIA_AMD_R_DEADLINE_SPEECH);
        else
            decide(a, MEDIA_AMD_HUMAN, MEDIA_AMD_R_DEADLINE_QUIET);
    }
}

/* A 20 ms goertzel block ended: is it dominated by one of the beep tones? */
static void end_beep_block(struct media_amd *a)
{
    int best = -1;
    float best_ratio = 0.0f;
    for (int i = 0; i < N_BEEP_FREQS; i++) {
        float p = goertzel_result(&a->beep[i]); /* also resets the filter */
        /* A pure tone at the bin centre gives p ~= N * sum(x^2) / 2 (measured in tests). */
        float ratio = a->beep_energy > 0.0 ? (float)(2.0 * p / (BEEP_BLOCK * a->beep_energy)) : 0.0f;
        if (ratio > best_ratio) {
            best_ratio = ratio;
            best = i;
        }
    }
    float level_dbm0 = power_meter_current_dbm0(&a->meter);
    if (best >= 0 && best_ratio > 0.7f && level_dbm0 > a->cfg.min_speech_dbm0) {
        a->beep_run = (best == a->beep_freq) ? a->beep_run + 1 : 1;
        a->beep_freq = best;
    } else {
        a->beep_run = 0;
        a->beep_freq = -1;
    }
    a->beep_energy = 0.0;
}

enum media_amd_result media_amd_feed(struct media_amd *a, const int16_t *samples, size_t n)
{
    for (size_t i = 0; i < n && a->result == MEDIA_AMD_UNDECIDED; i++) {
        int16_t s = samples[i];
        float x = s;
        float y = hp_b[0] * x + hp_b[1] * a->hp_x[0] + hp_b[2] * a->hp_x[1] - hp_a[0] * a->hp_y[0] -
                  hp_a[1] * a->hp_y[1];
        a->hp_x[1] = a->hp_x[0];
        a->hp_x[0] = x;
        a->hp_y[1] = a->hp_y[0];
        a->hp_y[0] = y;
        power_meter_update(&a->meter, (int16_t)fmaxf(-32768.0f, fminf(32767.0f, y)));
        for (int k = 0; k < N_BEEP_FREQS; k++)
            goertzel_sample(&a->beep[k], s);
        a->beep_energy += (double)s * s;
        if (a->beep[0].current_sample >= BEEP_BLOCK) {
            end_beep_block(a);
            if (a->beep_run >= BEEP_MIN_BLOCKS) {
                decide(a, MEDIA_AMD_MACHINE, MEDIA_AMD_R_BEEP);
                break;
            }
        }
        if (++a->frame_fill == FRAME_SAMPLES) {
            a->frame_fill = 0;
            a->ms += FRAME_MS;
            end_frame(a);
        }
    }
    return a->result;
}

uint32_t media_amd_decided_ms(const struct media_amd *amd)
{
    return amd->decided_ms;
}

enum media_amd_reason media_amd_reason(const struct media_amd *amd)
{
    return amd->reason;
}

const char *media_amd_reason_name(enum media_amd_reason r)
{
    switch (r) {
    case MEDIA_AMD_R_NONE: return "none";
    case MEDIA_AMD_R_SILENCE_AFTER_GREETING: return "silence_after_greeting";
    case MEDIA_AMD_R_LONG_GREETING: return "long_greeting";
    case MEDIA_AMD_R_MANY_WORDS: return "many_words";
    case MEDIA_AMD_R_BEEP: return "beep";
    case MEDIA_AMD_R_DEADLINE_SPEECH: return "deadline_speech";
    case MEDIA_AMD_R_DEADLINE_QUIET: return "deadline_quiet";
    }
    return "?";
}
