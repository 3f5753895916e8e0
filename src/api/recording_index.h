/* The recordings' search index (recording_index.c): one compact entry per live recording,
 * sorted by tenant | start | node | call, with agents and dispositions interned. Pure (no
 * I/O): api_recording_view.c keeps it from the store; tests and bench/recordings drive it
 * directly. Single-threaded. */
#ifndef WAIHU_RECORDING_INDEX_H
#define WAIHU_RECORDING_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recording_params.h"

#define REC_INDEX_NO_NAME UINT32_MAX
#define REC_INDEX_HELD 1u
#define REC_INDEX_KEYWORDS 2u /* the row has keyword hits (search reads it to match) */

struct rec_index_entry {
    uint64_t tenant;
    int64_t start_ms;
    uint64_t node, call;
    uint64_t customer, campaign;
    uint32_t duration_ms;
    uint32_t agent;       /* rec_index_name */
    uint32_t disposition; /* rec_index_name, or REC_INDEX_NO_NAME */
    uint32_t flags;       /* REC_INDEX_* */
};

struct rec_hit {
    int64_t start_ms;
    uint64_t node, call;
};

struct rec_index;
/* NULL only when out of memory. */
struct rec_index *rec_index_new(void);
void rec_index_free(struct rec_index *ix);
/* Drops every entry (names stay interned). */
void rec_index_clear(struct rec_index *ix);
/* Live entries. */
size_t rec_index_size(const struct rec_index *ix);
/* The id of a name, interning it (out of memory aborts). */
uint32_t rec_index_name(struct rec_index *ix, const char *name);
/* The id of a known name or REC_INDEX_NO_NAME. */
uint32_t rec_index_name_find(const struct rec_index *ix, const char *name);
/* The entry of a recording, or NULL. Valid until the next change of the index. */
struct rec_index_entry *rec_index_find(struct rec_index *ix, uint64_t tenant, int64_t start_ms,
                                       uint64_t node, uint64_t call);
/* Inserts e (or replaces the entry with its key). Appending in time order is O(1). */
void rec_index_put(struct rec_index *ix, const struct rec_index_entry *e);
/* Removes the entry with that key, if any (lazily: compaction when a quarter is dead). */
void rec_index_remove(struct rec_index *ix, uint64_t tenant, int64_t start_ms, uint64_t node,
                      uint64_t call);

/* Whether the recording's row has keyword (asked only for entries flagged
 * REC_INDEX_KEYWORDS when the query has a keyword). */
typedef bool (*rec_keyword_fn)(void *data, const struct rec_index_entry *e, const char *keyword);
/* Search, newest first: up to q->limit hits of tenant matching q into out (only_agent: an
 * agent's own calls only; NULL: any agent); *more when another page follows. Returns how
 * many. */
int rec_index_search(const struct rec_index *ix, uint64_t tenant, const char *only_agent,
                     const struct recording_query *q, rec_keyword_fn keyword_fn, void *data,
                     struct rec_hit *out, bool *more);
/* Gives fn every entry not on hold whose start + duration + keep_ms(tenant) is at or before
 * now_ms, oldest first per tenant, until fn returns nonzero or max were given. */
typedef int64_t (*rec_keep_fn)(void *data, uint64_t tenant);
typedef int (*rec_expired_fn)(void *data, uint64_t tenant, int64_t start_ms, uint64_t node,
                              uint64_t call);
void rec_index_expired(const struct rec_index *ix, int64_t now_ms, size_t max, rec_keep_fn keep,
                       rec_expired_fn fn, void *data);

#endif
