/* Our raft transport: raft's stock TCP transport with TCP_NODELAY on every stream
 * (20 ms -> 2 ms commits, FIELD-NOTES) and a fence that refuses connections during
 * drills; or, when configured, mutual TLS between nodes (transport_tls.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "cluster_internal.h"
#include "transport_tls.h"

struct connect_wrap {
    struct raft_uv_connect inner_req;
    struct raft_uv_connect *user_req;
    struct fenced_transport *t;
};

static void stream_free_cb(uv_handle_t *h)
{
    raft_free(h);
}

static void on_accept(struct raft_uv_transport *inner, raft_id id, const char *address,
                      struct uv_stream_s *stream)
{
    struct fenced_transport *t = inner->data;
    if (*t->fenced) {
        uv_close((uv_handle_t *)stream, stream_free_cb);
        return;
    }
    uv_tcp_nodelay((uv_tcp_t *)stream, 1);
    t->accept_cb(&t->outer, id, address, stream);
}

static void on_connect(struct raft_uv_connect *req, struct uv_stream_s *stream, int status)
{
    struct connect_wrap *w = req->data;
    struct raft_uv_connect *user = w->user_req;
    struct fenced_transport *t = w->t;
    free(w);
    if (status == 0 && *t->fenced) {
        uv_close((uv_handle_t *)stream, stream_free_cb);
        stream = NULL;
        status = RAFT_NOCONNECTION;
    }
    if (status == 0) {
        uv_tcp_nodelay((uv_tcp_t *)stream, 1);
    }
    user->cb(user, stream, status);
}

static int t_init(struct raft_uv_transport *outer, raft_id id, const char *address)
{
    struct fenced_transport *t = outer->impl;
    int rv = t->inner.init(&t->inner, id, address);
    if (rv != 0) {
        memcpy(outer->errmsg, t->inner.errmsg, sizeof outer->errmsg);
    }
    return rv;
}

static int t_listen(struct raft_uv_transport *outer, raft_uv_accept_cb cb)
{
    struct fenced_transport *t = outer->impl;
    t->accept_cb = cb;
    int rv = t->inner.listen(&t->inner, on_accept);
    if (rv != 0) {
        memcpy(outer->errmsg, t->inner.errmsg, sizeof outer->errmsg);
    }
    return rv;
}

static int t_connect(struct raft_uv_transport *outer, struct raft_uv_connect *req, raft_id id,
                     const char *address, raft_uv_connect_cb cb)
{
    struct fenced_transport *t = outer->impl;
    struct connect_wrap *w = malloc(sizeof *w);
    if (w == NULL) {
        return RAFT_NOMEM;
    }
    req->cb = cb;
    w->user_req = req;
    w->t = t;
    w->inner_req.data = w;
    int rv = t->inner.connect(&t->inner, &w->inner_req, id, address, on_connect);
    if (rv != 0) {
        memcpy(outer->errmsg, t->inner.errmsg, sizeof outer->errmsg);
        free(w);
    }
    return rv;
}

static void on_inner_close(struct raft_uv_transport *inner)
{
    struct fenced_transport *t = inner->data;
    if (t->close_cb != NULL) {
        t->close_cb(&t->outer);
    }
}

static void t_close(struct raft_uv_transport *outer, raft_uv_transport_close_cb cb)
{
    struct fenced_transport *t = outer->impl;
    t->close_cb = cb;
    t->inner.close(&t->inner, on_inner_close);
}

int transport_init(struct fenced_transport *t, uv_loop_t *loop, bool *fenced,
                   const struct cluster_config *cfg, char *errmsg)
{
    memset(t, 0, sizeof *t);
    if (cfg->tls_cert[0] != '\0') {
        SSL_CTX *ctx = tls_ctx_new(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, errmsg);
        if (ctx == NULL) {
            return WAIHU_EINVAL;
        }
        int rv = tls_transport_init(&t->outer, loop, ctx, fenced);
        if (rv != 0) {
            snprintf(errmsg, 256, "raft transport: %s", raft_strerror(rv));
            return WAIHU_ENOMEM;
        }
        t->tls = true;
        return 0;
    }
    int rv = raft_uv_tcp_init(&t->inner, loop);
    if (rv != 0) {
        snprintf(errmsg, 256, "raft transport: %s", raft_strerror(rv));
        return WAIHU_EIO;
    }
    t->inner.data = t;
    t->fenced = fenced;
    t->outer.impl = t;
    t->outer.init = t_init;
    t->outer.listen = t_listen;
    t->outer.connect = t_connect;
    t->outer.close = t_close;
    return 0;
}

void transport_close(struct fenced_transport *t)
{
    if (t->tls) {
        tls_transport_free(&t->outer);
    } else {
        raft_uv_tcp_close(&t->inner);
    }
}

static bool addr_matches(const struct sockaddr_in *sa, const char *address)
{
    struct sockaddr_in want;
    return addr_parse_ipv4(address, &want) == 0 && sa->sin_addr.s_addr == want.sin_addr.s_addr &&
           sa->sin_port == want.sin_port;
}

/* A raft stream is a TCP handle whose local end is our raft port (accepted) or whose
 * remote end is a member's raft port (dialed). Shutting the socket down makes raft see
 * EOF and close the stream itself, so no handle is freed under its feet. */
static void cut_walk(uv_handle_t *h, void *arg)
{
    struct cluster *c = arg;
    if (h->type != UV_TCP || uv_is_closing(h)) {
        return;
    }
    struct sockaddr_in local, peer;
    int llen = sizeof local, plen = sizeof peer;
    if (uv_tcp_getpeername((uv_tcp_t *)h, (struct sockaddr *)&peer, &plen) != 0 ||
        peer.sin_family != AF_INET) {
        return; /* listeners and unconnected handles */
    }
    bool raft = false;
    if (uv_tcp_getsockname((uv_tcp_t *)h, (struct sockaddr *)&local, &llen) == 0 &&
        addr_matches(&local, c->config.self.raft_address)) {
        raft = true;
    }
    for (unsigned i = 0; !raft && i < c->raft.configuration.n; i++) {
        raft = addr_matches(&peer, c->raft.configuration.servers[i].address);
    }
    if (raft) {
        uv_os_fd_t fd;
        if (uv_fileno(h, &fd) == 0) {
            shutdown(fd, SHUT_RDWR);
        }
    }
}

void transport_cut(struct cluster *c)
{
    if (c->transport.tls) {
        tls_transport_cut(&c->transport.outer); /* the TCP handles are ours */
    } else {
        uv_walk(c->loop, cut_walk, c);
    }
}
