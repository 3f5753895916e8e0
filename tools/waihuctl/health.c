#include "health.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool is_voter(const struct health_node *n)
{
    return n->role != NULL && strcmp(n->role, "voter") == 0;
}

static bool is_up(const struct health_node *n)
{
    return n->answered && !n->fenced && n->state != NULL && strcmp(n->state, "unavailable") != 0;
}

void health_assess(const struct health_node *nodes, size_t n, struct health_report *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < n; i++) {
        const struct health_node *m = &nodes[i];
        if (is_voter(m)) {
            out->voters++;
            out->voters_up += is_up(m) ? 1 : 0;
        }
        if (is_up(m) && strcmp(m->state, "leader") == 0 &&
            (!out->has_leader || m->term > nodes[out->leader].term)) {
            out->has_leader = true;
            out->leader = i;
        }
    }
    out->healthy = out->has_leader && out->voters_up == out->voters && out->voters > 0;
}

void health_summary(const struct health_node *nodes, size_t n, const struct health_report *r,
                    char *buf, size_t len)
{
    size_t i, used;
    bool first = true;

    if (r->has_leader) {
        const struct health_node *l = &nodes[r->leader];
        snprintf(buf, len, "cluster %s: leader %s (id %" PRIu64 "), %zu/%zu voters up",
                 r->healthy ? "healthy" : "DEGRADED", l->name ? l->name : "?", l->id,
                 r->voters_up, r->voters);
    } else {
        snprintf(buf, len, "cluster DEGRADED: no leader, %zu/%zu voters up", r->voters_up,
                 r->voters);
    }
    for (i = 0; i < n; i++) {
        if (!is_voter(&nodes[i]) || is_up(&nodes[i])) {
            continue;
        }
        used = strlen(buf);
        if (nodes[i].name != NULL) {
            snprintf(buf + used, len - used, "%s%s", first ? " (down: " : ", ", nodes[i].name);
        } else {
            snprintf(buf + used, len - used, "%sid %" PRIu64, first ? " (down: " : ", ",
                     nodes[i].id);
        }
        first = false;
    }
    if (!first) {
        used = strlen(buf);
        snprintf(buf + used, len - used, ")");
    }
}
