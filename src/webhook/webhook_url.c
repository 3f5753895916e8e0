/* Which URLs may be webhook targets. libcurl parses (the same parse the sender hands to
 * curl); this file adds the rules curl is lenient about and says why in plain words. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webhook_internal.h"

void webhook_say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

void webhook_target_free(struct webhook_target *t)
{
    curl_url_cleanup(t->u);
    t->u = NULL;
}

/* "localhost" and its subdomains always mean this machine (RFC 6761), whatever DNS says. */
static bool is_localhost(const char *name)
{
    size_t n = strlen(name);

    if (n > 0 && name[n - 1] == '.') {
        n--;
    }
    if (n == 9 && strncasecmp(name, "localhost", 9) == 0) {
        return true;
    }
    return n > 10 && strncasecmp(name + n - 10, ".localhost", 10) == 0;
}

/* Fills t->literal, and sa when the name is an IP address. */
static void parse_literal(struct webhook_target *t, struct sockaddr_storage *sa)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;

    memset(sa, 0, sizeof(*sa));
    if (inet_pton(AF_INET, t->name, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        t->literal = true;
    } else if (inet_pton(AF_INET6, t->name, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        t->literal = true;
    }
}

/* The rules on what curl parsed: no userinfo, a host, a port in range. */
static int check_parts(struct webhook_target *t, char *why, size_t whylen)
{
    char *part = NULL;
    unsigned long port;
    char *end;
    size_t n;

    if (curl_url_get(t->u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(t->u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
        curl_free(part);
        webhook_say(why, whylen,
                    "the URL must not hold a user name or password (user@host): the "
                    "webhook secret authenticates deliveries");
        return WAIHU_EINVAL;
    }
    if (curl_url_get(t->u, CURLUPART_HOST, &part, 0) != CURLUE_OK || part[0] == '\0') {
        curl_free(part);
        webhook_say(why, whylen, "the URL has no host");
        return WAIHU_EINVAL;
    }
    n = strlen(part);
    memcpy(t->host, part, n + 1); /* n <= the URL's length */
    if (n >= 2 && part[0] == '[') {
        memcpy(t->name, part + 1, n - 2);
        t->name[n - 2] = '\0';
    } else {
        memcpy(t->name, part, n + 1);
    }
    curl_free(part);
    part = NULL;

    if (curl_url_get(t->u, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        webhook_say(why, whylen, "the URL has no port and its scheme no default port");
        return WAIHU_EINVAL;
    }
    port = strtoul(part, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        webhook_say(why, whylen, "the port must be between 1 and 65535, not %s", part);
        curl_free(part);
        return WAIHU_EINVAL;
    }
    curl_free(part);
    t->port = (unsigned)port;
    return 0;
}

int webhook_target_parse(const char *url, bool allow_private, struct webhook_target *t, char *why,
                         size_t whylen)
{
    struct sockaddr_storage sa;
    const char *kind;
    CURLUcode uc;
    size_t len, skip;
    int rv;

    memset(t, 0, sizeof(*t));
    if (url == NULL || url[0] == '\0') {
        webhook_say(why, whylen, "the URL is empty");
        return WAIHU_EINVAL;
    }
    len = strnlen(url, WEBHOOK_URL_MAX_BYTES + 1);
    if (len > WEBHOOK_URL_MAX_BYTES) {
        webhook_say(why, whylen, "the URL is longer than %d bytes", WEBHOOK_URL_MAX_BYTES);
        return WAIHU_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= ' ' || c >= 0x7f) {
            webhook_say(why, whylen,
                        "the URL has a space, control or non-ASCII byte at offset %zu: "
                        "percent-encode it (international host names in xn-- form)",
                        i);
            return WAIHU_EINVAL;
        }
    }
    /* Exactly "scheme://": curl also takes "http:/host" and "http:///host". */
    if (strncasecmp(url, "http://", 7) == 0) {
        skip = 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        skip = 8;
    } else {
        webhook_say(why, whylen, "only http:// and https:// URLs are allowed");
        return WAIHU_EINVAL;
    }
    if (url[skip] == '\0' || url[skip] == '/' || url[skip] == '?' || url[skip] == '#') {
        webhook_say(why, whylen, "the URL has no host");
        return WAIHU_EINVAL;
    }

    t->u = curl_url();
    if (t->u == NULL) {
        webhook_say(why, whylen, "out of memory");
        return WAIHU_ENOMEM;
    }
    uc = curl_url_set(t->u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        webhook_say(why, whylen, "malformed URL: %s", curl_url_strerror(uc));
        rv = uc == CURLUE_OUT_OF_MEMORY ? WAIHU_ENOMEM : WAIHU_EINVAL;
        goto err;
    }
    if ((rv = check_parts(t, why, whylen)) != 0) {
        goto err;
    }
    parse_literal(t, &sa);
    if (!allow_private) {
        if (t->literal && (kind = webhook_addr_kind((struct sockaddr *)&sa)) != NULL) {
            webhook_say(
                why, whylen,
                "%s is a non-public address (%s): webhooks to private and internal addresses are "
                "refused " WEBHOOK_ALLOW_HINT,
                t->name, kind);
            rv = WAIHU_EINVAL;
            goto err;
        }
        if (is_localhost(t->name)) {
            webhook_say(why, whylen,
                        "%s is this machine (loopback): webhooks to private and internal "
                        "addresses are refused " WEBHOOK_ALLOW_HINT,
                        t->name);
            rv = WAIHU_EINVAL;
            goto err;
        }
    }
    return 0;

err:
    webhook_target_free(t);
    return rv;
}

int webhook_url_check(const char *url, bool allow_private, char *why, size_t whylen)
{
    /* Two host copies of 2 KiB each: on the heap, as pool threads have small stacks. */
    struct webhook_target *t = malloc(sizeof(*t));
    int rv;

    if (t == NULL) {
        webhook_say(why, whylen, "out of memory");
        return WAIHU_ENOMEM;
    }
    rv = webhook_target_parse(url, allow_private, t, why, whylen);
    if (rv == 0) {
        webhook_target_free(t);
        webhook_say(why, whylen, "%s", "");
    }
    free(t);
    return rv;
}
