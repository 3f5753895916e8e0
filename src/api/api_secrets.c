/* Secrets the API keeps for outgoing calls (webhook HMAC keys): AES-256-GCM under a key
 * derived from the master key (HMAC(master, label), like recordings' key), with the
 * record's key as AAD so a sealed secret cannot be moved to another record. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

static int secret_key(struct api *a, uint8_t key[32])
{
    static const char label[] = "waihu/webhook-secret/v1";
    unsigned int n = 0;
    if (!a->has_master ||
        HMAC(EVP_sha256(), a->master_key, sizeof a->master_key, (const uint8_t *)label,
             strlen(label), key, &n) == NULL || n != 32) {
        return WAIHU_ENOTFOUND;
    }
    return 0;
}

int api_secret_seal(struct api *a, const char *aad, const char *secret,
                    ProtobufCBinaryData *out)
{
    uint8_t key[32];
    int rv = secret_key(a, key);
    if (rv != 0) {
        return rv;
    }
    size_t n = strlen(secret);
    out->len = AES256GCM_NONCE_BYTES + n + AES256GCM_TAG_BYTES;
    out->data = malloc(out->len);
    if (out->data == NULL) {
        return WAIHU_ENOMEM;
    }
    rv = random_bytes(out->data, AES256GCM_NONCE_BYTES);
    if (rv == 0) {
        rv = aes256gcm_run(1, key, out->data, (const uint8_t *)aad, strlen(aad),
                           (const uint8_t *)secret, n, out->data + AES256GCM_NONCE_BYTES,
                           out->data + AES256GCM_NONCE_BYTES + n);
    }
    if (rv != 0) {
        free(out->data);
        out->data = NULL;
        out->len = 0;
    }
    return rv;
}

int api_secret_open(struct api *a, const char *aad, const ProtobufCBinaryData *sealed,
                    char *out, size_t cap)
{
    size_t len = sealed->len;
    if (len == 0) {
        out[0] = '\0';
        return 0;
    }
    if (len < AES256GCM_NONCE_BYTES + AES256GCM_TAG_BYTES ||
        len - AES256GCM_NONCE_BYTES - AES256GCM_TAG_BYTES >= cap) {
        return WAIHU_ECORRUPT;
    }
    uint8_t key[32];
    int rv = secret_key(a, key);
    if (rv != 0) {
        return rv;
    }
    size_t n = len - AES256GCM_NONCE_BYTES - AES256GCM_TAG_BYTES;
    const uint8_t *d = sealed->data;
    uint8_t tag[AES256GCM_TAG_BYTES];
    memcpy(tag, d + AES256GCM_NONCE_BYTES + n, sizeof tag);
    rv = aes256gcm_run(0, key, d, (const uint8_t *)aad, strlen(aad), d + AES256GCM_NONCE_BYTES,
                       n, (uint8_t *)out, tag);
    if (rv != 0) {
        return rv;
    }
    out[n] = '\0';
    return (int)n;
}
