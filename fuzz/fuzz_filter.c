/* libFuzzer target for the filter language (src/customer/filter*.c, customer_match.c):
 * any input either fails cleanly with a positioned error, or parses to an AST whose
 * canonical text parses back to an equal AST with the same canonical text; a parsed
 * filter is checked against a schema and evaluated on two records, and its canonical
 * form matches exactly the same records. Run by fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "customer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static CustomField f_score = {PROTOBUF_C_MESSAGE_INIT(&custom_field__descriptor), "score",
                              "number", 0, NULL, 0};
static CustomField f_day = {PROTOBUF_C_MESSAGE_INIT(&custom_field__descriptor), "birthday",
                            "date", 0, NULL, 0};
static CustomField f_tier = {PROTOBUF_C_MESSAGE_INIT(&custom_field__descriptor), "tier",
                             "string", 0, NULL, 0};
static CustomField *fields[] = {&f_score, &f_day, &f_tier};
static FieldSchema schema = {PROTOBUF_C_MESSAGE_INIT(&field_schema__descriptor), 1, 3, fields};

static char *tags_a[] = {"a", "lead", "vip"};
static FieldValue v_score = {PROTOBUF_C_MESSAGE_INIT(&field_value__descriptor), "score", "3.5"};
static FieldValue v_day = {PROTOBUF_C_MESSAGE_INIT(&field_value__descriptor), "birthday",
                           "1990-05-01"};
static FieldValue *values[] = {&v_score, &v_day};

/* Same verdict for both ASTs on every record; no record may make evaluation misbehave. */
static void match_both(const struct filter_node *a, const struct filter_node *b)
{
    static const int64_t now_ms = 1764000000000;
    CustomerRecord r[2];
    customer_record__init(&r[0]);
    customer_record__init(&r[1]);
    r[0].tags = tags_a;
    r[0].n_tags = 3;
    r[0].fields = values;
    r[0].n_fields = 2;
    r[0].status = "new";
    r[0].owner = "alice";
    r[0].last_contact_ms = now_ms - 40ll * 86400 * 1000;
    r[1].next_callback_ms = now_ms + 3600 * 1000;
    for (int i = 0; i < 2; i++) {
        bool ma = customer_filter_match(a, &r[i], &schema, now_ms);
        if (b != NULL && ma != customer_filter_match(b, &r[i], &schema, now_ms))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct filter_node *a = NULL, *b = NULL;
    struct filter_error err;
    char *c1 = NULL, *c2 = NULL;

    int rv = filter_parse((const char *)data, size, &a, &err);
    if (rv != 0) {
        if (a != NULL || err.msg[0] == '\0' || strlen(err.msg) >= sizeof(err.msg))
            abort();
        if (rv != WAIHU_ENOMEM && (err.col == 0 || err.col > size + 1))
            abort();
        return 0;
    }
    if (filter_format(a, &c1) != 0)
        abort();
    char msg[200] = "";
    int checked = customer_filter_check(a, &schema, msg);
    if (checked != 0 && msg[0] == '\0')
        abort();
    /* Canonical text may be a little longer than the input (spaces around operators);
     * past the length limit it is rightly refused. */
    if (strlen(c1) <= FILTER_MAX_BYTES) {
        if (filter_parse(c1, strlen(c1), &b, &err) != 0 || !filter_equal(a, b))
            abort();
        if (filter_format(b, &c2) != 0 || strcmp(c1, c2) != 0)
            abort();
    }
    if (checked == 0) /* the API evaluates only filters that passed the check */
        match_both(a, b);
    free(c1);
    free(c2);
    filter_free(a);
    filter_free(b);
    return 0;
}
