/* Personal field encryption: AES-256-GCM bound to tenant, customer and field; data keys
 * wrapped by a master key; HMAC-SHA-256 phone lookup hashes under a separate key. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "customer.h"

struct data_key {
    uint32_t id;
    uint8_t key[FIELDCRYPT_KEY_BYTES];
};

struct fieldcrypt_keyring {
    struct data_key keys[FIELDCRYPT_MAX_KEYS];
    size_t n_keys;
    int has_current;
    size_t current;
    int has_lookup;
    uint8_t lookup[FIELDCRYPT_KEY_BYTES];
};

/* Domain separation: a wrapped key can never be confused with a sealed field. */
static const char wrap_label[] = "waihu/datakey/v1";
static const char field_label[] = "waihu/field/v1";

/* Field AAD: label | tenant (8 BE) | customer (8 BE) | field length (1) | field | header. */
#define AAD_MAX (sizeof(field_label) + 8 + 8 + 1 + FIELDCRYPT_FIELD_MAX + FIELDCRYPT_HEADER_BYTES)

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Field sizes are the shared AES-256-GCM helper's (src/common/aead.c). */
_Static_assert(FIELDCRYPT_KEY_BYTES == AES256GCM_KEY_BYTES, "key size");
_Static_assert(FIELDCRYPT_NONCE_BYTES == AES256GCM_NONCE_BYTES, "nonce size");
_Static_assert(FIELDCRYPT_TAG_BYTES == AES256GCM_TAG_BYTES, "tag size");

int fieldcrypt_key_generate(uint8_t key[FIELDCRYPT_KEY_BYTES])
{
    return RAND_bytes(key, FIELDCRYPT_KEY_BYTES) == 1 ? 0 : WAIHU_EIO;
}

/* Header: version | key id | nonce; header_aad = label | header. */
static size_t wrap_aad(uint8_t *aad, const uint8_t *header)
{
    memcpy(aad, wrap_label, sizeof(wrap_label));
    memcpy(aad + sizeof(wrap_label), header, FIELDCRYPT_HEADER_BYTES);
    return sizeof(wrap_label) + FIELDCRYPT_HEADER_BYTES;
}

int fieldcrypt_key_wrap(const uint8_t master_key[FIELDCRYPT_KEY_BYTES], uint32_t key_id,
                        const uint8_t data_key[FIELDCRYPT_KEY_BYTES],
                        uint8_t out[FIELDCRYPT_WRAPPED_BYTES])
{
    uint8_t aad[sizeof(wrap_label) + FIELDCRYPT_HEADER_BYTES];
    out[0] = FIELDCRYPT_VERSION;
    put32(out + 1, key_id);
    if (RAND_bytes(out + 5, FIELDCRYPT_NONCE_BYTES) != 1)
        return WAIHU_EIO;
    size_t aad_len = wrap_aad(aad, out);
    return aes256gcm_run(1, master_key, out + 5, aad, aad_len, data_key, FIELDCRYPT_KEY_BYTES,
               out + FIELDCRYPT_HEADER_BYTES,
               out + FIELDCRYPT_HEADER_BYTES + FIELDCRYPT_KEY_BYTES);
}

int fieldcrypt_key_unwrap(const uint8_t master_key[FIELDCRYPT_KEY_BYTES],
                          const uint8_t wrapped[FIELDCRYPT_WRAPPED_BYTES], uint32_t *key_id,
                          uint8_t data_key[FIELDCRYPT_KEY_BYTES])
{
    uint8_t aad[sizeof(wrap_label) + FIELDCRYPT_HEADER_BYTES];
    uint8_t tag[FIELDCRYPT_TAG_BYTES];
    memset(data_key, 0, FIELDCRYPT_KEY_BYTES);
    if (wrapped[0] != FIELDCRYPT_VERSION)
        return WAIHU_ECORRUPT;
    memcpy(tag, wrapped + FIELDCRYPT_HEADER_BYTES + FIELDCRYPT_KEY_BYTES, sizeof(tag));
    size_t aad_len = wrap_aad(aad, wrapped);
    int rv = aes256gcm_run(0, master_key, wrapped + 5, aad, aad_len, wrapped + FIELDCRYPT_HEADER_BYTES,
                 FIELDCRYPT_KEY_BYTES, data_key, tag);
    if (rv != 0) {
        OPENSSL_cleanse(data_key, FIELDCRYPT_KEY_BYTES);
        return rv;
    }
    *key_id = get32(wrapped + 1);
    return 0;
}

int fieldcrypt_keyring_new(struct fieldcrypt_keyring **out)
{
    *out = calloc(1, sizeof(**out));
    return *out == NULL ? WAIHU_ENOMEM : 0;
}

int fieldcrypt_keyring_clone(const struct fieldcrypt_keyring *kr,
                             struct fieldcrypt_keyring **out)
{
    *out = malloc(sizeof(**out));
    if (*out == NULL)
        return WAIHU_ENOMEM;
    memcpy(*out, kr, sizeof(**out));
    return 0;
}

int fieldcrypt_keyring_current(const struct fieldcrypt_keyring *kr, uint32_t *key_id)
{
    if (!kr->has_current)
        return WAIHU_ENOTFOUND;
    *key_id = kr->keys[kr->current].id;
    return 0;
}

void fieldcrypt_keyring_free(struct fieldcrypt_keyring *kr)
{
    if (kr == NULL)
        return;
    OPENSSL_cleanse(kr, sizeof(*kr));
    free(kr);
}

static const struct data_key *key_find(const struct fieldcrypt_keyring *kr, uint32_t id)
{
    for (size_t i = 0; i < kr->n_keys; i++)
        if (kr->keys[i].id == id)
            return &kr->keys[i];
    return NULL;
}

int fieldcrypt_keyring_add(struct fieldcrypt_keyring *kr, uint32_t key_id,
                           const uint8_t key[FIELDCRYPT_KEY_BYTES])
{
    const struct data_key *k = key_find(kr, key_id);
    if (k != NULL)
        return CRYPTO_memcmp(k->key, key, FIELDCRYPT_KEY_BYTES) == 0 ? 0 : WAIHU_ECONFLICT;
    if (kr->n_keys == FIELDCRYPT_MAX_KEYS)
        return WAIHU_ETOOBIG;
    kr->keys[kr->n_keys].id = key_id;
    memcpy(kr->keys[kr->n_keys].key, key, FIELDCRYPT_KEY_BYTES);
    kr->n_keys++;
    return 0;
}

int fieldcrypt_keyring_use(struct fieldcrypt_keyring *kr, uint32_t key_id)
{
    const struct data_key *k = key_find(kr, key_id);
    if (k == NULL)
        return WAIHU_ENOTFOUND;
    kr->current = (size_t)(k - kr->keys);
    kr->has_current = 1;
    return 0;
}

void fieldcrypt_keyring_set_lookup_key(struct fieldcrypt_keyring *kr,
                                       const uint8_t key[FIELDCRYPT_KEY_BYTES])
{
    memcpy(kr->lookup, key, FIELDCRYPT_KEY_BYTES);
    kr->has_lookup = 1;
}

/* Returns the AAD length, or 0 when aad is invalid. */
static size_t field_aad(uint8_t out[AAD_MAX], const struct fieldcrypt_aad *aad,
                        const uint8_t *header)
{
    if (aad == NULL || aad->field == NULL)
        return 0;
    size_t fl = strnlen(aad->field, FIELDCRYPT_FIELD_MAX + 1);
    if (fl == 0 || fl > FIELDCRYPT_FIELD_MAX)
        return 0;
    size_t o = 0;
    memcpy(out, field_label, sizeof(field_label));
    o += sizeof(field_label);
    be64_put(out + o, aad->tenant_id);
    o += 8;
    be64_put(out + o, aad->customer_id);
    o += 8;
    out[o++] = (uint8_t)fl;
    memcpy(out + o, aad->field, fl);
    o += fl;
    memcpy(out + o, header, FIELDCRYPT_HEADER_BYTES);
    return o + FIELDCRYPT_HEADER_BYTES;
}

int fieldcrypt_seal(const struct fieldcrypt_keyring *kr, const struct fieldcrypt_aad *aad,
                    const uint8_t *plain, size_t plain_len, uint8_t *out, size_t out_size,
                    size_t *out_len)
{
    uint8_t ad[AAD_MAX];
    if (!kr->has_current)
        return WAIHU_ENOTFOUND;
    if (plain_len > SIZE_MAX - FIELDCRYPT_OVERHEAD || out_size < plain_len + FIELDCRYPT_OVERHEAD)
        return WAIHU_ETOOBIG;
    const struct data_key *k = &kr->keys[kr->current];
    out[0] = FIELDCRYPT_VERSION;
    put32(out + 1, k->id);
    if (random_bytes(out + 5, FIELDCRYPT_NONCE_BYTES) != 0)
        return WAIHU_EIO;
    size_t ad_len = field_aad(ad, aad, out);
    if (ad_len == 0)
        return WAIHU_EINVAL;
    int rv = aes256gcm_run(1, k->key, out + 5, ad, ad_len, plain, plain_len, out + FIELDCRYPT_HEADER_BYTES,
                 out + FIELDCRYPT_HEADER_BYTES + plain_len);
    if (rv != 0)
        return rv;
    *out_len = plain_len + FIELDCRYPT_OVERHEAD;
    return 0;
}

int fieldcrypt_key_id_of(const uint8_t *sealed, size_t sealed_len, uint32_t *key_id)
{
    if (sealed_len < FIELDCRYPT_OVERHEAD || sealed[0] != FIELDCRYPT_VERSION)
        return WAIHU_ECORRUPT;
    *key_id = get32(sealed + 1);
    return 0;
}

int fieldcrypt_open(const struct fieldcrypt_keyring *kr, const struct fieldcrypt_aad *aad,
                    const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t out_size,
                    size_t *out_len)
{
    uint8_t ad[AAD_MAX];
    uint8_t tag[FIELDCRYPT_TAG_BYTES];
    uint32_t id;
    int rv = fieldcrypt_key_id_of(sealed, sealed_len, &id);
    if (rv != 0)
        return rv;
    size_t len = sealed_len - FIELDCRYPT_OVERHEAD;
    if (out_size < len)
        return WAIHU_ETOOBIG;
    const struct data_key *k = key_find(kr, id);
    if (k == NULL)
        return WAIHU_ENOTFOUND;
    size_t ad_len = field_aad(ad, aad, sealed);
    if (ad_len == 0)
        return WAIHU_EINVAL;
    memcpy(tag, sealed + FIELDCRYPT_HEADER_BYTES + len, sizeof(tag));
    rv = aes256gcm_run(0, k->key, sealed + 5, ad, ad_len, sealed + FIELDCRYPT_HEADER_BYTES, len, out, tag);
    if (rv != 0) {
        OPENSSL_cleanse(out, len);
        return rv;
    }
    *out_len = len;
    return 0;
}

int fieldcrypt_phone_hash(const struct fieldcrypt_keyring *kr, const char *e164,
                          uint8_t out[FIELDCRYPT_HASH_BYTES])
{
    unsigned int len = 0;
    if (e164 == NULL || e164[0] != '+')
        return WAIHU_EINVAL;
    size_t n = strnlen(e164, PHONE_E164_SIZE);
    if (n < 2 || n >= PHONE_E164_SIZE)
        return WAIHU_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (e164[i] < '0' || e164[i] > '9')
            return WAIHU_EINVAL;
    if (!kr->has_lookup)
        return WAIHU_ENOTFOUND;
    if (HMAC(EVP_sha256(), kr->lookup, FIELDCRYPT_KEY_BYTES, (const unsigned char *)e164, n, out,
             &len) == NULL || len != FIELDCRYPT_HASH_BYTES)
        return WAIHU_EIO;
    return 0;
}
