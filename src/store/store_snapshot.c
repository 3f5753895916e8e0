/* Snapshot blob: magic, format, applied index, then every record of every column
 * family, then a SHA-256 of all that. Serialised from a RocksDB snapshot so applies go
 * on meanwhile. Large states ship a checkpoint manifest instead (store_checkpoint.c). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_checkpoint.h"

#define SNAP_MAGIC "WAIHUSN1"
#define SNAP_END_CF 0xFF

struct store_snapshot {
    struct store *s;
    const rocksdb_snapshot_t *snap; /* inline only */
    uint64_t index;
    uint64_t dir; /* checkpoint dir name: the raft index when known */
    bool checkpoint;
};

int store_snapshot_begin(struct store *s, struct store_snapshot **out)
{
    struct store_snapshot *sn = calloc(1, sizeof *sn);
    if (sn == NULL) {
        return WAIHU_ENOMEM;
    }
    sn->s = s;
    sn->index = s->applied_index;
    sn->dir = s->applied_index;
    sn->checkpoint = ckpt_wanted(s);
    if (sn->checkpoint) {
        /* The checkpoint is cut later on a pool thread and may hold more entries than
         * index (safe: restore and replay skip entries at or below the stored applied
         * index). Persist the applied index so that it is never behind index. */
        rocksdb_writebatch_t *b = rocksdb_writebatch_create();
        store_batch_applied(s, b, s->applied_index);
        store_batch_commit(s, b, s->applied_index);
        rocksdb_writebatch_destroy(b);
    }
    char *err = NULL;
    /* The raft log before this index may be dropped once the snapshot is stored:
     * what RocksDB holds must be on disk first. */
    rocksdb_flush_wal(s->db, 1, &err);
    if (err != NULL) {
        LOG_E("store", "snapshot: sync WAL of %s: %s", s->dir, err);
        rocksdb_free(err);
        free(sn);
        return WAIHU_EIO;
    }
    if (!sn->checkpoint) {
        sn->snap = rocksdb_create_snapshot(s->db);
    }
    s->snapshots_live++;
    *out = sn;
    return 0;
}

uint64_t store_snapshot_index(const struct store_snapshot *snap)
{
    return snap->index;
}

void store_snapshot_name(struct store_snapshot *snap, uint64_t raft_index)
{
    if (raft_index > snap->dir) {
        snap->dir = raft_index;
    }
}

struct growbuf {
    uint8_t *p;
    size_t len, cap;
};

static int grow_put(struct growbuf *g, const void *data, size_t n)
{
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap : 65536;
        while (cap < g->len + n) {
            cap *= 2;
        }
        uint8_t *p = realloc(g->p, cap);
        if (p == NULL) {
            return WAIHU_ENOMEM;
        }
        g->p = p;
        g->cap = cap;
    }
    memcpy(g->p + g->len, data, n);
    g->len += n;
    return 0;
}

static int put_u32(struct growbuf *g, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return grow_put(g, b, 4);
}

int store_snapshot_serialize(struct store_snapshot *sn, void *(*alloc)(size_t), void **buf,
                             size_t *len)
{
    if (sn->checkpoint) {
        return ckpt_create(sn->s, sn->index, sn->dir, alloc, buf, len);
    }
    struct growbuf g = {0};
    uint8_t idx[8];
    int rv = grow_put(&g, SNAP_MAGIC, 8);
    be64_put(idx, sn->index);
    rv = rv ? rv : grow_put(&g, idx, 8);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(ro, sn->snap);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    for (int cf = 0; cf < STORE_CF_COUNT && rv == 0; cf++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(sn->s->db, ro, sn->s->cf[cf]);
        for (rocksdb_iter_seek_to_first(it); rv == 0 && rocksdb_iter_valid(it);
             rocksdb_iter_next(it)) {
            size_t kl, vl;
            const char *k = rocksdb_iter_key(it, &kl);
            const char *v = rocksdb_iter_value(it, &vl);
            uint8_t tag = (uint8_t)cf;
            rv = grow_put(&g, &tag, 1);
            rv = rv ? rv : put_u32(&g, (uint32_t)kl);
            rv = rv ? rv : grow_put(&g, k, kl);
            rv = rv ? rv : put_u32(&g, (uint32_t)vl);
            rv = rv ? rv : grow_put(&g, v, vl);
        }
        char *err = NULL;
        rocksdb_iter_get_error(it, &err);
        if (err != NULL) {
            LOG_E("store", "snapshot: read %s: %s", store_cf_names[cf], err);
            rocksdb_free(err);
            rv = WAIHU_EIO;
        }
        rocksdb_iter_destroy(it);
    }
    rocksdb_readoptions_destroy(ro);
    uint8_t end = SNAP_END_CF;
    rv = rv ? rv : grow_put(&g, &end, 1);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    if (rv == 0) {
        SHA256(g.p, g.len, digest);
        rv = grow_put(&g, digest, sizeof digest);
    }
    if (rv == 0) {
        *buf = alloc(g.len);
        if (*buf == NULL) {
            rv = WAIHU_ENOMEM;
        } else {
            memcpy(*buf, g.p, g.len);
            *len = g.len;
        }
    }
    free(g.p);
    return rv;
}

void store_snapshot_end(struct store_snapshot *sn)
{
    if (sn == NULL) {
        return;
    }
    if (sn->snap != NULL) {
        rocksdb_release_snapshot(sn->s->db, sn->snap);
    }
    sn->s->snapshots_live--;
    free(sn);
}

static uint32_t get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Checks the whole blob before anything is changed. */
static int snapshot_check(const uint8_t *p, size_t len, uint64_t *index)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    if (len < 8 + 8 + 1 + SHA256_DIGEST_LENGTH || memcmp(p, SNAP_MAGIC, 8) != 0) {
        return WAIHU_ECORRUPT;
    }
    size_t body = len - SHA256_DIGEST_LENGTH;
    SHA256(p, body, digest);
    if (memcmp(digest, p + body, sizeof digest) != 0) {
        return WAIHU_ECORRUPT;
    }
    *index = be64_get(p + 8);
    return 0;
}

static int restore_any(struct store *s, const void *buf, size_t len);

/* Watchers rebuild their views from whatever the store now holds. */
int store_restore(struct store *s, const void *buf, size_t len)
{
    int rv = restore_any(s, buf, len);
    if (rv == 0) {
        store_watch_reset(s);
    }
    return rv;
}

static int restore_any(struct store *s, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t index;
    if (ckpt_is_manifest(buf, len)) {
        return ckpt_restore(s, buf, len);
    }
    int rv = snapshot_check(p, len, &index);
    if (rv != 0) {
        LOG_E("store", "restore: snapshot of %zu bytes fails its checksum", len);
        return rv;
    }
    if (index <= s->applied_index) {
        /* On restart raft hands us its last snapshot; RocksDB already holds as much. */
        LOG_I("store", "restore: snapshot at %llu skipped, store has %llu",
              (unsigned long long)index, (unsigned long long)s->applied_index);
        return 0;
    }
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    /* Wipe every family, then write the snapshot's records, in one atomic batch. No
     * fixed upper bound is above every key: range up to the last key, then that key. */
    for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
        static const char lo[1] = {0};
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[cf]);
        rocksdb_iter_seek_to_last(it);
        if (rocksdb_iter_valid(it)) {
            size_t kl;
            const char *k = rocksdb_iter_key(it, &kl);
            rocksdb_writebatch_delete_range_cf(b, s->cf[cf], lo, 0, k, kl);
            rocksdb_writebatch_delete_cf(b, s->cf[cf], k, kl);
        }
        char *err = NULL;
        rocksdb_iter_get_error(it, &err);
        rocksdb_iter_destroy(it);
        if (err != NULL) {
            LOG_E("store", "restore: read %s of %s: %s", store_cf_names[cf], s->dir, err);
            rocksdb_free(err);
            rocksdb_writebatch_destroy(b);
            return WAIHU_EIO;
        }
    }
    size_t off = 16, body = len - SHA256_DIGEST_LENGTH;
    rv = WAIHU_ECORRUPT;
    while (off < body) {
        uint8_t cf = p[off++];
        if (cf == SNAP_END_CF) {
            rv = off == body ? 0 : WAIHU_ECORRUPT;
            break;
        }
        if (cf >= STORE_CF_COUNT || off + 4 > body) {
            break;
        }
        uint32_t kl = get_u32(p + off);
        off += 4;
        if (off + kl + 4 > body) {
            break;
        }
        const char *k = (const char *)p + off;
        off += kl;
        uint32_t vl = get_u32(p + off);
        off += 4;
        if (off + vl > body) {
            break;
        }
        rocksdb_writebatch_put_cf(b, s->cf[cf], k, kl, (const char *)p + off, vl);
        off += vl;
    }
    if (rv == 0) {
        store_batch_applied(s, b, index);
        store_batch_commit(s, b, index);
        LOG_I("store", "restored snapshot at index %llu (%zu bytes)", (unsigned long long)index,
              len);
    }
    rocksdb_writebatch_destroy(b);
    return rv;
}
