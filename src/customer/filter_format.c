/* Filter ASTs back to canonical text, and structural equality. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_internal.h"

struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_quoted(struct sbuf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            put(b, "\\", 1);
        put(b, s + i, 1);
    }
    put(b, "\"", 1);
}

/* Integers as such, else the shortest %g text that reads back as the same double. */
static void put_number(struct sbuf *b, double v)
{
    char tmp[40];
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v) {
        putf(b, "%lld", (long long)v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    puts_(b, tmp);
}

static void put_value(struct sbuf *b, const struct filter_value *v)
{
    switch (v->kind) {
    case FILTER_VAL_STRING:
        put_quoted(b, v->u.str.s, v->u.str.len);
        break;
    case FILTER_VAL_NUMBER:
        put_number(b, v->u.number);
        break;
    case FILTER_VAL_RELTIME:
        putf(b, "%lld%c", (long long)v->u.rel.amount, v->u.rel.unit);
        break;
    case FILTER_VAL_DATE: {
        int64_t days = v->u.date.unix_s / 86400, secs = v->u.date.unix_s % 86400;
        if (secs < 0)
            secs += 86400, days--;
        int64_t y;
        unsigned m, d;
        filter_lex_civil_from_days(days, &y, &m, &d);
        putf(b, "%04lld-%02u-%02u", (long long)y, m, d);
        if (v->u.date.has_time)
            putf(b, "T%02d:%02d:%02dZ", (int)(secs / 3600), (int)(secs / 60 % 60),
                 (int)(secs % 60));
        break;
    }
    }
}

static void put_node(struct sbuf *b, const struct filter_node *n);

static void put_child(struct sbuf *b, const struct filter_node *c, int parens)
{
    if (parens)
        put(b, "(", 1);
    put_node(b, c);
    if (parens)
        put(b, ")", 1);
}

static void put_node(struct sbuf *b, const struct filter_node *n)
{
    switch (n->kind) {
    case FILTER_AND:
    case FILTER_OR:
        for (size_t i = 0; i < n->u.list.n; i++) {
            if (i > 0)
                puts_(b, n->kind == FILTER_AND ? " AND " : " OR ");
            const struct filter_node *c = n->u.list.items[i];
            /* Same-kind children cannot occur in parsed trees; parenthesise anyway so a
             * hand-built tree prints as itself. */
            put_child(b, c, (n->kind == FILTER_AND && c->kind == FILTER_OR) || c->kind == n->kind);
        }
        break;
    case FILTER_NOT: {
        const struct filter_node *c = n->u.not_child;
        puts_(b, "NOT ");
        put_child(b, c, c->kind == FILTER_AND || c->kind == FILTER_OR);
        break;
    }
    case FILTER_TAG: {
        const char *s = n->u.tag.name;
        size_t len = strlen(s), i = 0;
        while (i < len && filter_lex_is_tag_char(s[i]))
            i++;
        puts_(b, "tag:");
        if (len > 0 && i == len)
            put(b, s, len);
        else
            put_quoted(b, s, len);
        break;
    }
    case FILTER_CMP:
        puts_(b, n->u.cmp.name);
        put(b, " ", 1);
        puts_(b, filter_op_name(n->u.cmp.op));
        put(b, " ", 1);
        put_value(b, &n->u.cmp.value);
        break;
    }
}

int filter_format(const struct filter_node *node, char **out)
{
    struct sbuf b = {0};
    *out = NULL;
    put_node(&b, node);
    if (b.oom || b.s == NULL) {
        free(b.s);
        return WAIHU_ENOMEM;
    }
    *out = b.s;
    return 0;
}

static int value_equal(const struct filter_value *a, const struct filter_value *b)
{
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case FILTER_VAL_STRING:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case FILTER_VAL_NUMBER:
        return a->u.number == b->u.number;
    case FILTER_VAL_RELTIME:
        return a->u.rel.amount == b->u.rel.amount && a->u.rel.unit == b->u.rel.unit;
    case FILTER_VAL_DATE:
        return a->u.date.unix_s == b->u.date.unix_s && a->u.date.has_time == b->u.date.has_time;
    }
    return 0;
}

int filter_equal(const struct filter_node *a, const struct filter_node *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case FILTER_AND:
    case FILTER_OR:
        if (a->u.list.n != b->u.list.n)
            return 0;
        for (size_t i = 0; i < a->u.list.n; i++)
            if (!filter_equal(a->u.list.items[i], b->u.list.items[i]))
                return 0;
        return 1;
    case FILTER_NOT:
        return filter_equal(a->u.not_child, b->u.not_child);
    case FILTER_TAG:
        return strcmp(a->u.tag.name, b->u.tag.name) == 0;
    case FILTER_CMP:
        return a->u.cmp.field == b->u.cmp.field && a->u.cmp.op == b->u.cmp.op &&
               strcmp(a->u.cmp.name, b->u.cmp.name) == 0 &&
               value_equal(&a->u.cmp.value, &b->u.cmp.value);
    }
    return 0;
}
