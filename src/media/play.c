/* Prompts on the worker: 20 ms frames paced by the worker's tick into a leg, relayed audio
 * to that leg muted meanwhile, and the leg's outgoing RTP stream kept continuous across
 * prompts and relayed packets (one SSRC, sequence numbers and timestamps that go on). */
#include <string.h>

#include "media_internal.h"

#define FRAME_MS 20
#define MAX_CATCH_UP 5       /* frames sent at once after a stall; the rest is delayed */
#define DEFAULT_WAIT_MS 30000

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* RTP time (8 kHz units) since the leg last sent, at least one frame. */
static uint32_t gap_units(const struct leg_tx *tx, uint64_t now_ms)
{
    uint64_t units = (now_ms - tx->last_ms) * (MEDIA_PROMPT_RATE / 1000);
    return units < MEDIA_FRAME_SAMPLES ? MEDIA_FRAME_SAMPLES : (uint32_t)units;
}

/* Seeds a stream the leg never sent on: random SSRC, sequence and timestamp (RFC 3550). */
static void tx_seed(struct leg_tx *tx)
{
    uint8_t r[10] = {0};
    if (random_bytes(r, sizeof(r)) != 0)
        LOG_W(MOD, "no randomness for an RTP stream: using fixed values");
    tx->ssrc = be32(r);
    tx->seq = be16(r + 4);
    tx->ts = be32(r + 6);
    tx->init = 1;
}

static void emit_prompt(struct leg *l, enum media_prompt_phase phase)
{
    const struct leg_play *p = &l->play;
    struct media_event ev = {.type = MEDIA_EV_PROMPT, .leg = l->id};
    ev.u.prompt.id = p->cfg.id;
    ev.u.prompt.phase = phase;
    if (phase == MEDIA_PROMPT_STARTED) {
        ev.u.prompt.waited_ms = (uint32_t)(p->start_ms - p->requested_ms);
    } else {
        uint64_t ms = (uint64_t)p->frames_sent * FRAME_MS;
        uint32_t total = media_prompt_duration_ms(p->prompt);
        ev.u.prompt.complete = p->started && p->frames_due >= p->prompt_frames;
        ev.u.prompt.played_ms = ms < total ? (uint32_t)ms : total;
    }
    wsession_emit(l->ws, &ev);
}

void play_stop(struct leg *l, int emit)
{
    if (l->play.prompt == NULL)
        return;
    if (emit)
        emit_prompt(l, MEDIA_PROMPT_ENDED);
    media_prompt_unref(l->play.prompt);
    memset(&l->play, 0, sizeof(l->play));
}

void play_start(struct leg *l, struct media_prompt *p, const struct media_play_config *cfg,
                uint64_t now_ms)
{
    play_stop(l, 1);
    struct leg_play *pl = &l->play;
    pl->prompt = p;
    pl->cfg = *cfg;
    if (pl->cfg.max_wait_ms == 0)
        pl->cfg.max_wait_ms = DEFAULT_WAIT_MS;
    pl->requested_ms = now_ms;
    pl->prompt_frames = media_prompt_frames(p);
    pl->tail_frames = (cfg->tail_ms + FRAME_MS - 1) / FRAME_MS;
    play_tick(l, now_ms); /* without a wait, the first frame leaves now */
}

/* Sends frame idx of the prompt (or a silent tail frame) with the stream's next sequence
 * number; timestamps follow the frame index from the prompt's first one. */
static void send_frame(struct leg *l, size_t idx, uint32_t ts0, uint64_t now_ms)
{
    struct leg_play *p = &l->play;
    struct leg_tx *tx = &l->tx;
    uint8_t pkt[MEDIA_RTP_HEADER_BYTES + MEDIA_FRAME_SAMPLES];
    int16_t pcm[MEDIA_FRAME_SAMPLES];
    size_t n = media_prompt_frame(p->prompt, idx, l->codec, pkt + MEDIA_RTP_HEADER_BYTES, pcm);
    tx->seq++;
    tx->ts = ts0 + (uint32_t)(idx * MEDIA_FRAME_SAMPLES);
    tx->last_ms = now_ms;
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)((idx == 0 ? 0x80 : 0) | l->codec); /* a talkspurt starts */
    put16(pkt + 2, tx->seq);
    put32(pkt + 4, tx->ts);
    put32(pkt + 8, tx->ssrc);
    if (l->has_remote) {
        uv_buf_t b = uv_buf_init((char *)pkt, sizeof(pkt));
        if (uv_udp_try_send(&l->udp, &b, 1, (const struct sockaddr *)&l->remote) >= 0)
            l->stats.packets_tx++;
        if (n > 0)
            p->frames_sent++;
    }
    if (n > 0 && l->ws->rec != NULL)
        leg_mix_push(&l->ws->legs[!l->id], pcm, MEDIA_FRAME_SAMPLES);
}

void play_tick(struct leg *l, uint64_t now_ms)
{
    struct leg_play *p = &l->play;
    if (p->prompt == NULL || l->ws->closing)
        return;
    if (!p->started) {
        uint64_t quiet = now_ms - l->last_voice_ms, waited = now_ms - p->requested_ms;
        if (p->cfg.after_silence_ms > 0 && quiet < p->cfg.after_silence_ms &&
            waited < p->cfg.max_wait_ms)
            return;
        p->started = 1;
        p->start_ms = now_ms;
        if (!l->tx.init)
            tx_seed(&l->tx);
        else
            l->tx.ts += gap_units(&l->tx, now_ms) - MEDIA_FRAME_SAMPLES;
        l->tx.rewrite = 1; /* relayed packets join this stream from now on */
        l->tx.resync = 1;
        p->frames_due = 0;
    }
    /* Frame 0's timestamp: one frame after what the leg last sent (or the seed). */
    uint32_t ts0 = l->tx.ts + MEDIA_FRAME_SAMPLES - (uint32_t)(p->frames_due * MEDIA_FRAME_SAMPLES);
    size_t total = p->prompt_frames + p->tail_frames;
    uint64_t due = (now_ms - p->start_ms) / FRAME_MS + 1;
    if (due > p->frames_due + MAX_CATCH_UP && p->frames_due + MAX_CATCH_UP < total) {
        /* The loop stalled: a message loses no words, it ends later. A few frames go now
         * (the receiver's buffer ran dry), the schedule moves by the rest. */
        uint64_t late = due - p->frames_due - MAX_CATCH_UP;
        LOG_D(MOD, "leg %d: prompt frames %llu ms late", l->id,
              (unsigned long long)(late * FRAME_MS));
        p->start_ms += late * FRAME_MS;
        due -= late;
    }
    if (due > total)
        due = total;
    int first = p->frames_due == 0;
    while (p->frames_due < due) {
        send_frame(l, p->frames_due, ts0, now_ms);
        p->frames_due++;
    }
    if (first && p->frames_due > 0)
        emit_prompt(l, MEDIA_PROMPT_STARTED);
    if (p->frames_due >= total && now_ms - p->start_ms >= (uint64_t)total * FRAME_MS)
        play_stop(l, 1); /* once the last frame's 20 ms are over, not when it leaves */
}

int play_relay_out(struct leg *to, uint8_t *buf, size_t len, int audio, uint64_t now_ms)
{
    struct leg_tx *tx = &to->tx;
    if (to->play.prompt != NULL)
        return -1; /* the leg hears a prompt, not the other side */
    if (len < MEDIA_RTP_HEADER_BYTES)
        return -1;
    uint16_t seq = be16(buf + 2);
    uint32_t ts = be32(buf + 4), ssrc = be32(buf + 8);
    if (!tx->rewrite) { /* pass through, remembering where the stream is */
        tx->init = 1;
        tx->ssrc = ssrc;
        tx->seq = seq;
        if (audio)
            tx->ts = ts;
        tx->last_ms = now_ms;
        return 0;
    }
    if (tx->resync || ssrc != tx->src_ssrc) {
        tx->seq_delta = (uint16_t)(tx->seq + 1 - seq);
        tx->ts_delta = tx->ts + gap_units(tx, now_ms) - ts;
        tx->src_ssrc = ssrc;
        tx->resync = 0;
        if (audio)
            buf[1] |= 0x80; /* a new talkspurt in this stream */
    }
    uint16_t out_seq = (uint16_t)(seq + tx->seq_delta);
    uint32_t out_ts = ts + tx->ts_delta;
    put16(buf + 2, out_seq);
    put32(buf + 4, out_ts);
    put32(buf + 8, tx->ssrc);
    if ((int16_t)(out_seq - tx->seq) > 0)
        tx->seq = out_seq;
    if (audio && (int32_t)(out_ts - tx->ts) > 0)
        tx->ts = out_ts;
    tx->last_ms = now_ms;
    return 0;
}
