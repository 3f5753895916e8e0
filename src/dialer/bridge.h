/* The call bridge of the dialer (a B2BUA): places the carrier leg through a trunk target
 * (or through a trunk set: pick, caller ID, failover to the next trunk, OPTIONS probes),
 * optionally screens the answer with answering-machine detection, calls the agent's
 * registered softphone, anchors both legs' RTP in one media session (relay, stereo
 * recording: carrier left, agent right; DTMF), ends the other leg when one side hangs up
 * or its RTP stops, and reports one CDR per call once every SIP leg and the media session
 * are gone. Per call, prompts into the carrier leg: an IVR / voice-broadcast prompt with a
 * transfer digit, a message left on machines, the abandon message of a live answer without
 * an agent. docs/bridge.md.
 *
 * Threads: every function here, and both callbacks, run on the core loop thread that owns
 * the SIP and media engines. The host forwards every SIP and media event to
 * bridge_on_sip_event / bridge_on_media_event. */
#ifndef WAIHU_DIALER_BRIDGE_H
#define WAIHU_DIALER_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common.h"
#include "media.h"
#include "sip.h"

struct bridge;
struct trunk_set; /* trunk.h */

/* Who ended an answered call. */
enum bridge_party {
    BRIDGE_BY_NONE = 0, /* never answered, or the bridge gave up (errors) */
    BRIDGE_BY_CARRIER,  /* the carrier leg sent BYE, or its RTP stopped */
    BRIDGE_BY_AGENT,    /* the agent leg sent BYE, or its RTP stopped */
    BRIDGE_BY_LOCAL,    /* bridge_hangup, AMD (machine), or an answer we cannot use */
};

/* One record per call, delivered once; strings live until the callback returns.
 *   result:     answered (bridged to the agent) | no-answer (408/480) | busy (486/600)
 *               | unreachable (404/484/604) | not-allowed (403) | carrier-failure (other,
 *               e.g. 503) | cancelled (bridge_hangup before answer) | machine (AMD)
 *               | agent-unavailable (agent leg failed: not registered, no answer, busy)
 *               | abandoned (agent picked at answer: none free, or the picked agent's leg
 *               failed; the live carrier leg was hung up)
 *               | dropped (the carrier answered but a leg ended before the agent joined)
 *               | played (IVR: a live answer heard the prompt, fully or not, and no agent
 *               was bridged) | error (bad SDP, media failure, IVR prompt unplayable)
 *               With a prompt: "machine" when AMD said so (see prompt.state for a message
 *               left); "abandoned" also while and after the abandon message plays.
 *   end_reason: remote-bye | local-bye | terminated (a leg's dialog ended) | local-hangup
 *               | rtp-timeout | amd-machine | agent-failed | no-agent | carrier-failed
 *               | sdp-error | media-error | prompt-end (the IVR prompt and its digit window
 *               ended) | prompt-error (the IVR prompt could not be played)
 *               An abandoned call keeps its reason (no-agent, agent-failed) whoever ends it
 *               during the abandon message.
 *   status:     SIP status of the failing leg (carrier or agent), 200 once answered.
 *   agent:      the agent named at dial time; for a call whose agent was picked at answer,
 *               the agent it was bridged to, or "" when none was. */
/* What became of one prompt of a call (docs/bridge.md "Prompts"). */
struct bridge_cdr_prompt {
    const char *state;   /* "none" (not played: not due, or the call ended first),
                            "complete" (played to its end), "partial" (cut: a digit, a hang-up,
                            the call ended), "error" (the file could not be played) */
    uint32_t start_ms;   /* carrier answer to the first packet of the prompt (as the bridge
                            learns it); the 2-second rule for the abandon message */
    uint32_t played_ms;  /* prompt audio sent */
};

struct bridge_cdr {
    uint64_t id;
    const char *number, *trunk_target, *agent;
    /* Trunk routing (bridge_config.trunks): the last trunk tried and every trunk tried, in
     * order ("a,b"), the caller ID used and the number of carrier attempts; NULL/""/0 when
     * the dial named its target. */
    const char *trunk, *trunks_tried, *caller_id;
    uint32_t attempts;
    const char *result, *end_reason;
    enum bridge_party hangup_by;
    int status;
    const char *carrier_dialog, *agent_dialog; /* SIP Call-IDs or NULL */
    int64_t start_wall_ms;                     /* bridge_dial time */
    uint32_t ring_ms;                          /* dial to carrier answer (or to failure) */
    uint32_t agent_ring_ms;                    /* agent INVITE to its answer */
    uint32_t answer_to_agent_ms;               /* carrier answer to the (last) agent INVITE
                                                  sent; 0 when none was (the 2-second rule) */
    uint32_t talk_ms;                          /* bridged to end */
    uint32_t duration_ms;                      /* dial to end */
    const char *amd;                           /* "off", "human", "machine", "undecided" */
    const char *amd_reason;                    /* media_amd_reason_name, or "" */
    const char *digits;                        /* DTMF digits received from the carrier leg */
    /* Prompts (bridge_dial.prompts): the IVR / voice-broadcast prompt, the abandon message,
     * the first digit the carrier leg pressed while the IVR prompt or its window ran (0:
     * none), and whether the transfer digit brought an agent who answered (1). */
    struct bridge_cdr_prompt prompt, abandon_prompt;
    char ivr_digit;
    int transferred;
    const char *recording;                     /* path, or NULL when not recorded */
    int recording_err;                         /* 0 or the writer's error */
    uint64_t recording_frames;
    uint64_t recording_bytes;                  /* size of the sealed file (0: unknown) */
    const uint8_t *recording_sha256;           /* its SHA-256 (32 bytes) as written, or NULL */
    int64_t end_wall_ms;                       /* start_wall_ms + duration_ms */
    struct media_leg_stats carrier_rtp, agent_rtp;
};

typedef void (*bridge_cdr_cb)(struct bridge *b, const struct bridge_cdr *cdr, void *data);

/* Progress of a call, for live views and tests (optional). */
enum bridge_event_type {
    BRIDGE_EV_STATE = 1, /* state changed; state names the new one */
    BRIDGE_EV_DTMF,      /* a digit ended on a leg (RFC 4733 or in-band) */
    BRIDGE_EV_AMD,       /* detection decided; detail "human"/"machine" */
    BRIDGE_EV_TRUNK,     /* a trunk of the set changed state (id 0): trunk, state ("up",
                            "down", "probation"), detail = trunk_reason_str of the last out */
    BRIDGE_EV_PROMPT,    /* a prompt (prompt: "ivr" or "abandon") started or ended: detail
                            "started", "complete", "partial", "error" */
};

struct bridge_event {
    enum bridge_event_type type;
    uint64_t id;
    const char *state;  /* "dialing", "screening", "prompting", "agent-ringing", "bridged",
                           "announcing" (the abandon message plays), "ending" */
    char digit;
    enum bridge_party party; /* DTMF: which leg */
    const char *detail;
    const char *trunk;  /* TRUNK: its name */
    const char *prompt; /* PROMPT: which one */
};

typedef void (*bridge_event_cb)(struct bridge *b, const struct bridge_event *ev, void *data);

struct bridge_config {
    const char *media_ip;         /* address in our SDP; NULL = "127.0.0.1" */
    const char *from;             /* From URI toward carriers: "sip:+15550000@waihu" */
    const char *agent_from;       /* From URI toward agents; NULL = from */
    uint32_t carrier_timeout_ms;  /* ring time before CANCEL; 0 = 30000 */
    uint32_t agent_timeout_ms;    /* agent ring time; 0 = 15000 */
    uint32_t rtp_timeout_ms;      /* no RTP from an answered leg for this long ends the call;
                                     0 = 10000; UINT32_MAX = never */
    int amd;                      /* 1: run AMD on the carrier leg before calling the agent */
    int inband_dtmf;              /* also detect in-band DTMF */
    const char *record_dir;       /* NULL: no recording; else <dir>/call-<id>.wrec */
    uint8_t record_key[MEDIA_REC_KEY_BYTES];
    bridge_event_cb event_cb;     /* optional */
    /* Optional trunk set (not owned; it outlives the bridge and is used only from the core
     * loop while the bridge lives): dials without a target pick a trunk here, and trunks
     * out of rotation are probed with OPTIONS (docs/bridge.md "Trunks"). */
    struct trunk_set *trunks;
    uint32_t max_attempts;        /* carrier attempts per call over the set; 0 = 3 */
    /* Optional: chooses the agent of a dial without one (predictive dialing), on the core
     * loop, when its carrier leg is answered and usable (AMD said human or could not
     * decide; at once when AMD is off). Returns a registered agent's user name (copied
     * before the bridge goes on; at most 63 bytes) or NULL when no agent is free: the call
     * is then abandoned (BYE to the carrier, CDR abandoned/no-agent). It is called a second
     * time for the same call_id only when the agent it returned could not be reached (not
     * registered, busy, no answer) less than BRIDGE_PICK_WINDOW_MS after the carrier's
     * answer: that agent was not bridged. It may call bridge_hangup and bridge_dial, never
     * bridge_free. docs/bridge.md "Agent chosen at answer". */
    const char *(*pick_agent)(struct bridge *b, uint64_t call_id, void *data);
    void *pick_data;
};

/* A live answer gets an agent INVITE within this time or is abandoned: the picker is not
 * asked again after it (docs/bridge.md "Agent chosen at answer"). */
#define BRIDGE_PICK_WINDOW_MS 2000

/* Creates a bridge on loop driving sip and media (not owned: free them after the bridge).
 * config is copied. cdr_cb is required. Errors: WAIHU_EINVAL, WAIHU_ENOMEM. */
WAIHU_API int bridge_new(uv_loop_t *loop, struct sip_engine *sip, struct media_engine *media,
                         const struct bridge_config *config, bridge_cdr_cb cdr_cb, void *data,
                         struct bridge **out);

/* Hangs up the live legs and closes the media of every call still pending, frees those
 * calls without CDRs, and frees the bridge. Call it before freeing the engines, and stop
 * forwarding their events to the bridge from then on. */
WAIHU_API void bridge_free(struct bridge *b);

/* Prompts of one call (docs/bridge.md "Prompts"): 8000 Hz mono 16-bit PCM WAV files,
 * read once per path by the media engine (from bridge_dial on, off the core loop).
 *  - prompt_path: an IVR / voice-broadcast call. A live answer (AMD said human, or AMD is
 *    off) hears the prompt instead of an agent. When transfer_digit is pressed on the carrier
 *    leg (RFC 4733; in-band too with config.inband_dtmf) during the prompt or within
 *    transfer_window_ms after it, the prompt stops and the call goes to the dial's agent,
 *    or to the one config.pick_agent gives, as a predictive call does at answer (2 s from
 *    the digit to replace an unreachable agent; none free: abandoned). Otherwise the call
 *    hangs up when the prompt and the window end (result "played", end_reason
 *    "prompt-end").
 *  - prompt_on_machine: AMD said machine: the prompt is played once the greeting has been
 *    followed by 1 s of silence (the beep passed; at most 30 s of waiting) to leave it as a
 *    message, then the call hangs up (result "machine"); 0: hung up at once, as without
 *    a prompt.
 *  - abandon_prompt_path: any call with a live answer and no agent for it (picker found
 *    none, or the picked agent failed after the window) hears this message before the
 *    hang-up, instead of silence. The CDR still says abandoned. */
struct bridge_prompts {
    const char *prompt_path;         /* NULL: not an IVR call */
    char transfer_digit;             /* '0'-'9', '*', '#', 'A'-'D'; 0: no transfer */
    uint32_t transfer_window_ms;     /* after the prompt; 0 = 3000 */
    int prompt_on_machine;
    const char *abandon_prompt_path; /* NULL: abandon in silence */
};

struct bridge_dial {
    const char *number;       /* E.164 or digits, for the CDR; "+digits" when routed */
    const char *trunk_target; /* request URI toward the carrier: "sip:1001@10.0.0.1:5060";
                                 NULL: route through config.trunks */
    const char *proxy;        /* optional outbound proxy of the trunk (with trunk_target) */
    const char *agent;        /* registered agent user name to bridge to; NULL: chosen by
                                 config.pick_agent when the carrier answers */
    const char *from;         /* caller ID URI for this call; NULL = the trunk's caller-ID
                                 pool (in config from's domain) or config from */
    const char *tenant;       /* checked against the SIP engine's allow-lists when given */
    struct bridge_prompts prompts; /* zeroed: no prompt */
};

/* Starts a call: opens a media session, INVITEs the carrier (through a trunk picked from
 * config.trunks when req has no target; when every trunk that could take it is at its CPS
 * limit the call waits for the budget, so pace new calls by trunk_set_headroom). *id names
 * it in events, the CDR and bridge_hangup. Strings are copied; prompt files start loading.
 * Errors: WAIHU_EINVAL (also no agent without config.pick_agent, unless an IVR call
 * without transfer_digit; a bad transfer_digit; a path over 511 bytes), WAIHU_ENOMEM,
 * WAIHU_ENOSPACE (no RTP port), WAIHU_EUNAVAILABLE (no trunk in rotation with a free
 * channel), WAIHU_ESHUTDOWN; no CDR follows an error. */
WAIHU_API int bridge_dial(struct bridge *b, const struct bridge_dial *req, uint64_t *id);

/* Ends a call in any state (CANCEL or BYE on its live legs). Returns 0 or
 * WAIHU_ENOTFOUND (unknown or already ending). */
WAIHU_API int bridge_hangup(struct bridge *b, uint64_t id);

/* Returns 1 when the event belonged to a bridge call or to one of its OPTIONS probes (and
 * was handled), 0 otherwise (the host decides what to do with incoming calls,
 * registrations and bans). */
WAIHU_API int bridge_on_sip_event(struct bridge *b, const struct sip_event *ev);
WAIHU_API int bridge_on_media_event(struct bridge *b, const struct media_event *ev);

struct bridge_stats {
    uint64_t calls_active;    /* calls without a CDR yet */
    uint64_t media_open;      /* media sessions not yet closed */
    uint64_t sip_legs_live;   /* SIP legs without their final event */
    uint64_t calls_total, cdrs, illegal_moves;
    uint64_t trunk_channels;  /* trunk channels this bridge holds (trunk_pick not released) */
    uint64_t calls_waiting;   /* calls waiting for a trunk's CPS budget */
    uint64_t retries;         /* carrier attempts moved to another trunk */
    uint64_t probes_sent, probes_pending; /* OPTIONS probes */
};
WAIHU_API void bridge_stats(const struct bridge *b, struct bridge_stats *out);

/* Pure helpers, exported for tests and for the dialer's dispositions. */
/* Result of a carrier leg that failed with status (see struct bridge_cdr). */
WAIHU_API const char *bridge_carrier_result(int status);
WAIHU_API const char *bridge_party_name(enum bridge_party p);

#endif
