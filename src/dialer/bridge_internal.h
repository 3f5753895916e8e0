/* Private to the bridge: the call state table (bridge_state.c) and the call record
 * shared by bridge.c (API, dispatch), bridge_legs.c (SIP and media steps) and
 * bridge_cdr.c (the end of a call). */
#ifndef WAIHU_DIALER_BRIDGE_INTERNAL_H
#define WAIHU_DIALER_BRIDGE_INTERNAL_H

#include "bridge.h"
#include "trunk.h"

#include <pthread.h>

#define BRIDGE_MOD "bridge"
#define BRIDGE_MAGIC 0x62726467u /* marks a media session's data as a bridge call */
#define BRIDGE_PICK_TRIES 2      /* the picker is asked once more when its agent fails */

/* A call's life; every move goes through bridge_state_next (docs/bridge.md has the table). */
enum bridge_state { /* live states come before BST_ENDING */
    BST_DIALING = 0,   /* carrier INVITE out */
    BST_SCREENING,     /* carrier answered; AMD running (or about to call the agent) */
    BST_PROMPTING,     /* IVR: the prompt (or the message for a machine) plays, then the
                          window for the transfer digit */
    BST_AGENT_RINGING, /* agent INVITE out */
    BST_BRIDGED,       /* both legs answered, media relayed and recorded */
    BST_ANNOUNCING,    /* no agent for a live answer: the abandon message plays */
    BST_ENDING,        /* waiting for the legs' final events and the media session's close */
    BST_DONE,          /* CDR delivered */
    BST_COUNT
};

enum bridge_input {
    BIN_CARRIER_ANSWER = 0,
    BIN_HUMAN,          /* AMD said human, or AMD is off */
    BIN_AGENT_ANSWER,
    BIN_END,            /* any reason to end: failure, BYE, timeout, hangup, machine */
    BIN_RELEASED,       /* last leg and media gone */
    BIN_RETRY,          /* the carrier leg failed on a trunk; the next trunk is tried */
    BIN_AGENT_RETRY,    /* the picked agent's leg failed; the picker chose another agent */
    BIN_PROMPT,         /* an IVR call's answer (human, or machine with prompt_on_machine) */
    BIN_TRANSFER,       /* the transfer digit, and an agent to call */
    BIN_ABANDON,        /* a live answer without an agent, and an abandon message to play */
    BIN_COUNT
};

/* The next state, or -1 when the move is illegal. Pure. */
int bridge_state_next(enum bridge_state from, enum bridge_input in);
const char *bridge_state_name(enum bridge_state s);
const char *bridge_input_name(enum bridge_input in);

enum bridge_leg_id { LEG_CARRIER = 0, LEG_AGENT = 1 };

struct bridge_call;
struct bridge_ping;

/* One prompt of a call, as the media events tell it. */
enum bridge_play_state { PLAY_NONE = 0, PLAY_REQUESTED, PLAY_STARTED, PLAY_COMPLETE,
                         PLAY_PARTIAL, PLAY_ERROR };
struct bridge_play {
    enum bridge_play_state state;
    uint64_t start_ms;  /* when the STARTED event arrived */
    uint32_t played_ms;
};

/* One SIP leg: its engine call id, and whether its final event is still due. */
struct bridge_leg {
    struct bridge_call *call;
    enum bridge_leg_id id;
    uint64_t sip_id;
    int live;           /* originated, final event not seen */
    int answered;
    int hangup_sent;
    int provisional;    /* a 1xx was seen (trunk health tells "no answer" from "silent") */
    char dialog[128];
    uint64_t invite_ms, answer_ms;
    uint64_t rx_packets;   /* last seen packets_rx of its media leg */
    uint64_t rx_change_ms; /* when rx_packets last grew (RTP timeout) */
    struct bridge_leg *hnext; /* hash chain by sip_id */
};

/* After an abandon message was sent, before the BYE: longer than a phone's jitter buffer. */
#define BRIDGE_ABANDON_LINGER_MS 200

struct bridge_call {
    uint32_t magic;
    struct bridge *b;
    uint64_t id;
    int silent;  /* bridge_dial failed after opening the media: no CDR */
    int picked;  /* the agent is chosen at answer by config.pick_agent */
    uint32_t picks; /* times the picker was asked (at most BRIDGE_PICK_TRIES) */
    int bridged; /* both legs were answered and joined */
    enum bridge_state state;
    struct bridge_leg leg[2];
    struct media_session *media;
    int media_close_sent;
    char number[64], target[256], proxy[256], agent[64], from[256], tenant[64];
    int from_given;
    /* trunk routing (bridge_route.c) */
    int routed;
    int trunk;           /* trunk holding a channel for this attempt, -1 none */
    uint64_t tried;      /* trunks tried: trunk_pick's exclusion mask */
    uint32_t attempts;
    int64_t picked_ms;
    int reported;        /* this attempt's outcome went to trunk_report */
    int64_t retry_at_ms; /* > 0: waiting for a trunk's CPS budget */
    int last_status;     /* carrier status of the last failed attempt */
    char trunk_name[TRUNK_NAME_MAX], trunks_tried[256], caller_id[TRUNK_NUMBER_MAX];
    /* prompts (bridge_prompt.c) */
    char prompt_path[512], abandon_path[512];
    char transfer_digit, ivr_digit;
    int prompt_on_machine;
    uint32_t transfer_window_ms;
    struct bridge_play ivr, abandon;
    uint64_t want_agent_ms;      /* the customer waits for an agent since: answer or digit */
    const char *abandon_reason;  /* while announcing: the abandon's end_reason and status */
    int abandon_status;
    int64_t abandon_end_ms;      /* the message was sent: hang up then (bridge_route.c) */
    /* outcome: the first reason to end wins */
    const char *result, *end_reason;
    enum bridge_party hangup_by;
    int status;
    const char *amd, *amd_reason;
    char digits[64];
    size_t n_digits;
    char rec_path[512];
    int recording, rec_err;
    uint64_t rec_frames;
    uint64_t rec_bytes;
    uint8_t rec_sha256[32];
    struct media_leg_stats rtp[2];
    uint64_t start_ms, end_ms;
    int64_t start_wall_ms;
    struct bridge_call *prev, *next;
};

#define BRIDGE_HASH 256

struct bridge {
    uv_loop_t *loop;
    uv_timer_t *linger_timer; /* abandon messages' hang-ups (bridge_prompt.c); lazily made */
    pthread_t thread;
    struct sip_engine *sip;
    struct media_engine *media;
    struct bridge_config cfg;
    char media_ip[46];
    char from[256], agent_from[256], record_dir[400];
    bridge_cdr_cb cdr_cb;
    void *data;
    struct bridge_call *calls;
    struct bridge_leg *by_sip[BRIDGE_HASH];
    uint64_t next_id;
    struct bridge_stats st;
    int freeing;
    /* trunk routing (bridge_route.c) */
    uv_timer_t *route_timer;
    struct bridge_ping *pings;
    uint32_t probe_timeout_ms;
    int trunk_state[TRUNK_MAX]; /* last seen, for BRIDGE_EV_TRUNK */
};

/* bridge.c */
int bridge_move(struct bridge_call *c, enum bridge_input in);
void bridge_leg_index(struct bridge *b, struct bridge_leg *l);
void bridge_emit_state(struct bridge_call *c);

/* bridge_legs.c: steps of a call. */
int bridge_call_carrier(struct bridge_call *c);
void bridge_carrier_answered(struct bridge_call *c, const char *sdp);
void bridge_human(struct bridge_call *c);
/* Asks config.pick_agent for the agent of a picked call in state `in`. Returns 1 with
 * c->agent set, 0 when there is none (the call is to be abandoned), -1 when the call ended
 * under the picker (it hung it up): nothing more to do. */
int bridge_pick(struct bridge_call *c, enum bridge_state in);
/* INVITEs c->agent; a failure to send is an agent failure (500). */
void bridge_call_agent(struct bridge_call *c);
/* Starts the call's recording unless it runs or is not configured. */
void bridge_record(struct bridge_call *c);
void bridge_agent_answered(struct bridge_call *c, const char *sdp);
/* The agent leg failed with status (or could not be sent: 500): ends the call, or asks the
 * picker for another agent (docs/bridge.md "Agent chosen at answer"). */
void bridge_agent_failed(struct bridge_call *c, int status);
void bridge_check_rtp(struct bridge_call *c, const struct media_event *ev);

/* bridge_prompt.c: IVR prompts, transfers and abandon messages (docs/bridge.md "Prompts"). */
/* bridge_dial: copies and checks req->prompts, starts loading the files. */
int bridge_prompt_setup(struct bridge_call *c, const struct bridge_dial *req);
/* A live answer (human): 1 when the IVR prompt took the call, 0 to go on to the agent. */
int bridge_prompt_on_human(struct bridge_call *c);
/* AMD said machine: 1 when a message is left, 0 to hang up. */
int bridge_prompt_on_machine(struct bridge_call *c);
/* No agent for a live answer: plays the abandon message before the hang-up, or hangs up. */
void bridge_abandon(struct bridge_call *c, const char *end_reason, int status);
void bridge_prompt_on_dtmf(struct bridge_call *c, char digit);
void bridge_prompt_on_event(struct bridge_call *c, const struct media_event *ev);
const char *bridge_play_state_name(enum bridge_play_state s);

/* bridge_route.c: the carrier leg over the trunk set. */
int bridge_route_start(struct bridge *b);   /* bridge_new: the probe/CPS timer */
void bridge_route_stop(struct bridge *b);
void bridge_prompt_stop(struct bridge *b);  /* bridge_free: closes the linger timer */   /* bridge_free: closes it, drops the probes */
/* Picks a trunk and sends the carrier leg, or queues the call for CPS budget. 0 or an error
 * (WAIHU_EUNAVAILABLE: no trunk can take it). */
int bridge_route_next(struct bridge_call *c);
void bridge_route_answered(struct bridge_call *c);
/* The carrier leg's final event: reports it, frees the channel, and returns 1 when the
 * call goes on over another trunk (0: end the call with this failure). */
int bridge_route_leg_done(struct bridge_call *c, const struct sip_event *ev);
void bridge_route_release(struct bridge_call *c);
void bridge_route_unwait(struct bridge_call *c);
int bridge_route_on_options(struct bridge *b, const struct sip_event *ev);

/* bridge_cdr.c: ending. bridge_end records the outcome (first call wins), hangs up the
 * live legs and closes the media; bridge_try_release delivers the CDR and frees the call
 * once nothing is pending. */
void bridge_end(struct bridge_call *c, const char *result, const char *end_reason,
                enum bridge_party by, int status);
void bridge_try_release(struct bridge_call *c);
void bridge_call_free(struct bridge_call *c);

#endif
