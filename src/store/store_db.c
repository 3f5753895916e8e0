/* Opening and closing the database, and the batch commit every apply ends with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "store_internal.h"

const char *const store_cf_names[STORE_CF_COUNT] = {
    "default", "customer", "customer_idx", "campaign", "lead",
    "agent",   "call",     "recording",    "audit",    "event",
};

static int classify(const char *err)
{
    if (strstr(err, "Corruption") || strstr(err, "corrupt")) {
        return WAIHU_ECORRUPT;
    }
    if (strstr(err, "No space")) {
        return WAIHU_ENOSPACE;
    }
    return WAIHU_EIO;
}

int store_db_load_applied(struct store *s, char *errmsg)
{
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], KEY_APPLIED,
                             strlen(KEY_APPLIED), &len, &err);
    if (err != NULL) {
        snprintf(errmsg, 256, "store %s: read applied index: %s", s->dir, err);
        int rv = classify(err);
        rocksdb_free(err);
        return rv;
    }
    s->applied_index = 0;
    if (v != NULL) {
        if (len != 8) {
            snprintf(errmsg, 256, "store %s: applied index has %zu bytes, not 8", s->dir, len);
            rocksdb_free(v);
            return WAIHU_ECORRUPT;
        }
        s->applied_index = be64_get((const uint8_t *)v);
        rocksdb_free(v);
    }
    return 0;
}

int store_db_open(struct store *s, char *errmsg)
{
    char *err = NULL;
    const rocksdb_options_t *cf_opts[STORE_CF_COUNT];
    for (int i = 0; i < STORE_CF_COUNT; i++) {
        cf_opts[i] = s->opts;
    }
    s->db = rocksdb_open_column_families(s->opts, s->dir, STORE_CF_COUNT, store_cf_names,
                                         cf_opts, s->cf, &err);
    if (err != NULL) {
        snprintf(errmsg, 256, "store %s: open: %s", s->dir, err);
        int rv = classify(err);
        rocksdb_free(err);
        s->db = NULL;
        memset(s->cf, 0, sizeof s->cf);
        return rv;
    }
    return 0;
}

void store_db_close(struct store *s)
{
    for (int i = 0; i < STORE_CF_COUNT; i++) {
        if (s->cf[i] != NULL) {
            rocksdb_column_family_handle_destroy(s->cf[i]);
            s->cf[i] = NULL;
        }
    }
    if (s->db != NULL) {
        rocksdb_close(s->db);
        s->db = NULL;
    }
}

int store_open(const char *dir, struct store **out, char *errmsg)
{
    struct store *s = calloc(1, sizeof *s);
    int rv;
    if (s == NULL) {
        snprintf(errmsg, 256, "store %s: out of memory", dir);
        return WAIHU_ENOMEM;
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->opts, 1);
    rocksdb_options_set_create_missing_column_families(s->opts, 1);
    rocksdb_options_set_paranoid_checks(s->opts, 1);
    rocksdb_options_increase_parallelism(s->opts, 2);
    /* Bloom filters: most mutation conditions ask for keys that are absent (a new
     * customer, a phone not yet known), which a filter answers without reading blocks. */
    rocksdb_block_based_table_options_t *table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_options_set_block_based_table_factory(s->opts, table);
    rocksdb_block_based_options_destroy(table);
    /* The same in the memtable: without it every absent-key condition walks the skip
     * list (measured: the largest cost of a bulk import). */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(s->opts, 0.05);
    rocksdb_options_set_memtable_whole_key_filtering(s->opts, 1);
    /* One budget for the memtables of all column families: each family alone may grow
     * to 64 MiB twice over, so ten of them could hold 1.3 GB before each had flushed
     * once. Over the budget, RocksDB flushes the largest. */
    rocksdb_options_set_db_write_buffer_size(s->opts, STORE_MEMTABLE_BUDGET);
    if ((rv = store_db_open(s, errmsg)) != 0) {
        rocksdb_options_destroy(s->opts);
        free(s);
        return rv;
    }
    /* No sync inside apply: the raft log is the durable record (FIELD-NOTES). */
    s->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wopts, 0);
    s->ropts = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(s->ropts, 1);
    rv = store_db_load_applied(s, errmsg);
    if (rv != 0) {
        store_close(s);
        return rv;
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (s == NULL) {
        return;
    }
    store_db_close(s);
    rocksdb_writeoptions_destroy(s->wopts);
    rocksdb_readoptions_destroy(s->ropts);
    rocksdb_options_destroy(s->opts);
    free(s->noted);
    free(s);
}

void store_on_applied(struct store *s, store_applied_fn fn, void *data)
{
    s->applied_fn = fn;
    s->applied_data = data;
}

uint64_t store_applied_index(const struct store *s)
{
    return s->applied_index;
}

void store_batch_applied(struct store *s, rocksdb_writebatch_t *b, uint64_t index)
{
    uint8_t v[8];
    be64_put(v, index);
    rocksdb_writebatch_put_cf(b, s->cf[STORE_CF_META], KEY_APPLIED, strlen(KEY_APPLIED),
                              (const char *)v, sizeof v);
}

void store_set_min_free(struct store *s, uint64_t min_free_bytes)
{
    s->min_free_bytes = min_free_bytes;
}

static void check_free_space(struct store *s, uint64_t index)
{
    struct statvfs st;
    if (s->min_free_bytes == 0 || statvfs(s->dir, &st) != 0) {
        return;
    }
    uint64_t free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
    if (free_bytes < s->min_free_bytes) {
        LOG_E("store",
              "apply %llu: %s has only %llu bytes free, below %llu (no space left on device "
              "soon): stopping this node before RocksDB fails",
              (unsigned long long)index, s->dir, (unsigned long long)free_bytes,
              (unsigned long long)s->min_free_bytes);
        exit(1);
    }
}

/* After an apply's write: the index moves, or the node stops. */
static void committed(struct store *s, uint64_t index, char *err)
{
    if (err != NULL) {
        /* Raft has committed this entry; continuing would let the log run ahead. A full
         * or failing disk is an operating condition, not a bug: exit without a core. */
        LOG_E("store", "apply %llu: write %s: %s; stopping this node",
              (unsigned long long)index, s->dir, err);
        exit(classify(err) == WAIHU_ECORRUPT ? 3 : 1);
    }
    s->applied_index = index;
}

void store_batch_commit(struct store *s, rocksdb_writebatch_t *b, uint64_t index)
{
    char *err = NULL;
    check_free_space(s, index);
    rocksdb_write(s->db, s->wopts, b, &err);
    committed(s, index, err);
}

void store_batch_wi_applied(struct store *s, rocksdb_writebatch_wi_t *b, uint64_t index)
{
    uint8_t v[8];
    be64_put(v, index);
    rocksdb_writebatch_wi_put_cf(b, s->cf[STORE_CF_META], KEY_APPLIED, strlen(KEY_APPLIED),
                                 (const char *)v, sizeof v);
}

void store_batch_wi_commit(struct store *s, rocksdb_writebatch_wi_t *b, uint64_t index)
{
    char *err = NULL;
    check_free_space(s, index);
    rocksdb_write_writebatch_wi(s->db, s->wopts, b, &err);
    committed(s, index, err);
}

/* Barriers and configuration changes touch no record: the index moves in memory only
 * and is persisted with the next write (replaying them after a restart is harmless). */
void store_apply_empty(struct store *s, uint64_t index)
{
    if (index > s->applied_index) {
        s->applied_index = index;
    }
}
