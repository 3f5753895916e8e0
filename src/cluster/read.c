/* Linearizable reads: a barrier on the leader proves leadership and that every earlier
 * write is applied; reads arriving while one barrier is in flight share the next one. */
#include <stdlib.h>

#include "cluster_internal.h"

static void issue_barrier(struct cluster *c);

static void complete_list(struct read_waiter *w, int status)
{
    while (w != NULL) {
        struct read_waiter *next = w->next;
        w->cb(w->data, status);
        free(w);
        w = next;
    }
}

static void barrier_cb(struct raft_barrier *req, int status)
{
    struct cluster *c = req->data;
    c->barrier_inflight = false;
    struct read_waiter *done = c->reads_barrier;
    c->reads_barrier = NULL;
    c->metrics.read_barriers++;
    complete_list(done, status == 0 ? 0 : WAIHU_EUNAVAILABLE);
    if (c->reads_next != NULL) {
        issue_barrier(c);
    }
}

static void issue_barrier(struct cluster *c)
{
    if (!node_is_leader(c) || !c->ready) {
        struct read_waiter *w = c->reads_next;
        c->reads_next = NULL;
        complete_list(w, WAIHU_EUNAVAILABLE);
        return;
    }
    c->reads_barrier = c->reads_next;
    c->reads_next = NULL;
    c->read_barrier.data = c;
    c->barrier_inflight = true;
    if (raft_barrier(&c->raft, &c->read_barrier, barrier_cb) != 0) {
        c->barrier_inflight = false;
        struct read_waiter *w = c->reads_barrier;
        c->reads_barrier = NULL;
        complete_list(w, WAIHU_EUNAVAILABLE);
    }
}

/* Pushes a waiter on *list; on allocation failure answers cb and returns false. */
static bool waiter_push(struct read_waiter **list, uint64_t index, cluster_read_cb cb,
                        void *data)
{
    struct read_waiter *w = calloc(1, sizeof *w);
    if (w == NULL) {
        cb(data, WAIHU_EUNAVAILABLE);
        return false;
    }
    w->cb = cb;
    w->data = data;
    w->index = index;
    w->next = *list;
    *list = w;
    return true;
}

void read_local_barrier(struct cluster *c, cluster_read_cb cb, void *data)
{
    if (waiter_push(&c->reads_next, 0, cb, data) && !c->barrier_inflight) {
        issue_barrier(c);
    }
}

void read_wait_applied(struct cluster *c, uint64_t index, cluster_read_cb cb, void *data)
{
    if (raft_last_applied(&c->raft) >= index) {
        cb(data, 0);
        return;
    }
    waiter_push(&c->reads_apply, index, cb, data);
}

void read_check_applied(struct cluster *c)
{
    uint64_t applied = raft_last_applied(&c->raft);
    struct read_waiter **p = &c->reads_apply;
    while (*p != NULL) {
        struct read_waiter *w = *p;
        if (w->index <= applied) {
            *p = w->next;
            w->cb(w->data, 0);
            free(w);
        } else {
            p = &w->next;
        }
    }
}

void read_fail_all(struct cluster *c, int status)
{
    struct read_waiter *a = c->reads_next, *b = c->reads_apply;
    c->reads_next = NULL;
    c->reads_apply = NULL;
    /* reads_barrier completes through its barrier callback */
    complete_list(a, status);
    complete_list(b, status);
}

void cluster_read_barrier(struct cluster *c, cluster_read_cb cb, void *data)
{
    if (c->fenced || c->stopping) {
        cb(data, WAIHU_EUNAVAILABLE);
        return;
    }
    if (node_is_leader(c)) {
        if (!c->ready) {
            cb(data, WAIHU_EUNAVAILABLE);
            return;
        }
        read_local_barrier(c, cb, data);
        return;
    }
    if (c->last_leader != 0 && c->ready) {
        forward_read_index(c, cb, data);
        return;
    }
    cb(data, WAIHU_EUNAVAILABLE);
}
