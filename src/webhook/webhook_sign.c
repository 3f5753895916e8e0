/* Waihu-Signature's v1: HMAC-SHA256 over "<t>.<body>". The timestamp is inside the MAC so
 * that a receiver can refuse replays of old deliveries. Streamed: the body is not copied. */
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "webhook_internal.h"

int webhook_sign(const void *secret, size_t secret_len, int64_t t, const void *body, size_t len,
                 char out_hex[WEBHOOK_SIG_HEX_BYTES])
{
    static const char hex[] = "0123456789abcdef";
    char prefix[32];
    unsigned char mac[32];
    size_t mac_len = 0;
    EVP_MAC *alg = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    int n, rv = WAIHU_EIO;

    out_hex[0] = '\0';
    if (secret == NULL || secret_len == 0 || (body == NULL && len > 0)) {
        return WAIHU_EINVAL;
    }
    n = snprintf(prefix, sizeof(prefix), "%" PRId64 ".", t);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((alg = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(alg)) == NULL ||
        EVP_MAC_init(ctx, secret, secret_len, params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)n) != 1 ||
        (len > 0 && EVP_MAC_update(ctx, body, len) != 1) ||
        EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 || mac_len != sizeof(mac)) {
        goto out;
    }
    for (size_t i = 0; i < sizeof(mac); i++) {
        out_hex[2 * i] = hex[mac[i] >> 4];
        out_hex[2 * i + 1] = hex[mac[i] & 15];
    }
    out_hex[64] = '\0';
    rv = 0;
out:
    OPENSSL_cleanse(mac, sizeof(mac));
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(alg);
    return rv;
}
