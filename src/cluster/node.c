/* A node's raft life: start (bootstrap or rejoin), leadership tracking with the start
 * barrier, announcements, status, fencing and graceful stop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster_internal.h"
#include "waihu.pb-c.h"

#define TICK_MS 100

static const char *role_names[] = {"voter", "standby", "spare"};

const char *cluster_role_name(enum cluster_role role)
{
    return role >= CLUSTER_VOTER && role <= CLUSTER_SPARE ? role_names[role] : "unknown";
}

int cluster_role_parse(const char *text, enum cluster_role *out)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, role_names[i]) == 0) {
            *out = (enum cluster_role)i;
            return 0;
        }
    }
    return WAIHU_EINVAL;
}

static enum cluster_role our_role(int r)
{
    return r == RAFT_VOTER ? CLUSTER_VOTER : r == RAFT_STANDBY ? CLUSTER_STANDBY : CLUSTER_SPARE;
}

static const char *state_name(int state)
{
    return state == RAFT_LEADER      ? "leader"
           : state == RAFT_FOLLOWER  ? "follower"
           : state == RAFT_CANDIDATE ? "candidate"
                                     : "unavailable";
}

bool node_is_leader(struct cluster *c)
{
    return c->raft_started && raft_state(&c->raft) == RAFT_LEADER;
}

/* Directory of member addresses: announcements in the store win over the file. */
static bool node_lookup(struct cluster *c, uint64_t id, struct cluster_member_conf *out)
{
    struct store_node nodes[CLUSTER_MAX_MEMBERS * 2];
    int n = store_nodes_list(c->store, nodes, CLUSTER_MAX_MEMBERS * 2);
    for (int i = 0; i < n && i < CLUSTER_MAX_MEMBERS * 2; i++) {
        if (nodes[i].id == id) {
            memset(out, 0, sizeof *out);
            out->id = id;
            snprintf(out->name, sizeof out->name, "%s", nodes[i].name);
            snprintf(out->dc, sizeof out->dc, "%s", nodes[i].dc);
            snprintf(out->raft_address, sizeof out->raft_address, "%s", nodes[i].raft_address);
            snprintf(out->api_address, sizeof out->api_address, "%s", nodes[i].api_address);
            snprintf(out->forward_address, sizeof out->forward_address, "%s",
                     nodes[i].forward_address);
            return true;
        }
    }
    if (id == c->config.self.id) {
        *out = c->config.self;
        return true;
    }
    for (int i = 0; i < c->config.n_members; i++) {
        if (c->config.members[i].id == id) {
            *out = c->config.members[i];
            return true;
        }
    }
    return false;
}

bool node_forward_address(struct cluster *c, uint64_t id, char *out, size_t cap)
{
    struct cluster_member_conf m;
    if (!node_lookup(c, id, &m) || m.forward_address[0] == '\0') {
        return false;
    }
    snprintf(out, cap, "%s", m.forward_address);
    return true;
}

static void announce_done(void *data, int status, const struct store_result *r)
{
    struct cluster *c = data;
    if (status == 0 && r->code == 0) {
        c->announced = true;
    }
}

/* Tells the cluster how to reach us, once per start (addresses may have changed). */
static void announce(struct cluster *c)
{
    NodeAnnounce a = NODE_ANNOUNCE__INIT;
    a.id = c->config.self.id;
    a.name = c->config.self.name;
    a.dc = c->config.self.dc;
    a.raft_address = c->config.self.raft_address;
    a.api_address = c->config.self.api_address;
    a.forward_address = c->config.self.forward_address;
    Command cmd = COMMAND__INIT;
    cmd.op_case = COMMAND__OP_NODE_ANNOUNCE;
    cmd.node_announce = &a;
    uint8_t buf[1024];
    size_t n = command__get_packed_size(&cmd);
    if (n > sizeof buf) {
        return;
    }
    command__pack(&cmd, buf);
    c->announce_sent_term = c->raft.current_term;
    cluster_submit(c, buf, n, announce_done, c);
}

static void start_barrier_cb(struct raft_barrier *req, int status)
{
    struct cluster *c = req->data;
    c->start_barrier_pending = false;
    if (status != 0) {
        LOG_W("cluster", "start barrier failed: %s", raft_strerror(status));
        return;
    }
    if (raft_state(&c->raft) == RAFT_LEADER) {
        /* Entries of earlier terms are now surely committed (raft 0.15 could count
         * them early): only now do we serve. */
        c->ready = true;
        c->metrics.elections_won++;
        LOG_I("cluster", "leader ready at term %llu, applied %llu",
              (unsigned long long)c->raft.current_term,
              (unsigned long long)raft_last_applied(&c->raft));
        submit_flush(c);
    }
}

static void on_state_change(struct cluster *c, int state, uint64_t leader)
{
    if (state != c->last_state) {
        LOG_I("cluster", "state %s -> %s, term %llu", state_name(c->last_state),
              state_name(state), (unsigned long long)c->raft.current_term);
    }
    if (leader != c->last_leader) {
        LOG_I("cluster", "leader is now %llu", (unsigned long long)leader);
        forward_leader_changed(c);
    }
    bool was_leader = c->last_state == RAFT_LEADER;
    c->last_state = state;
    c->last_leader = leader;
    c->ready = false;
    if (was_leader && state != RAFT_LEADER) {
        /* Queued commands were never handed to raft: safe to retry elsewhere. */
        submit_fail_all(c, WAIHU_EUNAVAILABLE);
        read_fail_all(c, WAIHU_EUNAVAILABLE);
    }
    if (state == RAFT_LEADER && !c->start_barrier_pending) {
        c->start_barrier.data = c;
        if (raft_barrier(&c->raft, &c->start_barrier, start_barrier_cb) == 0) {
            c->start_barrier_pending = true;
        }
    } else if (state == RAFT_FOLLOWER && leader != 0) {
        c->ready = true;
    }
}

/* raft 0.15 has no state-change callback: look after every loop iteration. */
static void on_check(uv_check_t *h)
{
    struct cluster *c = h->data;
    if (!c->raft_started || c->stopping) {
        return;
    }
    int state = raft_state(&c->raft);
    if (state == RAFT_UNAVAILABLE && c->last_state != RAFT_UNAVAILABLE) {
        /* raft 0.15 parks a server whose disk write failed here for good. */
        LOG_E("cluster", "raft stopped serving (%s); exiting so the others carry on",
              raft_errmsg(&c->raft));
        exit(1);
    }
    raft_id leader = 0;
    const char *addr;
    raft_leader(&c->raft, &leader, &addr);
    if (state != c->last_state || leader != c->last_leader) {
        on_state_change(c, state, leader);
    }
    if (state == RAFT_LEADER && c->ready && c->n_queue > 0) {
        submit_flush(c);
    }
    read_check_applied(c);
}

static void on_tick(uv_timer_t *h)
{
    struct cluster *c = h->data;
    if (c->fenced && clock_now_ms() >= c->fence_until_ms) {
        cluster_unfence(c);
    }
    if (c->fenced) {
        transport_cut(c); /* connections raft re-opened since */
    }
    roles_tick(c);
    if (c->ready && !c->announced && c->announce_sent_term != c->raft.current_term &&
        !c->fenced) {
        announce(c);
    }
}

static int ensure_dir(const char *path, char *errmsg)
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        snprintf(errmsg, 256, "mkdir %s: %s", path, strerror(errno));
        return WAIHU_EIO;
    }
    return 0;
}

static bool dir_has_raft_data(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/metadata1", dir);
    if (access(p, F_OK) == 0) {
        return true;
    }
    snprintf(p, sizeof p, "%s/metadata2", dir);
    return access(p, F_OK) == 0;
}

static int bootstrap(struct cluster *c, char *errmsg)
{
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    int rv = 0;
    for (int i = 0; i < c->config.n_members && rv == 0; i++) {
        const struct cluster_member_conf *m = &c->config.members[i];
        rv = raft_configuration_add(&conf, m->id, m->raft_address, members_raft_role(m->role));
    }
    if (rv == 0) {
        rv = raft_bootstrap(&c->raft, &conf);
    }
    raft_configuration_close(&conf);
    if (rv != 0) {
        snprintf(errmsg, 256, "bootstrap %s: %s", c->config.data_dir, raft_errmsg(&c->raft));
        return WAIHU_EIO;
    }
    LOG_I("cluster", "bootstrapped a cluster of %d members", c->config.n_members);
    return 0;
}

/* raft reports a failed listen as a bare "I/O error": try the bind first to say why. */
static int probe_listen(const char *address, char *errmsg)
{
    struct sockaddr_in sa;
    if (addr_parse_ipv4(address, &sa) != 0) {
        snprintf(errmsg, 256, "raft_address %s: not an IPv4 host:port", address);
        return WAIHU_EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0) {
        snprintf(errmsg, 256, "raft_address %s: socket: %s", address, strerror(errno));
        return WAIHU_EIO;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rv = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (rv != 0) {
        snprintf(errmsg, 256, "raft_address %s: %s", address, strerror(err));
        return WAIHU_EIO;
    }
    return 0;
}

static bool self_listed(const struct cluster_config *cfg)
{
    for (int i = 0; i < cfg->n_members; i++) {
        if (cfg->members[i].id == cfg->self.id) {
            return true;
        }
    }
    return false;
}

int cluster_start(uv_loop_t *loop, const struct cluster_config *config, struct store *s,
                  struct cluster **out, char *errmsg)
{
    char raft_dir[512];
    int rv;
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(errmsg, 256, "out of memory");
        return WAIHU_ENOMEM;
    }
    c->loop = loop;
    c->config = *config;
    c->store = s;
    c->last_state = RAFT_UNAVAILABLE;
    for (int i = 0; i < config->n_members; i++) {
        c->desired_voters += config->members[i].role == CLUSTER_VOTER;
    }
    uint64_t seed;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed) {
        seed = (uint64_t)clock_wall_ms() * 2654435761u;
    }
    if (fd >= 0) {
        close(fd);
    }
    /* Random base: entries of an earlier run of this node never match new batches. */
    c->next_batch_id = (seed << 16) | 1;
    snprintf(raft_dir, sizeof raft_dir, "%s/raft", config->data_dir);
    if ((rv = ensure_dir(raft_dir, errmsg)) != 0) {
        goto err;
    }
    store_on_applied(s, submit_on_applied, c);
    if ((rv = transport_init(&c->transport, loop, &c->fenced, config, errmsg)) != 0) {
        goto err;
    }
    if ((rv = raft_uv_init(&c->io, loop, raft_dir, &c->transport.outer)) != 0) {
        snprintf(errmsg, 256, "raft dir %s: %s", raft_dir, c->io.errmsg);
        rv = WAIHU_EIO;
        goto err_transport;
    }
    /* FSM version 3 (async snapshots) needs io version 2; raft_uv_init says 1. */
    c->io.version = 2;
    /* Auto-recovery renames a corrupt closed segment aside and starts with a shorter
     * log: entries this node acknowledged would vanish silently and it could then vote
     * for a candidate missing them. Refuse to start instead; the operator decides. */
    raft_uv_set_auto_recovery(&c->io, false);
    char snap_dir[512];
    snprintf(snap_dir, sizeof snap_dir, "%s/snapshots", config->data_dir);
    uint64_t inline_max = config->snapshot_inline_max_bytes ? config->snapshot_inline_max_bytes
                                                            : 64ULL << 20;
    if ((rv = store_checkpoint_configure(s, snap_dir, inline_max, config->self.id)) != 0) {
        snprintf(errmsg, 256, "snapshots dir %s: %s", snap_dir, waihu_strerror(rv));
        goto err_transport_io;
    }
    struct store_fetcher fetcher = {.data = c, .fetch = forward_fetch_file};
    store_set_fetcher(s, &fetcher);
    store_fsm_init(&c->fsm, s);
    if ((rv = raft_init(&c->raft, &c->io, &c->fsm, config->self.id,
                        config->self.raft_address)) != 0) {
        snprintf(errmsg, 256, "raft init: %s", raft_errmsg(&c->raft));
        rv = WAIHU_EIO;
        goto err_fsm;
    }
    store_fsm_set_raft(&c->fsm, &c->raft);
    raft_set_pre_vote(&c->raft, true);
    raft_set_election_timeout(&c->raft, config->election_timeout_ms);
    raft_set_heartbeat_timeout(&c->raft, config->heartbeat_timeout_ms);
    raft_set_snapshot_threshold(&c->raft, config->snapshot_threshold);
    raft_set_snapshot_trailing(&c->raft, config->snapshot_trailing);
    if (!dir_has_raft_data(raft_dir) && self_listed(config)) {
        if ((rv = bootstrap(c, errmsg)) != 0) {
            goto err_raft;
        }
    }
    if ((rv = probe_listen(config->self.raft_address, errmsg)) != 0) {
        goto err_raft;
    }
    if ((rv = raft_start(&c->raft)) != 0) {
        snprintf(errmsg, 256, "raft start %s (%s): %s %s", raft_dir, config->self.raft_address,
                 raft_strerror(rv), raft_errmsg(&c->raft));
        rv = rv == RAFT_CORRUPT ? WAIHU_ECORRUPT : WAIHU_EIO;
        goto err_raft;
    }
    c->raft_started = true;
    if (store_applied_index(s) > c->raft.last_stored) {
        /* The store holds entries the raft log no longer has: applying new entries at
         * those indexes would be skipped silently. Only a lost or replaced log does this. */
        snprintf(errmsg, 256,
                 "raft log in %s ends at index %llu but the store in %s/store has applied "
                 "%llu: the log was lost or replaced; refusing to start",
                 raft_dir, (unsigned long long)c->raft.last_stored, config->data_dir,
                 (unsigned long long)store_applied_index(s));
        rv = WAIHU_ECORRUPT;
        goto err_started;
    }
    if ((rv = forward_start(c, errmsg)) != 0) {
        goto err_started;
    }
    uv_check_init(loop, &c->check);
    c->check.data = c;
    uv_check_start(&c->check, on_check);
    uv_timer_init(loop, &c->tick);
    c->tick.data = c;
    uv_timer_start(&c->tick, on_tick, TICK_MS, TICK_MS);
    LOG_I("cluster", "node %llu started: raft %s, applied %llu",
          (unsigned long long)config->self.id, config->self.raft_address,
          (unsigned long long)store_applied_index(s));
    *out = c;
    return 0;

err_started:
err_raft:
    /* raft_close needs the loop to run; the process exits on this error anyway. */
    *out = NULL;
    return rv;
err_fsm:
    store_fsm_close(&c->fsm);
err_transport_io:
    store_set_fetcher(s, NULL);
    raft_uv_close(&c->io);
err_transport:
    transport_close(&c->transport);
err:
    free(c);
    return rv;
}

static void on_raft_closed(struct raft *r)
{
    struct cluster *c = r->data;
    store_set_fetcher(c->store, NULL);
    raft_uv_close(&c->io);
    transport_close(&c->transport);
    store_fsm_close(&c->fsm);
    void (*cb)(void *) = c->stop_cb;
    void *data = c->stop_data;
    free(c->queue);
    free(c);
    if (cb != NULL) {
        cb(data);
    }
}

static void handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void finish_stop(struct cluster *c)
{
    submit_fail_all(c, WAIHU_ESHUTDOWN);
    read_fail_all(c, WAIHU_ESHUTDOWN);
    forward_stop(c);
    uv_check_stop(&c->check);
    uv_close((uv_handle_t *)&c->check, handle_closed);
    uv_timer_stop(&c->tick);
    uv_close((uv_handle_t *)&c->tick, handle_closed);
    c->raft.data = c;
    raft_close(&c->raft, on_raft_closed);
}

static void stop_transfer_cb(struct raft_transfer *req)
{
    struct cluster *c = req->data;
    raft_id leader = 0;
    const char *addr;
    raft_leader(&c->raft, &leader, &addr);
    if (leader != 0 && leader != c->config.self.id) {
        LOG_I("cluster", "leadership handed to %llu before stopping", (unsigned long long)leader);
    } else {
        LOG_W("cluster", "leadership transfer did not complete; stopping anyway");
    }
    finish_stop(c);
}

void cluster_stop(struct cluster *c, void (*cb)(void *data), void *data)
{
    c->stopping = true;
    c->stop_cb = cb;
    c->stop_data = data;
    if (raft_state(&c->raft) == RAFT_LEADER && !c->fenced) {
        c->stop_transfer.data = c;
        if (raft_transfer(&c->raft, &c->stop_transfer, 0, stop_transfer_cb) == 0) {
            return;
        }
    }
    finish_stop(c);
}

bool cluster_ready(struct cluster *c)
{
    return c->ready && !c->fenced && !c->stopping;
}

const struct cluster_config *cluster_config_get(struct cluster *c)
{
    return &c->config;
}

void cluster_status_get(struct cluster *c, struct cluster_status *out)
{
    memset(out, 0, sizeof *out);
    int state = raft_state(&c->raft);
    out->state = state_name(state);
    out->term = c->raft.current_term;
    raft_id leader = 0;
    const char *addr;
    raft_leader(&c->raft, &leader, &addr);
    out->leader_id = leader;
    struct cluster_member_conf lm;
    if (leader != 0 && node_lookup(c, leader, &lm)) {
        snprintf(out->leader_api_address, sizeof out->leader_api_address, "%s", lm.api_address);
    }
    out->commit_index = c->raft.commit_index;
    out->applied_index = raft_last_applied(&c->raft);
    out->last_index = c->raft.last_stored;
    out->ready = cluster_ready(c);
    out->fenced = c->fenced;
    const struct raft_configuration *conf = &c->raft.configuration;
    for (unsigned i = 0; i < conf->n && i < CLUSTER_MAX_MEMBERS; i++) {
        struct cluster_member_status *m = &out->members[out->n_members++];
        if (!node_lookup(c, conf->servers[i].id, &m->conf)) {
            memset(&m->conf, 0, sizeof m->conf);
            m->conf.id = conf->servers[i].id;
        }
        snprintf(m->conf.raft_address, sizeof m->conf.raft_address, "%s",
                 conf->servers[i].address);
        m->conf.role = our_role(conf->servers[i].role);
        if (state == RAFT_LEADER && c->raft.leader_state.progress != NULL) {
            m->has_progress = true;
            m->match_index = c->raft.leader_state.progress[i].match_index;
            m->reachable = conf->servers[i].id == c->config.self.id ||
                           c->raft.leader_state.progress[i].recent_recv;
        }
    }
}

void cluster_metrics_get(struct cluster *c, struct cluster_metrics *out)
{
    *out = c->metrics;
}

void cluster_fence(struct cluster *c, uint64_t duration_ms)
{
    bool was = c->fenced;
    c->fenced = true;
    c->fence_until_ms = clock_now_ms() + duration_ms;
    if (!was) {
        LOG_W("cluster", "fenced for %llu ms: refusing raft and forwarded traffic",
              (unsigned long long)duration_ms);
    }
    transport_cut(c);
    forward_leader_changed(c);
}

void cluster_unfence(struct cluster *c)
{
    if (c->fenced) {
        LOG_W("cluster", "unfenced");
    }
    c->fenced = false;
}

bool cluster_fenced(struct cluster *c)
{
    return c->fenced;
}
