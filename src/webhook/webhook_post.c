/* One delivery attempt over libcurl, blocking (a worker thread's job). The SSRF guard has
 * three layers, each closing a hole the previous one leaves: the URL check (IP literals,
 * localhost), the resolved addresses (all of them must be public, then pinned with
 * CURLOPT_RESOLVE so curl does not ask DNS again: no rebinding between check and use),
 * and the open-socket callback, which sees every address curl really connects to. */
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "webhook_internal.h"

#if LIBCURL_VERSION_NUM < 0x075500
#error "libcurl 7.85 or later is needed (CURLOPT_PROTOCOLS_STR)"
#endif

#define MAX_PINNED 16
#define ADDR_TEXT_BYTES 48

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rv = WAIHU_EIO;

static webhook_resolve_fn resolve_fn = getaddrinfo;
static webhook_resolve_free_fn resolve_free_fn = freeaddrinfo;
static bool check_resolved = true;

static void global_init(void)
{
    init_rv = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : WAIHU_EIO;
}

int webhook_global_init(void)
{
    pthread_once(&init_once, global_init);
    return init_rv;
}

void webhook_resolver_set(webhook_resolve_fn resolve, webhook_resolve_free_fn release)
{
    resolve_fn = resolve != NULL ? resolve : getaddrinfo;
    resolve_free_fn = release != NULL ? release : freeaddrinfo;
}

void webhook_check_resolved_set(bool on) { check_resolved = on; }

/* State of one attempt, shared with curl's callbacks. */
struct attempt {
    struct webhook_result *out;
    bool allow_private;
    bool refused; /* the open-socket callback refused an address; why is in out->why */
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data)
{
    struct attempt *a = data;
    struct webhook_result *out = a->out;
    size_t n = size * nmemb, room = WEBHOOK_RESPONSE_MAX_BYTES - out->body_len;

    if (n > room) {
        memcpy(out->body + out->body_len, ptr, room);
        out->body_len += room;
        out->body[out->body_len] = '\0';
        out->body_truncated = true;
        return 0; /* stop reading: the status is known, the rest only costs time */
    }
    memcpy(out->body + out->body_len, ptr, n);
    out->body_len += n;
    out->body[out->body_len] = '\0';
    return n;
}

/* The last layer: whatever resolved the name, the socket goes only to a public address. */
static curl_socket_t on_open_socket(void *data, curlsocktype purpose, struct curl_sockaddr *sa)
{
    struct attempt *a = data;
    const char *kind;
    char text[ADDR_TEXT_BYTES];
    int fd;

    (void)purpose;
    if (!a->allow_private && (kind = webhook_addr_kind(&sa->addr)) != NULL) {
        webhook_addr_text(&sa->addr, text, sizeof(text));
        webhook_say(
            a->out->why, sizeof(a->out->why),
            "refused to connect to %s, a non-public address (%s): webhooks to private and internal "
            "addresses are refused " WEBHOOK_ALLOW_HINT,
            text, kind);
        a->refused = true;
        return CURL_SOCKET_BAD;
    }
    fd = socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static bool seen(char (*pinned)[ADDR_TEXT_BYTES], size_t count, const char *text)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(pinned[i], text) == 0) {
            return true;
        }
    }
    return false;
}

/* Resolves t, checks every address, and builds the CURLOPT_RESOLVE pin "host:port:a,b". */
static int resolve_and_pin(const struct webhook_target *t, bool allow_private,
                           struct curl_slist **pin, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char list[MAX_PINNED * (ADDR_TEXT_BYTES + 3)] = "";
    char pinned[MAX_PINNED][ADDR_TEXT_BYTES], text[ADDR_TEXT_BYTES], *entry = NULL;
    struct curl_slist *s;
    const char *kind;
    size_t used = 0, count = 0, entry_len;
    int gai, rv;

    *pin = NULL;
    gai = resolve_fn(t->name, NULL, &hints, &res);
    if (gai != 0) {
        webhook_say(why, whylen, "cannot resolve %s: %s", t->name, gai_strerror(gai));
        return gai == EAI_MEMORY ? WAIHU_ENOMEM : WAIHU_EIO;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
            continue;
        }
        webhook_addr_text(ai->ai_addr, text, sizeof(text));
        if (!allow_private && check_resolved && (kind = webhook_addr_kind(ai->ai_addr)) != NULL) {
            webhook_say(
                why, whylen,
                "%s resolves to %s, a non-public address (%s): webhooks to private and internal "
                "addresses are refused " WEBHOOK_ALLOW_HINT,
                t->name, text, kind);
            rv = WAIHU_EINVAL;
            goto out;
        }
        if (count == MAX_PINNED || seen(pinned, count, text)) {
            continue; /* enough addresses to try, or a duplicate */
        }
        snprintf(pinned[count], sizeof(pinned[count]), "%s", text);
        used += (size_t)snprintf(list + used, sizeof(list) - used,
                                 ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
                                 count > 0 ? "," : "", text);
        count++;
    }
    if (count == 0) {
        webhook_say(why, whylen, "cannot resolve %s: no IPv4 or IPv6 address", t->name);
        rv = WAIHU_EIO;
        goto out;
    }
    entry_len = strlen(t->host) + used + 16;
    rv = WAIHU_ENOMEM;
    if ((entry = malloc(entry_len)) == NULL) {
        webhook_say(why, whylen, "out of memory");
        goto out;
    }
    snprintf(entry, entry_len, "%s:%u:%s", t->host, t->port, list);
    if ((s = curl_slist_append(NULL, entry)) == NULL) {
        webhook_say(why, whylen, "out of memory");
        goto out;
    }
    *pin = s;
    rv = 0;
out:
    free(entry);
    resolve_free_fn(res);
    return rv;
}

static int check_request(const struct webhook_request *r, char *why, size_t whylen)
{
    size_t n;

    if (r->event_id == NULL || r->event_id[0] == '\0') {
        webhook_say(why, whylen, "the event id is empty");
        return WAIHU_EINVAL;
    }
    n = strnlen(r->event_id, WEBHOOK_EVENT_ID_MAX_BYTES + 1);
    if (n > WEBHOOK_EVENT_ID_MAX_BYTES) {
        webhook_say(why, whylen, "the event id is longer than %d bytes",
                    WEBHOOK_EVENT_ID_MAX_BYTES);
        return WAIHU_EINVAL;
    }
    for (size_t i = 0; i < n; i++) { /* it goes into a header line */
        if (r->event_id[i] <= ' ' || r->event_id[i] >= 0x7f) {
            webhook_say(why, whylen, "the event id has a space or control byte");
            return WAIHU_EINVAL;
        }
    }
    if (r->body_len > WEBHOOK_BODY_MAX_BYTES) {
        webhook_say(why, whylen, "the body is larger than %d bytes", WEBHOOK_BODY_MAX_BYTES);
        return WAIHU_ETOOBIG;
    }
    if (r->body == NULL && r->body_len > 0) {
        webhook_say(why, whylen, "no body");
        return WAIHU_EINVAL;
    }
    return 0;
}

static int build_headers(const struct webhook_request *r, struct curl_slist **headers, char *why,
                         size_t whylen)
{
    char line[WEBHOOK_EVENT_ID_MAX_BYTES + 128], sig[WEBHOOK_SIG_HEX_BYTES];
    const char *fixed[] = {"Content-Type: application/json", "User-Agent: waihu-webhook/1",
                           "Expect:", /* no 100-continue wait for large bodies */
                           line};
    struct curl_slist *h = NULL, *next;
    int64_t t;
    int rv;

    snprintf(line, sizeof(line), "Waihu-Event-Id: %s", r->event_id);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if ((next = curl_slist_append(h, fixed[i])) == NULL) {
            goto nomem;
        }
        h = next;
    }
    if (r->secret_len > 0) {
        t = r->timestamp_s != 0 ? r->timestamp_s : clock_wall_ms() / 1000;
        rv = webhook_sign(r->secret, r->secret_len, t, r->body, r->body_len, sig);
        if (rv != 0) {
            webhook_say(why, whylen, "cannot sign the body: %s", waihu_strerror(rv));
            curl_slist_free_all(h);
            return rv;
        }
        snprintf(line, sizeof(line), "Waihu-Signature: t=%" PRId64 ",v1=%s", t, sig);
        if ((next = curl_slist_append(h, line)) == NULL) {
            goto nomem;
        }
        h = next;
    }
    *headers = h;
    return 0;
nomem:
    curl_slist_free_all(h);
    webhook_say(why, whylen, "out of memory");
    return WAIHU_ENOMEM;
}

/* Printable text of the answer's first bytes, for reasons kept with dead letters. */
static void snippet(const struct webhook_result *out, char *buf, size_t len)
{
    size_t n = out->body_len < len - 1 ? out->body_len : len - 1;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out->body[i];
        buf[i] = (char)(c < ' ' || c >= 0x7f ? ' ' : c);
    }
    buf[n] = '\0';
}

static int translate(CURLcode cc, const struct attempt *a, const struct webhook_target *t,
                     const char *errbuf)
{
    struct webhook_result *out = a->out;
    char text[160];

    if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && out->body_truncated)) {
        if (out->status < 200 || out->status > 299) {
            snippet(out, text, sizeof(text));
            webhook_say(out->why, sizeof(out->why), "%s answered HTTP %ld%s%s%s", t->host,
                        out->status,
                        out->status >= 300 && out->status <= 399
                            ? " (redirects are not followed: configure the final URL)"
                            : "",
                        text[0] != '\0' ? ": " : "", text);
        }
        return 0;
    }
    if (a->refused) {
        return WAIHU_EINVAL; /* why set by on_open_socket */
    }
    webhook_say(out->why, sizeof(out->why), "%s port %u: %s", t->host, t->port,
                errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return WAIHU_ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY:
        return WAIHU_ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return WAIHU_EINVAL;
    default:
        return WAIHU_EIO; /* resolve, connect, TLS, reset: may work next time */
    }
}

/* Sets up curl for one attempt: nothing here may follow the URL elsewhere. */
static CURLcode configure(CURL *c, const struct webhook_request *r, const struct webhook_target *t,
                          struct curl_slist *headers, struct curl_slist *pin, long connect_ms,
                          long total_ms, struct attempt *a, char *errbuf)
{
    CURLcode cc = CURLE_OK;

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK) {                                                                      \
            cc = curl_easy_setopt(c, opt, val);                                                    \
        }                                                                                          \
    } while (0)
    SET(CURLOPT_CURLU, t->u);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROXY, ""); /* ignore http_proxy & co: a proxy would resolve the host itself */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_TIMEOUT_MS, total_ms);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, r->body_len > 0 ? (const char *)r->body : "");
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_RESOLVE, pin);
    SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SET(CURLOPT_OPENSOCKETDATA, a);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, a);
    SET(CURLOPT_ERRORBUFFER, errbuf);
#undef SET
    return cc;
}

int webhook_post_blocking(const struct webhook_request *r, struct webhook_result *out)
{
    struct attempt a = {.out = out, .allow_private = r->allow_private};
    struct webhook_target *t = NULL;
    struct curl_slist *headers = NULL, *pin = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    uint64_t start = clock_now_ms(), spent;
    long connect_ms, total_ms;
    curl_off_t retry_after = 0;
    char *ip = NULL;
    CURL *c = NULL;
    CURLcode cc;
    int rv;

    memset(out, 0, sizeof(*out));
    if ((rv = webhook_global_init()) != 0) {
        webhook_say(out->why, sizeof(out->why), "libcurl failed to initialise");
        goto out;
    }
    if ((rv = check_request(r, out->why, sizeof(out->why))) != 0) {
        goto out;
    }
    if ((t = malloc(sizeof(*t))) == NULL) {
        rv = WAIHU_ENOMEM;
        webhook_say(out->why, sizeof(out->why), "out of memory");
        goto out;
    }
    if ((rv = webhook_target_parse(r->url, r->allow_private, t, out->why, sizeof(out->why))) != 0) {
        free(t);
        t = NULL;
        goto out;
    }
    if (!t->literal &&
        (rv = resolve_and_pin(t, r->allow_private, &pin, out->why, sizeof(out->why))) != 0) {
        goto out;
    }
    total_ms = r->timeout_ms != 0 ? (long)r->timeout_ms : WEBHOOK_TIMEOUT_MS_DEFAULT;
    connect_ms = r->connect_timeout_ms != 0 ? (long)r->connect_timeout_ms
                                            : WEBHOOK_CONNECT_TIMEOUT_MS_DEFAULT;
    spent = clock_now_ms() - start;
    if (spent >= (uint64_t)total_ms) {
        rv = WAIHU_ETIMEDOUT;
        webhook_say(out->why, sizeof(out->why), "resolving %s took %" PRIu64 " ms", t->name, spent);
        goto out;
    }
    total_ms -= (long)spent;
    if ((rv = build_headers(r, &headers, out->why, sizeof(out->why))) != 0) {
        goto out;
    }
    if ((c = curl_easy_init()) == NULL) {
        rv = WAIHU_ENOMEM;
        webhook_say(out->why, sizeof(out->why), "out of memory");
        goto out;
    }
    cc = configure(c, r, t, headers, pin, connect_ms < total_ms ? connect_ms : total_ms, total_ms,
                   &a, errbuf);
    if (cc != CURLE_OK) {
        rv = cc == CURLE_OUT_OF_MEMORY ? WAIHU_ENOMEM : WAIHU_EIO;
        webhook_say(out->why, sizeof(out->why), "libcurl: %s", curl_easy_strerror(cc));
        goto out;
    }
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
        out->retry_after_s = retry_after > 86400 ? 86400 : (long)retry_after;
    }
    if (curl_easy_getinfo(c, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL) {
        snprintf(out->peer, sizeof(out->peer), "%s", ip);
    }
    rv = translate(cc, &a, t, errbuf);

out:
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    curl_slist_free_all(pin);
    if (t != NULL) {
        webhook_target_free(t);
        free(t);
    }
    out->elapsed_ms = clock_now_ms() - start;
    out->err = rv;
    return rv;
}
