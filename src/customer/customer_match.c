/* Evaluating a filter AST against one record. Only non-personal data is visible to
 * filters (personal fields are sealed), so a filter never needs a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "customer.h"

static const CustomField *find_field(const FieldSchema *schema, const char *name)
{
    for (size_t i = 0; schema != NULL && i < schema->n_fields; i++) {
        if (strcmp(schema->fields[i]->name, name) == 0) {
            return schema->fields[i];
        }
    }
    return NULL;
}

static bool has_tag(const CustomerRecord *r, const char *tag)
{
    size_t lo = 0, hi = r->n_tags; /* tags are kept sorted */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->tags[mid], tag);
        if (c == 0) {
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

static bool cmp_result(int c, enum filter_op op)
{
    switch (op) {
    case FILTER_EQ: return c == 0;
    case FILTER_NE: return c != 0;
    case FILTER_LT: return c < 0;
    case FILTER_LE: return c <= 0;
    case FILTER_GT: return c > 0;
    case FILTER_GE: return c >= 0;
    }
    return false;
}

static int64_t value_ms(const struct filter_value *v, int64_t now_ms)
{
    if (v->kind == FILTER_VAL_RELTIME) {
        return now_ms + filter_reltime_seconds(v) * 1000;
    }
    if (v->kind == FILTER_VAL_DATE) {
        return v->u.date.unix_s * 1000;
    }
    return (int64_t)(v->u.number * 1000);
}

/* A time never set (0) matches nothing but "!=" and "<" comparisons against the past:
 * "last_contact < -30d" must include customers never contacted. */
static bool time_match(int64_t t, const struct filter_node *n, int64_t now_ms)
{
    int64_t v = value_ms(&n->u.cmp.value, now_ms);
    int c = t < v ? -1 : t > v ? 1 : 0;
    return cmp_result(c, n->u.cmp.op);
}

static const char *custom_value(const CustomerRecord *r, const char *name)
{
    for (size_t i = 0; i < r->n_fields; i++) {
        if (strcmp(r->fields[i]->name, name) == 0) {
            return r->fields[i]->value;
        }
    }
    return NULL;
}

static bool custom_match(const struct filter_node *n, const CustomerRecord *r,
                         const FieldSchema *schema)
{
    const CustomField *f = find_field(schema, n->u.cmp.name);
    const char *v = custom_value(r, n->u.cmp.name);
    if (f == NULL || v == NULL) {
        return n->u.cmp.op == FILTER_NE; /* absent differs from any value */
    }
    const struct filter_value *want = &n->u.cmp.value;
    if (strcmp(f->type, "number") == 0 && want->kind == FILTER_VAL_NUMBER) {
        double d = strtod(v, NULL);
        return cmp_result(d < want->u.number ? -1 : d > want->u.number ? 1 : 0, n->u.cmp.op);
    }
    if (strcmp(f->type, "date") == 0 && want->kind == FILTER_VAL_DATE) {
        /* Dates are stored as YYYY-MM-DD: compare the text of the wanted day. */
        char day[16];
        time_t t = (time_t)want->u.date.unix_s;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        return cmp_result(strcmp(v, day), n->u.cmp.op);
    }
    if (want->kind == FILTER_VAL_STRING) {
        return cmp_result(strcmp(v, want->u.str.s), n->u.cmp.op);
    }
    return false;
}

static bool string_match(const char *have, const struct filter_node *n)
{
    const struct filter_value *v = &n->u.cmp.value;
    if (v->kind != FILTER_VAL_STRING) {
        return false;
    }
    return cmp_result(strcmp(have, v->u.str.s), n->u.cmp.op);
}

bool customer_filter_match(const struct filter_node *f, const CustomerRecord *r,
                           const FieldSchema *schema, int64_t now_ms)
{
    switch (f->kind) {
    case FILTER_AND:
        for (size_t i = 0; i < f->u.list.n; i++) {
            if (!customer_filter_match(f->u.list.items[i], r, schema, now_ms)) {
                return false;
            }
        }
        return true;
    case FILTER_OR:
        for (size_t i = 0; i < f->u.list.n; i++) {
            if (customer_filter_match(f->u.list.items[i], r, schema, now_ms)) {
                return true;
            }
        }
        return false;
    case FILTER_NOT: return !customer_filter_match(f->u.not_child, r, schema, now_ms);
    case FILTER_TAG: return has_tag(r, f->u.tag.name);
    case FILTER_CMP:
        switch (f->u.cmp.field) {
        case FILTER_FIELD_LAST_CONTACT: return time_match(r->last_contact_ms, f, now_ms);
        case FILTER_FIELD_NEXT_CALLBACK: return time_match(r->next_callback_ms, f, now_ms);
        case FILTER_FIELD_CREATED: return time_match(r->created_ms, f, now_ms);
        case FILTER_FIELD_STATUS: return string_match(r->status, f);
        case FILTER_FIELD_SOURCE: return string_match(r->source, f);
        case FILTER_FIELD_OWNER: return string_match(r->owner, f);
        case FILTER_FIELD_CUSTOM: return custom_match(f, r, schema);
        }
    }
    return false;
}

int customer_filter_check(const struct filter_node *f, const FieldSchema *schema, char *msg)
{
    switch (f->kind) {
    case FILTER_AND:
    case FILTER_OR:
        for (size_t i = 0; i < f->u.list.n; i++) {
            if (customer_filter_check(f->u.list.items[i], schema, msg) != 0) {
                return WAIHU_EINVAL;
            }
        }
        return 0;
    case FILTER_NOT: return customer_filter_check(f->u.not_child, schema, msg);
    case FILTER_TAG: return 0;
    case FILTER_CMP: break;
    }
    if (f->u.cmp.field != FILTER_FIELD_CUSTOM) {
        return 0; /* the parser type-checked built-ins */
    }
    const CustomField *cf = find_field(schema, f->u.cmp.name);
    if (cf == NULL) {
        snprintf(msg, 200, "unknown field \"%.60s\"", f->u.cmp.name);
        return WAIHU_EINVAL;
    }
    enum filter_value_kind k = f->u.cmp.value.kind;
    bool ok = strcmp(cf->type, "number") == 0 ? k == FILTER_VAL_NUMBER
              : strcmp(cf->type, "date") == 0 ? k == FILTER_VAL_DATE
                                              : k == FILTER_VAL_STRING;
    if (!ok) {
        snprintf(msg, 200, "field \"%.60s\" is a %s: the value has the wrong type", cf->name,
                 cf->type);
        return WAIHU_EINVAL;
    }
    return 0;
}
