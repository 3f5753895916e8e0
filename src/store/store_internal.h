/* Private to src/store: the open database and key layout. */
#ifndef WAIHU_STORE_INTERNAL_H
#define WAIHU_STORE_INTERNAL_H

#include <rocksdb/c.h>

#include "store.h"

#define STORE_WATCHERS_PER_CF 4
/* All column families' memtables together (bytes); see store_open. Each memtable starts
 * with a 3.2 MiB bloom filter (5% of RocksDB's 64 MiB write buffer): a budget near ten of
 * them flushes on almost every write (16 MiB did: 79 one-entry flushes in 6 s). */
#define STORE_MEMTABLE_BUDGET ((size_t)256 << 20)
struct store_watcher {
    store_watch_fn fn;
    void *data;
};

struct store {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t *cf[STORE_CF_COUNT];
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    uint64_t applied_index;
    uint32_t entry_seq; /* seq-suffixed ops so far in the entry being applied */
    uint64_t min_free_bytes; /* 0 = no check */
    store_applied_fn applied_fn;
    void *applied_data;
    char dir[512];
    /* checkpoint snapshots (store_checkpoint.c); snap_dir empty: disabled */
    char snap_dir[512];
    uint64_t inline_max_bytes;
    uint64_t self_id;
    struct store_fetcher fetcher;
    int snapshots_live; /* begun and not ended: the database must not be swapped */
    /* watchers (store_watch.c) and the writes of the entry being applied */
    struct store_watcher watch[STORE_CF_COUNT][STORE_WATCHERS_PER_CF];
    struct store_noted *noted;
    size_t n_noted, cap_noted;
};

/* A write noted for watchers; pointers into the entry being applied, or into owned (a
 * value the FSM made, e.g. a stamped one), freed once the watchers were told. */
struct store_noted {
    uint32_t cf;
    const void *key, *val;
    size_t klen, vlen;
    void *owned;
};
/* Notes a write of the entry being applied (no-op without a watcher on cf). */
void store_watch_note(struct store *s, uint32_t cf, const void *key, size_t klen,
                      const void *val, size_t vlen, bool deleted, void *owned);
/* After the commit: tells the watchers. */
void store_watch_tell(struct store *s);
/* After a restore replaced the database. */
void store_watch_reset(struct store *s);

extern const char *const store_cf_names[STORE_CF_COUNT];

/* Keys in the meta column family. */
#define KEY_APPLIED "applied_index"
#define PREFIX_SETTING "setting/"
#define PREFIX_DEDUP "dedup/"
#define PREFIX_NODE "node/"

/* Opens s->db and s->cf in s->dir with s->opts; closes them (store_db.c). */
int store_db_open(struct store *s, char *errmsg);
void store_db_close(struct store *s);
/* Reads the applied index row into s->applied_index. */
int store_db_load_applied(struct store *s, char *errmsg);

/* Writes the applied index into batch. */
void store_batch_applied(struct store *s, rocksdb_writebatch_t *b, uint64_t index);
/* Commits batch or aborts the process. */
void store_batch_commit(struct store *s, rocksdb_writebatch_t *b, uint64_t index);
/* The same for the indexed batch that store_apply uses. */
void store_batch_wi_applied(struct store *s, rocksdb_writebatch_wi_t *b, uint64_t index);
void store_batch_wi_commit(struct store *s, rocksdb_writebatch_wi_t *b, uint64_t index);

struct Mutation;
struct MutationBatch;
/* Checks a Mutation's conditions against the database and the writes already in b,
 * then adds its operations to b (store_mutation.c). Fills r->code and, on a failed
 * condition, r->failed_condition. */
void store_apply_mutation(struct store *s, rocksdb_writebatch_wi_t *b, int64_t stamp_ms,
                          uint64_t index, size_t command, const struct Mutation *m,
                          struct store_result *r);
/* A MutationBatch: each item checked and written on its own; r counts applied and
 * skipped (conflicting) items. A malformed item makes the whole batch WAIHU_EINVAL. */
void store_apply_mutation_batch(struct store *s, rocksdb_writebatch_wi_t *b, int64_t stamp_ms,
                                uint64_t index, size_t command, const struct MutationBatch *mb,
                                struct store_result *r);

#endif
