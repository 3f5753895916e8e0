/* Private to the recordings files of src/api (docs/recordings.md). */
#ifndef WAIHU_API_RECORDING_INTERNAL_H
#define WAIHU_API_RECORDING_INTERNAL_H

#include "api_internal.h"
#include "recording_index.h"
#include "recording_params.h"
#include "speech.h"

/* Keys of the recording family. */
#define REC_ROW_KEY_BYTES 33    /* 'r' | tenant | start_ms | node | call */
#define REC_ID_KEY_BYTES 25     /* 'i' | tenant | node | call -> be64 start_ms */
#define REC_POLICY_KEY_BYTES 9  /* 'p' | tenant */
#define REC_DAYS_DEFAULT 180
#define REC_DAYS_MIN 180
#define REC_DAYS_MAX 36500
#define REC_DAY_MS (86400LL * 1000)
#define REC_KEYWORDS_KEY_BYTES 9 /* 'k' | tenant */
#define REC_KEYWORDS_MAX 32

void rec_row_key(uint64_t tenant, int64_t start_ms, uint64_t node, uint64_t call,
                 uint8_t out[REC_ROW_KEY_BYTES]);
void rec_id_key(uint64_t tenant, uint64_t node, uint64_t call, uint8_t out[REC_ID_KEY_BYTES]);
void rec_policy_key(uint64_t tenant, uint8_t out[REC_POLICY_KEY_BYTES]);

/* The catalogue row of (tenant, node, call), live or tombstone, with its raw bytes (for
 * conditions) when raw is not NULL (caller frees both: recording__free_unpacked, free).
 * NULL when there is none. Any thread. */
Recording *rec_read(struct store *s, uint64_t tenant, uint64_t node, uint64_t call, void **raw,
                    size_t *raw_len);
/* A row's key from the row. */
void rec_key_of(const Recording *r, uint8_t out[REC_ROW_KEY_BYTES]);
/* Puts r (packed) at its key in mb, conditioned on the row still being raw (raw NULL: no
 * condition). */
void rec_put(struct store_mutation_builder *mb, const Recording *r, const void *raw,
             size_t raw_len);
/* Adds the tombstone of r (deleted_at stamped by the FSM, reason) to mb, conditioned on
 * the row being raw still (a hold set meanwhile wins), with an audit row by who. */
void rec_tombstone_add(struct store_mutation_builder *mb, const Recording *r, const void *raw,
                       size_t raw_len, const char *reason, const struct auth_principal *who,
                       const char *detail);
/* The tenant's retention in days (REC_DAYS_DEFAULT without a policy). */
uint32_t rec_policy_days(struct store *s, uint64_t tenant);
/* Whether who may see r: same tenant, live, agents only their own calls'. */
bool rec_visible(const struct auth_principal *who, const Recording *r);
/* The row as JSON for the API. */
json_t *rec_json(struct api *a, const Recording *r);
/* Whether node holds the file of r. */
bool rec_held_by(const Recording *r, uint64_t node);

/* The node's in-memory view of the catalogue (api_recording_view.c), kept by watchers of
 * the recording family and of dispositions. */
struct rec_view;
int rec_view_start(struct api *a, struct rec_view **out);
void rec_view_stop(struct rec_view *v);
/* Search (newest first, rec_index_search): fills up to q->limit hits of tenant into out;
 * *more is set when another page follows. Returns how many, or -1 while the view is being
 * built. */
int rec_view_search(struct rec_view *v, uint64_t tenant, const char *only_agent,
                    const struct recording_query *q, struct rec_hit *out, bool *more);
/* Visits every live entry whose end + its tenant's days is at or before now_ms and that is
 * not held, oldest first per tenant, until fn returns nonzero or max were given. */
void rec_view_expired(struct rec_view *v, struct store *s, int64_t now_ms, size_t max,
                      rec_expired_fn fn, void *data);
/* Row changes (from the watcher) are also told to the sweeper: file removal. */
void rec_sweep_on_row(struct api *a, const Recording *r);

/* A tenant's keyword list (api_recording_keywords.c); kw[i].phrase points into phrase[i]:
 * after copying the struct, call rec_kwlist_bind. */
struct rec_kwlist {
    size_t n;
    struct speech_keyword kw[REC_KEYWORDS_MAX];
    char phrase[REC_KEYWORDS_MAX][SPEECH_PHRASE_MAX];
};
void rec_keywords_key(uint64_t tenant, uint8_t out[REC_KEYWORDS_KEY_BYTES]);
void rec_kwlist_bind(struct rec_kwlist *l);
/* The tenant's list (the default one without a row); updated_ms/by may be NULL. Any
 * thread. */
void rec_keywords_load(struct store *s, uint64_t tenant, struct rec_kwlist *out,
                       int64_t *updated_ms, char *updated_by, size_t by_cap);
/* GET/PUT /v1/recordings/keywords (roles checked by the caller). */
void rec_keywords_get(struct api *a, struct http_request *req);
void rec_keywords_put(struct api *a, struct http_request *req);

/* The speech worker (api_recording_speech.c): analyses the recordings this node holds
 * first, on the uv pool, and commits the results. */
struct rec_speech;
struct rec_speech_config {
    bool enabled;
    unsigned workers;    /* concurrent analyses (one engine each) */
    const char *hmm_dir; /* "" or NULL = speech's default */
    const char *dict;
};
struct rec_speech *rec_speech_start(struct api *a, const struct rec_speech_config *conf);
/* Drops the queue; frees itself once the analyses in flight ended. */
void rec_speech_stop(struct rec_speech *s);
/* From the view's watcher: a live row not analysed yet, first held here, is queued. */
void rec_speech_on_row(struct api *a, const Recording *r);

/* Node-side state of the recordings service (api_recordings.c). */
struct api_recordings {
    struct api *a;
    struct rec_view *view;
    struct rec_speech *speech;
    char dir[400];           /* this node's recordings directory, "" = none */
    uint64_t self;           /* this node's id */
    uv_timer_t sweep_timer;  /* retention (leader) */
    unsigned sweeps_in_flight;
    unsigned jobs_in_flight; /* playbacks and file removals: k is freed after them */
    bool stopping, timer_closed;
};
/* Frees k once it is stopping, its timer closed and no job is in flight. */
void rec_service_release(struct api_recordings *k);

/* api_recording_audio.c: GET /v1/recordings/{id}/audio. */
void rec_audio_get(struct api *a, struct http_request *req, uint64_t node, uint64_t call);
/* api_recording_sweep.c: the retention sweeper (leader) and file removal (every node). */
void rec_sweep_start(struct api *a);
void rec_sweep_stop(struct api *a);

#endif
