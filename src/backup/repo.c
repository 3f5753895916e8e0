/* The repository config: format, repo id, chunk size and the data key wrapped by the
 * master key (docs/backup.md "Keys"). Rotating the master key rewraps; objects stay. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"

#define CONFIG_NAME "config"
#define CONFIG_MAX 4096
#define CONFIG_FIRST_LINE "waihu-backup repository"
#define WRAPPED_BYTES (AES256GCM_NONCE_BYTES + BACKUP_KEY_BYTES + AES256GCM_TAG_BYTES)

struct config {
    uint32_t format;
    uint8_t repo_id[REPO_ID_BYTES];
    uint32_t chunk_bytes;
    uint8_t fingerprint[8];
    uint8_t wrapped[WRAPPED_BYTES];
};

/* The wrap binds the config's other fields: editing them breaks the unwrap. */
static void wrap_aad(const struct config *c, uint8_t *aad, size_t *len)
{
    static const char label[] = "waihu-backup config v1";
    size_t n = sizeof label - 1;
    memcpy(aad, label, n);
    memcpy(aad + n, c->repo_id, REPO_ID_BYTES);
    n += REPO_ID_BYTES;
    for (int i = 0; i < 4; i++) {
        aad[n + (size_t)i] = (uint8_t)(c->format >> (24 - 8 * i));
        aad[n + 4 + (size_t)i] = (uint8_t)(c->chunk_bytes >> (24 - 8 * i));
    }
    *len = n + 8;
}

static int wrap_key(const uint8_t master[32], const struct config *c, uint8_t kek[32])
{
    static const char info[] = "waihu-backup wrap v1";
    return kdf_hkdf(master, 32, c->repo_id, REPO_ID_BYTES, (const uint8_t *)info, sizeof info - 1,
                    kek, 32);
}

static int data_key_wrap(const uint8_t master[32], struct config *c, const uint8_t data[32])
{
    uint8_t kek[32], aad[64];
    size_t aad_len;
    int rv = wrap_key(master, c, kek);
    if (rv == 0) {
        rv = random_bytes(c->wrapped, AES256GCM_NONCE_BYTES);
    }
    if (rv == 0) {
        wrap_aad(c, aad, &aad_len);
        rv = aes256gcm_run(1, kek, c->wrapped, aad, aad_len, data, BACKUP_KEY_BYTES,
                           c->wrapped + AES256GCM_NONCE_BYTES,
                           c->wrapped + AES256GCM_NONCE_BYTES + BACKUP_KEY_BYTES);
    }
    key_fingerprint(master, c->fingerprint);
    OPENSSL_cleanse(kek, sizeof kek);
    return rv;
}

static int data_key_unwrap(const uint8_t master[32], const struct config *c, uint8_t data[32])
{
    uint8_t kek[32], aad[64], tag[AES256GCM_TAG_BYTES];
    size_t aad_len;
    int rv = wrap_key(master, c, kek);
    if (rv == 0) {
        wrap_aad(c, aad, &aad_len);
        memcpy(tag, c->wrapped + AES256GCM_NONCE_BYTES + BACKUP_KEY_BYTES, sizeof tag);
        rv = aes256gcm_run(0, kek, c->wrapped, aad, aad_len, c->wrapped + AES256GCM_NONCE_BYTES,
                           BACKUP_KEY_BYTES, data, tag);
    }
    OPENSSL_cleanse(kek, sizeof kek);
    return rv;
}

static void config_encode(const struct config *c, char *out, size_t cap)
{
    char id[2 * REPO_ID_BYTES + 1], fp[17], wr[2 * WRAPPED_BYTES + 1];
    hex_encode(c->repo_id, REPO_ID_BYTES, id);
    hex_encode(c->fingerprint, 8, fp);
    hex_encode(c->wrapped, WRAPPED_BYTES, wr);
    snprintf(out, cap,
             CONFIG_FIRST_LINE "\nformat %u\nrepo_id %s\nchunk_bytes %u\nkey_fingerprint %s\n"
                               "wrapped_data_key %s\n",
             c->format, id, c->chunk_bytes, fp, wr);
}

static int config_decode(const char *text, struct config *c)
{
    char id[64], fp[64], wr[256];
    unsigned format, chunk;
    if (sscanf(text,
               CONFIG_FIRST_LINE " format %u repo_id %63s chunk_bytes %u key_fingerprint %63s "
                                 "wrapped_data_key %255s",
               &format, id, &chunk, fp, wr) != 5) {
        return WAIHU_ECORRUPT;
    }
    c->format = format;
    c->chunk_bytes = chunk;
    if (hex_decode(id, c->repo_id, REPO_ID_BYTES) != 0 || hex_decode(fp, c->fingerprint, 8) != 0 ||
        hex_decode(wr, c->wrapped, WRAPPED_BYTES) != 0) {
        return WAIHU_ECORRUPT;
    }
    return 0;
}

static int config_write(struct target *t, const struct config *c, struct backup_error *err)
{
    char text[CONFIG_MAX];
    config_encode(c, text, sizeof text);
    int rv = target_put_all(t, CONFIG_NAME, text, strlen(text));
    return rv == 0 ? 0 : backup_fail_target(err, rv, t, "write config");
}

int backup_repo_init(const char *dir, const char *key_file, char *repo_id_hex,
                     struct backup_error *err)
{
    uint8_t master[32], data[32];
    struct config c = {.format = REPO_FORMAT, .chunk_bytes = REPO_CHUNK_BYTES};
    struct target *t = NULL;
    char errmsg[256];
    uint64_t size;
    int rv = key_file_load(key_file, master, err);
    if (rv != 0) {
        return rv;
    }
    if ((rv = target_dir_open(dir, 1, &t, errmsg)) != 0) {
        rv = backup_fail(err, rv, BACKUP_FAULT_IO, "%s", errmsg);
        goto out;
    }
    if (t->ops->stat(t, CONFIG_NAME, &size) == 0) {
        rv = backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE,
                         "%s is a repository already (it has a config)", dir);
        goto out;
    }
    if (random_bytes(c.repo_id, sizeof c.repo_id) != 0 || random_bytes(data, sizeof data) != 0 ||
        data_key_wrap(master, &c, data) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "init: key generation failed");
        goto out;
    }
    if ((rv = config_write(t, &c, err)) != 0) {
        goto out;
    }
    hex_encode(c.repo_id, REPO_ID_BYTES, repo_id_hex);
out:
    OPENSSL_cleanse(master, sizeof master);
    OPENSSL_cleanse(data, sizeof data);
    if (t != NULL) {
        t->ops->close(t);
    }
    return rv;
}

int backup_repo_open(const char *dir, const char *key_file, struct backup_repo **out,
                     struct backup_error *err)
{
    uint8_t master[32], data[32], fp[8];
    struct config c;
    struct target *t = NULL;
    struct backup_repo *r = NULL;
    char errmsg[256];
    uint8_t *text = NULL;
    size_t len;
    int rv = key_file_load(key_file, master, err);
    if (rv != 0) {
        return rv;
    }
    if ((rv = target_dir_open(dir, 0, &t, errmsg)) != 0) {
        rv = backup_fail(err, rv, rv == WAIHU_ENOTFOUND ? BACKUP_FAULT_NOTFOUND : BACKUP_FAULT_IO,
                         "repository %s", errmsg);
        goto out;
    }
    if ((rv = target_get_all(t, CONFIG_NAME, CONFIG_MAX - 1, &text, &len)) != 0) {
        if (rv == WAIHU_ENOTFOUND) {
            rv = backup_fail(err, rv, BACKUP_FAULT_NOTFOUND,
                             "%s is not a backup repository (no config; run init)", dir);
        } else {
            rv = backup_fail_target(err, rv, t, "read config");
        }
        goto out;
    }
    text[len] = '\0';
    if (config_decode((char *)text, &c) != 0) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "%s/config is damaged (unreadable)", dir);
        goto out;
    }
    if (c.format != REPO_FORMAT || c.chunk_bytes < REPO_CHUNK_MIN ||
        c.chunk_bytes > REPO_CHUNK_MAX) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "%s/config: format %u or chunk size %u not supported", dir, c.format,
                         c.chunk_bytes);
        goto out;
    }
    key_fingerprint(master, fp);
    if (memcmp(fp, c.fingerprint, sizeof fp) != 0) {
        char want[17], have[17];
        hex_encode(c.fingerprint, 8, want);
        hex_encode(fp, 8, have);
        rv = backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_KEY,
                         "wrong key: %s holds key %s, the repository wants key %s", key_file, have,
                         want);
        goto out;
    }
    if (data_key_unwrap(master, &c, data) != 0) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "%s/config: the wrapped data key fails authentication (config "
                         "tampered with or damaged)",
                         dir);
        goto out;
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        rv = backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
        goto out;
    }
    r->target = t;
    memcpy(r->repo_id, c.repo_id, REPO_ID_BYTES);
    hex_encode(c.repo_id, REPO_ID_BYTES, r->repo_id_hex);
    r->chunk_bytes = c.chunk_bytes;
    if (repo_keys_derive(data, c.repo_id, &r->keys) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "key derivation failed");
        free(r);
        goto out;
    }
    t = NULL;
    *out = r;
out:
    OPENSSL_cleanse(master, sizeof master);
    OPENSSL_cleanse(data, sizeof data);
    free(text);
    if (t != NULL) {
        t->ops->close(t);
    }
    return rv;
}

void backup_repo_close(struct backup_repo *r)
{
    if (r != NULL) {
        r->target->ops->close(r->target);
        OPENSSL_cleanse(&r->keys, sizeof r->keys);
        free(r);
    }
}

const char *backup_repo_id(const struct backup_repo *r)
{
    return r->repo_id_hex;
}

int backup_repo_rotate_key(struct backup_repo *r, const char *new_key_file,
                           struct backup_error *err)
{
    uint8_t master[32];
    struct config c = {.format = REPO_FORMAT, .chunk_bytes = r->chunk_bytes};
    struct backup_error ignored;
    memcpy(c.repo_id, r->repo_id, REPO_ID_BYTES);
    /* A missing file gets a fresh key; an existing one is used as it is. */
    int rv = backup_key_file_create(new_key_file, &ignored);
    if (rv != 0 && ignored.fault != BACKUP_FAULT_USAGE) {
        return backup_fail(err, rv, ignored.fault, "%s", ignored.msg);
    }
    if ((rv = key_file_load(new_key_file, master, err)) != 0) {
        return rv;
    }
    if (data_key_wrap(master, &c, r->keys.data) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "rewrap failed");
    } else {
        rv = config_write(r->target, &c, err);
    }
    OPENSSL_cleanse(master, sizeof master);
    return rv;
}
