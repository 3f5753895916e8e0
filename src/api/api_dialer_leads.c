/* The dialer's lead rows: leases taken in batches (each item conditioned on the row read;
 * a takeover of an expired lease also on the leader's stamp), given back, finished. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_dialer_internal.h"

size_t dialer_pack_lead(const Lead *l, uint8_t out[LEAD_MAX_BYTES])
{
    return lead__get_packed_size(l) <= LEAD_MAX_BYTES ? lead__pack(l, out) : 0;
}

void dialer_put_lead(struct api_dialer *d, uint64_t campaign, const Lead *l,
                     const uint8_t *old_raw, size_t old_len)
{
    uint8_t key[CAMPAIGN_KEY_BYTES], v[LEAD_MAX_BYTES];
    size_t n = dialer_pack_lead(l, v);
    if (n == 0) {
        return;
    }
    campaign_lead_key(campaign, l->customer_id, key);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_LEAD, key, sizeof key, STORE_MB_VALUE_IS, old_raw, old_len);
    store_mb_put(mb, STORE_CF_LEAD, key, sizeof key, v, n);
    api_submit_mutation(d->a, mb, 0, 0, NULL, NULL);
}

void dialer_release_lead(struct dcampaign *dc, const struct dlead *dl, int64_t next_at,
                         const char *why)
{
    Lead *l = lead__unpack(NULL, dl->len, dl->raw);
    if (l == NULL) {
        return;
    }
    Lead nl = *l; /* a shallow copy: l's own strings stay for lead__free_unpacked */
    nl.state = "ready";
    nl.holder = 0;
    nl.lease_until_ms = 0;
    if (next_at > nl.next_at_ms) {
        nl.next_at_ms = next_at;
    }
    if (why != NULL) {
        nl.last_result = (char *)why;
    }
    dialer_put_lead(dc->d, dc->id, &nl, dl->raw, dl->len);
    lead__free_unpacked(l, NULL);
}

void dialer_finish_lead(struct dcampaign *dc, const struct dlead *dl, const char *why)
{
    Lead *l = lead__unpack(NULL, dl->len, dl->raw);
    if (l == NULL) {
        return;
    }
    LOG_I("dialer", "campaign %llu: customer %llu is not called: %s", (unsigned long long)dc->id,
          (unsigned long long)dl->customer, why);
    Lead nl = *l;
    nl.state = "done";
    nl.holder = 0;
    nl.lease_until_ms = 0;
    nl.last_result = (char *)why;
    dialer_put_lead(dc->d, dc->id, &nl, dl->raw, dl->len);
    lead__free_unpacked(l, NULL);
}
/* ---- leases ---- */

struct lease_req {
    struct dcampaign *dc;
    uint64_t customers[POOL_MAX];
    int64_t lease_until;
    unsigned n;
};

struct lease_scan {
    struct dcampaign *dc;
    struct store_mutation_builder *items[POOL_MAX];
    struct lease_req *req;
    unsigned want;
    int64_t now;
    uint8_t last[CAMPAIGN_KEY_BYTES];
    bool any;
    unsigned takeovers; /* leads whose holder's lease ran out */
    int64_t next_at;   /* the earliest lead waiting for its time, and why it waits */
    char why[48];
};

static int lease_candidate(void *data, const void *key, size_t klen, const void *val,
                           size_t vlen)
{
    struct lease_scan *ls = data;
    if (klen != CAMPAIGN_KEY_BYTES) {
        return 0;
    }
    memcpy(ls->last, key, klen);
    ls->any = true;
    Lead *l = lead__unpack(NULL, vlen, val);
    if (l == NULL) {
        return 0;
    }
    bool ready = strcmp(l->state, "ready") == 0 && l->next_at_ms <= ls->now;
    if (strcmp(l->state, "ready") == 0 && !ready &&
        (ls->next_at == 0 || l->next_at_ms < ls->next_at)) {
        ls->next_at = l->next_at_ms;
        snprintf(ls->why, sizeof ls->why, "%s", l->last_result);
    }
    /* Held by a node that stopped renewing (died, or lost its lease): taken over once the
     * leader's stamp is past the lease plus the drift margin, decided by the FSM. */
    bool expired = (strcmp(l->state, "leased") == 0 || strcmp(l->state, "dialing") == 0) &&
                   l->lease_until_ms + DRIFT_MARGIN_MS < ls->now;
    bool own = false;
    for (unsigned i = 0; i < ls->dc->n_pool; i++) {
        own = own || ls->dc->pool[i].customer == l->customer_id;
    }
    if ((ready || expired) && !own && vlen <= LEAD_MAX_BYTES) {
        /* A callback the customer asked for is called once more, whatever the limit. */
        bool callback = ready && strcmp(l->last_result, "callback") == 0;
        uint32_t attempts = callback ? 0 : l->attempts;
        Lead nl = *l;
        if (attempts >= ls->dc->c->max_attempts) {
            /* A lead whose calls were all used (a takeover of a dialing one) is done. */
            nl.state = "done";
            nl.last_result = "max-attempts";
        } else {
            nl.state = "leased";
        }
        nl.holder = ls->dc->d->node;
        nl.lease_until_ms = ls->req->lease_until;
        uint8_t v[LEAD_MAX_BYTES];
        size_t n = dialer_pack_lead(&nl, v);
        struct store_mutation_builder *mb = store_mb_new();
        store_mb_condition(mb, STORE_CF_LEAD, key, klen, STORE_MB_VALUE_IS, val, vlen);
        if (expired) {
            store_mb_stamp_within(mb, l->lease_until_ms + DRIFT_MARGIN_MS, 0);
            ls->takeovers++;
        }
        store_mb_put(mb, STORE_CF_LEAD, key, klen, v, n);
        ls->items[ls->req->n] = mb;
        if (attempts < ls->dc->c->max_attempts) {
            ls->req->customers[ls->req->n] = l->customer_id;
        }
        ls->req->n++;
    }
    lead__free_unpacked(l, NULL);
    return ls->req->n >= ls->want ? 1 : 0;
}

static void leased(void *data, int status, const struct store_result *r)
{
    (void)r;
    struct lease_req *req = data;
    struct dcampaign *dc = req->dc;
    if (!dialer_callback_back(dc->d)) {
        free(req);
        return;
    }
    dc->leasing = false;
    if (status != 0) {
        free(req);
        return;
    }
    /* Which leases are ours: re-read (items stand alone; some may have lost a race). */
    for (unsigned i = 0; i < req->n && dc->n_pool < POOL_MAX; i++) {
        if (req->customers[i] == 0) {
            continue;
        }
        uint8_t key[CAMPAIGN_KEY_BYTES];
        campaign_lead_key(dc->id, req->customers[i], key);
        void *raw;
        size_t len;
        if (store_get(dc->d->a->store, STORE_CF_LEAD, key, sizeof key, &raw, &len) != 0) {
            continue;
        }
        Lead *l = lead__unpack(NULL, len, raw);
        if (l != NULL && strcmp(l->state, "leased") == 0 && l->holder == dc->d->node &&
            l->lease_until_ms == req->lease_until && len <= LEAD_MAX_BYTES) {
            struct dlead *dl = &dc->pool[dc->n_pool++];
            dl->customer = l->customer_id;
            memcpy(dl->raw, raw, len);
            dl->len = len;
            dl->lease_until = l->lease_until_ms;
        }
        if (l != NULL) {
            lead__free_unpacked(l, NULL);
        }
        free(raw);
    }
    LOG_D("dialer", "campaign %llu: %u leases asked, pool now %u (%s)", (unsigned long long)dc->id,
          req->n, dc->n_pool, status == 0 ? "ok" : waihu_strerror(status));
    free(req);
}

void dialer_take_leases(struct dcampaign *dc, unsigned want)
{
    if (dc->leasing || want == 0) {
        return;
    }
    struct lease_req *req = calloc(1, sizeof *req);
    if (req == NULL) {
        waihu_fatal("dialer", "out of memory");
    }
    req->dc = dc;
    req->lease_until = clock_wall_ms() + LEASE_MS;
    struct lease_scan ls = {.dc = dc, .req = req, .want = want, .now = clock_wall_ms()};
    bool from_start = !dc->has_cursor;
    uint8_t prefix[9];
    prefix[0] = 'l';
    be64_put(prefix + 1, dc->id);
    store_scan(dc->d->a->store, STORE_CF_LEAD, prefix, sizeof prefix,
               dc->has_cursor ? dc->cursor : NULL, dc->has_cursor ? sizeof dc->cursor : 0,
               lease_candidate, &ls);
    /* Next scan goes on from here; at the end of the leads it starts over. */
    dc->has_cursor = req->n >= want && ls.any;
    if (dc->has_cursor) {
        memcpy(dc->cursor, ls.last, sizeof dc->cursor);
    }
    dc->scan_done = req->n == 0 && from_start;
    if (ls.takeovers > 0) {
        LOG_I("dialer", "campaign %llu: taking over %u leads whose holder's lease expired",
              (unsigned long long)dc->id, ls.takeovers);
    }
    LOG_D("dialer", "campaign %llu: lease scan wanted %u, found %u (pool %u, from the start: %d)",
          (unsigned long long)dc->id, want, req->n, dc->n_pool, from_start);
    if (dc->scan_done) {
        dc->waiting_until = ls.next_at;
        snprintf(dc->waiting_why, sizeof dc->waiting_why, "%s", ls.why);
    }
    if (req->n == 0) {
        free(req);
        return;
    }
    uint8_t *buf;
    size_t len;
    store_mb_pack_batch(ls.items, req->n, 0, 0, &buf, &len);
    for (unsigned i = 0; i < req->n; i++) {
        store_mb_free(ls.items[i]);
    }
    dc->leasing = true;
    dc->d->outstanding++;
    cluster_submit(dc->d->a->cluster, buf, len, leased, req);
    free(buf);
}
