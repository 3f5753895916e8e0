/* Private to src/webhook: the parsed target shared by the URL check and the sender, and
 * the resolver seam tests use to feed chosen addresses. */
#ifndef WAIHU_WEBHOOK_INTERNAL_H
#define WAIHU_WEBHOOK_INTERNAL_H

#include <curl/curl.h>
#include <stdarg.h>

#include "webhook.h"

struct addrinfo;

/* A URL that passed the check. The sender hands u to curl (CURLOPT_CURLU), so the host it
 * checked and pins is the host curl connects to: no second parser to disagree with. */
struct webhook_target {
    CURLU *u;
    char host[WEBHOOK_URL_MAX_BYTES + 1]; /* as in the URL; IPv6 in brackets */
    char name[WEBHOOK_URL_MAX_BYTES + 1]; /* what to resolve: host without brackets */
    unsigned port;
    bool literal; /* host is an IP address: nothing to resolve or pin */
};

/* webhook_url_check that keeps the parse; on 0 free with webhook_target_free. */
int webhook_target_parse(const char *url, bool allow_private, struct webhook_target *t, char *why,
                         size_t whylen);
void webhook_target_free(struct webhook_target *t);

/* Ends every SSRF refusal: the operator, reading a log, learns the way out. */
#define WEBHOOK_ALLOW_HINT "(the operator may allow them with waihud --webhook-allow-private)"

/* snprintf into why, if any. */
void webhook_say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Numeric text of sa ("10.0.0.1", "::1") into buf; "?" if it has none. */
void webhook_addr_text(const struct sockaddr *sa, char *buf, size_t len);

/* Test-only: replace getaddrinfo/freeaddrinfo (NULL restores them). Set before any send. */
typedef int (*webhook_resolve_fn)(const char *node, const char *service,
                                  const struct addrinfo *hints, struct addrinfo **res);
typedef void (*webhook_resolve_free_fn)(struct addrinfo *res);
void webhook_resolver_set(webhook_resolve_fn resolve, webhook_resolve_free_fn release);
/* Test-only: off skips the check of resolved addresses, so that a test reaches the last
 * layer (the check at connect time) as a resolver that rebinds past the pin would. */
void webhook_check_resolved_set(bool on);

#endif
