/* Cluster health verdict for `cluster status`, from what each member said. Pure. */
#ifndef WAIHUCTL_HEALTH_H
#define WAIHUCTL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One member as seen by waihuctl: role from the membership list, the rest from the
 * member's own GET /v1/cluster (meaningless when !answered). Strings are borrowed. */
struct health_node {
    uint64_t id;
    const char *name;
    const char *role;   /* voter|standby|spare */
    bool answered;      /* its API answered /v1/cluster */
    bool fenced;
    const char *state;  /* follower|candidate|leader|unavailable */
    uint64_t term;
};

struct health_report {
    bool healthy;
    bool has_leader;
    size_t leader;      /* index into nodes when has_leader */
    size_t voters;
    size_t voters_up;
};

/* Leader = the answering, unfenced member saying "leader" with the highest term; a voter is
 * up when it answered, is not fenced and its state is not "unavailable". Healthy = a leader
 * and every voter up. */
void health_assess(const struct health_node *nodes, size_t n, struct health_report *out);

/* "cluster healthy: leader n1 (id 1), 3/3 voters up" or
 * "cluster DEGRADED: no leader, 2/3 voters up (down: n3)". */
void health_summary(const struct health_node *nodes, size_t n, const struct health_report *r,
                    char *buf, size_t len);

#endif
