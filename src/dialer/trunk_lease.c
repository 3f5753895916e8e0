/* Cluster-wide channel limits: the pure rules for nodes' leases on shares of
 * a trunk's channels (docs/trunks.md "Leases"). */
#include <stdlib.h>

#include "trunk_internal.h"

#define WATERFILL_MAX 64 /* nodes considered (a cluster has 3..7 plus standbys) */

static int held(const struct trunk_lease *l, int64_t now_ms, uint32_t margin_ms)
{
    /* The FSM's view: an expired lease still holds until the drift margin passed. */
    return now_ms < l->expires_ms + (int64_t)margin_ms;
}

uint64_t trunk_lease_held(const struct trunk_lease *leases, size_t n, int64_t now_ms,
                          uint32_t margin_ms)
{
    uint64_t sum = 0;
    for (size_t i = 0; leases && i < n; i++)
        if (held(&leases[i], now_ms, margin_ms))
            sum += leases[i].channels;
    return sum;
}

static uint64_t held_by_others(const struct trunk_lease *leases, size_t n, uint32_t node_id,
                               int64_t now_ms, uint32_t margin_ms)
{
    uint64_t sum = 0;
    for (size_t i = 0; leases && i < n; i++)
        if (leases[i].node_id != node_id && held(&leases[i], now_ms, margin_ms))
            sum += leases[i].channels;
    return sum;
}

static const struct trunk_lease *find(const struct trunk_lease *leases, size_t n, uint32_t node_id)
{
    for (size_t i = 0; leases && i < n; i++)
        if (leases[i].node_id == node_id)
            return &leases[i];
    return NULL;
}

uint32_t trunk_lease_share(uint32_t limit, const struct trunk_lease *leases, size_t n,
                           uint32_t node_id, int64_t now_ms, uint32_t margin_ms)
{
    const struct trunk_lease *l = find(leases, n, node_id);
    /* The node's view: stop using the share margin_ms before the expiry. */
    if (!l || now_ms + (int64_t)margin_ms >= l->expires_ms)
        return 0;
    return l->channels < limit ? l->channels : limit;
}

int trunk_lease_check(uint32_t limit, const struct trunk_lease *leases, size_t n, uint32_t node_id,
                      int64_t now_ms, uint32_t margin_ms, uint32_t channels)
{
    uint64_t others = held_by_others(leases, n, node_id, now_ms, margin_ms);
    return others + channels <= limit ? 0 : WAIHU_ECONFLICT;
}

uint32_t trunk_lease_grant(uint32_t limit, const struct trunk_lease *leases, size_t n,
                           uint32_t node_id, int64_t now_ms, uint32_t margin_ms, uint32_t requested)
{
    uint64_t others = held_by_others(leases, n, node_id, now_ms, margin_ms);
    uint64_t room = others < limit ? limit - others : 0;
    return requested < room ? requested : (uint32_t)room;
}

/* Max-min fair share of limit for wants[me] (water-filling). */
static uint32_t fair_share(uint32_t limit, const uint32_t *wants, size_t k, size_t me)
{
    uint64_t left = limit;
    size_t open = k;
    int done[WATERFILL_MAX] = {0};
    for (;;) {
        if (open == 0)
            return wants[me];
        uint64_t level = left / open;
        int changed = 0;
        for (size_t i = 0; i < k; i++)
            if (!done[i] && wants[i] <= level) {
                done[i] = 1;
                left -= wants[i];
                open--;
                changed = 1;
            }
        if (done[me])
            return wants[me];
        if (!changed)
            return (uint32_t)level;
    }
}

uint32_t trunk_lease_propose(uint32_t limit, const struct trunk_lease *leases, size_t n,
                             uint32_t node_id, int64_t now_ms, uint32_t margin_ms, uint32_t in_use,
                             uint32_t demand, uint32_t *want_out)
{
    uint32_t slack = limit / 20 > 0 ? limit / 20 : 1; /* 5%: fewer lease commands */
    uint64_t want = demand > in_use ? demand : in_use;
    if (want > limit)
        want = limit;
    if (want_out)
        *want_out = (uint32_t)want;

    uint64_t others = held_by_others(leases, n, node_id, now_ms, margin_ms);
    uint64_t free_ch = others < limit ? limit - others : 0;
    uint32_t mine = trunk_lease_share(limit, leases, n, node_id, now_ms, margin_ms);

    /* Fair share over the nodes that hold channels, by what they want. */
    uint32_t wants[WATERFILL_MAX];
    size_t k = 0;
    uint64_t want_sum = want;
    for (size_t i = 0; leases && i < n && k < WATERFILL_MAX - 1; i++)
        if (leases[i].node_id != node_id && held(&leases[i], now_ms, margin_ms)) {
            wants[k++] = leases[i].want;
            want_sum += leases[i].want;
        }
    wants[k] = (uint32_t)want;
    uint64_t target = want + slack;
    if (want_sum > limit) {
        /* Contended: nobody keeps more than its fair share (or what it uses). */
        uint64_t fair = fair_share(limit, wants, k + 1, k);
        target = fair > in_use ? fair : in_use;
    }
    if (target > limit)
        target = limit;
    /* Hysteresis: keep the current share unless it is too small or well too big. */
    if (target <= mine && mine <= target + 2 * (uint64_t)slack && want_sum <= limit)
        target = mine;
    if (target > free_ch)
        target = free_ch; /* grow into free channels only; peers shrink themselves */
    if (target < in_use)
        target = in_use; /* a share below the calls carried would let peers overbook */
    if (target > limit)
        target = limit;
    return (uint32_t)target;
}
