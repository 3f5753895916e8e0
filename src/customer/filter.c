/* Filter language: recursive-descent parser to an owned AST, canonical text, equality.
 *
 *   or    := and ("OR" and)*
 *   and   := unary ("AND" unary)*
 *   unary := "NOT" unary | "(" or ")" | term
 *   term  := "tag" ":" NAME | FIELD OP VALUE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_internal.h"

struct parser {
    struct lexer lx;
    struct tok cur;
    int depth;
    int terms;
    struct filter_error *err;
};

static const struct {
    const char *name;
    enum filter_field field;
} builtin_fields[] = {
    {"last_contact", FILTER_FIELD_LAST_CONTACT},
    {"next_callback", FILTER_FIELD_NEXT_CALLBACK},
    {"created", FILTER_FIELD_CREATED},
    {"status", FILTER_FIELD_STATUS},
    {"owner", FILTER_FIELD_OWNER},
    {"source", FILTER_FIELD_SOURCE},
};

const char *filter_op_name(enum filter_op op)
{
    switch (op) {
    case FILTER_EQ: return "=";
    case FILTER_NE: return "!=";
    case FILTER_LT: return "<";
    case FILTER_LE: return "<=";
    case FILTER_GT: return ">";
    case FILTER_GE: return ">=";
    }
    return "?";
}

int64_t filter_reltime_seconds(const struct filter_value *v)
{
    int64_t unit = v->u.rel.unit == 'd' ? 86400 : v->u.rel.unit == 'h' ? 3600 : 60;
    return v->u.rel.amount * unit;
}

static void tok_release(struct tok *t)
{
    if (t->kind == TOK_STRING)
        free(t->value.u.str.s);
    t->kind = TOK_END;
}

static int advance(struct parser *p)
{
    tok_release(&p->cur);
    return filter_lex_next(&p->lx, &p->cur);
}

static int err_at(struct parser *p, size_t pos, int rv, const char *why)
{
    return filter_lex_error(p->err, pos, rv, "%s", why);
}

void filter_free(struct filter_node *node)
{
    if (node == NULL)
        return;
    switch (node->kind) {
    case FILTER_AND:
    case FILTER_OR:
        for (size_t i = 0; i < node->u.list.n; i++)
            filter_free(node->u.list.items[i]);
        free(node->u.list.items);
        break;
    case FILTER_NOT:
        filter_free(node->u.not_child);
        break;
    case FILTER_TAG:
        free(node->u.tag.name);
        break;
    case FILTER_CMP:
        free(node->u.cmp.name);
        if (node->u.cmp.value.kind == FILTER_VAL_STRING)
            free(node->u.cmp.value.u.str.s);
        break;
    }
    free(node);
}

static struct filter_node *node_new(enum filter_kind kind)
{
    struct filter_node *n = calloc(1, sizeof(*n));
    if (n != NULL)
        n->kind = kind;
    return n;
}

/* Appends child to list (same kind: its items are spliced in). Takes ownership of
 * child in every case. */
static int list_append(struct filter_node *list, struct filter_node *child)
{
    size_t add = child->kind == list->kind ? child->u.list.n : 1;
    struct filter_node **items =
        realloc(list->u.list.items, (list->u.list.n + add) * sizeof(*items));
    if (items == NULL) {
        filter_free(child);
        return WAIHU_ENOMEM;
    }
    list->u.list.items = items;
    if (child->kind == list->kind) {
        memcpy(items + list->u.list.n, child->u.list.items, add * sizeof(*items));
        free(child->u.list.items);
        free(child);
    } else {
        items[list->u.list.n] = child;
    }
    list->u.list.n += add;
    return 0;
}

static int parse_or(struct parser *p, struct filter_node **out);

static int check_value(struct parser *p, enum filter_field field, enum filter_op op,
                       const struct tok *v)
{
    int is_time = v->kind == TOK_RELTIME || v->kind == TOK_DATE;
    switch (field) {
    case FILTER_FIELD_LAST_CONTACT:
    case FILTER_FIELD_NEXT_CALLBACK:
    case FILTER_FIELD_CREATED:
        if (!is_time)
            return err_at(p, v->pos, WAIHU_EINVAL,
                          "a time field takes a relative time (-30d) or a date (2026-01-31)");
        return 0;
    case FILTER_FIELD_STATUS:
    case FILTER_FIELD_SOURCE:
    case FILTER_FIELD_OWNER:
        if (op != FILTER_EQ && op != FILTER_NE)
            return err_at(p, v->pos, WAIHU_EINVAL, "this field is compared with = or != only");
        if (v->kind != TOK_STRING && !(field == FILTER_FIELD_OWNER && v->kind == TOK_NUMBER))
            return err_at(p, v->pos, WAIHU_EINVAL, "this field takes a quoted string");
        return 0;
    case FILTER_FIELD_CUSTOM:
        return 0;
    }
    return 0;
}

static int count_term(struct parser *p, size_t pos)
{
    if (++p->terms > FILTER_MAX_TERMS)
        return filter_lex_error(p->err, pos, WAIHU_ETOOBIG, "more than %d terms",
                                FILTER_MAX_TERMS);
    return 0;
}

/* cur is an IDENT. */
static int parse_term(struct parser *p, struct filter_node **out)
{
    size_t pos = p->cur.pos, name_len = p->cur.len;
    const char *name = p->lx.text + pos;
    int rv = count_term(p, pos);
    if (rv != 0)
        return rv;
    if (name_len == 3 && (name[0] | 0x20) == 't' && (name[1] | 0x20) == 'a' &&
        (name[2] | 0x20) == 'g' && p->lx.pos < p->lx.len &&
        p->lx.text[p->lx.pos] == ':') {
        struct filter_node *n = node_new(FILTER_TAG);
        size_t tl;
        if (n == NULL)
            return err_at(p, pos, WAIHU_ENOMEM, "out of memory");
        p->lx.pos++;
        rv = filter_lex_tag_name(&p->lx, &n->u.tag.name, &tl);
        if (rv == 0)
            rv = advance(p);
        if (rv != 0) {
            filter_free(n);
            return rv;
        }
        *out = n;
        return 0;
    }
    if ((rv = advance(p)) != 0)
        return rv;
    if (p->cur.kind != TOK_OP) {
        if (p->cur.kind == TOK_COLON)
            return err_at(p, p->cur.pos, WAIHU_EINVAL, "only 'tag' is followed by ':'");
        return filter_lex_error(p->err, p->cur.pos, WAIHU_EINVAL,
                                "expected an operator (= != < <= > >=) after '%.*s'",
                                (int)name_len, name);
    }
    enum filter_op op = p->cur.op;
    size_t op_pos = p->cur.pos;
    if ((rv = advance(p)) != 0)
        return rv;
    if (p->cur.kind != TOK_STRING && p->cur.kind != TOK_NUMBER && p->cur.kind != TOK_RELTIME &&
        p->cur.kind != TOK_DATE) {
        size_t at = p->cur.kind == TOK_END ? op_pos : p->cur.pos;
        return filter_lex_error(p->err, at, WAIHU_EINVAL, "expected a value after '%s'%s",
                                filter_op_name(op),
                                p->cur.kind == TOK_IDENT ? " (quote strings: \"...\")" : "");
    }
    enum filter_field field = FILTER_FIELD_CUSTOM;
    for (size_t i = 0; i < sizeof(builtin_fields) / sizeof(builtin_fields[0]); i++)
        if (strlen(builtin_fields[i].name) == name_len &&
            memcmp(builtin_fields[i].name, name, name_len) == 0)
            field = builtin_fields[i].field;
    if ((rv = check_value(p, field, op, &p->cur)) != 0)
        return rv;
    struct filter_node *n = node_new(FILTER_CMP);
    char *copy = malloc(name_len + 1);
    if (n == NULL || copy == NULL) {
        free(n);
        free(copy);
        return err_at(p, pos, WAIHU_ENOMEM, "out of memory");
    }
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    n->u.cmp.field = field;
    n->u.cmp.name = copy;
    n->u.cmp.op = op;
    n->u.cmp.value = p->cur.value;
    p->cur.kind = TOK_END; /* the node owns the string now */
    if ((rv = advance(p)) != 0) {
        filter_free(n);
        return rv;
    }
    *out = n;
    return 0;
}

static int enter(struct parser *p)
{
    if (++p->depth > FILTER_MAX_DEPTH)
        return filter_lex_error(p->err, p->cur.pos, WAIHU_ETOOBIG, "nested deeper than %d",
                                FILTER_MAX_DEPTH);
    return 0;
}

static int parse_unary(struct parser *p, struct filter_node **out)
{
    int rv;
    size_t pos = p->cur.pos;
    switch (p->cur.kind) {
    case TOK_NOT: {
        if ((rv = enter(p)) != 0 || (rv = advance(p)) != 0)
            return rv;
        struct filter_node *child = NULL;
        if ((rv = parse_unary(p, &child)) != 0)
            return rv;
        p->depth--;
        struct filter_node *n = node_new(FILTER_NOT);
        if (n == NULL) {
            filter_free(child);
            return err_at(p, pos, WAIHU_ENOMEM, "out of memory");
        }
        n->u.not_child = child;
        *out = n;
        return 0;
    }
    case TOK_LPAREN: {
        if ((rv = enter(p)) != 0 || (rv = advance(p)) != 0)
            return rv;
        struct filter_node *inner = NULL;
        if ((rv = parse_or(p, &inner)) != 0)
            return rv;
        if (p->cur.kind != TOK_RPAREN) {
            filter_free(inner);
            return filter_lex_error(p->err, p->cur.pos, WAIHU_EINVAL,
                                    "expected ')' to close the '(' at col %zu", pos + 1);
        }
        p->depth--;
        if ((rv = advance(p)) != 0) {
            filter_free(inner);
            return rv;
        }
        *out = inner;
        return 0;
    }
    case TOK_IDENT:
        return parse_term(p, out);
    case TOK_END:
        return err_at(p, pos, WAIHU_EINVAL,
                      "expected a term (tag:NAME or field OP value) but the filter ended");
    case TOK_RPAREN:
        return err_at(p, pos, WAIHU_EINVAL, "unexpected ')'");
    case TOK_AND:
    case TOK_OR:
        return err_at(p, pos, WAIHU_EINVAL, "expected a term before AND/OR");
    default:
        return err_at(p, pos, WAIHU_EINVAL, "expected a term (tag:NAME or field OP value)");
    }
}

/* A list of `sub` joined by `sep`: one item is returned as is. */
static int parse_list(struct parser *p, enum tok_kind sep, enum filter_kind kind,
                      int (*sub)(struct parser *, struct filter_node **), struct filter_node **out)
{
    struct filter_node *first = NULL, *list = NULL;
    int rv = sub(p, &first);
    if (rv != 0)
        return rv;
    if (p->cur.kind != sep) {
        *out = first;
        return 0;
    }
    if ((list = node_new(kind)) == NULL) {
        filter_free(first);
        return err_at(p, p->cur.pos, WAIHU_ENOMEM, "out of memory");
    }
    if ((rv = list_append(list, first)) != 0)
        goto err;
    while (p->cur.kind == sep) {
        struct filter_node *next = NULL;
        if ((rv = advance(p)) != 0 || (rv = sub(p, &next)) != 0)
            goto err;
        if ((rv = list_append(list, next)) != 0)
            goto err;
    }
    *out = list;
    return 0;
err:
    if (rv == WAIHU_ENOMEM)
        err_at(p, p->cur.pos, rv, "out of memory");
    filter_free(list);
    return rv;
}

static int parse_and(struct parser *p, struct filter_node **out)
{
    return parse_list(p, TOK_AND, FILTER_AND, parse_unary, out);
}

static int parse_or(struct parser *p, struct filter_node **out)
{
    return parse_list(p, TOK_OR, FILTER_OR, parse_and, out);
}

int filter_parse(const char *text, size_t len, struct filter_node **out,
                 struct filter_error *err)
{
    struct parser p = {.lx = {.text = text, .len = len, .err = err}, .err = err};
    struct filter_node *root = NULL;
    int rv;

    *out = NULL;
    if (err != NULL) {
        err->col = 0;
        err->msg[0] = '\0';
    }
    if (len > FILTER_MAX_BYTES)
        return filter_lex_error(err, FILTER_MAX_BYTES, WAIHU_ETOOBIG,
                                "filter longer than %d bytes", FILTER_MAX_BYTES);
    if ((rv = filter_lex_next(&p.lx, &p.cur)) != 0)
        goto out;
    if (p.cur.kind == TOK_END) {
        rv = err_at(&p, p.cur.pos, WAIHU_EINVAL, "empty filter");
        goto out;
    }
    if ((rv = parse_or(&p, &root)) != 0)
        goto out;
    if (p.cur.kind != TOK_END) {
        rv = err_at(&p, p.cur.pos, WAIHU_EINVAL,
                    p.cur.kind == TOK_RPAREN ? "unexpected ')'"
                                             : "expected AND, OR or the end of the filter");
        filter_free(root);
        goto out;
    }
    *out = root;
out:
    tok_release(&p.cur);
    return rv;
}
