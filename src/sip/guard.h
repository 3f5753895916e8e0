/* Per-source guard against floods and scanners: a token bucket per IPv4 address, a
 * count of wrong credentials, and temporary bans. Pure: time is an argument. */
#ifndef WAIHU_SIP_GUARD_H
#define WAIHU_SIP_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct sip_guard_config {
    double rate_per_s;      /* sustained out-of-dialog requests per second */
    double burst;           /* bucket size */
    uint32_t fail_limit;    /* wrong credentials within fail_window_ms before a ban */
    uint32_t fail_window_ms;
    uint32_t ban_ms;
    size_t capacity;        /* addresses tracked (power of two; least recent evicted) */
};

enum sip_guard_verdict {
    SIP_GUARD_PASS = 0,
    SIP_GUARD_BANNED,       /* banned earlier and still banned */
    SIP_GUARD_NEW_BAN,      /* this request exhausted the bucket: banned from now */
};

struct sip_guard;

/* Returns NULL on allocation failure. Free with sip_guard_free. */
struct sip_guard *sip_guard_new(const struct sip_guard_config *config);
void sip_guard_free(struct sip_guard *g);

/* Marks ip (host order) as never limited (trunks). Returns 0 or -1 when full. */
int sip_guard_exempt(struct sip_guard *g, uint32_t ip);

/* Accounts one out-of-dialog request from ip at now_ms. */
enum sip_guard_verdict sip_guard_check(struct sip_guard *g, uint32_t ip, uint64_t now_ms);

/* Accounts wrong credentials; returns SIP_GUARD_NEW_BAN when this one crossed the limit. */
enum sip_guard_verdict sip_guard_auth_failed(struct sip_guard *g, uint32_t ip, uint64_t now_ms);

/* Bans ip now (scanner seen). Returns SIP_GUARD_NEW_BAN, or SIP_GUARD_BANNED if it was. */
enum sip_guard_verdict sip_guard_ban(struct sip_guard *g, uint32_t ip, uint64_t now_ms);

int sip_guard_is_banned(struct sip_guard *g, uint32_t ip, uint64_t now_ms);

/* 1 when a User-Agent belongs to a known scanner (sipvicious "friendly-scanner", sipcli,
 * sundayddr, VaxSIPUserAgent, ...); case-insensitive substring match. */
int sip_guard_is_scanner(const char *user_agent);

#endif
