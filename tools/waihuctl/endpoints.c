#include "endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int check_n(const char *addr, size_t len)
{
    const char *colon = NULL;
    size_t i, host_len, port_len;
    unsigned port = 0;

    for (i = len; i > 0; i--) {
        if (addr[i - 1] == ':') {
            colon = addr + i - 1;
            break;
        }
    }
    if (colon == NULL) {
        return WAIHU_EINVAL;
    }
    host_len = (size_t)(colon - addr);
    port_len = len - host_len - 1;
    if (host_len == 0 || port_len == 0 || port_len > 5) {
        return WAIHU_EINVAL;
    }
    if (addr[0] == '[') {
        if (host_len < 3 || addr[host_len - 1] != ']') {
            return WAIHU_EINVAL;
        }
    } else {
        for (i = 0; i < host_len; i++) {
            char c = addr[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_')) {
                return WAIHU_EINVAL;
            }
        }
    }
    for (i = 0; i < port_len; i++) {
        char c = colon[1 + i];
        if (c < '0' || c > '9') {
            return WAIHU_EINVAL;
        }
        port = port * 10 + (unsigned)(c - '0');
    }
    return port >= 1 && port <= 65535 ? 0 : WAIHU_EINVAL;
}

int endpoints_check(const char *addr)
{
    return check_n(addr, strlen(addr));
}

int endpoints_parse(const char *text, struct endpoints *out, char *errmsg, size_t errlen)
{
    const char *p = text;

    out->n = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *s = p;

        while (len > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
            len--;
        }
        if (check_n(s, len) != 0) {
            snprintf(errmsg, errlen, "bad endpoint \"%.*s\" (want host:port)", (int)len, s);
            return WAIHU_EINVAL;
        }
        if (out->n == ENDPOINTS_MAX) {
            snprintf(errmsg, errlen, "too many endpoints (max %d)", ENDPOINTS_MAX);
            return WAIHU_EINVAL;
        }
        out->items[out->n] = strndup(s, len);
        if (out->items[out->n] == NULL) {
            snprintf(errmsg, errlen, "out of memory");
            return WAIHU_ENOMEM;
        }
        out->n++;
        if (end == NULL) {
            return 0;
        }
        p = end + 1;
    }
}

void endpoints_free(struct endpoints *e)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        free(e->items[i]);
    }
    e->n = 0;
}
