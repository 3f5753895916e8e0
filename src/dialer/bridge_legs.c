/* Steps of a bridge call: INVITE the carrier, take its answer (AMD or not), pick the agent
 * when the dial named none, INVITE the agent, join both legs' media and record, and watch
 * the RTP of answered legs. Prompts and abandon messages: bridge_prompt.c. */
#include <stdio.h>
#include <string.h>

#include "bridge_internal.h"
#include "sdp.h"

#define TE_PT 101

static int originate(struct bridge_call *c, struct bridge_leg *l, const struct sip_originate *o)
{
    int rv = sip_call_originate(c->b->sip, o, &l->sip_id);
    if (rv != 0) {
        LOG_W(BRIDGE_MOD, "call %llu: %s leg: originate: %s", (unsigned long long)c->id,
              l->id == LEG_CARRIER ? "carrier" : "agent", waihu_strerror(rv));
        return rv;
    }
    l->live = 1;
    l->invite_ms = clock_now_ms();
    c->b->st.sip_legs_live++;
    bridge_leg_index(c->b, l);
    return 0;
}

static int offer(struct bridge_call *c, enum media_leg leg, char *sdp, size_t cap)
{
    return bridge_sdp_build(sdp, cap, c->b->cfg.media_ip, media_session_port(c->media, leg), -1,
                            TE_PT, c->id * 2 + (uint64_t)leg);
}

int bridge_call_carrier(struct bridge_call *c)
{
    char sdp[1024];
    int rv = offer(c, MEDIA_LEG_A, sdp, sizeof sdp);
    if (rv != 0) {
        return rv;
    }
    struct sip_originate o = {.target = c->target, .proxy = c->proxy[0] ? c->proxy : NULL,
                              .from = c->from, .sdp = sdp,
                              .tenant = c->tenant[0] ? c->tenant : NULL,
                              .timeout_ms = c->b->cfg.carrier_timeout_ms, .user = c};
    return originate(c, &c->leg[LEG_CARRIER], &o);
}

/* Points the media leg at the peer's SDP; on failure the call ends with an error. */
static int join_media(struct bridge_call *c, enum media_leg leg, const char *sdp)
{
    struct bridge_sdp peer;
    char err[160];
    int rv = bridge_sdp_parse(sdp, &peer, err, sizeof err);
    if (rv == 0) {
        rv = media_session_set_remote(c->media, leg, peer.ip, peer.port,
                                      peer.codec == 8 ? MEDIA_PCMA : MEDIA_PCMU, peer.te_pt);
        if (rv != 0) {
            snprintf(err, sizeof err, "media: %s", waihu_strerror(rv));
        }
    }
    if (rv != 0) {
        LOG_W(BRIDGE_MOD, "call %llu: %s answer: %s", (unsigned long long)c->id,
              leg == MEDIA_LEG_A ? "carrier" : "agent", err);
        bridge_end(c, "error", "sdp-error", BRIDGE_BY_LOCAL, 488);
    }
    return rv;
}

void bridge_carrier_answered(struct bridge_call *c, const char *sdp)
{
    struct bridge_leg *l = &c->leg[LEG_CARRIER];
    l->answered = 1;
    l->answer_ms = l->rx_change_ms = clock_now_ms();
    if (c->state != BST_DIALING || !c->media) {
        return; /* ending: the hangup already sent takes care of the leg */
    }
    if (join_media(c, MEDIA_LEG_A, sdp) != 0 || bridge_move(c, BIN_CARRIER_ANSWER) != 0) {
        return;
    }
    if (c->b->cfg.amd) {
        int rv = media_session_amd_start(c->media, MEDIA_LEG_A, NULL);
        if (rv != 0) {
            bridge_end(c, "error", "media-error", BRIDGE_BY_LOCAL, 500);
        }
        return;
    }
    bridge_human(c);
}

int bridge_pick(struct bridge_call *c, enum bridge_state in)
{
    struct bridge *b = c->b;
    c->picks++;
    const char *name = b->cfg.pick_agent(b, c->id, b->cfg.pick_data);
    if (c->state != in) {
        return -1;
    }
    if (!name) {
        LOG_I(BRIDGE_MOD, "call %llu: no agent free (pick %u)", (unsigned long long)c->id,
              c->picks);
        return 0;
    }
    if (!name[0] || strlen(name) >= sizeof c->agent) {
        LOG_W(BRIDGE_MOD, "call %llu: picker returned an unusable agent name (%zu bytes)",
              (unsigned long long)c->id, strlen(name));
        return 0;
    }
    memcpy(c->agent, name, strlen(name) + 1);
    LOG_I(BRIDGE_MOD, "call %llu: agent %s picked %llu ms after the answer",
          (unsigned long long)c->id, c->agent,
          (unsigned long long)(clock_now_ms() - c->leg[LEG_CARRIER].answer_ms));
    return 1;
}

void bridge_call_agent(struct bridge_call *c)
{
    char sdp[1024];
    int rv = offer(c, MEDIA_LEG_B, sdp, sizeof sdp);
    if (rv == 0) {
        struct sip_originate o = {.agent = c->agent, .from = c->b->cfg.agent_from, .sdp = sdp,
                                  .timeout_ms = c->b->cfg.agent_timeout_ms, .user = c};
        rv = originate(c, &c->leg[LEG_AGENT], &o);
    }
    if (rv != 0) {
        bridge_agent_failed(c, 500);
    }
}

void bridge_human(struct bridge_call *c)
{
    c->want_agent_ms = clock_now_ms();
    if (bridge_prompt_on_human(c)) {
        return; /* IVR: the prompt first; an agent only for the transfer digit */
    }
    if (c->picked) {
        int got = bridge_pick(c, BST_SCREENING);
        if (got < 0) {
            return;
        }
        if (got == 0) {
            bridge_abandon(c, "no-agent", 200);
            return;
        }
    }
    if (bridge_move(c, BIN_HUMAN) != 0) {
        return;
    }
    bridge_call_agent(c);
}

void bridge_agent_failed(struct bridge_call *c, int status)
{
    struct bridge_leg *l = &c->leg[LEG_AGENT];
    if (!c->picked) {
        bridge_end(c, "agent-unavailable", "agent-failed", BRIDGE_BY_NONE, status);
        return;
    }
    if (c->state >= BST_ENDING) {
        return; /* our CANCEL: the call already ends for another reason */
    }
    /* From the answer, or from an IVR call's transfer digit. */
    uint64_t waited = clock_now_ms() - c->want_agent_ms;
    if (c->state != BST_AGENT_RINGING || l->live || c->picks >= BRIDGE_PICK_TRIES ||
        waited >= BRIDGE_PICK_WINDOW_MS) {
        LOG_I(BRIDGE_MOD, "call %llu: agent %s failed (%d) after %llu ms waiting; abandoned",
              (unsigned long long)c->id, c->agent, status, (unsigned long long)waited);
        bridge_abandon(c, "agent-failed", status);
        return;
    }
    LOG_I(BRIDGE_MOD, "call %llu: agent %s failed (%d); picking another",
          (unsigned long long)c->id, c->agent, status);
    int got = bridge_pick(c, BST_AGENT_RINGING);
    if (got < 0) {
        return;
    }
    if (got == 0) {
        bridge_abandon(c, "no-agent", 200);
        return;
    }
    if (bridge_move(c, BIN_AGENT_RETRY) != 0) {
        return;
    }
    struct bridge_leg fresh = {.call = c, .id = LEG_AGENT};
    *l = fresh;
    bridge_call_agent(c);
}

void bridge_record(struct bridge_call *c)
{
    const struct bridge_config *cfg = &c->b->cfg;
    if (!cfg->record_dir || c->recording || c->rec_err) {
        return;
    }
    int n = snprintf(c->rec_path, sizeof c->rec_path, "%s/call-%llu-%lld.wrec", cfg->record_dir,
                     (unsigned long long)c->id, (long long)c->start_wall_ms);
    if (n < 0 || (size_t)n >= sizeof c->rec_path) {
        c->rec_err = WAIHU_ETOOBIG;
        c->rec_path[0] = '\0';
        return;
    }
    int rv = media_session_record_start(c->media, c->rec_path, cfg->record_key);
    if (rv != 0) {
        c->rec_err = rv;
        return;
    }
    c->recording = 1;
}

void bridge_agent_answered(struct bridge_call *c, const char *sdp)
{
    struct bridge_leg *l = &c->leg[LEG_AGENT];
    l->answered = 1;
    l->answer_ms = l->rx_change_ms = clock_now_ms();
    if (c->state != BST_AGENT_RINGING || !c->media) {
        return;
    }
    if (join_media(c, MEDIA_LEG_B, sdp) != 0 || bridge_move(c, BIN_AGENT_ANSWER) != 0) {
        return;
    }
    c->bridged = 1;
    bridge_record(c);
}

void bridge_check_rtp(struct bridge_call *c, const struct media_event *ev)
{
    uint32_t timeout = c->b->cfg.rtp_timeout_ms;
    if (c->state >= BST_ENDING || timeout == UINT32_MAX) {
        return;
    }
    uint64_t now = clock_now_ms();
    for (int i = 0; i < 2; i++) {
        struct bridge_leg *l = &c->leg[i];
        if (!l->answered || !l->live) {
            continue;
        }
        uint64_t rx = ev->stats[i].packets_rx; /* media leg A = carrier, B = agent */
        if (rx != l->rx_packets) {
            l->rx_packets = rx;
            l->rx_change_ms = now;
        } else if (now - l->rx_change_ms >= timeout) {
            LOG_W(BRIDGE_MOD, "call %llu: no RTP from the %s for %llu ms",
                  (unsigned long long)c->id, i == LEG_CARRIER ? "carrier" : "agent",
                  (unsigned long long)(now - l->rx_change_ms));
            bridge_end(c, "dropped", "rtp-timeout",
                       i == LEG_CARRIER ? BRIDGE_BY_CARRIER : BRIDGE_BY_AGENT, 200);
            return;
        }
    }
}
