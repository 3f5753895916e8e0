/* The bridge's call-test fixture (bridge_fixture.h): engines, bridge, scripted carrier and
 * softphone on one loop. */
#include <arpa/inet.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "bridge_fixture.h"

/* Copies the request's Via, From, To, Call-ID and CSeq lines into out (To gets a tag). */
static size_t copy_headers(const char *req, char *out, size_t cap, const char *cseq_override)
{
    size_t n = 0;
    const char *line = strstr(req, "\r\n");
    while (line && line[2] != '\r') {
        line += 2;
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        int keep = strncasecmp(line, "Via:", 4) == 0 || strncasecmp(line, "From:", 5) == 0 ||
                   strncasecmp(line, "Call-ID:", 8) == 0;
        if (keep) {
            n += (size_t)snprintf(out + n, cap - n, "%.*s\r\n", (int)len, line);
        } else if (strncasecmp(line, "To:", 3) == 0) {
            int tagged = 0;
            for (size_t i = 0; i + 4 <= len; i++) {
                tagged |= strncmp(line + i, "tag=", 4) == 0;
            }
            n += (size_t)snprintf(out + n, cap - n, "%.*s%s\r\n", (int)len, line,
                                  tagged ? "" : ";tag=carrier1");
        } else if (strncasecmp(line, "CSeq:", 5) == 0) {
            if (cseq_override) {
                n += (size_t)snprintf(out + n, cap - n, "CSeq: %s\r\n", cseq_override);
            } else {
                n += (size_t)snprintf(out + n, cap - n, "%.*s\r\n", (int)len, line);
            }
        }
        line = end;
    }
    return n;
}

/* A response to req from sock (whose port goes in the Contact). */
static void respond(uv_udp_t *sock, int port, const struct sockaddr *to, const char *req,
                    int status, const char *phrase, const char *sdp)
{
    char msg[8192];
    size_t n = (size_t)snprintf(msg, sizeof msg, "SIP/2.0 %d %s\r\n", status, phrase);
    n += copy_headers(req, msg + n, sizeof msg - n, NULL);
    n += (size_t)snprintf(msg + n, sizeof msg - n,
                          "Contact: <sip:peer@127.0.0.1:%d>\r\n%sContent-Length: %zu\r\n\r\n%s",
                          port, sdp ? "Content-Type: application/sdp\r\n" : "",
                          sdp ? strlen(sdp) : 0, sdp ? sdp : "");
    uv_buf_t b = uv_buf_init(msg, (unsigned)n);
    uv_udp_try_send(sock, &b, 1, to);
}

static void reply(struct fixture *f, const struct sockaddr *to, const char *req, int status,
                  const char *phrase, const char *sdp)
{
    respond(&f->carrier_sock, f->base + 2, to, req, status, phrase, sdp);
}

/* An answer SDP at port with the given formats and attribute lines. */
static const char *sdp_at(char *buf, size_t cap, int port, const char *formats, const char *attrs)
{
    snprintf(buf, cap,
             "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP %s\r\n%s",
             port, formats, attrs);
    return buf;
}

void carrier_answer(struct fixture *f)
{
    char sdp[512];
    f->answers++;
    f->answer_ms = clock_now_ms();
    reply(f, (const struct sockaddr *)&f->invite_from, f->invite, 200, "OK",
          sdp_at(sdp, sizeof sdp, f->base + 90, "8 101",
                 "a=rtpmap:101 telephone-event/8000\r\n"));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static char storage[16384];
    (void)suggested;
    buf->base = storage;
    buf->len = sizeof storage - 1;
}

static void on_carrier(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                       unsigned flags)
{
    (void)flags;
    struct fixture *f = h->data;
    if (n <= 0 || !from) {
        return;
    }
    buf->base[n] = '\0';
    const char *req = buf->base;
    if (strncmp(req, "INVITE ", 7) == 0) {
        if (f->invites++ == 0 || strcmp(req, f->invite) != 0) {
            snprintf(f->invite, sizeof f->invite, "%s", req);
        }
        memcpy(&f->invite_from, from, sizeof f->invite_from);
        if (f->mode == RING) {
            reply(f, from, req, 180, "Ringing", NULL);
        } else if (f->mode == ANSWER) {
            carrier_answer(f);
        } else if (f->mode == ANSWER_BAD_SDP) {
            char sdp[512];
            reply(f, from, req, 200, "OK",
                  sdp_at(sdp, sizeof sdp, f->base + 90, "18", "a=rtpmap:18 G729/8000\r\n"));
        }
    } else if (strncmp(req, "CANCEL ", 7) == 0) {
        f->cancels++;
        reply(f, from, req, 200, "OK", NULL);
        reply(f, from, f->invite, 487, "Request Terminated", NULL);
    } else if (strncmp(req, "BYE ", 4) == 0) {
        f->byes++;
        f->bye_ms = clock_now_ms();
        reply(f, from, req, 200, "OK", NULL);
    }
}

/* ---- the carrier's RTP ---- */

static void on_rtp(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                   unsigned flags)
{
    (void)flags;
    (void)from;
    struct fixture *f = h->data;
    struct media_rtp r;
    if (n <= 0 || media_rtp_parse((const uint8_t *)buf->base, (size_t)n, &r) != 0) {
        return;
    }
    uint64_t now = clock_now_ms();
    if (f->rtp_rx++ == 0) {
        f->rtp_first_ms = now;
    } else if (r.ssrc != f->rtp_last_ssrc) {
        f->rtp_ssrcs++;
    } else if (r.seq != (uint16_t)(f->rtp_last_seq + 1)) {
        f->rtp_seq_breaks++;
    }
    f->rtp_last_seq = r.seq;
    f->rtp_last_ssrc = r.ssrc;
    f->rtp_markers += r.marker;
    if (r.payload_type == MEDIA_PCMA && r.payload_len <= 160) {
        int16_t pcm[160];
        double sum = 0;
        media_g711_decode(MEDIA_PCMA, r.payload, r.payload_len, pcm);
        for (size_t i = 0; i < r.payload_len; i++) {
            sum += (double)pcm[i] * pcm[i];
        }
        if (r.payload_len > 0 && sum / (double)r.payload_len > 100.0 * 100.0) {
            if (f->rtp_voiced++ == 0) {
                f->rtp_first_voiced_ms = now;
            }
        }
    }
}

/* The bridge's RTP port toward the carrier, from the INVITE's SDP. */
static uint16_t bridge_rtp_port(struct fixture *f)
{
    const char *m = strstr(f->invite, "m=audio ");
    assert_non_null(m);
    return (uint16_t)atoi(m + 8);
}

static void rtp_send(struct fixture *f, uint8_t pt, int marker, const uint8_t *payload,
                     size_t len)
{
    uint8_t pkt[256];
    size_t out;
    struct media_rtp r = {.payload_type = pt, .marker = (uint8_t)marker, .seq = f->tx_seq++,
                          .timestamp = f->tx_ts, .ssrc = 0x5eed, .payload = payload,
                          .payload_len = len};
    assert_int_equal(media_rtp_write(&r, pkt, sizeof pkt, &out), 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(bridge_rtp_port(f))};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)out);
    uv_udp_try_send(&f->rtp, &b, 1, (const struct sockaddr *)&to);
}

void carrier_send_audio(struct fixture *f, double freq, double amp)
{
    int16_t pcm[160];
    uint8_t payload[160];
    for (int i = 0; i < 160; i++) {
        pcm[i] = (int16_t)(amp * sin(f->tx_phase));
        f->tx_phase += 2.0 * M_PI * freq / 8000.0;
    }
    media_g711_encode(MEDIA_PCMA, pcm, 160, payload);
    rtp_send(f, MEDIA_PCMA, 0, payload, sizeof payload);
    f->tx_ts += 160;
}

void carrier_send_digit(struct fixture *f, char digit, int end, uint16_t duration)
{
    uint8_t ev[MEDIA_DTMF_EVENT_BYTES];
    struct media_dtmf_event e = {.event = (uint8_t)media_dtmf_digit_event(digit),
                                 .end = (uint8_t)end, .volume = 10, .duration = duration};
    assert_int_equal(media_dtmf_event_write(&e, ev), 0);
    rtp_send(f, 101, duration == 160 && !end, ev, sizeof ev);
}

/* ---- the softphone: digest REGISTER, then answers or rings on INVITE ---- */

static void md5_hex(const char *s, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_md5(), NULL);
    for (unsigned int i = 0; i < n && i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void agent_send(struct fixture *f, const char *msg)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(f->base)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    uv_buf_t b = uv_buf_init((char *)msg, (unsigned)strlen(msg));
    uv_udp_try_send(&f->agent, &b, 1, (const struct sockaddr *)&a);
}

/* REGISTER user (password "secret"), answering the challenge when nonce is given. */
static void agent_register(struct fixture *f, const char *user, const char *nonce, int cseq)
{
    char auth[512] = "", msg[2048], uri[64];
    int port = f->base + 8;
    snprintf(uri, sizeof uri, "sip:127.0.0.1:%d", f->base);
    if (nonce) {
        char a1[128], a2[128], ha1[33], ha2[33], all[256], resp[33];
        snprintf(a1, sizeof a1, "%s:waihu:secret", user);
        md5_hex(a1, ha1);
        snprintf(a2, sizeof a2, "REGISTER:%s", uri);
        md5_hex(a2, ha2);
        snprintf(all, sizeof all, "%s:%s:00000001:c0ffee:auth:%s", ha1, nonce, ha2);
        md5_hex(all, resp);
        snprintf(auth, sizeof auth,
                 "Authorization: Digest username=\"%s\", realm=\"waihu\", nonce=\"%s\", "
                 "uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, "
                 "nc=00000001, cnonce=\"c0ffee\"\r\n",
                 user, nonce, uri, resp);
    }
    snprintf(msg, sizeof msg,
             "REGISTER %s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d;rport\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:%s@127.0.0.1:%d>;tag=r%s\r\n"
             "To: <sip:%s@127.0.0.1:%d>\r\nCall-ID: reg-%s@127.0.0.1\r\n"
             "CSeq: %d REGISTER\r\nContact: <sip:%s@127.0.0.1:%d>\r\nExpires: 600\r\n"
             "%sContent-Length: 0\r\n\r\n",
             uri, port, user, cseq, user, f->base, user, user, f->base, user, cseq, user, port,
             auth);
    agent_send(f, msg);
}

/* The value of name="..." in text, into out. */
static int param(const char *text, const char *name, char *out, size_t cap)
{
    const char *p = strstr(text, name);
    if (!p || !(p = strchr(p, '"'))) {
        return -1;
    }
    const char *end = strchr(p + 1, '"');
    if (!end || (size_t)(end - p - 1) >= cap) {
        return -1;
    }
    snprintf(out, cap, "%.*s", (int)(end - p - 1), p + 1);
    return 0;
}

void agent_answer(struct fixture *f, int status)
{
    char sdp[512];
    respond(&f->agent, f->base + 8, (const struct sockaddr *)&f->agent_from, f->agent_invite,
            status, status == 200 ? "OK" : "Busy Here",
            status == 200 ? sdp_at(sdp, sizeof sdp, f->base + 92, "0", "") : NULL);
}

static void on_agent(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                     unsigned flags)
{
    (void)flags;
    struct fixture *f = h->data;
    if (n <= 0 || !from) {
        return;
    }
    buf->base[n] = '\0';
    const char *msg = buf->base;
    int port = f->base + 8;
    if (strncmp(msg, "SIP/2.0 401", 11) == 0) {
        char nonce[128], user[64];
        const char *cseq = strstr(msg, "CSeq: ");
        const char *cid = strstr(msg, "Call-ID: reg-");
        int seq = cseq ? atoi(cseq + 6) : 9;
        if (seq < 4 && cid && sscanf(cid, "Call-ID: reg-%63[^@]", user) == 1 &&
            param(msg, "nonce=", nonce, sizeof nonce) == 0) {
            agent_register(f, user, nonce, seq + 1);
        }
    } else if (strncmp(msg, "INVITE ", 7) == 0) {
        f->agent_invites++;
        snprintf(f->agent_invite, sizeof f->agent_invite, "%s", msg);
        snprintf(f->agent_ruri, sizeof f->agent_ruri, "%.*s", (int)strcspn(msg, "\r"), msg);
        memcpy(&f->agent_from, from, sizeof f->agent_from);
        if (f->agent_mode == AGENT_ANSWER) {
            agent_answer(f, 200);
        } else {
            respond(&f->agent, port, from, msg, 180, "Ringing", NULL);
        }
    } else if (strncmp(msg, "CANCEL ", 7) == 0) {
        f->agent_cancels++;
        respond(&f->agent, port, from, msg, 200, "OK", NULL);
        respond(&f->agent, port, from, f->agent_invite, 487, "Request Terminated", NULL);
    } else if (strncmp(msg, "BYE ", 4) == 0) {
        f->agent_byes++;
        respond(&f->agent, port, from, msg, 200, "OK", NULL);
    }
}

/* ---- the bridge's callbacks ---- */

static void on_cdr(struct bridge *b, const struct bridge_cdr *cdr, void *data)
{
    (void)b;
    struct fixture *f = data;
    f->n_cdrs++;
    f->n_cancelled += strcmp(cdr->result, "cancelled") == 0;
    f->cdr = *cdr;
    snprintf(f->result, sizeof f->result, "%s", cdr->result);
    snprintf(f->end_reason, sizeof f->end_reason, "%s", cdr->end_reason);
    snprintf(f->trunk, sizeof f->trunk, "%s", cdr->trunk ? cdr->trunk : "");
    snprintf(f->trunks_tried, sizeof f->trunks_tried, "%s", cdr->trunks_tried);
    snprintf(f->caller_id, sizeof f->caller_id, "%s", cdr->caller_id ? cdr->caller_id : "");
    snprintf(f->agent_name, sizeof f->agent_name, "%s", cdr->agent ? cdr->agent : "(null)");
    snprintf(f->prompt_state, sizeof f->prompt_state, "%s", cdr->prompt.state);
    snprintf(f->abandon_state, sizeof f->abandon_state, "%s", cdr->abandon_prompt.state);
    snprintf(f->digits, sizeof f->digits, "%s", cdr->digits);
    snprintf(f->recording, sizeof f->recording, "%s", cdr->recording ? cdr->recording : "");
}

static const char *pick(struct bridge *b, uint64_t call_id, void *data)
{
    struct fixture *f = data;
    int i = f->picks++;
    assert_true(i < PICKS_MAX);
    f->answers_at_pick[i] = f->answers;
    if (f->pick_hangs_up) {
        assert_int_equal(bridge_hangup(b, call_id), 0);
    }
    return f->pick_names[i];
}

static void append(char *list, size_t cap, const char *a, const char *b)
{
    size_t n = strlen(list);
    snprintf(list + n, cap - n, "%s%s%s%s", n ? " " : "", a, b ? ":" : "", b ? b : "");
}

static void on_event(struct bridge *b, const struct bridge_event *ev, void *data)
{
    (void)b;
    struct fixture *f = data;
    if (ev->type == BRIDGE_EV_STATE) {
        f->bridged_events += strcmp(ev->state, "bridged") == 0;
        append(f->states, sizeof f->states, ev->state, NULL);
    } else if (ev->type == BRIDGE_EV_PROMPT) {
        append(f->prompt_events, sizeof f->prompt_events, ev->prompt, ev->detail);
    }
}

static void on_sip(struct sip_engine *e, const struct sip_event *ev, void *data)
{
    (void)e;
    struct fixture *f = data;
    if (f->bridge && bridge_on_sip_event(f->bridge, ev)) {
        return;
    }
    if (ev->type == SIP_EV_REGISTERED && ev->expires_s > 0) {
        f->registered++;
    }
}

static void on_media(struct media_engine *e, const struct media_event *ev, void *data)
{
    (void)e;
    struct fixture *f = data;
    if (f->bridge) {
        bridge_on_media_event(f->bridge, ev);
    }
}

/* ---- running ---- */

static void on_deadline(uv_timer_t *t)
{
    struct fixture *f = t->data;
    f->timed_out = 1;
    uv_stop(&f->loop);
}

static void on_poll(uv_timer_t *t)
{
    uv_stop(t->loop);
}

int run_until(struct fixture *f, int (*pred)(struct fixture *))
{
    uv_timer_t poll;
    uv_timer_init(&f->loop, &poll);
    f->timed_out = 0;
    uv_timer_start(&f->deadline, on_deadline, 10000, 0);
    while (!pred(f) && !f->timed_out) {
        uv_timer_start(&poll, on_poll, 20, 0);
        uv_run(&f->loop, UV_RUN_DEFAULT);
    }
    uv_timer_stop(&f->deadline);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return pred(f);
}

int has_cdr(struct fixture *f)
{
    return f->n_cdrs > 0;
}

int cdrs_reached(struct fixture *f)
{
    return f->n_cdrs >= f->want_cdrs;
}

int time_passed(struct fixture *f)
{
    return clock_now_ms() >= f->until_ms;
}

int ringing(struct fixture *f)
{
    return f->invites > 0;
}

int agent_ringing(struct fixture *f)
{
    return f->agent_invites > 0;
}

int bridged(struct fixture *f)
{
    return f->bridged_events > 0;
}

int idle(struct fixture *f)
{
    struct bridge_stats bs;
    struct sip_engine_stats ss;
    bridge_stats(f->bridge, &bs);
    sip_engine_stats(f->sip, &ss);
    return bs.calls_active == 0 && bs.media_open == 0 && bs.sip_legs_live == 0 &&
           ss.calls_active == 0;
}

static void bind_udp(struct fixture *f, uv_udp_t *u, int port, uv_udp_recv_cb cb)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    uv_udp_init(&f->loop, u);
    u->data = f;
    assert_int_equal(uv_udp_bind(u, (const struct sockaddr *)&a, 0), 0);
    uv_udp_recv_start(u, on_alloc, cb);
}

int fixture_setup(void **state, uint16_t base)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = base;
    snprintf(f->sip_bind, sizeof f->sip_bind, "127.0.0.1:%d", base);
    snprintf(f->carrier, sizeof f->carrier, "sip:5551000@127.0.0.1:%d", base + 2);
    snprintf(f->dead_carrier, sizeof f->dead_carrier, "sip:5551000@127.0.0.1:%d", base + 4);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    struct sip_engine_config sc = {.bind_udp = f->sip_bind, .transaction_timeout_ms = 2000};
    assert_int_equal(sip_engine_new(&f->loop, &sc, on_sip, f, &f->sip), 0);
    struct media_engine_config mc = {.n_workers = 1, .port_min = (uint16_t)(base + 10),
                                     .port_max = (uint16_t)(base + 89), .cb = on_media,
                                     .cb_data = f};
    assert_int_equal(media_engine_new(&f->loop, &mc, &f->media), 0);
    struct bridge_config bc = {.from = "sip:+15550000@waihu", .carrier_timeout_ms = 5000,
                               .rtp_timeout_ms = UINT32_MAX};
    assert_int_equal(bridge_new(&f->loop, f->sip, f->media, &bc, on_cdr, f, &f->bridge), 0);
    bind_udp(f, &f->carrier_sock, base + 2, on_carrier);
    bind_udp(f, &f->agent, base + 8, on_agent);
    bind_udp(f, &f->rtp, base + 90, on_rtp);
    f->tx_seq = 7000;
    f->tx_ts = 90000;
    uv_timer_init(&f->loop, &f->deadline);
    f->deadline.data = f;
    *state = f;
    return 0;
}

void use_trunks(struct fixture *f, const char *json)
{
    char err[256];
    assert_int_equal(trunk_set_from_json(json, &f->trunks, err, sizeof err), 0);
    bridge_free(f->bridge);
    struct bridge_config bc = {.from = "sip:+15550000@waihu", .carrier_timeout_ms = 5000,
                               .rtp_timeout_ms = UINT32_MAX, .trunks = f->trunks};
    assert_int_equal(bridge_new(&f->loop, f->sip, f->media, &bc, on_cdr, f, &f->bridge), 0);
}

static int registered_both(struct fixture *f)
{
    return f->registered >= 2;
}

void use_bridge(struct fixture *f, const struct bridge_config *extra)
{
    bridge_free(f->bridge);
    struct bridge_config bc = {0};
    if (extra) {
        bc = *extra;
    }
    bc.from = "sip:+15550000@waihu";
    bc.carrier_timeout_ms = 5000;
    bc.rtp_timeout_ms = bc.rtp_timeout_ms ? bc.rtp_timeout_ms : UINT32_MAX;
    bc.event_cb = on_event;
    bc.pick_agent = pick;
    bc.pick_data = f;
    assert_int_equal(bridge_new(&f->loop, f->sip, f->media, &bc, on_cdr, f, &f->bridge), 0);
    assert_int_equal(sip_engine_set_credential(f->sip, "agent1", NULL, "secret", NULL), 0);
    assert_int_equal(sip_engine_set_credential(f->sip, "agent2", NULL, "secret", NULL), 0);
    f->registered = 0;
    agent_register(f, "agent1", NULL, 1);
    agent_register(f, "agent2", NULL, 1);
    assert_true(run_until(f, registered_both));
}

void use_picker(struct fixture *f)
{
    use_bridge(f, NULL);
}

int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    bridge_free(f->bridge);
    f->bridge = NULL;
    trunk_set_free(f->trunks);
    sip_engine_free(f->sip);
    media_engine_free(f->media);
    uv_close((uv_handle_t *)&f->carrier_sock, NULL);
    uv_close((uv_handle_t *)&f->agent, NULL);
    uv_close((uv_handle_t *)&f->rtp, NULL);
    uv_close((uv_handle_t *)&f->deadline, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

void assert_clean(struct fixture *f)
{
    assert_true(run_until(f, idle));
    struct bridge_stats bs;
    struct sip_engine_stats ss;
    bridge_stats(f->bridge, &bs);
    sip_engine_stats(f->sip, &ss);
    assert_int_equal(bs.illegal_moves, 0);
    assert_int_equal(ss.illegal_moves, 0);
    assert_int_equal(bs.cdrs, (uint64_t)f->n_cdrs);
    assert_int_equal(bs.trunk_channels, 0);
    assert_int_equal(bs.calls_waiting, 0);
    for (size_t i = 0; f->trunks && i < trunk_set_count(f->trunks); i++) {
        struct trunk_info ti;
        assert_int_equal(trunk_set_info(f->trunks, (uint32_t)i, 0, &ti), 0);
        assert_int_equal(ti.in_use, 0);
    }
    assert_int_equal(trunk_set_illegal_moves(f->trunks), 0);
}
