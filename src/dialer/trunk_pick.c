/* Picking a trunk for a call: priority groups, smooth weighted round-robin,
 * channel and calls-per-second limits. */
#include <string.h>

#include "trunk_internal.h"

#define CPS_WINDOW_MS 1000

uint32_t trunk_cps_share(const struct trunk_entry *e)
{
    if (e->share >= e->channels)
        return e->cps;
    /* Floor, so that the nodes' CPS shares never sum above the trunk's. */
    return (uint32_t)((uint64_t)e->cps * e->share / e->channels);
}

/* Starts in the sliding second (now - 1000, now]; ring is oldest first. */
static uint32_t starts_in_window(const struct trunk_entry *e, int64_t now_ms, uint32_t *first)
{
    uint32_t skip = 0;
    while (skip < e->starts_len &&
           e->starts[(e->starts_head + skip) % e->cps] <= now_ms - CPS_WINDOW_MS)
        skip++;
    if (first)
        *first = skip;
    return e->starts_len - skip;
}

uint32_t trunk_cps_left(const struct trunk_entry *e, int64_t now_ms, int64_t *retry_at_ms)
{
    uint32_t first;
    uint32_t used = starts_in_window(e, now_ms, &first);
    uint32_t budget = trunk_cps_share(e);
    if (used < budget)
        return budget - used;
    if (retry_at_ms) {
        if (budget == 0) {
            *retry_at_ms = INT64_MAX;
        } else {
            /* A slot frees when the (used - budget + 1)-th oldest start leaves the window. */
            uint32_t k = first + (used - budget);
            *retry_at_ms = e->starts[(e->starts_head + k) % e->cps] + CPS_WINDOW_MS;
        }
    }
    return 0;
}

static void starts_push(struct trunk_entry *e, int64_t now_ms)
{
    uint32_t first;
    starts_in_window(e, now_ms, &first);
    e->starts_head = (e->starts_head + first) % e->cps;
    e->starts_len -= first;
    /* trunk_cps_left said used < budget <= cps, so the ring has room. */
    e->starts[(e->starts_head + e->starts_len) % e->cps] = now_ms;
    e->starts_len++;
}

static int eligible(const struct trunk_entry *e, int64_t now_ms)
{
    return trunk_in_rotation(e) && e->in_use < e->share && trunk_cps_left(e, now_ms, NULL) > 0;
}

int trunk_pick(struct trunk_set *set, int64_t now_ms, const struct trunk_pick_request *req,
               struct trunk_pick_result *out)
{
    if (!set || !req || !out)
        return WAIHU_EINVAL;
    memset(out, 0, sizeof(*out));
    if (now_ms < set->last_now_ms)
        now_ms = set->last_now_ms; /* time never runs backwards here */
    set->last_now_ms = now_ms;

    /* The best priority group that has an eligible trunk. */
    int found = 0;
    uint32_t best_prio = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct trunk_entry *e = set->t[i];
        if ((req->exclude >> i) & 1u || !eligible(e, now_ms))
            continue;
        if (!found || e->priority < best_prio) {
            best_prio = e->priority;
            found = 1;
        }
    }
    if (!found) {
        /* Say why: the dialer waits for CPS, but gives up on the others. */
        enum trunk_why_none why = TRUNK_NONE_DOWN;
        int64_t retry = INT64_MAX;
        for (size_t i = 0; i < set->n; i++) {
            const struct trunk_entry *e = set->t[i];
            if ((req->exclude >> i) & 1u || !trunk_in_rotation(e))
                continue;
            if (e->in_use >= e->share) {
                if (why == TRUNK_NONE_DOWN)
                    why = TRUNK_NONE_CHANNELS;
                continue;
            }
            int64_t at;
            trunk_cps_left(e, now_ms, &at);
            why = TRUNK_NONE_CPS;
            if (at < retry)
                retry = at;
        }
        out->why = why;
        out->retry_at_ms = why == TRUNK_NONE_CPS ? retry : 0;
        return WAIHU_EUNAVAILABLE;
    }

    /* Smooth weighted round-robin (nginx): every candidate gains its weight,
     * the richest is chosen and pays the group's total. */
    int64_t total = 0;
    struct trunk_entry *chosen = NULL;
    uint32_t chosen_i = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct trunk_entry *e = set->t[i];
        if ((req->exclude >> i) & 1u || e->priority != best_prio || !eligible(e, now_ms))
            continue;
        e->swrr += e->weight;
        total += e->weight;
        if (!chosen || e->swrr > chosen->swrr) {
            chosen = e;
            chosen_i = (uint32_t)i;
        }
    }
    chosen->swrr -= total;
    chosen->in_use++;
    chosen->picks++;
    starts_push(chosen, now_ms);
    out->trunk = chosen_i;
    out->caller_id = trunk_caller_id_pick(chosen, req->destination);
    out->why = TRUNK_NONE_OK;
    return 0;
}

void trunk_release(struct trunk_set *set, uint32_t index)
{
    if (!set || index >= set->n)
        return;
    struct trunk_entry *e = set->t[index];
    if (e->in_use > 0)
        e->in_use--;
}

uint32_t trunk_set_headroom(const struct trunk_set *set, int64_t now_ms)
{
    if (!set)
        return 0;
    if (now_ms < set->last_now_ms)
        now_ms = set->last_now_ms;
    uint64_t sum = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct trunk_entry *e = set->t[i];
        if (!trunk_in_rotation(e) || e->in_use >= e->share)
            continue;
        uint32_t chan = e->share - e->in_use;
        uint32_t cps = trunk_cps_left(e, now_ms, NULL);
        sum += chan < cps ? chan : cps;
    }
    return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}
