/* Follower -> leader forwarding over a small framed TCP protocol on forward_address:
 *   frame = u32 length | u8 type | u64 request id | payload   (big-endian)
 * SUBMIT carries a packed Command, RESULT the store_result; READ_INDEX asks the leader
 * for a read barrier, READ_RESULT answers with the index to wait for locally.
 * Why not raft's port: raft_uv owns it and its streams (docs/forwarding.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"

enum { F_SUBMIT = 1, F_RESULT = 2, F_READ_INDEX = 3, F_READ_RESULT = 4 };
#define FRAME_HEAD 13 /* len + type + id */
#define FRAME_MAX (128 * 1024)

struct fconn {
    uv_tcp_t tcp;
    struct cluster *c;
    int refs; /* one for the open handle (dropped when closed) + one per holder */
    bool closed;
    bool connected;
    bool client; /* our connection to the leader */
    uint8_t *rbuf;
    size_t rlen, rcap;
    struct fconn *next_served; /* leader side: every accepted connection */
};

struct pending {
    uint64_t id;
    int type;
    cluster_submit_cb submit_cb;
    cluster_read_cb read_cb;
    void *data;
    uint64_t start_ms;
    struct pending *next;
};

struct forwarder {
    uv_tcp_t listener;
    struct cluster *c;
    struct fconn *served;     /* accepted connections, closed on stop */
    struct fconn *leader;     /* client connection, NULL if none */
    uint64_t leader_id;
    uint64_t warned_leader;   /* last leader whose connect failure was logged */
    struct pending *pending;  /* requests sent or queued on the client connection */
    uint8_t *outbox;          /* frames waiting for connect */
    size_t outlen;
    uint64_t next_id;
};

static void conn_unref(struct fconn *f)
{
    if (--f->refs == 0) {
        struct forwarder *fw = f->client ? NULL : f->c->fwd;
        for (struct fconn **p = fw ? &fw->served : NULL; p != NULL && *p != NULL;
             p = &(*p)->next_served) {
            if (*p == f) {
                *p = f->next_served;
                break;
            }
        }
        free(f->rbuf);
        free(f);
    }
}

static void conn_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void conn_close(struct fconn *f)
{
    if (!f->closed) {
        f->closed = true;
        uv_close((uv_handle_t *)&f->tcp, conn_closed);
    }
}

struct wreq {
    uv_write_t w;
    uint8_t data[];
};

static void write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void conn_send(struct fconn *f, int type, uint64_t id, const void *payload, size_t n)
{
    if (f->closed) {
        return;
    }
    struct wreq *r = malloc(sizeof *r + FRAME_HEAD + n);
    if (r == NULL) {
        conn_close(f);
        return;
    }
    uint8_t *p = r->data;
    uint32_t len = (uint32_t)(1 + 8 + n);
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[4] = (uint8_t)type;
    be64_put(p + 5, id);
    if (n > 0) {
        memcpy(p + FRAME_HEAD, payload, n);
    }
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)(FRAME_HEAD + n));
    if (uv_write(&r->w, (uv_stream_t *)&f->tcp, &b, 1, write_done) != 0) {
        free(r);
        conn_close(f);
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct fconn *f = h->data;
    (void)suggested;
    if (f->rcap - f->rlen < 65536) {
        size_t cap = f->rcap ? f->rcap * 2 : 131072;
        uint8_t *p = realloc(f->rbuf, cap);
        if (p == NULL) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        f->rbuf = p;
        f->rcap = cap;
    }
    *buf = uv_buf_init((char *)f->rbuf + f->rlen, (unsigned)(f->rcap - f->rlen));
}

/* ---- leader side ---- */

struct served {
    struct fconn *f;
    uint64_t id;
};

static void served_submit_cb(void *data, int status, const struct store_result *r)
{
    struct served *s = data;
    uint8_t p[24];
    struct store_result empty = {0};
    if (r == NULL) {
        r = &empty;
    }
    be64_put(p, (uint64_t)(int64_t)status);
    be64_put(p + 8, r->version);
    be64_put(p + 16, r->current_version);
    /* code travels in the top of a 4th word to keep the frame fixed-size */
    uint8_t q[32];
    memcpy(q, p, 24);
    be64_put(q + 24, (uint64_t)(int64_t)r->code);
    conn_send(s->f, F_RESULT, s->id, q, sizeof q);
    conn_unref(s->f);
    free(s);
}

static void served_read_cb(void *data, int status)
{
    struct served *s = data;
    uint8_t p[16];
    be64_put(p, (uint64_t)(int64_t)status);
    be64_put(p + 8, raft_last_applied(&s->f->c->raft));
    conn_send(s->f, F_READ_RESULT, s->id, p, sizeof p);
    conn_unref(s->f);
    free(s);
}

static void serve_frame(struct fconn *f, int type, uint64_t id, const uint8_t *payload, size_t n)
{
    struct cluster *c = f->c;
    struct served *s = malloc(sizeof *s);
    if (s == NULL) {
        conn_close(f);
        return;
    }
    s->f = f;
    s->id = id;
    f->refs++;
    bool serving = node_is_leader(c) && !c->fenced && !c->stopping;
    if (type == F_SUBMIT) {
        if (!serving) {
            served_submit_cb(s, WAIHU_EUNAVAILABLE, NULL);
        } else {
            submit_local(c, payload, n, served_submit_cb, s);
        }
    } else if (type == F_READ_INDEX) {
        if (!serving || !c->ready) {
            served_read_cb(s, WAIHU_EUNAVAILABLE);
        } else {
            read_local_barrier(c, served_read_cb, s);
        }
    } else {
        conn_unref(f);
        free(s);
        conn_close(f);
    }
}

/* ---- follower side ---- */

static struct pending *take_pending(struct forwarder *fw, uint64_t id)
{
    for (struct pending **p = &fw->pending; *p != NULL; p = &(*p)->next) {
        if ((*p)->id == id) {
            struct pending *x = *p;
            *p = x->next;
            return x;
        }
    }
    return NULL;
}

static void client_frame(struct fconn *f, int type, uint64_t id, const uint8_t *p, size_t n)
{
    struct cluster *c = f->c;
    struct pending *pd = take_pending(c->fwd, id);
    if (pd == NULL) {
        return;
    }
    if (type == F_RESULT && n == 32 && pd->type == F_SUBMIT) {
        int status = (int)(int64_t)be64_get(p);
        struct store_result r = {.code = (int)(int64_t)be64_get(p + 24),
                                 .version = be64_get(p + 8),
                                 .current_version = be64_get(p + 16)};
        if (status == 0) {
            submit_record_latency(c, pd->start_ms);
        }
        pd->submit_cb(pd->data, status, status == 0 ? &r : NULL);
    } else if (type == F_READ_RESULT && n == 16 && pd->type == F_READ_INDEX) {
        int status = (int)(int64_t)be64_get(p);
        if (status != 0) {
            pd->read_cb(pd->data, status);
        } else {
            read_wait_applied(c, be64_get(p + 8), pd->read_cb, pd->data);
        }
    } else {
        /* protocol mismatch: treat as unknown outcome */
        if (pd->type == F_SUBMIT) {
            pd->submit_cb(pd->data, WAIHU_ETIMEDOUT, NULL);
        } else {
            pd->read_cb(pd->data, WAIHU_EUNAVAILABLE);
        }
    }
    free(pd);
}

/* A broken connection: for the current leader link, everything pending on it fails. */
static void conn_fail(struct fconn *f)
{
    struct forwarder *fw = f->c->fwd;
    if (f->client && fw != NULL && fw->leader == f) {
        forward_leader_changed(f->c);
    } else {
        conn_close(f);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct fconn *f = s->data;
    (void)buf;
    if (nread < 0) {
        conn_fail(f);
        return;
    }
    f->rlen += (size_t)nread;
    size_t off = 0;
    f->refs++; /* frames may close f */
    while (!f->closed && f->rlen - off >= 4) {
        const uint8_t *p = f->rbuf + off;
        uint32_t len = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        if (len < 9 || len > FRAME_MAX) {
            LOG_W("cluster", "forward: bad frame of %u bytes, closing", len);
            conn_fail(f);
            break;
        }
        if (f->rlen - off < 4 + (size_t)len) {
            break;
        }
        int type = p[4];
        uint64_t id = be64_get(p + 5);
        if (f->client) {
            client_frame(f, type, id, p + FRAME_HEAD, len - 9);
        } else {
            serve_frame(f, type, id, p + FRAME_HEAD, len - 9);
        }
        off += 4 + len;
    }
    if (!f->closed) {
        memmove(f->rbuf, f->rbuf + off, f->rlen - off);
        f->rlen -= off;
    }
    conn_unref(f);
}

static void fail_pending(struct forwarder *fw)
{
    struct pending *p = fw->pending;
    fw->pending = NULL;
    while (p != NULL) {
        struct pending *next = p->next;
        if (p->type == F_SUBMIT) {
            /* It may have reached the leader: the client retries with its seq. */
            p->submit_cb(p->data, WAIHU_ETIMEDOUT, NULL);
        } else {
            p->read_cb(p->data, WAIHU_EUNAVAILABLE);
        }
        free(p);
        p = next;
    }
}

void forward_leader_changed(struct cluster *c)
{
    struct forwarder *fw = c->fwd;
    if (fw == NULL) {
        return;
    }
    if (fw->leader != NULL) {
        struct fconn *f = fw->leader;
        fw->leader = NULL;
        conn_close(f);
        conn_unref(f);
    }
    free(fw->outbox);
    fw->outbox = NULL;
    fw->outlen = 0;
    fail_pending(fw);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct fconn *f = req->data;
    free(req);
    struct cluster *c = f->c;
    struct forwarder *fw = c->fwd;
    if (f->closed || fw == NULL || fw->leader != f) {
        conn_unref(f);
        return;
    }
    conn_unref(f);
    if (status != 0) {
        /* Once per leader: during an election every request would log it otherwise. */
        if (fw->warned_leader != fw->leader_id) {
            fw->warned_leader = fw->leader_id;
            LOG_W("cluster", "forward: connect to leader %llu: %s",
                  (unsigned long long)fw->leader_id, uv_strerror(status));
        }
        forward_leader_changed(c);
        return;
    }
    f->connected = true;
    uv_tcp_nodelay(&f->tcp, 1);
    uv_read_start((uv_stream_t *)&f->tcp, alloc_cb, on_read);
    if (fw->outlen > 0) {
        uv_buf_t b = uv_buf_init((char *)fw->outbox, (unsigned)fw->outlen);
        struct wreq *r = malloc(sizeof *r + fw->outlen);
        if (r != NULL) {
            memcpy(r->data, fw->outbox, fw->outlen);
            b = uv_buf_init((char *)r->data, (unsigned)fw->outlen);
            if (uv_write(&r->w, (uv_stream_t *)&f->tcp, &b, 1, write_done) != 0) {
                free(r);
            }
        }
        free(fw->outbox);
        fw->outbox = NULL;
        fw->outlen = 0;
    }
}


static struct fconn *leader_conn(struct cluster *c)
{
    struct forwarder *fw = c->fwd;
    if (fw->leader != NULL && fw->leader_id == c->last_leader) {
        return fw->leader;
    }
    forward_leader_changed(c);
    char addr[CLUSTER_ADDR_MAX];
    struct sockaddr_in sa;
    if (!node_forward_address(c, c->last_leader, addr, sizeof addr) || addr_parse_ipv4(addr, &sa)) {
        return NULL;
    }
    struct fconn *f = calloc(1, sizeof *f);
    uv_connect_t *req = malloc(sizeof *req);
    if (f == NULL || req == NULL) {
        free(f);
        free(req);
        return NULL;
    }
    f->c = c;
    f->client = true;
    f->refs = 3; /* the open handle + fw->leader + connect request */
    uv_tcp_init(c->loop, &f->tcp);
    f->tcp.data = f;
    req->data = f;
    if (uv_tcp_connect(req, &f->tcp, (struct sockaddr *)&sa, on_connect) != 0) {
        free(req);
        f->refs = 1;
        conn_close(f);
        return NULL;
    }
    fw->leader = f;
    fw->leader_id = c->last_leader;
    return f;
}

static int client_send(struct cluster *c, int type, const uint8_t *payload, size_t n,
                       struct pending *pd)
{
    struct forwarder *fw = c->fwd;
    struct fconn *f = leader_conn(c);
    if (f == NULL) {
        return WAIHU_EUNAVAILABLE;
    }
    pd->id = ++fw->next_id;
    pd->type = type;
    pd->start_ms = clock_now_ms();
    pd->next = fw->pending;
    fw->pending = pd;
    if (f->connected) {
        conn_send(f, type, pd->id, payload, n);
        return 0;
    }
    uint8_t *ob = realloc(fw->outbox, fw->outlen + FRAME_HEAD + n);
    if (ob == NULL) {
        take_pending(fw, pd->id);
        return WAIHU_EUNAVAILABLE;
    }
    fw->outbox = ob;
    uint8_t *p = ob + fw->outlen;
    uint32_t len = (uint32_t)(9 + n);
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[4] = (uint8_t)type;
    be64_put(p + 5, pd->id);
    if (n > 0) {
        memcpy(p + FRAME_HEAD, payload, n);
    }
    fw->outlen += FRAME_HEAD + n;
    return 0;
}

void forward_submit(struct cluster *c, const uint8_t *cmd, size_t len, cluster_submit_cb cb,
                    void *data)
{
    struct pending *pd = calloc(1, sizeof *pd);
    if (pd == NULL) {
        cb(data, WAIHU_EUNAVAILABLE, NULL);
        return;
    }
    pd->submit_cb = cb;
    pd->data = data;
    if (client_send(c, F_SUBMIT, cmd, len, pd) != 0) {
        free(pd);
        cb(data, WAIHU_EUNAVAILABLE, NULL);
    }
}

void forward_read_index(struct cluster *c, cluster_read_cb cb, void *data)
{
    struct pending *pd = calloc(1, sizeof *pd);
    if (pd == NULL) {
        cb(data, WAIHU_EUNAVAILABLE);
        return;
    }
    pd->read_cb = cb;
    pd->data = data;
    if (client_send(c, F_READ_INDEX, NULL, 0, pd) != 0) {
        free(pd);
        cb(data, WAIHU_EUNAVAILABLE);
    }
}

/* ---- listener ---- */

static void on_connection(uv_stream_t *server, int status)
{
    struct forwarder *fw = server->data;
    struct cluster *c = fw->c;
    if (status != 0) {
        return;
    }
    struct fconn *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return;
    }
    f->c = c;
    f->refs = 1;
    f->next_served = fw->served;
    fw->served = f;
    uv_tcp_init(c->loop, &f->tcp);
    f->tcp.data = f;
    if (uv_accept(server, (uv_stream_t *)&f->tcp) != 0 || c->fenced) {
        conn_close(f);
        return;
    }
    f->connected = true;
    uv_tcp_nodelay(&f->tcp, 1);
    uv_read_start((uv_stream_t *)&f->tcp, alloc_cb, on_read);
}

int forward_start(struct cluster *c, char *errmsg)
{
    struct forwarder *fw = calloc(1, sizeof *fw);
    struct sockaddr_in sa;
    if (fw == NULL) {
        snprintf(errmsg, 256, "out of memory");
        return WAIHU_ENOMEM;
    }
    if (addr_parse_ipv4(c->config.self.forward_address, &sa) != 0) {
        snprintf(errmsg, 256, "forward_address %s: not an IPv4 host:port",
                 c->config.self.forward_address);
        free(fw);
        return WAIHU_EINVAL;
    }
    fw->c = c;
    uv_tcp_init(c->loop, &fw->listener);
    fw->listener.data = fw;
    int rv = uv_tcp_bind(&fw->listener, (struct sockaddr *)&sa, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&fw->listener, 128, on_connection);
    }
    if (rv != 0) {
        snprintf(errmsg, 256, "forward_address %s: %s", c->config.self.forward_address,
                 uv_strerror(rv));
        uv_close((uv_handle_t *)&fw->listener, NULL);
        /* fw leaks deliberately: the handle closes on the next loop turn, the process exits */
        return WAIHU_EIO;
    }
    c->fwd = fw;
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Closes the listener and every connection; their memory goes with their handles. */
void forward_stop(struct cluster *c)
{
    struct forwarder *fw = c->fwd;
    if (fw == NULL) {
        return;
    }
    forward_leader_changed(c);
    for (struct fconn *f = fw->served; f != NULL; f = f->next_served) {
        f->client = true; /* detach: unref must not walk fw->served any more */
        conn_close(f);
    }
    fw->served = NULL;
    c->fwd = NULL;
    uv_close((uv_handle_t *)&fw->listener, listener_closed);
}
