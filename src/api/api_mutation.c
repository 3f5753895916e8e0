/* Submitting service mutations and writing audit rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

static void ignore_result(void *data, int status, const struct store_result *r)
{
    (void)data, (void)r;
    if (status != 0) {
        LOG_W("api", "background write failed: %s", waihu_strerror(status));
    }
}

void api_submit_mutation(struct api *a, struct store_mutation_builder *mb, uint64_t client_id,
                         uint64_t seq, cluster_submit_cb cb, void *data)
{
    if (cb == NULL) {
        cb = ignore_result;
    }
    uint8_t *buf;
    size_t len;
    store_mb_pack(mb, client_id, seq, &buf, &len);
    store_mb_free(mb);
    cluster_submit(a->cluster, buf, len, cb, data);
    free(buf);
}

bool api_submit_failed(struct api *a, struct http_request *req, int status,
                       const struct store_result *r, const char *what)
{
    if (status != 0) {
        api_error_status(a, req, status, what);
        return true;
    }
    if (r->code == 0) {
        return false;
    }
    if (r->code == WAIHU_ECONFLICT) {
        api_error(a, req, 409, "conflict", NULL,
                  "%s: the record changed meanwhile; read it again and retry", what);
    } else if (r->code == WAIHU_ESTALE) {
        api_error(a, req, 409, "stale", "X-Waihu-Seq", "%s: an older request of this client",
                  what);
    } else {
        api_error(a, req, 400, "bad_request", NULL, "%s: %s", what, waihu_strerror(r->code));
    }
    return true;
}

void api_audit_add(struct store_mutation_builder *mb, const struct auth_principal *who,
                   const char *action, const char *object, const char *detail)
{
    AuditRecord rec = AUDIT_RECORD__INIT;
    rec.format = 1;
    rec.user = who->system ? "(bootstrap)" : (char *)who->user;
    rec.tenant_id = who->tenant_id;
    rec.action = (char *)action;
    rec.object = (char *)object;
    rec.detail = (char *)(detail ? detail : "");
    rec.client_ms = clock_wall_ms();
    size_t n = audit_record__get_packed_size(&rec);
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL) {
        waihu_fatal("api", "audit: out of memory");
    }
    audit_record__pack(&rec, v);
    uint8_t prefix[8];
    be64_put(prefix, who->tenant_id);
    store_mb_append(mb, STORE_CF_AUDIT, prefix, sizeof prefix, v, n);
    free(v);
}

struct audit_ctx {
    void (*done)(void *data, bool ok);
    void *data;
};

static void audit_done(void *data, int status, const struct store_result *r)
{
    struct audit_ctx *c = data;
    bool ok = status == 0 && r->code == 0;
    if (!ok) {
        LOG_W("api", "audit row not written (status %d): refusing the read", status);
    }
    c->done(c->data, ok);
    free(c);
}

void api_audit_then(struct api *a, const struct auth_principal *who, const char *action,
                    const char *object, const char *detail, void (*done)(void *data, bool ok),
                    void *data)
{
    struct audit_ctx *c = malloc(sizeof *c);
    if (c == NULL) {
        done(data, false);
        return;
    }
    c->done = done;
    c->data = data;
    struct store_mutation_builder *mb = store_mb_new();
    api_audit_add(mb, who, action, object, detail);
    api_submit_mutation(a, mb, 0, 0, audit_done, c);
}

bool api_require(struct api *a, struct http_request *req, enum auth_action action)
{
    if (a->who.system) {
        api_error(a, req, 403, "forbidden", NULL,
                  "the bootstrap token administers the cluster; use a tenant user for this");
        return false;
    }
    if (!auth_role_allows(a->who.role, action)) {
        api_error(a, req, 403, "forbidden", NULL, "role %s may not do this",
                  auth_role_name(a->who.role));
        return false;
    }
    return true;
}

struct answer_ctx {
    struct api *a;
    struct http_request *req;
    json_t *answer;
    int ok_status;
    const char *what;
};

static void answer_done(void *data, int status, const struct store_result *r)
{
    struct answer_ctx *w = data;
    if (status == 0 && r->code == WAIHU_ECONFLICT) {
        api_error(w->a, w->req, 409, "exists", NULL, "%s: already exists or changed meanwhile",
                  w->what);
    } else if (!api_submit_failed(w->a, w->req, status, r, w->what)) {
        api_json(w->a, w->req, w->ok_status, json_incref(w->answer));
    }
    json_decref(w->answer);
    free(w);
}

void api_submit_answer(struct api *a, struct http_request *req,
                       struct store_mutation_builder *mb, json_t *answer, int ok_status,
                       const char *what)
{
    struct answer_ctx *w = malloc(sizeof *w);
    if (w == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *w = (struct answer_ctx){a, req, answer, ok_status, what};
    api_submit_mutation(a, mb, 0, 0, answer_done, w);
}
