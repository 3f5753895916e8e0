/* The bridge (src/dialer/bridge.h) driving the real SIP and media engines against a tiny
 * scripted carrier in this process (one UDP socket on the same loop). It covers the paths
 * the integration test cannot force: a hangup while ringing, a carrier answer with unusable
 * SDP, a carrier that is not there, bad arguments, and over a trunk set: failover from a
 * dead trunk, every trunk failing (then out of rotation and probed), a call waiting for CPS
 * budget; with an agent picker and a scripted softphone that registers (digest) as agent1
 * and agent2: the agent chosen when the carrier answers, abandon when none is free, a
 * second pick within 2 s, none after; after each, no call, SIP leg, media session or trunk
 * channel may remain and no move may be illegal.
 * Loopback only, ports 19700-19799 (SIP 19700, carrier 19702, dead 19704/19706, softphone
 * 19708, RTP 19710-19799). */
#include <arpa/inet.h>
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

#include "bridge.h"
#include "trunk.h"

#define SIP_BIND "127.0.0.1:19700"
#define CARRIER_PORT 19702
#define CARRIER "sip:5551000@127.0.0.1:19702"
#define DEAD_CARRIER "sip:5551000@127.0.0.1:19704"
#define AGENT_PORT 19708
#define FAST_PROBES                                                                        \
    "\"health\": {\"probe_interval_ms\": 200, \"probe_timeout_ms\": 150, "                 \
    "\"hold_ms\": 60000, \"hold_max_ms\": 60000}"

enum carrier_mode { RING, ANSWER_BAD_SDP, ANSWER };
enum agent_mode { AGENT_ANSWER, AGENT_RING };

#define PICKS_MAX 4

struct fixture {
    uv_loop_t loop;
    uv_udp_t carrier;
    uv_timer_t deadline;
    struct sip_engine *sip;
    struct media_engine *media;
    struct bridge *bridge;
    struct trunk_set *trunks;
    enum carrier_mode mode;
    int invites, cancels, byes;
    char invite[4096]; /* the last INVITE, for the 487 after a CANCEL */
    struct sockaddr_in invite_from;
    int answers;                    /* 200s the carrier sent to INVITEs */
    uint64_t answer_ms, bye_ms;     /* when it sent the last one, when a BYE came */
    /* the softphone (agent1, agent2 registered from one socket) */
    uv_udp_t agent;
    enum agent_mode agent_mode;
    int registered, agent_invites, agent_byes, agent_cancels;
    char agent_invite[4096], agent_ruri[160];
    struct sockaddr_in agent_from;
    /* the picker: names[i] answers the i-th pick (NULL: none free) */
    const char *pick_names[PICKS_MAX];
    int picks, pick_hangs_up;
    int answers_at_pick[PICKS_MAX]; /* the carrier's 200s sent when pick i ran */
    int bridged_events;
    int n_cdrs, want_cdrs, n_cancelled;
    uint64_t until_ms;
    struct bridge_cdr cdr; /* strings not kept: results are static */
    char result[32], end_reason[32];
    char trunk[64], trunks_tried[256], caller_id[24]; /* the CDR's strings die with it */
    char agent_name[64];
    int timed_out;
};

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
                    int status, const char *phrase, const char *sdp, const char *cseq_override)
{
    char msg[8192];
    size_t n = (size_t)snprintf(msg, sizeof msg, "SIP/2.0 %d %s\r\n", status, phrase);
    n += copy_headers(req, msg + n, sizeof msg - n, cseq_override);
    n += (size_t)snprintf(msg + n, sizeof msg - n,
                          "Contact: <sip:peer@127.0.0.1:%d>\r\n%sContent-Length: %zu\r\n\r\n%s",
                          port, sdp ? "Content-Type: application/sdp\r\n" : "",
                          sdp ? strlen(sdp) : 0, sdp ? sdp : "");
    uv_buf_t b = uv_buf_init(msg, (unsigned)n);
    uv_udp_try_send(sock, &b, 1, to);
}

static void reply(struct fixture *f, const struct sockaddr *to, const char *req, int status,
                  const char *phrase, const char *sdp, const char *cseq_override)
{
    respond(&f->carrier, CARRIER_PORT, to, req, status, phrase, sdp, cseq_override);
}

#define CARRIER_SDP                                                                        \
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"           \
    "m=audio 19790 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"

/* The carrier answers the last INVITE (it rang in RING mode until now). */
static void carrier_answer(struct fixture *f)
{
    f->answers++;
    f->answer_ms = clock_now_ms();
    reply(f, (const struct sockaddr *)&f->invite_from, f->invite, 200, "OK", CARRIER_SDP, NULL);
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
            reply(f, from, req, 180, "Ringing", NULL, NULL);
        } else if (f->mode == ANSWER) {
            carrier_answer(f);
        } else if (f->mode == ANSWER_BAD_SDP) {
            reply(f, from, req, 200, "OK",
                  "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                  "m=audio 19790 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n",
                  NULL);
        }
    } else if (strncmp(req, "CANCEL ", 7) == 0) {
        f->cancels++;
        reply(f, from, req, 200, "OK", NULL, NULL);
        reply(f, from, f->invite, 487, "Request Terminated", NULL, NULL);
    } else if (strncmp(req, "BYE ", 4) == 0) {
        f->byes++;
        f->bye_ms = clock_now_ms();
        reply(f, from, req, 200, "OK", NULL, NULL);
    }
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
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(19700)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    uv_buf_t b = uv_buf_init((char *)msg, (unsigned)strlen(msg));
    uv_udp_try_send(&f->agent, &b, 1, (const struct sockaddr *)&a);
}

/* REGISTER user (password "secret"), answering the challenge when nonce is given. */
static void agent_register(struct fixture *f, const char *user, const char *nonce, int cseq)
{
    char auth[512] = "", msg[2048];
    if (nonce) {
        char a1[128], ha1[33], ha2[33], all[256], resp[33];
        snprintf(a1, sizeof a1, "%s:waihu:secret", user);
        md5_hex(a1, ha1);
        md5_hex("REGISTER:sip:127.0.0.1:19700", ha2);
        snprintf(all, sizeof all, "%s:%s:00000001:c0ffee:auth:%s", ha1, nonce, ha2);
        md5_hex(all, resp);
        snprintf(auth, sizeof auth,
                 "Authorization: Digest username=\"%s\", realm=\"waihu\", nonce=\"%s\", "
                 "uri=\"sip:127.0.0.1:19700\", response=\"%s\", algorithm=MD5, qop=auth, "
                 "nc=00000001, cnonce=\"c0ffee\"\r\n",
                 user, nonce, resp);
    }
    snprintf(msg, sizeof msg,
             "REGISTER sip:127.0.0.1:19700 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d;rport\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:%s@127.0.0.1:19700>;tag=r%s\r\n"
             "To: <sip:%s@127.0.0.1:19700>\r\nCall-ID: reg-%s@127.0.0.1\r\n"
             "CSeq: %d REGISTER\r\nContact: <sip:%s@127.0.0.1:%d>\r\nExpires: 600\r\n"
             "%sContent-Length: 0\r\n\r\n",
             AGENT_PORT, user, cseq, user, user, user, user, cseq, user, AGENT_PORT, auth);
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

/* The softphone answers the INVITE it rang for with status. */
static void agent_answer(struct fixture *f, int status)
{
    respond(&f->agent, AGENT_PORT, (const struct sockaddr *)&f->agent_from, f->agent_invite,
            status, status == 200 ? "OK" : "Busy Here",
            status == 200 ? "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                            "t=0 0\r\nm=audio 19792 RTP/AVP 0\r\n"
                          : NULL,
            NULL);
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
            respond(&f->agent, AGENT_PORT, from, msg, 180, "Ringing", NULL, NULL);
        }
    } else if (strncmp(msg, "CANCEL ", 7) == 0) {
        f->agent_cancels++;
        respond(&f->agent, AGENT_PORT, from, msg, 200, "OK", NULL, NULL);
        respond(&f->agent, AGENT_PORT, from, f->agent_invite, 487, "Request Terminated", NULL,
                NULL);
    } else if (strncmp(msg, "BYE ", 4) == 0) {
        f->agent_byes++;
        respond(&f->agent, AGENT_PORT, from, msg, 200, "OK", NULL, NULL);
    }
}

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

static void on_event(struct bridge *b, const struct bridge_event *ev, void *data)
{
    (void)b;
    struct fixture *f = data;
    if (ev->type == BRIDGE_EV_STATE && strcmp(ev->state, "bridged") == 0) {
        f->bridged_events++;
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

/* Runs the loop until pred holds or 10 s pass; returns pred's last value. */
static int run_until(struct fixture *f, int (*pred)(struct fixture *))
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

static int has_cdr(struct fixture *f)
{
    return f->n_cdrs > 0;
}

static int cdrs_reached(struct fixture *f)
{
    return f->n_cdrs >= f->want_cdrs;
}

static int time_passed(struct fixture *f)
{
    return clock_now_ms() >= f->until_ms;
}

static int ringing(struct fixture *f)
{
    return f->invites > 0;
}

static int idle(struct fixture *f)
{
    struct bridge_stats bs;
    struct sip_engine_stats ss;
    bridge_stats(f->bridge, &bs);
    sip_engine_stats(f->sip, &ss);
    return bs.calls_active == 0 && bs.media_open == 0 && bs.sip_legs_live == 0 &&
           ss.calls_active == 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    struct sip_engine_config sc = {.bind_udp = SIP_BIND, .transaction_timeout_ms = 2000};
    assert_int_equal(sip_engine_new(&f->loop, &sc, on_sip, f, &f->sip), 0);
    struct media_engine_config mc = {.n_workers = 1, .port_min = 19710, .port_max = 19799,
                                     .cb = on_media, .cb_data = f};
    assert_int_equal(media_engine_new(&f->loop, &mc, &f->media), 0);
    struct bridge_config bc = {.from = "sip:+15550000@waihu", .carrier_timeout_ms = 5000,
                               .rtp_timeout_ms = UINT32_MAX};
    assert_int_equal(bridge_new(&f->loop, f->sip, f->media, &bc, on_cdr, f, &f->bridge), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(CARRIER_PORT)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    uv_udp_init(&f->loop, &f->carrier);
    f->carrier.data = f;
    assert_int_equal(uv_udp_bind(&f->carrier, (const struct sockaddr *)&a, 0), 0);
    uv_udp_recv_start(&f->carrier, on_alloc, on_carrier);
    a.sin_port = htons(AGENT_PORT);
    uv_udp_init(&f->loop, &f->agent);
    f->agent.data = f;
    assert_int_equal(uv_udp_bind(&f->agent, (const struct sockaddr *)&a, 0), 0);
    uv_udp_recv_start(&f->agent, on_alloc, on_agent);
    uv_timer_init(&f->loop, &f->deadline);
    f->deadline.data = f;
    *state = f;
    return 0;
}

/* Replaces the fixture's bridge by one routing over the trunk set in json. */
static void use_trunks(struct fixture *f, const char *json)
{
    char err[256];
    assert_int_equal(trunk_set_from_json(json, &f->trunks, err, sizeof err), 0);
    bridge_free(f->bridge);
    struct bridge_config bc = {.from = "sip:+15550000@waihu", .carrier_timeout_ms = 5000,
                               .rtp_timeout_ms = UINT32_MAX, .trunks = f->trunks};
    assert_int_equal(bridge_new(&f->loop, f->sip, f->media, &bc, on_cdr, f, &f->bridge), 0);
}

/* Replaces the fixture's bridge by one with the test's picker, and registers the
 * softphone as agent1 and agent2. */
static int registered_both(struct fixture *f)
{
    return f->registered >= 2;
}

static void use_picker(struct fixture *f)
{
    bridge_free(f->bridge);
    struct bridge_config bc = {.from = "sip:+15550000@waihu", .carrier_timeout_ms = 5000,
                               .rtp_timeout_ms = UINT32_MAX, .event_cb = on_event,
                               .pick_agent = pick, .pick_data = f};
    assert_int_equal(bridge_new(&f->loop, f->sip, f->media, &bc, on_cdr, f, &f->bridge), 0);
    assert_int_equal(sip_engine_set_credential(f->sip, "agent1", NULL, "secret", NULL), 0);
    assert_int_equal(sip_engine_set_credential(f->sip, "agent2", NULL, "secret", NULL), 0);
    agent_register(f, "agent1", NULL, 1);
    agent_register(f, "agent2", NULL, 1);
    assert_true(run_until(f, registered_both));
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bridge_free(f->bridge);
    f->bridge = NULL;
    trunk_set_free(f->trunks);
    sip_engine_free(f->sip);
    media_engine_free(f->media);
    uv_close((uv_handle_t *)&f->carrier, NULL);
    uv_close((uv_handle_t *)&f->agent, NULL);
    uv_close((uv_handle_t *)&f->deadline, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void assert_clean(struct fixture *f)
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

static void hangup_while_ringing_cancels(void **state)
{
    struct fixture *f = *state;
    f->mode = RING;
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, ringing));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_int_equal(bridge_hangup(f->bridge, id), WAIHU_ENOTFOUND); /* already ending */
    assert_true(run_until(f, has_cdr));
    assert_int_equal(f->n_cdrs, 1);
    assert_int_equal(f->cdr.id, id);
    assert_string_equal(f->result, "cancelled");
    assert_string_equal(f->end_reason, "local-hangup");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_int_equal(f->cancels, 1);
    assert_null(f->cdr.recording);
    assert_clean(f);
}

static void unusable_answer_sdp_hangs_up_the_carrier(void **state)
{
    struct fixture *f = *state;
    f->mode = ANSWER_BAD_SDP;
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "error");
    assert_string_equal(f->end_reason, "sdp-error");
    assert_int_equal(f->cdr.status, 488);
    assert_int_equal(f->byes, 1); /* the answered carrier leg got a BYE */
    assert_clean(f);
}

static void unregistered_agent_ends_the_answered_call(void **state)
{
    struct fixture *f = *state;
    f->mode = ANSWER;
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "nobody"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "agent-unavailable");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 404);
    assert_int_equal(f->byes, 1);
    assert_non_null(f->cdr.carrier_dialog);
    assert_null(f->cdr.agent_dialog);
    assert_clean(f);
}

static void absent_carrier_fails_the_call(void **state)
{
    struct fixture *f = *state;
    struct bridge_dial d = {.number = "5551000", .trunk_target = DEAD_CARRIER, .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    /* Loopback answers with ICMP port unreachable (503) or nothing at all (408). */
    assert_true(strcmp(f->result, "carrier-failure") == 0 || strcmp(f->result, "no-answer") == 0);
    assert_string_equal(f->end_reason, "carrier-failed");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_NONE);
    assert_clean(f);
}

static void bad_arguments(void **state)
{
    struct fixture *f = *state;
    uint64_t id;
    struct bridge_dial no_agent = {.number = "1", .trunk_target = CARRIER};
    struct bridge_dial no_target = {.number = "1", .agent = "agent1"};
    char long_number[100];
    memset(long_number, '1', sizeof long_number - 1);
    long_number[sizeof long_number - 1] = '\0';
    struct bridge_dial too_long = {.number = long_number, .trunk_target = CARRIER,
                                   .agent = "agent1"};
    assert_int_equal(bridge_dial(f->bridge, &no_agent, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_dial(f->bridge, &no_target, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_dial(f->bridge, &too_long, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_dial(f->bridge, NULL, &id), WAIHU_EINVAL);
    assert_int_equal(bridge_hangup(f->bridge, 12345), WAIHU_ENOTFOUND);
    assert_int_equal(f->n_cdrs, 0);
    assert_clean(f);
}

static void failover_from_a_dead_trunk_to_the_next(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": ["
                  "{\"name\": \"dead\", \"target\": \"127.0.0.1:19704\", \"channels\": 5, "
                  "\"cps\": 10, \"caller_ids\": [\"+15550001001\"]},"
                  "{\"name\": \"live\", \"target\": \"127.0.0.1:19702\", \"channels\": 5, "
                  "\"cps\": 10, \"caller_ids\": [\"+15550002001\"], \"priority\": 1}]}");
    f->mode = RING;
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, ringing));
    assert_non_null(strstr(f->invite, "INVITE sip:+15551000@127.0.0.1:19702 "));
    assert_non_null(strstr(f->invite, "sip:+15550002001@waihu")); /* live's caller ID */
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    assert_int_equal(bs.trunk_channels, 1);
    assert_int_equal(bs.retries, 1);
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "cancelled");
    assert_string_equal(f->trunks_tried, "dead,live");
    assert_string_equal(f->trunk, "live");
    assert_string_equal(f->caller_id, "+15550002001");
    assert_int_equal(f->cdr.attempts, 2);
    assert_clean(f);
}

static int probed(struct fixture *f)
{
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    return bs.probes_sent >= 4 && bs.probes_pending == 0;
}

static void every_trunk_fails_then_none_is_left(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{" FAST_PROBES ", \"trunks\": ["
                  "{\"name\": \"x\", \"target\": \"127.0.0.1:19704\", \"channels\": 5, "
                  "\"cps\": 100, \"caller_ids\": [\"+15550001001\"]},"
                  "{\"name\": \"y\", \"target\": \"127.0.0.1:19706\", \"channels\": 5, "
                  "\"cps\": 100, \"caller_ids\": [\"+15550002001\"]}]}");
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id;
    int rv = 0, calls = 0;
    /* Five carrier failures in a row take a trunk out; each call fails on both. */
    while (calls < 10 && (rv = bridge_dial(f->bridge, &d, &id)) == 0) {
        f->want_cdrs = ++calls;
        assert_true(run_until(f, cdrs_reached));
        assert_string_equal(f->cdr.end_reason, "carrier-failed");
        assert_int_equal(f->cdr.attempts, 2);
        assert_true(strcmp(f->trunks_tried, "x,y") == 0 ||
                    strcmp(f->trunks_tried, "y,x") == 0);
    }
    assert_int_equal(rv, WAIHU_EUNAVAILABLE);
    assert_int_equal(calls, 5);
    for (uint32_t i = 0; i < 2; i++) {
        struct trunk_info ti;
        trunk_set_info(f->trunks, i, 0, &ti);
        assert_int_equal(ti.state, TRUNK_DOWN);
        assert_int_equal(ti.reason, TRUNK_WHY_CONSECUTIVE);
    }
    /* Out of rotation: OPTIONS probes go out and come back (ICMP 503 or timeout). */
    assert_true(run_until(f, probed));
    assert_clean(f);
}

static int two_invites(struct fixture *f)
{
    return f->invites >= 2 && f->n_cdrs >= 2;
}

static void a_call_waits_for_cps_budget(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": [{\"name\": \"slow\", \"target\": \"127.0.0.1:19702\", "
                  "\"channels\": 5, \"cps\": 1, \"caller_ids\": [\"+15550001001\"]}]}");
    f->mode = ANSWER_BAD_SDP; /* each call ends at once with a BYE */
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id1, id2;
    uint64_t t0 = clock_now_ms();
    assert_int_equal(bridge_dial(f->bridge, &d, &id1), 0);
    assert_int_equal(bridge_dial(f->bridge, &d, &id2), 0);
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    assert_int_equal(bs.calls_waiting, 1);
    assert_true(run_until(f, two_invites));
    assert_true(clock_now_ms() - t0 >= 950); /* one INVITE per second on this trunk */
    assert_string_equal(f->result, "error");
    assert_clean(f);
}

static void hangup_while_waiting_for_cps_sends_nothing(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": [{\"name\": \"slow\", \"target\": \"127.0.0.1:19702\", "
                  "\"channels\": 5, \"cps\": 1, \"caller_ids\": [\"+15550001001\"]}]}");
    f->mode = ANSWER_BAD_SDP;
    struct bridge_dial d = {.number = "+15551000", .agent = "agent1"};
    uint64_t id1, id2;
    assert_int_equal(bridge_dial(f->bridge, &d, &id1), 0);
    assert_int_equal(bridge_dial(f->bridge, &d, &id2), 0); /* waits for the next second */
    assert_int_equal(bridge_hangup(f->bridge, id2), 0);
    f->want_cdrs = 2;
    assert_true(run_until(f, cdrs_reached));
    assert_int_equal(f->n_cancelled, 1);
    struct bridge_stats bs;
    bridge_stats(f->bridge, &bs);
    assert_int_equal(bs.calls_waiting, 0);
    f->until_ms = clock_now_ms() + 1200; /* past the time its CPS slot frees */
    assert_true(run_until(f, time_passed));
    assert_int_equal(f->invites, 1); /* the cancelled call never left */
    assert_clean(f);
}

static void routed_dial_needs_a_dial_string(void **state)
{
    struct fixture *f = *state;
    use_trunks(f, "{\"trunks\": [{\"name\": \"t\", \"target\": \"127.0.0.1:19702\", "
                  "\"channels\": 5, \"cps\": 5, \"caller_ids\": [\"+15550001001\"]}]}");
    struct bridge_dial d = {.number = "555-1000", .agent = "agent1"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), WAIHU_EINVAL); /* never in a URI */
    assert_int_equal(f->invites, 0);
    assert_int_equal(f->n_cdrs, 0);
    assert_clean(f);
}

static int agent_ringing(struct fixture *f)
{
    return f->agent_invites > 0;
}

static int bridged(struct fixture *f)
{
    return f->bridged_events > 0;
}

/* (a) The agent is the one the picker names when the carrier answers, not at dial time. */
static void picked_agent_is_chosen_at_answer(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = RING;
    f->pick_names[0] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER}; /* no agent */
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, ringing));
    assert_int_equal(f->picks, 0); /* nobody is chosen while the customer's phone rings */
    f->pick_names[0] = "agent2";   /* agent1 got busy meanwhile */
    carrier_answer(f);
    assert_true(run_until(f, bridged));
    assert_int_equal(f->n_cdrs, 0);
    assert_int_equal(f->picks, 1);
    assert_int_equal(f->answers_at_pick[0], 1);
    assert_int_equal(f->agent_invites, 1);
    assert_non_null(strstr(f->agent_ruri, "INVITE sip:agent2@127.0.0.1:19708"));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "answered");
    assert_string_equal(f->agent_name, "agent2");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_true(f->cdr.answer_to_agent_ms < BRIDGE_PICK_WINDOW_MS);
    assert_non_null(f->cdr.agent_dialog);
    assert_int_equal(f->byes, 1);
    assert_int_equal(f->agent_byes, 1);
    assert_clean(f);
}

/* (b) No agent free at answer: the live carrier leg gets a BYE at once, no agent a call. */
static void no_free_agent_abandons_at_once(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER; /* pick_names[0] NULL: nobody free */
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_int_equal(f->cdr.status, 200);
    assert_string_equal(f->agent_name, "");
    assert_int_equal(f->cdr.answer_to_agent_ms, 0);
    assert_null(f->cdr.agent_dialog);
    assert_int_equal(f->picks, 1);
    assert_int_equal(f->answers_at_pick[0], 1);
    assert_int_equal(f->byes, 1);
    assert_true(f->bye_ms - f->answer_ms < 500); /* measured: a few ms on loopback */
    assert_int_equal(f->agent_invites, 0);
    struct sip_engine_stats ss;
    sip_engine_stats(f->sip, &ss);
    assert_int_equal(ss.calls_out, 1); /* the carrier leg only */
    assert_clean(f);
}

/* An unreachable pick (not registered: 404 at once) is replaced within 2 s of the answer. */
static void unreachable_pick_is_replaced(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_names[0] = "ghost";
    f->pick_names[1] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, bridged));
    assert_int_equal(f->picks, 2);
    assert_non_null(strstr(f->agent_ruri, "INVITE sip:agent1@"));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "answered");
    assert_string_equal(f->agent_name, "agent1");
    assert_true(f->cdr.answer_to_agent_ms < BRIDGE_PICK_WINDOW_MS);
    assert_clean(f);
}

/* The picker is asked twice at most; a second failure or no second agent abandons. */
static void second_pick_failing_abandons(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_names[0] = "ghost";
    f->pick_names[1] = "ghost2";
    f->pick_names[2] = "agent1"; /* never asked for */
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_int_equal(f->picks, 2);
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 404);
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_LOCAL);
    assert_string_equal(f->agent_name, "");
    assert_int_equal(f->agent_invites, 0);
    assert_true(run_until(f, idle));

    f->picks = 0;
    f->pick_names[1] = NULL; /* nobody else free */
    f->want_cdrs = 2;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, cdrs_reached));
    assert_int_equal(f->picks, 2);
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "no-agent");
    assert_int_equal(f->byes, 2);
    assert_clean(f);
}

/* The 2-second rule: an agent leg failing later than that is not replaced. */
static void agent_failing_after_two_seconds_abandons(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->agent_mode = AGENT_RING;
    f->pick_names[0] = "agent1";
    f->pick_names[1] = "agent2"; /* free, but too late */
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, agent_ringing));
    f->until_ms = f->answer_ms + BRIDGE_PICK_WINDOW_MS + 100;
    assert_true(run_until(f, time_passed));
    agent_answer(f, 486);
    assert_true(run_until(f, has_cdr));
    assert_int_equal(f->picks, 1);
    assert_int_equal(f->agent_invites, 1);
    assert_string_equal(f->result, "abandoned");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 486);
    assert_string_equal(f->agent_name, "");
    assert_true(f->cdr.answer_to_agent_ms < BRIDGE_PICK_WINDOW_MS); /* INVITE was in time */
    assert_int_equal(f->byes, 1);
    assert_clean(f);
}

/* (c) A dial that names its agent never asks the picker, and fails as before. */
static void named_agent_ignores_the_picker(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_names[0] = "agent2";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER, .agent = "nobody"};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "agent-unavailable");
    assert_string_equal(f->end_reason, "agent-failed");
    assert_int_equal(f->cdr.status, 404);
    assert_int_equal(f->cdr.hangup_by, BRIDGE_BY_NONE);
    assert_string_equal(f->agent_name, "nobody");
    assert_true(run_until(f, idle));

    d.agent = "agent1";
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, bridged));
    assert_non_null(strstr(f->agent_ruri, "INVITE sip:agent1@"));
    assert_int_equal(bridge_hangup(f->bridge, id), 0);
    f->want_cdrs = 2;
    assert_true(run_until(f, cdrs_reached));
    assert_string_equal(f->result, "answered");
    assert_string_equal(f->agent_name, "agent1");
    assert_int_equal(f->picks, 0);
    assert_clean(f);
}

/* The picker may hang the call up itself; its answer is then ignored. */
static void picker_hanging_up_the_call(void **state)
{
    struct fixture *f = *state;
    use_picker(f);
    f->mode = ANSWER;
    f->pick_hangs_up = 1;
    f->pick_names[0] = "agent1";
    struct bridge_dial d = {.number = "5551000", .trunk_target = CARRIER};
    uint64_t id;
    assert_int_equal(bridge_dial(f->bridge, &d, &id), 0);
    assert_true(run_until(f, has_cdr));
    assert_string_equal(f->result, "dropped");
    assert_string_equal(f->end_reason, "local-hangup");
    assert_int_equal(f->agent_invites, 0);
    assert_int_equal(f->byes, 1);
    assert_clean(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hangup_while_ringing_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(unusable_answer_sdp_hangs_up_the_carrier, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unregistered_agent_ends_the_answered_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(absent_carrier_fails_the_call, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(failover_from_a_dead_trunk_to_the_next, setup, teardown),
        cmocka_unit_test_setup_teardown(every_trunk_fails_then_none_is_left, setup, teardown),
        cmocka_unit_test_setup_teardown(a_call_waits_for_cps_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(hangup_while_waiting_for_cps_sends_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(routed_dial_needs_a_dial_string, setup, teardown),
        cmocka_unit_test_setup_teardown(picked_agent_is_chosen_at_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(no_free_agent_abandons_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(unreachable_pick_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(second_pick_failing_abandons, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_failing_after_two_seconds_abandons, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(named_agent_ignores_the_picker, setup, teardown),
        cmocka_unit_test_setup_teardown(picker_hanging_up_the_call, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
