/* SIP URIs of a trunk, for the SIP engine's originate request. */
#include <stdio.h>

#include "trunk_internal.h"

static const char *transport_param(enum trunk_transport t)
{
    return t == TRUNK_TCP ? ";transport=tcp" : t == TRUNK_TLS ? ";transport=tls" : "";
}

static int dial_string_valid(const char *s)
{
    if (!s || (*s != '+' && (*s < '0' || *s > '9')))
        return 0;
    size_t n = 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return 0;
    return n >= 1 && n <= 20;
}

int trunk_request_uri(const struct trunk_set *set, uint32_t index, const char *number, char *buf,
                      size_t len)
{
    if (!set || index >= set->n || !buf || !dial_string_valid(number))
        return WAIHU_EINVAL;
    const struct trunk_entry *e = set->t[index];
    int n = snprintf(buf, len, "sip:%s@%s%s", number, e->target, transport_param(e->transport));
    return n < 0 || (size_t)n >= len ? WAIHU_ETOOBIG : 0;
}

int trunk_proxy_uri(const struct trunk_set *set, uint32_t index, char *buf, size_t len)
{
    if (!set || index >= set->n || !buf)
        return WAIHU_EINVAL;
    const struct trunk_entry *e = set->t[index];
    if (!e->proxy[0])
        return WAIHU_ENOTFOUND;
    int n = snprintf(buf, len, "sip:%s%s", e->proxy, transport_param(e->transport));
    return n < 0 || (size_t)n >= len ? WAIHU_ETOOBIG : 0;
}
