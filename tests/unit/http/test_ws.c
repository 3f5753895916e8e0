/* Unit tests of the WebSocket side of src/http over real sockets on 127.0.0.1. The
 * clients are non-blocking sockets watched by uv_poll on the server's own loop, so one
 * thread runs everything: wait_for() turns the loop until a condition holds or a
 * deadline passes (no sleeps). The client speaks RFC 6455 by hand: the upgrade request,
 * masked frames out, unmasked frames in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "http.h"

#define MAX_MESSAGE 64
#define MAX_WS 64
#define N_BROADCAST 50
#define N_TICKS 3
#define DEADLINE_MS 10000 /* > the 5 s lws gives a close frame that cannot go out */

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

struct fixture;

struct client {
    struct fixture *f;
    int fd;
    uv_poll_t poll;
    bool polling;
    bool eof;
    size_t want;  /* cond_bytes waits for this many bytes */
    bool discard; /* drop what arrives */
    unsigned char buf[1 << 16];
    size_t len;
};

struct frame {
    int opcode;
    bool fin;
    bool masked;
    size_t len;
    char data[256]; /* the payload (cut to fit), NUL-terminated */
    int code;       /* close frames: the status code, or 0 */
};

struct fixture {
    uv_loop_t loop;
    struct http_server *server;
    int port;
    uv_timer_t deadline;
    bool timed_out;
    bool stopped;
    struct client *clients[MAX_WS + 4];
    int n_clients;

    /* What the server side saw. */
    int n_open, n_close, n_msg, n_http;
    struct http_ws *ws[MAX_WS]; /* by order of on_open, NULL after on_close */
    bool closed[MAX_WS];
    bool double_close;
    int send_in_close; /* http_ws_send from on_close */
    char path[64], query[128], token[32], client_hdr[32], method[8];
    char last_msg[128];
    bool nul_ok;
    int echo_rv;
    uv_timer_t ticker;
    int ticks;
};

/* ---- the loop and the deadline ---- */

static void on_deadline(uv_timer_t *t)
{
    ((struct fixture *)t->data)->timed_out = true;
}

typedef bool (*cond_fn)(struct fixture *f, void *arg);

static bool wait_for(struct fixture *f, cond_fn cond, void *arg)
{
    f->timed_out = false;
    uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
    while (!cond(f, arg) && !f->timed_out) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&f->deadline);
    return cond(f, arg);
}

static bool cond_closes(struct fixture *f, void *arg)
{
    return f->n_close >= *(int *)arg;
}

static bool cond_opens(struct fixture *f, void *arg)
{
    return f->n_open >= *(int *)arg;
}

static bool cond_stopped(struct fixture *f, void *arg)
{
    (void)arg;
    return f->stopped;
}

static bool cond_flag(struct fixture *f, void *arg)
{
    (void)f;
    return *(bool *)arg;
}

/* ---- the client ---- */

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct client *c = p->data;
    (void)events;
    for (;;) {
        if (c->len == sizeof c->buf) {
            return; /* the test reads frames out before more fit */
        }
        ssize_t n = status < 0 ? -1 : recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n > 0) {
            c->len = c->discard ? 0 : c->len + (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && status == 0) {
            return;
        }
        c->eof = true; /* EOF or reset */
        uv_poll_stop(p);
        c->polling = false;
        return;
    }
}

static void client_reading(struct client *c, bool on)
{
    if (on && !c->polling && !c->eof) {
        uv_poll_start(&c->poll, UV_READABLE, on_readable);
    } else if (!on && c->polling) {
        uv_poll_stop(&c->poll);
    }
    c->polling = on && !c->eof;
}

static struct client *client_connect(struct fixture *f, int port)
{
    struct client *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->f = f;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The kernel completes a loopback connect without the server's loop running. */
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK), 0);
    assert_int_equal(uv_poll_init(&f->loop, &c->poll, c->fd), 0);
    c->poll.data = c;
    client_reading(c, true);
    assert_true(f->n_clients < (int)(sizeof f->clients / sizeof f->clients[0]));
    f->clients[f->n_clients++] = c;
    return c;
}

static struct client *client_new(struct fixture *f)
{
    return client_connect(f, f->port);
}

static void free_client(uv_handle_t *h)
{
    free(h->data);
}

/* Drops the TCP connection (no close frame). */
static void client_close(struct client *c)
{
    struct fixture *f = c->f;
    for (int i = 0; i < f->n_clients; i++) {
        if (f->clients[i] == c) {
            f->clients[i] = f->clients[--f->n_clients];
            break;
        }
    }
    client_reading(c, false);
    close(c->fd);
    uv_close((uv_handle_t *)&c->poll, free_client);
}

static void client_send(struct client *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static void client_send_frame(struct client *c, bool fin, int opcode, const void *data, size_t len)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    unsigned char *out = malloc(14 + len);
    assert_non_null(out);
    size_t h = 0;
    out[h++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) {
            out[h++] = (unsigned char)((uint64_t)len >> (8 * i));
        }
    }
    memcpy(out + h, key, 4);
    h += 4;
    for (size_t i = 0; i < len; i++) {
        out[h + i] = ((const unsigned char *)data)[i] ^ key[i % 4];
    }
    client_send(c, out, h + len);
    free(out);
}

static void client_send_text(struct client *c, const char *text)
{
    client_send_frame(c, true, OP_TEXT, text, strlen(text));
}

static void client_send_close(struct client *c, int code)
{
    unsigned char b[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    client_send_frame(c, true, OP_CLOSE, b, 2);
}

/* Bytes of the first complete frame in c->buf, or 0. */
static size_t frame_size(const struct client *c, size_t *hlen, uint64_t *plen)
{
    if (c->len < 2) {
        return 0;
    }
    size_t h = 2;
    uint64_t len = c->buf[1] & 0x7f;
    if (len == 126) {
        h = 4;
        len = c->len >= h ? (uint64_t)c->buf[2] << 8 | c->buf[3] : 0;
    } else if (len == 127) {
        h = 10;
        len = 0;
        for (size_t i = 2; i < h && c->len >= h; i++) {
            len = len << 8 | c->buf[i];
        }
    }
    if (c->buf[1] & 0x80) {
        h += 4;
    }
    if (c->len < h || c->len - h < len) {
        return 0;
    }
    *hlen = h;
    *plen = len;
    return h + (size_t)len;
}

static bool cond_frame(struct fixture *f, void *arg)
{
    size_t h = 0;
    uint64_t len = 0;
    (void)f;
    return frame_size(arg, &h, &len) > 0;
}

static void consume(struct client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Waits for the next frame from the server and takes it out of the buffer. */
static void next_frame(struct client *c, struct frame *fr)
{
    size_t h = 0;
    uint64_t len = 0;
    assert_true(wait_for(c->f, cond_frame, c));
    size_t total = frame_size(c, &h, &len);
    memset(fr, 0, sizeof *fr);
    fr->fin = (c->buf[0] & 0x80) != 0;
    fr->opcode = c->buf[0] & 0x0f;
    fr->masked = (c->buf[1] & 0x80) != 0;
    fr->len = (size_t)len;
    size_t keep = fr->len < sizeof fr->data - 1 ? fr->len : sizeof fr->data - 1;
    memcpy(fr->data, c->buf + h, keep);
    fr->data[keep] = '\0';
    if (fr->opcode == OP_CLOSE && fr->len >= 2) {
        fr->code = (unsigned char)fr->data[0] << 8 | (unsigned char)fr->data[1];
    }
    consume(c, total);
}

/* The next frame that is not a pong. */
static void next_data_frame(struct client *c, struct frame *fr)
{
    do {
        next_frame(c, fr);
    } while (fr->opcode == OP_PONG);
}

static bool cond_bytes(struct fixture *f, void *arg)
{
    struct client *c = arg;
    (void)f;
    return c->len >= c->want;
}

static bool cond_eof(struct fixture *f, void *arg)
{
    (void)f;
    return ((struct client *)arg)->eof;
}

static const unsigned char *find(const unsigned char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

static bool cond_head(struct fixture *f, void *arg)
{
    struct client *c = arg;
    (void)f;
    return find(c->buf, c->len, "\r\n\r\n") != NULL || c->eof;
}

static void client_request_upgrade(struct client *c, const char *target)
{
    char req[512];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\nX-Waihu-Client: test-client\r\n\r\n",
             target);
    client_send(c, req, strlen(req));
}

/* Reads a response head into head (a body, if any, stays in the buffer); returns the
 * status or -1. */
static int client_read_head(struct client *c, char *head, size_t cap)
{
    assert_true(wait_for(c->f, cond_head, c));
    const unsigned char *end = find(c->buf, c->len, "\r\n\r\n");
    if (end == NULL) {
        return -1;
    }
    size_t n = (size_t)(end - c->buf) + 4;
    assert_true(n < cap);
    memcpy(head, c->buf, n);
    head[n] = '\0';
    consume(c, n);
    int status = -1;
    return sscanf(head, "HTTP/1.%*d %d", &status) == 1 ? status : -1;
}

static int client_upgrade(struct client *c, const char *target, char *head, size_t cap)
{
    client_request_upgrade(c, target);
    return client_read_head(c, head, cap);
}

/* A client whose upgrade on target was accepted. */
static struct client *client_open(struct fixture *f, const char *target)
{
    char head[1024];
    struct client *c = client_new(f);
    int opens = f->n_open + 1;
    assert_int_equal(client_upgrade(c, target, head, sizeof head), 101);
    /* RFC 6455 1.3: the accept key for the sample nonce. */
    assert_non_null(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_null(strstr(head, "Sec-WebSocket-Protocol"));
    assert_true(wait_for(f, cond_opens, &opens));
    return c;
}

/* Answers the server's close frame and waits for the end of the connection. */
static void client_finish_close(struct client *c, int code)
{
    client_send_close(c, code);
    assert_true(wait_for(c->f, cond_eof, c));
}

/* ---- server side ---- */

static int ws_index(struct http_ws *ws)
{
    return (int)(intptr_t)http_ws_user(ws) - 1;
}

static void on_open(void *data, struct http_ws *ws, const struct http_request *req)
{
    struct fixture *f = data;
    char buf[32];
    assert_null(http_ws_user(ws));
    assert_true(f->n_open < MAX_WS);
    int i = f->n_open++;
    f->ws[i] = ws;
    http_ws_set_user(ws, (void *)(intptr_t)(i + 1));
    snprintf(f->method, sizeof f->method, "%s", http_request_method(req));
    snprintf(f->path, sizeof f->path, "%s", http_request_path(req));
    snprintf(f->query, sizeof f->query, "%s", http_request_query(req));
    const char *token = http_request_param(req, "token", buf, sizeof buf);
    snprintf(f->token, sizeof f->token, "%s", token ? token : "-");
    const char *client = http_request_header(req, "x-waihu-client");
    snprintf(f->client_hdr, sizeof f->client_hdr, "%s", client ? client : "-");
    if (http_request_param(req, "reject", buf, sizeof buf) != NULL) {
        http_ws_close(ws, 1008, "token required");
    }
}

static void on_stopped(void *data)
{
    ((struct fixture *)data)->stopped = true;
}

static void on_stopped_flag(void *data)
{
    *(bool *)data = true;
}

static void on_message(void *data, struct http_ws *ws, const char *text, size_t len)
{
    struct fixture *f = data;
    f->n_msg++;
    f->nul_ok = text[len] == '\0';
    snprintf(f->last_msg, sizeof f->last_msg, "%.*s", (int)len, text);
    if (strcmp(text, "close-me") == 0) {
        http_ws_close(ws, 4000, "bye");
        assert_int_equal(http_ws_send(ws, "late", 4), WAIHU_ESHUTDOWN);
    } else if (strcmp(text, "stop") == 0) {
        http_server_stop(f->server, on_stopped, f);
        assert_int_equal(f->n_close, f->n_open); /* ws too, while we are in its callback */
        assert_int_equal(http_ws_send(ws, "late", 4), WAIHU_ESHUTDOWN);
    } else {
        f->echo_rv = http_ws_send(ws, text, len);
    }
}

static void on_close(void *data, struct http_ws *ws)
{
    struct fixture *f = data;
    int i = ws_index(ws);
    assert_true(i >= 0 && i < f->n_open && f->ws[i] == ws);
    if (f->closed[i]) {
        f->double_close = true;
    }
    f->closed[i] = true;
    f->ws[i] = NULL;
    f->n_close++;
    f->send_in_close = http_ws_send(ws, "x", 1);
}

static void handle(void *data, struct http_request *req)
{
    struct fixture *f = data;
    char body[128];
    f->n_http++;
    int n = snprintf(body, sizeof body, "http %s", http_request_path(req));
    http_respond(req, 200, "text/plain", body, (size_t)n);
}

static const struct http_ws_callbacks callbacks = {on_open, on_message, on_close};

static int setup(void **state)
{
    char err[256];
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL || uv_loop_init(&f->loop) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    uv_timer_init(&f->loop, &f->deadline);
    f->deadline.data = f;
    uv_timer_init(&f->loop, &f->ticker);
    f->ticker.data = f;
    if (http_server_start(&f->loop, "127.0.0.1:0", 1024, handle, f, &f->server, err) != 0 ||
        http_server_set_ws(f->server, "/v1/stream", MAX_MESSAGE, &callbacks, f) != 0) {
        return -1;
    }
    f->port = http_server_port(f->server);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rv = 0;
    if (!f->stopped) {
        http_server_stop(f->server, on_stopped, f);
        wait_for(f, cond_stopped, NULL);
    }
    while (f->n_clients > 0) {
        client_close(f->clients[0]);
    }
    uv_close((uv_handle_t *)&f->deadline, NULL);
    uv_close((uv_handle_t *)&f->ticker, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    if (!f->stopped || f->n_close != f->n_open || f->double_close || uv_loop_close(&f->loop) != 0) {
        rv = -1; /* something stayed open, or on_close did not run once per on_open */
    }
    free(f);
    return rv;
}

/* ---- tests ---- */

static void test_open_echo(void **state)
{
    struct fixture *f = *state;
    struct frame fr;
    struct client *c = client_open(f, "/v1/stream?token=a%20b&x=1");
    assert_string_equal(f->method, "GET");
    assert_string_equal(f->path, "/v1/stream");
    assert_string_equal(f->query, "token=a b&x=1");
    assert_string_equal(f->token, "a b");
    assert_string_equal(f->client_hdr, "test-client");

    client_send_text(c, "hello");
    next_frame(c, &fr);
    assert_int_equal(fr.opcode, OP_TEXT);
    assert_true(fr.fin);
    assert_false(fr.masked);
    assert_string_equal(fr.data, "hello");
    assert_string_equal(f->last_msg, "hello");
    assert_int_equal(f->echo_rv, 0);
    assert_true(f->nul_ok);

    client_send_text(c, ""); /* an empty message is a message */
    next_frame(c, &fr);
    assert_int_equal(fr.opcode, OP_TEXT);
    assert_int_equal(fr.len, 0);
    assert_int_equal(f->n_msg, 2);

    /* The client closes: lws answers the close frame, then on_close. */
    client_send_close(c, 1000);
    next_frame(c, &fr);
    assert_int_equal(fr.opcode, OP_CLOSE);
    assert_int_equal(fr.code, 1000);
    int one = 1;
    assert_true(wait_for(f, cond_closes, &one));
    assert_true(wait_for(f, cond_eof, c));
    assert_int_equal(f->send_in_close, WAIHU_ESHUTDOWN);
    assert_int_equal(f->n_close, 1);
}

static void test_fragments(void **state)
{
    struct fixture *f = *state;
    struct frame fr;
    struct client *c = client_open(f, "/v1/stream");
    client_send_frame(c, false, OP_TEXT, "hel", 3);
    client_send_frame(c, true, OP_PING, "p", 1); /* control frames may come in between */
    client_send_frame(c, false, OP_CONT, "lo ", 3);
    client_send_frame(c, true, OP_CONT, "world", 5);
    next_data_frame(c, &fr);
    assert_int_equal(fr.opcode, OP_TEXT);
    assert_string_equal(fr.data, "hello world");
    assert_int_equal(f->n_msg, 1);

    /* A frame right behind the upgrade request, in the same read of the server. */
    char head[1024];
    struct client *d = client_new(f);
    client_request_upgrade(d, "/v1/stream");
    client_send_text(d, "early");
    assert_int_equal(client_read_head(d, head, sizeof head), 101);
    next_frame(d, &fr);
    assert_string_equal(fr.data, "early");

    /* Exactly max_message bytes, in fragments, is still fine. */
    char big[MAX_MESSAGE + 1];
    memset(big, 'm', MAX_MESSAGE);
    big[MAX_MESSAGE] = '\0';
    client_send_frame(c, false, OP_TEXT, big, 40);
    client_send_frame(c, true, OP_CONT, big + 40, MAX_MESSAGE - 40);
    next_data_frame(c, &fr);
    assert_int_equal(fr.len, MAX_MESSAGE);
    assert_string_equal(fr.data, big);
}

static void expect_close(struct client *c, int code, const char *reason)
{
    struct frame fr;
    int closes = c->f->n_close + 1;
    next_data_frame(c, &fr);
    assert_int_equal(fr.opcode, OP_CLOSE);
    assert_int_equal(fr.code, code);
    if (reason != NULL) {
        assert_string_equal(fr.data + 2, reason);
    }
    client_finish_close(c, code);
    assert_true(wait_for(c->f, cond_closes, &closes));
}

static void test_binary_refused(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_open(f, "/v1/stream");
    client_send_frame(c, true, OP_BINARY, "\x01\x02", 2);
    expect_close(c, 1003, NULL);
    assert_int_equal(f->n_msg, 0);
}

static void test_bad_utf8_refused(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_open(f, "/v1/stream");
    client_send_frame(c, true, OP_TEXT, "ok\xff\xfe", 4);
    expect_close(c, 1007, NULL);
    assert_int_equal(f->n_msg, 0);
}

static void test_too_big(void **state)
{
    struct fixture *f = *state;
    char big[MAX_MESSAGE + 1];
    memset(big, 'x', sizeof big);
    struct client *c = client_open(f, "/v1/stream");
    client_send_frame(c, true, OP_TEXT, big, MAX_MESSAGE + 1);
    expect_close(c, 1009, NULL);
    /* Fragments that each fit but add up to too much. */
    struct client *d = client_open(f, "/v1/stream");
    client_send_frame(d, false, OP_TEXT, big, 40);
    client_send_frame(d, true, OP_CONT, big, 40);
    expect_close(d, 1009, NULL);
    assert_int_equal(f->n_msg, 0);
    assert_int_equal(f->n_close, 2);
}

static void test_server_close(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_open(f, "/v1/stream");
    client_send_text(c, "close-me");
    expect_close(c, 4000, "bye");
    /* Closed from on_open, as the stream does without a token. */
    struct client *d = client_open(f, "/v1/stream?reject=1");
    expect_close(d, 1008, "token required");
    assert_int_equal(f->n_close, 2);
}

static void test_client_drops(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_open(f, "/v1/stream");
    struct client *d = client_open(f, "/v1/stream");
    assert_int_equal(http_ws_send(f->ws[1], "pending", 7), 0);
    client_close(c);
    client_close(d); /* with a message queued for it */
    int two = 2;
    assert_true(wait_for(f, cond_closes, &two));
    assert_false(f->double_close);
}

static void test_refused(void **state)
{
    struct fixture *f = *state;
    char head[1024];
    struct client *c = client_new(f);
    assert_int_equal(client_upgrade(c, "/v1/other", head, sizeof head), 404);
    assert_non_null(strstr(head, "Content-Type: application/json\r\n"));
    assert_true(wait_for(f, cond_eof, c));
    assert_non_null(find(c->buf, c->len, "\"code\":\"not_found\""));

    /* An upgrade to something else than websocket is hung up on. */
    struct client *d = client_new(f);
    const char *odd = "GET /v1/stream HTTP/1.1\r\nHost: t\r\nUpgrade: foo\r\n"
                      "Connection: Upgrade\r\n\r\n";
    client_send(d, odd, strlen(odd));
    assert_true(wait_for(f, cond_eof, d));

    /* A server without http_server_set_ws refuses every upgrade. */
    char err[256];
    struct http_server *plain;
    bool plain_stopped = false;
    assert_int_equal(http_server_start(&f->loop, "127.0.0.1:0", 64, handle, f, &plain, err), 0);
    struct client *e = client_connect(f, http_server_port(plain));
    assert_int_equal(client_upgrade(e, "/v1/stream", head, sizeof head), 404);
    http_server_stop(plain, on_stopped_flag, &plain_stopped);
    assert_int_equal(f->n_open, 0);
    assert_int_equal(f->n_http, 0);
    struct http_ws_callbacks none = {NULL, NULL, NULL};
    assert_int_equal(http_server_set_ws(f->server, "/v1/stream", 10, &callbacks, f),
                     WAIHU_EINVAL); /* a path once */
    assert_int_equal(http_server_set_ws(f->server, "/v2", 10, &none, f), WAIHU_EINVAL);
    assert_true(wait_for(f, cond_flag, &plain_stopped));
    assert_true(wait_for(f, cond_eof, e));
}

/* Other paths get their own callbacks; a server takes HTTP_WS_MAX_PATHS of them. */
static int n_other_open;

static void other_open(void *data, struct http_ws *ws, const struct http_request *req)
{
    (void)data;
    (void)req;
    n_other_open++;
    http_ws_close(ws, 4001, "other");
}

static void other_message(void *data, struct http_ws *ws, const char *text, size_t len)
{
    (void)data;
    (void)ws;
    (void)text;
    (void)len;
}

static void other_close(void *data, struct http_ws *ws)
{
    (void)data;
    (void)ws;
}

static void test_more_paths(void **state)
{
    struct fixture *f = *state;
    static const struct http_ws_callbacks other = {other_open, other_message, other_close};
    char head[1024];
    n_other_open = 0;
    assert_int_equal(http_server_set_ws(f->server, "/v1/other", 10, &other, f), 0);
    assert_int_equal(http_server_set_ws(f->server, "/v1/other", 10, &other, f), WAIHU_EINVAL);
    struct client *c = client_new(f);
    assert_int_equal(client_upgrade(c, "/v1/other?x=1", head, sizeof head), 101);
    struct frame fr;
    next_data_frame(c, &fr);
    assert_int_equal(fr.opcode, OP_CLOSE);
    assert_int_equal(fr.code, 4001);
    assert_string_equal(fr.data + 2, "other");
    client_finish_close(c, 4001);
    assert_int_equal(n_other_open, 1);
    assert_int_equal(f->n_open, 0); /* the first path's callbacks saw nothing */
    struct client *d = client_open(f, "/v1/stream");
    client_send_text(d, "still echoes");
    next_frame(d, &fr);
    assert_string_equal(fr.data, "still echoes");
    assert_int_equal(http_ws_queued_bytes(f->ws[0]), 0); /* written */
    assert_int_equal(http_server_set_ws(f->server, "/v3", 10, &other, f), 0);
    assert_int_equal(http_server_set_ws(f->server, "/v4", 10, &other, f), 0);
    assert_int_equal(http_server_set_ws(f->server, "/v5", 10, &other, f), WAIHU_ETOOBIG);
    assert_int_equal(client_upgrade(client_new(f), "/v5", head, sizeof head), 404);
}

static void test_http_still_works(void **state)
{
    struct fixture *f = *state;
    char head[1024];
    struct client *c = client_new(f);
    const char *get = "GET /v1/x HTTP/1.1\r\nHost: t\r\n\r\n";
    const char *plain = "GET /v1/stream HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < 2; i++) {
        client_send(c, i == 0 ? get : plain, strlen(i == 0 ? get : plain));
        assert_true(wait_for(f, cond_head, c));
        const unsigned char *end = find(c->buf, c->len, "\r\n\r\n");
        assert_non_null(end);
        consume(c, (size_t)(end - c->buf) + 4);
        const char *want = i == 0 ? "http /v1/x" : "http /v1/stream";
        c->want = strlen(want);
        assert_true(wait_for(f, cond_bytes, c));
        assert_memory_equal(c->buf, want, strlen(want));
        consume(c, strlen(want));
    }
    assert_int_equal(f->n_http, 2);
    /* The same keep-alive connection then upgrades. */
    int opens = 1;
    assert_int_equal(client_upgrade(c, "/v1/stream?token=t", head, sizeof head), 101);
    assert_true(wait_for(f, cond_opens, &opens));
    assert_string_equal(f->token, "t");
    struct frame fr;
    client_send_text(c, "after http");
    next_frame(c, &fr);
    assert_string_equal(fr.data, "after http");
}

static void test_stop_with_open(void **state)
{
    struct fixture *f = *state;
    struct client *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = client_open(f, "/v1/stream");
    }
    assert_int_equal(http_ws_send(f->ws[0], "never sent", 10), 0);
    http_server_stop(f->server, on_stopped, f);
    assert_int_equal(f->n_close, 3); /* before stop returned */
    assert_false(f->double_close);
    for (int i = 0; i < 3; i++) {
        assert_true(wait_for(f, cond_eof, c[i]));
    }
    assert_true(wait_for(f, cond_stopped, NULL));
}

static void test_stop_in_message(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_open(f, "/v1/stream");
    struct client *d = client_open(f, "/v1/stream");
    client_send_text(c, "stop");
    assert_true(wait_for(f, cond_stopped, NULL));
    assert_int_equal(f->n_close, 2);
    assert_true(wait_for(f, cond_eof, c));
    assert_true(wait_for(f, cond_eof, d));
}

/* A timer sends to every open connection at once, as the stream's totals do. */
static void on_tick(uv_timer_t *t)
{
    struct fixture *f = t->data;
    char msg[32];
    int n = snprintf(msg, sizeof msg, "tick %d", f->ticks);
    for (int i = 0; i < f->n_open; i++) {
        if (f->ws[i] != NULL && http_ws_send(f->ws[i], msg, (size_t)n) != 0) {
            f->echo_rv = -1;
        }
    }
    if (++f->ticks == N_TICKS) {
        uv_timer_stop(t);
    }
}

static void test_broadcast_timer(void **state)
{
    struct fixture *f = *state;
    struct client *c[N_BROADCAST];
    for (int i = 0; i < N_BROADCAST; i++) {
        c[i] = client_open(f, "/v1/stream");
    }
    uv_timer_start(&f->ticker, on_tick, 5, 5);
    for (int i = 0; i < N_BROADCAST; i++) {
        for (int k = 0; k < N_TICKS; k++) {
            struct frame fr;
            char want[32];
            snprintf(want, sizeof want, "tick %d", k);
            next_frame(c[i], &fr);
            assert_int_equal(fr.opcode, OP_TEXT);
            assert_string_equal(fr.data, want);
        }
    }
    assert_int_equal(f->echo_rv, 0);
}

static void test_slow_client(void **state)
{
    struct fixture *f = *state;
    static char chunk[16384];
    memset(chunk, 's', sizeof chunk);
    struct client *c = client_open(f, "/v1/stream");
    client_reading(c, false);
    struct http_ws *ws = f->ws[0];
    /* Nothing is written before the loop runs, so the queue fills exactly. */
    size_t fit = HTTP_WS_MAX_QUEUED_BYTES / sizeof chunk;
    for (size_t i = 0; i < fit; i++) {
        assert_int_equal(http_ws_send(ws, chunk, sizeof chunk), 0);
    }
    assert_int_equal(http_ws_send(ws, chunk, sizeof chunk), WAIHU_ETOOBIG);
    assert_int_equal(http_ws_send(ws, "", 0), 0); /* an empty message still fits */
    http_ws_close(ws, 1008, "too slow");
    assert_int_equal(http_ws_send(ws, "x", 1), WAIHU_ESHUTDOWN);
    http_ws_close(ws, 1000, "twice"); /* ignored */
    client_reading(c, true);
    /* The queue was dropped: the close frame is the first thing the client gets. */
    expect_close(c, 1008, "too slow");
}

/* Fills the socket of a client that does not read until the queue stops draining, then
 * closes: the close frame cannot go out either, so lws gives up after 5 s. */
static void on_flood(uv_timer_t *t)
{
    static char chunk[16384];
    struct fixture *f = t->data;
    struct http_ws *ws = f->ws[0];
    memset(chunk, 'f', sizeof chunk);
    int rv = http_ws_send(ws, chunk, sizeof chunk);
    f->ticks = rv == WAIHU_ETOOBIG ? f->ticks + 1 : 0;
    while (rv == 0) {
        rv = http_ws_send(ws, chunk, sizeof chunk);
    }
    if (f->ticks == 50) { /* nothing drained for 50 ticks: the socket is full */
        uv_timer_stop(t);
        http_ws_close(ws, 1008, "too slow");
    }
}

static void test_stuck_client(void **state)
{
    struct fixture *f = *state;
    struct client *c = client_open(f, "/v1/stream");
    client_reading(c, false);
    uv_timer_start(&f->ticker, on_flood, 2, 2);
    int one = 1;
    assert_true(wait_for(f, cond_closes, &one));
    assert_int_equal(f->ticks, 50);
    c->discard = true;
    client_reading(c, true);
    assert_true(wait_for(f, cond_eof, c));
}

int main(void)
{
    log_setup(LOG_ERROR, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_utf8_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_still_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_in_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broadcast_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stuck_client, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
