/* Conversation signals from energy alone: a voice activity detector per channel (10 ms
 * frames against an adaptive threshold), talk spurts, loudness, a syllable-rate estimate,
 * interruptions and silences across the two channels. Pure code; docs/speech.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "speech_internal.h"

#define HIST_MIN_DB -100
#define HIST_BINS 101     /* 1 dB bins from -100 to 0 dBFS */
#define PEAK_SWING_DB 5.0 /* rise and fall around a syllable nucleus */

int array_reserve(void **items, size_t *cap, size_t want, size_t item_size)
{
    if (want <= *cap)
        return 0;
    size_t n = *cap == 0 ? 16 : *cap;
    while (n < want)
        n *= 2;
    void *p = realloc(*items, n * item_size);
    if (p == NULL)
        return WAIHU_ENOMEM;
    *items = p;
    *cap = n;
    return 0;
}

static double frame_db(const int16_t *frames, size_t first, size_t count, int ch)
{
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        double s = frames[2 * (first + i) + (size_t)ch];
        sum += s * s;
    }
    double ms = sum / ((double)count * 32768.0 * 32768.0);
    double db = ms > 0.0 ? 10.0 * log10(ms) : SPEECH_FLOOR_DBFS;
    return db < SPEECH_FLOOR_DBFS ? SPEECH_FLOOR_DBFS : db;
}

/* Threshold: the noise floor (5th percentile of frame levels) plus a margin, but never
 * below vad_min_dbfs, and never above -30 dBFS so that a channel talking all the time
 * still finds its speech. */
static double pick_threshold(const struct speech_signal_config *cfg, const double *db, size_t n)
{
    size_t hist[HIST_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        int b = (int)floor(db[i]) - HIST_MIN_DB;
        hist[b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b]++;
    }
    size_t want = n / 20, seen = 0;
    double floor_db = HIST_MIN_DB;
    for (int b = 0; b < HIST_BINS; b++) {
        seen += hist[b];
        if (seen > want) {
            floor_db = HIST_MIN_DB + b;
            break;
        }
    }
    double thr = floor_db + cfg->vad_margin_db;
    if (thr > -30.0)
        thr = -30.0;
    return thr < cfg->vad_min_dbfs ? cfg->vad_min_dbfs : thr;
}

static int spurt_push(struct channel_vad *v, size_t *cap, uint32_t start, uint32_t end)
{
    if (array_reserve((void **)&v->spurts, cap, v->n_spurts + 1, sizeof(*v->spurts)) != 0)
        return WAIHU_ENOMEM;
    v->spurts[v->n_spurts++] = (struct spurt){start, end};
    return 0;
}

/* Syllable-like nuclei: peaks of the smoothed frame level that rise PEAK_SWING_DB over the
 * preceding valley and fall as much after (or end the spurt), inside spurts only. */
static uint32_t count_peaks(const double *db, size_t first, size_t last, double thr)
{
    uint32_t peaks = 0;
    int rising = 1;
    double valley = thr, top = -1e9;
    for (size_t i = first; i < last; i++) {
        double prev = i > first ? db[i - 1] : db[i], next = i + 1 < last ? db[i + 1] : db[i];
        double env = (prev + 2.0 * db[i] + next) / 4.0;
        if (rising) {
            if (env > top)
                top = env;
            if (top - valley >= PEAK_SWING_DB && env <= top - PEAK_SWING_DB) {
                peaks++;
                rising = 0;
                valley = env;
            }
        } else {
            if (env < valley)
                valley = env;
            if (env >= valley + PEAK_SWING_DB) {
                rising = 1;
                top = env;
            }
        }
    }
    if (rising && top - valley >= PEAK_SWING_DB && top > thr)
        peaks++;
    return peaks;
}

int channel_vad_run(const struct speech_signal_config *cfg, const int16_t *frames, size_t n_frames,
                    int ch, struct channel_vad *out)
{
    memset(out, 0, sizeof(*out));
    out->loudness_dbfs = SPEECH_FLOOR_DBFS;
    size_t n = n_frames / SPEECH_FRAME_SAMPLES; /* a partial last frame is ignored */
    if (n == 0)
        return 0;
    double *db = malloc(n * sizeof(*db));
    if (db == NULL)
        return WAIHU_ENOMEM;
    for (size_t i = 0; i < n; i++)
        db[i] = frame_db(frames, i * SPEECH_FRAME_SAMPLES, SPEECH_FRAME_SAMPLES, ch);
    double thr = out->threshold_dbfs = pick_threshold(cfg, db, n);

    size_t cap = 0;
    const size_t hang = cfg->hangover_ms / SPEECH_FRAME_MS;
    const size_t min_len = cfg->min_spurt_ms / SPEECH_FRAME_MS;
    size_t start = 0, last_voiced = 0;
    int open = 0;
    double energy = 0.0;
    size_t voiced = 0;
    for (size_t i = 0; i <= n; i++) {
        int v = i < n && db[i] > thr;
        if (v && !open) {
            open = 1;
            start = i;
        }
        if (v)
            last_voiced = i;
        if (open && (i == n || (!v && i - last_voiced > hang))) {
            open = 0;
            size_t end = last_voiced + 1;
            if (end - start < min_len)
                continue;
            if (spurt_push(out, &cap, (uint32_t)(start * SPEECH_FRAME_MS),
                           (uint32_t)(end * SPEECH_FRAME_MS)) != 0)
                goto err;
            out->speech_ms += (uint32_t)((end - start) * SPEECH_FRAME_MS);
            out->peaks += count_peaks(db, start, end, thr);
            for (size_t j = start; j < end; j++)
                if (db[j] > thr) {
                    energy += pow(10.0, db[j] / 10.0);
                    voiced++;
                }
        }
    }
    if (voiced > 0)
        out->loudness_dbfs = 10.0 * log10(energy / (double)voiced);
    free(db);
    return 0;
err:
    free(db);
    channel_vad_free(out);
    return WAIHU_ENOMEM;
}

void channel_vad_free(struct channel_vad *v)
{
    free(v->spurts);
    v->spurts = NULL;
    v->n_spurts = 0;
}

/* Spurts of x that start while y has been talking for at least lead_ms and overlap y's
 * spurt for at least overlap_ms. */
static uint32_t count_interruptions(const struct speech_signal_config *cfg,
                                    const struct channel_vad *x, const struct channel_vad *y)
{
    uint32_t count = 0;
    size_t j = 0;
    for (size_t i = 0; i < x->n_spurts; i++) {
        const struct spurt *s = &x->spurts[i];
        while (j < y->n_spurts && y->spurts[j].end_ms <= s->start_ms)
            j++;
        if (j == y->n_spurts)
            break;
        const struct spurt *t = &y->spurts[j];
        if (t->start_ms + cfg->interrupt_lead_ms > s->start_ms)
            continue;
        uint32_t end = s->end_ms < t->end_ms ? s->end_ms : t->end_ms;
        if (end - s->start_ms >= cfg->interrupt_overlap_ms)
            count++;
    }
    return count;
}

void signals_combine(const struct speech_signal_config *cfg, const struct channel_vad v[2],
                     size_t n_frames, const struct speech_hit *hits, size_t n_hits,
                     struct speech_signals *out)
{
    memset(out, 0, sizeof(*out));
    uint32_t dur = (uint32_t)(n_frames / SPEECH_FRAME_SAMPLES * SPEECH_FRAME_MS);
    out->duration_ms = dur;
    for (int c = 0; c < SPEECH_CHANNELS; c++) {
        struct speech_channel_signals *s = &out->ch[c];
        s->speech_ms = v[c].speech_ms;
        s->speaking_ratio = dur > 0 ? (double)v[c].speech_ms / dur : 0.0;
        s->silence_ratio = 1.0 - s->speaking_ratio;
        s->loudness_dbfs = v[c].loudness_dbfs;
        s->rate_per_s = v[c].speech_ms > 0 ? v[c].peaks * 1000.0 / v[c].speech_ms : 0.0;
        s->spurts = (uint32_t)v[c].n_spurts;
        s->interruptions = count_interruptions(cfg, &v[c], &v[1 - c]);
    }
    for (size_t i = 0; i < n_hits; i++)
        out->ch[hits[i].channel == SPEECH_AGENT].hits++;

    /* Sweep both spurt lists in time order: overlap and the silences between. */
    size_t i = 0, j = 0;
    uint32_t t = 0, silence = 0;
    while (t < dur) {
        const struct spurt *a = i < v[0].n_spurts ? &v[0].spurts[i] : NULL;
        const struct spurt *b = j < v[1].n_spurts ? &v[1].spurts[j] : NULL;
        int in_a = a != NULL && a->start_ms <= t, in_b = b != NULL && b->start_ms <= t;
        uint32_t next = dur;
        if (a != NULL)
            next = in_a ? (a->end_ms < next ? a->end_ms : next)
                        : (a->start_ms < next ? a->start_ms : next);
        if (b != NULL)
            next = in_b ? (b->end_ms < next ? b->end_ms : next)
                        : (b->start_ms < next ? b->start_ms : next);
        if (next > dur)
            next = dur;
        uint32_t len = next - t;
        if (in_a && in_b)
            out->overlap_ms += len;
        if (!in_a && !in_b) {
            silence += len;
            out->mutual_silence_ratio += len;
            if (silence > out->longest_silence_ms)
                out->longest_silence_ms = silence;
        } else {
            silence = 0;
        }
        t = next;
        if (in_a && a->end_ms <= t)
            i++;
        if (in_b && b->end_ms <= t)
            j++;
    }
    out->mutual_silence_ratio = dur > 0 ? out->mutual_silence_ratio / dur : 0.0;
}

int speech_signals_compute(const struct speech_signal_config *cfg, const int16_t *frames,
                           size_t n_frames, const struct speech_hit *hits, size_t n_hits,
                           struct speech_signals *out)
{
    struct channel_vad v[2];
    int rv = channel_vad_run(cfg, frames, n_frames, 0, &v[0]);
    if (rv != 0)
        return rv;
    rv = channel_vad_run(cfg, frames, n_frames, 1, &v[1]);
    if (rv != 0) {
        channel_vad_free(&v[0]);
        return rv;
    }
    signals_combine(cfg, v, n_frames, hits, n_hits, out);
    channel_vad_free(&v[0]);
    channel_vad_free(&v[1]);
    return 0;
}
