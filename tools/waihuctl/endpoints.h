/* Endpoint lists ("host:port,host:port"): parsing and validation, pure. */
#ifndef WAIHUCTL_ENDPOINTS_H
#define WAIHUCTL_ENDPOINTS_H

#include <stddef.h>

#define ENDPOINTS_DEFAULT "127.0.0.1:8001"
#define ENDPOINTS_MAX 32

struct endpoints {
    char *items[ENDPOINTS_MAX]; /* "host:port", each heap-allocated */
    size_t n;
};

/* Parses a comma-separated list of host:port (IPv6 as [addr]:port; spaces around entries are
 * ignored). Fills *out, which the caller releases with endpoints_free (also after an error).
 * Returns 0, WAIHU_EINVAL with a message naming the bad entry, or WAIHU_ENOMEM. */
int endpoints_parse(const char *text, struct endpoints *out, char *errmsg, size_t errlen);

/* Checks one "host:port"; 0 or WAIHU_EINVAL. */
int endpoints_check(const char *addr);

void endpoints_free(struct endpoints *e);

#endif
