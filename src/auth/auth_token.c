/* API tokens: a public id to find the record and a secret of which only the SHA-256 is
 * stored, so a copy of the database grants nothing. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"

#define ID_BYTES (AUTH_TOKEN_ID_HEX / 2)
#define SECRET_BYTES 32

static void hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

int auth_token_new(char *out, char *id_hex, uint8_t secret_sha256[32])
{
    uint8_t id[ID_BYTES], secret[SECRET_BYTES];
    if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, sizeof secret) != 1) {
        return WAIHU_EIO;
    }
    char secret_hex[2 * SECRET_BYTES + 1];
    hex(id, sizeof id, id_hex);
    hex(secret, sizeof secret, secret_hex);
    snprintf(out, AUTH_TOKEN_LEN + 1, "wh_%s_%s", id_hex, secret_hex);
    SHA256((const uint8_t *)secret_hex, 2 * SECRET_BYTES, secret_sha256);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(secret_hex, sizeof secret_hex);
    return 0;
}

int auth_token_parse(const char *token, char *id_hex, uint8_t secret_sha256[32])
{
    if (strlen(token) != AUTH_TOKEN_LEN || strncmp(token, "wh_", 3) != 0 ||
        token[3 + AUTH_TOKEN_ID_HEX] != '_' || !all_hex(token + 3, AUTH_TOKEN_ID_HEX) ||
        !all_hex(token + 4 + AUTH_TOKEN_ID_HEX, 2 * SECRET_BYTES)) {
        return WAIHU_EINVAL;
    }
    memcpy(id_hex, token + 3, AUTH_TOKEN_ID_HEX);
    id_hex[AUTH_TOKEN_ID_HEX] = '\0';
    SHA256((const uint8_t *)token + 4 + AUTH_TOKEN_ID_HEX, 2 * SECRET_BYTES, secret_sha256);
    return 0;
}

bool auth_secret_equal(const uint8_t a[32], const uint8_t b[32])
{
    return CRYPTO_memcmp(a, b, 32) == 0;
}
