/* Duplicate logins: the rule of dup.h. */
#include <string.h>

#include "dup.h"

static int held(const struct sip_holder *h, uint64_t now_ms)
{
    return h != NULL && h->host != NULL && h->host[0] != '\0' && h->until_ms > now_ms;
}

enum sip_dup_verdict sip_dup_check(const struct sip_holder *local, uint64_t local_now_ms,
                                   const struct sip_holder *away, uint64_t wall_now_ms,
                                   const char *host)
{
    if (host == NULL || host[0] == '\0') {
        return SIP_DUP_ALLOW;
    }
    if (held(away, wall_now_ms)) {
        return strcmp(away->host, host) == 0 ? SIP_DUP_ALLOW : SIP_DUP_ELSEWHERE;
    }
    if (held(local, local_now_ms) && strcmp(local->host, host) != 0) {
        return SIP_DUP_HERE;
    }
    return SIP_DUP_ALLOW;
}
