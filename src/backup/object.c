/* Objects: one checkpoint file each, named by a keyed hash of its content, stored as a
 * header and chunks of up to chunk_bytes plaintext, each compressed (zstd, or raw when
 * that does not shrink it) and sealed with AES-256-GCM under a per-object key. A chunk's
 * associated data is the header, its index and a final flag, so a reordered, dropped,
 * duplicated or spliced chunk and a truncated object fail authentication. */
#define _GNU_SOURCE /* sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "backup_internal.h"

#define ZSTD_LEVEL 1
#define READ_BYTES (4u << 20)
#define MODE_RAW 0
#define MODE_ZSTD 1

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

void object_header_encode(const struct object_header *h, uint8_t out[OBJECT_HEADER_BYTES])
{
    memset(out, 0, OBJECT_HEADER_BYTES);
    memcpy(out, OBJECT_MAGIC, 8);
    put32(out + 8, h->format);
    put32(out + 12, h->chunk_bytes);
    be64_put(out + 16, h->plain_size);
    memcpy(out + 24, h->repo_id, REPO_ID_BYTES);
    memcpy(out + 40, h->object_id, OBJECT_ID_BYTES);
    memcpy(out + 72, h->salt, 16);
    out[88] = h->compression;
}

int object_header_decode(const uint8_t in[OBJECT_HEADER_BYTES], struct object_header *h)
{
    static const uint8_t zero[7];
    if (memcmp(in, OBJECT_MAGIC, 8) != 0 || memcmp(in + 89, zero, sizeof zero) != 0) {
        return WAIHU_ECORRUPT;
    }
    h->format = get32(in + 8);
    h->chunk_bytes = get32(in + 12);
    h->plain_size = be64_get(in + 16);
    memcpy(h->repo_id, in + 24, REPO_ID_BYTES);
    memcpy(h->object_id, in + 40, OBJECT_ID_BYTES);
    memcpy(h->salt, in + 72, 16);
    h->compression = in[88];
    if (h->format != OBJECT_FORMAT || h->compression != OBJECT_COMPRESSION_ZSTD ||
        h->chunk_bytes < REPO_CHUNK_MIN || h->chunk_bytes > REPO_CHUNK_MAX) {
        return WAIHU_ECORRUPT;
    }
    return 0;
}

int object_key(const struct repo_keys *k, const struct object_header *h, uint8_t key[32])
{
    static const char label[] = "waihu-backup object v1";
    uint8_t info[sizeof label - 1 + REPO_ID_BYTES + OBJECT_ID_BYTES];
    memcpy(info, label, sizeof label - 1);
    memcpy(info + sizeof label - 1, h->repo_id, REPO_ID_BYTES);
    memcpy(info + sizeof label - 1 + REPO_ID_BYTES, h->object_id, OBJECT_ID_BYTES);
    return kdf_hkdf(k->data, sizeof k->data, h->salt, sizeof h->salt, info, sizeof info, key, 32);
}

void object_chunk_aad(const uint8_t header[OBJECT_HEADER_BYTES], uint64_t index, bool final,
                      uint8_t aad[OBJECT_HEADER_BYTES + 9])
{
    memcpy(aad, header, OBJECT_HEADER_BYTES);
    be64_put(aad + OBJECT_HEADER_BYTES, index);
    aad[OBJECT_HEADER_BYTES + 8] = final ? 1 : 0;
}

/* The per-object key is fresh for every upload (random salt), so a counter nonce
 * never repeats under one key. */
static void chunk_nonce(uint64_t index, uint8_t nonce[AES256GCM_NONCE_BYTES])
{
    memset(nonce, 0, 4);
    be64_put(nonce + 4, index);
}

static uint64_t chunk_count(uint64_t plain_size, uint32_t chunk_bytes)
{
    return plain_size == 0 ? 1 : (plain_size + chunk_bytes - 1) / chunk_bytes;
}

void object_name(const uint8_t id[OBJECT_ID_BYTES], char *out)
{
    char hex[OBJECT_ID_HEX];
    hex_encode(id, OBJECT_ID_BYTES, hex);
    snprintf(out, 80, "objects/%.2s/%s", hex, hex);
}

static void short_id(const uint8_t id[OBJECT_ID_BYTES], char out[17])
{
    hex_encode(id, 8, out);
}

static void progress_add(struct object_progress *pr, uint64_t n)
{
    if (pr != NULL) {
        pr->done += n;
        if (pr->fn != NULL) {
            pr->fn(pr->data, pr->what, pr->done, pr->total);
        }
    }
}

/* Reads until cap bytes or the end of the file. */
static int read_full(int fd, uint8_t *buf, size_t cap, size_t *got)
{
    size_t off = 0;
    while (off < cap) {
        ssize_t n = read(fd, buf + off, cap - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return WAIHU_EIO;
        }
        if (n == 0) {
            break;
        }
        off += (size_t)n;
    }
    *got = off;
    return 0;
}

int object_id_of_file(const struct backup_repo *r, const char *path, uint8_t id[32],
                      uint64_t *size_bytes, struct backup_error *err)
{
    struct kdf_mac *mac = NULL;
    uint8_t *buf = malloc(READ_BYTES);
    uint64_t total = 0;
    int rv = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || buf == NULL) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "open %s: %s", path, strerror(errno));
        goto out;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if ((rv = kdf_mac_new(r->keys.object_id, &mac)) != 0) {
        rv = backup_fail(err, rv, BACKUP_FAULT_IO, "hmac init failed");
        goto out;
    }
    for (;;) {
        size_t got;
        if (read_full(fd, buf, READ_BYTES, &got) != 0) {
            rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "read %s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0) {
            break;
        }
        kdf_mac_update(mac, buf, got);
        total += got;
    }
    if ((rv = kdf_mac_final(mac, id)) != 0) {
        rv = backup_fail(err, rv, BACKUP_FAULT_IO, "hmac failed");
        goto out;
    }
    *size_bytes = total;
out:
    kdf_mac_free(mac);
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    return rv;
}

/* ---- upload ---- */

struct sealer {
    uint8_t header[OBJECT_HEADER_BYTES];
    uint8_t key[32];
    uint8_t *plain;  /* chunk_bytes */
    uint8_t *sealed; /* 4 + 1 + bound + tag */
    size_t bound;
    ZSTD_CCtx *cctx;
};

static int sealer_init(struct sealer *s, uint32_t chunk_bytes)
{
    memset(s, 0, sizeof *s);
    s->bound = ZSTD_compressBound(chunk_bytes);
    s->plain = malloc(chunk_bytes);
    s->sealed = malloc(4 + 1 + s->bound + AES256GCM_TAG_BYTES);
    s->cctx = ZSTD_createCCtx();
    if (s->plain == NULL || s->sealed == NULL || s->cctx == NULL) {
        return WAIHU_ENOMEM;
    }
    ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    return 0;
}

static void sealer_close(struct sealer *s)
{
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s->plain);
    free(s->sealed);
    ZSTD_freeCCtx(s->cctx);
}

/* Seals len bytes of plain as chunk index into s->sealed; *out_len is what to write. */
static int seal_chunk(struct sealer *s, const uint8_t *plain, size_t len, uint64_t index,
                      bool final, size_t *out_len)
{
    uint8_t aad[OBJECT_HEADER_BYTES + 9], nonce[AES256GCM_NONCE_BYTES];
    uint8_t *body = s->sealed + 4;
    size_t c = ZSTD_compress2(s->cctx, body + 1, s->bound, plain, len);
    if (!ZSTD_isError(c) && c < len) {
        body[0] = MODE_ZSTD;
    } else {
        body[0] = MODE_RAW;
        memcpy(body + 1, plain, len);
        c = len;
    }
    object_chunk_aad(s->header, index, final, aad);
    chunk_nonce(index, nonce);
    int rv = aes256gcm_run(1, s->key, nonce, aad, sizeof aad, body, c + 1, body, body + c + 1);
    put32(s->sealed, (uint32_t)(c + 1));
    *out_len = 4 + c + 1 + AES256GCM_TAG_BYTES;
    return rv;
}

/* Uploads from the file at path (mem NULL: read in chunks, the content checked against
 * id at the end) or from mem, size_bytes already named by id. */
static int put_object(struct backup_repo *r, const char *path, const uint8_t *mem,
                      const uint8_t id[32], uint64_t size_bytes, uint64_t *shipped,
                      struct object_progress *pr, struct backup_error *err)
{
    struct target *t = r->target;
    struct object_header h = {.format = OBJECT_FORMAT,
                              .chunk_bytes = r->chunk_bytes,
                              .plain_size = size_bytes,
                              .compression = OBJECT_COMPRESSION_ZSTD};
    struct target_writer *w = NULL;
    struct kdf_mac *mac = NULL;
    struct sealer s;
    char name[80], sid[17];
    uint64_t n_chunks = chunk_count(size_bytes, r->chunk_bytes), written = 0, total = 0;
    uint8_t check[32];
    int rv;
    int fd = mem == NULL ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    object_name(id, name);
    short_id(id, sid);
    memcpy(h.repo_id, r->repo_id, REPO_ID_BYTES);
    memcpy(h.object_id, id, OBJECT_ID_BYTES);
    if ((rv = sealer_init(&s, r->chunk_bytes)) != 0) {
        rv = backup_fail(err, rv, BACKUP_FAULT_IO, "out of memory");
        goto out;
    }
    if (mem == NULL && fd < 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fd >= 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if (random_bytes(h.salt, sizeof h.salt) != 0 || object_key(&r->keys, &h, s.key) != 0 ||
        kdf_mac_new(r->keys.object_id, &mac) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "object %s: key setup failed", sid);
        goto out;
    }
    object_header_encode(&h, s.header);
    if ((rv = t->ops->put_begin(t, name, &w)) != 0 ||
        (rv = t->ops->put_write(t, w, s.header, sizeof s.header)) != 0) {
        rv = backup_fail_target(err, rv, t, "upload");
        goto out;
    }
    written += sizeof s.header;
    for (uint64_t i = 0; i < n_chunks; i++) {
        size_t got, len;
        uint64_t want = i + 1 < n_chunks ? r->chunk_bytes : size_bytes - i * r->chunk_bytes;
        const uint8_t *plain = s.plain;
        if (mem != NULL) {
            plain = mem + i * r->chunk_bytes;
            got = (size_t)want;
        } else {
            if (read_full(fd, s.plain, r->chunk_bytes, &got) != 0) {
                rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "read %s: %s", path,
                                 strerror(errno));
                goto out;
            }
            if (got != want) {
                break; /* reported below as a change */
            }
            kdf_mac_update(mac, plain, got);
        }
        total += got;
        if ((rv = seal_chunk(&s, plain, got, i, i + 1 == n_chunks, &len)) != 0) {
            rv = backup_fail(err, rv, BACKUP_FAULT_IO, "object %s: encryption failed", sid);
            goto out;
        }
        if ((rv = t->ops->put_write(t, w, s.sealed, len)) != 0) {
            rv = backup_fail_target(err, rv, t, "upload");
            goto out;
        }
        written += len;
        progress_add(pr, got);
    }
    size_t extra = 0;
    uint8_t one;
    if (mem == NULL) {
        read_full(fd, &one, 1, &extra);
        kdf_mac_final(mac, check);
    } else {
        memcpy(check, id, 32);
    }
    if (total != size_bytes || extra != 0 || memcmp(check, id, 32) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_USAGE,
                         "%s changed while being backed up (a checkpoint must not change)", path);
        goto out;
    }
    rv = t->ops->put_commit(t, w);
    w = NULL;
    if (rv != 0) {
        rv = backup_fail_target(err, rv, t, "upload");
        goto out;
    }
    *shipped += written;
out:
    if (w != NULL) {
        t->ops->put_abort(t, w);
    }
    if (fd >= 0) {
        close(fd);
    }
    kdf_mac_free(mac);
    sealer_close(&s);
    return rv;
}

int object_put_file(struct backup_repo *r, const char *path, const uint8_t id[32],
                    uint64_t size_bytes, uint64_t *shipped, struct object_progress *pr,
                    struct backup_error *err)
{
    return put_object(r, path, NULL, id, size_bytes, shipped, pr, err);
}

int object_put_mem(struct backup_repo *r, const uint8_t *buf, const uint8_t id[32],
                   uint64_t size_bytes, uint64_t *shipped, struct object_progress *pr,
                   struct backup_error *err)
{
    return put_object(r, "(memory)", buf, id, size_bytes, shipped, pr, err);
}

int object_load_file(const struct backup_repo *r, const char *path, uint64_t size_bytes,
                     uint8_t **buf, size_t *cap, uint8_t id[32], struct backup_error *err)
{
    if (size_bytes > *cap || *buf == NULL) {
        /* Grown, never shrunk: a fresh buffer per file costs a page fault per 4 KiB. */
        free(*buf);
        *cap = size_bytes > *cap ? size_bytes : *cap;
        *buf = malloc(*cap ? *cap : 1);
    }
    uint8_t *p = *buf;
    size_t got = 0, extra = 0;
    uint8_t one;
    int rv = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (p == NULL) {
        rv = backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
    } else if (fd < 0 || read_full(fd, p, size_bytes, &got) != 0 ||
               read_full(fd, &one, 1, &extra) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "read %s: %s", path, strerror(errno));
    } else if (got != size_bytes || extra != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_USAGE,
                         "%s changed while being backed up (a checkpoint must not change)", path);
    } else if (kdf_hmac(r->keys.object_id, p, size_bytes, id) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "hmac failed");
    }
    if (fd >= 0) {
        close(fd);
    }
    return rv;
}

/* ---- download ---- */

static int read_exact(struct target *t, struct target_reader *rd, uint8_t *buf, size_t n,
                      size_t *got)
{
    size_t off = 0;
    while (off < n) {
        size_t k;
        int rv = t->ops->get_read(t, rd, buf + off, n - off, &k);
        if (rv != 0) {
            return rv;
        }
        if (k == 0) {
            break;
        }
        off += k;
    }
    *got = off;
    return 0;
}

static int open_object(struct backup_repo *r, const uint8_t id[32], uint64_t size_bytes,
                       struct target_reader **rd, uint8_t header[OBJECT_HEADER_BYTES],
                       struct object_header *h, struct backup_error *err)
{
    struct target *t = r->target;
    char name[80], sid[17];
    uint64_t stored;
    size_t got;
    object_name(id, name);
    short_id(id, sid);
    int rv = t->ops->get_open(t, name, rd, &stored);
    if (rv == WAIHU_ENOTFOUND) {
        return backup_fail(err, rv, BACKUP_FAULT_INTEGRITY, "object %s is missing", sid);
    }
    if (rv != 0) {
        return backup_fail_target(err, rv, t, "download");
    }
    if ((rv = read_exact(t, *rd, header, OBJECT_HEADER_BYTES, &got)) != 0) {
        rv = backup_fail_target(err, rv, t, "download");
    } else if (got != OBJECT_HEADER_BYTES || object_header_decode(header, h) != 0) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "object %s: header damaged or truncated", sid);
    } else if (memcmp(h->repo_id, r->repo_id, REPO_ID_BYTES) != 0) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "object %s belongs to another repository", sid);
    } else if (memcmp(h->object_id, id, OBJECT_ID_BYTES) != 0 || h->plain_size != size_bytes) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "object %s: header names another object or size (%llu, manifest says "
                         "%llu)",
                         sid, (unsigned long long)h->plain_size, (unsigned long long)size_bytes);
    } else if (stored < OBJECT_HEADER_BYTES + chunk_count(size_bytes, h->chunk_bytes) *
                                                  (4 + 1 + AES256GCM_TAG_BYTES)) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "object %s is truncated (%llu bytes stored)", sid,
                         (unsigned long long)stored);
    }
    if (rv != 0) {
        t->ops->get_close(t, *rd);
    }
    return rv;
}

int object_check_header(struct backup_repo *r, const uint8_t id[32], uint64_t size_bytes,
                        struct backup_error *err)
{
    struct target_reader *rd;
    uint8_t header[OBJECT_HEADER_BYTES];
    struct object_header h;
    int rv = open_object(r, id, size_bytes, &rd, header, &h, err);
    if (rv == 0) {
        r->target->ops->get_close(r->target, rd);
    }
    return rv;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == ENOSPC ? WAIHU_ENOSPACE : WAIHU_EIO;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int object_get(struct backup_repo *r, const uint8_t id[32], uint64_t size_bytes, int fd,
               struct object_progress *pr, struct backup_error *err)
{
    struct target *t = r->target;
    struct target_reader *rd = NULL;
    struct object_header h;
    struct kdf_mac *mac = NULL;
    uint8_t header[OBJECT_HEADER_BYTES], key[32], check[32];
    uint8_t *sealed = NULL, *plain = NULL;
    ZSTD_DCtx *dctx = NULL;
    char sid[17];
    size_t got;
    uint64_t written = 0, kicked = 0;
    short_id(id, sid);
    int rv = open_object(r, id, size_bytes, &rd, header, &h, err);
    if (rv != 0) {
        return rv;
    }
    size_t bound = ZSTD_compressBound(h.chunk_bytes);
    uint64_t n_chunks = chunk_count(size_bytes, h.chunk_bytes);
    sealed = malloc(1 + bound + AES256GCM_TAG_BYTES);
    plain = malloc(h.chunk_bytes);
    dctx = ZSTD_createDCtx();
    if (sealed == NULL || plain == NULL || dctx == NULL) {
        rv = backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
        goto out;
    }
    if (object_key(&r->keys, &h, key) != 0 || kdf_mac_new(r->keys.object_id, &mac) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "object %s: key setup failed", sid);
        goto out;
    }
    for (uint64_t i = 0; i < n_chunks; i++) {
        uint8_t lenbuf[4], aad[OBJECT_HEADER_BYTES + 9], nonce[AES256GCM_NONCE_BYTES];
        size_t want = i + 1 < n_chunks ? h.chunk_bytes : (size_t)(size_bytes - i * h.chunk_bytes);
        if ((rv = read_exact(t, rd, lenbuf, 4, &got)) != 0) {
            rv = backup_fail_target(err, rv, t, "download");
            goto out;
        }
        uint32_t len = get32(lenbuf);
        if (got != 4 || len < 1 || len > 1 + bound) {
            rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                             "object %s: chunk %llu of %llu: %s", sid, (unsigned long long)i,
                             (unsigned long long)n_chunks,
                             got != 4 ? "missing (object truncated)" : "bad length");
            goto out;
        }
        if ((rv = read_exact(t, rd, sealed, len + AES256GCM_TAG_BYTES, &got)) != 0) {
            rv = backup_fail_target(err, rv, t, "download");
            goto out;
        }
        if (got != len + AES256GCM_TAG_BYTES) {
            rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                             "object %s: chunk %llu of %llu is truncated", sid,
                             (unsigned long long)i, (unsigned long long)n_chunks);
            goto out;
        }
        object_chunk_aad(header, i, i + 1 == n_chunks, aad);
        chunk_nonce(i, nonce);
        rv = aes256gcm_run(0, key, nonce, aad, sizeof aad, sealed, len, sealed, sealed + len);
        if (rv != 0) {
            rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                             "object %s: chunk %llu of %llu fails authentication (damaged, "
                             "reordered, truncated or spliced)",
                             sid, (unsigned long long)i, (unsigned long long)n_chunks);
            goto out;
        }
        const uint8_t *data = sealed + 1;
        size_t n = len - 1;
        if (sealed[0] == MODE_ZSTD) {
            size_t d = ZSTD_decompressDCtx(dctx, plain, h.chunk_bytes, sealed + 1, len - 1);
            if (ZSTD_isError(d)) {
                d = (size_t)-1;
            }
            data = plain;
            n = d;
        } else if (sealed[0] != MODE_RAW) {
            n = (size_t)-1;
        }
        if (n != want) {
            rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                             "object %s: chunk %llu does not expand to %zu bytes", sid,
                             (unsigned long long)i, want);
            goto out;
        }
        kdf_mac_update(mac, data, n);
        if (fd >= 0 && (rv = write_all(fd, data, n)) != 0) {
            rv = backup_fail(err, rv, BACKUP_FAULT_IO, "write: %s", strerror(errno));
            goto out;
        }
        if (fd >= 0 && (written += n) - kicked >= (8u << 20)) {
            /* Start writeback early: the caller's fsync then has little left to wait for. */
            sync_file_range(fd, (off_t)kicked, (off_t)(written - kicked), SYNC_FILE_RANGE_WRITE);
            kicked = written;
        }
        progress_add(pr, n);
    }
    if ((rv = read_exact(t, rd, sealed, 1, &got)) != 0 || got != 0) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "object %s: data after the final chunk", sid);
        goto out;
    }
    kdf_mac_final(mac, check);
    if (memcmp(check, id, 32) != 0) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "object %s: content does not match its id", sid);
    }
out:
    OPENSSL_cleanse(key, sizeof key);
    kdf_mac_free(mac);
    ZSTD_freeDCtx(dctx);
    free(sealed);
    free(plain);
    t->ops->get_close(t, rd);
    return rv;
}
