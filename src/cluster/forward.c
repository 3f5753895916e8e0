/* Follower -> leader forwarding over a small framed TCP protocol on forward_address:
 *   frame = u32 length | u8 type | u64 request id | payload   (big-endian)
 * SUBMIT carries a packed Command, RESULT the store_result; READ_INDEX asks the leader
 * for a read barrier, READ_RESULT answers with the index to wait for locally.
 * FETCH/CHUNK is the snapshot side channel, served by every node from its checkpoint
 * dir: FETCH = u64 index | u64 offset | u32 max bytes | file name, CHUNK = i64 status |
 * bytes (none at end of file). The fetching side is a blocking client (restore runs
 * synchronously on the loop), see forward_fetch_file.
 * Why not raft's port: raft_uv owns it and its streams (docs/forwarding.md). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cluster_internal.h"

enum { F_SUBMIT = 1, F_RESULT = 2, F_READ_INDEX = 3, F_READ_RESULT = 4, F_FETCH = 5,
       F_CHUNK = 6 };
#define FRAME_HEAD 13 /* len + type + id */
#define FRAME_MAX (128 * 1024)
#define FETCH_HEAD 20 /* index + offset + max */
#define FETCH_CHUNK (64 * 1024)
#define FETCH_CONNECT_TIMEOUT_MS 3000
#define FETCH_IO_TIMEOUT_MS 10000 /* no byte for this long: the fetch fails */

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
    struct pending *next, *prev;
};

struct forwarder {
    uv_tcp_t listener;
    struct cluster *c;
    struct fconn *served;     /* accepted connections, closed on stop */
    struct fconn *leader;     /* client connection, NULL if none */
    uint64_t leader_id;
    uint64_t warned_leader;   /* last leader whose connect failure was logged */
    /* Requests sent or queued on the client connection, oldest first: answers come
     * back roughly in order, so a lookup from the head is short (a bulk import keeps
     * thousands in flight). */
    struct pending *pending, *pending_tail;
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
    /* code in a 4th word, the failed mutation condition in a 5th, a batch's applied and
     * conflicting item counts in a 6th, and in a 7th an index at or after the command's
     * entry, which the follower applies before answering its client (read your writes).
     * Older nodes send 32, 40 or 48 bytes. */
    uint8_t q[56];
    memcpy(q, p, 24);
    be64_put(q + 24, (uint64_t)(int64_t)r->code);
    be64_put(q + 32, r->failed_condition);
    be64_put(q + 40, (uint64_t)r->applied << 32 | r->conflicts);
    /* Called from inside the FSM's apply, where raft_last_applied still names the entry
     * before: the store's index is the one just applied. */
    uint64_t applied = store_applied_index(s->f->c->store);
    uint64_t raft_applied = raft_last_applied(&s->f->c->raft);
    be64_put(q + 48, applied > raft_applied ? applied : raft_applied);
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

static uint32_t get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Any node, leader or not: one chunk of a checkpoint file. The store refuses names
 * outside its finished checkpoint dirs. The pread runs on the loop (64 KiB, usually
 * from the page cache). */
static void serve_fetch(struct fconn *f, uint64_t id, const uint8_t *p, size_t n)
{
    uint8_t *out = malloc(8 + FETCH_CHUNK);
    char name[256] = "";
    uint64_t index = 0;
    size_t got = 0;
    int status = 0;
    if (out == NULL) {
        conn_close(f);
        return;
    }
    if (n <= FETCH_HEAD || n - FETCH_HEAD >= sizeof name ||
        memchr(p + FETCH_HEAD, 0, n - FETCH_HEAD) != NULL) {
        status = WAIHU_EINVAL;
    } else {
        index = be64_get(p);
        uint64_t offset = be64_get(p + 8);
        size_t max = get_u32(p + 16);
        memcpy(name, p + FETCH_HEAD, n - FETCH_HEAD);
        max = max < FETCH_CHUNK ? max : FETCH_CHUNK;
        int fd;
        status = store_checkpoint_open_file(f->c->store, index, name, &fd);
        if (status == 0) {
            ssize_t r = pread(fd, out + 8, max, (off_t)offset);
            status = r < 0 ? WAIHU_EIO : 0;
            got = r < 0 ? 0 : (size_t)r;
            close(fd);
        }
    }
    if (status != 0) {
        LOG_W("cluster", "forward: fetch of '%s' in snapshot %llu refused: %s", name,
              (unsigned long long)index, waihu_strerror(status));
    }
    be64_put(out, (uint64_t)(int64_t)status);
    conn_send(f, F_CHUNK, id, out, 8 + got);
    free(out);
}

static void serve_frame(struct fconn *f, int type, uint64_t id, const uint8_t *payload, size_t n)
{
    struct cluster *c = f->c;
    if (type == F_FETCH) {
        serve_fetch(f, id, payload, n);
        return;
    }
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
    for (struct pending *x = fw->pending; x != NULL; x = x->next) {
        if (x->id == id) {
            *(x->prev ? &x->prev->next : &fw->pending) = x->next;
            *(x->next ? &x->next->prev : &fw->pending_tail) = x->prev;
            return x;
        }
    }
    return NULL;
}

/* A forwarded command's result, held until this node has applied its entry: a client that
 * wrote through a follower then reads what it wrote from that follower. */
struct held_result {
    cluster_submit_cb cb;
    void *data;
    struct store_result r;
};

static void held_result_applied(void *data, int status)
{
    /* status != 0 (leadership lost, shutdown): the outcome is still known; answer it. */
    (void)status;
    struct held_result *h = data;
    h->cb(h->data, 0, &h->r);
    free(h);
}

static void client_frame(struct fconn *f, int type, uint64_t id, const uint8_t *p, size_t n)
{
    struct cluster *c = f->c;
    struct pending *pd = take_pending(c->fwd, id);
    if (pd == NULL) {
        return;
    }
    if (type == F_RESULT && (n == 32 || n == 40 || n == 48 || n == 56) && pd->type == F_SUBMIT) {
        int status = (int)(int64_t)be64_get(p);
        uint64_t counts = n >= 48 ? be64_get(p + 40) : 0;
        struct store_result r = {.code = (int)(int64_t)be64_get(p + 24),
                                 .version = be64_get(p + 8),
                                 .current_version = be64_get(p + 16),
                                 .failed_condition = n >= 40 ? (uint32_t)be64_get(p + 32) : 0,
                                 .applied = (uint32_t)(counts >> 32),
                                 .conflicts = (uint32_t)counts};
        if (status == 0) {
            submit_record_latency(c, pd->start_ms);
        }
        uint64_t index = n == 56 ? be64_get(p + 48) : 0;
        if (status == 0 && index > raft_last_applied(&c->raft)) {
            struct held_result *h = malloc(sizeof *h);
            if (h == NULL) {
                waihu_fatal("cluster", "out of memory");
            }
            *h = (struct held_result){.cb = pd->submit_cb, .data = pd->data, .r = r};
            read_wait_applied(c, index, held_result_applied, h);
        } else {
            pd->submit_cb(pd->data, status, status == 0 ? &r : NULL);
        }
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
    fw->pending_tail = NULL;
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
    pd->next = NULL;
    pd->prev = fw->pending_tail;
    *(fw->pending_tail ? &fw->pending_tail->next : &fw->pending) = pd;
    fw->pending_tail = pd;
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

/* ---- snapshot side channel, fetching side (blocking) ---- */

static int fetch_connect(const char *address, char *errmsg)
{
    struct sockaddr_in sa;
    if (addr_parse_ipv4(address, &sa) != 0) {
        snprintf(errmsg, 256, "forward address %s is not IPv4 host:port", address);
        return WAIHU_EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(errmsg, 256, "socket: %s", strerror(errno));
        return WAIHU_EIO;
    }
    int rv = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rv != 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof err;
        rv = poll(&pfd, 1, FETCH_CONNECT_TIMEOUT_MS);
        if (rv == 0) {
            snprintf(errmsg, 256, "connect to %s: timed out after %d ms", address,
                     FETCH_CONNECT_TIMEOUT_MS);
            close(fd);
            return WAIHU_ETIMEDOUT;
        }
        if (rv > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
            rv = 0;
        } else {
            errno = err ? err : errno;
            rv = -1;
        }
    }
    if (rv != 0) {
        snprintf(errmsg, 256, "connect to %s: %s", address, strerror(errno));
        close(fd);
        return WAIHU_EUNAVAILABLE;
    }
    int one = 1;
    struct timeval tv = {.tv_sec = FETCH_IO_TIMEOUT_MS / 1000,
                         .tv_usec = (FETCH_IO_TIMEOUT_MS % 1000) * 1000};
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* 0, WAIHU_ETIMEDOUT (SO_RCVTIMEO/SO_SNDTIMEO passed) or WAIHU_EIO. */
static int io_full(int fd, void *buf, size_t n, bool writing)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return WAIHU_ETIMEDOUT;
        }
        if (r <= 0) {
            return WAIHU_EIO;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Copies one file from the node at address into out (size bytes), chunk by chunk. */
static int fetch_from(const char *address, uint64_t index, const char *name, uint64_t size,
                      int out, char *errmsg)
{
    size_t nl = strlen(name);
    uint8_t req[FRAME_HEAD + FETCH_HEAD + 256];
    uint8_t *resp = malloc(FRAME_HEAD + 8 + FETCH_CHUNK);
    int fd = fetch_connect(address, errmsg);
    int rv = fd < 0 ? fd : 0;
    if (resp == NULL && rv == 0) {
        rv = WAIHU_ENOMEM;
        snprintf(errmsg, 256, "out of memory");
    }
    for (uint64_t off = 0, id = 1; rv == 0 && off < size; id++) {
        uint64_t want = size - off < FETCH_CHUNK ? size - off : FETCH_CHUNK;
        uint32_t len = (uint32_t)(9 + FETCH_HEAD + nl);
        uint8_t *p = req;
        p[0] = (uint8_t)(len >> 24);
        p[1] = (uint8_t)(len >> 16);
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        p[4] = F_FETCH;
        be64_put(p + 5, id);
        be64_put(p + FRAME_HEAD, index);
        be64_put(p + FRAME_HEAD + 8, off);
        p[FRAME_HEAD + 16] = (uint8_t)(want >> 24);
        p[FRAME_HEAD + 17] = (uint8_t)(want >> 16);
        p[FRAME_HEAD + 18] = (uint8_t)(want >> 8);
        p[FRAME_HEAD + 19] = (uint8_t)want;
        memcpy(p + FRAME_HEAD + FETCH_HEAD, name, nl);
        if ((rv = io_full(fd, req, 4 + len, true)) != 0 ||
            (rv = io_full(fd, resp, 4, false)) != 0) {
            break;
        }
        uint32_t rlen = get_u32(resp);
        if (rlen < 9 + 8 || rlen > 9 + 8 + FETCH_CHUNK) {
            snprintf(errmsg, 256, "%s answered a frame of %u bytes", address, rlen);
            rv = WAIHU_EIO;
            break;
        }
        if ((rv = io_full(fd, resp + 4, rlen, false)) != 0) {
            break;
        }
        int status = (int)(int64_t)be64_get(resp + FRAME_HEAD);
        size_t got = rlen - 9 - 8;
        if (resp[4] != F_CHUNK || be64_get(resp + 5) != id) {
            snprintf(errmsg, 256, "%s answered out of protocol", address);
            rv = WAIHU_EIO;
        } else if (status != 0) {
            snprintf(errmsg, 256, "%s refused: %s", address, waihu_strerror(status));
            rv = status;
        } else if (got == 0 || got > want) {
            snprintf(errmsg, 256, "%s: file ends at %llu of %llu bytes", address,
                     (unsigned long long)off, (unsigned long long)size);
            rv = WAIHU_ECORRUPT;
        } else if (write(out, resp + FRAME_HEAD + 8, got) != (ssize_t)got) {
            snprintf(errmsg, 256, "write: %s", strerror(errno));
            rv = WAIHU_EIO;
        }
        off += got;
    }
    if (rv == WAIHU_ETIMEDOUT) {
        snprintf(errmsg, 256, "%s: no answer for %d ms", address, FETCH_IO_TIMEOUT_MS);
    } else if (rv == WAIHU_EIO && errmsg[0] == '\0') {
        snprintf(errmsg, 256, "%s: connection lost", address);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(resp);
    return rv;
}

int forward_fetch_file(void *data, uint64_t origin, uint64_t index, const char *name,
                       uint64_t size_bytes, const char *out_path, char *errmsg)
{
    struct cluster *c = data;
    /* The node that made the checkpoint first; then the leader, which sent us the
     * manifest, then the configured members: a node keeps a copy of every checkpoint it
     * restored from (at start the leader is not known yet). */
    uint64_t candidates[2 + CLUSTER_MAX_MEMBERS] = {origin, 0};
    int n = 2;
    raft_id leader = 0;
    const char *leader_addr;
    if (c->raft_started) {
        raft_leader(&c->raft, &leader, &leader_addr);
    }
    candidates[1] = leader;
    for (int i = 0; i < c->config.n_members; i++) {
        candidates[n++] = c->config.members[i].id;
    }
    int rv = WAIHU_EUNAVAILABLE;
    char why[256] = "no node to fetch from";
    for (int i = 0; i < n; i++) {
        uint64_t id = candidates[i];
        char addr[CLUSTER_ADDR_MAX];
        bool seen = false;
        for (int j = 0; j < i; j++) {
            seen = seen || candidates[j] == id;
        }
        if (id == 0 || id == c->config.self.id || seen) {
            continue;
        }
        if (!node_forward_address(c, id, addr, sizeof addr)) {
            snprintf(why, sizeof why, "node %llu: forward address unknown",
                     (unsigned long long)id);
            continue;
        }
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (out < 0) {
            snprintf(why, sizeof why, "open %s: %s", out_path, strerror(errno));
            rv = WAIHU_EIO;
            break;
        }
        uint64_t start = clock_now_ms();
        why[0] = '\0';
        rv = fetch_from(addr, index, name, size_bytes, out, why);
        if (rv == 0 && fsync(out) != 0) {
            snprintf(why, sizeof why, "fsync %s: %s", out_path, strerror(errno));
            rv = WAIHU_EIO;
        }
        close(out);
        if (rv == 0) {
            LOG_D("cluster", "fetched %s of snapshot %llu from node %llu: %llu bytes, %llu ms",
                  name, (unsigned long long)index, (unsigned long long)id,
                  (unsigned long long)size_bytes, (unsigned long long)(clock_now_ms() - start));
            return 0;
        }
        LOG_W("cluster", "fetch %s of snapshot %llu from node %llu: %s", name,
              (unsigned long long)index, (unsigned long long)id, why);
    }
    snprintf(errmsg, 256, "fetch: %s", why);
    return rv;
}
