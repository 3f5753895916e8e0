/* Who a dc-failover drill fences and who must survive, from one GET /v1/cluster. Pure. */
#ifndef WAIHUCTL_DRILL_PLAN_H
#define WAIHUCTL_DRILL_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRILL_MEMBERS_MAX 64

struct drill_member {
    uint64_t id;
    char name[64];
    char dc[64];
    char api_address[128];
    bool in_dc; /* fenced by the drill */
};

struct drill_plan {
    struct drill_member members[DRILL_MEMBERS_MAX];
    size_t n;
    size_t n_in_dc;
    uint64_t old_leader;     /* 0 when the answer knew no leader */
    bool old_leader_in_dc;
};

/* Splits cluster's members into those in dc and the survivors. Returns 0, or WAIHU_EINVAL
 * with a message ("no member in dc \"x\" (dcs: dc1, dc2)", "no member outside dc ...",
 * "member 3: bad api_address"). */
int drill_plan_make(const json_t *cluster, const char *dc, struct drill_plan *out, char *errmsg,
                    size_t errlen);

/* The member with this id, or NULL. */
const struct drill_member *drill_plan_find(const struct drill_plan *p, uint64_t id);

#endif
