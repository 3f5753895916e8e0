/* The carrier leg over a trunk set (docs/bridge.md "Trunks"): trunk_pick chooses a trunk
 * and a caller ID, each attempt's outcome goes to trunk_report, a carrier failure (5xx,
 * 408 without ringing, transport error) is retried on the next trunk with the tried ones
 * excluded, the channel is held exactly while the attempt's SIP leg lives, and a timer on
 * the core loop sends the OPTIONS probes trunk_probe_next asks for and resumes calls that
 * wait for a trunk's CPS budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_internal.h"

#define ROUTE_TICK_MS 20

/* An OPTIONS probe in flight; its address is the event's user pointer. */
struct bridge_ping {
    uint64_t cookie;
    struct bridge_ping *next;
};

static int64_t now_ms(void)
{
    return (int64_t)clock_now_ms();
}

static const char *transport_name(enum trunk_transport t)
{
    return t == TRUNK_TCP ? "tcp" : t == TRUNK_TLS ? "tls" : "udp";
}

static const char *why_name(enum trunk_why_none why)
{
    switch (why) {
    case TRUNK_NONE_DOWN: return "no trunk in rotation";
    case TRUNK_NONE_CHANNELS: return "no free channel";
    case TRUNK_NONE_CPS: return "CPS limit";
    case TRUNK_NONE_OK: break;
    }
    return "?";
}

void bridge_route_release(struct bridge_call *c)
{
    if (c->trunk >= 0) {
        trunk_release(c->b->cfg.trunks, (uint32_t)c->trunk);
        c->trunk = -1;
        c->b->st.trunk_channels--;
    }
}

void bridge_route_unwait(struct bridge_call *c)
{
    if (c->retry_at_ms > 0) {
        c->retry_at_ms = 0;
        c->b->st.calls_waiting--;
    }
}

static void report(struct bridge_call *c, enum trunk_outcome o)
{
    if (c->trunk < 0 || c->reported) {
        return;
    }
    c->reported = 1;
    trunk_report(c->b->cfg.trunks, (uint32_t)c->trunk, c->picked_ms, now_ms(), o);
}

/* The From URI with the trunk's caller ID, in the domain of the configured From. */
static void caller_from(struct bridge_call *c, const char *caller_id)
{
    const char *at = strrchr(c->b->from, '@');
    snprintf(c->from, sizeof c->from, "sip:%s@%s", caller_id, at ? at + 1 : "waihu");
}

static void append_tried(struct bridge_call *c, const char *name)
{
    size_t n = strlen(c->trunks_tried);
    snprintf(c->trunks_tried + n, sizeof c->trunks_tried - n, "%s%s", n ? "," : "", name);
}

int bridge_route_next(struct bridge_call *c)
{
    struct bridge *b = c->b;
    struct trunk_set *set = b->cfg.trunks;
    int64_t now = now_ms();
    struct trunk_pick_request rq = {.destination = c->number, .exclude = c->tried};
    struct trunk_pick_result pr;
    int rv = trunk_pick(set, now, &rq, &pr);
    if (rv == WAIHU_EUNAVAILABLE && pr.why == TRUNK_NONE_CPS) {
        c->retry_at_ms = pr.retry_at_ms > now ? pr.retry_at_ms : now + 1;
        b->st.calls_waiting++;
        return 0;
    }
    if (rv != 0) {
        LOG_W(BRIDGE_MOD, "call %llu: no trunk for %s after %u attempt(s): %s",
              (unsigned long long)c->id, c->number, c->attempts,
              rv == WAIHU_EUNAVAILABLE ? why_name(pr.why) : waihu_strerror(rv));
        return rv;
    }
    struct trunk_info ti;
    trunk_set_info(set, pr.trunk, now, &ti);
    c->trunk = (int)pr.trunk;
    c->tried |= 1ull << pr.trunk;
    c->attempts++;
    c->picked_ms = now;
    c->reported = 0;
    b->st.trunk_channels++;
    snprintf(c->trunk_name, sizeof c->trunk_name, "%s", ti.name);
    snprintf(c->caller_id, sizeof c->caller_id, "%s", pr.caller_id);
    append_tried(c, ti.name);
    rv = trunk_request_uri(set, pr.trunk, c->number, c->target, sizeof c->target);
    if (rv == 0) {
        rv = trunk_proxy_uri(set, pr.trunk, c->proxy, sizeof c->proxy);
        if (rv == WAIHU_ENOTFOUND) {
            c->proxy[0] = '\0';
            rv = 0;
        }
    }
    if (rv == 0) {
        if (!c->from_given) {
            caller_from(c, pr.caller_id);
        }
        rv = bridge_call_carrier(c);
    }
    if (rv != 0) {
        LOG_W(BRIDGE_MOD, "call %llu: trunk %s: %s", (unsigned long long)c->id, ti.name,
              waihu_strerror(rv));
        bridge_route_release(c);
    }
    return rv;
}

void bridge_route_answered(struct bridge_call *c)
{
    report(c, TRUNK_OUT_ANSWERED);
}

int bridge_route_leg_done(struct bridge_call *c, const struct sip_event *ev)
{
    struct bridge *b = c->b;
    struct bridge_leg *l = &c->leg[LEG_CARRIER];
    int retry = 0;
    if (!c->routed) {
        return 0;
    }
    /* our own CANCEL says nothing about the trunk */
    if (ev->type == SIP_EV_FAILED && !(l->hangup_sent && ev->status == 487)) {
        enum trunk_outcome o = trunk_outcome_from_sip(ev->status, l->provisional);
        report(c, o);
        retry = o == TRUNK_OUT_CARRIER && c->state == BST_DIALING && !l->hangup_sent &&
                !b->freeing && c->attempts < b->cfg.max_attempts;
        c->last_status = ev->status;
    }
    const char *failed = c->trunk_name;
    bridge_route_release(c);
    if (!retry || bridge_move(c, BIN_RETRY) != 0) {
        return 0;
    }
    LOG_I(BRIDGE_MOD, "call %llu: trunk %s answered %d; trying another", (unsigned long long)c->id,
          failed, ev->status);
    b->st.retries++;
    struct bridge_leg fresh = {.call = c, .id = LEG_CARRIER};
    *l = fresh;
    return bridge_route_next(c) == 0;
}

/* A call that waited for CPS budget and still finds no trunk ends like its last attempt. */
static void resume(struct bridge_call *c)
{
    bridge_route_unwait(c);
    if (c->state != BST_DIALING || bridge_route_next(c) == 0) {
        return;
    }
    int status = c->attempts ? c->last_status : 503;
    bridge_end(c, bridge_carrier_result(status), "carrier-failed", BRIDGE_BY_NONE, status);
    bridge_try_release(c);
}

static void send_probes(struct bridge *b, int64_t now)
{
    struct trunk_probe p;
    while (trunk_probe_next(b->cfg.trunks, now, &p)) {
        struct bridge_ping *pg = calloc(1, sizeof *pg);
        struct sip_options o = {.target = p.target, .proxy = p.proxy,
                                .transport = transport_name(p.transport),
                                .timeout_ms = b->probe_timeout_ms, .user = pg};
        int rv = pg ? sip_engine_options_ping(b->sip, &o) : WAIHU_ENOMEM;
        if (rv != 0) {
            LOG_W(BRIDGE_MOD, "OPTIONS %s: %s", p.target, waihu_strerror(rv));
            free(pg);
            trunk_probe_result(b->cfg.trunks, p.cookie, now, 0);
            continue;
        }
        pg->cookie = p.cookie;
        pg->next = b->pings;
        b->pings = pg;
        b->st.probes_sent++;
        b->st.probes_pending++;
    }
}

/* BRIDGE_EV_TRUNK for every trunk whose state moved since the last tick. */
static void watch_states(struct bridge *b, int64_t now)
{
    size_t n = trunk_set_count(b->cfg.trunks);
    for (size_t i = 0; i < n && i < TRUNK_MAX; i++) {
        struct trunk_info ti;
        if (trunk_set_info(b->cfg.trunks, (uint32_t)i, now, &ti) != 0 ||
            (int)ti.state == b->trunk_state[i]) {
            continue;
        }
        b->trunk_state[i] = (int)ti.state;
        LOG_I(BRIDGE_MOD, "trunk %s: %s (%s)", ti.name, trunk_state_str(ti.state),
              trunk_reason_str(ti.reason));
        if (b->cfg.event_cb) {
            struct bridge_event ev = {.type = BRIDGE_EV_TRUNK, .trunk = ti.name,
                                      .state = trunk_state_str(ti.state),
                                      .detail = trunk_reason_str(ti.reason)};
            b->cfg.event_cb(b, &ev, b->data);
        }
    }
}

static void on_tick(uv_timer_t *t)
{
    struct bridge *b = t->data;
    int64_t now = now_ms();
    struct bridge_call *next;
    for (struct bridge_call *c = b->calls; c && b->st.calls_waiting; c = next) {
        next = c->next; /* resume never frees c: its media session is still open */
        if (c->retry_at_ms > 0 && c->retry_at_ms <= now) {
            resume(c);
        }
    }
    send_probes(b, now);
    watch_states(b, now);
}

int bridge_route_on_options(struct bridge *b, const struct sip_event *ev)
{
    for (struct bridge_ping **p = &b->pings; *p; p = &(*p)->next) {
        if ((void *)*p == ev->user) {
            struct bridge_ping *pg = *p;
            *p = pg->next;
            b->st.probes_pending--;
            trunk_probe_result(b->cfg.trunks, pg->cookie, now_ms(),
                               trunk_probe_ok_from_sip(ev->status));
            free(pg);
            return 1;
        }
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h);
}

int bridge_route_start(struct bridge *b)
{
    struct trunk_health_config hc;
    trunk_set_health(b->cfg.trunks, &hc);
    b->probe_timeout_ms = hc.probe_timeout_ms;
    for (size_t i = 0; i < TRUNK_MAX; i++) {
        struct trunk_info ti;
        b->trunk_state[i] = trunk_set_info(b->cfg.trunks, (uint32_t)i, now_ms(), &ti) == 0
                                ? (int)ti.state
                                : -1;
    }
    b->route_timer = malloc(sizeof *b->route_timer);
    if (!b->route_timer) {
        return WAIHU_ENOMEM;
    }
    uv_timer_init(b->loop, b->route_timer);
    b->route_timer->data = b;
    uv_timer_start(b->route_timer, on_tick, ROUTE_TICK_MS, ROUTE_TICK_MS);
    return 0;
}

void bridge_route_stop(struct bridge *b)
{
    if (b->route_timer) {
        uv_close((uv_handle_t *)b->route_timer, on_timer_closed);
        b->route_timer = NULL;
    }
    while (b->pings) { /* their events, if any, find no bridge: the host stops forwarding */
        struct bridge_ping *pg = b->pings;
        b->pings = pg->next;
        free(pg);
    }
    b->st.probes_pending = 0;
}
