/* The node's report book (src/seat/report.h, docs/reports.md): built from the store in
 * steps on the loop when the API starts (every CDR of the call family, then every
 * disposition of the agent family), then kept current by watchers of both families,
 * which hear every applied write on this loop. While the book is being built, a write
 * beyond the build cursor is left to the scan that will reach it. A snapshot install
 * (key NULL) or a deleted CDR starts the build again: a CDR's counts cannot be taken
 * back without its old value. Days are local days at this node's UTC offset at start. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_internal.h"
#include "report.h"

#define BUILD_STEP_RECORDS 4000 /* ~25 ms of the loop: raft heartbeats are 50 ms */
#define CALL_KEY_BYTES 32
#define DISP_KEY_BYTES 25

enum phase { PHASE_CALLS = 0, PHASE_DISPOSITIONS, PHASE_DONE };

struct api_reports {
    struct report_book *book;
    struct store *store;
    uv_timer_t timer;
    enum phase phase;
    bool has_cursor;
    uint8_t cursor[CALL_KEY_BYTES]; /* the last key scanned in the current phase */
    size_t cursor_len;
    size_t built;
    uint64_t started_ms;
};

static void add_cdr(struct api_reports *v, const void *val, size_t vlen)
{
    CallRecord *r = call_record__unpack(NULL, vlen, val);
    if (r == NULL) {
        return;
    }
    struct report_cdr c = {.tenant = r->tenant_id, .start_ms = r->start_ms, .agent = r->agent,
                           .campaign = r->campaign_id, .result = r->result,
                           .talk_ms = r->talk_ms, .ring_ms = r->ring_ms};
    if (report_add_cdr(v->book, &c) != 0) {
        waihu_fatal("api", "reports: out of memory");
    }
    call_record__free_unpacked(r, NULL);
}

static void put_disposition(struct api_reports *v, const uint8_t *k, const void *val,
                            size_t vlen)
{
    uint64_t tenant = be64_get(k + 1), node = be64_get(k + 9), id = be64_get(k + 17);
    if (val == NULL) {
        report_delete_disposition(v->book, tenant, node, id);
        return;
    }
    Disposition *d = disposition__unpack(NULL, vlen, val);
    if (d == NULL) {
        return;
    }
    struct report_disposition rd = {.tenant = tenant, .node = node, .call_id = id,
                                    .at_ms = d->at_ms, .agent = d->agent,
                                    .campaign = d->campaign_id,
                                    .disposition = d->disposition};
    if (report_put_disposition(v->book, &rd) != 0) {
        waihu_fatal("api", "reports: out of memory");
    }
    disposition__free_unpacked(d, NULL);
}

static void build_step(uv_timer_t *t);

static void rebuild(struct api_reports *v)
{
    report_book_clear(v->book);
    v->phase = PHASE_CALLS;
    v->has_cursor = false;
    v->built = 0;
    v->started_ms = clock_now_ms();
    uv_timer_start(&v->timer, build_step, 0, 0);
}

/* Whether a write at key was already passed by the build in phase p (or the build is over). */
static bool passed(const struct api_reports *v, enum phase p, const void *key, size_t klen)
{
    if (v->phase != p) {
        return v->phase > p;
    }
    return v->has_cursor && klen == v->cursor_len && memcmp(key, v->cursor, klen) <= 0;
}

static void on_call(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct api_reports *v = data;
    if (key == NULL || (val == NULL && passed(v, PHASE_CALLS, key, klen))) {
        rebuild(v);
    } else if (klen == CALL_KEY_BYTES && passed(v, PHASE_CALLS, key, klen)) {
        add_cdr(v, val, vlen);
    }
}

static void on_agent(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct api_reports *v = data;
    if (key == NULL) {
        rebuild(v);
    } else if (klen == DISP_KEY_BYTES && ((const uint8_t *)key)[0] == 'd' &&
               passed(v, PHASE_DISPOSITIONS, key, klen)) {
        put_disposition(v, key, val, vlen);
    }
}

struct step {
    struct api_reports *v;
    size_t n;
};

static int step_record(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct step *s = data;
    struct api_reports *v = s->v;
    if (v->phase == PHASE_CALLS && klen == CALL_KEY_BYTES) {
        add_cdr(v, val, vlen);
    } else if (v->phase == PHASE_DISPOSITIONS && klen == DISP_KEY_BYTES) {
        put_disposition(v, key, val, vlen);
    }
    if (klen <= sizeof v->cursor) {
        memcpy(v->cursor, key, klen);
        v->cursor_len = klen;
        v->has_cursor = true;
    }
    return ++s->n == BUILD_STEP_RECORDS;
}

static void build_step(uv_timer_t *t)
{
    struct api_reports *v = t->data;
    static const uint8_t everything[1], dispositions[1] = {'d'};
    struct step s = {.v = v};
    bool calls = v->phase == PHASE_CALLS;
    int rv = store_scan(v->store, calls ? STORE_CF_CALL : STORE_CF_AGENT,
                        calls ? everything : dispositions, calls ? 0 : 1,
                        v->has_cursor ? v->cursor : NULL, v->has_cursor ? v->cursor_len : 0,
                        step_record, &s);
    if (rv < 0) {
        LOG_W("api", "reports: scan failed (%s); retrying in 5 s", waihu_strerror(rv));
        uv_timer_start(&v->timer, build_step, 5000, 0);
        return;
    }
    v->built += s.n;
    if (rv == 0) {
        v->phase++;
        v->has_cursor = false;
    }
    if (v->phase != PHASE_DONE) {
        uv_timer_start(&v->timer, build_step, 0, 0); /* let requests in between steps */
        return;
    }
    LOG_I("api", "reports ready: %zu records in %zu cells in %llu ms", v->built,
          report_book_cells(v->book), (unsigned long long)(clock_now_ms() - v->started_ms));
}

static int32_t local_offset_min(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return (int32_t)(tm.tm_gmtoff / 60);
}

void api_reports_start(struct api *a)
{
    struct api_reports *v = calloc(1, sizeof *v);
    if (v == NULL || (v->book = report_book_new(local_offset_min())) == NULL) {
        waihu_fatal("api", "reports: out of memory");
    }
    v->store = a->store;
    uv_timer_init(a->loop, &v->timer);
    v->timer.data = v;
    a->reports = v;
    if (store_watch(a->store, STORE_CF_CALL, on_call, v) != 0 ||
        store_watch(a->store, STORE_CF_AGENT, on_agent, v) != 0) {
        waihu_fatal("api", "reports: no watcher slot left on the call or agent family");
    }
    rebuild(v);
}

static void closed(uv_handle_t *h)
{
    struct api_reports *v = h->data;
    report_book_free(v->book);
    free(v);
}

void api_reports_stop(struct api *a)
{
    struct api_reports *v = a->reports;
    if (v == NULL) {
        return;
    }
    store_unwatch(a->store, STORE_CF_CALL, on_call, v);
    store_unwatch(a->store, STORE_CF_AGENT, on_agent, v);
    a->reports = NULL;
    uv_close((uv_handle_t *)&v->timer, closed);
}

const struct report_book *api_reports_book(struct api *a)
{
    struct api_reports *v = a->reports;
    return v != NULL && v->phase == PHASE_DONE ? v->book : NULL;
}
