/* Property tests of the pure codecs: RTP headers, G.711, RFC 4733 events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <spandsp.h>

#include "media.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull; /* fixed seed: failures reproduce */

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void test_rtp_round_trip(void **state)
{
    (void)state;
    uint8_t payload[400], buf[600];
    for (int iter = 0; iter < 5000; iter++) {
        struct media_rtp in = {.payload_type = (uint8_t)(rnd() % 128),
                               .marker = (uint8_t)(rnd() & 1),
                               .seq = (uint16_t)rnd(),
                               .timestamp = rnd() ^ (rnd() << 16),
                               .ssrc = rnd() ^ (rnd() << 16),
                               .payload = payload,
                               .payload_len = rnd() % sizeof(payload)};
        for (size_t i = 0; i < in.payload_len; i++)
            payload[i] = (uint8_t)rnd();
        size_t len;
        assert_int_equal(media_rtp_write(&in, buf, sizeof(buf), &len), 0);
        assert_int_equal(len, MEDIA_RTP_HEADER_BYTES + in.payload_len);
        struct media_rtp out;
        assert_int_equal(media_rtp_parse(buf, len, &out), 0);
        assert_int_equal(out.payload_type, in.payload_type);
        assert_int_equal(out.marker, in.marker);
        assert_int_equal(out.seq, in.seq);
        assert_int_equal(out.timestamp, in.timestamp);
        assert_int_equal(out.ssrc, in.ssrc);
        assert_int_equal(out.payload_len, in.payload_len);
        assert_memory_equal(out.payload, payload, in.payload_len);
        assert_ptr_equal(out.payload, buf + MEDIA_RTP_HEADER_BYTES);
    }
}

static void test_rtp_csrc_extension_padding(void **state)
{
    (void)state;
    /* V=2 P=1 X=1 CC=2, then 2 CSRCs, a 1-word extension, 3 payload bytes, 2 padding. */
    uint8_t p[] = {0xb2, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* header */
                   1, 1, 1, 1, 2, 2, 2, 2,                     /* CSRCs */
                   0xbe, 0xde, 0, 1, 9, 9, 9, 9,               /* extension */
                   0xaa, 0xbb, 0xcc, 0, 2};                    /* payload, padding */
    struct media_rtp h;
    assert_int_equal(media_rtp_parse(p, sizeof(p), &h), 0);
    assert_int_equal(h.payload_type, 8);
    assert_int_equal(h.payload_len, 3);
    assert_int_equal(h.payload[0], 0xaa);
    assert_int_equal(h.payload[2], 0xcc);
}

static void test_rtp_malformed(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct media_rtp h;
    memset(buf, 0, sizeof(buf));
    buf[0] = 0x80;
    assert_int_equal(media_rtp_parse(buf, 11, &h), WAIHU_EINVAL); /* short */
    assert_int_equal(media_rtp_parse(NULL, 0, &h), WAIHU_EINVAL);
    assert_int_equal(media_rtp_parse(buf, 12, &h), 0);            /* empty payload is fine */
    buf[0] = 0x40;
    assert_int_equal(media_rtp_parse(buf, 20, &h), WAIHU_EINVAL); /* version 1 */
    buf[0] = 0x8f;
    assert_int_equal(media_rtp_parse(buf, 20, &h), WAIHU_EINVAL); /* 15 CSRCs in 20 bytes */
    buf[0] = 0x90;
    buf[14] = 0xff;
    buf[15] = 0xff;
    assert_int_equal(media_rtp_parse(buf, 20, &h), WAIHU_EINVAL); /* extension too long */
    buf[0] = 0xa0;
    buf[19] = 0;
    assert_int_equal(media_rtp_parse(buf, 20, &h), WAIHU_EINVAL); /* zero padding count */
    buf[19] = 9;
    assert_int_equal(media_rtp_parse(buf, 20, &h), WAIHU_EINVAL); /* padding past header */
    buf[19] = 8;
    assert_int_equal(media_rtp_parse(buf, 20, &h), 0);
    assert_int_equal(h.payload_len, 0);
    /* Random bytes never crash the parser and never point outside the buffer. */
    for (int iter = 0; iter < 100000; iter++) {
        size_t len = rnd() % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        if (media_rtp_parse(buf, len, &h) == 0) {
            assert_true(h.payload >= buf);
            assert_true(h.payload + h.payload_len <= buf + len);
        }
    }
    struct media_rtp w = {.payload_type = 128};
    size_t n;
    assert_int_equal(media_rtp_write(&w, buf, sizeof(buf), &n), WAIHU_EINVAL);
    w.payload_type = 0;
    assert_int_equal(media_rtp_write(&w, buf, 11, &n), WAIHU_ETOOBIG);
}

static void test_g711_matches_reference(void **state)
{
    (void)state;
    /* Every linear value encodes as spandsp's reference; every code decodes as it. */
    for (int x = -32768; x <= 32767; x++) {
        assert_int_equal(media_ulaw_encode((int16_t)x), linear_to_ulaw(x));
        assert_int_equal(media_alaw_encode((int16_t)x), linear_to_alaw(x));
    }
    for (int c = 0; c < 256; c++) {
        assert_int_equal(media_ulaw_decode((uint8_t)c), ulaw_to_linear((uint8_t)c));
        assert_int_equal(media_alaw_decode((uint8_t)c), alaw_to_linear((uint8_t)c));
    }
}

static void test_g711_properties(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        /* decode then encode is the identity on codes (mu-law 0x7f/0xff both mean 0). */
        uint8_t u = media_ulaw_encode(media_ulaw_decode((uint8_t)c));
        assert_true(u == c || media_ulaw_decode(u) == media_ulaw_decode((uint8_t)c));
        assert_int_equal(media_alaw_encode(media_alaw_decode((uint8_t)c)), c);
        /* transcoding keeps the value within one quantisation step of the target law */
        int16_t v = media_ulaw_decode((uint8_t)c);
        int16_t t = media_alaw_decode(media_ulaw_to_alaw((uint8_t)c));
        int16_t direct = media_alaw_decode(media_alaw_encode(v));
        assert_int_equal(t, direct);
        assert_int_equal(media_ulaw_to_alaw((uint8_t)c), media_alaw_encode(v));
    }
    /* Encoding is monotonic and the error is bounded by the segment step (~3%). */
    int prev = media_ulaw_decode(media_ulaw_encode(-32768));
    for (int x = -32768; x <= 32767; x += 7) {
        int d = media_ulaw_decode(media_ulaw_encode((int16_t)x));
        assert_true(d >= prev);
        prev = d;
        int err = abs(d - x), lim = abs(x) / 16 + 8;
        if (abs(x) < 32000)
            assert_true(err <= lim);
        int da = media_alaw_decode(media_alaw_encode((int16_t)x));
        if (abs(x) < 32000)
            assert_true(abs(da - x) <= abs(x) / 16 + 16);
    }
    /* Buffer forms agree with the scalar ones, in place too. */
    uint8_t codes[256], out[256];
    int16_t pcm[256];
    for (int i = 0; i < 256; i++)
        codes[i] = (uint8_t)i;
    media_g711_decode(MEDIA_PCMA, codes, 256, pcm);
    media_g711_encode(MEDIA_PCMA, pcm, 256, out);
    assert_memory_equal(out, codes, 256);
    memcpy(out, codes, 256);
    media_g711_transcode(MEDIA_PCMU, MEDIA_PCMA, out, 256, out);
    for (int i = 0; i < 256; i++)
        assert_int_equal(out[i], media_ulaw_to_alaw((uint8_t)i));
    media_g711_transcode(MEDIA_PCMA, MEDIA_PCMA, codes, 256, out);
    assert_memory_equal(out, codes, 256);
}

static void test_dtmf_event_round_trip(void **state)
{
    (void)state;
    uint8_t buf[MEDIA_DTMF_EVENT_BYTES];
    for (int iter = 0; iter < 10000; iter++) {
        struct media_dtmf_event in = {.event = (uint8_t)rnd(),
                                      .end = (uint8_t)(rnd() & 1),
                                      .volume = (uint8_t)(rnd() % 64),
                                      .duration = (uint16_t)rnd()},
                                out;
        assert_int_equal(media_dtmf_event_write(&in, buf), 0);
        assert_int_equal(media_dtmf_event_parse(buf, sizeof(buf), &out), 0);
        assert_int_equal(out.event, in.event);
        assert_int_equal(out.end, in.end);
        assert_int_equal(out.volume, in.volume);
        assert_int_equal(out.duration, in.duration);
    }
    for (int e = 0; e < 16; e++)
        assert_int_equal(media_dtmf_digit_event(media_dtmf_event_digit((uint8_t)e)), e);
    assert_int_equal(media_dtmf_event_digit(16), 0);
    assert_int_equal(media_dtmf_digit_event('b'), 13);
    assert_int_equal(media_dtmf_digit_event('x'), -1);
    assert_int_equal(media_dtmf_event_digit(10), '*');
    assert_int_equal(media_dtmf_event_digit(11), '#');
}

static void test_dtmf_event_malformed(void **state)
{
    (void)state;
    uint8_t buf[8] = {5, 0x8a, 0x03, 0x20};
    struct media_dtmf_event ev;
    assert_int_equal(media_dtmf_event_parse(buf, 3, &ev), WAIHU_EINVAL);
    assert_int_equal(media_dtmf_event_parse(NULL, 4, &ev), WAIHU_EINVAL);
    assert_int_equal(media_dtmf_event_parse(buf, 4, &ev), 0);
    assert_int_equal(ev.event, 5);
    assert_int_equal(ev.end, 1);
    assert_int_equal(ev.volume, 10);
    assert_int_equal(ev.duration, 800);
    assert_int_equal(media_dtmf_event_parse(buf, 8, &ev), 0); /* several blocks: first one */
    buf[1] |= 0x40;                                             /* reserved bit */
    assert_int_equal(media_dtmf_event_parse(buf, 4, &ev), WAIHU_EINVAL);
    struct media_dtmf_event bad = {.volume = 64};
    assert_int_equal(media_dtmf_event_write(&bad, buf), WAIHU_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtp_round_trip),
        cmocka_unit_test(test_rtp_csrc_extension_padding),
        cmocka_unit_test(test_rtp_malformed),
        cmocka_unit_test(test_g711_matches_reference),
        cmocka_unit_test(test_g711_properties),
        cmocka_unit_test(test_dtmf_event_round_trip),
        cmocka_unit_test(test_dtmf_event_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
