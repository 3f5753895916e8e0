/* Unit tests of src/backup: HKDF against RFC 5869, the chunked object AEAD (flipped bit,
 * truncation, reordered and spliced chunks, wrong key), manifests (tamper, rename, another
 * repository) and chains (missing or replaced parent), key rotation and prune. Every test
 * runs on a fresh repository in a temporary directory, with small chunks. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
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

#include "backup.h"
#include "backup_internal.h"

#define TEST_CHUNK 4096

struct fx {
    char dir[64];
    char repo[96], key[96], key2[96], file[96];
    struct backup_repo *r;
    struct backup_error err;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* Compressible but not trivial content of n bytes. */
static uint8_t *content(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (i % 7 == 0) ? (uint8_t)(x >> 24) : (uint8_t)('a' + (i / 13) % 26);
    }
    return p;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char id[33];
    snprintf(f->dir, sizeof f->dir, "/tmp/waihu-backup-unit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->repo, sizeof f->repo, "%s/repo", f->dir);
    snprintf(f->key, sizeof f->key, "%s/key", f->dir);
    snprintf(f->key2, sizeof f->key2, "%s/key2", f->dir);
    snprintf(f->file, sizeof f->file, "%s/data", f->dir);
    assert_int_equal(backup_key_file_create(f->key, &f->err), 0);
    assert_int_equal(backup_repo_init(f->repo, f->key, id, &f->err), 0);
    assert_int_equal(backup_repo_open(f->repo, f->key, &f->r, &f->err), 0);
    f->r->chunk_bytes = TEST_CHUNK; /* many chunks from small files */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    backup_repo_close(f->r);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Uploads n bytes of content(seed) as an object; returns its id. */
static void put_object(struct fx *f, size_t n, unsigned seed, uint8_t id[32])
{
    uint8_t *data = content(n, seed);
    uint64_t size, shipped = 0;
    write_file(f->file, data, n);
    free(data);
    assert_int_equal(object_id_of_file(f->r, f->file, id, &size, &f->err), 0);
    assert_int_equal(size, n);
    assert_int_equal(object_put_file(f->r, f->file, id, size, &shipped, NULL, &f->err), 0);
    assert_true(shipped > OBJECT_HEADER_BYTES);
}

static void object_path(struct fx *f, const uint8_t id[32], char *out)
{
    char name[80];
    object_name(id, name);
    snprintf(out, 256, "%s/%s", f->repo, name);
}

static int get_object(struct fx *f, const uint8_t id[32], size_t n)
{
    memset(&f->err, 0, sizeof f->err);
    return object_get(f->r, id, n, -1, NULL, &f->err);
}

/* ---- HKDF and HMAC ---- */

static void test_hkdf_rfc5869_case1(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++) {
        salt[i] = (uint8_t)i;
    }
    for (int i = 0; i < 10; i++) {
        info[i] = (uint8_t)(0xf0 + i);
    }
    assert_int_equal(hex_decode("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                                "34007208d5b887185865",
                                want, sizeof want),
                     0);
    assert_int_equal(
        kdf_hkdf(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm, sizeof okm), 0);
    assert_memory_equal(okm, want, sizeof okm);
}

static void test_hmac_streams_like_one_shot(void **state)
{
    (void)state;
    uint8_t key[32] = {1}, other[32] = {2}, a[32], b[32], c[32];
    struct kdf_mac *m;
    uint8_t *data = content(10000, 3);
    assert_int_equal(kdf_hmac(key, data, 10000, a), 0);
    assert_int_equal(kdf_mac_new(key, &m), 0);
    kdf_mac_update(m, data, 1234);
    kdf_mac_update(m, data + 1234, 10000 - 1234);
    assert_int_equal(kdf_mac_final(m, b), 0);
    kdf_mac_free(m);
    assert_memory_equal(a, b, 32);
    assert_int_equal(kdf_hmac(other, data, 10000, c), 0);
    assert_memory_not_equal(a, c, 32);
    free(data);
}

/* ---- objects ---- */

static void test_object_round_trip(void **state)
{
    struct fx *f = *state;
    static const size_t sizes[] = {
        0, 1, TEST_CHUNK - 1, TEST_CHUNK, TEST_CHUNK + 1, 5 * TEST_CHUNK + 77};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t id[32];
        char out[128];
        size_t len;
        put_object(f, sizes[i], (unsigned)i, id);
        snprintf(out, sizeof out, "%s/out", f->dir);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(object_get(f->r, id, sizes[i], fd, NULL, &f->err), 0);
        close(fd);
        uint8_t *got = read_file(out, &len), *want = content(sizes[i], (unsigned)i);
        assert_int_equal(len, sizes[i]);
        assert_memory_equal(got, want, len);
        free(got);
        free(want);
    }
}

static void test_object_id_is_keyed(void **state)
{
    struct fx *f = *state;
    struct backup_repo *other;
    uint8_t a[32], b[32];
    uint64_t size;
    char repo2[128], id[33];
    uint8_t *data = content(1000, 9);
    write_file(f->file, data, 1000);
    free(data);
    snprintf(repo2, sizeof repo2, "%s/repo2", f->dir);
    assert_int_equal(backup_repo_init(repo2, f->key, id, &f->err), 0);
    assert_int_equal(backup_repo_open(repo2, f->key, &other, &f->err), 0);
    assert_int_equal(object_id_of_file(f->r, f->file, a, &size, &f->err), 0);
    assert_int_equal(object_id_of_file(other, f->file, b, &size, &f->err), 0);
    /* Same content, same master key, two repositories: unrelated names. */
    assert_memory_not_equal(a, b, 32);
    backup_repo_close(other);
}

static void test_object_flipped_bit(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];
    char path[256];
    size_t len;
    put_object(f, 3 * TEST_CHUNK, 1, id);
    object_path(f, id, path);
    uint8_t *buf = read_file(path, &len);
    buf[len / 2] ^= 0x10;
    write_file(path, buf, len);
    free(buf);
    assert_int_equal(get_object(f, id, 3 * TEST_CHUNK), WAIHU_ECORRUPT);
    assert_int_equal(f->err.fault, BACKUP_FAULT_INTEGRITY);
    assert_non_null(strstr(f->err.msg, "fails authentication"));
}

static void test_object_flipped_header_bit(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];
    char path[256];
    size_t len;
    put_object(f, 2 * TEST_CHUNK, 1, id);
    object_path(f, id, path);
    uint8_t *buf = read_file(path, &len);
    buf[80] ^= 1; /* the salt: every chunk's key and associated data change */
    write_file(path, buf, len);
    free(buf);
    assert_int_equal(get_object(f, id, 2 * TEST_CHUNK), WAIHU_ECORRUPT);
}

/* Offsets of each chunk's record (u32 length | sealed | tag) in a stored object. */
static size_t chunk_offsets(const uint8_t *buf, size_t len, size_t *offs, size_t max)
{
    size_t n = 0, off = OBJECT_HEADER_BYTES;
    while (off + 4 <= len && n < max) {
        offs[n++] = off;
        uint32_t l = ((uint32_t)buf[off] << 24) | ((uint32_t)buf[off + 1] << 16) |
                     ((uint32_t)buf[off + 2] << 8) | buf[off + 3];
        off += 4 + l + AES256GCM_TAG_BYTES;
    }
    assert_int_equal(off, len);
    return n;
}

static void test_object_truncated_at_chunk_boundary(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];
    char path[256];
    size_t len, offs[16];
    put_object(f, 3 * TEST_CHUNK, 2, id);
    object_path(f, id, path);
    uint8_t *buf = read_file(path, &len);
    size_t n = chunk_offsets(buf, len, offs, 16);
    assert_int_equal(n, 3);
    write_file(path, buf, offs[2]); /* the last chunk dropped whole */
    free(buf);
    assert_int_equal(get_object(f, id, 3 * TEST_CHUNK), WAIHU_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "truncated"));
}

static void test_object_truncated_mid_chunk(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];
    char path[256];
    size_t len;
    put_object(f, 3 * TEST_CHUNK, 2, id);
    object_path(f, id, path);
    uint8_t *buf = read_file(path, &len);
    write_file(path, buf, len - 5);
    free(buf);
    assert_int_equal(get_object(f, id, 3 * TEST_CHUNK), WAIHU_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "truncated"));
}

static void test_object_trailing_bytes(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];
    char path[256];
    size_t len;
    put_object(f, TEST_CHUNK + 3, 2, id);
    object_path(f, id, path);
    uint8_t *buf = read_file(path, &len);
    buf = realloc(buf, len + 1);
    buf[len] = 0;
    write_file(path, buf, len + 1);
    free(buf);
    assert_int_equal(get_object(f, id, TEST_CHUNK + 3), WAIHU_ECORRUPT);
}

/* Chunk records of equal length swapped: the bytes are all genuine, the order is not. */
static void test_object_reordered_chunks(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];
    char path[256];
    size_t len, offs[16];
    /* Incompressible content: every full chunk is stored raw, so records have one length. */
    uint8_t *data = malloc(4 * TEST_CHUNK);
    uint64_t size, shipped = 0;
    assert_int_equal(random_bytes(data, 4 * TEST_CHUNK), 0);
    write_file(f->file, data, 4 * TEST_CHUNK);
    free(data);
    assert_int_equal(object_id_of_file(f->r, f->file, id, &size, &f->err), 0);
    assert_int_equal(object_put_file(f->r, f->file, id, size, &shipped, NULL, &f->err), 0);
    object_path(f, id, path);
    uint8_t *buf = read_file(path, &len);
    assert_int_equal(chunk_offsets(buf, len, offs, 16), 4);
    size_t rec = offs[2] - offs[1];
    assert_int_equal(offs[3] - offs[2], rec);
    uint8_t *tmp = malloc(rec);
    memcpy(tmp, buf + offs[1], rec);
    memcpy(buf + offs[1], buf + offs[2], rec);
    memcpy(buf + offs[2], tmp, rec);
    free(tmp);
    write_file(path, buf, len);
    free(buf);
    assert_int_equal(get_object(f, id, 4 * TEST_CHUNK), WAIHU_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "chunk 1 of 4 fails authentication"));
}

/* A chunk from another object at the same index (same length) does not fit. */
static void test_object_spliced_chunk(void **state)
{
    struct fx *f = *state;
    uint8_t a[32], b[32];
    char pa[256], pb[256];
    size_t la, lb, oa[16], ob[16];
    put_object(f, 2 * TEST_CHUNK, 5, a);
    object_path(f, a, pa);
    uint8_t *bufa = read_file(pa, &la);
    /* The same content uploaded again under a fresh salt: identical lengths. */
    uint64_t shipped = 0;
    assert_int_equal(object_put_file(f->r, f->file, a, 2 * TEST_CHUNK, &shipped, NULL, &f->err), 0);
    uint8_t *bufb = read_file(pa, &lb);
    assert_int_equal(la, lb);
    chunk_offsets(bufa, la, oa, 16);
    chunk_offsets(bufb, lb, ob, 16);
    memcpy(bufb + ob[1], bufa + oa[1], lb - ob[1]);
    write_file(pa, bufb, lb);
    free(bufa);
    free(bufb);
    assert_int_equal(get_object(f, a, 2 * TEST_CHUNK), WAIHU_ECORRUPT);
    (void)b;
    (void)pb;
}

static void test_object_wrong_data_key(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];
    put_object(f, 2 * TEST_CHUNK, 6, id);
    f->r->keys.data[0] ^= 1;
    assert_int_equal(get_object(f, id, 2 * TEST_CHUNK), WAIHU_ECORRUPT);
    f->r->keys.data[0] ^= 1;
    assert_int_equal(get_object(f, id, 2 * TEST_CHUNK), 0);
}

static void test_object_missing_and_wrong_size(void **state)
{
    struct fx *f = *state;
    uint8_t id[32], absent[32] = {7};
    put_object(f, 100, 6, id);
    assert_int_equal(get_object(f, absent, 100), WAIHU_ENOTFOUND);
    assert_int_equal(f->err.fault, BACKUP_FAULT_INTEGRITY);
    assert_non_null(strstr(f->err.msg, "missing"));
    assert_int_equal(get_object(f, id, 101), WAIHU_ECORRUPT);
}

static void test_chunk_aad_binds_index_and_final(void **state)
{
    (void)state;
    uint8_t header[OBJECT_HEADER_BYTES] = {0}, a[OBJECT_HEADER_BYTES + 9],
            b[OBJECT_HEADER_BYTES + 9];
    object_chunk_aad(header, 3, false, a);
    object_chunk_aad(header, 3, true, b);
    assert_memory_not_equal(a, b, sizeof a);
    object_chunk_aad(header, 4, false, b);
    assert_memory_not_equal(a, b, sizeof a);
}

/* ---- manifests and chains ---- */

static void fill_manifest(struct fx *f, struct manifest *m, const char *id, const char *parent,
                          const uint8_t *parent_hash)
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    m->created_ms = 1000;
    m->raft_index = 77;
    m->n_entries = 2;
    m->entries = calloc(2, sizeof *m->entries);
    for (int i = 0; i < 2; i++) {
        m->entries[i].kind = MANIFEST_FILE;
        snprintf(m->entries[i].name, sizeof m->entries[i].name, "00000%d.sst", i);
        m->entries[i].size_bytes = 10u + (unsigned)i;
        m->entries[i].object_id[0] = (uint8_t)i;
    }
    if (parent != NULL) {
        m->incremental = true;
        snprintf(m->parent_id, sizeof m->parent_id, "%s", parent);
        memcpy(m->parent_hash, parent_hash, 32);
    }
    (void)f;
}

/* Seals and stores m; returns the stored manifest's hash. */
static void store_manifest(struct fx *f, struct backup_repo *r, const struct manifest *m,
                           uint8_t hash[32])
{
    uint8_t *buf;
    size_t len;
    struct manifest back;
    char name[80];
    assert_int_equal(manifest_seal(r, m, &buf, &len), 0);
    snprintf(name, sizeof name, "manifests/%s", m->id);
    assert_int_equal(target_put_all(r->target, name, buf, len), 0);
    assert_int_equal(manifest_open(r, m->id, buf, len, &back, &f->err), 0);
    memcpy(hash, back.hash, 32);
    manifest_free(&back);
    free(buf);
}

static void test_manifest_round_trip_and_tamper(void **state)
{
    struct fx *f = *state;
    struct manifest m, back;
    uint8_t *buf;
    size_t len;
    fill_manifest(f, &m, "b1", NULL, NULL);
    assert_int_equal(manifest_seal(f->r, &m, &buf, &len), 0);
    assert_int_equal(manifest_open(f->r, "b1", buf, len, &back, &f->err), 0);
    assert_string_equal(back.id, "b1");
    assert_int_equal(back.raft_index, 77);
    assert_int_equal(back.n_entries, 2);
    assert_string_equal(back.entries[1].name, "000001.sst");
    assert_int_equal(back.entries[1].size_bytes, 11);
    manifest_free(&back);
    /* Stored under another name: the id is associated data. */
    assert_int_equal(manifest_open(f->r, "b2", buf, len, &back, &f->err), WAIHU_ECORRUPT);
    for (size_t i = 0; i < len; i += 7) {
        buf[i] ^= 4;
        assert_int_equal(manifest_open(f->r, "b1", buf, len, &back, &f->err), WAIHU_ECORRUPT);
        assert_int_equal(f->err.fault, BACKUP_FAULT_INTEGRITY);
        buf[i] ^= 4;
    }
    assert_int_equal(manifest_open(f->r, "b1", buf, len - 1, &back, &f->err), WAIHU_ECORRUPT);
    free(buf);
    manifest_free(&m);
}

static void test_manifest_from_another_repository(void **state)
{
    struct fx *f = *state;
    struct backup_repo *other;
    struct manifest m, back;
    uint8_t *buf;
    size_t len;
    char repo2[128], id[33];
    snprintf(repo2, sizeof repo2, "%s/repo2", f->dir);
    assert_int_equal(backup_repo_init(repo2, f->key, id, &f->err), 0);
    assert_int_equal(backup_repo_open(repo2, f->key, &other, &f->err), 0);
    fill_manifest(f, &m, "b1", NULL, NULL);
    assert_int_equal(manifest_seal(other, &m, &buf, &len), 0);
    assert_int_equal(manifest_open(f->r, "b1", buf, len, &back, &f->err), WAIHU_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "another repository"));
    /* Its repo id rewritten to ours: the key still differs. */
    memcpy(buf + 12, f->r->repo_id, REPO_ID_BYTES);
    assert_int_equal(manifest_open(f->r, "b1", buf, len, &back, &f->err), WAIHU_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "fails authentication"));
    free(buf);
    manifest_free(&m);
    backup_repo_close(other);
}

static void test_chain_checks(void **state)
{
    struct fx *f = *state;
    struct manifest full, inc1, inc2, fake;
    uint8_t h_full[32], h_inc1[32], h_inc2[32], h_fake[32];
    fill_manifest(f, &full, "b1", NULL, NULL);
    store_manifest(f, f->r, &full, h_full);
    fill_manifest(f, &inc1, "b2", "b1", h_full);
    store_manifest(f, f->r, &inc1, h_inc1);
    fill_manifest(f, &inc2, "b3", "b2", h_inc1);
    store_manifest(f, f->r, &inc2, h_inc2);
    assert_int_equal(manifest_check_chain(f->r, &inc2, &f->err), 0);
    /* b2 replaced by a validly sealed but different manifest: the hash link breaks. */
    fill_manifest(f, &fake, "b2", "b1", h_full);
    fake.raft_index = 99;
    store_manifest(f, f->r, &fake, h_fake);
    assert_int_equal(manifest_check_chain(f->r, &inc2, &f->err), WAIHU_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "not the manifest it chained to"));
    store_manifest(f, f->r, &inc1, h_inc1); /* a re-seal has a fresh nonce: still wrong */
    assert_int_equal(manifest_check_chain(f->r, &inc2, &f->err), WAIHU_ECORRUPT);
    /* A missing parent. */
    char path[256];
    snprintf(path, sizeof path, "%s/manifests/b1", f->repo);
    unlink(path);
    assert_int_equal(manifest_check_chain(f->r, &inc1, &f->err), WAIHU_ENOTFOUND);
    assert_non_null(strstr(f->err.msg, "missing"));
    manifest_free(&full);
    manifest_free(&inc1);
    manifest_free(&inc2);
    manifest_free(&fake);
    (void)h_inc2;
    (void)h_fake;
}

/* ---- keys ---- */

static void test_key_rotation_rewraps_only(void **state)
{
    struct fx *f = *state;
    struct backup_repo *r2;
    uint8_t id[32];
    put_object(f, 3 * TEST_CHUNK, 8, id);
    assert_int_equal(backup_repo_rotate_key(f->r, f->key2, &f->err), 0);
    assert_int_equal(backup_repo_open(f->repo, f->key, &r2, &f->err), WAIHU_EINVAL);
    assert_int_equal(f->err.fault, BACKUP_FAULT_KEY);
    assert_non_null(strstr(f->err.msg, "wrong key"));
    assert_int_equal(backup_repo_open(f->repo, f->key2, &r2, &f->err), 0);
    r2->chunk_bytes = TEST_CHUNK;
    assert_int_equal(object_get(r2, id, 3 * TEST_CHUNK, -1, NULL, &f->err), 0);
    backup_repo_close(r2);
}

static void test_key_file_checks(void **state)
{
    struct fx *f = *state;
    uint8_t key[32];
    char path[128];
    snprintf(path, sizeof path, "%s/badkey", f->dir);
    write_file(path, "not hex\n", 8);
    assert_int_equal(key_file_load(path, key, &f->err), WAIHU_EINVAL);
    assert_int_equal(f->err.fault, BACKUP_FAULT_KEY);
    chmod(f->key, 0644);
    assert_int_equal(key_file_load(f->key, key, &f->err), WAIHU_EINVAL);
    assert_non_null(strstr(f->err.msg, "readable by others"));
    chmod(f->key, 0600);
    assert_int_equal(key_file_load(f->key, key, &f->err), 0);
    assert_int_equal(backup_key_file_create(f->key, &f->err), WAIHU_EINVAL); /* no overwrite */
}

static void test_config_tamper(void **state)
{
    struct fx *f = *state;
    struct backup_repo *r2;
    char path[256];
    size_t len;
    snprintf(path, sizeof path, "%s/config", f->repo);
    uint8_t *buf = read_file(path, &len);
    char *p = strstr((char *)buf, "chunk_bytes 1048576");
    assert_non_null(p);
    memcpy(p, "chunk_bytes 1048575", 19);
    write_file(path, buf, len);
    free(buf);
    assert_int_equal(backup_repo_open(f->repo, f->key, &r2, &f->err), WAIHU_ECORRUPT);
    assert_int_equal(f->err.fault, BACKUP_FAULT_INTEGRITY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869_case1),
        cmocka_unit_test(test_hmac_streams_like_one_shot),
        cmocka_unit_test(test_chunk_aad_binds_index_and_final),
        cmocka_unit_test_setup_teardown(test_object_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_id_is_keyed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_flipped_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_flipped_header_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_truncated_at_chunk_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_truncated_mid_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_trailing_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_reordered_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_spliced_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_wrong_data_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_missing_and_wrong_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_round_trip_and_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_from_another_repository, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_rotation_rewraps_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_tamper, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
