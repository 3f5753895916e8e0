/* Mutations over a real RocksDB: conditions see earlier commands of the same entry,
 * all-or-nothing, commit suffixes, the store's own keys are refused, dedup keeps the
 * failed condition. */
#include <openssl/sha.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "test_util.h"

#define MAX_CMDS 8
#define MAX_PARTS 260 /* the event-log limit test puts 257 ops in one command */

struct results {
    unsigned n;
    struct store_result r[MAX_CMDS];
};

struct fx {
    char dir[64];
    struct store *s;
    struct results last;
    uint64_t index;
};

static void on_applied(void *data, uint64_t index, uint64_t origin, uint64_t batch_id,
                       const struct store_result *results, unsigned n)
{
    (void)index, (void)origin, (void)batch_id;
    struct results *l = data;
    l->n = n;
    memcpy(l->r, results, (n < MAX_CMDS ? n : MAX_CMDS) * sizeof *results);
}

/* One mutation command under construction (strings borrowed). */
struct mut {
    Mutation m;
    MutationCondition conds[MAX_PARTS];
    MutationCondition *cond_ptrs[MAX_PARTS];
    MutationOp ops[MAX_PARTS];
    MutationOp *op_ptrs[MAX_PARTS];
    uint8_t hash[SHA256_DIGEST_LENGTH];
};

static void mut_init(struct mut *m)
{
    memset(m, 0, sizeof *m);
    mutation__init(&m->m);
    m->m.conditions = m->cond_ptrs;
    m->m.ops = m->op_ptrs;
}

static void mut_cond(struct mut *m, enum store_cf cf, const char *key,
                     MutationCondition__Kind kind)
{
    MutationCondition *c = &m->conds[m->m.n_conditions];
    mutation_condition__init(c);
    c->cf = cf;
    c->key.data = (uint8_t *)key;
    c->key.len = strlen(key);
    c->kind = kind;
    m->cond_ptrs[m->m.n_conditions++] = c;
}

static void mut_cond_value(struct mut *m, enum store_cf cf, const char *key, const char *value)
{
    SHA256((const uint8_t *)value, strlen(value), m->hash);
    mut_cond(m, cf, key, MUTATION_CONDITION__KIND__VALUE_HASH);
    m->conds[m->m.n_conditions - 1].value_hash.data = m->hash;
    m->conds[m->m.n_conditions - 1].value_hash.len = 16;
}

static MutationOp *mut_put(struct mut *m, enum store_cf cf, const char *key, const char *value)
{
    MutationOp *op = &m->ops[m->m.n_ops];
    mutation_op__init(op);
    op->cf = cf;
    op->key.data = (uint8_t *)key;
    op->key.len = strlen(key);
    op->value.data = (uint8_t *)value;
    op->value.len = value ? strlen(value) : 0;
    op->delete_ = value == NULL;
    m->op_ptrs[m->m.n_ops++] = op;
    return op;
}

/* Applies the mutations as one entry and returns the results. */
static struct results *apply(struct fx *f, struct mut **muts, unsigned n)
{
    Command cmds[MAX_CMDS];
    Command *ptrs[MAX_CMDS];
    for (unsigned i = 0; i < n; i++) {
        command__init(&cmds[i]);
        cmds[i].op_case = COMMAND__OP_MUTATION;
        cmds[i].mutation = &muts[i]->m;
        ptrs[i] = &cmds[i];
    }
    Entry e = ENTRY__INIT;
    e.version = 1;
    e.stamp_ms = 1700000000000;
    e.origin = 1;
    e.batch_id = ++f->index;
    e.commands = ptrs;
    e.n_commands = n;
    size_t mlen = entry__get_packed_size(&e);
    size_t len = store_entry_size(mlen);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    entry__pack(&e, buf + STORE_ENTRY_HEAD);
    store_entry_frame(buf, mlen);
    memset(&f->last, 0, sizeof f->last);
    store_apply(f->s, f->index, buf, len);
    free(buf);
    assert_int_equal(f->last.n, n);
    return &f->last;
}

static char *get(struct fx *f, enum store_cf cf, const char *key)
{
    void *v = NULL;
    size_t len = 0;
    int rv = store_get(f->s, cf, key, strlen(key), &v, &len);
    if (rv == WAIHU_ENOTFOUND) {
        return NULL;
    }
    assert_int_equal(rv, 0);
    char *s = malloc(len + 1);
    memcpy(s, v, len);
    s[len] = 0;
    free(v);
    return s;
}

static void assert_value(struct fx *f, enum store_cf cf, const char *key, const char *want)
{
    char *got = get(f, cf, key);
    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    tmpdir_make(f->dir);
    char errmsg[256];
    assert_int_equal(store_open(f->dir, &f->s, errmsg), 0);
    store_on_applied(f->s, on_applied, &f->last);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* A customer and its phone index are written together only while the phone is free. */
static void test_create_unique(void **state)
{
    struct fx *f = *state;
    struct mut a, b;
    mut_init(&a);
    mut_cond(&a, STORE_CF_CUSTOMER_IDX, "ph/1", MUTATION_CONDITION__KIND__ABSENT);
    mut_put(&a, STORE_CF_CUSTOMER, "c/1", "alice");
    mut_put(&a, STORE_CF_CUSTOMER_IDX, "ph/1", "1");
    /* Same phone in the same entry: must see a's write and fail as a whole. */
    mut_init(&b);
    mut_cond(&b, STORE_CF_CUSTOMER_IDX, "ph/1", MUTATION_CONDITION__KIND__ABSENT);
    mut_put(&b, STORE_CF_CUSTOMER, "c/2", "bob");
    mut_put(&b, STORE_CF_CUSTOMER_IDX, "ph/1", "2");
    struct mut *ms[] = {&a, &b};
    struct results *r = apply(f, ms, 2);
    assert_int_equal(r->r[0].code, 0);
    assert_int_equal(r->r[1].code, WAIHU_ECONFLICT);
    assert_int_equal(r->r[1].failed_condition, 1);
    assert_value(f, STORE_CF_CUSTOMER, "c/1", "alice");
    assert_value(f, STORE_CF_CUSTOMER, "c/2", NULL);
    assert_value(f, STORE_CF_CUSTOMER_IDX, "ph/1", "1");
}

/* Applies one MutationBatch command (client 77, seq) as an entry; returns its result. */
static struct store_result apply_batch(struct fx *f, struct mut **items, unsigned n,
                                       uint64_t seq)
{
    Mutation *ms[MAX_CMDS];
    for (unsigned i = 0; i < n; i++) {
        ms[i] = &items[i]->m;
    }
    MutationBatch batch = MUTATION_BATCH__INIT;
    batch.items = ms;
    batch.n_items = n;
    Command cmd = COMMAND__INIT;
    cmd.client_id = 77;
    cmd.seq = seq;
    cmd.op_case = COMMAND__OP_MUTATION_BATCH;
    cmd.mutation_batch = &batch;
    Command *ptrs[] = {&cmd};
    Entry e = ENTRY__INIT;
    e.version = 1;
    e.stamp_ms = 1700000000000;
    e.origin = 1;
    e.batch_id = ++f->index;
    e.commands = ptrs;
    e.n_commands = 1;
    size_t mlen = entry__get_packed_size(&e);
    size_t len = store_entry_size(mlen);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    entry__pack(&e, buf + STORE_ENTRY_HEAD);
    store_entry_frame(buf, mlen);
    memset(&f->last, 0, sizeof f->last);
    store_apply(f->s, f->index, buf, len);
    free(buf);
    assert_int_equal(f->last.n, 1);
    return f->last.r[0];
}

/* Bulk import: a row whose phone is taken (earlier in the batch or already stored) is
 * skipped alone; its neighbours apply; a re-sent batch applies nothing twice. */
static void test_batch_items_stand_alone(void **state)
{
    struct fx *f = *state;
    struct mut pre, a, dup, b;
    mut_init(&pre);
    mut_put(&pre, STORE_CF_CUSTOMER_IDX, "ph/9", "0");
    struct mut *first[] = {&pre};
    assert_int_equal(apply(f, first, 1)->r[0].code, 0);

    mut_init(&a);
    mut_cond(&a, STORE_CF_CUSTOMER_IDX, "ph/1", MUTATION_CONDITION__KIND__ABSENT);
    mut_put(&a, STORE_CF_CUSTOMER, "c/1", "alice");
    mut_put(&a, STORE_CF_CUSTOMER_IDX, "ph/1", "1");
    mut_init(&dup); /* same phone as a, in the same command */
    mut_cond(&dup, STORE_CF_CUSTOMER_IDX, "ph/1", MUTATION_CONDITION__KIND__ABSENT);
    mut_put(&dup, STORE_CF_CUSTOMER, "c/2", "alice again");
    mut_put(&dup, STORE_CF_CUSTOMER_IDX, "ph/1", "2");
    mut_init(&b); /* phone stored before */
    mut_cond(&b, STORE_CF_CUSTOMER_IDX, "ph/9", MUTATION_CONDITION__KIND__ABSENT);
    mut_put(&b, STORE_CF_CUSTOMER, "c/3", "bob");
    struct mut ok;
    mut_init(&ok);
    mut_cond(&ok, STORE_CF_CUSTOMER_IDX, "ph/4", MUTATION_CONDITION__KIND__ABSENT);
    mut_put(&ok, STORE_CF_CUSTOMER, "c/4", "carol");
    struct mut *c[] = {&a, &dup, &b, &ok};
    struct store_result r = apply_batch(f, c, 4, 1);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.applied, 2);
    assert_int_equal(r.conflicts, 2);
    assert_value(f, STORE_CF_CUSTOMER, "c/1", "alice");
    assert_value(f, STORE_CF_CUSTOMER, "c/2", NULL);
    assert_value(f, STORE_CF_CUSTOMER, "c/3", NULL);
    assert_value(f, STORE_CF_CUSTOMER, "c/4", "carol");
    assert_value(f, STORE_CF_CUSTOMER_IDX, "ph/1", "1");

    /* The same command again (a retry after a timeout): the first answer, no writes. */
    mut_put(&ok, STORE_CF_CUSTOMER, "c/5", "would be new");
    r = apply_batch(f, c, 4, 1);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.applied, 2);
    assert_int_equal(r.conflicts, 2);
    assert_value(f, STORE_CF_CUSTOMER, "c/5", NULL);

    /* A malformed item (a store-owned meta key) refuses the whole batch. */
    struct mut bad;
    mut_init(&bad);
    mut_put(&bad, STORE_CF_META, "applied", "x");
    struct mut *d[] = {&ok, &bad};
    r = apply_batch(f, d, 2, 2);
    assert_int_equal(r.code, WAIHU_EINVAL);
    assert_value(f, STORE_CF_CUSTOMER, "c/5", NULL);
}

/* Optimistic update: the value hash must match what is stored now. */
static void test_value_hash(void **state)
{
    struct fx *f = *state;
    struct mut a;
    mut_init(&a);
    mut_put(&a, STORE_CF_CUSTOMER, "c/1", "v1");
    struct mut *ms[] = {&a};
    assert_int_equal(apply(f, ms, 1)->r[0].code, 0);

    struct mut stale, fresh;
    mut_init(&stale);
    mut_cond_value(&stale, STORE_CF_CUSTOMER, "c/1", "v0");
    mut_put(&stale, STORE_CF_CUSTOMER, "c/1", "from-stale");
    mut_init(&fresh);
    mut_cond_value(&fresh, STORE_CF_CUSTOMER, "c/1", "v1");
    mut_put(&fresh, STORE_CF_CUSTOMER, "c/1", "v2");
    struct mut *ms2[] = {&stale, &fresh};
    struct results *r = apply(f, ms2, 2);
    assert_int_equal(r->r[0].code, WAIHU_ECONFLICT);
    assert_int_equal(r->r[1].code, 0);
    assert_value(f, STORE_CF_CUSTOMER, "c/1", "v2");

    /* A delete in the same entry makes PRESENT fail for the next command. */
    struct mut del, upd;
    mut_init(&del);
    mut_put(&del, STORE_CF_CUSTOMER, "c/1", NULL);
    mut_init(&upd);
    mut_cond(&upd, STORE_CF_CUSTOMER, "c/1", MUTATION_CONDITION__KIND__PRESENT);
    mut_put(&upd, STORE_CF_CUSTOMER, "c/1", "resurrected");
    struct mut *ms3[] = {&del, &upd};
    r = apply(f, ms3, 2);
    assert_int_equal(r->r[0].code, 0);
    assert_int_equal(r->r[1].code, WAIHU_ECONFLICT);
    assert_value(f, STORE_CF_CUSTOMER, "c/1", NULL);
}

static void mut_stamp(struct mut *m, int64_t not_before, int64_t not_after)
{
    MutationCondition *c = &m->conds[m->m.n_conditions];
    mutation_condition__init(c);
    c->kind = MUTATION_CONDITION__KIND__STAMP_WITHIN;
    c->not_before_ms = not_before;
    c->not_after_ms = not_after;
    m->cond_ptrs[m->m.n_conditions++] = c;
}

/* Calling windows and lease takeovers are judged on the leader's stamp of the entry
 * (1700000000000 here), the same on every node: inside applies, outside conflicts. */
static void test_stamp_within(void **state)
{
    struct fx *f = *state;
    const int64_t t = 1700000000000;
    struct mut inside, before, after, open_end, at_end;
    mut_init(&inside);
    mut_stamp(&inside, t - 1000, t + 1000);
    mut_put(&inside, STORE_CF_LEAD, "l/1", "dialed");
    mut_init(&before);
    mut_stamp(&before, t + 1, t + 5000); /* window not open yet */
    mut_put(&before, STORE_CF_LEAD, "l/2", "dialed");
    mut_init(&after);
    mut_cond(&after, STORE_CF_LEAD, "l/1", MUTATION_CONDITION__KIND__PRESENT);
    mut_stamp(&after, 0, t - 1); /* window closed */
    mut_put(&after, STORE_CF_LEAD, "l/3", "dialed");
    mut_init(&open_end);
    mut_stamp(&open_end, t, 0); /* lease expired at t: taken over from t on */
    mut_put(&open_end, STORE_CF_LEAD, "l/4", "taken");
    mut_init(&at_end);
    mut_stamp(&at_end, 0, t); /* the end is exclusive */
    mut_put(&at_end, STORE_CF_LEAD, "l/5", "dialed");
    struct mut *ms[] = {&inside, &before, &after, &open_end, &at_end};
    struct results *r = apply(f, ms, 5);
    assert_int_equal(r->r[0].code, 0);
    assert_int_equal(r->r[1].code, WAIHU_ECONFLICT);
    assert_int_equal(r->r[1].failed_condition, 1);
    assert_int_equal(r->r[2].code, WAIHU_ECONFLICT);
    assert_int_equal(r->r[2].failed_condition, 2);
    assert_int_equal(r->r[3].code, 0);
    assert_int_equal(r->r[4].code, WAIHU_ECONFLICT);
    assert_value(f, STORE_CF_LEAD, "l/1", "dialed");
    assert_value(f, STORE_CF_LEAD, "l/2", NULL);
    assert_value(f, STORE_CF_LEAD, "l/3", NULL);
    assert_value(f, STORE_CF_LEAD, "l/4", "taken");
    assert_value(f, STORE_CF_LEAD, "l/5", NULL);
}

static void watch_stamp(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    MutationCondition *got = val ? mutation_condition__unpack(NULL, vlen, val) : NULL;
    if (got != NULL) {
        *(int64_t *)data = got->not_before_ms;
        mutation_condition__free_unpacked(got, NULL);
    }
}

/* A stamped put carries the leader's stamp of the committing entry inside the record: the
 * appended field wins over the one the submitter packed; watchers see the stamped value. */
static void test_stamped_put(void **state)
{
    struct fx *f = *state;
    int64_t watched = 0;
    assert_int_equal(store_watch(f->s, STORE_CF_AGENT, watch_stamp, &watched), 0);
    MutationCondition rec = MUTATION_CONDITION__INIT; /* any message with an int64 field */
    rec.cf = 3;
    rec.not_before_ms = 42; /* the submitter's guess, overridden */
    uint8_t packed[64];
    size_t n = mutation_condition__pack(&rec, packed);
    struct mut a;
    mut_init(&a);
    MutationOp *op = mut_put(&a, STORE_CF_AGENT, "s/alice", "");
    op->value.data = packed;
    op->value.len = n;
    op->stamp_field = 5; /* not_before_ms */
    struct mut *ms[] = {&a};
    assert_int_equal(apply(f, ms, 1)->r[0].code, 0);
    void *val;
    size_t vlen;
    assert_int_equal(store_get(f->s, STORE_CF_AGENT, "s/alice", 7, &val, &vlen), 0);
    MutationCondition *got = mutation_condition__unpack(NULL, vlen, val);
    assert_non_null(got);
    assert_int_equal(got->cf, 3);
    assert_int_equal(got->not_before_ms, 1700000000000);
    mutation_condition__free_unpacked(got, NULL);
    free(val);
    assert_int_equal(watched, 1700000000000);
    store_unwatch(f->s, STORE_CF_AGENT, watch_stamp, &watched);
}

/* Empty values arrive with a NULL data pointer from protobuf-c, and the FSM copied from it
 * (fuzz/fuzz_store_apply.c, UBSan): a stamped one is the stamp field alone; an event is
 * stored empty. */
static void test_empty_values(void **state)
{
    struct fx *f = *state;
    struct mut a;
    mut_init(&a);
    MutationOp *op = mut_put(&a, STORE_CF_AGENT, "s/bob", "");
    op->value.data = NULL;
    op->value.len = 0;
    op->stamp_field = 5; /* MutationCondition.not_before_ms */
    struct mut *ms[] = {&a};
    assert_int_equal(apply(f, ms, 1)->r[0].code, 0);
    void *val;
    size_t vlen;
    assert_int_equal(store_get(f->s, STORE_CF_AGENT, "s/bob", 5, &val, &vlen), 0);
    MutationCondition *got = mutation_condition__unpack(NULL, vlen, val);
    assert_non_null(got);
    assert_int_equal(got->not_before_ms, 1700000000000);
    mutation_condition__free_unpacked(got, NULL);
    free(val);

    struct mut e;
    mut_init(&e);
    op = mut_put(&e, STORE_CF_EVENT, "ev/", "");
    op->value.data = NULL;
    op->append_seq_suffix = 1;
    ms[0] = &e;
    assert_int_equal(apply(f, ms, 1)->r[0].code, 0);
}

static int count_cb(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    unsigned *n = data;
    /* prefix "a/" + 24-byte suffix: be64 stamp first */
    assert_int_equal(klen, 2 + 24);
    const uint8_t *k = key;
    uint64_t stamp = 0;
    for (int i = 0; i < 8; i++) {
        stamp = stamp << 8 | k[2 + i];
    }
    assert_int_equal(stamp, 1700000000000);
    (*n)++;
    return 0;
}

/* Audit rows get unique keys in commit order without a counter. */
static void test_commit_suffix(void **state)
{
    struct fx *f = *state;
    struct mut a, b;
    mut_init(&a);
    mut_put(&a, STORE_CF_AUDIT, "a/", "one")->append_commit_suffix = 1;
    mut_put(&a, STORE_CF_AUDIT, "a/", "two")->append_commit_suffix = 1;
    mut_init(&b);
    mut_put(&b, STORE_CF_AUDIT, "a/", "three")->append_commit_suffix = 1;
    struct mut *ms[] = {&a, &b};
    assert_int_equal(apply(f, ms, 2)->r[1].code, 0);
    unsigned n = 0;
    assert_int_equal(store_scan(f->s, STORE_CF_AUDIT, "a/", 2, NULL, 0, count_cb, &n), 0);
    assert_int_equal(n, 3);
}

struct seqs {
    uint64_t got[8];
    unsigned n;
};

static uint64_t seq_of(const uint8_t *k, size_t klen)
{
    uint64_t index = 0;
    for (int i = 0; i < 8; i++) {
        index = index << 8 | k[klen - 12 + i];
    }
    uint32_t n = (uint32_t)k[klen - 4] << 24 | (uint32_t)k[klen - 3] << 16 |
                 (uint32_t)k[klen - 2] << 8 | k[klen - 1];
    return index * STORE_SEQ_PER_ENTRY + n;
}

static void watch_seq(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    struct seqs *s = data;
    if (key != NULL && klen == 2 + STORE_SEQ_SUFFIX_BYTES && s->n < 8) {
        s->got[s->n++] = seq_of(key, klen);
    }
}

static int scan_seq(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    watch_seq(data, key, klen, val, vlen);
    return 0;
}

/* Event-log rows are numbered in commit order: raft index, then their order in the entry
 * across commands; watchers see the same numbers as a later scan. A command with too
 * many of them is refused whole. */
static void test_seq_suffix(void **state)
{
    struct fx *f = *state;
    struct seqs watched = {0}, scanned = {0};
    assert_int_equal(store_watch(f->s, STORE_CF_EVENT, watch_seq, &watched), 0);
    struct mut a, b, c;
    mut_init(&a);
    mut_put(&a, STORE_CF_EVENT, "e/", "one")->append_seq_suffix = 1;
    mut_put(&a, STORE_CF_EVENT, "e/", "two")->append_seq_suffix = 1;
    mut_init(&b);
    mut_put(&b, STORE_CF_EVENT, "e/", "three")->append_seq_suffix = 1;
    struct mut *ms[] = {&a, &b};
    assert_int_equal(apply(f, ms, 2)->r[1].code, 0);
    uint64_t first = f->index;
    mut_init(&c);
    mut_put(&c, STORE_CF_EVENT, "e/", "four")->append_seq_suffix = 1;
    struct mut *ms2[] = {&c};
    assert_int_equal(apply(f, ms2, 1)->r[0].code, 0);
    uint64_t want[] = {first * STORE_SEQ_PER_ENTRY, first * STORE_SEQ_PER_ENTRY + 1,
                       first * STORE_SEQ_PER_ENTRY + 2, f->index * STORE_SEQ_PER_ENTRY};
    assert_int_equal(watched.n, 4);
    assert_int_equal(store_scan(f->s, STORE_CF_EVENT, "e/", 2, NULL, 0, scan_seq, &scanned), 0);
    assert_int_equal(scanned.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(watched.got[i], want[i]);
        assert_int_equal(scanned.got[i], want[i]);
    }
    store_unwatch(f->s, STORE_CF_EVENT, watch_seq, &watched);
    /* 257 event rows in one command: refused, nothing written. */
    struct mut big;
    mut_init(&big);
    for (int i = 0; i < 257; i++) {
        mut_put(&big, STORE_CF_EVENT, "x/", "e")->append_seq_suffix = 1;
    }
    struct mut *ms3[] = {&big};
    assert_int_equal(apply(f, ms3, 1)->r[0].code, WAIHU_EINVAL);
    struct seqs none = {0};
    assert_int_equal(store_scan(f->s, STORE_CF_EVENT, "x/", 2, NULL, 0, scan_seq, &none), 0);
    assert_int_equal(none.n, 0);
}

/* The store's own rows (applied index, dedup, settings) are out of reach. */
static void test_meta_keys_refused(void **state)
{
    struct fx *f = *state;
    struct mut a, b;
    mut_init(&a);
    mut_put(&a, STORE_CF_META, "applied_index", "xxxxxxxx");
    mut_init(&b);
    mut_put(&b, STORE_CF_META, STORE_SERVICE_META_PREFIX "auth/u/1", "ok");
    struct mut *ms[] = {&a, &b};
    struct results *r = apply(f, ms, 2);
    assert_int_equal(r->r[0].code, WAIHU_EINVAL);
    assert_int_equal(r->r[1].code, 0);
    assert_int_equal(store_applied_index(f->s), f->index);
    assert_value(f, STORE_CF_META, STORE_SERVICE_META_PREFIX "auth/u/1", "ok");

    struct mut bad_cf;
    mut_init(&bad_cf);
    mut_put(&bad_cf, STORE_CF_CUSTOMER, "c/9", "x")->cf = STORE_CF_COUNT;
    struct mut *ms2[] = {&bad_cf};
    assert_int_equal(apply(f, ms2, 1)->r[0].code, WAIHU_EINVAL);
}

struct scan_acc {
    char keys[8][16];
    unsigned n;
};

static int collect(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    struct scan_acc *a = data;
    snprintf(a->keys[a->n++], 16, "%.*s", (int)klen, (const char *)key);
    return a->n == 2 ? 7 : 0;
}

static void test_scan_cursor(void **state)
{
    struct fx *f = *state;
    struct mut a;
    mut_init(&a);
    mut_put(&a, STORE_CF_CUSTOMER, "c/1", "x");
    mut_put(&a, STORE_CF_CUSTOMER, "c/2", "x");
    mut_put(&a, STORE_CF_CUSTOMER, "c/3", "x");
    mut_put(&a, STORE_CF_CUSTOMER, "d/1", "x");
    struct mut *ms[] = {&a};
    apply(f, ms, 1);
    struct scan_acc acc = {0};
    /* Stops at the callback's nonzero value, which is returned. */
    assert_int_equal(store_scan(f->s, STORE_CF_CUSTOMER, "c/", 2, "c/1", 3, collect, &acc), 7);
    assert_string_equal(acc.keys[0], "c/2");
    assert_string_equal(acc.keys[1], "c/3");
    /* A cursor before the prefix starts at the prefix. */
    memset(&acc, 0, sizeof acc);
    assert_int_equal(store_scan(f->s, STORE_CF_CUSTOMER, "c/", 2, "a", 1, collect, &acc), 7);
    assert_string_equal(acc.keys[0], "c/1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamp_within, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamped_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_items_stand_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seq_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_keys_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_cursor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
