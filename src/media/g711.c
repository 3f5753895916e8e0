/* G.711 mu-law and A-law (ITU-T G.711), segment-search form as in the reference code. */
#include "media.h"

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

static int top_bit(unsigned v)
{
    int n = -1;
    while (v) {
        v >>= 1;
        n++;
    }
    return n;
}

uint8_t media_ulaw_encode(int16_t linear)
{
    int sample = linear;
    uint8_t mask;
    if (sample < 0) {
        sample = -sample; /* -32768 becomes 32768, clipped below */
        mask = 0x7f;
    } else {
        mask = 0xff;
    }
    if (sample > ULAW_CLIP)
        sample = ULAW_CLIP;
    sample += ULAW_BIAS;
    int seg = top_bit((unsigned)sample | 0xff) - 7;
    return (uint8_t)(((seg << 4) | ((sample >> (seg + 3)) & 0x0f)) ^ mask);
}

int16_t media_ulaw_decode(uint8_t ulaw)
{
    ulaw = (uint8_t)~ulaw;
    int t = (((ulaw & 0x0f) << 3) + ULAW_BIAS) << ((ulaw & 0x70) >> 4);
    return (int16_t)((ulaw & 0x80) ? (ULAW_BIAS - t) : (t - ULAW_BIAS));
}

uint8_t media_alaw_encode(int16_t linear)
{
    int sample = linear;
    uint8_t mask;
    if (sample >= 0) {
        mask = 0x55 | 0x80;
    } else {
        mask = 0x55;
        sample = -sample - 1; /* one's complement keeps -32768 in range */
    }
    int seg = top_bit((unsigned)sample | 0xff) - 7;
    if (seg >= 8)
        return (uint8_t)(0x7f ^ mask);
    int shift = seg ? seg + 3 : 4;
    return (uint8_t)(((seg << 4) | ((sample >> shift) & 0x0f)) ^ mask);
}

int16_t media_alaw_decode(uint8_t alaw)
{
    alaw ^= 0x55;
    int i = (alaw & 0x0f) << 4;
    int seg = (alaw & 0x70) >> 4;
    if (seg)
        i = (i + 0x108) << (seg - 1);
    else
        i += 8;
    return (int16_t)((alaw & 0x80) ? i : -i);
}

uint8_t media_ulaw_to_alaw(uint8_t ulaw)
{
    return media_alaw_encode(media_ulaw_decode(ulaw));
}

uint8_t media_alaw_to_ulaw(uint8_t alaw)
{
    return media_ulaw_encode(media_alaw_decode(alaw));
}

void media_g711_decode(enum media_codec codec, const uint8_t *in, size_t n, int16_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = codec == MEDIA_PCMA ? media_alaw_decode(in[i]) : media_ulaw_decode(in[i]);
}

void media_g711_encode(enum media_codec codec, const int16_t *in, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = codec == MEDIA_PCMA ? media_alaw_encode(in[i]) : media_ulaw_encode(in[i]);
}

void media_g711_transcode(enum media_codec from, enum media_codec to, const uint8_t *in,
                          size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (from == to)
            out[i] = in[i];
        else if (from == MEDIA_PCMU)
            out[i] = media_ulaw_to_alaw(in[i]);
        else
            out[i] = media_alaw_to_ulaw(in[i]);
    }
}
