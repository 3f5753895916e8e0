/* The speech worker (docs/recordings.md "Speech"): every live catalogue row first held by
 * this node and not analysed yet (told by the view's watcher, at start and on each commit)
 * is queued; up to `workers` analyses run on the uv pool (speech_analyse_file with the
 * recording key and the tenant's keyword list), each with an engine from a free list
 * (created lazily in the pool thread, reused, freed at stop); the loop then commits the
 * hits and the score with api_recording_set_analysis. A failed analysis is committed as
 * such ("failed: why") and never retried; a model that cannot load is logged once and the
 * worker stays idle (rows stay unanalysed, so a restart with the model analyses them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_recording_internal.h"

#define WORKERS_MAX 16
#define PENDING_MAX 200000 /* beyond: dropped until the next start's view build */
#define COMMIT_TRIES 3     /* conflicts (the row changed: a hold) before giving up */

struct pend {
    uint64_t tenant, node, call;
    struct pend *next;
};

struct job {
    struct rec_speech *s;
    uv_work_t work;
    uint64_t tenant, node, call;
    char path[512];
    uint8_t key[SPEECH_KEY_BYTES];
    struct rec_kwlist kw;
    struct speech_engine *engine; /* from the free list, or made by the work */
    bool engine_failed;
    int rv;
    char err[256];
    struct speech_result *result;
    int tries;
    struct job *next; /* running or committing */
    /* the analysis as committed */
    Recording an;
    RecordingKeywordHit *hits;
    RecordingKeywordHit **hit_ptrs;
    char **reasons;
    char error[300];
};

struct rec_speech {
    struct api *a;
    struct speech_config cfg;
    char hmm_dir[400], dict[400];
    unsigned workers, running, committing;
    struct pend *head, *tail;
    size_t n_pending;
    struct job *jobs; /* running and committing */
    struct speech_engine *idle[WORKERS_MAX];
    size_t n_idle;
    uv_timer_t kick;
    bool broken, stopping, kick_closed, warned_full;
};

static void dispatch(uv_timer_t *t);

static void release(struct rec_speech *s)
{
    if (!s->stopping || !s->kick_closed || s->running > 0 || s->committing > 0) {
        return;
    }
    for (size_t i = 0; i < s->n_idle; i++) {
        speech_engine_free(s->idle[i]);
    }
    free(s);
}

static void unlink_job(struct rec_speech *s, struct job *j)
{
    for (struct job **p = &s->jobs; *p != NULL; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            return;
        }
    }
}

static void job_free(struct job *j)
{
    if (j->result != NULL) {
        speech_result_free(j->result);
    }
    free(j->hits);
    free(j->hit_ptrs);
    free(j->reasons);
    free(j);
}

static void engine_put(struct rec_speech *s, struct speech_engine *e)
{
    if (e == NULL) {
        return;
    }
    if (s->n_idle < WORKERS_MAX && !s->broken) {
        s->idle[s->n_idle++] = e;
    } else {
        speech_engine_free(e);
    }
}

/* ---- the pool thread ---- */

static void work(uv_work_t *w)
{
    struct job *j = w->data;
    if (j->engine == NULL) {
        int rv = speech_engine_new(&j->s->cfg, &j->engine, j->err, sizeof j->err);
        if (rv != 0) {
            j->engine = NULL;
            j->engine_failed = true;
            return;
        }
    }
    rec_kwlist_bind(&j->kw);
    j->rv = speech_analyse_file(j->engine, j->kw.kw, j->kw.n, j->path, j->key, &j->result,
                                j->err, sizeof j->err);
}

/* ---- back on the loop ---- */

static void committed(void *data, int status)
{
    struct job *j = data;
    struct rec_speech *s = j->s;
    if (status == WAIHU_ECONFLICT && !s->stopping && ++j->tries < COMMIT_TRIES) {
        api_recording_set_analysis(s->a, j->tenant, j->node, j->call, &j->an, committed, j);
        return;
    }
    if (status != 0 && status != WAIHU_ENOTFOUND) {
        /* Left unanalysed: the next start's view build queues it again. */
        LOG_W("api", "speech: recording %llu-%llu: commit failed (%s)",
              (unsigned long long)j->node, (unsigned long long)j->call,
              waihu_strerror(status));
    }
    s->committing--;
    unlink_job(s, j);
    job_free(j);
    if (s->stopping) {
        release(s);
        return;
    }
    uv_timer_start(&s->kick, dispatch, 0, 0);
}

/* Fills j->an from the result (or the failure). */
static void analysis_of(struct job *j)
{
    Recording *an = &j->an;
    recording__init(an);
    an->analysed = true;
    if (j->rv != 0) {
        snprintf(j->error, sizeof j->error, "failed: %s: %s", waihu_strerror(j->rv),
                 j->err[0] ? j->err : "no detail");
        an->analysis_error = j->error;
        return;
    }
    struct speech_result *r = j->result;
    j->hits = calloc(r->n_hits ? r->n_hits : 1, sizeof *j->hits);
    j->hit_ptrs = calloc(r->n_hits ? r->n_hits : 1, sizeof *j->hit_ptrs);
    j->reasons = calloc(r->n_reasons ? r->n_reasons : 1, sizeof *j->reasons);
    if (j->hits == NULL || j->hit_ptrs == NULL || j->reasons == NULL) {
        waihu_fatal("api", "out of memory");
    }
    for (size_t i = 0; i < r->n_hits; i++) {
        recording_keyword_hit__init(&j->hits[i]);
        j->hits[i].keyword = r->hits[i].phrase;
        j->hits[i].channel = (uint32_t)r->hits[i].channel;
        j->hits[i].offset_ms = r->hits[i].start_ms;
        j->hits[i].end_ms = r->hits[i].end_ms;
        j->hit_ptrs[i] = &j->hits[i];
    }
    for (size_t i = 0; i < r->n_reasons; i++) {
        j->reasons[i] = r->reasons[i].text;
    }
    an->keywords = j->hit_ptrs;
    an->n_keywords = r->n_hits;
    an->sentiment_reasons = j->reasons;
    an->n_sentiment_reasons = r->n_reasons;
    an->risk_score = (uint32_t)(r->score < 0 ? 0 : r->score);
    an->sentiment = -(double)an->risk_score / 100.0;
    an->analysis_error = "";
    an->audio_s = r->audio_s;
    an->processing_s = r->processing_s;
}

static void after_work(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct rec_speech *s = j->s;
    s->running--;
    engine_put(s, j->engine);
    j->engine = NULL;
    if (s->stopping || status == UV_ECANCELED) {
        unlink_job(s, j);
        job_free(j);
        release(s);
        return;
    }
    if (j->engine_failed) {
        if (!s->broken) {
            LOG_E("api", "speech: the model cannot load (%s): recordings are not analysed "
                         "(speech.hmm_dir, speech.dict; docs/speech.md)", j->err);
        }
        s->broken = true;
        unlink_job(s, j);
        job_free(j);
        return;
    }
    analysis_of(j);
    if (j->rv != 0) {
        LOG_W("api", "speech: recording %llu-%llu (%s): %s", (unsigned long long)j->node,
              (unsigned long long)j->call, j->path, j->error);
    } else {
        LOG_D("api", "speech: recording %llu-%llu: %zu hit(s), score %d, %.1f s in %.2f s",
              (unsigned long long)j->node, (unsigned long long)j->call, j->result->n_hits,
              j->result->score, j->result->audio_s, j->result->processing_s);
    }
    s->committing++;
    api_recording_set_analysis(s->a, j->tenant, j->node, j->call, &j->an, committed, j);
}

static bool busy_with(struct rec_speech *s, const struct pend *p)
{
    for (struct job *j = s->jobs; j != NULL; j = j->next) {
        if (j->tenant == p->tenant && j->node == p->node && j->call == p->call) {
            return true;
        }
    }
    return false;
}

/* The row still needs its analysis here (read again: the queue may hold duplicates). */
static Recording *still_due(struct rec_speech *s, const struct pend *p)
{
    struct api_recordings *k = s->a->recordings;
    Recording *r = rec_read(s->a->store, p->tenant, p->node, p->call, NULL, NULL);
    if (r != NULL && r->deleted_at_ms == 0 && !r->analysed && r->n_holders > 0 &&
        r->holders[0] == k->self && r->error[0] == '\0' && r->file[0] != '\0' &&
        !busy_with(s, p)) {
        return r;
    }
    if (r != NULL) {
        recording__free_unpacked(r, NULL);
    }
    return NULL;
}

static void start_one(struct rec_speech *s, const struct pend *p, const Recording *r)
{
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        waihu_fatal("api", "out of memory");
    }
    j->s = s;
    j->tenant = p->tenant;
    j->node = p->node;
    j->call = p->call;
    snprintf(j->path, sizeof j->path, "%s/%s", s->a->recordings->dir, r->file);
    if (api_recording_key(s->a, j->key) != 0) {
        free(j);
        return; /* no master key: nothing was recorded encrypted here either */
    }
    rec_keywords_load(s->a->store, p->tenant, &j->kw, NULL, NULL, 0);
    if (s->n_idle > 0) {
        j->engine = s->idle[--s->n_idle];
    }
    j->work.data = j;
    j->next = s->jobs;
    s->jobs = j;
    s->running++;
    int rv = uv_queue_work(s->a->loop, &j->work, work, after_work);
    if (rv != 0) {
        waihu_fatal("api", "speech: uv_queue_work: %s", uv_strerror(rv));
    }
}

static void dispatch(uv_timer_t *t)
{
    struct rec_speech *s = t->data;
    while (!s->broken && !s->stopping && s->running < s->workers && s->head != NULL) {
        struct pend *p = s->head;
        s->head = p->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        s->n_pending--;
        Recording *r = still_due(s, p);
        if (r != NULL) {
            start_one(s, p, r);
            recording__free_unpacked(r, NULL);
        }
        free(p);
    }
}

void rec_speech_on_row(struct api *a, const Recording *r)
{
    struct api_recordings *k = a->recordings;
    struct rec_speech *s = k != NULL ? k->speech : NULL;
    if (s == NULL || s->broken || s->stopping || r->deleted_at_ms != 0 || r->analysed ||
        r->n_holders == 0 || r->holders[0] != k->self || r->error[0] != '\0' ||
        k->dir[0] == '\0') {
        return;
    }
    if (s->n_pending >= PENDING_MAX) {
        if (!s->warned_full) {
            LOG_W("api", "speech: %d recordings queued; more wait for the next start",
                  PENDING_MAX);
            s->warned_full = true;
        }
        return;
    }
    struct pend *p = malloc(sizeof *p);
    if (p == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *p = (struct pend){.tenant = r->tenant_id, .node = r->node, .call = r->call_id};
    if (s->tail != NULL) {
        s->tail->next = p;
    } else {
        s->head = p;
    }
    s->tail = p;
    s->n_pending++;
    /* Not from inside the watcher: the dispatch reads the store and queues work. */
    if (!uv_is_active((uv_handle_t *)&s->kick)) {
        uv_timer_start(&s->kick, dispatch, 0, 0);
    }
}

struct rec_speech *rec_speech_start(struct api *a, const struct rec_speech_config *conf)
{
    if (!conf->enabled) {
        LOG_I("api", "speech: off (speech.enabled = 0)");
        return NULL;
    }
    struct rec_speech *s = calloc(1, sizeof *s);
    if (s == NULL) {
        waihu_fatal("api", "out of memory");
    }
    s->a = a;
    s->workers = conf->workers == 0 ? 1 : conf->workers > WORKERS_MAX ? WORKERS_MAX
                                                                       : conf->workers;
    speech_config_default(&s->cfg);
    if (conf->hmm_dir != NULL && conf->hmm_dir[0] != '\0') {
        snprintf(s->hmm_dir, sizeof s->hmm_dir, "%s", conf->hmm_dir);
        s->cfg.recogniser.hmm_dir = s->hmm_dir;
    }
    if (conf->dict != NULL && conf->dict[0] != '\0') {
        snprintf(s->dict, sizeof s->dict, "%s", conf->dict);
        s->cfg.recogniser.dict = s->dict;
    }
    uv_timer_init(a->loop, &s->kick);
    s->kick.data = s;
    return s;
}

static void kick_closed(uv_handle_t *h)
{
    struct rec_speech *s = h->data;
    s->kick_closed = true;
    release(s);
}

void rec_speech_stop(struct rec_speech *s)
{
    if (s == NULL) {
        return;
    }
    s->stopping = true;
    while (s->head != NULL) {
        struct pend *p = s->head;
        s->head = p->next;
        free(p);
    }
    s->tail = NULL;
    s->n_pending = 0;
    uv_timer_stop(&s->kick);
    uv_close((uv_handle_t *)&s->kick, kick_closed);
}
