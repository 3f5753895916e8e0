/* Authentication: the bootstrap token, API tokens of users, login, rate limits, and the
 * customer data key (loaded or created on first use). docs/api-auth.md */
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define TOKEN_TTL_MS (12ULL * 3600 * 1000)
#define KEY_ID_FIRST 1

static int read_file(const char *path, char *buf, size_t cap, char *errmsg)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(errmsg, 256, "%s: cannot read", path);
        return WAIHU_EINVAL;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1])) {
        buf[--n] = '\0';
    }
    return 0;
}

static int hex_decode(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

int api_auth_init(struct api *a, const struct api_config *conf, char *errmsg)
{
    char buf[256];
    a->ratelimit = auth_ratelimit_new(conf->rate_limit_per_s ? conf->rate_limit_per_s : 200,
                                      conf->rate_limit_burst ? conf->rate_limit_burst : 400);
    /* Password guessing: 1 login per second per user name, bursts of 5. */
    a->login_limit = auth_ratelimit_new(1, 5);
    if (a->ratelimit == NULL || a->login_limit == NULL ||
        fieldcrypt_keyring_new(&a->keyring) != 0) {
        snprintf(errmsg, 256, "out of memory");
        return WAIHU_ENOMEM;
    }
    if (conf->bootstrap_token_file != NULL && conf->bootstrap_token_file[0] != '\0') {
        if (read_file(conf->bootstrap_token_file, buf, sizeof buf, errmsg) != 0) {
            return WAIHU_EINVAL;
        }
        if (strlen(buf) < 32) {
            snprintf(errmsg, 256, "%s: bootstrap token shorter than 32 characters",
                     conf->bootstrap_token_file);
            return WAIHU_EINVAL;
        }
        SHA256((const uint8_t *)buf, strlen(buf), a->bootstrap_sha256);
        OPENSSL_cleanse(buf, sizeof buf);
        a->has_bootstrap = true;
    }
    if (conf->master_key_file != NULL && conf->master_key_file[0] != '\0') {
        if (read_file(conf->master_key_file, buf, sizeof buf, errmsg) != 0) {
            return WAIHU_EINVAL;
        }
        if (hex_decode(buf, a->master_key, sizeof a->master_key) != 0) {
            OPENSSL_cleanse(buf, sizeof buf);
            snprintf(errmsg, 256, "%s: master key must be 64 hex digits (32 bytes)",
                     conf->master_key_file);
            return WAIHU_EINVAL;
        }
        OPENSSL_cleanse(buf, sizeof buf);
        /* The phone lookup key never changes with data keys (indexes depend on it). */
        uint8_t lookup[FIELDCRYPT_KEY_BYTES];
        unsigned len = sizeof lookup;
        static const char label[] = "waihu phone lookup key v1";
        HMAC(EVP_sha256(), a->master_key, sizeof a->master_key, (const uint8_t *)label,
             strlen(label), lookup, &len);
        fieldcrypt_keyring_set_lookup_key(a->keyring, lookup);
        OPENSSL_cleanse(lookup, sizeof lookup);
        a->has_master = true;
    }
    return 0;
}

void api_auth_close(struct api *a)
{
    auth_ratelimit_free(a->ratelimit);
    auth_ratelimit_free(a->login_limit);
    fieldcrypt_keyring_free(a->keyring);
    OPENSSL_cleanse(a->master_key, sizeof a->master_key);
}

static void user_key(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, STORE_SERVICE_META_PREFIX "user/%s", name);
}

/* Fills p from the user record; false if unknown or disabled. */
static bool load_user(struct api *a, const char *name, struct auth_principal *p, User **keep)
{
    char k[128];
    user_key(name, k, sizeof k);
    void *v;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len) != 0) {
        return false;
    }
    User *u = user__unpack(NULL, len, v);
    free(v);
    enum auth_role role;
    if (u == NULL || u->disabled || auth_role_parse(u->role, &role) != 0) {
        if (u) user__free_unpacked(u, NULL);
        return false;
    }
    memset(p, 0, sizeof *p);
    snprintf(p->user, sizeof p->user, "%s", u->name);
    snprintf(p->department, sizeof p->department, "%s", u->department);
    p->tenant_id = u->tenant_id;
    p->role = role;
    if (keep != NULL) {
        *keep = u;
    } else {
        user__free_unpacked(u, NULL);
    }
    return true;
}

/* 1 ok (a->who set), 0 bad token, -1 token id unknown here (maybe not applied yet). */
static int check_token(struct api *a, const char *token, char *rl_key)
{
    uint8_t sha[32];
    SHA256((const uint8_t *)token, strlen(token), sha);
    if (a->has_bootstrap && auth_secret_equal(sha, a->bootstrap_sha256)) {
        memset(&a->who, 0, sizeof a->who);
        a->who.system = true;
        snprintf(rl_key, 64, "bootstrap");
        return 1;
    }
    char id[AUTH_TOKEN_ID_HEX + 1];
    uint8_t secret[32];
    if (auth_token_parse(token, id, secret) != 0) {
        return 0;
    }
    char k[96];
    snprintf(k, sizeof k, STORE_SERVICE_META_PREFIX "token/%s", id);
    void *v;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len) != 0) {
        return -1;
    }
    ApiToken *t = api_token__unpack(NULL, len, v);
    free(v);
    int ok = t != NULL && t->secret_sha256.len == 32 &&
             auth_secret_equal(t->secret_sha256.data, secret) &&
             (t->expires_ms == 0 || t->expires_ms > clock_wall_ms()) &&
             load_user(a, t->user, &a->who, NULL);
    if (t != NULL) {
        api_token__free_unpacked(t, NULL);
    }
    snprintf(rl_key, 64, "t:%s", id);
    return ok;
}

int api_token_principal(struct api *a, const char *token, struct auth_principal *out)
{
    struct auth_principal saved = a->who;
    char rl_key[64];
    int rv = check_token(a, token, rl_key);
    if (rv == 1) {
        *out = a->who;
    }
    a->who = saved;
    return rv;
}

static const char *bearer(struct http_request *req)
{
    const char *h = http_request_header(req, "Authorization");
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return NULL;
    }
    return h + 7;
}

int api_authenticate(struct api *a, struct http_request *req, bool final)
{
    const char *tok = bearer(req);
    char rl_key[64];
    int rv = tok ? check_token(a, tok, rl_key) : 0;
    if (rv == -1 && !final) {
        return -1;
    }
    if (rv != 1) {
        /* One answer for every failure: no hint whether a token id exists. */
        api_error(a, req, 401, "unauthorized", "Authorization",
                  "a valid 'Authorization: Bearer <token>' header is required");
        return 0;
    }
    uint64_t retry_ms = 0;
    /* The bootstrap token is the operators' and the harnesses' (bulk loads, benchmarks,
     * drills): not limited. Every user token is. */
    if (!a->who.system && !auth_ratelimit_take(a->ratelimit, rl_key, clock_now_ms(), &retry_ms)) {
        json_t *err = json_pack("{s:s, s:s, s:n, s:I}", "code", "rate_limited", "message",
                                "too many requests for this token", "field", "retry_after_ms",
                                (json_int_t)retry_ms);
        api_json(a, req, 429, json_pack("{s:o}", "error", err));
        return 0;
    }
    return 1;
}

/* ---- Login: POST /v1/auth/login {"username", "password"} -> {"token", "expires"} ---- */

struct login {
    struct api *a;
    struct http_request *req;
    uv_work_t work;
    char name[64];
    char password[AUTH_PASSWORD_MAX + 1];
    char hash[AUTH_HASH_MAX];
    bool ok;
    char token[AUTH_TOKEN_LEN + 1];
    struct auth_principal who;
};

static void login_free(struct login *l)
{
    OPENSSL_cleanse(l->password, sizeof l->password);
    OPENSSL_cleanse(l->token, sizeof l->token);
    free(l);
}

static void login_verify(uv_work_t *w)
{
    struct login *l = w->data;
    /* A dummy hash for unknown users so that both paths take the same time. */
    static const char dummy[] =
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
        "0Vh+9Uj1/ibq6Cd9xn9aaHQOmGbcXLLb5sQWZqm5kqg";
    int rv = auth_password_verify(l->hash[0] ? l->hash : dummy, l->password);
    l->ok = l->ok && rv == 0;
}

static void login_stored(void *data, int status, const struct store_result *r)
{
    struct login *l = data;
    if (!api_submit_failed(l->a, l->req, status, r, "login")) {
        api_json(l->a, l->req, 200,
                 json_pack("{s:s, s:s, s:s, s:I}", "token", l->token, "user", l->who.user, "role",
                           auth_role_name(l->who.role), "expires_in_s",
                           (json_int_t)(TOKEN_TTL_MS / 1000)));
    }
    login_free(l);
}

static void login_verified(uv_work_t *w, int status)
{
    struct login *l = w->data;
    if (status != 0 || !l->ok) {
        api_error(l->a, l->req, 401, "unauthorized", NULL, "wrong user name or password");
        login_free(l);
        return;
    }
    char id[AUTH_TOKEN_ID_HEX + 1];
    uint8_t sha[32];
    if (auth_token_new(l->token, id, sha) != 0) {
        api_error(l->a, l->req, 500, "internal", NULL, "no randomness for a token");
        login_free(l);
        return;
    }
    ApiToken t = API_TOKEN__INIT;
    t.format = 1;
    t.user = l->name;
    t.secret_sha256.data = sha;
    t.secret_sha256.len = sizeof sha;
    t.expires_ms = clock_wall_ms() + (int64_t)TOKEN_TTL_MS;
    uint8_t v[256];
    size_t n = api_token__pack(&t, v);
    char k[96];
    snprintf(k, sizeof k, STORE_SERVICE_META_PREFIX "token/%s", id);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_ABSENT, NULL, 0);
    store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
    api_audit_add(mb, &l->who, "auth.login", l->who.user, "");
    api_submit_mutation(l->a, mb, 0, 0, login_stored, l);
}

bool api_route_login(struct api *a, struct http_request *req, const char *method,
                     const char *path)
{
    if (strcmp(path, "/v1/auth/login") != 0) {
        return false;
    }
    if (strcmp(method, "POST") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use POST");
        return true;
    }
    json_t *body = api_body_object(a, req);
    if (body == NULL) {
        return true;
    }
    const char *name = json_string_value(json_object_get(body, "username"));
    const char *pw = json_string_value(json_object_get(body, "password"));
    if (name == NULL || pw == NULL || strlen(name) >= 64 || strlen(pw) > AUTH_PASSWORD_MAX) {
        json_decref(body);
        api_error(a, req, 400, "bad_request", name ? "password" : "username",
                  "username and password (strings) are required");
        return true;
    }
    char rl_key[80];
    snprintf(rl_key, sizeof rl_key, "login:%s", name);
    uint64_t retry_ms;
    if (!auth_ratelimit_take(a->login_limit, rl_key, clock_now_ms(), &retry_ms)) {
        json_decref(body);
        api_error(a, req, 429, "rate_limited", "retry_after_ms",
                  "too many logins for this user; retry in %llu ms",
                  (unsigned long long)retry_ms);
        return true;
    }
    struct login *l = calloc(1, sizeof *l);
    if (l == NULL) {
        json_decref(body);
        api_error(a, req, 503, "unavailable", NULL, "out of memory");
        return true;
    }
    l->a = a;
    l->req = req;
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->password, sizeof l->password, "%s", pw);
    json_decref(body);
    User *u = NULL;
    l->ok = load_user(a, l->name, &l->who, &u);
    if (u != NULL) {
        snprintf(l->hash, sizeof l->hash, "%s", u->password_hash);
        user__free_unpacked(u, NULL);
    }
    l->work.data = l;
    uv_queue_work(a->loop, &l->work, login_verify, login_verified);
    return true;
}

/* ---- The customer data key ---- */

struct key_waiter {
    void (*fn)(void *data, bool ok);
    void *data;
    struct key_waiter *next;
};

/* Loads every wrapped data key from the store; uses the highest id. */
static int load_keys_cb(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct api *a = data;
    DataKey *dk = data_key__unpack(NULL, vlen, val);
    if (dk == NULL || dk->wrapped.len != FIELDCRYPT_WRAPPED_BYTES) {
        if (dk) data_key__free_unpacked(dk, NULL);
        return 0;
    }
    uint32_t id;
    uint8_t k[FIELDCRYPT_KEY_BYTES];
    if (fieldcrypt_key_unwrap(a->master_key, dk->wrapped.data, &id, k) == 0) {
        fieldcrypt_keyring_add(a->keyring, id, k);
        fieldcrypt_keyring_use(a->keyring, id);
        a->keyring_ready = true;
    } else {
        LOG_E("api", "data key %u does not open with this node's master key", dk->id);
    }
    OPENSSL_cleanse(k, sizeof k);
    data_key__free_unpacked(dk, NULL);
    return 0;
}

void api_keys_load(struct api *a)
{
    static const char prefix[] = STORE_SERVICE_META_PREFIX "datakey/";
    store_scan(a->store, STORE_CF_META, prefix, strlen(prefix), NULL, 0, load_keys_cb, a);
}

static void wake_waiters(struct api *a)
{
    struct key_waiter *w = a->key_waiters;
    a->key_waiters = NULL;
    a->key_creating = false;
    while (w != NULL) {
        struct key_waiter *next = w->next;
        w->fn(w->data, a->keyring_ready);
        free(w);
        w = next;
    }
}

static void key_barrier_done(void *data, int status)
{
    (void)status;
    struct api *a = data;
    api_keys_load(a);
    wake_waiters(a);
}

static void key_created(void *data, int status, const struct store_result *r)
{
    struct api *a = data;
    /* Created by us or (conflict) by another node: either way read it back once it is
     * applied here. */
    if (status == 0 && (r->code == 0 || r->code == WAIHU_ECONFLICT)) {
        cluster_read_barrier(a->cluster, key_barrier_done, a);
        return;
    }
    LOG_W("api", "creating the data key failed (status %d)", status);
    wake_waiters(a);
}

struct store_mutation_builder *api_key_create_mutation(struct api *a, uint32_t id)
{
    uint8_t k[FIELDCRYPT_KEY_BYTES], wrapped[FIELDCRYPT_WRAPPED_BYTES];
    if (fieldcrypt_key_generate(k) != 0 || fieldcrypt_key_wrap(a->master_key, id, k, wrapped) != 0) {
        OPENSSL_cleanse(k, sizeof k);
        return NULL;
    }
    OPENSSL_cleanse(k, sizeof k);
    DataKey dk = DATA_KEY__INIT;
    dk.format = 1;
    dk.id = id;
    dk.wrapped.data = wrapped;
    dk.wrapped.len = sizeof wrapped;
    uint8_t v[128];
    size_t n = data_key__pack(&dk, v);
    char key[64];
    snprintf(key, sizeof key, STORE_SERVICE_META_PREFIX "datakey/%08x", id);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_META, key, strlen(key), STORE_MB_ABSENT, NULL, 0);
    store_mb_put(mb, STORE_CF_META, key, strlen(key), v, n);
    return mb;
}

static void create_key(struct api *a)
{
    struct store_mutation_builder *mb = api_key_create_mutation(a, KEY_ID_FIRST);
    if (mb == NULL) {
        wake_waiters(a);
        return;
    }
    api_submit_mutation(a, mb, 0, 0, key_created, a);
}

void api_with_keyring(struct api *a, void (*fn)(void *data, bool ok), void *data)
{
    if (!a->has_master) {
        fn(data, false);
        return;
    }
    if (!a->keyring_ready) {
        api_keys_load(a);
    }
    if (a->keyring_ready) {
        fn(data, true);
        return;
    }
    struct key_waiter *w = malloc(sizeof *w);
    if (w == NULL) {
        fn(data, false);
        return;
    }
    w->fn = fn;
    w->data = data;
    w->next = a->key_waiters;
    a->key_waiters = w;
    if (!a->key_creating) {
        a->key_creating = true;
        create_key(a);
    }
}
