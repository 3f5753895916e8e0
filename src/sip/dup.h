/* Duplicate logins (docs/seat-api.md "Duplicate logins"): whether a REGISTER from a host
 * may take an agent's registration from whoever holds it. "The same device" is the same
 * source IP: a softphone restarted on its machine (new port) is the same device. Pure. */
#ifndef WAIHU_SIP_DUP_H
#define WAIHU_SIP_DUP_H

#include <stdint.h>

#define SIP_HOST_MAX 48 /* an IP address as text, with its NUL */
#define SIP_DUP_PHRASE "Already registered elsewhere" /* reason phrase of the 403 */

/* A registration: its source host (NULL or "": none) and when it expires. */
struct sip_holder {
    const char *host;
    uint64_t until_ms;
};

enum sip_dup_verdict {
    SIP_DUP_ALLOW = 0, /* nobody else holds it */
    SIP_DUP_HERE,      /* an unexpired binding of this node, from another host */
    SIP_DUP_ELSEWHERE, /* an unexpired registration on another node, from another host */
};

/* local: this node's binding, until_ms on the clock of local_now_ms (monotonic);
 * away: the registration on another node as the cluster's view tells it, until_ms on the
 * clock of wall_now_ms; either may be NULL. A current `away` decides alone: it is newer
 * than a local binding the agent has left (a softphone that failed over to this node
 * from its own machine is not held off by a stale binding of a third one). An unknown
 * host ("" or NULL) never conflicts. */
enum sip_dup_verdict sip_dup_check(const struct sip_holder *local, uint64_t local_now_ms,
                                   const struct sip_holder *away, uint64_t wall_now_ms,
                                   const char *host);

#endif
