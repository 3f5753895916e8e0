/* One blocking HTTP/1.1 JSON request over libcurl, keep-alive across calls. */
#ifndef WAIHUCTL_HTTP_H
#define WAIHUCTL_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct http_client {
    void *curl; /* CURL *, reused so connections stay open */
    char authorization[160]; /* "Authorization: Bearer ..." or "" */
};

struct http_response {
    long status;     /* 0 when no HTTP answer arrived (see errmsg) */
    bool timed_out;  /* no answer within the deadline: a write may have been applied */
    json_t *body;    /* parsed JSON body or NULL; owned */
    char *text;      /* raw body, NUL-terminated, owned (never NULL after http_request) */
    char errmsg[256];/* transport error, e.g. "Connection refused" */
};

/* Optional exactly-once identity for writes (X-Waihu-Client / X-Waihu-Seq); client 0 = none. */
struct http_write_id {
    uint64_t client;
    uint64_t seq;
};

/* Initialises libcurl globally and one handle. 0 or WAIHU_ENOMEM. Pair with http_client_close. */
int http_client_init(struct http_client *c);
void http_client_close(struct http_client *c);

/* Sends method to http://endpoint+path with body (may be NULL; serialised compactly) and waits
 * at most timeout_ms. Fills *resp (release with http_response_free even on error). Returns 0 when
 * an HTTP answer arrived (any status), WAIHU_EIO or WAIHU_ETIMEDOUT when none did, WAIHU_ENOMEM. */
int http_request(struct http_client *c, const char *endpoint, const char *method,
                 const char *path, const json_t *body, const struct http_write_id *id,
                 long timeout_ms, struct http_response *resp);

void http_response_free(struct http_response *resp);

/* Percent-encodes text for a query string; caller frees with free(). NULL on ENOMEM. */
char *http_escape(struct http_client *c, const char *text);

#endif
