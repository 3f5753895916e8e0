/* Filtered CSV export of customers: GET /v1/customers/export.csv?filter=&unmask=&bom=
 * &limit=&after= (roles with AUTH_CUSTOMER_EXPORT: admins).
 * After a read barrier (the node applied everything committed before the request), the
 * tenant's records are scanned, matched, opened and written as CSV in the uv thread
 * pool (store reads are safe there; the keyring is a copy), into one body of at most
 * EXPORT_MAX_ROWS rows: the HTTP server sends whole bodies only. The access is audited
 * before the body leaves. Cells go through csvwriter, which neutralises formulas.
 * docs/api-customers.md "CSV export". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "customer_csv.h"

/* Rows of one answer. About 250 bytes a row: ~25 MB of body, held twice while it is
 * handed to the server (our buffer, then its copy). More rows: export in parts. */
#define EXPORT_MAX_ROWS 100000

struct export {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
    char country[4];
    FieldSchema *schema;
    struct filter_node *filter;
    char *filter_text;
    bool unmask, bom, limit_given;
    uint64_t after;
    size_t limit;
    int64_t now_ms;
    uv_work_t work;
    /* Filled by the worker. */
    struct fieldcrypt_keyring *kr; /* the worker's copy */
    struct customer_ctx ctx;
    struct csvwriter *w;
    char *body;
    size_t len, cap;
    size_t rows, damaged;
    bool more; /* a match beyond limit exists */
    int err;
};

static void export_free(struct export *e)
{
    if (e->schema) field_schema__free_unpacked(e->schema, NULL);
    filter_free(e->filter);
    free(e->filter_text);
    csvwriter_free(e->w);
    fieldcrypt_keyring_free(e->kr);
    free(e->body);
    free(e);
}

/* csvwriter sink: appends to the body. */
static int sink(void *ctx, const void *buf, size_t len)
{
    struct export *e = ctx;
    if (e->len + len > e->cap) {
        size_t cap = e->cap ? e->cap : 64 * 1024;
        while (cap < e->len + len) {
            cap *= 2;
        }
        char *p = realloc(e->body, cap);
        if (p == NULL) {
            return WAIHU_ENOMEM;
        }
        e->body = p;
        e->cap = cap;
    }
    memcpy(e->body + e->len, buf, len);
    e->len += len;
    return 0;
}

static const char *const fixed_columns[] = {"id", "name", "phone", "address", "notes", "tags",
                                            "owner", "department", "source", "status",
                                            "last_contact", "next_callback", "created",
                                            "updated"};
#define N_FIXED (sizeof fixed_columns / sizeof *fixed_columns)

static void cell(struct export *e, const char *s)
{
    csvwriter_cell(e->w, s ? s : "", s ? strlen(s) : 0);
}

static void header_row(struct export *e)
{
    for (size_t i = 0; i < N_FIXED; i++) {
        cell(e, fixed_columns[i]);
    }
    for (size_t i = 0; e->schema != NULL && i < e->schema->n_fields; i++) {
        cell(e, e->schema->fields[i]->name);
    }
    csvwriter_end_row(e->w);
}

/* One record as a row; personal fields opened (and the phone masked) exactly as the
 * JSON API shows them. */
static void record_row(struct export *e, const CustomerRecord *r)
{
    json_t *doc = customer_to_json(&e->ctx, r, e->unmask);
    if (doc == NULL) {
        e->err = WAIHU_ENOMEM;
        return;
    }
    if (json_object_get(doc, "damaged_fields") != NULL) {
        e->damaged++;
    }
    for (size_t i = 0; i < N_FIXED; i++) {
        const char *col = fixed_columns[i];
        if (strcmp(col, "tags") == 0) {
            /* The import's own separator: the file imports back. */
            char tags[CUSTOMER_MAX_TAGS * 33 + 1] = "";
            size_t n = 0;
            for (size_t t = 0; t < r->n_tags && n < sizeof tags; t++) {
                n += (size_t)snprintf(tags + n, sizeof tags - n, "%s%s", t ? ";" : "",
                                      r->tags[t]);
            }
            cell(e, tags);
        } else {
            cell(e, json_string_value(json_object_get(doc, col))); /* null: "" */
        }
    }
    for (size_t i = 0; e->schema != NULL && i < e->schema->n_fields; i++) {
        const char *v = NULL;
        for (size_t j = 0; j < r->n_fields && v == NULL; j++) {
            if (strcmp(r->fields[j]->name, e->schema->fields[i]->name) == 0) {
                v = r->fields[j]->value;
            }
        }
        cell(e, v);
    }
    json_decref(doc);
    int rv = csvwriter_end_row(e->w);
    if (rv != 0) {
        e->err = rv;
    }
}

static int scan_cb(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct export *e = data;
    (void)key;
    if (klen != CUSTOMER_KEY_BYTES) {
        return 0;
    }
    CustomerRecord *r = customer_record_decode(val, vlen);
    if (r == NULL) {
        return 0;
    }
    if (auth_may_touch(&e->who, r->tenant_id, r->department, r->owner) &&
        (e->filter == NULL || customer_filter_match(e->filter, r, e->schema, e->now_ms))) {
        if (e->rows == e->limit) {
            e->more = true;
        } else {
            record_row(e, r);
            e->rows++;
        }
    }
    customer_record_free(r);
    return e->more || e->err != 0 ? 1 : 0;
}

/* In the thread pool. */
static void build(uv_work_t *w)
{
    struct export *e = w->data;
    e->ctx = (struct customer_ctx){.kr = e->kr, .tenant_id = e->who.tenant_id,
                                   .default_country = e->country, .schema = e->schema,
                                   .now_ms = e->now_ms};
    int rv = csvwriter_new(e->bom ? CSVWRITER_BOM : 0, sink, e, &e->w);
    if (rv != 0) {
        e->err = rv;
        return;
    }
    header_row(e);
    uint8_t prefix[9], after[CUSTOMER_KEY_BYTES];
    size_t plen = customer_tenant_prefix(0, e->who.tenant_id, prefix);
    customer_key(e->who.tenant_id, e->after, after);
    rv = store_scan(e->a->store, STORE_CF_CUSTOMER, prefix, plen, e->after ? after : NULL,
                    e->after ? sizeof after : 0, scan_cb, e);
    if (rv < 0 && e->err == 0) {
        e->err = rv;
    }
    if (e->err == 0) {
        e->err = csvwriter_flush(e->w);
    }
}

static void answer(void *data, bool ok)
{
    struct export *e = data;
    if (!ok) {
        api_error(e->a, e->req, 503, "unavailable", NULL,
                  "the export could not be audited; nothing was disclosed");
    } else {
        e->a->responses_by_class[2]++;
        http_respond(e->req, 200, "text/csv; charset=utf-8", e->body, e->len);
    }
    export_free(e);
}

static void built(uv_work_t *w, int status)
{
    struct export *e = w->data;
    if (status != 0 || e->err != 0) {
        api_error(e->a, e->req, 503, "unavailable", NULL, "export: %s",
                  waihu_strerror(status != 0 ? WAIHU_EIO : e->err));
        export_free(e);
        return;
    }
    if (e->more && !e->limit_given) {
        api_error(e->a, e->req, 413, "too_large", "limit",
                  "more than %d customers match; export in parts with limit (up to %d) and "
                  "after (the last id of the previous part), or narrow the filter",
                  EXPORT_MAX_ROWS, EXPORT_MAX_ROWS);
        export_free(e);
        return;
    }
    if (http_request_gone(e->req)) {
        http_respond(e->req, 499, "text/plain", NULL, 0); /* dropped: nothing disclosed */
        export_free(e);
        return;
    }
    char detail[300];
    snprintf(detail, sizeof detail, "filter=%.200s rows=%zu%s",
             e->filter_text ? e->filter_text : "", e->rows, e->damaged ? " damaged" : "");
    api_audit_then(e->a, &e->who, e->unmask ? "customer.export_csv.unmask" : "customer.export_csv",
                   "customers", detail, answer, e);
}

static void caught_up(void *data, int status)
{
    struct export *e = data;
    if (status != 0) {
        api_error(e->a, e->req, 503, "unavailable", NULL,
                  "export: this node cannot catch up with the leader (%s)",
                  waihu_strerror(status));
        export_free(e);
        return;
    }
    if (fieldcrypt_keyring_clone(e->a->keyring, &e->kr) != 0) {
        api_error(e->a, e->req, 503, "unavailable", NULL, "export: out of memory");
        export_free(e);
        return;
    }
    e->now_ms = clock_wall_ms();
    e->work.data = e;
    uv_queue_work(e->a->loop, &e->work, build, built);
}

static void with_key(void *data, bool ok)
{
    struct export *e = data;
    if (!ok) {
        api_error(e->a, e->req, 503, "encryption_unavailable", NULL,
                  "customer data needs the master key (customer.master_key_file) on this node");
        export_free(e);
        return;
    }
    /* Read your writes on any node: a follower first applies what the leader committed
     * (a customer just created through another node is in the file). */
    cluster_read_barrier(e->a->cluster, caught_up, e);
}

/* ?filter= ?unmask= ?bom= ?limit= ?after=; answers 400/403 and returns false on bad ones. */
static bool params(struct export *e)
{
    char buf[FILTER_MAX_BYTES + 1], num[32];
    const char *f = http_request_param(e->req, "filter", buf, sizeof buf);
    if (f != NULL && f[0] != '\0') {
        struct filter_error ferr;
        char msg[200];
        if (filter_parse(f, strlen(f), &e->filter, &ferr) != 0) {
            api_error(e->a, e->req, 400, "invalid_filter", "filter", "%s", ferr.msg);
            return false;
        }
        if (customer_filter_check(e->filter, e->schema, msg) != 0) {
            api_error(e->a, e->req, 400, "invalid_filter", "filter", "%s", msg);
            return false;
        }
        filter_format(e->filter, &e->filter_text);
    }
    const char *u = http_request_param(e->req, "unmask", num, sizeof num);
    e->unmask = u != NULL && (strcmp(u, "1") == 0 || strcmp(u, "true") == 0);
    if (e->unmask && !api_require(e->a, e->req, AUTH_CUSTOMER_UNMASK)) {
        return false;
    }
    const char *b = http_request_param(e->req, "bom", num, sizeof num);
    e->bom = b != NULL && (strcmp(b, "1") == 0 || strcmp(b, "true") == 0);
    uint64_t v = EXPORT_MAX_ROWS;
    const char *lim = http_request_param(e->req, "limit", num, sizeof num);
    if (lim != NULL && (api_parse_u64(lim, &v) != 0 || v == 0 || v > EXPORT_MAX_ROWS)) {
        api_error(e->a, e->req, 400, "invalid", "limit", "limit must be 1..%d", EXPORT_MAX_ROWS);
        return false;
    }
    e->limit = (size_t)v;
    e->limit_given = lim != NULL;
    const char *aft = http_request_param(e->req, "after", num, sizeof num);
    if (aft != NULL && api_parse_u64(aft, &e->after) != 0) {
        api_error(e->a, e->req, 400, "invalid", "after",
                  "after must be a customer id (the last id of the previous part)");
        return false;
    }
    return true;
}

bool api_route_export(struct api *a, struct http_request *req, const char *method,
                      const char *path)
{
    if (strcmp(path, "/v1/customers/export.csv") != 0) {
        return false;
    }
    if (strcmp(method, "GET") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        return true;
    }
    if (!api_require(a, req, AUTH_CUSTOMER_EXPORT)) {
        return true;
    }
    struct export *e = calloc(1, sizeof *e);
    if (e == NULL) {
        api_error(a, req, 503, "unavailable", NULL, "out of memory");
        return true;
    }
    e->a = a;
    e->req = req;
    e->who = a->who;
    if (api_tenant_country(a, a->who.tenant_id, e->country) != 0) {
        snprintf(e->country, sizeof e->country, "CN");
    }
    char k[64];
    snprintf(k, sizeof k, STORE_SERVICE_META_PREFIX "fields/%020llu",
             (unsigned long long)a->who.tenant_id);
    void *v;
    size_t vlen;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &vlen) == 0) {
        e->schema = field_schema__unpack(NULL, vlen, v);
        free(v);
    }
    if (!params(e)) {
        export_free(e);
        return true;
    }
    api_with_keyring(a, with_key, e);
    return true;
}
