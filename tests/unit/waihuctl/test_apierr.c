#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apierr.h"

static void check(long status, const char *body_text, const char *raw, const char *want)
{
    json_t *body = body_text != NULL ? json_loads(body_text, 0, NULL) : NULL;
    char buf[256];

    apierr_format(status, body, raw, buf, sizeof(buf));
    assert_string_equal(buf, want);
    json_decref(body);
}

static void test_formats(void **state)
{
    (void)state;
    check(409,
          "{\"error\":{\"code\":\"conflict\",\"message\":\"version mismatch\",\"field\":null},"
          "\"current_version\":7}",
          NULL, "conflict: version mismatch (current 7)");
    check(400, "{\"error\":{\"code\":\"bad_request\",\"message\":\"missing\",\"field\":\"value\"}}",
          NULL, "bad_request: missing (field value)");
    check(404, "{\"error\":{\"code\":\"not_found\",\"message\":\"\"}}", NULL, "not_found");
    check(502, NULL, "<html>bad gateway\nmore", "HTTP 502: <html>bad gateway");
    check(500, NULL, "", "HTTP 500");
    check(500, "[1]", "[1]", "HTTP 500: [1]");
}

static void test_code(void **state)
{
    json_t *b = json_loads("{\"error\":{\"code\":\"stale\"}}", 0, NULL);
    (void)state;
    assert_string_equal(apierr_code(b), "stale");
    assert_null(apierr_code(NULL));
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
