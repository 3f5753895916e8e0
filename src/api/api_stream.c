/* The live stream (docs/seat-api.md "The live stream"): WebSocket /v1/stream. The client
 * sends {"token": ...} first (browsers cannot set headers on a WebSocket); then it gets
 * every applied change of an agent it may see, and the floor's totals every second when
 * its role may see the wallboard. Changes are pushed as this node applies them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_seat_internal.h"

#define STREAM_PATH "/v1/stream"
#define STREAM_MAX_MESSAGE 4096
#define STREAM_AUTH_MS 5000
#define STREAM_TOTALS_MS 1000

struct stream_client {
    struct api_stream *st;
    struct http_ws *ws;
    bool authed, closing;
    bool wallboard; /* may see totals */
    struct auth_principal who;
    int64_t opened_ms;
    struct stream_client *next;
};

struct api_stream {
    struct api *a;
    struct stream_client *clients;
    uv_timer_t timer;
    uint64_t sent, dropped;
};

static void client_close(struct stream_client *c, int code, const char *why)
{
    if (!c->closing) {
        c->closing = true;
        LOG_I("stream", "closing a stream client (%s%s): %s", c->authed ? "user " : "",
              c->authed ? c->who.user : "not authenticated", why);
        http_ws_close(c->ws, code, why);
    }
}

static void client_send(struct stream_client *c, const char *text, size_t len)
{
    int rv = http_ws_send(c->ws, text, len);
    if (rv == 0) {
        c->st->sent++;
    } else if (rv == WAIHU_ETOOBIG) {
        c->st->dropped++;
        client_close(c, 1008, "too slow: over 1 MiB of updates not read");
    }
}

static void send_json(struct stream_client *c, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text != NULL) {
        client_send(c, text, strlen(text));
        free(text);
    }
}

/* ---- pushes ---- */

static void on_agent(void *data, const AgentState *st)
{
    struct api_stream *s = data;
    char *text = NULL;
    for (struct stream_client *c = s->clients; c != NULL; c = c->next) {
        if (!c->authed || c->closing ||
            !auth_may_touch(&c->who, st->tenant_id, st->department, st->name)) {
            continue;
        }
        if (text == NULL) { /* one serialisation for every subscriber */
            json_t *doc = json_pack("{s:s, s:o}", "type", "agent", "agent", seat_agent_json(st));
            text = json_dumps(doc, JSON_COMPACT);
            json_decref(doc);
            if (text == NULL) {
                return;
            }
        }
        client_send(c, text, strlen(text));
    }
    free(text);
}

void api_stream_broadcast(struct api *a, enum auth_action need, uint64_t tenant,
                          const char *department, json_t *doc)
{
    struct api_stream *s = a->stream;
    char *text = s != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        return;
    }
    for (struct stream_client *c = s->clients; c != NULL; c = c->next) {
        if (c->authed && !c->closing && auth_role_allows(c->who.role, need) &&
            auth_may_touch(&c->who, tenant, department, NULL)) {
            client_send(c, text, strlen(text));
        }
    }
    free(text);
}

static void tick(uv_timer_t *t)
{
    struct api_stream *s = t->data;
    int64_t now = (int64_t)clock_now_ms();
    for (struct stream_client *c = s->clients; c != NULL; c = c->next) {
        if (c->closing) {
            continue;
        }
        if (!c->authed && now - c->opened_ms > STREAM_AUTH_MS) {
            client_close(c, 1008, "send {\"token\": ...} first, within 5 s");
        } else if (c->authed && c->wallboard) {
            send_json(c, json_pack("{s:s, s:o, s:I}", "type", "totals", "totals",
                                   seat_totals_json(s->a, &c->who), "now_ms",
                                   (json_int_t)clock_wall_ms()));
        }
    }
}

/* ---- connections ---- */

static void on_open(void *data, struct http_ws *ws, const struct http_request *req)
{
    (void)req;
    struct api_stream *s = data;
    struct stream_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        http_ws_close(ws, 1011, "out of memory");
        return;
    }
    c->st = s;
    c->ws = ws;
    c->opened_ms = (int64_t)clock_now_ms();
    c->next = s->clients;
    s->clients = c;
    http_ws_set_user(ws, c);
}

static void authenticate(struct stream_client *c, const char *text, size_t len)
{
    struct api *a = c->st->a;
    json_error_t err;
    json_t *doc = json_loadb(text, len, 0, &err);
    const char *token = json_string_value(json_object_get(doc, "token"));
    struct auth_principal who;
    if (token == NULL) {
        client_close(c, 1008, "the first message must be {\"token\": ...}");
    } else if (api_token_principal(a, token, &who) != 1 || who.system ||
               !auth_role_allows(who.role, AUTH_AGENT_READ)) {
        client_close(c, 1008, "token not valid for the live stream");
    } else {
        c->authed = true;
        c->who = who;
        c->wallboard = auth_role_allows(who.role, AUTH_WALLBOARD);
        const struct cluster_config *cc = cluster_config_get(a->cluster);
        send_json(c, json_pack("{s:s, s:s, s:s, s:s}", "type", "hello", "node",
                               cc->self.name, "user", who.user, "role",
                               auth_role_name(who.role)));
    }
    json_decref(doc);
}

static void on_message(void *data, struct http_ws *ws, const char *text, size_t len)
{
    (void)data;
    struct stream_client *c = http_ws_user(ws);
    if (c != NULL && !c->authed && !c->closing) {
        authenticate(c, text, len);
    } /* later messages are ignored: the stream only talks */
}

static void on_close(void *data, struct http_ws *ws)
{
    struct api_stream *s = data;
    struct stream_client *c = http_ws_user(ws);
    struct stream_client **pp = &s->clients;
    while (*pp != NULL && *pp != c) {
        pp = &(*pp)->next;
    }
    if (*pp != NULL) {
        *pp = c->next;
        free(c);
    }
}

int api_stream_start(struct api *a, char *errmsg)
{
    struct api_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(errmsg, 256, "out of memory");
        return WAIHU_ENOMEM;
    }
    s->a = a;
    static const struct http_ws_callbacks cbs = {on_open, on_message, on_close};
    int rv = http_server_set_ws(a->http, STREAM_PATH, STREAM_MAX_MESSAGE, &cbs, s);
    if (rv != 0) {
        snprintf(errmsg, 256, "live stream on %s: %s", STREAM_PATH, waihu_strerror(rv));
        free(s);
        return rv;
    }
    uv_timer_init(a->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, tick, STREAM_TOTALS_MS, STREAM_TOTALS_MS);
    api_seat_listen(a, on_agent, s);
    a->stream = s;
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    struct api_stream *s = h->data;
    while (s->clients != NULL) { /* the server is gone: nothing more will close them */
        struct stream_client *c = s->clients;
        s->clients = c->next;
        free(c);
    }
    free(s);
}

void api_stream_stop(struct api *a)
{
    struct api_stream *s = a->stream;
    if (s == NULL) {
        return;
    }
    a->stream = NULL;
    api_seat_unlisten(a, on_agent, s);
    uv_close((uv_handle_t *)&s->timer, timer_closed);
}
