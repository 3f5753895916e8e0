/* Customers: POST/GET /v1/customers, GET /v1/customers/count, GET/PATCH/DELETE
 * /v1/customers/{id}, GET /v1/customers/{id}/export, GET/PUT /v1/fields.
 * Object checks: tenant always; supervisors their department; agents their own
 * customers; a customer out of reach looks missing (404). docs/api-customers.md */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "api_internal.h"
#include "customer_view.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 500
/* Records one list request may look at before answering with a cursor, so that a
 * selective filter cannot hold the loop for long. */
#define SCAN_BUDGET 100000

enum op { OP_CREATE, OP_GET, OP_PATCH, OP_ERASE, OP_EXPORT, OP_LIST };

struct creq {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
    enum op op;
    uint64_t id;
    bool unmask;
    json_t *body;
    char country[4];
    FieldSchema *schema;
    /* list */
    struct filter_node *filter;
    char *filter_text;
    unsigned limit;
    uint64_t after;
    CustomerRecord **found;
    size_t n_found;
    uint64_t next_after;
    /* answer after the audit row */
    CustomerRecord *rec;
    int ok_status;
};

static void creq_free(struct creq *c)
{
    json_decref(c->body);
    if (c->schema) field_schema__free_unpacked(c->schema, NULL);
    filter_free(c->filter);
    free(c->filter_text);
    for (size_t i = 0; i < c->n_found; i++) {
        customer_record_free(c->found[i]);
    }
    free(c->found);
    customer_record_free(c->rec);
    free(c);
}

static void schema_key(uint64_t tenant, char *out, size_t cap)
{
    snprintf(out, cap, STORE_SERVICE_META_PREFIX "fields/%020llu", (unsigned long long)tenant);
}

static FieldSchema *schema_load(struct api *a, uint64_t tenant)
{
    char k[64];
    schema_key(tenant, k, sizeof k);
    void *v;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len) != 0) {
        return NULL;
    }
    FieldSchema *s = field_schema__unpack(NULL, len, v);
    free(v);
    return s;
}

static struct customer_ctx cctx(struct creq *c)
{
    return (struct customer_ctx){.kr = c->a->keyring, .tenant_id = c->who.tenant_id,
                                 .default_country = c->country, .schema = c->schema,
                                 .now_ms = clock_wall_ms()};
}

/* Reads a customer the caller may touch; NULL (and *raw untouched) otherwise. */
static CustomerRecord *load(struct creq *c, void **raw, size_t *raw_len)
{
    uint8_t k[CUSTOMER_KEY_BYTES];
    customer_key(c->who.tenant_id, c->id, k);
    void *v;
    size_t len;
    if (store_get(c->a->store, STORE_CF_CUSTOMER, k, sizeof k, &v, &len) != 0) {
        return NULL;
    }
    CustomerRecord *r = customer_record_decode(v, len);
    if (r == NULL || (!auth_may_touch(&c->who, r->tenant_id, r->department, r->owner) &&
                      !api_seat_works_on(c->a, &c->who, r->tenant_id, r->id))) {
        customer_record_free(r);
        free(v);
        return NULL;
    }
    if (raw != NULL) {
        *raw = v;
        *raw_len = len;
    } else {
        free(v);
    }
    return r;
}

static void not_found(struct creq *c)
{
    api_error(c->a, c->req, 404, "not_found", NULL, "no customer %llu",
              (unsigned long long)c->id);
}

/* An event naming the fields a change touched, never their values: events leave the
 * cluster (webhooks), personal data stays behind the API's masking and audit. */
static void customer_event(struct store_mutation_builder *mb, uint64_t tenant,
                           const char *department, const char *type, uint64_t id, json_t *body)
{
    json_t *fields = json_array();
    const char *key;
    json_t *v;
    if (body != NULL) {
        json_object_foreach(body, key, v)
        {
            json_array_append_new(fields, json_string(key));
        }
    }
    char subject[48];
    snprintf(subject, sizeof subject, "customer/%llu", (unsigned long long)id);
    api_event_add(mb, tenant, department, type, subject,
                  json_pack("{s:I, s:o}", "customer_id", (json_int_t)id, "fields", fields));
}

static void object_name(uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "customer/%llu", (unsigned long long)id);
}

/* ---- single record answers (after the audit row is committed) ---- */

static void answer_record(void *data, bool ok)
{
    struct creq *c = data;
    if (!ok) {
        api_error(c->a, c->req, 503, "unavailable", NULL,
                  "the access could not be audited; nothing was disclosed");
    } else {
        struct customer_ctx ctx = cctx(c);
        json_t *doc = customer_to_json(&ctx, c->rec, c->unmask);
        if (c->op == OP_EXPORT) {
            doc = json_pack("{s:o, s:s}", "customer", doc, "note",
                            "everything this system holds about the customer "
                            "(recordings and call records are listed by their services)");
        }
        api_json(c->a, c->req, c->ok_status, doc);
    }
    creq_free(c);
}

static void written(void *data, int status, const struct store_result *r)
{
    struct creq *c = data;
    if (status == 0 && r->code == WAIHU_ECONFLICT && r->failed_condition >= 2 &&
        c->op != OP_ERASE) {
        api_error(c->a, c->req, 409, "duplicate_phone", "phone",
                  "another customer of this tenant has this phone number");
    } else if (!api_submit_failed(c->a, c->req, status, r, "customer")) {
        if (c->op == OP_ERASE) {
            char id[24];
            snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
            api_json(c->a, c->req, 200, json_pack("{s:s}", "erased", id));
        } else {
            answer_record(c, true);
            return;
        }
    }
    creq_free(c);
}

/* Agents cannot give customers away or move them; supervisors stay in their department. */
static bool assignment_allowed(struct creq *c, const json_t *body)
{
    const char *owner = json_string_value(json_object_get(body, "owner"));
    const char *dept = json_string_value(json_object_get(body, "department"));
    if (c->who.role == AUTH_ROLE_AGENT &&
        ((owner && strcmp(owner, c->who.user) != 0) || json_object_get(body, "department"))) {
        api_error(c->a, c->req, 403, "forbidden", owner ? "owner" : "department",
                  "agents may not assign customers to others or move them");
        return false;
    }
    if (c->who.role == AUTH_ROLE_SUPERVISOR && c->who.department[0] && dept &&
        strcmp(dept, c->who.department) != 0) {
        api_error(c->a, c->req, 403, "forbidden", "department",
                  "supervisors keep customers in their own department");
        return false;
    }
    return true;
}

static void do_create(struct creq *c)
{
    if (!assignment_allowed(c, c->body)) {
        creq_free(c);
        return;
    }
    /* Defaults that keep a new customer within the creator's reach. */
    if (c->who.role == AUTH_ROLE_AGENT && !json_object_get(c->body, "owner")) {
        json_object_set_new(c->body, "owner", json_string(c->who.user));
    }
    if (c->who.department[0] && !json_object_get(c->body, "department")) {
        json_object_set_new(c->body, "department", json_string(c->who.department));
    }
    uint64_t id = 0;
    while (id == 0) {
        if (RAND_bytes((uint8_t *)&id, sizeof id) != 1) {
            api_error(c->a, c->req, 500, "internal", NULL, "no randomness for an id");
            creq_free(c);
            return;
        }
        id >>= 11; /* 53 bits: exact in JavaScript numbers too */
    }
    c->id = id;
    struct customer_ctx ctx = cctx(c);
    struct customer_error err;
    int rv = customer_from_json(&ctx, c->body, NULL, id, &c->rec, NULL, &err);
    if (rv != 0) {
        api_error(c->a, c->req, 400, "invalid", err.field, "%s",
                  rv == WAIHU_EINVAL ? err.msg : waihu_strerror(rv));
        creq_free(c);
        return;
    }
    struct store_mutation_builder *mb = store_mb_new();
    customer_mutation_put(mb, NULL, NULL, 0, c->rec);
    char obj[48];
    object_name(id, obj, sizeof obj);
    api_audit_add(mb, &c->who, "customer.create", obj, "");
    customer_event(mb, c->who.tenant_id, c->rec->department, "customer.created", id, c->body);
    uint64_t client, seq;
    if (api_client_seq(c->a, c->req, &client, &seq) != 0) {
        store_mb_free(mb);
        creq_free(c);
        return;
    }
    c->ok_status = 201;
    api_submit_mutation(c->a, mb, client, seq, written, c);
}

static void do_patch(struct creq *c)
{
    void *raw;
    size_t raw_len;
    CustomerRecord *old = load(c, &raw, &raw_len);
    if (old == NULL) {
        not_found(c);
        creq_free(c);
        return;
    }
    if (!assignment_allowed(c, c->body)) {
        customer_record_free(old);
        free(raw);
        creq_free(c);
        return;
    }
    struct customer_ctx ctx = cctx(c);
    struct customer_error err;
    int rv = customer_from_json(&ctx, c->body, old, 0, &c->rec, NULL, &err);
    if (rv != 0) {
        api_error(c->a, c->req, 400, "invalid", err.field, "%s",
                  rv == WAIHU_EINVAL ? err.msg : waihu_strerror(rv));
        customer_record_free(old);
        free(raw);
        creq_free(c);
        return;
    }
    struct store_mutation_builder *mb = store_mb_new();
    customer_mutation_put(mb, old, raw, raw_len, c->rec);
    char obj[48], detail[256] = "";
    object_name(c->id, obj, sizeof obj);
    const char *key;
    json_t *v;
    json_object_foreach(c->body, key, v)
    {
        size_t n = strlen(detail);
        snprintf(detail + n, sizeof detail - n, "%s%s", n ? "," : "fields=", key);
    }
    api_audit_add(mb, &c->who, "customer.update", obj, detail);
    customer_event(mb, c->who.tenant_id, c->rec->department, "customer.updated", c->id,
                   c->body);
    customer_record_free(old);
    free(raw);
    c->ok_status = 200;
    api_submit_mutation(c->a, mb, 0, 0, written, c);
}

static void do_read(struct creq *c)
{
    c->rec = load(c, NULL, NULL);
    if (c->rec == NULL) {
        not_found(c);
        creq_free(c);
        return;
    }
    char obj[48];
    object_name(c->id, obj, sizeof obj);
    c->ok_status = 200;
    const char *action = c->op == OP_EXPORT ? "customer.export"
                         : c->unmask        ? "customer.unmask"
                                            : "customer.read";
    api_audit_then(c->a, &c->who, action, obj, "", answer_record, c);
}

static void do_erase(struct creq *c)
{
    void *raw;
    size_t raw_len;
    CustomerRecord *r = load(c, &raw, &raw_len);
    if (r == NULL) {
        not_found(c);
        creq_free(c);
        return;
    }
    struct store_mutation_builder *mb = store_mb_new();
    customer_mutation_delete(mb, r, raw, raw_len);
    char obj[48];
    object_name(c->id, obj, sizeof obj);
    /* PIPL erase: the record and its indexes go; a do-not-call entry stays (a hash). */
    api_audit_add(mb, &c->who, "customer.erase", obj, "");
    /* Their recordings go too (files removed by the nodes holding them, audited). */
    api_recordings_erase_customer(c->a, mb, c->who.tenant_id, c->id, &c->who);
    customer_event(mb, c->who.tenant_id, r->department, "customer.erased", c->id, NULL);
    customer_record_free(r);
    free(raw);
    api_submit_mutation(c->a, mb, 0, 0, written, c);
}

/* ---- lists ---- */

struct scan {
    struct creq *c;
    int64_t now_ms;
    size_t looked;
    size_t count;
    bool counting;
    bool budget_hit;
    uint64_t last_id;
};

static int scan_cb(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct scan *s = data;
    struct creq *c = s->c;
    if (klen != CUSTOMER_KEY_BYTES) {
        return 0;
    }
    s->last_id = be64_get((const uint8_t *)key + 8);
    if (!s->counting && ++s->looked > SCAN_BUDGET) {
        s->budget_hit = true;
        return 1;
    }
    CustomerRecord *r = customer_record_decode(val, vlen);
    if (r == NULL) {
        return 0;
    }
    bool match = auth_may_touch(&c->who, r->tenant_id, r->department, r->owner) &&
                 (c->filter == NULL || customer_filter_match(c->filter, r, c->schema, s->now_ms));
    if (!match) {
        customer_record_free(r);
        return 0;
    }
    s->count++;
    if (s->counting) {
        customer_record_free(r);
        return 0;
    }
    c->found[c->n_found++] = r;
    return c->n_found == c->limit ? 1 : 0;
}

static void answer_list(void *data, bool ok)
{
    struct creq *c = data;
    if (!ok) {
        api_error(c->a, c->req, 503, "unavailable", NULL,
                  "the access could not be audited; nothing was disclosed");
        creq_free(c);
        return;
    }
    struct customer_ctx ctx = cctx(c);
    json_t *items = json_array();
    for (size_t i = 0; i < c->n_found; i++) {
        json_array_append_new(items, customer_to_json(&ctx, c->found[i], c->unmask));
    }
    json_t *doc = json_pack("{s:o}", "items", items);
    if (c->next_after != 0) {
        char cur[24];
        snprintf(cur, sizeof cur, "%llu", (unsigned long long)c->next_after);
        json_object_set_new(doc, "next_cursor", json_string(cur));
    } else {
        json_object_set_new(doc, "next_cursor", json_null());
    }
    api_json(c->a, c->req, 200, doc);
    creq_free(c);
}

static void list_audit_answer(struct creq *c);

static bool may_see(void *ctx, const CustomerRecord *r)
{
    return auth_may_touch(ctx, r->tenant_id, r->department, r->owner);
}

/* From the in-memory view: every matching customer is considered (no scan budget);
 * the page's records are then read from the store. */
static int list_from_view(struct creq *c, const struct customer_view *v, bool counting,
                          size_t *count)
{
    int64_t now = clock_wall_ms();
    if (counting) {
        *count = customer_view_count(v, c->who.tenant_id, c->filter, now, may_see, &c->who);
        return 0;
    }
    uint64_t *ids = calloc(c->limit ? c->limit : 1, sizeof *ids);
    if (ids == NULL) {
        return WAIHU_ENOMEM;
    }
    size_t n = customer_view_first(v, c->who.tenant_id, c->filter, now, may_see, &c->who,
                                   c->after, ids, c->limit);
    for (size_t i = 0; i < n; i++) {
        uint8_t key[CUSTOMER_KEY_BYTES];
        customer_key(c->who.tenant_id, ids[i], key);
        void *raw;
        size_t len;
        if (store_get(c->a->store, STORE_CF_CUSTOMER, key, sizeof key, &raw, &len) != 0) {
            continue; /* the view and the store change together; a gap is a bug, logged */
        }
        CustomerRecord *r = customer_record_decode(raw, len);
        free(raw);
        if (r != NULL) {
            c->found[c->n_found++] = r;
        }
    }
    if (n != c->n_found) {
        LOG_W("api", "customer view: %zu of %zu listed customers not readable", n - c->n_found, n);
    }
    c->next_after = n == c->limit ? ids[n - 1] : 0;
    free(ids);
    return 0;
}

static void do_list(struct creq *c, bool counting)
{
    const struct customer_view *view = api_cview_for(c->a, c->filter);
    if (view != NULL) {
        size_t count = 0;
        c->found = calloc(c->limit ? c->limit : 1, sizeof *c->found);
        int rv = c->found ? list_from_view(c, view, counting, &count) : WAIHU_ENOMEM;
        if (rv != 0) {
            api_error(c->a, c->req, 503, "unavailable", NULL, "list: %s", waihu_strerror(rv));
            creq_free(c);
            return;
        }
        if (counting) {
            api_json(c->a, c->req, 200, json_pack("{s:I}", "count", (json_int_t)count));
            creq_free(c);
            return;
        }
        list_audit_answer(c);
        return;
    }
    uint8_t prefix[9], after[CUSTOMER_KEY_BYTES];
    size_t plen = customer_tenant_prefix(0, c->who.tenant_id, prefix);
    customer_key(c->who.tenant_id, c->after, after);
    c->found = calloc(c->limit ? c->limit : 1, sizeof *c->found);
    struct scan s = {.c = c, .now_ms = clock_wall_ms(), .counting = counting};
    int rv = c->found ? store_scan(c->a->store, STORE_CF_CUSTOMER, prefix, plen,
                                   c->after ? after : NULL, c->after ? sizeof after : 0,
                                   scan_cb, &s)
                      : WAIHU_ENOMEM;
    if (rv < 0) {
        api_error(c->a, c->req, 503, "unavailable", NULL, "scan: %s", waihu_strerror(rv));
        creq_free(c);
        return;
    }
    if (counting) {
        api_json(c->a, c->req, 200, json_pack("{s:I}", "count", (json_int_t)s.count));
        creq_free(c);
        return;
    }
    c->next_after = (c->n_found == c->limit || s.budget_hit) ? s.last_id : 0;
    list_audit_answer(c);
}

/* Audits the disclosure of the page, then answers. */
static void list_audit_answer(struct creq *c)
{
    char detail[300];
    snprintf(detail, sizeof detail, "filter=%.200s returned=%zu", c->filter_text ? c->filter_text : "",
             c->n_found);
    if (c->n_found == 0) {
        answer_list(c, true);
        return;
    }
    api_audit_then(c->a, &c->who, c->unmask ? "customer.list.unmask" : "customer.list",
                   "customers", detail, answer_list, c);
}

/* Parses ?filter=, ?limit=, ?cursor=; answers 400 and returns false on bad ones. */
static bool list_params(struct creq *c)
{
    char buf[FILTER_MAX_BYTES + 1];
    const char *f = http_request_param(c->req, "filter", buf, sizeof buf);
    if (f != NULL && f[0] != '\0') {
        struct filter_error ferr;
        int rv = filter_parse(f, strlen(f), &c->filter, &ferr);
        char msg[200];
        if (rv != 0) {
            api_error(c->a, c->req, 400, "invalid_filter", "filter", "%s", ferr.msg);
            return false;
        }
        if (customer_filter_check(c->filter, c->schema, msg) != 0) {
            api_error(c->a, c->req, 400, "invalid_filter", "filter", "%s", msg);
            return false;
        }
        filter_format(c->filter, &c->filter_text);
    }
    char num[32];
    const char *lim = http_request_param(c->req, "limit", num, sizeof num);
    uint64_t v = PAGE_DEFAULT;
    if (lim != NULL && (api_parse_u64(lim, &v) != 0 || v == 0 || v > PAGE_MAX)) {
        api_error(c->a, c->req, 400, "invalid", "limit", "limit must be 1..%d", PAGE_MAX);
        return false;
    }
    c->limit = (unsigned)v;
    const char *cur = http_request_param(c->req, "cursor", num, sizeof num);
    if (cur != NULL && api_parse_u64(cur, &c->after) != 0) {
        api_error(c->a, c->req, 400, "invalid", "cursor", "cursor must come from next_cursor");
        return false;
    }
    return true;
}

/* ---- custom field schema ---- */

static bool field_name_ok(const char *s)
{
    static const char *const reserved[] = {"name", "phone", "address", "notes", "tags",
                                           "owner", "department", "source", "status",
                                           "last_contact", "next_callback", "created", "id",
                                           "fields", "tag"};
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
            return false;
        }
    }
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        if (strcmp(s, reserved[i]) == 0) {
            return false;
        }
    }
    return true;
}

static json_t *schema_json(const FieldSchema *s)
{
    json_t *arr = json_array();
    for (size_t i = 0; s != NULL && i < s->n_fields; i++) {
        const CustomField *f = s->fields[i];
        json_t *vals = json_array();
        for (size_t j = 0; j < f->n_enum_values; j++) {
            json_array_append_new(vals, json_string(f->enum_values[j]));
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:b}", "name", f->name, "type",
                                             f->type, "enum_values", vals, "required",
                                             f->required));
    }
    return json_pack("{s:o}", "fields", arr);
}

static void fields_put(struct api *a, struct http_request *req)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    json_t *arr = json_object_get(b, "fields");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n > CUSTOMER_MAX_FIELDS || json_object_size(b) != 1) {
        json_decref(b);
        api_error(a, req, 400, "invalid", "fields", "expected {\"fields\": [...]} (at most 64)");
        return;
    }
    CustomField *fs = calloc(n ? n : 1, sizeof *fs);
    CustomField **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    const char **vals = calloc(n * 256 + 1, sizeof *vals);
    size_t nv = 0;
    const char *bad = NULL;
    for (size_t i = 0; i < n && bad == NULL; i++) {
        json_t *f = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        json_t *ev = json_object_get(f, "enum_values");
        custom_field__init(&fs[i]);
        ptrs[i] = &fs[i];
        if (!field_name_ok(name)) {
            bad = "name must be [a-z][a-z0-9_]{0,31} and not a built-in field";
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(fs[j].name, name) == 0) {
                bad = "duplicate field name";
            }
        }
        if (type == NULL || (strcmp(type, "string") && strcmp(type, "number") &&
                             strcmp(type, "date") && strcmp(type, "enum"))) {
            bad = "type must be string, number, date or enum";
            break;
        }
        fs[i].name = (char *)name;
        fs[i].type = (char *)type;
        fs[i].required = json_is_true(json_object_get(f, "required"));
        if (strcmp(type, "enum") == 0) {
            size_t m = json_array_size(ev);
            if (m == 0 || m > 256) {
                bad = "enum fields need 1..256 enum_values";
                break;
            }
            fs[i].enum_values = (char **)&vals[nv];
            for (size_t j = 0; j < m; j++) {
                const char *s = json_string_value(json_array_get(ev, j));
                if (s == NULL || strlen(s) == 0 || strlen(s) > 128) {
                    bad = "enum_values must be strings of 1..128 bytes";
                    break;
                }
                vals[nv++] = s;
            }
            fs[i].n_enum_values = m;
        }
    }
    if (bad != NULL) {
        api_error(a, req, 400, "invalid", "fields", "%s", bad);
    } else {
        FieldSchema s = FIELD_SCHEMA__INIT;
        s.format = 1;
        s.fields = ptrs;
        s.n_fields = n;
        size_t len = field_schema__get_packed_size(&s);
        uint8_t *v = malloc(len ? len : 1);
        field_schema__pack(&s, v);
        char k[64];
        schema_key(a->who.tenant_id, k, sizeof k);
        struct store_mutation_builder *mb = store_mb_new();
        store_mb_put(mb, STORE_CF_META, k, strlen(k), v, len);
        api_audit_add(mb, &a->who, "fields.update", "fields", "");
        free(v);
        api_submit_answer(a, req, mb, schema_json(&s), 200, "fields");
    }
    free(fs);
    free(ptrs);
    free(vals);
    json_decref(b);
}

/* ---- routing ---- */

static void with_key(void *data, bool ok)
{
    struct creq *c = data;
    if (!ok) {
        api_error(c->a, c->req, 503, "encryption_unavailable", NULL,
                  "customer data needs the master key (customer.master_key_file) on this node");
        creq_free(c);
        return;
    }
    switch (c->op) {
    case OP_CREATE: do_create(c); break;
    case OP_PATCH: do_patch(c); break;
    case OP_GET:
    case OP_EXPORT: do_read(c); break;
    case OP_ERASE: do_erase(c); break;
    case OP_LIST: do_list(c, false); break;
    }
}

static struct creq *creq_new(struct api *a, struct http_request *req, enum op op)
{
    struct creq *c = calloc(1, sizeof *c);
    if (c == NULL) {
        waihu_fatal("api", "out of memory");
    }
    c->a = a;
    c->req = req;
    c->who = a->who;
    c->op = op;
    if (api_tenant_country(a, a->who.tenant_id, c->country) != 0) {
        snprintf(c->country, sizeof c->country, "CN");
    }
    c->schema = schema_load(a, a->who.tenant_id);
    return c;
}

static bool want_unmask(struct api *a, struct http_request *req, bool *out)
{
    char buf[8];
    const char *u = http_request_param(req, "unmask", buf, sizeof buf);
    *out = u != NULL && (strcmp(u, "1") == 0 || strcmp(u, "true") == 0);
    return !*out || api_require(a, req, AUTH_CUSTOMER_UNMASK);
}

bool api_route_customers(struct api *a, struct http_request *req, const char *method,
                         const char *path)
{
    if (strcmp(path, "/v1/fields") == 0) {
        if (strcmp(method, "GET") == 0) {
            if (api_require(a, req, AUTH_CUSTOMER_READ)) {
                FieldSchema *s = schema_load(a, a->who.tenant_id);
                api_json(a, req, 200, schema_json(s));
                if (s) field_schema__free_unpacked(s, NULL);
            }
        } else if (strcmp(method, "PUT") == 0) {
            if (api_require(a, req, AUTH_SCHEMA_WRITE)) {
                fields_put(a, req);
            }
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET or PUT");
        }
        return true;
    }
    if (strncmp(path, "/v1/customers", 13) != 0) {
        return false;
    }
    const char *rest = path + 13;
    if (*rest == '\0' || strcmp(rest, "/count") == 0) {
        bool count = *rest != '\0';
        if (strcmp(method, "POST") == 0 && !count) {
            if (!api_require(a, req, AUTH_CUSTOMER_WRITE)) {
                return true;
            }
            json_t *b = api_body_object(a, req);
            if (b == NULL) {
                return true;
            }
            struct creq *c = creq_new(a, req, OP_CREATE);
            c->body = b;
            api_with_keyring(a, with_key, c);
        } else if (strcmp(method, "GET") == 0) {
            bool unmask = false;
            if (!api_require(a, req, AUTH_CUSTOMER_READ) || !want_unmask(a, req, &unmask)) {
                return true;
            }
            struct creq *c = creq_new(a, req, OP_LIST);
            c->unmask = unmask;
            if (!list_params(c)) {
                creq_free(c);
            } else if (count) {
                do_list(c, true);
            } else {
                api_with_keyring(a, with_key, c);
            }
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET or POST");
        }
        return true;
    }
    if (*rest != '/') {
        return false;
    }
    char idbuf[32];
    const char *slash = strchr(rest + 1, '/');
    size_t idlen = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
    uint64_t id;
    snprintf(idbuf, sizeof idbuf, "%.*s", (int)(idlen < 31 ? idlen : 31), rest + 1);
    if (idlen >= sizeof idbuf || api_parse_u64(idbuf, &id) != 0 || id == 0 ||
        (slash != NULL && strcmp(slash, "/export") != 0)) {
        api_error(a, req, 404, "not_found", NULL, "no route %s %s", method, path);
        return true;
    }
    enum op op;
    enum auth_action need;
    bool unmask = false;
    if (slash != NULL) {
        op = OP_EXPORT, need = AUTH_CUSTOMER_ERASE, unmask = true;
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
            return true;
        }
    } else if (strcmp(method, "GET") == 0) {
        op = OP_GET, need = AUTH_CUSTOMER_READ;
    } else if (strcmp(method, "PATCH") == 0) {
        op = OP_PATCH, need = AUTH_CUSTOMER_WRITE;
    } else if (strcmp(method, "DELETE") == 0) {
        op = OP_ERASE, need = AUTH_CUSTOMER_ERASE;
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET, PATCH or DELETE");
        return true;
    }
    if (!api_require(a, req, need) || (op == OP_GET && !want_unmask(a, req, &unmask))) {
        return true;
    }
    json_t *b = NULL;
    if (op == OP_PATCH && (b = api_body_object(a, req)) == NULL) {
        return true;
    }
    struct creq *c = creq_new(a, req, op);
    c->id = id;
    c->unmask = unmask;
    c->body = b;
    api_with_keyring(a, with_key, c);
    return true;
}
