/* Membership changes and leadership transfer (leader only; raft allows one change at
 * a time). Adding a member is two changes: add as spare, then assign its role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"

struct change {
    union {
        struct raft_change change;
        struct raft_transfer transfer;
    } req;
    struct cluster *c;
    uint64_t id;
    enum cluster_role role;
    bool assign_after_add;
    cluster_change_cb cb;
    void *data;
};

int members_raft_role(enum cluster_role r)
{
    return r == CLUSTER_VOTER ? RAFT_VOTER : r == CLUSTER_STANDBY ? RAFT_STANDBY : RAFT_SPARE;
}

static void finish(struct change *ch, int rv)
{
    char msg[256];
    int status = 0;
    msg[0] = '\0';
    if (rv != 0) {
        snprintf(msg, sizeof msg, "%s", raft_strerror(rv));
        status = rv == RAFT_NOTLEADER || rv == RAFT_LEADERSHIPLOST ? WAIHU_ENOTLEADER
                 : rv == RAFT_NOTFOUND || rv == RAFT_BADID         ? WAIHU_ENOTFOUND
                 : rv == RAFT_CANTCHANGE                            ? WAIHU_ECONFLICT
                 : rv == RAFT_DUPLICATEID || rv == RAFT_DUPLICATEADDRESS ? WAIHU_ECONFLICT
                 : rv == RAFT_BADROLE || rv == RAFT_INVALID          ? WAIHU_EINVAL
                                                                     : WAIHU_EUNAVAILABLE;
    }
    ch->cb(ch->data, status, msg);
    free(ch);
}

static void change_cb(struct raft_change *req, int status)
{
    struct change *ch = req->data;
    if (status == 0 && ch->assign_after_add) {
        ch->assign_after_add = false;
        if (ch->role == CLUSTER_SPARE) {
            finish(ch, 0);
            return;
        }
        int rv = raft_assign(&ch->c->raft, &ch->req.change, ch->id, members_raft_role(ch->role),
                             change_cb);
        if (rv != 0) {
            finish(ch, rv);
        }
        return;
    }
    finish(ch, status);
}

static struct change *change_new(struct cluster *c, uint64_t id, enum cluster_role role,
                                 cluster_change_cb cb, void *data)
{
    if (c->fenced || !node_is_leader(c)) {
        cb(data, c->fenced ? WAIHU_EUNAVAILABLE : WAIHU_ENOTLEADER, "not the leader");
        return NULL;
    }
    struct change *ch = calloc(1, sizeof *ch);
    if (ch == NULL) {
        cb(data, WAIHU_ENOMEM, "out of memory");
        return NULL;
    }
    ch->c = c;
    ch->id = id;
    ch->role = role;
    ch->cb = cb;
    ch->data = data;
    ch->req.change.data = ch;
    return ch;
}

void cluster_member_add(struct cluster *c, uint64_t id, const char *raft_address,
                        enum cluster_role role, cluster_change_cb cb, void *data)
{
    struct change *ch = change_new(c, id, role, cb, data);
    if (ch == NULL) {
        return;
    }
    ch->assign_after_add = true;
    int rv = raft_add(&c->raft, &ch->req.change, id, raft_address, change_cb);
    if (rv != 0) {
        finish(ch, rv);
    }
}

void cluster_member_assign(struct cluster *c, uint64_t id, enum cluster_role role,
                           cluster_change_cb cb, void *data)
{
    struct change *ch = change_new(c, id, role, cb, data);
    if (ch == NULL) {
        return;
    }
    int rv = raft_assign(&c->raft, &ch->req.change, id, members_raft_role(role), change_cb);
    if (rv != 0) {
        finish(ch, rv);
    }
}

void cluster_member_remove(struct cluster *c, uint64_t id, cluster_change_cb cb, void *data)
{
    struct change *ch = change_new(c, id, CLUSTER_SPARE, cb, data);
    if (ch == NULL) {
        return;
    }
    int rv = raft_remove(&c->raft, &ch->req.change, id, change_cb);
    if (rv != 0) {
        finish(ch, rv);
    }
}

static void transfer_cb(struct raft_transfer *req)
{
    struct change *ch = req->data;
    raft_id leader = 0;
    const char *addr;
    raft_leader(&ch->c->raft, &leader, &addr);
    bool moved = leader != ch->c->config.self.id && (ch->id == 0 || leader == ch->id || leader == 0);
    if (!moved) {
        /* Still leader: the target was not caught up in time. Retrying is fine. */
        ch->cb(ch->data, WAIHU_EUNAVAILABLE,
               "leadership transfer did not complete (target not caught up); retry");
        free(ch);
        return;
    }
    finish(ch, 0);
}

void cluster_leader_transfer(struct cluster *c, uint64_t to, cluster_change_cb cb, void *data)
{
    struct change *ch = change_new(c, to, CLUSTER_VOTER, cb, data);
    if (ch == NULL) {
        return;
    }
    ch->req.transfer.data = ch;
    int rv = raft_transfer(&c->raft, &ch->req.transfer, to, transfer_cb);
    if (rv != 0) {
        finish(ch, rv);
    }
}
