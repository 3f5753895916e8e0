/* Calls in the SIP thread: originate, answer, hang up, transfer, and the nua events of
 * each call, every move checked against the state table (call_state.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#include <sofia-sip/su_tag_io.h>

static struct xcall **bucket(struct sip_engine *e, uint64_t id)
{
    return &e->calls[id % CALL_BUCKETS];
}

static struct xcall *call_find(struct sip_engine *e, uint64_t id)
{
    for (struct xcall *x = *bucket(e, id); x; x = x->hnext) {
        if (x->id == id) {
            return x;
        }
    }
    return NULL;
}

static void call_unlink(struct sip_engine *e, struct xcall *xc)
{
    for (struct xcall **p = bucket(e, xc->id); *p; p = &(*p)->hnext) {
        if (*p == xc) {
            *p = xc->hnext;
            return;
        }
    }
}

static struct xcall *call_new(struct sip_engine *e, uint64_t id, void *user)
{
    struct xcall *xc = calloc(1, sizeof *xc);
    if (!xc) {
        return NULL;
    }
    xc->id = id;
    xc->user = user;
    xc->state = CS_IDLE;
    xc->hnext = *bucket(e, id);
    *bucket(e, id) = xc;
    atomic_fetch_add(&e->st_calls_active, 1);
    return xc;
}

static void call_free(struct sip_engine *e, struct xcall *xc)
{
    call_unlink(e, xc);
    if (xc->timer) {
        su_timer_destroy(xc->timer);
    }
    if (xc->nh) {
        nua_handle_bind(xc->nh, NULL);
        nua_handle_destroy(xc->nh);
    }
    free(xc->local_sdp);
    free(xc);
    atomic_fetch_sub(&e->st_calls_active, 1);
}

/* Applies one input; returns -1 (and changes nothing) when the table forbids it. */
static int move(struct sip_engine *e, struct xcall *xc, enum call_input in)
{
    int to = call_state_next(xc->state, in);
    if (to < 0) {
        atomic_fetch_add(&e->st_illegal, 1);
        LOG_E(MOD, "call %llu: illegal move %s --%s-->", (unsigned long long)xc->id,
              call_state_name(xc->state), call_input_name(in));
        return -1;
    }
    xc->state = (enum call_state)to;
    return 0;
}

static void emit(struct sip_engine *e, struct xcall *xc, enum sip_event_type type, int status,
                 const char *reason, const char *sdp)
{
    struct sip_event ev = {.type = type, .call_id = xc->id, .user = xc->user,
                           .status = status, .reason = reason, .sdp = sdp,
                           .dialog = xc->dialog[0] ? xc->dialog : NULL};
    engine_emit(e, &ev);
}

/* The one final event of a call (FAILED before an answer, ENDED after). */
static void emit_final(struct sip_engine *e, struct xcall *xc, int status, const char *reason)
{
    if (xc->final_emitted) {
        return;
    }
    xc->final_emitted = 1;
    if (xc->answered_emitted) {
        emit(e, xc, SIP_EV_ENDED, status, xc->end_reason[0] ? xc->end_reason : reason, NULL);
    } else {
        emit(e, xc, SIP_EV_FAILED, status, reason, NULL);
    }
}

/* A failure found before any INVITE left: one FAILED event, no call kept. */
static void fail_early(struct sip_engine *e, uint64_t id, void *user, int status,
                       const char *reason)
{
    struct sip_event ev = {.type = SIP_EV_FAILED, .call_id = id, .user = user,
                           .status = status, .reason = reason};
    engine_emit(e, &ev);
}

/* "sip:+1555@host" -> "+1555"; returns 0 or -1. */
static int user_part(const char *uri, char *out, size_t cap)
{
    const char *p = strchr(uri, ':');
    const char *at = strchr(uri, '@');
    if (!p || !at || at < p || (size_t)(at - p - 1) >= cap) {
        return -1;
    }
    memcpy(out, p + 1, (size_t)(at - p - 1));
    out[at - p - 1] = '\0';
    return 0;
}

static void on_timeout(struct sip_engine *e, su_timer_t *t, struct xcall *xc)
{
    (void)t;
    if ((xc->state == CS_CALLING || xc->state == CS_EARLY) && move(e, xc, CI_HANGUP) == 0) {
        xc->timed_out = 1;
        nua_cancel(xc->nh, TAG_END());
    }
}

static void originate(struct sip_engine *e, struct cmd *c)
{
    char number[64], from[512];
    const char *target = c->target;
    if (c->agent) {
        target = registrar_contact(e, c->agent);
        if (!target) {
            fail_early(e, c->call_id, c->user, 404, "agent not registered");
            return;
        }
    } else if (c->tenant && e->dest &&
               (user_part(target, number, sizeof number) != 0 ||
                !sip_dest_allowed(e->dest, c->tenant, number))) {
        LOG_W(MOD, "call %llu: tenant %s may not call %s", (unsigned long long)c->call_id,
              c->tenant, target);
        fail_early(e, c->call_id, c->user, 403, "destination not allowed");
        return;
    }
    struct xcall *xc = call_new(e, c->call_id, c->user);
    if (!xc) {
        fail_early(e, c->call_id, c->user, 500, "out of memory");
        return;
    }
    xc->outgoing = 1;
    if (c->from_display) {
        snprintf(from, sizeof from, "\"%s\" <%s>", c->from_display, c->from);
    } else {
        snprintf(from, sizeof from, "<%s>", c->from);
    }
    xc->nh = nua_handle(e->nua, xc, NUTAG_URL(target), SIPTAG_TO_STR(target),
                        SIPTAG_FROM_STR(from), TAG_END());
    xc->local_sdp = strdup(c->sdp);
    xc->timer = su_timer_create(su_root_task(e->root), 0);
    if (!xc->nh || !xc->local_sdp || !xc->timer) {
        fail_early(e, c->call_id, c->user, 500, "out of memory");
        call_free(e, xc);
        return;
    }
    char route[300];
    if (c->proxy) {
        snprintf(route, sizeof route, "<%s;lr>", c->proxy);
    }
    move(e, xc, CI_SEND_INVITE);
    atomic_fetch_add(&e->st_calls_out, 1);
    nua_invite(xc->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(c->sdp),
               TAG_IF(c->proxy, SIPTAG_ROUTE_STR(route)), TAG_END());
    su_timer_set_interval(xc->timer, on_timeout, xc, c->timeout_ms);
}

void calls_incoming(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip, const char *agent,
                    const char *tenant, const char *source)
{
    struct xcall *xc = call_new(e, atomic_fetch_add(&e->next_call_id, 1), NULL);
    if (!xc) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    xc->nh = nh;
    nua_handle_bind(nh, xc);
    move(e, xc, CI_RECV_INVITE);
    atomic_fetch_add(&e->st_calls_in, 1);
    if (sip->sip_call_id) {
        snprintf(xc->dialog, sizeof xc->dialog, "%s", sip->sip_call_id->i_id);
    }
    char body[8192] = "";
    if (sip->sip_payload && sip->sip_payload->pl_len < sizeof body) {
        memcpy(body, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
        body[sip->sip_payload->pl_len] = '\0';
    }
    struct sip_event ev = {.type = SIP_EV_INCOMING, .call_id = xc->id, .status = 0,
                           .reason = "invite", .sdp = body[0] ? body : NULL, .agent = agent,
                           .tenant = tenant, .target = sip->sip_request->rq_url->url_user,
                           .source = source, .dialog = xc->dialog};
    engine_emit(e, &ev);
}

static void respond(struct sip_engine *e, struct xcall *xc, struct cmd *c)
{
    if (c->status >= 300) {
        if (move(e, xc, CI_FAILED) == 0) {
            xc->final_status = c->status;
            nua_respond(xc->nh, c->status, sip_status_phrase(c->status), TAG_END());
        }
        return;
    }
    if (!xc->outgoing && move(e, xc, CI_PROVISIONAL) == 0) {
        nua_respond(xc->nh, c->status, sip_status_phrase(c->status),
                    TAG_IF(c->sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                    TAG_IF(c->sdp, SIPTAG_PAYLOAD_STR(c->sdp)), TAG_END());
    }
}

void calls_on_command(struct sip_engine *e, struct cmd *c)
{
    if (c->type == CMD_ORIGINATE) {
        originate(e, c);
        return;
    }
    struct xcall *xc = call_find(e, c->call_id);
    if (!xc || xc->state == CS_DONE) {
        return; /* already gone: the core's command crossed the call's end */
    }
    switch (c->type) {
    case CMD_ANSWER:
        if (!xc->outgoing && xc->state == CS_INCOMING && move(e, xc, CI_ANSWERED) == 0) {
            free(xc->local_sdp);
            xc->local_sdp = strdup(c->sdp);
            xc->answered_emitted = 1; /* the core answered: its end is an ENDED event */
            nua_respond(xc->nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(c->sdp), TAG_END());
        } else {
            LOG_W(MOD, "call %llu: answer in state %s ignored", (unsigned long long)xc->id,
                  call_state_name(xc->state));
        }
        break;
    case CMD_RESPOND:
        respond(e, xc, c);
        break;
    case CMD_HANGUP: {
        enum call_state before = xc->state;
        if (move(e, xc, CI_HANGUP) != 0) {
            break;
        }
        xc->hangup_requested = 1;
        if (before == CS_CALLING || before == CS_EARLY) {
            nua_cancel(xc->nh, TAG_END());
        } else if (before == CS_INCOMING) {
            xc->final_status = 480;
            nua_respond(xc->nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END());
        } else if (before == CS_ACTIVE) {
            snprintf(xc->end_reason, sizeof xc->end_reason, "local-bye");
            nua_bye(xc->nh, TAG_END());
        }
        break;
    }
    case CMD_REFER:
        if (xc->state == CS_ACTIVE && move(e, xc, CI_REFER) == 0) {
            nua_refer(xc->nh, SIPTAG_REFER_TO_STR(c->target), TAG_END());
        }
        break;
    default:
        break;
    }
}

static void copy_body(sip_t const *sip, char *out, size_t cap)
{
    out[0] = '\0';
    if (sip && sip->sip_payload && sip->sip_payload->pl_len < cap) {
        memcpy(out, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
        out[sip->sip_payload->pl_len] = '\0';
    }
}

static void on_r_invite(struct sip_engine *e, struct xcall *xc, int status, char const *phrase,
                        sip_t const *sip)
{
    char body[8192];
    if (status < 101) {
        return;
    }
    copy_body(sip, body, sizeof body);
    if (status < 200) {
        if (move(e, xc, CI_PROVISIONAL) == 0 && xc->state == CS_EARLY) {
            emit(e, xc, SIP_EV_PROGRESS, status, phrase, body[0] ? body : NULL);
        }
        return;
    }
    if (status < 300) {
        enum call_state before = xc->state;
        if (move(e, xc, CI_ANSWERED) != 0) {
            return;
        }
        if (before == CS_CANCELLING) {
            snprintf(xc->end_reason, sizeof xc->end_reason, "cancelled");
            nua_bye(xc->nh, TAG_END()); /* 200 crossed our CANCEL */
        } else if (before != CS_ACTIVE) {
            su_timer_reset(xc->timer);
            xc->answered_emitted = 1;
            emit(e, xc, SIP_EV_ANSWERED, status, phrase, body[0] ? body : NULL);
        }
        return;
    }
    if (xc->state == CS_ACTIVE || xc->state == CS_ENDING) {
        return; /* a failed re-INVITE or a late answer: the dialog is unchanged */
    }
    if (move(e, xc, CI_FAILED) != 0) {
        return;
    }
    su_timer_reset(xc->timer);
    if (xc->timed_out) {
        emit_final(e, xc, 408, "no answer");
    } else if (xc->hangup_requested) {
        emit_final(e, xc, 487, "cancelled");
    } else {
        emit_final(e, xc, status, phrase);
    }
}

static void on_notify(struct sip_engine *e, struct xcall *xc, sip_t const *sip)
{
    char body[256];
    int code = 0;
    copy_body(sip, body, sizeof body);
    if (sscanf(body, "SIP/2.0 %d", &code) == 1) {
        emit(e, xc, SIP_EV_REFER, code, "notify", NULL);
    }
}

void calls_on_event(struct sip_engine *e, nua_event_t event, int status, char const *phrase,
                    nua_handle_t *nh, struct xcall *xc, sip_t const *sip, tagi_t tags[])
{
    if (!xc) {
        if (event == nua_i_state) {
            int state = nua_callstate_init;
            tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
            if (state == nua_callstate_terminated) {
                nua_handle_destroy(nh); /* a challenged or refused INVITE */
            }
        }
        return;
    }
    if (!xc->dialog[0] && sip && sip->sip_call_id) {
        snprintf(xc->dialog, sizeof xc->dialog, "%s", sip->sip_call_id->i_id);
    }
    switch (event) {
    case nua_r_invite:
        on_r_invite(e, xc, status, phrase, sip);
        break;
    case nua_i_invite: /* re-INVITE: keep the session as it is */
        if (xc->state == CS_ACTIVE && xc->local_sdp) {
            nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(xc->local_sdp), TAG_END());
        } else {
            nua_respond(nh, SIP_491_REQUEST_PENDING, TAG_END());
        }
        break;
    case nua_i_cancel:
        if (move(e, xc, CI_REMOTE_CANCEL) == 0) {
            emit_final(e, xc, 487, "remote-cancel");
        }
        break;
    case nua_i_bye:
        if (move(e, xc, CI_REMOTE_BYE) == 0) {
            snprintf(xc->end_reason, sizeof xc->end_reason, "remote-bye");
            emit_final(e, xc, 200, "remote-bye");
        }
        break;
    case nua_r_refer:
        if (status >= 200) {
            emit(e, xc, SIP_EV_REFER, status, phrase, NULL);
        }
        break;
    case nua_i_notify:
        on_notify(e, xc, sip);
        break;
    case nua_i_state: {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state != nua_callstate_terminated) {
            break;
        }
        if (xc->state != CS_DONE && move(e, xc, CI_TERMINATED) != 0) {
            xc->state = CS_DONE; /* reported as illegal; the dialog is gone all the same */
        }
        if (xc->final_status >= 300) {
            emit_final(e, xc, xc->final_status, sip_status_phrase(xc->final_status));
        } else if (!xc->answered_emitted && xc->timed_out) {
            emit_final(e, xc, 408, "no answer");
        } else if (!xc->answered_emitted && xc->hangup_requested) {
            emit_final(e, xc, 487, "cancelled");
        } else {
            emit_final(e, xc, status >= 300 ? status : 200,
                       xc->answered_emitted ? "terminated" : "failed");
        }
        call_free(e, xc);
        break;
    }
    default:
        break;
    }
}

void calls_free_all(struct sip_engine *e)
{
    for (size_t i = 0; i < CALL_BUCKETS; i++) {
        while (e->calls[i]) {
            struct xcall *xc = e->calls[i];
            xc->nh = NULL; /* nua_destroy releases the handles */
            call_free(e, xc);
        }
    }
}
