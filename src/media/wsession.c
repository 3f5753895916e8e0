/* A session on its worker: socket set-up and teardown, recording, periodic duties. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media_internal.h"

#define REC_BLOCK 160

void wsession_emit(struct wsession *ws, struct media_event *ev)
{
    struct msg *m = msg_new(MSG_EVENT);
    if (m == NULL) {
        LOG_E(MOD, "event %d lost: out of memory", ev->type);
        return;
    }
    ev->session = ws->s;
    m->u.event = *ev;
    engine_post(ws->w->e, m);
}

static void alloc_rx(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct leg *l = h->data;
    struct worker *w = l->ws->w;
    buf->base = (char *)w->rxbuf; /* one datagram at a time per loop */
    buf->len = sizeof(w->rxbuf);
}

static void on_rx(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                  unsigned flags)
{
    struct leg *l = h->data;
    if (nread < 0) {
        LOG_W(MOD, "leg %d recv: %s", l->id, uv_strerror((int)nread));
        return;
    }
    if (nread == 0 || addr == NULL || l->ws->closing)
        return;
    if (addr->sa_family != AF_INET || (flags & UV_UDP_PARTIAL)) {
        l->stats.wrong_source += addr->sa_family != AF_INET;
        l->stats.malformed += (flags & UV_UDP_PARTIAL) != 0;
        return;
    }
    relay_packet(l, (uint8_t *)buf->base, (size_t)nread, (const struct sockaddr_in *)addr,
                 uv_now(h->loop));
}

void wsession_attach(struct worker *w, struct wsession *ws, const int fd[2])
{
    ws->w = w;
    ws->next = w->sessions;
    if (w->sessions != NULL)
        w->sessions->prev = ws;
    w->sessions = ws;
    uint64_t now = uv_now(&w->loop);
    ws->next_stats_ms = now + ws->cfg.stats_interval_ms;
    for (int i = 0; i < 2; i++) {
        struct leg *l = &ws->legs[i];
        l->ws = ws;
        l->id = (enum media_leg)i;
        l->te_pt = -1;
        l->last_voice_ms = now;
        if (leg_dsp_init(l, ws->cfg.inband_dtmf) != 0)
            LOG_E(MOD, "leg %d: detectors unavailable (out of memory)", i);
        uv_udp_init(&w->loop, &l->udp);
        l->udp.data = l;
        ws->open_handles++;
        int rv = uv_udp_open(&l->udp, fd[i]);
        if (rv != 0)
            close(fd[i]); /* not taken by libuv */
        else
            rv = uv_udp_recv_start(&l->udp, alloc_rx, on_rx);
        if (rv != 0)
            LOG_E(MOD, "leg %d: udp: %s", i, uv_strerror(rv));
    }
}

static void rec_finish(struct wsession *ws)
{
    if (ws->rec == NULL)
        return;
    struct media_event ev = {.type = MEDIA_EV_RECORDING};
    int rv = media_rec_writer_finish(ws->rec, ev.u.recording.sha256, &ev.u.recording.bytes);
    ws->rec = NULL;
    ev.u.recording.err = ws->rec_err != 0 ? ws->rec_err : rv;
    ev.u.recording.frames = ws->rec_frames;
    wsession_emit(ws, &ev);
}

static void fill_stats(struct wsession *ws, struct media_event *ev)
{
    for (int i = 0; i < 2; i++) {
        ev->stats[i] = ws->legs[i].stats;
        ev->stats[i].jitter_ms = ws->legs[i].jitter / 8.0;
    }
}

static void handle_closed(uv_handle_t *h)
{
    struct leg *l = h->data;
    struct wsession *ws = l->ws;
    if (--ws->open_handles > 0)
        return;
    struct media_event ev = {.type = MEDIA_EV_CLOSED};
    fill_stats(ws, &ev);
    wsession_emit(ws, &ev);
    struct worker *w = ws->w;
    if (ws->prev != NULL)
        ws->prev->next = ws->next;
    else
        w->sessions = ws->next;
    if (ws->next != NULL)
        ws->next->prev = ws->prev;
    leg_dsp_free(&ws->legs[0]);
    leg_dsp_free(&ws->legs[1]);
    free(ws);
}

void wsession_close(struct wsession *ws)
{
    play_stop(&ws->legs[0], 1); /* ENDED before CLOSED */
    play_stop(&ws->legs[1], 1);
    ws->closing = 1;
    rec_finish(ws);
    for (int i = 0; i < 2; i++)
        uv_close((uv_handle_t *)&ws->legs[i].udp, handle_closed); /* closes the fd too */
}

void wsession_rec_start(struct wsession *ws, char *path, const uint8_t *key)
{
    char err[256];
    struct media_event ev = {.type = MEDIA_EV_RECORDING};
    if (ws->rec != NULL) {
        LOG_W(MOD, "%s: a recording is already running", path);
        ev.u.recording.err = WAIHU_ECONFLICT;
        wsession_emit(ws, &ev);
        free(path);
        return;
    }
    int rv = media_rec_writer_open(path, key, &ws->rec, err, sizeof(err));
    if (rv != 0) {
        LOG_E(MOD, "recording %s", err);
        ev.u.recording.err = rv;
        wsession_emit(ws, &ev);
    } else {
        ws->rec_start_ms = uv_now(&ws->w->loop);
        ws->rec_frames = 0;
        ws->rec_err = 0;
        for (int i = 0; i < 2; i++)
            ws->legs[i].fifo_n = ws->legs[i].mix_n = 0; /* start with what is heard from now on */
    }
    free(path);
}

void wsession_rec_stop(struct wsession *ws)
{
    rec_finish(ws);
}

/* Writes the audio due since the recording started: wall time drives the
 * recording clock, each leg's FIFO fills it (silence on underrun). */
static void rec_pump(struct wsession *ws, uint64_t now_ms)
{
    int16_t frames[2 * REC_BLOCK];
    uint64_t due = (now_ms - ws->rec_start_ms) * (MEDIA_REC_RATE / 1000) - ws->rec_frames;
    if (due > MEDIA_REC_CHUNK_FRAMES) { /* the loop stalled: do not write a burst of silence */
        ws->rec_frames += due - MEDIA_REC_CHUNK_FRAMES;
        due = MEDIA_REC_CHUNK_FRAMES;
    }
    while (due > 0 && ws->rec != NULL) {
        size_t n = due < REC_BLOCK ? (size_t)due : REC_BLOCK;
        leg_fifo_pop(&ws->legs[0], frames, n, 2);
        leg_fifo_pop(&ws->legs[1], frames + 1, n, 2);
        int rv = media_rec_writer_append(ws->rec, frames, n);
        if (rv != 0) {
            LOG_E(MOD, "recording write failed: %s", waihu_strerror(rv));
            ws->rec_err = rv;
            rec_finish(ws);
            return;
        }
        ws->rec_frames += n;
        due -= n;
    }
}

void wsession_tick(struct wsession *ws, uint64_t now_ms)
{
    for (int i = 0; i < 2; i++) {
        leg_dsp_tick(&ws->legs[i], now_ms);
        play_tick(&ws->legs[i], now_ms);
    }
    if (ws->rec != NULL)
        rec_pump(ws, now_ms);
    if (ws->cfg.stats_interval_ms > 0 && now_ms >= ws->next_stats_ms) {
        struct media_event ev = {.type = MEDIA_EV_STATS};
        fill_stats(ws, &ev);
        wsession_emit(ws, &ev);
        ws->next_stats_ms = now_ms + ws->cfg.stats_interval_ms;
    }
}
