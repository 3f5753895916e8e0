/* One AES-256-GCM operation over OpenSSL EVP, shared by field encryption (customer)
 * and recordings (media). */
#include <openssl/evp.h>

#include "common.h"

int aes256gcm_run(int enc, const uint8_t key[AES256GCM_KEY_BYTES],
                  const uint8_t nonce[AES256GCM_NONCE_BYTES], const uint8_t *aad, size_t aad_len,
                  const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[AES256GCM_TAG_BYTES])
{
    int rv = WAIHU_EIO, outl = 0;
    if (len > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX)
        return WAIHU_ETOOBIG;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return WAIHU_ENOMEM;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, AES256GCM_NONCE_BYTES, NULL) != 1)
        goto out;
    if (EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
        goto out;
    if (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
        goto out;
    if (len > 0 && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AES256GCM_TAG_BYTES, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(ctx, out + len, &outl) != 1) {
        rv = enc ? WAIHU_EIO : WAIHU_ECORRUPT;
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AES256GCM_TAG_BYTES, tag) != 1)
        goto out;
    rv = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}
