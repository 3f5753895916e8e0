/* Media for the simulators (carrier, agents): 8 kHz WAV prompts as G.711, RTP streams
 * paced by the caller's tick, and the few SDP lines a simulator needs to read and write.
 * Test tooling only: no jitter buffer, no RTCP, no SRTP. */
#ifndef WAIHU_SIMMEDIA_H
#define WAIHU_SIMMEDIA_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A prompt decoded once, kept in both laws so any answer can stream it. */
struct sim_audio {
    uint8_t *ulaw;
    uint8_t *alaw;
    size_t samples;
};

/* Loads an 8 kHz mono WAV (16-bit PCM, or G.711 mu-law/A-law). Caller frees with
 * sim_audio_free. Returns 0 or -1 with a message in err. */
int sim_audio_load(const char *path, struct sim_audio *out, char *err, size_t err_len);
void sim_audio_free(struct sim_audio *audio);

uint8_t sim_ulaw_encode(int16_t pcm);
uint8_t sim_alaw_encode(int16_t pcm);

/* What a simulator reads from an SDP offer. */
struct sim_sdp_offer {
    char addr[64];      /* connection address (c=) */
    uint16_t port;      /* first audio m= port; 0 when absent or on hold */
    int pt;             /* chosen codec: 0 PCMU or 8 PCMA; -1 when neither is offered */
    int dtmf_pt;        /* telephone-event payload type, -1 when absent */
};

/* Parses the lines it needs; returns 0, or -1 when there is no usable audio. */
int sim_sdp_parse(const char *sdp, struct sim_sdp_offer *out);

/* Writes an SDP (offer when offer == NULL: PCMU, PCMA, telephone-event/101). Returns length. */
int sim_sdp_write(char *buf, size_t cap, const char *addr, uint16_t port,
                  const struct sim_sdp_offer *offer, uint64_t session_id);

/* Even UDP ports taken in turn from [lo, hi]. */
struct sim_ports {
    uint16_t lo, hi, next;
};

/* What arrives on a stream (for tests): one RTP stream or not, when audio came. */
struct sim_rx {
    int init;
    uint32_t ssrc;
    uint16_t seq;
    uint64_t ssrc_changes, seq_breaks, markers, voiced; /* voiced: packets over -40 dBFS */
    uint64_t first_ms, first_voice_ms;                  /* clock times; 0: none yet */
    FILE *wav;      /* received audio, decoded, in arrival order (sim_rtp_record) */
    size_t samples;
};

/* One RTP stream: sends 20 ms frames of a prompt (then silence), with RFC 4733 digits in
 * place of audio when asked, and drains (and analyses) what arrives. */
struct sim_rtp {
    int fd;
    uint16_t local_port;
    struct sockaddr_in peer;
    int peer_set;
    int pt;
    const struct sim_audio *audio;   /* not owned; NULL streams silence */
    size_t pos;
    uint16_t seq;
    uint32_t ts, ssrc;
    uint64_t start_ms, frames_sent, packets_recv;
    char dtmf[16];         /* digits to send, each 100 ms of events then 100 ms of audio */
    uint64_t dtmf_at_ms;   /* clock time of the first digit */
    int dtmf_pt;           /* the peer's telephone-event payload type; -1: none */
    unsigned dtmf_sent;    /* digits whose end went out */
    struct sim_rx rx;
};

/* Binds a socket on the next free even port of ports at addr. Returns 0 or -1. */
int sim_rtp_open(struct sim_rtp *rtp, struct sim_ports *ports, const char *addr);
/* Sets the destination and what to send; frames start at now_ms. */
void sim_rtp_start(struct sim_rtp *rtp, const struct sim_sdp_offer *remote,
                   const struct sim_audio *audio, uint64_t now_ms);
/* Sends every frame due by now_ms (at most 10 to catch up) and drains the socket. */
void sim_rtp_tick(struct sim_rtp *rtp, uint64_t now_ms);
/* Sends digits (RFC 4733, to the peer's telephone-event pt) from at_ms on. */
void sim_rtp_dtmf(struct sim_rtp *rtp, const char *digits, uint64_t at_ms, int pt);
/* Writes what arrives, decoded, to a 16-bit 8 kHz mono WAV at path. Returns 0 or -1. */
int sim_rtp_record(struct sim_rtp *rtp, const char *path);
/* Closes the socket and the WAV being written. */
void sim_rtp_close(struct sim_rtp *rtp);

/* Deterministic generator for simulated behaviour (splitmix64). */
uint64_t sim_rand(uint64_t *state);
/* Uniform in [0, 1). */
double sim_rand01(uint64_t *state);

#endif
