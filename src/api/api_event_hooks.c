/* Event webhooks (docs/events.md "Webhooks"):
 *   GET    /v1/webhooks               subscriptions and where their delivery stands
 *   PUT    /v1/webhooks/{name}        {url, secret, types, enabled}
 *   DELETE /v1/webhooks/{name}
 *   GET    /v1/webhooks/{name}/dead   dead letters
 * The leader delivers each subscription's events in log order, in batches of up to
 * BATCH_MAX, one batch in flight: the next batch leaves only when the previous one was
 * answered 2xx or dead-lettered, so a receiver sees every key's events in order. The
 * cursor is a replicated record: a new leader goes on from it. At least once (a leader
 * that dies between the 2xx and the cursor's write sends the batch again); receivers drop
 * repeats by each event's seq. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "webhook.h"

#define HOOK_PREFIX STORE_SERVICE_META_PREFIX "webhook/"
#define CURSOR_PREFIX STORE_SERVICE_META_PREFIX "webhookcursor/"
#define DEAD_PREFIX STORE_SERVICE_META_PREFIX "webhookdead/"
#define TICK_MS 200
#define BATCH_MAX 100
#define SCAN_MAX 2000 /* events examined per attempt (filtered ones are skipped) */
#define SECRET_MAX 256
#define TYPES_MAX 16
#define DEAD_PAGE_MAX 500

struct hook_state {
    uint64_t tenant;
    char name[65];
    bool in_flight, seen;
    struct hook_state *next;
};

struct api_event_hooks {
    struct api *a;
    uv_timer_t timer;
    struct hook_state *states;
    bool stopping, timer_closed;
    unsigned in_flight;
};

static void key_of(const char *prefix, uint64_t tenant, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s%llu/%s", prefix, (unsigned long long)tenant, name);
}

static void *get(struct api *a, const char *k, size_t *len)
{
    void *v = NULL;
    return store_get(a->store, STORE_CF_META, k, strlen(k), &v, len) == 0 ? v : NULL;
}

static EventWebhook *hook_read(struct api *a, uint64_t tenant, const char *name)
{
    char k[160];
    key_of(HOOK_PREFIX, tenant, name, k, sizeof k);
    size_t len;
    void *v = get(a, k, &len);
    EventWebhook *h = v ? event_webhook__unpack(NULL, len, v) : NULL;
    free(v);
    return h;
}

/* The cursor and its raw bytes (the condition of its next write); NULL raw: none yet. */
static EventWebhookCursor *cursor_read(struct api *a, uint64_t tenant, const char *name,
                                       void **raw, size_t *raw_len)
{
    char k[160];
    key_of(CURSOR_PREFIX, tenant, name, k, sizeof k);
    *raw = get(a, k, raw_len);
    return *raw ? event_webhook_cursor__unpack(NULL, *raw_len, *raw) : NULL;
}

static bool type_wanted(const EventWebhook *h, const char *type)
{
    for (size_t i = 0; i < h->n_types; i++) {
        if (strcmp(h->types[i], type) == 0) {
            return true;
        }
    }
    return h->n_types == 0;
}

/* ---- JSON of a subscription ---- */

static json_t *hook_json(struct api *a, const EventWebhook *h)
{
    json_t *types = json_array();
    for (size_t i = 0; i < h->n_types; i++) {
        json_array_append_new(types, json_string(h->types[i]));
    }
    void *raw;
    size_t raw_len;
    EventWebhookCursor *c = cursor_read(a, h->tenant_id, h->name, &raw, &raw_len);
    json_t *j = json_pack("{s:s, s:s, s:o, s:b, s:s, s:I, s:I}", "name", h->name, "url", h->url,
                          "types", types, "enabled", h->enabled, "updated_by", h->updated_by,
                          "updated_ms", (json_int_t)h->updated_ms, "start_after",
                          (json_int_t)h->start_after);
    json_object_set_new(
        j, "delivery",
        json_pack("{s:I, s:I, s:I, s:i, s:i, s:s, s:I}", "after",
                  (json_int_t)(c ? c->after : h->start_after), "delivered",
                  (json_int_t)(c ? c->delivered : 0), "dead", (json_int_t)(c ? c->dead : 0),
                  "attempts", c ? (int)c->attempts : 0, "last_status",
                  c ? (int)c->last_status : 0, "last_error", c ? c->last_error : "", "next_ms",
                  (json_int_t)(c ? c->next_ms : 0)));
    event_webhook_cursor__free_unpacked(c, NULL);
    free(raw);
    return j;
}

/* ---- routes ---- */

static bool get_types(struct api *a, struct http_request *req, json_t *v, char **types,
                      size_t *n)
{
    *n = 0;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    size_t i;
    json_t *t;
    if (!json_is_array(v) || json_array_size(v) > TYPES_MAX) {
        goto bad;
    }
    json_array_foreach(v, i, t)
    {
        const char *s = json_string_value(t);
        if (s == NULL || s[0] == '\0' || strlen(s) > 40) {
            goto bad;
        }
        types[(*n)++] = (char *)s;
    }
    return true;
bad:
    api_error(a, req, 400, "invalid", "types",
              "types: up to %d event types, e.g. [\"call.ended\", \"agent.state\"]", TYPES_MAX);
    return false;
}

static void put_hook(struct api *a, struct http_request *req, const char *name)
{
    json_t *body = api_body_object(a, req);
    if (body == NULL) {
        return;
    }
    EventWebhook h = EVENT_WEBHOOK__INIT;
    char *types[TYPES_MAX], why[200], k[160];
    size_t n_types;
    const char *url = json_string_value(json_object_get(body, "url"));
    const char *secret = json_string_value(json_object_get(body, "secret"));
    json_t *enabled = json_object_get(body, "enabled");
    key_of(HOOK_PREFIX, a->who.tenant_id, name, k, sizeof k);
    if (url == NULL || webhook_url_check(url, a->webhook_allow_private, why, sizeof why) != 0) {
        api_error(a, req, 400, "invalid", "url", "url: %s", url ? why : "required");
    } else if (secret == NULL || strlen(secret) < 16 || strlen(secret) > SECRET_MAX) {
        api_error(a, req, 400, "invalid", "secret",
                  "secret: 16 to %d characters (the receiver checks signatures with it)",
                  SECRET_MAX);
    } else if (enabled != NULL && !json_is_boolean(enabled)) {
        api_error(a, req, 400, "invalid", "enabled", "enabled: true or false");
    } else if (get_types(a, req, json_object_get(body, "types"), types, &n_types)) {
        EventWebhook *old = hook_read(a, a->who.tenant_id, name);
        if (api_secret_seal(a, k, secret, &h.secret_sealed) != 0) {
            api_error(a, req, 503, "no_key", "secret",
                      "the secret cannot be encrypted: this node has no master key");
        } else {
            h.format = 1;
            h.tenant_id = a->who.tenant_id;
            h.name = (char *)name;
            h.url = (char *)url;
            h.types = types;
            h.n_types = n_types;
            h.enabled = enabled == NULL || json_is_true(enabled);
            /* A new subscription starts at the log's end; a replaced one keeps its place. */
            h.start_after = old ? old->start_after
                                : store_applied_index(a->store) * STORE_SEQ_PER_ENTRY +
                                      (STORE_SEQ_PER_ENTRY - 1);
            h.updated_by = a->who.user;
            h.updated_ms = clock_wall_ms();
            size_t n = event_webhook__get_packed_size(&h);
            uint8_t *v = malloc(n);
            if (v == NULL) {
                waihu_fatal("api", "out of memory");
            }
            event_webhook__pack(&h, v);
            struct store_mutation_builder *mb = store_mb_new();
            store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
            free(v);
            api_audit_add(mb, &a->who, "webhook.put", name, url);
            api_submit_answer(a, req, mb, hook_json(a, &h), old ? 200 : 201, "webhook");
        }
        event_webhook__free_unpacked(old, NULL);
    }
    free(h.secret_sealed.data);
    json_decref(body);
}

static int list_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    json_t **ctx = data;
    EventWebhook *h = event_webhook__unpack(NULL, vlen, val);
    if (h != NULL) {
        json_array_append_new(ctx[0], hook_json((struct api *)(void *)ctx[1], h));
        event_webhook__free_unpacked(h, NULL);
    }
    return 0;
}

static void list_hooks(struct api *a, struct http_request *req)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, HOOK_PREFIX "%llu/", (unsigned long long)a->who.tenant_id);
    json_t *ctx[2] = {json_array(), (json_t *)(void *)a};
    store_scan(a->store, STORE_CF_META, prefix, strlen(prefix), NULL, 0, list_one, ctx);
    api_json(a, req, 200, json_pack("{s:o}", "items", ctx[0]));
}

static void delete_hook(struct api *a, struct http_request *req, const char *name)
{
    EventWebhook *old = hook_read(a, a->who.tenant_id, name);
    if (old == NULL) {
        api_error(a, req, 404, "not_found", "name", "no webhook %s", name);
        return;
    }
    event_webhook__free_unpacked(old, NULL);
    char k[160], c[160];
    key_of(HOOK_PREFIX, a->who.tenant_id, name, k, sizeof k);
    key_of(CURSOR_PREFIX, a->who.tenant_id, name, c, sizeof c);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_PRESENT, NULL, 0);
    store_mb_delete(mb, STORE_CF_META, k, strlen(k));
    store_mb_delete(mb, STORE_CF_META, c, strlen(c));
    api_audit_add(mb, &a->who, "webhook.delete", name, "");
    api_submit_answer(a, req, mb, json_pack("{s:s, s:b}", "name", name, "deleted", 1), 200,
                      "webhook");
}

static int dead_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    json_t *items = data;
    EventWebhookDead *d = event_webhook_dead__unpack(NULL, vlen, val);
    if (d != NULL) {
        json_error_t err;
        json_t *ev = json_loads(d->event, 0, &err);
        json_array_append_new(items, json_pack("{s:I, s:o, s:s, s:I}", "seq", (json_int_t)d->seq,
                                               "event", ev ? ev : json_null(), "reason",
                                               d->reason, "at_ms", (json_int_t)d->at_ms));
        event_webhook_dead__free_unpacked(d, NULL);
    }
    return json_array_size(items) >= DEAD_PAGE_MAX;
}

static void list_dead(struct api *a, struct http_request *req, const char *name)
{
    char prefix[160];
    key_of(DEAD_PREFIX, a->who.tenant_id, name, prefix, sizeof prefix);
    strncat(prefix, "/", sizeof prefix - strlen(prefix) - 1);
    json_t *items = json_array();
    store_scan(a->store, STORE_CF_META, prefix, strlen(prefix), NULL, 0, dead_one, items);
    api_json(a, req, 200, json_pack("{s:o}", "items", items));
}

bool api_route_webhooks(struct api *a, struct http_request *req, const char *method,
                        const char *path)
{
    static const char base[] = "/v1/webhooks";
    if (strncmp(path, base, sizeof base - 1) != 0 ||
        (path[sizeof base - 1] != '\0' && path[sizeof base - 1] != '/')) {
        return false;
    }
    if (!api_require(a, req, AUTH_WEBHOOK_ADMIN)) {
        return true;
    }
    const char *rest = path[sizeof base - 1] ? path + sizeof base : NULL;
    if (rest == NULL) {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else {
            list_hooks(a, req);
        }
        return true;
    }
    char name[80];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n >= sizeof name) {
        n = sizeof name - 1;
    }
    memcpy(name, rest, n);
    name[n] = '\0';
    if (!api_prompt_name_ok(name)) {
        api_error(a, req, 400, "invalid", "name",
                  "a webhook's name is 1 to 64 of a-z, 0-9, '-', '_'");
    } else if (slash != NULL) {
        if (strcmp(slash, "/dead") != 0) {
            api_error(a, req, 404, "not_found", NULL, "no such route: %s", path);
        } else if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else {
            list_dead(a, req, name);
        }
    } else if (strcmp(method, "PUT") == 0) {
        put_hook(a, req, name);
    } else if (strcmp(method, "DELETE") == 0) {
        delete_hook(a, req, name);
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "use PUT or DELETE");
    }
    return true;
}

/* ---- delivery (leader) ---- */

struct batch {
    struct api_event_hooks *hs;
    struct hook_state *st;
    uint64_t tenant;
    char name[65];
    void *cursor_raw; /* the condition of the cursor's write; NULL: none yet */
    size_t cursor_raw_len;
    EventWebhookCursor cur;
    char last_error[256];
    uint64_t last_seq; /* examined up to (delivered or skipped) */
    json_t *events;    /* the batch sent */
};

struct collect {
    const EventWebhook *h;
    json_t *events;
    uint64_t last;
    unsigned examined;
};

static int collect_one(void *data, const Event *e, uint64_t seq)
{
    struct collect *c = data;
    c->examined++;
    if (type_wanted(c->h, e->type)) {
        json_array_append_new(c->events, api_event_json(e, seq));
    }
    c->last = seq;
    return json_array_size(c->events) >= BATCH_MAX || c->examined >= SCAN_MAX;
}

static void batch_free(struct batch *b);

/* The batch stays in flight until its cursor is written: a tick in between would read the
 * old cursor and send the batch again (or before its back-off). */
static void cursor_written(void *data, int status, const struct store_result *r)
{
    struct batch *b = data;
    if (!b->hs->stopping && (status != 0 || (r != NULL && r->code != 0))) {
        LOG_W("webhooks", "%s: cursor not written (%s): the batch goes again", b->name,
              waihu_strerror(status != 0 ? status : r->code));
    }
    batch_free(b);
}

/* Writes b's cursor at after, conditioned on the value b read; frees b once written. */
static void cursor_write(struct batch *b, uint64_t after)
{
    struct api *a = b->hs->a;
    b->cur.after = after;
    b->cur.updated_ms = clock_wall_ms();
    b->cur.last_error = b->last_error;
    size_t n = event_webhook_cursor__get_packed_size(&b->cur);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    event_webhook_cursor__pack(&b->cur, v);
    char k[160];
    key_of(CURSOR_PREFIX, b->tenant, b->name, k, sizeof k);
    struct store_mutation_builder *mb = store_mb_new();
    if (b->cursor_raw != NULL) {
        store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_VALUE_IS, b->cursor_raw,
                           b->cursor_raw_len);
    } else {
        store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_ABSENT, NULL, 0);
    }
    store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
    free(v);
    api_submit_mutation(a, mb, 0, 0, cursor_written, b);
}

static void dead_letters(struct batch *b, const char *why, struct store_mutation_builder *mb)
{
    size_t i;
    json_t *ev;
    json_array_foreach(b->events, i, ev)
    {
        EventWebhookDead d = EVENT_WEBHOOK_DEAD__INIT;
        d.format = 1;
        d.seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
        d.event = json_dumps(ev, JSON_COMPACT);
        d.reason = (char *)why;
        d.at_ms = clock_wall_ms();
        size_t n = event_webhook_dead__get_packed_size(&d);
        uint8_t *v = malloc(n);
        if (v == NULL || d.event == NULL) {
            waihu_fatal("api", "out of memory");
        }
        event_webhook_dead__pack(&d, v);
        char k[200];
        snprintf(k, sizeof k, DEAD_PREFIX "%llu/%s/%020llu", (unsigned long long)b->tenant,
                 b->name, (unsigned long long)d.seq);
        store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
        free(v);
        free(d.event);
    }
}

static void batch_free(struct batch *b)
{
    struct api_event_hooks *hs = b->hs;
    if (b->st != NULL) {
        b->st->in_flight = false;
    }
    hs->in_flight--;
    json_decref(b->events);
    free(b->cursor_raw);
    free(b);
    if (hs->stopping && hs->in_flight == 0 && hs->timer_closed) {
        while (hs->states != NULL) {
            struct hook_state *s = hs->states;
            hs->states = s->next;
            free(s);
        }
        free(hs);
    }
}

static void answered(const struct webhook_result *res, void *data)
{
    struct batch *b = data;
    if (b->hs->stopping) {
        batch_free(b);
        return;
    }
    uint32_t rnd = 0;
    random_bytes(&rnd, sizeof rnd);
    uint64_t delay = 0;
    char why[256] = "";
    unsigned attempt = b->cur.attempts + 1;
    enum webhook_verdict v = webhook_next(res, attempt, WEBHOOK_MAX_ATTEMPTS_DEFAULT, rnd, &delay,
                                          why, sizeof why);
    size_t n = json_array_size(b->events);
    b->cur.last_status = (int32_t)res->status;
    if (v == WEBHOOK_DELIVERED) {
        b->last_error[0] = '\0';
        b->cur.attempts = 0;
        b->cur.next_ms = 0;
        b->cur.delivered += n;
        cursor_write(b, b->last_seq);
    } else if (v == WEBHOOK_RETRY) {
        LOG_W("webhooks", "%s: %zu events not delivered (attempt %u: %s); next in %llu ms",
              b->name, n, attempt, res->why, (unsigned long long)delay);
        snprintf(b->last_error, sizeof b->last_error, "%s", res->why);
        b->cur.attempts = attempt;
        b->cur.next_ms = clock_wall_ms() + (int64_t)delay;
        cursor_write(b, b->cur.after);
    } else {
        LOG_W("webhooks", "%s: %zu events dead-lettered: %s", b->name, n, why);
        snprintf(b->last_error, sizeof b->last_error, "%s", why);
        b->cur.attempts = 0;
        b->cur.next_ms = 0;
        b->cur.dead += n;
        /* The dead letters and the cursor move in one write: none lost, none twice. */
        char k[160];
        key_of(CURSOR_PREFIX, b->tenant, b->name, k, sizeof k);
        struct store_mutation_builder *mb = store_mb_new();
        if (b->cursor_raw != NULL) {
            store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_VALUE_IS,
                               b->cursor_raw, b->cursor_raw_len);
        } else {
            store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_ABSENT, NULL, 0);
        }
        dead_letters(b, why, mb);
        b->cur.after = b->last_seq;
        b->cur.updated_ms = clock_wall_ms();
        b->cur.last_error = b->last_error;
        size_t len = event_webhook_cursor__get_packed_size(&b->cur);
        uint8_t *val = malloc(len);
        if (val == NULL) {
            waihu_fatal("api", "out of memory");
        }
        event_webhook_cursor__pack(&b->cur, val);
        store_mb_put(mb, STORE_CF_META, k, strlen(k), val, len);
        free(val);
        api_submit_mutation(b->hs->a, mb, 0, 0, cursor_written, b);
    }
}

static struct hook_state *state_of(struct api_event_hooks *hs, uint64_t tenant,
                                   const char *name)
{
    for (struct hook_state *s = hs->states; s != NULL; s = s->next) {
        if (s->tenant == tenant && strcmp(s->name, name) == 0) {
            return s;
        }
    }
    struct hook_state *s = calloc(1, sizeof *s);
    if (s == NULL) {
        waihu_fatal("api", "out of memory");
    }
    s->tenant = tenant;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->next = hs->states;
    hs->states = s;
    return s;
}

/* One subscription's next step: nothing, skip filtered events, or send a batch. */
static void step(struct api_event_hooks *hs, const EventWebhook *h)
{
    struct api *a = hs->a;
    struct hook_state *st = state_of(hs, h->tenant_id, h->name);
    st->seen = true;
    if (st->in_flight || !h->enabled) {
        return;
    }
    struct batch *b = calloc(1, sizeof *b);
    if (b == NULL) {
        waihu_fatal("api", "out of memory");
    }
    b->hs = hs;
    b->tenant = h->tenant_id;
    snprintf(b->name, sizeof b->name, "%s", h->name);
    EventWebhookCursor *c = cursor_read(a, h->tenant_id, h->name, &b->cursor_raw,
                                        &b->cursor_raw_len);
    event_webhook_cursor__init(&b->cur);
    b->cur.format = 1;
    b->cur.after = h->start_after;
    if (c != NULL) {
        b->cur.after = c->after;
        b->cur.attempts = c->attempts;
        b->cur.last_status = c->last_status;
        b->cur.next_ms = c->next_ms;
        b->cur.delivered = c->delivered;
        b->cur.dead = c->dead;
        snprintf(b->last_error, sizeof b->last_error, "%s", c->last_error);
        event_webhook_cursor__free_unpacked(c, NULL);
    }
    hs->in_flight++;
    if (b->cur.next_ms > clock_wall_ms()) {
        batch_free(b); /* backing off */
        return;
    }
    struct collect col = {h, json_array(), b->cur.after, 0};
    api_events_read(a, h->tenant_id, b->cur.after, collect_one, &col);
    b->events = col.events;
    b->last_seq = col.last;
    if (json_array_size(b->events) == 0) {
        if (b->last_seq > b->cur.after) {
            b->st = st;
            st->in_flight = true;
            cursor_write(b, b->last_seq); /* only events it does not take */
        } else {
            batch_free(b);
        }
        return;
    }
    char secret[SECRET_MAX + 1], k[160], event_id[128];
    key_of(HOOK_PREFIX, h->tenant_id, h->name, k, sizeof k);
    int slen = api_secret_open(a, k, &h->secret_sealed, secret, sizeof secret);
    if (slen <= 0) {
        LOG_E("webhooks", "%s: its secret cannot be opened here (%s): not sent", h->name,
              waihu_strerror(slen ? slen : WAIHU_ENOTFOUND));
        batch_free(b);
        return;
    }
    json_t *first = json_array_get(b->events, 0);
    snprintf(event_id, sizeof event_id, "%llu-%s-%lld", (unsigned long long)h->tenant_id,
             h->name, (long long)json_integer_value(json_object_get(first, "seq")));
    json_t *doc = json_pack("{s:s, s:I, s:O}", "webhook", h->name, "tenant_id",
                            (json_int_t)h->tenant_id, "events", b->events);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    struct webhook_request rq = {.url = h->url, .event_id = event_id, .body = body,
                                 .body_len = body ? strlen(body) : 0, .secret = secret,
                                 .secret_len = (size_t)slen,
                                 .allow_private = a->webhook_allow_private};
    b->st = st;
    st->in_flight = true;
    if (body == NULL || webhook_post_async(a->loop, &rq, answered, b) != 0) {
        LOG_W("webhooks", "%s: not sent (out of memory); next tick", h->name);
        batch_free(b);
    }
    free(body);
}

static int tick_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    EventWebhook *h = event_webhook__unpack(NULL, vlen, val);
    if (h != NULL) {
        step(data, h);
        event_webhook__free_unpacked(h, NULL);
    }
    return 0;
}

static void tick(uv_timer_t *t)
{
    struct api_event_hooks *hs = t->data;
    struct cluster_status cs;
    cluster_status_get(hs->a->cluster, &cs);
    if (!cs.ready || strcmp(cs.state, "leader") != 0) {
        return;
    }
    for (struct hook_state *s = hs->states; s != NULL; s = s->next) {
        s->seen = false;
    }
    store_scan(hs->a->store, STORE_CF_META, HOOK_PREFIX, strlen(HOOK_PREFIX), NULL, 0, tick_one,
               hs);
    for (struct hook_state **pp = &hs->states; *pp != NULL;) {
        struct hook_state *s = *pp;
        if (!s->seen && !s->in_flight) { /* deleted */
            *pp = s->next;
            free(s);
        } else {
            pp = &s->next;
        }
    }
}

void api_event_hooks_start(struct api *a)
{
    struct api_event_hooks *hs = calloc(1, sizeof *hs);
    if (hs == NULL) {
        waihu_fatal("api", "out of memory");
    }
    hs->a = a;
    a->event_hooks = hs;
    uv_timer_init(a->loop, &hs->timer);
    hs->timer.data = hs;
    uv_timer_start(&hs->timer, tick, TICK_MS, TICK_MS);
}

static void timer_closed(uv_handle_t *h)
{
    struct api_event_hooks *hs = h->data;
    hs->timer_closed = true;
    if (hs->in_flight == 0) {
        while (hs->states != NULL) {
            struct hook_state *s = hs->states;
            hs->states = s->next;
            free(s);
        }
        free(hs);
    }
}

void api_event_hooks_stop(struct api *a)
{
    struct api_event_hooks *hs = a->event_hooks;
    if (hs == NULL) {
        return;
    }
    a->event_hooks = NULL;
    hs->stopping = true;
    uv_close((uv_handle_t *)&hs->timer, timer_closed);
}
