/* The real store FSM under raft/fixture.h: three servers, each with its own RocksDB
 * store in a temp dir, driven in deterministic virtual time. */
#include <raft.h>
#include <raft/fixture.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "test_util.h"

#define N 3
#define MAX_MS 30000

struct cluster {
    struct raft_fixture f;
    struct raft_fsm fsms[N];
    struct store *stores[N];
    char dirs[N][64];
    unsigned n_ok;  /* raft_apply callbacks with status 0 */
    unsigned n_err; /* ... with an error */
    uint64_t batch;
    bool checkpoints; /* test_snapshot_install_checkpoint */
    char snapdirs[N][64];
    unsigned fetched;
};

/* raft 0.15's fixture io implements async_work but leaves io->version at 0, so
 * raft_init refuses an FSM with snapshot_async: grow without it, then declare the
 * io version 2 and put it back (raft reads both again when it snapshots). */
static void add_server(struct cluster *c, unsigned i)
{
    char errmsg[256];
    tmpdir_make(c->dirs[i]);
    if (store_open(c->dirs[i], &c->stores[i], errmsg) != 0) {
        fail_msg("store_open: %s", errmsg);
    }
    store_fsm_init(&c->fsms[i], c->stores[i]);
    int (*snapshot_async)(struct raft_fsm *, struct raft_buffer **, unsigned *) =
        c->fsms[i].snapshot_async;
    c->fsms[i].snapshot_async = NULL;
    assert_int_equal(raft_fixture_grow(&c->f, &c->fsms[i]), 0);
    c->fsms[i].snapshot_async = snapshot_async;
    c->f.servers[i].io.version = 2;
    store_fsm_set_raft(&c->fsms[i], raft_fixture_get(&c->f, i));
}

static int setup(void **state)
{
    struct cluster *c = calloc(1, sizeof *c);
    assert_int_equal(raft_fixture_initialize(&c->f), 0);
    for (unsigned i = 0; i < N; i++) {
        add_server(c, i);
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(&c->f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&c->f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&c->f), 0);
    assert_true(raft_fixture_step_until_has_leader(&c->f, MAX_MS));
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct cluster *c = *state;
    raft_fixture_close(&c->f);
    for (unsigned i = 0; i < N; i++) {
        store_fsm_close(&c->fsms[i]);
        store_close(c->stores[i]);
        tmpdir_remove(c->dirs[i]);
        if (c->checkpoints) {
            tmpdir_remove(c->snapdirs[i]);
        }
    }
    free(c);
    return 0;
}

struct apply_req {
    struct raft_apply req;
    struct cluster *c;
};

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct apply_req *r = (struct apply_req *)req;
    (void)result;
    if (status == 0) {
        r->c->n_ok++;
    } else {
        r->c->n_err++;
    }
    free(r);
}

/* Submits key=value on server i; returns raft_apply's code. */
static int submit_on(struct cluster *c, unsigned i, const char *key, const char *value)
{
    struct tb_entry b;
    tb_init(&b, i + 1, ++c->batch, (int64_t)raft_fixture_time(&c->f));
    tb_put(&b, 100 + i, c->batch, key, value);
    struct raft_buffer buf;
    buf.base = tb_pack(&b, raft_malloc, &buf.len);
    struct apply_req *r = calloc(1, sizeof *r);
    r->c = c;
    int rv = raft_apply(raft_fixture_get(&c->f, i), &r->req, &buf, 1, apply_cb);
    if (rv != 0) {
        raft_free(buf.base);
        free(r);
    }
    return rv;
}

static unsigned leader(struct cluster *c)
{
    unsigned l = raft_fixture_leader_index(&c->f);
    assert_true(l < N);
    return l;
}

/* Writes n settings on server l; returns the last index. */
static uint64_t write_n_on(struct cluster *c, unsigned l, const char *prefix, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        char key[64], val[64];
        snprintf(key, sizeof key, "%s/%u", prefix, k % 4);
        snprintf(val, sizeof val, "%s-%u", prefix, k);
        assert_int_equal(submit_on(c, l, key, val), 0);
    }
    return raft_last_index(raft_fixture_get(&c->f, l));
}

/* Writes n settings on the leader; returns the last index. */
static uint64_t write_n(struct cluster *c, const char *prefix, unsigned n)
{
    return write_n_on(c, leader(c), prefix, n);
}

struct new_leader {
    struct cluster *c;
    unsigned excluded;
    unsigned found;
};

static bool majority_has_leader(struct raft_fixture *f, void *arg)
{
    struct new_leader *nl = arg;
    for (unsigned i = 0; i < N; i++) {
        if (i != nl->excluded && raft_state(raft_fixture_get(f, i)) == RAFT_LEADER) {
            nl->found = i;
            return true;
        }
    }
    return false;
}

struct until_applied {
    struct cluster *c;
    uint64_t index;
    unsigned mask; /* servers that must have applied index */
};

static bool stores_applied(struct raft_fixture *f, void *arg)
{
    struct until_applied *u = arg;
    (void)f;
    for (unsigned i = 0; i < N; i++) {
        if ((u->mask & (1u << i)) && store_applied_index(u->c->stores[i]) < u->index) {
            return false;
        }
    }
    return true;
}

static void wait_applied(struct cluster *c, unsigned mask, uint64_t index)
{
    struct until_applied u = {c, index, mask};
    assert_true(raft_fixture_step_until(&c->f, stores_applied, &u, MAX_MS));
}

static void *dump(struct store *s, size_t *len)
{
    struct store_snapshot *snap;
    void *buf;
    assert_int_equal(store_snapshot_begin(s, &snap), 0);
    assert_int_equal(store_snapshot_serialize(snap, malloc, &buf, len), 0);
    store_snapshot_end(snap);
    return buf;
}

/* Every server in mask holds exactly the same records at the same applied index. */
static void assert_stores_equal(struct cluster *c, unsigned mask)
{
    size_t len0 = 0;
    void *first = NULL;
    uint64_t index0 = 0;
    for (unsigned i = 0; i < N; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }
        size_t len;
        void *d = dump(c->stores[i], &len);
        if (first == NULL) {
            first = d;
            len0 = len;
            index0 = store_applied_index(c->stores[i]);
            continue;
        }
        assert_int_equal(store_applied_index(c->stores[i]), index0);
        assert_int_equal(len, len0);
        assert_memory_equal(d, first, len);
        free(d);
    }
    free(first);
}

static void check_setting(struct store *s, const char *key, const char *value)
{
    struct store_setting st;
    assert_int_equal(store_setting_get(s, key, &st), 0);
    assert_string_equal(st.value, value);
    free(st.value);
}

#define ALL ((1u << N) - 1)
#define ALL_BUT(i) (ALL & ~(1u << (i)))

static void test_elect_and_replicate(void **state)
{
    struct cluster *c = *state;
    unsigned l = leader(c);
    uint64_t last = write_n(c, "a", 10);
    wait_applied(c, ALL, last);
    assert_int_equal(c->n_ok, 10);
    assert_stores_equal(c, ALL);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(store_applied_index(c->stores[i]), last);
        check_setting(c->stores[i], "a/1", "a-9");
        check_setting(c->stores[i], "a/2", "a-6");
    }
    struct store_setting st;
    assert_int_equal(store_setting_get(c->stores[l], "a/3", &st), 0);
    assert_int_equal(st.version, 2);
    free(st.value);
}

static void test_partition_leader(void **state)
{
    struct cluster *c = *state;
    uint64_t last = write_n(c, "a", 3);
    wait_applied(c, ALL, last);
    unsigned old = leader(c);
    for (unsigned j = 0; j < N; j++) {
        if (j != old) {
            raft_fixture_disconnect(&c->f, old, j);
            raft_fixture_disconnect(&c->f, j, old);
        }
    }
    /* Written on the isolated leader: must never be applied anywhere. */
    assert_int_equal(submit_on(c, old, "lost", "x"), 0);
    /* The fixture only reports a leader acknowledged by every live server, which the
     * isolated one never does: look for the new leader among the majority ourselves. */
    struct new_leader nl = {c, old, N};
    assert_true(raft_fixture_step_until(&c->f, majority_has_leader, &nl, MAX_MS));
    unsigned l = nl.found;
    assert_int_not_equal(l, old);
    last = write_n_on(c, l, "b", 5);
    wait_applied(c, ALL_BUT(old), last);
    assert_true(store_applied_index(c->stores[old]) < last);

    for (unsigned j = 0; j < N; j++) {
        if (j != old) {
            raft_fixture_reconnect(&c->f, old, j);
            raft_fixture_reconnect(&c->f, j, old);
        }
    }
    /* Its higher term forces a new election once healed. */
    assert_true(raft_fixture_step_until_has_leader(&c->f, MAX_MS));
    last = write_n(c, "c", 2);
    wait_applied(c, ALL, last);
    assert_stores_equal(c, ALL);
    struct store_setting st;
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(store_setting_get(c->stores[i], "lost", &st), WAIHU_ENOTFOUND);
        check_setting(c->stores[i], "b/0", "b-4");
    }
    assert_int_equal(c->n_err, 1);
}

static void test_kill_revive_follower(void **state)
{
    struct cluster *c = *state;
    unsigned l = leader(c);
    unsigned fo = (l + 1) % N;
    raft_fixture_kill(&c->f, fo);
    uint64_t last = write_n(c, "a", 6);
    wait_applied(c, ALL_BUT(fo), last);
    assert_true(store_applied_index(c->stores[fo]) < last);
    raft_fixture_revive(&c->f, fo);
    wait_applied(c, ALL, last);
    assert_stores_equal(c, ALL);
}

static void test_kill_leader(void **state)
{
    struct cluster *c = *state;
    uint64_t last = write_n(c, "a", 3);
    wait_applied(c, ALL, last);
    unsigned old = leader(c);
    raft_fixture_kill(&c->f, old);
    assert_true(raft_fixture_step_until_has_no_leader(&c->f, MAX_MS));
    assert_true(raft_fixture_step_until_has_leader(&c->f, MAX_MS));
    assert_int_not_equal(leader(c), old);
    last = write_n(c, "b", 4);
    wait_applied(c, ALL_BUT(old), last);
    raft_fixture_revive(&c->f, old);
    last = write_n(c, "c", 1);
    wait_applied(c, ALL, last);
    assert_stores_equal(c, ALL);
}

static void test_snapshot_install(void **state)
{
    struct cluster *c = *state;
    for (unsigned i = 0; i < N; i++) {
        raft_set_snapshot_threshold(raft_fixture_get(&c->f, i), 4);
        raft_set_snapshot_trailing(raft_fixture_get(&c->f, i), 2);
    }
    unsigned l = leader(c);
    unsigned fo = (l + 1) % N;
    uint64_t last = write_n(c, "a", 2);
    wait_applied(c, ALL, last);
    raft_fixture_kill(&c->f, fo);
    /* In several rounds, so that snapshots (async work in the fixture) get taken. */
    for (unsigned round = 0; round < 6; round++) {
        char prefix[8];
        snprintf(prefix, sizeof prefix, "r%u", round);
        last = write_n(c, prefix, 5);
        wait_applied(c, ALL_BUT(fo), last);
    }
    assert_true(store_applied_index(c->stores[fo]) < last);
    unsigned sent = raft_fixture_n_send(&c->f, l, RAFT_IO_INSTALL_SNAPSHOT);
    raft_fixture_revive(&c->f, fo);
    wait_applied(c, ALL, last);
    assert_true(raft_fixture_n_send(&c->f, l, RAFT_IO_INSTALL_SNAPSHOT) > sent);
    assert_true(raft_fixture_n_recv(&c->f, fo, RAFT_IO_INSTALL_SNAPSHOT) > 0);
    assert_stores_equal(c, ALL);
    /* And it keeps applying normally after the install. */
    last = write_n(c, "after", 3);
    wait_applied(c, ALL, last);
    assert_stores_equal(c, ALL);
    check_setting(c->stores[fo], "after/2", "after-2");
}

/* The store's fetcher: copies from the snapshots dir of the server that made it. */
static int fixture_fetch(void *data, uint64_t origin, uint64_t index, const char *name,
                         uint64_t size_bytes, const char *out_path, char *errmsg)
{
    struct cluster *c = data;
    (void)size_bytes;
    if (origin < 1 || origin > N) {
        snprintf(errmsg, 256, "no server %llu", (unsigned long long)origin);
        return WAIHU_EUNAVAILABLE;
    }
    char from[256], buf[4096];
    snprintf(from, sizeof from, "%s/%llu/%s", c->snapdirs[origin - 1],
             (unsigned long long)index, name);
    FILE *in = fopen(from, "rb");
    if (in == NULL) {
        snprintf(errmsg, 256, "%s: missing", from);
        return WAIHU_ENOTFOUND;
    }
    FILE *out = fopen(out_path, "wb");
    assert_non_null(out);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        fwrite(buf, 1, n, out);
    }
    fclose(in);
    fclose(out);
    c->fetched++;
    return 0;
}

/* Large-state path: every snapshot is a checkpoint manifest; the revived follower
 * fetches the files through the store's fetcher inside raft's InstallSnapshot. */
static void test_snapshot_install_checkpoint(void **state)
{
    struct cluster *c = *state;
    c->checkpoints = true;
    for (unsigned i = 0; i < N; i++) {
        tmpdir_make(c->snapdirs[i]);
        assert_int_equal(store_checkpoint_configure(c->stores[i], c->snapdirs[i], 1, i + 1), 0);
        struct store_fetcher fetcher = {.data = c, .fetch = fixture_fetch};
        store_set_fetcher(c->stores[i], &fetcher);
        raft_set_snapshot_threshold(raft_fixture_get(&c->f, i), 4);
        raft_set_snapshot_trailing(raft_fixture_get(&c->f, i), 2);
    }
    unsigned l = leader(c);
    unsigned fo = (l + 1) % N;
    uint64_t last = write_n(c, "a", 2);
    wait_applied(c, ALL, last);
    raft_fixture_kill(&c->f, fo);
    for (unsigned round = 0; round < 6; round++) {
        char prefix[8];
        snprintf(prefix, sizeof prefix, "r%u", round);
        last = write_n(c, prefix, 5);
        wait_applied(c, ALL_BUT(fo), last);
    }
    unsigned sent = raft_fixture_n_send(&c->f, l, RAFT_IO_INSTALL_SNAPSHOT);
    raft_fixture_revive(&c->f, fo);
    wait_applied(c, ALL, last);
    assert_true(raft_fixture_n_send(&c->f, l, RAFT_IO_INSTALL_SNAPSHOT) > sent);
    assert_true(c->fetched > 0);
    last = write_n(c, "after", 3);
    wait_applied(c, ALL, last);
    for (unsigned i = 0; i < N; i++) { /* compare as inline dumps */
        assert_int_equal(
            store_checkpoint_configure(c->stores[i], c->snapdirs[i], UINT64_MAX, i + 1), 0);
    }
    assert_stores_equal(c, ALL);
    check_setting(c->stores[fo], "after/2", "after-2");
}

static void test_io_fault_on_leader_append(void **state)
{
    struct cluster *c = *state;
    uint64_t last = write_n(c, "a", 2);
    wait_applied(c, ALL, last);
    unsigned l = leader(c);
    /* The leader's next I/O request fails, once. */
    raft_fixture_io_fault(&c->f, l, 0, 1);
    int rv = submit_on(c, l, "faulty", "x");
    raft_fixture_step_until_elapsed(&c->f, 3000);
    /* Either refused at once or failed/committed later: never half-applied. */
    assert_true(raft_fixture_step_until_has_leader(&c->f, MAX_MS));
    last = write_n(c, "b", 3);
    wait_applied(c, ALL, last);
    assert_stores_equal(c, ALL);
    struct store_setting st;
    int found = store_setting_get(c->stores[0], "faulty", &st);
    if (found == 0) {
        free(st.value);
    }
    print_message("leader append fault: raft_apply %d (%s), ok %u err %u, applied %s\n", rv,
                  rv ? raft_strerror(rv) : "ok", c->n_ok, c->n_err, found == 0 ? "yes" : "no");
    assert_int_equal(c->n_ok + c->n_err + (rv != 0), 6);
}

/* raft 0.15 turns a server whose disk write fails into RAFT_UNAVAILABLE for good (the
 * fixture cannot restart it): the others go on, its store stays as it was. */
static void test_io_fault_on_follower(void **state)
{
    struct cluster *c = *state;
    uint64_t last = write_n(c, "a", 2);
    wait_applied(c, ALL, last);
    unsigned l = leader(c);
    unsigned fo = (l + 1) % N;
    size_t before_len;
    void *before = dump(c->stores[fo], &before_len);
    raft_fixture_io_fault(&c->f, fo, 0, 5);
    last = write_n(c, "b", 8);
    wait_applied(c, ALL_BUT(fo), last);
    assert_int_equal(c->n_ok, 10);
    assert_stores_equal(c, ALL_BUT(fo));
    assert_int_equal(raft_state(raft_fixture_get(&c->f, fo)), RAFT_UNAVAILABLE);
    size_t len;
    void *now = dump(c->stores[fo], &len);
    assert_int_equal(len, before_len);
    assert_memory_equal(now, before, len);
    free(now);
    free(before);
}

/* A heap that spots frees of pointers it did not hand out (or already took back). */
#define MAX_LIVE 64
struct tracking_heap {
    void *live[MAX_LIVE];
    unsigned bad_frees;
};

static void *th_malloc(void *data, size_t size)
{
    struct tracking_heap *h = data;
    void *p = malloc(size);
    for (unsigned i = 0; i < MAX_LIVE; i++) {
        if (h->live[i] == NULL) {
            h->live[i] = p;
            return p;
        }
    }
    abort();
}

static void th_free(void *data, void *ptr)
{
    struct tracking_heap *h = data;
    if (ptr == NULL) {
        return;
    }
    for (unsigned i = 0; i < MAX_LIVE; i++) {
        if (h->live[i] == ptr) {
            h->live[i] = NULL;
            free(ptr);
            return;
        }
    }
    h->bad_frees++; /* double free: do not pass it on */
}

static void *th_calloc(void *data, size_t nmemb, size_t size)
{
    void *p = th_malloc(data, nmemb * size);
    memset(p, 0, nmemb * size);
    return p;
}

static void *th_realloc(void *data, void *ptr, size_t size)
{
    (void)data;
    (void)ptr;
    (void)size;
    abort();
}

static void *th_aligned_alloc(void *data, size_t alignment, size_t size)
{
    (void)data;
    (void)alignment;
    (void)size;
    abort();
}

static void th_aligned_free(void *data, size_t alignment, void *ptr)
{
    (void)alignment;
    th_free(data, ptr);
}

/* Bug fixed: fsm restore freed the buffer also when it failed, but raft frees it then
 * (installSnapshotCb and raft_start discard the snapshot): a double free. */
static void test_fsm_restore_failure_leaves_buffer_to_raft(void **state)
{
    (void)state;
    char dir[64], errmsg[256];
    struct store *s;
    tmpdir_make(dir);
    assert_int_equal(store_open(dir, &s, errmsg), 0);
    struct raft_fsm fsm;
    store_fsm_init(&fsm, s);

    struct tracking_heap h = {0};
    struct raft_heap heap = {&h,        th_malloc,        th_free,
                             th_calloc, th_realloc,       th_aligned_alloc,
                             th_aligned_free};
    raft_heap_set(&heap);
    struct raft_buffer buf = {.base = raft_malloc(64), .len = 64};
    memset(buf.base, 0xAB, buf.len);
    int rv = fsm.restore(&fsm, &buf);
    if (rv != 0) {
        raft_free(buf.base); /* what raft does on failure */
    }
    raft_heap_set_default();
    assert_int_not_equal(rv, 0);
    assert_int_equal(h.bad_frees, 0);
    for (unsigned i = 0; i < MAX_LIVE; i++) {
        assert_null(h.live[i]);
    }

    /* A good snapshot is taken over: raft will not free it. */
    struct tb_entry b;
    tb_init(&b, 1, 1, 0);
    tb_put(&b, 0, 0, "k", "v");
    size_t len;
    void *e = tb_pack(&b, malloc, &len);
    char dir2[64];
    struct store *s2;
    tmpdir_make(dir2);
    assert_int_equal(store_open(dir2, &s2, errmsg), 0);
    store_apply(s2, 3, e, len);
    free(e);
    struct store_snapshot *snap;
    assert_int_equal(store_snapshot_begin(s2, &snap), 0);
    assert_int_equal(store_snapshot_serialize(snap, raft_malloc, &buf.base, &buf.len), 0);
    store_snapshot_end(snap);
    assert_int_equal(fsm.restore(&fsm, &buf), 0);
    assert_int_equal(store_applied_index(s), 3);
    check_setting(s, "k", "v");

    store_close(s2);
    tmpdir_remove(dir2);
    store_fsm_close(&fsm);
    store_close(s);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_elect_and_replicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_leader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_revive_follower, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_leader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_install_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_fault_on_leader_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_fault_on_follower, setup, teardown),
        cmocka_unit_test(test_fsm_restore_failure_leaves_buffer_to_raft),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
