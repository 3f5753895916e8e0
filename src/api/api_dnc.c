/* Do-not-call list: POST /v1/dnc {"number"|"prefix", "reason"}, DELETE
 * /v1/dnc?number=|prefix=, GET /v1/dnc/check?number= (what the dialer asks), and the
 * audit log: GET /v1/audit?limit=&cursor=. Numbers are kept only as keyed hashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define PREFIX_MAX 16
#define AUDIT_PAGE_MAX 500

/* Builds the key of a number (normalised, hashed) or a prefix ("+8613", digits). */
static int dnc_key(struct api *a, struct http_request *req, const char *number,
                   const char *prefix, uint8_t *key, size_t *klen, char *shown, size_t cap)
{
    char country[4] = "CN";
    api_tenant_country(a, a->who.tenant_id, country);
    if (number != NULL) {
        char e164[PHONE_E164_SIZE], why[128];
        uint8_t h[FIELDCRYPT_HASH_BYTES];
        if (phone_normalize(number, country, e164, why, sizeof why) != 0) {
            api_error(a, req, 400, "invalid", "number", "%s", why);
            return -1;
        }
        if (!a->has_master || fieldcrypt_phone_hash(a->keyring, e164, h) != 0) {
            api_error(a, req, 503, "encryption_unavailable", NULL,
                      "do-not-call numbers need the master key on this node");
            return -1;
        }
        customer_idx_key('n', a->who.tenant_id, h, key);
        *klen = CUSTOMER_IDX_KEY_BYTES;
        char masked[PHONE_MASK_SIZE];
        snprintf(shown, cap, "%s", phone_mask(e164, country, masked) == 0 ? masked : "****");
        return 0;
    }
    size_t n = prefix ? strlen(prefix) : 0;
    bool ok = n >= 2 && n <= PREFIX_MAX && prefix[0] == '+';
    for (size_t i = 1; ok && i < n; i++) {
        ok = prefix[i] >= '0' && prefix[i] <= '9';
    }
    if (!ok) {
        api_error(a, req, 400, "invalid", prefix ? "prefix" : "number",
                  "give \"number\" or \"prefix\" (\"+\" and 1-15 digits, E.164 style)");
        return -1;
    }
    size_t plen = customer_tenant_prefix('x', a->who.tenant_id, key);
    memcpy(key + plen, prefix + 1, n - 1);
    *klen = plen + n - 1;
    snprintf(shown, cap, "%s", prefix);
    return 0;
}

static void dnc_add(struct api *a, struct http_request *req)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    const char *number = json_string_value(json_object_get(b, "number"));
    const char *prefix = json_string_value(json_object_get(b, "prefix"));
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if ((number != NULL) == (prefix != NULL) || (reason && strlen(reason) > 200)) {
        json_decref(b);
        api_error(a, req, 400, "invalid", "number",
                  "give exactly one of \"number\" and \"prefix\"; reason up to 200 bytes");
        return;
    }
    uint8_t key[CUSTOMER_IDX_KEY_BYTES + PREFIX_MAX];
    size_t klen;
    char shown[PHONE_MASK_SIZE + PREFIX_MAX];
    if (dnc_key(a, req, number, prefix, key, &klen, shown, sizeof shown) != 0) {
        json_decref(b);
        return;
    }
    DncEntry e = DNC_ENTRY__INIT;
    e.format = 1;
    e.kind = number ? "number" : "prefix";
    e.prefix = prefix ? (char *)prefix : "";
    e.reason = reason ? (char *)reason : "";
    e.added_by = a->who.user;
    e.added_ms = clock_wall_ms();
    uint8_t v[512];
    size_t n = dnc_entry__pack(&e, v);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_put(mb, STORE_CF_CUSTOMER_IDX, key, klen, v, n);
    api_audit_add(mb, &a->who, "dnc.add", shown, e.reason);
    json_t *answer = json_pack("{s:s, s:s, s:b}", "kind", e.kind, "value", shown, "blocked", 1);
    json_decref(b);
    api_submit_answer(a, req, mb, answer, 201, "do-not-call");
}

static void dnc_remove(struct api *a, struct http_request *req)
{
    char nbuf[PHONE_INPUT_MAX + 1], pbuf[PREFIX_MAX + 2];
    const char *number = http_request_param(req, "number", nbuf, sizeof nbuf);
    const char *prefix = http_request_param(req, "prefix", pbuf, sizeof pbuf);
    if ((number != NULL) == (prefix != NULL)) {
        api_error(a, req, 400, "invalid", "number", "give exactly one of ?number= and ?prefix=");
        return;
    }
    uint8_t key[CUSTOMER_IDX_KEY_BYTES + PREFIX_MAX];
    size_t klen;
    char shown[PHONE_MASK_SIZE + PREFIX_MAX];
    if (dnc_key(a, req, number, prefix, key, &klen, shown, sizeof shown) != 0) {
        return;
    }
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_CUSTOMER_IDX, key, klen, STORE_MB_PRESENT, NULL, 0);
    store_mb_delete(mb, STORE_CF_CUSTOMER_IDX, key, klen);
    api_audit_add(mb, &a->who, "dnc.remove", shown, "");
    api_submit_answer(a, req, mb, json_pack("{s:s, s:b}", "value", shown, "blocked", 0), 200,
                      "do-not-call entry");
}

const char *api_dnc_match(struct api *a, uint64_t tenant_id, const char *e164)
{
    uint8_t key[CUSTOMER_IDX_KEY_BYTES + PREFIX_MAX], h[FIELDCRYPT_HASH_BYTES];
    void *v;
    size_t len;
    if (!a->has_master || fieldcrypt_phone_hash(a->keyring, e164, h) != 0) {
        return "unknown"; /* no key to hash with: treated as blocked by callers */
    }
    customer_idx_key('n', tenant_id, h, key);
    if (store_get(a->store, STORE_CF_CUSTOMER_IDX, key, CUSTOMER_IDX_KEY_BYTES, &v, &len) == 0) {
        free(v);
        return "number";
    }
    /* Prefixes: every leading part of the number's digits. */
    size_t plen = customer_tenant_prefix('x', tenant_id, key);
    size_t digits = strlen(e164) - 1;
    for (size_t n = 1; n <= digits && n <= PREFIX_MAX - 1; n++) {
        memcpy(key + plen, e164 + 1, n);
        if (store_get(a->store, STORE_CF_CUSTOMER_IDX, key, plen + n, &v, &len) == 0) {
            free(v);
            return "prefix";
        }
    }
    return NULL;
}

int api_dnc_conditions(struct api *a, struct store_mutation_builder *mb, uint64_t tenant_id,
                       const char *e164)
{
    uint8_t key[CUSTOMER_IDX_KEY_BYTES + PREFIX_MAX], h[FIELDCRYPT_HASH_BYTES];
    if (!a->has_master || fieldcrypt_phone_hash(a->keyring, e164, h) != 0) {
        return WAIHU_ENOTFOUND;
    }
    customer_idx_key('n', tenant_id, h, key);
    store_mb_condition(mb, STORE_CF_CUSTOMER_IDX, key, CUSTOMER_IDX_KEY_BYTES, STORE_MB_ABSENT,
                       NULL, 0);
    size_t plen = customer_tenant_prefix('x', tenant_id, key);
    size_t digits = strlen(e164) - 1;
    for (size_t n = 1; n <= digits && n <= PREFIX_MAX - 1; n++) {
        memcpy(key + plen, e164 + 1, n);
        store_mb_condition(mb, STORE_CF_CUSTOMER_IDX, key, plen + n, STORE_MB_ABSENT, NULL, 0);
    }
    return 0;
}

static void dnc_check(struct api *a, struct http_request *req)
{
    char nbuf[PHONE_INPUT_MAX + 1];
    const char *number = http_request_param(req, "number", nbuf, sizeof nbuf);
    uint8_t key[CUSTOMER_IDX_KEY_BYTES + PREFIX_MAX];
    size_t klen;
    char shown[PHONE_MASK_SIZE + PREFIX_MAX];
    if (number == NULL) {
        api_error(a, req, 400, "invalid", "number", "?number= is required");
        return;
    }
    if (dnc_key(a, req, number, NULL, key, &klen, shown, sizeof shown) != 0) {
        return;
    }
    char country[4] = "CN", e164[PHONE_E164_SIZE], why[128];
    api_tenant_country(a, a->who.tenant_id, country);
    phone_normalize(number, country, e164, why, sizeof why);
    const char *match = api_dnc_match(a, a->who.tenant_id, e164);
    api_json(a, req, 200,
             json_pack("{s:s, s:b, s:o}", "number", shown, "blocked", match != NULL, "match",
                       match ? json_string(match) : json_null()));
}

bool api_route_dnc(struct api *a, struct http_request *req, const char *method,
                   const char *path)
{
    if (strcmp(path, "/v1/dnc") == 0) {
        if (strcmp(method, "POST") == 0) {
            if (api_require(a, req, AUTH_DNC_ADD)) {
                dnc_add(a, req);
            }
        } else if (strcmp(method, "DELETE") == 0) {
            if (api_require(a, req, AUTH_DNC_REMOVE)) {
                dnc_remove(a, req);
            }
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use POST or DELETE");
        }
        return true;
    }
    if (strcmp(path, "/v1/dnc/check") == 0) {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_CUSTOMER_READ)) {
            dnc_check(a, req);
        }
        return true;
    }
    return false;
}

/* ---- audit log ---- */

struct audit_page {
    json_t *items;
    unsigned limit;
    char last_hex[2 * 64 + 1];
};

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
    out[2 * n] = '\0';
}

static int audit_cb(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct audit_page *p = data;
    const uint8_t *k = key;
    if (klen != 8 + 24) {
        return 0;
    }
    AuditRecord *r = audit_record__unpack(NULL, vlen, val);
    if (r == NULL) {
        return 0;
    }
    int64_t stamp = (int64_t)be64_get(k + 8);
    json_array_append_new(p->items,
                          json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "time_ms", (json_int_t)stamp,
                                    "index", (json_int_t)be64_get(k + 16), "user", r->user,
                                    "action", r->action, "object", r->object, "detail",
                                    r->detail));
    audit_record__free_unpacked(r, NULL);
    to_hex(k, klen, p->last_hex);
    return json_array_size(p->items) >= p->limit ? 1 : 0;
}

bool api_route_audit(struct api *a, struct http_request *req, const char *method,
                     const char *path)
{
    if (strcmp(path, "/v1/audit") != 0) {
        return false;
    }
    if (strcmp(method, "GET") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        return true;
    }
    if (!a->who.system && !api_require(a, req, AUTH_AUDIT_READ)) {
        return true;
    }
    char buf[160];
    uint64_t limit = 100;
    const char *lim = http_request_param(req, "limit", buf, sizeof buf);
    if (lim != NULL && (api_parse_u64(lim, &limit) != 0 || limit == 0 || limit > AUDIT_PAGE_MAX)) {
        api_error(a, req, 400, "invalid", "limit", "limit must be 1..%d", AUDIT_PAGE_MAX);
        return true;
    }
    uint8_t prefix[8], after[64];
    be64_put(prefix, a->who.tenant_id);
    size_t alen = 0;
    const char *cur = http_request_param(req, "cursor", buf, sizeof buf);
    if (cur != NULL) {
        size_t n = strlen(cur);
        bool ok = n == 2 * 32;
        for (size_t i = 0; ok && i < n / 2; i++) {
            unsigned v;
            ok = sscanf(cur + 2 * i, "%2x", &v) == 1;
            after[i] = (uint8_t)v;
        }
        if (!ok) {
            api_error(a, req, 400, "invalid", "cursor", "cursor must come from next_cursor");
            return true;
        }
        alen = n / 2;
    }
    struct audit_page p = {.items = json_array(), .limit = (unsigned)limit};
    store_scan(a->store, STORE_CF_AUDIT, prefix, sizeof prefix, alen ? after : NULL, alen,
               audit_cb, &p);
    bool full = json_array_size(p.items) >= p.limit;
    api_json(a, req, 200,
             json_pack("{s:o, s:o}", "items", p.items, "next_cursor",
                       full ? json_string(p.last_hex) : json_null()));
    return true;
}
