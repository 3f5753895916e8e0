/* Roles and object checks, argon2id passwords, token format, rate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static struct auth_principal principal(enum auth_role role, const char *user, const char *dept)
{
    struct auth_principal p = {.tenant_id = 7, .role = role};
    strcpy(p.user, user);
    strcpy(p.department, dept);
    return p;
}

static void test_roles(void **state)
{
    (void)state;
    enum auth_role r;
    assert_int_equal(auth_role_parse("backup-operator", &r), 0);
    assert_int_equal(r, AUTH_ROLE_BACKUP_OPERATOR);
    assert_int_equal(auth_role_parse("root", &r), WAIHU_EINVAL);
    assert_true(auth_role_allows(AUTH_ROLE_ADMIN, AUTH_CUSTOMER_UNMASK));
    assert_false(auth_role_allows(AUTH_ROLE_AGENT, AUTH_CUSTOMER_UNMASK));
    assert_false(auth_role_allows(AUTH_ROLE_AGENT, AUTH_USER_ADMIN));
    assert_false(auth_role_allows(AUTH_ROLE_AUDITOR, AUTH_CUSTOMER_READ));
    assert_false(auth_role_allows(AUTH_ROLE_BACKUP_OPERATOR, AUTH_CUSTOMER_READ));
    assert_false(auth_role_allows(AUTH_ROLE_SUPERVISOR, AUTH_CUSTOMER_ERASE));
    assert_false(auth_role_allows(AUTH_ROLE_COUNT, AUTH_CUSTOMER_READ));
}

static void test_object_checks(void **state)
{
    (void)state;
    struct auth_principal agent = principal(AUTH_ROLE_AGENT, "a1", "sales");
    assert_true(auth_may_touch(&agent, 7, "sales", "a1"));
    assert_false(auth_may_touch(&agent, 7, "sales", "a2"));
    assert_false(auth_may_touch(&agent, 8, "sales", "a1")); /* other tenant */
    struct auth_principal sup = principal(AUTH_ROLE_SUPERVISOR, "s1", "sales");
    assert_true(auth_may_touch(&sup, 7, "sales", "a2"));
    assert_false(auth_may_touch(&sup, 7, "support", "a2"));
    struct auth_principal admin = principal(AUTH_ROLE_ADMIN, "boss", "");
    assert_true(auth_may_touch(&admin, 7, "support", "x"));
    assert_false(auth_may_touch(&admin, 9, "support", "x"));
    struct auth_principal sys = {.system = true};
    assert_false(auth_may_touch(&sys, 0, "", "")); /* the bootstrap token reads no customers */
}

static void test_password(void **state)
{
    (void)state;
    char h[AUTH_HASH_MAX], h2[AUTH_HASH_MAX];
    assert_int_equal(auth_password_hash("correct horse battery", h), 0);
    assert_int_equal(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_int_equal(auth_password_verify(h, "correct horse battery"), 0);
    assert_int_equal(auth_password_verify(h, "correct horse batterY"), WAIHU_EINVAL);
    /* Salted: the same password hashes differently. */
    assert_int_equal(auth_password_hash("correct horse battery", h2), 0);
    assert_string_not_equal(h, h2);
    assert_int_equal(auth_password_hash("short", h2), WAIHU_EINVAL);
    assert_int_equal(auth_password_verify("$2y$10$notargon", "whatever123"), WAIHU_EINVAL);
    h[strlen(h) - 3] ^= 1;
    assert_int_equal(auth_password_verify(h, "correct horse battery"), WAIHU_EINVAL);
}

static void test_tokens(void **state)
{
    (void)state;
    char tok[AUTH_TOKEN_LEN + 1], id[AUTH_TOKEN_ID_HEX + 1], id2[AUTH_TOKEN_ID_HEX + 1];
    uint8_t stored[32], presented[32];
    assert_int_equal(auth_token_new(tok, id, stored), 0);
    assert_int_equal(strlen(tok), AUTH_TOKEN_LEN);
    assert_int_equal(auth_token_parse(tok, id2, presented), 0);
    assert_string_equal(id, id2);
    assert_true(auth_secret_equal(stored, presented));
    /* One changed secret digit: same id, different hash. */
    tok[AUTH_TOKEN_LEN - 1] = tok[AUTH_TOKEN_LEN - 1] == 'a' ? 'b' : 'a';
    assert_int_equal(auth_token_parse(tok, id2, presented), 0);
    assert_false(auth_secret_equal(stored, presented));
    assert_int_equal(auth_token_parse("wh_short", id2, presented), WAIHU_EINVAL);
    tok[5] = 'Z';
    assert_int_equal(auth_token_parse(tok, id2, presented), WAIHU_EINVAL);
}

static void test_ratelimit(void **state)
{
    (void)state;
    struct auth_ratelimit *rl = auth_ratelimit_new(10, 5);
    uint64_t retry = 0;
    for (int i = 0; i < 5; i++) {
        assert_true(auth_ratelimit_take(rl, "t1", 1000, &retry));
    }
    assert_false(auth_ratelimit_take(rl, "t1", 1000, &retry));
    assert_in_range(retry, 90, 110);
    assert_true(auth_ratelimit_take(rl, "t2", 1000, &retry)); /* keys are separate */
    assert_true(auth_ratelimit_take(rl, "t1", 1100, &retry)); /* refilled 1 in 100 ms */
    assert_false(auth_ratelimit_take(rl, "t1", 1100, &retry));
    /* Many keys do not let one key escape its limit. */
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        auth_ratelimit_take(rl, key, 1100, NULL);
    }
    assert_false(auth_ratelimit_take(rl, "t1", 1100, &retry));
    auth_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),    cmocka_unit_test(test_object_checks),
        cmocka_unit_test(test_password), cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_ratelimit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
