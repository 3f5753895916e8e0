/* One AES-256-GCM operation over OpenSSL EVP, shared by field encryption (customer)
 * and recordings (media). Each thread keeps one cipher context: creating and freeing a
 * context per field (provider lookups, locks, cleansing) cost more than the encryption
 * in a bulk import. */
#include <openssl/evp.h>
#include <pthread.h>

#include "common.h"

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_free(void *p)
{
    EVP_CIPHER_CTX_free(p);
}

static void ctx_key_make(void)
{
    if (pthread_key_create(&ctx_key, ctx_free) != 0) {
        waihu_fatal("common", "aead: pthread_key_create failed");
    }
}

/* The thread's context with the cipher chosen (the nonce length is GCM's default 12). */
static EVP_CIPHER_CTX *thread_ctx(void)
{
    pthread_once(&ctx_once, ctx_key_make);
    EVP_CIPHER_CTX *ctx = pthread_getspecific(ctx_key);
    if (ctx != NULL) {
        return ctx;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return NULL;
    }
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, 1) != 1 ||
        pthread_setspecific(ctx_key, ctx) != 0) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* After a failure the context's state is unknown: the next call starts afresh. */
static void drop_thread_ctx(EVP_CIPHER_CTX *ctx)
{
    pthread_setspecific(ctx_key, NULL);
    EVP_CIPHER_CTX_free(ctx);
}

int aes256gcm_run(int enc, const uint8_t key[AES256GCM_KEY_BYTES],
                  const uint8_t nonce[AES256GCM_NONCE_BYTES], const uint8_t *aad, size_t aad_len,
                  const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[AES256GCM_TAG_BYTES])
{
    int rv = WAIHU_EIO, outl = 0;
    if (len > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX)
        return WAIHU_ETOOBIG;
    EVP_CIPHER_CTX *ctx = thread_ctx();
    if (ctx == NULL)
        return WAIHU_ENOMEM;
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
    return 0;
out:
    drop_thread_ctx(ctx);
    return rv;
}
