/* Waihu common foundation: error codes, structured logs, the injectable clock.
 * Every module may include this header; it depends on nothing but libc. */
#ifndef WAIHU_COMMON_H
#define WAIHU_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define WAIHU_API __attribute__((visibility("default")))

/* One project-wide error enum; functions return 0 or one of these. */
enum waihu_err {
    WAIHU_OK = 0,
    WAIHU_ENOMEM = -1,      /* out of memory */
    WAIHU_EINVAL = -2,      /* invalid argument or malformed input */
    WAIHU_EIO = -3,         /* disk or network I/O failed */
    WAIHU_ENOTLEADER = -4,  /* this node cannot serve the request as it is not leader */
    WAIHU_ENOTFOUND = -5,   /* no such key or object */
    WAIHU_ECONFLICT = -6,   /* compare-and-set version mismatch */
    WAIHU_EUNAVAILABLE = -7,/* no leader, or the node is fenced or not ready */
    WAIHU_ECORRUPT = -8,    /* stored data failed a check */
    WAIHU_ENOSPACE = -9,    /* disk full */
    WAIHU_ETIMEDOUT = -10,  /* deadline passed; outcome unknown */
    WAIHU_ESHUTDOWN = -11,  /* node is closing */
    WAIHU_ETOOBIG = -12,    /* request exceeds a size limit */
    WAIHU_ESTALE = -13,     /* duplicate request older than the last one applied */
};

/* Static text for an error code; never NULL. */
WAIHU_API const char *waihu_strerror(int err);

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Configure logging (default: info to stderr). node_name is copied and
 * appears in every line. Not thread-safe against concurrent log_write. */
WAIHU_API void log_setup(enum log_level min_level, const char *node_name);

/* Parses "debug|info|warn|error"; returns 0 or WAIHU_EINVAL. */
WAIHU_API int log_level_parse(const char *text, enum log_level *out);

/* Writes one JSON line {"ts","level","node","mod","msg"} to stderr.
 * Safe from any thread (one write(2) per line). */
WAIHU_API void log_write(enum log_level level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_D(mod, ...) log_write(LOG_DEBUG, mod, __VA_ARGS__)
#define LOG_I(mod, ...) log_write(LOG_INFO, mod, __VA_ARGS__)
#define LOG_W(mod, ...) log_write(LOG_WARN, mod, __VA_ARGS__)
#define LOG_E(mod, ...) log_write(LOG_ERROR, mod, __VA_ARGS__)

/* Logs and aborts: for states that must never continue (store write failed under raft). */
WAIHU_API _Noreturn void waihu_fatal(const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Milliseconds of a monotonic clock. Tests replace it with clock_set_source. */
WAIHU_API uint64_t clock_now_ms(void);
/* Wall-clock milliseconds since the Unix epoch (what a leader stamps into entries). */
WAIHU_API int64_t clock_wall_ms(void);
/* Replace both clocks (NULL restores the real ones). Test-only. */
WAIHU_API void clock_set_source(uint64_t (*now_ms)(void), int64_t (*wall_ms)(void));

/* AES-256-GCM (12-byte nonce, 16-byte tag) over len bytes of in into out (same length):
 * enc=1 seals and writes tag, enc=0 opens and checks it. Returns 0, WAIHU_ECORRUPT (tag
 * mismatch), WAIHU_ETOOBIG, WAIHU_ENOMEM or WAIHU_EIO. Any thread. */
#define AES256GCM_KEY_BYTES 32
#define AES256GCM_NONCE_BYTES 12
#define AES256GCM_TAG_BYTES 16
WAIHU_API int aes256gcm_run(int enc, const uint8_t key[AES256GCM_KEY_BYTES],
                            const uint8_t nonce[AES256GCM_NONCE_BYTES], const uint8_t *aad,
                            size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                            uint8_t tag[AES256GCM_TAG_BYTES]);

/* Cryptographically random bytes (OpenSSL's DRBG) served from a per-thread buffer, so
 * that many small requests (nonces, ids) cost no syscall each; a forked child refills
 * before use. Returns 0 or WAIHU_EIO. Any thread. */
WAIHU_API int random_bytes(void *out, size_t n);

struct sockaddr_in;
/* Parses "a.b.c.d:port" (IPv4 literal, port 0..65535); returns 0 or WAIHU_EINVAL. */
WAIHU_API int addr_parse_ipv4(const char *address, struct sockaddr_in *out);

/* Big-endian encoding for order-preserving keys. */
WAIHU_API void be64_put(uint8_t *out, uint64_t v);
WAIHU_API uint64_t be64_get(const uint8_t *in);

#endif
