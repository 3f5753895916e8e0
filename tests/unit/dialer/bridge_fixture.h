/* The fixture of the bridge's call tests (test_bridge_calls.c, test_bridge_ivr.c): the real
 * SIP and media engines and a bridge on one loop, against a scripted carrier (SIP and RTP
 * sockets) and a scripted softphone that registers (digest) as agent1 and agent2, all in
 * this process on loopback. A test binary owns 100 ports from its base:
 *   base+0 SIP engine, +2 carrier, +4/+6 dead carriers, +8 softphone,
 *   +10..+89 the engine's RTP, +90 the carrier's RTP, +92 the softphone's RTP (unused). */
#ifndef WAIHU_TEST_BRIDGE_FIXTURE_H
#define WAIHU_TEST_BRIDGE_FIXTURE_H

#include <netinet/in.h>
#include <stdint.h>

#include "bridge.h"
#include "trunk.h"

enum carrier_mode { RING, ANSWER_BAD_SDP, ANSWER };
enum agent_mode { AGENT_ANSWER, AGENT_RING };

#define PICKS_MAX 4

struct fixture {
    uint16_t base;
    char sip_bind[32], carrier[64], dead_carrier[64];
    uv_loop_t loop;
    uv_udp_t carrier_sock;
    uv_timer_t deadline;
    struct sip_engine *sip;
    struct media_engine *media;
    struct bridge *bridge;
    struct trunk_set *trunks;
    enum carrier_mode mode;
    int invites, cancels, byes;
    char invite[4096]; /* the last INVITE, for the 487 after a CANCEL */
    struct sockaddr_in invite_from;
    int answers;                    /* 200s the carrier sent to INVITEs */
    uint64_t answer_ms, bye_ms;     /* when it sent the last one, when a BYE came */
    /* the carrier's RTP (base+90): what the bridge sends it */
    uv_udp_t rtp;
    int rtp_rx, rtp_voiced, rtp_markers, rtp_seq_breaks, rtp_ssrcs;
    uint16_t rtp_last_seq;
    uint32_t rtp_last_ssrc;
    uint64_t rtp_first_ms, rtp_first_voiced_ms;
    uint16_t tx_seq;  /* what the carrier sends */
    uint32_t tx_ts;
    double tx_phase;
    /* the softphone (agent1, agent2 registered from one socket) */
    uv_udp_t agent;
    enum agent_mode agent_mode;
    int registered, agent_invites, agent_byes, agent_cancels;
    char agent_invite[4096], agent_ruri[160];
    struct sockaddr_in agent_from;
    /* the picker: names[i] answers the i-th pick (NULL: none free) */
    const char *pick_names[PICKS_MAX];
    int picks, pick_hangs_up;
    int answers_at_pick[PICKS_MAX]; /* the carrier's 200s sent when pick i ran */
    int bridged_events;
    char states[512];               /* the call's states in order, space-separated */
    char prompt_events[512];        /* "ivr:started ivr:complete ..." */
    int n_cdrs, want_cdrs, n_cancelled;
    uint64_t until_ms;
    struct bridge_cdr cdr; /* strings not kept: results are static */
    char result[32], end_reason[32];
    char trunk[64], trunks_tried[256], caller_id[24]; /* the CDR's strings die with it */
    char agent_name[64];
    char prompt_state[16], abandon_state[16], digits[64], recording[512];
    int timed_out;
};

/* cmocka setup/teardown with the port base of the test binary. */
int fixture_setup(void **state, uint16_t base);
int fixture_teardown(void **state);

/* Runs the loop until pred holds or 10 s pass; returns pred's last value. */
int run_until(struct fixture *f, int (*pred)(struct fixture *));
int has_cdr(struct fixture *f);
int cdrs_reached(struct fixture *f);
int time_passed(struct fixture *f);
int ringing(struct fixture *f);
int idle(struct fixture *f);
int agent_ringing(struct fixture *f);
int bridged(struct fixture *f);
/* No call, leg, session or trunk channel left; no illegal move. */
void assert_clean(struct fixture *f);

/* The carrier answers the last INVITE (it rang in RING mode until now). */
void carrier_answer(struct fixture *f);
/* The carrier sends one RTP packet to the bridge: audio (PCMA, a tone of amplitude amp;
 * 0 is silence), or an RFC 4733 event (digit, end bit, duration in 8 kHz units). */
void carrier_send_audio(struct fixture *f, double freq, double amp);
void carrier_send_digit(struct fixture *f, char digit, int end, uint16_t duration);
/* The softphone answers the INVITE it rang for with status. */
void agent_answer(struct fixture *f, int status);

/* Replaces the fixture's bridge: over the trunk set in json, or with the test's picker
 * (agent1 and agent2 registered), or with a picker and the given options. */
void use_trunks(struct fixture *f, const char *json);
void use_picker(struct fixture *f);
void use_bridge(struct fixture *f, const struct bridge_config *extra);

#endif
