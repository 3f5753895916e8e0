/* The store FSM over a real RocksDB in a temp dir: settings, CAS, dedup, applied index,
 * snapshots and damaged databases. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "store.h"
#include "test_util.h"

#define MAX_RESULTS 32

struct applied_log {
    unsigned calls;
    uint64_t index;
    uint64_t origin;
    uint64_t batch_id;
    unsigned n;
    struct store_result results[MAX_RESULTS];
};

struct fx {
    char dir[64];
    struct store *s;
    struct applied_log log;
};

static void on_applied(void *data, uint64_t index, uint64_t origin, uint64_t batch_id,
                       const struct store_result *results, unsigned n)
{
    struct applied_log *l = data;
    l->calls++;
    l->index = index;
    l->origin = origin;
    l->batch_id = batch_id;
    l->n = n;
    memcpy(l->results, results, (n < MAX_RESULTS ? n : MAX_RESULTS) * sizeof *results);
}

static struct store *open_ok(const char *dir)
{
    char errmsg[256] = "";
    struct store *s = NULL;
    int rv = store_open(dir, &s, errmsg);
    if (rv != 0) {
        fail_msg("store_open %s: %d %s", dir, rv, errmsg);
    }
    return s;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    tmpdir_make(f->dir);
    f->s = open_ok(f->dir);
    store_on_applied(f->s, on_applied, &f->log);
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

static void apply(struct store *s, uint64_t index, const struct tb_entry *b)
{
    size_t len;
    void *buf = tb_pack(b, malloc, &len);
    store_apply(s, index, buf, len);
    free(buf);
}

/* Checks a setting's value and version; value NULL means it must not exist. */
static void check_setting(struct store *s, const char *key, const char *value, uint64_t version)
{
    struct store_setting st;
    int rv = store_setting_get(s, key, &st);
    if (value == NULL) {
        assert_int_equal(rv, WAIHU_ENOTFOUND);
        return;
    }
    assert_int_equal(rv, 0);
    assert_string_equal(st.value, value);
    assert_int_equal(st.version, version);
    free(st.value);
}

/* The whole store as a snapshot blob (malloc'd): equal blobs = equal stores. */
static void *dump(struct store *s, size_t *len)
{
    struct store_snapshot *snap;
    void *buf;
    assert_int_equal(store_snapshot_begin(s, &snap), 0);
    assert_int_equal(store_snapshot_serialize(snap, malloc, &buf, len), 0);
    store_snapshot_end(snap);
    return buf;
}

static void assert_same_dump(struct store *s, const void *before, size_t before_len)
{
    size_t len;
    void *now = dump(s, &len);
    assert_int_equal(len, before_len);
    assert_memory_equal(now, before, len);
    free(now);
}

static void test_put_get(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 1, 10, 1700000000000);
    tb_put(&b, 0, 0, "campaign/1/name", "spring");
    apply(f->s, 1, &b);
    assert_int_equal(store_applied_index(f->s), 1);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[0].version, 1);

    struct store_setting st;
    assert_int_equal(store_setting_get(f->s, "campaign/1/name", &st), 0);
    assert_string_equal(st.value, "spring");
    assert_int_equal(st.version, 1);
    assert_int_equal(st.updated_ms, 1700000000000);
    free(st.value);

    tb_init(&b, 1, 11, 1700000000500);
    tb_put(&b, 0, 0, "campaign/1/name", "summer");
    apply(f->s, 2, &b);
    assert_int_equal(f->log.results[0].version, 2);
    check_setting(f->s, "campaign/1/name", "summer", 2);
    check_setting(f->s, "campaign/2/name", NULL, 0);
}

static void test_cas(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_put_cas(&b, 0, 0, "k", "a", 0); /* must not exist: ok */
    apply(f->s, 1, &b);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[0].version, 1);

    tb_init(&b, 1, 2, 0);
    tb_put_cas(&b, 0, 0, "k", "b", 0); /* exists now */
    apply(f->s, 2, &b);
    assert_int_equal(f->log.results[0].code, WAIHU_ECONFLICT);
    assert_int_equal(f->log.results[0].current_version, 1);
    check_setting(f->s, "k", "a", 1);

    tb_init(&b, 1, 3, 0);
    tb_put_cas(&b, 0, 0, "k", "c", 1);
    apply(f->s, 3, &b);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[0].version, 2);

    tb_init(&b, 1, 4, 0);
    tb_put_cas(&b, 0, 0, "k", "d", 7);
    apply(f->s, 4, &b);
    assert_int_equal(f->log.results[0].code, WAIHU_ECONFLICT);
    assert_int_equal(f->log.results[0].current_version, 2);
    check_setting(f->s, "k", "c", 2);
    assert_int_equal(store_applied_index(f->s), 4);
}

static void test_delete(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_del(&b, 0, 0, "gone");
    tb_put(&b, 0, 0, "x", "1");
    apply(f->s, 1, &b);
    assert_int_equal(f->log.results[0].code, WAIHU_ENOTFOUND);
    assert_int_equal(f->log.results[1].code, 0);

    tb_init(&b, 1, 2, 0);
    tb_del_cas(&b, 0, 0, "x", 5);
    apply(f->s, 2, &b);
    assert_int_equal(f->log.results[0].code, WAIHU_ECONFLICT);
    assert_int_equal(f->log.results[0].current_version, 1);
    check_setting(f->s, "x", "1", 1);

    tb_init(&b, 1, 3, 0);
    tb_del_cas(&b, 0, 0, "x", 1);
    apply(f->s, 3, &b);
    assert_int_equal(f->log.results[0].code, 0);
    check_setting(f->s, "x", NULL, 0);

    tb_init(&b, 1, 4, 0);
    tb_del(&b, 0, 0, "x");
    apply(f->s, 4, &b);
    assert_int_equal(f->log.results[0].code, WAIHU_ENOTFOUND);
}

static void test_invalid_key(void **state)
{
    struct fx *f = *state;
    char long_key[300];
    memset(long_key, 'a', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    char *big = malloc(64 * 1024 + 2);
    memset(big, 'v', 64 * 1024 + 1);
    big[64 * 1024 + 1] = '\0';

    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_put(&b, 0, 0, "", "v");
    tb_put(&b, 0, 0, "has space", "v");
    tb_put(&b, 0, 0, long_key, "v");
    tb_put(&b, 0, 0, "ok", big);
    tb_del(&b, 0, 0, "bad\nkey");
    tb_put(&b, 0, 0, "fine.key_1:2/3-4", "v");
    apply(f->s, 1, &b);
    free(big);
    assert_int_equal(f->log.n, 6);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(f->log.results[i].code, WAIHU_EINVAL);
    }
    assert_int_equal(f->log.results[5].code, 0);
    check_setting(f->s, "ok", NULL, 0);
    check_setting(f->s, "has space", NULL, 0);
    check_setting(f->s, "fine.key_1:2/3-4", "v", 1);
    assert_int_equal(store_applied_index(f->s), 1);
}

static void test_one_key_twice_in_batch(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_put_cas(&b, 0, 0, "k", "1", 0);
    tb_put_cas(&b, 0, 0, "k", "2", 1); /* sees the first write of this batch */
    tb_put_cas(&b, 0, 0, "k", "3", 0); /* no longer absent */
    apply(f->s, 1, &b);
    assert_int_equal(f->log.results[0].version, 1);
    assert_int_equal(f->log.results[1].code, 0);
    assert_int_equal(f->log.results[1].version, 2);
    assert_int_equal(f->log.results[2].code, WAIHU_ECONFLICT);
    assert_int_equal(f->log.results[2].current_version, 2);
    check_setting(f->s, "k", "2", 2);

    tb_init(&b, 1, 2, 0);
    tb_del_cas(&b, 0, 0, "k", 2);
    tb_put_cas(&b, 0, 0, "k", "again", 0); /* deleted earlier in this batch */
    tb_put(&b, 0, 0, "k", "last");
    apply(f->s, 2, &b);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[1].code, 0);
    assert_int_equal(f->log.results[1].version, 1);
    assert_int_equal(f->log.results[2].version, 2);
    check_setting(f->s, "k", "last", 2);
}

static void test_dedup_across_entries(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_put(&b, 7, 1, "k", "first");
    tb_put_cas(&b, 7, 2, "other", "x", 9); /* conflicts: the conflict is remembered */
    apply(f->s, 1, &b);
    assert_int_equal(f->log.results[0].version, 1);
    assert_int_equal(f->log.results[1].code, WAIHU_ECONFLICT);

    /* A retry of seq 2 through another leader: same answer, nothing applied. */
    tb_init(&b, 2, 1, 0);
    tb_put_cas(&b, 7, 2, "other", "y", 0);
    apply(f->s, 2, &b);
    assert_int_equal(f->log.results[0].code, WAIHU_ECONFLICT);
    assert_int_equal(f->log.results[0].current_version, 0);
    check_setting(f->s, "other", NULL, 0);

    /* seq 1 is older than the last one (2): stale. */
    tb_init(&b, 2, 2, 0);
    tb_put(&b, 7, 1, "k", "second");
    apply(f->s, 3, &b);
    assert_int_equal(f->log.results[0].code, WAIHU_ESTALE);
    check_setting(f->s, "k", "first", 1);

    /* A new seq goes through; retrying it returns its result and applies once. */
    tb_init(&b, 2, 3, 0);
    tb_put(&b, 7, 3, "k", "third");
    apply(f->s, 4, &b);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[0].version, 2);
    tb_init(&b, 2, 4, 0);
    tb_put(&b, 7, 3, "k", "third");
    apply(f->s, 5, &b);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[0].version, 2);
    check_setting(f->s, "k", "third", 2);

    /* Other clients are independent. */
    tb_init(&b, 2, 5, 0);
    tb_put(&b, 8, 1, "k", "eight");
    apply(f->s, 6, &b);
    assert_int_equal(f->log.results[0].code, 0);
    check_setting(f->s, "k", "eight", 3);
}

static void test_dedup_within_entry(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_put(&b, 7, 1, "k", "a");
    tb_put(&b, 7, 1, "k", "a"); /* same pair twice: applied once */
    tb_put(&b, 7, 3, "j", "b");
    tb_put(&b, 7, 2, "j", "c"); /* older than 3 seen earlier in this batch */
    apply(f->s, 1, &b);
    assert_int_equal(f->log.n, 4);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[0].version, 1);
    assert_int_equal(f->log.results[1].code, 0);
    assert_int_equal(f->log.results[1].version, 1);
    assert_int_equal(f->log.results[2].version, 1);
    assert_int_equal(f->log.results[3].code, WAIHU_ESTALE);
    check_setting(f->s, "k", "a", 1);
    check_setting(f->s, "j", "b", 1);
}

static void test_applied_index_persists_and_replays_skip(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    for (uint64_t i = 1; i <= 3; i++) {
        tb_init(&b, 1, i, (int64_t)i);
        tb_put(&b, 7, i, "k", "v");
        apply(f->s, i, &b);
    }
    assert_int_equal(store_applied_index(f->s), 3);
    store_close(f->s);
    f->s = open_ok(f->dir);
    store_on_applied(f->s, on_applied, &f->log);
    assert_int_equal(store_applied_index(f->s), 3);
    check_setting(f->s, "k", "v", 3);

    size_t len;
    void *before = dump(f->s, &len);
    unsigned calls = f->log.calls;
    /* Raft replays its log after a restart: applied entries change nothing. */
    for (uint64_t i = 2; i <= 3; i++) {
        tb_init(&b, 1, 99, 0);
        tb_put(&b, 0, 0, "k", "replayed");
        tb_put(&b, 0, 0, "new", "replayed");
        apply(f->s, i, &b);
    }
    assert_int_equal(f->log.calls, calls);
    assert_same_dump(f->s, before, len);
    free(before);

    tb_init(&b, 1, 4, 0);
    tb_put(&b, 0, 0, "k", "four");
    apply(f->s, 4, &b);
    assert_int_equal(store_applied_index(f->s), 4);
    check_setting(f->s, "k", "four", 4);
}

static void test_undecodable_entry(void **state)
{
    struct fx *f = *state;
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    store_apply(f->s, 1, junk, sizeof junk);
    assert_int_equal(store_applied_index(f->s), 1);
    assert_int_equal(f->log.calls, 0); /* no origin to answer */
    store_apply(f->s, 2, "", 0); /* empty = an Entry of version 0: not ours */
    assert_int_equal(store_applied_index(f->s), 2);
    assert_int_equal(f->log.n, 0);

    store_close(f->s);
    f->s = open_ok(f->dir);
    store_on_applied(f->s, on_applied, &f->log);
    assert_int_equal(store_applied_index(f->s), 2);
    struct store_setting st;
    assert_int_equal(store_setting_get(f->s, "k", &st), WAIHU_ENOTFOUND);
}

/* Bug fixed: a decodable entry of an unknown version was skipped without calling the
 * applied callback, so the origin never answered its clients (store.h promises
 * WAIHU_EINVAL results). */
static void test_unknown_entry_version_reports_einval(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 3, 42, 0);
    b.e.version = 2;
    tb_put(&b, 7, 1, "k", "v");
    tb_put(&b, 0, 0, "j", "v");
    apply(f->s, 1, &b);
    assert_int_equal(store_applied_index(f->s), 1);
    assert_int_equal(f->log.calls, 1);
    assert_int_equal(f->log.index, 1);
    assert_int_equal(f->log.origin, 3);
    assert_int_equal(f->log.batch_id, 42);
    assert_int_equal(f->log.n, 2);
    assert_int_equal(f->log.results[0].code, WAIHU_EINVAL);
    assert_int_equal(f->log.results[1].code, WAIHU_EINVAL);
    check_setting(f->s, "k", NULL, 0);
    check_setting(f->s, "j", NULL, 0);

    /* No dedup row was written: seq 1 of client 7 still applies. */
    tb_init(&b, 3, 43, 0);
    tb_put(&b, 7, 1, "k", "v");
    apply(f->s, 2, &b);
    assert_int_equal(f->log.results[0].code, 0);
    check_setting(f->s, "k", "v", 1);
}

static void test_applied_callback(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 5, 77, 123);
    tb_put(&b, 1, 1, "a", "1");
    tb_put_cas(&b, 2, 1, "a", "2", 0);
    tb_noop(&b, 3, 1);
    tb_announce(&b, 2, "node2", "dc1");
    tb_del(&b, 0, 0, "zzz");
    apply(f->s, 9, &b);
    assert_int_equal(f->log.calls, 1);
    assert_int_equal(f->log.index, 9);
    assert_int_equal(f->log.origin, 5);
    assert_int_equal(f->log.batch_id, 77);
    assert_int_equal(f->log.n, 5);
    assert_int_equal(f->log.results[0].code, 0);
    assert_int_equal(f->log.results[0].version, 1);
    assert_int_equal(f->log.results[1].code, WAIHU_ECONFLICT);
    assert_int_equal(f->log.results[1].current_version, 1);
    assert_int_equal(f->log.results[2].code, 0);
    assert_int_equal(f->log.results[3].code, 0);
    assert_int_equal(f->log.results[4].code, WAIHU_ENOTFOUND);

    struct store_node nodes[4];
    assert_int_equal(store_nodes_list(f->s, nodes, 4), 1);
    assert_int_equal(nodes[0].id, 2);
    assert_string_equal(nodes[0].name, "node2");
    assert_string_equal(nodes[0].dc, "dc1");
    assert_string_equal(nodes[0].raft_address, "127.0.0.1:7001");

    /* An entry with no commands still reports (n = 0). */
    tb_init(&b, 5, 78, 0);
    apply(f->s, 10, &b);
    assert_int_equal(f->log.calls, 2);
    assert_int_equal(f->log.n, 0);
    assert_int_equal(f->log.batch_id, 78);
}

struct scan_acc {
    char keys[16][32];
    unsigned n;
};

static int scan_cb(void *data, const char *key, const struct store_setting *st)
{
    struct scan_acc *a = data;
    (void)st;
    snprintf(a->keys[a->n++], 32, "%s", key);
    return 0;
}

static void test_settings_scan(void **state)
{
    struct fx *f = *state;
    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_put(&b, 0, 0, "a/1", "v");
    tb_put(&b, 0, 0, "b/1", "v");
    tb_put(&b, 0, 0, "b/2", "v");
    tb_put(&b, 0, 0, "b/3", "v");
    tb_put(&b, 0, 0, "c/1", "v");
    apply(f->s, 1, &b);

    struct scan_acc a = {0};
    assert_int_equal(store_settings_scan(f->s, "b/", NULL, 10, scan_cb, &a), 0);
    assert_int_equal(a.n, 3);
    assert_string_equal(a.keys[0], "b/1");
    assert_string_equal(a.keys[2], "b/3");

    memset(&a, 0, sizeof a);
    assert_int_equal(store_settings_scan(f->s, "b/", "b/1", 1, scan_cb, &a), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.keys[0], "b/2");

    memset(&a, 0, sizeof a);
    assert_int_equal(store_settings_scan(f->s, "", NULL, 10, scan_cb, &a), 0);
    assert_int_equal(a.n, 5);

    /* Bug fixed: a cursor sorting before the prefix skipped the whole prefix. */
    memset(&a, 0, sizeof a);
    assert_int_equal(store_settings_scan(f->s, "b/", "a/0", 10, scan_cb, &a), 0);
    assert_int_equal(a.n, 3);
    assert_string_equal(a.keys[0], "b/1");

    memset(&a, 0, sizeof a);
    assert_int_equal(store_settings_scan(f->s, "b/", "c", 10, scan_cb, &a), 0);
    assert_int_equal(a.n, 0);
}

static void fill(struct store *s, uint64_t first, uint64_t last)
{
    struct tb_entry b;
    for (uint64_t i = first; i <= last; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "key/%llu", (unsigned long long)(i % 5));
        snprintf(val, sizeof val, "value-%llu", (unsigned long long)i);
        tb_init(&b, 1, i, (int64_t)i * 1000);
        tb_put(&b, 7, i, key, val);
        if (i % 3 == 0) {
            tb_announce(&b, i, "n", "dc");
        }
        apply(s, i, &b);
    }
}

static void test_snapshot_roundtrip(void **state)
{
    struct fx *f = *state;
    fill(f->s, 1, 20);
    size_t len;
    void *blob = dump(f->s, &len);

    char dir2[64];
    tmpdir_make(dir2);
    struct store *s2 = open_ok(dir2);
    assert_int_equal(store_restore(s2, blob, len), 0);
    assert_int_equal(store_applied_index(s2), 20);
    check_setting(s2, "key/0", "value-20", 4);
    check_setting(s2, "key/1", "value-16", 4);
    struct store_node nodes[8];
    assert_int_equal(store_nodes_list(s2, nodes, 8), 6);
    assert_same_dump(s2, blob, len);

    /* The restored state and index are durable, and dedup rows came along. */
    store_close(s2);
    s2 = open_ok(dir2);
    assert_int_equal(store_applied_index(s2), 20);
    assert_same_dump(s2, blob, len);
    struct applied_log log2 = {0};
    store_on_applied(s2, on_applied, &log2);
    struct tb_entry b;
    tb_init(&b, 1, 100, 0);
    tb_put(&b, 7, 20, "key/0", "retry");
    apply(s2, 21, &b);
    assert_int_equal(log2.results[0].code, 0);
    assert_int_equal(log2.results[0].version, 4); /* the stored answer */
    check_setting(s2, "key/0", "value-20", 4);

    store_close(s2);
    tmpdir_remove(dir2);
    free(blob);
}

/* A snapshot taken while applies go on reflects the moment of begin. */
static void test_snapshot_is_consistent_view(void **state)
{
    struct fx *f = *state;
    fill(f->s, 1, 5);
    size_t len0;
    void *at5 = dump(f->s, &len0);
    struct store_snapshot *snap;
    assert_int_equal(store_snapshot_begin(f->s, &snap), 0);
    assert_int_equal(store_snapshot_index(snap), 5);
    fill(f->s, 6, 9);
    void *buf;
    size_t len;
    assert_int_equal(store_snapshot_serialize(snap, malloc, &buf, &len), 0);
    store_snapshot_end(snap);
    assert_int_equal(len, len0);
    assert_memory_equal(buf, at5, len);
    free(buf);
    free(at5);
}

static void test_restore_corrupt(void **state)
{
    struct fx *f = *state;
    fill(f->s, 1, 10);
    size_t len;
    uint8_t *blob = dump(f->s, &len);

    char dir2[64];
    tmpdir_make(dir2);
    struct store *s2 = open_ok(dir2);
    fill(s2, 1, 3);
    size_t before_len;
    void *before = dump(s2, &before_len);

    size_t positions[] = {0, 9, 15, 16, 17, len / 2, len - 33, len - 1};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        blob[positions[i]] ^= 0x01;
        assert_int_equal(store_restore(s2, blob, len), WAIHU_ECORRUPT);
        blob[positions[i]] ^= 0x01;
        assert_int_equal(store_applied_index(s2), 3);
        assert_same_dump(s2, before, before_len);
    }
    assert_int_equal(store_restore(s2, blob, len - 1), WAIHU_ECORRUPT);
    assert_int_equal(store_restore(s2, blob, 20), WAIHU_ECORRUPT);
    assert_int_equal(store_restore(s2, blob, 0), WAIHU_ECORRUPT);
    assert_same_dump(s2, before, before_len);
    /* The intact blob still restores. */
    assert_int_equal(store_restore(s2, blob, len), 0);
    assert_same_dump(s2, blob, len);

    store_close(s2);
    tmpdir_remove(dir2);
    free(before);
    free(blob);
}

static void test_restore_older_ignored(void **state)
{
    struct fx *f = *state;
    fill(f->s, 1, 4);
    size_t old_len;
    void *old = dump(f->s, &old_len);
    fill(f->s, 5, 8);
    size_t len;
    void *now = dump(f->s, &len);
    assert_int_equal(store_restore(f->s, old, old_len), 0);
    assert_int_equal(store_applied_index(f->s), 8);
    assert_same_dump(f->s, now, len);
    /* Same index: ignored too. */
    assert_int_equal(store_restore(f->s, now, len), 0);
    assert_same_dump(f->s, now, len);
    free(old);
    free(now);
}

/* Builds a valid snapshot blob by hand (format of store_snapshot.c). */
struct rec {
    uint8_t cf;
    const void *k;
    uint32_t kl;
    const void *v;
    uint32_t vl;
};

static void put32(uint8_t **p, uint32_t v)
{
    (*p)[0] = (uint8_t)(v >> 24);
    (*p)[1] = (uint8_t)(v >> 16);
    (*p)[2] = (uint8_t)(v >> 8);
    (*p)[3] = (uint8_t)v;
    *p += 4;
}

static uint8_t *make_blob(uint64_t index, const struct rec *recs, unsigned n, size_t *len)
{
    uint8_t *buf = malloc(4096);
    uint8_t *p = buf;
    memcpy(p, "WAIHUSN1", 8);
    p += 8;
    for (int i = 7; i >= 0; i--) {
        *p++ = (uint8_t)(index >> (i * 8));
    }
    for (unsigned i = 0; i < n; i++) {
        *p++ = recs[i].cf;
        put32(&p, recs[i].kl);
        memcpy(p, recs[i].k, recs[i].kl);
        p += recs[i].kl;
        put32(&p, recs[i].vl);
        memcpy(p, recs[i].v, recs[i].vl);
        p += recs[i].vl;
    }
    *p++ = 0xFF;
    SHA256(buf, (size_t)(p - buf), p);
    p += SHA256_DIGEST_LENGTH;
    *len = (size_t)(p - buf);
    return buf;
}

/* Bug fixed: restore wiped each family with a range ending at 16 0xFF bytes, so records
 * with keys from there on (big-endian ids of 0xFF...) survived a restore. */
static void test_restore_replaces_every_key(void **state)
{
    struct fx *f = *state;
    uint8_t high[20];
    memset(high, 0xFF, sizeof high);
    struct rec recs[] = {
        {STORE_CF_CUSTOMER, high, sizeof high, "old", 3},
        {STORE_CF_AUDIT, high, 16, "old16", 5},
        {STORE_CF_LEAD, "", 0, "empty-key", 9},
        {STORE_CF_LEAD, "\x01", 1, "one", 3},
    };
    size_t len;
    uint8_t *first = make_blob(5, recs, 4, &len);
    assert_int_equal(store_restore(f->s, first, len), 0);
    assert_int_equal(store_applied_index(f->s), 5);
    free(first);

    struct rec only = {STORE_CF_CUSTOMER, "\x02", 1, "new", 3};
    uint8_t *second = make_blob(9, &only, 1, &len);
    assert_int_equal(store_restore(f->s, second, len), 0);
    assert_int_equal(store_applied_index(f->s), 9);

    /* The state is exactly the second snapshot (plus its applied index row). */
    uint8_t idx[8] = {0, 0, 0, 0, 0, 0, 0, 9};
    struct rec expect[] = {
        {STORE_CF_META, "applied_index", 13, idx, 8},
        {STORE_CF_CUSTOMER, "\x02", 1, "new", 3},
    };
    size_t elen;
    uint8_t *expected = make_blob(9, expect, 2, &elen);
    assert_same_dump(f->s, expected, elen);
    free(expected);
    free(second);
}

/* store_open on damaged directories: a clear error naming the dir, never a crash. */
static void expect_open_fails(const char *dir)
{
    char errmsg[256] = "";
    struct store *s = NULL;
    int rv = store_open(dir, &s, errmsg);
    if (rv == 0) {
        store_close(s);
        fail_msg("store_open %s succeeded on a damaged database", dir);
    }
    print_message("store_open: %d %s\n", rv, errmsg);
    assert_true(rv == WAIHU_ECORRUPT || rv == WAIHU_EIO);
    assert_non_null(strstr(errmsg, dir));
    assert_null(s);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Finds the first file in dir whose name contains pat (or ends with it). */
static int find_file(const char *dir, const char *pat, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = 0;
    while (d && (de = readdir(d)) != NULL) {
        if (strstr(de->d_name, pat) != NULL) {
            snprintf(out, cap, "%s/%s", dir, de->d_name);
            found = 1;
            break;
        }
    }
    if (d) {
        closedir(d);
    }
    return found;
}

static void test_open_garbage_current(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    char path[128];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    write_file(path, "this is not a manifest name\n");
    expect_open_fails(dir);
    write_file(path, "MANIFEST-000001"); /* no newline, no such file */
    expect_open_fails(dir);
    tmpdir_remove(dir);
}

static void test_open_not_a_directory(void **state)
{
    (void)state;
    char dir[64];
    tmpdir_make(dir);
    char path[128];
    snprintf(path, sizeof path, "%s/file", dir);
    write_file(path, "plain file");
    expect_open_fails(path);
    tmpdir_remove(dir);
}

static void test_open_truncated_manifest(void **state)
{
    struct fx *f = *state;
    fill(f->s, 1, 10);
    store_close(f->s);
    f->s = NULL;
    char manifest[128];
    assert_true(find_file(f->dir, "MANIFEST-", manifest, sizeof manifest));
    struct stat st;
    assert_int_equal(stat(manifest, &st), 0);
    assert_int_equal(truncate(manifest, st.st_size / 2), 0);
    /* A MANIFEST cut in the middle of a record is damage RocksDB may accept (it reads
     * up to the last whole record); when it refuses, the error must be clean. */
    char errmsg[256] = "";
    int rv = store_open(f->dir, &f->s, errmsg);
    if (rv != 0) {
        print_message("store_open: %d %s\n", rv, errmsg);
        assert_true(rv == WAIHU_ECORRUPT || rv == WAIHU_EIO);
        assert_non_null(strstr(errmsg, f->dir));
        f->s = NULL; /* teardown's store_close(NULL) is a no-op */
        return;
    }
    print_message("truncated MANIFEST accepted: applied index %llu\n",
                  (unsigned long long)store_applied_index(f->s));
    assert_int_equal(store_applied_index(f->s), 10);
    check_setting(f->s, "key/0", "value-10", 2);
}

static void flip_middle(const char *path)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(st.st_size > 64);
    uint8_t buf[32];
    off_t off = 0; /* the data blocks start the file */
    assert_int_equal(pread(fd, buf, sizeof buf, off), (ssize_t)sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] ^= 0x5A;
    }
    assert_int_equal(pwrite(fd, buf, sizeof buf, off), (ssize_t)sizeof buf);
    close(fd);
}

static void test_open_corrupt_sst(void **state)
{
    struct fx *f = *state;
    fill(f->s, 1, 10);
    store_close(f->s);
    /* Reopening replays the WAL into an SST file. */
    f->s = open_ok(f->dir);
    store_close(f->s);
    f->s = NULL;
    char sst[128];
    assert_true(find_file(f->dir, ".sst", sst, sizeof sst));
    flip_middle(sst);
    expect_open_fails(f->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_key_twice_in_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_across_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_within_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_applied_index_persists_and_replays_skip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_entry_version_reports_einval, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_applied_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_is_consistent_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_older_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_replaces_every_key, setup, teardown),
        cmocka_unit_test(test_open_garbage_current),
        cmocka_unit_test(test_open_not_a_directory),
        cmocka_unit_test_setup_teardown(test_open_truncated_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_corrupt_sst, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
