/* Tenants and users: POST/GET /v1/tenants (bootstrap token), POST/GET /v1/users,
 * GET/PATCH /v1/users/{name} (tenant admins; docs/api-auth.md). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            return false;
        }
    }
    return true;
}

static void tenant_key(uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, STORE_SERVICE_META_PREFIX "tenant/%020llu", (unsigned long long)id);
}

int api_tenant_country(struct api *a, uint64_t tenant_id, char country[4])
{
    char k[64];
    tenant_key(tenant_id, k, sizeof k);
    void *v;
    size_t len;
    int rv = store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len);
    if (rv != 0) {
        return rv;
    }
    Tenant *t = tenant__unpack(NULL, len, v);
    free(v);
    if (t == NULL) {
        return WAIHU_ECORRUPT;
    }
    snprintf(country, 4, "%s", t->default_country);
    tenant__free_unpacked(t, NULL);
    return 0;
}

static void tenant_create(struct api *a, struct http_request *req)
{
    if (!a->who.system) {
        api_error(a, req, 403, "forbidden", NULL, "tenants are created with the bootstrap token");
        return;
    }
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    json_t *id = json_object_get(b, "id");
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *country = json_string_value(json_object_get(b, "default_country"));
    const char *bad = !json_is_integer(id) || json_integer_value(id) < 1 ? "id"
                      : name == NULL || strlen(name) == 0 || strlen(name) > 128 ? "name"
                      : country == NULL || strlen(country) != 2         ? "default_country"
                                                                        : NULL;
    if (bad == NULL && json_object_size(b) != 3) {
        bad = "body";
    }
    if (bad != NULL) {
        json_decref(b);
        api_error(a, req, 400, "invalid", bad,
                  "expected {\"id\": positive integer, \"name\": 1-128 chars, "
                  "\"default_country\": ISO alpha-2} and nothing else");
        return;
    }
    char probe[PHONE_E164_SIZE], why[128];
    if (phone_normalize("+1 202 555 0100", country, probe, why, sizeof why) != 0 &&
        phone_normalize("12025550100", country, probe, why, sizeof why) != 0) {
        json_decref(b);
        api_error(a, req, 400, "invalid", "default_country", "unknown country %s", country);
        return;
    }
    Tenant t = TENANT__INIT;
    t.format = 1;
    t.id = (uint64_t)json_integer_value(id);
    t.name = (char *)name;
    t.default_country = (char *)country;
    uint8_t v[512];
    size_t n = tenant__pack(&t, v);
    char k[64];
    tenant_key(t.id, k, sizeof k);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_ABSENT, NULL, 0);
    store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
    api_audit_add(mb, &a->who, "tenant.create", name, "");
    json_t *answer = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)t.id, "name", name,
                               "default_country", country);
    json_decref(b);
    api_submit_answer(a, req, mb, answer, 201, "tenant");
}

static json_t *user_json(const User *u)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:b}", "username", u->name, "tenant_id",
                     (json_int_t)u->tenant_id, "department", u->department, "role", u->role,
                     "disabled", u->disabled);
}

static User *user_get(struct api *a, const char *name, void **raw, size_t *raw_len)
{
    char k[128];
    snprintf(k, sizeof k, STORE_SERVICE_META_PREFIX "user/%s", name);
    void *v;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len) != 0) {
        return NULL;
    }
    User *u = user__unpack(NULL, len, v);
    if (raw != NULL && u != NULL) {
        *raw = v;
        *raw_len = len;
    } else {
        free(v);
    }
    return u;
}

/* Password hashing runs in the thread pool (argon2 takes tens of ms). */
struct user_write {
    struct api *a;
    struct http_request *req;
    uv_work_t work;
    User *u;            /* the record to store (owned) */
    void *old_raw;      /* stored bytes of the record being changed, NULL for create */
    size_t old_len;
    char password[AUTH_PASSWORD_MAX + 1];
    int hash_rv;
    struct auth_principal who;
    const char *action;
};

static void user_write_free(struct user_write *w)
{
    OPENSSL_cleanse(w->password, sizeof w->password);
    user__free_unpacked(w->u, NULL);
    free(w->old_raw);
    free(w);
}

/* The SIP digest credential of a softphone user: MD5(name:realm:password) in hex (RFC
 * 2617 HA1; the SIP engine's realm is "waihu"). Agents and supervisors log their
 * softphones in with their API password. */
static void sip_ha1(const char *name, const char *password, char out[33])
{
    char buf[512];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int len = snprintf(buf, sizeof buf, "%s:waihu:%s", name, password);
    out[0] = '\0';
    if (len > 0 && (size_t)len < sizeof buf &&
        EVP_Digest(buf, (size_t)len, md, &n, EVP_md5(), NULL) == 1 && n == 16) {
        for (unsigned i = 0; i < 16; i++) {
            snprintf(out + 2 * i, 3, "%02x", md[i]);
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
}

static void hash_password(uv_work_t *work)
{
    struct user_write *w = work->data;
    char hash[AUTH_HASH_MAX];
    w->hash_rv = auth_password_hash(w->password, hash);
    if (w->hash_rv == 0) {
        if (w->u->password_hash != protobuf_c_empty_string) {
            free(w->u->password_hash);
        }
        w->u->password_hash = strdup(hash);
        if (w->u->sip_ha1 != protobuf_c_empty_string) {
            free(w->u->sip_ha1);
            w->u->sip_ha1 = (char *)protobuf_c_empty_string;
        }
        if (strcmp(w->u->role, "agent") == 0 || strcmp(w->u->role, "supervisor") == 0) {
            char ha1[33];
            sip_ha1(w->u->name, w->password, ha1);
            char *copy = strdup(ha1);
            w->u->sip_ha1 = copy ? copy : (char *)protobuf_c_empty_string;
        }
    }
}

static void user_store(struct user_write *w)
{
    char k[128];
    snprintf(k, sizeof k, STORE_SERVICE_META_PREFIX "user/%s", w->u->name);
    size_t n = user__get_packed_size(w->u);
    uint8_t *v = malloc(n);
    if (v == NULL || w->u->password_hash == NULL) {
        waihu_fatal("api", "out of memory");
    }
    user__pack(w->u, v);
    struct store_mutation_builder *mb = store_mb_new();
    if (w->old_raw == NULL) {
        store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_ABSENT, NULL, 0);
    } else {
        store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_VALUE_IS, w->old_raw,
                           w->old_len);
    }
    store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
    free(v);
    char detail[160];
    snprintf(detail, sizeof detail, "role=%s department=%s disabled=%d", w->u->role,
             w->u->department, w->u->disabled);
    api_audit_add(mb, &w->who, w->action, w->u->name, detail);
    json_t *answer = user_json(w->u);
    api_submit_answer(w->a, w->req, mb, answer, w->old_raw ? 200 : 201, "user");
    user_write_free(w);
}

static void hashed(uv_work_t *work, int status)
{
    struct user_write *w = work->data;
    if (status != 0 || w->hash_rv != 0) {
        api_error(w->a, w->req, 400, "invalid", "password",
                  "password must be %d to %d characters", AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
        user_write_free(w);
        return;
    }
    user_store(w);
}

/* Applies role/department/disabled/password from body to w->u; answers on error. */
static bool user_fields(struct api *a, struct http_request *req, json_t *b, struct user_write *w,
                        bool create)
{
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        if (strcmp(key, "role") == 0) {
            enum auth_role role;
            if (!json_is_string(v) || auth_role_parse(json_string_value(v), &role) != 0) {
                api_error(a, req, 400, "invalid", "role",
                          "role must be admin, supervisor, agent, auditor or backup-operator");
                return false;
            }
            free(w->u->role == protobuf_c_empty_string ? NULL : w->u->role);
            w->u->role = strdup(json_string_value(v));
        } else if (strcmp(key, "department") == 0) {
            if (!json_is_string(v) || strlen(json_string_value(v)) > 63) {
                api_error(a, req, 400, "invalid", "department", "department: up to 63 bytes");
                return false;
            }
            free(w->u->department == protobuf_c_empty_string ? NULL : w->u->department);
            w->u->department = strdup(json_string_value(v));
        } else if (strcmp(key, "disabled") == 0 && !create) {
            if (!json_is_boolean(v)) {
                api_error(a, req, 400, "invalid", "disabled", "disabled must be true or false");
                return false;
            }
            w->u->disabled = json_is_true(v);
        } else if (strcmp(key, "password") == 0) {
            if (!json_is_string(v) || strlen(json_string_value(v)) > AUTH_PASSWORD_MAX) {
                api_error(a, req, 400, "invalid", "password", "password must be a string");
                return false;
            }
            snprintf(w->password, sizeof w->password, "%s", json_string_value(v));
        } else if (!(create && (strcmp(key, "username") == 0 || strcmp(key, "tenant_id") == 0))) {
            api_error(a, req, 400, "invalid", key, "unknown or read-only field \"%.60s\"", key);
            return false;
        }
    }
    return true;
}

static void user_write_start(struct user_write *w)
{
    if (w->password[0] != '\0') {
        w->work.data = w;
        uv_queue_work(w->a->loop, &w->work, hash_password, hashed);
    } else {
        user_store(w);
    }
}

static void user_create(struct api *a, struct http_request *req)
{
    if (!a->who.system && !api_require(a, req, AUTH_USER_ADMIN)) {
        return;
    }
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    const char *name = json_string_value(json_object_get(b, "username"));
    json_t *tid = json_object_get(b, "tenant_id");
    uint64_t tenant = a->who.tenant_id;
    if (a->who.system) {
        tenant = json_is_integer(tid) && json_integer_value(tid) > 0 ? (uint64_t)json_integer_value(tid) : 0;
    } else if (tid != NULL && (!json_is_integer(tid) || (uint64_t)json_integer_value(tid) != tenant)) {
        json_decref(b);
        api_error(a, req, 403, "forbidden", "tenant_id", "users are created in your own tenant");
        return;
    }
    char country[4];
    const char *bad = !name_ok(name) ? "username"
                      : tenant == 0 || api_tenant_country(a, tenant, country) != 0 ? "tenant_id"
                      : !json_is_string(json_object_get(b, "role"))               ? "role"
                      : !json_is_string(json_object_get(b, "password"))           ? "password"
                                                                                  : NULL;
    if (bad != NULL) {
        json_decref(b);
        api_error(a, req, 400, "invalid", bad,
                  "need username ([a-z0-9._-], 1-63), password, role and an existing tenant_id");
        return;
    }
    struct user_write *w = calloc(1, sizeof *w);
    w->u = malloc(sizeof *w->u);
    if (w == NULL || w->u == NULL) {
        waihu_fatal("api", "out of memory");
    }
    user__init(w->u);
    w->u->format = 1;
    w->u->name = strdup(name);
    w->u->tenant_id = tenant;
    w->u->created_ms = clock_wall_ms();
    w->a = a;
    w->req = req;
    w->who = a->who;
    w->action = "user.create";
    bool ok = user_fields(a, req, b, w, true);
    json_decref(b);
    if (!ok) {
        user_write_free(w);
        return;
    }
    user_write_start(w);
}

/* Whether the caller may see or change user u: system, or an admin of its tenant. */
static bool may_admin(struct api *a, const User *u)
{
    return a->who.system ||
           (auth_role_allows(a->who.role, AUTH_USER_ADMIN) && a->who.tenant_id == u->tenant_id);
}

static void user_patch(struct api *a, struct http_request *req, const char *name)
{
    void *raw;
    size_t raw_len;
    User *u = user_get(a, name, &raw, &raw_len);
    /* Another tenant's user looks exactly like a missing one. */
    if (u == NULL || (!a->who.system && u->tenant_id != a->who.tenant_id)) {
        if (u) {
            user__free_unpacked(u, NULL);
            free(raw);
        }
        api_error(a, req, 404, "not_found", NULL, "no user %s", name);
        return;
    }
    if (!may_admin(a, u)) {
        user__free_unpacked(u, NULL);
        free(raw);
        api_error(a, req, 403, "forbidden", NULL,
                  "only an admin of the tenant may change users (role, department, password)");
        return;
    }
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        user__free_unpacked(u, NULL);
        free(raw);
        return;
    }
    struct user_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *w = (struct user_write){.a = a, .req = req, .u = u, .old_raw = raw, .old_len = raw_len,
                             .who = a->who, .action = "user.update"};
    bool ok = user_fields(a, req, b, w, false);
    json_decref(b);
    if (!ok) {
        user_write_free(w);
        return;
    }
    user_write_start(w);
}

struct list_ctx {
    struct api *a;
    json_t *items;
};

static int list_cb(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct list_ctx *c = data;
    User *u = user__unpack(NULL, vlen, val);
    if (u != NULL && may_admin(c->a, u)) {
        json_array_append_new(c->items, user_json(u));
    }
    if (u) user__free_unpacked(u, NULL);
    return 0;
}

bool api_route_users(struct api *a, struct http_request *req, const char *method,
                     const char *path)
{
    if (strcmp(path, "/v1/tenants") == 0) {
        if (strcmp(method, "POST") == 0) {
            tenant_create(a, req);
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use POST");
        }
        return true;
    }
    if (strcmp(path, "/v1/users") == 0) {
        if (strcmp(method, "POST") == 0) {
            user_create(a, req);
        } else if (strcmp(method, "GET") == 0) {
            if (!a->who.system && !api_require(a, req, AUTH_USER_ADMIN)) {
                return true;
            }
            struct list_ctx c = {a, json_array()};
            static const char prefix[] = STORE_SERVICE_META_PREFIX "user/";
            store_scan(a->store, STORE_CF_META, prefix, strlen(prefix), NULL, 0, list_cb, &c);
            api_json(a, req, 200, json_pack("{s:o}", "items", c.items));
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET or POST");
        }
        return true;
    }
    if (strncmp(path, "/v1/users/", 10) != 0) {
        return false;
    }
    const char *name = path + 10;
    if (!name_ok(name)) {
        api_error(a, req, 404, "not_found", NULL, "no such user");
        return true;
    }
    if (strcmp(method, "PATCH") == 0) {
        user_patch(a, req, name);
    } else if (strcmp(method, "GET") == 0) {
        User *u = user_get(a, name, NULL, NULL);
        bool self = u != NULL && !a->who.system && strcmp(a->who.user, u->name) == 0;
        if (u == NULL || (!self && !may_admin(a, u))) {
            api_error(a, req, 404, "not_found", NULL, "no user %s", name);
        } else {
            api_json(a, req, 200, user_json(u));
        }
        if (u) user__free_unpacked(u, NULL);
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET or PATCH");
    }
    return true;
}
