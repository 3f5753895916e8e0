/* The replicated state machine's storage: RocksDB with one column family per
 * kind of record (ARCHITECTURE.md "Store layout"), applied one raft entry at a time.
 * Everything here runs on the core loop thread unless said otherwise. */
#ifndef WAIHU_STORE_H
#define WAIHU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct store;
struct raft;
struct raft_fsm;

/* Column families, in on-disk order. */
enum store_cf {
    STORE_CF_META = 0,
    STORE_CF_CUSTOMER,
    STORE_CF_CUSTOMER_IDX,
    STORE_CF_CAMPAIGN,
    STORE_CF_LEAD,
    STORE_CF_AGENT,
    STORE_CF_CALL,
    STORE_CF_RECORDING,
    STORE_CF_AUDIT,
    STORE_CF_EVENT, /* the event log: be64 tenant | seq suffix (docs/events.md) */
    STORE_CF_COUNT
};

/* Outcome of one command of an entry. */
struct store_result {
    int code;                 /* 0 or WAIHU_E* */
    uint64_t version;         /* setting version after the command */
    uint64_t current_version; /* on WAIHU_ECONFLICT: the version found */
    uint32_t failed_condition; /* mutation: 1-based index of the failed condition */
    uint32_t applied;          /* mutation batch: items applied */
    uint32_t conflicts;        /* mutation batch: items skipped, a condition failed */
};

/* Called after each applied entry with one result per command, so the node that
 * formed the batch (origin) can answer its clients. results live only during the call. */
typedef void (*store_applied_fn)(void *data, uint64_t index, uint64_t origin,
                                 uint64_t batch_id, const struct store_result *results,
                                 unsigned n);

/* Opens (creating if needed) the database in dir. errmsg (cap 256) says why on error:
 * WAIHU_ECORRUPT for a damaged database, WAIHU_EIO otherwise. */
WAIHU_API int store_open(const char *dir, struct store **out, char *errmsg);
WAIHU_API void store_close(struct store *s);

/* Before every apply, stop the node (exit 1, with a log line) when the store's disk has
 * less than min_free_bytes left: RocksDB may abort on an internal assertion once a write
 * hit ENOSPC, so we stop while there is room. 0 turns the check off. */
WAIHU_API void store_set_min_free(struct store *s, uint64_t min_free_bytes);

WAIHU_API void store_on_applied(struct store *s, store_applied_fn fn, void *data);

/* A watcher of a column family is called on the apply thread after
 * each entry commits, for every key that entry's mutations wrote in cf, in order: val
 * is the new value, or NULL when the key was deleted. key NULL means the whole family
 * may have changed (a snapshot was installed): rebuild from the store. Pointers live
 * only during the call. */
typedef void (*store_watch_fn)(void *data, const void *key, size_t klen, const void *val,
                               size_t vlen);
/* Up to 4 watchers per family: returns 0 or WAIHU_ETOOBIG. store_unwatch removes one. */
WAIHU_API int store_watch(struct store *s, enum store_cf cf, store_watch_fn fn, void *data);
WAIHU_API void store_unwatch(struct store *s, enum store_cf cf, store_watch_fn fn, void *data);

/* Index of the last raft entry whose effects are in the database. */
WAIHU_API uint64_t store_applied_index(const struct store *s);

/* Applies the raft entry at index (an encoded Entry): one WriteBatch holding every
 * command's changes, the applied index and the dedup rows. Entries at or below the
 * applied index are skipped (raft replays its log on restart). A malformed entry is
 * applied as a no-op with WAIHU_EINVAL results. A failed write aborts the process:
 * raft must never run ahead of the store. */
WAIHU_API void store_apply(struct store *s, uint64_t index, const void *buf, size_t len);

/* Marks index as applied without changes (barriers and configuration entries). */
WAIHU_API void store_apply_empty(struct store *s, uint64_t index);

/* A setting as stored. value is malloc'd: free it with free(). */
struct store_setting {
    char *value;
    uint64_t version;
    int64_t updated_ms;
};
/* Setting keys: 1..256 bytes of [A-Za-z0-9._:/-]. */
WAIHU_API bool store_setting_key_valid(const char *key);
WAIHU_API int store_setting_get(struct store *s, const char *key, struct store_setting *out);

/* Calls fn for settings whose key starts with prefix and sorts after `after` (NULL:
 * from the start), at most limit of them; fn returns nonzero to stop. */
typedef int (*store_setting_fn)(void *data, const char *key, const struct store_setting *st);
WAIHU_API int store_settings_scan(struct store *s, const char *prefix, const char *after,
                                  unsigned limit, store_setting_fn fn, void *data);

/* Services' own records (written through Mutation commands, read here). In the meta
 * family a service may only use keys under this prefix. */
#define STORE_SERVICE_META_PREFIX "svc/"

/* Reads one value; *val is malloc'd (caller frees with free()). Returns 0,
 * WAIHU_ENOTFOUND or WAIHU_EIO. Any thread. */
WAIHU_API int store_get(struct store *s, enum store_cf cf, const void *key, size_t key_len,
                        void **val, size_t *val_len);

/* Calls fn for each key starting with prefix, in key order, beginning after `after`
 * (exclusive; NULL: from the start of the prefix); fn returns nonzero to stop (that
 * value is returned). Returns 0, fn's value or WAIHU_EIO. Any thread. */
typedef int (*store_kv_fn)(void *data, const void *key, size_t key_len, const void *val,
                           size_t val_len);
WAIHU_API int store_scan(struct store *s, enum store_cf cf, const void *prefix,
                         size_t prefix_len, const void *after, size_t after_len,
                         store_kv_fn fn, void *data);

/* Builds one Mutation command (store_mutation_build.c). Keys and values are copied.
 * Out of memory aborts: commands are small and a half-built one is useless. */
struct store_mutation_builder;
WAIHU_API struct store_mutation_builder *store_mb_new(void);
WAIHU_API void store_mb_free(struct store_mutation_builder *mb);
/* kind: 0 absent, 1 present, 2 value hash (then hash is the SHA-256 of the value as read,
 * of which the first 16 bytes are compared). */
enum store_mb_cond { STORE_MB_ABSENT = 0, STORE_MB_PRESENT = 1, STORE_MB_VALUE_IS = 2 };
WAIHU_API void store_mb_condition(struct store_mutation_builder *mb, enum store_cf cf,
                                  const void *key, size_t key_len, enum store_mb_cond kind,
                                  const void *value, size_t value_len);
/* A condition on time, not on a key: the leader's stamp of the entry that applies the
 * mutation must lie in [not_before_ms, not_after_ms) (0: no upper bound). Every node
 * judges it alike, so "only inside the calling window" and "only after the lease expired"
 * are decided once, by the FSM, whatever the submitting node's clock says. */
WAIHU_API void store_mb_stamp_within(struct store_mutation_builder *mb, int64_t not_before_ms,
                                     int64_t not_after_ms);
WAIHU_API void store_mb_put(struct store_mutation_builder *mb, enum store_cf cf, const void *key,
                            size_t key_len, const void *value, size_t value_len);
WAIHU_API void store_mb_delete(struct store_mutation_builder *mb, enum store_cf cf,
                               const void *key, size_t key_len);
/* A put of a protobuf message to which the FSM appends the varint field `field` holding the
 * leader's stamp (ms) of the committing entry: every node stores the same commit time,
 * whatever the submitter's clock (agent state changes: "since"). field: 1..2^29-1. */
WAIHU_API void store_mb_put_stamped(struct store_mutation_builder *mb, enum store_cf cf,
                                    const void *key, size_t key_len, const void *value,
                                    size_t value_len, uint32_t field);
/* A put whose key gets the commit suffix (leader stamp, index, command, op): logs. */
/* A put whose key gets the sequence suffix be64(raft index) | be32(n), n counting such ops
 * from 0 within the entry: an event log in commit order; the event's cluster-wide
 * sequence number is index * STORE_SEQ_PER_ENTRY + n. Watchers see the full key. */
#define STORE_SEQ_SUFFIX_BYTES 12
#define STORE_SEQ_PER_ENTRY (1u << 20)
WAIHU_API void store_mb_append_seq(struct store_mutation_builder *mb, enum store_cf cf,
                                   const void *prefix, size_t prefix_len, const void *value,
                                   size_t value_len, uint32_t stamp_field);
WAIHU_API void store_mb_append(struct store_mutation_builder *mb, enum store_cf cf,
                               const void *prefix, size_t prefix_len, const void *value,
                               size_t value_len);
/* Packs the Command (with client_id/seq, 0 = no dedup) into *buf (malloc'd, caller frees). */
WAIHU_API void store_mb_pack(const struct store_mutation_builder *mb, uint64_t client_id,
                             uint64_t seq, uint8_t **buf, size_t *len);
WAIHU_API size_t store_mb_ops(const struct store_mutation_builder *mb);
WAIHU_API size_t store_mb_conditions(const struct store_mutation_builder *mb);
/* Packs n independent mutations as one MutationBatch command: each item applies
 * all-or-nothing on its own; the result counts items applied and items skipped because
 * a condition failed (bulk import: a duplicate row must not fail its neighbours). */
WAIHU_API void store_mb_pack_batch(struct store_mutation_builder *const *items, size_t n,
                                   uint64_t client_id, uint64_t seq, uint8_t **buf,
                                   size_t *len);
/* Packed size of the mutation alone (to bound a batch). */
WAIHU_API size_t store_mb_size(const struct store_mutation_builder *mb);

/* A node as announced to the cluster. */
struct store_node {
    uint64_t id;
    char name[64];
    char dc[64];
    char raft_address[64];
    char api_address[64];
    char forward_address[64];
};
/* Fills up to cap nodes, returns how many exist (may exceed cap). */
WAIHU_API int store_nodes_list(struct store *s, struct store_node *out, int cap);

/* Snapshots: begin captures a consistent RocksDB snapshot at the applied index and
 * syncs the WAL (so raft may truncate its log); serialize may run on any thread;
 * end releases it. restore replaces the whole state with a serialized snapshot. */
struct store_snapshot;
WAIHU_API int store_snapshot_begin(struct store *s, struct store_snapshot **out);
/* *buf comes from alloc (raft_malloc for raft) and belongs to the caller. */
WAIHU_API int store_snapshot_serialize(struct store_snapshot *snap, void *(*alloc)(size_t),
                                       void **buf, size_t *len);
WAIHU_API void store_snapshot_end(struct store_snapshot *snap);
/* Returns WAIHU_ECORRUPT for a damaged blob (nothing changed then). A snapshot older
 * than what the store already holds is ignored (restart with data after it). A checkpoint
 * manifest (see below) is restored by fetching its files through the fetcher, blocking
 * the calling thread, and swapping the database in place; a failed fetch returns its
 * error (WAIHU_ETIMEDOUT, WAIHU_EUNAVAILABLE...) and a wrong file WAIHU_ECORRUPT, with
 * nothing changed. */
WAIHU_API int store_restore(struct store *s, const void *buf, size_t len);

WAIHU_API uint64_t store_snapshot_index(const struct store_snapshot *snap);
/* Names a checkpoint snapshot after the raft snapshot index (the store's index does not
 * move on barriers, so it may repeat). Call between begin and serialize. */
WAIHU_API void store_snapshot_name(struct store_snapshot *snap, uint64_t raft_index);

/* Large states (docs/design-notes.md "Checkpoint snapshots"): when the estimated state
 * exceeds inline_max_bytes, a snapshot is a RocksDB checkpoint kept in
 * <snapshots_dir>/<index>/ (the last 2 are kept) and the raft blob is only a manifest
 * naming the files with their sizes and SHA-256. A follower's store_restore fetches the
 * files through the fetcher, checks them and swaps its database for them. Off until
 * configured (every snapshot is then inline). Call on the loop before raft starts. */
WAIHU_API int store_checkpoint_configure(struct store *s, const char *snapshots_dir,
                                         uint64_t inline_max_bytes, uint64_t self_id);

/* How checkpoint files made on another node reach this one. The store knows no
 * addresses: the cluster layer installs this. fetch copies file name of checkpoint
 * index made by node origin into a new file at out_path (size_bytes as the manifest
 * says); it blocks (restore is synchronous on the loop) and must give up after a
 * timeout. Returns 0 or WAIHU_E* with errmsg (cap 256) naming peer and file. */
struct store_fetcher {
    void *data;
    int (*fetch)(void *data, uint64_t origin, uint64_t index, const char *name,
                 uint64_t size_bytes, const char *out_path, char *errmsg);
};
/* Copies *f; NULL removes the fetcher (before the owner of f->data goes away). */
WAIHU_API void store_set_fetcher(struct store *s, const struct store_fetcher *f);

/* For the side channel: opens file name of the local checkpoint index read-only. Only
 * plain file names inside a finished checkpoint dir are served (no '/', no dot-first
 * names, no symlinks). Returns 0 and *fd (caller closes), WAIHU_EINVAL for a refused
 * name, WAIHU_ENOTFOUND. Any thread. */
WAIHU_API int store_checkpoint_open_file(struct store *s, uint64_t index, const char *name,
                                         int *fd);

/* Estimated bytes of the state: live data of every column family plus memtables. */
WAIHU_API uint64_t store_size_estimate(struct store *s);
/* An integer property of RocksDB for one column family ("rocksdb.estimate-num-keys",
 * "rocksdb.total-sst-files-size"...): 0, or WAIHU_ENOTFOUND for an unknown or non-integer
 * property. Read-only; any thread. */
WAIHU_API int store_property_int(struct store *s, enum store_cf cf, const char *name,
                                 uint64_t *out);

/* Entry framing. raft_uv requires entry lengths in multiples of 8 (it reads past the
 * end otherwise) and protobuf cannot skip padding, so a raft entry is:
 * u32 big-endian length of the Entry message | Entry message | zero padding to 8. */
#define STORE_ENTRY_HEAD 4
/* Bytes of a framed entry whose message has message_len bytes. */
WAIHU_API size_t store_entry_size(size_t message_len);
/* Writes the header and padding around a message already packed at buf + 4. */
WAIHU_API void store_entry_frame(uint8_t *buf, size_t message_len);

/* raft FSM (version 3, async snapshots) over the store. r is the raft instance the
 * FSM belongs to (apply needs raft_last_applied); it may be set after init. */
WAIHU_API void store_fsm_init(struct raft_fsm *fsm, struct store *s);
WAIHU_API void store_fsm_set_raft(struct raft_fsm *fsm, struct raft *r);
WAIHU_API void store_fsm_close(struct raft_fsm *fsm);

#endif
