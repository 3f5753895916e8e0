/* waihu-sipd-test: hosts src/sip on a libuv loop for integration tests. Commands arrive
 * as JSON lines on stdin, events leave as JSON lines on stdout (docs/sip.md). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "sip.h"

#define DEFAULT_SDP                                                                         \
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"             \
    "m=audio 17900 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"     \
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"

struct host {
    uv_loop_t loop;
    uv_pipe_t in;
    uv_timer_t burst_timer;
    uv_signal_t sigterm;
    struct sip_engine *engine;
    char line[65536];
    size_t line_len;
    int auto_answer;
    /* burst */
    json_t *burst;
    long burst_n, burst_sent;
    double burst_rate;
    uint64_t burst_start_ms;
};

static void out(json_t *obj)
{
    json_dumpf(obj, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(obj);
}

static const char *ev_name(enum sip_event_type t)
{
    switch (t) {
    case SIP_EV_PROGRESS: return "progress";
    case SIP_EV_ANSWERED: return "answered";
    case SIP_EV_FAILED: return "failed";
    case SIP_EV_ENDED: return "ended";
    case SIP_EV_INCOMING: return "incoming";
    case SIP_EV_REGISTERED: return "registered";
    case SIP_EV_REFER: return "refer";
    case SIP_EV_BANNED: return "banned";
    case SIP_EV_OPTIONS: return "options";
    }
    return "?";
}

static void on_event(struct sip_engine *engine, const struct sip_event *ev, void *data)
{
    struct host *h = data;
    json_t *o = json_pack("{s:s,s:I,s:i,s:s}", "ev", ev_name(ev->type), "call",
                          (json_int_t)ev->call_id, "status", ev->status, "reason", ev->reason);
    const char *keys[6] = {"sdp", "agent", "tenant", "target", "source", "dialog"};
    const char *vals[6] = {ev->sdp, ev->agent, ev->tenant, ev->target, ev->source, ev->dialog};
    for (int i = 0; i < 6; i++) {
        if (vals[i]) {
            json_object_set_new(o, keys[i], json_string(vals[i]));
        }
    }
    if (ev->type == SIP_EV_REGISTERED) {
        json_object_set_new(o, "expires", json_integer(ev->expires_s));
    }
    if (ev->type == SIP_EV_OPTIONS) { /* user carries the command's "ping" number */
        json_object_set_new(o, "ping", json_integer((json_int_t)(uintptr_t)ev->user));
    }
    if (ev->type == SIP_EV_INCOMING && h->auto_answer) {
        sip_call_answer(engine, ev->call_id, DEFAULT_SDP);
    }
    out(o);
}

static const char *str(json_t *cmd, const char *key)
{
    return json_string_value(json_object_get(cmd, key));
}

static int originate_from(struct host *h, json_t *cmd, const char *target, uint64_t *id)
{
    struct sip_originate o = {
        .target = target,
        .agent = str(cmd, "agent"),
        .proxy = str(cmd, "proxy"),
        .from = str(cmd, "from") ? str(cmd, "from") : "sip:+15550000@waihu",
        .from_display = str(cmd, "display"),
        .sdp = str(cmd, "sdp") ? str(cmd, "sdp") : DEFAULT_SDP,
        .tenant = str(cmd, "tenant"),
        .timeout_ms = (uint32_t)json_integer_value(json_object_get(cmd, "timeout_ms")),
    };
    return sip_call_originate(h->engine, &o, id);
}

static void on_burst(uv_timer_t *t)
{
    struct host *h = t->data;
    json_t *targets = json_object_get(h->burst, "targets");
    size_t n_targets = json_array_size(targets);
    uint64_t elapsed = uv_now(&h->loop) - h->burst_start_ms;
    long due = (long)((double)elapsed * h->burst_rate / 1000.0) + 1;
    if (due > h->burst_n) {
        due = h->burst_n;
    }
    for (; h->burst_sent < due; h->burst_sent++) {
        uint64_t id;
        const char *target = json_string_value(json_array_get(targets, (size_t)h->burst_sent % n_targets));
        int rv = originate_from(h, h->burst, target, &id);
        if (rv != 0) {
            out(json_pack("{s:s,s:s}", "ev", "error", "error", waihu_strerror(rv)));
        }
    }
    if (h->burst_sent >= h->burst_n) {
        uv_timer_stop(t);
        out(json_pack("{s:s,s:I,s:I}", "ev", "burst-done", "sent", (json_int_t)h->burst_sent,
                      "elapsed_ms", (json_int_t)(uv_now(&h->loop) - h->burst_start_ms)));
        json_decref(h->burst);
        h->burst = NULL;
    }
}

static void stop(struct host *h)
{
    if (h->engine) {
        sip_engine_free(h->engine);
        h->engine = NULL;
    }
    uv_close((uv_handle_t *)&h->in, NULL);
    uv_close((uv_handle_t *)&h->burst_timer, NULL);
    uv_close((uv_handle_t *)&h->sigterm, NULL);
}

static void run_command(struct host *h, const char *line)
{
    json_error_t jerr;
    json_t *cmd = json_loads(line, 0, &jerr);
    const char *name = cmd ? str(cmd, "cmd") : NULL;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(cmd, "call"));
    int rv = 0;
    if (!name) {
        out(json_pack("{s:s,s:s}", "ev", "error", "error", "want {\"cmd\": ...}"));
        json_decref(cmd);
        return;
    }
    if (strcmp(name, "originate") == 0) {
        rv = originate_from(h, cmd, str(cmd, "target"), &id);
        if (rv == 0) {
            out(json_pack("{s:s,s:I,s:O?}", "ev", "originated", "call", (json_int_t)id, "tag",
                          json_object_get(cmd, "tag")));
        }
    } else if (strcmp(name, "burst") == 0 && !h->burst) {
        h->burst = json_incref(cmd);
        h->burst_n = (long)json_integer_value(json_object_get(cmd, "n"));
        h->burst_rate = json_number_value(json_object_get(cmd, "rate_per_s"));
        h->burst_sent = 0;
        h->burst_start_ms = uv_now(&h->loop);
        if (h->burst_n <= 0 || h->burst_rate <= 0 || !json_array_size(json_object_get(cmd, "targets"))) {
            rv = WAIHU_EINVAL;
            json_decref(h->burst);
            h->burst = NULL;
        } else {
            uv_timer_start(&h->burst_timer, on_burst, 0, 5);
        }
    } else if (strcmp(name, "options") == 0) {
        struct sip_options o = {
            .target = str(cmd, "target"), .proxy = str(cmd, "proxy"),
            .transport = str(cmd, "transport"),
            .timeout_ms = (uint32_t)json_integer_value(json_object_get(cmd, "timeout_ms")),
            .user = (void *)(uintptr_t)json_integer_value(json_object_get(cmd, "ping"))};
        rv = sip_engine_options_ping(h->engine, &o);
    } else if (strcmp(name, "answer") == 0) {
        rv = sip_call_answer(h->engine, id, str(cmd, "sdp") ? str(cmd, "sdp") : DEFAULT_SDP);
    } else if (strcmp(name, "respond") == 0) {
        rv = sip_call_respond(h->engine, id, (int)json_integer_value(json_object_get(cmd, "status")),
                              str(cmd, "sdp"));
    } else if (strcmp(name, "hangup") == 0) {
        rv = sip_call_hangup(h->engine, id);
    } else if (strcmp(name, "refer") == 0) {
        rv = sip_call_refer(h->engine, id, str(cmd, "to"));
    } else if (strcmp(name, "cred") == 0) {
        rv = sip_engine_set_credential(h->engine, str(cmd, "user"), str(cmd, "ha1"),
                                       str(cmd, "password"), str(cmd, "tenant"));
    } else if (strcmp(name, "uncred") == 0) {
        rv = sip_engine_remove_credential(h->engine, str(cmd, "user"));
    } else if (strcmp(name, "stats") == 0) {
        struct sip_engine_stats s;
        sip_engine_stats(h->engine, &s);
        out(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ev", "stats", "calls_out",
                      (json_int_t)s.calls_out, "calls_in", (json_int_t)s.calls_in,
                      "calls_active", (json_int_t)s.calls_active, "registers_ok",
                      (json_int_t)s.registers_ok, "auth_failures", (json_int_t)s.auth_failures,
                      "guard_rejects", (json_int_t)s.guard_rejects, "bans", (json_int_t)s.bans,
                      "illegal_moves", (json_int_t)s.illegal_moves, "pings_sent",
                      (json_int_t)s.pings_sent, "pings_pending", (json_int_t)s.pings_pending));
    } else if (strcmp(name, "quit") == 0) {
        stop(h);
    } else {
        rv = WAIHU_EINVAL;
    }
    if (rv != 0) {
        out(json_pack("{s:s,s:s,s:s}", "ev", "error", "cmd", name, "error", waihu_strerror(rv)));
    }
    json_decref(cmd);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct host *h = s->data;
    for (ssize_t i = 0; i < n; i++) {
        char c = buf->base[i];
        if (c == '\n') {
            h->line[h->line_len] = '\0';
            if (h->line_len) {
                run_command(h, h->line);
            }
            h->line_len = 0;
            if (!h->engine) {
                break;
            }
        } else if (h->line_len + 1 < sizeof h->line) {
            h->line[h->line_len++] = c;
        }
    }
    free(buf->base);
    if (n < 0 && h->engine) {
        stop(h); /* stdin closed */
    }
}

static void on_sigterm(uv_signal_t *s, int signum)
{
    (void)signum;
    struct host *h = s->data;
    if (h->engine) {
        stop(h);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bind", required_argument, 0, 'b'},      {"realm", required_argument, 0, 'r'},
        {"exempt", required_argument, 0, 'x'},    {"guard-rate", required_argument, 0, 'g'},
        {"guard-burst", required_argument, 0, 'G'}, {"fail-limit", required_argument, 0, 'f'},
        {"ban-ms", required_argument, 0, 'B'},    {"dest", required_argument, 0, 'd'},
        {"auto-answer", no_argument, 0, 'a'},     {"udp-only", no_argument, 0, 'u'},
        {0, 0, 0, 0}};
    static struct host h;
    struct sip_engine_config cfg = {.bind_udp = "127.0.0.1:15070", .bind_tcp = "127.0.0.1:15070"};
    struct sip_dest_rule rules[16];
    size_t n_rules = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'b': cfg.bind_udp = cfg.bind_tcp = optarg; break;
        case 'u': cfg.bind_tcp = NULL; break;
        case 'r': cfg.realm = optarg; break;
        case 'x': cfg.guard_exempt = optarg; break;
        case 'g': cfg.guard_rate_per_s = (uint32_t)atoi(optarg); break;
        case 'G': cfg.guard_burst = (uint32_t)atoi(optarg); break;
        case 'f': cfg.guard_fail_limit = (uint32_t)atoi(optarg); break;
        case 'B': cfg.guard_ban_ms = (uint32_t)atoi(optarg); break;
        case 'a': h.auto_answer = 1; break;
        case 'd': {
            char *eq = strchr(optarg, '=');
            if (!eq || n_rules == 16) {
                fprintf(stderr, "--dest TENANT=PREFIX,PREFIX...\n");
                return 2;
            }
            *eq = '\0';
            rules[n_rules++] = (struct sip_dest_rule){optarg, eq + 1};
            break;
        }
        default:
            fprintf(stderr, "usage: waihu-sipd-test [--bind A:P] [--udp-only] [--realm R] "
                            "[--exempt IPS] [--guard-rate N] [--guard-burst N] [--fail-limit N] "
                            "[--ban-ms N] [--dest T=P,...] [--auto-answer]\n");
            return 2;
        }
    }
    if (n_rules) {
        cfg.dest_rules = rules;
        cfg.n_dest_rules = n_rules;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&h.loop);
    int rv = sip_engine_new(&h.loop, &cfg, on_event, &h, &h.engine);
    if (rv != 0) {
        fprintf(stderr, "waihu-sipd-test: %s\n", waihu_strerror(rv));
        return 1;
    }
    uv_pipe_init(&h.loop, &h.in, 0);
    uv_pipe_open(&h.in, 0);
    h.in.data = &h;
    uv_read_start((uv_stream_t *)&h.in, on_alloc, on_read);
    uv_timer_init(&h.loop, &h.burst_timer);
    h.burst_timer.data = &h;
    uv_signal_init(&h.loop, &h.sigterm);
    h.sigterm.data = &h;
    uv_signal_start(&h.sigterm, on_sigterm, SIGTERM);
    out(json_pack("{s:s}", "ev", "ready"));
    uv_run(&h.loop, UV_RUN_DEFAULT);
    json_decref(h.burst);
    uv_loop_close(&h.loop);
    return 0;
}
