/* The recordings API (docs/recordings.md):
 *   GET /v1/recordings?customer_id=&agent=&campaign_id=&from=&to=&min_duration_ms=
 *       &max_duration_ms=&disposition=&keyword=&cursor=&limit=   search, newest first
 *   GET /v1/recordings/{id}            metadata
 *   GET /v1/recordings/{id}/audio      the WAV, decrypted and checked (api_recording_audio.c)
 *   PUT /v1/recordings/{id}/hold       {"hold": true|false}
 *   GET/PUT /v1/recordings/retention   {"days": n}
 *   GET/PUT /v1/recordings/keywords    the speech worker's list (api_recording_keywords.c)
 * Answers from the node's view (api_recording_view.c); every disclosure is audited first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_recording_internal.h"

/* ---- search ---- */

static const char *param(void *data, const char *name, char *buf, size_t cap)
{
    return http_request_param(data, name, buf, cap);
}

struct page {
    struct api *a;
    struct http_request *req;
    json_t *doc;
};

static void page_audited(void *data, bool ok)
{
    struct page *p = data;
    if (ok) {
        api_json(p->a, p->req, 200, p->doc);
    } else {
        json_decref(p->doc);
        api_error(p->a, p->req, 503, "unavailable", NULL,
                  "the access could not be audited; nothing was disclosed");
    }
    free(p);
}

static void search(struct api *a, struct http_request *req)
{
    struct api_recordings *k = a->recordings;
    struct recording_query q;
    const char *field;
    char why[160];
    int status = recording_query_parse(http_request_query(req), param, req, &q, &field, why,
                                       sizeof why);
    if (status != 0) {
        api_error(a, req, status, status == 422 ? "unprocessable" : "invalid", field, "%s",
                  why);
        return;
    }
    struct rec_hit hits[RECORDING_PAGE_MAX];
    bool more;
    const char *only = a->who.role == AUTH_ROLE_AGENT ? a->who.user : NULL;
    int n = rec_view_search(k->view, a->who.tenant_id, only, &q, hits, &more);
    if (n < 0) {
        api_error(a, req, 503, "unavailable", NULL,
                  "this node is still building its recording catalogue view; retry shortly");
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        Recording *r = rec_read(a->store, a->who.tenant_id, hits[i].node, hits[i].call, NULL,
                                NULL);
        if (r != NULL && rec_visible(&a->who, r)) {
            json_array_append_new(items, rec_json(a, r));
        }
        if (r != NULL) {
            recording__free_unpacked(r, NULL);
        }
    }
    json_t *doc = json_pack("{s:o}", "items", items);
    if (more && n > 0) {
        char cur[64];
        recording_cursor_format(hits[n - 1].start_ms, hits[n - 1].node, hits[n - 1].call, cur,
                                sizeof cur);
        json_object_set_new(doc, "next_cursor", json_string(cur));
    } else {
        json_object_set_new(doc, "next_cursor", json_null());
    }
    if (json_array_size(items) == 0) {
        api_json(a, req, 200, doc);
        return;
    }
    /* Who was recorded with whom is personal data: audited before it leaves. */
    struct page *p = malloc(sizeof *p);
    if (p == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *p = (struct page){.a = a, .req = req, .doc = doc};
    char detail[64];
    snprintf(detail, sizeof detail, "returned=%zu", json_array_size(items));
    api_audit_then(a, &a->who, "recording.search", "recordings", detail, page_audited, p);
}

/* ---- one recording ---- */

/* The live row the caller may see, or NULL after answering 404. */
static Recording *load_visible(struct api *a, struct http_request *req, uint64_t node,
                               uint64_t call, void **raw, size_t *raw_len)
{
    Recording *r = rec_read(a->store, a->who.tenant_id, node, call, raw, raw_len);
    if (r == NULL || !rec_visible(&a->who, r)) {
        if (r != NULL) {
            recording__free_unpacked(r, NULL);
            if (raw != NULL) {
                free(*raw);
            }
        }
        api_error(a, req, 404, "not_found", NULL, "no such recording");
        return NULL;
    }
    return r;
}

static void metadata(struct api *a, struct http_request *req, uint64_t node, uint64_t call)
{
    Recording *r = load_visible(a, req, node, call, NULL, NULL);
    if (r == NULL) {
        return;
    }
    struct page *p = malloc(sizeof *p);
    if (p == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *p = (struct page){.a = a, .req = req, .doc = rec_json(a, r)};
    char obj[64];
    snprintf(obj, sizeof obj, "recording/%llu-%llu", (unsigned long long)node,
             (unsigned long long)call);
    recording__free_unpacked(r, NULL);
    api_audit_then(a, &a->who, "recording.read", obj, "", page_audited, p);
}

static void hold(struct api *a, struct http_request *req, uint64_t node, uint64_t call)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    json_t *h = json_object_get(b, "hold");
    if (!json_is_boolean(h) || json_object_size(b) != 1) {
        json_decref(b);
        api_error(a, req, 400, "invalid", "hold", "expected {\"hold\": true|false}");
        return;
    }
    bool on = json_is_true(h);
    json_decref(b);
    void *raw;
    size_t raw_len;
    Recording *r = load_visible(a, req, node, call, &raw, &raw_len);
    if (r == NULL) {
        return;
    }
    Recording n = *r;
    n.legal_hold = on;
    n.hold_by = a->who.user;
    n.hold_ms = clock_wall_ms();
    struct store_mutation_builder *mb = store_mb_new();
    rec_put(mb, &n, raw, raw_len); /* conditioned: a deletion in between wins, we answer 409 */
    char obj[64];
    snprintf(obj, sizeof obj, "recording/%llu-%llu", (unsigned long long)node,
             (unsigned long long)call);
    api_audit_add(mb, &a->who, on ? "recording.hold" : "recording.release", obj, "");
    json_t *answer = rec_json(a, &n);
    recording__free_unpacked(r, NULL);
    free(raw);
    api_submit_answer(a, req, mb, answer, 200, "recording hold");
}

/* ---- retention ---- */

static void retention_get(struct api *a, struct http_request *req)
{
    uint8_t key[REC_POLICY_KEY_BYTES];
    rec_policy_key(a->who.tenant_id, key);
    void *v;
    size_t n;
    json_t *doc = json_pack("{s:i, s:i, s:n, s:n}", "days", (int)REC_DAYS_DEFAULT, "min_days",
                            (int)REC_DAYS_MIN, "updated_by", "updated_ms");
    if (store_get(a->store, STORE_CF_RECORDING, key, sizeof key, &v, &n) == 0) {
        RecordingPolicy *p = recording_policy__unpack(NULL, n, v);
        if (p != NULL) {
            json_object_set_new(doc, "days", json_integer(p->days));
            json_object_set_new(doc, "updated_by", json_string(p->updated_by));
            json_object_set_new(doc, "updated_ms", json_integer((json_int_t)p->updated_ms));
            recording_policy__free_unpacked(p, NULL);
        }
        free(v);
    }
    api_json(a, req, 200, doc);
}

static void retention_put(struct api *a, struct http_request *req)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    json_t *d = json_object_get(b, "days");
    json_int_t days = json_is_integer(d) ? json_integer_value(d) : -1;
    size_t keys = json_object_size(b);
    json_decref(b);
    if (days < 0 || keys != 1) {
        api_error(a, req, 400, "invalid", "days", "expected {\"days\": n}");
        return;
    }
    if (days < REC_DAYS_MIN || days > REC_DAYS_MAX) {
        api_error(a, req, 422, "unprocessable", "days",
                  "recordings are kept %d to %d days", REC_DAYS_MIN, REC_DAYS_MAX);
        return;
    }
    RecordingPolicy p = RECORDING_POLICY__INIT;
    p.format = 1;
    p.tenant_id = a->who.tenant_id;
    p.days = (uint32_t)days;
    p.updated_by = a->who.user;
    p.updated_ms = clock_wall_ms();
    size_t n = recording_policy__get_packed_size(&p);
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    recording_policy__pack(&p, v);
    uint8_t key[REC_POLICY_KEY_BYTES];
    rec_policy_key(a->who.tenant_id, key);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_put(mb, STORE_CF_RECORDING, key, sizeof key, v, n);
    free(v);
    char detail[32];
    snprintf(detail, sizeof detail, "days=%d", (int)days);
    api_audit_add(mb, &a->who, "recording.retention", "recordings/retention", detail);
    api_submit_answer(a, req, mb,
                      json_pack("{s:i, s:i, s:s, s:I}", "days", (int)days, "min_days",
                                (int)REC_DAYS_MIN, "updated_by", a->who.user, "updated_ms",
                                (json_int_t)p.updated_ms),
                      200, "retention");
}

/* ---- routing ---- */

bool api_route_recordings(struct api *a, struct http_request *req, const char *method,
                          const char *path)
{
    static const char base[] = "/v1/recordings";
    size_t bl = sizeof base - 1;
    if (strncmp(path, base, bl) != 0 || (path[bl] != '\0' && path[bl] != '/')) {
        return false;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (a->recordings == NULL) {
        api_error(a, req, 503, "unavailable", NULL, "recordings are not served by this node");
        return true;
    }
    const char *rest = path[bl] == '/' ? path + bl + 1 : "";
    if (*rest == '\0') {
        if (!get) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_RECORDING_READ)) {
            search(a, req);
        }
        return true;
    }
    if (strcmp(rest, "retention") == 0) {
        if (get) {
            if (api_require(a, req, AUTH_RECORDING_READ)) {
                retention_get(a, req);
            }
        } else if (strcmp(method, "PUT") == 0) {
            if (api_require(a, req, AUTH_RECORDING_POLICY)) {
                retention_put(a, req);
            }
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET or PUT");
        }
        return true;
    }
    if (strcmp(rest, "keywords") == 0) {
        if (get) {
            if (api_require(a, req, AUTH_RECORDING_READ)) {
                rec_keywords_get(a, req);
            }
        } else if (strcmp(method, "PUT") == 0) {
            if (api_require(a, req, AUTH_RECORDING_POLICY)) {
                rec_keywords_put(a, req);
            }
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET or PUT");
        }
        return true;
    }
    char id[64];
    const char *slash = strchr(rest, '/');
    size_t idl = slash ? (size_t)(slash - rest) : strlen(rest);
    uint64_t node, call;
    if (idl >= sizeof id) {
        idl = sizeof id - 1;
    }
    memcpy(id, rest, idl);
    id[idl] = '\0';
    const char *sub = slash ? slash + 1 : "";
    if (*sub != '\0' && strcmp(sub, "audio") != 0 && strcmp(sub, "hold") != 0) {
        api_error(a, req, 404, "not_found", NULL, "no route %s %s", method, path);
        return true;
    }
    if (recording_id_parse(id, &node, &call) != 0) {
        api_error(a, req, 400, "invalid", "id", "a recording id is \"<node>-<call>\"");
        return true;
    }
    if (strcmp(sub, "hold") == 0) {
        if (strcmp(method, "PUT") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use PUT");
        } else if (api_require(a, req, AUTH_RECORDING_HOLD)) {
            hold(a, req, node, call);
        }
        return true;
    }
    if (!get) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
    } else if (api_require(a, req, AUTH_RECORDING_READ)) {
        if (*sub == '\0') {
            metadata(a, req, node, call);
        } else {
            rec_audio_get(a, req, node, call);
        }
    }
    return true;
}

void api_recordings_start(struct api *a, const struct api_config *conf)
{
    const char *dir = conf->recordings_dir;
    struct api_recordings *k = calloc(1, sizeof *k);
    if (k == NULL) {
        waihu_fatal("api", "out of memory");
    }
    k->a = a;
    k->self = cluster_config_get(a->cluster)->self.id;
    snprintf(k->dir, sizeof k->dir, "%s", dir ? dir : "");
    a->recordings = k;
    if (rec_view_start(a, &k->view) != 0) {
        waihu_fatal("api", "out of memory");
    }
    rec_sweep_start(a);
    if (k->dir[0] != '\0') {
        struct rec_speech_config sc = {.enabled = conf->speech_enabled,
                                       .workers = conf->speech_workers,
                                       .hmm_dir = conf->speech_hmm_dir,
                                       .dict = conf->speech_dict};
        k->speech = rec_speech_start(a, &sc);
    }
}

void api_recordings_stop(struct api *a)
{
    struct api_recordings *k = a->recordings;
    if (k == NULL) {
        return;
    }
    rec_speech_stop(k->speech);
    k->speech = NULL;
    rec_view_stop(k->view);
    k->view = NULL;
    rec_sweep_stop(a); /* frees k once its handles closed */
    a->recordings = NULL;
}
