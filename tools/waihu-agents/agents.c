/* waihu-agents: N simulated agent softphones on one sofia-sip nua. Each registers with
 * digest auth, auto-answers INVITEs after a short ring, streams a WAV (or silence) as RTP,
 * hangs up after a sampled talk time and logs one JSON line per call (docs/sip.md).
 * Given several registrars, a softphone whose registration fails moves to the next one,
 * as a real softphone with a backup server does when its node dies. */
#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim;
struct leg;
#define SU_ROOT_MAGIC_T struct sim
#define NUA_MAGIC_T struct sim
#define NUA_HMAGIC_T struct leg
#define SU_TIMER_ARG_T struct leg

#include <sofia-sip/nua.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>

#include "common.h"
#include "simmedia.h"

#define MOD "agents"

#define MAX_REGISTRARS 4
#define FAILOVER_DELAY_MS 300 /* before trying the next registrar */
#define PING_MS 1000          /* OPTIONS to each registrar in use: a dead one is left at once */

struct agent {
    char user[64], password[64];
    nua_handle_t *reg;
    int registered, auth_tries;
    int reg_index; /* which registrar it uses */
    long calls;
};

/* One handle: a registration (agent's reg) or a call. */
struct leg {
    struct sim *s;
    struct agent *agent;
    int is_call;
    nua_handle_t *nh;
    su_timer_t *timer;
    struct leg *prev, *next;
    char call_id[128], from[128];
    struct sim_sdp_offer offer;
    int offer_ok, answered, hungup_by_us, auth_tries;
    int ping_of; /* a registrar's keepalive handle: its index + 1, else 0 */
    uint32_t talk_ms;
    uint64_t answer_ms;
    struct sim_rtp rtp;
};

struct sim {
    su_root_t *root;
    nua_t *nua;
    su_timer_t *tick;
    struct agent *agents;
    int n_agents;
    char registrars[MAX_REGISTRARS][96], addr[64];
    int n_registrars;
    char expires[16];
    struct leg *pings[MAX_REGISTRARS]; /* OPTIONS keepalives, with failover only */
    uint32_t ring_ms, talk_min_ms, talk_max_ms;
    struct sim_ports ports;
    struct sim_audio audio;
    struct leg *streams;
    struct leg *reg_legs;
    FILE *log;
    uint64_t rng;
    int shutting_down, registered;
};

static volatile sig_atomic_t sig_stop;

static void on_signal(int sig)
{
    (void)sig;
    sig_stop = 1;
}

static void log_line(struct sim *s, json_t *obj)
{
    if (obj) {
        json_object_set_new(obj, "ts_ms", json_integer(clock_wall_ms()));
        json_dumpf(obj, s->log, JSON_COMPACT);
        fputc('\n', s->log);
        fflush(s->log);
    }
    json_decref(obj);
}

static void stream_remove(struct sim *s, struct leg *l)
{
    if (l->prev) {
        l->prev->next = l->next;
    } else if (s->streams == l) {
        s->streams = l->next;
    }
    if (l->next) {
        l->next->prev = l->prev;
    }
    l->prev = l->next = NULL;
}

static struct agent *agent_of(struct sim *s, const char *user)
{
    for (int i = 0; user && i < s->n_agents; i++) {
        if (strcmp(s->agents[i].user, user) == 0) {
            return &s->agents[i];
        }
    }
    return NULL;
}

static void call_finish(struct leg *l)
{
    struct sim *s = l->s;
    uint64_t now = clock_now_ms();
    log_line(s, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "ev", "call", "agent",
                          l->agent ? l->agent->user : "?", "call_id", l->call_id, "from",
                          l->from, "result", l->answered ? "answered" : "missed", "hangup",
                          l->hungup_by_us ? "agent" : "remote", "talk_ms",
                          (json_int_t)(l->answered ? now - l->answer_ms : 0), "rtp_sent",
                          (json_int_t)l->rtp.frames_sent, "rtp_recv",
                          (json_int_t)l->rtp.packets_recv));
    stream_remove(s, l);
    sim_rtp_close(&l->rtp);
    su_timer_destroy(l->timer);
    nua_handle_bind(l->nh, NULL);
    nua_handle_destroy(l->nh);
    free(l);
}

static void on_talk_done(struct sim *s, su_timer_t *t, struct leg *l)
{
    (void)s, (void)t;
    l->hungup_by_us = 1;
    nua_bye(l->nh, TAG_END());
}

static void on_ring_done(struct sim *s, su_timer_t *t, struct leg *l)
{
    (void)t;
    char sdp[1024];
    if (!l->offer_ok) {
        nua_respond(l->nh, SIP_488_NOT_ACCEPTABLE, TAG_END());
        return;
    }
    uint16_t port = s->ports.lo;
    if (sim_rtp_open(&l->rtp, &s->ports, s->addr) == 0) {
        port = l->rtp.local_port;
    }
    sim_sdp_write(sdp, sizeof sdp, s->addr, port, &l->offer, sim_rand(&s->rng) >> 16);
    nua_respond(l->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    l->answered = 1;
    l->answer_ms = clock_now_ms();
    if (l->rtp.fd >= 0) {
        sim_rtp_start(&l->rtp, &l->offer, s->audio.samples ? &s->audio : NULL, l->answer_ms);
        l->next = s->streams;
        if (s->streams) {
            s->streams->prev = l;
        }
        s->streams = l;
    }
    su_timer_set_interval(l->timer, on_talk_done, l, l->talk_ms);
}

static void on_invite(struct sim *s, nua_handle_t *nh, sip_t const *sip)
{
    struct leg *l = calloc(1, sizeof *l);
    if (!l) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    l->s = s;
    l->is_call = 1;
    l->nh = nh;
    l->rtp.fd = -1;
    l->agent = agent_of(s, sip->sip_request->rq_url->url_user);
    l->timer = su_timer_create(su_root_task(s->root), 0);
    nua_handle_bind(nh, l);
    snprintf(l->call_id, sizeof l->call_id, "%s", sip->sip_call_id ? sip->sip_call_id->i_id : "");
    if (sip->sip_from) {
        snprintf(l->from, sizeof l->from, "%s",
                 sip->sip_from->a_url->url_user ? sip->sip_from->a_url->url_user : "");
    }
    if (sip->sip_payload && sip->sip_payload->pl_len < 4096) {
        char body[4096];
        memcpy(body, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
        body[sip->sip_payload->pl_len] = '\0';
        l->offer_ok = sim_sdp_parse(body, &l->offer) == 0;
    }
    l->talk_ms = s->talk_min_ms +
                 (uint32_t)(sim_rand01(&s->rng) * (double)(s->talk_max_ms - s->talk_min_ms));
    if (!l->agent) {
        nua_respond(nh, SIP_404_NOT_FOUND, TAG_END());
        return;
    }
    l->agent->calls++;
    nua_respond(nh, SIP_180_RINGING, TAG_END());
    su_timer_set_interval(l->timer, on_ring_done, l, s->ring_ms ? s->ring_ms : 1);
}

static void register_at(struct sim *s, struct leg *l)
{
    struct agent *a = l->agent;
    const char *registrar = s->registrars[a->reg_index];
    char aor[160], url[128];
    snprintf(aor, sizeof aor, "sip:%s@%s", a->user, registrar);
    snprintf(url, sizeof url, "sip:%s", registrar);
    l->nh = a->reg = nua_handle(s->nua, l, SIPTAG_TO_STR(aor), SIPTAG_FROM_STR(aor), TAG_END());
    l->auth_tries = 0;
    nua_register(l->nh, NUTAG_REGISTRAR(URL_STRING_MAKE(url)), NUTAG_M_USERNAME(a->user),
                 SIPTAG_EXPIRES_STR(s->expires),
                 NUTAG_OUTBOUND("no-options-keepalive, no-validate, no-natify"), TAG_END());
}

static void on_failover(struct sim *s, su_timer_t *t, struct leg *l)
{
    (void)t;
    if (!s->shutting_down) {
        register_at(s, l);
    }
}

/* The registrar did not take the registration (it is down, or refused): the next one. */
static void fail_over(struct sim *s, struct leg *l, int status)
{
    struct agent *a = l->agent;
    int from = a->reg_index;
    a->reg_index = (a->reg_index + 1) % s->n_registrars;
    log_line(s, json_pack("{s:s,s:s,s:i,s:s,s:s}", "ev", "failover", "agent", a->user, "status",
                          status, "from", s->registrars[from], "to",
                          s->registrars[a->reg_index]));
    nua_handle_destroy(l->nh);
    l->nh = a->reg = NULL;
    if (l->timer == NULL) {
        l->timer = su_timer_create(su_root_task(s->root), 0);
    }
    su_timer_set_interval(l->timer, on_failover, l, FAILOVER_DELAY_MS);
}

/* A registrar did not answer its keepalive: every agent registered there moves on. */
static void on_r_ping(struct sim *s, int status, struct leg *p)
{
    if ((status != 408 && status < 500) || s->shutting_down) { /* any answer: alive */
        return;
    }
    int dead = p->ping_of - 1;
    for (struct leg *l = s->reg_legs; l; l = l->next) {
        if (l->agent->reg_index == dead && l->nh != NULL) {
            if (l->agent->registered) {
                l->agent->registered = 0;
                s->registered--;
            }
            fail_over(s, l, status);
        }
    }
}

static void ping_registrars(struct sim *s)
{
    for (int i = 0; i < s->n_registrars; i++) {
        struct leg *p = s->pings[i];
        int in_use = 0;
        for (int k = 0; k < s->n_agents && !in_use; k++) {
            in_use = s->agents[k].reg_index == i;
        }
        if (p != NULL && in_use) {
            char url[128];
            snprintf(url, sizeof url, "sip:%s", s->registrars[i]);
            nua_options(p->nh, NUTAG_URL(URL_STRING_MAKE(url)), TAG_END());
        }
    }
}

static void on_r_register(struct sim *s, int status, struct leg *l, sip_t const *sip)
{
    struct agent *a = l->agent;
    if ((status == 401 || status == 407) && l->auth_tries++ < 3 && sip) {
        const msg_auth_t *ch = status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
        const char *realm = ch ? msg_params_find(ch->au_params, "realm=") : NULL;
        char auth[256];
        snprintf(auth, sizeof auth, "Digest:%s:%s:%s", realm ? realm : "\"waihu\"", a->user,
                 a->password);
        nua_authenticate(l->nh, NUTAG_AUTH(auth), TAG_END());
        return;
    }
    if (status < 200) {
        return;
    }
    int ok = status < 300;
    l->auth_tries = 0;
    if (ok && !a->registered && !s->shutting_down) {
        s->registered++;
    } else if (!ok && a->registered) {
        s->registered--;
    }
    a->registered = ok && !s->shutting_down;
    log_line(s, json_pack("{s:s,s:s,s:i,s:i,s:s}", "ev", "register", "agent", a->user, "status",
                          status, "registered", s->registered, "registrar",
                          s->registrars[a->reg_index]));
    if (!ok && !s->shutting_down && s->n_registrars > 1) {
        fail_over(s, l, status);
    }
}

static void on_event(nua_event_t event, int status, char const *phrase, nua_t *nua,
                     struct sim *s, nua_handle_t *nh, struct leg *l, sip_t const *sip,
                     tagi_t tags[])
{
    (void)phrase, (void)nua;
    switch (event) {
    case nua_i_invite:
        if (!l && status < 300 && sip) {
            on_invite(s, nh, sip);
        }
        break;
    case nua_r_register:
        if (l) {
            on_r_register(s, status, l, sip);
        }
        break;
    case nua_r_options:
        if (l && l->ping_of) {
            on_r_ping(s, status, l);
        }
        break;
    case nua_r_unregister:
        if (l && (status == 401 || status == 407)) {
            on_r_register(s, status, l, sip); /* answers the challenge */
        }
        break;
    case nua_i_state: {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state == nua_callstate_terminated) {
            if (l && l->is_call) {
                call_finish(l);
            } else if (!l) {
                nua_handle_destroy(nh);
            }
        }
        break;
    }
    case nua_r_shutdown:
        if (status >= 200) {
            su_root_break(s->root);
        }
        break;
    default:
        break;
    }
}

static void start_registrations(struct sim *s)
{
    for (int i = 0; i < s->n_agents; i++) {
        struct agent *a = &s->agents[i];
        struct leg *l = calloc(1, sizeof *l);
        if (!l) {
            continue;
        }
        l->s = s;
        l->agent = a;
        l->rtp.fd = -1;
        l->next = s->reg_legs;
        s->reg_legs = l;
        register_at(s, l);
    }
    for (int i = 0; s->n_registrars > 1 && i < s->n_registrars; i++) {
        struct leg *p = calloc(1, sizeof *p);
        if (p) {
            char uri[128];
            snprintf(uri, sizeof uri, "sip:ping@%s", s->registrars[i]);
            p->s = s;
            p->rtp.fd = -1;
            p->ping_of = i + 1;
            p->nh = nua_handle(s->nua, p, SIPTAG_TO_STR(uri), TAG_END());
            s->pings[i] = p;
        }
    }
}

static void on_tick(struct sim *s, su_timer_t *t, struct leg *unused)
{
    (void)t, (void)unused;
    uint64_t now = clock_now_ms();
    static uint64_t next_ping;
    if (s->n_registrars > 1 && now >= next_ping && !s->shutting_down) {
        next_ping = now + PING_MS;
        ping_registrars(s);
    }
    for (struct leg *l = s->streams; l; l = l->next) {
        sim_rtp_tick(&l->rtp, now);
    }
    if (sig_stop && !s->shutting_down) {
        s->shutting_down = 1;
        for (struct leg *l = s->reg_legs; l; l = l->next) {
            if (l->nh != NULL) {
                nua_unregister(l->nh, TAG_END());
            }
        }
        nua_shutdown(s->nua);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: waihu-agents --registrar A:P[,B:P...] [options]\n"
            "  --registrar LIST      registrars in order of preference: a failed registration\n"
            "                        (node down, 503, timeout) moves the agent to the next\n"
            "  --expires S           registration lifetime (default 3600; short with failover)\n"
            "  --listen A:P          our SIP address (default 127.0.0.1:15200, UDP)\n"
            "  --count N             agents (default 1)\n"
            "  --user-prefix P       user names P1..PN (default \"agent\")\n"
            "  --password-prefix P   passwords P1..PN (default \"secret\")\n"
            "  --ring-ms N           answer after N ms (default 200)\n"
            "  --talk-ms MIN-MAX     talk time before our BYE (default 2000-5000)\n"
            "  --wav FILE            8 kHz prompt to send (default silence)\n"
            "  --rtp-ports LO-HI     (default 17000-17499)\n"
            "  --log FILE            JSON lines (default stdout)\n"
            "  --seed N\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"registrar", required_argument, 0, 'R'}, {"listen", required_argument, 0, 'l'},
        {"count", required_argument, 0, 'n'},     {"user-prefix", required_argument, 0, 'u'},
        {"password-prefix", required_argument, 0, 'p'},
        {"ring-ms", required_argument, 0, 'r'},   {"talk-ms", required_argument, 0, 't'},
        {"wav", required_argument, 0, 'w'},       {"rtp-ports", required_argument, 0, 'P'},
        {"log", required_argument, 0, 'o'},       {"seed", required_argument, 0, 's'},
        {"expires", required_argument, 0, 'e'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct sim s = {.ring_ms = 200, .talk_min_ms = 2000, .talk_max_ms = 5000, .n_agents = 1,
                    .rng = 7, .log = stdout};
    const char *listen = "127.0.0.1:15200", *registrar = NULL, *wav = NULL, *log_path = NULL;
    const char *user_prefix = "agent", *password_prefix = "secret";
    unsigned lo = 17000, hi = 17499, tmin, tmax;
    char err[512];
    int opt, rc = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'R': registrar = optarg; break;
        case 'e': snprintf(s.expires, sizeof s.expires, "%d", atoi(optarg)); break;
        case 'l': listen = optarg; break;
        case 'n': s.n_agents = atoi(optarg); break;
        case 'u': user_prefix = optarg; break;
        case 'p': password_prefix = optarg; break;
        case 'r': s.ring_ms = (uint32_t)atoi(optarg); break;
        case 'w': wav = optarg; break;
        case 'o': log_path = optarg; break;
        case 's': s.rng = strtoull(optarg, NULL, 10); break;
        case 't':
            if (sscanf(optarg, "%u-%u", &tmin, &tmax) != 2 || tmin > tmax) {
                fprintf(stderr, "--talk-ms: want MIN-MAX\n");
                return 2;
            }
            s.talk_min_ms = tmin;
            s.talk_max_ms = tmax;
            break;
        case 'P':
            if (sscanf(optarg, "%u-%u", &lo, &hi) != 2 || lo > hi || hi > 65535 || lo < 1024) {
                fprintf(stderr, "--rtp-ports: want LO-HI within 1024-65535\n");
                return 2;
            }
            break;
        default: usage(); return opt == 'h' ? 0 : 2;
        }
    }
    struct sockaddr_in sa;
    char list[400];
    snprintf(list, sizeof list, "%s", registrar ? registrar : "");
    for (char *save = NULL, *r = strtok_r(list, ",", &save); r && s.n_registrars < MAX_REGISTRARS;
         r = strtok_r(NULL, ",", &save)) {
        if (addr_parse_ipv4(r, &sa) != 0) {
            s.n_registrars = 0;
            break;
        }
        snprintf(s.registrars[s.n_registrars++], sizeof s.registrars[0], "%s", r);
    }
    if (s.n_registrars == 0 || addr_parse_ipv4(listen, &sa) != 0 || s.n_agents < 1 ||
        s.n_agents > 10000 || atoi(s.expires[0] ? s.expires : "3600") < 2) {
        usage();
        return 2;
    }
    if (s.expires[0] == '\0') {
        snprintf(s.expires, sizeof s.expires, "3600");
    }
    inet_ntop(AF_INET, &sa.sin_addr, s.addr, sizeof s.addr);
    s.ports = (struct sim_ports){(uint16_t)lo, (uint16_t)hi, (uint16_t)lo};
    if (wav && sim_audio_load(wav, &s.audio, err, sizeof err) != 0) {
        fprintf(stderr, "waihu-agents: %s\n", err);
        return 2;
    }
    if (log_path && !(s.log = fopen(log_path, "a"))) {
        perror(log_path);
        goto out;
    }
    s.agents = calloc((size_t)s.n_agents, sizeof *s.agents);
    if (!s.agents) {
        goto out;
    }
    for (int i = 0; i < s.n_agents; i++) {
        snprintf(s.agents[i].user, sizeof s.agents[i].user, "%s%d", user_prefix, i + 1);
        snprintf(s.agents[i].password, sizeof s.agents[i].password, "%s%d", password_prefix, i + 1);
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction act = {.sa_handler = on_signal};
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);

    su_init();
    su_log_set_level(NULL, 0);
    s.root = su_root_create(&s);
    char url[96];
    snprintf(url, sizeof url, "sip:%s:%u;transport=udp", s.addr, ntohs(sa.sin_port));
    s.nua = nua_create(s.root, on_event, &s, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                       NUTAG_AUTOALERT(0), NUTAG_AUTOANSWER(0), NUTAG_ENABLEMESSAGE(0),
                       NUTAG_ALLOW("INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER"),
                       SIPTAG_USER_AGENT_STR("waihu-agents"),
                       /* With a backup registrar, a dead one is given up after 2 s. */
                       TAG_IF(s.n_registrars > 1, NTATAG_SIP_T1X64(2000)),
                       TPTAG_UDP_RMEM(4u << 20), /* load runs: no drops */ TAG_END());
    if (!s.nua) {
        fprintf(stderr, "waihu-agents: cannot listen on %s\n", url);
        goto out_root;
    }
    s.tick = su_timer_create(su_root_task(s.root), 20);
    su_timer_set_for_ever(s.tick, on_tick, NULL);
    start_registrations(&s);
    LOG_I(MOD, "%d agents on %s registering at %s%s", s.n_agents, url, s.registrars[0],
          s.n_registrars > 1 ? " (then the others in turn)" : "");
    su_root_run(s.root);
    nua_destroy(s.nua);
    su_timer_destroy(s.tick);
    while (s.reg_legs) {
        struct leg *l = s.reg_legs;
        s.reg_legs = l->next;
        su_timer_destroy(l->timer);
        free(l);
    }
    for (int i = 0; i < MAX_REGISTRARS; i++) {
        free(s.pings[i]);
    }
    rc = 0;
out_root:
    su_root_destroy(s.root);
    su_deinit();
out:
    if (s.log && s.log != stdout) {
        fclose(s.log);
    }
    free(s.agents);
    sim_audio_free(&s.audio);
    return rc;
}
