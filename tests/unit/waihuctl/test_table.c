#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "table.h"

static void test_alignment(void **state)
{
    static const char *const hdr[] = {"ID", "NAME", "STATE"};
    static const char *const r1[] = {"1", "n1", "leader"};
    static const char *const r2[] = {"12", "longer-name", NULL};
    struct table t;
    char *out;
    (void)state;
    assert_int_equal(table_init(&t, 3, hdr), 0);
    assert_int_equal(table_add_row(&t, r1), 0);
    assert_int_equal(table_add_row(&t, r2), 0);
    assert_int_equal(table_render(&t, &out), 0);
    assert_string_equal(out, "ID   NAME          STATE\n"
                             "1    n1            leader\n"
                             "12   longer-name   -\n");
    free(out);
    table_close(&t);
}

static void test_escapes_and_utf8(void **state)
{
    static const char *const hdr[] = {"K", "V"};
    static const char *const r1[] = {"caf\xc3\xa9", "a\nb\tc\x01"};
    static const char *const r2[] = {"xxxxx", "y"};
    struct table t;
    char *out;
    (void)state;
    assert_int_equal(table_init(&t, 2, hdr), 0);
    assert_int_equal(table_add_row(&t, r1), 0);
    assert_int_equal(table_add_row(&t, r2), 0);
    assert_int_equal(table_render(&t, &out), 0);
    /* "café" is 4 columns wide, so it gets 4 spaces of padding to reach 5 + gap. */
    assert_string_equal(out, "K       V\n"
                             "caf\xc3\xa9    a\\nb\\tc\\x01\n"
                             "xxxxx   y\n");
    free(out);
    table_close(&t);
}

static void test_header_only(void **state)
{
    static const char *const hdr[] = {"A"};
    struct table t;
    char *out;
    (void)state;
    assert_int_equal(table_init(&t, 1, hdr), 0);
    assert_int_equal(table_render(&t, &out), 0);
    assert_string_equal(out, "A\n");
    free(out);
    table_close(&t);
}

static void test_many_rows_grow(void **state)
{
    static const char *const hdr[] = {"N"};
    static const char *const row[] = {"x"};
    struct table t;
    char *out;
    int i;
    (void)state;
    assert_int_equal(table_init(&t, 1, hdr), 0);
    for (i = 0; i < 100; i++) {
        assert_int_equal(table_add_row(&t, row), 0);
    }
    assert_int_equal(t.nrows, 101);
    assert_int_equal(table_render(&t, &out), 0);
    free(out);
    table_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_escapes_and_utf8),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_many_rows_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
