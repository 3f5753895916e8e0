/* The engine over real loopback UDP: two test "phones" and an intruder talk to a
 * session through a worker; relay, transcoding, source checks, RFC 4733 and
 * in-band DTMF, silence, AMD, recording with energy on both channels, port reuse.
 * Ports: engine 18100-18199 (127.0.0.1), phones on ephemeral ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <spandsp.h>

#include "media.h"

#define PORT_MIN 18100
#define PORT_MAX 18199
#define MAX_EVENTS 256

struct phone {
    uv_udp_t udp;
    uint16_t port;
    int rx_packets;
    int rx_pt_counts[128];
    int16_t last_pcm[160];
    double rx_energy;
    uint16_t seq;
    uint32_t ts;
    enum media_codec codec;
    double phase, freq;
};

struct harness {
    uv_loop_t loop;
    struct media_engine *engine;
    struct media_event events[MAX_EVENTS];
    int n_events;
    struct phone a, b, intruder;
    uv_timer_t pace, poll;
    int to_send;        /* packets left per phone */
    int sent_intruder;
    int dtmf_tx_pending;
    dtmf_tx_state_t *dtmf_tx;
    struct media_session *s;
    int closed;
};

static void on_event(struct media_engine *e, const struct media_event *ev, void *data)
{
    (void)e;
    struct harness *h = data;
    assert_ptr_equal(media_session_data(ev->session), h);
    if (h->n_events < MAX_EVENTS)
        h->events[h->n_events++] = *ev;
    if (ev->type == MEDIA_EV_CLOSED)
        h->closed++;
}

static void alloc_cb(uv_handle_t *hd, size_t n, uv_buf_t *buf)
{
    (void)hd;
    static char mem[2048];
    (void)n;
    *buf = uv_buf_init(mem, sizeof(mem));
}

static void on_phone_rx(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
                        unsigned flags)
{
    (void)addr;
    (void)flags;
    struct phone *p = u->data;
    struct media_rtp r;
    if (n <= 0 || media_rtp_parse((const uint8_t *)buf->base, (size_t)n, &r) != 0)
        return;
    p->rx_packets++;
    p->rx_pt_counts[r.payload_type]++;
    if ((r.payload_type == MEDIA_PCMU || r.payload_type == MEDIA_PCMA) && r.payload_len == 160) {
        media_g711_decode((enum media_codec)r.payload_type, r.payload, 160, p->last_pcm);
        for (int i = 0; i < 160; i++)
            p->rx_energy += (double)p->last_pcm[i] * p->last_pcm[i];
    }
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
    p->seq = 1000;
    p->ts = 5000;
    assert_int_equal(uv_udp_recv_start(&p->udp, alloc_cb, on_phone_rx), 0);
}

static void send_raw(struct phone *p, uint16_t to_port, const uint8_t *buf, size_t len)
{
    struct sockaddr_in to;
    uv_ip4_addr("127.0.0.1", to_port, &to);
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    assert_true(uv_udp_try_send(&p->udp, &b, 1, (struct sockaddr *)&to) >= 0);
}

static void send_audio(struct phone *p, uint16_t to_port, const int16_t *pcm)
{
    uint8_t payload[160], pkt[200];
    int16_t tone[160];
    if (pcm == NULL) {
        for (int i = 0; i < 160; i++) {
            tone[i] = (int16_t)(8000.0 * sin(p->phase));
            p->phase += 2.0 * M_PI * p->freq / 8000.0;
        }
        pcm = tone;
    }
    media_g711_encode(p->codec, pcm, 160, payload);
    struct media_rtp r = {.payload_type = p->codec, .seq = p->seq++, .timestamp = p->ts,
                          .ssrc = 0x1234, .payload = payload, .payload_len = 160};
    p->ts += 160;
    size_t len;
    assert_int_equal(media_rtp_write(&r, pkt, sizeof(pkt), &len), 0);
    send_raw(p, to_port, pkt, len);
}

static void send_event(struct phone *p, uint16_t to_port, uint8_t pt, char digit, int end,
                       uint16_t duration)
{
    uint8_t ev[4], pkt[64];
    struct media_dtmf_event e = {.event = (uint8_t)media_dtmf_digit_event(digit), .end = (uint8_t)end,
                                 .volume = 10, .duration = duration};
    assert_int_equal(media_dtmf_event_write(&e, ev), 0);
    struct media_rtp r = {.payload_type = pt, .seq = p->seq++, .timestamp = p->ts, .ssrc = 0x1234,
                          .payload = ev, .payload_len = 4, .marker = duration == 160};
    size_t len;
    assert_int_equal(media_rtp_write(&r, pkt, sizeof(pkt), &len), 0);
    send_raw(p, to_port, pkt, len);
}

static void on_pace(uv_timer_t *t)
{
    struct harness *h = t->data;
    if (h->to_send <= 0)
        return;
    h->to_send--;
    uint16_t pa = media_session_port(h->s, MEDIA_LEG_A), pb = media_session_port(h->s, MEDIA_LEG_B);
    if (h->dtmf_tx != NULL) {
        int16_t pcm[160] = {0};
        dtmf_tx(h->dtmf_tx, pcm, 160);
        send_audio(&h->a, pa, pcm);
        return;
    }
    if (h->a.freq > 0)
        send_audio(&h->a, pa, NULL);
    if (h->b.freq > 0)
        send_audio(&h->b, pb, NULL);
    /* The intruder sends well-formed RTP to leg A from the wrong port. */
    send_audio(&h->intruder, pa, NULL);
    h->sent_intruder++;
}

static void on_poll(uv_timer_t *t)
{
    (void)t; /* only wakes the loop so deadlines are checked */
}

static int count_events(struct harness *h, enum media_event_type type)
{
    int n = 0;
    for (int i = 0; i < h->n_events; i++)
        n += h->events[i].type == type;
    return n;
}

static const struct media_event *find_event(struct harness *h, enum media_event_type type)
{
    for (int i = 0; i < h->n_events; i++)
        if (h->events[i].type == type)
            return &h->events[i];
    return NULL;
}

/* Runs the loop until cond(h) or the deadline; returns cond(h). */
static int run_until(struct harness *h, int (*cond)(struct harness *), uint64_t timeout_ms)
{
    uint64_t deadline = uv_now(&h->loop) + timeout_ms;
    uv_timer_start(&h->poll, on_poll, 5, 5);
    while (!cond(h) && uv_now(&h->loop) < deadline)
        uv_run(&h->loop, UV_RUN_ONCE);
    uv_timer_stop(&h->poll);
    return cond(h);
}

static void harness_start(struct harness *h, unsigned workers, const struct media_session_config *scfg_in)
{
    memset(h, 0, sizeof(*h));
    assert_int_equal(uv_loop_init(&h->loop), 0);
    struct media_engine_config cfg = {.n_workers = workers, .bind_ip = "127.0.0.1",
                                      .port_min = PORT_MIN, .port_max = PORT_MAX,
                                      .cb = on_event, .cb_data = h};
    assert_int_equal(media_engine_new(&h->loop, &cfg, &h->engine), 0);
    phone_init(h, &h->a, MEDIA_PCMU, 440.0);
    phone_init(h, &h->b, MEDIA_PCMA, 1000.0);
    phone_init(h, &h->intruder, MEDIA_PCMU, 300.0);
    uv_timer_init(&h->loop, &h->pace);
    uv_timer_init(&h->loop, &h->poll);
    h->pace.data = h;
    struct media_session_config scfg = {0};
    if (scfg_in != NULL)
        scfg = *scfg_in;
    scfg.data = h;
    assert_int_equal(media_session_open(h->engine, &scfg, &h->s), 0);
    uint16_t pa = media_session_port(h->s, MEDIA_LEG_A), pb = media_session_port(h->s, MEDIA_LEG_B);
    assert_true(pa >= PORT_MIN && pa <= PORT_MAX && pa % 2 == 0);
    assert_true(pb >= PORT_MIN && pb <= PORT_MAX && pb % 2 == 0 && pb != pa);
    assert_int_equal(media_session_set_remote(h->s, MEDIA_LEG_A, "127.0.0.1", h->a.port, MEDIA_PCMU, 101), 0);
    assert_int_equal(media_session_set_remote(h->s, MEDIA_LEG_B, "127.0.0.1", h->b.port, MEDIA_PCMA, 96), 0);
}

static int is_closed(struct harness *h)
{
    return h->closed > 0;
}

static void close_handle(uv_handle_t *hd, void *arg)
{
    (void)arg;
    if (!uv_is_closing(hd))
        uv_close(hd, NULL);
}

static void harness_stop(struct harness *h)
{
    if (!h->closed) {
        media_session_close(h->s);
        assert_true(run_until(h, is_closed, 5000));
    }
    media_engine_free(h->engine);
    uv_walk(&h->loop, close_handle, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    if (h->dtmf_tx != NULL)
        dtmf_tx_free(h->dtmf_tx);
}

static int relayed_enough(struct harness *h)
{
    return h->a.rx_packets >= 95 && h->b.rx_packets >= 95 && h->to_send == 0;
}

static int got_rfc4733(struct harness *h)
{
    return count_events(h, MEDIA_EV_DTMF) >= 1 && h->b.rx_pt_counts[96] >= 6;
}

static int got_recording(struct harness *h)
{
    return count_events(h, MEDIA_EV_RECORDING) >= 1;
}

/* RMS in dBFS of one channel of a stereo 16-bit WAV written by media_rec_decrypt. */
static double wav_channel_dbfs(const char *path, int channel, long *frames)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 44, SEEK_SET), 0);
    double sum = 0;
    long n = 0;
    uint8_t b[4];
    while (fread(b, 1, 4, fp) == 4) {
        int16_t v = (int16_t)(b[2 * channel] | b[2 * channel + 1] << 8);
        sum += (double)v * v;
        n++;
    }
    fclose(fp);
    *frames = n;
    return n == 0 || sum == 0 ? -200.0 : 10.0 * log10(sum / n / (32768.0 * 32768.0));
}

static void test_relay_record_and_drop(void **state)
{
    (void)state;
    struct harness h;
    harness_start(&h, 2, NULL);
    char dir[] = "/tmp/waihu-media-relay-XXXXXX", enc[128], wav[128];
    assert_non_null(mkdtemp(dir));
    snprintf(enc, sizeof(enc), "%s/call.wrec", dir);
    snprintf(wav, sizeof(wav), "%s/call.wav", dir);
    uint8_t key[MEDIA_REC_KEY_BYTES];
    for (int i = 0; i < MEDIA_REC_KEY_BYTES; i++)
        key[i] = (uint8_t)(0xa5 ^ i);
    assert_int_equal(media_session_record_start(h.s, enc, key), 0);

    h.to_send = 100; /* 2 s of audio each way */
    uv_timer_start(&h.pace, on_pace, 20, 20);
    assert_true(run_until(&h, relayed_enough, 10000));
    /* A (PCMU) hears B's A-law converted to mu-law, and B hears A-law. */
    assert_true(h.a.rx_pt_counts[MEDIA_PCMU] >= 95);
    assert_int_equal(h.a.rx_pt_counts[MEDIA_PCMA], 0);
    assert_true(h.b.rx_pt_counts[MEDIA_PCMA] >= 95);
    assert_int_equal(h.b.rx_pt_counts[MEDIA_PCMU], 0);
    assert_true(h.b.rx_energy > 0 && h.a.rx_energy > 0);

    /* RFC 4733 from A (PT 101): begin packets, then the end three times. */
    uint16_t pa = media_session_port(h.s, MEDIA_LEG_A);
    for (uint16_t d = 160; d <= 480; d += 160)
        send_event(&h.a, pa, 101, '5', 0, d);
    for (int i = 0; i < 3; i++)
        send_event(&h.a, pa, 101, '5', 1, 640);
    assert_true(run_until(&h, got_rfc4733, 5000));
    const struct media_event *ev = find_event(&h, MEDIA_EV_DTMF);
    assert_int_equal(ev->u.dtmf.digit, '5');
    assert_int_equal(ev->u.dtmf.source, MEDIA_DTMF_RFC4733);
    assert_int_equal(ev->u.dtmf.duration_ms, 80);
    assert_int_equal(ev->leg, MEDIA_LEG_A);

    assert_int_equal(media_session_record_stop(h.s), 0);
    assert_true(run_until(&h, got_recording, 5000));
    ev = find_event(&h, MEDIA_EV_RECORDING);
    assert_int_equal(ev->u.recording.err, 0);
    assert_true(ev->u.recording.frames >= 8000);

    media_session_close(h.s);
    assert_true(run_until(&h, is_closed, 5000));
    ev = find_event(&h, MEDIA_EV_CLOSED);
    assert_int_equal(count_events(&h, MEDIA_EV_DTMF), 1); /* the end was deduplicated */
    assert_true(ev->stats[0].packets_rx >= 100);
    assert_true(ev->stats[1].packets_rx >= 100);
    assert_true(ev->stats[0].wrong_source >= (uint64_t)h.sent_intruder - 2);
    assert_true(ev->stats[0].wrong_source > 0);
    assert_int_equal(ev->stats[1].wrong_source, 0);
    assert_int_equal(ev->stats[0].lost, 0);
    assert_true(ev->stats[1].packets_tx >= 100); /* A's packets went out on leg B */
    assert_true(ev->stats[1].jitter_ms < 50.0);
    printf("relay: A rx %d, B rx %d, intruder %d dropped %llu, jitter A %.2f ms\n",
           h.a.rx_packets, h.b.rx_packets, h.sent_intruder,
           (unsigned long long)ev->stats[0].wrong_source, ev->stats[0].jitter_ms);

    struct media_rec_info info;
    char err[256];
    assert_int_equal(media_rec_decrypt(enc, key, wav, &info, err, sizeof(err)), 0);
    assert_true(info.complete);
    long frames;
    double left = wav_channel_dbfs(wav, 0, &frames), right = wav_channel_dbfs(wav, 1, &frames);
    printf("recording: %ld frames, left %.1f dBFS, right %.1f dBFS\n", frames, left, right);
    assert_true(frames >= 8000);
    assert_true(left > -20.0);  /* an 8000-peak tone is about -15 dBFS */
    assert_true(right > -20.0);
    unlink(enc);
    unlink(wav);
    rmdir(dir);
    harness_stop(&h);
}

static int got_three_inband(struct harness *h)
{
    int n = 0;
    for (int i = 0; i < h->n_events; i++)
        n += h->events[i].type == MEDIA_EV_DTMF &&
             h->events[i].u.dtmf.source == MEDIA_DTMF_INBAND;
    return n >= 3;
}

static void test_inband_dtmf(void **state)
{
    (void)state;
    struct harness h;
    struct media_session_config cfg = {.inband_dtmf = 1};
    harness_start(&h, 1, &cfg);
    h.dtmf_tx = dtmf_tx_init(NULL);
    assert_non_null(h.dtmf_tx);
    dtmf_tx_put(h.dtmf_tx, "19#", -1);
    h.to_send = 50;
    uv_timer_start(&h.pace, on_pace, 20, 20);
    assert_true(run_until(&h, got_three_inband, 10000));
    char got[4] = {0};
    int n = 0;
    for (int i = 0; i < h.n_events && n < 3; i++)
        if (h.events[i].type == MEDIA_EV_DTMF)
            got[n++] = h.events[i].u.dtmf.digit;
    assert_string_equal(got, "19#");
    assert_int_equal(h.events[0].leg, MEDIA_LEG_A);
    /* B hears the tones too, as A-law. */
    assert_true(h.b.rx_pt_counts[MEDIA_PCMA] > 0);
    harness_stop(&h);
}

static int got_silence_and_amd(struct harness *h)
{
    return count_events(h, MEDIA_EV_SILENCE) >= 2 && count_events(h, MEDIA_EV_AMD) >= 1;
}

static void test_silence_and_amd_without_audio(void **state)
{
    (void)state;
    struct harness h;
    struct media_session_config cfg = {.silence_s = 1, .stats_interval_ms = 200};
    harness_start(&h, 1, &cfg);
    /* Nobody speaks: both legs report silence, AMD settles on human at its deadline. */
    struct media_amd_config amd;
    media_amd_config_default(&amd);
    amd.max_ms = 1500;
    assert_int_equal(media_session_amd_start(h.s, MEDIA_LEG_A, &amd), 0);
    assert_true(run_until(&h, got_silence_and_amd, 8000));
    const struct media_event *ev = find_event(&h, MEDIA_EV_AMD);
    assert_int_equal(ev->u.amd.result, MEDIA_AMD_HUMAN);
    assert_int_equal(ev->u.amd.reason, MEDIA_AMD_R_DEADLINE_QUIET);
    assert_true(ev->u.amd.ms >= 1500 && ev->u.amd.ms < 1700);
    ev = find_event(&h, MEDIA_EV_SILENCE);
    assert_true(ev->u.silence.seconds >= 1);
    assert_true(count_events(&h, MEDIA_EV_STATS) >= 1);
    harness_stop(&h);
}

static int got_amd(struct harness *h)
{
    return count_events(h, MEDIA_EV_AMD) >= 1;
}

static void test_amd_beep_through_relay(void **state)
{
    (void)state;
    struct harness h;
    harness_start(&h, 1, NULL);
    h.a.freq = 1000.0; /* a steady 1 kHz tone from A: a beep */
    h.b.freq = 0;
    assert_int_equal(media_session_amd_start(h.s, MEDIA_LEG_A, NULL), 0);
    h.to_send = 40;
    uv_timer_start(&h.pace, on_pace, 20, 20);
    assert_true(run_until(&h, got_amd, 5000));
    const struct media_event *ev = find_event(&h, MEDIA_EV_AMD);
    assert_int_equal(ev->u.amd.result, MEDIA_AMD_MACHINE);
    assert_int_equal(ev->u.amd.reason, MEDIA_AMD_R_BEEP);
    harness_stop(&h);
}

static void test_ports_exhausted_and_reused(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct harness h;
    memset(&h, 0, sizeof(h));
    assert_int_equal(uv_loop_init(&loop), 0);
    /* 18190..18195 holds three even ports: one session, then none. */
    struct media_engine_config cfg = {.n_workers = 1, .port_min = 18190, .port_max = 18195,
                                      .cb = on_event, .cb_data = &h};
    struct media_engine *e;
    assert_int_equal(media_engine_new(&loop, &cfg, &e), 0);
    struct media_session_config scfg = {.data = &h};
    struct media_session *s1, *s2;
    assert_int_equal(media_session_open(e, &scfg, &s1), 0);
    assert_int_equal(media_session_open(e, &scfg, &s2), WAIHU_ENOSPACE);
    assert_int_equal(media_session_set_remote(s1, MEDIA_LEG_A, "not-an-ip", 4000, MEDIA_PCMU, -1),
                     WAIHU_EINVAL);
    assert_int_equal(media_session_set_remote(s1, MEDIA_LEG_A, "127.0.0.1", 4000, 3, -1),
                     WAIHU_EINVAL);
    assert_int_equal(media_session_set_remote(s1, MEDIA_LEG_A, "127.0.0.1", 4000, MEDIA_PCMU, 13),
                     WAIHU_EINVAL);
    media_session_close(s1);
    uint64_t deadline = uv_now(&loop) + 5000;
    uv_timer_t poll;
    uv_timer_init(&loop, &poll);
    uv_timer_start(&poll, on_poll, 5, 5);
    while (h.closed == 0 && uv_now(&loop) < deadline)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(h.closed, 1);
    assert_int_equal(media_session_open(e, &scfg, &s2), 0); /* ports came back */
    /* Freeing the engine with a session open releases everything without events. */
    media_engine_free(e);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(h.closed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_record_and_drop),
        cmocka_unit_test(test_inband_dtmf),
        cmocka_unit_test(test_silence_and_amd_without_audio),
        cmocka_unit_test(test_amd_beep_through_relay),
        cmocka_unit_test(test_ports_exhausted_and_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
