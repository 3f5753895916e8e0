/* Which addresses a webhook must not reach: everything that is not the public Internet
 * (IANA special-purpose registries), including IPv4 hidden inside IPv6 forms that the
 * kernel or a translator would turn back into a private IPv4 destination. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "webhook_internal.h"

static const char *v4_kind(uint32_t a)
{
    static const struct {
        uint32_t net;
        unsigned bits;
        const char *kind;
    } ranges[] = {
        {0x00000000u, 8, "unspecified 0.0.0.0/8"},
        {0x0a000000u, 8, "private 10.0.0.0/8"},
        {0x64400000u, 10, "carrier-grade NAT 100.64.0.0/10"},
        {0x7f000000u, 8, "loopback"},
        {0xa9fe0000u, 16, "link-local 169.254.0.0/16, cloud metadata"},
        {0xac100000u, 12, "private 172.16.0.0/12"},
        {0xc0000000u, 24, "IETF protocol 192.0.0.0/24"},
        {0xc0a80000u, 16, "private 192.168.0.0/16"},
        {0xc6120000u, 15, "benchmarking 198.18.0.0/15"},
        {0xe0000000u, 4, "multicast"},
        {0xf0000000u, 4, "reserved 240.0.0.0/4, broadcast"},
    };

    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        uint32_t mask = 0xffffffffu << (32 - ranges[i].bits);
        if ((a & mask) == ranges[i].net) {
            return ranges[i].kind;
        }
    }
    return NULL;
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

static const char *v6_kind(const uint8_t b[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t siit[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    static const uint8_t discard[8] = {1, 0, 0, 0, 0, 0, 0, 0};

    if (all_zero(b, 15)) {
        return b[15] == 0   ? "unspecified ::"
               : b[15] == 1 ? "loopback ::1"
                            : "IPv4-compatible ::/96";
    }
    /* The kernel and NAT64 translators deliver these to the embedded IPv4 address. */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, siit, 12) == 0 || memcmp(b, nat64, 12) == 0) {
        return v4_kind(load_be32(b + 12));
    }
    if (all_zero(b, 12)) {
        return "IPv4-compatible ::/96";
    }
    if (memcmp(b, nat64_local, 6) == 0) {
        return "local-use NAT64 64:ff9b:1::/48";
    }
    if (b[0] == 0x20 && b[1] == 0x02) { /* 6to4: relays reach the IPv4 in bits 16..47 */
        return v4_kind(load_be32(b + 2));
    }
    if (memcmp(b, discard, 8) == 0) {
        return "discard-only 100::/64";
    }
    if ((b[0] & 0xfe) == 0xfc) {
        return "unique local fc00::/7";
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        return "link-local fe80::/10";
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) {
        return "site-local fec0::/10";
    }
    if (b[0] == 0xff) {
        return "multicast ff00::/8";
    }
    return NULL;
}

const char *webhook_addr_kind(const struct sockaddr *sa)
{
    if (sa == NULL) {
        return "not an IP address";
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        return v4_kind(ntohl(v4->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        return v6_kind(v6->sin6_addr.s6_addr);
    }
    return "not an IP address";
}

bool webhook_addr_private(const struct sockaddr *sa) { return webhook_addr_kind(sa) != NULL; }

void webhook_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *a = NULL;

    if (sa->sa_family == AF_INET) {
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    }
    if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL) {
        snprintf(buf, len, "?");
    }
}
