/* Mutations: a service's change as conditional key/value operations, applied
 * all-or-nothing. Deterministic: conditions read only the database and the writes of
 * earlier commands of the same entry (the indexed batch), never local state. */
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "waihu.pb-c.h"

#define MUTATION_MAX_OPS 1024
#define MUTATION_MAX_CONDITIONS 256
#define MUTATION_MAX_KEY_BYTES 1024
#define MUTATION_MAX_VALUE_BYTES (1024 * 1024)
#define COMMIT_SUFFIX_BYTES 24
#define MUTATION_BATCH_MAX_ITEMS 4096
#define MUTATION_BATCH_MAX_OPS 16384

/* Keys of the meta family that services may own; the rest belong to the store. */
static bool key_allowed(uint32_t cf, const ProtobufCBinaryData *key)
{
    if (key->len == 0 || key->len > MUTATION_MAX_KEY_BYTES || cf >= STORE_CF_COUNT) {
        return false;
    }
    if (cf == STORE_CF_META) {
        return key->len > strlen(STORE_SERVICE_META_PREFIX) &&
               memcmp(key->data, STORE_SERVICE_META_PREFIX,
                      strlen(STORE_SERVICE_META_PREFIX)) == 0;
    }
    return true;
}

static bool stamp_within(const MutationCondition *cond, int64_t stamp_ms)
{
    return stamp_ms >= cond->not_before_ms &&
           (cond->not_after_ms == 0 || stamp_ms < cond->not_after_ms);
}

static int check_condition(struct store *s, rocksdb_writebatch_wi_t *b, int64_t stamp_ms,
                           const MutationCondition *cond)
{
    if (cond->kind == MUTATION_CONDITION__KIND__STAMP_WITHIN) {
        return stamp_within(cond, stamp_ms);
    }
    char *err = NULL;
    size_t len = 0;
    rocksdb_readoptions_t *ro = s->ropts;
    char *v = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
        b, s->db, ro, s->cf[cond->cf], (const char *)cond->key.data, cond->key.len, &len, &err);
    if (err != NULL) {
        waihu_fatal("store", "apply: read for mutation condition: %s", err);
    }
    bool ok;
    switch (cond->kind) {
    case MUTATION_CONDITION__KIND__ABSENT: ok = v == NULL; break;
    case MUTATION_CONDITION__KIND__PRESENT: ok = v != NULL; break;
    case MUTATION_CONDITION__KIND__VALUE_HASH: {
        uint8_t h[SHA256_DIGEST_LENGTH];
        ok = v != NULL && cond->value_hash.len >= 8 &&
             cond->value_hash.len <= SHA256_DIGEST_LENGTH;
        if (ok) {
            SHA256((const uint8_t *)v, len, h);
            ok = memcmp(h, cond->value_hash.data, cond->value_hash.len) == 0;
        }
        break;
    }
    default: ok = false; break;
    }
    rocksdb_free(v);
    return ok;
}

static int validate(const Mutation *m)
{
    if (m->n_ops == 0 || m->n_ops > MUTATION_MAX_OPS ||
        m->n_conditions > MUTATION_MAX_CONDITIONS) {
        return WAIHU_EINVAL;
    }
    for (size_t i = 0; i < m->n_conditions; i++) {
        if (m->conditions[i]->kind != MUTATION_CONDITION__KIND__STAMP_WITHIN &&
            !key_allowed(m->conditions[i]->cf, &m->conditions[i]->key)) {
            return WAIHU_EINVAL;
        }
    }
    for (size_t i = 0; i < m->n_ops; i++) {
        const MutationOp *op = m->ops[i];
        if (!key_allowed(op->cf, &op->key) || op->value.len > MUTATION_MAX_VALUE_BYTES ||
            (op->delete_ && (op->value.len != 0 || op->append_commit_suffix ||
                             op->append_seq_suffix)) ||
            (op->append_commit_suffix && op->append_seq_suffix)) {
            return WAIHU_EINVAL;
        }
    }
    return 0;
}

/* Event-log ops of a mutation: at most STORE_SEQ_PER_COMMAND per command, so that an entry
 * of MAX_COMMANDS_PER_ENTRY commands numbers its events below STORE_SEQ_PER_ENTRY. */
#define STORE_SEQ_PER_COMMAND 256
static size_t seq_ops(const Mutation *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_ops; i++) {
        n += m->ops[i]->append_seq_suffix;
    }
    return n;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The first failed condition (1-based), or 0 when all hold. */
static uint32_t first_failed(struct store *s, rocksdb_writebatch_wi_t *b, int64_t stamp_ms,
                             const Mutation *m)
{
    for (size_t i = 0; i < m->n_conditions; i++) {
        if (!check_condition(s, b, stamp_ms, m->conditions[i])) {
            return (uint32_t)i + 1;
        }
    }
    return 0;
}

/* value followed by the protobuf varint field `field` = stamp_ms, in buf (malloc'd;
 * NULL when out of memory). */
static uint8_t *stamped_value(const ProtobufCBinaryData *value, uint32_t field,
                              int64_t stamp_ms, size_t *len)
{
    uint8_t *buf = malloc(value->len + 20);
    if (buf == NULL) {
        return NULL;
    }
    if (value->len > 0) { /* an empty value may have no data pointer (memcpy from NULL) */
        memcpy(buf, value->data, value->len);
    }
    size_t n = value->len;
    for (uint64_t v = (uint64_t)field << 3; ; v >>= 7) { /* wire type 0: varint */
        buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f) {
            break;
        }
    }
    for (uint64_t v = (uint64_t)stamp_ms; ; v >>= 7) {
        buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f) {
            break;
        }
    }
    *len = n;
    return buf;
}

/* Writes m's ops; op_base numbers them across a batch so commit suffixes stay unique. */
static void write_ops(struct store *s, rocksdb_writebatch_wi_t *b, int64_t stamp_ms,
                      uint64_t index, size_t command, const Mutation *m, size_t op_base)
{
    uint8_t k[MUTATION_MAX_KEY_BYTES + COMMIT_SUFFIX_BYTES];
    for (size_t i = 0; i < m->n_ops; i++) {
        const MutationOp *op = m->ops[i];
        rocksdb_column_family_handle_t *cf = s->cf[op->cf];
        size_t klen = op->key.len;
        memcpy(k, op->key.data, klen);
        if (op->append_commit_suffix) {
            be64_put(k + klen, (uint64_t)stamp_ms);
            be64_put(k + klen + 8, index);
            put_u32(k + klen + 16, (uint32_t)command);
            put_u32(k + klen + 20, (uint32_t)(op_base + i));
            klen += COMMIT_SUFFIX_BYTES;
        } else if (op->append_seq_suffix) {
            be64_put(k + klen, index);
            put_u32(k + klen + 8, s->entry_seq++);
            klen += STORE_SEQ_SUFFIX_BYTES;
        }
        const uint8_t *val = op->value.data;
        size_t vlen = op->value.len;
        uint8_t *stamped = NULL;
        if (op->stamp_field != 0 && !op->delete_) {
            stamped = stamped_value(&op->value, op->stamp_field, stamp_ms, &vlen);
            if (stamped == NULL) {
                waihu_fatal("store", "out of memory stamping a value");
            }
            val = stamped;
        }
        if (op->delete_) {
            rocksdb_writebatch_wi_delete_cf(b, cf, (const char *)k, klen);
        } else {
            rocksdb_writebatch_wi_put_cf(b, cf, (const char *)k, klen, (const char *)val, vlen);
        }
        /* Watched families are service records (the key as given) or the event log (the
         * key with its sequence: its copy lives until the watchers were told, like a
         * stamped value); never the audit log. */
        if (op->append_seq_suffix) {
            uint8_t *owned = malloc(klen + vlen);
            if (owned == NULL) {
                waihu_fatal("store", "out of memory noting an event");
            }
            memcpy(owned, k, klen);
            if (vlen > 0) { /* an empty value may have no data pointer */
                memcpy(owned + klen, val, vlen);
            }
            free(stamped);
            store_watch_note(s, op->cf, owned, klen, owned + klen, vlen, false, owned);
        } else if (!op->append_commit_suffix) {
            store_watch_note(s, op->cf, op->key.data, op->key.len, val, vlen, op->delete_,
                             stamped);
        } else {
            free(stamped);
        }
    }
}

void store_apply_mutation(struct store *s, rocksdb_writebatch_wi_t *b, int64_t stamp_ms,
                          uint64_t index, size_t command, const Mutation *m,
                          struct store_result *r)
{
    r->code = validate(m);
    if (r->code == 0 && seq_ops(m) > STORE_SEQ_PER_COMMAND) {
        r->code = WAIHU_EINVAL;
    }
    if (r->code != 0) {
        return;
    }
    r->failed_condition = first_failed(s, b, stamp_ms, m);
    if (r->failed_condition != 0) {
        r->code = WAIHU_ECONFLICT;
        return;
    }
    write_ops(s, b, stamp_ms, index, command, m, 0);
}

void store_apply_mutation_batch(struct store *s, rocksdb_writebatch_wi_t *b, int64_t stamp_ms,
                                uint64_t index, size_t command, const MutationBatch *mb,
                                struct store_result *r)
{
    size_t ops = 0, seqs = 0;
    r->code = mb->n_items == 0 || mb->n_items > MUTATION_BATCH_MAX_ITEMS ? WAIHU_EINVAL : 0;
    for (size_t i = 0; i < mb->n_items && r->code == 0; i++) {
        r->code = validate(mb->items[i]);
        ops += mb->items[i]->n_ops;
        seqs += seq_ops(mb->items[i]);
    }
    if (r->code == 0 && (ops > MUTATION_BATCH_MAX_OPS || seqs > STORE_SEQ_PER_COMMAND)) {
        r->code = WAIHU_EINVAL;
    }
    if (r->code != 0) {
        return; /* all or nothing for a malformed batch: nothing applies */
    }
    ops = 0;
    for (size_t i = 0; i < mb->n_items; i++) {
        const Mutation *m = mb->items[i];
        if (first_failed(s, b, stamp_ms, m) != 0) {
            r->conflicts++;
            continue;
        }
        write_ops(s, b, stamp_ms, index, command, m, ops);
        ops += m->n_ops;
        r->applied++;
    }
}
