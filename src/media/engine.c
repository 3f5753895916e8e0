/* The core-loop side of the engine: port allocation, session handles, messages
 * to the workers and delivery of their events. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media_internal.h"

static void deliver(uv_async_t *handle);

void engine_post(struct media_engine *e, struct msg *m)
{
    msgq_push(&e->outbox, m);
}

int media_engine_new(uv_loop_t *loop, const struct media_engine_config *cfg,
                     struct media_engine **out)
{
    int rv = WAIHU_EINVAL;
    if (cfg->n_workers == 0 || cfg->n_workers > 64 || cfg->cb == NULL ||
        cfg->port_min > cfg->port_max)
        return WAIHU_EINVAL;
    struct media_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return WAIHU_ENOMEM;
    e->loop = loop;
    e->cb = cfg->cb;
    e->cb_data = cfg->cb_data;
    e->bind.sin_family = AF_INET;
    if (inet_pton(AF_INET, cfg->bind_ip ? cfg->bind_ip : "127.0.0.1", &e->bind.sin_addr) != 1) {
        LOG_E(MOD, "bind address %s: not an IPv4 literal", cfg->bind_ip);
        goto err_free;
    }
    e->port_min = (uint16_t)((cfg->port_min + 1u) & ~1u); /* RTP uses even ports */
    e->n_pairs = e->port_min <= cfg->port_max ? (cfg->port_max - e->port_min) / 2u + 1u : 0;
    if (e->n_pairs == 0)
        goto err_free;
    rv = WAIHU_ENOMEM;
    e->pair_busy = calloc(e->n_pairs, 1);
    e->workers = calloc(cfg->n_workers, sizeof(*e->workers));
    if (e->pair_busy == NULL || e->workers == NULL)
        goto err_free;
    if (msgq_init(&e->outbox, &e->wake) != 0)
        goto err_free;
    if (uv_async_init(loop, &e->wake, deliver) != 0) {
        rv = WAIHU_EIO;
        goto err_queue;
    }
    e->wake.data = e;
    for (unsigned i = 0; i < cfg->n_workers; i++) {
        rv = worker_start(&e->workers[i], e, i);
        if (rv != 0) {
            LOG_E(MOD, "worker %u: start failed: %s", i, waihu_strerror(rv));
            e->n_workers = i;
            media_engine_free(e);
            return rv;
        }
        e->n_workers = i + 1;
    }
    *out = e;
    return 0;
err_queue:
    msgq_close(&e->outbox);
err_free:
    free(e->pair_busy);
    free(e->workers);
    free(e);
    return rv;
}

static void engine_closed(uv_handle_t *h)
{
    struct media_engine *e = h->data;
    msgq_close(&e->outbox);
    free(e->pair_busy);
    free(e->workers);
    free(e);
}

void media_engine_free(struct media_engine *e)
{
    if (e == NULL)
        return;
    e->stopping = 1;
    for (unsigned i = 0; i < e->n_workers; i++)
        worker_stop(&e->workers[i]);
    /* Workers are gone: what they posted is dropped, every handle freed. */
    struct msg *m = msgq_take(&e->outbox);
    while (m != NULL) {
        struct msg *next = m->next;
        msg_free(m);
        m = next;
    }
    while (e->sessions != NULL) {
        struct media_session *s = e->sessions;
        e->sessions = s->next;
        free(s);
    }
    prompt_cache_free(e);
    uv_close((uv_handle_t *)&e->wake, engine_closed);
}

/* Binds a non-blocking UDP socket to port; returns the fd or -errno. */
static int bind_port(const struct media_engine *e, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = e->bind;
    a.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* Takes the next free even port from the cursor; skips ports others hold. */
static int alloc_port(struct media_engine *e, uint16_t *port, int *fd)
{
    for (uint32_t tries = 0; tries < e->n_pairs; tries++) {
        uint32_t i = e->cursor;
        e->cursor = (e->cursor + 1) % e->n_pairs;
        if (e->pair_busy[i])
            continue;
        uint16_t p = (uint16_t)(e->port_min + 2 * i);
        int rv = bind_port(e, p);
        if (rv == -EADDRINUSE)
            continue;
        if (rv < 0) {
            LOG_E(MOD, "bind udp %u: %s", p, strerror(-rv));
            return WAIHU_EIO;
        }
        e->pair_busy[i] = 1;
        *port = p;
        *fd = rv;
        return 0;
    }
    return WAIHU_ENOSPACE;
}

static void free_port(struct media_engine *e, uint16_t port)
{
    if (port != 0)
        e->pair_busy[(port - e->port_min) / 2] = 0;
}

int media_session_open(struct media_engine *e, const struct media_session_config *cfg,
                       struct media_session **out)
{
    int fd[2] = {-1, -1}, rv = WAIHU_ENOMEM;
    if (e->stopping)
        return WAIHU_ESHUTDOWN;
    struct media_session *s = calloc(1, sizeof(*s));
    struct wsession *ws = calloc(1, sizeof(*ws));
    struct msg *m = msg_new(MSG_OPEN);
    if (s == NULL || ws == NULL || m == NULL)
        goto err;
    for (int i = 0; i < 2; i++) {
        rv = alloc_port(e, &s->port[i], &fd[i]);
        if (rv != 0)
            goto err;
    }
    s->e = e;
    s->ws = ws;
    s->w = &e->workers[e->next_worker];
    e->next_worker = (e->next_worker + 1) % e->n_workers;
    if (cfg != NULL) {
        ws->cfg = *cfg;
        s->data = cfg->data;
    }
    ws->s = s;
    m->ws = ws;
    m->u.open.fd[0] = fd[0];
    m->u.open.fd[1] = fd[1];
    s->next = e->sessions;
    if (e->sessions != NULL)
        e->sessions->prev = s;
    e->sessions = s;
    msgq_push(&s->w->inbox, m); /* the worker now owns ws and the sockets */
    *out = s;
    return 0;
err:
    for (int i = 0; i < 2; i++) {
        if (fd[i] >= 0)
            close(fd[i]);
        if (s != NULL)
            free_port(e, s->port[i]);
    }
    free(m);
    free(ws);
    free(s);
    return rv;
}

uint16_t media_session_port(const struct media_session *s, enum media_leg leg)
{
    return s->port[leg == MEDIA_LEG_B];
}

void *media_session_data(const struct media_session *s)
{
    return s->data;
}

int engine_send(struct media_session *s, struct msg *m)
{
    if (m == NULL)
        return WAIHU_ENOMEM;
    if (s->close_sent) {
        msg_free(m);
        return WAIHU_EINVAL;
    }
    m->ws = s->ws;
    msgq_push(&s->w->inbox, m);
    return 0;
}

int media_session_set_remote(struct media_session *s, enum media_leg leg, const char *ip,
                             uint16_t port, enum media_codec codec, int telephone_event_pt)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if ((leg != MEDIA_LEG_A && leg != MEDIA_LEG_B) || ip == NULL ||
        inet_pton(AF_INET, ip, &a.sin_addr) != 1 || port == 0 ||
        (codec != MEDIA_PCMU && codec != MEDIA_PCMA) ||
        (telephone_event_pt != -1 && (telephone_event_pt < 96 || telephone_event_pt > 127)))
        return WAIHU_EINVAL;
    struct msg *m = msg_new(MSG_REMOTE);
    if (m != NULL) {
        m->u.remote.leg = leg;
        m->u.remote.addr = a;
        m->u.remote.codec = codec;
        m->u.remote.te_pt = telephone_event_pt;
    }
    return engine_send(s, m);
}

int media_session_record_start(struct media_session *s, const char *path,
                               const uint8_t key[MEDIA_REC_KEY_BYTES])
{
    if (path == NULL || key == NULL)
        return WAIHU_EINVAL;
    struct msg *m = msg_new(MSG_REC_START);
    if (m != NULL) {
        m->u.rec.path = strdup(path);
        if (m->u.rec.path == NULL) {
            msg_free(m);
            return WAIHU_ENOMEM;
        }
        memcpy(m->u.rec.key, key, MEDIA_REC_KEY_BYTES);
    }
    return engine_send(s, m);
}

int media_session_record_stop(struct media_session *s)
{
    return engine_send(s, msg_new(MSG_REC_STOP));
}

int media_session_amd_start(struct media_session *s, enum media_leg leg,
                            const struct media_amd_config *cfg)
{
    if (leg != MEDIA_LEG_A && leg != MEDIA_LEG_B)
        return WAIHU_EINVAL;
    struct msg *m = msg_new(MSG_AMD_START);
    if (m != NULL) {
        m->u.amd.leg = leg;
        if (cfg != NULL)
            m->u.amd.cfg = *cfg;
        else
            media_amd_config_default(&m->u.amd.cfg);
    }
    return engine_send(s, m);
}

void media_session_close(struct media_session *s)
{
    assert(!s->close_sent);
    prompt_cache_drop_session(s->e, s);
    struct msg *m = msg_new(MSG_CLOSE);
    if (m == NULL)
        waihu_fatal(MOD, "session close: out of memory");
    engine_send(s, m);
    s->close_sent = 1;
}

static void session_free(struct media_engine *e, struct media_session *s)
{
    free_port(e, s->port[0]);
    free_port(e, s->port[1]);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        e->sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    free(s);
}

static void deliver(uv_async_t *handle)
{
    struct media_engine *e = handle->data;
    struct msg *m = msgq_take(&e->outbox);
    while (m != NULL) {
        struct msg *next = m->next;
        struct media_event *ev = &m->u.event;
        if (!e->stopping)
            e->cb(e, ev, e->cb_data);
        /* The callback may have freed the engine: then every session is gone already. */
        if (!e->stopping && ev->type == MEDIA_EV_CLOSED)
            session_free(e, ev->session);
        msg_free(m);
        m = next;
    }
}
