/* Waihu dialer trunks: which carrier trunk takes the next call, and whether a
 * trunk is healthy enough to take calls at all (issue 4, docs/trunks.md).
 *
 * A pure module: no I/O, no clock of its own, no globals, no randomness. Time
 * comes in as now_ms (the caller's monotonic clock, virtual in tests); every
 * result is a deterministic function of the configuration and the calls made,
 * in order. The live dialer drives it from the core loop; tests and the
 * simulation drive it with virtual time. A set must not be shared between
 * threads.
 *
 * The caller's side of the contract, per call:
 *   trunk_pick()            -> a trunk (one channel reserved) and a caller ID
 *   ... INVITE through that trunk ...
 *   trunk_report()          when the INVITE gets its final answer (or none)
 *   trunk_release()         when the call has ended (channel freed)
 *   on a carrier failure    trunk_pick() again with the tried trunks excluded
 * and, for health, every few hundred ms:
 *   trunk_probe_next()      -> an OPTIONS ping to send, if one is due
 *   trunk_probe_result()    when its answer (or timeout) arrives
 */
#ifndef WAIHU_TRUNK_H
#define WAIHU_TRUNK_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define TRUNK_MAX 64          /* trunks per set (exclusion masks are 64 bits) */
#define TRUNK_NAME_MAX 64     /* bytes, with the NUL */
#define TRUNK_ADDR_MAX 256    /* target and proxy, with the NUL */
#define TRUNK_NUMBER_MAX 17   /* "+" and up to 15 E.164 digits, with the NUL */
#define TRUNK_CALLER_IDS_MAX 256
#define TRUNK_WEIGHT_MAX 1000
#define TRUNK_CPS_MAX 10000
#define TRUNK_CHANNELS_MAX 100000
#define TRUNK_WINDOW_MAX 1000 /* outcomes kept per trunk for the rolling window */

/* ---------------------------------------------------------------------------
 * Health thresholds (one set-wide table; docs/trunks.md explains each).
 * ------------------------------------------------------------------------- */

struct trunk_health_config {
    /* Out of rotation when any rule trips (state UP or PROBATION). */
    uint32_t down_consecutive;   /* consecutive carrier failures (5) */
    uint32_t window_calls;       /* rolling window, in outcomes (100) */
    uint32_t window_min_calls;   /* window outcomes needed by the ratio rules (20) */
    double down_fail_ratio;      /* carrier failures / outcomes in the window (0.3) */
    double asr_drop_ratio;       /* window ASR below this x baseline ASR (0.5) ... */
    uint32_t asr_min_calls;      /* ... over at least this many outcomes (50) ... */
    uint32_t asr_baseline_min;   /* ... once the baseline has seen this many (200) */
    uint32_t asr_baseline_calls; /* half-life of the baseline ASR, in outcomes (2000) */
    uint32_t asr_settle_ms;      /* ASR rule idle this long after (re)entering rotation:
                                    quick failures arrive before answers (60000) */
    /* While out: OPTIONS pings, and a hold-down that doubles on flapping. */
    uint32_t probe_interval_ms;  /* between pings while out (5000) */
    uint32_t probe_timeout_ms;   /* a ping without an answer by then failed (4000) */
    uint32_t up_probes;          /* consecutive ping successes to come back (3) */
    uint32_t hold_ms;            /* minimum time out of rotation (30000) ... */
    uint32_t hold_max_ms;        /* ... doubling per relapse up to this (600000) */
    uint32_t stable_ms;          /* up this long without relapse resets the doubling (600000) */
    /* After coming back: a probation that sends it out again quickly. */
    uint32_t probation_calls;    /* outcomes to pass probation (20) */
    uint32_t probation_fail_limit; /* carrier failures during probation that fail it (2) */
    /* While in rotation: keep-alive pings (0 = none) to notice a dead idle trunk. */
    uint32_t keepalive_interval_ms; /* (30000) */
    uint32_t keepalive_fail_limit;  /* consecutive failed keep-alives to go out (3) */
};

/* Fills cfg with the defaults named above. */
WAIHU_API void trunk_health_default(struct trunk_health_config *cfg);
/* Checks ranges; on error writes "health.<field>: why" into err. Returns 0 or
 * WAIHU_EINVAL. err may be NULL. */
WAIHU_API int trunk_health_check(const struct trunk_health_config *cfg, char *err, size_t err_len);

/* ---------------------------------------------------------------------------
 * Trunks and sets
 * ------------------------------------------------------------------------- */

enum trunk_transport { TRUNK_UDP = 0, TRUNK_TCP, TRUNK_TLS };

/* What an operator configures for one trunk. Strings are copied in. */
struct trunk_config {
    const char *name;         /* unique in the set: [A-Za-z0-9_.-], 1..63 bytes */
    const char *target;       /* "host:port" (IPv4, [IPv6] or DNS name; port 1..65535) */
    enum trunk_transport transport;
    const char *proxy;        /* optional outbound proxy "host:port", or NULL */
    uint32_t weight;          /* share of calls inside its priority group, 1..1000 */
    uint32_t channels;        /* concurrent calls allowed by the carrier, 1..100000 */
    uint32_t cps;             /* new calls per second allowed, 1..10000 */
    const char *const *caller_ids; /* verified numbers, E.164 "+<7..15 digits>" */
    size_t n_caller_ids;      /* 1..TRUNK_CALLER_IDS_MAX */
    double cost_per_min;      /* >= 0; reported, not used by pick (use priority) */
    uint32_t priority;        /* lower first; a VoIP backup gets a higher number */
};

enum trunk_state {
    TRUNK_UP = 0,       /* in rotation */
    TRUNK_DOWN,         /* out of rotation, probed */
    TRUNK_PROBATION,    /* back in rotation, watched closely */
};

/* Why a trunk was taken out (or why pick found nothing). */
enum trunk_reason {
    TRUNK_WHY_NONE = 0,
    TRUNK_WHY_CONSECUTIVE,  /* down_consecutive carrier failures in a row */
    TRUNK_WHY_FAIL_RATIO,   /* carrier failures over the rolling window */
    TRUNK_WHY_ASR,          /* ASR fell below its baseline while peers' did not */
    TRUNK_WHY_PROBATION,    /* failed again while on probation */
    TRUNK_WHY_KEEPALIVE,    /* keep-alive pings failed */
};

/* Static names ("up", "down", "probation"; "none", "consecutive", "fail-ratio", "asr",
 * "probation", "keepalive") for logs and status pages; never NULL. */
WAIHU_API const char *trunk_state_str(enum trunk_state state);
WAIHU_API const char *trunk_reason_str(enum trunk_reason reason);

/* Read-only view of a trunk (for status pages, CDRs and tests). Strings live as
 * long as the set. */
struct trunk_info {
    const char *name, *target, *proxy;
    enum trunk_transport transport;
    uint32_t weight, channels, cps, priority;
    double cost_per_min;
    size_t n_caller_ids;
    enum trunk_state state;
    enum trunk_reason reason;  /* last reason it went out */
    uint32_t in_use;           /* channels reserved by this node */
    uint32_t share;            /* channels this node may use (cluster lease) */
    uint32_t cps_share;        /* calls per second this node may start */
    double asr_window, asr_baseline; /* answered / outcomes; baseline < 0 = not learnt */
    uint32_t window_n, window_carrier; /* outcomes and carrier failures in the window */
    uint64_t picks, answered, normal, carrier; /* counters since the set was built */
    uint32_t downs;            /* times taken out of rotation */
    int64_t down_since_ms;     /* when it last went out */
};

struct trunk_set;

/* Builds an empty set (no trunks) with health cfg (NULL: defaults). Free with
 * trunk_set_free. Returns 0, WAIHU_EINVAL (bad cfg; message in err) or
 * WAIHU_ENOMEM. */
WAIHU_API int trunk_set_new(const struct trunk_health_config *cfg, struct trunk_set **out,
                            char *err, size_t err_len);
WAIHU_API void trunk_set_free(struct trunk_set *set);

/* Adds a trunk (copied); *index is its index in the set (order of addition).
 * On a bad field writes "<name>.<field>: why" into err and returns WAIHU_EINVAL;
 * WAIHU_ETOOBIG past TRUNK_MAX trunks; WAIHU_ENOMEM. index may be NULL. */
WAIHU_API int trunk_set_add(struct trunk_set *set, const struct trunk_config *tc,
                            uint32_t *index, char *err, size_t err_len);

/* Builds a set from a JSON document (the caller read the file):
 *   {"health": {...optional trunk_health_config fields...},
 *    "trunks": [{"name": "ct-a", "target": "127.0.0.1:5060", "transport": "udp",
 *                "proxy": "10.0.0.1:5060", "weight": 3, "channels": 100, "cps": 30,
 *                "caller_ids": ["+861012345678"], "cost_per_min": 0.012,
 *                "priority": 0}]}
 * transport (udp|tcp|tls, default udp), proxy, weight (1), cost_per_min (0) and
 * priority (0) are optional; unknown fields are errors (typos must not pass).
 * On error returns WAIHU_EINVAL with a message naming the field, e.g.
 * "trunks[1].weight: must be an integer in 1..1000" or "line 3 column 9: ..."
 * for malformed JSON. Free *out with trunk_set_free. */
WAIHU_API int trunk_set_from_json(const char *json, struct trunk_set **out, char *err,
                                  size_t err_len);

WAIHU_API size_t trunk_set_count(const struct trunk_set *set);
/* Index of the trunk with that name, or WAIHU_ENOTFOUND. */
WAIHU_API int trunk_set_find(const struct trunk_set *set, const char *name, uint32_t *index);
/* Fills out for trunk index at now_ms; WAIHU_EINVAL for a bad index. */
WAIHU_API int trunk_set_info(const struct trunk_set *set, uint32_t index, int64_t now_ms,
                             struct trunk_info *out);
/* Copies the set's health thresholds into out (the bridge sizes its OPTIONS timeout by
 * probe_timeout_ms). */
WAIHU_API void trunk_set_health(const struct trunk_set *set, struct trunk_health_config *out);
/* State moves the table refused (a bug if not 0; tests assert it). */
WAIHU_API uint64_t trunk_set_illegal_moves(const struct trunk_set *set);

/* ---------------------------------------------------------------------------
 * Picking a trunk for a call
 * ------------------------------------------------------------------------- */

struct trunk_pick_request {
    const char *destination; /* E.164 number dialled ("+8610..."); picks the caller ID */
    uint64_t exclude;        /* bit i set: trunk i was already tried for this call */
};

struct trunk_pick_result {
    uint32_t trunk;          /* index of the chosen trunk */
    const char *caller_id;   /* from the trunk's pool; lives as long as the set */
    enum trunk_why_none {
        TRUNK_NONE_OK = 0,   /* a trunk was picked */
        TRUNK_NONE_DOWN,     /* no trunk left that is in rotation and not excluded */
        TRUNK_NONE_CHANNELS, /* those in rotation have no free channel */
        TRUNK_NONE_CPS,      /* those with channels have spent their CPS budget */
    } why;
    int64_t retry_at_ms;     /* TRUNK_NONE_CPS: earliest time a slot frees */
};

/* Picks a trunk: the lowest priority number that has a trunk in rotation, not
 * excluded, with a free channel and CPS budget left at now_ms; inside that group
 * smooth weighted round-robin. Reserves one channel (give it back with
 * trunk_release) and counts the call against the CPS budget. The caller ID is
 * the pool's number sharing the longest prefix with the destination (at least
 * the country and area code, 4 digits), rotating among ties; otherwise the pool
 * rotates. Returns 0, WAIHU_EUNAVAILABLE (out->why says why) or WAIHU_EINVAL. */
WAIHU_API int trunk_pick(struct trunk_set *set, int64_t now_ms,
                         const struct trunk_pick_request *req, struct trunk_pick_result *out);

/* Frees the channel reserved by trunk_pick once the call has ended. */
WAIHU_API void trunk_release(struct trunk_set *set, uint32_t index);

/* New calls the set could start at now_ms (free channels within CPS budget, over
 * the trunks in rotation): the trunk part of pacing's max_launch. */
WAIHU_API uint32_t trunk_set_headroom(const struct trunk_set *set, int64_t now_ms);

/* SIP URIs for sip_originate: the request URI "sip:<number>@<target>" (with
 * ";transport=tcp|tls" unless UDP) and the proxy's URI "sip:<proxy>[;transport=..]"
 * (the engine turns it into "Route: <...;lr>"; WAIHU_ENOTFOUND when the trunk has
 * none). number must be "+" and digits only
 * (nothing else ever reaches the URI). Return 0, WAIHU_EINVAL or WAIHU_ETOOBIG
 * (buffer too small). */
WAIHU_API int trunk_request_uri(const struct trunk_set *set, uint32_t index, const char *number,
                                char *buf, size_t len);
WAIHU_API int trunk_proxy_uri(const struct trunk_set *set, uint32_t index, char *buf, size_t len);

/* ---------------------------------------------------------------------------
 * Health
 * ------------------------------------------------------------------------- */

enum trunk_outcome {
    TRUNK_OUT_ANSWERED = 0, /* 2xx */
    TRUNK_OUT_NORMAL,       /* the callee's answer (486, 404, 480, 487, 603, 408 after 1xx...) */
    TRUNK_OUT_CARRIER,      /* the carrier's fault (5xx, 408 without 1xx, transport error) */
};

/* Classifies a final SIP status: 2xx answered; 5xx, a status <= 0 (transport
 * error, no answer at all) and 408 without any provisional response count
 * against the trunk; other 4xx/6xx (486, 404, 480, 487, 603, 408 after ringing)
 * are normal. */
WAIHU_API enum trunk_outcome trunk_outcome_from_sip(int status, int had_provisional);

/* Reports at now_ms the outcome of an INVITE that trunk_pick gave trunk index
 * at picked_ms. May take the trunk out of rotation (calls in flight on it go
 * on). picked_ms orders outcomes by launch: a late answer to an older call
 * does not break a run of carrier failures, and calls launched before the
 * trunk came back say nothing about it now. */
WAIHU_API void trunk_report(struct trunk_set *set, uint32_t index, int64_t picked_ms,
                            int64_t now_ms, enum trunk_outcome outcome);

/* An OPTIONS ping to send now. */
struct trunk_probe {
    uint32_t trunk;
    uint64_t cookie;   /* give back to trunk_probe_result */
    const char *target, *proxy; /* live as long as the set; proxy may be NULL */
    enum trunk_transport transport;
};

/* Returns 1 and fills out when a ping is due at now_ms (one at a time: call it
 * until it returns 0), else 0. A ping still unanswered after probe_timeout_ms
 * counts as failed. */
WAIHU_API int trunk_probe_next(struct trunk_set *set, int64_t now_ms, struct trunk_probe *out);

/* Result of the ping with that cookie (ok: any final response from the far end
 * that shows it processes requests, i.e. 2xx, 4xx other than 408; not 5xx or
 * timeouts). Unknown or stale cookies are ignored. */
WAIHU_API void trunk_probe_result(struct trunk_set *set, uint64_t cookie, int64_t now_ms, int ok);

/* Classifies an OPTIONS final status for trunk_probe_result. */
WAIHU_API int trunk_probe_ok_from_sip(int status);

/* ---------------------------------------------------------------------------
 * Cluster-wide channel limits (pure part; docs/trunks.md "Leases")
 *
 * Each node holds a lease on a share of a trunk's channels, granted by a
 * replicated command with a leader-stamped expiry. A lease is live at now_ms if
 * now_ms < expires_ms; the FSM may regrant an expired lease's channels only
 * after expires_ms + drift margin, and a node stops using its share margin
 * before its own expiry, so the shares in use never sum above the limit.
 * ------------------------------------------------------------------------- */

struct trunk_lease {
    uint32_t node_id;
    uint32_t channels;    /* share granted */
    uint32_t want;        /* channels the node asked for at its last proposal */
    int64_t expires_ms;   /* leader-stamped */
};

/* Channels the FSM must treat as held: sum over leases not expired by
 * now_ms - margin_ms (an expired lease holds until the drift margin passed). */
WAIHU_API uint64_t trunk_lease_held(const struct trunk_lease *leases, size_t n, int64_t now_ms,
                                    uint32_t margin_ms);

/* Channels node_id may use at now_ms (its node clock): its lease's channels if
 * it is live at now_ms + margin_ms, else 0; never more than limit. */
WAIHU_API uint32_t trunk_lease_share(uint32_t limit, const struct trunk_lease *leases, size_t n,
                                     uint32_t node_id, int64_t now_ms, uint32_t margin_ms);

/* Proposes node_id's next share given its channels in use and its demand
 * (channels it wants now: in use plus the calls pacing wants to start). Grows
 * into free channels, up to a fair share (water-filling on the nodes' "want")
 * when channels are scarce; shrinks when it holds more than it wants plus
 * slack; never below in_use. *want_out is published with the lease so that
 * peers see the contention. Pure: the FSM still checks with
 * trunk_lease_check. */
WAIHU_API uint32_t trunk_lease_propose(uint32_t limit, const struct trunk_lease *leases, size_t n,
                                       uint32_t node_id, int64_t now_ms, uint32_t margin_ms,
                                       uint32_t in_use, uint32_t demand, uint32_t *want_out);

/* The FSM's check (leader-stamped now_ms): may node_id's lease become channels?
 * 0 if the held channels of the other nodes plus channels stay within limit,
 * else WAIHU_ECONFLICT. */
WAIHU_API int trunk_lease_check(uint32_t limit, const struct trunk_lease *leases, size_t n,
                                uint32_t node_id, int64_t now_ms, uint32_t margin_ms,
                                uint32_t channels);

/* What the FSM grants for a proposal (leader-stamped now_ms): requested, cut
 * down to what the other nodes' held channels leave. Never less than the
 * node's current live lease when it asks for at least that much, so a renewal
 * cannot shrink a share under the calls it carries. Deterministic. */
WAIHU_API uint32_t trunk_lease_grant(uint32_t limit, const struct trunk_lease *leases, size_t n,
                                     uint32_t node_id, int64_t now_ms, uint32_t margin_ms,
                                     uint32_t requested);

/* Applies this node's share (from trunk_lease_share) to trunk index: picks stop
 * at that many channels, and the CPS budget scales to cps * share / channels. */
WAIHU_API void trunk_set_share(struct trunk_set *set, uint32_t index, uint32_t channels);

#endif
