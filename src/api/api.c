/* Routing and the shared answer helpers. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api_internal.h"

void api_json(struct api *a, struct http_request *req, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (status >= 100 && status < 600) {
        a->responses_by_class[status / 100]++;
    }
    if (text == NULL) {
        http_respond(req, 500, "application/json", "{}", 2);
        return;
    }
    http_respond(req, status, "application/json", text, strlen(text));
    free(text);
}

void api_error(struct api *a, struct http_request *req, int status, const char *code,
               const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s, s:s, s:o}", "code", code, "message", msg, "field",
                            field ? json_string(field) : json_null());
    api_json(a, req, status, json_pack("{s:o}", "error", err));
}

void api_error_status(struct api *a, struct http_request *req, int status, const char *what)
{
    switch (status) {
    case WAIHU_ETIMEDOUT:
        api_error(a, req, 504, "timeout", NULL,
                  "%s: outcome unknown (leader changed); retry with the same client id and seq",
                  what);
        break;
    case WAIHU_ETOOBIG:
        api_error(a, req, 413, "too_large", NULL, "%s: command too large", what);
        break;
    case WAIHU_ESHUTDOWN:
        api_error(a, req, 503, "unavailable", NULL, "%s: node is shutting down", what);
        break;
    case WAIHU_ENOTLEADER: {
        struct cluster_status st;
        cluster_status_get(a->cluster, &st);
        json_t *err = json_pack("{s:s, s:s, s:n, s:s}", "code", "not_leader", "message",
                                "this operation must run on the leader", "field",
                                "leader_api_address", st.leader_api_address);
        api_json(a, req, 503, json_pack("{s:o}", "error", err));
        break;
    }
    default:
        api_error(a, req, 503, "unavailable", NULL, "%s: %s", what, waihu_strerror(status));
        break;
    }
}

json_t *api_body_object(struct api *a, struct http_request *req)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        api_error(a, req, 400, "bad_request", NULL, "body is not JSON: %s (line %d, column %d)",
                  jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        api_error(a, req, 400, "bad_request", NULL, "body must be a JSON object");
        return NULL;
    }
    return doc;
}

int api_parse_u64(const char *text, uint64_t *out)
{
    if (text == NULL || *text == '\0' || strlen(text) > 20) {
        return -1;
    }
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        uint64_t nv = v * 10 + (uint64_t)(*p - '0');
        if (nv / 10 != v) {
            return -1;
        }
        v = nv;
    }
    *out = v;
    return 0;
}

int api_client_seq(struct api *a, struct http_request *req, uint64_t *client_id, uint64_t *seq)
{
    const char *cid = http_request_header(req, "X-Waihu-Client");
    const char *sq = http_request_header(req, "X-Waihu-Seq");
    *client_id = 0;
    *seq = 0;
    if (cid == NULL && sq == NULL) {
        return 0;
    }
    if (api_parse_u64(cid, client_id) != 0 || *client_id == 0) {
        api_error(a, req, 400, "bad_request", "X-Waihu-Client",
                  "X-Waihu-Client must be a nonzero decimal u64");
        return -1;
    }
    if (api_parse_u64(sq, seq) != 0) {
        api_error(a, req, 400, "bad_request", "X-Waihu-Seq", "X-Waihu-Seq must be a decimal u64");
        return -1;
    }
    return 0;
}

static bool always_allowed(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/v1/cluster") == 0 ||
           strcmp(path, "/metrics") == 0 || strncmp(path, "/v1/admin/", 10) == 0;
}

static void route(struct api *a, struct http_request *req, const char *method, const char *path);

struct fresh {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
};

static void fresh_route(void *data, int status)
{
    struct fresh *f = data;
    struct api *a = f->a;
    if (status != 0) {
        api_error(a, f->req, 503, "unavailable", NULL, "cluster: %s", waihu_strerror(status));
    } else {
        a->who = f->who; /* the principal of this request, for the synchronous handler */
        route(a, f->req, http_request_method(f->req), http_request_path(f->req));
    }
    free(f);
}

/* Routes an authenticated request (a->who is set). */
static void dispatch(struct api *a, struct http_request *req)
{
    const char *method = http_request_method(req);
    const char *path = http_request_path(req);
    if (strncmp(path, "/v1/cluster", 11) == 0 || strncmp(path, "/v1/members", 11) == 0 ||
        strncmp(path, "/v1/leader", 10) == 0 || strncmp(path, "/v1/settings", 12) == 0 ||
        strncmp(path, "/v1/admin/", 10) == 0) {
        /* Cluster administration: the bootstrap credential; status reads for roles that
         * watch the cluster. */
        bool read = strcmp(method, "GET") == 0 && strncmp(path, "/v1/settings", 12) != 0;
        if (!a->who.system && !(read && auth_role_allows(a->who.role, AUTH_CLUSTER_READ))) {
            api_error(a, req, 403, "forbidden", NULL,
                      "cluster administration needs the bootstrap token");
            return;
        }
    }
    if (strncmp(path, "/v1/users", 9) == 0 &&
        (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0)) {
        /* User writes check the tenant and the current record here: read what the
         * cluster committed first (a tenant created through another node a moment ago). */
        struct fresh *f = malloc(sizeof *f);
        if (f == NULL) {
            waihu_fatal("api", "out of memory");
        }
        *f = (struct fresh){.a = a, .req = req, .who = a->who};
        cluster_read_barrier(a->cluster, fresh_route, f);
        return;
    }
    route(a, req, method, path);
}

static void route(struct api *a, struct http_request *req, const char *method, const char *path)
{
    if (api_route_keys(a, req, method, path) || api_route_calls(a, req, method, path) ||
        api_route_cluster(a, req, method, path) || api_route_settings(a, req, method, path) ||
        api_route_users(a, req, method, path) || api_route_export(a, req, method, path) ||
        api_route_customers(a, req, method, path) ||
        api_route_dnc(a, req, method, path) || api_route_audit(a, req, method, path) ||
        api_route_imports(a, req, method, path) || api_route_campaigns(a, req, method, path) ||
        api_route_agents(a, req, method, path) || api_route_prompts(a, req, method, path) ||
        api_route_reports(a, req, method, path) || api_route_alerts(a, req, method, path) ||
        api_route_events(a, req, method, path) || api_route_webhooks(a, req, method, path) ||
        api_route_recordings(a, req, method, path)) {
        return;
    }
    api_error(a, req, 404, "not_found", NULL, "no route %s %s", method, path);
}

/* A token just created elsewhere may not be applied here yet: look again once this
 * node caught up with the leader. */
struct retry {
    struct api *a;
    struct http_request *req;
};

static void auth_retry(void *data, int status)
{
    struct retry *r = data;
    (void)status;
    if (api_authenticate(r->a, r->req, true) == 1) {
        dispatch(r->a, r->req);
    }
    free(r);
}

static void handle(void *data, struct http_request *req)
{
    struct api *a = data;
    const char *method = http_request_method(req);
    const char *path = http_request_path(req);
    a->requests++;
    if (cluster_fenced(a->cluster) && !always_allowed(path)) {
        api_error(a, req, 503, "unavailable", NULL, "node is fenced (failover drill)");
        return;
    }
    if (api_route_health(a, req, method, path) || api_route_login(a, req, method, path) ||
        api_route_web(a, req, method, path)) {
        return;
    }
    int rv = api_authenticate(a, req, false);
    if (rv == -1) {
        struct retry *r = malloc(sizeof *r);
        if (r == NULL) {
            api_error(a, req, 503, "unavailable", NULL, "out of memory");
            return;
        }
        r->a = a;
        r->req = req;
        cluster_read_barrier(a->cluster, auth_retry, r);
        return;
    }
    if (rv == 1) {
        dispatch(a, req);
    }
}


int api_start(uv_loop_t *loop, const struct api_config *conf, struct cluster *c,
              struct store *s, struct api **out, char *errmsg)
{
    struct api *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(errmsg, 256, "out of memory");
        return WAIHU_ENOMEM;
    }
    a->loop = loop;
    a->cluster = c;
    a->store = s;
    if (conf->import_dir != NULL) {
        snprintf(a->import_dir, sizeof a->import_dir, "%s", conf->import_dir);
    }
    if (conf->prompts_dir != NULL) {
        snprintf(a->prompts_dir, sizeof a->prompts_dir, "%s", conf->prompts_dir);
    }
    a->webhook_allow_private = conf->webhook_allow_private;
    if (conf->web_dir != NULL) {
        snprintf(a->web_dir, sizeof a->web_dir, "%s", conf->web_dir);
    }
    int rv = api_auth_init(a, conf, errmsg);
    if (rv != 0) {
        api_auth_close(a);
        free(a);
        return rv;
    }
    rv = http_server_start(loop, conf->address, API_MAX_BODY_BYTES, handle, a, &a->http, errmsg);
    if (rv != 0) {
        api_auth_close(a);
        free(a);
        return rv;
    }
    api_cview_start(a);
    api_keys_start(a);
    api_seat_start(a);
    api_reports_start(a);
    api_alerts_start(a);
    api_event_hooks_start(a);
    api_recordings_start(a, conf);
    char why[256];
    if (api_stream_start(a, why) != 0) {
        LOG_E("api", "%s: the console gets no live updates from this node", why);
    }
    if (api_event_stream_start(a, why) != 0) {
        LOG_E("api", "%s: no live event stream from this node", why);
    }
    *out = a;
    return 0;
}

void api_attach_telephony(struct api *a, struct telephony *t)
{
    api_calls_attach(a, t);
    api_dialer_start(a, t);
    api_seat_attach(a, t);
}

int api_recording_key(struct api *a, uint8_t out[32])
{
    static const char label[] = "waihu/recording/v1";
    unsigned int n = 0;
    if (!a->has_master ||
        HMAC(EVP_sha256(), a->master_key, sizeof a->master_key, (const uint8_t *)label,
             strlen(label), out, &n) == NULL || n != 32) {
        return WAIHU_ENOTFOUND;
    }
    return 0;
}

struct stop_ctx {
    struct api *a;
    void (*cb)(void *data);
    void *data;
};

static void http_stopped(void *data)
{
    struct stop_ctx *s = data;
    api_import_close(s->a);
    api_cview_stop(s->a);
    api_keys_stop(s->a);
    api_dialer_stop(s->a);
    api_calls_stop(s->a);
    api_alerts_stop(s->a);
    api_event_hooks_stop(s->a);
    api_recordings_stop(s->a);
    api_retrier_stop(s->a); /* after calls and the dialer: their last CDRs are tried once */
    api_event_stream_stop(s->a);
    api_stream_stop(s->a);
    api_seat_stop(s->a);
    api_reports_stop(s->a);
    api_auth_close(s->a);
    free(s->a);
    if (s->cb != NULL) {
        s->cb(s->data);
    }
    free(s);
}

void api_stop(struct api *a, void (*cb)(void *data), void *data)
{
    struct stop_ctx *s = malloc(sizeof *s);
    if (s == NULL) {
        waihu_fatal("api", "stop: out of memory");
    }
    s->a = a;
    s->cb = cb;
    s->data = data;
    http_server_stop(a->http, http_stopped, s);
}
