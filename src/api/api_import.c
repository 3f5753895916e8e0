/* Bulk CSV import of customers from a file in the node's import directory:
 * POST /v1/imports {"file", "mapping": {"CSV column": "field"}, "encoding"}
 * GET /v1/imports/{id} (progress), GET /v1/imports/{id}/errors.
 * The file is read, parsed, checked and sealed in the uv thread pool (csvreader, constant
 * memory), a chunk at a time; rows go out as MutationBatch commands of up to 256 rows,
 * each command with its own dedup identity (from the job and its first line), re-sent
 * after a timeout: a row applies once. Inside a command every row stands alone: a phone
 * already present skips that row as a duplicate (policy "skip") and no other.
 * docs/api-customers.md "Bulk import". */
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
/* Rows per replicated command, and its size: well under the largest command the
 * cluster takes (64 KiB), leaving room for one more row and the framing. */
#define BATCH_ROWS 256
#define BATCH_BYTES (40 * 1024)
/* Commands in flight before the reader waits (about 16k rows). */
#define MAX_INFLIGHT_BATCHES 64

enum job_state { JOB_RUNNING, JOB_DONE, JOB_FAILED };

/* A row the worker rejected: reported on the loop (the error list is the loop's). */
struct prow {
    uint64_t line;
    char field[64];
    char err[200];
};

/* One packed MutationBatch of consecutive rows. */
struct pbatch {
    uint8_t *cmd;
    size_t len;
    uint64_t first_line, last_line;
    uint32_t rows;
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
    bool reading, eof;
    int fatal;
    char fatal_msg[256];
    /* Filled by the worker during a chunk, drained by the loop after it. */
    struct fieldcrypt_keyring *keyring; /* the job's copy */
    struct customer_ctx ctx;
    struct prow *bad;
    size_t n_bad, cap_bad;
    struct pbatch *batches;
    size_t n_batches, cap_batches;
    struct store_mutation_builder *items[BATCH_ROWS];
    size_t n_items, items_bytes;
    uint64_t items_first_line, items_last_line, id_base;
    /* Loop only. */
    json_t *errors;
    uint64_t rows_ok, rows_failed, duplicates, errors_dropped;
    unsigned in_flight;
    enum job_state state;
    int64_t started_ms, finished_ms;
};

static struct import_job *jobs; /* this node's jobs, newest first (core loop only) */

static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return arr;
    }
    size_t c = *cap ? 2 * *cap : 64;
    void *p = realloc(arr, c * size);
    if (p == NULL) {
        waihu_fatal("api", "import: out of memory");
    }
    *cap = c;
    return p;
}

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

/* ---- worker side: parse, validate, seal and pack a chunk's rows ---- */

static const CustomField *custom(const FieldSchema *s, const char *name)
{
    for (size_t i = 0; s != NULL && i < s->n_fields; i++) {
        if (strcmp(s->fields[i]->name, name) == 0) {
            return s->fields[i];
        }
    }
    return NULL;
}

static void reject(struct import_job *j, uint64_t line, const char *field, const char *msg)
{
    j->bad = grow(j->bad, &j->cap_bad, j->n_bad, sizeof *j->bad);
    struct prow *p = &j->bad[j->n_bad++];
    p->line = line;
    snprintf(p->field, sizeof p->field, "%s", field ? field : "");
    snprintf(p->err, sizeof p->err, "%s", msg);
}

static void flush_batch(struct import_job *j)
{
    if (j->n_items == 0) {
        return;
    }
    j->batches = grow(j->batches, &j->cap_batches, j->n_batches, sizeof *j->batches);
    struct pbatch *b = &j->batches[j->n_batches++];
    b->first_line = j->items_first_line;
    b->last_line = j->items_last_line;
    b->rows = (uint32_t)j->n_items;
    /* Its own dedup identity: re-sent after a timeout, it applies at most once. */
    uint64_t client = (j->client_id ^ (b->first_line * 0x9E3779B97F4A7C15ULL)) | 1;
    store_mb_pack_batch(j->items, j->n_items, client, 1, &b->cmd, &b->len);
    for (size_t i = 0; i < j->n_items; i++) {
        store_mb_free(j->items[i]);
    }
    j->n_items = 0;
    j->items_bytes = 0;
}

/* The row as a customer: the same checks and sealing as POST /v1/customers. */
static void add_customer(struct import_job *j, uint64_t line, json_t *obj)
{
    if (j->who.role == AUTH_ROLE_SUPERVISOR && j->who.department[0]) {
        json_object_set_new(obj, "department", json_string(j->who.department));
    }
    /* Ids of one command are consecutive under a random base: RocksDB inserts them
     * next to each other (measured: memtable inserts of random keys were a third of a
     * follower's import CPU). A clash with an existing id fails the row's first
     * condition; it is then counted as a duplicate (about 2^-45 per command). */
    if (j->n_items == 0 || j->id_base == 0) {
        j->id_base = 0;
        while (j->id_base == 0) {
            random_bytes(&j->id_base, sizeof j->id_base);
            j->id_base = (j->id_base >> 11) & ~(uint64_t)(BATCH_ROWS - 1);
        }
    }
    uint64_t id = j->id_base + j->n_items;
    CustomerRecord *rec = NULL;
    struct customer_error err;
    int rv = customer_from_json(&j->ctx, obj, NULL, id, &rec, NULL, &err);
    if (rv != 0) {
        reject(j, line, err.field[0] ? err.field : NULL,
               rv == WAIHU_EINVAL ? err.msg : waihu_strerror(rv));
        return;
    }
    struct store_mutation_builder *mb = store_mb_new();
    customer_mutation_put(mb, NULL, NULL, 0, rec);
    customer_record_free(rec);
    if (j->n_items == 0) {
        j->items_first_line = line;
    }
    j->items_last_line = line;
    j->items[j->n_items++] = mb;
    j->items_bytes += store_mb_size(mb) + 8;
    if (j->n_items == BATCH_ROWS || j->items_bytes >= BATCH_BYTES) {
        flush_batch(j);
    }
}

static int on_row(void *ctx, const struct csvreader_row *row)
{
    struct import_job *j = ctx;
    char field[64] = "", err[200] = "";
    json_t *obj = json_object();
    json_t *fields = json_object();
    for (size_t i = 0; i < row->n && err[0] == '\0'; i++) {
        const struct csvreader_cell *c = &row->cells[i];
        if (c->value == NULL || c->len == 0) {
            continue;
        }
        if (strcmp(c->field, "tags") == 0) {
            struct fieldcheck_tags tags;
            if (fieldcheck_tags("tags", c->value, &tags, err, sizeof err) != 0) {
                snprintf(field, sizeof field, "tags");
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
            if (fieldcheck_number(f->name, c->value, -1e15, 1e15, 0, &d, err, sizeof err)) {
                snprintf(field, sizeof field, "%s", f->name);
                break;
            }
            json_object_set_new(fields, f->name, json_real(d));
        } else if (strcmp(f->type, "date") == 0) {
            /* Spreadsheets often carry a time of day: a date field keeps the day. */
            int64_t unix_s;
            if (fieldcheck_date(f->name, c->value, &unix_s, NULL, err, sizeof err)) {
                snprintf(field, sizeof field, "%s", f->name);
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
    if (err[0] != '\0') {
        reject(j, row->line, field[0] ? field : NULL, err);
    } else {
        add_customer(j, row->line, obj);
    }
    json_decref(obj);
    return 0;
}

static int on_error(void *ctx, const struct csvreader_error *err)
{
    struct import_job *j = ctx;
    reject(j, err->line, err->column, err->msg);
    return 0;
}

/* In the thread pool. Seals with the job's own copy of the keyring: a key rotation
 * meanwhile changes the loop's keyring, not this one (rows of this import keep the key
 * current at its start; the rotation's re-encryption pass is what moves them). */
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
    flush_batch(j);
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

/* A command without an answer (timeout, leader change) is re-sent with its dedup
 * identity, so it applies at most once: keep trying for about five minutes (a cluster
 * that is electing, or a loaded one) before giving up on knowing. */
#define BATCH_RETRIES 300
#define BATCH_RETRY_MAX_MS 1000

struct batch_ctx {
    struct import_job *j;
    struct pbatch b;
    unsigned attempts;
    uv_timer_t timer;
};

static void batch_done(void *data, int status, const struct store_result *r);

static void batch_free(uv_handle_t *h)
{
    struct batch_ctx *bc = h->data;
    struct import_job *j = bc->j;
    free(bc->b.cmd);
    free(bc);
    j->in_flight--;
    job_next(j);
}

static void batch_resend(uv_timer_t *t)
{
    struct batch_ctx *bc = t->data;
    bc->attempts++;
    cluster_submit(bc->j->a->cluster, bc->b.cmd, bc->b.len, batch_done, bc);
}

/* A failed command loses the line of each row: its first row is named, with the count.
 * Unanswered: the rows may have applied; re-running the file skips those (phone dedup). */
static void batch_failed(struct import_job *j, const struct pbatch *b, int code, bool unanswered)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s (rows of lines %llu-%llu %s)", waihu_strerror(code),
             (unsigned long long)b->first_line, (unsigned long long)b->last_line,
             unanswered ? "may not be imported: the cluster did not answer for minutes"
                        : "not imported");
    add_error(j, b->first_line, NULL, msg);
    j->rows_failed += b->rows - 1;
}

static void batch_done(void *data, int status, const struct store_result *r)
{
    struct batch_ctx *bc = data;
    struct import_job *j = bc->j;
    bool unanswered = status == WAIHU_ETIMEDOUT || status == WAIHU_EUNAVAILABLE;
    if (unanswered && bc->attempts < BATCH_RETRIES) {
        unsigned delay = 200 * (bc->attempts + 1);
        uv_timer_start(&bc->timer, batch_resend, delay < BATCH_RETRY_MAX_MS ? delay : BATCH_RETRY_MAX_MS,
                       0);
        return;
    }
    if (status != 0 || r->code != 0) {
        batch_failed(j, &bc->b, status != 0 ? status : r->code, unanswered);
    } else {
        /* A skipped row failed a condition: its phone is already a customer (or, once
         * in 2^53, its random id was taken): policy "skip". */
        j->rows_ok += r->applied;
        j->duplicates += r->conflicts;
    }
    uv_close((uv_handle_t *)&bc->timer, batch_free);
}

static void chunk_read(uv_work_t *w, int status)
{
    struct import_job *j = w->data;
    j->reading = false;
    if (status != 0 && j->fatal == 0) {
        j->fatal = WAIHU_EIO;
        snprintf(j->fatal_msg, sizeof j->fatal_msg, "worker cancelled");
    }
    for (size_t i = 0; i < j->n_bad; i++) {
        add_error(j, j->bad[i].line, j->bad[i].field[0] ? j->bad[i].field : NULL, j->bad[i].err);
    }
    j->n_bad = 0;
    for (size_t i = 0; i < j->n_batches; i++) {
        struct batch_ctx *bc = calloc(1, sizeof *bc);
        if (bc == NULL) {
            waihu_fatal("api", "import: out of memory");
        }
        bc->j = j;
        bc->b = j->batches[i];
        uv_timer_init(j->a->loop, &bc->timer);
        bc->timer.data = bc;
        j->in_flight++;
        cluster_submit(j->a->cluster, bc->b.cmd, bc->b.len, batch_done, bc);
    }
    j->n_batches = 0;
    job_next(j);
}

/* Reads on while few commands are in flight (parsing overlaps replication); finishes
 * once the file is read and every command answered. */
static void job_next(struct import_job *j)
{
    if (j->reading || j->state != JOB_RUNNING) {
        return;
    }
    if (j->fatal != 0 || j->eof) {
        if (j->in_flight == 0) {
            if (j->fatal != 0) {
                LOG_W("api", "import %s stopped: %s", j->id, j->fatal_msg);
            }
            job_finish(j, j->fatal != 0 ? JOB_FAILED : JOB_DONE);
        }
        return;
    }
    if (j->in_flight >= MAX_INFLIGHT_BATCHES) {
        return;
    }
    j->ctx.now_ms = clock_wall_ms();
    j->reading = true;
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

/* A mapping target: a built-in customer field or one of the tenant's custom fields. */
static bool importable(const FieldSchema *schema, const char *field)
{
    static const char *const builtin[] = {"name",  "phone",      "address", "notes",
                                          "tags",  "owner",      "department", "source",
                                          "status", "last_contact", "next_callback"};
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++) {
        if (strcmp(field, builtin[i]) == 0) {
            return true;
        }
    }
    return custom(schema, field) != NULL;
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
    fieldcrypt_keyring_free(j->keyring);
    free(j->bad);
    for (size_t i = 0; i < j->n_items; i++) {
        store_mb_free(j->items[i]);
    }
    for (size_t i = 0; i < j->n_batches; i++) {
        free(j->batches[i].cmd);
    }
    free(j->batches);
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
    if (fieldcrypt_keyring_clone(j->a->keyring, &j->keyring) != 0) {
        waihu_fatal("api", "import: out of memory");
    }
    j->ctx = (struct customer_ctx){.kr = j->keyring, .tenant_id = j->who.tenant_id,
                                   .default_country = j->country, .schema = j->schema};
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
    const char *key;
    json_t *value;
    json_object_foreach(b, key, value)
    {
        if (strcmp(key, "file") != 0 && strcmp(key, "mapping") != 0 && strcmp(key, "encoding") != 0) {
            api_error(a, req, 400, "invalid", key, "unknown field \"%.60s\" (file, mapping, encoding)",
                      key);
            json_decref(b);
            return;
        }
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
        if (field == NULL || !importable(j->schema, field)) {
            api_error(a, req, 400, "invalid", "mapping",
                      "\"%.60s\" maps to %s%.60s%s: map to name, phone, address, notes, tags, "
                      "owner, department, source, status, last_contact, next_callback or a "
                      "custom field", col, field ? "the unknown field \"" : "no field name",
                      field ? field : "", field ? "\"" : "");
            json_decref(b);
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
