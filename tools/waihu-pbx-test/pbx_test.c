/* waihu-pbx-test: hosts the bridge with a SIP engine (registrar for agents), a media
 * engine and optionally a trunk set (--trunks file.json) on one libuv loop, for integration
 * tests. Commands arrive as JSON lines on stdin (cred, uncred, dial, burst, free, hangup,
 * stats, trunks, quit); events and CDRs leave as JSON lines on stdout (docs/bridge.md).
 * With --pick, dials without an agent get theirs at answer from the free list that the
 * `free` command sets (first come, first taken). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bridge.h"
#include "media.h"
#include "sip.h"
#include "trunk.h"

struct host {
    uv_loop_t loop;
    uv_pipe_t in;
    uv_signal_t sigterm;
    struct sip_engine *sip;
    struct media_engine *media;
    struct bridge *bridge;
    struct trunk_set *trunks;
    /* burst: n calls at rate_per_s, numbers from number_base up, agents round robin */
    uv_timer_t burst_timer;
    json_t *burst;
    long burst_n, burst_sent, burst_errors;
    double burst_rate;
    uint64_t burst_start_ms, burst_base;
    int stopped;
    json_t *free_agents; /* --pick: names handed out at answer, first first */
    char picked[64];
    char line[65536];
    size_t line_len;
};

static void out(json_t *obj)
{
    json_dumpf(obj, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(obj);
}

static const char *str(json_t *cmd, const char *key)
{
    return json_string_value(json_object_get(cmd, key));
}

static json_t *rtp_json(const struct media_leg_stats *s)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "rx", (json_int_t)s->packets_rx, "tx",
                     (json_int_t)s->packets_tx, "wrong_source", (json_int_t)s->wrong_source,
                     "malformed", (json_int_t)s->malformed, "lost", (json_int_t)s->lost,
                     "jitter_ms", s->jitter_ms);
}

static void on_cdr(struct bridge *b, const struct bridge_cdr *c, void *data)
{
    (void)b;
    (void)data;
    json_t *o = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:i,s:i,s:i,s:i,s:s,s:s,"
                          "s:s,s:i,s:I,s:o,s:o,s:s,s:i}",
                          "ev", "cdr", "id", (json_int_t)c->id, "number", c->number, "target",
                          c->trunk_target, "agent", c->agent, "result", c->result, "end_reason",
                          c->end_reason, "hangup_by", bridge_party_name(c->hangup_by), "status",
                          c->status, "start_wall_ms", (json_int_t)c->start_wall_ms, "ring_ms",
                          (int)c->ring_ms, "agent_ring_ms", (int)c->agent_ring_ms, "talk_ms",
                          (int)c->talk_ms, "duration_ms", (int)c->duration_ms, "amd", c->amd,
                          "amd_reason", c->amd_reason, "digits", c->digits, "recording_err",
                          c->recording_err, "recording_frames", (json_int_t)c->recording_frames,
                          "carrier_rtp", rtp_json(&c->carrier_rtp), "agent_rtp",
                          rtp_json(&c->agent_rtp), "trunks_tried", c->trunks_tried,
                          "attempts", (int)c->attempts);
    json_object_set_new(o, "answer_to_agent_ms", json_integer(c->answer_to_agent_ms));
    if (c->trunk) {
        json_object_set_new(o, "trunk", json_string(c->trunk));
    }
    if (c->caller_id) {
        json_object_set_new(o, "caller_id", json_string(c->caller_id));
    }
    if (c->recording) {
        json_object_set_new(o, "recording", json_string(c->recording));
    }
    char digit[2] = {c->ivr_digit, 0};
    json_object_update_new(o, json_pack("{s:{s:s,s:i,s:i},s:{s:s,s:i,s:i},s:s,s:b}", "prompt",
                                        "state", c->prompt.state, "start_ms",
                                        (int)c->prompt.start_ms, "played_ms",
                                        (int)c->prompt.played_ms, "abandon_prompt", "state",
                                        c->abandon_prompt.state, "start_ms",
                                        (int)c->abandon_prompt.start_ms, "played_ms",
                                        (int)c->abandon_prompt.played_ms, "ivr_digit", digit,
                                        "transferred", c->transferred));
    if (c->carrier_dialog) {
        json_object_set_new(o, "carrier_dialog", json_string(c->carrier_dialog));
    }
    if (c->agent_dialog) {
        json_object_set_new(o, "agent_dialog", json_string(c->agent_dialog));
    }
    out(o);
}

static void on_bridge_event(struct bridge *b, const struct bridge_event *ev, void *data)
{
    (void)b;
    (void)data;
    switch (ev->type) {
    case BRIDGE_EV_STATE:
        out(json_pack("{s:s,s:I,s:s}", "ev", "state", "id", (json_int_t)ev->id, "state",
                      ev->state));
        break;
    case BRIDGE_EV_DTMF: {
        char d[2] = {ev->digit, 0};
        out(json_pack("{s:s,s:I,s:s,s:s,s:s}", "ev", "dtmf", "id", (json_int_t)ev->id, "digit", d,
                      "leg", bridge_party_name(ev->party), "source", ev->detail));
        break;
    }
    case BRIDGE_EV_AMD:
        out(json_pack("{s:s,s:I,s:s}", "ev", "amd", "id", (json_int_t)ev->id, "result",
                      ev->detail));
        break;
    case BRIDGE_EV_PROMPT:
        out(json_pack("{s:s,s:I,s:s,s:s,s:s}", "ev", "prompt", "id", (json_int_t)ev->id, "prompt",
                      ev->prompt, "detail", ev->detail, "state", ev->state));
        break;
    case BRIDGE_EV_TRUNK:
        out(json_pack("{s:s,s:s,s:s,s:s}", "ev", "trunk", "trunk", ev->trunk, "state", ev->state,
                      "reason", ev->detail));
        break;
    }
}

/* --pick: the first free agent (taken off the list), or NULL when none is free. */
static const char *pick_agent(struct bridge *b, uint64_t call_id, void *data)
{
    (void)b;
    struct host *h = data;
    const char *name = json_string_value(json_array_get(h->free_agents, 0));
    if (name) {
        snprintf(h->picked, sizeof h->picked, "%s", name);
        json_array_remove(h->free_agents, 0);
    }
    out(json_pack("{s:s,s:I,s:s?,s:I}", "ev", "pick", "id", (json_int_t)call_id, "agent",
                  name ? h->picked : NULL, "free_left",
                  (json_int_t)json_array_size(h->free_agents)));
    return name ? h->picked : NULL;
}

static void on_sip(struct sip_engine *engine, const struct sip_event *ev, void *data)
{
    struct host *h = data;
    if (h->bridge && bridge_on_sip_event(h->bridge, ev)) {
        return;
    }
    if (ev->type == SIP_EV_REGISTERED) {
        out(json_pack("{s:s,s:s,s:s,s:i}", "ev", "registered", "agent", ev->agent ? ev->agent : "",
                      "contact", ev->target ? ev->target : "", "expires", (int)ev->expires_s));
    } else if (ev->type == SIP_EV_INCOMING) {
        sip_call_respond(engine, ev->call_id, 403, NULL); /* agents may not dial out here */
    } else if (ev->type == SIP_EV_BANNED) {
        out(json_pack("{s:s,s:s,s:s}", "ev", "banned", "source", ev->source ? ev->source : "",
                      "reason", ev->reason));
    }
}

static void on_media(struct media_engine *e, const struct media_event *ev, void *data)
{
    (void)e;
    struct host *h = data;
    if (h->bridge) {
        bridge_on_media_event(h->bridge, ev);
    }
}

static void stats(struct host *h)
{
    struct bridge_stats bs;
    struct sip_engine_stats ss;
    bridge_stats(h->bridge, &bs);
    sip_engine_stats(h->sip, &ss);
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ev", "stats", "calls_active",
                          (json_int_t)bs.calls_active, "media_open", (json_int_t)bs.media_open,
                          "sip_legs_live", (json_int_t)bs.sip_legs_live, "sip_calls_active",
                          (json_int_t)ss.calls_active, "calls_total", (json_int_t)bs.calls_total,
                          "cdrs", (json_int_t)bs.cdrs, "illegal_moves",
                          (json_int_t)bs.illegal_moves, "sip_illegal_moves",
                          (json_int_t)ss.illegal_moves);
    json_object_set_new(o, "sip_calls_out", json_integer((json_int_t)ss.calls_out));
    json_object_update_new(o, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "trunk_channels",
                                        (json_int_t)bs.trunk_channels, "calls_waiting",
                                        (json_int_t)bs.calls_waiting, "retries",
                                        (json_int_t)bs.retries, "probes_sent",
                                        (json_int_t)bs.probes_sent, "probes_pending",
                                        (json_int_t)bs.probes_pending, "sip_pings_pending",
                                        (json_int_t)ss.pings_pending, "trunk_illegal_moves",
                                        (json_int_t)trunk_set_illegal_moves(h->trunks)));
    out(o);
}

/* Every trunk's state and counters (channels in use must return to 0). */
static void trunks(struct host *h)
{
    json_t *list = json_array();
    size_t n = h->trunks ? trunk_set_count(h->trunks) : 0;
    for (size_t i = 0; i < n; i++) {
        struct trunk_info ti;
        if (trunk_set_info(h->trunks, (uint32_t)i, (int64_t)clock_now_ms(), &ti) != 0) {
            continue;
        }
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:i,s:f}", "name", ti.name, "state",
                            trunk_state_str(ti.state), "reason", trunk_reason_str(ti.reason),
                            "in_use", (int)ti.in_use, "picks", (json_int_t)ti.picks, "answered",
                            (json_int_t)ti.answered, "normal", (json_int_t)ti.normal, "carrier",
                            (json_int_t)ti.carrier, "downs", (int)ti.downs, "asr_window",
                            ti.asr_window));
    }
    out(json_pack("{s:s,s:o}", "ev", "trunks", "trunks", list));
}

static int dial(struct host *h, const struct bridge_dial *d, json_t *tag)
{
    uint64_t id = 0;
    int rv = bridge_dial(h->bridge, d, &id);
    if (rv == 0) {
        out(json_pack("{s:s,s:I,s:O?}", "ev", "dialed", "id", (json_int_t)id, "tag", tag));
    }
    return rv;
}

static void on_burst(uv_timer_t *t)
{
    struct host *h = t->data;
    json_t *cmd = h->burst;
    uint64_t elapsed = uv_now(&h->loop) - h->burst_start_ms;
    long due = (long)((double)elapsed * h->burst_rate / 1000.0) + 1;
    long agents = (long)json_integer_value(json_object_get(cmd, "agents"));
    const char *prefix = str(cmd, "agent_prefix") ? str(cmd, "agent_prefix") : "agent";
    for (; h->burst_sent < due && h->burst_sent < h->burst_n; h->burst_sent++) {
        char number[24], agent[64];
        snprintf(number, sizeof number, "+%llu",
                 (unsigned long long)(h->burst_base + (uint64_t)h->burst_sent));
        snprintf(agent, sizeof agent, "%s%ld", prefix, h->burst_sent % (agents > 0 ? agents : 1) + 1);
        struct bridge_dial d = {.number = number, .agent = agent};
        int rv = dial(h, &d, json_object_get(cmd, "tag"));
        if (rv != 0) {
            h->burst_errors++;
            out(json_pack("{s:s,s:s,s:s,s:s,s:O?}", "ev", "error", "cmd", "burst", "number",
                          number, "error", waihu_strerror(rv), "tag", json_object_get(cmd, "tag")));
        }
    }
    if (h->burst_sent >= h->burst_n) {
        uv_timer_stop(t);
        out(json_pack("{s:s,s:I,s:I,s:I,s:O?}", "ev", "burst-done", "sent",
                      (json_int_t)h->burst_sent, "errors", (json_int_t)h->burst_errors,
                      "elapsed_ms", (json_int_t)(uv_now(&h->loop) - h->burst_start_ms), "tag",
                      json_object_get(cmd, "tag")));
        json_decref(h->burst);
        h->burst = NULL;
    }
}

/* burst {n, rate_per_s, number_base: "+15550000000", agents: N, agent_prefix?, tag?}:
 * routed calls through the trunk set. */
static int burst(struct host *h, json_t *cmd)
{
    const char *base = str(cmd, "number_base");
    h->burst_n = (long)json_integer_value(json_object_get(cmd, "n"));
    h->burst_rate = json_number_value(json_object_get(cmd, "rate_per_s"));
    if (h->burst || !h->trunks || h->burst_n <= 0 || h->burst_rate <= 0 || !base ||
        base[0] != '+' || strlen(base) > 16 || strspn(base + 1, "0123456789") != strlen(base + 1)) {
        return WAIHU_EINVAL;
    }
    h->burst_base = strtoull(base + 1, NULL, 10);
    h->burst = json_incref(cmd);
    h->burst_sent = h->burst_errors = 0;
    h->burst_start_ms = uv_now(&h->loop);
    uv_timer_start(&h->burst_timer, on_burst, 0, 5);
    return 0;
}

static void stop(struct host *h)
{
    if (h->stopped) {
        return;
    }
    h->stopped = 1;
    bridge_free(h->bridge);
    h->bridge = NULL;
    sip_engine_free(h->sip);
    media_engine_free(h->media);
    trunk_set_free(h->trunks);
    h->trunks = NULL;
    json_decref(h->burst);
    h->burst = NULL;
    json_decref(h->free_agents);
    h->free_agents = NULL;
    uv_close((uv_handle_t *)&h->burst_timer, NULL);
    uv_close((uv_handle_t *)&h->in, NULL);
    uv_close((uv_handle_t *)&h->sigterm, NULL);
}

static void run_command(struct host *h, const char *line)
{
    json_error_t jerr;
    json_t *cmd = json_loads(line, 0, &jerr);
    const char *name = cmd ? str(cmd, "cmd") : NULL;
    int rv = 0;
    if (!name) {
        out(json_pack("{s:s,s:s}", "ev", "error", "error", "want {\"cmd\": ...}"));
        json_decref(cmd);
        return;
    }
    if (strcmp(name, "dial") == 0) {
        const char *digit = str(cmd, "transfer_digit");
        struct bridge_dial d = {.number = str(cmd, "number"), .trunk_target = str(cmd, "target"),
                                .proxy = str(cmd, "proxy"), .agent = str(cmd, "agent"),
                                .from = str(cmd, "from"), .tenant = str(cmd, "tenant")};
        /* prompts (docs/bridge.md "Prompts") */
        d.prompts.prompt_path = str(cmd, "prompt");
        d.prompts.transfer_digit = digit ? digit[0] : 0;
        d.prompts.transfer_window_ms =
            (uint32_t)json_integer_value(json_object_get(cmd, "transfer_window_ms"));
        d.prompts.prompt_on_machine = json_is_true(json_object_get(cmd, "prompt_on_machine"));
        d.prompts.abandon_prompt_path = str(cmd, "abandon_prompt");
        rv = dial(h, &d, json_object_get(cmd, "tag"));
    } else if (strcmp(name, "burst") == 0) {
        rv = burst(h, cmd);
    } else if (strcmp(name, "free") == 0) {
        /* free {agents: ["agent1", ...], tag?}: the agents the picker hands out, in order */
        json_t *list = json_object_get(cmd, "agents");
        if (json_is_array(list)) {
            json_decref(h->free_agents);
            h->free_agents = json_deep_copy(list);
            out(json_pack("{s:s,s:I,s:O?}", "ev", "free", "n",
                          (json_int_t)json_array_size(list), "tag", json_object_get(cmd, "tag")));
        } else {
            rv = WAIHU_EINVAL;
        }
    } else if (strcmp(name, "trunks") == 0) {
        trunks(h);
    } else if (strcmp(name, "hangup") == 0) {
        rv = bridge_hangup(h->bridge, (uint64_t)json_integer_value(json_object_get(cmd, "id")));
    } else if (strcmp(name, "cred") == 0) {
        rv = sip_engine_set_credential(h->sip, str(cmd, "user"), str(cmd, "ha1"),
                                       str(cmd, "password"), str(cmd, "tenant"));
    } else if (strcmp(name, "uncred") == 0) {
        rv = sip_engine_remove_credential(h->sip, str(cmd, "user"));
    } else if (strcmp(name, "stats") == 0) {
        stats(h);
    } else if (strcmp(name, "quit") == 0) {
        stop(h);
    } else {
        rv = WAIHU_EINVAL;
    }
    if (rv != 0) {
        out(json_pack("{s:s,s:s,s:s,s:O?}", "ev", "error", "cmd", name, "error",
                      waihu_strerror(rv), "tag", json_object_get(cmd, "tag")));
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
    for (ssize_t i = 0; i < n && !h->stopped; i++) {
        char c = buf->base[i];
        if (c == '\n') {
            h->line[h->line_len] = '\0';
            if (h->line_len) {
                run_command(h, h->line);
            }
            h->line_len = 0;
        } else if (h->line_len + 1 < sizeof h->line) {
            h->line[h->line_len++] = c;
        }
    }
    free(buf->base);
    if (n < 0) {
        stop(h); /* stdin closed */
    }
}

static void on_sigterm(uv_signal_t *s, int signum)
{
    (void)signum;
    stop(s->data);
}

static int read_key(const char *path, uint8_t key[MEDIA_REC_KEY_BYTES])
{
    char hex[129] = "";
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[n] = '\0';
    for (int i = 0; i < MEDIA_REC_KEY_BYTES; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        key[i] = (uint8_t)v;
    }
    return 0;
}

static int parse_ports(const char *text, uint16_t *lo, uint16_t *hi)
{
    unsigned a, b;
    if (sscanf(text, "%u-%u", &a, &b) != 2 || a > b || b > 65535) {
        return -1;
    }
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

/* Reads a trunk file (docs/trunks.md) into a set; "line L column C: ..." or the field. */
static int load_trunks(const char *path, struct trunk_set **out, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot open");
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    int rv = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (len = (size_t)ftell(f)) < (1u << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (text = malloc(len + 1)) && fread(text, 1, len, f) == len) {
        text[len] = '\0';
        rv = trunk_set_from_json(text, out, err, err_len) == 0 ? 0 : -1;
    } else {
        snprintf(err, err_len, "cannot read (or over 1 MiB)");
    }
    free(text);
    fclose(f);
    return rv;
}

static void usage(void)
{
    fprintf(stderr, "usage: waihu-pbx-test [--bind A:P] [--rtp-ports LO-HI] [--workers N]\n"
                    "  [--record-dir D --key-file K(64 hex)] [--carrier-timeout-ms N]\n"
                    "  [--agent-timeout-ms N] [--rtp-timeout-ms N] [--amd] [--inband-dtmf]\n"
                    "  [--from URI] [--exempt IPS] [--sip-timer-ms N] [--pick]\n"
                    "  [--trunks FILE.json (docs/trunks.md) [--max-attempts N]]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bind", required_argument, 0, 'b'},
        {"rtp-ports", required_argument, 0, 'p'},
        {"workers", required_argument, 0, 'w'},
        {"record-dir", required_argument, 0, 'r'},
        {"key-file", required_argument, 0, 'k'},
        {"carrier-timeout-ms", required_argument, 0, 'c'},
        {"agent-timeout-ms", required_argument, 0, 'a'},
        {"rtp-timeout-ms", required_argument, 0, 't'},
        {"amd", no_argument, 0, 'm'},
        {"inband-dtmf", no_argument, 0, 'i'},
        {"from", required_argument, 0, 'f'},
        {"exempt", required_argument, 0, 'x'},
        {"sip-timer-ms", required_argument, 0, 'T'},
        {"trunks", required_argument, 0, 'R'},
        {"max-attempts", required_argument, 0, 'A'},
        {"pick", no_argument, 0, 'P'},
        {0, 0, 0, 0}};
    static struct host h;
    struct sip_engine_config scfg = {.bind_udp = "127.0.0.1:19060", .bind_tcp = NULL};
    struct media_engine_config mcfg = {.n_workers = 2, .bind_ip = "127.0.0.1",
                                       .port_min = 19500, .port_max = 19999, .cb = on_media,
                                       .cb_data = &h};
    struct bridge_config bcfg = {.from = "sip:+15550000@waihu", .agent_from = "sip:dialer@waihu",
                                 .event_cb = on_bridge_event};
    const char *key_file = NULL, *trunks_file = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'b': scfg.bind_udp = optarg; break;
        case 'p':
            if (parse_ports(optarg, &mcfg.port_min, &mcfg.port_max) != 0) {
                usage();
                return 2;
            }
            break;
        case 'w': mcfg.n_workers = (unsigned)atoi(optarg); break;
        case 'r': bcfg.record_dir = optarg; break;
        case 'k': key_file = optarg; break;
        case 'c': bcfg.carrier_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'a': bcfg.agent_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 't': bcfg.rtp_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'm': bcfg.amd = 1; break;
        case 'i': bcfg.inband_dtmf = 1; break;
        case 'f': bcfg.from = optarg; break;
        case 'x': scfg.guard_exempt = optarg; break;
        case 'T': scfg.transaction_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'R': trunks_file = optarg; break;
        case 'A': bcfg.max_attempts = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'P':
            bcfg.pick_agent = pick_agent;
            bcfg.pick_data = &h;
            break;
        default: usage(); return 2;
        }
    }
    if (bcfg.record_dir && (!key_file || read_key(key_file, bcfg.record_key) != 0)) {
        fprintf(stderr, "waihu-pbx-test: --record-dir needs --key-file with 64 hex digits\n");
        return 2;
    }
    if (trunks_file) {
        char err[256];
        if (load_trunks(trunks_file, &h.trunks, err, sizeof err) != 0) {
            fprintf(stderr, "waihu-pbx-test: %s: %s\n", trunks_file, err);
            return 2;
        }
        bcfg.trunks = h.trunks;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&h.loop);
    int rv = sip_engine_new(&h.loop, &scfg, on_sip, &h, &h.sip);
    if (rv == 0) {
        rv = media_engine_new(&h.loop, &mcfg, &h.media);
        if (rv != 0) {
            sip_engine_free(h.sip);
        }
    }
    if (rv == 0) {
        rv = bridge_new(&h.loop, h.sip, h.media, &bcfg, on_cdr, &h, &h.bridge);
        if (rv != 0) {
            sip_engine_free(h.sip);
            media_engine_free(h.media);
        }
    }
    if (rv != 0) {
        fprintf(stderr, "waihu-pbx-test: %s\n", waihu_strerror(rv));
        trunk_set_free(h.trunks);
        uv_run(&h.loop, UV_RUN_DEFAULT);
        uv_loop_close(&h.loop);
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
    uv_loop_close(&h.loop);
    return 0;
}
