/* Bulk CSV import of customers from a file in the node's import directory:
 * POST /v1/imports {"file", "mapping": {"CSV column": "field"}, "encoding"}
 * GET /v1/imports/{id} (progress), GET /v1/imports/{id}/errors.
 * The file is read and parsed in the uv thread pool (csvreader, constant memory); rows
 * are sealed and submitted on the loop as Mutations, each with its own dedup identity
 * (from the job and the line), re-sent after a timeout: a row applies once. A phone already present is counted as a duplicate
 * (policy "skip"). docs/api-customers.md "Bulk import". */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"
#include "customer_csv.h"

#define CHUNK_BYTES (1024 * 1024)
#define MAX_ERRORS_KEPT 10000
#define MAX_MAP 64

enum job_state { JOB_RUNNING, JOB_DONE, JOB_FAILED };

struct prow {
    uint64_t line;
    json_t *obj; /* NULL: err holds why (a worker-side check failed) */
    char field[64];
    char err[200];
};

struct import_job {
    struct api *a;
    struct import_job *next;
    char id[24];
    uint64_t client_id;
    struct auth_principal who;
    char country[4];
    FieldSchema *schema;
    char file[256];
    int fd;
    uint64_t size_bytes, bytes_done;
    struct csvreader *reader;
    struct csvreader_map map[MAX_MAP];
    char *map_strings[2 * MAX_MAP];
    size_t map_len;
    uv_work_t work;
    bool eof;
    int fatal;
    char fatal_msg[256];
    struct prow *rows;
    size_t n_rows, cap_rows;
    json_t *errors;
    uint64_t rows_ok, rows_failed, duplicates, errors_dropped;
    unsigned in_flight;
    enum job_state state;
    int64_t started_ms, finished_ms;
};

static struct import_job *jobs; /* this node's jobs, newest first (core loop only) */

static void add_error(struct import_job *j, uint64_t line, const char *column, const char *msg)
{
    j->rows_failed++;
    if (json_array_size(j->errors) >= MAX_ERRORS_KEPT) {
        j->errors_dropped++;
        return;
    }
    json_array_append_new(j->errors, json_pack("{s:I, s:s?, s:s}", "line", (json_int_t)line,
                                               "column", column, "reason", msg));
}

/* ---- worker side: parse a chunk into rows (jansson objects are per-thread safe) ---- */

static const CustomField *custom(const FieldSchema *s, const char *name)
{
    for (size_t i = 0; s != NULL && i < s->n_fields; i++) {
        if (strcmp(s->fields[i]->name, name) == 0) {
            return s->fields[i];
        }
    }
    return NULL;
}

static struct prow *new_row(struct import_job *j, uint64_t line)
{
    if (j->n_rows == j->cap_rows) {
        size_t cap = j->cap_rows ? 2 * j->cap_rows : 1024;
        struct prow *r = realloc(j->rows, cap * sizeof *r);
        if (r == NULL) {
            return NULL;
        }
        j->rows = r;
        j->cap_rows = cap;
    }
    struct prow *p = &j->rows[j->n_rows++];
    memset(p, 0, sizeof *p);
    p->line = line;
    return p;
}

static int on_row(void *ctx, const struct csvreader_row *row)
{
    struct import_job *j = ctx;
    struct prow *p = new_row(j, row->line);
    if (p == NULL) {
        return WAIHU_ENOMEM;
    }
    json_t *obj = json_object();
    json_t *fields = json_object();
    for (size_t i = 0; i < row->n && p->err[0] == '\0'; i++) {
        const struct csvreader_cell *c = &row->cells[i];
        if (c->value == NULL || c->len == 0) {
            continue;
        }
        if (strcmp(c->field, "tags") == 0) {
            struct fieldcheck_tags tags;
            if (fieldcheck_tags("tags", c->value, &tags, p->err, sizeof p->err) != 0) {
                snprintf(p->field, sizeof p->field, "tags");
                break;
            }
            json_t *arr = json_array();
            for (size_t t = 0; t < tags.n; t++) {
                json_array_append_new(arr, json_string(tags.tag[t]));
            }
            json_object_set_new(obj, "tags", arr);
            continue;
        }
        const CustomField *f = custom(j->schema, c->field);
        if (f == NULL) {
            json_object_set_new(obj, c->field, json_stringn(c->value, c->len));
        } else if (strcmp(f->type, "number") == 0) {
            double d;
            if (fieldcheck_number(f->name, c->value, -1e15, 1e15, 0, &d, p->err, sizeof p->err)) {
                snprintf(p->field, sizeof p->field, "%s", f->name);
                break;
            }
            json_object_set_new(fields, f->name, json_real(d));
        } else if (strcmp(f->type, "date") == 0) {
            /* Spreadsheets often carry a time of day: a date field keeps the day. */
            int64_t unix_s;
            if (fieldcheck_date(f->name, c->value, &unix_s, NULL, p->err, sizeof p->err)) {
                snprintf(p->field, sizeof p->field, "%s", f->name);
                break;
            }
            char day[16];
            time_t t = (time_t)unix_s;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
            json_object_set_new(fields, f->name, json_string(day));
        } else {
            json_object_set_new(fields, f->name, json_stringn(c->value, c->len));
        }
    }
    if (json_object_size(fields) > 0) {
        json_object_set_new(obj, "fields", fields);
    } else {
        json_decref(fields);
    }
    if (p->err[0] != '\0') {
        json_decref(obj);
    } else {
        p->obj = obj;
    }
    return 0;
}

static int on_error(void *ctx, const struct csvreader_error *err)
{
    struct import_job *j = ctx;
    struct prow *p = new_row(j, err->line);
    if (p == NULL) {
        return WAIHU_ENOMEM;
    }
    snprintf(p->field, sizeof p->field, "%s", err->column ? err->column : "");
    snprintf(p->err, sizeof p->err, "%s", err->msg);
    return 0;
}

static void read_chunk(uv_work_t *w)
{
    struct import_job *j = w->data;
    static __thread char buf[CHUNK_BYTES];
    ssize_t n = read(j->fd, buf, sizeof buf);
    if (n < 0) {
        j->fatal = WAIHU_EIO;
        snprintf(j->fatal_msg, sizeof j->fatal_msg, "read %s: %s", j->file, strerror(errno));
        return;
    }
    int rv = n > 0 ? csvreader_feed(j->reader, buf, (size_t)n) : csvreader_finish(j->reader);
    j->bytes_done += (uint64_t)n;
    j->eof = n == 0;
    if (rv != 0) {
        j->fatal = rv;
        snprintf(j->fatal_msg, sizeof j->fatal_msg, "%s", csvreader_errmsg(j->reader));
    }
}

/* ---- loop side ---- */

static void job_next(struct import_job *j);

static void job_finish(struct import_job *j, enum job_state state)
{
    j->state = state;
    j->finished_ms = clock_wall_ms();
    close(j->fd);
    j->fd = -1;
    char detail[200];
    snprintf(detail, sizeof detail, "file=%s ok=%llu failed=%llu duplicates=%llu%s", j->file,
             (unsigned long long)j->rows_ok, (unsigned long long)j->rows_failed,
             (unsigned long long)j->duplicates, state == JOB_FAILED ? " (stopped)" : "");
    struct store_mutation_builder *mb = store_mb_new();
    api_audit_add(mb, &j->who, "customer.import.done", j->id, detail);
    api_submit_mutation(j->a, mb, 0, 0, NULL, NULL);
    LOG_I("api", "import %s: %s", j->id, detail);
}

/* One row in flight. Its command carries its own dedup identity (job client id mixed
 * with the line, seq 1), so re-sending it after a timeout or a leader change applies it
 * at most once, whatever happened to other rows. */
#define ROW_RETRIES 20
#define ROW_RETRY_MS 200

struct row_ctx {
    struct import_job *j;
    uint64_t line;
    uint8_t *cmd;
    size_t cmd_len;
    unsigned attempts;
    uv_timer_t timer;
};

static void row_done(void *data, int status, const struct store_result *r);

static void row_free(uv_handle_t *h)
{
    struct row_ctx *rc = h->data;
    struct import_job *j = rc->j;
    free(rc->cmd);
    free(rc);
    if (--j->in_flight == 0) {
        job_next(j);
    }
}

static void row_resend(uv_timer_t *t)
{
    struct row_ctx *rc = t->data;
    rc->attempts++;
    cluster_submit(rc->j->a->cluster, rc->cmd, rc->cmd_len, row_done, rc);
}

static void row_done(void *data, int status, const struct store_result *r)
{
    struct row_ctx *rc = data;
    struct import_job *j = rc->j;
    if ((status == WAIHU_ETIMEDOUT || status == WAIHU_EUNAVAILABLE) &&
        rc->attempts < ROW_RETRIES) {
        uv_timer_start(&rc->timer, row_resend, ROW_RETRY_MS, 0);
        return;
    }
    if (status != 0) {
        add_error(j, rc->line, NULL, waihu_strerror(status));
    } else if (r->code == 0) {
        j->rows_ok++;
    } else if (r->code == WAIHU_ECONFLICT && r->failed_condition >= 2) {
        j->duplicates++;
    } else {
        add_error(j, rc->line, NULL, waihu_strerror(r->code));
    }
    uv_close((uv_handle_t *)&rc->timer, row_free);
}

static void submit_rows(struct import_job *j)
{
    struct customer_ctx ctx = {.kr = j->a->keyring, .tenant_id = j->who.tenant_id,
                               .default_country = j->country, .schema = j->schema,
                               .now_ms = clock_wall_ms()};
    for (size_t i = 0; i < j->n_rows; i++) {
        struct prow *p = &j->rows[i];
        if (p->obj == NULL) {
            add_error(j, p->line, p->field[0] ? p->field : NULL, p->err);
            continue;
        }
        if (j->who.role == AUTH_ROLE_SUPERVISOR && j->who.department[0]) {
            json_object_set_new(p->obj, "department", json_string(j->who.department));
        }
        uint64_t id = 0;
        while (id == 0) {
            RAND_bytes((uint8_t *)&id, sizeof id);
            id >>= 11;
        }
        CustomerRecord *rec = NULL;
        struct customer_error err;
        int rv = customer_from_json(&ctx, p->obj, NULL, id, &rec, NULL, &err);
        json_decref(p->obj);
        p->obj = NULL;
        if (rv != 0) {
            add_error(j, p->line, err.field[0] ? err.field : NULL,
                      rv == WAIHU_EINVAL ? err.msg : waihu_strerror(rv));
            continue;
        }
        struct store_mutation_builder *mb = store_mb_new();
        customer_mutation_put(mb, NULL, NULL, 0, rec);
        customer_record_free(rec);
        struct row_ctx *rc = calloc(1, sizeof *rc);
        if (rc == NULL) {
            waihu_fatal("api", "import: out of memory");
        }
        rc->j = j;
        rc->line = p->line;
        uint64_t client = (j->client_id ^ (p->line * 0x9E3779B97F4A7C15ULL)) | 1;
        store_mb_pack(mb, client, 1, &rc->cmd, &rc->cmd_len);
        store_mb_free(mb);
        uv_timer_init(j->a->loop, &rc->timer);
        rc->timer.data = rc;
        j->in_flight++;
        cluster_submit(j->a->cluster, rc->cmd, rc->cmd_len, row_done, rc);
    }
    j->n_rows = 0;
}

static void chunk_read(uv_work_t *w, int status)
{
    struct import_job *j = w->data;
    if (status != 0 && j->fatal == 0) {
        j->fatal = WAIHU_EIO;
        snprintf(j->fatal_msg, sizeof j->fatal_msg, "worker cancelled");
    }
    j->in_flight++; /* hold the job while this chunk's rows go out */
    submit_rows(j);
    if (--j->in_flight == 0) {
        job_next(j);
    }
}

/* Called when no row of the last chunk is in flight: read on, or finish. */
static void job_next(struct import_job *j)
{
    if (j->fatal != 0) {
        LOG_W("api", "import %s stopped: %s", j->id, j->fatal_msg);
        job_finish(j, JOB_FAILED);
        return;
    }
    if (j->eof) {
        job_finish(j, JOB_DONE);
        return;
    }
    j->work.data = j;
    uv_queue_work(j->a->loop, &j->work, read_chunk, chunk_read);
}

/* ---- routes ---- */

static json_t *job_json(const struct import_job *j, bool with_errors)
{
    int64_t end = j->finished_ms ? j->finished_ms : clock_wall_ms();
    double secs = (double)(end - j->started_ms) / 1000.0;
    uint64_t rows = j->rows_ok + j->rows_failed + j->duplicates;
    double rate = secs > 0 ? (double)rows / secs : 0;
    double eta = j->bytes_done > 0 && j->state == JOB_RUNNING
                     ? secs * (double)(j->size_bytes - j->bytes_done) / (double)j->bytes_done
                     : 0;
    static const char *const states[] = {"running", "done", "failed"};
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:s?}", "id",
                            j->id, "state", states[j->state], "file", j->file, "bytes_total",
                            (json_int_t)j->size_bytes, "bytes_done", (json_int_t)j->bytes_done,
                            "rows_ok", (json_int_t)j->rows_ok, "rows_failed",
                            (json_int_t)j->rows_failed, "duplicates", (json_int_t)j->duplicates,
                            "rows_per_s", rate, "eta_s", eta, "error",
                            j->fatal ? j->fatal_msg : NULL);
    size_t n = json_array_size(j->errors);
    json_t *errs = json_array();
    for (size_t i = 0; i < n && (with_errors || i < 20); i++) {
        json_array_append(errs, json_array_get(j->errors, i));
    }
    json_object_set_new(doc, with_errors ? "errors" : "first_errors", errs);
    json_object_set_new(doc, "errors_not_kept", json_integer((json_int_t)j->errors_dropped));
    return doc;
}

static bool file_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 200 || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/' || (unsigned char)s[i] < 0x20) {
            return false;
        }
    }
    return true;
}

static void job_free(struct import_job *j)
{
    csvreader_free(j->reader);
    if (j->schema) field_schema__free_unpacked(j->schema, NULL);
    for (size_t i = 0; i < 2 * j->map_len; i++) {
        free(j->map_strings[i]);
    }
    json_decref(j->errors);
    free(j->rows);
    if (j->fd >= 0) close(j->fd);
    free(j);
}

struct start_ctx {
    struct import_job *j;
    struct http_request *req;
};

static void started(void *data, bool ok)
{
    struct start_ctx *s = data;
    struct import_job *j = s->j;
    if (!ok) {
        api_error(j->a, s->req, 503, "encryption_unavailable", NULL,
                  "imports need the master key (customer.master_key_file) on this node");
        job_free(j);
        free(s);
        return;
    }
    j->next = jobs;
    jobs = j;
    /* Keep the 50 newest jobs for progress queries; older finished ones go. */
    unsigned kept = 0;
    for (struct import_job **pp = &jobs; *pp != NULL;) {
        struct import_job *x = *pp;
        if (++kept > 50 && x->state != JOB_RUNNING) {
            *pp = x->next;
            job_free(x);
        } else {
            pp = &x->next;
        }
    }
    api_json(j->a, s->req, 202, job_json(j, false));
    free(s);
    job_next(j);
}

static void import_start(struct api *a, struct http_request *req)
{
    if (a->import_dir[0] == '\0') {
        api_error(a, req, 503, "imports_disabled", NULL,
                  "this node has no import directory (api.import_dir)");
        return;
    }
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    const char *file = json_string_value(json_object_get(b, "file"));
    json_t *mapping = json_object_get(b, "mapping");
    const char *enc = json_string_value(json_object_get(b, "encoding"));
    const char *bad = !file_name_ok(file) ? "file"
                      : !json_is_object(mapping) || json_object_size(mapping) == 0 ||
                              json_object_size(mapping) > MAX_MAP
                          ? "mapping"
                      : enc && strcmp(enc, "auto") && strcmp(enc, "utf-8") && strcmp(enc, "gb18030")
                          ? "encoding"
                          : NULL;
    if (bad != NULL) {
        json_decref(b);
        api_error(a, req, 400, "invalid", bad,
                  "expected {\"file\": name in the import directory, \"mapping\": {\"CSV "
                  "column\": \"field\"} (1-64), \"encoding\": auto|utf-8|gb18030}");
        return;
    }
    struct import_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        waihu_fatal("api", "out of memory");
    }
    j->a = a;
    j->fd = -1;
    j->who = a->who;
    j->errors = json_array();
    j->started_ms = clock_wall_ms();
    snprintf(j->file, sizeof j->file, "%s", file);
    if (api_tenant_country(a, a->who.tenant_id, j->country) != 0) {
        snprintf(j->country, sizeof j->country, "CN");
    }
    char k[64];
    snprintf(k, sizeof k, STORE_SERVICE_META_PREFIX "fields/%020llu",
             (unsigned long long)a->who.tenant_id);
    void *v;
    size_t vlen;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &v, &vlen) == 0) {
        j->schema = field_schema__unpack(NULL, vlen, v);
        free(v);
    }
    const char *col;
    json_t *fv;
    json_object_foreach(mapping, col, fv)
    {
        const char *field = json_string_value(fv);
        if (field == NULL) {
            json_decref(b);
            api_error(a, req, 400, "invalid", "mapping", "mapping values are field names");
            job_free(j);
            return;
        }
        j->map_strings[2 * j->map_len] = strdup(col);
        j->map_strings[2 * j->map_len + 1] = strdup(field);
        j->map[j->map_len] = (struct csvreader_map){j->map_strings[2 * j->map_len],
                                                    j->map_strings[2 * j->map_len + 1],
                                                    strcmp(field, "phone") == 0};
        j->map_len++;
    }
    struct csvreader_config cfg = {.map = j->map, .map_len = j->map_len,
                                   .encoding = enc && strcmp(enc, "gb18030") == 0 ? CSVREADER_ENC_GB18030
                                               : enc && strcmp(enc, "utf-8") == 0 ? CSVREADER_ENC_UTF8
                                                                                  : CSVREADER_ENC_AUTO,
                                   .ops = {.on_row = on_row, .on_error = on_error},
                                   .ctx = j};
    json_decref(b);
    char errmsg[256], path[700];
    if (csvreader_new(&cfg, &j->reader, errmsg, sizeof errmsg) != 0) {
        api_error(a, req, 400, "invalid", "mapping", "%s", errmsg);
        job_free(j);
        return;
    }
    snprintf(path, sizeof path, "%s/%s", a->import_dir, j->file);
    struct stat st;
    j->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (j->fd < 0 || fstat(j->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        api_error(a, req, 404, "not_found", "file", "no readable file %s in the import directory",
                  j->file);
        job_free(j);
        return;
    }
    j->size_bytes = (uint64_t)st.st_size;
    uint8_t rnd[8];
    RAND_bytes(rnd, sizeof rnd);
    j->client_id = be64_get(rnd) | 1;
    snprintf(j->id, sizeof j->id, "imp-%016llx", (unsigned long long)j->client_id);
    char detail[300];
    snprintf(detail, sizeof detail, "file=%s bytes=%llu", j->file,
             (unsigned long long)j->size_bytes);
    struct store_mutation_builder *mb = store_mb_new();
    api_audit_add(mb, &j->who, "customer.import", j->id, detail);
    api_submit_mutation(a, mb, 0, 0, NULL, NULL);
    struct start_ctx *s = malloc(sizeof *s);
    if (s == NULL) {
        waihu_fatal("api", "out of memory");
    }
    s->j = j;
    s->req = req;
    api_with_keyring(a, started, s);
}

bool api_route_imports(struct api *a, struct http_request *req, const char *method,
                       const char *path)
{
    if (strncmp(path, "/v1/imports", 11) != 0) {
        return false;
    }
    if (!api_require(a, req, AUTH_CUSTOMER_IMPORT)) {
        return true;
    }
    if (strcmp(path, "/v1/imports") == 0) {
        if (strcmp(method, "POST") == 0) {
            import_start(a, req);
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "use POST");
        }
        return true;
    }
    const char *id = path + 11;
    if (*id != '/') {
        return false;
    }
    id++;
    const char *slash = strchr(id, '/');
    size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
    bool errors = slash != NULL && strcmp(slash, "/errors") == 0;
    if (strcmp(method, "GET") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        return true;
    }
    for (struct import_job *j = jobs; j != NULL; j = j->next) {
        if (strlen(j->id) == idlen && strncmp(j->id, id, idlen) == 0 &&
            j->who.tenant_id == a->who.tenant_id && (slash == NULL || errors)) {
            api_json(a, req, 200, job_json(j, errors));
            return true;
        }
    }
    api_error(a, req, 404, "not_found", NULL,
              "no import %.*s on this node (jobs are kept by the node that runs them)",
              (int)(idlen < 40 ? idlen : 40), id);
    return true;
}

void api_import_close(struct api *a)
{
    (void)a;
    /* Finished jobs go; a job still running at shutdown keeps its memory (its rows'
     * callbacks may still come while the cluster stops). */
    for (struct import_job **pp = &jobs; *pp != NULL;) {
        struct import_job *x = *pp;
        if (x->state != JOB_RUNNING) {
            *pp = x->next;
            job_free(x);
        } else {
            pp = &x->next;
        }
    }
}
