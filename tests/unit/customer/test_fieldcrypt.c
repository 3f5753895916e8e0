/* Unit tests of field encryption and phone hashes (src/customer/fieldcrypt.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "customer.h"

struct fixture {
    struct fieldcrypt_keyring *kr;
    uint8_t k1[FIELDCRYPT_KEY_BYTES], k2[FIELDCRYPT_KEY_BYTES], lookup[FIELDCRYPT_KEY_BYTES];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(fieldcrypt_keyring_new(&f->kr), 0);
    assert_int_equal(fieldcrypt_key_generate(f->k1), 0);
    assert_int_equal(fieldcrypt_key_generate(f->k2), 0);
    assert_int_equal(fieldcrypt_key_generate(f->lookup), 0);
    assert_int_equal(fieldcrypt_keyring_add(f->kr, 1, f->k1), 0);
    assert_int_equal(fieldcrypt_keyring_use(f->kr, 1), 0);
    fieldcrypt_keyring_set_lookup_key(f->kr, f->lookup);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fieldcrypt_keyring_free(f->kr);
    free(f);
    return 0;
}

/* memmem without _GNU_SOURCE. */
static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static const struct fieldcrypt_aad aad_phone = {.tenant_id = 7, .customer_id = 42, .field = "phone"};
static const char secret[] = "+8613812341234";

static size_t seal(struct fieldcrypt_keyring *kr, const struct fieldcrypt_aad *aad,
                   const char *plain, uint8_t *out, size_t out_size)
{
    size_t len = 0;
    assert_int_equal(fieldcrypt_seal(kr, aad, (const uint8_t *)plain, strlen(plain), out, out_size,
                                     &len), 0);
    return len;
}

static void test_round_trip_and_lengths(void **state)
{
    struct fixture *f = *state;
    uint8_t ct[128], pt[128], ct2[128];
    size_t n, len = 0;

    /* Constant overhead: 1 version + 4 key id + 12 nonce + 16 tag = 33 bytes. */
    assert_int_equal(FIELDCRYPT_OVERHEAD, 33);
    assert_int_equal(FIELDCRYPT_WRAPPED_BYTES, 65);
    n = seal(f->kr, &aad_phone, secret, ct, sizeof(ct));
    assert_int_equal(n, strlen(secret) + FIELDCRYPT_OVERHEAD);
    assert_int_equal(ct[0], FIELDCRYPT_VERSION);
    assert_false(contains(ct, n, secret, strlen(secret)));
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, ct, n, pt, sizeof(pt), &len), 0);
    assert_int_equal(len, strlen(secret));
    assert_memory_equal(pt, secret, len);

    /* Fresh nonce each time: the same value never seals to the same bytes. */
    assert_int_equal(seal(f->kr, &aad_phone, secret, ct2, sizeof(ct2)), n);
    assert_memory_not_equal(ct, ct2, n);

    /* Empty values seal too. */
    n = seal(f->kr, &aad_phone, "", ct, sizeof(ct));
    assert_int_equal(n, FIELDCRYPT_OVERHEAD);
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, ct, n, pt, sizeof(pt), &len), 0);
    assert_int_equal(len, 0);

    /* Buffers that are too small are refused, not overrun. */
    assert_int_equal(fieldcrypt_seal(f->kr, &aad_phone, (const uint8_t *)secret, strlen(secret),
                                     ct, strlen(secret) + FIELDCRYPT_OVERHEAD - 1, &len),
                     WAIHU_ETOOBIG);
    n = seal(f->kr, &aad_phone, secret, ct, sizeof(ct));
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, ct, n, pt, strlen(secret) - 1, &len),
                     WAIHU_ETOOBIG);
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, ct, FIELDCRYPT_OVERHEAD - 1, pt,
                                     sizeof(pt), &len), WAIHU_ECORRUPT);
}

/* Flipping any bit of any part (version, key id, nonce, ciphertext, tag) fails. */
static void test_tamper(void **state)
{
    struct fixture *f = *state;
    uint8_t ct[128], pt[128];
    size_t len, n = seal(f->kr, &aad_phone, secret, ct, sizeof(ct));
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            ct[i] ^= (uint8_t)(1u << bit);
            memset(pt, 0xaa, sizeof(pt));
            int rv = fieldcrypt_open(f->kr, &aad_phone, ct, n, pt, sizeof(pt), &len);
            if (rv == 0)
                fail_msg("bit %d of byte %zu flipped and still opened", bit, i);
            /* key id bytes: unknown id; version: corrupt; elsewhere: tag mismatch */
            assert_true(rv == WAIHU_ECORRUPT || rv == WAIHU_ENOTFOUND);
            for (size_t k = 0; k < n - FIELDCRYPT_OVERHEAD; k++)
                assert_true(pt[k] == 0xaa || pt[k] == 0);
            ct[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Truncated and extended values fail too. */
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, ct, n - 1, pt, sizeof(pt), &len),
                     WAIHU_ECORRUPT);
    ct[n] = 0;
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, ct, n + 1, pt, sizeof(pt), &len),
                     WAIHU_ECORRUPT);
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, ct, n, pt, sizeof(pt), &len), 0);
}

/* A sealed value moved to another tenant, customer or field does not open. */
static void test_wrong_aad(void **state)
{
    struct fixture *f = *state;
    uint8_t ct[128], pt[128];
    size_t len, n = seal(f->kr, &aad_phone, secret, ct, sizeof(ct));
    struct fieldcrypt_aad other = aad_phone;
    other.tenant_id = 8;
    assert_int_equal(fieldcrypt_open(f->kr, &other, ct, n, pt, sizeof(pt), &len), WAIHU_ECORRUPT);
    other = aad_phone;
    other.customer_id = 43;
    assert_int_equal(fieldcrypt_open(f->kr, &other, ct, n, pt, sizeof(pt), &len), WAIHU_ECORRUPT);
    other = aad_phone;
    other.field = "name";
    assert_int_equal(fieldcrypt_open(f->kr, &other, ct, n, pt, sizeof(pt), &len), WAIHU_ECORRUPT);
    other.field = "phone2";
    assert_int_equal(fieldcrypt_open(f->kr, &other, ct, n, pt, sizeof(pt), &len), WAIHU_ECORRUPT);
    /* No ambiguity between (tenant, customer) pairs with swapped bytes. */
    other = aad_phone;
    other.tenant_id = 42;
    other.customer_id = 7;
    assert_int_equal(fieldcrypt_open(f->kr, &other, ct, n, pt, sizeof(pt), &len), WAIHU_ECORRUPT);
    /* Invalid field names are refused. */
    other.field = "";
    assert_int_equal(fieldcrypt_seal(f->kr, &other, (const uint8_t *)"x", 1, ct, sizeof(ct), &len),
                     WAIHU_EINVAL);
    other.field = NULL;
    assert_int_equal(fieldcrypt_seal(f->kr, &other, (const uint8_t *)"x", 1, ct, sizeof(ct), &len),
                     WAIHU_EINVAL);
    char longname[FIELDCRYPT_FIELD_MAX + 2];
    memset(longname, 'f', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    other.field = longname;
    assert_int_equal(fieldcrypt_seal(f->kr, &other, (const uint8_t *)"x", 1, ct, sizeof(ct), &len),
                     WAIHU_EINVAL);
}

static void test_rotation(void **state)
{
    struct fixture *f = *state;
    uint8_t old_ct[128], new_ct[128], pt[128];
    uint32_t id;
    size_t len, n_old = seal(f->kr, &aad_phone, secret, old_ct, sizeof(old_ct));
    assert_int_equal(fieldcrypt_key_id_of(old_ct, n_old, &id), 0);
    assert_int_equal(id, 1);

    assert_int_equal(fieldcrypt_keyring_add(f->kr, 2, f->k2), 0);
    assert_int_equal(fieldcrypt_keyring_use(f->kr, 2), 0);
    size_t n_new = seal(f->kr, &aad_phone, secret, new_ct, sizeof(new_ct));
    assert_int_equal(fieldcrypt_key_id_of(new_ct, n_new, &id), 0);
    assert_int_equal(id, 2);
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, old_ct, n_old, pt, sizeof(pt), &len), 0);
    assert_memory_equal(pt, secret, len);
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, new_ct, n_new, pt, sizeof(pt), &len), 0);
    assert_memory_equal(pt, secret, len);

    /* Relabelling a value with another known key id fails (the id is authenticated). */
    old_ct[4] = 2;
    assert_int_equal(fieldcrypt_open(f->kr, &aad_phone, old_ct, n_old, pt, sizeof(pt), &len),
                     WAIHU_ECORRUPT);
    old_ct[4] = 1;

    /* A keyring that lost the old key cannot read old values. */
    struct fieldcrypt_keyring *only2;
    assert_int_equal(fieldcrypt_keyring_new(&only2), 0);
    assert_int_equal(fieldcrypt_keyring_add(only2, 2, f->k2), 0);
    assert_int_equal(fieldcrypt_open(only2, &aad_phone, old_ct, n_old, pt, sizeof(pt), &len),
                     WAIHU_ENOTFOUND);
    assert_int_equal(fieldcrypt_seal(only2, &aad_phone, pt, 1, new_ct, sizeof(new_ct), &len),
                     WAIHU_ENOTFOUND); /* no current key chosen */
    fieldcrypt_keyring_free(only2);

    /* Ids are unique: the same id with another key conflicts; re-adding is a no-op. */
    assert_int_equal(fieldcrypt_keyring_add(f->kr, 1, f->k2), WAIHU_ECONFLICT);
    assert_int_equal(fieldcrypt_keyring_add(f->kr, 1, f->k1), 0);
    assert_int_equal(fieldcrypt_keyring_use(f->kr, 99), WAIHU_ENOTFOUND);
    for (uint32_t i = 3; i <= FIELDCRYPT_MAX_KEYS; i++)
        assert_int_equal(fieldcrypt_keyring_add(f->kr, i, f->k1), 0);
    assert_int_equal(fieldcrypt_keyring_add(f->kr, 100, f->k1), WAIHU_ETOOBIG);
}

static void test_wrap(void **state)
{
    (void)state;
    uint8_t master[FIELDCRYPT_KEY_BYTES], other[FIELDCRYPT_KEY_BYTES], dk[FIELDCRYPT_KEY_BYTES];
    uint8_t wrapped[FIELDCRYPT_WRAPPED_BYTES], back[FIELDCRYPT_KEY_BYTES];
    uint32_t id = 0;
    assert_int_equal(fieldcrypt_key_generate(master), 0);
    assert_int_equal(fieldcrypt_key_generate(other), 0);
    assert_int_equal(fieldcrypt_key_generate(dk), 0);
    assert_int_equal(fieldcrypt_key_wrap(master, 77, dk, wrapped), 0);
    assert_false(contains(wrapped, sizeof(wrapped), dk, 8));
    assert_int_equal(fieldcrypt_key_unwrap(master, wrapped, &id, back), 0);
    assert_int_equal(id, 77);
    assert_memory_equal(back, dk, sizeof(dk));
    assert_int_equal(fieldcrypt_key_unwrap(other, wrapped, &id, back), WAIHU_ECORRUPT);
    for (size_t i = 0; i < sizeof(wrapped); i++) {
        wrapped[i] ^= 0x10;
        assert_int_equal(fieldcrypt_key_unwrap(master, wrapped, &id, back), WAIHU_ECORRUPT);
        for (size_t k = 0; k < sizeof(back); k++)
            assert_int_equal(back[k], 0);
        wrapped[i] ^= 0x10;
    }
}

static void test_phone_hash(void **state)
{
    struct fixture *f = *state;
    uint8_t h1[FIELDCRYPT_HASH_BYTES], h2[FIELDCRYPT_HASH_BYTES];
    assert_int_equal(fieldcrypt_phone_hash(f->kr, "+8613812341234", h1), 0);
    assert_int_equal(fieldcrypt_phone_hash(f->kr, "+8613812341234", h2), 0);
    assert_memory_equal(h1, h2, sizeof(h1));
    assert_int_equal(fieldcrypt_phone_hash(f->kr, "+8613812341235", h2), 0);
    assert_memory_not_equal(h1, h2, sizeof(h1));

    /* Keyed: another lookup key gives another hash; data keys are not used. */
    struct fieldcrypt_keyring *kr2;
    assert_int_equal(fieldcrypt_keyring_new(&kr2), 0);
    assert_int_equal(fieldcrypt_phone_hash(kr2, "+8613812341234", h2), WAIHU_ENOTFOUND);
    fieldcrypt_keyring_set_lookup_key(kr2, f->k1);
    assert_int_equal(fieldcrypt_phone_hash(kr2, "+8613812341234", h2), 0);
    assert_memory_not_equal(h1, h2, sizeof(h1));
    fieldcrypt_keyring_free(kr2);

    /* Only normalised numbers are hashed (else dedup would silently miss). */
    assert_int_equal(fieldcrypt_phone_hash(f->kr, "13812341234", h2), WAIHU_EINVAL);
    assert_int_equal(fieldcrypt_phone_hash(f->kr, "+86 138", h2), WAIHU_EINVAL);
    assert_int_equal(fieldcrypt_phone_hash(f->kr, "+", h2), WAIHU_EINVAL);
    assert_int_equal(fieldcrypt_phone_hash(f->kr, "+12345678901234567", h2), WAIHU_EINVAL);
    assert_int_equal(fieldcrypt_phone_hash(f->kr, NULL, h2), WAIHU_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_aad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phone_hash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
