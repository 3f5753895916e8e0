/* The analysis of one recording: voice activity per channel, the recogniser on each talk
 * spurt (upsampled to the model's rate), hits placed on the recording's timeline,
 * signals and the score. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "speech_internal.h"

#define MODEL_DIR "/usr/share/pocketsphinx/model/en-us"
#define CONFIG_STR_MAX 512

struct speech_engine {
    struct speech_config cfg;
    char hmm[CONFIG_STR_MAX], dict[CONFIG_STR_MAX], language[32], engine[32];
    const struct speech_recogniser_ops *ops; /* NULL: signals only */
    void *rec;
    int16_t *up; /* upsampling buffer */
    size_t up_cap;
};

const char *speech_channel_name(enum speech_channel ch)
{
    return ch == SPEECH_AGENT ? "agent" : "customer";
}

void speech_config_default(struct speech_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->recogniser = (struct speech_recogniser_config){
        .engine = "pocketsphinx",
        .hmm_dir = MODEL_DIR "/en-us",
        .dict = MODEL_DIR "/cmudict-en-us.dict",
        .language = "en-us",
        .threshold = 1e-10,
        .decoys = 8,
        .sample_rate_hz = 16000,
    };
    cfg->signals = (struct speech_signal_config){
        .vad_min_dbfs = -55.0,
        .vad_margin_db = 15.0,
        .hangover_ms = 300,
        .min_spurt_ms = 80,
        .interrupt_overlap_ms = 400,
        .interrupt_lead_ms = 300,
        .utterance_pad_ms = 250,
        .utterance_max_ms = 20000,
    };
}

static void copy_str(char *dst, size_t size, const char *src, const char *dflt)
{
    snprintf(dst, size, "%s", src != NULL ? src : dflt);
}

int speech_engine_new(const struct speech_config *cfg, struct speech_engine **out, char *errmsg,
                      size_t errmsg_size)
{
    struct speech_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return WAIHU_ENOMEM;
    e->cfg = *cfg;
    struct speech_recogniser_config *rc = &e->cfg.recogniser;
    copy_str(e->hmm, sizeof(e->hmm), rc->hmm_dir, MODEL_DIR "/en-us");
    copy_str(e->dict, sizeof(e->dict), rc->dict, MODEL_DIR "/cmudict-en-us.dict");
    copy_str(e->language, sizeof(e->language), rc->language, "en-us");
    copy_str(e->engine, sizeof(e->engine), rc->engine, "pocketsphinx");
    rc->hmm_dir = e->hmm;
    rc->dict = e->dict;
    rc->language = e->language;
    rc->engine = e->engine;
    if (rc->sample_rate_hz == 0)
        rc->sample_rate_hz = 16000;
    e->ops = cfg->ops;
    if (e->ops == NULL && strcmp(e->engine, "pocketsphinx") == 0)
        e->ops = &speech_pocketsphinx;
    else if (e->ops == NULL && strcmp(e->engine, "none") != 0) {
        snprintf(errmsg, errmsg_size, "speech engine '%s': want pocketsphinx or none", e->engine);
        free(e);
        return WAIHU_EINVAL;
    }
    if (rc->sample_rate_hz != 8000 && rc->sample_rate_hz != 16000) {
        snprintf(errmsg, errmsg_size, "sample_rate_hz %d: want 8000 or 16000", rc->sample_rate_hz);
        free(e);
        return WAIHU_EINVAL;
    }
    if (e->ops != NULL) {
        int rv = e->ops->open(rc, &e->rec, errmsg, errmsg_size);
        if (rv != 0) {
            free(e);
            return rv;
        }
    }
    *out = e;
    return 0;
}

void speech_engine_free(struct speech_engine *e)
{
    if (e == NULL)
        return;
    if (e->ops != NULL)
        e->ops->close(e->rec);
    free(e->up);
    free(e);
}

void speech_result_free(struct speech_result *r)
{
    if (r == NULL)
        return;
    free(r->hits);
    free(r->reasons);
    free(r);
}

/* Collects one channel's detections onto the recording's timeline. */
struct collect {
    struct speech_result *r;
    size_t cap;
    const struct speech_keyword *kw;
    size_t n_kw;
    enum speech_channel ch;
    uint32_t offset_ms;
    int err;
};

static void on_spot(void *arg, const struct speech_spot *s)
{
    struct collect *c = arg;
    if (c->err != 0 || s->keyword >= c->n_kw)
        return;
    const struct speech_keyword *k = &c->kw[s->keyword];
    if (k->channels != 0 && (k->channels & (1u << c->ch)) == 0)
        return;
    struct speech_result *r = c->r;
    uint32_t start = c->offset_ms + s->start_ms, end = c->offset_ms + s->end_ms;
    /* The same word seen again by an overlapping utterance piece: keep the surer one. */
    for (size_t i = 0; i < r->n_hits; i++) {
        struct speech_hit *h = &r->hits[i];
        if (h->keyword == s->keyword && h->channel == c->ch && start < h->end_ms &&
            h->start_ms < end) {
            if (s->score > h->score) {
                h->start_ms = start;
                h->end_ms = end;
                h->score = s->score;
            }
            return;
        }
    }
    if (array_reserve((void **)&r->hits, &c->cap, r->n_hits + 1, sizeof(*r->hits)) != 0) {
        c->err = WAIHU_ENOMEM;
        return;
    }
    struct speech_hit *h = &r->hits[r->n_hits++];
    memset(h, 0, sizeof(*h));
    snprintf(h->phrase, sizeof(h->phrase), "%s", k->phrase);
    h->keyword = s->keyword;
    h->channel = c->ch;
    h->start_ms = start;
    h->end_ms = end;
    h->score = s->score;
}

/* Runs the recogniser over the spurts of one channel, padded and cut into pieces of at
 * most utterance_max_ms, so that each utterance starts near silence and offsets add up. */
static int spot_channel(struct speech_engine *e, const struct channel_vad *v, const int16_t *frames,
                        size_t n_frames, struct collect *c, char *errmsg, size_t size)
{
    const struct speech_signal_config *sc = &e->cfg.signals;
    const uint32_t total_ms = (uint32_t)((uint64_t)n_frames * 1000 / SPEECH_RATE);
    const int up = e->cfg.recogniser.sample_rate_hz == 16000;
    const uint32_t max_ms = sc->utterance_max_ms < 2000 ? 2000 : sc->utterance_max_ms;
    const uint32_t overlap_ms = 1000;
    int16_t *mono = NULL;
    size_t mono_cap = 0;
    int rv = 0;
    for (size_t i = 0; i < v->n_spurts && rv == 0; i++) {
        uint32_t from = v->spurts[i].start_ms, to = v->spurts[i].end_ms;
        /* Join the following spurts that the padding would overlap anyway. */
        while (i + 1 < v->n_spurts && v->spurts[i + 1].start_ms < to + 2 * sc->utterance_pad_ms &&
               v->spurts[i + 1].end_ms - from <= max_ms)
            to = v->spurts[++i].end_ms;
        from = from > sc->utterance_pad_ms ? from - sc->utterance_pad_ms : 0;
        to = to + sc->utterance_pad_ms < total_ms ? to + sc->utterance_pad_ms : total_ms;
        for (uint32_t piece = from; piece < to && rv == 0;) {
            /* Long pieces overlap by a second so that a word on the cut is seen whole. */
            uint32_t end = to - piece > max_ms ? piece + max_ms : to;
            size_t first = (size_t)piece * SPEECH_RATE / 1000;
            size_t n = (size_t)(end - piece) * SPEECH_RATE / 1000;
            if (first + n > n_frames)
                n = n_frames - first;
            if (array_reserve((void **)&mono, &mono_cap, n, sizeof(*mono)) != 0 ||
                (up && array_reserve((void **)&e->up, &e->up_cap, 2 * n, sizeof(*e->up)) != 0)) {
                rv = WAIHU_ENOMEM;
                break;
            }
            for (size_t k = 0; k < n; k++)
                mono[k] = frames[2 * (first + k) + c->ch];
            if (up)
                speech_upsample2(mono, n, e->up);
            c->offset_ms = piece;
            rv = e->ops->spot(e->rec, up ? e->up : mono, up ? 2 * n : n, on_spot, c, errmsg, size);
            if (rv == 0 && c->err != 0)
                rv = c->err;
            piece = end >= to ? to : end - overlap_ms;
        }
    }
    free(mono);
    return rv;
}

static int by_start(const void *a, const void *b)
{
    const struct speech_hit *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return (int)x->channel - (int)y->channel;
}

static double seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int speech_analyse(struct speech_engine *e, const struct speech_keyword *kw, size_t n_kw,
                   const int16_t *frames, size_t n_frames, struct speech_result **out, char *errmsg,
                   size_t errmsg_size)
{
    double wall0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_THREAD_CPUTIME_ID);
    struct channel_vad v[SPEECH_CHANNELS] = {0};
    struct speech_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return WAIHU_ENOMEM;
    int rv = 0;
    for (int ch = 0; ch < SPEECH_CHANNELS && rv == 0; ch++)
        rv = channel_vad_run(&e->cfg.signals, frames, n_frames, ch, &v[ch]);
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "voice activity: %s", waihu_strerror(rv));
        goto err;
    }
    if (e->ops != NULL && n_kw > 0) {
        rv = e->ops->set_keywords(e->rec, kw, n_kw, errmsg, errmsg_size);
        if (rv != 0)
            goto err;
        struct collect c = {.r = r, .kw = kw, .n_kw = n_kw};
        for (int ch = 0; ch < SPEECH_CHANNELS && rv == 0; ch++) {
            c.ch = (enum speech_channel)ch;
            rv = spot_channel(e, &v[ch], frames, n_frames, &c, errmsg, errmsg_size);
        }
        if (rv != 0)
            goto err;
        if (r->n_hits > 1)
            qsort(r->hits, r->n_hits, sizeof(*r->hits), by_start);
    }
    signals_combine(&e->cfg.signals, v, n_frames, r->hits, r->n_hits, &r->signals);
    rv = speech_score(kw, n_kw, r);
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "score: %s", waihu_strerror(rv));
        goto err;
    }
    r->audio_s = (double)n_frames / SPEECH_RATE;
    r->processing_s = seconds(CLOCK_MONOTONIC) - wall0;
    r->cpu_s = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    channel_vad_free(&v[0]);
    channel_vad_free(&v[1]);
    *out = r;
    return 0;
err:
    channel_vad_free(&v[0]);
    channel_vad_free(&v[1]);
    speech_result_free(r);
    return rv;
}
