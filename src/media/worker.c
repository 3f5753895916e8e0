/* Media worker threads: one libuv loop each, owning its sessions and sockets.
 * The core loop reaches a worker only through its inbox. */
#include <stdlib.h>

#include "media_internal.h"

#define TICK_MS 20

static void handle_msg(struct worker *w, struct msg *m)
{
    struct wsession *ws = m->ws;
    switch (m->type) {
    case MSG_OPEN:
        wsession_attach(w, ws, m->u.open.fd);
        break;
    case MSG_REMOTE: {
        struct leg *l = &ws->legs[m->u.remote.leg];
        l->remote = m->u.remote.addr;
        l->codec = m->u.remote.codec;
        l->te_pt = m->u.remote.te_pt;
        if (!l->has_remote)
            l->last_voice_ms = uv_now(&w->loop); /* silence counts from now */
        l->has_remote = 1;
        break;
    }
    case MSG_REC_START:
        wsession_rec_start(ws, m->u.rec.path, m->u.rec.key);
        m->u.rec.path = NULL; /* taken */
        break;
    case MSG_REC_STOP:
        wsession_rec_stop(ws);
        break;
    case MSG_AMD_START:
        if (leg_amd_start(&ws->legs[m->u.amd.leg], &m->u.amd.cfg, uv_now(&w->loop)) != 0)
            LOG_W(MOD, "amd start failed on worker %u", w->index);
        break;
    case MSG_PLAY:
        play_start(&ws->legs[m->u.play.leg], m->u.play.prompt, &m->u.play.cfg, uv_now(&w->loop));
        m->u.play.prompt = NULL; /* taken */
        break;
    case MSG_PLAY_STOP:
        play_stop(&ws->legs[m->u.play.leg], 1);
        break;
    case MSG_CLOSE:
        wsession_close(ws);
        break;
    case MSG_STOP:
        w->stopping = 1;
        for (struct wsession *s = w->sessions, *next; s != NULL; s = next) {
            next = s->next;
            if (!s->closing)
                wsession_close(s);
        }
        uv_close((uv_handle_t *)&w->tick, NULL);
        uv_close((uv_handle_t *)&w->wake, NULL);
        break;
    case MSG_EVENT:
        break;
    }
}

static void on_wake(uv_async_t *h)
{
    struct worker *w = h->data;
    struct msg *m = msgq_take(&w->inbox);
    while (m != NULL) {
        struct msg *next = m->next;
        if (!w->stopping)
            handle_msg(w, m);
        msg_free(m);
        m = next;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct worker *w = t->data;
    uint64_t now = uv_now(&w->loop);
    for (struct wsession *ws = w->sessions; ws != NULL; ws = ws->next)
        if (!ws->closing)
            wsession_tick(ws, now);
}

static void run(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int worker_start(struct worker *w, struct media_engine *e, unsigned index)
{
    w->e = e;
    w->index = index;
    if (uv_loop_init(&w->loop) != 0)
        return WAIHU_EIO;
    if (msgq_init(&w->inbox, &w->wake) != 0)
        goto err_loop;
    /* Handles are set up before the thread starts, so no loop is shared. */
    if (uv_async_init(&w->loop, &w->wake, on_wake) != 0 || uv_timer_init(&w->loop, &w->tick) != 0)
        goto err_queue;
    w->wake.data = w;
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    if (uv_thread_create(&w->thread, run, w) != 0)
        goto err_queue;
    return 0;
err_queue:
    msgq_close(&w->inbox);
err_loop:
    uv_walk(&w->loop, (uv_walk_cb)uv_close, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    return WAIHU_EIO;
}

void worker_stop(struct worker *w)
{
    struct msg *m = msg_new(MSG_STOP);
    if (m == NULL)
        waihu_fatal(MOD, "worker %u stop: out of memory", w->index);
    msgq_push(&w->inbox, m);
    uv_thread_join(&w->thread);
    msgq_close(&w->inbox);
    if (uv_loop_close(&w->loop) != 0)
        LOG_E(MOD, "worker %u: loop closed with live handles", w->index);
}
