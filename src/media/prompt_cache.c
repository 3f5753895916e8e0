/* The core-loop side of playback: prompt files read once on the libuv thread pool and kept
 * by path, plays waiting for their file, and the play/stop messages to the workers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media_internal.h"

/* A play waiting for its file to load. */
struct prompt_wait {
    struct prompt_wait *next;
    struct media_session *s;
    enum media_leg leg;
    struct media_play_config cfg;
};

struct prompt_entry {
    struct prompt_entry *next;
    struct media_engine *e; /* NULL once the engine is gone while the file was loading */
    uv_work_t work;
    int loading, forget;
    struct media_prompt *prompt; /* set once loaded */
    int err;
    char errmsg[256];
    struct prompt_wait *waits; /* oldest first */
    char path[];
};

static struct prompt_entry **find(struct media_engine *e, const char *path)
{
    struct prompt_entry **p = &e->prompts;
    while (*p != NULL && strcmp((*p)->path, path) != 0)
        p = &(*p)->next;
    return p;
}

/* ENDED without a start, through the outbox like the workers' events (so it precedes the
 * session's MEDIA_EV_CLOSED). */
static void post_ended(struct media_engine *e, struct media_session *s, enum media_leg leg,
                       uint32_t id, int err)
{
    struct msg *m = msg_new(MSG_EVENT);
    if (m == NULL) {
        LOG_E(MOD, "prompt event lost: out of memory");
        return;
    }
    m->u.event.type = MEDIA_EV_PROMPT;
    m->u.event.session = s;
    m->u.event.leg = leg;
    m->u.event.u.prompt.id = id;
    m->u.event.u.prompt.phase = MEDIA_PROMPT_ENDED;
    m->u.event.u.prompt.err = err;
    engine_post(e, m);
}

/* Hands a play to the session's worker with a new reference to p. */
static void send_play(struct media_session *s, enum media_leg leg, struct media_prompt *p,
                      const struct media_play_config *cfg)
{
    struct msg *m = msg_new(MSG_PLAY);
    if (m == NULL) {
        post_ended(s->e, s, leg, cfg->id, WAIHU_ENOMEM);
        return;
    }
    m->u.play.leg = leg;
    m->u.play.prompt = media_prompt_ref(p);
    m->u.play.cfg = *cfg;
    if (engine_send(s, m) != 0) /* frees m and its reference */
        post_ended(s->e, s, leg, cfg->id, WAIHU_EINVAL);
}

static void entry_free(struct prompt_entry *en)
{
    while (en->waits != NULL) {
        struct prompt_wait *w = en->waits;
        en->waits = w->next;
        free(w);
    }
    media_prompt_unref(en->prompt);
    free(en);
}

static void load_work(uv_work_t *req)
{
    struct prompt_entry *en = req->data;
    en->err = media_prompt_load(en->path, &en->prompt, en->errmsg, sizeof(en->errmsg));
}

static void load_done(uv_work_t *req, int status)
{
    struct prompt_entry *en = req->data;
    struct media_engine *e = en->e;
    if (e == NULL) { /* the engine was freed meanwhile */
        entry_free(en);
        return;
    }
    en->loading = 0;
    if (status != 0 && en->err == 0) {
        en->err = WAIHU_EIO;
        snprintf(en->errmsg, sizeof(en->errmsg), "%s: %s", en->path, uv_strerror(status));
    }
    if (en->err != 0)
        LOG_W(MOD, "prompt %s", en->errmsg);
    else
        LOG_I(MOD, "prompt %s: %u ms loaded", en->path, media_prompt_duration_ms(en->prompt));
    struct prompt_wait *w = en->waits;
    en->waits = NULL;
    while (w != NULL) {
        struct prompt_wait *next = w->next;
        if (en->err != 0)
            post_ended(e, w->s, w->leg, w->cfg.id, en->err);
        else
            send_play(w->s, w->leg, en->prompt, &w->cfg);
        free(w);
        w = next;
    }
    if (en->err != 0 || en->forget) { /* failures are not cached: the file may appear */
        struct prompt_entry **p = find(e, en->path);
        if (*p == en)
            *p = en->next;
        entry_free(en);
    }
}

/* The entry of path, loading it if it is not cached. NULL: out of memory. */
static struct prompt_entry *entry_get(struct media_engine *e, const char *path)
{
    struct prompt_entry **p = find(e, path);
    if (*p != NULL)
        return *p;
    size_t n = strlen(path) + 1;
    struct prompt_entry *en = calloc(1, sizeof(*en) + n);
    if (en == NULL)
        return NULL;
    memcpy(en->path, path, n);
    en->e = e;
    en->loading = 1;
    en->work.data = en;
    if (uv_queue_work(e->loop, &en->work, load_work, load_done) != 0) {
        free(en);
        return NULL;
    }
    en->next = e->prompts;
    e->prompts = en;
    return en;
}

/* Ends the plays of s (on leg, or on both when leg < 0) still waiting for a file. */
static void drop_waits(struct media_engine *e, struct media_session *s, int leg)
{
    for (struct prompt_entry *en = e->prompts; en != NULL; en = en->next) {
        for (struct prompt_wait **p = &en->waits; *p != NULL;) {
            struct prompt_wait *w = *p;
            if (w->s == s && (leg < 0 || (int)w->leg == leg)) {
                *p = w->next;
                post_ended(e, s, w->leg, w->cfg.id, 0);
                free(w);
            } else {
                p = &w->next;
            }
        }
    }
}

int media_engine_prompt_preload(struct media_engine *e, const char *path)
{
    if (path == NULL || path[0] == '\0')
        return WAIHU_EINVAL;
    if (e->stopping)
        return WAIHU_ESHUTDOWN;
    return entry_get(e, path) != NULL ? 0 : WAIHU_ENOMEM;
}

void media_engine_prompt_forget(struct media_engine *e, const char *path)
{
    struct prompt_entry **p = find(e, path);
    struct prompt_entry *en = *p;
    if (en == NULL)
        return;
    if (en->loading) {
        en->forget = 1; /* serves its waiting plays, then goes */
        return;
    }
    *p = en->next;
    entry_free(en);
}

int media_session_play(struct media_session *s, enum media_leg leg, const char *path,
                       const struct media_play_config *cfg)
{
    struct media_play_config zero = {0};
    if ((leg != MEDIA_LEG_A && leg != MEDIA_LEG_B) || path == NULL || path[0] == '\0' ||
        s->close_sent || s->e->stopping)
        return WAIHU_EINVAL;
    if (cfg == NULL)
        cfg = &zero;
    struct prompt_entry *en = entry_get(s->e, path);
    if (en == NULL)
        return WAIHU_ENOMEM;
    drop_waits(s->e, s, (int)leg); /* an older play still waiting is replaced */
    if (en->prompt != NULL) {
        send_play(s, leg, en->prompt, cfg);
        return 0;
    }
    struct prompt_wait *w = calloc(1, sizeof(*w)), **tail = &en->waits;
    if (w == NULL)
        return WAIHU_ENOMEM;
    w->s = s;
    w->leg = leg;
    w->cfg = *cfg;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = w;
    return 0;
}

int media_session_play_stop(struct media_session *s, enum media_leg leg)
{
    if (leg != MEDIA_LEG_A && leg != MEDIA_LEG_B)
        return WAIHU_EINVAL;
    drop_waits(s->e, s, (int)leg);
    struct msg *m = msg_new(MSG_PLAY_STOP);
    if (m != NULL)
        m->u.play.leg = leg;
    return engine_send(s, m);
}

void prompt_cache_drop_session(struct media_engine *e, struct media_session *s)
{
    drop_waits(e, s, -1);
}

void prompt_cache_free(struct media_engine *e)
{
    while (e->prompts != NULL) {
        struct prompt_entry *en = e->prompts;
        e->prompts = en->next;
        if (en->loading) {
            en->e = NULL; /* load_done frees it (cancelled or not) */
            while (en->waits != NULL) {
                struct prompt_wait *w = en->waits;
                en->waits = w->next;
                free(w);
            }
            uv_cancel((uv_req_t *)&en->work);
        } else {
            entry_free(en);
        }
    }
}
