/* Webhook delivery of fired alerts (docs/alerts.md "Webhooks"). The delivery state is a
 * replicated record next to the alert ('w' key: pending, delivered, dead, attempts, the
 * next attempt's time), so a new leader picks up where the old one stopped. Every node
 * keeps the list of pending deliveries from its own applies; only the leader sends.
 * At least once: a leader that dies between the receiver's 200 and the record's update
 * leaves it pending, and the next leader sends it again with the same Waihu-Event-Id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alert_internal.h"
#include "webhook.h"

#define SCAN_MS 1000
#define IN_FLIGHT_MAX 2 /* pool threads are shared with file I/O and imports */
#define ATTEMPTS_MAX WEBHOOK_MAX_ATTEMPTS_DEFAULT

struct pending {
    uint64_t tenant;
    uint8_t id[ALERT_ID_BYTES];
    int64_t next_ms;
    bool in_flight;
    struct pending *next;
};

struct alert_webhooks {
    struct api *a;
    uv_timer_t timer;
    struct pending *list;
    unsigned in_flight;
    bool stopping, timer_closed;
};

static struct pending **find(struct alert_webhooks *w, uint64_t tenant, const uint8_t *id)
{
    struct pending **pp = &w->list;
    while (*pp != NULL &&
           ((*pp)->tenant != tenant || memcmp((*pp)->id, id, ALERT_ID_BYTES) != 0)) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void note(struct alert_webhooks *w, const uint8_t *key, const void *val, size_t vlen)
{
    uint64_t tenant = be64_get(key + 1);
    const uint8_t *id = key + 9;
    struct pending **pp = find(w, tenant, id);
    AlertDelivery *d = val != NULL ? alert_delivery__unpack(NULL, vlen, val) : NULL;
    if (d != NULL && strcmp(d->state, "pending") == 0) {
        struct pending *p = *pp;
        if (p == NULL) {
            p = calloc(1, sizeof *p);
            if (p == NULL) {
                waihu_fatal("alerts", "out of memory");
            }
            p->tenant = tenant;
            memcpy(p->id, id, ALERT_ID_BYTES);
            p->next = w->list;
            w->list = p;
        }
        p->next_ms = d->next_ms;
    } else if (*pp != NULL && !(*pp)->in_flight) {
        struct pending *p = *pp;
        *pp = p->next;
        free(p);
    }
    alert_delivery__free_unpacked(d, NULL);
}

static int load_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (klen == ALERT_KEY_BYTES) {
        note(data, key, val, vlen);
    }
    return 0;
}

static void reload(struct alert_webhooks *w)
{
    for (struct pending **pp = &w->list; *pp != NULL;) {
        struct pending *p = *pp;
        if (p->in_flight) { /* its answer removes it */
            pp = &p->next;
        } else {
            *pp = p->next;
            free(p);
        }
    }
    static const uint8_t prefix[1] = {ALERT_K_DELIVERY};
    store_scan(w->a->store, STORE_CF_AGENT, prefix, 1, NULL, 0, load_one, w);
}

void alert_webhooks_on_delivery(struct alert_webhooks *w, const uint8_t *key, size_t klen,
                                const void *val, size_t vlen)
{
    if (w == NULL) {
        return;
    }
    if (key == NULL) {
        reload(w);
    } else if (klen == ALERT_KEY_BYTES) {
        note(w, key, val, vlen);
    }
}

/* ---- one attempt ---- */

struct attempt {
    struct alert_webhooks *w;
    struct pending *p;
    uint8_t *old; /* the delivery record read before sending: the update's condition */
    size_t old_len;
    unsigned attempts;
    char url[WEBHOOK_URL_MAX_BYTES + 1];
};

static void attempt_free(struct attempt *t)
{
    struct alert_webhooks *w = t->w;
    t->p->in_flight = false;
    w->in_flight--;
    free(t->old);
    free(t);
    if (w->stopping && w->in_flight == 0 && w->timer_closed) {
        while (w->list != NULL) {
            struct pending *p = w->list;
            w->list = p->next;
            free(p);
        }
        free(w);
    }
}

/* Writes the delivery's new state, conditioned on the record the attempt started from. */
static void record(struct attempt *t, const char *state, int status, const char *error,
                   int64_t next_ms)
{
    struct api *a = t->w->a;
    AlertDelivery d = ALERT_DELIVERY__INIT;
    d.format = 1;
    d.state = (char *)state;
    d.attempts = t->attempts;
    d.last_status = status;
    d.last_error = (char *)error;
    d.next_ms = next_ms;
    d.updated_ms = clock_wall_ms();
    size_t n = alert_delivery__get_packed_size(&d);
    uint8_t *v = malloc(n), key[ALERT_KEY_BYTES];
    if (v == NULL) {
        waihu_fatal("alerts", "out of memory");
    }
    alert_delivery__pack(&d, v);
    alert_key(ALERT_K_DELIVERY, t->p->tenant, t->p->id, key);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_AGENT, key, sizeof key, STORE_MB_VALUE_IS, t->old,
                       t->old_len);
    store_mb_put(mb, STORE_CF_AGENT, key, sizeof key, v, n);
    free(v);
    api_submit_mutation(a, mb, 0, 0, NULL, NULL);
    /* Until the record comes back (the watcher then drops or reschedules it): not again
     * at once; a write that lost its condition is looked at again in 10 s. */
    t->p->next_ms = next_ms != 0 ? next_ms : clock_wall_ms() + 10000;
}

static void answered(const struct webhook_result *res, void *data)
{
    struct attempt *t = data;
    if (t->w->stopping) {
        attempt_free(t);
        return;
    }
    uint32_t rnd = 0;
    random_bytes(&rnd, sizeof rnd);
    uint64_t delay = 0;
    char why[256] = "";
    enum webhook_verdict v = webhook_next(res, t->attempts, ATTEMPTS_MAX, rnd, &delay, why,
                                          sizeof why);
    char hex[2 * ALERT_ID_BYTES + 1];
    alert_id_hex(t->p->id, hex);
    if (v == WEBHOOK_DELIVERED) {
        LOG_I("alerts", "alert %s delivered to its webhook (HTTP %ld, %llu ms, attempt %u)", hex,
              res->status, (unsigned long long)res->elapsed_ms, t->attempts);
        record(t, "delivered", (int)res->status, "", 0);
    } else if (v == WEBHOOK_RETRY) {
        LOG_W("alerts", "alert %s: webhook attempt %u failed (%s); next in %llu ms", hex,
              t->attempts, res->why[0] ? res->why : "no reason", (unsigned long long)delay);
        record(t, "pending", (int)res->status, res->why, clock_wall_ms() + (int64_t)delay);
    } else {
        LOG_W("alerts", "alert %s: webhook dead after %u attempts: %s", hex, t->attempts, why);
        record(t, "dead", (int)res->status, why, 0);
    }
    attempt_free(t);
}

static void send_one(struct alert_webhooks *w, struct pending *p)
{
    struct api *a = w->a;
    struct attempt *t = calloc(1, sizeof *t);
    if (t == NULL) {
        waihu_fatal("alerts", "out of memory");
    }
    t->w = w;
    t->p = p;
    p->in_flight = true;
    w->in_flight++;
    uint8_t key[ALERT_KEY_BYTES];
    alert_key(ALERT_K_DELIVERY, p->tenant, p->id, key);
    void *old = NULL;
    Alert *al = alert_read(a, p->tenant, p->id);
    AlertRule *rule = al != NULL ? alert_rule_read(a, p->tenant, al->rule) : NULL;
    AlertDelivery *d = NULL;
    if (store_get(a->store, STORE_CF_AGENT, key, sizeof key, &old, &t->old_len) == 0) {
        t->old = old;
        d = alert_delivery__unpack(NULL, t->old_len, old);
    }
    char secret[ALERT_SECRET_MAX + 1] = "";
    int secret_len = rule != NULL ? alert_secret_open(a, rule, secret) : 0;
    struct webhook_request rq = {.allow_private = a->webhook_allow_private};
    char event_id[64], hex[2 * ALERT_ID_BYTES + 1];
    alert_id_hex(p->id, hex);
    snprintf(event_id, sizeof event_id, "alert-%llu-%s", (unsigned long long)p->tenant, hex);
    char *body = NULL;
    if (d == NULL || al == NULL || rule == NULL || secret_len < 0) {
        t->attempts = d != NULL ? d->attempts : 0;
        const char *why = d == NULL ? "no delivery record" : al == NULL ? "the alert is gone"
                          : rule == NULL ? "its rule was deleted"
                                         : "the webhook secret cannot be opened here";
        LOG_W("alerts", "alert %s: webhook dead: %s", hex, why);
        if (d != NULL) {
            record(t, "dead", 0, why, 0);
        } else {
            p->next_ms = INT64_MAX; /* nothing to deliver; dropped when its record goes */
        }
        goto done;
    }
    t->attempts = d->attempts + 1;
    snprintf(t->url, sizeof t->url, "%s", al->webhook_url);
    json_t *doc = json_pack("{s:s, s:s, s:I, s:o}", "type", "alert", "event_id", event_id,
                            "tenant_id", (json_int_t)p->tenant, "alert",
                            alert_json(al, p->id, NULL, NULL));
    body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    rq.url = t->url;
    rq.event_id = event_id;
    rq.body = body;
    rq.body_len = body ? strlen(body) : 0;
    rq.secret = secret;
    rq.secret_len = (size_t)secret_len;
    if (body != NULL && webhook_post_async(a->loop, &rq, answered, t) == 0) {
        t = NULL; /* answered() owns it now */
    } else {
        LOG_W("alerts", "alert %s: webhook not sent (out of memory); retrying", hex);
        p->next_ms = clock_wall_ms() + SCAN_MS;
    }
done:
    free(body);
    alert_delivery__free_unpacked(d, NULL);
    alert_rule__free_unpacked(rule, NULL);
    alert__free_unpacked(al, NULL);
    if (t != NULL) {
        attempt_free(t);
    }
}

static void scan(uv_timer_t *timer)
{
    struct alert_webhooks *w = timer->data;
    struct cluster_status cs;
    cluster_status_get(w->a->cluster, &cs);
    if (!cs.ready || strcmp(cs.state, "leader") != 0) {
        return;
    }
    int64_t now = clock_wall_ms();
    for (struct pending *p = w->list; p != NULL && w->in_flight < IN_FLIGHT_MAX;) {
        struct pending *next = p->next; /* send_one may drop p on a dead letter */
        if (!p->in_flight && p->next_ms <= now) {
            send_one(w, p);
        }
        p = next;
    }
}

struct alert_webhooks *alert_webhooks_start(struct api *a)
{
    struct alert_webhooks *w = calloc(1, sizeof *w);
    if (w == NULL) {
        waihu_fatal("alerts", "out of memory");
    }
    w->a = a;
    reload(w);
    uv_timer_init(a->loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, scan, SCAN_MS, SCAN_MS);
    return w;
}

static void timer_closed(uv_handle_t *h)
{
    struct alert_webhooks *w = h->data;
    w->timer_closed = true;
    if (w->in_flight == 0) {
        while (w->list != NULL) {
            struct pending *p = w->list;
            w->list = p->next;
            free(p);
        }
        free(w);
    }
}

void alert_webhooks_stop(struct alert_webhooks *w)
{
    if (w == NULL) {
        return;
    }
    w->stopping = true;
    uv_close((uv_handle_t *)&w->timer, timer_closed);
}
