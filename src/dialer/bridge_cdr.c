/* The end of a bridge call: the first reason wins, the other legs are hung up, the media
 * closed; the CDR goes out once every SIP leg and the media session are gone. */
#include <string.h>

#include "bridge_internal.h"

void bridge_end(struct bridge_call *c, const char *result, const char *end_reason,
                enum bridge_party by, int status)
{
    struct bridge *b = c->b;
    if (c->state == BST_ANNOUNCING) { /* abandoned, whoever ends the message */
        result = "abandoned";
        end_reason = c->abandon_reason;
        status = c->abandon_status;
    } else if (c->state == BST_PROMPTING &&
               (strcmp(result, "dropped") == 0 || strcmp(result, "played") == 0)) {
        result = strcmp(c->amd, "machine") == 0 ? "machine" : "played";
    }
    if (c->state >= BST_ENDING || bridge_move(c, BIN_END) != 0) {
        return;
    }
    bridge_route_unwait(c);
    c->result = result;
    c->end_reason = end_reason;
    c->hangup_by = by;
    c->status = status;
    c->end_ms = clock_now_ms();
    LOG_I(BRIDGE_MOD, "call %llu: ending: %s/%s by %s (%d)", (unsigned long long)c->id, result,
          end_reason, bridge_party_name(by), status);
    for (int i = 0; i < 2; i++) {
        struct bridge_leg *l = &c->leg[i];
        if (l->live && !l->hangup_sent) {
            l->hangup_sent = 1;
            sip_call_hangup(b->sip, l->sip_id);
        }
    }
    if (c->media && !c->media_close_sent) {
        c->media_close_sent = 1;
        media_session_close(c->media); /* seals the recording; MEDIA_EV_CLOSED follows */
    }
}

static uint32_t span(uint64_t from, uint64_t to)
{
    return from && to > from ? (uint32_t)(to - from) : 0;
}

static struct bridge_cdr_prompt prompt_cdr(const struct bridge_call *c, const struct bridge_play *p)
{
    struct bridge_cdr_prompt out = {.state = bridge_play_state_name(p->state),
                                    .start_ms = span(c->leg[LEG_CARRIER].answer_ms, p->start_ms),
                                    .played_ms = p->played_ms};
    return out;
}

static void deliver(struct bridge_call *c)
{
    const struct bridge_leg *car = &c->leg[LEG_CARRIER], *ag = &c->leg[LEG_AGENT];
    struct bridge_cdr cdr = {
        .id = c->id,
        .number = c->number,
        .trunk_target = c->target,
        .agent = c->picked && !c->bridged ? "" : c->agent, /* picked: only the one bridged */
        .trunk = c->trunk_name[0] ? c->trunk_name : NULL,
        .trunks_tried = c->trunks_tried,
        .caller_id = c->caller_id[0] ? c->caller_id : NULL,
        .attempts = c->attempts,
        .result = c->bridged ? "answered" : c->result,
        .end_reason = c->end_reason,
        .hangup_by = c->hangup_by,
        .status = c->bridged ? 200 : c->status,
        .carrier_dialog = car->dialog[0] ? car->dialog : NULL,
        .agent_dialog = ag->dialog[0] ? ag->dialog : NULL,
        .start_wall_ms = c->start_wall_ms,
        .ring_ms = span(c->start_ms, car->answer_ms ? car->answer_ms : c->end_ms),
        .agent_ring_ms = span(ag->invite_ms, ag->answer_ms),
        .answer_to_agent_ms = span(car->answer_ms, ag->invite_ms),
        .talk_ms = c->bridged ? span(ag->answer_ms, c->end_ms) : 0,
        .duration_ms = span(c->start_ms, c->end_ms),
        .amd = strcmp(c->amd, "pending") == 0 ? "undecided" : c->amd,
        .amd_reason = c->amd_reason,
        .digits = c->digits,
        .prompt = prompt_cdr(c, &c->ivr),
        .abandon_prompt = prompt_cdr(c, &c->abandon),
        .ivr_digit = c->ivr_digit,
        .transferred = c->bridged && c->prompt_path[0],
        .recording = c->recording ? c->rec_path : NULL,
        .recording_err = c->rec_err,
        .recording_frames = c->rec_frames,
        .recording_bytes = c->rec_bytes,
        .recording_sha256 = c->rec_bytes > 0 ? c->rec_sha256 : NULL,
        .end_wall_ms = c->start_wall_ms + (int64_t)span(c->start_ms, c->end_ms),
        .carrier_rtp = c->rtp[0],
        .agent_rtp = c->rtp[1],
    };
    c->b->st.cdrs++;
    c->b->cdr_cb(c->b, &cdr, c->b->data);
}

void bridge_try_release(struct bridge_call *c)
{
    if (c->state != BST_ENDING || c->leg[0].live || c->leg[1].live || c->media) {
        return;
    }
    if (bridge_move(c, BIN_RELEASED) != 0) {
        return;
    }
    if (!c->silent) {
        deliver(c);
    }
    bridge_call_free(c);
}
