/* libFuzzer target for customer bodies of the API (POST/PATCH /v1/customers, import rows:
 * src/customer/customer_json.c) parsed as the API parses them (jansson, duplicates
 * refused). Any body either fails with a field and a message, or gives a record that
 * packs, decodes, shows as JSON with every sealed field opening, and whose JSON, sent back
 * as a PATCH, changes nothing; a time accepted as text is shown as that same time. Byte 0
 * picks the tenant's country and create or PATCH of a fixed record. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "customer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fieldcrypt_keyring *kr;
static FieldSchema schema = FIELD_SCHEMA__INIT;
static CustomerRecord *base; /* the record a PATCH starts from */

static CustomField *field(const char *name, const char *type)
{
    static char *tiers[] = {"gold", "silver", "bronze"};
    CustomField *f = calloc(1, sizeof *f);
    custom_field__init(f);
    f->name = (char *)name;
    f->type = (char *)type;
    if (strcmp(type, "enum") == 0) {
        f->enum_values = tiers;
        f->n_enum_values = 3;
    }
    return f;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    uint8_t k[FIELDCRYPT_KEY_BYTES];
    memset(k, 7, sizeof k);
    if (fieldcrypt_keyring_new(&kr) != 0 || fieldcrypt_keyring_add(kr, 1, k) != 0 ||
        fieldcrypt_keyring_use(kr, 1) != 0)
        abort();
    memset(k, 9, sizeof k);
    fieldcrypt_keyring_set_lookup_key(kr, k);
    static CustomField *fields[4];
    fields[0] = field("score", "number");
    fields[1] = field("birthday", "date");
    fields[2] = field("tier", "enum");
    fields[3] = field("note2", "string");
    schema.fields = fields;
    schema.n_fields = 4;
    struct customer_ctx ctx = {.kr = kr, .tenant_id = 7, .default_country = "CN",
                               .schema = &schema, .now_ms = 1764000000000};
    json_t *in = json_loads("{\"name\":\"Li Lei\",\"phone\":\"13812345678\",\"tags\":[\"vip\"],"
                            "\"fields\":{\"score\":3.5,\"tier\":\"gold\"},"
                            "\"last_contact\":\"2026-01-31T08:00:00Z\"}", 0, NULL);
    struct customer_error err;
    if (in == NULL || customer_from_json(&ctx, in, NULL, 42, &base, NULL, &err) != 0)
        abort();
    json_decref(in);
    return 0;
}

/* What the body's time text means, printed the way customer_to_json prints it. */
static void canonical_time(const char *s, char out[32])
{
    size_t n = strlen(s);
    if (n == 10)
        snprintf(out, 32, "%sT00:00:00Z", s);
    else
        snprintf(out, 32, "%.10sT%.8sZ", s, s + 11);
}

static void check(const struct customer_ctx *ctx, const json_t *body, CustomerRecord *r,
                  const char *e164)
{
    size_t len;
    uint8_t *buf = customer_record_pack(r, &len);
    CustomerRecord *d = customer_record_decode(buf, len);
    free(buf);
    if (d == NULL)
        abort();
    json_t *doc = customer_to_json(ctx, d, true);
    if (doc == NULL || json_object_get(doc, "damaged_fields") != NULL)
        abort();
    const char *phone = json_string_value(json_object_get(doc, "phone"));
    if (phone == NULL || (e164[0] != '\0' && strcmp(phone, e164) != 0))
        abort();
    static const char *const times[] = {"last_contact", "next_callback"};
    for (int i = 0; i < 2; i++) {
        const char *in = json_string_value(json_object_get(body, times[i]));
        const char *shown = json_string_value(json_object_get(doc, times[i]));
        char want[32];
        if (in == NULL || shown == NULL)
            continue;
        canonical_time(in, want);
        if (strstr(in, ":60") == NULL && strcmp(want, shown) != 0)
            abort(); /* a leap second (:60) is shown as the next minute */
    }
    /* The record's own JSON as a PATCH: nothing changes but the update time. */
    static const char *const read_only[] = {"id", "version", "created", "updated",
                                            "phone_masked"};
    for (size_t i = 0; i < sizeof read_only / sizeof *read_only; i++)
        json_object_del(doc, read_only[i]);
    CustomerRecord *again;
    struct customer_error err;
    if (customer_from_json(ctx, doc, d, 0, &again, NULL, &err) != 0)
        abort();
    if (again->n_tags != d->n_tags || again->n_fields != d->n_fields ||
        again->last_contact_ms != d->last_contact_ms ||
        again->next_callback_ms != d->next_callback_ms || strcmp(again->owner, d->owner) != 0 ||
        strcmp(again->status, d->status) != 0 || again->phone_hash.len != d->phone_hash.len ||
        (d->phone_hash.len && memcmp(again->phone_hash.data, d->phone_hash.data,
                                     d->phone_hash.len) != 0))
        abort();
    for (size_t i = 0; i < d->n_fields; i++)
        if (strcmp(again->fields[i]->name, d->fields[i]->name) != 0 ||
            strcmp(again->fields[i]->value, d->fields[i]->value) != 0)
            abort();
    customer_record_free(again);
    json_decref(doc);
    customer_record_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const countries[] = {"CN", "US", "GB", NULL};
    if (size < 1)
        return 0;
    struct customer_ctx ctx = {.kr = kr, .tenant_id = 7, .default_country = countries[data[0] & 3],
                               .schema = &schema, .now_ms = 1764000000000};
    bool patch = data[0] & 4;
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    CustomerRecord *r = NULL;
    struct customer_error err;
    char e164[PHONE_E164_SIZE];
    int rv = customer_from_json(&ctx, body, patch ? base : NULL, 99, &r, e164, &err);
    if (rv != 0) {
        if (rv != WAIHU_EINVAL || err.msg[0] == '\0' || r != NULL)
            abort();
    } else {
        check(&ctx, body, r, e164);
        customer_record_free(r);
    }
    json_decref(body);
    return 0;
}
