/* Manifests: one per backup, sealed with AES-256-GCM under the repository's manifest key
 * (docs/backup.md "Manifest"):
 *   "WAIHUMF1" | u32 format | repo id (16) | nonce (12)            plain, 40 bytes
 *   sealed body | tag (16)          associated data: the plain header and the backup id
 * body: u8 id len | id | u8 flags | i64 created ms | u64 raft index | u8 parent len |
 *   parent id | parent hash (32) | u32 n | n x (u8 kind | u16 name len | name | u64 size |
 *   object id (32)) | u32 extension length | extension (ignored by format 1 readers). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"

#define HEAD_BYTES 40
#define FLAG_INCREMENTAL 1

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
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

bool backup_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= BACKUP_ID_CAP || id[0] == '.') {
        return false;
    }
    return strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_") == n;
}

static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= BACKUP_NAME_MAX && name[0] != '.' &&
           strspn(name, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_") == n;
}

static void aad_of(const uint8_t *head, const char *id, uint8_t *aad, size_t *len)
{
    size_t n = strlen(id);
    memcpy(aad, head, HEAD_BYTES);
    memcpy(aad + HEAD_BYTES, id, n);
    *len = HEAD_BYTES + n;
}

int manifest_seal(const struct backup_repo *r, const struct manifest *m, uint8_t **buf, size_t *len)
{
    size_t id_len = strlen(m->id), parent_len = strlen(m->parent_id);
    size_t body = 1 + id_len + 1 + 8 + 8 + 1 + parent_len + 32 + 4 + 4;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        body += 1 + 2 + strlen(m->entries[i].name) + 8 + OBJECT_ID_BYTES;
    }
    uint8_t *p = malloc(HEAD_BYTES + body + AES256GCM_TAG_BYTES);
    uint8_t aad[HEAD_BYTES + BACKUP_ID_CAP];
    size_t aad_len;
    if (p == NULL) {
        return WAIHU_ENOMEM;
    }
    memcpy(p, MANIFEST_MAGIC, 8);
    put32(p + 8, MANIFEST_FORMAT);
    memcpy(p + 12, r->repo_id, REPO_ID_BYTES);
    if (random_bytes(p + 28, AES256GCM_NONCE_BYTES) != 0) {
        free(p);
        return WAIHU_EIO;
    }
    uint8_t *q = p + HEAD_BYTES;
    *q++ = (uint8_t)id_len;
    memcpy(q, m->id, id_len);
    q += id_len;
    *q++ = m->incremental ? FLAG_INCREMENTAL : 0;
    be64_put(q, (uint64_t)m->created_ms);
    be64_put(q + 8, m->raft_index);
    q += 16;
    *q++ = (uint8_t)parent_len;
    memcpy(q, m->parent_id, parent_len);
    q += parent_len;
    memcpy(q, m->parent_hash, 32);
    q += 32;
    put32(q, m->n_entries);
    q += 4;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct manifest_entry *e = &m->entries[i];
        size_t nl = strlen(e->name);
        *q++ = e->kind;
        put16(q, (uint16_t)nl);
        memcpy(q + 2, e->name, nl);
        q += 2 + nl;
        be64_put(q, e->size_bytes);
        memcpy(q + 8, e->object_id, OBJECT_ID_BYTES);
        q += 8 + OBJECT_ID_BYTES;
    }
    put32(q, 0); /* no extension */
    q += 4;
    aad_of(p, m->id, aad, &aad_len);
    int rv = aes256gcm_run(1, r->keys.manifest, p + 28, aad, aad_len, p + HEAD_BYTES, body,
                           p + HEAD_BYTES, q);
    if (rv != 0) {
        free(p);
        return rv;
    }
    *buf = p;
    *len = HEAD_BYTES + body + AES256GCM_TAG_BYTES;
    return 0;
}

void manifest_free(struct manifest *m)
{
    free(m->entries);
    m->entries = NULL;
    m->n_entries = 0;
}

/* Bounds-checked reader over the opened body. */
struct cursor {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
    if (c->bad || n > c->left) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

static bool take_str(struct cursor *c, size_t n, char *out, size_t cap)
{
    const uint8_t *p = take(c, n);
    if (p == NULL || n >= cap || memchr(p, '\0', n) != NULL) {
        c->bad = true;
        return false;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

static int decode_body(const uint8_t *body, size_t len, struct manifest *m)
{
    struct cursor c = {body, len, false};
    const uint8_t *p;
    if ((p = take(&c, 1)) == NULL || !take_str(&c, p[0], m->id, sizeof m->id) ||
        (p = take(&c, 17)) == NULL) {
        return WAIHU_ECORRUPT;
    }
    m->incremental = (p[0] & FLAG_INCREMENTAL) != 0;
    m->created_ms = (int64_t)be64_get(p + 1);
    m->raft_index = be64_get(p + 9);
    if ((p = take(&c, 1)) == NULL || !take_str(&c, p[0], m->parent_id, sizeof m->parent_id) ||
        (p = take(&c, 32 + 4)) == NULL) {
        return WAIHU_ECORRUPT;
    }
    memcpy(m->parent_hash, p, 32);
    m->n_entries = get32(p + 32);
    if (m->n_entries > MANIFEST_MAX_ENTRIES || m->n_entries > len / 44 ||
        m->incremental != (m->parent_id[0] != '\0')) {
        return WAIHU_ECORRUPT;
    }
    m->entries = calloc(m->n_entries ? m->n_entries : 1, sizeof *m->entries);
    if (m->entries == NULL) {
        return WAIHU_ENOMEM;
    }
    for (uint32_t i = 0; i < m->n_entries; i++) {
        struct manifest_entry *e = &m->entries[i];
        if ((p = take(&c, 3)) == NULL) {
            return WAIHU_ECORRUPT;
        }
        e->kind = p[0];
        if (!take_str(&c, ((size_t)p[1] << 8) | p[2], e->name, sizeof e->name) ||
            (p = take(&c, 8 + OBJECT_ID_BYTES)) == NULL) {
            return WAIHU_ECORRUPT;
        }
        e->size_bytes = be64_get(p);
        memcpy(e->object_id, p + 8, OBJECT_ID_BYTES);
        /* Kinds 2 and 3 (raft segments, recordings) are reserved: not restorable yet. */
        if (e->kind != MANIFEST_FILE || !name_valid(e->name)) {
            return WAIHU_ECORRUPT;
        }
    }
    if ((p = take(&c, 4)) == NULL || take(&c, get32(p)) == NULL || c.left != 0) {
        return WAIHU_ECORRUPT;
    }
    return 0;
}

int manifest_open(const struct backup_repo *r, const char *id, const uint8_t *buf, size_t len,
                  struct manifest *m, struct backup_error *err)
{
    uint8_t aad[HEAD_BYTES + BACKUP_ID_CAP];
    size_t aad_len;
    memset(m, 0, sizeof *m);
    if (len < HEAD_BYTES + AES256GCM_TAG_BYTES || memcmp(buf, MANIFEST_MAGIC, 8) != 0 ||
        get32(buf + 8) != MANIFEST_FORMAT) {
        return backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                           "manifest %s: not a format %d manifest (damaged or truncated)", id,
                           MANIFEST_FORMAT);
    }
    if (memcmp(buf + 12, r->repo_id, REPO_ID_BYTES) != 0) {
        char other[2 * REPO_ID_BYTES + 1];
        hex_encode(buf + 12, REPO_ID_BYTES, other);
        return backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                           "manifest %s is from another repository (repo id %s, this is %s)", id,
                           other, r->repo_id_hex);
    }
    size_t body = len - HEAD_BYTES - AES256GCM_TAG_BYTES;
    uint8_t *plain = malloc(body ? body : 1);
    uint8_t tag[AES256GCM_TAG_BYTES];
    if (plain == NULL) {
        return backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
    }
    memcpy(tag, buf + len - AES256GCM_TAG_BYTES, sizeof tag);
    aad_of(buf, id, aad, &aad_len);
    int rv = aes256gcm_run(0, r->keys.manifest, buf + 28, aad, aad_len, buf + HEAD_BYTES, body,
                           plain, tag);
    if (rv != 0) {
        free(plain);
        return backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                           "manifest %s fails authentication (tampered with, renamed, or "
                           "sealed under another repository's key)",
                           id);
    }
    rv = decode_body(plain, body, m);
    free(plain);
    if (rv == 0 && strcmp(m->id, id) != 0) {
        rv = WAIHU_ECORRUPT;
    }
    if (rv != 0) {
        manifest_free(m);
        return backup_fail(err, rv, rv == WAIHU_ENOMEM ? BACKUP_FAULT_IO : BACKUP_FAULT_INTEGRITY,
                           "manifest %s: malformed content", id);
    }
    memcpy(m->repo_id, r->repo_id, REPO_ID_BYTES);
    SHA256(buf, len, m->hash);
    m->stored_bytes = len;
    return 0;
}

int manifest_load(struct backup_repo *r, const char *id, struct manifest *m,
                  struct backup_error *err)
{
    char name[BACKUP_ID_CAP + 16];
    uint8_t *buf;
    size_t len;
    if (!backup_id_valid(id)) {
        return backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE, "bad backup id %s", id);
    }
    snprintf(name, sizeof name, "manifests/%s", id);
    int rv = target_get_all(r->target, name, MANIFEST_MAX_BYTES, &buf, &len);
    if (rv == WAIHU_ENOTFOUND) {
        return backup_fail(err, rv, BACKUP_FAULT_NOTFOUND, "no backup %s", id);
    }
    if (rv != 0) {
        return backup_fail_target(err, rv, r->target, "read manifest");
    }
    rv = manifest_open(r, id, buf, len, m, err);
    free(buf);
    return rv;
}

int manifest_check_chain(struct backup_repo *r, const struct manifest *m, struct backup_error *err)
{
    char child[BACKUP_ID_CAP], parent[BACKUP_ID_CAP];
    uint8_t want[32];
    bool incremental = m->incremental;
    int64_t child_ms = m->created_ms;
    snprintf(child, sizeof child, "%s", m->id);
    snprintf(parent, sizeof parent, "%s", m->parent_id);
    memcpy(want, m->parent_hash, 32);
    for (unsigned depth = 0; incremental; depth++) {
        struct manifest p;
        int rv = manifest_load(r, parent, &p, err);
        if (rv == WAIHU_ENOTFOUND) {
            return backup_fail(err, rv, BACKUP_FAULT_INTEGRITY,
                               "backup %s: its parent %s is missing (chain broken)", child, parent);
        }
        if (rv != 0) {
            backup_error_prefix(err, "chain");
            return rv;
        }
        if (memcmp(p.hash, want, 32) != 0 || p.created_ms > child_ms || depth > 100000) {
            manifest_free(&p);
            return backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                               "backup %s: parent %s is not the manifest it chained to "
                               "(replaced or rolled back)",
                               child, parent);
        }
        incremental = p.incremental;
        child_ms = p.created_ms;
        snprintf(child, sizeof child, "%s", p.id);
        snprintf(parent, sizeof parent, "%s", p.parent_id);
        memcpy(want, p.parent_hash, 32);
        manifest_free(&p);
    }
    return 0;
}

struct id_list {
    char (*ids)[BACKUP_ID_CAP];
    size_t n, cap;
};

static int collect_id(void *data, const char *name, uint64_t size_bytes)
{
    struct id_list *l = data;
    const char *id = name + strlen("manifests/");
    (void)size_bytes;
    if (!backup_id_valid(id)) {
        return 0; /* not ours: ignored */
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        void *p = realloc(l->ids, cap * BACKUP_ID_CAP);
        if (p == NULL) {
            return WAIHU_ENOMEM;
        }
        l->ids = p;
        l->cap = cap;
    }
    snprintf(l->ids[l->n++], BACKUP_ID_CAP, "%s", id);
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

int manifest_list_ids(struct backup_repo *r, char (**ids)[BACKUP_ID_CAP], size_t *n,
                      struct backup_error *err)
{
    struct id_list l = {0};
    int rv = r->target->ops->list(r->target, "manifests/", collect_id, &l);
    if (rv != 0) {
        free(l.ids);
        return rv == WAIHU_ENOMEM ? backup_fail(err, rv, BACKUP_FAULT_IO, "out of memory")
                                  : backup_fail_target(err, rv, r->target, "list manifests");
    }
    if (l.n > 0) {
        qsort(l.ids, l.n, BACKUP_ID_CAP, cmp_id);
    }
    *ids = l.ids;
    *n = l.n;
    return 0;
}

int manifest_resolve(struct backup_repo *r, const char *id, char *out, struct backup_error *err)
{
    char(*ids)[BACKUP_ID_CAP];
    size_t n, hits = 0;
    int rv = manifest_list_ids(r, &ids, &n, err);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0) {
            hits = 1;
            snprintf(out, BACKUP_ID_CAP, "%s", ids[i]);
            break;
        }
        if (strncmp(ids[i], id, strlen(id)) == 0) {
            if (hits++ == 0) {
                snprintf(out, BACKUP_ID_CAP, "%s", ids[i]);
            }
        }
    }
    free(ids);
    if (hits == 0 || id[0] == '\0') {
        return backup_fail(err, WAIHU_ENOTFOUND, BACKUP_FAULT_NOTFOUND, "no backup %s", id);
    }
    if (hits > 1) {
        return backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE,
                           "backup id %s is ambiguous (%zu backups start with it)", id, hits);
    }
    return 0;
}
