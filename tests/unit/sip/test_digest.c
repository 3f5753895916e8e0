/* Digest helpers (src/sip/digest.c): RFC 2617 vectors, nonce binding and expiry,
 * parameter parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "digest.h"

static const uint8_t secret[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static void test_rfc2617_vector(void **state)
{
    (void)state;
    char ha1[33], resp[33];
    sip_digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", ha1);
    assert_string_equal(ha1, "939e7578ed9e3c518a452acee763bce9");
    const char *params[] = {"username=\"Mufasa\"", "realm=\"testrealm@host.com\"",
                            "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
                            "uri=\"/dir/index.html\"", "qop=auth", "nc=00000001",
                            "cnonce=\"0a4f113b\"",
                            "response=\"6629fae49393a05397450978507c4ef1\"",
                            "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"", NULL};
    struct sip_digest_creds c;
    assert_int_equal(sip_digest_parse(params, &c), 0);
    assert_string_equal(c.username, "Mufasa");
    assert_string_equal(c.cnonce, "0a4f113b");
    sip_digest_response(ha1, "GET", &c, resp);
    assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
    assert_true(sip_digest_equal(c.response, resp));
    assert_true(sip_digest_equal("6629FAE49393A05397450978507C4EF1", resp));
    assert_false(sip_digest_equal("6629fae49393a05397450978507c4ef0", resp));
    assert_false(sip_digest_equal("6629fae4", resp));
}

static void test_parse_rejects(void **state)
{
    (void)state;
    struct sip_digest_creds c;
    const char *missing[] = {"username=\"a\"", "realm=\"r\"", "nonce=\"n\"", "uri=\"u\"", NULL};
    assert_int_equal(sip_digest_parse(missing, &c), -1);
    char long_user[200];
    memset(long_user, 'x', sizeof long_user);
    memcpy(long_user, "username=", 9);
    long_user[sizeof long_user - 1] = '\0';
    const char *too_long[] = {long_user, "realm=r", "nonce=n", "uri=u", "response=r", NULL};
    assert_int_equal(sip_digest_parse(too_long, &c), -1);
    const char *escaped[] = {"username=\"a\\\"b\"", "realm=r", "nonce=n", "uri=u",
                             "response=r", NULL};
    assert_int_equal(sip_digest_parse(escaped, &c), 0);
    assert_string_equal(c.username, "a\"b");
    assert_int_equal(sip_digest_parse(NULL, &c), -1);
}

static void test_nonce(void **state)
{
    (void)state;
    char nonce[SIP_DIGEST_NONCE_LEN + 1];
    sip_digest_nonce(secret, 1000000, "127.0.0.1:5060", nonce);
    assert_int_equal(strlen(nonce), SIP_DIGEST_NONCE_LEN);
    assert_int_equal(sip_digest_nonce_check(secret, nonce, "127.0.0.1:5060", 1000500, 300000),
                     SIP_NONCE_OK);
    /* Bound to the source it was issued to. */
    assert_int_equal(sip_digest_nonce_check(secret, nonce, "127.0.0.2:5060", 1000500, 300000),
                     SIP_NONCE_BAD);
    assert_int_equal(sip_digest_nonce_check(secret, nonce, "127.0.0.1:5060", 1400000, 300000),
                     SIP_NONCE_STALE);
    nonce[20] = nonce[20] == 'a' ? 'b' : 'a';
    assert_int_equal(sip_digest_nonce_check(secret, nonce, "127.0.0.1:5060", 1000500, 300000),
                     SIP_NONCE_BAD);
    assert_int_equal(sip_digest_nonce_check(secret, "short", "x", 0, 1), SIP_NONCE_BAD);
    uint8_t other[32] = {9};
    sip_digest_nonce(secret, 5, "s", nonce);
    assert_int_equal(sip_digest_nonce_check(other, nonce, "s", 5, 1000), SIP_NONCE_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc2617_vector),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
