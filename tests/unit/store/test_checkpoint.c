/* Checkpoint snapshots of the store: manifest codec, checkpoint creation and pruning,
 * restore through a fetcher (a file copy here; the cluster's is the forward port),
 * tampered manifests and files, and the side channel's path checks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "store_checkpoint.h"
#include "test_util.h"

/* A fetcher that copies from another node's snapshots dir, optionally damaging a file. */
struct copy_fetcher {
    char src[128];
    unsigned calls;
    bool corrupt;  /* flip one byte of the first file fetched */
    bool truncate; /* drop the last byte of the first file fetched */
    int fail;      /* return this error */
};

static int copy_fetch(void *data, uint64_t origin, uint64_t index, const char *name,
                      uint64_t size_bytes, const char *out_path, char *errmsg)
{
    struct copy_fetcher *cf = data;
    (void)origin;
    (void)size_bytes;
    cf->calls++;
    if (cf->fail != 0) {
        snprintf(errmsg, 256, "test: refused");
        return cf->fail;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%llu/%s", cf->src, (unsigned long long)index, name);
    FILE *in = fopen(path, "rb");
    FILE *out = fopen(out_path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (cf->calls == 1 && cf->corrupt && total == 0) {
            buf[0] ^= 0x40;
        }
        if (cf->calls == 1 && cf->truncate && n < sizeof buf) {
            n--;
        }
        fwrite(buf, 1, n, out);
        total += n;
    }
    fclose(in);
    fclose(out);
    return 0;
}

struct node {
    char db[128];
    char snaps[128];
    struct store *s;
    struct copy_fetcher fetch;
};

struct fx {
    char root[64];
    struct node a, b;
};

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

static void node_init(struct fx *f, struct node *n, const char *name, uint64_t id)
{
    snprintf(n->db, sizeof n->db, "%s/%s-db", f->root, name);
    snprintf(n->snaps, sizeof n->snaps, "%s/%s-snapshots", f->root, name);
    n->s = open_ok(n->db);
    /* 1 byte: every snapshot takes the checkpoint path. */
    assert_int_equal(store_checkpoint_configure(n->s, n->snaps, 1, id), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    tmpdir_make(f->root);
    node_init(f, &f->a, "a", 1);
    node_init(f, &f->b, "b", 2);
    /* b fetches from a */
    snprintf(f->b.fetch.src, sizeof f->b.fetch.src, "%s", f->a.snaps);
    struct store_fetcher fetcher = {.data = &f->b.fetch, .fetch = copy_fetch};
    store_set_fetcher(f->b.s, &fetcher);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->a.s);
    store_close(f->b.s);
    tmpdir_remove(f->root);
    free(f);
    return 0;
}

static void fill(struct store *s, uint64_t first, uint64_t last, const char *tag)
{
    struct tb_entry b;
    for (uint64_t i = first; i <= last; i++) {
        char key[32], val[64];
        snprintf(key, sizeof key, "key/%llu", (unsigned long long)(i % 7));
        snprintf(val, sizeof val, "%s-%llu", tag, (unsigned long long)i);
        tb_init(&b, 1, i, (int64_t)i * 1000);
        tb_put(&b, 7, i, key, val);
        if (i % 4 == 0) {
            tb_announce(&b, i, "n", "dc");
        }
        size_t len;
        void *buf = tb_pack(&b, malloc, &len);
        store_apply(s, i, buf, len);
        free(buf);
    }
}

/* A snapshot of s as the FSM takes it (raft index given); returns a malloc'd blob. */
static void *take(struct store *s, uint64_t raft_index, size_t *len)
{
    struct store_snapshot *snap;
    void *buf;
    assert_int_equal(store_snapshot_begin(s, &snap), 0);
    store_snapshot_name(snap, raft_index);
    assert_int_equal(store_snapshot_serialize(snap, malloc, &buf, len), 0);
    store_snapshot_end(snap);
    return buf;
}

/* The whole state as an inline blob: equal blobs = equal stores. */
static void *dump(struct store *s, const char *snaps, size_t *len)
{
    assert_int_equal(store_checkpoint_configure(s, snaps, UINT64_MAX, 9), 0);
    void *buf = take(s, 0, len);
    assert_false(ckpt_is_manifest(buf, *len));
    assert_int_equal(store_checkpoint_configure(s, snaps, 1, 9), 0);
    return buf;
}

static bool exists(const char *dir, uint64_t index)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/%llu", dir, (unsigned long long)index);
    return stat(p, &st) == 0;
}

static void test_manifest_roundtrip(void **state)
{
    (void)state;
    struct ckpt_file files[3] = {
        {.name = "000012.sst", .size_bytes = 12345},
        {.name = "CURRENT", .size_bytes = 16},
        {.name = "MANIFEST-000005", .size_bytes = 1ULL << 40},
    };
    for (int i = 0; i < 3; i++) {
        memset(files[i].sha256, 0x11 * (i + 1), 32);
    }
    struct ckpt_manifest m = {.format = CKPT_FORMAT, .index = 77, .dir = 80, .origin = 3,
                              .n_files = 3, .files = files};
    void *buf;
    size_t len;
    assert_int_equal(ckpt_manifest_encode(&m, malloc, &buf, &len), 0);
    assert_true(ckpt_is_manifest(buf, len));
    struct ckpt_manifest d;
    assert_int_equal(ckpt_manifest_decode(buf, len, &d), 0);
    assert_int_equal(d.format, CKPT_FORMAT);
    assert_int_equal(d.index, 77);
    assert_int_equal(d.dir, 80);
    assert_int_equal(d.origin, 3);
    assert_int_equal(d.n_files, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(d.files[i].name, files[i].name);
        assert_int_equal(d.files[i].size_bytes, files[i].size_bytes);
        assert_memory_equal(d.files[i].sha256, files[i].sha256, 32);
    }
    ckpt_manifest_free(&d);

    /* Every single-byte change and every truncation is caught. */
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        p[i] ^= 0x01;
        assert_int_equal(ckpt_manifest_decode(buf, len, &d), WAIHU_ECORRUPT);
        p[i] ^= 0x01;
        assert_int_equal(ckpt_manifest_decode(buf, i, &d), WAIHU_ECORRUPT);
    }
    free(buf);

    /* A well-checksummed manifest naming a path outside the dir is refused. */
    snprintf(files[1].name, sizeof files[1].name, "../../etc/passwd");
    assert_int_equal(ckpt_manifest_encode(&m, malloc, &buf, &len), 0);
    assert_int_equal(ckpt_manifest_decode(buf, len, &d), WAIHU_ECORRUPT);
    free(buf);
}

static void test_snapshot_is_checkpoint_and_keeps_two(void **state)
{
    struct fx *f = *state;
    fill(f->a.s, 1, 30, "a");
    assert_true(store_size_estimate(f->a.s) > 1);
    size_t len;
    void *blob = take(f->a.s, 33, &len);
    assert_true(ckpt_is_manifest(blob, len));
    assert_true(len < 4096);
    struct ckpt_manifest m;
    assert_int_equal(ckpt_manifest_decode(blob, len, &m), 0);
    assert_int_equal(m.index, 30);
    assert_int_equal(m.dir, 33);
    assert_int_equal(m.origin, 1);
    for (uint32_t i = 0; i < m.n_files; i++) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof p, "%s/33/%s", f->a.snaps, m.files[i].name);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal((uint64_t)st.st_size, m.files[i].size_bytes);
    }
    ckpt_manifest_free(&m);
    free(blob);

    fill(f->a.s, 31, 40, "a");
    free(take(f->a.s, 45, &len));
    fill(f->a.s, 41, 50, "a");
    free(take(f->a.s, 52, &len));
    assert_false(exists(f->a.snaps, 33));
    assert_true(exists(f->a.snaps, 45));
    assert_true(exists(f->a.snaps, 52));
}

static void test_restore_from_checkpoint_equals_source(void **state)
{
    struct fx *f = *state;
    fill(f->a.s, 1, 40, "a");
    fill(f->b.s, 1, 12, "b"); /* b diverges in content, behind in index */
    size_t len, alen, blen;
    void *blob = take(f->a.s, 41, &len);
    struct store *before = f->b.s;
    assert_int_equal(store_restore(f->b.s, blob, len), 0);
    assert_ptr_equal(f->b.s, before);
    assert_int_equal(f->b.fetch.calls > 0, 1);
    assert_int_equal(store_applied_index(f->b.s), 40);
    void *da = dump(f->a.s, f->a.snaps, &alen);
    void *db = dump(f->b.s, f->b.snaps, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(da, db, alen);
    /* b keeps its own copy, so it can serve the checkpoint too. */
    assert_true(exists(f->b.snaps, 41));

    /* The same store object goes on applying, and the state survives a reopen. */
    fill(f->b.s, 41, 45, "b");
    struct store_setting st;
    assert_int_equal(store_setting_get(f->b.s, "key/1", &st), 0);
    assert_string_equal(st.value, "b-43");
    free(st.value);
    store_close(f->b.s);
    f->b.s = open_ok(f->b.db);
    assert_int_equal(store_applied_index(f->b.s), 45);

    /* An older manifest is ignored, as inline blobs are. */
    unsigned calls = f->b.fetch.calls;
    assert_int_equal(store_restore(f->b.s, blob, len), 0);
    assert_int_equal(f->b.fetch.calls, calls);
    assert_int_equal(store_applied_index(f->b.s), 45);
    free(da);
    free(db);
    free(blob);
}

static void check_rejected(struct fx *f, int expect)
{
    fill(f->a.s, 1, 20, "a");
    fill(f->b.s, 1, 5, "b");
    size_t len, before_len;
    void *before = dump(f->b.s, f->b.snaps, &before_len);
    void *blob = take(f->a.s, 21, &len);
    assert_int_equal(store_restore(f->b.s, blob, len), expect);
    size_t now_len;
    void *now = dump(f->b.s, f->b.snaps, &now_len);
    assert_int_equal(now_len, before_len);
    assert_memory_equal(now, before, now_len);
    assert_int_equal(store_applied_index(f->b.s), 5);
    assert_false(exists(f->b.snaps, 21));
    free(now);
    free(before);
    free(blob);
}

static void test_tampered_file_rejected(void **state)
{
    struct fx *f = *state;
    f->b.fetch.corrupt = true;
    check_rejected(f, WAIHU_ECORRUPT);
}

static void test_short_file_rejected(void **state)
{
    struct fx *f = *state;
    f->b.fetch.truncate = true;
    check_rejected(f, WAIHU_ECORRUPT);
}

static void test_fetch_failure_changes_nothing(void **state)
{
    struct fx *f = *state;
    f->b.fetch.fail = WAIHU_ETIMEDOUT;
    check_rejected(f, WAIHU_ETIMEDOUT);
}

static void test_tampered_manifest_rejected(void **state)
{
    struct fx *f = *state;
    fill(f->a.s, 1, 20, "a");
    size_t len;
    uint8_t *blob = take(f->a.s, 21, &len);
    blob[len / 2] ^= 0x20;
    assert_int_equal(store_restore(f->b.s, blob, len), WAIHU_ECORRUPT);
    assert_int_equal(f->b.fetch.calls, 0);
    assert_int_equal(store_applied_index(f->b.s), 0);
    free(blob);
}

static void test_open_file_path_checks(void **state)
{
    struct fx *f = *state;
    fill(f->a.s, 1, 10, "a");
    size_t len;
    free(take(f->a.s, 10, &len));
    int fd = -1;
    assert_int_equal(store_checkpoint_open_file(f->a.s, 10, "CURRENT", &fd), 0);
    close(fd);
    static const char *const bad[] = {"", ".", "..", "../10/CURRENT", "a/b", ".hidden",
                                      "/etc/passwd", "x\ny"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(store_checkpoint_open_file(f->a.s, 10, bad[i], &fd), WAIHU_EINVAL);
    }
    assert_int_equal(store_checkpoint_open_file(f->a.s, 10, "nope.sst", &fd), WAIHU_ENOTFOUND);
    assert_int_equal(store_checkpoint_open_file(f->a.s, 11, "CURRENT", &fd), WAIHU_ENOTFOUND);
    /* A symlink planted in a checkpoint dir is not followed. */
    char link_path[256];
    snprintf(link_path, sizeof link_path, "%s/10/evil", f->a.snaps);
    assert_int_equal(symlink("/etc/passwd", link_path), 0);
    assert_int_not_equal(store_checkpoint_open_file(f->a.s, 10, "evil", &fd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_roundtrip),
        cmocka_unit_test_setup_teardown(test_snapshot_is_checkpoint_and_keeps_two, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restore_from_checkpoint_equals_source, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tampered_file_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_file_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_failure_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_manifest_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_file_path_checks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
