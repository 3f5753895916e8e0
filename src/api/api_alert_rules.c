/* Alert rules (docs/alerts.md "Rules"):
 *   GET    /v1/alert-rules          the rules the caller may see
 *   PUT    /v1/alert-rules/{name}   create or replace
 *   DELETE /v1/alert-rules/{name}
 * Supervisors keep rules of their own department; the webhook secret is sealed with a
 * key derived from the master key and never shown again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "api_alert_internal.h"
#include "webhook.h"

static void rule_key(uint64_t tenant, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, ALERT_RULE_PREFIX "%llu/%s", (unsigned long long)tenant, name);
}

AlertRule *alert_rule_read(struct api *a, uint64_t tenant, const char *name)
{
    char k[160];
    rule_key(tenant, name, k, sizeof k);
    void *v;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len) != 0) {
        return NULL;
    }
    AlertRule *r = alert_rule__unpack(NULL, len, v);
    free(v);
    return r;
}

/* ---- the sealed secret (api_secrets.c), bound to the rule's key ---- */

static int secret_seal(struct api *a, uint64_t tenant, const char *name, const char *secret,
                       ProtobufCBinaryData *out)
{
    char aad[160];
    rule_key(tenant, name, aad, sizeof aad);
    return api_secret_seal(a, aad, secret, out);
}

int alert_secret_open(struct api *a, const AlertRule *r, char *out)
{
    char aad[160];
    rule_key(r->tenant_id, r->name, aad, sizeof aad);
    return api_secret_open(a, aad, &r->webhook_secret_sealed, out, ALERT_SECRET_MAX + 1);
}

/* ---- JSON ---- */

static json_t *rule_json(const AlertRule *r)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:s, s:I}", "name", r->name, "kind", r->kind,
                          "department", r->department, "enabled", r->enabled, "updated_by",
                          r->updated_by, "updated_ms", (json_int_t)r->updated_ms);
    enum alert_kind k = ALERT_METRIC_FALLING;
    alert_kind_parse(r->kind, &k);
    if (k == ALERT_METRIC_FALLING) {
        json_object_set_new(j, "metric", json_string(r->metric));
        json_object_set_new(j, "weeks", json_integer(r->weeks));
        json_object_set_new(j, "min_volume", json_integer(r->min_volume));
    } else if (k == ALERT_OCCUPANCY_BELOW) {
        json_object_set_new(j, "threshold", json_real(r->threshold));
        json_object_set_new(j, "window_s", json_integer(r->window_s));
        json_object_set_new(j, "min_agents", json_integer(r->min_agents));
        json_object_set_new(j, "cooldown_min", json_integer(r->cooldown_min));
    } else {
        json_object_set_new(j, "threshold", json_real(r->threshold));
        json_object_set_new(j, "min_volume", json_integer(r->min_volume));
    }
    json_object_set_new(j, "webhook_url",
                        r->webhook_url[0] ? json_string(r->webhook_url) : json_null());
    json_object_set_new(j, "webhook_secret_set", json_boolean(r->webhook_secret_sealed.len > 0));
    return j;
}

/* ---- PUT ---- */

/* An optional whole number in [lo, hi] (default def); false after answering 400. */
static bool get_uint(struct api *a, struct http_request *req, json_t *body, const char *field,
                     uint32_t lo, uint32_t hi, uint32_t def, uint32_t *out)
{
    json_t *v = json_object_get(body, field);
    if (v == NULL) {
        *out = def;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        api_error(a, req, 400, "invalid", field, "%s: a whole number from %u to %u", field, lo,
                  hi);
        return false;
    }
    *out = (uint32_t)json_integer_value(v);
    return true;
}

/* A fraction in (0, hi]; required unless def >= 0. */
static bool get_fraction(struct api *a, struct http_request *req, json_t *body,
                         const char *field, double hi, double def, double *out)
{
    json_t *v = json_object_get(body, field);
    if (v == NULL && def >= 0) {
        *out = def;
        return true;
    }
    if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > hi) {
        api_error(a, req, 400, "invalid", field, "%s: a fraction above 0 and at most %g",
                  field, hi);
        return false;
    }
    *out = json_number_value(v);
    return true;
}

static bool get_string(struct api *a, struct http_request *req, json_t *body, const char *field,
                       size_t max, const char **out)
{
    json_t *v = json_object_get(body, field);
    if (v == NULL || json_is_null(v)) {
        *out = "";
        return true;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) > max) {
        api_error(a, req, 400, "invalid", field, "%s: a string of at most %zu bytes", field,
                  max);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Reads and checks the kind's fields into r; false after answering 400. */
static bool kind_fields(struct api *a, struct http_request *req, json_t *body,
                        enum alert_kind kind, AlertRule *r)
{
    if (kind == ALERT_METRIC_FALLING) {
        const char *m;
        if (!get_string(a, req, body, "metric", 32, &m)) {
            return false;
        }
        if (m[0] == '\0') {
            m = "conversion_rate";
        }
        if (strcmp(m, "conversion_rate") != 0 && strcmp(m, "connect_rate") != 0) {
            api_error(a, req, 400, "invalid", "metric", "metric: conversion_rate or connect_rate");
            return false;
        }
        r->metric = (char *)m;
        return get_uint(a, req, body, "weeks", 2, 8, 2, &r->weeks) &&
               get_uint(a, req, body, "min_volume", 0, 1000000, 20, &r->min_volume);
    }
    if (kind == ALERT_OCCUPANCY_BELOW) {
        return get_fraction(a, req, body, "threshold", 1.0, -1, &r->threshold) &&
               get_uint(a, req, body, "window_s", 30, 14400, 900, &r->window_s) &&
               get_uint(a, req, body, "min_agents", 1, 100000, 1, &r->min_agents) &&
               get_uint(a, req, body, "cooldown_min", 1, 1440, 60, &r->cooldown_min);
    }
    return get_fraction(a, req, body, "threshold", 1.0, 0.8, &r->threshold) &&
           get_uint(a, req, body, "min_volume", 1, 1000000, 50, &r->min_volume);
}

/* The rule's department: a supervisor with a department keeps rules of it. */
static bool department_of_rule(struct api *a, struct http_request *req, json_t *body,
                               const char **out)
{
    if (!get_string(a, req, body, "department", 63, out)) {
        return false;
    }
    const char *mine = a->who.department;
    if (a->who.role == AUTH_ROLE_SUPERVISOR && mine[0] != '\0') {
        if ((*out)[0] == '\0') {
            *out = mine;
        } else if (strcmp(*out, mine) != 0) {
            api_error(a, req, 403, "forbidden", "department",
                      "a supervisor of %s keeps alert rules of %s only", mine, mine);
            return false;
        }
    }
    return true;
}

static void put_rule(struct api *a, struct http_request *req, const char *name)
{
    json_t *body = api_body_object(a, req);
    if (body == NULL) {
        return;
    }
    AlertRule r = ALERT_RULE__INIT;
    const char *kind_text, *dept, *url, *secret;
    enum alert_kind kind;
    json_t *enabled = json_object_get(body, "enabled");
    char why[200];
    if (!get_string(a, req, body, "kind", 32, &kind_text)) {
        goto out;
    }
    if (alert_kind_parse(kind_text, &kind) != 0) {
        api_error(a, req, 400, "invalid", "kind",
                  "kind: metric_falling, occupancy_below or abandon_near_cap");
        goto out;
    }
    if (!department_of_rule(a, req, body, &dept) || !kind_fields(a, req, body, kind, &r) ||
        !get_string(a, req, body, "webhook_url", 2048, &url) ||
        !get_string(a, req, body, "webhook_secret", ALERT_SECRET_MAX, &secret)) {
        goto out;
    }
    if (enabled != NULL && !json_is_boolean(enabled)) {
        api_error(a, req, 400, "invalid", "enabled", "enabled: true or false");
        goto out;
    }
    if (url[0] != '\0' && webhook_url_check(url, a->webhook_allow_private, why, sizeof why) != 0) {
        api_error(a, req, 400, "invalid", "webhook_url", "webhook_url: %s", why);
        goto out;
    }
    if (secret[0] != '\0' && (url[0] == '\0' || strlen(secret) < 16)) {
        api_error(a, req, 400, "invalid", "webhook_secret",
                  "webhook_secret: at least 16 characters, with a webhook_url");
        goto out;
    }
    if (secret[0] != '\0' &&
        secret_seal(a, a->who.tenant_id, name, secret, &r.webhook_secret_sealed) != 0) {
        api_error(a, req, 503, "no_key", "webhook_secret",
                  "the webhook secret cannot be encrypted: this node has no master key");
        goto out;
    }
    r.format = 1;
    r.tenant_id = a->who.tenant_id;
    r.name = (char *)name;
    r.kind = (char *)alert_kind_name(kind);
    r.department = (char *)dept;
    r.webhook_url = (char *)url;
    r.enabled = enabled == NULL || json_is_true(enabled);
    r.updated_by = a->who.user;
    r.updated_ms = clock_wall_ms();
    AlertRule *old = alert_rule_read(a, a->who.tenant_id, name);
    if (old != NULL && !auth_may_touch(&a->who, old->tenant_id, old->department, NULL)) {
        api_error(a, req, 403, "forbidden", "name", "alert rule %s belongs to department %s",
                  name, old->department);
        alert_rule__free_unpacked(old, NULL);
        goto out;
    }
    size_t n = alert_rule__get_packed_size(&r);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    alert_rule__pack(&r, v);
    char k[160], detail[200];
    rule_key(a->who.tenant_id, name, k, sizeof k);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
    free(v);
    snprintf(detail, sizeof detail, "%s, department '%s'%s%s", r.kind, r.department,
             url[0] ? ", webhook " : "", url[0] ? "set" : "");
    api_audit_add(mb, &a->who, "alert_rule.put", name, detail);
    api_submit_answer(a, req, mb, rule_json(&r), old != NULL ? 200 : 201, "alert rule");
    if (old != NULL) {
        alert_rule__free_unpacked(old, NULL);
    }
out:
    free(r.webhook_secret_sealed.data);
    json_decref(body);
}

/* ---- GET, DELETE ---- */

struct listing {
    struct api *a;
    json_t *items;
};

static int list_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct listing *l = data;
    AlertRule *r = alert_rule__unpack(NULL, vlen, val);
    if (r != NULL && auth_may_touch(&l->a->who, r->tenant_id, r->department, NULL)) {
        json_array_append_new(l->items, rule_json(r));
    }
    if (r != NULL) {
        alert_rule__free_unpacked(r, NULL);
    }
    return 0;
}

static void list_rules(struct api *a, struct http_request *req)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, ALERT_RULE_PREFIX "%llu/",
             (unsigned long long)a->who.tenant_id);
    struct listing l = {a, json_array()};
    store_scan(a->store, STORE_CF_META, prefix, strlen(prefix), NULL, 0, list_one, &l);
    api_json(a, req, 200, json_pack("{s:o}", "items", l.items));
}

static void delete_rule(struct api *a, struct http_request *req, const char *name)
{
    AlertRule *old = alert_rule_read(a, a->who.tenant_id, name);
    if (old == NULL) {
        api_error(a, req, 404, "not_found", "name", "no alert rule %s", name);
        return;
    }
    bool mine = auth_may_touch(&a->who, old->tenant_id, old->department, NULL);
    alert_rule__free_unpacked(old, NULL);
    if (!mine) {
        api_error(a, req, 403, "forbidden", "name", "alert rule %s is another department's",
                  name);
        return;
    }
    char k[160];
    rule_key(a->who.tenant_id, name, k, sizeof k);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_PRESENT, NULL, 0);
    store_mb_delete(mb, STORE_CF_META, k, strlen(k));
    api_audit_add(mb, &a->who, "alert_rule.delete", name, "");
    api_submit_answer(a, req, mb, json_pack("{s:s, s:b}", "name", name, "deleted", 1), 200,
                      "alert rule");
}

bool alert_rules_route(struct api *a, struct http_request *req, const char *method,
                       const char *name)
{
    if (name == NULL) {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_ALERT_READ)) {
            list_rules(a, req);
        }
        return true;
    }
    if (!api_prompt_name_ok(name)) {
        api_error(a, req, 400, "invalid", "name",
                  "an alert rule's name is 1 to 64 of a-z, 0-9, '-', '_'");
    } else if (strcmp(method, "PUT") == 0) {
        if (api_require(a, req, AUTH_ALERT_WRITE)) {
            put_rule(a, req, name);
        }
    } else if (strcmp(method, "DELETE") == 0) {
        if (api_require(a, req, AUTH_ALERT_WRITE)) {
            delete_rule(a, req, name);
        }
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "use PUT or DELETE");
    }
    return true;
}
