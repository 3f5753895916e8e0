/* RTP header parsing and writing (RFC 3550 section 5.1). */
#include <string.h>

#include "media.h"

int media_rtp_parse(const uint8_t *buf, size_t len, struct media_rtp *out)
{
    if (buf == NULL || len < MEDIA_RTP_HEADER_BYTES || (buf[0] >> 6) != 2)
        return WAIHU_EINVAL;
    size_t off = MEDIA_RTP_HEADER_BYTES + 4u * (buf[0] & 0x0f);
    if (off > len)
        return WAIHU_EINVAL;
    if (buf[0] & 0x10) { /* header extension: 16-bit profile, 16-bit length in words */
        if (off + 4 > len)
            return WAIHU_EINVAL;
        size_t words = (size_t)buf[off + 2] << 8 | buf[off + 3];
        off += 4 + 4 * words;
        if (off > len)
            return WAIHU_EINVAL;
    }
    size_t end = len;
    if (buf[0] & 0x20) { /* padding: the last byte counts the padding, itself included */
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > end - off)
            return WAIHU_EINVAL;
        end -= pad;
    }
    out->payload_type = buf[1] & 0x7f;
    out->marker = buf[1] >> 7;
    out->seq = (uint16_t)(buf[2] << 8 | buf[3]);
    out->timestamp = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
    out->ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
    out->payload = buf + off;
    out->payload_len = end - off;
    return 0;
}

int media_rtp_write(const struct media_rtp *h, uint8_t *out, size_t out_size, size_t *out_len)
{
    if (h->payload_type > 127 || h->marker > 1 || (h->payload_len > 0 && h->payload == NULL))
        return WAIHU_EINVAL;
    if (h->payload_len > out_size || out_size - h->payload_len < MEDIA_RTP_HEADER_BYTES)
        return WAIHU_ETOOBIG;
    out[0] = 0x80;
    out[1] = (uint8_t)(h->marker << 7 | h->payload_type);
    out[2] = (uint8_t)(h->seq >> 8);
    out[3] = (uint8_t)h->seq;
    for (int i = 0; i < 4; i++) {
        out[4 + i] = (uint8_t)(h->timestamp >> (24 - 8 * i));
        out[8 + i] = (uint8_t)(h->ssrc >> (24 - 8 * i));
    }
    if (h->payload_len > 0)
        memmove(out + MEDIA_RTP_HEADER_BYTES, h->payload, h->payload_len);
    *out_len = MEDIA_RTP_HEADER_BYTES + h->payload_len;
    return 0;
}
