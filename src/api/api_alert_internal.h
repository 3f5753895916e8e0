/* Private to the alert files of src/api (docs/alerts.md): api_alert_rules.c (rule
 * routes), api_alerts.c (fired alerts: routes, keys, JSON, the console push),
 * api_alert_eval.c (the leader's evaluation), api_alert_webhook.c (delivery). */
#ifndef WAIHU_API_ALERT_INTERNAL_H
#define WAIHU_API_ALERT_INTERNAL_H

#include "api_internal.h"
#include "waihu.pb-c.h"

#define ALERT_RULE_PREFIX STORE_SERVICE_META_PREFIX "alertrule/"
#define ALERT_NAME_MAX 64
#define ALERT_ID_BYTES 8
#define ALERT_KEY_BYTES (1 + 8 + ALERT_ID_BYTES)
#define ALERT_SECRET_MAX 256
/* Agent family prefixes: the alert, its acknowledgement, its webhook delivery. */
#define ALERT_K_FIRED 'a'
#define ALERT_K_ACK 'k'
#define ALERT_K_DELIVERY 'w'
#define ALERT_FIRED_MS_FIELD 14 /* Alert.fired_ms, stamped by the FSM */
#define ALERT_ACK_AT_FIELD 3    /* AlertAck.at_ms */

/* ---- rules (api_alert_rules.c) ---- */
/* The rule, or NULL (none, or unreadable). Free with alert_rule__free_unpacked. */
AlertRule *alert_rule_read(struct api *a, uint64_t tenant, const char *name);
/* Opens the rule's webhook secret into out (cap ALERT_SECRET_MAX + 1): its length, 0
 * for none, or a negative WAIHU_E* (no master key, tampered). */
int alert_secret_open(struct api *a, const AlertRule *r, char *out);
bool alert_rules_route(struct api *a, struct http_request *req, const char *method,
                       const char *name);

/* ---- fired alerts (api_alerts.c) ---- */
void alert_id_of(const char *rule, const char *subject, const char *period,
                 uint8_t id[ALERT_ID_BYTES]);
void alert_id_hex(const uint8_t id[ALERT_ID_BYTES], char out[2 * ALERT_ID_BYTES + 1]);
/* 0 or -1 for text that is not 16 hex digits. */
int alert_id_parse(const char *text, uint8_t id[ALERT_ID_BYTES]);
void alert_key(char kind, uint64_t tenant, const uint8_t id[ALERT_ID_BYTES],
               uint8_t out[ALERT_KEY_BYTES]);
/* The record under kind's key, unpacked, or NULL. */
Alert *alert_read(struct api *a, uint64_t tenant, const uint8_t id[ALERT_ID_BYTES]);
AlertDelivery *alert_delivery_read(struct api *a, uint64_t tenant,
                                   const uint8_t id[ALERT_ID_BYTES]);
/* The alert as the API and webhooks show it; ack and delivery may be NULL. */
json_t *alert_json(const Alert *al, const uint8_t id[ALERT_ID_BYTES], const AlertAck *ack,
                   const AlertDelivery *d);

/* ---- evaluation (api_alert_eval.c) ---- */
/* Fires al (owned by the caller) unless an alert of the same rule, subject and period
 * exists: one conditioned put, plus a pending delivery when it has a webhook. */
void alert_fire(struct api *a, const Alert *al);

/* ---- webhooks (api_alert_webhook.c) ---- */
struct alert_webhooks;
struct alert_webhooks *alert_webhooks_start(struct api *a);
void alert_webhooks_stop(struct alert_webhooks *w);
/* A delivery record was written (val NULL: deleted; key NULL: everything may have
 * changed): keeps the node's list of pending deliveries. */
void alert_webhooks_on_delivery(struct alert_webhooks *w, const uint8_t *key, size_t klen,
                                const void *val, size_t vlen);

struct api_alerts {
    struct api *a;
    uv_timer_t timer;
    bool timer_on;
    int64_t last_weekly_ms; /* metric_falling rules are evaluated every few minutes */
    int64_t prev_tick_ms;   /* rules changed since are evaluated at once */
    struct alert_floor *floors; /* occupancy samples per rule (api_alert_eval.c) */
    struct alert_webhooks *webhooks;
};
void alert_eval_tick(struct api_alerts *al);
void alert_eval_free(struct api_alerts *al);

#endif
