/* What the node's telephony tells the seat service: softphones registering (online,
 * offline, moving between nodes), calls reaching agents (reserved, on_call) and ending
 * (wrap-up, then ready when the campaign's wrap-up time is over); and what the seat view
 * tells the registrar: where each agent is registered (duplicate logins).
 * docs/seat-api.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_seat_internal.h"
#include "telephony.h"

#define WRAP_TICK_MS 500
#define RESERVE_HOLD_MS 5000 /* a reservation in flight keeps others off the agent */

struct seat_call {
    uint64_t id;
    uint64_t tenant, campaign, customer;
    int32_t wrap_s;
    char agent[64];
    struct seat_call *next;
};

static void logged(void *data, int status, const char *why, const AgentState *st)
{
    (void)st;
    const char *what = data;
    if (status == WAIHU_ECONFLICT) {
        LOG_I("seat", "%s: not applied: %s", what, why);
    } else if (status != 0 && status != WAIHU_ESHUTDOWN) {
        LOG_W("seat", "%s: %s", what, waihu_strerror(status));
    }
}

static void on_registration(void *data, const char *user, bool bound, const char *source_host,
                            uint32_t expires_s)
{
    struct api_seat *s = data;
    struct seat_change ch = {.kind = bound ? SEAT_K_REGISTER : SEAT_K_UNREGISTER};
    bool disabled;
    if (!seat_user(s->a, user, &ch.tenant, ch.department, &disabled)) {
        return; /* a credential without a user: removed meanwhile */
    }
    snprintf(ch.name, sizeof ch.name, "%s", user);
    if (bound) {
        snprintf(ch.source_host, sizeof ch.source_host, "%s", source_host);
        ch.expires_s = expires_s;
        /* Refreshes within half a lifetime are not written (api_seat_write.c), so the
         * expiry written covers the binding's until the next write: 1.5 lifetimes. */
        ch.registered_until_ms = clock_wall_ms() + (int64_t)expires_s * 1500;
    }
    seat_change_submit(s, &ch, logged, bound ? "registration" : "unregistration");
}

static struct seat_call **call_find(struct api_seat *s, uint64_t id)
{
    struct seat_call **pp = &s->calls;
    while (*pp != NULL && (*pp)->id != id) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void call_change(struct api_seat *s, const struct seat_call *c, enum seat_kind kind,
                        bool talked)
{
    struct seat_change ch = {.kind = kind, .tenant = c->tenant, .call_node = s->self_id,
                             .call_id = c->id, .campaign = c->campaign,
                             .customer = c->customer, .wrap_s = c->wrap_s, .talked = talked};
    snprintf(ch.name, sizeof ch.name, "%s", c->agent);
    static const char *what[] = {[SEAT_K_RESERVE] = "reservation", [SEAT_K_BRIDGED] = "bridged",
                                 [SEAT_K_ENDED] = "call end"};
    seat_change_submit(s, &ch, logged, (char *)what[kind]);
}

static void on_call_state(void *data, uint64_t call_id, const char *state)
{
    struct api_seat *s = data;
    struct seat_call *c = *call_find(s, call_id);
    if (c != NULL && strcmp(state, "bridged") == 0) {
        call_change(s, c, SEAT_K_BRIDGED, true);
    }
}

void api_seat_call_placed(struct api *a, uint64_t call_id, uint64_t tenant, const char *agent,
                          uint64_t campaign, uint64_t customer, int32_t wrap_s)
{
    struct api_seat *s = a->seat;
    if (s == NULL || agent == NULL || agent[0] == '\0') {
        return;
    }
    struct seat_call **pp = call_find(s, call_id), *c = *pp;
    if (c != NULL && strcmp(c->agent, agent) != 0) {
        call_change(s, c, SEAT_K_ENDED, false); /* the first agent was not reached */
    }
    if (c == NULL) {
        c = calloc(1, sizeof *c);
        if (c == NULL) {
            waihu_fatal("seat", "out of memory");
        }
        c->id = call_id;
        c->next = s->calls;
        s->calls = c;
    }
    c->tenant = tenant;
    c->campaign = campaign;
    c->customer = customer;
    c->wrap_s = wrap_s;
    snprintf(c->agent, sizeof c->agent, "%s", agent);
    struct seat_entry *e = seat_find(s, agent);
    if (e != NULL) {
        e->reserved_until = (int64_t)clock_now_ms() + RESERVE_HOLD_MS;
    }
    if (e != NULL && strcmp(e->st->state, "ready") == 0) {
        call_change(s, c, SEAT_K_RESERVE, false);
    }
}

void api_seat_on_cdr(struct api *a, const struct bridge_cdr *cdr)
{
    struct api_seat *s = a->seat;
    struct seat_call **pp = s ? call_find(s, cdr->id) : NULL;
    if (pp == NULL || *pp == NULL) {
        return;
    }
    struct seat_call *c = *pp;
    *pp = c->next;
    bool talked = strcmp(cdr->result, "answered") == 0 && cdr->agent != NULL &&
                  strcmp(cdr->agent, c->agent) == 0;
    call_change(s, c, SEAT_K_ENDED, talked);
    free(c);
}

/* Wrap-up ends on the agent's node when the campaign's wrap-up time is over. */
static void wrap_tick(uv_timer_t *timer)
{
    struct api_seat *s = timer->data;
    int64_t wall = clock_wall_ms(), now = (int64_t)clock_now_ms();
    for (size_t i = 0; i < s->n; i++) {
        struct seat_entry *e = &s->entries[i];
        const AgentState *st = e->st;
        if (strcmp(st->state, "wrap_up") != 0 || st->wrap_s == 0 ||
            strcmp(st->node, s->self_name) != 0 || e->writing_until > now ||
            st->since_ms + (int64_t)st->wrap_s * 1000 > wall) {
            continue;
        }
        e->writing_until = now + 3000;
        struct seat_change ch = {.kind = SEAT_K_WRAP_DONE, .tenant = st->tenant_id,
                                 .call_node = st->call_node, .call_id = st->call_id};
        snprintf(ch.name, sizeof ch.name, "%s", st->name);
        seat_change_submit(s, &ch, logged, "end of wrap-up");
    }
}

/* The IP the agent is registered from on another node; NULL when it is not (offline,
 * here, or no IP recorded). */
static const char *away_host(const struct api_seat *s, const AgentState *st)
{
    if (st == NULL || strcmp(st->state, "offline") == 0 || st->node[0] == '\0' ||
        strcmp(st->node, s->self_name) == 0 || st->source_host[0] == '\0') {
        return NULL;
    }
    return st->source_host;
}

static void tell_registrar(struct api_seat *s, const AgentState *st)
{
    const char *host = away_host(s, st);
    int rv = telephony_set_elsewhere(s->t, st->name, host, host ? st->registered_until_ms : 0,
                                     host ? st->node : NULL);
    if (rv != 0 && rv != WAIHU_ESHUTDOWN) {
        LOG_W("seat", "agent %s: registrar not told where it is registered: %s", st->name,
              waihu_strerror(rv));
    }
}

void seat_calls_view_changed(struct api_seat *s, const AgentState *old, const AgentState *st)
{
    if (s->t == NULL) {
        return;
    }
    const char *was = away_host(s, old), *is = away_host(s, st);
    if (old == NULL || (was == NULL) != (is == NULL) ||
        (is != NULL && (strcmp(was, is) != 0 || strcmp(old->node, st->node) != 0 ||
                        old->registered_until_ms != st->registered_until_ms))) {
        tell_registrar(s, st);
    }
    /* Set offline by request while its softphone is bound here: the binding goes too, so
     * a supervisor can free an agent whose machine died (a live softphone registers
     * again at its next refresh). Unregistering clears node, so it never comes here. */
    if (old != NULL && strcmp(old->state, "offline") != 0 &&
        strcmp(st->state, "offline") == 0 && strcmp(st->node, s->self_name) == 0) {
        LOG_I("seat", "agent %s set offline: its registration here is dropped", st->name);
        telephony_drop_registration(s->t, st->name);
    }
}

void seat_calls_view_loaded(struct api_seat *s)
{
    for (size_t i = 0; s->t != NULL && i < s->n; i++) {
        tell_registrar(s, s->entries[i].st);
    }
}

void seat_calls_attach(struct api_seat *s, struct telephony *t)
{
    s->t = t;
    seat_calls_view_loaded(s);
    telephony_on_registration(t, on_registration, s);
    telephony_on_call_state(t, on_call_state, s);
    uv_timer_init(s->a->loop, &s->timer);
    s->timer.data = s;
    s->timer_on = true;
    uv_timer_start(&s->timer, wrap_tick, WRAP_TICK_MS, WRAP_TICK_MS);
}

void seat_calls_stop(struct api_seat *s)
{
    if (s->t != NULL) {
        telephony_on_registration(s->t, NULL, NULL);
        telephony_on_call_state(s->t, NULL, NULL);
    }
    while (s->calls != NULL) {
        struct seat_call *c = s->calls;
        s->calls = c->next;
        free(c);
    }
}
