/* raft_fsm (version 3) over the store: applies entries, takes snapshots off the loop. */
#include <raft.h>
#include <stdlib.h>

#include "store_internal.h"

/* raft keeps its log in memory and counts it in entries; a bulk import makes entries of
 * tens of KiB, so the configured counts (say 100,000 to snapshot, 20,000 kept after)
 * would hold gigabytes (measured: +12 MB/s per node during a 2 GB import). The
 * thresholds follow the mean entry size so the log stays near these budgets. */
#define LOG_SNAPSHOT_BYTES (256ull << 20)
#define LOG_TRAILING_BYTES (64ull << 20)
#define LOG_MIN_ENTRIES 64u
#define ADAPT_EVERY 64u

struct fsm_state {
    struct store *s;
    struct raft *r;
    struct store_snapshot *snap; /* between snapshot and snapshot_finalize */
    unsigned conf_threshold, conf_trailing; /* as configured (0: not read yet) */
    double mean_entry_bytes;                /* moving average of applied entries */
    unsigned applies;
};

static unsigned entries_for(uint64_t budget, double mean, unsigned configured)
{
    double n = budget / (mean > 1 ? mean : 1);
    if (n >= configured) {
        return configured;
    }
    return n < LOG_MIN_ENTRIES ? LOG_MIN_ENTRIES : (unsigned)n;
}

static void adapt_log_limits(struct fsm_state *st, size_t entry_bytes)
{
    struct raft *r = st->r;
    if (st->conf_threshold == 0) {
        st->conf_threshold = r->snapshot.threshold;
        st->conf_trailing = r->snapshot.trailing;
        st->mean_entry_bytes = (double)entry_bytes;
    }
    st->mean_entry_bytes += ((double)entry_bytes - st->mean_entry_bytes) / 64.0;
    if (++st->applies % ADAPT_EVERY != 0) {
        return;
    }
    unsigned threshold = entries_for(LOG_SNAPSHOT_BYTES, st->mean_entry_bytes, st->conf_threshold);
    unsigned trailing = entries_for(LOG_TRAILING_BYTES, st->mean_entry_bytes, st->conf_trailing);
    if (threshold != r->snapshot.threshold || trailing != r->snapshot.trailing) {
        LOG_D("store", "raft log limits for entries of %.0f bytes: snapshot every %u, keep %u",
              st->mean_entry_bytes, threshold, trailing);
        raft_set_snapshot_threshold(r, threshold);
        raft_set_snapshot_trailing(r, trailing);
    }
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct fsm_state *st = fsm->data;
    /* raft 0.15 gives no index: it is the one after the last applied (FIELD-NOTES). */
    uint64_t index = raft_last_applied(st->r) + 1;
    /* buf points into raft's log ring: a write submitted while this entry applies (an
     * on-applied callback chaining the next command) can grow the ring and free it. */
    size_t len = buf->len;
    store_apply(st->s, index, buf->base, len);
    adapt_log_limits(st, len);
    *result = NULL; /* results travel through store_on_applied, never through raft */
    return 0;
}

/* On the loop: pin a consistent view; the copy is made in snapshot_async. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fsm_state *st = fsm->data;
    *bufs = NULL;
    *n_bufs = 0;
    if (st->snap != NULL) {
        return RAFT_BUSY;
    }
    if (store_snapshot_begin(st->s, &st->snap) != 0) {
        return RAFT_IOERR;
    }
    if (st->r != NULL) {
        store_snapshot_name(st->snap, raft_last_applied(st->r));
    }
    return 0;
}

/* On a pool thread. */
static int fsm_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                              unsigned *n_bufs)
{
    struct fsm_state *st = fsm->data;
    struct raft_buffer *b = raft_malloc(sizeof *b);
    if (b == NULL) {
        return RAFT_NOMEM;
    }
    void *data;
    size_t len;
    if (store_snapshot_serialize(st->snap, raft_malloc, &data, &len) != 0) {
        raft_free(b);
        return RAFT_IOERR;
    }
    b->base = data;
    b->len = len;
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                 unsigned *n_bufs)
{
    struct fsm_state *st = fsm->data;
    if (*bufs != NULL) {
        for (unsigned i = 0; i < *n_bufs; i++) {
            raft_free((*bufs)[i].base);
        }
        raft_free(*bufs);
    }
    *bufs = NULL;
    *n_bufs = 0;
    store_snapshot_end(st->snap);
    st->snap = NULL;
    return 0;
}

/* Takes ownership of buf->base on success only: on failure raft frees it itself. */
static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct fsm_state *st = fsm->data;
    int rv = store_restore(st->s, buf->base, buf->len);
    if (rv != 0 && st->r != NULL && raft_state(st->r) != RAFT_UNAVAILABLE) {
        /* An InstallSnapshot whose restore fails makes raft 0.15 use freed memory (seen
         * under ASan). raft stored the snapshot before calling us: exit, and the restart
         * restores it again (raft_start then fails cleanly if it still cannot). */
        LOG_E("store", "restore of a received snapshot failed (%s); exiting so that the "
              "restart retries it", waihu_strerror(rv));
        exit(1);
    }
    if (rv != 0) {
        return rv == WAIHU_ECORRUPT ? RAFT_CORRUPT : RAFT_IOERR;
    }
    raft_free(buf->base);
    return 0;
}

void store_fsm_init(struct raft_fsm *fsm, struct store *s)
{
    struct fsm_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        waihu_fatal("store", "fsm init: out of memory");
    }
    st->s = s;
    fsm->version = 3;
    fsm->data = st;
    fsm->apply = fsm_apply;
    fsm->snapshot = fsm_snapshot;
    fsm->restore = fsm_restore;
    fsm->snapshot_finalize = fsm_snapshot_finalize;
    fsm->snapshot_async = fsm_snapshot_async;
}

void store_fsm_set_raft(struct raft_fsm *fsm, struct raft *r)
{
    ((struct fsm_state *)fsm->data)->r = r;
}

void store_fsm_close(struct raft_fsm *fsm)
{
    struct fsm_state *st = fsm->data;
    if (st != NULL) {
        store_snapshot_end(st->snap);
        free(st);
    }
    fsm->data = NULL;
}
