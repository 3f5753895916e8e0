/* The node's dialer (docs/campaigns.md): every tick, for each running campaign whose
 * agents are registered on this node, ask pacing how many calls to launch, lease leads
 * (committed mutations conditioned on the lead row read, takeovers only once the leader's
 * stamp is past the old lease plus a drift margin), commit each attempt before its INVITE
 * (conditioned on: the lead still leased to us, the campaign record unchanged, the number
 * not on the do-not-call list, the leader's stamp inside the customer's calling window,
 * the number's attempts today unchanged), dial with the agent chosen at answer, and on the
 * CDR write the call record, the lead's next state and this node's tally. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_dialer_internal.h"

#define REASON_NO_AGENT_READY "no agent ready"

static void dialer_free(struct api_dialer *d);

bool dialer_callback_back(struct api_dialer *d)
{
    d->outstanding--;
    if (d->stopping) {
        if (d->closed && d->outstanding == 0) {
            dialer_free(d);
        }
        return false;
    }
    return true;
}

void dialer_set_reason(struct dcampaign *dc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dc->reason, sizeof dc->reason, fmt, ap);
    va_end(ap);
    if (strcmp(dc->reason, dc->written_reason) != 0) {
        dc->tally_dirty = true;
        /* Agents going busy and free is the normal rhythm: only the rest is news. */
        if (dc->reason[0] != '\0' && strcmp(dc->reason, REASON_NO_AGENT_READY) != 0) {
            LOG_I("dialer", "campaign %llu: %s", (unsigned long long)dc->id, dc->reason);
        }
    }
}

/* States in which an agent counts for pacing: taking calls or busy with one. */
static bool seat_working(const char *state)
{
    return strcmp(state, "ready") == 0 || strcmp(state, "reserved") == 0 ||
           strcmp(state, "on_call") == 0 || strcmp(state, "wrap_up") == 0;
}

static struct dagent *agent_named(struct dcampaign *dc, const char *name)
{
    for (size_t i = 0; i < dc->n_agents; i++) {
        if (strcmp(dc->agents[i].name, name) == 0) {
            return &dc->agents[i];
        }
    }
    return NULL;
}

/* ---- agents chosen at answer ---- */

static const char *pick_agent(uint64_t call_id, void *data)
{
    struct api_dialer *d = data;
    struct dcall *call = d->calls;
    while (call != NULL && call->call_id != call_id) {
        call = call->next;
    }
    if (call == NULL) {
        return NULL;
    }
    call->answered = true;
    struct dcampaign *dc = call->dc;
    int64_t now = (int64_t)clock_now_ms();
    /* Asked again: the first agent's leg failed (not registered, busy, no answer). It is
     * free again, but not picked for a while. */
    struct dagent *failed = call->agent[0] ? agent_named(dc, call->agent) : NULL;
    if (failed != NULL) {
        failed->busy = false;
        failed->free_at = now + AGENT_FAILED_REST_MS;
        call->agent[0] = '\0';
    }
    struct dagent *best = NULL;
    for (size_t i = 0; i < dc->n_agents; i++) {
        struct dagent *ag = &dc->agents[i];
        if (!ag->busy && ag->free_at <= now && telephony_agent_registered(d->t, ag->name) &&
            api_seat_available(d->a, ag->name) &&
            (best == NULL || ag->idle_since < best->idle_since)) {
            best = ag; /* the longest idle */
        }
    }
    if (best == NULL) {
        return NULL; /* abandoned: the bridge hangs up within the 2 s rule */
    }
    best->busy = true;
    snprintf(call->agent, sizeof call->agent, "%s", best->name);
    /* Wrap-up 0 in a campaign means none: the agent is ready again at once. */
    api_seat_call_placed(d->a, call_id, dc->tenant, best->name, dc->id, call->customer,
                         dc->c->wrap_s > 0 ? (int32_t)dc->c->wrap_s : -1);
    return best->name;
}

/* ---- CDRs ---- */

static enum pacing_outcome outcome_of(const char *result)
{
    return strcmp(result, "answered") == 0 || strcmp(result, "played") == 0 ? PACING_OUT_LIVE
           : strcmp(result, "abandoned") == 0 ? PACING_OUT_ABANDONED
           : strcmp(result, "machine") == 0   ? PACING_OUT_MACHINE
                                              : PACING_OUT_NOANSWER;
}

bool api_dialer_on_cdr(struct api *a, const struct bridge_cdr *cdr)
{
    struct api_dialer *d = a->dialer;
    if (d == NULL) {
        return false;
    }
    struct dcall **pp = &d->calls;
    while (*pp != NULL && (*pp)->call_id != cdr->id) {
        pp = &(*pp)->next;
    }
    struct dcall *call = *pp;
    if (call == NULL) {
        return false;
    }
    *pp = call->next;
    struct dcampaign *dc = call->dc;
    int64_t now = (int64_t)clock_now_ms();
    struct dagent *ag = call->agent[0] ? agent_named(dc, call->agent) : NULL;
    if (ag != NULL) {
        ag->busy = false;
        ag->free_at = now + (int64_t)dc->c->wrap_s * 1000;
        ag->idle_since = ag->free_at;
        ag->wrapping = true;
        pacing_observe_talk(&dc->pacing, cdr->talk_ms);
        pacing_observe_wrap(&dc->pacing, dc->c->wrap_s * 1000);
    }
    enum pacing_outcome out = outcome_of(cdr->result);
    pacing_observe_call(&dc->pacing, now, out, cdr->ring_ms, 0);
    CampaignTally *t = &dc->tally;
    t->answered += out == PACING_OUT_LIVE;
    t->abandoned += out == PACING_OUT_ABANDONED;
    t->machine += out == PACING_OUT_MACHINE;
    t->no_answer += out == PACING_OUT_NOANSWER;
    dc->tally_dirty = true;

    struct call_origin o = {.tenant_id = dc->tenant, .customer_id = call->customer,
                            .campaign_id = dc->id, .agent = call->agent[0] ? call->agent : NULL,
                            .placed_by = "dialer", .e164 = call->e164};
    struct store_mutation_builder *mb = store_mb_new();
    api_call_record_put(a, mb, cdr, &o);
    char what[48];
    snprintf(what, sizeof what, "CDR of call %llu", (unsigned long long)cdr->id);
    api_submit_until_committed(a, mb, what);

    Lead *l = lead__unpack(NULL, call->len, call->raw);
    if (l != NULL) {
        struct campaign_retry rule = {.attempts = l->attempts, .max_attempts = dc->c->max_attempts,
                                      .retry_after_s = dc->c->retry_after_s};
        struct campaign_next nx;
        /* A message left on a machine is the broadcast delivered: no retry. */
        bool left = strcmp(cdr->result, "machine") == 0 && cdr->prompt.state != NULL &&
                    strcmp(cdr->prompt.state, "complete") == 0;
        campaign_after_call(left ? "message-left" : cdr->result, clock_wall_ms(), &rule, &nx);
        Lead nl = *l;
        nl.state = nx.done ? "done" : "ready";
        nl.next_at_ms = nx.done ? 0 : nx.next_at_ms;
        nl.holder = 0;
        nl.lease_until_ms = 0;
        nl.last_result = (char *)cdr->result;
        dialer_put_lead(d, dc->id, &nl, call->raw, call->len);
        lead__free_unpacked(l, NULL);
    }
    free(call);
    return true;
}

/* ---- the tick ---- */

static void tally_written(void *data, int status, const struct store_result *r)
{
    (void)status, (void)r;
    struct dcampaign *dc = data;
    if (dialer_callback_back(dc->d)) {
        dc->tally_writing = false;
    }
}

static void write_tally(struct dcampaign *dc)
{
    if (!dc->tally_dirty || dc->tally_writing) {
        return;
    }
    dc->tally_dirty = false;
    dc->tally_writing = true;
    snprintf(dc->written_reason, sizeof dc->written_reason, "%s", dc->reason);
    dc->tally.format = 1;
    dc->tally.reason = dc->reason;
    dc->tally.updated_ms = clock_wall_ms();
    uint8_t key[CAMPAIGN_KEY_BYTES], v[256];
    campaign_tally_key(dc->id, dc->d->node, key);
    size_t n = campaign_tally__pack(&dc->tally, v);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_put(mb, STORE_CF_LEAD, key, sizeof key, v, n);
    dc->d->outstanding++;
    api_submit_mutation(dc->d->a, mb, 0, 0, tally_written, dc);
}

static unsigned calls_of(struct api_dialer *d, struct dcampaign *dc,
                         struct pacing_call *out, unsigned cap)
{
    unsigned n = 0;
    int64_t now = (int64_t)clock_now_ms();
    for (struct dcall *c = d->calls; c != NULL; c = c->next) {
        if (c->dc == dc && !c->answered && n < cap) {
            out[n].state = PACING_CALL_RINGING;
            out[n].age_ms = (uint32_t)(now - c->launched_ms);
            n++;
        }
    }
    return n;
}

static void renew_dial_leases(struct api_dialer *d)
{
    int64_t now = clock_wall_ms();
    for (struct dcall *c = d->calls; c != NULL; c = c->next) {
        if (c->lease_until - now > DIAL_LEASE_MS / 2) {
            continue;
        }
        Lead *l = lead__unpack(NULL, c->len, c->raw);
        if (l == NULL) {
            continue;
        }
        l->lease_until_ms = now + DIAL_LEASE_MS;
        uint8_t v[LEAD_MAX_BYTES];
        size_t n = dialer_pack_lead(l, v);
        dialer_put_lead(d, c->dc->id, l, c->raw, c->len);
        memcpy(c->raw, v, n);
        c->len = n;
        c->lease_until = l->lease_until_ms;
        lead__free_unpacked(l, NULL);
    }
}

/* Why no lead could be leased: all done, or the earliest waits until a time (retry,
 * calling window, the number's daily limit). */
void dialer_idle_for_leads(struct dcampaign *dc)
{
    if (dc->waiting_until == 0) {
        dialer_set_reason(dc, "no lead left to call: every lead is done");
        return;
    }
    static const struct {
        const char *result, *text;
    } whys[] = {{"outside-window", "outside the calling window"},
                {"number-day-limit", "the number's calls for today are used"},
                {"abandoned", "no repeat within 72 h after an abandoned call"},
                {"not-placed", "the last call could not be placed"}};
    const char *why = "retry time";
    for (size_t i = 0; i < sizeof whys / sizeof *whys; i++) {
        if (strcmp(dc->waiting_why, whys[i].result) == 0) {
            why = whys[i].text;
        }
    }
    time_t t = (time_t)(dc->waiting_until / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    dialer_set_reason(dc, "no lead is ready before %s (%s)", when, why);
}

static void run_campaign(struct api_dialer *d, struct dcampaign *dc)
{
    int64_t wall = clock_wall_ms(), now = (int64_t)clock_now_ms();
    /* Leases about to run out are given back unused rather than dialed late. */
    for (unsigned i = 0; i < dc->n_pool;) {
        if (dc->pool[i].lease_until - wall < DRIFT_MARGIN_MS) {
            dialer_release_lead(dc, &dc->pool[i], 0, NULL);
            dc->pool[i] = dc->pool[--dc->n_pool];
        } else {
            i++;
        }
    }
    if (strcmp(dc->c->mode, "ivr") == 0 && dc->c->ivr_transfer_digit[0] == '\0') {
        dialer_broadcast_run(d, dc); /* a message to every lead: no agent involved */
        return;
    }
    if (strcmp(dc->c->mode, "preview") == 0) { /* agents dial, one lead at a time */
        unsigned here = 0;
        for (size_t i = 0; i < dc->n_agents; i++) {
            const AgentState *st = api_seat_get(d->a, dc->agents[i].name);
            here += telephony_agent_registered(d->t, dc->agents[i].name) && st != NULL &&
                    seat_working(st->state);
        }
        dialer_preview_run(d, dc, here);
        return;
    }
    struct pacing_agent agents[AGENTS_MAX];
    unsigned n_agents = 0, ready = 0;
    for (size_t i = 0; i < dc->n_agents && n_agents < AGENTS_MAX; i++) {
        struct dagent *ag = &dc->agents[i];
        const AgentState *st = api_seat_get(d->a, ag->name);
        if (!telephony_agent_registered(d->t, ag->name) || st == NULL ||
            !seat_working(st->state)) {
            continue; /* not here, logged out, on a break or not ready yet */
        }
        struct pacing_agent *pa = &agents[n_agents++];
        if (ag->wrapping && ag->free_at > now && api_seat_available(d->a, ag->name)) {
            ag->free_at = ag->idle_since = now; /* wrap-up ended early (a disposition) */
        }
        ag->wrapping = ag->wrapping && ag->free_at > now;
        if (!ag->busy && !api_seat_available(d->a, ag->name) && ag->free_at <= now) {
            /* busy with another campaign's call: talking, as far as pacing can tell */
            pa->state = PACING_AGENT_TALK;
            pa->elapsed_ms = 0;
        } else if (ag->busy) {
            pa->state = PACING_AGENT_TALK;
            pa->elapsed_ms = 0;
        } else if (ag->free_at > now) {
            pa->state = PACING_AGENT_WRAP;
            pa->elapsed_ms = (uint32_t)((int64_t)dc->c->wrap_s * 1000 - (ag->free_at - now));
        } else {
            pa->state = PACING_AGENT_READY;
            pa->elapsed_ms = (uint32_t)(now - ag->idle_since);
            ready++;
        }
    }
    if (n_agents == 0) {
        dialer_set_reason(dc, "no agent of the campaign is registered and ready on this node");
        return;
    }
    struct pacing_call calls[256];
    unsigned n_calls = calls_of(d, dc, calls, dc->committing < 128 ? 256 - dc->committing : 128);
    for (unsigned i = 0; i < dc->committing && n_calls < 256; i++) {
        calls[n_calls++] = (struct pacing_call){PACING_CALL_RINGING, 0};
    }
    struct pacing_input in = {.now_ms = now, .agents = agents, .n_agents = n_agents,
                              .calls = calls, .n_calls = n_calls,
                              .today = {dc->tally.answered + dc->tally.abandoned,
                                        dc->tally.abandoned},
                              .window = {dc->tally.answered + dc->tally.abandoned,
                                         dc->tally.abandoned}};
    /* An exhausted trunk holds dialing back instead of spending attempts on failed dials. */
    uint32_t headroom = telephony_headroom(d->t);
    if (headroom == 0) {
        dialer_set_reason(dc, "no trunk channel free (every trunk busy, down or at its CPS limit)");
        return;
    }
    in.max_launch = headroom == UINT32_MAX ? 0 : headroom;
    struct pacing_decision dec;
    pacing_decide(&dc->pacing, &in, &dec);
    /* The hard backstop of the abandon cap, whatever pacing predicts (campaign.h). */
    unsigned launch = campaign_abandon_guard(
        dec.launch, n_calls, ready, dc->tally.answered + dc->tally.abandoned, dc->tally.abandoned,
        dc->c->abandon_cap > 0 ? dc->c->abandon_cap : 0.03);
    LOG_D("dialer", "campaign %llu: %u agents (%u ready), %u calls in flight, pool %u: launch %u",
          (unsigned long long)dc->id, n_agents, ready, n_calls, dc->n_pool, launch);
    if (dc->n_pool < launch + 2) {
        dialer_take_leases(dc, launch + 4 > POOL_MAX ? POOL_MAX : launch + 4);
    }
    if (launch == 0) {
        if (ready == 0) {
            dialer_set_reason(dc, "%s", REASON_NO_AGENT_READY);
        }
        return;
    }
    if (dc->n_pool == 0) {
        if (dc->scan_done && n_calls == 0) {
            dialer_idle_for_leads(dc);
        }
        return;
    }
    dialer_set_reason(dc, "%s", "");
    for (unsigned i = 0; i < launch && dc->n_pool > 0; i++) {
        struct dlead dl = dc->pool[--dc->n_pool];
        dialer_attempt(dc, &dl, NULL);
    }
}

static void dcampaign_free(struct dcampaign *dc)
{
    if (dc->c) {
        campaign__free_unpacked(dc->c, NULL);
    }
    free(dc->raw);
    free(dc->agents);
    free(dc);
}

static void load_agents(struct dcampaign *dc)
{
    struct dagent *old = dc->agents;
    size_t n_old = dc->n_agents;
    dc->agents = calloc(dc->c->n_agents ? dc->c->n_agents : 1, sizeof *dc->agents);
    if (dc->agents == NULL) {
        waihu_fatal("dialer", "out of memory");
    }
    dc->n_agents = 0;
    for (size_t i = 0; i < dc->c->n_agents; i++) {
        struct dagent *ag = &dc->agents[dc->n_agents++];
        snprintf(ag->name, sizeof ag->name, "%s", dc->c->agents[i]);
        for (size_t j = 0; j < n_old; j++) {
            if (strcmp(old[j].name, ag->name) == 0) {
                *ag = old[j];
            }
        }
    }
    free(old);
}

static int see_campaign(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct api_dialer *d = data;
    if (klen != CAMPAIGN_KEY_BYTES) {
        return 0;
    }
    uint64_t id = be64_get((const uint8_t *)key + 9);
    struct dcampaign *dc = d->campaigns;
    while (dc != NULL && dc->id != id) {
        dc = dc->next;
    }
    if (dc != NULL && dc->raw_len == vlen && memcmp(dc->raw, val, vlen) == 0) {
        dc->seen = true;
        return 0;
    }
    Campaign *c = campaign__unpack(NULL, vlen, val);
    if (c == NULL) {
        return 0;
    }
    if (dc == NULL) {
        dc = calloc(1, sizeof *dc);
        if (dc == NULL) {
            waihu_fatal("dialer", "out of memory");
        }
        dc->d = d;
        dc->id = id;
        campaign_tally__init(&dc->tally);
        dc->tenant = c->tenant_id;
        struct pacing_config pc;
        pacing_config_default(&pc);
        pc.mode = strcmp(c->mode, "predictive") == 0 ? PACING_PREDICTIVE : PACING_PROGRESSIVE;
        pc.abandon_cap = c->abandon_cap > 0 ? c->abandon_cap : 0.03;
        pc.prior_wrap_ms = (double)c->wrap_s * 1000;
        pacing_init(&dc->pacing, &pc);
        /* Tallies survive restarts: go on from the stored one. */
        uint8_t tkey[CAMPAIGN_KEY_BYTES];
        campaign_tally_key(id, d->node, tkey);
        void *traw;
        size_t tlen;
        if (store_get(d->a->store, STORE_CF_LEAD, tkey, sizeof tkey, &traw, &tlen) == 0) {
            CampaignTally *t = campaign_tally__unpack(NULL, tlen, traw);
            if (t != NULL) {
                dc->tally = *t;
                dc->tally.reason = NULL;
                campaign_tally__free_unpacked(t, NULL);
            }
            free(traw);
        }
        dc->next = d->campaigns;
        d->campaigns = dc;
    } else {
        campaign__free_unpacked(dc->c, NULL);
        free(dc->raw);
    }
    dc->c = c;
    dc->raw = malloc(vlen);
    if (dc->raw == NULL) {
        waihu_fatal("dialer", "out of memory");
    }
    memcpy(dc->raw, val, vlen);
    dc->raw_len = vlen;
    dc->seen = true;
    load_agents(dc);
    dialer_prompts_resolve(dc);
    return 0;
}

static void tick(uv_timer_t *timer)
{
    struct api_dialer *d = timer->data;
    if (!d->a->keyring_ready) {
        api_keys_load(d->a); /* numbers are sealed: nothing to dial without keys */
        return;
    }
    for (struct dcampaign *dc = d->campaigns; dc != NULL; dc = dc->next) {
        dc->seen = false;
    }
    store_scan(d->a->store, STORE_CF_CAMPAIGN, "c", 1, NULL, 0, see_campaign, d);
    renew_dial_leases(d);
    dialer_preview_expire(d);
    for (struct dcampaign *dc = d->campaigns; dc != NULL; dc = dc->next) {
        bool running = dc->seen && strcmp(dc->c->state, "running") == 0;
        if (!running) {
            while (dc->n_pool > 0) { /* paused: leases go back at once */
                dialer_release_lead(dc, &dc->pool[--dc->n_pool], 0, NULL);
            }
            dialer_set_reason(dc, "campaign %s", dc->seen ? dc->c->state : "deleted");
        } else {
            run_campaign(d, dc);
        }
        write_tally(dc);
    }
}

void api_dialer_start(struct api *a, struct telephony *t)
{
    struct api_dialer *d = calloc(1, sizeof *d);
    if (d == NULL) {
        waihu_fatal("dialer", "out of memory");
    }
    d->a = a;
    d->t = t;
    d->node = cluster_config_get(a->cluster)->self.id;
    uv_timer_init(a->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, tick, TICK_MS, TICK_MS);
    telephony_set_agent_picker(t, pick_agent, d);
    a->dialer = d;
}

static void dialer_free(struct api_dialer *d)
{
    while (d->offers != NULL) {
        struct doffer *next = d->offers->next;
        free(d->offers);
        d->offers = next;
    }
    while (d->campaigns != NULL) {
        struct dcampaign *next = d->campaigns->next;
        dcampaign_free(d->campaigns);
        d->campaigns = next;
    }
    while (d->calls != NULL) {
        struct dcall *next = d->calls->next;
        free(d->calls);
        d->calls = next;
    }
    free(d);
}

static void timer_closed(uv_handle_t *h)
{
    struct api_dialer *d = h->data;
    d->closed = true;
    if (d->outstanding == 0) {
        dialer_free(d);
    }
}

void api_dialer_stop(struct api *a)
{
    struct api_dialer *d = a->dialer;
    if (d == NULL) {
        return;
    }
    d->stopping = true;
    telephony_set_agent_picker(d->t, NULL, NULL);
    a->dialer = NULL;
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, timer_closed);
}
