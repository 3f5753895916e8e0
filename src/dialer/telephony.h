/* The node's telephony: the SIP engine (registrar for agents), the media engine and the
 * call bridge, started together from waihud's configuration and driven by services on
 * the core loop (docs/telephony.md). It knows nothing of users or customers: the API
 * pushes agent credentials in and takes CDRs out. */
#ifndef WAIHU_DIALER_TELEPHONY_H
#define WAIHU_DIALER_TELEPHONY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "bridge.h"

struct telephony;

struct telephony_config {
    const char *sip_bind;        /* "127.0.0.1:5060" (UDP) */
    const char *media_ip;        /* RTP address; NULL = the SIP address's IP */
    uint16_t rtp_min, rtp_max;   /* even ports in this range */
    unsigned media_workers;      /* 0 = 2 */
    const char *trunk;           /* carrier "host:port" for every call, or: */
    const char *trunks_file;     /* a trunk set (docs/trunks.md JSON): weights, limits,
                                    caller-ID pools, health and failover */
    const char *caller_id;       /* E.164 presented to the carrier */
    const char *record_dir;      /* NULL: calls are not recorded */
    uint8_t record_key[MEDIA_REC_KEY_BYTES];
    uint32_t carrier_timeout_ms; /* 0 = 30000 */
    uint32_t rtp_timeout_ms;     /* 0 = 10000 */
    int amd;                     /* screen answers for machines before the agent */
};

/* Binds the SIP socket and starts the engines. errmsg (cap 256) says why on error. */
int telephony_start(uv_loop_t *loop, const struct telephony_config *cfg, struct telephony **out,
                    char *errmsg);
/* Ends every call (no CDRs for them) and stops the engines. NULL is allowed. */
void telephony_stop(struct telephony *t);

/* Where CDRs go (one per call placed with telephony_dial). */
void telephony_on_cdr(struct telephony *t, bridge_cdr_cb cb, void *data);

/* Agent registrations as the SIP engine reports them (bound: registered or refreshed;
 * else unregistered, expired or credential removed), on the core loop. NULL cb: none.
 * source_host: the IP the REGISTER came from ("" when unknown); expires_s: the lifetime
 * granted (0 when not bound). */
typedef void (*telephony_registration_cb)(void *data, const char *user, bool bound,
                                          const char *source_host, uint32_t expires_s);
void telephony_on_registration(struct telephony *t, telephony_registration_cb cb, void *data);
/* Progress of calls placed with telephony_dial: state is the bridge's ("dialing",
 * "screening", "agent-ringing", "bridged", "ending"), on the core loop. */
typedef void (*telephony_call_state_cb)(void *data, uint64_t call_id, const char *state);
void telephony_on_call_state(struct telephony *t, telephony_call_state_cb cb, void *data);

/* Agents allowed to register: HA1 = MD5(user:waihu:password) in hex. */
int telephony_set_agent(struct telephony *t, const char *user, const char *ha1_hex,
                        const char *tenant);
int telephony_remove_agent(struct telephony *t, const char *user);
/* Whether the agent's softphone is registered here, as the SIP engine last reported it
 * (REGISTERED events: bound, refreshed, expired, unregistered, credential removed). */
bool telephony_agent_registered(struct telephony *t, const char *user);
/* The cluster's view of an agent registered on another node (sip_engine_set_elsewhere):
 * REGISTERs from another host than host are refused until until_ms (wall clock). host
 * NULL: not registered elsewhere. Strings are copied. */
int telephony_set_elsewhere(struct telephony *t, const char *user, const char *host,
                            int64_t until_ms, const char *node);
/* Drops the agent's registration here (a supervisor logged it out); the registration
 * callback reports it unbound. */
int telephony_drop_registration(struct telephony *t, const char *user);

/* The agent of a call dialed without one (predictive dialing) is chosen by pick, on the
 * core loop, when a live answer is on the line (after AMD when it is on): it returns the
 * user name of a free registered agent (copied at once) or NULL when none is free, and the
 * call is then abandoned (the carrier is hung up, after the abandon message when the dial
 * has one; CDR abandoned/no-agent). pick is asked a second time for the same call_id only
 * when the agent it gave could not be reached within 2 s of the answer (that agent was not
 * bridged). IVR calls ask it when the transfer digit comes, not at the answer (the 2 s
 * then count from the digit). pick may hang calls up or dial, never stop telephony. pick
 * NULL removes the picker: dials without an agent fail from then on (but IVR calls without
 * a transfer digit), and such calls already placed are abandoned when answered.
 * docs/bridge.md "Agent chosen at answer" and "Prompts". */
void telephony_set_agent_picker(struct telephony *t, const char *(*pick)(uint64_t call_id,
                                                                          void *data),
                                void *data);

/* Calls e164 through the trunk and bridges the answer to the agent's softphone; agent NULL:
 * to the agent the picker chooses at answer (WAIHU_EINVAL without a picker). tenant is
 * checked against destination rules when they are configured. *call_id names the call in
 * its CDR and in the picker. */
int telephony_dial(struct telephony *t, const char *e164, const char *agent, const char *tenant,
                   uint64_t *call_id);
/* telephony_dial with the call's prompts (struct bridge_prompts, docs/bridge.md "Prompts"):
 * an IVR / voice-broadcast prompt with its transfer digit (the agent is then the dial's,
 * or the picker's when the digit comes), a message left on machines, and the message a
 * live answer hears when no agent is free (the abandon message). prompts NULL or zeroed:
 * telephony_dial. An IVR call without a transfer digit needs neither agent nor picker.
 * Strings are copied. Errors as bridge_dial. */
int telephony_dial_prompts(struct telephony *t, const char *e164, const char *agent,
                           const char *tenant, const struct bridge_prompts *prompts,
                           uint64_t *call_id);
int telephony_hangup(struct telephony *t, uint64_t call_id);

/* New calls the node's trunks could take now (free channels within CPS budgets), or
 * UINT32_MAX with a single trunk target (no limits known). The dialer paces by it. */
uint32_t telephony_headroom(struct telephony *t);

struct bridge_stats;
void telephony_stats(struct telephony *t, struct bridge_stats *out);

/* Read-only figures for /metrics, on the core loop. CDRs delivered since start by result:
 * slot i counts bridge_cdr.result telephony_result_name(i) ("answered", "no-answer", ...,
 * "error"; the last slot, "other", a result this list does not know). */
#define TELEPHONY_RESULT_COUNT 14
const char *telephony_result_name(size_t i);
void telephony_result_counts(const struct telephony *t, uint64_t out[TELEPHONY_RESULT_COUNT]);
/* The SIP engine's counters (registrations, bans, refused duplicates...). */
void telephony_sip_stats(struct telephony *t, struct sip_engine_stats *out);
/* The trunk set calls are routed over (read it with trunk_set_info), or NULL when every
 * call goes to one target (telephony.trunk). Valid until telephony_stop. */
struct trunk_set;
const struct trunk_set *telephony_trunks(const struct telephony *t);

#endif
