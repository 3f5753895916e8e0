#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common.h"
#include "import_map.h"

/* Parses text and compares the mapping, dumped with sorted keys, to want. */
static void ok(const char *text, const char *want)
{
    json_t *m = NULL;
    char err[256] = "";
    assert_int_equal(import_map_parse(text, &m, err, sizeof err), 0);
    char *got = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, want);
    free(got);
    json_decref(m);
}

static void bad(const char *text, const char *want_in_msg)
{
    json_t *m = (json_t *)1;
    char err[256] = "";
    assert_int_equal(import_map_parse(text, &m, err, sizeof err), WAIHU_EINVAL);
    assert_null(m);
    if (strstr(err, want_in_msg) == NULL) {
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, err, want_in_msg);
    }
}

static void test_parse(void **state)
{
    (void)state;
    ok("Name=name", "{\"Name\":\"name\"}");
    ok("Name=name,Mobile=phone", "{\"Mobile\":\"phone\",\"Name\":\"name\"}");
    ok(" First Name = name , 手机=phone", "{\"First Name\":\"name\",\"手机\":\"phone\"}");
    ok("a\\,b=name,c\\=d=notes,e\\\\=tags",
       "{\"a,b\":\"name\",\"c=d\":\"notes\",\"e\\\\\":\"tags\"}");
    ok("x=a=b", "{\"x\":\"a=b\"}"); /* the first '=' splits */
}

static void test_errors(void **state)
{
    (void)state;
    bad("", "entry 1");
    bad("Name", "want column=field");
    bad("Name=name,", "entry 2");
    bad("Name=name,,Mobile=phone", "entry 2");
    bad("=name", "empty column");
    bad("Name= ", "empty field");
    bad("Name=name,Name=notes", "mapped twice");
    bad("A=\xff", "not UTF-8");
    bad("\xff=name", "not UTF-8");
    char many[64 * 12 + 16] = "";
    for (int i = 0; i <= IMPORT_MAP_MAX; i++) {
        size_t n = strlen(many);
        snprintf(many + n, sizeof many - n, "%sc%d=f", i ? "," : "", i);
    }
    bad(many, "more than 64");
}

static void test_encoding(void **state)
{
    (void)state;
    assert_true(import_encoding_valid("auto"));
    assert_true(import_encoding_valid("utf-8"));
    assert_true(import_encoding_valid("gb18030"));
    assert_false(import_encoding_valid("UTF8"));
    assert_false(import_encoding_valid(""));
}

static void test_status(void **state)
{
    (void)state;
    json_t *job = json_loads(
        "{\"id\":\"imp-00000000000000ab\",\"state\":\"running\",\"file\":\"a.csv\","
        "\"bytes_total\":1000,\"bytes_done\":250,\"rows_ok\":7,\"rows_failed\":2,"
        "\"duplicates\":1,\"rows_per_s\":12.4,\"eta_s\":3.2,\"first_errors\":["
        "{\"line\":3,\"column\":\"phone\",\"reason\":\"phone: \\\"1\\\" is not valid\"},"
        "{\"line\":5,\"column\":\"Name\",\"reason\":\"line 5: invalid UTF-8\"},"
        "{\"line\":9,\"reason\":\"quote\"}]}",
        0, NULL);
    assert_non_null(job);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    import_print_status(f, job, 2);
    fclose(f);
    assert_string_equal(buf, "import imp-00000000000000ab: running\n"
                             "file      a.csv\n"
                             "progress  25.0% (250 of 1000 bytes), 12 rows/s, eta 3 s\n"
                             "rows_ok 7  rows_failed 2  duplicates 1\n"
                             "first errors:\n"
                             "  line 3: phone: \"1\" is not valid\n"
                             "  line 5: Name: line 5: invalid UTF-8\n"
                             "  ... 1 more (GET /v1/imports/imp-00000000000000ab/errors)\n");
    free(buf);
    json_decref(job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
