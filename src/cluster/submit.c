/* The write path: group commit on the leader (everything queued during one loop
 * iteration, up to 64 KiB, becomes one raft entry), results matched back by batch id. */
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"
#include "waihu.pb-c.h"

#define BATCH_MAX_BYTES (64 * 1024)
#define ENTRY_VERSION 1

static void record_result(struct cluster *c, int status)
{
    if (status == 0) {
        c->metrics.applied_ok++;
    } else if (status == WAIHU_ETIMEDOUT) {
        c->metrics.failed_timeout++;
    } else {
        c->metrics.failed_unavailable++;
    }
}

void submit_record_latency(struct cluster *c, uint64_t start_ms)
{
    static const double bounds[] = CLUSTER_LATENCY_BOUNDS_MS;
    uint64_t ms = clock_now_ms() - start_ms;
    for (int i = 0; i < 12; i++) {
        if ((double)ms <= bounds[i]) {
            c->metrics.latency_buckets[i]++;
        }
    }
    c->metrics.latency_count++;
    c->metrics.latency_sum_s += (double)ms / 1000.0;
}

void submit_local(struct cluster *c, const uint8_t *cmd, size_t len, cluster_submit_cb cb,
                  void *data)
{
    if (c->n_queue == c->cap_queue) {
        unsigned cap = c->cap_queue ? c->cap_queue * 2 : 64;
        struct queued *q = realloc(c->queue, cap * sizeof *q);
        if (q == NULL) {
            cb(data, WAIHU_EUNAVAILABLE, NULL);
            return;
        }
        c->queue = q;
        c->cap_queue = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        cb(data, WAIHU_EUNAVAILABLE, NULL);
        return;
    }
    memcpy(copy, cmd, len);
    struct queued *q = &c->queue[c->n_queue++];
    q->cmd = copy;
    q->len = len;
    q->w.cb = cb;
    q->w.data = data;
    q->w.start_ms = clock_now_ms();
    c->queue_bytes += len;
}

void cluster_submit(struct cluster *c, const uint8_t *cmd, size_t len, cluster_submit_cb cb,
                    void *data)
{
    c->metrics.submitted++;
    if (c->stopping) {
        cb(data, WAIHU_ESHUTDOWN, NULL);
        return;
    }
    if (c->fenced || len > BATCH_MAX_BYTES) {
        cb(data, c->fenced ? WAIHU_EUNAVAILABLE : WAIHU_ETOOBIG, NULL);
        return;
    }
    if (node_is_leader(c)) {
        submit_local(c, cmd, len, cb, data);
        return;
    }
    if (c->last_leader != 0 && c->ready) {
        c->metrics.forwarded++;
        forward_submit(c, cmd, len, cb, data);
        return;
    }
    c->metrics.failed_unavailable++;
    cb(data, WAIHU_EUNAVAILABLE, NULL);
}

static void batch_finish(struct batch *b, int status, const struct store_result *results)
{
    struct cluster *c = b->c;
    for (unsigned i = 0; i < b->n; i++) {
        record_result(c, status);
        if (status == 0) {
            submit_record_latency(c, b->waiters[i].start_ms);
        }
        b->waiters[i].cb(b->waiters[i].data, status, status == 0 ? &results[i] : NULL);
    }
    b->done = true;
}

static void unlink_batch(struct cluster *c, struct batch *b)
{
    for (struct batch **p = &c->inflight; *p != NULL; p = &(*p)->next) {
        if (*p == b) {
            *p = b->next;
            return;
        }
    }
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct batch *b = req->data;
    struct cluster *c = b->c;
    (void)result;
    if (status == RAFT_IOERR || status == RAFT_NOSPACE) {
        /* raft 0.15 does not step down on a failed disk write (FIELD-NOTES). */
        LOG_E("cluster", "raft log write failed: %s (%s); exiting so another node leads",
              raft_strerror(status), raft_errmsg(&c->raft));
        exit(1);
    }
    if (!b->done) {
        /* Lost leadership or shutting down: the entry may still commit later. */
        batch_finish(b, WAIHU_ETIMEDOUT, NULL);
    }
    unlink_batch(c, b);
    free(b->waiters);
    free(b);
}

void submit_on_applied(void *data, uint64_t index, uint64_t origin, uint64_t batch_id,
                       const struct store_result *results, unsigned n)
{
    struct cluster *c = data;
    (void)index;
    if (origin != c->config.self.id) {
        return;
    }
    for (struct batch *b = c->inflight; b != NULL; b = b->next) {
        if (b->batch_id == batch_id && !b->done) {
            if (n != b->n) {
                waihu_fatal("cluster", "batch %llu: %u results for %u commands",
                            (unsigned long long)batch_id, n, b->n);
            }
            batch_finish(b, 0, results);
            return;
        }
    }
}

static size_t varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Hands queue[from, to) to raft as one Entry. Commands are appended as already-packed
 * field 3 of Entry: no decode and re-encode on the hot path. */
static void flush_range(struct cluster *c, unsigned from, unsigned to)
{
    struct batch *b = calloc(1, sizeof *b);
    struct waiter *ws = calloc(to - from, sizeof *ws);
    Entry e = ENTRY__INIT;
    e.version = ENTRY_VERSION;
    e.stamp_ms = clock_wall_ms();
    e.origin = c->config.self.id;
    e.batch_id = c->next_batch_id++;
    size_t head = entry__get_packed_size(&e);
    size_t total = head;
    for (unsigned i = from; i < to; i++) {
        total += 1 + 10 + c->queue[i].len;
    }
    uint8_t *buf = raft_malloc(store_entry_size(total));
    if (b == NULL || ws == NULL || buf == NULL) {
        for (unsigned i = from; i < to; i++) {
            c->queue[i].w.cb(c->queue[i].w.data, WAIHU_EUNAVAILABLE, NULL);
            free(c->queue[i].cmd);
        }
        free(b);
        free(ws);
        raft_free(buf);
        return;
    }
    size_t off = STORE_ENTRY_HEAD + entry__pack(&e, buf + STORE_ENTRY_HEAD);
    for (unsigned i = from; i < to; i++) {
        buf[off++] = (3 << 3) | 2; /* field 3, length-delimited */
        off += varint_put(buf + off, c->queue[i].len);
        memcpy(buf + off, c->queue[i].cmd, c->queue[i].len);
        off += c->queue[i].len;
        ws[i - from] = c->queue[i].w;
        free(c->queue[i].cmd);
    }
    b->c = c;
    b->batch_id = e.batch_id;
    b->n = to - from;
    b->waiters = ws;
    b->req.data = b;
    store_entry_frame(buf, off - STORE_ENTRY_HEAD);
    struct raft_buffer rb = {.base = buf, .len = store_entry_size(off - STORE_ENTRY_HEAD)};
    int rv = raft_apply(&c->raft, &b->req, &rb, 1, apply_cb);
    if (rv != 0) {
        raft_free(buf);
        batch_finish(b, WAIHU_EUNAVAILABLE, NULL);
        free(ws);
        free(b);
        return;
    }
    c->metrics.batches++;
    b->next = c->inflight;
    c->inflight = b;
}

void submit_flush(struct cluster *c)
{
    if (c->n_queue == 0 || !c->ready || !node_is_leader(c)) {
        return;
    }
    unsigned n = c->n_queue;
    c->n_queue = 0;
    c->queue_bytes = 0;
    unsigned from = 0;
    size_t bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i > from && bytes + c->queue[i].len > BATCH_MAX_BYTES) {
            flush_range(c, from, i);
            from = i;
            bytes = 0;
        }
        bytes += c->queue[i].len + 11;
    }
    flush_range(c, from, n);
}

/* Queued commands never reached raft, so failing them is always safe to retry. */
void submit_fail_all(struct cluster *c, int status)
{
    unsigned n = c->n_queue;
    c->n_queue = 0;
    c->queue_bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        record_result(c, status);
        c->queue[i].w.cb(c->queue[i].w.data, status, NULL);
        free(c->queue[i].cmd);
    }
}
