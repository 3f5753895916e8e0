/* waihu-carrier: a simulated carrier (SIP UAS on sofia-sip nua) for tests, demos and
 * benchmarks. It answers, rings, rejects or fails calls by rules, streams prompts as RTP,
 * hangs up after a sampled talk time and logs every INVITE as one JSON line (docs/sip.md). */
#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct carrier;
struct ccall;
#define SU_ROOT_MAGIC_T struct carrier
#define NUA_MAGIC_T struct carrier
#define NUA_HMAGIC_T struct ccall
#define SU_TIMER_ARG_T struct ccall

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>

#include "common.h"
#include "rules.h"
#include "simmedia.h"

#define MOD "carrier"

struct ccall {
    struct carrier *c;
    nua_handle_t *nh;
    su_timer_t *timer;
    struct ccall *prev, *next; /* streaming calls */
    char call_id[128], number[48], from[128], transport[8], rx_wav[512];
    struct plan plan;
    struct sim_sdp_offer offer;
    int offer_ok, answered, final_code, cancelled, hungup_by_us;
    uint64_t invite_ms, answer_ms;
    struct sim_rtp rtp;
};

struct carrier {
    su_root_t *root;
    nua_t *nua;
    su_timer_t *tick;
    struct rules rules;
    FILE *log;
    char addr[64];
    struct sim_ports ports;
    int rtp_enabled;
    const char *rx_dir; /* --rx-dir: each answered call's received audio as a WAV */
    struct sim_audio human, voicemail;
    struct ccall *streams;
    long long fail_after, fail_count, invites;
    uint64_t session_seq;
    long long n_answered, n_rejected, n_cancelled, n_503, n_options;
    int options_503; /* OPTIONS get 503 while INVITEs do */
    int shutting_down;
};

static volatile sig_atomic_t sig_stop, sig_503 = -1;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        sig_503 = 1;
    } else if (sig == SIGUSR2) {
        sig_503 = 0;
    } else {
        sig_stop = 1;
    }
}

static void log_line(struct carrier *c, json_t *obj)
{
    if (c->log && obj) {
        json_object_set_new(obj, "ts_ms", json_integer(clock_wall_ms()));
        json_dumpf(obj, c->log, JSON_COMPACT);
        fputc('\n', c->log);
    }
    json_decref(obj);
}

static void stream_add(struct carrier *c, struct ccall *k)
{
    k->next = c->streams;
    k->prev = NULL;
    if (c->streams) {
        c->streams->prev = k;
    }
    c->streams = k;
}

static void stream_remove(struct carrier *c, struct ccall *k)
{
    if (k->prev) {
        k->prev->next = k->next;
    } else if (c->streams == k) {
        c->streams = k->next;
    }
    if (k->next) {
        k->next->prev = k->prev;
    }
    k->prev = k->next = NULL;
}

/* Milliseconds from `from` to t, or -1 when t never came. */
static json_int_t since(uint64_t t, uint64_t from)
{
    return t ? (json_int_t)t - (json_int_t)from : -1;
}

static void call_finish(struct ccall *k)
{
    struct carrier *c = k->c;
    const char *result = k->answered ? "answered" : k->cancelled ? "cancelled"
                         : k->final_code >= 300 ? "rejected" : "abandoned";
    uint64_t now = clock_now_ms();
    json_t *line = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:I,s:I,s:I}", "ev", "end", "call_id",
                             k->call_id, "number", k->number, "result", result, "code",
                             k->final_code, "hangup",
                             !k->answered ? "none" : k->hungup_by_us ? "carrier" : "caller",
                             "talk_ms", (json_int_t)(k->answered ? now - k->answer_ms : 0),
                             "rtp_sent", (json_int_t)k->rtp.frames_sent, "rtp_recv",
                             (json_int_t)k->rtp.packets_recv);
    if (k->answered && line) { /* what was heard: times from our 200 OK, one stream or not */
        const struct sim_rx *rx = &k->rtp.rx;
        json_object_update_new(
            line, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:i}", "rx_first_ms",
                            since(rx->first_ms, k->answer_ms), "rx_first_voice_ms",
                            since(rx->first_voice_ms, k->answer_ms),
                            "rx_voiced", (json_int_t)rx->voiced, "rx_ssrc_changes",
                            (json_int_t)rx->ssrc_changes, "rx_seq_breaks",
                            (json_int_t)rx->seq_breaks, "rx_markers", (json_int_t)rx->markers,
                            "dtmf_sent", (int)k->rtp.dtmf_sent));
        if (k->rx_wav[0]) {
            json_object_set_new(line, "rx_wav", json_string(k->rx_wav));
        }
    }
    log_line(c, line);
    if (k->answered) {
        c->n_answered++;
    } else if (k->cancelled) {
        c->n_cancelled++;
    } else {
        c->n_rejected++;
    }
    stream_remove(c, k);
    sim_rtp_close(&k->rtp);
    if (k->timer) {
        su_timer_destroy(k->timer);
    }
    nua_handle_bind(k->nh, NULL);
    nua_handle_destroy(k->nh);
    free(k);
}

static void on_talk_done(struct carrier *c, su_timer_t *t, struct ccall *k)
{
    (void)c, (void)t;
    k->hungup_by_us = 1;
    nua_bye(k->nh, TAG_END());
}

/* --rx-dir: <dir>/<Call-ID, other than [A-Za-z0-9._-] as _>.wav */
static void record_rx(struct carrier *c, struct ccall *k)
{
    char name[128];
    size_t i = 0;
    for (; k->call_id[i] && i + 1 < sizeof name; i++) {
        char ch = k->call_id[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '-' || ch == '_';
        name[i] = ok ? ch : '_';
    }
    name[i] = '\0';
    snprintf(k->rx_wav, sizeof k->rx_wav, "%s/%s.wav", c->rx_dir, name);
    if (sim_rtp_record(&k->rtp, k->rx_wav) != 0) {
        LOG_W(MOD, "%s: cannot write", k->rx_wav);
        k->rx_wav[0] = '\0';
    }
}

static void answer(struct ccall *k)
{
    struct carrier *c = k->c;
    char sdp[1024];
    uint16_t port = c->ports.lo;
    if (c->rtp_enabled && sim_rtp_open(&k->rtp, &c->ports, c->addr) == 0) {
        port = k->rtp.local_port;
    }
    sim_sdp_write(sdp, sizeof sdp, c->addr, port, &k->offer, ++c->session_seq);
    k->final_code = 200;
    nua_respond(k->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    k->answered = 1;
    k->answer_ms = clock_now_ms();
    if (k->rtp.fd >= 0) {
        const struct sim_audio *audio =
            k->plan.audio ? k->plan.audio
            : k->plan.outcome == OUTCOME_VOICEMAIL ? &c->voicemail : &c->human;
        sim_rtp_start(&k->rtp, &k->offer, audio->samples ? audio : NULL, k->answer_ms);
        if (k->plan.dtmf[0]) {
            sim_rtp_dtmf(&k->rtp, k->plan.dtmf, k->answer_ms + k->plan.dtmf_at_ms,
                         k->offer.dtmf_pt);
        }
        if (c->rx_dir) {
            record_rx(c, k);
        }
        stream_add(c, k);
    }
    su_timer_set_interval(k->timer, on_talk_done, k, k->plan.talk_ms);
}

static void reject(struct ccall *k, int code)
{
    k->final_code = code;
    nua_respond(k->nh, code, sip_status_phrase(code) ? sip_status_phrase(code) : "Rejected",
                TAG_END());
}

static int answers(enum outcome o)
{
    return o == OUTCOME_ANSWER || o == OUTCOME_HUMAN || o == OUTCOME_VOICEMAIL;
}

static void on_ring_done(struct carrier *c, su_timer_t *t, struct ccall *k)
{
    (void)c, (void)t;
    if (answers(k->plan.outcome)) {
        answer(k);
    } else {
        reject(k, k->plan.code);
    }
}

static int failing_503(struct carrier *c)
{
    if (sig_503 >= 0) {
        return sig_503;
    }
    if (c->fail_after < 0 || c->invites <= c->fail_after) {
        return 0;
    }
    return c->fail_count == 0 || c->invites <= c->fail_after + c->fail_count;
}

static void on_invite(struct carrier *c, nua_handle_t *nh, sip_t const *sip)
{
    struct ccall *k = calloc(1, sizeof *k);
    if (!k) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    k->c = c;
    k->nh = nh;
    k->rtp.fd = -1;
    k->invite_ms = clock_now_ms();
    nua_handle_bind(nh, k);
    k->timer = su_timer_create(su_root_task(c->root), 0);
    const char *user = sip->sip_request->rq_url->url_user;
    snprintf(k->number, sizeof k->number, "%s", user ? user : "");
    if (sip->sip_from) {
        snprintf(k->from, sizeof k->from, "%s@%s",
                 sip->sip_from->a_url->url_user ? sip->sip_from->a_url->url_user : "",
                 sip->sip_from->a_url->url_host ? sip->sip_from->a_url->url_host : "");
    }
    snprintf(k->call_id, sizeof k->call_id, "%s", sip->sip_call_id ? sip->sip_call_id->i_id : "");
    snprintf(k->transport, sizeof k->transport, "%s",
             sip->sip_via && sip->sip_via->v_protocol ? sip->sip_via->v_protocol + 8 : "?");
    if (sip->sip_payload && sip->sip_payload->pl_len < 4096) {
        char body[4096];
        memcpy(body, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
        body[sip->sip_payload->pl_len] = '\0';
        k->offer_ok = sim_sdp_parse(body, &k->offer) == 0;
    }
    c->invites++;
    rules_plan(&c->rules, k->number, &k->plan);
    const char *outcome = outcome_name(k->plan.outcome);
    int code = answers(k->plan.outcome) ? 200 : k->plan.code;
    if (failing_503(c)) {
        outcome = "fail-503";
        code = 503;
        c->n_503++;
    } else if (answers(k->plan.outcome) && !k->offer_ok) {
        outcome = "no-sdp";
        code = 488;
    }
    log_line(c, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i}", "ev", "invite", "call_id",
                          k->call_id, "number", k->number, "from", k->from, "transport",
                          k->transport, "outcome", outcome, "code", code, "ring_ms",
                          (int)k->plan.ring_ms, "talk_ms", (int)k->plan.talk_ms));
    if (code == 503 || code == 488) {
        reject(k, code);
    } else if (k->plan.ring_ms == 0) {
        on_ring_done(c, NULL, k);
    } else {
        nua_respond(nh, SIP_180_RINGING, TAG_END());
        su_timer_set_interval(k->timer, on_ring_done, k, k->plan.ring_ms);
    }
}

/* OPTIONS (trunk probes): 200, or 503 during a 503 burst with --options-503. */
static void on_options(struct carrier *c, nua_handle_t *nh, sip_t const *sip)
{
    int code = c->options_503 && failing_503(c) ? 503 : 200;
    c->n_options++;
    log_line(c, json_pack("{s:s,s:s,s:s,s:i}", "ev", "options", "call_id",
                          sip && sip->sip_call_id ? sip->sip_call_id->i_id : "", "from",
                          sip && sip->sip_from && sip->sip_from->a_url->url_user
                              ? sip->sip_from->a_url->url_user
                              : "",
                          "code", code));
    nua_respond(nh, code, sip_status_phrase(code), NUTAG_WITH_THIS(c->nua), TAG_END());
    nua_handle_destroy(nh);
}

static void on_event(nua_event_t event, int status, char const *phrase, nua_t *nua,
                     struct carrier *c, nua_handle_t *nh, struct ccall *k, sip_t const *sip,
                     tagi_t tags[])
{
    (void)phrase, (void)nua;
    switch (event) {
    case nua_i_invite:
        if (status < 300 && sip && sip->sip_request) {
            on_invite(c, nh, sip);
        }
        break;
    case nua_i_options:
        on_options(c, nh, sip);
        break;
    case nua_i_cancel:
        if (k) {
            k->cancelled = 1;
            su_timer_reset(k->timer);
        }
        break;
    case nua_i_state: {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state == nua_callstate_terminated) {
            if (k) {
                call_finish(k);
            } else {
                nua_handle_destroy(nh);
            }
        }
        break;
    }
    case nua_r_shutdown:
        if (status >= 200) {
            su_root_break(c->root);
        }
        break;
    default:
        break;
    }
}

static void on_tick(struct carrier *c, su_timer_t *t, struct ccall *unused)
{
    (void)t, (void)unused;
    uint64_t now = clock_now_ms();
    for (struct ccall *k = c->streams; k; k = k->next) {
        sim_rtp_tick(&k->rtp, now);
    }
    if (c->log) {
        fflush(c->log);
    }
    if (sig_stop && !c->shutting_down) {
        c->shutting_down = 1;
        nua_shutdown(c->nua);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: waihu-carrier [options]\n"
            "  --listen A:P           SIP on UDP and TCP (default 127.0.0.1:15060)\n"
            "  --rules FILE           JSON rules: numbers, stats shares, ring_ms, talk_ms\n"
            "  --log FILE             JSON lines: one per INVITE and one per call end\n"
            "  --human-wav FILE       8 kHz prompt for answered/human calls\n"
            "  --voicemail-wav FILE   8 kHz greeting + beep for voicemail calls\n"
            "  --rtp-ports LO-HI      RTP ports (default 16000-16999)\n"
            "  --no-rtp               advertise a port but send no RTP (benchmarks)\n"
            "  --rx-dir DIR           each answered call's received audio: DIR/<Call-ID>.wav\n"
            "  --fail-503-after N     answer 503 to every INVITE after the Nth\n"
            "  --fail-503-count M     ...for M INVITEs only (0: until SIGUSR2)\n"
            "  --options-503          answer OPTIONS 503 during a burst too (else 200)\n"
            "  --seed N               random seed (default 1)\n"
            "SIGUSR1 starts a 503 burst, SIGUSR2 ends it; SIGTERM stops.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},    {"rules", required_argument, 0, 'r'},
        {"log", required_argument, 0, 'o'},       {"human-wav", required_argument, 0, 'H'},
        {"voicemail-wav", required_argument, 0, 'V'},
        {"rtp-ports", required_argument, 0, 'p'}, {"no-rtp", no_argument, 0, 'n'},
        {"rx-dir", required_argument, 0, 'X'},
        {"fail-503-after", required_argument, 0, 'f'},
        {"fail-503-count", required_argument, 0, 'F'},
        {"options-503", no_argument, 0, 'O'},
        {"seed", required_argument, 0, 's'},      {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct carrier c = {.fail_after = -1, .rtp_enabled = 1};
    const char *listen = "127.0.0.1:15060", *rules_path = NULL, *log_path = NULL;
    const char *human = NULL, *voicemail = NULL;
    unsigned lo = 16000, hi = 16999;
    unsigned long long seed = 1;
    char err[512];
    int opt, rc = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': listen = optarg; break;
        case 'r': rules_path = optarg; break;
        case 'o': log_path = optarg; break;
        case 'H': human = optarg; break;
        case 'V': voicemail = optarg; break;
        case 'n': c.rtp_enabled = 0; break;
        case 'X': c.rx_dir = optarg; break;
        case 'f': c.fail_after = atoll(optarg); break;
        case 'F': c.fail_count = atoll(optarg); break;
        case 'O': c.options_503 = 1; break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'p':
            if (sscanf(optarg, "%u-%u", &lo, &hi) != 2 || lo > hi || hi > 65535 || lo < 1024) {
                fprintf(stderr, "--rtp-ports: want LO-HI within 1024-65535\n");
                return 2;
            }
            break;
        default: usage(); return opt == 'h' ? 0 : 2;
        }
    }
    struct sockaddr_in sa;
    if (addr_parse_ipv4(listen, &sa) != 0) {
        fprintf(stderr, "--listen %s: want a.b.c.d:port\n", listen);
        return 2;
    }
    inet_ntop(AF_INET, &sa.sin_addr, c.addr, sizeof c.addr);
    c.ports = (struct sim_ports){(uint16_t)lo, (uint16_t)hi, (uint16_t)lo};
    rules_init(&c.rules, seed);
    if (rules_path && rules_load(&c.rules, rules_path, err, sizeof err) != 0) {
        fprintf(stderr, "waihu-carrier: %s\n", err);
        return 2;
    }
    if ((human && sim_audio_load(human, &c.human, err, sizeof err) != 0) ||
        (voicemail && sim_audio_load(voicemail, &c.voicemail, err, sizeof err) != 0)) {
        fprintf(stderr, "waihu-carrier: %s\n", err);
        goto out;
    }
    if (log_path) {
        c.log = fopen(log_path, "a");
        if (!c.log) {
            perror(log_path);
            goto out;
        }
        setvbuf(c.log, NULL, _IOFBF, 1 << 16);
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGUSR1, &act, NULL);
    sigaction(SIGUSR2, &act, NULL);

    su_init();
    su_log_set_level(NULL, 0);
    c.root = su_root_create(&c);
    char url[96];
    snprintf(url, sizeof url, "sip:%s:%u", c.addr, ntohs(sa.sin_port));
    c.nua = nua_create(c.root, on_event, &c, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                       NUTAG_AUTOALERT(0), NUTAG_AUTOANSWER(0), NUTAG_ENABLEMESSAGE(0),
                       NUTAG_ALLOW("INVITE, ACK, BYE, CANCEL, OPTIONS"),
                       NUTAG_APPL_METHOD("OPTIONS"),
                       SIPTAG_USER_AGENT_STR("waihu-carrier"),
                       TPTAG_UDP_RMEM(4u << 20), /* load runs: no drops */ TAG_END());
    if (!c.nua) {
        fprintf(stderr, "waihu-carrier: cannot listen on %s\n", url);
        goto out_root;
    }
    c.tick = su_timer_create(su_root_task(c.root), 20);
    su_timer_set_for_ever(c.tick, on_tick, NULL);
    LOG_I(MOD, "listening on %s (udp, tcp)", url);
    su_root_run(c.root);
    nua_destroy(c.nua);
    su_timer_destroy(c.tick);
    fprintf(stderr,
            "{\"invites\":%lld,\"answered\":%lld,\"rejected\":%lld,\"cancelled\":%lld,"
            "\"fail_503\":%lld,\"options\":%lld}\n",
            c.invites, c.n_answered, c.n_rejected, c.n_cancelled, c.n_503, c.n_options);
    rc = 0;
out_root:
    su_root_destroy(c.root);
    su_deinit();
out:
    if (c.log) {
        fclose(c.log);
    }
    sim_audio_free(&c.human);
    sim_audio_free(&c.voicemail);
    rules_free(&c.rules);
    return rc;
}
