/* Recorded messages (docs/campaigns.md "Prompts"):
 *   PUT    /v1/prompts/{name}   the WAV itself as the body (8 kHz mono 16-bit PCM)
 *   GET    /v1/prompts          the tenant's prompts
 *   DELETE /v1/prompts/{name}
 * A prompt is replicated like everything else: its bytes in chunks that fit a command
 * (content-addressed by SHA-256, so a retry or a second upload of the same file costs
 * nothing), then the record naming them. A node that dials with a prompt writes the file
 * once to its prompts directory (api_prompt_file) for the media engine to play. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_internal.h"
#include "media.h"

#define PROMPT_PREFIX STORE_SERVICE_META_PREFIX "prompt/"
#define DATA_PREFIX STORE_SERVICE_META_PREFIX "promptdata/"
#define CHUNK_BYTES (48 * 1024)
#define PROMPT_NAME_MAX 64

bool api_prompt_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PROMPT_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

static void record_key(uint64_t tenant, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, PROMPT_PREFIX "%llu/%s", (unsigned long long)tenant, name);
}

static void chunk_key(const uint8_t sha[32], uint32_t i, char *out, size_t cap)
{
    char hex[65];
    for (int k = 0; k < 32; k++) {
        snprintf(hex + 2 * k, 3, "%02x", sha[k]);
    }
    snprintf(out, cap, DATA_PREFIX "%s/%04u", hex, i);
}

Prompt *api_prompt_read(struct api *a, uint64_t tenant, const char *name)
{
    char k[160];
    record_key(tenant, name, k, sizeof k);
    void *v;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len) != 0) {
        return NULL;
    }
    Prompt *p = prompt__unpack(NULL, len, v);
    free(v);
    return p;
}

static json_t *prompt_json(const Prompt *p)
{
    char sha[17];
    for (size_t k = 0; k < 8 && k < p->sha256.len; k++) {
        snprintf(sha + 2 * k, 3, "%02x", p->sha256.data[k]);
    }
    return json_pack("{s:s, s:i, s:i, s:s, s:s, s:I}", "name", p->name, "bytes", (int)p->bytes,
                     "duration_ms", (int)p->duration_ms, "sha256_prefix", sha, "updated_by",
                     p->updated_by, "updated_ms", (json_int_t)p->updated_ms);
}

/* ---- PUT: chunks one command at a time, then the record ---- */

struct upload {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
    char name[PROMPT_NAME_MAX + 1];
    uint8_t *wav;
    size_t len;
    uint8_t sha[32];
    uint32_t chunks, next, duration_ms;
    bool existed;
};

static void upload_free(struct upload *u)
{
    free(u->wav);
    free(u);
}

static void upload_step(struct upload *u);

static void step_done(void *data, int status, const struct store_result *r)
{
    struct upload *u = data;
    if (api_submit_failed(u->a, u->req, status, r, "prompt")) {
        upload_free(u);
        return;
    }
    upload_step(u);
}

static void upload_step(struct upload *u)
{
    struct store_mutation_builder *mb = store_mb_new();
    if (u->next < u->chunks) {
        char k[160];
        chunk_key(u->sha, u->next, k, sizeof k);
        size_t off = (size_t)u->next * CHUNK_BYTES;
        size_t n = u->len - off < CHUNK_BYTES ? u->len - off : CHUNK_BYTES;
        store_mb_put(mb, STORE_CF_META, k, strlen(k), u->wav + off, n);
        u->next++;
        api_submit_mutation(u->a, mb, 0, 0, step_done, u);
        return;
    }
    Prompt p = PROMPT__INIT;
    p.format = 1;
    p.tenant_id = u->who.tenant_id;
    p.name = u->name;
    p.sha256.data = u->sha;
    p.sha256.len = sizeof u->sha;
    p.bytes = (uint32_t)u->len;
    p.chunks = u->chunks;
    p.duration_ms = u->duration_ms;
    p.updated_by = u->who.user;
    p.updated_ms = clock_wall_ms();
    size_t n = prompt__get_packed_size(&p);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    prompt__pack(&p, v);
    char k[160], detail[96];
    record_key(u->who.tenant_id, u->name, k, sizeof k);
    store_mb_put(mb, STORE_CF_META, k, strlen(k), v, n);
    free(v);
    snprintf(detail, sizeof detail, "%u bytes, %u ms", p.bytes, p.duration_ms);
    api_audit_add(mb, &u->who, "prompt.put", u->name, detail);
    api_submit_answer(u->a, u->req, mb, prompt_json(&p), u->existed ? 200 : 201, "prompt");
    upload_free(u);
}

static void put_prompt(struct api *a, struct http_request *req, const char *name)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    struct media_prompt *mp = NULL;
    char why[160];
    if (media_prompt_parse((const uint8_t *)body, len, &mp, why, sizeof why) != 0) {
        api_error(a, req, 400, "invalid", "body",
                  "a prompt is an 8 kHz mono 16-bit PCM WAV file: %s", why);
        return;
    }
    struct upload *u = calloc(1, sizeof *u);
    if (u == NULL || (u->wav = malloc(len)) == NULL) {
        waihu_fatal("api", "out of memory");
    }
    u->a = a;
    u->req = req;
    u->who = a->who;
    snprintf(u->name, sizeof u->name, "%s", name);
    memcpy(u->wav, body, len);
    u->len = len;
    u->duration_ms = media_prompt_duration_ms(mp);
    media_prompt_unref(mp);
    SHA256(u->wav, len, u->sha);
    u->chunks = (uint32_t)((len + CHUNK_BYTES - 1) / CHUNK_BYTES);
    Prompt *old = api_prompt_read(a, a->who.tenant_id, name);
    u->existed = old != NULL;
    if (old != NULL) {
        prompt__free_unpacked(old, NULL);
    }
    upload_step(u);
}

/* ---- GET, DELETE ---- */

static int list_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    Prompt *p = prompt__unpack(NULL, vlen, val);
    if (p != NULL) {
        json_array_append_new(data, prompt_json(p));
        prompt__free_unpacked(p, NULL);
    }
    return 0;
}

static void list_prompts(struct api *a, struct http_request *req)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, PROMPT_PREFIX "%llu/", (unsigned long long)a->who.tenant_id);
    json_t *items = json_array();
    store_scan(a->store, STORE_CF_META, prefix, strlen(prefix), NULL, 0, list_one, items);
    api_json(a, req, 200, json_pack("{s:o}", "items", items));
}

static void delete_prompt(struct api *a, struct http_request *req, const char *name)
{
    char k[160];
    record_key(a->who.tenant_id, name, k, sizeof k);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_META, k, strlen(k), STORE_MB_PRESENT, NULL, 0);
    store_mb_delete(mb, STORE_CF_META, k, strlen(k));
    api_audit_add(mb, &a->who, "prompt.delete", name, "");
    api_submit_answer(a, req, mb, json_pack("{s:s, s:b}", "name", name, "deleted", 1), 200,
                      "prompt");
}

bool api_route_prompts(struct api *a, struct http_request *req, const char *method,
                       const char *path)
{
    static const char base[] = "/v1/prompts";
    if (strncmp(path, base, sizeof base - 1) != 0 ||
        (path[sizeof base - 1] != '\0' && path[sizeof base - 1] != '/')) {
        return false;
    }
    const char *name = path[sizeof base - 1] ? path + sizeof base : NULL;
    if (name == NULL) {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_CAMPAIGN_READ)) {
            list_prompts(a, req);
        }
        return true;
    }
    if (!api_prompt_name_ok(name)) {
        api_error(a, req, 400, "invalid", "name",
                  "a prompt name is 1 to 64 of a-z, 0-9, '-', '_'");
    } else if (strcmp(method, "PUT") == 0) {
        if (api_require(a, req, AUTH_CAMPAIGN_WRITE)) {
            put_prompt(a, req, name);
        }
    } else if (strcmp(method, "DELETE") == 0) {
        if (api_require(a, req, AUTH_CAMPAIGN_WRITE)) {
            delete_prompt(a, req, name);
        }
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "use PUT or DELETE");
    }
    return true;
}

/* ---- the file the media engine plays ---- */

int api_prompt_file(struct api *a, uint64_t tenant, const char *name, char *path, size_t cap)
{
    if (a->prompts_dir[0] == '\0') {
        return WAIHU_EUNAVAILABLE;
    }
    Prompt *p = api_prompt_read(a, tenant, name);
    if (p == NULL || p->sha256.len != 32) {
        if (p) {
            prompt__free_unpacked(p, NULL);
        }
        return WAIHU_ENOTFOUND;
    }
    char hex[65];
    for (int k = 0; k < 32; k++) {
        snprintf(hex + 2 * k, 3, "%02x", p->sha256.data[k]);
    }
    snprintf(path, cap, "%s/%s.wav", a->prompts_dir, hex);
    struct stat st;
    int rv = 0;
    if (stat(path, &st) == 0 && (uint64_t)st.st_size == p->bytes) {
        prompt__free_unpacked(p, NULL); /* named by its hash: what is there is right */
        return 0;
    }
    /* Small (at most 1 MiB) and once per prompt and node: written on the loop. */
    uint8_t *wav = malloc(p->bytes ? p->bytes : 1);
    size_t got = 0;
    for (uint32_t i = 0; wav != NULL && rv == 0 && i < p->chunks; i++) {
        char k[160];
        chunk_key(p->sha256.data, i, k, sizeof k);
        void *v;
        size_t len;
        rv = store_get(a->store, STORE_CF_META, k, strlen(k), &v, &len);
        if (rv == 0) {
            if (got + len > p->bytes) {
                rv = WAIHU_ECORRUPT;
            } else {
                memcpy(wav + got, v, len);
                got += len;
            }
            free(v);
        }
    }
    uint8_t sha[32];
    if (wav != NULL && rv == 0) {
        SHA256(wav, got, sha);
        if (got != p->bytes || memcmp(sha, p->sha256.data, 32) != 0) {
            rv = WAIHU_ECORRUPT;
        }
    }
    if (wav == NULL) {
        rv = WAIHU_ENOMEM;
    }
    if (rv == 0) {
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        mkdir(a->prompts_dir, 0700);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && write(fd, wav, got) == (ssize_t)got && fsync(fd) == 0;
        if (fd >= 0 && close(fd) != 0) {
            ok = false;
        }
        if (!ok || rename(tmp, path) != 0) {
            LOG_E("api", "prompt %s: cannot write %s: %s", name, tmp, strerror(errno));
            unlink(tmp);
            rv = WAIHU_EIO;
        }
    } else {
        LOG_E("api", "prompt %s of tenant %llu: %s", name, (unsigned long long)tenant,
              waihu_strerror(rv));
    }
    free(wav);
    prompt__free_unpacked(p, NULL);
    return rv;
}
