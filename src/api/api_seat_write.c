/* Agent state changes: read the record, decide the next one from it (seat.h's rules),
 * write it conditioned on the bytes read, and on a lost race read again and redecide.
 * A change of state is a stamped put, so "since" is the leader's commit time on every
 * node; a change of anything else keeps "since" as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "api_seat_internal.h"

#define SEAT_TRIES 5

struct seat_write {
    struct api_seat *s;
    struct seat_change ch;
    seat_done_fn done;
    void *data;
    unsigned tries;
    bool running;
    struct seat_write *next; /* s->writes, in submission order */
};

static void seat_write_run(struct seat_write *w);

static enum seat_state state_of(const AgentState *st)
{
    enum seat_state s;
    return seat_state_parse(st->state, &s) == 0 ? s : SEAT_OFFLINE;
}

static bool same_call(const AgentState *cur, const struct seat_change *ch)
{
    return cur->call_id == ch->call_id && cur->call_node == ch->call_node;
}

/* The call of the change becomes the agent's current (and last) call. */
static void set_call(AgentState *n, const struct seat_change *ch)
{
    n->call_node = n->last_call_node = ch->call_node;
    n->call_id = n->last_call_id = ch->call_id;
    n->campaign_id = n->last_campaign_id = ch->campaign;
    n->customer_id = n->last_customer_id = ch->customer;
    n->wrap_s = ch->wrap_s > 0 ? (uint32_t)ch->wrap_s : 0;
}

static void clear_call(AgentState *n)
{
    n->call_node = n->call_id = n->campaign_id = n->customer_id = 0;
    n->wrap_s = 0;
}

/* Whether a refresh must be written: other nodes refuse other hosts by the stored host
 * and expiry (duplicate logins), so a new host, or a stored expiry more than half a
 * lifetime off, is written; the other refreshes are not (the stored expiry has half a
 * lifetime of margin for them: api_seat_calls.c). */
static bool registration_stale(const AgentState *cur, const struct seat_change *ch)
{
    int64_t off = ch->registered_until_ms - cur->registered_until_ms;
    return strcmp(cur->source_host, ch->source_host) != 0 ||
           (off < 0 ? -off : off) > (int64_t)ch->expires_s * 1000 / 2;
}

/* Decides the next record from cur (n starts as a copy of it). Returns 1 to write,
 * 0 when there is nothing to change, -1 refused with *why. */
static int decide(const struct api_seat *s, const struct seat_change *ch, const AgentState *cur,
                  AgentState *n, const char **why)
{
    enum seat_state from = state_of(cur), to = from;
    bool here = strcmp(cur->node, s->self_name) == 0;
    switch (ch->kind) {
    case SEAT_K_REGISTER:
        if (from == SEAT_OFFLINE) {
            to = SEAT_ONLINE;
        } else if (here) {
            if (!registration_stale(cur, ch)) {
                return 0; /* a refresh */
            }
        } else if ((from == SEAT_RESERVED || from == SEAT_ON_CALL || from == SEAT_WRAP_UP) &&
                   cur->call_node != s->self_id) {
            to = SEAT_READY; /* moved here after its node went away: that call is gone */
            clear_call(n);
        }
        n->node = (char *)s->self_name;
        n->source_host = (char *)ch->source_host;
        n->registered_until_ms = ch->registered_until_ms;
        break;
    case SEAT_K_UNREGISTER:
        if (!here) {
            return 0; /* registered elsewhere since */
        }
        to = SEAT_OFFLINE;
        n->node = "";
        n->source_host = "";
        n->registered_until_ms = 0;
        clear_call(n);
        break;
    case SEAT_K_RESERVE:
        to = SEAT_RESERVED;
        if (!seat_change_ok(from, to, SEAT_BY_SYSTEM, true, why)) {
            return -1;
        }
        set_call(n, ch);
        break;
    case SEAT_K_BRIDGED:
        if (from == SEAT_ON_CALL && same_call(cur, ch)) {
            return 0;
        }
        to = SEAT_ON_CALL;
        if (!seat_change_ok(from, to, SEAT_BY_SYSTEM, true, why)) {
            return -1;
        }
        set_call(n, ch);
        break;
    case SEAT_K_ENDED:
        if (!same_call(cur, ch) || (from != SEAT_RESERVED && from != SEAT_ON_CALL)) {
            return 0; /* the agent moved on already */
        }
        to = ch->talked && ch->wrap_s >= 0 ? SEAT_WRAP_UP : SEAT_READY;
        if (to == SEAT_READY) {
            clear_call(n);
        }
        break;
    case SEAT_K_WRAP_DONE:
        if (from != SEAT_WRAP_UP || !same_call(cur, ch)) {
            return 0;
        }
        to = SEAT_READY;
        clear_call(n);
        break;
    case SEAT_K_DISPOSED:
        if (from == SEAT_WRAP_UP && same_call(cur, ch)) {
            to = SEAT_READY;
            clear_call(n);
        } else if (!ch->conversion) {
            return 0;
        }
        break;
    case SEAT_K_USER:
        to = ch->to;
        if (!seat_change_ok(from, to, SEAT_BY_USER, cur->node[0] != '\0', why)) {
            return -1;
        }
        if (to == from && strcmp(cur->reason, ch->reason) == 0) {
            return 0;
        }
        if (from == SEAT_WRAP_UP) {
            clear_call(n);
        }
        n->reason = (char *)ch->reason;
        break;
    }
    if (to != from && ch->kind != SEAT_K_USER) {
        n->reason = "";
    }
    n->state = (char *)seat_state_name(to);
    return 1;
}

/* Changes of one agent run one at a time, in order: "call ended" must not be decided
 * before the reservation it ends has committed. */
static bool agent_busy(const struct api_seat *s, const struct seat_write *w)
{
    for (const struct seat_write *o = s->writes; o != NULL; o = o->next) {
        if (o != w && o->running && strcmp(o->ch.name, w->ch.name) == 0) {
            return true;
        }
    }
    return false;
}

static void start_next_of(struct api_seat *s, const char *name)
{
    for (struct seat_write *o = s->writes; o != NULL; o = o->next) {
        if (!o->running && strcmp(o->ch.name, name) == 0) {
            o->running = true;
            seat_write_run(o);
            return;
        }
    }
}

static void unlink_write(struct api_seat *s, struct seat_write *w)
{
    struct seat_write **pp = (struct seat_write **)&s->writes;
    while (*pp != NULL && *pp != w) {
        pp = &(*pp)->next;
    }
    if (*pp == w) {
        *pp = w->next;
    }
}

static void finish(struct seat_write *w, int status, const char *why)
{
    struct api_seat *s = w->s;
    s->outstanding--;
    unlink_write(s, w);
    if (w->done != NULL) {
        AgentState *now = NULL;
        if (status == 0 && !s->stopping) {
            uint8_t k[SEAT_KEY_MAX];
            void *val;
            size_t len;
            if (store_get(s->a->store, STORE_CF_AGENT, k, seat_key(w->ch.tenant, w->ch.name, k),
                          &val, &len) == 0) {
                now = agent_state__unpack(NULL, len, val);
                free(val);
            }
        }
        w->done(w->data, s->stopping ? WAIHU_ESHUTDOWN : status, why, now);
        if (now != NULL) {
            agent_state__free_unpacked(now, NULL);
        }
    }
    char name[64];
    snprintf(name, sizeof name, "%s", w->ch.name);
    free(w);
    if (!s->stopping) {
        start_next_of(s, name);
    } else {
        while (s->writes != NULL) { /* never started: tell their callers */
            struct seat_write *o = s->writes;
            s->outstanding++;
            finish(o, WAIHU_ESHUTDOWN, "stopping");
        }
    }
    if (s->stopping && s->outstanding == 0 && !s->timer_on) {
        seat_release(s);
    }
}

static void written(void *data, int status, const struct store_result *r)
{
    struct seat_write *w = data;
    if (status == 0 && r->code == WAIHU_ECONFLICT && !w->s->stopping &&
        ++w->tries < SEAT_TRIES) {
        w->s->outstanding--;
        seat_write_run(w); /* someone changed it first: decide again from the new record */
        return;
    }
    if (status != 0 || r->code != 0) {
        int code = status != 0 ? status : r->code;
        LOG_W("seat", "agent %s: state change not written: %s", w->ch.name,
              waihu_strerror(code));
        finish(w, code == WAIHU_ECONFLICT ? WAIHU_EUNAVAILABLE : code, "busy, try again");
        return;
    }
    finish(w, 0, NULL);
}

static void seat_write_run(struct seat_write *w)
{
    struct api_seat *s = w->s;
    s->outstanding++;
    uint8_t k[SEAT_KEY_MAX];
    size_t klen = seat_key(w->ch.tenant, w->ch.name, k);
    void *raw = NULL;
    size_t raw_len = 0;
    int rv = store_get(s->a->store, STORE_CF_AGENT, k, klen, &raw, &raw_len);
    AgentState *cur = rv == 0 ? agent_state__unpack(NULL, raw_len, raw) : NULL;
    AgentState fresh = AGENT_STATE__INIT;
    if (cur == NULL) {
        fresh.format = 1;
        fresh.name = w->ch.name;
        fresh.tenant_id = w->ch.tenant;
        fresh.department = w->ch.department;
        fresh.state = (char *)seat_state_name(SEAT_OFFLINE);
    }
    const AgentState *c = cur != NULL ? cur : &fresh;
    AgentState n = *c;
    const char *why = "";
    int d = decide(s, &w->ch, c, &n, &why);
    if (d <= 0) {
        if (cur != NULL) {
            agent_state__free_unpacked(cur, NULL);
        }
        free(raw);
        finish(w, d == 0 ? 0 : WAIHU_ECONFLICT, d == 0 ? NULL : why);
        return;
    }
    if (w->ch.department[0] != '\0') {
        n.department = w->ch.department;
    }
    int64_t wall = clock_wall_ms();
    struct seat_tally t = {c->day, c->calls, c->connects, c->conversions,
                           c->talk_ms, c->wrap_ms, c->idle_ms, c->break_ms};
    bool moved = strcmp(n.state, c->state) != 0;
    if (moved || t.day != seat_today(wall)) {
        enum seat_state from = state_of(c), to = state_of(&n);
        seat_tally_close(&t, from, moved ? c->since_ms : wall, moved ? to : from, wall,
                         seat_today(wall));
    }
    t.conversions += w->ch.kind == SEAT_K_DISPOSED && w->ch.conversion;
    n.day = t.day, n.calls = t.calls, n.connects = t.connects, n.conversions = t.conversions;
    n.talk_ms = t.talk_ms, n.wrap_ms = t.wrap_ms, n.idle_ms = t.idle_ms, n.break_ms = t.break_ms;
    n.changes = c->changes + 1;
    if (moved) {
        n.since_ms = wall; /* replaced by the leader's stamp at commit */
    }
    size_t len = agent_state__get_packed_size(&n);
    uint8_t *v = malloc(len);
    if (v == NULL) {
        waihu_fatal("seat", "out of memory");
    }
    agent_state__pack(&n, v);
    struct store_mutation_builder *mb = store_mb_new();
    if (raw != NULL) {
        store_mb_condition(mb, STORE_CF_AGENT, k, klen, STORE_MB_VALUE_IS, raw, raw_len);
    } else {
        store_mb_condition(mb, STORE_CF_AGENT, k, klen, STORE_MB_ABSENT, NULL, 0);
    }
    if (moved) {
        store_mb_put_stamped(mb, STORE_CF_AGENT, k, klen, v, len, AGENT_STATE_SINCE_FIELD);
    } else {
        store_mb_put(mb, STORE_CF_AGENT, k, klen, v, len);
    }
    if (moved) {
        char subject[96], call[48] = "";
        snprintf(subject, sizeof subject, "agent/%s", n.name);
        if (n.call_id != 0) { /* the call and customer a CRM pops on the agent's screen */
            snprintf(call, sizeof call, "%llu-%llu", (unsigned long long)n.call_node,
                     (unsigned long long)n.call_id);
        }
        api_event_add(mb, n.tenant_id, n.department, "agent.state", subject,
                      json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:I, s:I}", "agent", n.name,
                                "state", n.state, "previous", c->state, "reason", n.reason,
                                "node", n.node, "call", call[0] ? call : NULL, "customer_id",
                                (json_int_t)n.customer_id, "campaign_id",
                                (json_int_t)n.campaign_id));
    }
    if (w->ch.audit) {
        char object[96], detail[128];
        snprintf(object, sizeof object, "agent/%s", w->ch.name);
        snprintf(detail, sizeof detail, "%s -> %s%s%s", c->state, n.state,
                 n.reason[0] ? ": " : "", n.reason);
        api_audit_add(mb, &w->ch.who, "agent.state", object, detail);
    }
    LOG_D("seat", "agent %s: %s -> %s", w->ch.name, c->state, n.state);
    free(v);
    if (cur != NULL) {
        agent_state__free_unpacked(cur, NULL);
    }
    free(raw);
    api_submit_mutation(s->a, mb, 0, 0, written, w);
}

void seat_change_submit(struct api_seat *s, const struct seat_change *ch, seat_done_fn done,
                        void *data)
{
    struct seat_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        waihu_fatal("seat", "out of memory");
    }
    w->s = s;
    w->ch = *ch;
    w->done = done;
    w->data = data;
    struct seat_write **pp = (struct seat_write **)&s->writes;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = w;
    if (!agent_busy(s, w)) {
        w->running = true;
        seat_write_run(w);
    }
}
