/* Minimal asynchronous HTTP/1.1 server, with WebSocket connections on a few paths, on the
 * node's libuv loop (libwebsockets with its libuv event library, running on our loop as
 * a foreign loop).
 * Every function here must be called on the loop thread. */
#ifndef WAIHU_HTTP_H
#define WAIHU_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "common.h"

struct http_server;
struct http_request;

/* Called once per complete request (headers and whole body read). The handler must
 * call http_respond() exactly once, now or later from any loop callback. */
typedef void (*http_handler_fn)(void *data, struct http_request *req);

/* Accessors; strings are NUL-terminated, owned by req and valid until http_respond(),
 * even after the client went away. Path and query come URL-decoded by lws. */
/* "GET", "PUT", "POST", "DELETE", "HEAD", "PATCH" or "OPTIONS". */
WAIHU_API const char *http_request_method(const struct http_request *req);
/* "/v1/x", without the query. */
WAIHU_API const char *http_request_path(const struct http_request *req);
/* "a=1&b=2" or "". */
WAIHU_API const char *http_request_query(const struct http_request *req);
/* The whole body (NUL-terminated after len bytes); never NULL. */
WAIHU_API const char *http_request_body(const struct http_request *req, size_t *len);
/* Value of a request header (case-insensitive name) or NULL. Repeated headers are joined
 * with ','. Standard headers and X-Waihu-Client, X-Waihu-Seq, X-Request-Id and
 * Idempotency-Key are copied with the request; other custom headers are only found
 * while the connection is open (in practice: call it from the handler). */
WAIHU_API const char *http_request_header(const struct http_request *req, const char *name);
/* Value of a query parameter, URL-decoded (by lws) into buf (cap bytes, truncated to
 * cap - 1); "" for a bare "?name"; NULL if absent. */
WAIHU_API const char *http_request_param(const struct http_request *req, const char *name,
                                        char *buf, size_t cap);

/* True once the server knows the response will be dropped: the server stopped, or lws
 * saw the client go away. lws does not read a connection while its request is with the
 * handler, so a client that closes then is usually only noticed when the response is
 * written. http_respond() must be called all the same (it frees req). */
WAIHU_API int http_request_gone(const struct http_request *req);

/* Sends the response and frees req (req must not be used afterwards). Copies
 * content_type and body; body may be NULL when len is 0. If the client already went
 * away or the server stopped, the response is dropped and req freed all the same.
 * Status 204/304 send no body; HEAD gets the headers with the body's Content-Length. */
WAIHU_API void http_respond(struct http_request *req, int status, const char *content_type,
                            const char *body, size_t len);

/* http_respond with extra header lines, e.g. "Accept-Ranges: bytes\r\nContent-Range:
 * bytes 0-9/100\r\n" (copied; each line "Name: value\r\n", at most
 * HTTP_EXTRA_HEADERS_MAX bytes in all). Malformed lines (a CR or LF inside a line, no
 * colon) are never sent: the answer becomes a bodiless 500. headers may be NULL. */
#define HTTP_EXTRA_HEADERS_MAX 512
WAIHU_API void http_respond_headers(struct http_request *req, int status,
                                    const char *content_type, const char *headers,
                                    const char *body, size_t len);

/* Listens on "host:port" (IPv4 literal; port 0 picks a free port, see
 * http_server_port). Bodies over max_body_bytes get 413 {"error":{"code":"too_large",...}}
 * and the connection is closed, without calling the handler; chunked request bodies get
 * 411. Returns 0, WAIHU_EINVAL (bad address), WAIHU_EIO (cannot listen) or WAIHU_ENOMEM;
 * errmsg (cap 256) says why, e.g. "listen 127.0.0.1:8001: address in use". The server
 * is freed by http_server_stop. */
WAIHU_API int http_server_start(uv_loop_t *loop, const char *address, size_t max_body_bytes,
                                http_handler_fn handler, void *data, struct http_server **out,
                                char *errmsg);

/* Port the server listens on (the chosen one when started on port 0). */
WAIHU_API int http_server_port(const struct http_server *s);

/* Stops listening and drops every open connection; requests still with their handler
 * stay valid, and http_respond() on them only frees them. Every open WebSocket gets
 * on_close before this returns (also when called from one of its callbacks: that ws is
 * freed once the callback returned). lws is torn down from a later loop callback (so
 * this may be called from a handler); once all its handles closed the server is freed
 * and cb(data) runs on the loop. cb may be NULL. s must not be used after this call. */
WAIHU_API void http_server_stop(struct http_server *s, void (*cb)(void *data), void *data);

/* ---- WebSocket (RFC 6455) connections on the same server ---- */

/* One accepted WebSocket connection; valid from on_open until on_close returns. */
struct http_ws;

/* Bytes of messages one connection may have queued and not yet written. */
#define HTTP_WS_MAX_QUEUED_BYTES ((size_t)1 << 20)

struct http_ws_callbacks {
    /* The upgrade was accepted (the 101 is sent). req is the upgrade request (method,
     * path, query, params, headers), valid during the call only and for reading:
     * never http_respond() it. */
    void (*on_open)(void *data, struct http_ws *ws, const struct http_request *req);
    /* One complete text message (fragments joined, UTF-8 checked by lws), NUL-terminated
     * after len bytes; text is valid during the call only. */
    void (*on_message)(void *data, struct http_ws *ws, const char *text, size_t len);
    /* The connection is gone: either side closed it, it failed, or the server stopped.
     * Called exactly once per on_open; ws is freed when it returns. */
    void (*on_close)(void *data, struct http_ws *ws);
};

/* Paths one server accepts WebSocket upgrades on. */
#define HTTP_WS_MAX_PATHS 4

/* Accepts WebSocket upgrades (a GET with "Upgrade: websocket", no subprotocol, no
 * extension) on exactly path, compared with the URL-decoded path without its query
 * (e.g. "/v1/stream"); its connections get these callbacks. An upgrade on any other
 * path, or before this call, gets 404 {"error":{"code":"not_found",...}}; plain requests
 * on path still go to the handler. A text message over max_message bytes closes the
 * connection with 1009, a binary frame with 1003, invalid UTF-8 with 1007 (on_close
 * follows). Call once per path, after http_server_start; path and *cb are copied, every
 * callback is required. Returns 0, WAIHU_EINVAL (path not "/...", a NULL callback,
 * max_message 0, path already set, server stopping), WAIHU_ETOOBIG (HTTP_WS_MAX_PATHS
 * paths set already) or WAIHU_ENOMEM. */
WAIHU_API int http_server_set_ws(struct http_server *s, const char *path, size_t max_message,
                                 const struct http_ws_callbacks *cb, void *data);

/* Queues a copy of text (len bytes of UTF-8) as one text message; messages go out in
 * order, one per writable event of the socket, so this may be called for many
 * connections at once (a timer's broadcast). Returns 0; WAIHU_ETOOBIG when the queue of
 * ws would then exceed HTTP_WS_MAX_QUEUED_BYTES (a client that does not read: the
 * caller usually closes it); WAIHU_ESHUTDOWN once ws is closing (http_ws_close, a
 * refused frame, server stop, inside on_close); WAIHU_ENOMEM. */
WAIHU_API int http_ws_send(struct http_ws *ws, const char *text, size_t len);

/* Starts the close handshake: drops the messages still queued, sends a close frame with
 * code (asserted 1000..4999, not 1004-1006 or 1015) and reason (UTF-8, cut to 123 bytes,
 * may be NULL) and closes the connection once the client answers, or after 5 s. on_close
 * follows from a later loop callback. Does nothing if ws is already closing. */
WAIHU_API void http_ws_close(struct http_ws *ws, int code, const char *reason);

/* Bytes of messages queued on ws and not yet handed to the socket (0 once closing): a
 * sender with much to say (a replay) waits while this is high instead of hitting
 * WAIHU_ETOOBIG. */
WAIHU_API size_t http_ws_queued_bytes(const struct http_ws *ws);

/* A pointer of the caller's, kept with ws (NULL at on_open). */
WAIHU_API void http_ws_set_user(struct http_ws *ws, void *user);
WAIHU_API void *http_ws_user(const struct http_ws *ws);

#endif
