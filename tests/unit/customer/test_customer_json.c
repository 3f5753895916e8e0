/* Customer bodies (src/customer/customer_json.c): what the API accepts as a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "customer.h"

static struct customer_ctx ctx_new(struct fieldcrypt_keyring **kr)
{
    uint8_t k[FIELDCRYPT_KEY_BYTES];
    memset(k, 7, sizeof k);
    assert_int_equal(fieldcrypt_keyring_new(kr), 0);
    assert_int_equal(fieldcrypt_keyring_add(*kr, 1, k), 0);
    assert_int_equal(fieldcrypt_keyring_use(*kr, 1), 0);
    fieldcrypt_keyring_set_lookup_key(*kr, k);
    struct customer_ctx c = {.kr = *kr, .tenant_id = 7, .default_country = "CN",
                             .now_ms = 1764000000000};
    return c;
}

/* 0 and the time in ms, or the error. */
static int last_contact(const struct customer_ctx *ctx, const char *text, int64_t *ms)
{
    json_t *in = json_pack("{s:s}", "last_contact", text);
    CustomerRecord *r = NULL;
    struct customer_error err;
    int rv = customer_from_json(ctx, in, NULL, 1, &r, NULL, &err);
    if (rv == 0) {
        *ms = r->last_contact_ms;
        customer_record_free(r);
    } else {
        assert_string_equal(err.field, "last_contact");
    }
    json_decref(in);
    return rv;
}

static void times_in_their_three_shapes(void **state)
{
    (void)state;
    struct fieldcrypt_keyring *kr;
    struct customer_ctx ctx = ctx_new(&kr);
    int64_t ms = 0;
    assert_int_equal(last_contact(&ctx, "2026-01-31", &ms), 0);
    assert_int_equal(ms, 1769817600000);
    assert_int_equal(last_contact(&ctx, "2026-01-31T08:00:00Z", &ms), 0);
    assert_int_equal(ms, 1769817600000 + 8 * 3600000);
    assert_int_equal(last_contact(&ctx, "2026-01-31 08:00:01", &ms), 0);
    assert_int_equal(ms, 1769817600000 + 8 * 3600000 + 1000);
    fieldcrypt_keyring_free(kr);
}

/* sscanf alone accepted these (fuzz/fuzz_customer_json.c): trailing garbage after a short
 * day, signs and spaces inside fields. */
static void times_not_quite_in_shape_are_refused(void **state)
{
    (void)state;
    struct fieldcrypt_keyring *kr;
    struct customer_ctx ctx = ctx_new(&kr);
    static const char *const bad[] = {
        "2026-03-8(", "2026-3-1xy", "2026-+1-31", "2026-01-31T01:-1:00", "2026-01-31T1 :00:00",
        "2026-01-31T08:00:00X", "2026-01-31X08:00:00", " 2026-01-3", "2026-02-30", "1899-12-31",
        "2026-01-31T24:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = 0;
        if (last_contact(&ctx, bad[i], &ms) != WAIHU_EINVAL) {
            fail_msg("accepted \"%s\" as %lld", bad[i], (long long)ms);
        }
    }
    fieldcrypt_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times_in_their_three_shapes),
        cmocka_unit_test(times_not_quite_in_shape_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
