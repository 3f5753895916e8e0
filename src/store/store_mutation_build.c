/* Building Mutation commands: copies everything so callers can pass stack buffers. */
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "waihu.pb-c.h"

struct store_mutation_builder {
    Mutation m;
    size_t cap_conds, cap_ops;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        waihu_fatal("store", "mutation builder: out of memory");
    }
    return p;
}

static ProtobufCBinaryData copy(const void *p, size_t n)
{
    ProtobufCBinaryData d = {.len = n, .data = xmalloc(n)};
    if (n) {
        memcpy(d.data, p, n);
    }
    return d;
}

struct store_mutation_builder *store_mb_new(void)
{
    struct store_mutation_builder *mb = calloc(1, sizeof *mb);
    if (mb == NULL) {
        waihu_fatal("store", "mutation builder: out of memory");
    }
    mutation__init(&mb->m);
    return mb;
}

void store_mb_free(struct store_mutation_builder *mb)
{
    if (mb == NULL) {
        return;
    }
    for (size_t i = 0; i < mb->m.n_conditions; i++) {
        free(mb->m.conditions[i]->key.data);
        free(mb->m.conditions[i]->value_hash.data);
        free(mb->m.conditions[i]);
    }
    for (size_t i = 0; i < mb->m.n_ops; i++) {
        free(mb->m.ops[i]->key.data);
        free(mb->m.ops[i]->value.data);
        free(mb->m.ops[i]);
    }
    free(mb->m.conditions);
    free(mb->m.ops);
    free(mb);
}

void store_mb_condition(struct store_mutation_builder *mb, enum store_cf cf, const void *key,
                        size_t key_len, enum store_mb_cond kind, const void *value,
                        size_t value_len)
{
    if (mb->m.n_conditions == mb->cap_conds) {
        mb->cap_conds = mb->cap_conds ? 2 * mb->cap_conds : 4;
        mb->m.conditions = realloc(mb->m.conditions, mb->cap_conds * sizeof *mb->m.conditions);
        if (mb->m.conditions == NULL) {
            waihu_fatal("store", "mutation builder: out of memory");
        }
    }
    MutationCondition *c = xmalloc(sizeof *c);
    mutation_condition__init(c);
    c->cf = cf;
    c->key = copy(key, key_len);
    c->kind = (MutationCondition__Kind)kind;
    if (kind == STORE_MB_VALUE_IS) {
        uint8_t h[SHA256_DIGEST_LENGTH];
        SHA256(value, value_len, h);
        c->value_hash = copy(h, 16);
    }
    mb->m.conditions[mb->m.n_conditions++] = c;
}

void store_mb_stamp_within(struct store_mutation_builder *mb, int64_t not_before_ms,
                           int64_t not_after_ms)
{
    store_mb_condition(mb, STORE_CF_META, NULL, 0, STORE_MB_ABSENT, NULL, 0);
    MutationCondition *c = mb->m.conditions[mb->m.n_conditions - 1];
    c->kind = MUTATION_CONDITION__KIND__STAMP_WITHIN;
    c->not_before_ms = not_before_ms;
    c->not_after_ms = not_after_ms;
}

static MutationOp *add_op(struct store_mutation_builder *mb, enum store_cf cf, const void *key,
                          size_t key_len)
{
    if (mb->m.n_ops == mb->cap_ops) {
        mb->cap_ops = mb->cap_ops ? 2 * mb->cap_ops : 8;
        mb->m.ops = realloc(mb->m.ops, mb->cap_ops * sizeof *mb->m.ops);
        if (mb->m.ops == NULL) {
            waihu_fatal("store", "mutation builder: out of memory");
        }
    }
    MutationOp *op = xmalloc(sizeof *op);
    mutation_op__init(op);
    op->cf = cf;
    op->key = copy(key, key_len);
    mb->m.ops[mb->m.n_ops++] = op;
    return op;
}

void store_mb_put(struct store_mutation_builder *mb, enum store_cf cf, const void *key,
                  size_t key_len, const void *value, size_t value_len)
{
    add_op(mb, cf, key, key_len)->value = copy(value, value_len);
}

void store_mb_delete(struct store_mutation_builder *mb, enum store_cf cf, const void *key,
                     size_t key_len)
{
    add_op(mb, cf, key, key_len)->delete_ = 1;
}

void store_mb_append(struct store_mutation_builder *mb, enum store_cf cf, const void *prefix,
                     size_t prefix_len, const void *value, size_t value_len)
{
    MutationOp *op = add_op(mb, cf, prefix, prefix_len);
    op->value = copy(value, value_len);
    op->append_commit_suffix = 1;
}

void store_mb_append_seq(struct store_mutation_builder *mb, enum store_cf cf, const void *prefix,
                         size_t prefix_len, const void *value, size_t value_len,
                         uint32_t stamp_field)
{
    MutationOp *op = add_op(mb, cf, prefix, prefix_len);
    op->value = copy(value, value_len);
    op->append_seq_suffix = 1;
    op->stamp_field = stamp_field;
}

void store_mb_put_stamped(struct store_mutation_builder *mb, enum store_cf cf, const void *key,
                          size_t key_len, const void *value, size_t value_len, uint32_t field)
{
    MutationOp *op = add_op(mb, cf, key, key_len);
    op->value = copy(value, value_len);
    op->stamp_field = field;
}

void store_mb_pack(const struct store_mutation_builder *mb, uint64_t client_id, uint64_t seq,
                   uint8_t **buf, size_t *len)
{
    Command cmd = COMMAND__INIT;
    cmd.client_id = client_id;
    cmd.seq = seq;
    cmd.op_case = COMMAND__OP_MUTATION;
    cmd.mutation = (Mutation *)&mb->m;
    *len = command__get_packed_size(&cmd);
    *buf = xmalloc(*len);
    command__pack(&cmd, *buf);
}

size_t store_mb_ops(const struct store_mutation_builder *mb)
{
    return mb->m.n_ops;
}

size_t store_mb_conditions(const struct store_mutation_builder *mb)
{
    return mb->m.n_conditions;
}

size_t store_mb_size(const struct store_mutation_builder *mb)
{
    return mutation__get_packed_size(&mb->m);
}

void store_mb_pack_batch(struct store_mutation_builder *const *items, size_t n,
                         uint64_t client_id, uint64_t seq, uint8_t **buf, size_t *len)
{
    Mutation **ms = xmalloc(n * sizeof *ms);
    for (size_t i = 0; i < n; i++) {
        ms[i] = &items[i]->m;
    }
    MutationBatch batch = MUTATION_BATCH__INIT;
    batch.n_items = n;
    batch.items = ms;
    Command cmd = COMMAND__INIT;
    cmd.client_id = client_id;
    cmd.seq = seq;
    cmd.op_case = COMMAND__OP_MUTATION_BATCH;
    cmd.mutation_batch = &batch;
    *len = command__get_packed_size(&cmd);
    *buf = xmalloc(*len);
    command__pack(&cmd, *buf);
    free(ms);
}
