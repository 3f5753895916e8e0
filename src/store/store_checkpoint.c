/* Checkpoint snapshots for large states: a RocksDB checkpoint on disk, a manifest in
 * raft, and on a follower fetch + verify + swap of the database (store_checkpoint.h). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_checkpoint.h"

#define PATH_CAP 800
#define CKPT_HEAD 40 /* magic, format, index, dir, origin, n_files */

/* ---- manifest codec ---- */

bool ckpt_is_manifest(const void *buf, size_t len)
{
    return len >= 8 && memcmp(buf, CKPT_MAGIC, 8) == 0;
}

bool ckpt_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CKPT_NAME_MAX || name[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int ckpt_manifest_encode(const struct ckpt_manifest *m, void *(*alloc)(size_t), void **buf,
                         size_t *len)
{
    size_t n = CKPT_HEAD + SHA256_DIGEST_LENGTH;
    for (uint32_t i = 0; i < m->n_files; i++) {
        n += 2 + strlen(m->files[i].name) + 8 + 32;
    }
    uint8_t *p = alloc(n);
    if (p == NULL) {
        return WAIHU_ENOMEM;
    }
    uint8_t *q = p;
    memcpy(q, CKPT_MAGIC, 8);
    put32(q + 8, m->format);
    be64_put(q + 12, m->index);
    be64_put(q + 20, m->dir);
    be64_put(q + 28, m->origin);
    put32(q + 36, m->n_files);
    q += CKPT_HEAD;
    for (uint32_t i = 0; i < m->n_files; i++) {
        size_t nl = strlen(m->files[i].name);
        q[0] = (uint8_t)(nl >> 8);
        q[1] = (uint8_t)nl;
        memcpy(q + 2, m->files[i].name, nl);
        q += 2 + nl;
        be64_put(q, m->files[i].size_bytes);
        memcpy(q + 8, m->files[i].sha256, 32);
        q += 40;
    }
    SHA256(p, (size_t)(q - p), q);
    *buf = p;
    *len = n;
    return 0;
}

int ckpt_manifest_decode(const void *buf, size_t len, struct ckpt_manifest *out)
{
    const uint8_t *p = buf;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    memset(out, 0, sizeof *out);
    if (len < CKPT_HEAD + SHA256_DIGEST_LENGTH || !ckpt_is_manifest(buf, len)) {
        return WAIHU_ECORRUPT;
    }
    size_t body = len - SHA256_DIGEST_LENGTH;
    SHA256(p, body, digest);
    if (memcmp(digest, p + body, sizeof digest) != 0) {
        return WAIHU_ECORRUPT;
    }
    out->format = get32(p + 8);
    out->index = be64_get(p + 12);
    out->dir = be64_get(p + 20);
    out->origin = be64_get(p + 28);
    out->n_files = get32(p + 36);
    if (out->format != CKPT_FORMAT || out->n_files == 0 || out->n_files > CKPT_MAX_FILES) {
        return WAIHU_ECORRUPT;
    }
    out->files = calloc(out->n_files, sizeof *out->files);
    if (out->files == NULL) {
        return WAIHU_ENOMEM;
    }
    size_t off = CKPT_HEAD;
    for (uint32_t i = 0; i < out->n_files; i++) {
        if (off + 2 > body) {
            goto corrupt;
        }
        size_t nl = ((size_t)p[off] << 8) | p[off + 1];
        off += 2;
        if (nl == 0 || nl > CKPT_NAME_MAX || off + nl + 40 > body) {
            goto corrupt;
        }
        memcpy(out->files[i].name, p + off, nl);
        out->files[i].name[nl] = '\0';
        if (!ckpt_name_valid(out->files[i].name)) {
            goto corrupt;
        }
        off += nl;
        out->files[i].size_bytes = be64_get(p + off);
        memcpy(out->files[i].sha256, p + off + 8, 32);
        off += 40;
    }
    if (off != body) {
        goto corrupt;
    }
    return 0;
corrupt:
    ckpt_manifest_free(out);
    return WAIHU_ECORRUPT;
}

void ckpt_manifest_free(struct ckpt_manifest *m)
{
    free(m->files);
    m->files = NULL;
    m->n_files = 0;
}

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* SHA-256 and size of a regular file. */
static int file_digest(const char *path, uint8_t sha[32], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? WAIHU_ENOTFOUND : WAIHU_EIO;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        close(fd);
        return WAIHU_ENOMEM;
    }
    static __thread uint8_t chunk[1 << 16];
    uint64_t total = 0;
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        EVP_DigestUpdate(ctx, chunk, (size_t)n);
        total += (uint64_t)n;
    }
    close(fd);
    unsigned dl = 0;
    EVP_DigestFinal_ex(ctx, sha, &dl);
    EVP_MD_CTX_free(ctx);
    if (n < 0) {
        return WAIHU_EIO;
    }
    *size = total;
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) {
        return WAIHU_EIO;
    }
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        close(in);
        return WAIHU_EIO;
    }
    static __thread uint8_t chunk[1 << 16];
    int rv = 0;
    ssize_t n;
    while (rv == 0 && (n = read(in, chunk, sizeof chunk)) != 0) {
        if (n < 0 || write(out, chunk, (size_t)n) != n) {
            rv = WAIHU_EIO;
        }
    }
    if (rv == 0 && fsync(out) != 0) {
        rv = WAIHU_EIO;
    }
    close(in);
    close(out);
    return rv;
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const struct ckpt_file *)a)->name, ((const struct ckpt_file *)b)->name);
}

/* Lists and hashes the regular files of dir into m->files (sorted by name). */
static int dir_describe(const char *dir, struct ckpt_manifest *m)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        LOG_E("store", "checkpoint: open %s: %s", dir, strerror(errno));
        return WAIHU_EIO;
    }
    uint32_t cap = 0;
    int rv = 0;
    struct dirent *e;
    while (rv == 0 && (e = readdir(d)) != NULL) {
        char path[PATH_CAP];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (!ckpt_name_valid(e->d_name) || m->n_files == CKPT_MAX_FILES) {
            LOG_E("store", "checkpoint: %s: unexpected file name or too many files", path);
            rv = WAIHU_EIO;
            break;
        }
        if (m->n_files == cap) {
            cap = cap ? cap * 2 : 16;
            struct ckpt_file *f = realloc(m->files, cap * sizeof *f);
            if (f == NULL) {
                rv = WAIHU_ENOMEM;
                break;
            }
            m->files = f;
        }
        struct ckpt_file *f = &m->files[m->n_files];
        snprintf(f->name, sizeof f->name, "%s", e->d_name);
        if ((rv = file_digest(path, f->sha256, &f->size_bytes)) != 0) {
            LOG_E("store", "checkpoint: read %s: %s", path, strerror(errno));
            break;
        }
        m->n_files++;
    }
    closedir(d);
    if (rv == 0 && m->n_files == 0) {
        LOG_E("store", "checkpoint: %s is empty", dir);
        rv = WAIHU_EIO;
    }
    if (rv == 0) {
        qsort(m->files, m->n_files, sizeof *m->files, cmp_files);
    }
    return rv;
}

/* Checks one file against its manifest entry; errmsg (cap 256) says why not. */
static int file_verify(const char *path, const struct ckpt_file *f, char *errmsg)
{
    uint8_t sha[32];
    uint64_t size;
    int rv = file_digest(path, sha, &size);
    if (rv != 0) {
        snprintf(errmsg, 256, "%s: %s", path, rv == WAIHU_ENOTFOUND ? "missing" : "unreadable");
        return rv;
    }
    if (size != f->size_bytes) {
        snprintf(errmsg, 256, "%s: %llu bytes, manifest says %llu", path,
                 (unsigned long long)size, (unsigned long long)f->size_bytes);
        return WAIHU_ECORRUPT;
    }
    if (memcmp(sha, f->sha256, 32) != 0) {
        snprintf(errmsg, 256, "%s: SHA-256 differs from the manifest", path);
        return WAIHU_ECORRUPT;
    }
    return 0;
}

static int dir_verify(const char *dir, const struct ckpt_manifest *m, char *errmsg)
{
    for (uint32_t i = 0; i < m->n_files; i++) {
        char path[PATH_CAP];
        snprintf(path, sizeof path, "%s/%s", dir, m->files[i].name);
        int rv = file_verify(path, &m->files[i], errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0; /* newest first */
}

/* A follower may be fetching a superseded checkpoint (or restarting to fetch it again):
 * dirs served within this many seconds survive pruning (marker <dir>.served). */
#define CKPT_SERVED_GRACE_S 120

/* Deletes checkpoint dirs (all-digit names) but the newest keep ones and those served
 * lately. */
static void prune(const char *snap_dir, int keep)
{
    DIR *d = opendir(snap_dir);
    if (d == NULL) {
        return;
    }
    uint64_t idx[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        const char *p = e->d_name;
        if (*p == '\0' || strspn(p, "0123456789") != strlen(p)) {
            continue;
        }
        idx[n++] = strtoull(p, NULL, 10);
    }
    closedir(d);
    qsort(idx, (size_t)n, sizeof idx[0], cmp_u64);
    time_t now = time(NULL);
    for (int i = keep; i < n; i++) {
        char path[PATH_CAP], marker[PATH_CAP];
        struct stat st;
        snprintf(path, sizeof path, "%s/%llu", snap_dir, (unsigned long long)idx[i]);
        snprintf(marker, sizeof marker, "%s.served", path);
        if (stat(marker, &st) == 0 && now - st.st_mtime < CKPT_SERVED_GRACE_S) {
            continue;
        }
        unlink(marker);
        rm_rf(path);
        LOG_D("store", "checkpoint %s removed (keeping the last %d)", path, keep);
    }
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        LOG_E("store", "mkdir %s: %s", path, strerror(errno));
        return WAIHU_EIO;
    }
    return 0;
}

/* ---- configuration and serving ---- */

int store_checkpoint_configure(struct store *s, const char *snapshots_dir,
                               uint64_t inline_max_bytes, uint64_t self_id)
{
    if (strlen(snapshots_dir) >= sizeof s->snap_dir) {
        return WAIHU_EINVAL;
    }
    snprintf(s->snap_dir, sizeof s->snap_dir, "%s", snapshots_dir);
    s->inline_max_bytes = inline_max_bytes;
    s->self_id = self_id;
    return ensure_dir(s->snap_dir);
}

void store_set_fetcher(struct store *s, const struct store_fetcher *f)
{
    if (f != NULL) {
        s->fetcher = *f;
    } else {
        memset(&s->fetcher, 0, sizeof s->fetcher);
    }
}

int store_checkpoint_open_file(struct store *s, uint64_t index, const char *name, int *fd)
{
    if (s->snap_dir[0] == '\0' || !ckpt_name_valid(name)) {
        return WAIHU_EINVAL;
    }
    char path[PATH_CAP];
    struct stat st;
    snprintf(path, sizeof path, "%s/%llu/%s", s->snap_dir, (unsigned long long)index, name);
    int f = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (f < 0) {
        return WAIHU_ENOTFOUND;
    }
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(f);
        return WAIHU_EINVAL;
    }
    /* Keeps the dir from being pruned while followers use it. */
    snprintf(path, sizeof path, "%s/%llu.served", s->snap_dir, (unsigned long long)index);
    int m = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (m >= 0) {
        futimens(m, NULL);
        close(m);
    }
    *fd = f;
    return 0;
}

uint64_t store_size_estimate(struct store *s)
{
    static const char *const props[] = {"rocksdb.estimate-live-data-size",
                                        "rocksdb.cur-size-all-mem-tables"};
    uint64_t total = 0;
    for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
        for (int i = 0; i < 2; i++) {
            uint64_t v = 0;
            if (rocksdb_property_int_cf(s->db, s->cf[cf], props[i], &v) == 0) {
                total += v;
            }
        }
    }
    return total;
}

bool ckpt_wanted(struct store *s)
{
    return s->snap_dir[0] != '\0' && store_size_estimate(s) > s->inline_max_bytes;
}

/* ---- create (pool thread) ---- */

int ckpt_create(struct store *s, uint64_t index, uint64_t dir, void *(*alloc)(size_t),
                void **buf, size_t *len)
{
    char tmp[PATH_CAP], final[PATH_CAP];
    struct ckpt_manifest m = {
        .format = CKPT_FORMAT, .index = index, .dir = dir, .origin = s->self_id};
    uint64_t start = clock_now_ms();
    int rv = ensure_dir(s->snap_dir);
    if (rv != 0) {
        return rv;
    }
    snprintf(tmp, sizeof tmp, "%s/%llu.tmp", s->snap_dir, (unsigned long long)dir);
    snprintf(final, sizeof final, "%s/%llu", s->snap_dir, (unsigned long long)dir);
    rm_rf(tmp);
    char *err = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &err);
    if (err == NULL) {
        /* log_size_for_flush 0: memtables are flushed, the checkpoint is SSTs only. */
        rocksdb_checkpoint_create(cp, tmp, 0, &err);
    }
    if (cp != NULL) {
        rocksdb_checkpoint_object_destroy(cp);
    }
    if (err != NULL) {
        LOG_E("store", "snapshot %llu: checkpoint into %s: %s", (unsigned long long)index, tmp,
              err);
        rocksdb_free(err);
        rv = WAIHU_EIO;
        goto err;
    }
    if ((rv = dir_describe(tmp, &m)) != 0) {
        goto err;
    }
    rm_rf(final);
    /* Prune first: never more than CKPT_KEEP finished dirs on disk. */
    prune(s->snap_dir, CKPT_KEEP - 1);
    if (rename(tmp, final) != 0) {
        LOG_E("store", "snapshot %llu: rename %s: %s", (unsigned long long)dir, tmp,
              strerror(errno));
        rv = WAIHU_EIO;
        goto err;
    }
    fsync_dir(s->snap_dir);
    if ((rv = ckpt_manifest_encode(&m, alloc, buf, len)) != 0) {
        goto err;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < m.n_files; i++) {
        bytes += m.files[i].size_bytes;
    }
    LOG_I("store", "snapshot %llu (store index %llu): checkpoint %s, %u files, %llu bytes, "
          "manifest %zu bytes, %llu ms", (unsigned long long)dir, (unsigned long long)index,
          final, m.n_files, (unsigned long long)bytes, *len,
          (unsigned long long)(clock_now_ms() - start));
    ckpt_manifest_free(&m);
    return 0;
err:
    rm_rf(tmp);
    ckpt_manifest_free(&m);
    return rv;
}

/* ---- restore (loop thread) ---- */

/* Fetches every file into staging and checks it as it lands. */
static int fetch_all(struct store *s, const struct ckpt_manifest *m, const char *staging)
{
    char errmsg[256] = "";
    int rv;
    if (s->fetcher.fetch == NULL) {
        LOG_E("store", "restore: checkpoint %llu is not here and no fetcher is installed",
              (unsigned long long)m->index);
        return WAIHU_EUNAVAILABLE;
    }
    rm_rf(staging);
    if ((rv = ensure_dir(staging)) != 0) {
        return rv;
    }
    for (uint32_t i = 0; i < m->n_files; i++) {
        const struct ckpt_file *f = &m->files[i];
        char path[PATH_CAP];
        snprintf(path, sizeof path, "%s/%s", staging, f->name);
        rv = s->fetcher.fetch(s->fetcher.data, m->origin, m->dir, f->name, f->size_bytes,
                              path, errmsg);
        if (rv == 0) {
            rv = file_verify(path, f, errmsg);
        }
        if (rv != 0) {
            LOG_E("store", "restore: checkpoint %llu of node %llu: file %s: %s",
                  (unsigned long long)m->dir, (unsigned long long)m->origin, f->name, errmsg);
            rm_rf(staging);
            return rv;
        }
    }
    fsync_dir(staging);
    return 0;
}

/* The database becomes a copy of the checkpoint in src (SSTs are immutable: linked). */
static int build_db_dir(const char *src, const struct ckpt_manifest *m, const char *dst)
{
    rm_rf(dst);
    int rv = ensure_dir(dst);
    for (uint32_t i = 0; rv == 0 && i < m->n_files; i++) {
        char from[PATH_CAP], to[PATH_CAP];
        const char *name = m->files[i].name;
        size_t nl = strlen(name);
        snprintf(from, sizeof from, "%s/%s", src, name);
        snprintf(to, sizeof to, "%s/%s", dst, name);
        bool sst = nl > 4 && strcmp(name + nl - 4, ".sst") == 0;
        if (!(sst && link(from, to) == 0)) {
            rv = copy_file(from, to);
            if (rv != 0) {
                LOG_E("store", "restore: copy %s to %s: %s", from, to, strerror(errno));
            }
        }
    }
    if (rv == 0) {
        fsync_dir(dst);
    } else {
        rm_rf(dst);
    }
    return rv;
}

/* Closes the database, puts dir newdir in its place and reopens; the struct store
 * stays the same object. On failure the old database is back. */
static int swap_db(struct store *s, const char *newdir, uint64_t index)
{
    char old[PATH_CAP], errmsg[256] = "";
    snprintf(old, sizeof old, "%s.old", s->dir);
    rm_rf(old);
    store_db_close(s);
    int rv = WAIHU_EIO;
    if (rename(s->dir, old) != 0) {
        LOG_E("store", "restore: rename %s: %s", s->dir, strerror(errno));
        goto reopen_old;
    }
    /* A crash here leaves no database: the next start opens an empty one at index 0
     * and raft restores this same manifest again. */
    if (rename(newdir, s->dir) != 0) {
        LOG_E("store", "restore: rename %s: %s", newdir, strerror(errno));
        rename(old, s->dir);
        goto reopen_old;
    }
    if ((rv = store_db_open(s, errmsg)) != 0 || (rv = store_db_load_applied(s, errmsg)) != 0) {
        LOG_E("store", "restore: open checkpoint as %s: %s", s->dir, errmsg);
        store_db_close(s);
        rm_rf(s->dir);
        rename(old, s->dir);
        goto reopen_old;
    }
    if (s->applied_index < index) {
        /* Trailing barriers leave the row behind the snapshot index. */
        rocksdb_writebatch_t *b = rocksdb_writebatch_create();
        store_batch_applied(s, b, index);
        store_batch_commit(s, b, index);
        rocksdb_writebatch_destroy(b);
    }
    rm_rf(old);
    return 0;
reopen_old:
    if (store_db_open(s, errmsg) != 0 || store_db_load_applied(s, errmsg) != 0) {
        waihu_fatal("store", "restore: cannot reopen %s after a failed swap: %s", s->dir,
                    errmsg);
    }
    return rv;
}

int ckpt_restore(struct store *s, const void *buf, size_t len)
{
    struct ckpt_manifest m;
    char final[PATH_CAP], staging[PATH_CAP], newdir[PATH_CAP], errmsg[256] = "";
    uint64_t start = clock_now_ms();
    int rv = ckpt_manifest_decode(buf, len, &m);
    if (rv != 0) {
        LOG_E("store", "restore: checkpoint manifest of %zu bytes is damaged", len);
        return rv;
    }
    if (m.index <= s->applied_index) {
        LOG_I("store", "restore: checkpoint snapshot at %llu skipped, store has %llu",
              (unsigned long long)m.index, (unsigned long long)s->applied_index);
        goto out;
    }
    if (s->snap_dir[0] == '\0') {
        LOG_E("store", "restore: got a checkpoint manifest but checkpoints are not configured");
        rv = WAIHU_EINVAL;
        goto out;
    }
    if (s->snapshots_live > 0) {
        LOG_W("store", "restore: checkpoint %llu refused while a snapshot is being taken",
              (unsigned long long)m.index);
        rv = WAIHU_EUNAVAILABLE;
        goto out;
    }
    if ((rv = ensure_dir(s->snap_dir)) != 0) {
        goto out;
    }
    snprintf(final, sizeof final, "%s/%llu", s->snap_dir, (unsigned long long)m.dir);
    snprintf(staging, sizeof staging, "%s/%llu.fetch", s->snap_dir, (unsigned long long)m.dir);
    snprintf(newdir, sizeof newdir, "%s.new", s->dir);
    bool local = dir_verify(final, &m, errmsg) == 0;
    if (!local) {
        if ((rv = fetch_all(s, &m, staging)) != 0) {
            goto out;
        }
        /* Kept as our own copy: we serve it too if we lead later. */
        rm_rf(final);
        if (rename(staging, final) != 0) {
            LOG_E("store", "restore: rename %s: %s", staging, strerror(errno));
            rm_rf(staging);
            rv = WAIHU_EIO;
            goto out;
        }
    }
    if ((rv = build_db_dir(final, &m, newdir)) != 0 || (rv = swap_db(s, newdir, m.index)) != 0) {
        rm_rf(newdir);
        goto out;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < m.n_files; i++) {
        bytes += m.files[i].size_bytes;
    }
    LOG_I("store", "restored from checkpoint %llu of node %llu (%s): %u files, %llu bytes, "
          "applied %llu, %llu ms", (unsigned long long)m.dir, (unsigned long long)m.origin,
          local ? "local copy" : "fetched", m.n_files, (unsigned long long)bytes,
          (unsigned long long)s->applied_index, (unsigned long long)(clock_now_ms() - start));
    prune(s->snap_dir, CKPT_KEEP);
out:
    ckpt_manifest_free(&m);
    return rv;
}
