/* Unit tests of src/http over real sockets on 127.0.0.1. The test thread runs the uv
 * loop with the server; a client thread speaks HTTP over blocking sockets, records what
 * it saw and wakes the loop (uv_async) when done. Asserts run on the test thread only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"
#include "http.h"

#define MAX_BODY 64
#define N_RESP 4

struct response {
    int status;
    char headers[2048];
    char body[4096];
    size_t body_len;
};

struct conn {
    int fd;
    char buf[16384];
    size_t len;
};

struct fixture;
typedef void (*client_fn)(struct fixture *f);

struct fixture {
    uv_loop_t loop;
    struct http_server *server;
    int port;
    uv_async_t done;
    uv_thread_t thread;
    client_fn client;

    /* Loop side. */
    int handled;
    struct http_request *held;
    uv_async_t closed; /* client -> loop: it closed the connection of the held request */
    bool saw_gone;
    bool stopped;
    bool stop_in_handler;
    uv_sem_t got_request; /* handler -> client: the held request arrived */
    uv_sem_t responded;   /* loop -> client: the held request was answered */

    /* Client side, checked after the loop ended. */
    struct response resp[N_RESP];
    int n_resp;
    bool eof[N_RESP]; /* server closed the connection after response i */
    int client_err;   /* line number of the first client-side failure */
    bool done_sent;   /* the client already woke the loop to stop the server */
};

/* ---- blocking client (runs on the client thread) ---- */

#define CHECK(f, cond)                                                                   \
    do {                                                                                 \
        if (!(cond) && (f)->client_err == 0) {                                           \
            (f)->client_err = __LINE__;                                                  \
        }                                                                                \
    } while (0)

static int client_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        s += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads more bytes into c; false on EOF, error or timeout. */
static bool fill(struct conn *c)
{
    if (c->len == sizeof c->buf) {
        return false;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0) {
        return false;
    }
    c->len += (size_t)n;
    return true;
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Reads one response (no body for HEAD); false if the connection ended first. */
static bool read_response(struct conn *c, struct response *r, bool head)
{
    memset(r, 0, sizeof *r);
    char *end;
    while (c->len < sizeof c->buf) {
        c->buf[c->len] = '\0';
        if ((end = strstr(c->buf, "\r\n\r\n")) != NULL) {
            break;
        }
        if (!fill(c)) {
            return false;
        }
    }
    if (end == NULL) {
        return false;
    }
    size_t hlen = (size_t)(end - c->buf) + 4;
    if (hlen >= sizeof r->headers) {
        return false;
    }
    memcpy(r->headers, c->buf, hlen);
    r->headers[hlen] = '\0';
    if (sscanf(r->headers, "HTTP/1.%*d %d", &r->status) != 1) {
        return false;
    }
    consume(c, hlen);
    const char *cl = strstr(r->headers, "Content-Length: ");
    size_t want = cl && !head ? strtoul(cl + 16, NULL, 10) : 0;
    if (want >= sizeof r->body) {
        return false;
    }
    while (c->len < want) {
        if (!fill(c)) {
            return false;
        }
    }
    memcpy(r->body, c->buf, want);
    r->body[want] = '\0';
    r->body_len = want;
    consume(c, want);
    return true;
}

/* True if the server closes the connection (EOF or reset) with nothing more to read. */
static bool wait_eof(struct conn *c)
{
    char b;
    return c->len == 0 && recv(c->fd, &b, 1, 0) <= 0;
}

static void record(struct fixture *f, struct conn *c, const char *request, bool head)
{
    CHECK(f, f->n_resp < N_RESP);
    if (f->n_resp >= N_RESP) {
        return;
    }
    if (request != NULL) {
        CHECK(f, send_all(c->fd, request));
    }
    CHECK(f, read_response(c, &f->resp[f->n_resp], head));
    f->n_resp++;
}

static void client_main(void *arg)
{
    struct fixture *f = arg;
    f->client(f);
    if (!f->done_sent) {
        uv_async_send(&f->done);
    }
}

/* ---- server side (runs on the loop) ---- */

static void respond_echo(struct http_request *req)
{
    char a[32], b[32], out[1024];
    size_t len;
    const char *body = http_request_body(req, &len);
    const char *pa = http_request_param(req, "a", a, sizeof a);
    const char *pb = http_request_param(req, "b", b, sizeof b);
    const char *client = http_request_header(req, "X-Waihu-Client");
    const char *seq = http_request_header(req, "X-WAIHU-SEQ");
    const char *ct = http_request_header(req, "content-type");
    const char *auth = http_request_header(req, "Authorization");
    const char *other = http_request_header(req, "X-Other-Thing");
    int n = snprintf(out, sizeof out,
                     "%s %s q=%s a=%s b=%s client=%s seq=%s ct=%s auth=%s other=%s body=%.*s",
                     http_request_method(req), http_request_path(req), http_request_query(req),
                     pa ? pa : "-", pb ? pb : "-", client ? client : "-", seq ? seq : "-",
                     ct ? ct : "-", auth ? auth : "-", other ? other : "-", (int)len, body);
    http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void free_timer(uv_handle_t *h)
{
    free(h);
}

static void on_delay(uv_timer_t *t)
{
    struct http_request *req = t->data;
    http_respond(req, 200, "text/plain", "delayed", 7);
    uv_close((uv_handle_t *)t, free_timer);
}

/* The client closed its socket: answer the held request now. */
static void on_client_closed(uv_async_t *a)
{
    struct fixture *f = a->data;
    if (f->held == NULL) {
        return;
    }
    f->saw_gone = http_request_gone(f->held);
    http_respond(f->held, 200, "text/plain", "too late", 8);
    f->held = NULL;
    uv_sem_post(&f->responded);
}

static void on_stopped(void *data);

static void handle(void *data, struct http_request *req)
{
    struct fixture *f = data;
    const char *path = http_request_path(req);
    f->handled++;
    if (strcmp(path, "/delay") == 0) {
        uv_timer_t *t = malloc(sizeof *t);
        assert_non_null(t);
        uv_timer_init(&f->loop, t);
        t->data = req;
        uv_timer_start(t, on_delay, 20, 0);
    } else if (strcmp(path, "/hold") == 0) {
        f->held = req;
        uv_sem_post(&f->got_request);
    } else if (strcmp(path, "/stop") == 0) {
        /* Answer, then stop from inside the handler: the answer is dropped. */
        http_respond(req, 200, "text/plain", "bye", 3);
        f->stop_in_handler = true;
        http_server_stop(f->server, on_stopped, f);
    } else {
        respond_echo(req);
    }
}

static void on_stopped(void *data)
{
    struct fixture *f = data;
    f->stopped = true;
    if (f->held != NULL) {
        f->saw_gone = http_request_gone(f->held);
        http_respond(f->held, 200, "text/plain", "after stop", 10);
        f->held = NULL;
    }
}

static void on_done(uv_async_t *a)
{
    struct fixture *f = a->data;
    uv_close((uv_handle_t *)a, NULL);
    uv_close((uv_handle_t *)&f->closed, NULL);
    if (!f->stop_in_handler) {
        http_server_stop(f->server, on_stopped, f);
    }
}

static void run(struct fixture *f, client_fn client)
{
    char err[256];
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(
        http_server_start(&f->loop, "127.0.0.1:0", MAX_BODY, handle, f, &f->server, err), 0);
    f->port = http_server_port(f->server);
    assert_true(f->port > 0);
    uv_sem_init(&f->got_request, 0);
    uv_sem_init(&f->responded, 0);
    uv_async_init(&f->loop, &f->done, on_done);
    f->done.data = f;
    uv_async_init(&f->loop, &f->closed, on_client_closed);
    f->closed.data = f;
    f->client = client;
    assert_int_equal(uv_thread_create(&f->thread, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_thread_join(&f->thread);
    /* Every handle (ours and lws's) is closed once uv_run returned. */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_true(f->stopped);
    assert_null(f->held);
    uv_sem_destroy(&f->got_request);
    uv_sem_destroy(&f->responded);
    if (f->client_err != 0) {
        fail_msg("client check failed at line %d", f->client_err);
    }
}

static bool has_header(const struct response *r, const char *line)
{
    return strstr(r->headers, line) != NULL;
}

/* ---- tests ---- */

static void client_get(struct fixture *f)
{
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, c.fd >= 0);
    record(f, &c,
           "GET /v1/x?a=1&b=two%20words HTTP/1.1\r\nHost: t\r\n"
           "X-Waihu-Client: cli-1\r\nx-waihu-seq: 42\r\nContent-Type: application/json\r\n"
           "Authorization: Bearer abc\r\nX-Other-Thing: zz\r\n\r\n",
           false);
    close(c.fd);
}

static void test_get(void **state)
{
    struct fixture *f = *state;
    run(f, client_get);
    assert_int_equal(f->n_resp, 1);
    assert_int_equal(f->resp[0].status, 200);
    assert_true(has_header(&f->resp[0], "Content-Type: text/plain\r\n"));
    assert_string_equal(f->resp[0].body,
                        "GET /v1/x q=a=1&b=two words a=1 b=two words client=cli-1 seq=42 "
                        "ct=application/json auth=Bearer abc other=zz body=");
    assert_int_equal(f->handled, 1);
}

static void client_put(struct fixture *f)
{
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, c.fd >= 0);
    record(f, &c,
           "PUT /v1/k HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
           "Content-Length: 17\r\n\r\n{\"v\":\"hello wo\"}\n",
           false);
    /* Body split across two writes. */
    CHECK(f, send_all(c.fd, "POST /v1/p HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234"));
    record(f, &c, "56789", false);
    record(f, &c, "DELETE /v1/k HTTP/1.1\r\nHost: t\r\n\r\n", false);
    record(f, &c, "HEAD /v1/k HTTP/1.1\r\nHost: t\r\n\r\n", true);
    close(c.fd);
}

static void test_put_body(void **state)
{
    struct fixture *f = *state;
    run(f, client_put);
    assert_int_equal(f->n_resp, 4);
    assert_int_equal(f->resp[0].status, 200);
    assert_string_equal(f->resp[0].body, "PUT /v1/k q= a=- b=- client=- seq=- "
                                         "ct=application/json auth=- other=- "
                                         "body={\"v\":\"hello wo\"}\n");
    assert_string_equal(f->resp[1].body, "POST /v1/p q= a=- b=- client=- seq=- ct=- auth=- "
                                         "other=- body=0123456789");
    assert_string_equal(f->resp[2].body,
                        "DELETE /v1/k q= a=- b=- client=- seq=- ct=- auth=- other=- body=");
    assert_int_equal(f->resp[3].status, 200);
    assert_int_equal(f->resp[3].body_len, 0);
    assert_true(has_header(&f->resp[3], "Content-Length: 62\r\n"));
}

static void client_delayed(struct fixture *f)
{
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, c.fd >= 0);
    record(f, &c, "GET /delay HTTP/1.1\r\nHost: t\r\n\r\n", false);
    close(c.fd);
}

static void test_delayed(void **state)
{
    struct fixture *f = *state;
    run(f, client_delayed);
    assert_int_equal(f->n_resp, 1);
    assert_int_equal(f->resp[0].status, 200);
    assert_string_equal(f->resp[0].body, "delayed");
}

static void client_too_large(struct fixture *f)
{
    char req[512];
    char body[101];
    memset(body, 'x', 100);
    body[100] = '\0';
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, c.fd >= 0);
    snprintf(req, sizeof req, "POST /v1/big HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n%s",
             body);
    record(f, &c, req, false);
    f->eof[0] = wait_eof(&c);
    close(c.fd);
    /* Headers only: the 413 comes without waiting for the body. */
    struct conn d = {.fd = client_connect(f->port)};
    CHECK(f, d.fd >= 0);
    record(f, &d, "PUT /v1/big HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n", false);
    close(d.fd);
}

static void test_too_large(void **state)
{
    struct fixture *f = *state;
    run(f, client_too_large);
    assert_int_equal(f->handled, 0);
    assert_int_equal(f->n_resp, 2);
    assert_int_equal(f->resp[0].status, 413);
    assert_true(has_header(&f->resp[0], "Content-Type: application/json\r\n"));
    assert_true(has_header(&f->resp[0], "Connection: close\r\n"));
    assert_string_equal(f->resp[0].body,
                        "{\"error\":{\"code\":\"too_large\",\"message\":\"request body of 100 "
                        "bytes exceeds the limit of 64\",\"field\":null}}");
    assert_true(f->eof[0]);
    assert_int_equal(f->resp[1].status, 413);
}

static void client_disconnect(struct fixture *f)
{
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, c.fd >= 0);
    CHECK(f, send_all(c.fd, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n"));
    uv_sem_wait(&f->got_request);
    close(c.fd);
    /* lws does not read a connection while its request is with the handler, so it only
     * notices the close when the response is written: answer now. */
    uv_async_send(&f->closed);
    uv_sem_wait(&f->responded);
}

static void test_client_disconnect(void **state)
{
    struct fixture *f = *state;
    run(f, client_disconnect);
    assert_int_equal(f->handled, 1);
}

static void client_keep_alive(struct fixture *f)
{
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, c.fd >= 0);
    record(f, &c, "GET /echo?a=1 HTTP/1.1\r\nHost: t\r\n\r\n", false);
    record(f, &c, "GET /echo?a=2 HTTP/1.1\r\nHost: t\r\n\r\n", false);
    /* Pipelined: the delayed answer must come first. */
    CHECK(f, send_all(c.fd, "GET /delay HTTP/1.1\r\nHost: t\r\n\r\n"
                            "GET /echo?a=3 HTTP/1.1\r\nHost: t\r\n\r\n"));
    record(f, &c, NULL, false);
    record(f, &c, NULL, false);
    close(c.fd);
}

static void test_keep_alive(void **state)
{
    struct fixture *f = *state;
    run(f, client_keep_alive);
    assert_int_equal(f->n_resp, 4);
    assert_string_equal(f->resp[0].body,
                        "GET /echo q=a=1 a=1 b=- client=- seq=- ct=- auth=- other=- body=");
    assert_string_equal(f->resp[1].body,
                        "GET /echo q=a=2 a=2 b=- client=- seq=- ct=- auth=- other=- body=");
    assert_string_equal(f->resp[2].body, "delayed");
    assert_string_equal(f->resp[3].body,
                        "GET /echo q=a=3 a=3 b=- client=- seq=- ct=- auth=- other=- body=");
    for (int i = 0; i < 4; i++) {
        assert_false(has_header(&f->resp[i], "Connection: close"));
    }
}

static void client_stop(struct fixture *f)
{
    /* An idle keep-alive connection, a request in the handler, and a body half sent. */
    struct conn a = {.fd = client_connect(f->port)};
    struct conn b = {.fd = client_connect(f->port)};
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, a.fd >= 0 && b.fd >= 0 && c.fd >= 0);
    record(f, &a, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", false);
    CHECK(f, send_all(c.fd, "PUT /v1/k HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01"));
    CHECK(f, send_all(b.fd, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n"));
    uv_sem_wait(&f->got_request);
    f->done_sent = true;
    uv_async_send(&f->done); /* stop the server now */
    f->eof[0] = wait_eof(&a);
    f->eof[1] = wait_eof(&b);
    f->eof[2] = wait_eof(&c);
    close(a.fd);
    close(b.fd);
    close(c.fd);
}

static void test_stop_frees(void **state)
{
    struct fixture *f = *state;
    run(f, client_stop);
    assert_true(f->saw_gone); /* the held request was cut loose by the stop */
    assert_true(f->eof[0] && f->eof[1] && f->eof[2]);
    assert_int_equal(f->handled, 2);
}

static void never_called(void *data, struct http_request *req)
{
    (void)data;
    http_respond(req, 500, "text/plain", "", 0);
}

static void client_stop_in_handler(struct fixture *f)
{
    struct conn c = {.fd = client_connect(f->port)};
    CHECK(f, c.fd >= 0);
    CHECK(f, send_all(c.fd, "GET /stop HTTP/1.1\r\nHost: t\r\n\r\n"));
    f->eof[0] = wait_eof(&c);
    close(c.fd);
}

static void test_stop_in_handler(void **state)
{
    struct fixture *f = *state;
    run(f, client_stop_in_handler);
    assert_true(f->stop_in_handler);
    assert_true(f->eof[0]);
}

static void on_stopped_flag(void *data)
{
    *(bool *)data = true;
}

static void test_start_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    char err[256], want[256];
    struct http_server *s, *s2;
    bool stopped = false;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(http_server_start(&loop, "127.0.0.1:0", 10, never_called, NULL, &s, err), 0);
    int port = http_server_port(s);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(http_server_start(&loop, addr, 10, never_called, NULL,
                                       &s2, err),
                     WAIHU_EIO);
    snprintf(want, sizeof want, "listen %s: address in use", addr);
    assert_string_equal(err, want);
    assert_null(s2);
    assert_int_equal(http_server_start(&loop, "localhost:80", 10,
                                       never_called, NULL, &s2, err),
                     WAIHU_EINVAL);
    assert_int_equal(http_server_start(&loop, "127.0.0.1:99999", 10,
                                       never_called, NULL, &s2, err),
                     WAIHU_EINVAL);
    http_server_stop(s, on_stopped_flag, &stopped);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(stopped);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct fixture));
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

int main(void)
{
    log_setup(LOG_WARN, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_disconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_frees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_in_handler, setup, teardown),
        cmocka_unit_test(test_start_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
