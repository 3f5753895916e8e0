/* "a.b.c.d:port" addresses, the one form every Waihu listener and peer uses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int addr_parse_ipv4(const char *address, struct sockaddr_in *out)
{
    char host[INET_ADDRSTRLEN];
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address || (size_t)(colon - address) >= sizeof host) {
        return WAIHU_EINVAL;
    }
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1) {
        return WAIHU_EINVAL;
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535) {
        return WAIHU_EINVAL;
    }
    out->sin_port = htons((uint16_t)p);
    return 0;
}
