/* Telephony in a node: one SIP engine, one media engine, one bridge, wired as the test
 * host waihu-pbx-test wires them (tools/waihu-pbx-test), but from configuration. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telephony.h"
#include "trunk.h"

#define REG_BUCKETS 256

/* An agent whose softphone is registered (from the SIP engine's REGISTERED events). */
struct reg {
    struct reg *next;
    char user[];
};

struct telephony {
    struct sip_engine *sip;
    struct media_engine *media;
    struct bridge *bridge;
    struct trunk_set *trunks; /* NULL: every call goes to trunk */
    char trunk[128];
    char from[160];
    bridge_cdr_cb cdr_cb;
    void *cdr_data;
    const char *(*pick)(uint64_t call_id, void *data);
    void *pick_data;
    telephony_registration_cb reg_cb;
    void *reg_data;
    telephony_call_state_cb state_cb;
    void *state_data;
    struct reg *regs[REG_BUCKETS];
    uint64_t results[TELEPHONY_RESULT_COUNT]; /* CDRs by result, for /metrics */
};

/* The results struct bridge_cdr documents, in the order of telephony_result_name. */
static const char *const result_names[TELEPHONY_RESULT_COUNT] = {
    "answered", "no-answer", "busy", "unreachable", "not-allowed", "carrier-failure",
    "cancelled", "machine", "agent-unavailable", "abandoned", "dropped", "played", "error",
    "other",
};

static struct reg **reg_find(struct telephony *t, const char *user)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = user; *p; p++) {
        h = (h ^ (uint8_t)*p) * 16777619u;
    }
    struct reg **r = &t->regs[h % REG_BUCKETS];
    while (*r != NULL && strcmp((*r)->user, user) != 0) {
        r = &(*r)->next;
    }
    return r;
}

static void reg_note(struct telephony *t, const char *user, bool bound)
{
    struct reg **r = reg_find(t, user);
    if (!bound && *r != NULL) {
        struct reg *gone = *r;
        *r = gone->next;
        free(gone);
    } else if (bound && *r == NULL) {
        size_t n = strlen(user) + 1;
        struct reg *add = malloc(sizeof *add + n);
        if (add == NULL) {
            LOG_E("telephony", "agent %s: registration not tracked: out of memory", user);
            return;
        }
        add->next = NULL;
        memcpy(add->user, user, n);
        *r = add;
    }
}

/* The host of a source "ip:port" ("" when there is none). */
static void host_of(const char *source, char *out, size_t cap)
{
    const char *colon = source != NULL ? strrchr(source, ':') : NULL;
    size_t n = colon != NULL ? (size_t)(colon - source) : 0;
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : 0), n < cap ? source : "");
}

static void on_sip(struct sip_engine *engine, const struct sip_event *ev, void *data)
{
    struct telephony *t = data;
    if (t->bridge != NULL && bridge_on_sip_event(t->bridge, ev)) {
        return;
    }
    switch (ev->type) {
    case SIP_EV_REGISTERED:
        LOG_I("telephony", "agent %s %s (%s)", ev->agent ? ev->agent : "?",
              ev->expires_s ? "registered" : "unregistered", ev->source ? ev->source : "");
        if (ev->agent != NULL) {
            reg_note(t, ev->agent, ev->expires_s > 0);
            if (t->reg_cb != NULL) {
                char host[64];
                host_of(ev->source, host, sizeof host);
                t->reg_cb(t->reg_data, ev->agent, ev->expires_s > 0, host, ev->expires_s);
            }
        }
        break;
    case SIP_EV_INCOMING:
        /* Agents place calls through the API (dialing rules, DNC, audit), not their
         * softphone's dial pad. */
        sip_call_respond(engine, ev->call_id, 403, NULL);
        break;
    case SIP_EV_BANNED:
        LOG_W("telephony", "source %s banned: %s", ev->source ? ev->source : "?", ev->reason);
        break;
    default: break;
    }
}

static void on_media(struct media_engine *e, const struct media_event *ev, void *data)
{
    (void)e;
    struct telephony *t = data;
    if (t->bridge != NULL) {
        bridge_on_media_event(t->bridge, ev);
    }
}

static void on_cdr(struct bridge *b, const struct bridge_cdr *cdr, void *data)
{
    struct telephony *t = data;
    LOG_I("telephony", "call %llu: %s %s by %s, talk %u ms", (unsigned long long)cdr->id,
          cdr->result, cdr->end_reason, bridge_party_name(cdr->hangup_by), cdr->talk_ms);
    size_t r = 0;
    while (r < TELEPHONY_RESULT_COUNT - 1 &&
           (cdr->result == NULL || strcmp(cdr->result, result_names[r]) != 0)) {
        r++;
    }
    t->results[r]++;
    if (t->cdr_cb != NULL) {
        t->cdr_cb(b, cdr, t->cdr_data);
    }
}

/* Call progress for services (agent states): only state changes are passed on. */
static void on_bridge_event(struct bridge *b, const struct bridge_event *ev, void *data)
{
    (void)b;
    struct telephony *t = data;
    if (ev->type == BRIDGE_EV_STATE && t->state_cb != NULL && ev->state != NULL) {
        t->state_cb(t->state_data, ev->id, ev->state);
    }
}

/* The bridge's picker: the service's, when one is set. */
static const char *pick_agent(struct bridge *b, uint64_t call_id, void *data)
{
    (void)b;
    struct telephony *t = data;
    return t->pick != NULL ? t->pick(call_id, t->pick_data) : NULL;
}

/* Reads a trunk set from its JSON file; errmsg (cap 256) names the file and field. */
static int load_trunks(const char *path, struct trunk_set **out, char *errmsg)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    if (f != NULL) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = n >= 0 && n < (1 << 20) ? calloc(1, (size_t)n + 1) : NULL;
        len = text ? fread(text, 1, (size_t)n, f) : 0;
        fclose(f);
        if (text == NULL || len != (size_t)n) {
            free(text);
            text = NULL;
        }
    }
    if (text == NULL) {
        snprintf(errmsg, 256, "trunks file %s: cannot read it (or over 1 MiB)", path);
        return WAIHU_EIO;
    }
    char why[200];
    int rv = trunk_set_from_json(text, out, why, sizeof why);
    free(text);
    if (rv != 0) {
        snprintf(errmsg, 256, "trunks file %s: %s", path, why);
    }
    return rv;
}

int telephony_start(uv_loop_t *loop, const struct telephony_config *cfg, struct telephony **out,
                    char *errmsg)
{
    char ip[64];
    const char *colon = cfg->sip_bind ? strrchr(cfg->sip_bind, ':') : NULL;
    bool has_trunk = cfg->trunk != NULL && cfg->trunk[0] != '\0';
    bool has_set = cfg->trunks_file != NULL && cfg->trunks_file[0] != '\0';
    if (colon == NULL || (size_t)(colon - cfg->sip_bind) >= sizeof ip || has_trunk == has_set ||
        cfg->rtp_min == 0 || cfg->rtp_max <= cfg->rtp_min) {
        snprintf(errmsg, 256, "telephony needs sip bind ip:port, an RTP port range, and either "
                              "a trunk or a trunks file");
        return WAIHU_EINVAL;
    }
    snprintf(ip, sizeof ip, "%.*s", (int)(colon - cfg->sip_bind), cfg->sip_bind);
    struct telephony *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(errmsg, 256, "out of memory");
        return WAIHU_ENOMEM;
    }
    if (has_set && load_trunks(cfg->trunks_file, &t->trunks, errmsg) != 0) {
        free(t);
        return WAIHU_EINVAL;
    }
    snprintf(t->trunk, sizeof t->trunk, "%s", has_trunk ? cfg->trunk : "");
    snprintf(t->from, sizeof t->from, "sip:%s@waihu", cfg->caller_id ? cfg->caller_id : "anonymous");
    struct sip_engine_config scfg = {.bind_udp = cfg->sip_bind,
                                     .transaction_timeout_ms = 4000};
    struct media_engine_config mcfg = {.n_workers = cfg->media_workers ? cfg->media_workers : 2,
                                       .bind_ip = cfg->media_ip ? cfg->media_ip : ip,
                                       .port_min = cfg->rtp_min, .port_max = cfg->rtp_max,
                                       .cb = on_media, .cb_data = t};
    struct bridge_config bcfg = {.media_ip = mcfg.bind_ip, .from = t->from,
                                 .agent_from = "sip:dialer@waihu",
                                 .carrier_timeout_ms = cfg->carrier_timeout_ms,
                                 .rtp_timeout_ms = cfg->rtp_timeout_ms, .amd = cfg->amd,
                                 .record_dir = cfg->record_dir, .trunks = t->trunks,
                                 .event_cb = on_bridge_event,
                                 .pick_agent = pick_agent, .pick_data = t};
    memcpy(bcfg.record_key, cfg->record_key, sizeof bcfg.record_key);
    int rv = sip_engine_new(loop, &scfg, on_sip, t, &t->sip);
    if (rv != 0) {
        snprintf(errmsg, 256, "SIP on %s: %s", cfg->sip_bind, waihu_strerror(rv));
        trunk_set_free(t->trunks);
        free(t);
        return rv;
    }
    rv = media_engine_new(loop, &mcfg, &t->media);
    if (rv == 0) {
        rv = bridge_new(loop, t->sip, t->media, &bcfg, on_cdr, t, &t->bridge);
        if (rv != 0) {
            media_engine_free(t->media);
        }
    }
    if (rv != 0) {
        snprintf(errmsg, 256, "media/bridge: %s", waihu_strerror(rv));
        sip_engine_free(t->sip);
        trunk_set_free(t->trunks);
        free(t);
        return rv;
    }
    LOG_I("telephony", "SIP on %s, RTP %s:%u-%u, %s %s%s", cfg->sip_bind, mcfg.bind_ip,
          cfg->rtp_min, cfg->rtp_max, t->trunks ? "trunks from" : "trunk",
          t->trunks ? cfg->trunks_file : t->trunk, cfg->record_dir ? ", recording" : "");
    *out = t;
    return 0;
}

void telephony_stop(struct telephony *t)
{
    if (t == NULL) {
        return;
    }
    bridge_free(t->bridge);
    t->bridge = NULL;
    sip_engine_free(t->sip);
    media_engine_free(t->media);
    trunk_set_free(t->trunks);
    for (size_t i = 0; i < REG_BUCKETS; i++) {
        while (t->regs[i] != NULL) {
            struct reg *r = t->regs[i];
            t->regs[i] = r->next;
            free(r);
        }
    }
    free(t);
}

void telephony_on_cdr(struct telephony *t, bridge_cdr_cb cb, void *data)
{
    t->cdr_cb = cb;
    t->cdr_data = data;
}

void telephony_on_registration(struct telephony *t, telephony_registration_cb cb, void *data)
{
    t->reg_cb = cb;
    t->reg_data = data;
}

void telephony_on_call_state(struct telephony *t, telephony_call_state_cb cb, void *data)
{
    t->state_cb = cb;
    t->state_data = data;
}

int telephony_set_agent(struct telephony *t, const char *user, const char *ha1_hex,
                        const char *tenant)
{
    return sip_engine_set_credential(t->sip, user, ha1_hex, NULL, tenant);
}

int telephony_remove_agent(struct telephony *t, const char *user)
{
    return sip_engine_remove_credential(t->sip, user);
}

bool telephony_agent_registered(struct telephony *t, const char *user)
{
    return user != NULL && *reg_find(t, user) != NULL;
}

int telephony_set_elsewhere(struct telephony *t, const char *user, const char *host,
                            int64_t until_ms, const char *node)
{
    return sip_engine_set_elsewhere(t->sip, user, host, until_ms, node);
}

int telephony_drop_registration(struct telephony *t, const char *user)
{
    return sip_engine_drop_binding(t->sip, user);
}

void telephony_set_agent_picker(struct telephony *t, const char *(*pick)(uint64_t call_id,
                                                                          void *data),
                                void *data)
{
    t->pick = pick;
    t->pick_data = pick != NULL ? data : NULL;
}

int telephony_dial(struct telephony *t, const char *e164, const char *agent, const char *tenant,
                   uint64_t *call_id)
{
    return telephony_dial_prompts(t, e164, agent, tenant, NULL, call_id);
}

int telephony_dial_prompts(struct telephony *t, const char *e164, const char *agent,
                           const char *tenant, const struct bridge_prompts *prompts,
                           uint64_t *call_id)
{
    bool broadcast = prompts != NULL && prompts->prompt_path != NULL && !prompts->transfer_digit;
    if (agent == NULL && t->pick == NULL && !broadcast) {
        return WAIHU_EINVAL; /* nobody would choose the agent at answer */
    }
    char target[256];
    snprintf(target, sizeof target, "sip:%s@%s", e164, t->trunk);
    /* With a trunk set the bridge picks the trunk and caller ID and fails over. */
    struct bridge_dial d = {.number = e164, .trunk_target = t->trunks ? NULL : target,
                            .agent = agent, .tenant = tenant};
    if (prompts != NULL) {
        d.prompts = *prompts;
    }
    return bridge_dial(t->bridge, &d, call_id);
}

int telephony_hangup(struct telephony *t, uint64_t call_id)
{
    return bridge_hangup(t->bridge, call_id);
}

void telephony_stats(struct telephony *t, struct bridge_stats *out)
{
    bridge_stats(t->bridge, out);
}

uint32_t telephony_headroom(struct telephony *t)
{
    return t->trunks != NULL ? trunk_set_headroom(t->trunks, (int64_t)clock_now_ms()) : UINT32_MAX;
}

const char *telephony_result_name(size_t i)
{
    return i < TELEPHONY_RESULT_COUNT ? result_names[i] : "other";
}

void telephony_result_counts(const struct telephony *t, uint64_t out[TELEPHONY_RESULT_COUNT])
{
    memcpy(out, t->results, sizeof t->results);
}

void telephony_sip_stats(struct telephony *t, struct sip_engine_stats *out)
{
    sip_engine_stats(t->sip, out);
}

const struct trunk_set *telephony_trunks(const struct telephony *t)
{
    return t->trunks;
}
