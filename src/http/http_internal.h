/* Private to src/http: the request object shared by the lws glue (server.c) and the
 * request accessors (request.c). */
#ifndef WAIHU_HTTP_INTERNAL_H
#define WAIHU_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <libwebsockets.h>

#include "http.h"

struct http_header {
    char *name;  /* lower case, no colon */
    char *value;
};

/* Per-connection state lws allocates for us (protocol per_session_data). lws hands a
 * WebSocket upgrade a fresh, zeroed one, so a connection has a req or a ws, never both. */
struct http_conn {
    struct http_request *req; /* request in progress on this connection, or NULL */
    struct http_ws *ws;       /* the accepted WebSocket (ws.c), or NULL */
};

/* One WebSocket path of a server (ws.c); all zero until http_server_set_ws. */
struct ws_endpoint {
    char *path; /* the upgrade path; NULL: a free slot */
    size_t max_message;
    struct http_ws_callbacks cb;
    void *data;
    struct http_ws *open;  /* connections between on_open and on_close */
    struct http_ws *in_cb; /* connection whose on_open/on_message is running now */
};

enum req_state {
    REQ_BODY,      /* reading the body; owned by the server */
    REQ_HANDLER,   /* handed to the handler; owned by it until http_respond */
    REQ_REJECTED,  /* answered by the server itself (413, 411...); owned by the server */
    REQ_RESPONDED, /* response queued, waiting for WRITEABLE; owned by the server */
};

struct http_request {
    struct http_server *server; /* NULL once detached (connection closed, server stopped) */
    struct lws *wsi;            /* NULL once detached */
    struct http_conn *conn;     /* NULL once detached */
    struct http_request *prev, *next; /* server's list of attached requests */
    enum req_state state;

    char method[8];
    char *path;
    char *query;  /* fragments joined by '&', as lws decoded them */
    char **args;  /* "name=value" fragments (lws already URL-decoded them) */
    size_t n_args;
    struct http_header *headers;
    size_t n_headers, cap_headers;
    bool head;       /* HEAD: send headers only */
    bool keep_alive; /* connection persists after this response */
    bool http10;

    char *body;
    size_t body_len;
    size_t content_length;
    bool body_done;

    unsigned char *out; /* LWS_PRE bytes, then status line, headers and body */
    size_t out_len;
    bool close_after;   /* close once out is written (and the body is drained) */
};

/* Builds a request from the headers lws parsed on wsi; NULL on allocation failure. */
struct http_request *request_new(struct lws *wsi, const char *path);
void request_free(struct http_request *req);
/* Formats the whole response into req->out; returns 0 or WAIHU_ENOMEM. */
int request_format(struct http_request *req, int status, const char *content_type,
                   const char *body, size_t len);
/* request_format with extra header lines (already checked, or NULL). */
int request_format_headers(struct http_request *req, int status, const char *content_type,
                           const char *extra, const char *body, size_t len);
/* Whether extra header lines are well formed (see http_respond_headers). */
bool request_headers_valid(const char *headers);
/* Adds a header copy to the snapshot; returns 0 or WAIHU_ENOMEM. */
int request_add_header(struct http_request *req, const char *name, size_t name_len,
                       const char *value);

/* ws.c, called from the lws protocol callback in server.c. */
/* Copies the configuration; returns 0, WAIHU_EINVAL or WAIHU_ENOMEM. */
int ws_endpoint_set(struct ws_endpoint *e, const char *path, size_t max_message,
                    const struct http_ws_callbacks *cb, void *data);
/* The server's endpoints (eps[0..n), free slots included) are searched for the path of
 * the upgrade. */
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 lets lws upgrade, 1 after writing a 404, -1 hangs
 * up. */
int ws_confirm_upgrade(struct ws_endpoint *eps, size_t n, struct lws *wsi);
/* LWS_CALLBACK_ESTABLISHED, _RECEIVE, _SERVER_WRITEABLE: 0, or -1 to close wsi. */
int ws_on_established(struct ws_endpoint *eps, size_t n, struct lws *wsi, struct http_conn *conn);
int ws_on_receive(struct lws *wsi, struct http_conn *conn, const void *in, size_t len);
int ws_on_writeable(struct lws *wsi, struct http_conn *conn);
/* LWS_CALLBACK_CLOSED (or the protocol drop): on_close once, then frees the ws. */
void ws_on_closed(struct http_conn *conn);
/* Server stop: on_close for every open connection, which is cut loose from lws and
 * freed; later upgrades are refused. */
void ws_endpoint_stop(struct ws_endpoint *e);

#endif
