/* Private to src/cluster. */
#ifndef WAIHU_CLUSTER_INTERNAL_H
#define WAIHU_CLUSTER_INTERNAL_H

#include <raft.h>
#include <raft/uv.h>

#include "cluster.h"

/* One submitter waiting for its command's result. */
struct waiter {
    cluster_submit_cb cb;
    void *data;
    uint64_t start_ms;
};

/* A group-committed batch: one raft entry. */
struct batch {
    struct raft_apply req;
    struct cluster *c;
    uint64_t batch_id;
    unsigned n;
    struct waiter *waiters;
    bool done; /* results delivered */
    struct batch *next; /* in c->inflight */
};

/* Commands waiting for the next flush. */
struct queued {
    uint8_t *cmd;
    size_t len;
    struct waiter w;
};

struct read_waiter {
    cluster_read_cb cb;
    void *data;
    uint64_t index; /* wait until raft_last_applied >= index (0: not yet known) */
    struct read_waiter *next;
};

/* The transport wrapper: raft's own TCP transport plus TCP_NODELAY and fencing, or,
 * when TLS is configured, our TLS transport (transport_tls.c) in `outer`. */
struct fenced_transport {
    struct raft_uv_transport outer;
    struct raft_uv_transport inner;
    bool tls;
    raft_uv_accept_cb accept_cb;
    bool *fenced;
    raft_uv_transport_close_cb close_cb;
};

struct forwarder; /* forward.c */

struct cluster {
    uv_loop_t *loop;
    struct cluster_config config;
    struct store *store;
    struct raft raft;
    struct raft_io io;
    struct raft_fsm fsm;
    struct fenced_transport transport;
    bool raft_started;

    /* leadership tracking (raft 0.15 has no state callback: poll on every iteration) */
    uv_check_t check;
    uv_timer_t tick;
    int last_state;
    uint64_t last_leader;
    bool ready; /* leader: start barrier applied; follower: leader known */
    struct raft_barrier start_barrier;
    bool start_barrier_pending;
    bool announced;
    uint64_t announce_sent_term;

    /* group commit */
    struct queued *queue;
    unsigned n_queue, cap_queue;
    size_t queue_bytes;
    uint64_t next_batch_id;
    struct batch *inflight;

    /* read barriers */
    struct read_waiter *reads_next;    /* wait for the next barrier */
    struct read_waiter *reads_barrier; /* covered by the barrier in flight */
    struct read_waiter *reads_apply;   /* index known, waiting for local apply */
    bool barrier_inflight;
    struct raft_barrier read_barrier;

    struct forwarder *fwd;

    bool fenced;
    uint64_t fence_until_ms;

    bool stopping;
    void (*stop_cb)(void *data);
    void *stop_data;
    struct raft_transfer stop_transfer;

    struct cluster_metrics metrics;

    /* role manager (roles.c) */
    int desired_voters;
    bool role_change_pending;
    uint64_t last_heard_ms[CLUSTER_MAX_MEMBERS];
    uint64_t last_heard_id[CLUSTER_MAX_MEMBERS];
};

/* transport.c */
/* TLS when cfg names a cert; errmsg (256 bytes) says which file failed. */
int transport_init(struct fenced_transport *t, uv_loop_t *loop, bool *fenced,
                   const struct cluster_config *cfg, char *errmsg);
void transport_close(struct fenced_transport *t);
/* Cuts established raft connections (fence). */
void transport_cut(struct cluster *c);

/* submit.c */
void submit_flush(struct cluster *c);
void submit_fail_all(struct cluster *c, int status);
void submit_on_applied(void *data, uint64_t index, uint64_t origin, uint64_t batch_id,
                       const struct store_result *results, unsigned n);
/* Submits on this node as leader (no forwarding). */
void submit_local(struct cluster *c, const uint8_t *cmd, size_t len, cluster_submit_cb cb,
                  void *data);
void submit_record_latency(struct cluster *c, uint64_t start_ms);

/* read.c */
void read_local_barrier(struct cluster *c, cluster_read_cb cb, void *data);
void read_wait_applied(struct cluster *c, uint64_t index, cluster_read_cb cb, void *data);
void read_check_applied(struct cluster *c);
void read_fail_all(struct cluster *c, int status);

/* forward.c */
int forward_start(struct cluster *c, char *errmsg);
void forward_stop(struct cluster *c);
/* Follower side: send to the leader. */
void forward_submit(struct cluster *c, const uint8_t *cmd, size_t len, cluster_submit_cb cb,
                    void *data);
void forward_read_index(struct cluster *c, cluster_read_cb cb, void *data);
/* The leader changed (or we were fenced): drop the leader connection, fail in-flight. */
void forward_leader_changed(struct cluster *c);
/* store_fetcher.fetch over the forward port (data is the cluster). Blocking, with
 * connect and I/O timeouts; tries the checkpoint's origin, then the leader. */
int forward_fetch_file(void *data, uint64_t origin, uint64_t index, const char *name,
                       uint64_t size_bytes, const char *out_path, char *errmsg);

/* members.c */
int members_raft_role(enum cluster_role r);

/* roles.c: called on every tick. */
void roles_tick(struct cluster *c);

/* node.c */
/* Forward address of server id, from announcements or the initial config. */
bool node_forward_address(struct cluster *c, uint64_t id, char *out, size_t cap);
bool node_is_leader(struct cluster *c);

#endif
