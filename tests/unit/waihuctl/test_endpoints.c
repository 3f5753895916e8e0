#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "endpoints.h"

static void test_list(void **state)
{
    struct endpoints e = {0};
    char err[128];
    (void)state;
    assert_int_equal(endpoints_parse("127.0.0.1:8001, node-2.dc1:8002 ,[::1]:9", &e, err,
                                     sizeof(err)),
                     0);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.items[0], "127.0.0.1:8001");
    assert_string_equal(e.items[1], "node-2.dc1:8002");
    assert_string_equal(e.items[2], "[::1]:9");
    endpoints_free(&e);
}

static void test_bad(void **state)
{
    static const char *const bad[] = {"",        "h",       ":1",       "h:",     "h:0",
                                      "h:65536", "h:1,",    ",h:1",     "h:1x",   "h h:1",
                                      "[::1:1",  "h:123456", "h:1,,h:2", "a/b:1"};
    struct endpoints e = {0};
    char err[128];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(endpoints_parse(bad[i], &e, err, sizeof(err)), 0);
        assert_non_null(strstr(err, "bad endpoint"));
        endpoints_free(&e);
    }
}

static void test_too_many(void **state)
{
    char text[ENDPOINTS_MAX * 16 + 32] = "";
    struct endpoints e = {0};
    char err[128];
    int i;
    (void)state;
    for (i = 0; i <= ENDPOINTS_MAX; i++) {
        strcat(text, i ? ",h:1" : "h:1");
    }
    assert_int_not_equal(endpoints_parse(text, &e, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "too many"));
    endpoints_free(&e);
}

static void test_check(void **state)
{
    (void)state;
    assert_int_equal(endpoints_check("10.0.0.1:65535"), 0);
    assert_int_not_equal(endpoints_check("10.0.0.1"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
