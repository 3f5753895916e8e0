/* /v1/settings: the replicated runtime configuration, also the test register. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "waihu.pb-c.h"

#define PREFIX "/v1/settings"
#define LIST_DEFAULT 100
#define LIST_MAX 1000

struct op {
    struct api *a;
    struct http_request *req;
    char key[300];
    char *value;
    bool deleting;
    char prefix[300];
    char after[300];
    unsigned limit;
};

static struct op *op_new(struct api *a, struct http_request *req, const char *key)
{
    struct op *o = calloc(1, sizeof *o);
    if (o == NULL) {
        api_error(a, req, 503, "unavailable", NULL, "out of memory");
        return NULL;
    }
    o->a = a;
    o->req = req;
    snprintf(o->key, sizeof o->key, "%s", key);
    return o;
}

static void op_free(struct op *o)
{
    free(o->value);
    free(o);
}

static json_t *setting_json(const char *key, const struct store_setting *st)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "key", key, "value", st->value, "version",
                     (json_int_t)st->version, "updated_ms", (json_int_t)st->updated_ms);
}

static void answer_get(struct op *o)
{
    struct store_setting st;
    int rv = store_setting_get(o->a->store, o->key, &st);
    if (rv == WAIHU_ENOTFOUND) {
        api_error(o->a, o->req, 404, "not_found", NULL, "no setting %s", o->key);
    } else if (rv != 0) {
        api_error(o->a, o->req, 500, "internal", NULL, "read %s: %s", o->key,
                  waihu_strerror(rv));
    } else {
        api_json(o->a, o->req, 200, setting_json(o->key, &st));
        free(st.value);
    }
    op_free(o);
}

static void get_after_barrier(void *data, int status)
{
    struct op *o = data;
    if (status != 0) {
        api_error_status(o->a, o->req, status, "read barrier");
        op_free(o);
        return;
    }
    answer_get(o);
}

static int list_item(void *data, const char *key, const struct store_setting *st)
{
    json_t *arr = data;
    json_array_append_new(arr, setting_json(key, st));
    return 0;
}

static void answer_list(struct op *o)
{
    json_t *arr = json_array();
    int rv = store_settings_scan(o->a->store, o->prefix, o->after[0] ? o->after : NULL,
                                 o->limit, list_item, arr);
    if (rv != 0) {
        json_decref(arr);
        api_error(o->a, o->req, 500, "internal", NULL, "scan: %s", waihu_strerror(rv));
        op_free(o);
        return;
    }
    json_t *next = json_null();
    size_t n = json_array_size(arr);
    if (n == o->limit && n > 0) {
        next = json_incref(json_object_get(json_array_get(arr, n - 1), "key"));
    }
    api_json(o->a, o->req, 200, json_pack("{s:o, s:o}", "settings", arr, "next", next));
    op_free(o);
}

static void list_after_barrier(void *data, int status)
{
    struct op *o = data;
    if (status != 0) {
        api_error_status(o->a, o->req, status, "read barrier");
        op_free(o);
        return;
    }
    answer_list(o);
}

static void write_done(void *data, int status, const struct store_result *r)
{
    struct op *o = data;
    if (status != 0) {
        api_error_status(o->a, o->req, status, o->deleting ? "delete" : "put");
    } else if (r->code == WAIHU_ECONFLICT) {
        json_t *err = json_pack("{s:s, s:s, s:s}", "code", "conflict", "message",
                                "version mismatch", "field", "version");
        api_json(o->a, o->req, 409,
                 json_pack("{s:o, s:I}", "error", err, "current_version",
                           (json_int_t)r->current_version));
    } else if (r->code == WAIHU_ESTALE) {
        api_error(o->a, o->req, 409, "stale", "X-Waihu-Seq",
                  "a later seq of this client was already applied");
    } else if (r->code == WAIHU_ENOTFOUND) {
        api_error(o->a, o->req, 404, "not_found", NULL, "no setting %s", o->key);
    } else if (r->code == WAIHU_EINVAL) {
        api_error(o->a, o->req, 400, "bad_request", "key", "invalid key or value");
    } else if (r->code != 0) {
        api_error(o->a, o->req, 500, "internal", NULL, "%s", waihu_strerror(r->code));
    } else if (o->deleting) {
        api_json(o->a, o->req, 200, json_pack("{s:s, s:b}", "key", o->key, "deleted", 1));
    } else {
        api_json(o->a, o->req, 200,
                 json_pack("{s:s, s:s, s:I}", "key", o->key, "value", o->value, "version",
                           (json_int_t)r->version));
    }
    op_free(o);
}

static void submit(struct op *o, Command *cmd)
{
    size_t n = command__get_packed_size(cmd);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        api_error(o->a, o->req, 503, "unavailable", NULL, "out of memory");
        op_free(o);
        return;
    }
    command__pack(cmd, buf);
    cluster_submit(o->a->cluster, buf, n, write_done, o);
    free(buf);
}

static void do_put(struct api *a, struct http_request *req, const char *key)
{
    uint64_t client_id, seq;
    if (api_client_seq(a, req, &client_id, &seq) != 0) {
        return;
    }
    json_t *body = api_body_object(a, req);
    if (body == NULL) {
        return;
    }
    json_t *value = json_object_get(body, "value");
    json_t *version = json_object_get(body, "version");
    if (!json_is_string(value)) {
        api_error(a, req, 400, "bad_request", "value", "value must be a string");
        json_decref(body);
        return;
    }
    if (json_string_length(value) > 64 * 1024) {
        api_error(a, req, 413, "too_large", "value", "value is over 64 KiB");
        json_decref(body);
        return;
    }
    if (version != NULL && (!json_is_integer(version) || json_integer_value(version) < 0)) {
        api_error(a, req, 400, "bad_request", "version", "version must be an integer >= 0");
        json_decref(body);
        return;
    }
    struct op *o = op_new(a, req, key);
    if (o == NULL) {
        json_decref(body);
        return;
    }
    o->value = strdup(json_string_value(value));
    SettingPut put = SETTING_PUT__INIT;
    put.key = o->key;
    put.value = o->value;
    if (version != NULL) {
        put.has_expected_version = 1;
        put.expected_version = (uint64_t)json_integer_value(version);
    }
    Command cmd = COMMAND__INIT;
    cmd.client_id = client_id;
    cmd.seq = seq;
    cmd.op_case = COMMAND__OP_SETTING_PUT;
    cmd.setting_put = &put;
    json_decref(body);
    submit(o, &cmd);
}

static int version_param(struct api *a, struct http_request *req, bool *has, uint64_t *v)
{
    char buf[32];
    const char *p = http_request_param(req, "version", buf, sizeof buf);
    *has = p != NULL;
    if (p == NULL) {
        return 0;
    }
    char *end;
    unsigned long long x = strtoull(p, &end, 10);
    if (*p == '\0' || *end != '\0' || *p == '-') {
        api_error(a, req, 400, "bad_request", "version", "version must be an integer >= 0");
        return -1;
    }
    *v = x;
    return 0;
}

static void do_delete(struct api *a, struct http_request *req, const char *key)
{
    uint64_t client_id, seq, version = 0;
    bool has_version;
    if (api_client_seq(a, req, &client_id, &seq) != 0 ||
        version_param(a, req, &has_version, &version) != 0) {
        return;
    }
    struct op *o = op_new(a, req, key);
    if (o == NULL) {
        return;
    }
    o->deleting = true;
    SettingDelete del = SETTING_DELETE__INIT;
    del.key = o->key;
    del.has_expected_version = has_version;
    del.expected_version = version;
    Command cmd = COMMAND__INIT;
    cmd.client_id = client_id;
    cmd.seq = seq;
    cmd.op_case = COMMAND__OP_SETTING_DELETE;
    cmd.setting_delete = &del;
    submit(o, &cmd);
}

static bool param_true(struct http_request *req, const char *name)
{
    char buf[16];
    const char *v = http_request_param(req, name, buf, sizeof buf);
    return v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void do_list(struct api *a, struct http_request *req)
{
    struct op *o = op_new(a, req, "");
    if (o == NULL) {
        return;
    }
    char buf[32];
    const char *p = http_request_param(req, "prefix", o->prefix, sizeof o->prefix);
    (void)p;
    http_request_param(req, "after", o->after, sizeof o->after);
    const char *lim = http_request_param(req, "limit", buf, sizeof buf);
    o->limit = LIST_DEFAULT;
    if (lim != NULL) {
        long v = strtol(lim, NULL, 10);
        if (v < 1 || v > LIST_MAX) {
            api_error(a, req, 400, "bad_request", "limit", "limit must be 1..%d", LIST_MAX);
            op_free(o);
            return;
        }
        o->limit = (unsigned)v;
    }
    if (param_true(req, "stale")) {
        answer_list(o);
    } else {
        cluster_read_barrier(a->cluster, list_after_barrier, o);
    }
}

bool api_route_settings(struct api *a, struct http_request *req, const char *method,
                        const char *path)
{
    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0) {
        return false;
    }
    const char *rest = path + strlen(PREFIX);
    if (*rest == '\0') {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "%s not allowed here", method);
        } else {
            do_list(a, req);
        }
        return true;
    }
    if (*rest != '/') {
        return false;
    }
    const char *key = rest + 1;
    if (!store_setting_key_valid(key)) {
        api_error(a, req, 400, "bad_request", "key",
                  "key must be 1..256 characters of [A-Za-z0-9._:/-]");
        return true;
    }
    if (strcmp(method, "GET") == 0) {
        struct op *o = op_new(a, req, key);
        if (o == NULL) {
            return true;
        }
        if (param_true(req, "stale")) {
            answer_get(o);
        } else {
            cluster_read_barrier(a->cluster, get_after_barrier, o);
        }
    } else if (strcmp(method, "PUT") == 0) {
        do_put(a, req, key);
    } else if (strcmp(method, "DELETE") == 0) {
        do_delete(a, req, key);
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "%s not allowed here", method);
    }
    return true;
}
