/* The deterministic FSM: one raft entry -> one WriteBatch. Nothing here may read the
 * local clock or anything else that differs between nodes: time is the leader's stamp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "waihu.pb-c.h"

#define MAX_COMMANDS_PER_ENTRY 4096
/* With at most 256 event-log ops per command (store_mutation.c), an entry's events are
 * numbered below STORE_SEQ_PER_ENTRY. */
_Static_assert(MAX_COMMANDS_PER_ENTRY * 256u <= STORE_SEQ_PER_ENTRY, "event numbering");
#define MAX_KEY_BYTES 256
#define MAX_VALUE_BYTES (64 * 1024)

/* Reads the current version of a setting, looking first at writes earlier in this
 * same batch (a batch may touch one key twice). */
struct pending_write {
    const char *key;
    uint64_t version; /* 0 = deleted */
};

struct apply_ctx {
    struct store *s;
    rocksdb_writebatch_wi_t *b; /* indexed: mutations read this entry's earlier writes */
    int64_t stamp_ms;
    uint64_t index;
    size_t command;
    struct pending_write *pending;
    unsigned n_pending;
};

static void setting_key(const char *key, char *out, size_t cap, size_t *len)
{
    *len = (size_t)snprintf(out, cap, PREFIX_SETTING "%s", key);
}

static uint64_t current_version(struct apply_ctx *c, const char *key)
{
    for (unsigned i = c->n_pending; i > 0; i--) {
        if (strcmp(c->pending[i - 1].key, key) == 0) {
            return c->pending[i - 1].version;
        }
    }
    struct store_setting st;
    int rv = store_setting_get(c->s, key, &st);
    if (rv == WAIHU_ENOTFOUND) {
        return 0;
    }
    if (rv != 0) {
        /* Guessing "absent" would let a must-not-exist CAS overwrite real data. */
        waihu_fatal("store", "apply: read setting %s: %s", key, waihu_strerror(rv));
    }
    free(st.value);
    return st.version;
}

static void remember(struct apply_ctx *c, const char *key, uint64_t version)
{
    c->pending[c->n_pending].key = key;
    c->pending[c->n_pending].version = version;
    c->n_pending++;
}

bool store_setting_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > MAX_KEY_BYTES) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = key[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || strchr("._:/-", ch) != NULL;
        if (!ok) {
            return false;
        }
    }
    return true;
}

static void apply_put(struct apply_ctx *c, const SettingPut *p, struct store_result *r)
{
    if (!store_setting_key_valid(p->key) || strlen(p->value) > MAX_VALUE_BYTES) {
        r->code = WAIHU_EINVAL;
        return;
    }
    uint64_t cur = current_version(c, p->key);
    if (p->has_expected_version && p->expected_version != cur) {
        r->code = WAIHU_ECONFLICT;
        r->current_version = cur;
        return;
    }
    Setting rec = SETTING__INIT;
    rec.format = 1;
    rec.value = p->value;
    rec.version = cur + 1;
    rec.updated_ms = c->stamp_ms;
    size_t n = setting__get_packed_size(&rec);
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL) {
        waihu_fatal("store", "apply: out of memory packing setting %s", p->key);
    }
    setting__pack(&rec, v);
    char k[MAX_KEY_BYTES + 16];
    size_t klen;
    setting_key(p->key, k, sizeof k, &klen);
    rocksdb_writebatch_wi_put_cf(c->b, c->s->cf[STORE_CF_META], k, klen, (const char *)v, n);
    free(v);
    remember(c, p->key, rec.version);
    r->version = rec.version;
}

static void apply_delete(struct apply_ctx *c, const SettingDelete *d, struct store_result *r)
{
    if (!store_setting_key_valid(d->key)) {
        r->code = WAIHU_EINVAL;
        return;
    }
    uint64_t cur = current_version(c, d->key);
    if (d->has_expected_version && d->expected_version != cur) {
        r->code = WAIHU_ECONFLICT;
        r->current_version = cur;
        return;
    }
    if (cur == 0) {
        r->code = WAIHU_ENOTFOUND;
        return;
    }
    char k[MAX_KEY_BYTES + 16];
    size_t klen;
    setting_key(d->key, k, sizeof k, &klen);
    rocksdb_writebatch_wi_delete_cf(c->b, c->s->cf[STORE_CF_META], k, klen);
    remember(c, d->key, 0);
}

static void apply_announce(struct apply_ctx *c, const NodeAnnounce *a, struct store_result *r)
{
    if (a->id == 0) {
        r->code = WAIHU_EINVAL;
        return;
    }
    NodeInfo rec = NODE_INFO__INIT;
    rec.format = 1;
    rec.id = a->id;
    rec.name = a->name;
    rec.dc = a->dc;
    rec.raft_address = a->raft_address;
    rec.api_address = a->api_address;
    rec.forward_address = a->forward_address;
    size_t n = node_info__get_packed_size(&rec);
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL) {
        waihu_fatal("store", "apply: out of memory packing node %llu",
                    (unsigned long long)a->id);
    }
    node_info__pack(&rec, v);
    char k[sizeof PREFIX_NODE + 8];
    memcpy(k, PREFIX_NODE, strlen(PREFIX_NODE));
    be64_put((uint8_t *)k + strlen(PREFIX_NODE), a->id);
    rocksdb_writebatch_wi_put_cf(c->b, c->s->cf[STORE_CF_META], k, strlen(PREFIX_NODE) + 8,
                              (const char *)v, n);
    free(v);
}

static void dedup_key(uint64_t client_id, char *k, size_t *klen)
{
    memcpy(k, PREFIX_DEDUP, strlen(PREFIX_DEDUP));
    be64_put((uint8_t *)k + strlen(PREFIX_DEDUP), client_id);
    *klen = strlen(PREFIX_DEDUP) + 8;
}

/* Returns 1 and fills r when (client_id, seq) was seen: the stored result for the
 * same seq, WAIHU_ESTALE for an older one. Earlier commands of this batch count. */
static int dedup_check(struct apply_ctx *c, const Command *cmd, uint64_t *batch_seq,
                       struct store_result *r)
{
    char k[32];
    size_t klen;
    dedup_key(cmd->client_id, k, &klen);
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(c->s->db, c->s->ropts, c->s->cf[STORE_CF_META], k, klen, &len,
                             &err);
    if (err != NULL) {
        waihu_fatal("store", "apply: read dedup row of client %llu: %s",
                    (unsigned long long)cmd->client_id, err);
    }
    uint64_t last = *batch_seq;
    int found = 0;
    if (v != NULL) {
        DedupRow *row = dedup_row__unpack(NULL, len, (const uint8_t *)v);
        rocksdb_free(v);
        if (row != NULL) {
            if (row->seq > last) {
                last = row->seq;
            }
            if (row->seq == cmd->seq && row->result != NULL) {
                r->code = row->result->code;
                r->version = row->result->version;
                r->current_version = row->result->current_version;
                r->failed_condition = row->result->failed_condition;
                r->applied = row->result->applied;
                r->conflicts = row->result->conflicts;
                found = 1;
            }
            dedup_row__free_unpacked(row, NULL);
        }
    }
    if (found) {
        return 1;
    }
    if (last != 0 && cmd->seq <= last) {
        r->code = WAIHU_ESTALE;
        return 1;
    }
    return 0;
}

static void dedup_record(struct apply_ctx *c, const Command *cmd, const struct store_result *r)
{
    Result res = RESULT__INIT;
    res.code = r->code;
    res.version = r->version;
    res.current_version = r->current_version;
    res.failed_condition = r->failed_condition;
    res.applied = r->applied;
    res.conflicts = r->conflicts;
    DedupRow row = DEDUP_ROW__INIT;
    row.seq = cmd->seq;
    row.result = &res;
    uint8_t v[64];
    size_t n = dedup_row__get_packed_size(&row);
    if (n > sizeof v) {
        waihu_fatal("store", "dedup row of %zu bytes", n);
    }
    dedup_row__pack(&row, v);
    char k[32];
    size_t klen;
    dedup_key(cmd->client_id, k, &klen);
    rocksdb_writebatch_wi_put_cf(c->b, c->s->cf[STORE_CF_META], k, klen, (const char *)v, n);
}

/* Looks at commands earlier in this batch (their dedup rows are not readable yet):
 * a duplicate takes the earlier result; returns the highest seq seen for the client. */
static uint64_t batch_seq_of(const Entry *e, size_t upto, const struct store_result *results,
                             const Command *cmd, int *dup, struct store_result *r)
{
    uint64_t seq = 0;
    *dup = 0;
    for (size_t i = 0; i < upto; i++) {
        const Command *o = e->commands[i];
        if (o->client_id != cmd->client_id) {
            continue;
        }
        if (o->seq == cmd->seq) {
            *r = results[i];
            *dup = 1;
        }
        if (o->seq > seq) {
            seq = o->seq;
        }
    }
    return seq;
}

static void apply_command(struct apply_ctx *c, const Entry *e, size_t i,
                          struct store_result *results)
{
    const Command *cmd = e->commands[i];
    struct store_result *r = &results[i];
    memset(r, 0, sizeof *r);
    if (cmd->client_id != 0) {
        int dup;
        uint64_t bseq = batch_seq_of(e, i, results, cmd, &dup, r);
        if (dup) {
            return;
        }
        if (dedup_check(c, cmd, &bseq, r)) {
            return;
        }
    }
    switch (cmd->op_case) {
    case COMMAND__OP_SETTING_PUT: apply_put(c, cmd->setting_put, r); break;
    case COMMAND__OP_SETTING_DELETE: apply_delete(c, cmd->setting_delete, r); break;
    case COMMAND__OP_NODE_ANNOUNCE: apply_announce(c, cmd->node_announce, r); break;
    case COMMAND__OP_MUTATION:
        store_apply_mutation(c->s, c->b, c->stamp_ms, c->index, c->command, cmd->mutation, r);
        break;
    case COMMAND__OP_MUTATION_BATCH:
        store_apply_mutation_batch(c->s, c->b, c->stamp_ms, c->index, c->command,
                                   cmd->mutation_batch, r);
        break;
    case COMMAND__OP_NOOP: break;
    default: r->code = WAIHU_EINVAL; break;
    }
    if (cmd->client_id != 0) {
        dedup_record(c, cmd, r);
    }
}

size_t store_entry_size(size_t message_len)
{
    return (STORE_ENTRY_HEAD + message_len + 7) & ~(size_t)7;
}

void store_entry_frame(uint8_t *buf, size_t message_len)
{
    buf[0] = (uint8_t)(message_len >> 24);
    buf[1] = (uint8_t)(message_len >> 16);
    buf[2] = (uint8_t)(message_len >> 8);
    buf[3] = (uint8_t)message_len;
    size_t end = STORE_ENTRY_HEAD + message_len;
    memset(buf + end, 0, store_entry_size(message_len) - end);
}

void store_apply(struct store *s, uint64_t index, const void *buf, size_t len)
{
    if (index <= s->applied_index) {
        return;
    }
    const uint8_t *p = buf;
    size_t mlen = len >= STORE_ENTRY_HEAD
                      ? ((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3])
                      : 0;
    Entry *e = len >= STORE_ENTRY_HEAD && mlen <= len - STORE_ENTRY_HEAD
                   ? entry__unpack(NULL, mlen, p + STORE_ENTRY_HEAD)
                   : NULL;
    rocksdb_writebatch_wi_t *b = rocksdb_writebatch_wi_create(0, 1);
    store_batch_wi_applied(s, b, index);
    s->entry_seq = 0;
    if (e == NULL || e->version != 1 || e->n_commands > MAX_COMMANDS_PER_ENTRY) {
        /* Deterministic on every node: the entry is a no-op, the index still moves. */
        LOG_W("store", "apply %llu: undecodable entry of %zu bytes skipped",
              (unsigned long long)index, len);
        store_batch_wi_commit(s, b, index);
        rocksdb_writebatch_wi_destroy(b);
        if (e != NULL) {
            /* The origin still waits for an answer per command: WAIHU_EINVAL. */
            struct store_result *bad = calloc(e->n_commands ? e->n_commands : 1, sizeof *bad);
            if (bad == NULL) {
                waihu_fatal("store", "apply %llu: out of memory", (unsigned long long)index);
            }
            for (size_t i = 0; i < e->n_commands; i++) {
                bad[i].code = WAIHU_EINVAL;
            }
            if (s->applied_fn != NULL) {
                s->applied_fn(s->applied_data, index, e->origin, e->batch_id, bad,
                              (unsigned)e->n_commands);
            }
            free(bad);
            entry__free_unpacked(e, NULL);
        }
        return;
    }
    struct store_result *results = calloc(e->n_commands ? e->n_commands : 1, sizeof *results);
    struct pending_write *pending = calloc(e->n_commands ? e->n_commands : 1, sizeof *pending);
    if (results == NULL || pending == NULL) {
        waihu_fatal("store", "apply %llu: out of memory", (unsigned long long)index);
    }
    struct apply_ctx c = {.s = s, .b = b, .stamp_ms = e->stamp_ms, .index = index,
                          .pending = pending};
    for (size_t i = 0; i < e->n_commands; i++) {
        c.command = i;
        apply_command(&c, e, i, results);
    }
    store_batch_wi_commit(s, b, index);
    rocksdb_writebatch_wi_destroy(b);
    store_watch_tell(s);
    if (s->applied_fn != NULL) {
        s->applied_fn(s->applied_data, index, e->origin, e->batch_id, results,
                      (unsigned)e->n_commands);
    }
    free(pending);
    free(results);
    entry__free_unpacked(e, NULL);
}
