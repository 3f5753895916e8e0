/* raft_uv_transport over mutual TLS. Our own TCP listener and dialer; each connection
 * gets a TLS pump, and raft gets the plaintext end of the pump's socketpair (a uv_pipe_t
 * from raft_malloc, since raft frees it after closing). raft's TCP handshake (protocol,
 * server id, address) is written and read here, inside TLS, in raft 0.15's wire format. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "common.h"
#include "transport_tls.h"

#define HANDSHAKE_PROTOCOL 1 /* raft 0.15's UV__TCP_HANDSHAKE_PROTOCOL */
#define PREAMBLE_BYTES (3 * sizeof(uint64_t))
#define MAX_ADDRESS_BYTES 1024
/* A refused peer retries every heartbeat: say the same thing once in this long. */
#define LOG_REPEAT_MS 30000

struct tls_transport {
    struct raft_uv_transport *outer;
    uv_loop_t *loop;
    SSL_CTX *ctx;
    bool *fenced;
    raft_id id;
    char *address;
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
    uv_tcp_t listener;
    bool listener_open;
    bool closing;
    struct link *links;
    struct {
        char key[300];
        uint64_t ms;
        unsigned repeats;
    } logged[8]; /* recent failure lines, to hold back repeats */
};

/* One connection, from TCP connect/accept until its pump is closed. */
struct link {
    struct tls_transport *t;
    bool outgoing;
    char peer[64];               /* for log lines */
    struct raft_uv_connect *req; /* outgoing: until answered */
    uv_tcp_t *tcp;               /* until the pump owns it */
    uv_connect_t connect;
    struct tls_pump *pump;
    uv_pipe_t *stream; /* raft's end, until handed to raft */
    uv_write_t write;
    uint64_t preamble[3];
    char *hs;        /* outgoing: encoded handshake; incoming: address being read */
    size_t hs_len;   /* incoming: address length */
    size_t hs_nread; /* incoming: bytes read, preamble included */
    int status;      /* why it failed (0: fine so far) */
    struct link *prev, *next;
};

static void maybe_fire_close(struct tls_transport *t)
{
    if (t->closing && !t->listener_open && t->links == NULL && t->close_cb != NULL) {
        raft_uv_transport_close_cb cb = t->close_cb;
        t->close_cb = NULL;
        cb(t->outer);
    }
}

static struct link *link_new(struct tls_transport *t, bool outgoing)
{
    struct link *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return NULL;
    }
    l->t = t;
    l->outgoing = outgoing;
    l->next = t->links;
    if (t->links != NULL) {
        t->links->prev = l;
    }
    t->links = l;
    return l;
}

/* Frees the link once nothing of it is open; answers a pending connect request. */
static void link_maybe_free(struct link *l)
{
    struct tls_transport *t = l->t;
    if (l->tcp != NULL || l->pump != NULL || l->stream != NULL) {
        return;
    }
    if (l->prev != NULL) {
        l->prev->next = l->next;
    } else {
        t->links = l->next;
    }
    if (l->next != NULL) {
        l->next->prev = l->prev;
    }
    struct raft_uv_connect *req = l->req;
    int status = l->status != 0 ? l->status : RAFT_NOCONNECTION;
    free(l->hs);
    free(l);
    if (req != NULL) {
        req->cb(req, NULL, status);
    }
    maybe_fire_close(t);
}

static void tcp_closed_cb(uv_handle_t *h)
{
    struct link *l = h->data;
    free(h);
    l->tcp = NULL;
    link_maybe_free(l);
}

static void stream_closed_cb(uv_handle_t *h)
{
    struct link *l = h->data;
    raft_free(h);
    l->stream = NULL;
    link_maybe_free(l);
}

/* Closes whatever the link has open; the link goes when the last close completes. */
static void link_abort(struct link *l, int status)
{
    if (l->status == 0) {
        l->status = status;
    }
    if (l->tcp != NULL && !uv_is_closing((uv_handle_t *)l->tcp)) {
        uv_close((uv_handle_t *)l->tcp, tcp_closed_cb);
    }
    if (l->stream != NULL && !uv_is_closing((uv_handle_t *)l->stream)) {
        uv_close((uv_handle_t *)l->stream, stream_closed_cb);
    }
    if (l->pump != NULL) {
        tls_pump_close(l->pump);
    }
}

static bool refused(struct link *l)
{
    if (l->t->closing) {
        link_abort(l, RAFT_CANCELED);
        return true;
    }
    if (*l->t->fenced) {
        link_abort(l, RAFT_NOCONNECTION);
        return true;
    }
    return false;
}

static void pump_closed_cb(struct tls_pump *p)
{
    struct link *l = tls_pump_data(p);
    l->pump = NULL;
    link_abort(l, RAFT_NOCONNECTION); /* a stream not yet handed to raft goes too */
    link_maybe_free(l);
}

static void handshake_written_cb(uv_write_t *w, int status)
{
    struct link *l = w->data;
    if (l->status != 0 || status != 0) {
        link_abort(l, RAFT_NOCONNECTION);
        return;
    }
    if (refused(l)) {
        return;
    }
    uv_stream_t *stream = (uv_stream_t *)l->stream;
    struct raft_uv_connect *req = l->req;
    l->stream = NULL;
    l->req = NULL;
    req->cb(req, stream, 0);
}

static int send_handshake(struct link *l)
{
    struct tls_transport *t = l->t;
    size_t address_len = (strlen(t->address) + 1 + 7) / 8 * 8;
    size_t len = PREAMBLE_BYTES + address_len;
    uint64_t *words = calloc(1, len);
    if (words == NULL) {
        return RAFT_NOMEM;
    }
    words[0] = htole64(HANDSHAKE_PROTOCOL);
    words[1] = htole64(t->id);
    words[2] = htole64(address_len);
    memcpy(words + 3, t->address, strlen(t->address));
    l->hs = (char *)words;
    uv_buf_t buf = uv_buf_init(l->hs, (unsigned)len);
    l->write.data = l;
    return uv_write(&l->write, (uv_stream_t *)l->stream, &buf, 1, handshake_written_cb) == 0
               ? 0
               : RAFT_NOCONNECTION;
}

/* Incoming: read raft's handshake exactly, so no byte meant for raft is consumed. */
static void hs_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct link *l = h->data;
    (void)suggested;
    if (l->hs_nread < PREAMBLE_BYTES) {
        *buf = uv_buf_init((char *)l->preamble + l->hs_nread,
                           (unsigned)(PREAMBLE_BYTES - l->hs_nread));
    } else {
        size_t off = l->hs_nread - PREAMBLE_BYTES;
        *buf = uv_buf_init(l->hs + off, (unsigned)(l->hs_len - off));
    }
}

static void hs_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct link *l = s->data;
    struct tls_transport *t = l->t;
    (void)buf;
    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        link_abort(l, RAFT_NOCONNECTION);
        return;
    }
    l->hs_nread += (size_t)nread;
    if (l->hs_nread == PREAMBLE_BYTES) {
        l->hs_len = (size_t)le64toh(l->preamble[2]);
        if (le64toh(l->preamble[0]) != HANDSHAKE_PROTOCOL || l->hs_len == 0 ||
            l->hs_len > MAX_ADDRESS_BYTES || (l->hs = malloc(l->hs_len)) == NULL) {
            LOG_W("cluster", "raft tls: %s: bad raft handshake", l->peer);
            link_abort(l, RAFT_MALFORMED);
        }
        return;
    }
    if (l->hs_nread < PREAMBLE_BYTES + l->hs_len) {
        return;
    }
    uv_read_stop(s);
    if (refused(l)) {
        return;
    }
    l->hs[l->hs_len - 1] = '\0';
    uv_stream_t *stream = (uv_stream_t *)l->stream;
    l->stream = NULL;
    t->accept_cb(t->outer, (raft_id)le64toh(l->preamble[1]), l->hs, stream);
    free(l->hs); /* raft copied the address */
    l->hs = NULL;
}

static void log_failure(struct link *l, const char *errmsg)
{
    struct tls_transport *t = l->t;
    char key[300];
    /* Incoming peers are keyed without their ephemeral port. */
    snprintf(key, sizeof key, "%s %s", l->outgoing ? l->peer : "in", errmsg);
    uint64_t now = uv_now(t->loop);
    unsigned slot = 0;
    for (unsigned i = 0; i < 8; i++) {
        if (strcmp(key, t->logged[i].key) == 0) {
            slot = i;
            break;
        }
        if (t->logged[i].ms < t->logged[slot].ms) {
            slot = i; /* the oldest, unless the key is found */
        }
    }
    if (strcmp(key, t->logged[slot].key) == 0 && now - t->logged[slot].ms < LOG_REPEAT_MS) {
        t->logged[slot].repeats++;
        return;
    }
    unsigned repeats = strcmp(key, t->logged[slot].key) == 0 ? t->logged[slot].repeats : 0;
    LOG_W("cluster", "raft tls %s %s: %s (%u repeats held back)", l->outgoing ? "to" : "from",
          l->peer, errmsg, repeats);
    snprintf(t->logged[slot].key, sizeof t->logged[slot].key, "%s", key);
    t->logged[slot].ms = now;
    t->logged[slot].repeats = 0;
}

static void pump_ready_cb(struct tls_pump *p, int status, int app_fd, const char *errmsg)
{
    struct link *l = tls_pump_data(p);
    if (status != 0) {
        log_failure(l, errmsg);
        l->status = RAFT_NOCONNECTION; /* the pump closes itself */
        return;
    }
    l->stream = raft_malloc(sizeof *l->stream);
    if (l->stream == NULL) {
        close(app_fd);
        link_abort(l, RAFT_NOMEM);
        return;
    }
    uv_pipe_init(l->t->loop, l->stream, 0);
    l->stream->data = l;
    if (uv_pipe_open(l->stream, app_fd) != 0) {
        close(app_fd);
        link_abort(l, RAFT_NOCONNECTION);
        return;
    }
    if (refused(l)) {
        return;
    }
    int rv = l->outgoing ? send_handshake(l)
                         : uv_read_start((uv_stream_t *)l->stream, hs_alloc_cb, hs_read_cb);
    if (rv != 0) {
        link_abort(l, RAFT_NOCONNECTION);
    }
}

static void start_pump(struct link *l, bool is_server)
{
    uv_tcp_t *tcp = l->tcp;
    l->tcp = NULL; /* the pump owns it now, even on failure */
    uv_tcp_nodelay(tcp, 1);
    if (tls_pump_start(&l->pump, l->t->loop, l->t->ctx, is_server, (uv_stream_t *)tcp,
                       TLS_HANDSHAKE_TIMEOUT_MS, pump_ready_cb, pump_closed_cb, l) != 0) {
        link_abort(l, RAFT_NOMEM);
        link_maybe_free(l);
    }
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct link *l = req->data;
    if (l->status != 0) {
        return; /* aborted: the close callback finishes the link */
    }
    if (status != 0) {
        link_abort(l, RAFT_NOCONNECTION);
        return;
    }
    if (refused(l)) {
        return;
    }
    start_pump(l, false);
}

static void listen_cb(uv_stream_t *server, int status)
{
    struct tls_transport *t = server->data;
    if (status != 0) {
        return;
    }
    struct link *l = link_new(t, false);
    if (l == NULL) {
        return;
    }
    l->tcp = malloc(sizeof *l->tcp);
    if (l->tcp == NULL) {
        link_maybe_free(l);
        return;
    }
    uv_tcp_init(t->loop, l->tcp);
    l->tcp->data = l;
    if (uv_accept(server, (uv_stream_t *)l->tcp) != 0) {
        link_abort(l, RAFT_NOCONNECTION);
        return;
    }
    struct sockaddr_in sa;
    int len = sizeof sa;
    if (uv_tcp_getpeername(l->tcp, (struct sockaddr *)&sa, &len) == 0) {
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
        snprintf(l->peer, sizeof l->peer, "%s:%u", ip, ntohs(sa.sin_port));
    }
    if (refused(l)) {
        return;
    }
    start_pump(l, true);
}

static int t_init(struct raft_uv_transport *outer, raft_id id, const char *address)
{
    struct tls_transport *t = outer->impl;
    t->id = id;
    t->address = strdup(address);
    if (t->address == NULL) {
        return RAFT_NOMEM;
    }
    uv_tcp_init(t->loop, &t->listener);
    t->listener.data = t;
    t->listener_open = true;
    return 0;
}

static int t_listen(struct raft_uv_transport *outer, raft_uv_accept_cb cb)
{
    struct tls_transport *t = outer->impl;
    struct sockaddr_in sa;
    t->accept_cb = cb;
    if (addr_parse_ipv4(t->address, &sa) != 0) {
        snprintf(outer->errmsg, sizeof outer->errmsg, "bad raft address %s", t->address);
        return RAFT_INVALID;
    }
    int rv = uv_tcp_bind(&t->listener, (struct sockaddr *)&sa, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&t->listener, 128, listen_cb);
    }
    if (rv != 0) {
        snprintf(outer->errmsg, sizeof outer->errmsg, "listen %s: %s", t->address,
                 uv_strerror(rv));
        return RAFT_IOERR;
    }
    return 0;
}

static int t_connect(struct raft_uv_transport *outer, struct raft_uv_connect *req, raft_id id,
                     const char *address, raft_uv_connect_cb cb)
{
    struct tls_transport *t = outer->impl;
    struct sockaddr_in sa;
    (void)id;
    if (addr_parse_ipv4(address, &sa) != 0) {
        return RAFT_NOCONNECTION;
    }
    struct link *l = link_new(t, true);
    if (l == NULL) {
        return RAFT_NOMEM;
    }
    snprintf(l->peer, sizeof l->peer, "%s", address);
    l->tcp = malloc(sizeof *l->tcp);
    if (l->tcp == NULL) {
        link_maybe_free(l);
        return RAFT_NOMEM;
    }
    uv_tcp_init(t->loop, l->tcp);
    l->tcp->data = l;
    l->connect.data = l;
    if (uv_tcp_connect(&l->connect, l->tcp, (struct sockaddr *)&sa, connect_cb) != 0) {
        link_abort(l, RAFT_NOCONNECTION); /* req not set: no callback */
        return RAFT_NOCONNECTION;
    }
    req->cb = cb;
    l->req = req;
    return 0;
}

static void listener_closed_cb(uv_handle_t *h)
{
    struct tls_transport *t = h->data;
    t->listener_open = false;
    maybe_fire_close(t);
}

static void t_close(struct raft_uv_transport *outer, raft_uv_transport_close_cb cb)
{
    struct tls_transport *t = outer->impl;
    t->closing = true;
    t->close_cb = cb;
    if (t->listener_open && !uv_is_closing((uv_handle_t *)&t->listener)) {
        uv_close((uv_handle_t *)&t->listener, listener_closed_cb);
    }
    for (struct link *l = t->links; l != NULL; l = l->next) {
        link_abort(l, RAFT_CANCELED); /* closes are asynchronous: the list stays intact */
    }
    maybe_fire_close(t);
}

int tls_transport_init(struct raft_uv_transport *out, uv_loop_t *loop, SSL_CTX *ctx,
                       bool *fenced)
{
    struct tls_transport *t = calloc(1, sizeof *t);
    if (t == NULL) {
        SSL_CTX_free(ctx);
        return RAFT_NOMEM;
    }
    t->outer = out;
    t->loop = loop;
    t->ctx = ctx;
    t->fenced = fenced;
    out->impl = t;
    out->init = t_init;
    out->listen = t_listen;
    out->connect = t_connect;
    out->close = t_close;
    return 0;
}

void tls_transport_free(struct raft_uv_transport *out)
{
    struct tls_transport *t = out->impl;
    if (t == NULL) {
        return;
    }
    /* Never closed (start failed before raft ran): the process is exiting; the
     * listener, if any, goes with the loop. */
    if (t->listener_open && !t->closing) {
        return;
    }
    SSL_CTX_free(t->ctx);
    free(t->address);
    free(t);
    out->impl = NULL;
}

void tls_transport_cut(struct raft_uv_transport *out)
{
    struct tls_transport *t = out->impl;
    for (struct link *l = t->links; l != NULL; l = l->next) {
        if (l->pump != NULL) {
            tls_pump_cut(l->pump);
        }
    }
}
