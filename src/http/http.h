/* Minimal asynchronous HTTP/1.1 server on the node's libuv loop (libwebsockets with
 * its libuv event library, running on our loop as a foreign loop).
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
 * stay valid, and http_respond() on them only frees them. lws is torn down from a later
 * loop callback (so this may be called from a handler); once all its handles closed the
 * server is freed and cb(data) runs on the loop. cb may be NULL. s must not be used
 * after this call. */
WAIHU_API void http_server_stop(struct http_server *s, void (*cb)(void *data), void *data);

#endif
