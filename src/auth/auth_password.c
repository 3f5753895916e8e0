/* Password hashes: argon2id from Debian's libargon2 with OWASP's minimum parameters. */
#include <argon2.h>
#include <openssl/rand.h>
#include <string.h>

#include "auth.h"

#define T_COST 2
#define M_COST_KIB 19456
#define PARALLELISM 1
#define SALT_BYTES 16
#define HASH_BYTES 32

int auth_password_hash(const char *password, char *out)
{
    size_t n = strlen(password);
    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX) {
        return WAIHU_EINVAL;
    }
    uint8_t salt[SALT_BYTES];
    if (RAND_bytes(salt, sizeof salt) != 1) {
        return WAIHU_EIO;
    }
    int rv = argon2id_hash_encoded(T_COST, M_COST_KIB, PARALLELISM, password, n, salt,
                                   sizeof salt, HASH_BYTES, out, AUTH_HASH_MAX);
    return rv == ARGON2_OK ? 0 : WAIHU_EIO;
}

int auth_password_verify(const char *encoded, const char *password)
{
    size_t n = strlen(password);
    if (n > AUTH_PASSWORD_MAX || strncmp(encoded, "$argon2id$", 10) != 0) {
        return WAIHU_EINVAL;
    }
    return argon2id_verify(encoded, password, n) == ARGON2_OK ? 0 : WAIHU_EINVAL;
}
