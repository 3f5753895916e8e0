/* Callbacks (docs/seat-api.md "Dispositions"): a disposition "callback" with a time puts
 * the call's lead back in its campaign, ready at that time (a shared callback: whichever
 * agent the dialer picks then). The lead is rewritten conditioned on the row read; while
 * the call's own end is still being written (state "dialing"), or when another write wins,
 * it is read again a little later. */
#include <stdlib.h>
#include <string.h>

#include "api_dialer_internal.h"

#define CALLBACK_TRIES 20
#define CALLBACK_RETRY_MS 250

struct callback {
    struct api *a;
    uint64_t campaign, customer;
    int64_t at_ms;
    unsigned tries;
    uv_timer_t timer;
};

static void callback_try(struct callback *cb);

static void closed(uv_handle_t *h)
{
    free(h->data);
}

static void finish(struct callback *cb)
{
    uv_close((uv_handle_t *)&cb->timer, closed);
}

static void again(uv_timer_t *t)
{
    callback_try(t->data);
}

static void later(struct callback *cb)
{
    if (++cb->tries >= CALLBACK_TRIES) {
        LOG_W("dialer", "campaign %llu: callback of customer %llu not scheduled: the lead kept "
              "changing", (unsigned long long)cb->campaign, (unsigned long long)cb->customer);
        finish(cb);
        return;
    }
    uv_timer_start(&cb->timer, again, CALLBACK_RETRY_MS, 0);
}

static void written(void *data, int status, const struct store_result *r)
{
    struct callback *cb = data;
    if (status == 0 && r->code == WAIHU_ECONFLICT) {
        later(cb);
        return;
    }
    if (status != 0 || r->code != 0) {
        LOG_W("dialer", "campaign %llu: callback of customer %llu not scheduled: %s",
              (unsigned long long)cb->campaign, (unsigned long long)cb->customer,
              waihu_strerror(status != 0 ? status : r->code));
    } else {
        LOG_I("dialer", "campaign %llu: customer %llu to be called back at %lld",
              (unsigned long long)cb->campaign, (unsigned long long)cb->customer,
              (long long)cb->at_ms);
    }
    finish(cb);
}

static void callback_try(struct callback *cb)
{
    uint8_t key[CAMPAIGN_KEY_BYTES];
    campaign_lead_key(cb->campaign, cb->customer, key);
    void *raw;
    size_t len;
    if (store_get(cb->a->store, STORE_CF_LEAD, key, sizeof key, &raw, &len) != 0) {
        LOG_W("dialer", "campaign %llu: callback of customer %llu: no such lead",
              (unsigned long long)cb->campaign, (unsigned long long)cb->customer);
        finish(cb);
        return;
    }
    Lead *l = lead__unpack(NULL, len, raw);
    if (l == NULL || strcmp(l->state, "dialing") == 0) {
        if (l) {
            lead__free_unpacked(l, NULL);
        }
        free(raw);
        later(cb); /* the call's end is not written yet */
        return;
    }
    Lead nl = *l;
    nl.state = "ready";
    nl.holder = 0;
    nl.lease_until_ms = 0;
    nl.next_at_ms = cb->at_ms;
    nl.last_result = "callback";
    uint8_t v[LEAD_MAX_BYTES];
    size_t n = dialer_pack_lead(&nl, v);
    lead__free_unpacked(l, NULL);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_LEAD, key, sizeof key, STORE_MB_VALUE_IS, raw, len);
    store_mb_put(mb, STORE_CF_LEAD, key, sizeof key, v, n);
    free(raw);
    api_submit_mutation(cb->a, mb, 0, 0, written, cb);
}

void api_schedule_callback(struct api *a, uint64_t campaign, uint64_t customer, int64_t at_ms)
{
    struct callback *cb = calloc(1, sizeof *cb);
    if (cb == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *cb = (struct callback){.a = a, .campaign = campaign, .customer = customer, .at_ms = at_ms};
    uv_timer_init(a->loop, &cb->timer);
    cb->timer.data = cb;
    callback_try(cb);
}
