/* Trunk sets: building, validating and inspecting trunks. */
#include <stdlib.h>
#include <string.h>

#include "trunk_internal.h"

int trunk_set_new(const struct trunk_health_config *cfg, struct trunk_set **out, char *err,
                  size_t err_len)
{
    struct trunk_health_config def;
    if (!out)
        return WAIHU_EINVAL;
    *out = NULL;
    if (!cfg) {
        trunk_health_default(&def);
        cfg = &def;
    }
    int rv = trunk_health_check(cfg, err, err_len);
    if (rv)
        return rv;
    struct trunk_set *set = calloc(1, sizeof(*set));
    if (!set)
        return WAIHU_ENOMEM;
    set->cfg = *cfg;
    set->next_cookie = 1;
    *out = set;
    return 0;
}

static void entry_free(struct trunk_entry *e)
{
    if (!e)
        return;
    free(e->caller_ids);
    free(e->starts);
    free(e->window);
    free(e);
}

void trunk_set_free(struct trunk_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        entry_free(set->t[i]);
    free(set);
}

static int name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TRUNK_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* "host:port": IPv4 or DNS name ([A-Za-z0-9.-]) or "[IPv6]", port 1..65535. */
static int addr_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TRUNK_ADDR_MAX)
        return 0;
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || close[1] != ':')
            return 0;
        for (const char *p = s + 1; p < close; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                  (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
                return 0;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s)
            return 0;
        for (const char *p = s; p < colon; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
                return 0;
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5)
        return 0;
    unsigned long port = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    return port >= 1 && port <= 65535;
}

/* E.164: "+" then 7..15 digits, no leading zero. */
static int number_valid(const char *s)
{
    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    size_t n = 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return 0;
    return n >= 7 && n <= 15;
}

static int config_check(const struct trunk_set *set, const struct trunk_config *tc, char *err,
                        size_t err_len)
{
    if (!tc->name || !name_valid(tc->name))
        return trunk_errf(err, err_len, "name: must be 1..%d characters of [A-Za-z0-9_.-]",
                          TRUNK_NAME_MAX - 1);
    const char *nm = tc->name;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->t[i]->name, nm) == 0)
            return trunk_errf(err, err_len, "%s.name: duplicate trunk name", nm);
    if (!tc->target || !addr_valid(tc->target))
        return trunk_errf(err, err_len, "%s.target: must be host:port (port 1..65535)", nm);
    if (tc->proxy && !addr_valid(tc->proxy))
        return trunk_errf(err, err_len, "%s.proxy: must be host:port (port 1..65535)", nm);
    if ((unsigned)tc->transport > TRUNK_TLS)
        return trunk_errf(err, err_len, "%s.transport: must be udp, tcp or tls", nm);
    if (tc->weight < 1 || tc->weight > TRUNK_WEIGHT_MAX)
        return trunk_errf(err, err_len, "%s.weight: must be an integer in 1..%d", nm,
                          TRUNK_WEIGHT_MAX);
    if (tc->channels < 1 || tc->channels > TRUNK_CHANNELS_MAX)
        return trunk_errf(err, err_len, "%s.channels: must be an integer in 1..%d", nm,
                          TRUNK_CHANNELS_MAX);
    if (tc->cps < 1 || tc->cps > TRUNK_CPS_MAX)
        return trunk_errf(err, err_len, "%s.cps: must be an integer in 1..%d", nm, TRUNK_CPS_MAX);
    if (!(tc->cost_per_min >= 0 && tc->cost_per_min < 1e6))
        return trunk_errf(err, err_len, "%s.cost_per_min: must be a number >= 0", nm);
    if (tc->n_caller_ids < 1 || tc->n_caller_ids > TRUNK_CALLER_IDS_MAX || !tc->caller_ids)
        return trunk_errf(err, err_len, "%s.caller_ids: must list 1..%d verified numbers", nm,
                          TRUNK_CALLER_IDS_MAX);
    for (size_t i = 0; i < tc->n_caller_ids; i++) {
        if (!number_valid(tc->caller_ids[i]))
            return trunk_errf(err, err_len,
                              "%s.caller_ids[%zu]: must be E.164 (+ and 7..15 digits)", nm, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(tc->caller_ids[i], tc->caller_ids[j]) == 0)
                return trunk_errf(err, err_len, "%s.caller_ids[%zu]: duplicate number", nm, i);
    }
    return 0;
}

int trunk_set_add(struct trunk_set *set, const struct trunk_config *tc, uint32_t *index, char *err,
                  size_t err_len)
{
    if (!set || !tc)
        return trunk_errf(err, err_len, "trunk: missing");
    int rv = config_check(set, tc, err, err_len);
    if (rv)
        return rv;
    if (set->n >= TRUNK_MAX) {
        trunk_errf(err, err_len, "%s: more than %d trunks", tc->name, TRUNK_MAX);
        return WAIHU_ETOOBIG;
    }
    struct trunk_entry *e = calloc(1, sizeof(*e));
    if (!e)
        goto nomem;
    e->caller_ids = calloc(tc->n_caller_ids, sizeof(*e->caller_ids));
    e->starts = calloc(tc->cps, sizeof(*e->starts));
    e->window = calloc(set->cfg.window_calls, sizeof(*e->window));
    if (!e->caller_ids || !e->starts || !e->window)
        goto nomem;
    strcpy(e->name, tc->name); /* lengths checked above */
    strcpy(e->target, tc->target);
    if (tc->proxy)
        strcpy(e->proxy, tc->proxy);
    e->transport = tc->transport;
    e->weight = tc->weight;
    e->channels = tc->channels;
    e->cps = tc->cps;
    e->priority = tc->priority;
    e->cost_per_min = tc->cost_per_min;
    for (size_t i = 0; i < tc->n_caller_ids; i++)
        strcpy(e->caller_ids[i], tc->caller_ids[i]);
    e->n_caller_ids = tc->n_caller_ids;
    e->share = tc->channels;
    trunk_health_init(set, e, set->last_now_ms);
    if (index)
        *index = (uint32_t)set->n;
    set->t[set->n++] = e;
    return 0;
nomem:
    entry_free(e);
    trunk_errf(err, err_len, "%s: out of memory", tc->name);
    return WAIHU_ENOMEM;
}

size_t trunk_set_count(const struct trunk_set *set)
{
    return set ? set->n : 0;
}

int trunk_set_find(const struct trunk_set *set, const char *name, uint32_t *index)
{
    if (!set || !name)
        return WAIHU_EINVAL;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->t[i]->name, name) == 0) {
            if (index)
                *index = (uint32_t)i;
            return 0;
        }
    return WAIHU_ENOTFOUND;
}

int trunk_set_info(const struct trunk_set *set, uint32_t index, int64_t now_ms,
                   struct trunk_info *out)
{
    if (!set || !out || index >= set->n)
        return WAIHU_EINVAL;
    const struct trunk_entry *e = set->t[index];
    memset(out, 0, sizeof(*out));
    out->name = e->name;
    out->target = e->target;
    out->proxy = e->proxy[0] ? e->proxy : NULL;
    out->transport = e->transport;
    out->weight = e->weight;
    out->channels = e->channels;
    out->cps = e->cps;
    out->priority = e->priority;
    out->cost_per_min = e->cost_per_min;
    out->n_caller_ids = e->n_caller_ids;
    out->state = e->state;
    out->reason = e->reason;
    out->in_use = e->in_use;
    out->share = e->share;
    out->cps_share = trunk_cps_share(e);
    out->asr_window = trunk_asr_window(e);
    out->asr_baseline = trunk_asr_baseline(e);
    out->window_n = e->window_len;
    out->window_carrier = e->win_carrier;
    out->picks = e->picks;
    out->answered = e->answered;
    out->normal = e->normal;
    out->carrier = e->carrier;
    out->downs = e->downs;
    out->down_since_ms = e->down_since_ms;
    (void)now_ms;
    return 0;
}

void trunk_set_health(const struct trunk_set *set, struct trunk_health_config *out)
{
    *out = set->cfg;
}

uint64_t trunk_set_illegal_moves(const struct trunk_set *set)
{
    return set ? set->illegal_moves : 0;
}

void trunk_set_share(struct trunk_set *set, uint32_t index, uint32_t channels)
{
    if (!set || index >= set->n)
        return;
    struct trunk_entry *e = set->t[index];
    e->share = channels < e->channels ? channels : e->channels;
}
