#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "args.h"

struct opts {
    const char *to, *out;
    bool stale;
};

static int parse(struct opts *o, int argc, char **argv, bool stop, struct args_result *res,
                 char *err)
{
    const struct args_spec specs[] = {{"to", 0, ARGS_VALUE, &o->to, NULL},
                                      {"output", 'o', ARGS_VALUE, &o->out, NULL},
                                      {"stale", 0, ARGS_FLAG, NULL, &o->stale},
                                      {NULL, 0, ARGS_FLAG, NULL, NULL}};
    return args_parse(argc, argv, specs, stop, res, err, 128);
}

static void test_mixed_positionals_and_forms(void **state)
{
    char *argv[] = {"k", "--to", "3", "-ojson", "v", "--stale"};
    const char *pos[2];
    struct args_result res = {.pos = pos, .pos_cap = 2};
    struct opts o = {0};
    char err[128];
    (void)state;
    assert_int_equal(parse(&o, 6, argv, false, &res, err), 0);
    assert_int_equal(res.npos, 2);
    assert_string_equal(pos[0], "k");
    assert_string_equal(pos[1], "v");
    assert_string_equal(o.to, "3");
    assert_string_equal(o.out, "json");
    assert_true(o.stale);
    assert_false(res.help);
}

static void test_equals_and_double_dash(void **state)
{
    char *argv[] = {"--to=7", "-o", "table", "--", "--stale"};
    const char *pos[1];
    struct args_result res = {.pos = pos, .pos_cap = 1};
    struct opts o = {0};
    char err[128];
    (void)state;
    assert_int_equal(parse(&o, 5, argv, false, &res, err), 0);
    assert_string_equal(o.to, "7");
    assert_string_equal(o.out, "table");
    assert_false(o.stale);
    assert_int_equal(res.npos, 1);
    assert_string_equal(pos[0], "--stale");
}

static void test_errors(void **state)
{
    char *unknown[] = {"--nope"};
    char *missing[] = {"--to"};
    char *extra[] = {"a", "b"};
    char *flagval[] = {"--stale=1"};
    const char *pos[1];
    struct args_result res = {.pos = pos, .pos_cap = 1};
    struct opts o = {0};
    char err[128];
    (void)state;
    assert_int_not_equal(parse(&o, 1, unknown, false, &res, err), 0);
    assert_non_null(strstr(err, "unknown flag \"--nope\""));
    assert_int_not_equal(parse(&o, 1, missing, false, &res, err), 0);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_not_equal(parse(&o, 2, extra, false, &res, err), 0);
    assert_non_null(strstr(err, "unexpected argument \"b\""));
    assert_int_not_equal(parse(&o, 1, flagval, false, &res, err), 0);
}

static void test_stop_at_positional_and_help(void **state)
{
    char *argv[] = {"-o", "json", "-h", "settings", "--to", "1"};
    struct args_result res = {0};
    struct opts o = {0};
    char err[128];
    (void)state;
    assert_int_equal(parse(&o, 6, argv, true, &res, err), 0);
    assert_int_equal(res.next, 3);
    assert_true(res.help);
    assert_string_equal(o.out, "json");
    assert_null(o.to);
}

static void test_u64(void **state)
{
    uint64_t v;
    (void)state;
    assert_int_equal(args_parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(args_parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_not_equal(args_parse_u64("18446744073709551616", &v), 0);
    assert_int_not_equal(args_parse_u64("-1", &v), 0);
    assert_int_not_equal(args_parse_u64(" 1", &v), 0);
    assert_int_not_equal(args_parse_u64("1x", &v), 0);
    assert_int_not_equal(args_parse_u64("", &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_positionals_and_forms),
        cmocka_unit_test(test_equals_and_double_dash),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_stop_at_positional_and_help),
        cmocka_unit_test(test_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
