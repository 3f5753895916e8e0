/* Recording writer: buffers one second of stereo PCM, seals it as a chunk, writes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "rec_format.h"

struct media_rec_writer {
    int fd;
    uint8_t key[MEDIA_REC_KEY_BYTES];
    uint8_t header[REC_HEADER_BYTES];
    uint32_t index;
    size_t fill_bytes;                     /* plaintext bytes buffered */
    EVP_MD_CTX *sum;                       /* SHA-256 of every byte written (catalogue) */
    uint64_t bytes;                        /* bytes written */
    uint8_t plain[REC_CHUNK_MAX_BYTES];
    uint8_t sealed[REC_CHUNK_HEADER_BYTES + REC_CHUNK_MAX_BYTES + REC_TAG_BYTES];
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
    if (len == 0)
        return 0;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return WAIHU_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int media_rec_writer_open(const char *path, const uint8_t key[MEDIA_REC_KEY_BYTES],
                          struct media_rec_writer **out, char *errmsg, size_t errmsg_size)
{
    char dummy[1];
    if (errmsg == NULL) {
        errmsg = dummy;
        errmsg_size = sizeof(dummy);
    }
    struct media_rec_writer *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        snprintf(errmsg, errmsg_size, "%s: out of memory", path);
        return WAIHU_ENOMEM;
    }
    w->sum = EVP_MD_CTX_new();
    if (w->sum == NULL || EVP_DigestInit_ex(w->sum, EVP_sha256(), NULL) != 1) {
        snprintf(errmsg, errmsg_size, "%s: out of memory", path);
        EVP_MD_CTX_free(w->sum);
        free(w);
        return WAIHU_ENOMEM;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        snprintf(errmsg, errmsg_size, "%s: open: %s", path, strerror(errno));
        EVP_MD_CTX_free(w->sum);
        free(w);
        return WAIHU_EIO;
    }
    memcpy(w->key, key, MEDIA_REC_KEY_BYTES);
    uint8_t *h = w->header;
    memcpy(h, REC_MAGIC, 8);
    h[8] = REC_VERSION;
    h[9] = 2;
    h[10] = 16;
    rec_put32(h + 12, MEDIA_REC_RATE);
    rec_put32(h + 16, MEDIA_REC_CHUNK_FRAMES);
    /* A random salt keeps nonces unique even if a caller reuses a key. */
    if (RAND_bytes(h + 20, REC_SALT_BYTES) != 1 || write_all(w->fd, h, REC_HEADER_BYTES) != 0) {
        snprintf(errmsg, errmsg_size, "%s: write header: %s", path, strerror(errno));
        close(w->fd);
        unlink(path);
        EVP_MD_CTX_free(w->sum);
        OPENSSL_cleanse(w, sizeof(*w));
        free(w);
        return WAIHU_EIO;
    }
    EVP_DigestUpdate(w->sum, h, REC_HEADER_BYTES);
    w->bytes = REC_HEADER_BYTES;
    *out = w;
    return 0;
}

static int seal(struct media_rec_writer *w, int final)
{
    uint8_t nonce[REC_NONCE_BYTES], aad[REC_HEADER_BYTES + REC_CHUNK_HEADER_BYTES];
    uint8_t *ch = w->sealed;
    rec_put32(ch, w->index);
    rec_put32(ch + 4, (uint32_t)w->fill_bytes | (final ? REC_FINAL_FLAG : 0));
    memcpy(nonce, w->header + 20, REC_SALT_BYTES);
    rec_put32(nonce + REC_SALT_BYTES, w->index);
    memcpy(aad, w->header, REC_HEADER_BYTES);
    memcpy(aad + REC_HEADER_BYTES, ch, REC_CHUNK_HEADER_BYTES);
    uint8_t *ct = ch + REC_CHUNK_HEADER_BYTES;
    int rv = aes256gcm_run(1, w->key, nonce, aad, sizeof(aad), w->plain, w->fill_bytes, ct,
                     ct + w->fill_bytes);
    if (rv != 0)
        return rv;
    size_t n = REC_CHUNK_HEADER_BYTES + w->fill_bytes + REC_TAG_BYTES;
    rv = write_all(w->fd, ch, n);
    if (rv != 0)
        return rv;
    EVP_DigestUpdate(w->sum, ch, n);
    w->bytes += n;
    w->index++;
    w->fill_bytes = 0;
    return 0;
}

int media_rec_writer_append(struct media_rec_writer *w, const int16_t *frames, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        uint16_t v = (uint16_t)frames[i];
        w->plain[w->fill_bytes++] = (uint8_t)v; /* WAV byte order: little-endian */
        w->plain[w->fill_bytes++] = (uint8_t)(v >> 8);
        if (w->fill_bytes == REC_CHUNK_MAX_BYTES) {
            int rv = seal(w, 0);
            if (rv != 0)
                return rv;
        }
    }
    return 0;
}

int media_rec_writer_finish(struct media_rec_writer *w, uint8_t sha256[32], uint64_t *bytes)
{
    if (w == NULL)
        return 0;
    int rv = seal(w, 1);
    if (close(w->fd) != 0 && rv == 0)
        rv = WAIHU_EIO;
    unsigned int n = 0;
    if (sha256 != NULL && EVP_DigestFinal_ex(w->sum, sha256, &n) != 1 && rv == 0)
        rv = WAIHU_ENOMEM;
    if (bytes != NULL)
        *bytes = w->bytes;
    EVP_MD_CTX_free(w->sum);
    OPENSSL_cleanse(w, sizeof(*w));
    free(w);
    return rv;
}

int media_rec_writer_close(struct media_rec_writer *w)
{
    return media_rec_writer_finish(w, NULL, NULL);
}
