/* Prompts played by the engine over real loopback UDP (src/media/play.c, prompt_cache.c):
 * two test phones, A (carrier side, PCMU) and B (agent side, PCMA). What A receives is
 * checked packet by packet: the prompt's samples, pacing, one RTP stream continued by the
 * relay afterwards, B muted meanwhile; stop, replace, file errors, close while playing,
 * the recording, the wait for silence. WAV files are written at test time.
 * Ports: engine 18400-18499 (127.0.0.1), phones on ephemeral ports. */
#include <arpa/inet.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "media.h"

#define MAX_PKTS 1000
#define MAX_EVENTS 256

struct pkt {
    struct media_rtp h;
    uint8_t payload[160];
    uint64_t at_ms;
};

struct phone {
    uv_udp_t udp;
    uint16_t port;
    struct pkt *rx;
    int n_rx;
    enum media_codec codec;
    uint16_t seq;
    uint32_t ts;
    double phase, freq, amp;
};

struct harness {
    uv_loop_t loop;
    struct media_engine *engine;
    struct media_session *s;
    struct media_event events[MAX_EVENTS];
    int n_events;
    struct phone a, b;
    uv_timer_t pace, poll;
    int a_sends, b_sends; /* phones that talk on the pace timer */
    char dir[64];
};

static void on_event(struct media_engine *e, const struct media_event *ev, void *data)
{
    (void)e;
    struct harness *h = data;
    if (h->n_events < MAX_EVENTS)
        h->events[h->n_events++] = *ev;
}

static void alloc_cb(uv_handle_t *hd, size_t n, uv_buf_t *buf)
{
    (void)hd;
    (void)n;
    static char mem[2048];
    *buf = uv_buf_init(mem, sizeof(mem));
}

static void on_rx(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
                  unsigned flags)
{
    (void)addr;
    (void)flags;
    struct phone *p = u->data;
    struct media_rtp r;
    if (n <= 0 || media_rtp_parse((const uint8_t *)buf->base, (size_t)n, &r) != 0 ||
        p->n_rx >= MAX_PKTS)
        return;
    struct pkt *k = &p->rx[p->n_rx++];
    k->h = r;
    memcpy(k->payload, r.payload, r.payload_len < 160 ? r.payload_len : 160);
    k->h.payload = NULL;
    k->at_ms = uv_now(u->loop);
}

static void phone_init(struct harness *h, struct phone *p, enum media_codec codec, double freq)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_init(&h->loop, &p->udp), 0);
    assert_int_equal(uv_udp_bind(&p->udp, (struct sockaddr *)&a, 0), 0);
    int len = sizeof(a);
    assert_int_equal(uv_udp_getsockname(&p->udp, (struct sockaddr *)&a, &len), 0);
    p->port = ntohs(a.sin_port);
    p->udp.data = p;
    p->codec = codec;
    p->freq = freq;
    p->amp = 8000.0;
    p->seq = 40000;
    p->ts = 123456;
    p->rx = calloc(MAX_PKTS, sizeof(*p->rx));
    assert_non_null(p->rx);
    assert_int_equal(uv_udp_recv_start(&p->udp, alloc_cb, on_rx), 0);
}

/* One 20 ms frame of the phone's tone (amp 0: silence) to the session's port. */
static void phone_send(struct phone *p, uint16_t to_port)
{
    int16_t pcm[160];
    uint8_t payload[160], pkt[200];
    for (int i = 0; i < 160; i++) {
        pcm[i] = (int16_t)(p->amp * sin(p->phase));
        p->phase += 2.0 * M_PI * p->freq / 8000.0;
    }
    media_g711_encode(p->codec, pcm, 160, payload);
    struct media_rtp r = {.payload_type = p->codec, .seq = p->seq++, .timestamp = p->ts,
                          .ssrc = 0xabcd, .payload = payload, .payload_len = 160};
    p->ts += 160;
    size_t len;
    assert_int_equal(media_rtp_write(&r, pkt, sizeof(pkt), &len), 0);
    struct sockaddr_in to;
    uv_ip4_addr("127.0.0.1", to_port, &to);
    uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
    uv_udp_try_send(&p->udp, &b, 1, (struct sockaddr *)&to);
}

static void on_pace(uv_timer_t *t)
{
    struct harness *h = t->data;
    if (h->a_sends)
        phone_send(&h->a, media_session_port(h->s, MEDIA_LEG_A));
    if (h->b_sends)
        phone_send(&h->b, media_session_port(h->s, MEDIA_LEG_B));
}

static void on_poll(uv_timer_t *t)
{
    (void)t;
}

static int run_until(struct harness *h, int (*cond)(struct harness *), uint64_t timeout_ms)
{
    uint64_t deadline = uv_now(&h->loop) + timeout_ms;
    uv_timer_start(&h->poll, on_poll, 5, 5);
    while (!cond(h) && uv_now(&h->loop) < deadline)
        uv_run(&h->loop, UV_RUN_ONCE);
    uv_timer_stop(&h->poll);
    return cond(h);
}

static int16_t prompt_sample(size_t i)
{
    return (int16_t)(6000.0 * sin(2.0 * M_PI * 700.0 * (double)i / 8000.0));
}

static void le(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes an 8 kHz 16-bit WAV of n samples of the prompt tone on each of channels. */
static void write_wav(const char *path, size_t n, int channels)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t data = (uint32_t)(n * 2 * (size_t)channels);
    uint8_t hdr[44];
    memcpy(hdr, "RIFF", 4);
    le(hdr + 4, 36 + data, 4);
    memcpy(hdr + 8, "WAVEfmt ", 8);
    le(hdr + 16, 16, 4);
    le(hdr + 20, 1, 2); /* PCM */
    le(hdr + 22, (uint32_t)channels, 2);
    le(hdr + 24, 8000, 4);
    le(hdr + 28, 8000u * 2u * (uint32_t)channels, 4);
    le(hdr + 32, 2u * (uint32_t)channels, 2);
    le(hdr + 34, 16, 2);
    memcpy(hdr + 36, "data", 4);
    le(hdr + 40, data, 4);
    assert_int_equal(fwrite(hdr, 1, 44, f), 44);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < channels; c++) {
            uint8_t b[2];
            le(b, (uint16_t)prompt_sample(i), 2);
            assert_int_equal(fwrite(b, 1, 2, f), 2);
        }
    }
    fclose(f);
}

static void path_of(struct harness *h, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", h->dir, name);
}

static void start(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/waihu-play-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    assert_int_equal(uv_loop_init(&h->loop), 0);
    struct media_engine_config cfg = {.n_workers = 1, .bind_ip = "127.0.0.1", .port_min = 18400,
                                      .port_max = 18499, .cb = on_event, .cb_data = h};
    assert_int_equal(media_engine_new(&h->loop, &cfg, &h->engine), 0);
    phone_init(h, &h->a, MEDIA_PCMU, 300.0);
    phone_init(h, &h->b, MEDIA_PCMA, 1000.0);
    uv_timer_init(&h->loop, &h->pace);
    uv_timer_init(&h->loop, &h->poll);
    h->pace.data = h;
    struct media_session_config scfg = {.data = h};
    assert_int_equal(media_session_open(h->engine, &scfg, &h->s), 0);
    assert_int_equal(media_session_set_remote(h->s, MEDIA_LEG_A, "127.0.0.1", h->a.port,
                                              MEDIA_PCMU, 101), 0);
    assert_int_equal(media_session_set_remote(h->s, MEDIA_LEG_B, "127.0.0.1", h->b.port,
                                              MEDIA_PCMA, -1), 0);
    uv_timer_start(&h->pace, on_pace, 20, 20);
}

static int count(struct harness *h, enum media_event_type type, int phase)
{
    int n = 0;
    for (int i = 0; i < h->n_events; i++)
        n += h->events[i].type == type && (phase == 0 || (int)h->events[i].u.prompt.phase == phase);
    return n;
}

static const struct media_event *nth(struct harness *h, enum media_event_type type, int phase,
                                     int k)
{
    for (int i = 0; i < h->n_events; i++)
        if (h->events[i].type == type &&
            (phase == 0 || (int)h->events[i].u.prompt.phase == phase) && k-- == 0)
            return &h->events[i];
    return NULL;
}

static int index_of(struct harness *h, const struct media_event *ev)
{
    return (int)(ev - h->events);
}

static int closed(struct harness *h)
{
    return count(h, MEDIA_EV_CLOSED, 0) > 0;
}

static int one_ended(struct harness *h)
{
    return count(h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED) >= 1;
}

static int two_ended(struct harness *h)
{
    return count(h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED) >= 2;
}

static int three_ended(struct harness *h)
{
    return count(h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED) >= 3;
}

static int one_started(struct harness *h)
{
    return count(h, MEDIA_EV_PROMPT, MEDIA_PROMPT_STARTED) >= 1;
}

static void close_walk(uv_handle_t *hd, void *arg)
{
    (void)arg;
    if (!uv_is_closing(hd))
        uv_close(hd, NULL);
}

static void stop(struct harness *h)
{
    if (!closed(h)) {
        media_session_close(h->s);
        assert_true(run_until(h, closed, 5000));
    }
    media_engine_free(h->engine);
    uv_walk(&h->loop, close_walk, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    free(h->a.rx);
    free(h->b.rx);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", h->dir);
    assert_int_equal(system(cmd), 0);
}

/* A's packets from index from on form one stream: same SSRC, consecutive sequence numbers,
 * timestamps advancing by 160 (more across a gap between talkspurts). */
static void assert_one_stream(struct phone *p, int from)
{
    for (int i = from + 1; i < p->n_rx; i++) {
        const struct media_rtp *x = &p->rx[i - 1].h, *y = &p->rx[i].h;
        assert_int_equal(y->ssrc, p->rx[from].h.ssrc);
        assert_int_equal((uint16_t)(x->seq + 1), y->seq);
        int32_t dts = (int32_t)(y->timestamp - x->timestamp);
        if (y->marker)
            assert_true(dts >= 160);
        else
            assert_int_equal(dts, 160);
    }
}

static int a_heard_relay(struct harness *h)
{
    return h->a.n_rx >= 70;
}

static void prompt_reaches_the_leg_then_the_relay_continues_its_stream(void **state)
{
    (void)state;
    struct harness h;
    start(&h);
    char wav[128];
    path_of(&h, "prompt.wav", wav, sizeof(wav));
    write_wav(wav, 8000, 1); /* one second */
    struct media_play_config pc = {.id = 7, .tail_ms = 200};
    uint64_t t0 = uv_now(&h.loop);
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, wav, &pc), 0);
    assert_true(run_until(&h, one_started, 5000));
    h.b_sends = 1; /* B talks from now on: A must not hear it during the prompt */
    assert_true(run_until(&h, one_ended, 5000));
    const struct media_event *st = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_STARTED, 0);
    const struct media_event *en = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 0);
    assert_non_null(st);
    assert_true(index_of(&h, st) < index_of(&h, en));
    assert_int_equal(st->u.prompt.id, 7);
    assert_int_equal(st->leg, MEDIA_LEG_A);
    assert_int_equal(en->u.prompt.id, 7);
    assert_int_equal(en->u.prompt.err, 0);
    assert_int_equal(en->u.prompt.complete, 1);
    assert_int_equal(en->u.prompt.played_ms, 1000);
    /* 50 prompt frames then 10 silent ones, exactly the file's samples in mu-law. */
    assert_true(h.a.n_rx >= 60);
    for (int f = 0; f < 60; f++) {
        const struct pkt *k = &h.a.rx[f];
        assert_int_equal(k->h.payload_type, MEDIA_PCMU);
        assert_int_equal(k->h.payload_len, 160);
        assert_int_equal(k->h.marker, f == 0);
        for (int i = 0; i < 160; i++) {
            int16_t s = f < 50 ? prompt_sample((size_t)f * 160 + (size_t)i) : 0;
            assert_int_equal(k->payload[i], media_ulaw_encode(s));
        }
    }
    uint64_t first = h.a.rx[0].at_ms, last = h.a.rx[59].at_ms;
    printf("prompt: first packet %llu ms after the request, 60 packets over %llu ms\n",
           (unsigned long long)(first - t0), (unsigned long long)(last - first));
    assert_true(first - t0 < 100);
    assert_true(last - first >= 1000 && last - first < 1400); /* paced, not a burst */
    /* Then B is relayed into the same stream: marker, next sequence number, same SSRC. */
    assert_true(run_until(&h, a_heard_relay, 5000));
    assert_int_equal(h.a.rx[60].h.marker, 1);
    assert_true(h.a.rx[60].payload[0] != 0xff); /* B's tone, transcoded to mu-law */
    assert_one_stream(&h.a, 0);
    /* B heard nothing of the prompt (it was only ever for A). */
    assert_int_equal(h.b.n_rx, 0);
    stop(&h);
}

static void stop_and_replace_end_the_prompt_early(void **state)
{
    (void)state;
    struct harness h;
    start(&h);
    char longw[128], shortw[128];
    path_of(&h, "long.wav", longw, sizeof(longw));
    path_of(&h, "short.wav", shortw, sizeof(shortw));
    write_wav(longw, 8000 * 5, 1);
    write_wav(shortw, 800, 1);
    struct media_play_config one = {.id = 1}, two = {.id = 2};
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, longw, &one), 0);
    assert_true(run_until(&h, one_started, 5000));
    assert_int_equal(media_session_play_stop(h.s, MEDIA_LEG_A), 0);
    assert_true(run_until(&h, one_ended, 5000));
    const struct media_event *en = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 0);
    assert_int_equal(en->u.prompt.id, 1);
    assert_int_equal(en->u.prompt.complete, 0);
    assert_true(en->u.prompt.played_ms < 5000);
    int before = h.a.n_rx;
    /* A new prompt replaces one that plays: the first ends (partial), the second plays. */
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, longw, &one), 0);
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, shortw, &two), 0);
    assert_true(run_until(&h, three_ended, 5000));
    en = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 1);
    assert_int_equal(en->u.prompt.id, 1);
    assert_int_equal(en->u.prompt.complete, 0);
    en = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 2);
    assert_int_equal(en->u.prompt.id, 2);
    assert_int_equal(en->u.prompt.complete, 1);
    assert_int_equal(en->u.prompt.played_ms, 100);
    assert_true(h.a.n_rx > before);
    assert_one_stream(&h.a, 0); /* every prompt continued the leg's stream */
    assert_int_equal(media_session_play_stop(h.s, MEDIA_LEG_A), 0); /* nothing plays: no event */
    assert_int_equal(media_session_play(h.s, 5, shortw, NULL), WAIHU_EINVAL);
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, "", NULL), WAIHU_EINVAL);
    stop(&h);
    assert_int_equal(count(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED), 3);
}

static void file_errors_come_back_as_events(void **state)
{
    (void)state;
    struct harness h;
    start(&h);
    char missing[128], stereo[128];
    path_of(&h, "missing.wav", missing, sizeof(missing));
    path_of(&h, "stereo.wav", stereo, sizeof(stereo));
    write_wav(stereo, 800, 2);
    struct media_play_config one = {.id = 1}, two = {.id = 2};
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, missing, &one), 0);
    assert_true(run_until(&h, one_ended, 5000));
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_B, stereo, &two), 0);
    assert_true(run_until(&h, two_ended, 5000));
    const struct media_event *e1 = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 0);
    const struct media_event *e2 = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 1);
    assert_int_equal(e1->u.prompt.id, 1);
    assert_int_equal(e1->u.prompt.err, WAIHU_EIO);
    assert_int_equal(e1->leg, MEDIA_LEG_A);
    assert_int_equal(e2->u.prompt.err, WAIHU_EINVAL);
    assert_int_equal(e2->leg, MEDIA_LEG_B);
    assert_int_equal(count(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_STARTED), 0);
    /* Failures are not cached: the file written now plays. */
    write_wav(missing, 800, 1);
    h.n_events = 0;
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, missing, &one), 0);
    assert_true(run_until(&h, one_ended, 5000));
    assert_int_equal(nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 0)->u.prompt.complete, 1);
    stop(&h);
}

static void closing_ends_the_prompt_before_closed(void **state)
{
    (void)state;
    struct harness h;
    start(&h);
    char wav[128];
    path_of(&h, "prompt.wav", wav, sizeof(wav));
    write_wav(wav, 8000 * 5, 1);
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, wav, NULL), 0);
    assert_true(run_until(&h, one_started, 5000));
    media_session_close(h.s);
    assert_true(run_until(&h, closed, 5000));
    const struct media_event *en = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 0);
    assert_non_null(en);
    assert_int_equal(en->u.prompt.complete, 0);
    assert_true(index_of(&h, en) < index_of(&h, nth(&h, MEDIA_EV_CLOSED, 0, 0)));
    stop(&h);

    /* A play still waiting for its file when the session closes ends too, first. */
    start(&h);
    path_of(&h, "other.wav", wav, sizeof(wav));
    write_wav(wav, 8000, 1);
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, wav, NULL), 0);
    media_session_close(h.s);
    assert_true(run_until(&h, closed, 5000));
    en = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED, 0);
    assert_non_null(en);
    assert_int_equal(en->u.prompt.complete, 0);
    assert_true(index_of(&h, en) < index_of(&h, nth(&h, MEDIA_EV_CLOSED, 0, 0)));
    assert_int_equal(count(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_ENDED), 1);
    stop(&h);

    /* The engine freed while a file loads: nothing leaks (LSan), no event. */
    start(&h);
    path_of(&h, "third.wav", wav, sizeof(wav));
    write_wav(wav, 8000, 1);
    assert_int_equal(media_engine_prompt_preload(h.engine, wav), 0);
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, wav, NULL), 0);
    media_engine_free(h.engine);
    uv_walk(&h.loop, close_walk, NULL);
    uv_run(&h.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h.loop), 0);
    free(h.a.rx);
    free(h.b.rx);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", h.dir);
    assert_int_equal(system(cmd), 0);
}

static int got_recording(struct harness *h)
{
    return count(h, MEDIA_EV_RECORDING, 0) > 0;
}

static double channel_dbfs(const char *wav, int channel)
{
    FILE *f = fopen(wav, "rb");
    assert_non_null(f);
    fseek(f, 44, SEEK_SET);
    uint8_t b[4];
    double sum = 0;
    long n = 0;
    while (fread(b, 1, 4, f) == 4) {
        int16_t v = (int16_t)(b[2 * channel] | b[2 * channel + 1] << 8);
        sum += (double)v * v;
        n++;
    }
    fclose(f);
    return sum == 0 ? -200.0 : 10.0 * log10(sum / (double)n / (32768.0 * 32768.0));
}

static void prompt_is_recorded_on_the_channel_of_the_other_leg(void **state)
{
    (void)state;
    struct harness h;
    start(&h);
    char wav[128], rec[128], out[128];
    path_of(&h, "prompt.wav", wav, sizeof(wav));
    path_of(&h, "call.wrec", rec, sizeof(rec));
    path_of(&h, "call.wav", out, sizeof(out));
    write_wav(wav, 8000 * 2, 1);
    uint8_t key[MEDIA_REC_KEY_BYTES] = {1, 2, 3};
    assert_int_equal(media_session_record_start(h.s, rec, key), 0);
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, wav, NULL), 0);
    assert_true(run_until(&h, one_ended, 5000));
    assert_int_equal(media_session_record_stop(h.s), 0);
    assert_true(run_until(&h, got_recording, 5000));
    struct media_rec_info info;
    char err[256];
    assert_int_equal(media_rec_decrypt(rec, key, out, &info, err, sizeof(err)), 0);
    double left = channel_dbfs(out, 0), right = channel_dbfs(out, 1);
    printf("recording of a 2 s prompt to A: left (A) %.1f dBFS, right (B side) %.1f dBFS, "
           "%llu frames\n", left, right, (unsigned long long)info.frames);
    assert_true(info.frames >= 15000); /* the 2 s prompt, give or take the clock's ticks */
    assert_true(left < -100);  /* A said nothing */
    assert_true(right > -20);  /* a 6000-peak tone is about -17 dBFS */
    stop(&h);
}

static void waits_for_silence_or_its_limit(void **state)
{
    (void)state;
    struct harness h;
    start(&h);
    char wav[128];
    path_of(&h, "prompt.wav", wav, sizeof(wav));
    write_wav(wav, 800, 1);
    h.a_sends = 1; /* a voicemail greeting: A talks for 600 ms, then silence */
    uint64_t t0 = uv_now(&h.loop);
    struct media_play_config pc = {.id = 1, .after_silence_ms = 300};
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, wav, &pc), 0);
    while (uv_now(&h.loop) - t0 < 600)
        uv_run(&h.loop, UV_RUN_ONCE);
    h.a.amp = 0;
    assert_true(run_until(&h, one_ended, 5000));
    const struct media_event *st = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_STARTED, 0);
    assert_non_null(st);
    printf("started after the greeting: waited %u ms\n", st->u.prompt.waited_ms);
    assert_true(st->u.prompt.waited_ms >= 800 && st->u.prompt.waited_ms < 1300);
    /* Talking on and on: the prompt starts at max_wait_ms anyway. */
    h.a.amp = 8000;
    h.n_events = 0;
    for (uint64_t t1 = uv_now(&h.loop); uv_now(&h.loop) - t1 < 200;)
        uv_run(&h.loop, UV_RUN_ONCE);
    struct media_play_config capped = {.id = 2, .after_silence_ms = 300, .max_wait_ms = 500};
    assert_int_equal(media_session_play(h.s, MEDIA_LEG_A, wav, &capped), 0);
    assert_true(run_until(&h, one_ended, 5000));
    st = nth(&h, MEDIA_EV_PROMPT, MEDIA_PROMPT_STARTED, 0);
    assert_non_null(st);
    printf("started at its limit: waited %u ms\n", st->u.prompt.waited_ms);
    assert_true(st->u.prompt.waited_ms >= 500 && st->u.prompt.waited_ms < 700);
    stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prompt_reaches_the_leg_then_the_relay_continues_its_stream),
        cmocka_unit_test(stop_and_replace_end_the_prompt_early),
        cmocka_unit_test(file_errors_come_back_as_events),
        cmocka_unit_test(closing_ends_the_prompt_before_closed),
        cmocka_unit_test(prompt_is_recorded_on_the_channel_of_the_other_leg),
        cmocka_unit_test(waits_for_silence_or_its_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
