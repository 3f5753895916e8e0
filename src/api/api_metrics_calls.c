/* /metrics families of the call center (docs/metrics.md): this node's calls, trunks and
 * SIP engine (from its telephony, so a call counts on the node that placed it), agents by
 * state (the seat view every node keeps), and the running campaigns' abandon rate today
 * (the report book every node keeps). Cost per scrape: one pass over the agents, one over
 * the campaign records, one lookup per (running campaign, agent name) in the book. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_metrics.h"
#include "api_seat_internal.h"
#include "report.h"
#include "telephony.h"
#include "trunk.h"

/* ---- calls, trunks, SIP ---- */

static void one(struct metrics_text *t, const char *name, const char *type, const char *help,
                uint64_t v)
{
    metrics_family(t, name, type, help);
    metrics_u64(t, name, v, NULL);
}

static void trunk_families(struct metrics_text *t, const struct trunk_set *set)
{
    size_t n = trunk_set_count(set);
    struct trunk_info *info = calloc(n ? n : 1, sizeof *info);
    if (info == NULL) {
        t->failed = true;
        return;
    }
    int64_t now = (int64_t)clock_now_ms();
    for (size_t i = 0; i < n; i++) {
        trunk_set_info(set, (uint32_t)i, now, &info[i]);
    }
    metrics_family(t, "waihu_trunk_up", "gauge",
                   "1 while the trunk is in rotation (up or on probation), 0 while down.");
    for (size_t i = 0; i < n; i++) {
        metrics_u64(t, "waihu_trunk_up", info[i].state != TRUNK_DOWN, "trunk", info[i].name,
                    NULL);
    }
    metrics_family(t, "waihu_trunk_state", "gauge", "1 for the trunk's health state, else 0.");
    static const enum trunk_state states[] = {TRUNK_UP, TRUNK_DOWN, TRUNK_PROBATION};
    for (size_t i = 0; i < n; i++) {
        for (size_t s = 0; s < sizeof states / sizeof *states; s++) {
            metrics_u64(t, "waihu_trunk_state", info[i].state == states[s], "trunk",
                        info[i].name, "state", trunk_state_str(states[s]), NULL);
        }
    }
    metrics_family(t, "waihu_trunk_channels_in_use", "gauge",
                   "Trunk channels this node's calls hold.");
    for (size_t i = 0; i < n; i++) {
        metrics_u64(t, "waihu_trunk_channels_in_use", info[i].in_use, "trunk", info[i].name,
                    NULL);
    }
    metrics_family(t, "waihu_trunk_channels_share", "gauge",
                   "Trunk channels this node may use now (its cluster lease).");
    for (size_t i = 0; i < n; i++) {
        metrics_u64(t, "waihu_trunk_channels_share", info[i].share, "trunk", info[i].name, NULL);
    }
    metrics_family(t, "waihu_trunk_channels_limit", "gauge",
                   "Concurrent calls the carrier allows on the trunk (configured).");
    for (size_t i = 0; i < n; i++) {
        metrics_u64(t, "waihu_trunk_channels_limit", info[i].channels, "trunk", info[i].name,
                    NULL);
    }
    metrics_family(t, "waihu_trunk_picks_total", "counter",
                   "Carrier attempts this node sent through the trunk.");
    for (size_t i = 0; i < n; i++) {
        metrics_u64(t, "waihu_trunk_picks_total", info[i].picks, "trunk", info[i].name, NULL);
    }
    metrics_family(t, "waihu_trunk_outcomes_total", "counter",
                   "Final answers to this node's INVITEs through the trunk: answered, normal "
                   "(the callee's: busy, no answer...) or carrier (the trunk's fault).");
    for (size_t i = 0; i < n; i++) {
        metrics_u64(t, "waihu_trunk_outcomes_total", info[i].answered, "trunk", info[i].name,
                    "outcome", "answered", NULL);
        metrics_u64(t, "waihu_trunk_outcomes_total", info[i].normal, "trunk", info[i].name,
                    "outcome", "normal", NULL);
        metrics_u64(t, "waihu_trunk_outcomes_total", info[i].carrier, "trunk", info[i].name,
                    "outcome", "carrier", NULL);
    }
    metrics_family(t, "waihu_trunk_downs_total", "counter",
                   "Times the trunk was taken out of rotation.");
    for (size_t i = 0; i < n; i++) {
        metrics_u64(t, "waihu_trunk_downs_total", info[i].downs, "trunk", info[i].name, NULL);
    }
    free(info);
}

void metrics_telephony(struct api *a, struct metrics_text *t)
{
    struct telephony *tel = a->seat != NULL ? a->seat->t : NULL;
    one(t, "waihu_telephony_enabled", "gauge",
        "1 when this node runs telephony (SIP, media, calls), else 0.", tel != NULL);
    if (tel == NULL) {
        return;
    }
    uint64_t results[TELEPHONY_RESULT_COUNT];
    telephony_result_counts(tel, results);
    metrics_family(t, "waihu_calls_total", "counter",
                   "Calls this node placed that ended (one per CDR), by the CDR's result.");
    for (size_t i = 0; i < TELEPHONY_RESULT_COUNT; i++) {
        metrics_u64(t, "waihu_calls_total", results[i], "result", telephony_result_name(i),
                    NULL);
    }
    struct bridge_stats bs;
    telephony_stats(tel, &bs);
    one(t, "waihu_calls_placed_total", "counter", "Calls this node started dialing.",
        bs.calls_total);
    one(t, "waihu_calls_active", "gauge",
        "Calls of this node from dial to CDR (ringing, screening, talking, ending).",
        bs.calls_active);
    one(t, "waihu_calls_waiting_trunk", "gauge",
        "Calls waiting for a trunk's calls-per-second budget.", bs.calls_waiting);
    one(t, "waihu_trunk_retries_total", "counter",
        "Carrier attempts moved to another trunk after a failure.", bs.retries);
    one(t, "waihu_media_sessions_open", "gauge", "Media sessions (RTP relays) open.",
        bs.media_open);
    struct sip_engine_stats ss;
    telephony_sip_stats(tel, &ss);
    metrics_family(t, "waihu_sip_calls_total", "counter", "SIP INVITE dialogs, by direction.");
    metrics_u64(t, "waihu_sip_calls_total", ss.calls_out, "direction", "out", NULL);
    metrics_u64(t, "waihu_sip_calls_total", ss.calls_in, "direction", "in", NULL);
    one(t, "waihu_sip_registrations_total", "counter",
        "REGISTERs accepted (new, refreshed or removed bindings).", ss.registers_ok);
    one(t, "waihu_sip_auth_failures_total", "counter", "Requests that failed digest auth.",
        ss.auth_failures);
    one(t, "waihu_sip_guard_rejects_total", "counter",
        "Requests the flood guard refused (rate limits, banned sources).", ss.guard_rejects);
    one(t, "waihu_sip_bans_total", "counter", "Source addresses banned.", ss.bans);
    one(t, "waihu_sip_dup_refused_total", "counter",
        "REGISTERs refused: the agent is registered from another host.", ss.dup_refused);
    one(t, "waihu_sip_options_pings_total", "counter", "OPTIONS pings sent (trunk probes).",
        ss.pings_sent);
    const struct trunk_set *set = telephony_trunks(tel);
    if (set != NULL) {
        trunk_families(t, set);
    }
}

/* ---- agents by state ---- */

struct tenant_state {
    uint64_t tenant;
    int state;
};

static int by_tenant(const void *x, const void *y)
{
    const struct tenant_state *p = x, *q = y;
    return p->tenant < q->tenant ? -1 : p->tenant > q->tenant;
}

void metrics_agents(struct api *a, struct metrics_text *t)
{
    struct api_seat *s = a->seat;
    if (s == NULL) {
        return;
    }
    struct tenant_state *v = calloc(s->n ? s->n : 1, sizeof *v);
    if (v == NULL) {
        t->failed = true;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        enum seat_state st;
        if (seat_state_parse(s->entries[i].st->state, &st) == 0) {
            v[n++] = (struct tenant_state){s->entries[i].st->tenant_id, (int)st};
        }
    }
    qsort(v, n, sizeof *v, by_tenant);
    metrics_family(t, "waihu_agents", "gauge",
                   "Agents with a state record, by tenant and state (every node: the "
                   "cluster's view).");
    for (size_t i = 0; i < n;) {
        uint64_t count[SEAT_STATE_COUNT] = {0};
        size_t j = i;
        for (; j < n && v[j].tenant == v[i].tenant; j++) {
            count[v[j].state]++;
        }
        char tenant[24];
        snprintf(tenant, sizeof tenant, "%llu", (unsigned long long)v[i].tenant);
        for (int k = 0; k < SEAT_STATE_COUNT; k++) {
            metrics_u64(t, "waihu_agents", count[k], "tenant", tenant, "state",
                        seat_state_name((enum seat_state)k), NULL);
        }
        i = j;
    }
    free(v);
}

/* ---- running campaigns ---- */

struct mcampaign {
    uint64_t tenant, id;
    char *name, *mode;
    double cap;
};

struct mcampaigns {
    struct mcampaign *v;
    size_t n, cap;
    bool failed;
};

static int see_campaign(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct mcampaigns *m = data;
    Campaign *c = campaign__unpack(NULL, vlen, val);
    if (c == NULL) {
        return 0;
    }
    if (strcmp(c->state, "running") == 0) {
        if (m->n == m->cap) {
            size_t ncap = m->cap ? m->cap * 2 : 16;
            struct mcampaign *nv = realloc(m->v, ncap * sizeof *nv);
            if (nv == NULL) {
                campaign__free_unpacked(c, NULL);
                m->failed = true;
                return 1;
            }
            m->v = nv;
            m->cap = ncap;
        }
        struct mcampaign *mc = &m->v[m->n];
        *mc = (struct mcampaign){.tenant = c->tenant_id, .id = c->id, .cap = c->abandon_cap,
                                 .name = strdup(c->name), .mode = strdup(c->mode)};
        m->n++;
        if (mc->name == NULL || mc->mode == NULL) {
            m->failed = true;
        }
    }
    campaign__free_unpacked(c, NULL);
    return m->failed;
}

void metrics_campaigns(struct api *a, struct metrics_text *t)
{
    struct mcampaigns m = {0};
    char(*ids)[2][24] = NULL; /* tenant and campaign id as text */
    struct report_counts *today = NULL;
    store_scan(a->store, STORE_CF_CAMPAIGN, "c", 1, NULL, 0, see_campaign, &m);
    ids = calloc(m.n ? m.n : 1, sizeof *ids);
    today = calloc(m.n ? m.n : 1, sizeof *today);
    if (m.failed || ids == NULL || today == NULL) {
        t->failed = true;
        goto out;
    }
    for (size_t i = 0; i < m.n; i++) {
        snprintf(ids[i][0], sizeof ids[i][0], "%llu", (unsigned long long)m.v[i].tenant);
        snprintf(ids[i][1], sizeof ids[i][1], "%llu", (unsigned long long)m.v[i].id);
    }
    metrics_family(t, "waihu_campaign_info", "gauge",
                   "Running campaigns: name and mode (always 1).");
    for (size_t i = 0; i < m.n; i++) {
        metrics_u64(t, "waihu_campaign_info", 1, "tenant", ids[i][0], "campaign", ids[i][1],
                    "name", m.v[i].name, "mode", m.v[i].mode, NULL);
    }
    metrics_family(t, "waihu_campaign_abandon_cap", "gauge",
                   "A running campaign's abandon cap (fraction of live answers).");
    for (size_t i = 0; i < m.n; i++) {
        metrics_f64(t, "waihu_campaign_abandon_cap", m.v[i].cap, "tenant", ids[i][0],
                    "campaign", ids[i][1], NULL);
    }
    const struct report_book *book = api_reports_book(a);
    if (book == NULL) {
        goto out; /* still reading the call records: no figures rather than wrong ones */
    }
    int32_t day = report_book_day(book, clock_wall_ms());
    for (size_t i = 0; i < m.n; i++) {
        report_book_campaign_day(book, m.v[i].tenant, day, m.v[i].id, &today[i]);
    }
    /* In the order of enum report_outcome. */
    static const char *const outcomes[REPORT_OUTCOME_COUNT] = {
        "answered", "abandoned", "machine", "no-answer", "busy", "failed"};
    metrics_family(t, "waihu_campaign_calls_today", "gauge",
                   "Call records of a running campaign today (the node's local day), "
                   "cluster-wide, by outcome.");
    for (size_t i = 0; i < m.n; i++) {
        for (int o = 0; o < REPORT_OUTCOME_COUNT; o++) {
            metrics_u64(t, "waihu_campaign_calls_today", today[i].outcome[o], "tenant",
                        ids[i][0], "campaign", ids[i][1], "outcome", outcomes[o], NULL);
        }
    }
    metrics_family(t, "waihu_campaign_abandon_rate_today", "gauge",
                   "A running campaign's abandoned / (answered + abandoned) calls today, "
                   "cluster-wide; 0 before its first live answer.");
    for (size_t i = 0; i < m.n; i++) {
        uint64_t ab = today[i].outcome[REPORT_ABANDONED];
        uint64_t live = today[i].outcome[REPORT_ANSWERED] + ab;
        metrics_f64(t, "waihu_campaign_abandon_rate_today",
                    live ? (double)ab / (double)live : 0.0, "tenant", ids[i][0], "campaign",
                    ids[i][1], NULL);
    }
out:
    for (size_t i = 0; i < m.n; i++) {
        free(m.v[i].name);
        free(m.v[i].mode);
    }
    free(m.v);
    free(ids);
    free(today);
}
