/* The bridge object: API, call table, and dispatch of SIP and media events to the calls. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_internal.h"

#define ASSERT_LOOP_THREAD(b) assert(pthread_equal(pthread_self(), (b)->thread))

static int copy(char *dst, size_t cap, const char *src)
{
    if (!src) {
        dst[0] = '\0';
        return 0;
    }
    if (strlen(src) >= cap) {
        return WAIHU_EINVAL;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

int bridge_new(uv_loop_t *loop, struct sip_engine *sip, struct media_engine *media,
               const struct bridge_config *config, bridge_cdr_cb cdr_cb, void *data,
               struct bridge **out)
{
    if (!loop || !sip || !media || !config || !cdr_cb || !out || !config->from) {
        return WAIHU_EINVAL;
    }
    struct bridge *b = calloc(1, sizeof *b);
    if (!b) {
        return WAIHU_ENOMEM;
    }
    b->loop = loop;
    b->sip = sip;
    b->media = media;
    b->cfg = *config;
    b->cdr_cb = cdr_cb;
    b->data = data;
    b->thread = pthread_self();
    if (copy(b->media_ip, sizeof b->media_ip, config->media_ip ? config->media_ip : "127.0.0.1") ||
        copy(b->from, sizeof b->from, config->from) ||
        copy(b->agent_from, sizeof b->agent_from,
             config->agent_from ? config->agent_from : config->from) ||
        copy(b->record_dir, sizeof b->record_dir, config->record_dir)) {
        free(b);
        return WAIHU_EINVAL;
    }
    b->cfg.media_ip = b->media_ip;
    b->cfg.from = b->from;
    b->cfg.agent_from = b->agent_from;
    b->cfg.record_dir = config->record_dir ? b->record_dir : NULL;
    if (!b->cfg.carrier_timeout_ms) {
        b->cfg.carrier_timeout_ms = 30000;
    }
    if (!b->cfg.agent_timeout_ms) {
        b->cfg.agent_timeout_ms = 15000;
    }
    if (!b->cfg.rtp_timeout_ms) {
        b->cfg.rtp_timeout_ms = 10000;
    }
    if (!b->cfg.max_attempts) {
        b->cfg.max_attempts = 3;
    }
    if (b->cfg.trunks) {
        int rv = bridge_route_start(b);
        if (rv != 0) {
            free(b);
            return rv;
        }
    }
    *out = b;
    return 0;
}

void bridge_free(struct bridge *b)
{
    if (!b) {
        return;
    }
    ASSERT_LOOP_THREAD(b);
    b->freeing = 1;
    while (b->calls) {
        struct bridge_call *c = b->calls;
        for (int i = 0; i < 2; i++) {
            if (c->leg[i].live && !c->leg[i].hangup_sent) {
                sip_call_hangup(b->sip, c->leg[i].sip_id);
            }
        }
        if (c->media && !c->media_close_sent) {
            media_session_close(c->media);
        }
        bridge_call_free(c);
    }
    bridge_route_stop(b);
    bridge_prompt_stop(b);
    free(b);
}

static struct bridge_leg **bucket(struct bridge *b, uint64_t sip_id)
{
    return &b->by_sip[sip_id % BRIDGE_HASH];
}

void bridge_leg_index(struct bridge *b, struct bridge_leg *l)
{
    l->hnext = *bucket(b, l->sip_id);
    *bucket(b, l->sip_id) = l;
}

static void leg_unindex(struct bridge *b, struct bridge_leg *l)
{
    for (struct bridge_leg **p = bucket(b, l->sip_id); *p; p = &(*p)->hnext) {
        if (*p == l) {
            *p = l->hnext;
            return;
        }
    }
}

static struct bridge_leg *leg_find(struct bridge *b, uint64_t sip_id)
{
    for (struct bridge_leg *l = *bucket(b, sip_id); l; l = l->hnext) {
        if (l->sip_id == sip_id) {
            return l;
        }
    }
    return NULL;
}

void bridge_call_free(struct bridge_call *c)
{
    struct bridge *b = c->b;
    bridge_route_unwait(c);
    bridge_route_release(c);
    for (int i = 0; i < 2; i++) {
        if (c->leg[i].live) {
            leg_unindex(b, &c->leg[i]);
            b->st.sip_legs_live--;
        }
    }
    if (c->media) {
        b->st.media_open--;
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        b->calls = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    b->st.calls_active--;
    c->magic = 0;
    free(c);
}

int bridge_move(struct bridge_call *c, enum bridge_input in)
{
    int to = bridge_state_next(c->state, in);
    if (to < 0) {
        c->b->st.illegal_moves++;
        LOG_E(BRIDGE_MOD, "call %llu: illegal move %s --%s-->", (unsigned long long)c->id,
              bridge_state_name(c->state), bridge_input_name(in));
        return -1;
    }
    enum bridge_state before = c->state;
    c->state = (enum bridge_state)to;
    if (before != c->state) {
        bridge_emit_state(c);
    }
    return 0;
}

void bridge_emit_state(struct bridge_call *c)
{
    if (c->b->cfg.event_cb && c->state != BST_DONE) {
        struct bridge_event ev = {.type = BRIDGE_EV_STATE, .id = c->id,
                                  .state = bridge_state_name(c->state)};
        c->b->cfg.event_cb(c->b, &ev, c->b->data);
    }
}

int bridge_dial(struct bridge *b, const struct bridge_dial *req, uint64_t *id)
{
    ASSERT_LOOP_THREAD(b);
    if (b->freeing) {
        return WAIHU_ESHUTDOWN;
    }
    if (!req || (!req->trunk_target && !b->cfg.trunks) || !id) {
        return WAIHU_EINVAL;
    }
    /* An agent comes from the dial or the picker, unless nobody can ask for one. */
    int broadcast = req->prompts.prompt_path && !req->prompts.transfer_digit;
    if (!req->agent && !b->cfg.pick_agent && !broadcast) {
        return WAIHU_EINVAL;
    }
    struct bridge_call *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->trunk = -1;
    c->routed = !req->trunk_target;
    c->picked = !req->agent;
    c->from_given = req->from != NULL;
    if (copy(c->number, sizeof c->number, req->number) ||
        copy(c->target, sizeof c->target, req->trunk_target) ||
        copy(c->proxy, sizeof c->proxy, req->proxy) ||
        copy(c->agent, sizeof c->agent, req->agent) ||
        copy(c->from, sizeof c->from, req->from ? req->from : b->from) ||
        copy(c->tenant, sizeof c->tenant, req->tenant)) {
        free(c);
        return WAIHU_EINVAL;
    }
    c->b = b;
    if (bridge_prompt_setup(c, req) != 0) {
        free(c);
        return WAIHU_EINVAL;
    }
    c->magic = BRIDGE_MAGIC;
    c->id = ++b->next_id;
    c->state = BST_DIALING;
    c->amd = b->cfg.amd ? "pending" : "off";
    c->amd_reason = "";
    c->start_ms = clock_now_ms();
    c->start_wall_ms = clock_wall_ms();
    for (int i = 0; i < 2; i++) {
        c->leg[i].call = c;
        c->leg[i].id = (enum bridge_leg_id)i;
    }
    struct media_session_config mc = {.stats_interval_ms = 500,
                                      .inband_dtmf = b->cfg.inband_dtmf, .data = c};
    int rv = media_session_open(b->media, &mc, &c->media);
    if (rv != 0) {
        free(c);
        return rv;
    }
    c->next = b->calls;
    if (b->calls) {
        b->calls->prev = c;
    }
    b->calls = c;
    b->st.calls_active++;
    b->st.calls_total++;
    b->st.media_open++;
    rv = c->routed ? bridge_route_next(c) : bridge_call_carrier(c);
    if (rv != 0) {
        c->silent = 1; /* the caller sees the error; no CDR */
        bridge_end(c, "error", "carrier-failed", BRIDGE_BY_NONE, 500);
        return rv;
    }
    *id = c->id;
    return 0;
}

int bridge_hangup(struct bridge *b, uint64_t id)
{
    ASSERT_LOOP_THREAD(b);
    for (struct bridge_call *c = b->calls; c; c = c->next) {
        if (c->id == id && c->state < BST_ENDING) {
            bridge_end(c, c->leg[LEG_CARRIER].answered ? "dropped" : "cancelled", "local-hangup",
                       BRIDGE_BY_LOCAL, c->leg[LEG_CARRIER].answered ? 200 : 487);
            return 0;
        }
    }
    return WAIHU_ENOTFOUND;
}

/* A static end reason for the CDR (the event's strings die with the callback). */
static const char *end_reason(const char *reason)
{
    if (strcmp(reason, "remote-bye") == 0) {
        return "remote-bye";
    }
    if (strcmp(reason, "local-bye") == 0) {
        return "local-bye";
    }
    return "terminated";
}

static void on_leg_final(struct bridge_call *c, struct bridge_leg *l, const struct sip_event *ev)
{
    struct bridge *b = c->b;
    leg_unindex(b, l);
    l->live = 0;
    b->st.sip_legs_live--;
    if (l->id == LEG_CARRIER && bridge_route_leg_done(c, ev)) {
        return; /* a new attempt over the next trunk is under way */
    }
    if (l->id == LEG_CARRIER) {
        if (ev->type == SIP_EV_FAILED) {
            bridge_end(c, bridge_carrier_result(ev->status), "carrier-failed", BRIDGE_BY_NONE,
                       ev->status);
        } else {
            bridge_end(c, "dropped", end_reason(ev->reason), BRIDGE_BY_CARRIER, 200);
        }
    } else {
        if (ev->type == SIP_EV_FAILED) {
            bridge_agent_failed(c, ev->status); /* may call another agent */
        } else {
            bridge_end(c, "dropped", end_reason(ev->reason), BRIDGE_BY_AGENT, 200);
        }
    }
    bridge_try_release(c);
}

int bridge_on_sip_event(struct bridge *b, const struct sip_event *ev)
{
    ASSERT_LOOP_THREAD(b);
    if (ev->type == SIP_EV_OPTIONS) {
        return bridge_route_on_options(b, ev);
    }
    struct bridge_leg *l = ev->call_id ? leg_find(b, ev->call_id) : NULL;
    if (!l) {
        return 0;
    }
    struct bridge_call *c = l->call;
    if (ev->dialog && !l->dialog[0]) {
        snprintf(l->dialog, sizeof l->dialog, "%s", ev->dialog); /* a longer Call-ID is cut */
    }
    switch (ev->type) {
    case SIP_EV_PROGRESS:
        l->provisional = 1;
        break;
    case SIP_EV_ANSWERED:
        if (l->id == LEG_CARRIER) {
            bridge_route_answered(c);
            bridge_carrier_answered(c, ev->sdp);
        } else {
            bridge_agent_answered(c, ev->sdp);
        }
        break;
    case SIP_EV_FAILED:
    case SIP_EV_ENDED:
        on_leg_final(c, l, ev);
        break;
    default:
        break; /* REFER: nothing to do yet */
    }
    return 1;
}

static void on_dtmf(struct bridge_call *c, const struct media_event *ev)
{
    enum bridge_party party = ev->leg == MEDIA_LEG_A ? BRIDGE_BY_CARRIER : BRIDGE_BY_AGENT;
    if (ev->leg == MEDIA_LEG_A && c->n_digits + 1 < sizeof c->digits) {
        c->digits[c->n_digits++] = ev->u.dtmf.digit;
        c->digits[c->n_digits] = '\0';
    }
    if (c->b->cfg.event_cb) {
        struct bridge_event e = {.type = BRIDGE_EV_DTMF, .id = c->id, .digit = ev->u.dtmf.digit,
                                 .party = party,
                                 .detail = ev->u.dtmf.source == MEDIA_DTMF_RFC4733 ? "rfc4733"
                                                                                   : "inband",
                                 .state = bridge_state_name(c->state)};
        c->b->cfg.event_cb(c->b, &e, c->b->data);
    }
    if (ev->leg == MEDIA_LEG_A) {
        bridge_prompt_on_dtmf(c, ev->u.dtmf.digit); /* IVR: the transfer digit */
    }
}

static void on_amd(struct bridge_call *c, const struct media_event *ev)
{
    int machine = ev->u.amd.result == MEDIA_AMD_MACHINE;
    if (c->state != BST_SCREENING) {
        return;
    }
    c->amd = machine ? "machine" : "human";
    c->amd_reason = media_amd_reason_name(ev->u.amd.reason);
    if (c->b->cfg.event_cb) {
        struct bridge_event e = {.type = BRIDGE_EV_AMD, .id = c->id, .detail = c->amd,
                                 .state = bridge_state_name(c->state)};
        c->b->cfg.event_cb(c->b, &e, c->b->data);
    }
    if (machine) {
        if (!bridge_prompt_on_machine(c)) { /* else a message is left first */
            bridge_end(c, "machine", "amd-machine", BRIDGE_BY_LOCAL, 200);
        }
    } else {
        bridge_human(c);
    }
}

int bridge_on_media_event(struct bridge *b, const struct media_event *ev)
{
    ASSERT_LOOP_THREAD(b);
    struct bridge_call *c = media_session_data(ev->session);
    if (!c || c->magic != BRIDGE_MAGIC || c->b != b || c->media != ev->session) {
        return 0;
    }
    switch (ev->type) {
    case MEDIA_EV_DTMF:
        on_dtmf(c, ev);
        break;
    case MEDIA_EV_AMD:
        on_amd(c, ev);
        break;
    case MEDIA_EV_STATS:
        bridge_check_rtp(c, ev);
        break;
    case MEDIA_EV_RECORDING:
        c->rec_err = ev->u.recording.err;
        c->rec_frames = ev->u.recording.frames;
        if (ev->u.recording.bytes > 0) { /* the stop: the sealed file's size and checksum */
            c->rec_bytes = ev->u.recording.bytes;
            memcpy(c->rec_sha256, ev->u.recording.sha256, sizeof c->rec_sha256);
        }
        break;
    case MEDIA_EV_CLOSED:
        c->rtp[0] = ev->stats[0];
        c->rtp[1] = ev->stats[1];
        c->media = NULL;
        b->st.media_open--;
        if (c->state < BST_ENDING) { /* closed under us: the media engine is stopping */
            bridge_end(c, "error", "media-error", BRIDGE_BY_NONE, 500);
        }
        bridge_try_release(c);
        break;
    case MEDIA_EV_PROMPT:
        bridge_prompt_on_event(c, ev);
        break;
    case MEDIA_EV_SILENCE:
        break;
    }
    return 1;
}

void bridge_stats(const struct bridge *b, struct bridge_stats *out)
{
    *out = b->st;
}
