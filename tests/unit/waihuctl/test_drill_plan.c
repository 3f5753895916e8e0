#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common.h"
#include "drill_plan.h"

static const char CLUSTER[] =
    "{\"leader_id\":3,\"members\":["
    "{\"id\":1,\"name\":\"n1\",\"dc\":\"dc1\",\"api_address\":\"127.0.0.1:8001\"},"
    "{\"id\":2,\"name\":\"n2\",\"dc\":\"dc1\",\"api_address\":\"127.0.0.1:8002\"},"
    "{\"id\":3,\"name\":\"n3\",\"dc\":\"dc2\",\"api_address\":\"127.0.0.1:8003\"}]}";

static void test_split(void **state)
{
    json_t *c = json_loads(CLUSTER, 0, NULL);
    struct drill_plan p;
    char err[256];
    (void)state;
    assert_int_equal(drill_plan_make(c, "dc2", &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.n_in_dc, 1);
    assert_true(p.members[2].in_dc);
    assert_false(p.members[0].in_dc);
    assert_int_equal(p.old_leader, 3);
    assert_true(p.old_leader_in_dc);
    assert_string_equal(drill_plan_find(&p, 2)->name, "n2");
    assert_null(drill_plan_find(&p, 9));
    assert_int_equal(drill_plan_make(c, "dc1", &p, err, sizeof(err)), 0);
    assert_false(p.old_leader_in_dc);
    json_decref(c);
}

static void test_errors(void **state)
{
    json_t *c = json_loads(CLUSTER, 0, NULL);
    json_t *one = json_loads("{\"members\":[{\"id\":1,\"dc\":\"a\",\"api_address\":\"h:1\"}]}",
                             0, NULL);
    json_t *bad = json_loads("{\"members\":[{\"id\":1,\"dc\":\"a\",\"api_address\":null}]}", 0,
                             NULL);
    struct drill_plan p;
    char err[256];
    (void)state;
    assert_int_equal(drill_plan_make(c, "dc9", &p, err, sizeof(err)), WAIHU_EINVAL);
    assert_string_equal(err, "no member in dc \"dc9\" (dcs: dc1, dc2)");
    assert_int_equal(drill_plan_make(one, "a", &p, err, sizeof(err)), WAIHU_EINVAL);
    assert_non_null(strstr(err, "nobody would survive"));
    assert_int_equal(drill_plan_make(bad, "a", &p, err, sizeof(err)), WAIHU_EINVAL);
    assert_non_null(strstr(err, "api_address"));
    json_decref(c);
    json_decref(one);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
