/* libFuzzer target for the backup manifest reader (src/backup/manifest.c, manifest_open).
 * Manifests are sealed with AES-256-GCM, so random bytes stop at the tag check; to reach
 * the body decoder this target seals the input under a fixed key first (byte 0 even), or
 * hands the input over as a stored manifest (byte 0 odd: header and tag checks). A manifest
 * that opens must seal and open again to the same content. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD 40

static void repo_init(struct backup_repo *r)
{
    memset(r, 0, sizeof *r);
    memset(r->repo_id, 0x5a, sizeof r->repo_id);
    hex_encode(r->repo_id, sizeof r->repo_id, r->repo_id_hex);
    memset(r->keys.manifest, 0x11, sizeof r->keys.manifest);
}

/* The id the body names (what manifest_open compares with), or "x". */
static void id_of_body(const uint8_t *body, size_t len, char id[BACKUP_ID_CAP])
{
    size_t n = len > 0 ? body[0] : 0;
    if (n == 0 || n >= BACKUP_ID_CAP || n + 1 > len || memchr(body + 1, '\0', n) != NULL) {
        strcpy(id, "x");
        return;
    }
    memcpy(id, body + 1, n);
    id[n] = '\0';
}

/* Stored form of a plaintext body: header | sealed body | tag; malloc'd. */
static uint8_t *seal_body(const struct backup_repo *r, const char *id, const uint8_t *body,
                          size_t len, size_t *out_len)
{
    uint8_t *p = malloc(HEAD + len + AES256GCM_TAG_BYTES);
    if (p == NULL)
        return NULL;
    memcpy(p, MANIFEST_MAGIC, 8);
    memset(p + 8, 0, 4);
    p[11] = MANIFEST_FORMAT;
    memcpy(p + 12, r->repo_id, REPO_ID_BYTES);
    memset(p + 28, 0, AES256GCM_NONCE_BYTES);
    uint8_t aad[HEAD + BACKUP_ID_CAP];
    size_t n = strlen(id);
    memcpy(aad, p, HEAD);
    memcpy(aad + HEAD, id, n);
    if (aes256gcm_run(1, r->keys.manifest, p + 28, aad, HEAD + n, body, len, p + HEAD,
                      p + HEAD + len) != 0)
        abort();
    *out_len = HEAD + len + AES256GCM_TAG_BYTES;
    return p;
}

static void check_round_trip(const struct backup_repo *r, const struct manifest *m)
{
    uint8_t *buf;
    size_t len;
    struct manifest m2;
    struct backup_error err;
    if (manifest_seal(r, m, &buf, &len) != 0 || manifest_open(r, m->id, buf, len, &m2, &err) != 0)
        abort();
    free(buf);
    if (strcmp(m->id, m2.id) != 0 || strcmp(m->parent_id, m2.parent_id) != 0 ||
        m->incremental != m2.incremental || m->created_ms != m2.created_ms ||
        m->raft_index != m2.raft_index || memcmp(m->parent_hash, m2.parent_hash, 32) != 0 ||
        m->n_entries != m2.n_entries)
        abort();
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct manifest_entry *a = &m->entries[i], *b = &m2.entries[i];
        if (a->kind != MANIFEST_FILE || a->kind != b->kind || strcmp(a->name, b->name) != 0 ||
            a->size_bytes != b->size_bytes || memcmp(a->object_id, b->object_id, OBJECT_ID_BYTES))
            abort();
    }
    manifest_free(&m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct backup_repo r;
    repo_init(&r);
    const uint8_t *in = data + 1;
    size_t in_len = size - 1;
    char id[BACKUP_ID_CAP];
    uint8_t *buf;
    size_t len;
    if (data[0] & 1) {
        strcpy(id, "20261124T133100Z-1a2b3c4d");
        buf = malloc(in_len ? in_len : 1); /* exact bounds for ASan */
        if (buf == NULL)
            return 0;
        memcpy(buf, in, in_len);
        len = in_len;
    } else {
        id_of_body(in, in_len, id);
        if ((buf = seal_body(&r, id, in, in_len, &len)) == NULL)
            return 0;
    }
    struct manifest m;
    struct backup_error err;
    memset(&err, 0, sizeof err);
    int rv = manifest_open(&r, id, buf, len, &m, &err);
    free(buf);
    if (rv != 0) {
        if (err.msg[0] == '\0' || err.code != rv || m.entries != NULL)
            abort();
        return 0;
    }
    if (strcmp(m.id, id) != 0 || m.incremental != (m.parent_id[0] != '\0'))
        abort();
    check_round_trip(&r, &m);
    manifest_free(&m);
    return 0;
}
