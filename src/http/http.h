/* Minimal asynchronous HTTP/1.1 server on the node's libuv loop (libwebsockets with
 * its libuv event library, running on our loop as a foreign loop).
 * Every function here must be called on the loop thread. */
#ifndef WAIHU_HTTP_H
#define WAIHU_HTTP_H

#include <stddef.h>
#include <uv.h>

struct http_server;
struct http_request;

/* Called once per complete request (headers and whole body read). The handler must
 * call http_respond() exactly once, now or later from any loop callback. */
typedef void (*http_handler_fn)(void *data, struct http_request *req);

/* Accessors; strings are NUL-terminated and valid until http_respond(). */
const char *http_request_method(const struct http_request *req);  /* "GET", "PUT", ... */
const char *http_request_path(const struct http_request *req);    /* "/v1/x", no query */
const char *http_request_query(const struct http_request *req);   /* "a=1&b=2" or "" */
const char *http_request_body(const struct http_request *req, size_t *len); /* never NULL */
/* Value of a request header (case-insensitive name) or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Value of a query parameter, URL-decoded into buf (cap bytes); NULL if absent. */
const char *http_request_param(const struct http_request *req, const char *name, char *buf,
                               size_t cap);

/* Sends the response and releases req. Copies body. If the client already went away
 * the response is dropped and req freed all the same. */
void http_respond(struct http_request *req, int status, const char *content_type,
                  const char *body, size_t len);

/* Listens on "host:port". Bodies over max_body_bytes get 413 without calling the
 * handler. Returns 0 or a WAIHU_E* code; errmsg (cap 256) says why. */
int http_server_start(uv_loop_t *loop, const char *address, size_t max_body_bytes,
                      http_handler_fn handler, void *data, struct http_server **out,
                      char *errmsg);

/* Stops listening, drops open connections (pending requests are answered 503 when
 * their handler responds) and frees the server once its handles closed; cb may be NULL. */
void http_server_stop(struct http_server *s, void (*cb)(void *data), void *data);

#endif
