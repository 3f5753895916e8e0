/* Encrypted recording layout shared by the writer and the reader (docs/media.md).
 *
 * file   = header chunk*
 * header = "WAIHUREC" | version u8 (1) | channels u8 (2) | bits u8 (16) | 0 u8 |
 *          rate u32 | chunk_frames u32 | salt[8] | 0 u32                   (32 bytes)
 * chunk  = index u32 | flags_len u32 (bit 31: final, bits 0-30: plaintext bytes) |
 *          ciphertext | tag[16]
 * nonce  = salt | index (big-endian); AAD = header | chunk header.
 * Plaintext is interleaved little-endian 16-bit PCM, left = leg A, right = leg B.
 * Integers are big-endian. */
#ifndef WAIHU_MEDIA_REC_FORMAT_H
#define WAIHU_MEDIA_REC_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "media.h"

#define REC_MAGIC "WAIHUREC"
#define REC_VERSION 1
#define REC_HEADER_BYTES 32
#define REC_CHUNK_HEADER_BYTES 8
#define REC_SALT_BYTES 8
#define REC_NONCE_BYTES 12
#define REC_TAG_BYTES 16
#define REC_FINAL_FLAG 0x80000000u
#define REC_FRAME_BYTES 4
#define REC_CHUNK_MAX_BYTES (MEDIA_REC_CHUNK_FRAMES * REC_FRAME_BYTES)

static inline void rec_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t rec_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Chunks are sealed with aes256gcm_run (src/common): the sizes must agree. */
_Static_assert(REC_NONCE_BYTES == AES256GCM_NONCE_BYTES, "recording nonce size");
_Static_assert(REC_TAG_BYTES == AES256GCM_TAG_BYTES, "recording tag size");

#endif
