/* The replicated core: raft over libuv with our transport, group commit on the leader,
 * forwarding from followers, batched read barriers, membership and fencing.
 * Every function must be called on the core loop thread. */
#ifndef WAIHU_CLUSTER_H
#define WAIHU_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common.h"
#include "store.h"

#define CLUSTER_MAX_MEMBERS 16
#define CLUSTER_ADDR_MAX 64

enum cluster_role { CLUSTER_VOTER = 0, CLUSTER_STANDBY, CLUSTER_SPARE };

struct cluster_member_conf {
    uint64_t id;
    char name[64];
    char dc[64];
    char raft_address[CLUSTER_ADDR_MAX];
    char api_address[CLUSTER_ADDR_MAX];
    char forward_address[CLUSTER_ADDR_MAX];
    enum cluster_role role;
};

struct cluster_config {
    struct cluster_member_conf self;
    char data_dir[400];
    /* Initial members: used to bootstrap an empty data dir that is listed here. */
    struct cluster_member_conf members[CLUSTER_MAX_MEMBERS];
    int n_members;
    unsigned election_timeout_ms;
    unsigned heartbeat_timeout_ms;
    unsigned snapshot_threshold;
    unsigned snapshot_trailing;
    /* States estimated above this snapshot as a checkpoint manifest (docs/design-notes.md);
     * 0 means the default, 64 MiB. */
    uint64_t snapshot_inline_max_bytes;
    /* Mutual TLS between nodes (raft traffic): all three PEM files, or none (plaintext). */
    char tls_cert[400];
    char tls_key[400];
    char tls_ca[400];
};

struct cluster;

/* Opens raft in <data_dir>/raft over store s and starts serving. Bootstraps when the
 * raft dir is empty and self is among config->members. errmsg (cap 256) says why on
 * failure. */
WAIHU_API int cluster_start(uv_loop_t *loop, const struct cluster_config *config,
                            struct store *s, struct cluster **out, char *errmsg);

/* Graceful stop: hands leadership over if leader, closes raft, then cb. Pending
 * requests fail with WAIHU_ESHUTDOWN. */
WAIHU_API void cluster_stop(struct cluster *c, void (*cb)(void *data), void *data);

/* Result of a submitted command. status is 0 when r is valid (r->code may still be an
 * error of the command itself); WAIHU_EUNAVAILABLE when the command was certainly not
 * applied; WAIHU_ETIMEDOUT when it may or may not have been. */
typedef void (*cluster_submit_cb)(void *data, int status, const struct store_result *r);

/* Submits one packed Command (see proto/waihu.proto); copies it. cb is always called
 * exactly once, possibly before this function returns (refusals are immediate). */
WAIHU_API void cluster_submit(struct cluster *c, const uint8_t *cmd, size_t len,
                              cluster_submit_cb cb, void *data);

/* Calls cb once everything committed before this call is applied locally (status 0),
 * or with WAIHU_EUNAVAILABLE. Reads issued together share one barrier. */
typedef void (*cluster_read_cb)(void *data, int status);
WAIHU_API void cluster_read_barrier(struct cluster *c, cluster_read_cb cb, void *data);

/* Live status. */
struct cluster_member_status {
    struct cluster_member_conf conf; /* api/forward/name/dc from announcements */
    bool has_progress;               /* match_index/reachable valid (we are leader) */
    uint64_t match_index;
    bool reachable;
};
struct cluster_status {
    const char *state; /* "follower", "candidate", "leader", "unavailable" */
    uint64_t term;
    uint64_t leader_id;
    char leader_api_address[CLUSTER_ADDR_MAX];
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t last_index;
    bool ready;
    bool fenced;
    struct cluster_member_status members[CLUSTER_MAX_MEMBERS];
    int n_members;
};
WAIHU_API void cluster_status_get(struct cluster *c, struct cluster_status *out);
WAIHU_API bool cluster_ready(struct cluster *c);
WAIHU_API const struct cluster_config *cluster_config_get(struct cluster *c);

/* Counters for /metrics. */
struct cluster_metrics {
    uint64_t submitted, applied_ok, failed_unavailable, failed_timeout;
    uint64_t batches, forwarded, read_barriers;
    uint64_t elections_won;
    /* apply latency histogram (submit to result), bucket upper bounds in ms */
    uint64_t latency_buckets[12];
    uint64_t latency_count;
    double latency_sum_s;
};
#define CLUSTER_LATENCY_BOUNDS_MS {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 1e12}
WAIHU_API void cluster_metrics_get(struct cluster *c, struct cluster_metrics *out);

/* Membership (leader only; WAIHU_ENOTLEADER otherwise, the API forwards then). */
typedef void (*cluster_change_cb)(void *data, int status, const char *errmsg);
WAIHU_API void cluster_member_add(struct cluster *c, uint64_t id, const char *raft_address,
                                  enum cluster_role role, cluster_change_cb cb, void *data);
WAIHU_API void cluster_member_assign(struct cluster *c, uint64_t id, enum cluster_role role,
                                     cluster_change_cb cb, void *data);
WAIHU_API void cluster_member_remove(struct cluster *c, uint64_t id, cluster_change_cb cb,
                                     void *data);
/* to = 0 lets raft pick the most up-to-date voter. */
WAIHU_API void cluster_leader_transfer(struct cluster *c, uint64_t to, cluster_change_cb cb,
                                       void *data);

/* Fencing for drills: for duration_ms the node cuts and refuses raft and forwarding
 * connections. The API layer answers 503 while cluster_fenced(). */
WAIHU_API void cluster_fence(struct cluster *c, uint64_t duration_ms);
WAIHU_API void cluster_unfence(struct cluster *c);
WAIHU_API bool cluster_fenced(struct cluster *c);

WAIHU_API const char *cluster_role_name(enum cluster_role role);
WAIHU_API int cluster_role_parse(const char *text, enum cluster_role *out);

#endif
