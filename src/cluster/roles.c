/* The leader's role manager: when a voter has been out of touch for a while and a
 * standby is reachable, promote the standby (same datacenter first, else one whose
 * datacenter holds the fewest voters), then demote the lost voter to standby, so the
 * cluster keeps its voter count and its spread over datacenters (2+2+1 layouts).
 * One raft configuration change at a time, as raft 0.15 requires. */
#include <stdio.h>
#include <string.h>

#include "cluster_internal.h"

#define LOST_AFTER_MS 10000

static void dc_of(struct cluster *c, uint64_t id, char *out, size_t cap)
{
    struct store_node nodes[CLUSTER_MAX_MEMBERS * 2];
    int n = store_nodes_list(c->store, nodes, CLUSTER_MAX_MEMBERS * 2);
    out[0] = '\0';
    for (int i = 0; i < n && i < CLUSTER_MAX_MEMBERS * 2; i++) {
        if (nodes[i].id == id) {
            snprintf(out, cap, "%s", nodes[i].dc);
        }
    }
}

static void role_change_done(void *data, int status, const char *errmsg)
{
    struct cluster *c = data;
    c->role_change_pending = false;
    if (status != 0) {
        LOG_W("cluster", "role manager: change failed: %s", errmsg);
    }
}

static int voters_in_dc(struct cluster *c, const char *dc)
{
    const struct raft_configuration *conf = &c->raft.configuration;
    int n = 0;
    char d[64];
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].role == RAFT_VOTER) {
            dc_of(c, conf->servers[i].id, d, sizeof d);
            n += strcmp(d, dc) == 0;
        }
    }
    return n;
}

void roles_tick(struct cluster *c)
{
    if (!node_is_leader(c) || !c->ready || c->fenced || c->role_change_pending ||
        c->raft.leader_state.progress == NULL) {
        return;
    }
    const struct raft_configuration *conf = &c->raft.configuration;
    uint64_t now = clock_now_ms();
    if (conf->n > CLUSTER_MAX_MEMBERS) {
        return;
    }
    /* Track when each member was last heard from. */
    for (unsigned i = 0; i < conf->n; i++) {
        uint64_t id = conf->servers[i].id;
        bool heard = id == c->config.self.id || c->raft.leader_state.progress[i].recent_recv;
        if (heard || c->last_heard_ms[i] == 0 || c->last_heard_id[i] != id) {
            c->last_heard_ms[i] = now;
            c->last_heard_id[i] = id;
        }
    }
    int lost = -1, voters = 0;
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].role != RAFT_VOTER) {
            continue;
        }
        voters++;
        if (lost < 0 && now - c->last_heard_ms[i] > LOST_AFTER_MS) {
            lost = (int)i;
        }
    }
    if (lost < 0) {
        /* All voters healthy: this is the layout the operator wants. */
        c->desired_voters = voters;
        return;
    }
    char lost_dc[64], dc[64];
    dc_of(c, conf->servers[lost].id, lost_dc, sizeof lost_dc);
    /* Too many voters already (an earlier promotion): demote the lost one. */
    if (voters > c->desired_voters) {
        LOG_W("cluster", "role manager: demoting unreachable voter %llu to standby",
              (unsigned long long)conf->servers[lost].id);
        c->role_change_pending = true;
        cluster_member_assign(c, conf->servers[lost].id, CLUSTER_STANDBY, role_change_done, c);
        return;
    }
    int best = -1, best_score = 1 << 30;
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].role != RAFT_STANDBY || now - c->last_heard_ms[i] > 1000) {
            continue;
        }
        dc_of(c, conf->servers[i].id, dc, sizeof dc);
        int score = strcmp(dc, lost_dc) == 0 ? -1 : voters_in_dc(c, dc);
        if (score < best_score) {
            best = (int)i;
            best_score = score;
        }
    }
    if (best < 0) {
        return;
    }
    LOG_W("cluster", "role manager: voter %llu unreachable for %d s; promoting standby %llu",
          (unsigned long long)conf->servers[lost].id, LOST_AFTER_MS / 1000,
          (unsigned long long)conf->servers[best].id);
    c->role_change_pending = true;
    cluster_member_assign(c, conf->servers[best].id, CLUSTER_VOTER, role_change_done, c);
}
