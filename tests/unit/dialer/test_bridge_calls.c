/* The bridge (src/dialer/bridge.h) driving the real SIP and media engines against a tiny
 * scripted carrier in this process (one UDP socket on the same loop). It covers the paths
 * the integration test cannot force: a hangup while ringing, a carrier answer with unusable
 * SDP, a carrier that is not there, bad arguments, and over a trunk set: failover from a
 * dead trunk, every trunk failing (then out of rotation and probed), a call waiting for CPS
 * budget; after each, no call, SIP leg, media session or trunk channel may remain and no
 * move may be illegal.
 * Loopback only, ports 19700-19799 (SIP 19700, carrier 19702, dead 19704/19706, RTP
 * 19710-19799). */
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

#include "bridge.h"
#include "trunk.h"

#define SIP_BIND "127.0.0.1:19700"
#define CARRIER_PORT 19702
#define CARRIER "sip:5551000@127.0.0.1:19702"
#define DEAD_CARRIER "sip:5551000@127.0.0.1:19704"
#define FAST_PROBES                                                                        \
    "\"health\": {\"probe_interval_ms\": 200, \"probe_timeout_ms\": 150, "                 \
    "\"hold_ms\": 60000, \"hold_max_ms\": 60000}"

enum carrier_mode { RING, ANSWER_BAD_SDP, ANSWER };

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
    int n_cdrs, want_cdrs, n_cancelled;
    uint64_t until_ms;
    struct bridge_cdr cdr; /* strings not kept: results are static */
    char result[32], end_reason[32];
    char trunk[64], trunks_tried[256], caller_id[24]; /* the CDR's strings die with it */
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

static void reply(struct fixture *f, const struct sockaddr *to, const char *req, int status,
                  const char *phrase, const char *sdp, const char *cseq_override)
{
    char msg[8192];
    size_t n = (size_t)snprintf(msg, sizeof msg, "SIP/2.0 %d %s\r\n", status, phrase);
    n += copy_headers(req, msg + n, sizeof msg - n, cseq_override);
    n += (size_t)snprintf(msg + n, sizeof msg - n,
                          "Contact: <sip:carrier@127.0.0.1:%d>\r\n%sContent-Length: %zu\r\n\r\n%s",
                          CARRIER_PORT, sdp ? "Content-Type: application/sdp\r\n" : "",
                          sdp ? strlen(sdp) : 0, sdp ? sdp : "");
    uv_buf_t b = uv_buf_init(msg, (unsigned)n);
    uv_udp_try_send(&f->carrier, &b, 1, to);
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
        if (f->mode == RING) {
            reply(f, from, req, 180, "Ringing", NULL, NULL);
        } else if (f->mode == ANSWER) {
            reply(f, from, req, 200, "OK",
                  "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                  "m=audio 19790 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
                  NULL);
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
        reply(f, from, req, 200, "OK", NULL, NULL);
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
}

static void on_sip(struct sip_engine *e, const struct sip_event *ev, void *data)
{
    (void)e;
    struct fixture *f = data;
    if (f->bridge) {
        bridge_on_sip_event(f->bridge, ev);
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

static int teardown(void **state)
{
    struct fixture *f = *state;
    bridge_free(f->bridge);
    f->bridge = NULL;
    trunk_set_free(f->trunks);
    sip_engine_free(f->sip);
    media_engine_free(f->media);
    uv_close((uv_handle_t *)&f->carrier, NULL);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
