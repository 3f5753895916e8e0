/* HTTP digest (RFC 2617/7616, MD5, qop=auth) for the registrar: stateless nonces bound
 * to time and source, response checks, and the parameter parsing. Pure. */
#ifndef WAIHU_SIP_DIGEST_H
#define WAIHU_SIP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define SIP_DIGEST_NONCE_LEN 48 /* 16 hex time + 32 hex MAC */

/* Lower-case hex MD5 of s (33 bytes with the NUL). */
void sip_digest_md5_hex(const char *s, size_t len, char out[33]);

/* HA1 = MD5(user:realm:password). */
void sip_digest_ha1(const char *user, const char *realm, const char *password, char out[33]);

/* nonce = hex(issued_ms) + hex(HMAC-SHA256(secret, issued_ms || source)[0..16)). */
void sip_digest_nonce(const uint8_t secret[32], uint64_t issued_ms, const char *source,
                      char out[SIP_DIGEST_NONCE_LEN + 1]);

enum sip_nonce_check { SIP_NONCE_OK = 0, SIP_NONCE_BAD, SIP_NONCE_STALE };
/* Checks a nonce's MAC and age; time comes from the caller. */
enum sip_nonce_check sip_digest_nonce_check(const uint8_t secret[32], const char *nonce,
                                            const char *source, uint64_t now_ms,
                                            uint32_t ttl_ms);

/* The parameters of an Authorization header, unquoted. */
struct sip_digest_creds {
    char username[64], realm[64], nonce[96], uri[256], response[40], qop[16], nc[16],
        cnonce[96], algorithm[16];
};

/* Parses params such as {"username=\"a\"", "nc=00000001", NULL} (sofia's au_params).
 * Returns 0, or -1 when a required one (username, realm, nonce, uri, response) is
 * missing or too long. */
int sip_digest_parse(const char *const *params, struct sip_digest_creds *out);

/* Expected response for creds given HA1 and the request method. */
void sip_digest_response(const char *ha1_hex, const char *method,
                         const struct sip_digest_creds *c, char out[33]);

/* Constant-time comparison of two 32-hex-digit responses; 1 when equal. */
int sip_digest_equal(const char *a, const char *b);

#endif
