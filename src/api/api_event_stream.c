/* The live event stream (docs/events.md "Live stream"): WebSocket /v1/events/stream. The
 * client's first message is {"token", "after", "types"}; it then gets the log after `after`
 * (replayed a page per loop turn) and, once the replay reached the end, every event this
 * node applies (a watcher of the event family), in seq order. Each client keeps the
 * position it was served up to, so replay and live neither skip nor repeat an event:
 * while a client replays, live events are left to the replay (they are in the store
 * already); a replay that comes back short turns live in the same loop turn, and applies
 * run on this thread too, so nothing lands in between. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"

#define EVS_PATH "/v1/events/stream"
#define EVS_MAX_MESSAGE 4096
#define EVS_AUTH_MS 5000
#define EVS_TICK_MS 1000
#define EVS_PING_MS 10000
#define EVS_PAGE_EVENTS 500 /* events scanned per client and loop turn */
/* A replay stops filling a client's queue here and waits for it to drain: a reader as
 * fast as the network is not closed as too slow, and there is room for live events. */
#define EVS_REPLAY_QUEUE_BYTES (256 * 1024)
#define EVS_REPLAY_WAIT_MS 2
#define EVS_STALL_MS 30000 /* a replay nobody reads for this long is closed */
#define EVS_MAX_TYPES 32
#define EVS_TYPE_BYTES 64

#define FIRST_MESSAGE                                                                              \
    "the first message must be {\"token\": ..., \"after\": seq (optional), "                       \
    "\"types\": [...] (optional)}"

enum evs_state {
    EVS_AUTH,    /* waiting for the first message */
    EVS_BARRIER, /* token unknown here: waiting to catch up with the leader */
    EVS_REPLAY,  /* reading the log, a page per loop turn */
    EVS_LIVE,    /* sent what the watcher tells */
};

struct evs_client {
    struct api_event_stream *es;
    struct http_ws *ws; /* NULL once gone while a read barrier still holds the client */
    enum evs_state state;
    bool closing;
    bool has_after;
    struct auth_principal who;
    char *token;                   /* kept during the barrier */
    uint64_t pos;                  /* every event up to here was sent, if visible and wanted */
    uint64_t last_sent;            /* seq of the last event sent (log lines) */
    char (*types)[EVS_TYPE_BYTES]; /* NULL: every type */
    size_t n_types;
    unsigned page_n;
    int64_t opened_ms, pinged_ms, blocked_ms;
    struct evs_client *next;
};

struct api_event_stream {
    struct api *a;
    struct evs_client *clients;
    uv_timer_t tick;  /* first-message deadline, pings */
    uv_idle_t replay; /* one page per replaying client per loop turn */
    uv_timer_t retry; /* while every replaying client waits for its queue to drain */
    int open_handles;
};

static void client_free(struct evs_client *c)
{
    free(c->token);
    free(c->types);
    free(c);
}

static void client_close(struct evs_client *c, int code, const char *why)
{
    if (!c->closing) {
        c->closing = true;
        LOG_I("events", "closing an event stream client (%s%s, last seq sent %llu): %s",
              c->state >= EVS_REPLAY ? "user " : "",
              c->state >= EVS_REPLAY ? c->who.user : "not authenticated",
              (unsigned long long)c->last_sent, why);
        http_ws_close(c->ws, code, why);
    }
}

/* 0, or the client is closing. */
static int client_send(struct evs_client *c, const char *text)
{
    int rv = http_ws_send(c->ws, text, strlen(text));
    if (rv == WAIHU_ETOOBIG) {
        client_close(c, 1008,
                     "too slow: over 1 MiB of events not read; reconnect with "
                     "after=<the last seq received>");
    } else if (rv == WAIHU_ENOMEM) {
        client_close(c, 1011, "out of memory");
    }
    return rv;
}

static void send_json(struct evs_client *c, json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        client_close(c, 1011, "out of memory");
        return;
    }
    client_send(c, text);
    free(text);
}

/* The position of everything applied here: the next entry's events sort after it. */
static uint64_t applied_position(struct api *a)
{
    return (store_applied_index(a->store) + 1) * STORE_SEQ_PER_ENTRY - 1;
}

static bool wanted(const struct evs_client *c, const char *type)
{
    for (size_t i = 0; i < c->n_types; i++) {
        if (strcmp(c->types[i], type) == 0) {
            return true;
        }
    }
    return c->n_types == 0;
}

/* Moves c past seq, sending e if c may see it. *text caches the message for the next
 * client (the same for everyone); the caller frees it. */
static void deliver(struct evs_client *c, const Event *e, uint64_t seq, char **text)
{
    if (seq <= c->pos) {
        return; /* replayed already, or before the client's `after` */
    }
    c->pos = seq;
    if (!api_event_visible(&c->who, e) || !wanted(c, e->type)) {
        return;
    }
    if (*text == NULL) {
        json_t *doc = json_pack("{s:s, s:o}", "type", "event", "event", api_event_json(e, seq));
        *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (*text == NULL) {
            client_close(c, 1011, "out of memory");
            return;
        }
    }
    if (client_send(c, *text) == 0) {
        c->last_sent = seq;
    }
}

/* ---- replay ---- */

static int replay_one(void *data, const Event *e, uint64_t seq)
{
    struct evs_client *c = data;
    char *text = NULL;
    deliver(c, e, seq, &text);
    free(text);
    if (c->closing || ++c->page_n >= EVS_PAGE_EVENTS ||
        http_ws_queued_bytes(c->ws) >= EVS_REPLAY_QUEUE_BYTES) {
        return 1;
    }
    return 0;
}

/* One page of c's replay; a short page (the scan reached the end) turns c live. */
static void replay_page(struct evs_client *c)
{
    c->page_n = 0;
    int rv = api_events_read(c->es->a, c->who.tenant_id, c->pos, replay_one, c);
    if (rv < 0) {
        LOG_E("events", "event stream of %s: reading the log after %llu: %s", c->who.user,
              (unsigned long long)c->pos, waihu_strerror(rv));
        client_close(c, 1011, "the event log cannot be read");
    } else if (rv == 0 && !c->closing) {
        c->state = EVS_LIVE;
    }
}

static void on_replay(uv_idle_t *h);
static void on_retry(uv_timer_t *t);

static void replay_turn(struct api_event_stream *s)
{
    int64_t now = (int64_t)clock_now_ms();
    bool more = false, waiting = false;
    for (struct evs_client *c = s->clients; c != NULL; c = c->next) {
        if (c->state != EVS_REPLAY || c->closing) {
            continue;
        }
        if (http_ws_queued_bytes(c->ws) >= EVS_REPLAY_QUEUE_BYTES) {
            if (c->blocked_ms == 0) {
                c->blocked_ms = now;
            } else if (now - c->blocked_ms > EVS_STALL_MS) {
                client_close(c, 1008,
                             "too slow: the replay was not read for 30 s; reconnect "
                             "with after=<the last seq received>");
                continue;
            }
            waiting = true;
            continue;
        }
        c->blocked_ms = 0;
        replay_page(c);
        more = more || (c->state == EVS_REPLAY && !c->closing);
    }
    if (more) {
        uv_idle_start(&s->replay, on_replay); /* this turn may be the retry timer's */
    } else {
        uv_idle_stop(&s->replay);
        if (waiting) { /* wait for the queues to drain without spinning the loop */
            uv_timer_start(&s->retry, on_retry, EVS_REPLAY_WAIT_MS, 0);
        }
    }
}

static void on_replay(uv_idle_t *h)
{
    replay_turn(h->data);
}

static void on_retry(uv_timer_t *t)
{
    replay_turn(t->data);
}

/* An idle handle runs once per loop turn, between polls for I/O. Not a 0 ms timer: libuv
 * 1.44 runs a 0 ms timer re-armed from its own callback again before it polls, so a
 * replay would starve every connection until it ended. */
static void replay_soon(struct api_event_stream *s)
{
    uv_timer_stop(&s->retry);
    uv_idle_start(&s->replay, on_replay);
}

/* ---- live: the watcher of the event family ---- */

static void on_event(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct api_event_stream *s = data;
    bool live = false;
    for (struct evs_client *c = s->clients; c != NULL; c = c->next) {
        if (c->state == EVS_LIVE && !c->closing) {
            if (key == NULL) { /* a snapshot was installed: read what it brought */
                c->state = EVS_REPLAY;
            }
            live = true;
        }
    }
    if (key == NULL) {
        if (live) {
            replay_soon(s);
        }
        return;
    }
    uint64_t seq = api_event_seq(key, klen);
    if (!live || val == NULL || seq == 0) {
        return; /* nobody listens; a deletion (retention) sends nothing */
    }
    Event *e = event__unpack(NULL, vlen, val);
    if (e == NULL) {
        LOG_W("events", "event %llu does not parse (%zu bytes): not streamed",
              (unsigned long long)seq, vlen);
        return;
    }
    char *text = NULL;
    for (struct evs_client *c = s->clients; c != NULL; c = c->next) {
        if (c->state == EVS_LIVE && !c->closing && c->who.tenant_id == e->tenant_id) {
            deliver(c, e, seq, &text);
        }
    }
    free(text);
    event__free_unpacked(e, NULL);
}

/* ---- pings and deadlines ---- */

static void on_tick(uv_timer_t *t)
{
    struct api_event_stream *s = t->data;
    int64_t now = (int64_t)clock_now_ms();
    for (struct evs_client *c = s->clients; c != NULL; c = c->next) {
        if (c->closing) {
            continue;
        }
        if (c->state == EVS_AUTH && now - c->opened_ms > EVS_AUTH_MS) {
            client_close(c, 1008, "send {\"token\": ...} first, within 5 s");
        } else if (c->state >= EVS_REPLAY && now - c->pinged_ms >= EVS_PING_MS) {
            /* Where the client is: live, everything applied here was sent. */
            uint64_t at = c->pos;
            if (c->state == EVS_LIVE && applied_position(s->a) > at) {
                at = applied_position(s->a);
            }
            c->pinged_ms = now;
            send_json(c, json_pack("{s:s, s:I}", "type", "ping", "seq", (json_int_t)at));
        }
    }
}

/* ---- connections ---- */

static void on_open(void *data, struct http_ws *ws, const struct http_request *req)
{
    (void)req;
    struct api_event_stream *s = data;
    struct evs_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        http_ws_close(ws, 1011, "out of memory");
        return;
    }
    c->es = s;
    c->ws = ws;
    c->opened_ms = (int64_t)clock_now_ms();
    c->next = s->clients;
    s->clients = c;
    http_ws_set_user(ws, c);
}

/* Reads "after" and "types" of the first message into c; 0 or WAIHU_EINVAL. */
static int parse_first(struct evs_client *c, json_t *doc)
{
    json_t *after = json_object_get(doc, "after");
    json_t *types = json_object_get(doc, "types");
    if (after != NULL && !json_is_null(after)) {
        if (!json_is_integer(after) || json_integer_value(after) < 0) {
            return WAIHU_EINVAL;
        }
        c->has_after = true;
        c->pos = (uint64_t)json_integer_value(after);
    }
    if (types == NULL || json_is_null(types)) {
        return 0;
    }
    size_t n = json_array_size(types);
    if (!json_is_array(types) || n == 0 || n > EVS_MAX_TYPES) {
        return WAIHU_EINVAL;
    }
    c->types = calloc(n, sizeof *c->types);
    if (c->types == NULL) {
        return WAIHU_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_array_get(types, i));
        if (t == NULL || t[0] == '\0' || strlen(t) >= EVS_TYPE_BYTES) {
            return WAIHU_EINVAL;
        }
        memcpy(c->types[i], t, strlen(t) + 1);
    }
    c->n_types = n;
    return 0;
}

/* Checks the principal of the token (rv as api_token_principal's) and starts the replay. */
static void subscribe(struct evs_client *c, int rv, const struct auth_principal *who)
{
    struct api *a = c->es->a;
    char why[128];
    if (c->closing) {
        return;
    }
    if (rv != 1 || who->system) {
        client_close(c, 1008, "token not valid for the event stream");
        return;
    }
    if (!auth_role_allows(who->role, AUTH_EVENT_READ)) {
        snprintf(why, sizeof why, "role %s may not read events", auth_role_name(who->role));
        client_close(c, 1008, why);
        return;
    }
    c->who = *who;
    if (!c->has_after) {
        c->pos = applied_position(a); /* only new events */
    }
    c->state = EVS_REPLAY;
    c->pinged_ms = (int64_t)clock_now_ms();
    LOG_I("events", "event stream: %s subscribed after seq %llu (%zu types)", who->user,
          (unsigned long long)c->pos, c->n_types);
    const struct cluster_config *cc = cluster_config_get(a->cluster);
    send_json(c, json_pack("{s:s, s:s, s:I}", "type", "hello", "node", cc->self.name, "after",
                           (json_int_t)c->pos));
    replay_soon(c->es);
}

static void on_barrier(void *data, int status)
{
    (void)status; /* failed or not, the token is looked up once more */
    struct evs_client *c = data;
    if (c->ws == NULL) { /* the connection went away meanwhile */
        client_free(c);
        return;
    }
    struct auth_principal who;
    int rv = api_token_principal(c->es->a, c->token, &who);
    free(c->token);
    c->token = NULL;
    c->state = EVS_AUTH; /* the barrier no longer holds c: on_close frees it */
    subscribe(c, rv, &who);
}

static void on_message(void *data, struct http_ws *ws, const char *text, size_t len)
{
    struct api_event_stream *s = data;
    struct evs_client *c = http_ws_user(ws);
    if (c == NULL || c->state != EVS_AUTH || c->closing) {
        return; /* later messages are ignored: the stream only talks */
    }
    json_error_t err;
    json_t *doc = json_loadb(text, len, 0, &err);
    const char *token = json_string_value(json_object_get(doc, "token"));
    if (token == NULL || parse_first(c, doc) != 0) {
        client_close(c, 1008, FIRST_MESSAGE);
        json_decref(doc);
        return;
    }
    struct auth_principal who;
    int rv = api_token_principal(s->a, token, &who);
    if (rv == -1) { /* a token just made elsewhere: look again once caught up */
        c->token = strdup(token);
        if (c->token == NULL) {
            client_close(c, 1011, "out of memory");
        } else {
            c->state = EVS_BARRIER;
            cluster_read_barrier(s->a->cluster, on_barrier, c);
        }
    } else {
        subscribe(c, rv, &who);
    }
    json_decref(doc);
}

static void on_close(void *data, struct http_ws *ws)
{
    struct api_event_stream *s = data;
    struct evs_client *c = http_ws_user(ws);
    struct evs_client **pp = &s->clients;
    while (*pp != NULL && *pp != c) {
        pp = &(*pp)->next;
    }
    if (*pp == NULL) {
        return;
    }
    *pp = c->next;
    c->ws = NULL;
    if (c->state != EVS_BARRIER) { /* else on_barrier frees it */
        client_free(c);
    }
}

int api_event_stream_start(struct api *a, char *errmsg)
{
    struct api_event_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(errmsg, 256, "out of memory");
        return WAIHU_ENOMEM;
    }
    s->a = a;
    int rv = store_watch(a->store, STORE_CF_EVENT, on_event, s);
    if (rv != 0) {
        snprintf(errmsg, 256, "event stream: watching the event log: %s", waihu_strerror(rv));
        free(s);
        return rv;
    }
    static const struct http_ws_callbacks cbs = {on_open, on_message, on_close};
    rv = http_server_set_ws(a->http, EVS_PATH, EVS_MAX_MESSAGE, &cbs, s);
    if (rv != 0) {
        snprintf(errmsg, 256, "event stream on %s: %s", EVS_PATH, waihu_strerror(rv));
        store_unwatch(a->store, STORE_CF_EVENT, on_event, s);
        free(s);
        return rv;
    }
    uv_timer_init(a->loop, &s->tick);
    uv_idle_init(a->loop, &s->replay);
    uv_timer_init(a->loop, &s->retry);
    s->tick.data = s->replay.data = s->retry.data = s;
    s->open_handles = 3;
    uv_timer_start(&s->tick, on_tick, EVS_TICK_MS, EVS_TICK_MS);
    a->event_stream = s;
    return 0;
}

static void handle_closed(uv_handle_t *h)
{
    struct api_event_stream *s = h->data;
    if (--s->open_handles > 0) {
        return;
    }
    while (s->clients != NULL) { /* the server is gone: nothing more will close them */
        struct evs_client *c = s->clients;
        s->clients = c->next;
        c->ws = NULL;
        if (c->state != EVS_BARRIER) {
            client_free(c);
        }
    }
    free(s);
}

void api_event_stream_stop(struct api *a)
{
    struct api_event_stream *s = a->event_stream;
    if (s == NULL) {
        return;
    }
    a->event_stream = NULL;
    store_unwatch(a->store, STORE_CF_EVENT, on_event, s);
    uv_close((uv_handle_t *)&s->tick, handle_closed);
    uv_close((uv_handle_t *)&s->replay, handle_closed);
    uv_close((uv_handle_t *)&s->retry, handle_closed);
}
