/* Real deliveries to a tiny HTTP server on 127.0.0.1 run by a thread of this test: what the
 * receiver gets, retries, the SSRF refusals (proved by an empty accept queue), pinning,
 * timeouts, redirects, and the uv thread-pool path. Every wait has a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "webhook.h"
#include "webhook_internal.h"

#define MAX_CONNS 4
#define REQ_BYTES 16384
#define DEADLINE_MS 10000

static const char secret[] = "whsec_0123456789abcdef";
static const char body[] = "{\"type\":\"alert.raised\",\"alert\":{\"campaign\":7}}";

struct server {
    int fd;
    uint16_t port;
    int conns;                      /* connections to serve, then the thread ends */
    const char *answers[MAX_CONNS]; /* raw HTTP responses, one per connection */
    char req[MAX_CONNS][REQ_BYTES]; /* what each connection sent */
    size_t req_len[MAX_CONNS];
    int served;
    pthread_t thread;
};

static int listen_local(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Whether a connection waits in fd's accept queue: after a refused send it must not. */
static bool pending_connection(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static const char *find_header_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            return buf + i + 4;
        }
    }
    return NULL;
}

/* The value of a header in a request (case-insensitive name), "" if absent. */
static void header(const char *req, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    const char *end = strstr(req, "\r\n\r\n");

    out[0] = '\0';
    for (const char *p = strstr(req, "\r\n"); p != NULL && p < end; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n, *e = strstr(v, "\r\n");
            while (*v == ' ') {
                v++;
            }
            snprintf(out, outlen, "%.*s", (int)(e - v), v);
            return;
        }
    }
}

static void serve_one(struct server *s, int c)
{
    char *buf = s->req[s->served];
    size_t len = 0, want = 0;
    const char *a = s->answers[s->served];
    struct pollfd p = {.fd = c, .events = POLLIN};

    while (len < REQ_BYTES - 1 && (want == 0 || len < want)) {
        ssize_t n;
        if (poll(&p, 1, DEADLINE_MS) != 1 || (n = read(c, buf + len, REQ_BYTES - 1 - len)) <= 0) {
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
        const char *end = find_header_end(buf, len);
        if (end != NULL && want == 0) {
            char cl[32];
            header(buf, "Content-Length", cl, sizeof(cl));
            want = (size_t)(end - buf) + strtoul(cl, NULL, 10);
        }
    }
    s->req_len[s->served] = len;
    /* The client may hang up early (body cap): write errors are expected then. */
    for (size_t off = 0, total = strlen(a); off < total;) {
        ssize_t n = write(c, a + off, total - off);
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};

    while (s->served < s->conns && poll(&p, 1, DEADLINE_MS) == 1) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            break;
        }
        serve_one(s, c);
        shutdown(c, SHUT_WR);
        close(c);
        s->served++;
    }
    return NULL;
}

static struct server *server_start(int conns, ...)
{
    struct server *s = calloc(1, sizeof(*s));
    va_list ap;

    assert_non_null(s);
    s->fd = listen_local(&s->port);
    s->conns = conns;
    va_start(ap, conns);
    for (int i = 0; i < conns; i++) {
        s->answers[i] = va_arg(ap, const char *);
    }
    va_end(ap);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

/* Waits for the thread (it ends after its connections or its deadline): its writes to *s
 * are visible after the join. */
static void server_join(struct server *s) { assert_int_equal(pthread_join(s->thread, NULL), 0); }

static void server_free(struct server *s)
{
    close(s->fd);
    free(s);
}

static struct webhook_request request(const char *url)
{
    struct webhook_request r = {
        .url = url,
        .event_id = "evt_01HZX3",
        .body = body,
        .body_len = strlen(body),
        .secret = secret,
        .secret_len = strlen(secret),
        .allow_private = true,
    };
    return r;
}

/* What a receiver must check, as docs/webhooks.md tells it to. */
static void check_received(const char *req, const char *path, const char *event_id)
{
    char v[256], line[128], sig[WEBHOOK_SIG_HEX_BYTES], want[WEBHOOK_SIG_HEX_BYTES];
    long long t;
    const char *got_body = strstr(req, "\r\n\r\n");

    snprintf(line, sizeof(line), "POST %s HTTP/1.1\r\n", path);
    assert_memory_equal(req, line, strlen(line));
    header(req, "Content-Type", v, sizeof(v));
    assert_string_equal(v, "application/json");
    header(req, "User-Agent", v, sizeof(v));
    assert_string_equal(v, "waihu-webhook/1");
    header(req, "Waihu-Event-Id", v, sizeof(v));
    assert_string_equal(v, event_id);
    header(req, "Expect", v, sizeof(v));
    assert_string_equal(v, "");
    header(req, "Content-Length", v, sizeof(v));
    assert_int_equal(strtoul(v, NULL, 10), strlen(body));
    assert_non_null(got_body);
    assert_string_equal(got_body + 4, body);

    header(req, "Waihu-Signature", v, sizeof(v));
    assert_int_equal(sscanf(v, "t=%lld,v1=%64[0-9a-f]", &t, sig), 2);
    assert_int_equal(strlen(sig), 64);
    assert_true(llabs(t - (long long)time(NULL)) < 60);
    assert_int_equal(
        webhook_sign(secret, strlen(secret), t, got_body + 4, strlen(got_body + 4), want), 0);
    assert_string_equal(sig, want);
}

static void test_delivers_after_500(void **state)
{
    struct server *s = server_start(2,
                                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 9\r\n"
                                    "Connection: close\r\n\r\ntry later",
                                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                    "Connection: close\r\n\r\nok");
    char url[128];
    struct webhook_result res;
    struct webhook_request r;
    uint64_t delay;
    char why[512];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hooks/waihu?team=7", s->port);
    r = request(url);

    assert_int_equal(webhook_post_blocking(&r, &res), 0);
    assert_int_equal(res.err, 0);
    assert_int_equal(res.status, 500);
    assert_string_equal(res.body, "try later");
    assert_int_equal(res.body_len, 9);
    assert_false(res.body_truncated);
    assert_string_equal(res.peer, "127.0.0.1");
    assert_string_equal(res.why, "127.0.0.1 answered HTTP 500: try later");
    assert_int_equal(webhook_next(&res, 1, 0, 0, &delay, why, sizeof(why)), WEBHOOK_RETRY);
    assert_int_equal(delay, 800);

    assert_int_equal(webhook_post_blocking(&r, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "ok");
    assert_string_equal(res.why, "");
    assert_int_equal(webhook_next(&res, 2, 0, 0, &delay, why, sizeof(why)), WEBHOOK_DELIVERED);

    server_join(s);
    assert_int_equal(s->served, 2);
    for (int i = 0; i < 2; i++) {
        check_received(s->req[i], "/hooks/waihu?team=7", "evt_01HZX3");
        char host[64], v[64];
        snprintf(host, sizeof(host), "127.0.0.1:%u", s->port);
        header(s->req[i], "Host", v, sizeof(v));
        assert_string_equal(v, host);
    }
    server_free(s);
}

/* A resolver under the test's control: each name maps to the listed addresses. */
static const char *fake_name;
static const char *fake_addrs[4];
static int fake_calls;

static int fake_resolve(const char *node, const char *service, const struct addrinfo *hints,
                        struct addrinfo **res)
{
    struct addrinfo *head = NULL, **tail = &head;

    (void)service;
    (void)hints;
    fake_calls++;
    if (fake_name == NULL || strcmp(node, fake_name) != 0) {
        return EAI_NONAME;
    }
    for (int i = 0; i < 4 && fake_addrs[i] != NULL; i++) {
        struct {
            struct addrinfo ai;
            struct sockaddr_storage ss;
        } *one = calloc(1, sizeof(*one));
        struct sockaddr_in *v4 = (struct sockaddr_in *)&one->ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&one->ss;
        assert_non_null(one);
        if (inet_pton(AF_INET, fake_addrs[i], &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            one->ai.ai_addrlen = sizeof(*v4);
        } else {
            assert_int_equal(inet_pton(AF_INET6, fake_addrs[i], &v6->sin6_addr), 1);
            v6->sin6_family = AF_INET6;
            one->ai.ai_addrlen = sizeof(*v6);
        }
        one->ai.ai_family = one->ss.ss_family;
        one->ai.ai_socktype = SOCK_STREAM;
        one->ai.ai_addr = (struct sockaddr *)&one->ss;
        *tail = &one->ai;
        tail = &one->ai.ai_next;
    }
    *res = head;
    return 0;
}

static void fake_free(struct addrinfo *res)
{
    while (res != NULL) {
        struct addrinfo *next = res->ai_next;
        free(res); /* the addrinfo is the first member of its allocation */
        res = next;
    }
}

static void fake_set(const char *name, const char *a0, const char *a1)
{
    fake_name = name;
    fake_addrs[0] = a0;
    fake_addrs[1] = a1;
    fake_addrs[2] = NULL;
    fake_calls = 0;
    webhook_resolver_set(fake_resolve, fake_free);
}

static void expect_refused(const char *url, const char *reason)
{
    struct webhook_request r = request(url);
    struct webhook_result res;

    r.allow_private = false;
    assert_int_equal(webhook_post_blocking(&r, &res), WAIHU_EINVAL);
    assert_int_equal(res.err, WAIHU_EINVAL);
    assert_int_equal(res.status, 0);
    assert_string_equal(res.peer, "");
    if (strstr(res.why, reason) == NULL) {
        fail_msg("%s: why \"%s\", wanted \"%s\"", url, res.why, reason);
    }
    assert_non_null(strstr(res.why, "--webhook-allow-private"));
    assert_int_equal(webhook_should_retry(res.status, res.err), WEBHOOK_DEAD);
}

static void test_refuses_private_without_connecting(void **state)
{
    uint16_t port;
    int fd = listen_local(&port);
    char url[128];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", port);
    expect_refused(url, "127.0.0.1 is a non-public address (loopback)");
    snprintf(url, sizeof(url), "http://localhost:%u/hook", port);
    expect_refused(url, "localhost is this machine");
    snprintf(url, sizeof(url), "http://[::ffff:127.0.0.1]:%u/hook", port);
    expect_refused(url, "loopback");

    /* Names: every address DNS gives must be public, one bad apple is enough. */
    fake_set("hooks.test", "10.0.0.7", NULL);
    snprintf(url, sizeof(url), "http://hooks.test:%u/hook", port);
    expect_refused(url,
                   "hooks.test resolves to 10.0.0.7, a non-public address (private 10.0.0.0/8)");
    fake_set("mixed.test", "93.184.216.34", "127.0.0.1");
    snprintf(url, sizeof(url), "https://mixed.test:%u/hook", port);
    expect_refused(url, "mixed.test resolves to 127.0.0.1, a non-public address (loopback)");
    fake_set("meta.test", "fd00:ec2::254", NULL);
    snprintf(url, sizeof(url), "http://meta.test:%u/", port);
    expect_refused(url, "unique local");
    assert_int_equal(fake_calls, 1);
    webhook_resolver_set(NULL, NULL);

    assert_false(pending_connection(fd));
    close(fd);
}

/* The last layer alone: were DNS to hand curl a private address past the pin and the
 * check, the socket is still refused before connect. */
static void test_connect_guard(void **state)
{
    uint16_t port;
    int fd = listen_local(&port);
    char url[128];

    (void)state;
    fake_set("rebind.test", "127.0.0.1", NULL);
    webhook_check_resolved_set(false);
    snprintf(url, sizeof(url), "http://rebind.test:%u/hook", port);
    expect_refused(url, "refused to connect to 127.0.0.1, a non-public address (loopback)");
    webhook_check_resolved_set(true);
    webhook_resolver_set(NULL, NULL);
    assert_false(pending_connection(fd));
    close(fd);
}

/* curl connects to the address that was checked, not to what DNS may say a moment later:
 * the name is unknown to the system resolver, so only the pin can take curl there. */
static void test_pins_checked_address(void **state)
{
    struct server *s = server_start(1, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    struct webhook_result res;
    struct webhook_request r;
    char url[128], v[64], host[64];

    (void)state;
    /* Both families pinned (IPv6 in brackets); nothing listens on ::1, so 127.0.0.1 serves. */
    fake_set("pinned.test", "::1", "127.0.0.1");
    snprintf(url, sizeof(url), "http://pinned.test:%u/in", s->port);
    r = request(url);
    assert_int_equal(webhook_post_blocking(&r, &res), 0);
    assert_int_equal(res.status, 204);
    assert_string_equal(res.peer, "127.0.0.1");
    assert_int_equal(fake_calls, 1);
    webhook_resolver_set(NULL, NULL);

    server_join(s);
    check_received(s->req[0], "/in", "evt_01HZX3");
    snprintf(host, sizeof(host), "pinned.test:%u", s->port);
    header(s->req[0], "Host", v, sizeof(v));
    assert_string_equal(v, host);
    server_free(s);
}

static void test_times_out(void **state)
{
    uint16_t port;
    int fd = listen_local(&port); /* the kernel completes connects; nobody ever answers */
    struct webhook_result res;
    struct webhook_request r;
    char url[128];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", port);
    r = request(url);
    r.timeout_ms = 300;
    assert_int_equal(webhook_post_blocking(&r, &res), WAIHU_ETIMEDOUT);
    assert_int_equal(res.status, 0);
    assert_true(res.elapsed_ms >= 250);
    assert_true(res.elapsed_ms < 5000);
    assert_non_null(strstr(res.why, "127.0.0.1 port"));
    assert_int_equal(webhook_should_retry(res.status, res.err), WEBHOOK_RETRY);
    close(fd);
}

static void test_connection_refused(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0); /* bound, not listening: connects are reset */
    struct webhook_result res;
    struct webhook_request r;
    char url[128];

    (void)state;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
    r = request(url);
    assert_int_equal(webhook_post_blocking(&r, &res), WAIHU_EIO);
    assert_non_null(strstr(res.why, "127.0.0.1 port"));
    assert_int_equal(webhook_should_retry(res.status, res.err), WEBHOOK_RETRY);
    close(fd);
}

/* A redirect is an answer, not an instruction: one connection, status 302, dead. */
static void test_no_redirect_and_body_cap(void **state)
{
    static char big[200000];
    struct server *s;
    struct webhook_result res;
    struct webhook_request r;
    char url[128], answer[256];
    uint16_t port;
    int other = listen_local(&port);

    (void)state;
    snprintf(answer, sizeof(answer),
             "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%u/\r\nContent-Length: 0\r\n"
             "Connection: close\r\n\r\n",
             port);
    int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 150000);
    memset(big + n, 'x', 150000);
    s = server_start(2, answer, big);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s->port);
    r = request(url);
    assert_int_equal(webhook_post_blocking(&r, &res), 0);
    assert_int_equal(res.status, 302);
    assert_int_equal(webhook_should_retry(res.status, res.err), WEBHOOK_DEAD);
    assert_non_null(strstr(res.why, "answered HTTP 302"));

    /* Only the first 4 KiB of an answer are read. */
    assert_int_equal(webhook_post_blocking(&r, &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.body_len, WEBHOOK_RESPONSE_MAX_BYTES);
    assert_true(res.body_truncated);
    assert_int_equal(strlen(res.body), WEBHOOK_RESPONSE_MAX_BYTES);
    assert_int_equal(webhook_should_retry(res.status, res.err), WEBHOOK_DELIVERED);

    server_join(s);
    assert_int_equal(s->served, 2);
    assert_false(pending_connection(other));
    assert_false(pending_connection(s->fd));
    close(other);
    server_free(s);
}

static void test_bad_requests(void **state)
{
    uint16_t port;
    int fd = listen_local(&port);
    struct webhook_result res;
    struct webhook_request r;
    char url[128];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
    r = request(url);
    r.event_id = "evt\r\nX-Evil: 1";
    assert_int_equal(webhook_post_blocking(&r, &res), WAIHU_EINVAL);
    assert_non_null(strstr(res.why, "event id"));
    r.event_id = "";
    assert_int_equal(webhook_post_blocking(&r, &res), WAIHU_EINVAL);
    r = request(url);
    r.body_len = WEBHOOK_BODY_MAX_BYTES + 1;
    assert_int_equal(webhook_post_blocking(&r, &res), WAIHU_ETOOBIG);
    assert_int_equal(webhook_should_retry(res.status, res.err), WEBHOOK_DEAD);
    r = request("gopher://127.0.0.1/");
    assert_int_equal(webhook_post_blocking(&r, &res), WAIHU_EINVAL);
    assert_non_null(strstr(res.why, "only http"));
    assert_false(pending_connection(fd));
    close(fd);
}

/* Without a secret no signature is sent (the receiver cannot check anything). */
static void test_unsigned(void **state)
{
    struct server *s = server_start(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    struct webhook_result res;
    struct webhook_request r;
    char url[128], v[128];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s->port);
    r = request(url);
    r.secret = NULL;
    r.secret_len = 0;
    assert_int_equal(webhook_post_blocking(&r, &res), 0);
    assert_int_equal(res.status, 200);
    server_join(s);
    header(s->req[0], "Waihu-Signature", v, sizeof(v));
    assert_string_equal(v, "");
    header(s->req[0], "Waihu-Event-Id", v, sizeof(v));
    assert_string_equal(v, "evt_01HZX3");
    server_free(s);
}

struct async_seen {
    int calls;
    unsigned errs; /* bit per -err seen */
    long status;
    int err;
    uv_thread_t thread;
};

static void on_done(const struct webhook_result *res, void *data)
{
    struct async_seen *seen = data;

    seen->calls++;
    seen->status = res->status;
    seen->err = res->err;
    seen->errs |= 1u << -res->err;
    seen->thread = uv_thread_self();
}

static char *dup_str(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static void test_post_async(void **state)
{
    struct server *s = server_start(1, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    struct async_seen seen = {0};
    struct webhook_request r;
    uv_loop_t loop;
    char url[128];
    char *u, *id, *b, *k;
    uv_thread_t self = uv_thread_self();

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/async", s->port);
    /* The caller's memory is scribbled on and freed at once: the job has its own copy. */
    r = request(url);
    r.url = u = dup_str(url);
    r.event_id = id = dup_str("evt_async_1");
    r.body = b = dup_str(body);
    r.secret = k = dup_str(secret);
    assert_int_equal(webhook_post_async(&loop, &r, on_done, &seen), 0);
    memset(u, 'z', strlen(u));
    memset(b, 'z', strlen(b));
    memset(k, 'z', strlen(k));
    memset(id, 'z', strlen(id));
    free(u);
    free(id);
    free(b);
    free(k);
    memset(&r, 0, sizeof(r));

    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0); /* returns once cb ran */
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.err, 0);
    assert_int_equal(seen.status, 202);
    assert_true(uv_thread_equal(&seen.thread, &self));
    assert_int_equal(uv_loop_close(&loop), 0);

    server_join(s);
    check_received(s->req[0], "/async", "evt_async_1");
    server_free(s);

    assert_int_equal(webhook_post_async(NULL, &r, on_done, &seen), WAIHU_EINVAL);
}

/* Refusals come back through the callback like any other outcome. */
static void test_post_async_refused(void **state)
{
    struct async_seen seen = {0};
    struct webhook_request r = request("http://169.254.169.254/latest/meta-data/");
    uv_loop_t loop;

    (void)state;
    r.allow_private = false;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(webhook_post_async(&loop, &r, on_done, &seen), 0);
    r.body_len = WEBHOOK_BODY_MAX_BYTES + 1;
    r.allow_private = true;
    assert_int_equal(webhook_post_async(&loop, &r, on_done, &seen), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(seen.calls, 2);
    assert_int_equal(seen.status, 0);
    assert_int_equal(seen.errs, 1u << -WAIHU_EINVAL | 1u << -WAIHU_ETOOBIG);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivers_after_500),
        cmocka_unit_test(test_refuses_private_without_connecting),
        cmocka_unit_test(test_connect_guard),
        cmocka_unit_test(test_pins_checked_address),
        cmocka_unit_test(test_times_out),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_no_redirect_and_body_cap),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_post_async),
        cmocka_unit_test(test_post_async_refused),
    };

    signal(SIGPIPE, SIG_IGN); /* as waihud does: a receiver may hang up mid-answer */
    assert_int_equal(webhook_global_init(), 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
