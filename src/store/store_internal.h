/* Private to src/store: the open database and key layout. */
#ifndef WAIHU_STORE_INTERNAL_H
#define WAIHU_STORE_INTERNAL_H

#include <rocksdb/c.h>

#include "store.h"

struct store {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t *cf[STORE_CF_COUNT];
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    uint64_t applied_index;
    store_applied_fn applied_fn;
    void *applied_data;
    char dir[512];
};

extern const char *const store_cf_names[STORE_CF_COUNT];

/* Keys in the meta column family. */
#define KEY_APPLIED "applied_index"
#define PREFIX_SETTING "setting/"
#define PREFIX_DEDUP "dedup/"
#define PREFIX_NODE "node/"

/* Writes the applied index into batch. */
void store_batch_applied(struct store *s, rocksdb_writebatch_t *b, uint64_t index);
/* Commits batch or aborts the process. */
void store_batch_commit(struct store *s, rocksdb_writebatch_t *b, uint64_t index);

#endif
