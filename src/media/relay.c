/* The RTP path: check the source, account, detect, transcode and forward to the other leg. */
#include <stdlib.h>
#include <string.h>

#include "media_internal.h"

#define MAX_SAMPLES 1200 /* largest G.711 payload we decode (150 ms) */
#define SEQ_MAX_DROPOUT 3000

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* RFC 3550 A.1 (simplified: no probation) and A.8. */
static void account(struct leg *l, const struct media_rtp *h, int audio)
{
    if (!l->seq_init) {
        l->seq_init = 1;
        l->base_seq = h->seq;
        l->max_seq = h->seq;
    } else {
        uint16_t delta = (uint16_t)(h->seq - l->max_seq);
        if (delta < SEQ_MAX_DROPOUT) {
            if (h->seq < l->max_seq)
                l->cycles += 65536;
            l->max_seq = h->seq;
        }
    }
    l->received++;
    int64_t expected = (int64_t)(l->cycles + l->max_seq) - l->base_seq + 1;
    l->stats.lost = expected - (int64_t)l->received;
    if (!audio)
        return; /* telephone-event timestamps mark the event start, not the packet */
    int64_t arrival = (int64_t)(uv_hrtime() / 125000); /* 8 kHz units */
    int64_t transit = arrival - (int64_t)h->timestamp;
    if (l->jitter_init) {
        int64_t d = transit - l->last_transit;
        if (d < 0)
            d = -d;
        l->jitter += ((double)d - l->jitter) / 16.0;
    }
    l->jitter_init = 1;
    l->last_transit = transit;
}

static void forward(struct leg *to, uint8_t *buf, size_t len, int audio, uint64_t now_ms)
{
    if (!to->has_remote || to->ws->closing || play_relay_out(to, buf, len, audio, now_ms) != 0)
        return;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rv = uv_udp_try_send(&to->udp, &b, 1, (const struct sockaddr *)&to->remote);
    if (rv >= 0)
        to->stats.packets_tx++;
}

static void on_telephone_event(struct leg *l, const struct media_rtp *h)
{
    struct media_dtmf_event ev;
    if (media_dtmf_event_parse(h->payload, h->payload_len, &ev) != 0) {
        l->stats.malformed++;
        return;
    }
    if (!ev.end) {
        if (l->te_reported && l->te_timestamp != h->timestamp)
            l->te_reported = 0;
        return;
    }
    if (l->te_reported && l->te_timestamp == h->timestamp)
        return; /* the end packet is sent three times */
    l->te_reported = 1;
    l->te_timestamp = h->timestamp;
    char digit = media_dtmf_event_digit(ev.event);
    if (digit == 0)
        return;
    struct media_event e = {.type = MEDIA_EV_DTMF, .leg = l->id};
    e.u.dtmf.digit = digit;
    e.u.dtmf.source = MEDIA_DTMF_RFC4733;
    e.u.dtmf.duration_ms = ev.duration / 8;
    wsession_emit(l->ws, &e);
}

void relay_packet(struct leg *l, uint8_t *buf, size_t len, const struct sockaddr_in *from,
                  uint64_t now_ms)
{
    struct media_rtp h;
    if (!l->has_remote || !same_addr(from, &l->remote)) {
        l->stats.wrong_source++;
        return;
    }
    if (media_rtp_parse(buf, len, &h) != 0) {
        l->stats.malformed++;
        return;
    }
    struct leg *to = &l->ws->legs[!l->id];
    uint8_t *payload = buf + (h.payload - buf);
    if (h.payload_type == l->codec) {
        if (h.payload_len > MAX_SAMPLES) {
            l->stats.malformed++;
            return;
        }
        l->stats.packets_rx++;
        account(l, &h, 1);
        int16_t pcm[MAX_SAMPLES];
        media_g711_decode(l->codec, payload, h.payload_len, pcm);
        leg_dsp_audio(l, pcm, h.payload_len, now_ms);
        if (to->has_remote && to->codec != l->codec)
            media_g711_transcode(l->codec, to->codec, payload, h.payload_len, payload);
        buf[1] = (uint8_t)((buf[1] & 0x80) | to->codec);
        forward(to, buf, len, 1, now_ms);
    } else if (l->te_pt >= 0 && h.payload_type == l->te_pt) {
        l->stats.packets_rx++;
        account(l, &h, 0);
        on_telephone_event(l, &h);
        if (to->te_pt >= 0) {
            buf[1] = (uint8_t)((buf[1] & 0x80) | to->te_pt);
            forward(to, buf, len, 0, now_ms);
        }
    } else {
        l->stats.malformed++; /* comfort noise or a codec not negotiated */
    }
}
