/* The HTTP/1.1 server: libwebsockets on the caller's libuv loop (foreign loop), one
 * protocol whose callback turns lws events into http_request objects, or hands them to
 * ws.c once a connection upgraded to WebSocket. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "http_internal.h"

#define MOD "http"

/* A libuv handle lws created, remembered to see when lws has closed it. */
struct lws_handle {
    uv_handle_t *h;
    uv_handle_type type;
    void *data;
};

struct http_server {
    uv_loop_t *loop;
    void *foreign_loops[1];
    struct lws_context *ctx; /* lws writes NULL here once it finished destroying */
    /* One protocol for both: lws binds HTTP requests to protocols[0] and an upgrade
     * without Sec-WebSocket-Protocol to the vhost's default protocol, also [0]. */
    struct lws_protocols protocols[2];
    char host[INET_ADDRSTRLEN];
    int port;
    size_t max_body_bytes;
    http_handler_fn handler;
    void *data;
    struct ws_endpoint ws[HTTP_WS_MAX_PATHS]; /* WebSocket paths, free slots NULL */
    struct http_request *live; /* requests attached to a connection */
    bool stopping;
    bool destroying;
    struct http_request *in_handler; /* request whose handler is running right now */
    bool answered_in_handler;        /* ... and it called http_respond() */
    uv_timer_t stop_timer;
    struct lws_handle lws_handles[8]; /* what lws put on the loop at start */
    size_t n_lws_handles;
    bool lws_handles_found;
    void (*stop_cb)(void *data);
    void *stop_data;
};

static void live_add(struct http_server *s, struct http_request *req)
{
    req->server = s;
    req->prev = NULL;
    req->next = s->live;
    if (s->live != NULL) {
        s->live->prev = req;
    }
    s->live = req;
}

/* Cuts req loose from its connection and server. A request the handler owns stays
 * allocated for http_respond; one the server owns is freed. */
static void detach(struct http_request *req)
{
    struct http_server *s = req->server;
    if (s != NULL) {
        if (s->in_handler == req) {
            s->in_handler = NULL;
            s->answered_in_handler = false;
        }
        if (req->prev != NULL) {
            req->prev->next = req->next;
        } else {
            s->live = req->next;
        }
        if (req->next != NULL) {
            req->next->prev = req->prev;
        }
    }
    if (req->conn != NULL) {
        req->conn->req = NULL;
    }
    req->server = NULL;
    req->wsi = NULL;
    req->conn = NULL;
    req->prev = req->next = NULL;
    if (req->state != REQ_HANDLER) {
        request_free(req);
    }
}

/* The server answers by itself (413, 411, 500) and closes the connection afterwards,
 * since the unread body would otherwise be parsed as the next request. */
static int reject(struct http_request *req, int status, const char *code, const char *message)
{
    char body[256];
    int n = snprintf(body, sizeof body,
                     "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"field\":null}}", code,
                     message);
    req->state = REQ_REJECTED;
    req->close_after = true;
    if (request_format(req, status, "application/json", body, (size_t)n) != 0) {
        return -1;
    }
    lws_callback_on_writable(req->wsi);
    return 0;
}

static int write_response(struct lws *wsi, struct http_request *req);

/* Runs the handler. A response given before it returns is written at once, inside this
 * lws callback, which saves a POLLOUT round trip (two epoll_ctl calls) per request. */
static int dispatch(struct http_server *s, struct http_request *req)
{
    struct lws *wsi = req->wsi;
    req->state = REQ_HANDLER;
    s->in_handler = req;
    s->handler(s->data, req);
    s->in_handler = NULL;
    if (s->answered_in_handler) {
        s->answered_in_handler = false;
        return write_response(wsi, req);
    }
    return 0;
}

static int on_http(struct http_server *s, struct lws *wsi, struct http_conn *conn,
                   const char *path)
{
    if (s->stopping || conn == NULL) {
        return -1;
    }
    if (conn->req != NULL) {
        /* lws gave us a new request before the previous one was answered. */
        LOG_E(MOD, "request on a busy connection");
        return -1;
    }
    struct http_request *req = request_new(wsi, path);
    if (req == NULL) {
        LOG_E(MOD, "%s: out of memory", path);
        return -1;
    }
    req->conn = conn;
    conn->req = req;
    live_add(s, req);
    req->state = REQ_BODY;

    const char *te = http_request_header(req, "transfer-encoding");
    const char *cl = http_request_header(req, "content-length");
    if (te != NULL) {
        return reject(req, 411, "length_required",
                      "request bodies need Content-Length (no chunked encoding)");
    }
    if (cl != NULL) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || *end != '\0' || cl[0] == '-') {
            return reject(req, 400, "bad_request", "invalid Content-Length");
        }
        if (v > s->max_body_bytes) {
            char msg[96];
            snprintf(msg, sizeof msg, "request body of %llu bytes exceeds the limit of %zu", v,
                     s->max_body_bytes);
            return reject(req, 413, "too_large", msg);
        }
        req->content_length = (size_t)v;
    }
    if (req->content_length == 0) {
        req->body_done = true;
        return dispatch(s, req);
    }
    char *body = realloc(req->body, req->content_length + 1);
    if (body == NULL) {
        return reject(req, 500, "internal", "out of memory");
    }
    req->body = body;
    return 0;
}

static int on_body(struct http_conn *conn, const void *in, size_t len)
{
    struct http_request *req = conn ? conn->req : NULL;
    if (req == NULL || req->state != REQ_BODY) {
        return 0; /* a rejected request's body is drained and dropped */
    }
    if (len > req->content_length - req->body_len) {
        return -1; /* lws must stop at Content-Length; never overflow */
    }
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return 0;
}

static int on_body_done(struct http_server *s, struct http_conn *conn)
{
    struct http_request *req = conn ? conn->req : NULL;
    if (req == NULL) {
        return 0;
    }
    req->body_done = true;
    if (req->state == REQ_REJECTED && req->out == NULL) {
        return -1; /* the rejection was written: close now that the body is drained */
    }
    if (req->state == REQ_BODY) {
        return dispatch(s, req);
    }
    return 0;
}

static int on_writeable(struct lws *wsi, struct http_conn *conn)
{
    struct http_request *req = conn ? conn->req : NULL;
    if (req == NULL || req->out == NULL) {
        return 0;
    }
    return write_response(wsi, req);
}

/* Writes req->out; lws keeps what the socket did not take and sends it later. */
static int write_response(struct lws *wsi, struct http_request *req)
{
    int n = lws_write(wsi, req->out + LWS_PRE, req->out_len, LWS_WRITE_HTTP);
    free(req->out);
    req->out = NULL;
    if (n < 0) {
        return -1;
    }
    if (req->state == REQ_REJECTED) {
        /* Close at once if the body is in, else once it drained (on_body_done). */
        if (req->body_done) {
            return -1;
        }
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, 10);
        return 0;
    }
    bool keep = req->keep_alive && !req->close_after;
    detach(req); /* frees it: the state is REQ_RESPONDED */
    if (!keep) {
        return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct http_conn *conn = user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct http_server *s = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(s, wsi, conn, in);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(conn, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return on_body_done(s, conn);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(wsi, conn);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (conn != NULL && conn->req != NULL) {
            detach(conn->req);
        }
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return s->stopping ? -1 : ws_confirm_upgrade(s->ws, HTTP_WS_MAX_PATHS, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return s->stopping ? -1 : ws_on_established(s->ws, HTTP_WS_MAX_PATHS, wsi, conn);
    case LWS_CALLBACK_RECEIVE:
        return ws_on_receive(wsi, conn, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_on_writeable(wsi, conn);
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY: /* in case a close path skipped CLOSED */
        ws_on_closed(conn);
        return 0;
    default:
        return 0;
    }
}

static void lws_log(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        n--;
    }
    LOG_E(MOD, "lws: %.*s", (int)n, line);
}

/* Splits "a.b.c.d:port" (IPv4 literal); returns 0 or WAIHU_EINVAL. */
static int parse_address(const char *address, char *host, int *port)
{
    struct sockaddr_in sa;
    if (addr_parse_ipv4(address, &sa) != 0) {
        return WAIHU_EINVAL;
    }
    inet_ntop(AF_INET, &sa.sin_addr, host, INET_ADDRSTRLEN);
    *port = ntohs(sa.sin_port);
    return 0;
}

/* lws reports a failed listen without errno: try the bind ourselves to say why. */
static int probe_listen(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int err = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1) != 0) {
        err = errno;
    }
    close(fd);
    return err;
}

static const char *listen_error(int err)
{
    switch (err) {
    case EADDRINUSE: return "address in use";
    case EADDRNOTAVAIL: return "address not available";
    case EACCES: return "permission denied";
    case 0: return "failed";
    default: return strerror(err);
    }
}

/* lws 4.1 on a foreign loop never finishes destroying the context by itself: it closes
 * its handles and expects lws_context_destroy() to be called again once they are gone
 * (as its minimal-http-server-eventlib-foreign example does after uv_run returns). We
 * cannot let the shared loop end for that, so we remember the handles context creation
 * added and poll until they have left the loop. */
struct handle_set {
    uv_handle_t *h[64];
    size_t n;
    bool overflow;
};

static void collect_handle(uv_handle_t *h, void *arg)
{
    struct handle_set *set = arg;
    if (set->n < sizeof set->h / sizeof set->h[0]) {
        set->h[set->n++] = h;
    } else {
        set->overflow = true;
    }
}

static bool handle_in(const struct handle_set *set, const uv_handle_t *h)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->h[i] == h) {
            return true;
        }
    }
    return false;
}

struct record_ctx {
    struct http_server *s;
    const struct handle_set *before;
};

static void record_one(uv_handle_t *h, void *arg)
{
    struct record_ctx *rc = arg;
    struct http_server *s = rc->s;
    if (h == (uv_handle_t *)&s->stop_timer || handle_in(rc->before, h)) {
        return;
    }
    if (s->n_lws_handles < sizeof s->lws_handles / sizeof s->lws_handles[0]) {
        s->lws_handles[s->n_lws_handles++] = (struct lws_handle){h, h->type, h->data};
    }
}

static void record_lws_handles(struct http_server *s, const struct handle_set *before)
{
    struct record_ctx rc = {s, before};
    if (!before->overflow) {
        uv_walk(s->loop, record_one, &rc);
    }
}

static void find_lws_handle(uv_handle_t *h, void *arg)
{
    struct http_server *s = arg;
    for (size_t i = 0; i < s->n_lws_handles; i++) {
        const struct lws_handle *r = &s->lws_handles[i];
        if (r->h == h && r->type == h->type && r->data == h->data) {
            s->lws_handles_found = true;
        }
    }
}

static bool lws_handles_left(struct http_server *s)
{
    s->lws_handles_found = false;
    uv_walk(s->loop, find_lws_handle, s);
    return s->lws_handles_found;
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

int http_server_start(uv_loop_t *loop, const char *address, size_t max_body_bytes,
                      http_handler_fn handler, void *data, struct http_server **out,
                      char *errmsg)
{
    struct http_server *s = NULL;
    int rv;
    char host[INET_ADDRSTRLEN];
    int port;

    *out = NULL;
    if (loop == NULL || address == NULL || handler == NULL ||
        parse_address(address, host, &port) != 0) {
        snprintf(errmsg, 256, "listen %s: want an IPv4 host:port", address ? address : "(null)");
        return WAIHU_EINVAL;
    }
    int err = port != 0 ? probe_listen(host, port) : 0;
    if (err != 0) {
        snprintf(errmsg, 256, "listen %s: %s", address, listen_error(err));
        return WAIHU_EIO;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(errmsg, 256, "listen %s: out of memory", address);
        return WAIHU_ENOMEM;
    }
    s->loop = loop;
    s->foreign_loops[0] = loop;
    s->max_body_bytes = max_body_bytes;
    s->handler = handler;
    s->data = data;
    memcpy(s->host, host, sizeof host);
    s->protocols[0] = (struct lws_protocols){
        .name = "waihu-http",
        .callback = callback,
        .per_session_data_size = sizeof(struct http_conn),
    };
    uv_timer_init(loop, &s->stop_timer);
    s->stop_timer.data = s;

    lws_set_log_level(LLL_ERR, lws_log);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = s->foreign_loops;
    info.pcontext = &s->ctx;
    info.protocols = s->protocols;
    info.iface = host;
    info.port = port;
    info.user = s;
    info.count_threads = 1;
    info.fd_limit_per_thread = 16384;
    info.keepalive_timeout = 60;
    info.timeout_secs = 60;
    info.max_http_header_data = 8192;

    struct handle_set before = {.n = 0};
    uv_walk(loop, collect_handle, &before);
    s->ctx = lws_create_context(&info);
    if (s->ctx == NULL) {
        err = port != 0 ? probe_listen(host, port) : 0;
        snprintf(errmsg, 256, "listen %s: %s", address, listen_error(err));
        rv = WAIHU_EIO;
        goto err;
    }
    record_lws_handles(s, &before);
    struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "default");
    s->port = vh != NULL ? lws_get_vhost_listen_port(vh) : port;
    *out = s;
    return 0;
err:
    uv_close((uv_handle_t *)&s->stop_timer, free_on_close);
    return rv;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

static void on_stop_closed(uv_handle_t *h)
{
    struct http_server *s = h->data;
    if (s->stop_cb != NULL) {
        s->stop_cb(s->stop_data);
    }
    free(s);
}

/* Destroys the lws context in two steps: lws_context_destroy() closes every connection
 * and lws handle; the second call, once those handles left the loop, frees the rest. */
static void on_stop_timer(uv_timer_t *t)
{
    struct http_server *s = t->data;
    if (!s->destroying) {
        s->destroying = true;
        lws_context_destroy(s->ctx);
        if (s->ctx != NULL) {
            uv_timer_start(t, on_stop_timer, 1, 1);
            return;
        }
    }
    if (s->ctx != NULL) {
        if (lws_handles_left(s)) {
            return;
        }
        lws_context_destroy(s->ctx);
        if (s->ctx != NULL) {
            LOG_E(MOD, "lws context not freed after its handles closed");
            s->ctx = NULL;
        }
    }
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, on_stop_closed);
}

void http_server_stop(struct http_server *s, void (*cb)(void *data), void *data)
{
    if (s == NULL || s->stopping) {
        return;
    }
    s->stopping = true;
    s->stop_cb = cb;
    s->stop_data = data;
    while (s->live != NULL) {
        detach(s->live);
    }
    for (size_t i = 0; i < HTTP_WS_MAX_PATHS; i++) {
        ws_endpoint_stop(&s->ws[i]);
    }
    /* Destroy from a fresh loop callback: stop may be called from inside an lws
     * callback (a handler), where lws must not be torn down. */
    uv_timer_start(&s->stop_timer, on_stop_timer, 0, 0);
}

int http_server_set_ws(struct http_server *s, const char *path, size_t max_message,
                       const struct http_ws_callbacks *cb, void *data)
{
    if (s->stopping) {
        return WAIHU_EINVAL;
    }
    struct ws_endpoint *free_slot = NULL;
    for (size_t i = 0; i < HTTP_WS_MAX_PATHS; i++) {
        if (s->ws[i].path == NULL) {
            free_slot = free_slot ? free_slot : &s->ws[i];
        } else if (path != NULL && strcmp(s->ws[i].path, path) == 0) {
            return WAIHU_EINVAL;
        }
    }
    if (free_slot == NULL) {
        return WAIHU_ETOOBIG;
    }
    return ws_endpoint_set(free_slot, path, max_message, cb, data);
}

void http_respond(struct http_request *req, int status, const char *content_type,
                  const char *body, size_t len)
{
    http_respond_headers(req, status, content_type, NULL, body, len);
}

void http_respond_headers(struct http_request *req, int status, const char *content_type,
                          const char *headers, const char *body, size_t len)
{
    if (req->wsi == NULL || req->state != REQ_HANDLER) {
        request_free(req);
        return;
    }
    req->state = REQ_RESPONDED;
    if (!request_headers_valid(headers)) {
        LOG_E(MOD, "%s %s: malformed extra headers refused", req->method, req->path);
    }
    if (request_format_headers(req, status, content_type, headers, body, len) != 0) {
        LOG_E(MOD, "%s %s: out of memory for the response", req->method, req->path);
        struct lws *wsi = req->wsi;
        detach(req);
        lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        return;
    }
    if (req->server != NULL && req->server->in_handler == req) {
        req->server->answered_in_handler = true; /* dispatch() writes it */
        return;
    }
    lws_callback_on_writable(req->wsi);
}
