/* Unit and property tests of the filter language (src/customer/filter*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "customer.h"

static struct filter_node *parse_ok(const char *text)
{
    struct filter_node *n = NULL;
    struct filter_error err;
    int rv = filter_parse(text, strlen(text), &n, &err);
    if (rv != 0)
        fail_msg("'%s': %s", text, err.msg);
    assert_non_null(n);
    return n;
}

/* Parses text and checks its canonical form. */
static void expect_canon(const char *text, const char *canon)
{
    struct filter_node *n = parse_ok(text);
    char *s = NULL;
    assert_int_equal(filter_format(n, &s), 0);
    if (strcmp(s, canon) != 0)
        fail_msg("'%s' -> '%s', want '%s'", text, s, canon);
    free(s);
    filter_free(n);
}

static void expect_err(const char *text, int want_rv, const char *want_msg)
{
    struct filter_node *n = (struct filter_node *)1;
    struct filter_error err;
    int rv = filter_parse(text, strlen(text), &n, &err);
    if (rv != want_rv)
        fail_msg("'%s': rv %d, want %d (%s)", text, rv, want_rv, err.msg);
    assert_null(n);
    if (strcmp(err.msg, want_msg) != 0)
        fail_msg("'%s': '%s', want '%s'", text, err.msg, want_msg);
}

static void test_issue_example(void **state)
{
    (void)state;
    struct filter_node *n = parse_ok(
        "tag:high_intent AND NOT tag:closed AND last_contact < -30d AND industry = \"education\"");
    assert_int_equal(n->kind, FILTER_AND);
    assert_int_equal(n->u.list.n, 4);
    assert_int_equal(n->u.list.items[0]->kind, FILTER_TAG);
    assert_string_equal(n->u.list.items[0]->u.tag.name, "high_intent");
    assert_int_equal(n->u.list.items[1]->kind, FILTER_NOT);
    assert_string_equal(n->u.list.items[1]->u.not_child->u.tag.name, "closed");
    const struct filter_node *c = n->u.list.items[2];
    assert_int_equal(c->kind, FILTER_CMP);
    assert_int_equal(c->u.cmp.field, FILTER_FIELD_LAST_CONTACT);
    assert_int_equal(c->u.cmp.op, FILTER_LT);
    assert_int_equal(c->u.cmp.value.kind, FILTER_VAL_RELTIME);
    assert_int_equal(filter_reltime_seconds(&c->u.cmp.value), -30 * 86400);
    c = n->u.list.items[3];
    assert_int_equal(c->u.cmp.field, FILTER_FIELD_CUSTOM);
    assert_string_equal(c->u.cmp.name, "industry");
    assert_int_equal(c->u.cmp.value.kind, FILTER_VAL_STRING);
    assert_string_equal(c->u.cmp.value.u.str.s, "education");
    filter_free(n);
}

static void test_precedence(void **state)
{
    (void)state;
    /* NOT > AND > OR */
    struct filter_node *n = parse_ok("tag:a OR tag:b AND NOT tag:c");
    assert_int_equal(n->kind, FILTER_OR);
    assert_int_equal(n->u.list.n, 2);
    assert_int_equal(n->u.list.items[1]->kind, FILTER_AND);
    assert_int_equal(n->u.list.items[1]->u.list.items[1]->kind, FILTER_NOT);
    filter_free(n);
    n = parse_ok("NOT tag:a AND tag:b");
    assert_int_equal(n->kind, FILTER_AND);
    assert_int_equal(n->u.list.items[0]->kind, FILTER_NOT);
    filter_free(n);
    n = parse_ok("NOT (tag:a AND tag:b)");
    assert_int_equal(n->kind, FILTER_NOT);
    assert_int_equal(n->u.not_child->kind, FILTER_AND);
    filter_free(n);

    expect_canon("tag:a or tag:b and not tag:c", "tag:a OR tag:b AND NOT tag:c");
    expect_canon("(tag:a OR tag:b) AND tag:c", "(tag:a OR tag:b) AND tag:c");
    expect_canon("((tag:a AND tag:b)) OR (tag:c)", "tag:a AND tag:b OR tag:c");
    expect_canon("tag:a AND (tag:b AND tag:c)", "tag:a AND tag:b AND tag:c");
    expect_canon("tag:a OR (tag:b OR (tag:c OR tag:d))", "tag:a OR tag:b OR tag:c OR tag:d");
    expect_canon("NOT NOT tag:a", "NOT NOT tag:a");
    expect_canon("NOT (tag:a OR tag:b) AND (NOT tag:c OR tag:d)",
                 "NOT (tag:a OR tag:b) AND (NOT tag:c OR tag:d)");
    n = parse_ok("tag:a AND (tag:b AND tag:c)"); /* flattened */
    assert_int_equal(n->kind, FILTER_AND);
    assert_int_equal(n->u.list.n, 3);
    filter_free(n);
}

static void test_values(void **state)
{
    (void)state;
    expect_canon("x=1", "x = 1");
    expect_canon("score >= 0.25", "score >= 0.25");
    expect_canon("score < -1.5e3", "score < -1500");
    expect_canon("score != 1e300", "score != 1e+300");
    expect_canon("score = -0", "score = 0");
    expect_canon("next_callback <= 2d", "next_callback <= 2d");
    expect_canon("next_callback <= +2d", "next_callback <= 2d");
    expect_canon("last_contact > -12h AND last_contact < -15m",
                 "last_contact > -12h AND last_contact < -15m");
    expect_canon("created >= 2026-01-31", "created >= 2026-01-31");
    expect_canon("created < 2024-02-29T08:05Z", "created < 2024-02-29T08:05:00Z");
    expect_canon("created < 2024-02-29T08:05:09", "created < 2024-02-29T08:05:09Z");
    expect_canon("status = \"new\" AND owner = 17 AND source != \"web\"",
                 "status = \"new\" AND owner = 17 AND source != \"web\"");
    expect_canon("note = \"say \\\"hi\\\" \\\\ bye\"", "note = \"say \\\"hi\\\" \\\\ bye\"");
    expect_canon("industry = \"教育\"", "industry = \"教育\"");
    expect_canon("tag:\"高意向\" AND tag:\"vip\" AND tag:2024-q1.x",
                 "tag:\"高意向\" AND tag:vip AND tag:2024-q1.x");
    expect_canon("tag = 3", "tag = 3"); /* a custom field may be called tag */
    expect_canon("TAG:a and Not tag:b", "tag:a AND NOT tag:b");

    struct filter_node *n = parse_ok("created >= 1970-01-02T00:00:01Z");
    assert_int_equal(n->u.cmp.value.u.date.unix_s, 86401);
    filter_free(n);
    n = parse_ok("created >= 2000-03-01");
    assert_int_equal(n->u.cmp.value.u.date.unix_s, 951868800);
    filter_free(n);
}

static void test_errors(void **state)
{
    (void)state;
    expect_err("last_contact <", WAIHU_EINVAL, "col 14: expected a value after '<'");
    expect_err("tag:a AND last_contact < AND tag:b", WAIHU_EINVAL,
               "col 26: expected a value after '<'");
    expect_err("industry = education", WAIHU_EINVAL,
               "col 12: expected a value after '=' (quote strings: \"...\")");
    expect_err("", WAIHU_EINVAL, "col 1: empty filter");
    expect_err("   ", WAIHU_EINVAL, "col 4: empty filter");
    expect_err("tag:a AND", WAIHU_EINVAL,
               "col 10: expected a term (tag:NAME or field OP value) but the filter ended");
    expect_err("tag:a tag:b", WAIHU_EINVAL, "col 7: expected AND, OR or the end of the filter");
    expect_err("(tag:a", WAIHU_EINVAL, "col 7: expected ')' to close the '(' at col 1");
    expect_err("tag:a)", WAIHU_EINVAL, "col 6: unexpected ')'");
    expect_err("tag:", WAIHU_EINVAL, "col 5: expected a tag name after 'tag:'");
    expect_err("tag:\"\"", WAIHU_EINVAL, "col 5: a tag name has 1 to 64 bytes");
    expect_err("x == 1", WAIHU_EINVAL, "col 4: expected a value after '='");
    expect_err("x ! 1", WAIHU_EINVAL, "col 3: expected '!=' (use NOT to negate)");
    expect_err("x 1", WAIHU_EINVAL, "col 3: expected an operator (= != < <= > >=) after 'x'");
    expect_err("x: 1", WAIHU_EINVAL, "col 2: only 'tag' is followed by ':'");
    expect_err("x = \"abc", WAIHU_EINVAL, "col 5: unterminated string");
    expect_err("x = \"a\\nb\"", WAIHU_EINVAL, "col 7: only \\\" and \\\\ are escapes in a string");
    expect_err("x = \"a\x01\"", WAIHU_EINVAL, "col 7: control character 0x01 in a string");
    expect_err("x = \"\xff\"", WAIHU_EINVAL, "col 6: invalid UTF-8 in a string");
    expect_err("x = 1; DROP TABLE", WAIHU_EINVAL, "col 6: unexpected character ';'");
    expect_err("x = 12abc", WAIHU_EINVAL, "col 7: unexpected 'a' after a number");
    expect_err("x = 1.", WAIHU_EINVAL, "col 7: expected a digit after '.'");
    expect_err("x = 1e999", WAIHU_EINVAL, "col 5: number out of range");
    expect_err("last_contact < -1000000d", WAIHU_EINVAL, "col 16: relative time above 999999d");
    expect_err("created < 2026-02-30", WAIHU_EINVAL, "col 11: no such date 2026-02-30");
    expect_err("created < 2026-1-3", WAIHU_EINVAL, "col 11: a date is written YYYY-MM-DD");
    expect_err("created < 2026-01-03T25:00", WAIHU_EINVAL, "col 11: no such time 25:00:00");
    expect_err("last_contact < \"yesterday\"", WAIHU_EINVAL,
               "col 16: a time field takes a relative time (-30d) or a date (2026-01-31)");
    expect_err("status < \"new\"", WAIHU_EINVAL, "col 10: this field is compared with = or != only");
    expect_err("status = 3", WAIHU_EINVAL, "col 10: this field takes a quoted string");
    expect_err("AND tag:a", WAIHU_EINVAL, "col 1: expected a term before AND/OR");
    expect_err("x = 1 OR OR y = 2", WAIHU_EINVAL, "col 10: expected a term before AND/OR");
    expect_err("x = \"a\" \x80", WAIHU_EINVAL, "col 9: unexpected byte 0x80");

    struct filter_node *n;
    struct filter_error err;
    const char nul[] = "tag:a\0 OR tag:b";
    assert_int_equal(filter_parse(nul, sizeof(nul) - 1, &n, &err), WAIHU_EINVAL);
    assert_string_equal(err.msg, "col 6: unexpected byte 0x00");
    assert_int_equal(err.col, 6);
    assert_int_equal(filter_parse("tag:a", 5, &n, NULL), 0); /* err is optional */
    filter_free(n);
    assert_int_equal(filter_parse("tag:", 4, &n, NULL), WAIHU_EINVAL);
}

static char *repeat(const char *head, const char *unit, int times, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * (size_t)times + tl + 1), *p = s;
    assert_non_null(s);
    memcpy(p, head, hl), p += hl;
    for (int i = 0; i < times; i++)
        memcpy(p, unit, ul), p += ul;
    memcpy(p, tail, tl + 1);
    return s;
}

static int parse_rv(const char *s, struct filter_error *err)
{
    struct filter_node *n = NULL;
    int rv = filter_parse(s, strlen(s), &n, err);
    filter_free(n);
    return rv;
}

static void test_limits(void **state)
{
    (void)state;
    struct filter_error err;
    char *s;

    /* 32 levels deep is fine, 33 is not: parentheses and NOT both count. */
    s = repeat("", "(", 32, "tag:a");
    char *t = repeat(s, ")", 32, "");
    assert_int_equal(parse_rv(t, &err), 0);
    free(s), free(t);
    s = repeat("", "(", 33, "tag:a");
    t = repeat(s, ")", 33, "");
    assert_int_equal(parse_rv(t, &err), WAIHU_ETOOBIG);
    assert_string_equal(err.msg, "col 33: nested deeper than 32");
    free(s), free(t);
    s = repeat("", "NOT ", 32, "tag:a");
    assert_int_equal(parse_rv(s, &err), 0);
    free(s);
    s = repeat("", "NOT (", 17, "tag:a");
    assert_int_equal(parse_rv(s, &err), WAIHU_ETOOBIG);
    free(s);
    /* Very deep input fails early without recursing through it. */
    s = repeat("", "(", 4000, "");
    assert_int_equal(parse_rv(s, &err), WAIHU_ETOOBIG);
    free(s);

    /* 64 terms, then 65. */
    s = repeat("tag:a", " OR tag:a", 63, "");
    assert_int_equal(parse_rv(s, &err), 0);
    free(s);
    s = repeat("tag:a", " OR tag:a", 64, "");
    assert_int_equal(parse_rv(s, &err), WAIHU_ETOOBIG);
    assert_string_equal(err.msg, "col 577: more than 64 terms");
    free(s);

    /* 4096 bytes, then 4097. */
    s = repeat("x = \"", "y", 4096 - 6, "\"");
    assert_int_equal(strlen(s), 4096);
    assert_int_equal(parse_rv(s, &err), 0);
    free(s);
    s = repeat("x = \"", "y", 4096 - 5, "\"");
    assert_int_equal(parse_rv(s, &err), WAIHU_ETOOBIG);
    assert_string_equal(err.msg, "col 4097: filter longer than 4096 bytes");
    free(s);

    /* Names: 64 bytes, then 65. */
    s = repeat("", "f", 64, " = 1");
    assert_int_equal(parse_rv(s, &err), 0);
    free(s);
    s = repeat("", "f", 65, " = 1");
    assert_int_equal(parse_rv(s, &err), WAIHU_EINVAL);
    assert_string_equal(err.msg, "col 1: name longer than 64 characters");
    free(s);
}

/* ---- property test: random filters round-trip through canonical text ---- */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

struct gen {
    char buf[4096];
    size_t len;
    int terms;
};

static void emit(struct gen *g, const char *s)
{
    size_t n = strlen(s);
    assert_true(g->len + n < sizeof(g->buf));
    memcpy(g->buf + g->len, s, n + 1);
    g->len += n;
}

static void gen_term(struct gen *g)
{
    static const char *const tags[] = {"tag:a", "tag:high_intent", "tag:\"x y\"", "TAG:b-1.2",
                                       "tag:\"q\\\"\""};
    static const char *const times[] = {"last_contact", "next_callback", "created"};
    static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">="};
    static const char *const tvals[] = {"-30d", "12h", "+15m", "2026-01-31", "1999-12-31T23:59Z"};
    static const char *const cvals[] = {"1", "-2.5", "0.1", "1e10", "\"edu\"", "\"\"", "3d",
                                        "2020-02-29T00:00:00Z", "123456789012"};
    char tmp[96];
    g->terms++;
    switch (rnd(4)) {
    case 0:
        emit(g, tags[rnd(5)]);
        break;
    case 1:
        snprintf(tmp, sizeof(tmp), "%s%s%s%s%s", times[rnd(3)], rnd(2) ? " " : "", ops[rnd(6)],
                 rnd(2) ? " " : "", tvals[rnd(5)]);
        emit(g, tmp);
        break;
    case 2:
        snprintf(tmp, sizeof(tmp), "%s %s \"%s\"", rnd(2) ? "status" : "source", rnd(2) ? "=" : "!=",
                 rnd(2) ? "new" : "web");
        emit(g, tmp);
        break;
    default:
        snprintf(tmp, sizeof(tmp), "f%u %s %s", rnd(3), ops[rnd(6)], cvals[rnd(9)]);
        emit(g, tmp);
        break;
    }
}

static void gen_expr(struct gen *g, int depth)
{
    unsigned k = depth >= 6 || g->terms > 40 ? 0 : rnd(5);
    switch (k) {
    case 0:
    case 1:
        gen_term(g);
        break;
    case 2:
        emit(g, rnd(2) ? "NOT " : "not ");
        gen_expr(g, depth + 1);
        break;
    case 3:
        emit(g, "(");
        gen_expr(g, depth + 1);
        emit(g, ")");
        break;
    default:
        gen_expr(g, depth + 1);
        emit(g, rnd(2) ? (rnd(2) ? " AND " : " and ") : " OR ");
        gen_expr(g, depth + 1);
        break;
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        struct gen g = {.len = 0};
        g.buf[0] = '\0';
        gen_expr(&g, 0);
        struct filter_node *a = NULL, *b = NULL;
        struct filter_error err;
        int rv = filter_parse(g.buf, g.len, &a, &err);
        if (rv != 0)
            fail_msg("generated '%s': %s", g.buf, err.msg);
        char *c1 = NULL, *c2 = NULL;
        assert_int_equal(filter_format(a, &c1), 0);
        rv = filter_parse(c1, strlen(c1), &b, &err);
        if (rv != 0)
            fail_msg("canonical '%s' of '%s': %s", c1, g.buf, err.msg);
        if (!filter_equal(a, b))
            fail_msg("'%s' -> '%s' parses to another AST", g.buf, c1);
        assert_int_equal(filter_format(b, &c2), 0);
        assert_string_equal(c1, c2);
        free(c1);
        free(c2);
        filter_free(a);
        filter_free(b);
    }
}

static void test_equal(void **state)
{
    (void)state;
    struct filter_node *a = parse_ok("tag:a AND x = 1"), *b = parse_ok("tag:a AND x = 2"),
                       *c = parse_ok("tag:a and x=1.0");
    assert_true(filter_equal(a, c));
    assert_false(filter_equal(a, b));
    assert_false(filter_equal(a, NULL));
    assert_true(filter_equal(NULL, NULL));
    filter_free(a);
    filter_free(b);
    filter_free(c);
    a = parse_ok("created < 2026-01-01");
    b = parse_ok("created < 2026-01-01T00:00Z");
    assert_false(filter_equal(a, b)); /* written differently, kept apart */
    filter_free(a);
    filter_free(b);
    filter_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
