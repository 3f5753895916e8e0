/* Fired alerts (docs/alerts.md "Alerts"):
 *   GET  /v1/alerts[?limit=N&unacknowledged=true]   newest first, the caller's reach
 *   POST /v1/alerts/{id}/ack
 * plus the routes of api_alert_rules.c under /v1/alert-rules. Every node watches the
 * agent family's alert keys and pushes new alerts and acknowledgements to the console's
 * live stream; the leader evaluates the rules (api_alert_eval.c) and delivers webhooks
 * (api_alert_webhook.c). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alert_internal.h"

#define ALERT_TICK_MS 5000
#define LIST_DEFAULT 100
#define LIST_MAX 500

/* ---- keys and ids ---- */

void alert_id_of(const char *rule, const char *subject, const char *period,
                 uint8_t id[ALERT_ID_BYTES])
{
    /* NULs keep the parts apart: ("a", "bc") and ("ab", "c") differ. */
    size_t lr = strlen(rule) + 1, ls = strlen(subject) + 1, lp = strlen(period) + 1;
    uint8_t *buf = malloc(lr + ls + lp), h[SHA256_DIGEST_LENGTH];
    if (buf == NULL) {
        waihu_fatal("alerts", "out of memory");
    }
    memcpy(buf, rule, lr);
    memcpy(buf + lr, subject, ls);
    memcpy(buf + lr + ls, period, lp);
    SHA256(buf, lr + ls + lp, h);
    free(buf);
    memcpy(id, h, ALERT_ID_BYTES);
}

void alert_id_hex(const uint8_t id[ALERT_ID_BYTES], char out[2 * ALERT_ID_BYTES + 1])
{
    for (int i = 0; i < ALERT_ID_BYTES; i++) {
        snprintf(out + 2 * i, 3, "%02x", id[i]);
    }
}

int alert_id_parse(const char *text, uint8_t id[ALERT_ID_BYTES])
{
    if (strlen(text) != 2 * ALERT_ID_BYTES) {
        return -1;
    }
    for (int i = 0; i < ALERT_ID_BYTES; i++) {
        unsigned v;
        char byte[3] = {text[2 * i], text[2 * i + 1], '\0'};
        if (strspn(byte, "0123456789abcdef") != 2 || sscanf(byte, "%2x", &v) != 1) {
            return -1;
        }
        id[i] = (uint8_t)v;
    }
    return 0;
}

void alert_key(char kind, uint64_t tenant, const uint8_t id[ALERT_ID_BYTES],
               uint8_t out[ALERT_KEY_BYTES])
{
    out[0] = (uint8_t)kind;
    be64_put(out + 1, tenant);
    memcpy(out + 9, id, ALERT_ID_BYTES);
}

static void *read_kind(struct api *a, char kind, uint64_t tenant, const uint8_t *id,
                       size_t *len)
{
    uint8_t k[ALERT_KEY_BYTES];
    alert_key(kind, tenant, id, k);
    void *v = NULL;
    return store_get(a->store, STORE_CF_AGENT, k, sizeof k, &v, len) == 0 ? v : NULL;
}

Alert *alert_read(struct api *a, uint64_t tenant, const uint8_t id[ALERT_ID_BYTES])
{
    size_t len;
    void *v = read_kind(a, ALERT_K_FIRED, tenant, id, &len);
    Alert *al = v ? alert__unpack(NULL, len, v) : NULL;
    free(v);
    return al;
}

static AlertAck *ack_read(struct api *a, uint64_t tenant, const uint8_t id[ALERT_ID_BYTES])
{
    size_t len;
    void *v = read_kind(a, ALERT_K_ACK, tenant, id, &len);
    AlertAck *k = v ? alert_ack__unpack(NULL, len, v) : NULL;
    free(v);
    return k;
}

AlertDelivery *alert_delivery_read(struct api *a, uint64_t tenant,
                                   const uint8_t id[ALERT_ID_BYTES])
{
    size_t len;
    void *v = read_kind(a, ALERT_K_DELIVERY, tenant, id, &len);
    AlertDelivery *d = v ? alert_delivery__unpack(NULL, len, v) : NULL;
    free(v);
    return d;
}

/* ---- JSON ---- */

json_t *alert_json(const Alert *al, const uint8_t id[ALERT_ID_BYTES], const AlertAck *ack,
                   const AlertDelivery *d)
{
    char hex[2 * ALERT_ID_BYTES + 1];
    alert_id_hex(id, hex);
    json_t *history = json_array();
    for (size_t i = 0; i < al->n_history; i++) {
        json_array_append_new(history, json_real(al->history[i]));
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:o, s:I}",
                          "id", hex, "rule", al->rule, "kind", al->kind, "department",
                          al->department, "subject_type", al->subject_type, "subject",
                          al->subject, "period", al->period, "message", al->message, "value",
                          al->value, "threshold", al->threshold, "history", history,
                          "fired_ms", (json_int_t)al->fired_ms);
    json_object_set_new(j, "acknowledged",
                        ack ? json_pack("{s:s, s:I}", "by", ack->by, "at_ms",
                                        (json_int_t)ack->at_ms)
                            : json_null());
    json_t *wh = json_null();
    if (al->webhook_url[0] != '\0') {
        wh = json_pack("{s:s, s:s, s:i, s:i, s:s}", "url", al->webhook_url, "state",
                       d ? d->state : "pending", "attempts", d ? (int)d->attempts : 0,
                       "last_status", d ? (int)d->last_status : 0, "last_error",
                       d ? d->last_error : "");
    }
    json_object_set_new(j, "webhook", wh);
    return j;
}

/* ---- GET /v1/alerts ---- */

struct found {
    json_t *alert;
    int64_t fired_ms;
};

struct listing {
    struct api *a;
    bool unacked_only;
    struct found *v;
    size_t n, cap;
};

static int list_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct listing *l = data;
    if (klen != ALERT_KEY_BYTES) {
        return 0;
    }
    const uint8_t *id = (const uint8_t *)key + 9;
    Alert *al = alert__unpack(NULL, vlen, val);
    if (al == NULL || !auth_may_touch(&l->a->who, al->tenant_id, al->department, NULL)) {
        alert__free_unpacked(al, NULL);
        return 0;
    }
    AlertAck *ack = ack_read(l->a, al->tenant_id, id);
    if (ack == NULL || !l->unacked_only) {
        AlertDelivery *d = al->webhook_url[0] ? alert_delivery_read(l->a, al->tenant_id, id)
                                              : NULL;
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 64;
            l->v = realloc(l->v, l->cap * sizeof *l->v);
            if (l->v == NULL) {
                waihu_fatal("api", "alerts: out of memory");
            }
        }
        l->v[l->n++] = (struct found){alert_json(al, id, ack, d), al->fired_ms};
        alert_delivery__free_unpacked(d, NULL);
    }
    alert_ack__free_unpacked(ack, NULL);
    alert__free_unpacked(al, NULL);
    return 0;
}

static int newest_first(const void *x, const void *y)
{
    const struct found *a = x, *b = y;
    return (a->fired_ms < b->fired_ms) - (a->fired_ms > b->fired_ms);
}

static void list_alerts(struct api *a, struct http_request *req)
{
    char buf[32];
    const char *lim = http_request_param(req, "limit", buf, sizeof buf);
    uint64_t limit = LIST_DEFAULT;
    if (lim != NULL && (api_parse_u64(lim, &limit) != 0 || limit == 0 || limit > LIST_MAX)) {
        api_error(a, req, 400, "invalid", "limit", "limit: 1 to %d", LIST_MAX);
        return;
    }
    char ubuf[8];
    const char *un = http_request_param(req, "unacknowledged", ubuf, sizeof ubuf);
    if (un != NULL && strcmp(un, "true") != 0 && strcmp(un, "false") != 0) {
        api_error(a, req, 400, "invalid", "unacknowledged", "unacknowledged: true or false");
        return;
    }
    struct listing l = {.a = a, .unacked_only = un != NULL && strcmp(un, "true") == 0};
    uint8_t prefix[9] = {ALERT_K_FIRED};
    be64_put(prefix + 1, a->who.tenant_id);
    store_scan(a->store, STORE_CF_AGENT, prefix, sizeof prefix, NULL, 0, list_one, &l);
    if (l.n > 1) { /* qsort wants a non-NULL array even when empty */
        qsort(l.v, l.n, sizeof *l.v, newest_first);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++) {
        if (i < limit) {
            json_array_append_new(items, l.v[i].alert);
        } else {
            json_decref(l.v[i].alert);
        }
    }
    free(l.v);
    api_json(a, req, 200, json_pack("{s:o, s:i}", "items", items, "total", (int)l.n));
}

/* ---- POST /v1/alerts/{id}/ack ---- */

static void ack_alert(struct api *a, struct http_request *req, const char *id_text)
{
    uint8_t id[ALERT_ID_BYTES];
    if (alert_id_parse(id_text, id) != 0) {
        api_error(a, req, 400, "invalid", "id", "an alert id is 16 hex digits");
        return;
    }
    Alert *al = alert_read(a, a->who.tenant_id, id);
    if (al == NULL || !auth_may_touch(&a->who, al->tenant_id, al->department, NULL)) {
        api_error(a, req, 404, "not_found", "id", "no alert %s", id_text);
        alert__free_unpacked(al, NULL);
        return;
    }
    AlertAck *old = ack_read(a, a->who.tenant_id, id);
    if (old != NULL) { /* acknowledging twice changes nothing */
        api_json(a, req, 200, alert_json(al, id, old, NULL));
        alert_ack__free_unpacked(old, NULL);
        alert__free_unpacked(al, NULL);
        return;
    }
    AlertAck k = ALERT_ACK__INIT;
    k.format = 1;
    k.by = a->who.user;
    k.at_ms = clock_wall_ms();
    uint8_t v[128 + 64];
    size_t n = alert_ack__pack(&k, v);
    uint8_t fired[ALERT_KEY_BYTES], key[ALERT_KEY_BYTES];
    alert_key(ALERT_K_FIRED, a->who.tenant_id, id, fired);
    alert_key(ALERT_K_ACK, a->who.tenant_id, id, key);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_AGENT, fired, sizeof fired, STORE_MB_PRESENT, NULL, 0);
    store_mb_condition(mb, STORE_CF_AGENT, key, sizeof key, STORE_MB_ABSENT, NULL, 0);
    store_mb_put_stamped(mb, STORE_CF_AGENT, key, sizeof key, v, n, ALERT_ACK_AT_FIELD);
    api_audit_add(mb, &a->who, "alert.ack", id_text, al->message);
    api_submit_answer(a, req, mb, alert_json(al, id, &k, NULL), 200, "acknowledgement");
    alert__free_unpacked(al, NULL);
}

bool api_route_alerts(struct api *a, struct http_request *req, const char *method,
                      const char *path)
{
    static const char rules[] = "/v1/alert-rules", alerts[] = "/v1/alerts";
    if (strncmp(path, rules, sizeof rules - 1) == 0 &&
        (path[sizeof rules - 1] == '\0' || path[sizeof rules - 1] == '/')) {
        return alert_rules_route(a, req, method,
                                 path[sizeof rules - 1] ? path + sizeof rules : NULL);
    }
    if (strncmp(path, alerts, sizeof alerts - 1) != 0 ||
        (path[sizeof alerts - 1] != '\0' && path[sizeof alerts - 1] != '/')) {
        return false;
    }
    const char *rest = path[sizeof alerts - 1] ? path + sizeof alerts : NULL;
    if (rest == NULL) {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_ALERT_READ)) {
            list_alerts(a, req);
        }
        return true;
    }
    char id[40];
    const char *slash = strchr(rest, '/');
    if (slash == NULL || strcmp(slash, "/ack") != 0 || (size_t)(slash - rest) >= sizeof id) {
        api_error(a, req, 404, "not_found", NULL, "no such route: %s", path);
        return true;
    }
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = '\0';
    if (strcmp(method, "POST") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use POST");
    } else if (api_require(a, req, AUTH_ALERT_WRITE)) {
        ack_alert(a, req, id);
    }
    return true;
}

/* ---- the console push: every node, from its own applies ---- */

static void push_fired(struct api *a, const uint8_t *key, const void *val, size_t vlen)
{
    Alert *al = alert__unpack(NULL, vlen, val);
    if (al == NULL) {
        LOG_W("alerts", "a fired alert that does not parse (%zu bytes): ignored", vlen);
        return;
    }
    LOG_I("alerts", "alert: %s (rule %s, tenant %llu)", al->message, al->rule,
          (unsigned long long)al->tenant_id);
    api_stream_broadcast(a, AUTH_ALERT_READ, al->tenant_id, al->department,
                         json_pack("{s:s, s:o}", "type", "alert", "alert",
                                   alert_json(al, key + 9, NULL, NULL)));
    alert__free_unpacked(al, NULL);
}

static void push_ack(struct api *a, const uint8_t *key, const void *val, size_t vlen)
{
    uint64_t tenant = be64_get(key + 1);
    Alert *al = alert_read(a, tenant, key + 9);
    AlertAck *k = alert_ack__unpack(NULL, vlen, val);
    if (al != NULL && k != NULL) {
        char hex[2 * ALERT_ID_BYTES + 1];
        alert_id_hex(key + 9, hex);
        api_stream_broadcast(a, AUTH_ALERT_READ, tenant, al->department,
                             json_pack("{s:s, s:s, s:s, s:I}", "type", "alert_ack", "id", hex,
                                       "by", k->by, "at_ms", (json_int_t)k->at_ms));
    }
    alert_ack__free_unpacked(k, NULL);
    alert__free_unpacked(al, NULL);
}

static void on_agent_family(void *data, const void *key, size_t klen, const void *val,
                            size_t vlen)
{
    struct api_alerts *s = data;
    const uint8_t *k = key;
    if (key == NULL) {
        alert_webhooks_on_delivery(s->webhooks, NULL, 0, NULL, 0);
        return;
    }
    if (klen != ALERT_KEY_BYTES) {
        return;
    }
    if (k[0] == ALERT_K_FIRED && val != NULL) {
        push_fired(s->a, k, val, vlen);
    } else if (k[0] == ALERT_K_ACK && val != NULL) {
        push_ack(s->a, k, val, vlen);
    } else if (k[0] == ALERT_K_DELIVERY) {
        alert_webhooks_on_delivery(s->webhooks, k, klen, val, vlen);
    }
}

static void tick(uv_timer_t *t)
{
    alert_eval_tick(t->data);
}

void api_alerts_start(struct api *a)
{
    struct api_alerts *s = calloc(1, sizeof *s);
    if (s == NULL) {
        waihu_fatal("api", "alerts: out of memory");
    }
    s->a = a;
    a->alerts = s;
    s->webhooks = alert_webhooks_start(a);
    if (store_watch(a->store, STORE_CF_AGENT, on_agent_family, s) != 0) {
        LOG_E("alerts", "cannot watch the agent family: no alert reaches the console here");
    }
    uv_timer_init(a->loop, &s->timer);
    s->timer.data = s;
    s->timer_on = true;
    uv_timer_start(&s->timer, tick, ALERT_TICK_MS, ALERT_TICK_MS);
}

static void timer_closed(uv_handle_t *h)
{
    struct api_alerts *s = h->data;
    alert_eval_free(s);
    free(s);
}

void api_alerts_stop(struct api *a)
{
    struct api_alerts *s = a->alerts;
    if (s == NULL) {
        return;
    }
    a->alerts = NULL;
    store_unwatch(a->store, STORE_CF_AGENT, on_agent_family, s);
    alert_webhooks_stop(s->webhooks);
    uv_close((uv_handle_t *)&s->timer, timer_closed);
}
