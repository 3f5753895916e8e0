/* Webhook delivery (docs/webhooks.md): signed JSON POSTs to URLs that users configure
 * (supervisor alerts first, CRM event webhooks later). A user-supplied URL is an SSRF
 * hazard: unless the operator allows private addresses, a delivery never connects to the
 * cluster's own networks, whatever the URL or its DNS says. The library sends one attempt
 * and decides what comes next (retry after a delay, or dead letter); the caller keeps the
 * delivery's state (attempts, dead letters), so that it can live in replicated storage. */
#ifndef WAIHU_WEBHOOK_H
#define WAIHU_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common.h"

struct sockaddr;

#define WEBHOOK_URL_MAX_BYTES 2048
#define WEBHOOK_EVENT_ID_MAX_BYTES 128
#define WEBHOOK_BODY_MAX_BYTES 1048576 /* 1 MiB */
/* Enough of a receiver's answer to explain a failure; the rest is not read. */
#define WEBHOOK_RESPONSE_MAX_BYTES 4096
#define WEBHOOK_CONNECT_TIMEOUT_MS_DEFAULT 3000
#define WEBHOOK_TIMEOUT_MS_DEFAULT 10000
#define WEBHOOK_MAX_ATTEMPTS_DEFAULT 8
#define WEBHOOK_BACKOFF_FIRST_MS 1000
#define WEBHOOK_BACKOFF_CAP_MS 300000 /* 5 min */
/* 64 hex digits of HMAC-SHA256 and a NUL. */
#define WEBHOOK_SIG_HEX_BYTES 65

/* One attempt. Borrowed for the call only: webhook_post_async copies what it points to. */
struct webhook_request {
    const char *url;      /* http(s), checked by webhook_url_check at every attempt */
    const char *event_id; /* Waihu-Event-Id: the receiver's dedup key, the same for every
                           * attempt of one event; 1..128 printable ASCII, no spaces */
    const void *body;     /* JSON, sent as is; body_len <= WEBHOOK_BODY_MAX_BYTES */
    size_t body_len;
    const void *secret; /* HMAC key of Waihu-Signature; secret_len 0 sends no signature */
    size_t secret_len;
    int64_t timestamp_s;         /* t= of the signature; 0: now (wall clock), the norm */
    uint32_t connect_timeout_ms; /* 0: WEBHOOK_CONNECT_TIMEOUT_MS_DEFAULT */
    uint32_t timeout_ms;         /* whole attempt, DNS included; 0: WEBHOOK_TIMEOUT_MS_DEFAULT */
    bool allow_private;          /* operator's --webhook-allow-private: skip the SSRF guard */
};

/* What one attempt gave. An HTTP answer of any status is err 0: the status decides. */
struct webhook_result {
    int err;     /* 0 (an answer came), WAIHU_ETIMEDOUT, WAIHU_EIO (DNS, connect, TLS, reset),
                  * WAIHU_EINVAL (bad URL or request, or address refused: permanent),
                  * WAIHU_ETOOBIG (body too large), WAIHU_ENOMEM, WAIHU_ESHUTDOWN
                  * (async job cancelled before it ran) */
    long status; /* HTTP status, 0 when no answer came */
    long retry_after_s;  /* the answer's Retry-After, 0 if none */
    uint64_t elapsed_ms; /* the whole attempt, DNS included */
    char peer[48];       /* address connected to, "" if none: for logs */
    char why[256];       /* for people, when err != 0 or status is not 2xx; never the URL's
                          * path or query, which may hold a token */
    char body[WEBHOOK_RESPONSE_MAX_BYTES + 1]; /* the answer's first bytes, NUL-terminated */
    size_t body_len;
    bool body_truncated; /* the answer was longer: the rest was not read */
};

/* What to do after an attempt. */
enum webhook_verdict {
    WEBHOOK_DELIVERED = 0,
    WEBHOOK_RETRY, /* transient: try again after a delay */
    WEBHOOK_DEAD,  /* permanent, or out of attempts: dead-letter it with the reason */
};

/* Initialises libcurl once per process (curl_global_init is not safe against other threads
 * using curl or OpenSSL): waihud calls it at start, before threads; later calls are no-ops
 * and safe from any thread. Returns 0 or WAIHU_EIO. */
WAIHU_API int webhook_global_init(void);

/* Whether url may be a webhook target: http or https, a host, no userinfo, port 1..65535,
 * at most 2048 bytes, printable ASCII. Unless allow_private, an IP literal or "localhost"
 * in a private range is refused here; host names are checked at send time, as DNS may
 * change. Returns 0, or WAIHU_EINVAL (or WAIHU_ENOMEM) with a reason for users in why
 * (may be NULL; "" on success).
 * Pure apart from libcurl's URL parser; any thread. */
WAIHU_API int webhook_url_check(const char *url, bool allow_private, char *why, size_t whylen);

/* Whether a webhook must not connect to sa: loopback, private, link-local (cloud metadata),
 * CGNAT, unspecified, multicast, reserved, their IPv6 forms and IPv4 embedded in IPv6
 * (mapped, NAT64, 6to4). Anything not AF_INET/AF_INET6 counts as private. Pure. */
WAIHU_API bool webhook_addr_private(const struct sockaddr *sa);
/* The range sa falls in, for messages ("loopback"), or NULL when it is public. Pure. */
WAIHU_API const char *webhook_addr_kind(const struct sockaddr *sa);

/* Lower-case hex HMAC-SHA256(secret, "<t>.<body>") into out_hex (NUL-terminated), the v1=
 * of Waihu-Signature. Returns 0, WAIHU_EINVAL (empty secret) or WAIHU_EIO (OpenSSL).
 * Pure; any thread. */
WAIHU_API int webhook_sign(const void *secret, size_t secret_len, int64_t t, const void *body,
                           size_t len, char out_hex[WEBHOOK_SIG_HEX_BYTES]);

/* Delay before the attempt after attempt number `attempt` (1 = the first failed): 1 s
 * doubling, capped at 5 min, times 0.8..1.2 from rand (uniform over uint32_t) so that
 * receivers back from an outage are not hit by every sender at once. Never above the cap.
 * Pure. */
WAIHU_API uint64_t webhook_backoff_ms(unsigned attempt, uint32_t rand);

/* Classifies one attempt: 2xx delivered; 408, 425, 429, 5xx and transport errors
 * (err WAIHU_ETIMEDOUT, WAIHU_EIO...) retry; any other status (3xx: redirects are not
 * followed; 4xx) and err WAIHU_EINVAL or WAIHU_ETOOBIG are dead at once. Pure. */
WAIHU_API enum webhook_verdict webhook_should_retry(long http_status, int err);

/* The step after attempt number `attempt` (1-based) of at most max_attempts (0: default 8):
 * webhook_should_retry, turned dead once attempts run out; on WEBHOOK_RETRY *delay_ms is
 * webhook_backoff_ms, raised to Retry-After (up to the cap) for 429 and 503; on
 * WEBHOOK_DEAD why (may be NULL) gets the reason to keep with the dead letter. Pure. */
WAIHU_API enum webhook_verdict webhook_next(const struct webhook_result *res, unsigned attempt,
                                            unsigned max_attempts, uint32_t rand,
                                            uint64_t *delay_ms, char *why, size_t whylen);

/* Sends one attempt and waits for it (up to r->timeout_ms): checks the URL, resolves the
 * host, refuses if any address is private (unless r->allow_private), pins the checked
 * addresses for the connection (no DNS rebinding), checks each address again right before
 * connect, POSTs with Content-Type, User-Agent, Waihu-Event-Id and Waihu-Signature, never
 * follows redirects nor uses proxies. Fills *out; returns out->err. Blocks: call it from a
 * worker thread (or use webhook_post_async), never from the core loop. The process must
 * ignore SIGPIPE (waihud does). */
WAIHU_API int webhook_post_blocking(const struct webhook_request *r, struct webhook_result *out);

/* Called on the loop thread with the attempt's result, valid during the call only. */
typedef void (*webhook_cb)(const struct webhook_result *res, void *data);

/* webhook_post_blocking in the libuv thread pool; cb(res, data) runs on loop's thread,
 * exactly once, if this returns 0. Copies r and everything it points to: the caller may
 * free them on return. Keep few in flight (each may hold a pool thread for timeout_ms;
 * libuv has 4 by default, shared with file I/O). Call on loop's thread. Returns 0,
 * WAIHU_ENOMEM, WAIHU_EINVAL (NULL argument) or WAIHU_EIO (libcurl init failed). */
WAIHU_API int webhook_post_async(uv_loop_t *loop, const struct webhook_request *r, webhook_cb cb,
                                 void *data);

#endif
