/* Digest authentication helpers; see digest.h. */
#include "digest.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void sip_digest_md5_hex(const char *s, size_t len, char out[33])
{
    uint8_t md[16];
    unsigned int n = 0;
    EVP_Digest(s, len, md, &n, EVP_md5(), NULL);
    hex(md, 16, out);
}

/* MD5 of a:b:c... given as a NULL-terminated list. */
static void md5_join(char out[33], const char *first, ...)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t md[16];
    unsigned int n = 0;
    va_list ap;
    EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *)) {
        if (s != first) {
            EVP_DigestUpdate(ctx, ":", 1);
        }
        EVP_DigestUpdate(ctx, s, strlen(s));
    }
    va_end(ap);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    hex(md, 16, out);
}

void sip_digest_ha1(const char *user, const char *realm, const char *password, char out[33])
{
    md5_join(out, user, realm, password, (const char *)NULL);
}

static void nonce_mac(const uint8_t secret[32], const char *time_hex, const char *source,
                      char out[33])
{
    uint8_t mac[32];
    unsigned int n = 0;
    char msg[160];
    int len = snprintf(msg, sizeof msg, "%s|%s", time_hex, source ? source : "");
    HMAC(EVP_sha256(), secret, 32, (const uint8_t *)msg, (size_t)len, mac, &n);
    hex(mac, 16, out);
}

void sip_digest_nonce(const uint8_t secret[32], uint64_t issued_ms, const char *source,
                      char out[SIP_DIGEST_NONCE_LEN + 1])
{
    char time_hex[17], mac[33];
    snprintf(time_hex, sizeof time_hex, "%016llx", (unsigned long long)issued_ms);
    nonce_mac(secret, time_hex, source, mac);
    snprintf(out, SIP_DIGEST_NONCE_LEN + 1, "%s%s", time_hex, mac);
}

enum sip_nonce_check sip_digest_nonce_check(const uint8_t secret[32], const char *nonce,
                                            const char *source, uint64_t now_ms,
                                            uint32_t ttl_ms)
{
    char time_hex[17], mac[33];
    if (strlen(nonce) != SIP_DIGEST_NONCE_LEN) {
        return SIP_NONCE_BAD;
    }
    memcpy(time_hex, nonce, 16);
    time_hex[16] = '\0';
    nonce_mac(secret, time_hex, source, mac);
    if (CRYPTO_memcmp(mac, nonce + 16, 32) != 0) {
        return SIP_NONCE_BAD;
    }
    uint64_t issued = strtoull(time_hex, NULL, 16);
    if (issued > now_ms + 1000 || now_ms - issued > ttl_ms) {
        return SIP_NONCE_STALE;
    }
    return SIP_NONCE_OK;
}

/* Copies value (quotes and backslash escapes removed) into out; -1 if it does not fit. */
static int unquote(const char *v, char *out, size_t cap)
{
    size_t n = 0;
    int quoted = *v == '"';
    if (quoted) {
        v++;
    }
    for (; *v && !(quoted && *v == '"'); v++) {
        if (quoted && *v == '\\' && v[1]) {
            v++;
        }
        if (n + 1 >= cap) {
            return -1;
        }
        out[n++] = *v;
    }
    out[n] = '\0';
    return 0;
}

int sip_digest_parse(const char *const *params, struct sip_digest_creds *out)
{
    static const struct { const char *name; size_t off, cap; } fields[] = {
#define F(n) {#n, offsetof(struct sip_digest_creds, n), sizeof(((struct sip_digest_creds *)0)->n)}
        F(username), F(realm), F(nonce), F(uri), F(response), F(qop), F(nc), F(cnonce),
        F(algorithm),
#undef F
    };
    memset(out, 0, sizeof *out);
    for (; params && *params; params++) {
        const char *eq = strchr(*params, '=');
        if (!eq) {
            continue;
        }
        size_t name_len = (size_t)(eq - *params);
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            if (strlen(fields[i].name) == name_len &&
                strncasecmp(*params, fields[i].name, name_len) == 0) {
                if (unquote(eq + 1, (char *)out + fields[i].off, fields[i].cap) != 0) {
                    return -1;
                }
            }
        }
    }
    if (!out->username[0] || !out->realm[0] || !out->nonce[0] || !out->uri[0] ||
        !out->response[0]) {
        return -1;
    }
    return 0;
}

void sip_digest_response(const char *ha1_hex, const char *method,
                         const struct sip_digest_creds *c, char out[33])
{
    char ha2[33];
    md5_join(ha2, method, c->uri, (const char *)NULL);
    if (c->qop[0]) {
        md5_join(out, ha1_hex, c->nonce, c->nc, c->cnonce, c->qop, ha2, (const char *)NULL);
    } else {
        md5_join(out, ha1_hex, c->nonce, ha2, (const char *)NULL);
    }
}

int sip_digest_equal(const char *a, const char *b)
{
    char x[33] = {0}, y[33] = {0};
    size_t la = strlen(a), lb = strlen(b);
    memcpy(x, a, la < 32 ? la : 32);
    memcpy(y, b, lb < 32 ? lb : 32);
    for (int i = 0; i < 32; i++) { /* responses may arrive in upper case */
        if (x[i] >= 'A' && x[i] <= 'F') {
            x[i] = (char)(x[i] + 32);
        }
    }
    return la == 32 && lb == 32 && CRYPTO_memcmp(x, y, 32) == 0;
}
