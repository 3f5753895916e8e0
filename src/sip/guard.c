/* Source guard: token buckets, failure counts and bans in a small open-addressing table. */
#include "guard.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROBE 16
#define MAX_EXEMPT 64

struct entry {
    uint32_t ip;           /* 0: free slot */
    double tokens;
    uint64_t last_ms;
    uint64_t fail_start_ms;
    uint32_t fails;
    uint64_t banned_until_ms;
};

struct sip_guard {
    struct sip_guard_config cfg;
    struct entry *slots;
    uint32_t exempt[MAX_EXEMPT];
    size_t n_exempt;
};

struct sip_guard *sip_guard_new(const struct sip_guard_config *config)
{
    struct sip_guard *g = calloc(1, sizeof *g);
    if (!g) {
        return NULL;
    }
    g->cfg = *config;
    size_t cap = 64;
    while (cap < config->capacity) {
        cap <<= 1;
    }
    g->cfg.capacity = cap;
    g->slots = calloc(cap, sizeof *g->slots);
    if (!g->slots) {
        free(g);
        return NULL;
    }
    return g;
}

void sip_guard_free(struct sip_guard *g)
{
    if (g) {
        free(g->slots);
        free(g);
    }
}

int sip_guard_exempt(struct sip_guard *g, uint32_t ip)
{
    if (g->n_exempt == MAX_EXEMPT) {
        return -1;
    }
    g->exempt[g->n_exempt++] = ip;
    return 0;
}

static int is_exempt(const struct sip_guard *g, uint32_t ip)
{
    for (size_t i = 0; i < g->n_exempt; i++) {
        if (g->exempt[i] == ip) {
            return 1;
        }
    }
    return 0;
}

/* The entry of ip, created when absent; evicts the least recently seen unbanned entry of
 * the probe window (a banned one only if the whole window is banned). */
static struct entry *lookup(struct sip_guard *g, uint32_t ip, uint64_t now_ms)
{
    size_t mask = g->cfg.capacity - 1;
    size_t h = (size_t)((ip * 2654435761u) & mask);
    struct entry *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct entry *e = &g->slots[(h + i) & mask];
        if (e->ip == ip) {
            return e;
        }
        if (e->ip == 0) {
            if (!victim || victim->ip != 0) {
                victim = e;
            }
            continue;
        }
        int banned = e->banned_until_ms > now_ms;
        if (!victim || (victim->ip != 0 && ((victim->banned_until_ms > now_ms && !banned) ||
                                            ((victim->banned_until_ms > now_ms) == banned &&
                                             e->last_ms < victim->last_ms)))) {
            victim = e;
        }
    }
    /* An eviction may forget a source's history; losing one is the price of bounded memory. */
    memset(victim, 0, sizeof *victim);
    victim->ip = ip;
    victim->tokens = g->cfg.burst;
    victim->last_ms = now_ms;
    return victim;
}

static enum sip_guard_verdict ban(struct sip_guard *g, struct entry *e, uint64_t now_ms)
{
    int was = e->banned_until_ms > now_ms;
    e->banned_until_ms = now_ms + g->cfg.ban_ms;
    return was ? SIP_GUARD_BANNED : SIP_GUARD_NEW_BAN;
}

enum sip_guard_verdict sip_guard_check(struct sip_guard *g, uint32_t ip, uint64_t now_ms)
{
    if (is_exempt(g, ip)) {
        return SIP_GUARD_PASS;
    }
    struct entry *e = lookup(g, ip, now_ms);
    if (now_ms > e->last_ms) {
        e->tokens += (double)(now_ms - e->last_ms) * g->cfg.rate_per_s / 1000.0;
        if (e->tokens > g->cfg.burst) {
            e->tokens = g->cfg.burst;
        }
    }
    e->last_ms = now_ms;
    if (e->banned_until_ms > now_ms) {
        return SIP_GUARD_BANNED; /* requests while banned do not refill the bucket */
    }
    if (e->tokens < 1.0) {
        return ban(g, e, now_ms);
    }
    e->tokens -= 1.0;
    return SIP_GUARD_PASS;
}

enum sip_guard_verdict sip_guard_auth_failed(struct sip_guard *g, uint32_t ip, uint64_t now_ms)
{
    if (is_exempt(g, ip)) {
        return SIP_GUARD_PASS;
    }
    struct entry *e = lookup(g, ip, now_ms);
    if (e->banned_until_ms > now_ms) {
        return SIP_GUARD_BANNED;
    }
    if (e->fails == 0 || now_ms - e->fail_start_ms > g->cfg.fail_window_ms) {
        e->fails = 0;
        e->fail_start_ms = now_ms;
    }
    if (++e->fails >= g->cfg.fail_limit) {
        e->fails = 0;
        return ban(g, e, now_ms);
    }
    return SIP_GUARD_PASS;
}

enum sip_guard_verdict sip_guard_ban(struct sip_guard *g, uint32_t ip, uint64_t now_ms)
{
    if (is_exempt(g, ip)) {
        return SIP_GUARD_PASS;
    }
    return ban(g, lookup(g, ip, now_ms), now_ms);
}

int sip_guard_is_banned(struct sip_guard *g, uint32_t ip, uint64_t now_ms)
{
    if (is_exempt(g, ip)) {
        return 0;
    }
    size_t mask = g->cfg.capacity - 1;
    size_t h = (size_t)((ip * 2654435761u) & mask);
    for (size_t i = 0; i < PROBE; i++) {
        const struct entry *e = &g->slots[(h + i) & mask];
        if (e->ip == ip) {
            return e->banned_until_ms > now_ms;
        }
    }
    return 0;
}

int sip_guard_is_scanner(const char *user_agent)
{
    static const char *const marks[] = {"friendly-scanner", "sipvicious", "sipcli", "sip-scan",
                                        "sundayddr", "vaxsipuseragent", "iwar", "pplsip",
                                        NULL};
    if (!user_agent) {
        return 0;
    }
    size_t n = strlen(user_agent);
    for (const char *const *m = marks; *m; m++) {
        size_t k = strlen(*m);
        for (size_t i = 0; i + k <= n; i++) {
            if (strncasecmp(user_agent + i, *m, k) == 0) {
                return 1;
            }
        }
    }
    return 0;
}
