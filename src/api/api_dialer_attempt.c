/* The dialer's attempts: the checks this node can make, then the attempt committed with
 * the FSM's conditions (docs/campaigns.md), and only then the INVITE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_dialer_internal.h"

/* ---- attempts ---- */

struct attempt {
    struct dcampaign *dc;
    struct dlead lead;
    Lead next; /* as committed */
    uint8_t raw[LEAD_MAX_BYTES];
    size_t len;
    char e164[PHONE_E164_SIZE];
    int64_t window_open, window_close;
    unsigned failed_dnc_from, failed_dnc_to; /* 1-based condition indexes */
    char agent[64]; /* preview: the agent who asked for the call; "" = picked at answer */
};

static void attempt_committed(void *data, int status, const struct store_result *r)
{
    struct attempt *at = data;
    struct dcampaign *dc = at->dc;
    struct api_dialer *d = dc->d;
    if (!dialer_callback_back(d)) {
        free(at);
        return;
    }
    dc->committing--;
    if (status != 0) {
        /* Unknown outcome: the lease runs out and the lead is retried elsewhere. */
        free(at);
        return;
    }
    if (r->code == WAIHU_ECONFLICT) {
        uint32_t f = r->failed_condition;
        LOG_I("dialer", "campaign %llu: attempt on customer %llu refused by the FSM: %s",
              (unsigned long long)dc->id, (unsigned long long)at->lead.customer,
              f == 1 ? "the lead changed" : f == 2 ? "the campaign changed (paused?)"
              : f >= at->failed_dnc_from && f <= at->failed_dnc_to ? "do-not-call"
              : f == at->failed_dnc_to + 1 ? "outside the calling window"
                                            : "the number's count for today moved");
        dc->tally.refused++;
        dc->tally_dirty = true;
        if (f >= at->failed_dnc_from && f <= at->failed_dnc_to) {
            dialer_finish_lead(dc, &at->lead, "do-not-call");
        } else if (f == 2) {
            dialer_release_lead(dc, &at->lead, 0, NULL); /* paused or changed: give it back */
        } else if (f == at->failed_dnc_to + 1) {
            dialer_release_lead(dc, &at->lead, 0, NULL);
            dialer_set_reason(dc, "outside the calling window");
        } else if (f != 1) {
            dialer_release_lead(dc, &at->lead, 0, NULL); /* the number's day counter moved */
        }
        free(at);
        return;
    }
    if (r->code != 0) {
        free(at);
        return;
    }
    dc->tally.attempts++;
    dc->tally_dirty = true;
    uint64_t call_id = 0;
    int rv = dialer_dial(dc, at->e164, at->agent[0] ? at->agent : NULL, &call_id);
    if (rv != 0) {
        dialer_set_reason(dc, "call not placed: %s", waihu_strerror(rv));
        struct dlead dl = {.customer = at->lead.customer, .len = at->len};
        memcpy(dl.raw, at->raw, at->len);
        dialer_release_lead(dc, &dl, clock_wall_ms() + 5000, "not-placed");
        free(at);
        return;
    }
    struct dcall *call = calloc(1, sizeof *call);
    if (call == NULL) {
        waihu_fatal("dialer", "out of memory");
    }
    call->call_id = call_id;
    call->dc = dc;
    call->customer = at->lead.customer;
    snprintf(call->e164, sizeof call->e164, "%s", at->e164);
    call->launched_ms = (int64_t)clock_now_ms();
    call->lease_until = at->next.lease_until_ms;
    memcpy(call->raw, at->raw, at->len);
    call->len = at->len;
    call->next = d->calls;
    d->calls = call;
    if (at->agent[0] != '\0') { /* preview: the agent is known now, not at answer */
        snprintf(call->agent, sizeof call->agent, "%s", at->agent);
        api_seat_call_placed(d->a, call_id, dc->tenant, at->agent, dc->id, call->customer,
                             dc->c->wrap_s > 0 ? (int32_t)dc->c->wrap_s : -1);
    }
    free(at);
}

/* The customer's number, opened; "" when there is none usable. */
static void lead_number(struct dcampaign *dc, uint64_t customer, char e164[PHONE_E164_SIZE],
                        uint8_t hash[FIELDCRYPT_HASH_BYTES])
{
    struct api *a = dc->d->a;
    e164[0] = '\0';
    uint8_t key[CUSTOMER_KEY_BYTES];
    customer_key(dc->tenant, customer, key);
    void *raw;
    size_t len;
    if (store_get(a->store, STORE_CF_CUSTOMER, key, sizeof key, &raw, &len) != 0) {
        return;
    }
    CustomerRecord *r = customer_record_decode(raw, len);
    free(raw);
    if (r == NULL) {
        return;
    }
    struct fieldcrypt_aad aad = {.tenant_id = r->tenant_id, .customer_id = r->id,
                                 .field = "phone"};
    size_t n = 0;
    if (r->phone_sealed.len > 0 && r->phone_sealed.len < PHONE_E164_SIZE + FIELDCRYPT_OVERHEAD &&
        fieldcrypt_open(a->keyring, &aad, r->phone_sealed.data, r->phone_sealed.len,
                        (uint8_t *)e164, PHONE_E164_SIZE - 1, &n) == 0) {
        e164[n] = '\0';
        if (fieldcrypt_phone_hash(a->keyring, e164, hash) != 0) {
            e164[0] = '\0';
        }
    }
    customer_record_free(r);
}

/* Starts the attempt on a leased lead: the checks this node can make, then the commit. */
void dialer_attempt(struct dcampaign *dc, struct dlead *dl, const char *agent)
{
    struct api *a = dc->d->a;
    const Campaign *c = dc->c;
    int64_t now = clock_wall_ms();
    char e164[PHONE_E164_SIZE];
    uint8_t hash[FIELDCRYPT_HASH_BYTES];
    lead_number(dc, dl->customer, e164, hash);
    if (e164[0] == '\0') {
        dialer_finish_lead(dc, dl, "no-number");
        return;
    }
    char zone[CAMPAIGN_ZONE_MAX];
    int32_t off = 0;
    if (c->timezone[0] != '\0') {
        snprintf(zone, sizeof zone, "%s", c->timezone);
    } else if (!campaign_zone_for_number(e164, zone)) {
        dialer_finish_lead(dc, dl, "unknown-timezone"); /* never call at an unknown local hour */
        return;
    }
    if (campaign_zone_offset(zone, now, &off) != 0) {
        dialer_finish_lead(dc, dl, "unknown-timezone");
        return;
    }
    struct campaign_window w;
    campaign_window_on(now, off, c->window_start_min, c->window_end_min, &w);
    if (now < w.open_ms || now >= w.close_ms) {
        int64_t next = now < w.open_ms ? w.open_ms : w.open_ms + 86400000;
        dialer_release_lead(dc, dl, next, "outside-window");
        dialer_set_reason(dc, "outside the calling window (%s)", zone);
        return;
    }
    if (api_dnc_match(a, dc->tenant, e164) != NULL) {
        dialer_finish_lead(dc, dl, "do-not-call");
        return;
    }
    /* Attempts on this number today (any campaign of the tenant). */
    uint8_t nkey[1 + 8 + 16 + 4];
    nkey[0] = 'n';
    be64_put(nkey + 1, dc->tenant);
    memcpy(nkey + 9, hash, 16);
    nkey[25] = (uint8_t)(w.day >> 24), nkey[26] = (uint8_t)(w.day >> 16);
    nkey[27] = (uint8_t)(w.day >> 8), nkey[28] = (uint8_t)w.day;
    void *craw = NULL;
    size_t clen = 0;
    NumberDay nd = NUMBER_DAY__INIT;
    nd.format = 1;
    if (store_get(a->store, STORE_CF_LEAD, nkey, sizeof nkey, &craw, &clen) == 0) {
        NumberDay *old = number_day__unpack(NULL, clen, craw);
        nd.attempts = old ? old->attempts : UINT32_MAX;
        if (old) {
            number_day__free_unpacked(old, NULL);
        }
    }
    if (nd.attempts >= c->max_per_number_day) {
        free(craw);
        dialer_release_lead(dc, dl, w.open_ms + 86400000, "number-day-limit");
        return;
    }
    struct attempt *at = calloc(1, sizeof *at);
    if (at == NULL) {
        waihu_fatal("dialer", "out of memory");
    }
    at->dc = dc;
    at->lead = *dl;
    snprintf(at->e164, sizeof at->e164, "%s", e164);
    snprintf(at->agent, sizeof at->agent, "%s", agent ? agent : "");
    Lead *l = lead__unpack(NULL, dl->len, dl->raw);
    if (l == NULL) {
        free(craw);
        free(at);
        return;
    }
    Lead next = *l;
    next.state = "dialing";
    next.attempts = l->attempts + 1;
    next.last_attempt_ms = now;
    next.holder = dc->d->node;
    next.lease_until_ms = now + DIAL_LEASE_MS;
    next.last_result = "";
    at->len = dialer_pack_lead(&next, at->raw);
    at->next = next;
    at->next.state = at->next.last_result = NULL;
    lead__free_unpacked(l, NULL);

    uint8_t lkey[CAMPAIGN_KEY_BYTES], ckey[CAMPAIGN_KEY_BYTES];
    campaign_lead_key(dc->id, dl->customer, lkey);
    campaign_record_key(dc->tenant, dc->id, ckey);
    struct store_mutation_builder *mb = store_mb_new();
    /* 1: still our lease; 2: the campaign as read (a pause fails it); then do-not-call;
     * then the calling window on the leader's clock; then the number's day counter. */
    store_mb_condition(mb, STORE_CF_LEAD, lkey, sizeof lkey, STORE_MB_VALUE_IS, dl->raw, dl->len);
    store_mb_condition(mb, STORE_CF_CAMPAIGN, ckey, sizeof ckey, STORE_MB_VALUE_IS, dc->raw,
                       dc->raw_len);
    if (api_dnc_conditions(a, mb, dc->tenant, e164) != 0) {
        store_mb_free(mb);
        free(craw);
        free(at);
        dialer_set_reason(dc, "no key to check the do-not-call list");
        return;
    }
    at->failed_dnc_from = 3;
    at->failed_dnc_to = (unsigned)store_mb_conditions(mb);
    store_mb_stamp_within(mb, w.open_ms, w.close_ms);
    if (craw != NULL) {
        store_mb_condition(mb, STORE_CF_LEAD, nkey, sizeof nkey, STORE_MB_VALUE_IS, craw, clen);
    } else {
        store_mb_condition(mb, STORE_CF_LEAD, nkey, sizeof nkey, STORE_MB_ABSENT, NULL, 0);
    }
    free(craw);
    store_mb_put(mb, STORE_CF_LEAD, lkey, sizeof lkey, at->raw, at->len);
    nd.attempts++;
    uint8_t nv[16];
    size_t nlen = number_day__pack(&nd, nv);
    store_mb_put(mb, STORE_CF_LEAD, nkey, sizeof nkey, nv, nlen);
    dc->committing++;
    dc->d->outstanding++;
    api_submit_mutation(a, mb, 0, 0, attempt_committed, at);
}
