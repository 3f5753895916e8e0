/* Recording reader: checks and opens each chunk in order, writes a standard WAV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rec_format.h"

#define WAV_HEADER_BYTES 44

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wav_header(uint8_t h[WAV_HEADER_BYTES], uint32_t data_bytes)
{
    memcpy(h, "RIFF", 4);
    put_le32(h + 4, 36 + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);
    put_le16(h + 20, 1); /* PCM */
    put_le16(h + 22, 2);
    put_le32(h + 24, MEDIA_REC_RATE);
    put_le32(h + 28, MEDIA_REC_RATE * REC_FRAME_BYTES);
    put_le16(h + 32, REC_FRAME_BYTES);
    put_le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, data_bytes);
}

struct reader {
    FILE *in, *out;
    uint8_t header[REC_HEADER_BYTES];
    uint8_t chunk[REC_CHUNK_HEADER_BYTES + REC_CHUNK_MAX_BYTES + REC_TAG_BYTES];
    uint8_t plain[REC_CHUNK_MAX_BYTES];
};

static int check_header(const uint8_t *h, char *errmsg, size_t size, const char *path)
{
    if (memcmp(h, REC_MAGIC, 8) != 0) {
        snprintf(errmsg, size, "%s: not a waihu recording (bad magic)", path);
        return WAIHU_ECORRUPT;
    }
    if (h[8] != REC_VERSION || h[9] != 2 || h[10] != 16 || rec_get32(h + 12) != MEDIA_REC_RATE ||
        rec_get32(h + 16) != MEDIA_REC_CHUNK_FRAMES) {
        snprintf(errmsg, size, "%s: unsupported version %u or format", path, h[8]);
        return WAIHU_ECORRUPT;
    }
    return 0;
}

/* Reads and opens chunk r->index; returns 1 when a chunk was written, 0 at a
 * clean or truncated end (info says which), < 0 on error. */
static int next_chunk(struct reader *r, const uint8_t *key, uint32_t index,
                      struct media_rec_info *info, char *errmsg, size_t size, const char *path)
{
    uint8_t *ch = r->chunk;
    size_t got = fread(ch, 1, REC_CHUNK_HEADER_BYTES, r->in);
    if (got == 0 && feof(r->in))
        return 0; /* no final chunk: truncated between chunks */
    if (got < REC_CHUNK_HEADER_BYTES)
        return ferror(r->in) ? WAIHU_EIO : 0;
    uint32_t flags_len = rec_get32(ch + 4);
    size_t len = flags_len & ~REC_FINAL_FLAG;
    if (rec_get32(ch) != index || len > REC_CHUNK_MAX_BYTES || len % REC_FRAME_BYTES != 0) {
        snprintf(errmsg, size, "%s: chunk %u: bad index or length", path, index);
        return WAIHU_ECORRUPT;
    }
    uint8_t *ct = ch + REC_CHUNK_HEADER_BYTES;
    if (fread(ct, 1, len + REC_TAG_BYTES, r->in) < len + REC_TAG_BYTES)
        return ferror(r->in) ? WAIHU_EIO : 0; /* crash mid-chunk */
    uint8_t nonce[REC_NONCE_BYTES], aad[REC_HEADER_BYTES + REC_CHUNK_HEADER_BYTES];
    memcpy(nonce, r->header + 20, REC_SALT_BYTES);
    rec_put32(nonce + REC_SALT_BYTES, index);
    memcpy(aad, r->header, REC_HEADER_BYTES);
    memcpy(aad + REC_HEADER_BYTES, ch, REC_CHUNK_HEADER_BYTES);
    int rv = aes256gcm_run(0, key, nonce, aad, sizeof(aad), ct, len, r->plain, ct + len);
    if (rv != 0) {
        snprintf(errmsg, size, "%s: chunk %u: %s", path, index,
                 rv == WAIHU_ECORRUPT ? "authentication failed (wrong key or altered)"
                                      : waihu_strerror(rv));
        return rv;
    }
    if (len > 0 && fwrite(r->plain, 1, len, r->out) != len) {
        snprintf(errmsg, size, "write: %s", strerror(errno));
        return WAIHU_EIO;
    }
    info->chunks++;
    info->frames += len / REC_FRAME_BYTES;
    if (flags_len & REC_FINAL_FLAG) {
        info->complete = 1;
        return 0;
    }
    return 1;
}

int media_rec_decrypt(const char *in_path, const uint8_t key[MEDIA_REC_KEY_BYTES],
                      const char *out_path, struct media_rec_info *info, char *errmsg,
                      size_t errmsg_size)
{
    char dummy[1];
    uint8_t wav[WAV_HEADER_BYTES];
    int rv = WAIHU_EIO;
    if (errmsg == NULL) {
        errmsg = dummy;
        errmsg_size = sizeof(dummy);
    }
    memset(info, 0, sizeof(*info));
    struct reader *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return WAIHU_ENOMEM;
    r->in = fopen(in_path, "rb");
    if (r->in == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s", in_path, strerror(errno));
        goto err;
    }
    if (fread(r->header, 1, REC_HEADER_BYTES, r->in) != REC_HEADER_BYTES) {
        snprintf(errmsg, errmsg_size, "%s: short header", in_path);
        rv = WAIHU_ECORRUPT;
        goto err;
    }
    rv = check_header(r->header, errmsg, errmsg_size, in_path);
    if (rv != 0)
        goto err;
    r->out = fopen(out_path, "wb");
    if (r->out == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s", out_path, strerror(errno));
        rv = WAIHU_EIO;
        goto err;
    }
    wav_header(wav, 0);
    if (fwrite(wav, 1, sizeof(wav), r->out) != sizeof(wav)) {
        rv = WAIHU_EIO;
        goto err;
    }
    int step;
    while ((step = next_chunk(r, key, info->chunks, info, errmsg, errmsg_size, in_path)) == 1)
        ;
    info->truncated = !info->complete;
    /* Even after a bad chunk, the WAV describes what was written before it. */
    wav_header(wav, (uint32_t)(info->frames * REC_FRAME_BYTES));
    if (fseek(r->out, 0, SEEK_SET) != 0 || fwrite(wav, 1, sizeof(wav), r->out) != sizeof(wav)) {
        snprintf(errmsg, errmsg_size, "%s: write header: %s", out_path, strerror(errno));
        rv = WAIHU_EIO;
        goto err;
    }
    rv = step < 0 ? step : 0;
err:
    if (r->out != NULL && fclose(r->out) != 0 && rv == 0)
        rv = WAIHU_EIO;
    if (r->in != NULL)
        fclose(r->in);
    OPENSSL_cleanse(r->plain, sizeof(r->plain));
    free(r);
    return rv;
}

int media_rec_decrypt_buf(const uint8_t *in, size_t len, const uint8_t key[MEDIA_REC_KEY_BYTES],
                          uint8_t **wav, size_t *wav_len, struct media_rec_info *info,
                          char *errmsg, size_t errmsg_size)
{
    char dummy[1];
    if (errmsg == NULL) {
        errmsg = dummy;
        errmsg_size = sizeof(dummy);
    }
    memset(info, 0, sizeof(*info));
    *wav = NULL;
    *wav_len = 0;
    if (len < REC_HEADER_BYTES) {
        snprintf(errmsg, errmsg_size, "short header (%zu bytes)", len);
        return WAIHU_ECORRUPT;
    }
    int rv = check_header(in, errmsg, errmsg_size, "recording");
    if (rv != 0)
        return rv;
    /* Plaintext never exceeds the ciphertext: one allocation for the whole WAV. */
    uint8_t *out = malloc(WAV_HEADER_BYTES + len);
    if (out == NULL)
        return WAIHU_ENOMEM;
    size_t pos = REC_HEADER_BYTES, w = WAV_HEADER_BYTES;
    while (!info->complete) {
        if (len - pos < REC_CHUNK_HEADER_BYTES) {
            if (len - pos > 0)
                snprintf(errmsg, errmsg_size, "chunk %u: cut short", info->chunks);
            break; /* truncated (between chunks or inside a chunk header) */
        }
        const uint8_t *ch = in + pos;
        uint32_t flags_len = rec_get32(ch + 4);
        size_t n = flags_len & ~REC_FINAL_FLAG;
        if (rec_get32(ch) != info->chunks || n > REC_CHUNK_MAX_BYTES ||
            n % REC_FRAME_BYTES != 0) {
            snprintf(errmsg, errmsg_size, "chunk %u: bad index or length", info->chunks);
            rv = WAIHU_ECORRUPT;
            goto err;
        }
        if (len - pos - REC_CHUNK_HEADER_BYTES < n + REC_TAG_BYTES) {
            snprintf(errmsg, errmsg_size, "chunk %u: cut short", info->chunks);
            break;
        }
        uint8_t nonce[REC_NONCE_BYTES], aad[REC_HEADER_BYTES + REC_CHUNK_HEADER_BYTES];
        memcpy(nonce, in + 20, REC_SALT_BYTES);
        rec_put32(nonce + REC_SALT_BYTES, info->chunks);
        memcpy(aad, in, REC_HEADER_BYTES);
        memcpy(aad + REC_HEADER_BYTES, ch, REC_CHUNK_HEADER_BYTES);
        const uint8_t *ct = ch + REC_CHUNK_HEADER_BYTES;
        /* The tag is const for decryption; aes256gcm_run takes it writable. */
        uint8_t tag[REC_TAG_BYTES];
        memcpy(tag, ct + n, REC_TAG_BYTES);
        rv = aes256gcm_run(0, key, nonce, aad, sizeof(aad), ct, n, out + w, tag);
        if (rv != 0) {
            snprintf(errmsg, errmsg_size, "chunk %u: %s", info->chunks,
                     rv == WAIHU_ECORRUPT ? "authentication failed (wrong key or altered)"
                                          : waihu_strerror(rv));
            goto err;
        }
        w += n;
        pos += REC_CHUNK_HEADER_BYTES + n + REC_TAG_BYTES;
        info->chunks++;
        info->frames += n / REC_FRAME_BYTES;
        info->complete = (flags_len & REC_FINAL_FLAG) != 0;
    }
    if (info->complete && pos != len) {
        snprintf(errmsg, errmsg_size, "%zu bytes after the final chunk", len - pos);
        rv = WAIHU_ECORRUPT;
        goto err;
    }
    info->truncated = !info->complete;
    wav_header(out, (uint32_t)(w - WAV_HEADER_BYTES));
    *wav = out;
    *wav_len = w;
    return 0;
err:
    OPENSSL_cleanse(out, w);
    free(out);
    return rv;
}
