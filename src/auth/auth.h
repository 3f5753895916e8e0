/* Authentication and authorisation building blocks: password hashes (argon2id), API
 * tokens, roles and what each may do, per-token rate limits. Pure or thread-safe; the
 * API layer looks records up in the store and calls these. */
#ifndef WAIHU_AUTH_H
#define WAIHU_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* ---- Roles ---- */
enum auth_role {
    AUTH_ROLE_ADMIN = 0,
    AUTH_ROLE_SUPERVISOR,
    AUTH_ROLE_AGENT,
    AUTH_ROLE_AUDITOR,
    AUTH_ROLE_BACKUP_OPERATOR,
    AUTH_ROLE_COUNT
};

/* What a request wants to do; checked per role (object-level checks come after). */
enum auth_action {
    AUTH_CUSTOMER_READ = 0, /* masked */
    AUTH_CUSTOMER_WRITE,
    AUTH_CUSTOMER_UNMASK,   /* see full phone numbers (audited) */
    AUTH_CUSTOMER_ERASE,    /* PIPL erase and full export */
    AUTH_CUSTOMER_IMPORT,
    AUTH_CUSTOMER_EXPORT,
    AUTH_SCHEMA_WRITE,      /* custom fields, segments */
    AUTH_DNC_ADD,
    AUTH_DNC_REMOVE,
    AUTH_USER_ADMIN,        /* users and their roles in the tenant */
    AUTH_AUDIT_READ,
    AUTH_BACKUP,
    AUTH_CLUSTER_READ,
    AUTH_CALL_PLACE,        /* place a call (agents: to themselves) */
    AUTH_CALL_READ,         /* call records (agents: their own) */
    AUTH_CAMPAIGN_WRITE,    /* create, start, pause campaigns */
    AUTH_CAMPAIGN_READ,     /* campaigns and their progress */
    AUTH_AGENT_READ,        /* agents' live states (agents: their own) */
    AUTH_AGENT_STATE,       /* change an agent's state (agents: their own) */
    AUTH_WALLBOARD,         /* the floor: every agent, totals, the live stream's totals */
    AUTH_CALL_DISPOSE,      /* record a call's disposition (agents: their calls) */
    AUTH_REPORT_READ,       /* performance reports and rankings (supervisors: department) */
    AUTH_ALERT_READ,        /* fired alerts and alert rules (supervisors: department) */
    AUTH_ALERT_WRITE,       /* alert rules, acknowledging alerts (supervisors: department) */
    AUTH_EVENT_READ,        /* the event log and its live stream (supervisors: department) */
    AUTH_WEBHOOK_ADMIN,     /* event webhook subscriptions (they carry every event out) */
    AUTH_RECORDING_READ,    /* search, metadata and playback of recordings, audited
                               (agents: their own calls') */
    AUTH_RECORDING_HOLD,    /* legal hold on or off (audited) */
    AUTH_RECORDING_POLICY,  /* the tenant's retention period */
    AUTH_ACTION_COUNT
};

/* Who is calling. system: the bootstrap credential of the node's token file (cluster
 * administration, tenants, first users; it reads no customer data). */
struct auth_principal {
    bool system;
    char user[64];
    uint64_t tenant_id;
    char department[64];
    enum auth_role role;
};

WAIHU_API const char *auth_role_name(enum auth_role role);
/* Returns 0 or WAIHU_EINVAL. */
WAIHU_API int auth_role_parse(const char *text, enum auth_role *out);
WAIHU_API bool auth_role_allows(enum auth_role role, enum auth_action action);
/* True when p may act on a record of tenant/department/owner: same tenant always;
 * supervisors only their department (empty department = the whole tenant); agents
 * only records they own. Admins, auditors: the whole tenant. */
WAIHU_API bool auth_may_touch(const struct auth_principal *p, uint64_t tenant_id,
                              const char *department, const char *owner);

/* ---- Passwords ---- */
#define AUTH_HASH_MAX 128
#define AUTH_PASSWORD_MIN 10
#define AUTH_PASSWORD_MAX 256
/* argon2id (t=2, m=19 MiB, p=1: OWASP's minimum) with a random salt into out (cap
 * AUTH_HASH_MAX, encoded "$argon2id$v=19$..."). Slow on purpose (~tens of ms): call it
 * off the core loop. Returns 0, WAIHU_EINVAL (length outside MIN..MAX) or WAIHU_EIO. */
WAIHU_API int auth_password_hash(const char *password, char *out);
/* 0 when password matches encoded, WAIHU_EINVAL otherwise (also for a damaged hash). */
WAIHU_API int auth_password_verify(const char *encoded, const char *password);

/* ---- API tokens: "wh_<id: 24 hex>_<secret: 64 hex>" ---- */
#define AUTH_TOKEN_ID_HEX 24
#define AUTH_TOKEN_LEN (3 + AUTH_TOKEN_ID_HEX + 1 + 64)
/* New random token into out (cap AUTH_TOKEN_LEN + 1); id_hex gets its id (cap
 * AUTH_TOKEN_ID_HEX + 1) and secret_sha256 the hash to store. 0 or WAIHU_EIO. */
WAIHU_API int auth_token_new(char *out, char *id_hex, uint8_t secret_sha256[32]);
/* Splits a presented token; 0 or WAIHU_EINVAL for anything not of the form above. */
WAIHU_API int auth_token_parse(const char *token, char *id_hex, uint8_t secret_sha256[32]);
/* Constant-time comparison of two secret hashes. */
WAIHU_API bool auth_secret_equal(const uint8_t a[32], const uint8_t b[32]);

/* ---- Rate limits: a token bucket per key (e.g. a token id) ---- */
struct auth_ratelimit;
/* rate_per_s requests per second with bursts of burst. NULL on out of memory. */
WAIHU_API struct auth_ratelimit *auth_ratelimit_new(double rate_per_s, double burst);
WAIHU_API void auth_ratelimit_free(struct auth_ratelimit *rl);
/* Takes one request for key at now_ms; false when over the limit (then *retry_ms says
 * when the next one is allowed). Keys idle for a minute are forgotten. */
WAIHU_API bool auth_ratelimit_take(struct auth_ratelimit *rl, const char *key, uint64_t now_ms,
                                   uint64_t *retry_ms);

#endif
