/* Key material: master key files, HKDF and HMAC (OpenSSL 3 EVP_KDF / EVP_MAC), and the
 * keys a repository derives from its data key. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_internal.h"

int kdf_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
             const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    int rv = WAIHU_EIO;
    if (ctx != NULL) {
        OSSL_PARAM params[5], *p = params;
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
        if (salt_len > 0) {
            *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
        }
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
        *p = OSSL_PARAM_construct_end();
        if (EVP_KDF_derive(ctx, out, out_len, params) == 1) {
            rv = 0;
        }
    }
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rv;
}

struct kdf_mac {
    EVP_MAC_CTX *ctx;
    uint8_t key[32];
};

static int mac_init(struct kdf_mac *m)
{
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_init(m->ctx, m->key, sizeof m->key, params) == 1 ? 0 : WAIHU_EIO;
}

int kdf_mac_new(const uint8_t key[32], struct kdf_mac **out)
{
    struct kdf_mac *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return WAIHU_ENOMEM;
    }
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    m->ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context holds its own reference */
    memcpy(m->key, key, sizeof m->key);
    if (m->ctx == NULL || mac_init(m) != 0) {
        kdf_mac_free(m);
        return WAIHU_EIO;
    }
    *out = m;
    return 0;
}

int kdf_mac_update(struct kdf_mac *m, const void *buf, size_t len)
{
    return EVP_MAC_update(m->ctx, buf, len) == 1 ? 0 : WAIHU_EIO;
}

int kdf_mac_final(struct kdf_mac *m, uint8_t out[32])
{
    size_t n = 0;
    if (EVP_MAC_final(m->ctx, out, &n, 32) != 1 || n != 32) {
        return WAIHU_EIO;
    }
    return mac_init(m);
}

void kdf_mac_free(struct kdf_mac *m)
{
    if (m != NULL) {
        EVP_MAC_CTX_free(m->ctx);
        OPENSSL_cleanse(m->key, sizeof m->key);
        free(m);
    }
}

int kdf_hmac(const uint8_t key[32], const void *buf, size_t len, uint8_t out[32])
{
    struct kdf_mac *m;
    int rv = kdf_mac_new(key, &m);
    if (rv == 0) {
        rv = kdf_mac_update(m, buf, len);
        if (rv == 0) {
            rv = kdf_mac_final(m, out);
        }
        kdf_mac_free(m);
    }
    return rv;
}

#define KEY_FILE_MAX 256

int key_file_load(const char *path, uint8_t key[BACKUP_KEY_BYTES], struct backup_error *err)
{
    char text[KEY_FILE_MAX + 1];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return backup_fail(err, errno == ENOENT ? WAIHU_ENOTFOUND : WAIHU_EIO, BACKUP_FAULT_KEY,
                           "key file %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_KEY, "key file %s: not a file", path);
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_KEY,
                           "key file %s is readable by others (mode %03o): chmod 600 %s", path,
                           (unsigned)(st.st_mode & 0777), path);
    }
    ssize_t n = read(fd, text, KEY_FILE_MAX);
    close(fd);
    if (n < 0) {
        return backup_fail(err, WAIHU_EIO, BACKUP_FAULT_KEY, "key file %s: %s", path,
                           strerror(errno));
    }
    if (n == BACKUP_KEY_BYTES) {
        memcpy(key, text, BACKUP_KEY_BYTES);
        OPENSSL_cleanse(text, sizeof text);
        return 0;
    }
    text[n] = '\0';
    char *s = text;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') {
        s++;
    }
    size_t len = strcspn(s, " \n\r\t");
    s[len] = '\0';
    int rv = hex_decode(s, key, BACKUP_KEY_BYTES);
    OPENSSL_cleanse(text, sizeof text);
    if (rv != 0) {
        return backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_KEY,
                           "key file %s: expected 64 hex digits (or 32 raw bytes)", path);
    }
    return 0;
}

int backup_key_file_create(const char *path, struct backup_error *err)
{
    uint8_t key[BACKUP_KEY_BYTES];
    char text[2 * BACKUP_KEY_BYTES + 2];
    if (random_bytes(key, sizeof key) != 0) {
        return backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "no random bytes for a key");
    }
    hex_encode(key, sizeof key, text);
    OPENSSL_cleanse(key, sizeof key);
    strcat(text, "\n");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        OPENSSL_cleanse(text, sizeof text);
        return backup_fail(err, e == EEXIST ? WAIHU_EINVAL : WAIHU_EIO,
                           e == EEXIST ? BACKUP_FAULT_USAGE : BACKUP_FAULT_IO, "key file %s: %s",
                           path, e == EEXIST ? "exists already (not overwritten)" : strerror(e));
    }
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    OPENSSL_cleanse(text, sizeof text);
    if (close(fd) != 0 || !ok) {
        unlink(path);
        return backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "key file %s: write failed", path);
    }
    return 0;
}

void key_fingerprint(const uint8_t key[BACKUP_KEY_BYTES], uint8_t out[8])
{
    static const char label[] = "waihu-backup key fingerprint v1";
    uint8_t mac[32];
    if (kdf_hmac(key, label, sizeof label - 1, mac) != 0) {
        memset(mac, 0, sizeof mac);
    }
    memcpy(out, mac, 8);
}

int repo_keys_derive(const uint8_t data_key[BACKUP_KEY_BYTES], const uint8_t repo_id[16],
                     struct repo_keys *out)
{
    static const char id_info[] = "waihu-backup object-id v1";
    static const char mf_info[] = "waihu-backup manifest v1";
    memcpy(out->data, data_key, BACKUP_KEY_BYTES);
    if (kdf_hkdf(data_key, BACKUP_KEY_BYTES, repo_id, 16, (const uint8_t *)id_info,
                 sizeof id_info - 1, out->object_id, 32) != 0 ||
        kdf_hkdf(data_key, BACKUP_KEY_BYTES, repo_id, 16, (const uint8_t *)mf_info,
                 sizeof mf_info - 1, out->manifest, 32) != 0) {
        OPENSSL_cleanse(out, sizeof *out);
        return WAIHU_EIO;
    }
    return 0;
}
