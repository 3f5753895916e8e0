/* The node's view of the recording catalogue: the search index (recording_index.c) holding
 * one compact entry per live recording, so that a search is a binary search to its time
 * bound and a walk over fixed-size entries (no RocksDB reads except for keyword hits).
 * Built in steps on the loop at start, kept by a watcher of the recording family (and of
 * dispositions in the agent family), rebuilt after a snapshot install, as the customer
 * view is (api_customer_view.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_recording_internal.h"

#define BUILD_STEP 20000
/* At start, files of recordings deleted this recently are removed if still here (the node
 * was down when it applied the deletion); older tombstones are not looked at again, so a
 * restart does not queue one unlink per recording ever deleted. */
#define REMOVE_AGAIN_MS (7 * REC_DAY_MS)

struct rec_view {
    struct api *a;
    struct rec_index *ix;
    uv_timer_t timer;
    bool ready, has_cursor;
    uint8_t cursor[REC_ROW_KEY_BYTES];
};

static uint32_t disposition_of(struct rec_view *v, uint64_t tenant, uint64_t node, uint64_t call)
{
    uint8_t key[25];
    key[0] = 'd';
    be64_put(key + 1, tenant);
    be64_put(key + 9, node);
    be64_put(key + 17, call);
    void *raw;
    size_t n;
    uint32_t id = REC_INDEX_NO_NAME;
    if (store_get(v->a->store, STORE_CF_AGENT, key, sizeof key, &raw, &n) == 0) {
        Disposition *d = disposition__unpack(NULL, n, raw);
        if (d != NULL && d->disposition[0] != '\0') {
            id = rec_index_name(v->ix, d->disposition);
        }
        if (d != NULL) {
            disposition__free_unpacked(d, NULL);
        }
        free(raw);
    }
    return id;
}

static void apply_row(struct rec_view *v, const Recording *r)
{
    if (r->deleted_at_ms != 0) {
        rec_index_remove(v->ix, r->tenant_id, r->start_ms, r->node, r->call_id);
        return;
    }
    struct rec_index_entry *old = rec_index_find(v->ix, r->tenant_id, r->start_ms, r->node,
                                                 r->call_id);
    struct rec_index_entry e = {
        .tenant = r->tenant_id,
        .start_ms = r->start_ms,
        .node = r->node,
        .call = r->call_id,
        .customer = r->customer_id,
        .campaign = r->campaign_id,
        .duration_ms = r->duration_ms,
        .agent = rec_index_name(v->ix, r->agent),
        .disposition = old ? old->disposition
                           : disposition_of(v, r->tenant_id, r->node, r->call_id),
        .flags = (r->legal_hold ? REC_INDEX_HELD : 0) | (r->n_keywords ? REC_INDEX_KEYWORDS : 0),
    };
    rec_index_put(v->ix, &e);
    rec_speech_on_row(v->a, r);
}

/* tell_sweeper: a tombstone found by the build (not a fresh apply): is its file still here? */
static void apply_raw(struct rec_view *v, const void *key, size_t klen, const void *val,
                      size_t vlen, bool tell_sweeper)
{
    if (klen != REC_ROW_KEY_BYTES || ((const uint8_t *)key)[0] != 'r' || val == NULL) {
        return; /* rows are never deleted outright (tombstones) */
    }
    Recording *r = recording__unpack(NULL, vlen, val);
    if (r == NULL) {
        LOG_W("api", "recording row of %zu bytes does not decode", vlen);
        return;
    }
    apply_row(v, r);
    if (tell_sweeper && r->deleted_at_ms != 0 &&
        r->deleted_at_ms >= clock_wall_ms() - REMOVE_AGAIN_MS) {
        rec_sweep_on_row(v->a, r);
    }
    recording__free_unpacked(r, NULL);
}

static void build_step(uv_timer_t *t);

static void rebuild(struct rec_view *v)
{
    rec_index_clear(v->ix);
    v->ready = false;
    v->has_cursor = false;
    uv_timer_start(&v->timer, build_step, 0, 0);
}

static void on_row(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct rec_view *v = data;
    if (key == NULL) {
        rebuild(v);
        return;
    }
    if (klen != REC_ROW_KEY_BYTES || val == NULL) {
        return;
    }
    Recording *r = recording__unpack(NULL, vlen, val);
    if (r == NULL) {
        return;
    }
    /* While building, a row beyond the cursor is left to the scan that will reach it. */
    if (v->ready || (v->has_cursor && memcmp(key, v->cursor, REC_ROW_KEY_BYTES) <= 0)) {
        apply_row(v, r);
    }
    /* A fresh tombstone: this node removes its copy, whether or not the build got there. */
    if (r->deleted_at_ms != 0) {
        rec_sweep_on_row(v->a, r);
    }
    recording__free_unpacked(r, NULL);
}

static void on_agent(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct rec_view *v = data;
    const uint8_t *k = key;
    if (key == NULL || klen != 25 || k[0] != 'd' || !v->ready) {
        return; /* a snapshot install rebuilds from the recording family's watcher */
    }
    uint64_t tenant = be64_get(k + 1), node = be64_get(k + 9), call = be64_get(k + 17);
    uint8_t ik[REC_ID_KEY_BYTES];
    rec_id_key(tenant, node, call, ik);
    void *sv;
    size_t sn;
    if (store_get(v->a->store, STORE_CF_RECORDING, ik, sizeof ik, &sv, &sn) != 0) {
        return; /* not recorded (or its CDR is not applied yet: read when it is) */
    }
    int64_t start = sn == 8 ? (int64_t)be64_get(sv) : -1;
    free(sv);
    struct rec_index_entry *x = rec_index_find(v->ix, tenant, start, node, call);
    if (x == NULL) {
        return;
    }
    x->disposition = REC_INDEX_NO_NAME;
    if (val != NULL) {
        Disposition *d = disposition__unpack(NULL, vlen, val);
        if (d != NULL && d->disposition[0] != '\0') {
            uint32_t id = rec_index_name(v->ix, d->disposition);
            x = rec_index_find(v->ix, tenant, start, node, call); /* interning never moves */
            x->disposition = id;
        }
        if (d != NULL) {
            disposition__free_unpacked(d, NULL);
        }
    }
}

struct step {
    struct rec_view *v;
    size_t n;
};

static int step_row(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct step *s = data;
    if (klen == REC_ROW_KEY_BYTES) {
        apply_raw(s->v, key, klen, val, vlen, true);
        memcpy(s->v->cursor, key, REC_ROW_KEY_BYTES);
        s->v->has_cursor = true;
    }
    return ++s->n == BUILD_STEP;
}

static void build_step(uv_timer_t *t)
{
    struct rec_view *v = t->data;
    struct step s = {.v = v};
    uint8_t prefix = 'r';
    int rv = store_scan(v->a->store, STORE_CF_RECORDING, &prefix, 1,
                        v->has_cursor ? v->cursor : NULL, v->has_cursor ? REC_ROW_KEY_BYTES : 0,
                        step_row, &s);
    if (rv == 1) {
        uv_timer_start(&v->timer, build_step, 0, 0);
        return;
    }
    if (rv != 0) {
        LOG_E("api", "recording view: scan failed (%s); searches answer 503",
              waihu_strerror(rv));
        return;
    }
    v->ready = true;
    LOG_I("api", "recording view: %zu live recordings", rec_index_size(v->ix));
}

int rec_view_start(struct api *a, struct rec_view **out)
{
    struct rec_view *v = calloc(1, sizeof *v);
    if (v == NULL || (v->ix = rec_index_new()) == NULL) {
        free(v);
        return WAIHU_ENOMEM;
    }
    v->a = a;
    uv_timer_init(a->loop, &v->timer);
    v->timer.data = v;
    if (store_watch(a->store, STORE_CF_RECORDING, on_row, v) != 0 ||
        store_watch(a->store, STORE_CF_AGENT, on_agent, v) != 0) {
        LOG_E("api", "recording view: no watcher slot left (store_watch): the view will be "
                     "stale");
    }
    rebuild(v);
    *out = v;
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    struct rec_view *v = h->data;
    rec_index_free(v->ix);
    free(v);
}

void rec_view_stop(struct rec_view *v)
{
    if (v == NULL) {
        return;
    }
    store_unwatch(v->a->store, STORE_CF_RECORDING, on_row, v);
    store_unwatch(v->a->store, STORE_CF_AGENT, on_agent, v);
    uv_timer_stop(&v->timer);
    uv_close((uv_handle_t *)&v->timer, timer_closed);
}

/* ---- search ---- */

static bool keyword_hit(void *data, const struct rec_index_entry *x, const char *keyword)
{
    struct rec_view *v = data;
    Recording *r = rec_read(v->a->store, x->tenant, x->node, x->call, NULL, NULL);
    bool hit = false;
    for (size_t i = 0; r != NULL && !hit && i < r->n_keywords; i++) {
        hit = strcasecmp(r->keywords[i]->keyword, keyword) == 0;
    }
    if (r != NULL) {
        recording__free_unpacked(r, NULL);
    }
    return hit;
}

int rec_view_search(struct rec_view *v, uint64_t tenant, const char *only_agent,
                    const struct recording_query *q, struct rec_hit *out, bool *more)
{
    *more = false;
    if (!v->ready) {
        return -1;
    }
    return rec_index_search(v->ix, tenant, only_agent, q, keyword_hit, v, out, more);
}

struct keep {
    struct store *s;
};

static int64_t keep_ms(void *data, uint64_t tenant)
{
    struct keep *k = data;
    return (int64_t)rec_policy_days(k->s, tenant) * REC_DAY_MS;
}

struct expired_ctx {
    struct keep keep; /* first: keep_ms reads it from the same pointer */
    rec_expired_fn fn;
    void *data;
};

static int expired_one(void *data, uint64_t tenant, int64_t start_ms, uint64_t node,
                       uint64_t call)
{
    struct expired_ctx *c = data;
    return c->fn(c->data, tenant, start_ms, node, call);
}

void rec_view_expired(struct rec_view *v, struct store *s, int64_t now_ms, size_t max,
                      rec_expired_fn fn, void *data)
{
    if (!v->ready) {
        return;
    }
    struct expired_ctx c = {.keep = {.s = s}, .fn = fn, .data = data};
    rec_index_expired(v->ix, now_ms, max, keep_ms, expired_one, &c);
}
