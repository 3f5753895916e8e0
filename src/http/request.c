/* The request object: a snapshot of what lws parsed (so it outlives the connection),
 * its accessors and the formatting of the response. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "http_internal.h"

/* Custom (non-lws-token) headers copied into every request so they stay readable after
 * the connection went away; others are looked up while the connection lives. */
static const char *const known_custom[] = {"x-waihu-client", "x-waihu-seq", "x-request-id",
                                           "idempotency-key"};

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int request_add_header(struct http_request *req, const char *name, size_t name_len,
                       const char *value)
{
    if (req->n_headers == req->cap_headers) {
        size_t cap = req->cap_headers ? 2 * req->cap_headers : 16;
        struct http_header *h = realloc(req->headers, cap * sizeof *h);
        if (h == NULL) {
            return WAIHU_ENOMEM;
        }
        req->headers = h;
        req->cap_headers = cap;
    }
    struct http_header *h = &req->headers[req->n_headers];
    h->name = dup_n(name, name_len);
    h->value = strdup(value);
    if (h->name == NULL || h->value == NULL) {
        free(h->name);
        free(h->value);
        return WAIHU_ENOMEM;
    }
    for (char *c = h->name; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    req->n_headers++;
    return 0;
}

/* Copies the value of a custom header (lower-case name without colon) if present. */
static int add_custom(struct http_request *req, struct lws *wsi, const char *name)
{
    char key[128];
    int klen = snprintf(key, sizeof key, "%s:", name);
    if (klen <= 0 || (size_t)klen >= sizeof key) {
        return 0;
    }
    int n = lws_hdr_custom_length(wsi, key, klen);
    if (n < 0) {
        return 0;
    }
    char *v = malloc((size_t)n + 1);
    if (v == NULL) {
        return WAIHU_ENOMEM;
    }
    int rv = 0;
    if (lws_hdr_custom_copy(wsi, v, n + 1, key, klen) >= 0) {
        rv = request_add_header(req, name, strlen(name), v);
    }
    free(v);
    return rv;
}

static int snapshot_headers(struct http_request *req, struct lws *wsi)
{
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *name = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        size_t nlen = name ? strlen(name) : 0;
        /* Header tokens read "content-type:"; methods, the version and h2 pseudo
         * headers do not. */
        if (nlen < 2 || name[nlen - 1] != ':' || name[0] == ':') {
            continue;
        }
        int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
        if (len <= 0) {
            continue;
        }
        char *v = malloc((size_t)len + 1);
        if (v == NULL) {
            return WAIHU_ENOMEM;
        }
        int rv = 0;
        if (lws_hdr_copy(wsi, v, len + 1, (enum lws_token_indexes)t) >= 0) {
            rv = request_add_header(req, name, nlen - 1, v);
        }
        free(v);
        if (rv != 0) {
            return rv;
        }
    }
    for (size_t i = 0; i < sizeof known_custom / sizeof known_custom[0]; i++) {
        int rv = add_custom(req, wsi, known_custom[i]);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static int snapshot_query(struct http_request *req, struct lws *wsi)
{
    size_t total = 0;
    for (int i = 0;; i++) {
        int len = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (len <= 0) {
            break;
        }
        char **args = realloc(req->args, (req->n_args + 1) * sizeof *args);
        if (args == NULL) {
            return WAIHU_ENOMEM;
        }
        req->args = args;
        char *a = malloc((size_t)len + 1);
        if (a == NULL) {
            return WAIHU_ENOMEM;
        }
        if (lws_hdr_copy_fragment(wsi, a, len + 1, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
            free(a);
            break;
        }
        req->args[req->n_args++] = a;
        total += (size_t)len + 1;
    }
    req->query = malloc(total + 1);
    if (req->query == NULL) {
        return WAIHU_ENOMEM;
    }
    char *p = req->query;
    for (size_t i = 0; i < req->n_args; i++) {
        if (i > 0) {
            *p++ = '&';
        }
        size_t n = strlen(req->args[i]);
        memcpy(p, req->args[i], n);
        p += n;
    }
    *p = '\0';
    return 0;
}

static void snapshot_method(struct http_request *req, struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_DELETE_URI, "DELETE"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},     {WSI_TOKEN_PATCH_URI, "PATCH"},
        {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    };
    strcpy(req->method, "?");
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            strcpy(req->method, methods[i].name);
            break;
        }
    }
    req->head = strcmp(req->method, "HEAD") == 0;
}

/* Case-insensitive substring search (strcasestr is a GNU extension). */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* HTTP/1.1 persists unless "Connection: close"; HTTP/1.0 only with "keep-alive". */
static void snapshot_persistence(struct http_request *req, struct lws *wsi)
{
    req->http10 = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP1_0) > 0;
    const char *c = http_request_header(req, "connection");
    if (req->http10) {
        req->keep_alive = c != NULL && contains_ci(c, "keep-alive");
    } else {
        req->keep_alive = c == NULL || !contains_ci(c, "close");
    }
}

struct http_request *request_new(struct lws *wsi, const char *path)
{
    struct http_request *req = calloc(1, sizeof *req);
    if (req == NULL) {
        return NULL;
    }
    req->wsi = wsi;
    req->path = strdup(path ? path : "/");
    req->body = malloc(1);
    if (req->path == NULL || req->body == NULL) {
        goto err;
    }
    req->body[0] = '\0';
    snapshot_method(req, wsi);
    if (snapshot_headers(req, wsi) != 0 || snapshot_query(req, wsi) != 0) {
        goto err;
    }
    snapshot_persistence(req, wsi);
    return req;
err:
    request_free(req);
    return NULL;
}

void request_free(struct http_request *req)
{
    if (req == NULL) {
        return;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    for (size_t i = 0; i < req->n_args; i++) {
        free(req->args[i]);
    }
    free(req->headers);
    free(req->args);
    free(req->path);
    free(req->query);
    free(req->body);
    free(req->out);
    free(req);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

bool request_headers_valid(const char *headers)
{
    if (headers == NULL) {
        return true;
    }
    if (strlen(headers) > HTTP_EXTRA_HEADERS_MAX) {
        return false;
    }
    /* Lines "Name: value\r\n": no other CR or LF (no response splitting). */
    const char *p = headers;
    while (*p != '\0') {
        const char *eol = strstr(p, "\r\n");
        const char *colon = strchr(p, ':');
        if (eol == NULL || colon == NULL || colon > eol || colon == p ||
            memchr(p, '\n', (size_t)(eol - p)) != NULL ||
            memchr(p, '\r', (size_t)(eol - p)) != NULL) {
            return false;
        }
        p = eol + 2;
    }
    return true;
}

int request_format(struct http_request *req, int status, const char *content_type,
                   const char *body, size_t len)
{
    return request_format_headers(req, status, content_type, NULL, body, len);
}

int request_format_headers(struct http_request *req, int status, const char *content_type,
                           const char *extra, const char *body, size_t len)
{
    if (!request_headers_valid(extra)) {
        extra = NULL;
        status = 500;
        body = NULL;
    }
    if (status < 200 || status > 999) {
        status = 500;
    }
    /* RFC 9110: 204 and 304 carry neither body nor Content-Length. */
    bool no_body = status == 204 || status == 304;
    if (no_body || body == NULL) {
        len = 0;
    }
    if (content_type == NULL || content_type[0] == '\0' || strpbrk(content_type, "\r\n")) {
        content_type = "application/octet-stream";
    }
    const char *conn = "";
    if (req->close_after || !req->keep_alive) {
        conn = "Connection: close\r\n";
    } else if (req->http10) {
        conn = "Connection: keep-alive\r\n";
    }
    char clen[48] = "";
    if (!no_body) {
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", len);
    }
    char head[512 + HTTP_EXTRA_HEADERS_MAX];
    int n = snprintf(head, sizeof head, "HTTP/1.%d %d %s\r\nContent-Type: %s\r\n%s%s%s\r\n",
                     req->http10 ? 0 : 1, status, status_text(status), content_type, clen,
                     extra ? extra : "", conn);
    if (n < 0 || (size_t)n >= sizeof head) {
        /* Only an absurd content type gets here. */
        n = snprintf(head, sizeof head, "HTTP/1.%d %d %s\r\n%s%s\r\n", req->http10 ? 0 : 1,
                     status, status_text(status), clen, conn);
    }
    size_t body_bytes = req->head ? 0 : len;
    unsigned char *out = malloc(LWS_PRE + (size_t)n + body_bytes);
    if (out == NULL) {
        return WAIHU_ENOMEM;
    }
    memcpy(out + LWS_PRE, head, (size_t)n);
    if (body_bytes > 0) {
        memcpy(out + LWS_PRE + n, body, body_bytes);
    }
    free(req->out);
    req->out = out;
    req->out_len = (size_t)n + body_bytes;
    return 0;
}

const char *http_request_method(const struct http_request *req)
{
    return req->method;
}

const char *http_request_path(const struct http_request *req)
{
    return req->path;
}

const char *http_request_query(const struct http_request *req)
{
    return req->query;
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
    if (len != NULL) {
        *len = req->body_len;
    }
    return req->body;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    if (req->wsi == NULL) {
        return NULL;
    }
    /* Not a token lws knows nor a known custom header: look it up on the live
     * connection and keep a copy. The request is ours to mutate (const is for users). */
    char lower[120];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof lower) {
        return NULL;
    }
    for (size_t i = 0; i <= n; i++) {
        lower[i] = (char)tolower((unsigned char)name[i]);
    }
    struct http_request *mut = (struct http_request *)req;
    size_t before = mut->n_headers;
    if (add_custom(mut, req->wsi, lower) != 0 || mut->n_headers == before) {
        return NULL;
    }
    return mut->headers[before].value;
}

const char *http_request_param(const struct http_request *req, const char *name, char *buf,
                               size_t cap)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < req->n_args; i++) {
        const char *a = req->args[i];
        if (strncmp(a, name, nlen) != 0 || (a[nlen] != '=' && a[nlen] != '\0')) {
            continue;
        }
        const char *v = a[nlen] == '=' ? a + nlen + 1 : a + nlen;
        if (cap == 0) {
            return NULL;
        }
        /* lws already URL-decoded the fragment; copy it, truncating to cap. */
        size_t vlen = strlen(v);
        if (vlen >= cap) {
            vlen = cap - 1;
        }
        memcpy(buf, v, vlen);
        buf[vlen] = '\0';
        return buf;
    }
    return NULL;
}

int http_request_gone(const struct http_request *req)
{
    return req->wsi == NULL;
}
