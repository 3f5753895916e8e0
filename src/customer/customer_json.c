/* Customer records to and from JSON: validation, sealing of personal fields, masking. */
#define _GNU_SOURCE /* timegm */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "customer.h"

#define TAG_MAX 32
#define SHORT_MAX 63

static const char *const personal[] = {"name", "phone", "address", "notes"};

static int fail(struct customer_error *err, const char *field, const char *fmt, const char *arg)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->msg, sizeof err->msg, fmt, arg);
    return WAIHU_EINVAL;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL) {
        waihu_fatal("customer", "out of memory");
    }
    return d;
}

static void set_string(char **slot, const char *value)
{
    if (*slot != NULL && *slot != protobuf_c_empty_string) {
        free(*slot);
    }
    *slot = xstrdup(value);
}

/* True when s is exactly "dddd-dd-dd", "dddd-dd-ddTdd:dd:dd" (T or space) or that and "Z":
 * sscanf alone let "2026-03-8(" and "01:-1:00" through (fuzz/fuzz_customer_json.c). */
static bool time_shape_ok(const char *s, size_t len)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (len != 10 && len != 19 && len != 20) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        bool ok = shape[i] == 'd'   ? s[i] >= '0' && s[i] <= '9'
                  : shape[i] == 'T' ? s[i] == 'T' || s[i] == ' '
                                    : s[i] == shape[i];
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* "2026-01-31", "2026-01-31T08:00:00Z" (or with a space) -> ms since the epoch (UTC). */
static int parse_time(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0;
    char tail[8] = "";
    size_t len = strlen(s);
    if (!time_shape_ok(s, len)) {
        return WAIHU_EINVAL;
    }
    int n = sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%7s", &y, &mo, &d, &h, &mi, &sec, tail);
    if (!(n == 3 && len == 10) && !(n == 6 && len == 19) &&
        !(n == 7 && strcmp(tail, "Z") == 0 && len == 20)) {
        return WAIHU_EINVAL;
    }
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return WAIHU_EINVAL;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d) {
        return WAIHU_EINVAL; /* 2026-02-30 */
    }
    *ms = (int64_t)t * 1000;
    return 0;
}

static json_t *time_json(int64_t ms)
{
    if (ms == 0) {
        return json_null();
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static bool short_text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20) {
            return false;
        }
    }
    return true;
}

static int seal(const struct customer_ctx *ctx, uint64_t id, const char *field, const char *plain,
                ProtobufCBinaryData *slot)
{
    size_t n = strlen(plain);
    free(slot->data);
    slot->data = NULL;
    slot->len = 0;
    if (n == 0) {
        return 0;
    }
    uint8_t *out = malloc(n + FIELDCRYPT_OVERHEAD);
    if (out == NULL) {
        return WAIHU_ENOMEM;
    }
    struct fieldcrypt_aad aad = {.tenant_id = ctx->tenant_id, .customer_id = id, .field = field};
    size_t len;
    int rv = fieldcrypt_seal(ctx->kr, &aad, (const uint8_t *)plain, n, out, n + FIELDCRYPT_OVERHEAD,
                             &len);
    if (rv != 0) {
        free(out);
        return rv;
    }
    slot->data = out;
    slot->len = len;
    return 0;
}

static ProtobufCBinaryData *personal_slot(CustomerRecord *r, const char *name)
{
    if (strcmp(name, "name") == 0) return &r->name_sealed;
    if (strcmp(name, "phone") == 0) return &r->phone_sealed;
    if (strcmp(name, "address") == 0) return &r->address_sealed;
    return &r->notes_sealed;
}

static int set_phone(const struct customer_ctx *ctx, CustomerRecord *r, const char *text,
                     char e164[PHONE_E164_SIZE], struct customer_error *err)
{
    char why[128];
    free(r->phone_hash.data);
    r->phone_hash.data = NULL;
    r->phone_hash.len = 0;
    e164[0] = '\0';
    if (text[0] == '\0') {
        return seal(ctx, r->id, "phone", "", &r->phone_sealed);
    }
    if (phone_normalize(text, ctx->default_country, e164, why, sizeof why) != 0) {
        return fail(err, "phone", "%s", why);
    }
    uint8_t *h = malloc(FIELDCRYPT_HASH_BYTES);
    if (h == NULL) {
        return WAIHU_ENOMEM;
    }
    int rv = fieldcrypt_phone_hash(ctx->kr, e164, h);
    if (rv != 0) {
        free(h);
        return rv;
    }
    r->phone_hash.data = h;
    r->phone_hash.len = FIELDCRYPT_HASH_BYTES;
    return seal(ctx, r->id, "phone", e164, &r->phone_sealed);
}

static int tag_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int set_tags(CustomerRecord *r, const json_t *arr, struct customer_error *err)
{
    if (!json_is_array(arr)) {
        return fail(err, "tags", "%s", "tags must be an array of strings");
    }
    size_t n = json_array_size(arr);
    if (n > CUSTOMER_MAX_TAGS) {
        return fail(err, "tags", "%s", "too many tags (at most 64)");
    }
    char **tags = calloc(n ? n : 1, sizeof *tags);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_array_get(arr, i));
        size_t len = t ? strlen(t) : 0;
        bool ok = len >= 1 && len <= TAG_MAX;
        for (size_t j = 0; ok && j < len; j++) {
            ok = (t[j] >= 'a' && t[j] <= 'z') || (t[j] >= '0' && t[j] <= '9') || t[j] == '_';
        }
        if (!ok) {
            for (size_t j = 0; j < kept; j++) {
                free(tags[j]);
            }
            free(tags);
            return fail(err, "tags", "tag \"%.40s\" must be 1-32 of [a-z0-9_]", t ? t : "");
        }
        tags[kept++] = xstrdup(t);
    }
    qsort(tags, kept, sizeof *tags, tag_cmp);
    size_t out = 0;
    for (size_t i = 0; i < kept; i++) {
        if (out > 0 && strcmp(tags[out - 1], tags[i]) == 0) {
            free(tags[i]);
        } else {
            tags[out++] = tags[i];
        }
    }
    for (size_t i = 0; i < r->n_tags; i++) {
        free(r->tags[i]);
    }
    free(r->tags);
    r->tags = tags;
    r->n_tags = out;
    return 0;
}

static const CustomField *schema_field(const FieldSchema *schema, const char *name)
{
    for (size_t i = 0; schema != NULL && i < schema->n_fields; i++) {
        if (strcmp(schema->fields[i]->name, name) == 0) {
            return schema->fields[i];
        }
    }
    return NULL;
}

/* Canonical text of a custom value of the field's type, or an error. */
static int custom_value(const CustomField *f, const json_t *v, char *out, size_t cap,
                        struct customer_error *err)
{
    if (strcmp(f->type, "number") == 0) {
        if (!json_is_number(v)) {
            return fail(err, f->name, "%s must be a number", f->name);
        }
        double d = json_number_value(v);
        if (!isfinite(d)) {
            return fail(err, f->name, "%s must be finite", f->name);
        }
        snprintf(out, cap, "%.15g", d);
        return 0;
    }
    const char *s = json_string_value(v);
    if (s == NULL) {
        return fail(err, f->name, "%s must be a string", f->name);
    }
    if (strlen(s) >= cap || strlen(s) > CUSTOMER_TEXT_MAX) {
        return fail(err, f->name, "%s is too long", f->name);
    }
    if (strcmp(f->type, "date") == 0) {
        int64_t ms;
        if (strlen(s) != 10 || parse_time(s, &ms) != 0) {
            return fail(err, f->name, "%s must be a date YYYY-MM-DD", f->name);
        }
    } else if (strcmp(f->type, "enum") == 0) {
        bool found = false;
        for (size_t i = 0; i < f->n_enum_values && !found; i++) {
            found = strcmp(f->enum_values[i], s) == 0;
        }
        if (!found) {
            return fail(err, f->name, "%s: value not among the allowed ones", f->name);
        }
    }
    snprintf(out, cap, "%s", s);
    return 0;
}

static int set_fields(const struct customer_ctx *ctx, CustomerRecord *r, const json_t *obj,
                      struct customer_error *err)
{
    if (!json_is_object(obj)) {
        return fail(err, "fields", "%s", "fields must be an object");
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)obj, name, v)
    {
        const CustomField *f = schema_field(ctx->schema, name);
        if (f == NULL) {
            return fail(err, name, "unknown custom field \"%.60s\"", name);
        }
        size_t at = r->n_fields;
        for (size_t i = 0; i < r->n_fields; i++) {
            if (strcmp(r->fields[i]->name, name) == 0) {
                at = i;
            }
        }
        if (json_is_null(v)) {
            if (at < r->n_fields) {
                field_value__free_unpacked(r->fields[at], NULL);
                r->fields[at] = r->fields[--r->n_fields];
            }
            continue;
        }
        char text[CUSTOMER_TEXT_MAX + 1];
        int rv = custom_value(f, v, text, sizeof text, err);
        if (rv != 0) {
            return rv;
        }
        if (at == r->n_fields) {
            if (r->n_fields >= CUSTOMER_MAX_FIELDS) {
                return fail(err, name, "%s", "too many custom fields");
            }
            FieldValue **grown = realloc(r->fields, (r->n_fields + 1) * sizeof *grown);
            FieldValue *fv = malloc(sizeof *fv);
            if (grown == NULL || fv == NULL) {
                free(fv);
                if (grown) r->fields = grown;
                return WAIHU_ENOMEM;
            }
            field_value__init(fv);
            fv->name = xstrdup(name);
            r->fields = grown;
            r->fields[r->n_fields++] = fv;
        }
        set_string(&r->fields[at]->value, text);
    }
    return 0;
}

static int apply_key(const struct customer_ctx *ctx, CustomerRecord *r, const char *key,
                     const json_t *v, char e164[PHONE_E164_SIZE], struct customer_error *err)
{
    for (size_t i = 0; i < sizeof personal / sizeof *personal; i++) {
        if (strcmp(key, personal[i]) != 0) {
            continue;
        }
        const char *s = json_is_null(v) ? "" : json_string_value(v);
        if (s == NULL) {
            return fail(err, key, "%s must be a string", key);
        }
        if (strlen(s) > CUSTOMER_TEXT_MAX) {
            return fail(err, key, "%s is longer than 4096 bytes", key);
        }
        if (strcmp(key, "phone") == 0) {
            return set_phone(ctx, r, s, e164, err);
        }
        return seal(ctx, r->id, key, s, personal_slot(r, key));
    }
    if (strcmp(key, "tags") == 0) {
        return set_tags(r, v, err);
    }
    if (strcmp(key, "fields") == 0) {
        return set_fields(ctx, r, v, err);
    }
    if (strcmp(key, "last_contact") == 0 || strcmp(key, "next_callback") == 0) {
        int64_t ms = 0;
        const char *s = json_string_value(v);
        if (!json_is_null(v) && (s == NULL || parse_time(s, &ms) != 0)) {
            return fail(err, key, "%s must be an ISO 8601 time (2026-01-31T08:00:00Z) or null",
                        key);
        }
        *(key[0] == 'l' ? &r->last_contact_ms : &r->next_callback_ms) = ms;
        return 0;
    }
    char **slot = strcmp(key, "owner") == 0        ? &r->owner
                  : strcmp(key, "department") == 0 ? &r->department
                  : strcmp(key, "source") == 0     ? &r->source
                  : strcmp(key, "status") == 0     ? &r->status
                                                   : NULL;
    if (slot == NULL) {
        return fail(err, key, "unknown or read-only field \"%.60s\"", key);
    }
    const char *s = json_string_value(v);
    if (s == NULL || !short_text_ok(s, SHORT_MAX)) {
        return fail(err, key, "%s must be a string of at most 63 bytes", key);
    }
    set_string(slot, s);
    return 0;
}

int customer_from_json(const struct customer_ctx *ctx, const json_t *in, const CustomerRecord *old,
                       uint64_t id, CustomerRecord **out, char e164_out[PHONE_E164_SIZE],
                       struct customer_error *err)
{
    char e164[PHONE_E164_SIZE] = "";
    memset(err, 0, sizeof *err);
    if (!json_is_object(in)) {
        return fail(err, "", "%s", "body must be a JSON object");
    }
    CustomerRecord *r;
    if (old != NULL) {
        size_t len;
        uint8_t *buf = customer_record_pack(old, &len);
        r = customer_record__unpack(NULL, len, buf);
        free(buf);
    } else {
        r = malloc(sizeof *r);
        if (r != NULL) {
            customer_record__init(r);
            r->format = 1;
            r->id = id;
            r->tenant_id = ctx->tenant_id;
            r->created_ms = ctx->now_ms;
        }
    }
    if (r == NULL) {
        return WAIHU_ENOMEM;
    }
    if (old != NULL && old->phone_hash.len > 0) {
        /* Unchanged phone: report it for DNC checks by callers. */
        customer_phone_open(ctx, old, e164);
    }
    const char *key;
    const json_t *v;
    int rv = 0;
    json_object_foreach((json_t *)in, key, v)
    {
        rv = apply_key(ctx, r, key, v, e164, err);
        if (rv != 0) {
            break;
        }
    }
    for (size_t i = 0; rv == 0 && ctx->schema != NULL && i < ctx->schema->n_fields; i++) {
        const CustomField *f = ctx->schema->fields[i];
        bool have = false;
        for (size_t j = 0; j < r->n_fields && !have; j++) {
            have = strcmp(r->fields[j]->name, f->name) == 0;
        }
        if (f->required && !have) {
            rv = fail(err, f->name, "%s is required", f->name);
        }
    }
    if (rv != 0) {
        customer_record_free(r);
        return rv;
    }
    r->updated_ms = ctx->now_ms;
    r->version = old != NULL ? old->version + 1 : 1;
    *out = r;
    if (e164_out != NULL) {
        memcpy(e164_out, e164, PHONE_E164_SIZE);
    }
    return 0;
}

static json_t *open_field(const struct customer_ctx *ctx, const CustomerRecord *r,
                          const char *field, const ProtobufCBinaryData *sealed, json_t *damaged)
{
    if (sealed->len == 0) {
        return json_string("");
    }
    char *plain = malloc(sealed->len);
    size_t len;
    struct fieldcrypt_aad aad = {.tenant_id = r->tenant_id, .customer_id = r->id, .field = field};
    if (plain == NULL ||
        fieldcrypt_open(ctx->kr, &aad, sealed->data, sealed->len, (uint8_t *)plain, sealed->len,
                        &len) != 0) {
        free(plain);
        json_array_append_new(damaged, json_string(field));
        return json_null();
    }
    json_t *s = json_stringn(plain, len);
    free(plain);
    return s ? s : json_null();
}

int customer_phone_open(const struct customer_ctx *ctx, const CustomerRecord *r,
                        char out[PHONE_E164_SIZE])
{
    if (r->phone_sealed.len == 0) {
        return WAIHU_ENOTFOUND;
    }
    if (r->phone_sealed.len > FIELDCRYPT_OVERHEAD + PHONE_E164_SIZE - 1) {
        return WAIHU_ECORRUPT;
    }
    struct fieldcrypt_aad aad = {.tenant_id = r->tenant_id, .customer_id = r->id, .field = "phone"};
    size_t len;
    int rv = fieldcrypt_open(ctx->kr, &aad, r->phone_sealed.data, r->phone_sealed.len,
                             (uint8_t *)out, PHONE_E164_SIZE - 1, &len);
    if (rv == 0) {
        out[len] = '\0';
    }
    return rv;
}

json_t *customer_to_json(const struct customer_ctx *ctx, const CustomerRecord *r, bool unmask)
{
    json_t *damaged = json_array();
    json_t *tags = json_array();
    for (size_t i = 0; i < r->n_tags; i++) {
        json_array_append_new(tags, json_string(r->tags[i]));
    }
    json_t *fields = json_object();
    for (size_t i = 0; i < r->n_fields; i++) {
        const CustomField *f = schema_field(ctx->schema, r->fields[i]->name);
        json_t *v = f != NULL && strcmp(f->type, "number") == 0
                        ? json_real(strtod(r->fields[i]->value, NULL))
                        : json_string(r->fields[i]->value);
        json_object_set_new(fields, r->fields[i]->name, v);
    }
    json_t *phone;
    char e164[PHONE_E164_SIZE];
    int rv = customer_phone_open(ctx, r, e164);
    if (rv == WAIHU_ENOTFOUND) {
        phone = json_string("");
    } else if (rv != 0) {
        json_array_append_new(damaged, json_string("phone"));
        phone = json_null();
    } else if (unmask) {
        phone = json_string(e164);
    } else {
        char masked[PHONE_MASK_SIZE];
        phone = phone_mask(e164, ctx->default_country, masked) == 0 ? json_string(masked)
                                                                    : json_string("****");
    }
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)r->id);
    json_t *doc = json_pack(
        "{s:s, s:o, s:o, s:b, s:o, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
        "id", id, "name", open_field(ctx, r, "name", &r->name_sealed, damaged), "phone", phone,
        "phone_masked", !unmask, "address", open_field(ctx, r, "address", &r->address_sealed, damaged),
        "notes", open_field(ctx, r, "notes", &r->notes_sealed, damaged), "owner", r->owner,
        "department", r->department, "source", r->source, "status", r->status, "tags", tags,
        "fields", fields, "last_contact", time_json(r->last_contact_ms), "next_callback",
        time_json(r->next_callback_ms), "created", time_json(r->created_ms), "updated",
        time_json(r->updated_ms), "version", (json_int_t)r->version);
    if (json_array_size(damaged) > 0) {
        json_object_set_new(doc, "damaged_fields", damaged);
    } else {
        json_decref(damaged);
    }
    return doc;
}
