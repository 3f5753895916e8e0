/* WebSocket connections on the server's WebSocket paths: lws does the handshake and the
 * framing; this file joins fragments into messages, queues outgoing messages per
 * connection (one lws_write per writable event) and guarantees one on_close per on_open,
 * whoever ends the connection. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "http_internal.h"

#define MOD "http"

/* RFC 6455 5.5: a control frame carries at most 125 bytes, 2 of them the code. */
#define REASON_MAX 123

/* A queued text message: LWS_PRE bytes of room for lws' frame header, then the text. */
struct ws_msg {
    struct ws_msg *next;
    size_t len;
    unsigned char buf[];
};

struct http_ws {
    struct ws_endpoint *ep;
    struct lws *wsi;             /* NULL once cut loose (on_close ran) */
    struct http_conn *conn;      /* lws' per-session data of wsi; NULL once cut loose */
    struct http_ws *prev, *next; /* ep->open */
    void *user;

    char *rx; /* message being reassembled, NUL-terminated when complete */
    size_t rx_len, rx_cap;

    struct ws_msg *head, *tail;
    size_t queued_bytes;

    bool closing;      /* no more sends: http_ws_close, a refused frame, or gone */
    bool close_queued; /* http_ws_close asked for a close frame in the next WRITEABLE */
    int close_code;
    unsigned char close_reason[REASON_MAX];
    size_t close_reason_len;
    bool freed_by_dispatcher; /* on_close ran while its on_open/on_message was running */
};

int ws_endpoint_set(struct ws_endpoint *e, const char *path, size_t max_message,
                    const struct http_ws_callbacks *cb, void *data)
{
    if (e->path != NULL || path == NULL || path[0] != '/' || max_message == 0 ||
        max_message == SIZE_MAX || cb == NULL || cb->on_open == NULL || cb->on_message == NULL ||
        cb->on_close == NULL) {
        return WAIHU_EINVAL;
    }
    e->path = strdup(path);
    if (e->path == NULL) {
        return WAIHU_ENOMEM;
    }
    e->max_message = max_message;
    e->cb = *cb;
    e->data = data;
    return 0;
}

static void drop_queue(struct http_ws *ws)
{
    while (ws->head != NULL) {
        struct ws_msg *m = ws->head;
        ws->head = m->next;
        free(m);
    }
    ws->tail = NULL;
    ws->queued_bytes = 0;
}

static void ws_free(struct http_ws *ws)
{
    drop_queue(ws);
    free(ws->rx);
    free(ws);
}

/* Unlinks ws from lws and the endpoint, runs on_close and frees ws, unless its
 * on_open/on_message is on the stack: then the dispatcher frees it afterwards. */
static void finish(struct http_ws *ws)
{
    struct ws_endpoint *e = ws->ep;
    if (ws->prev != NULL) {
        ws->prev->next = ws->next;
    } else {
        e->open = ws->next;
    }
    if (ws->next != NULL) {
        ws->next->prev = ws->prev;
    }
    ws->prev = ws->next = NULL;
    if (ws->conn != NULL) {
        ws->conn->ws = NULL;
    }
    ws->conn = NULL;
    ws->wsi = NULL;
    ws->closing = true;
    drop_queue(ws);
    e->cb.on_close(e->data, ws);
    if (e->in_cb == ws) {
        ws->freed_by_dispatcher = true;
    } else {
        ws_free(ws);
    }
}

/* The 404 for an upgrade we do not serve, written now; lws then ends the transaction. */
static int refuse(struct lws *wsi)
{
    static const char body[] = "{\"error\":{\"code\":\"not_found\",\"message\":\"no WebSocket "
                               "endpoint at this path\",\"field\":null}}";
    struct http_request resp = {.close_after = true};
    if (request_format(&resp, 404, "application/json", body, sizeof body - 1) != 0) {
        return -1;
    }
    int n = lws_write(wsi, resp.out + LWS_PRE, resp.out_len, LWS_WRITE_HTTP);
    free(resp.out);
    return n < 0 ? -1 : 1;
}

/* The URL-decoded path of a GET (without the query), malloc'd; NULL if none. */
static char *get_path(struct lws *wsi)
{
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
    char *path = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (path != NULL && lws_hdr_copy(wsi, path, n + 1, WSI_TOKEN_GET_URI) != n) {
        free(path);
        path = NULL;
    }
    return path;
}

/* The endpoint serving path, or NULL. */
static struct ws_endpoint *find_endpoint(struct ws_endpoint *eps, size_t n, const char *path)
{
    for (size_t i = 0; path != NULL && i < n; i++) {
        if (eps[i].path != NULL && strcmp(path, eps[i].path) == 0) {
            return &eps[i];
        }
    }
    return NULL;
}

int ws_confirm_upgrade(struct ws_endpoint *eps, size_t n, struct lws *wsi)
{
    /* Read the Upgrade token again instead of trusting `in`: lws 4.1 also calls us after
     * it answered an unknown upgrade and may have released the headers `in` points into
     * (CVE-2025-11677). Hanging up then keeps lws from reading them itself. */
    char up[16];
    if (lws_hdr_copy(wsi, up, sizeof up, WSI_TOKEN_UPGRADE) <= 0) {
        return -1;
    }
    if (strcasecmp(up, "websocket") != 0) {
        return strcasecmp(up, "h2c") == 0 ? 0 : -1; /* h2c: lws' business, as before */
    }
    char *path = get_path(wsi);
    bool ours = find_endpoint(eps, n, path) != NULL;
    free(path);
    return ours ? 0 : refuse(wsi);
}

int ws_on_established(struct ws_endpoint *eps, size_t n, struct lws *wsi, struct http_conn *conn)
{
    /* The upgrade request's headers are still attached here (lws drops them after). */
    char *path = conn != NULL ? get_path(wsi) : NULL;
    struct ws_endpoint *e = find_endpoint(eps, n, path);
    if (e == NULL) {
        free(path);
        return -1;
    }
    struct http_request *req = request_new(wsi, path);
    struct http_ws *ws = calloc(1, sizeof *ws);
    free(path);
    if (req == NULL || ws == NULL) {
        LOG_E(MOD, "ws %s: out of memory", e->path);
        request_free(req);
        free(ws);
        return -1;
    }
    ws->ep = e;
    ws->wsi = wsi;
    ws->conn = conn;
    conn->ws = ws;
    ws->next = e->open;
    if (e->open != NULL) {
        e->open->prev = ws;
    }
    e->open = ws;

    struct http_ws *outer = e->in_cb;
    e->in_cb = ws;
    e->cb.on_open(e->data, ws, req);
    e->in_cb = outer;
    request_free(req);
    if (ws->freed_by_dispatcher) {
        ws_free(ws);
        return -1;
    }
    return 0;
}

/* Refuses what the client sent: lws sends the close frame (code, reason) and closes
 * once the client answers it; on_close follows from LWS_CALLBACK_CLOSED. */
static int fail(struct http_ws *ws, int code, const char *why)
{
    char peer[64] = "?";
    lws_get_peer_simple(ws->wsi, peer, sizeof peer);
    LOG_W(MOD, "ws %s from %s: %s: closing with %d", ws->ep->path, peer, why, code);
    ws->closing = true;
    drop_queue(ws);
    unsigned char reason[REASON_MAX];
    size_t n = strlen(why) < sizeof reason ? strlen(why) : sizeof reason;
    memcpy(reason, why, n);
    lws_close_reason(ws->wsi, (enum lws_close_status)code, reason, n);
    return -1;
}

static int append(struct http_ws *ws, const void *in, size_t len)
{
    if (ws->rx_len + len + 1 > ws->rx_cap) {
        size_t cap = ws->rx_cap ? ws->rx_cap : 256;
        while (cap < ws->rx_len + len + 1) {
            cap *= 2;
        }
        if (cap > ws->ep->max_message + 1) {
            cap = ws->ep->max_message + 1;
        }
        char *rx = realloc(ws->rx, cap);
        if (rx == NULL) {
            return WAIHU_ENOMEM;
        }
        ws->rx = rx;
        ws->rx_cap = cap;
    }
    if (len > 0) {
        memcpy(ws->rx + ws->rx_len, in, len);
    }
    ws->rx_len += len;
    return 0;
}

int ws_on_receive(struct lws *wsi, struct http_conn *conn, const void *in, size_t len)
{
    struct http_ws *ws = conn ? conn->ws : NULL;
    if (ws == NULL) {
        return -1; /* cut loose by a server stop */
    }
    if (ws->closing) {
        return 0; /* what arrives after we started closing is dropped */
    }
    if (lws_frame_is_binary(wsi)) {
        return fail(ws, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary frames not accepted");
    }
    /* Check the whole frame at its first chunk, so a huge frame is refused at once. */
    size_t max = ws->ep->max_message;
    size_t rest = lws_remaining_packet_payload(wsi);
    if (len > max - ws->rx_len || rest > max - ws->rx_len - len) {
        return fail(ws, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
    }
    if (append(ws, in, len) != 0) {
        return fail(ws, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
    }
    if (!lws_is_final_fragment(wsi)) {
        return 0;
    }
    size_t n = ws->rx_len;
    ws->rx[n] = '\0';
    ws->rx_len = 0;

    struct ws_endpoint *e = ws->ep;
    struct http_ws *outer = e->in_cb;
    e->in_cb = ws;
    e->cb.on_message(e->data, ws, ws->rx, n);
    e->in_cb = outer;
    if (ws->freed_by_dispatcher) {
        ws_free(ws);
        return -1;
    }
    return 0;
}

int ws_on_writeable(struct lws *wsi, struct http_conn *conn)
{
    struct http_ws *ws = conn ? conn->ws : NULL;
    if (ws == NULL) {
        return -1;
    }
    if (ws->close_queued) {
        /* lws sends the stashed close frame and awaits the ack when asked to kill the
         * connection. Not by returning -1 here: lws 4.1's debug build then "tests" a
         * second close on libuv, which drops the connection without the frame. */
        ws->close_queued = false;
        lws_close_reason(wsi, (enum lws_close_status)ws->close_code, ws->close_reason,
                         ws->close_reason_len);
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
        return 0;
    }
    struct ws_msg *m = ws->head;
    if (m == NULL || ws->closing) {
        return 0;
    }
    ws->head = m->next;
    if (ws->head == NULL) {
        ws->tail = NULL;
    }
    ws->queued_bytes -= m->len;
    /* lws keeps what the socket did not take and sends it before the next WRITEABLE. */
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    free(m);
    if (n < 0) {
        return -1;
    }
    if (ws->head != NULL) {
        lws_callback_on_writable(wsi);
    }
    return 0;
}

void ws_on_closed(struct http_conn *conn)
{
    if (conn != NULL && conn->ws != NULL) {
        finish(conn->ws);
    }
}

void ws_endpoint_stop(struct ws_endpoint *e)
{
    while (e->open != NULL) {
        finish(e->open);
    }
    free(e->path);
    e->path = NULL;
}

int http_ws_send(struct http_ws *ws, const char *text, size_t len)
{
    if (ws->closing || ws->wsi == NULL) {
        return WAIHU_ESHUTDOWN;
    }
    if (len > HTTP_WS_MAX_QUEUED_BYTES - ws->queued_bytes) {
        return WAIHU_ETOOBIG;
    }
    struct ws_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (m == NULL) {
        return WAIHU_ENOMEM;
    }
    m->next = NULL;
    m->len = len;
    if (len > 0) {
        memcpy(m->buf + LWS_PRE, text, len);
    }
    if (ws->tail != NULL) {
        ws->tail->next = m;
    } else {
        ws->head = m;
    }
    ws->tail = m;
    ws->queued_bytes += len;
    lws_callback_on_writable(ws->wsi);
    return 0;
}

void http_ws_close(struct http_ws *ws, int code, const char *reason)
{
    assert(code >= 1000 && code <= 4999 && (code < 1004 || code > 1006) && code != 1015);
    if (ws->closing || ws->wsi == NULL) {
        return;
    }
    ws->closing = true;
    ws->close_queued = true;
    ws->close_code = code;
    size_t n = reason ? strlen(reason) : 0;
    ws->close_reason_len = n < REASON_MAX ? n : REASON_MAX;
    if (ws->close_reason_len > 0) {
        memcpy(ws->close_reason, reason, ws->close_reason_len);
    }
    drop_queue(ws);
    /* A client that reads nothing never lets the close frame out: give up after 5 s. */
    lws_set_timeout(ws->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
    lws_callback_on_writable(ws->wsi);
}

size_t http_ws_queued_bytes(const struct http_ws *ws)
{
    return ws->queued_bytes;
}

void http_ws_set_user(struct http_ws *ws, void *user)
{
    ws->user = user;
}

void *http_ws_user(const struct http_ws *ws)
{
    return ws->user;
}
