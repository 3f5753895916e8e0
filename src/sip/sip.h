/* SIP signalling engine: sofia-sip nua in one dedicated thread, driven from the core
 * libuv loop by messages. It originates and answers calls, keeps agent registrations
 * (digest auth, per-source rate limits and bans, destination allow-lists) and reports
 * everything as events on the core loop. It carries SDP bodies as opaque strings and
 * knows nothing of media or services (docs/sip.md).
 *
 * Threads: every function here must be called on the core loop thread that created the
 * engine; the event callback runs on that thread too. The process should ignore SIGPIPE
 * (TCP peers may vanish). */
#ifndef WAIHU_SIP_H
#define WAIHU_SIP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common.h"

struct sip_engine;

/* Per-tenant destination prefixes (toll-fraud guard). prefixes is a comma-separated
 * list of digit prefixes; a leading '!' denies ("1,44,!1900"); the longest matching
 * prefix decides; no match denies. Tenant "*" applies to tenants without a line. */
struct sip_dest_rule {
    const char *tenant;
    const char *prefixes;
};

struct sip_engine_config {
    const char *bind_udp;       /* "127.0.0.1:15060", or NULL for no UDP */
    const char *bind_tcp;       /* the same address as bind_udp, or NULL for no TCP */
    const char *realm;          /* digest realm; default "waihu" */
    const char *user_agent;     /* User-Agent/Server value; default none */
    uint32_t register_min_s;    /* clamp of REGISTER expiry; defaults 60 and 3600 */
    uint32_t register_max_s;
    uint32_t nonce_ttl_s;       /* challenge lifetime; default 300 */
    /* Guard against floods and scanners, per source IPv4 address. */
    uint32_t guard_rate_per_s;  /* out-of-dialog requests per second; default 20 */
    uint32_t guard_burst;       /* bucket size; default 40 */
    uint32_t guard_fail_limit;  /* wrong credentials before a ban; default 10 per minute */
    uint32_t guard_ban_ms;      /* ban length; default 600000 */
    const char *guard_exempt;   /* comma-separated IPv4 addresses never limited (trunks) */
    const struct sip_dest_rule *dest_rules; /* NULL: destinations are not checked */
    size_t n_dest_rules;
    /* Longest wait for the final response of a request that gets none (sofia's T1x64,
     * e.g. a BYE to a softphone that died); 0 = the RFC 3261 default 32000. */
    uint32_t transaction_timeout_ms;
};

enum sip_event_type {
    SIP_EV_PROGRESS = 1, /* 1xx on an outgoing call (180, 183; sdp when early media) */
    SIP_EV_ANSWERED,     /* 2xx on an outgoing call; sdp is the answer */
    SIP_EV_FAILED,       /* the call ended before it was answered; status, reason */
    SIP_EV_ENDED,        /* an answered call ended; reason "remote-bye", "local-bye"... */
    SIP_EV_INCOMING,     /* an authenticated, registered agent calls; sdp is its offer */
    SIP_EV_REGISTERED,   /* an agent binding was added, refreshed or removed (expires 0) */
    SIP_EV_REFER,        /* progress of a transfer: status of the REFER or of its NOTIFY */
    SIP_EV_BANNED,       /* a source address was banned (source, reason) */
    SIP_EV_OPTIONS,      /* answer to sip_engine_options_ping: status (0 = not sent), reason,
                            user, target */
};

/* Every call gets exactly one FAILED or ENDED event, after which its id is dead. */
struct sip_event {
    enum sip_event_type type;
    uint64_t call_id;      /* 0 for registration and ban events */
    void *user;            /* as given to sip_call_originate (NULL for incoming) */
    int status;            /* SIP status where there is one */
    const char *reason;    /* phrase or end reason; never NULL */
    const char *sdp;       /* body or NULL */
    const char *agent;     /* INCOMING, REGISTERED: authenticated user name */
    const char *tenant;    /* INCOMING, REGISTERED: tenant of that user, or NULL */
    const char *target;    /* INCOMING: dialled user part; REGISTERED: contact URI;
                              OPTIONS: the request URI pinged */
    const char *source;    /* "ip:port" the request came from, or NULL */
    const char *dialog;    /* the SIP Call-ID of the call once known (for CDRs), or NULL */
    uint32_t expires_s;    /* REGISTERED */
};

/* Strings in ev live until the callback returns. */
typedef void (*sip_event_cb)(struct sip_engine *engine, const struct sip_event *ev, void *data);

/* Starts the SIP thread and binds the sockets. The config is copied. On success *out
 * is set; free with sip_engine_free. Errors: WAIHU_EINVAL (config), WAIHU_EIO (bind or
 * thread start), WAIHU_ENOMEM. */
WAIHU_API int sip_engine_new(uv_loop_t *loop, const struct sip_engine_config *config,
                             sip_event_cb cb, void *data, struct sip_engine **out);

/* Ends every call, stops the thread (blocking while nua shuts down, bounded to ~5 s) and
 * closes the uv handle; the memory is released once the loop runs its close callbacks.
 * No event is delivered after this call. */
WAIHU_API void sip_engine_free(struct sip_engine *engine);

/* Adds or replaces the credential of an agent. Exactly one of ha1_hex (MD5 of
 * "user:realm:password", 32 hex digits) and password is given. tenant may be NULL. */
WAIHU_API int sip_engine_set_credential(struct sip_engine *engine, const char *user,
                                        const char *ha1_hex, const char *password,
                                        const char *tenant);
/* Removes a credential; the agent's binding is dropped as well. */
WAIHU_API int sip_engine_remove_credential(struct sip_engine *engine, const char *user);

/* Tells the registrar that the agent is registered on another node (the cluster's view):
 * from host (an IP address, the REGISTER's source) until until_ms (wall clock), on node
 * (a name for the log). Until then a REGISTER for user from another host is refused with
 * 403 "Already registered elsewhere" (docs/seat-api.md "Duplicate logins"). host NULL
 * clears it. Kept with the user's credential: ignored when there is none, kept when the
 * credential is replaced, gone with it. Strings are copied. Errors: WAIHU_EINVAL,
 * WAIHU_ENOMEM, WAIHU_ESHUTDOWN. */
WAIHU_API int sip_engine_set_elsewhere(struct sip_engine *engine, const char *user,
                                       const char *host, int64_t until_ms, const char *node);
/* Drops the agent's binding, as if it had expired (a REGISTERED event with expires 0
 * follows when there was one): a supervisor logged the agent out. Errors as above. */
WAIHU_API int sip_engine_drop_binding(struct sip_engine *engine, const char *user);

struct sip_originate {
    const char *target;     /* request URI: "sip:+15551234@trunk.example:5060" */
    const char *agent;      /* instead of target: a registered agent's user name */
    const char *proxy;      /* optional route: "sip:10.0.0.1:5060;transport=tcp" */
    const char *from;       /* From URI with the caller ID: "sip:+15550001@waihu" */
    const char *from_display; /* optional display name */
    const char *sdp;        /* offer (required) */
    const char *tenant;     /* checked against dest_rules when given (trunk calls) */
    uint32_t timeout_ms;    /* no answer by then: CANCEL, FAILED 408; 0 = 60000 */
    void *user;             /* echoed in this call's events */
};

/* Sends an INVITE. *call_id identifies the call in events and later calls. Strings are
 * copied. Failures found in the SIP thread (agent not registered: 404; destination not
 * allowed: 403) arrive as FAILED events. Errors: WAIHU_EINVAL, WAIHU_ENOMEM,
 * WAIHU_ESHUTDOWN. */
WAIHU_API int sip_call_originate(struct sip_engine *engine, const struct sip_originate *req,
                                 uint64_t *call_id);

/* Answers an INCOMING call with 200 and an SDP answer (copied). */
WAIHU_API int sip_call_answer(struct sip_engine *engine, uint64_t call_id, const char *sdp);

/* Sends a provisional (180/183, sdp may be NULL) or final failure (300-699) response to
 * an INCOMING call. */
WAIHU_API int sip_call_respond(struct sip_engine *engine, uint64_t call_id, int status,
                               const char *sdp);

/* Ends a call whatever its state: CANCEL while calling, 480 while incoming, BYE when
 * answered. A call already gone is ignored. */
WAIHU_API int sip_call_hangup(struct sip_engine *engine, uint64_t call_id);

/* Blind transfer of an answered call: REFER with Refer-To refer_to (copied). */
WAIHU_API int sip_call_refer(struct sip_engine *engine, uint64_t call_id, const char *refer_to);

/* An out-of-dialog OPTIONS ping (trunk health probes, docs/trunks.md). */
struct sip_options {
    const char *target;    /* "host:port" or a SIP URI ("sip:host:port;transport=tcp") */
    const char *proxy;     /* optional route, "host:port" or a SIP URI, as in sip_originate */
    const char *transport; /* "udp", "tcp", "tls"; NULL = udp (or what the URI says) */
    uint32_t timeout_ms;   /* no final answer by then: status 408; 0 = 4000 */
    void *user;            /* echoed in the event (the dialer's probe record) */
};

/* Sends an OPTIONS to target (strings copied) with From <sip:ping@realm>. Exactly one
 * SIP_EV_OPTIONS event follows (unless the engine is freed first), with call_id 0, user
 * echoed, status = the final status (200, 404, 503...), 408 when nothing came back within
 * timeout_ms, or 0 when sofia could not build the request (its 9xx); transport and DNS
 * errors come as sofia's local 503. reason = the phrase, target = the request URI. Not
 * subject to dest_rules or the guard. Errors: WAIHU_EINVAL, WAIHU_ENOMEM,
 * WAIHU_ESHUTDOWN. Core loop only. */
WAIHU_API int sip_engine_options_ping(struct sip_engine *engine, const struct sip_options *req);

/* Counters of the engine (atomics the SIP thread updates; a snapshot, not a barrier). */
struct sip_engine_stats {
    uint64_t calls_out, calls_in, calls_active;
    uint64_t registers_ok, auth_failures, guard_rejects, bans, illegal_moves;
    uint64_t pings_sent, pings_pending; /* OPTIONS pings: sent, and awaiting their event */
    uint64_t dup_refused; /* REGISTERs refused: the agent is registered from another host */
};
WAIHU_API void sip_engine_stats(struct sip_engine *engine, struct sip_engine_stats *out);

#endif
