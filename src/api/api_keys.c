/* Data key rotation (docs/api-auth.md "Key rotation"):
 *   GET  /v1/admin/keys            key ids, the current one, this node's re-encryption
 *   POST /v1/admin/keys/rotate     a new data key for new writes, then re-encryption
 *   POST /v1/admin/keys/reencrypt  the re-encryption pass again (e.g. after an import
 *                                  that started before the rotation)
 * Every node hears of a new key through a watcher of the meta family and loads it; the
 * pass runs on the node that was asked, walking the customer family in steps of up to
 * 256 records, each re-sealed record written back only if it did not change meanwhile
 * (a value condition; a conflicting record was rewritten under the current key anyway). */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define STEP_RECORDS 256
#define RETRIES 20
#define RETRY_MS 200
#define DATAKEY_PREFIX STORE_SERVICE_META_PREFIX "datakey/"

struct reencrypt_job {
    struct api *a;
    bool running;
    uint32_t key_id;
    uint8_t cursor[CUSTOMER_KEY_BYTES];
    bool has_cursor, last_step;
    uint64_t scanned, resealed, conflicts, failed;
    int64_t started_ms, finished_ms;
    /* the step in flight */
    struct store_mutation_builder *items[STEP_RECORDS];
    size_t n_items;
    uint8_t *cmd;
    size_t cmd_len;
    unsigned attempts;
    uv_timer_t timer;
    bool stopping;
};

static void on_meta(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    struct api *a = data;
    if (a->has_master && (key == NULL || (klen > strlen(DATAKEY_PREFIX) &&
                                          memcmp(key, DATAKEY_PREFIX, strlen(DATAKEY_PREFIX)) == 0))) {
        api_keys_load(a);
    }
}

/* ---- the re-encryption pass ---- */

static void step(struct reencrypt_job *j);
static void job_closed(uv_handle_t *h);

static void step_timer(uv_timer_t *t)
{
    step(t->data);
}

static int collect(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct reencrypt_job *j = data;
    if (klen != CUSTOMER_KEY_BYTES) {
        return 0;
    }
    memcpy(j->cursor, key, klen);
    j->has_cursor = true;
    j->scanned++;
    CustomerRecord *r = customer_record_decode(val, vlen);
    bool changed = false;
    if (r == NULL || customer_reseal(j->a->keyring, r, &changed) != 0) {
        j->failed++; /* damaged, or sealed under a key this node cannot open: logged below */
    } else if (changed) {
        struct store_mutation_builder *mb = store_mb_new();
        store_mb_condition(mb, STORE_CF_CUSTOMER, key, klen, STORE_MB_VALUE_IS, val, vlen);
        size_t len;
        uint8_t *v = customer_record_pack(r, &len);
        store_mb_put(mb, STORE_CF_CUSTOMER, key, klen, v, len);
        free(v);
        j->items[j->n_items++] = mb;
    }
    customer_record_free(r);
    return j->scanned % STEP_RECORDS == 0 ? 1 : 0;
}

static void finish(struct reencrypt_job *j)
{
    j->running = false;
    j->finished_ms = clock_wall_ms();
    LOG_I("api", "re-encryption under key %u done: scanned=%llu resealed=%llu conflicts=%llu "
          "failed=%llu", j->key_id, (unsigned long long)j->scanned,
          (unsigned long long)j->resealed, (unsigned long long)j->conflicts,
          (unsigned long long)j->failed);
}

static void submitted(void *data, int status, const struct store_result *r);

static void resend(uv_timer_t *t)
{
    struct reencrypt_job *j = t->data;
    j->attempts++;
    cluster_submit(j->a->cluster, j->cmd, j->cmd_len, submitted, j);
}

static void submitted(void *data, int status, const struct store_result *r)
{
    struct reencrypt_job *j = data;
    if (j->stopping) {
        uv_close((uv_handle_t *)&j->timer, job_closed);
        return;
    }
    if ((status == WAIHU_ETIMEDOUT || status == WAIHU_EUNAVAILABLE) && j->attempts < RETRIES) {
        uv_timer_start(&j->timer, resend, RETRY_MS, 0);
        return;
    }
    if (status != 0 || r->code != 0) {
        LOG_W("api", "re-encryption: a step of %zu records failed: %s", j->n_items,
              waihu_strerror(status ? status : r->code));
        j->failed += j->n_items;
    } else {
        j->resealed += r->applied;
        j->conflicts += r->conflicts;
    }
    free(j->cmd);
    j->cmd = NULL;
    for (size_t i = 0; i < j->n_items; i++) {
        store_mb_free(j->items[i]);
    }
    j->n_items = 0;
    if (j->last_step) {
        finish(j);
    } else {
        step(j);
    }
}

static void step(struct reencrypt_job *j)
{
    static const uint8_t everything[1];
    uint64_t before = j->scanned;
    int rv = store_scan(j->a->store, STORE_CF_CUSTOMER, everything, 0,
                        j->has_cursor ? j->cursor : NULL, j->has_cursor ? CUSTOMER_KEY_BYTES : 0,
                        collect, j);
    if (rv < 0) {
        LOG_W("api", "re-encryption stopped: scan: %s", waihu_strerror(rv));
        j->failed++;
        finish(j);
        return;
    }
    j->last_step = rv == 0 || j->scanned == before;
    if (j->n_items == 0) {
        if (j->last_step) {
            finish(j);
        } else {
            uv_timer_start(&j->timer, step_timer, 0, 0);
        }
        return;
    }
    uint64_t client = 0;
    random_bytes(&client, sizeof client);
    store_mb_pack_batch(j->items, j->n_items, client | 1, 1, &j->cmd, &j->cmd_len);
    j->attempts = 0;
    cluster_submit(j->a->cluster, j->cmd, j->cmd_len, submitted, j);
}

static void start_pass(struct api *a)
{
    struct reencrypt_job *j = a->reencrypt;
    uint32_t id = 0;
    fieldcrypt_keyring_current(a->keyring, &id);
    j->running = true;
    j->key_id = id;
    j->has_cursor = j->last_step = false;
    j->scanned = j->resealed = j->conflicts = j->failed = 0;
    j->started_ms = clock_wall_ms();
    j->finished_ms = 0;
    uv_timer_start(&j->timer, step_timer, 0, 0);
}

/* ---- routes ---- */

static int collect_id(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    json_t *ids = data;
    size_t p = strlen(DATAKEY_PREFIX);
    char hex[9] = {0};
    if (klen == p + 8) {
        memcpy(hex, (const char *)key + p, 8);
        json_array_append_new(ids, json_integer((json_int_t)strtoul(hex, NULL, 16)));
    }
    return 0;
}

static json_t *keys_json(struct api *a)
{
    json_t *ids = json_array();
    store_scan(a->store, STORE_CF_META, DATAKEY_PREFIX, strlen(DATAKEY_PREFIX), NULL, 0,
               collect_id, ids);
    uint32_t current = 0;
    bool has = a->keyring_ready && fieldcrypt_keyring_current(a->keyring, &current) == 0;
    const struct reencrypt_job *j = a->reencrypt;
    json_t *pass = j->started_ms == 0
                       ? json_null()
                       : json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "state",
                                   j->running ? "running" : "done", "key_id", (int)j->key_id,
                                   "scanned", (json_int_t)j->scanned, "resealed",
                                   (json_int_t)j->resealed, "conflicts", (json_int_t)j->conflicts,
                                   "failed", (json_int_t)j->failed, "started_ms",
                                   (json_int_t)j->started_ms, "finished_ms",
                                   (json_int_t)j->finished_ms);
    return json_pack("{s:o, s:o, s:o}", "keys", ids, "current",
                     has ? json_integer(current) : json_null(), "reencryption", pass);
}

struct rotate_ctx {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
    uint32_t id;
};

static void rotated_loaded(void *data, int status)
{
    (void)status;
    struct rotate_ctx *r = data;
    struct api *a = r->a;
    api_keys_load(a);
    uint32_t current = 0;
    fieldcrypt_keyring_current(a->keyring, &current);
    if (current != r->id) {
        api_error(a, r->req, 503, "unavailable", NULL,
                  "key %u was created but this node did not load it (current %u)", r->id, current);
    } else {
        start_pass(a);
        api_json(a, r->req, 202, keys_json(a));
    }
    free(r);
}

static void rotated(void *data, int status, const struct store_result *res)
{
    struct rotate_ctx *r = data;
    if (api_submit_failed(r->a, r->req, status, res, "key rotation")) {
        free(r);
        return;
    }
    cluster_read_barrier(r->a->cluster, rotated_loaded, r);
}

static void rotate_ready(void *data, bool ok)
{
    struct rotate_ctx *r = data;
    struct api *a = r->a;
    if (!ok) {
        api_error(a, r->req, 503, "encryption_unavailable", NULL,
                  "key rotation needs the master key (customer.master_key_file) on this node");
        free(r);
        return;
    }
    uint32_t current = 0;
    fieldcrypt_keyring_current(a->keyring, &current);
    if (current >= FIELDCRYPT_MAX_KEYS) {
        api_error(a, r->req, 409, "too_many_keys", NULL,
                  "%d data keys exist; retiring old keys is not implemented yet",
                  FIELDCRYPT_MAX_KEYS);
        free(r);
        return;
    }
    r->id = current + 1;
    struct store_mutation_builder *mb = api_key_create_mutation(a, r->id);
    if (mb == NULL) {
        api_error(a, r->req, 503, "unavailable", NULL, "could not make a data key");
        free(r);
        return;
    }
    char obj[32];
    snprintf(obj, sizeof obj, "datakey/%u", r->id);
    api_audit_add(mb, &r->who, "key.rotate", obj, "");
    api_submit_mutation(a, mb, 0, 0, rotated, r);
}

bool api_route_keys(struct api *a, struct http_request *req, const char *method,
                    const char *path)
{
    if (strncmp(path, "/v1/admin/keys", 14) != 0) {
        return false;
    }
    const char *rest = path + 14;
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (*rest == '\0' && get) {
        api_json(a, req, 200, keys_json(a));
    } else if (strcmp(rest, "/rotate") == 0 && post) {
        struct rotate_ctx *r = calloc(1, sizeof *r);
        if (r == NULL) {
            waihu_fatal("api", "out of memory");
        }
        r->a = a;
        r->req = req;
        r->who = a->who;
        api_with_keyring(a, rotate_ready, r);
    } else if (strcmp(rest, "/reencrypt") == 0 && post) {
        if (!a->keyring_ready) {
            api_error(a, req, 409, "no_keys", NULL, "no data key is in use yet");
        } else if (a->reencrypt->running) {
            api_error(a, req, 409, "running", NULL, "a re-encryption pass is running here");
        } else {
            start_pass(a);
            api_json(a, req, 202, keys_json(a));
        }
    } else if (*rest == '\0' || strcmp(rest, "/rotate") == 0 || strcmp(rest, "/reencrypt") == 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use %s", *rest ? "POST" : "GET");
    } else {
        return false;
    }
    return true;
}

void api_keys_start(struct api *a)
{
    struct reencrypt_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        waihu_fatal("api", "out of memory");
    }
    j->a = a;
    uv_timer_init(a->loop, &j->timer);
    j->timer.data = j;
    a->reencrypt = j;
    store_watch(a->store, STORE_CF_META, on_meta, a);
}

static void job_closed(uv_handle_t *h)
{
    struct reencrypt_job *j = h->data;
    free(j->cmd);
    for (size_t i = 0; i < j->n_items; i++) {
        store_mb_free(j->items[i]);
    }
    free(j);
}

void api_keys_stop(struct api *a)
{
    struct reencrypt_job *j = a->reencrypt;
    store_unwatch(a->store, STORE_CF_META, on_meta, a);
    a->reencrypt = NULL;
    if (j == NULL) {
        return;
    }
    if (j->cmd != NULL && !uv_is_active((uv_handle_t *)&j->timer)) {
        /* A step is with the cluster, which answers every submit (at the latest when it
         * stops): the job goes then. The pass can be started again after a restart. */
        j->stopping = true;
        LOG_W("api", "stopping during a re-encryption step; POST /v1/admin/keys/reencrypt "
                     "runs the pass again");
        return;
    }
    uv_close((uv_handle_t *)&j->timer, job_closed);
}
