/* Private to src/media: the message queue between the core loop and the
 * workers, and the worker-side session state. */
#ifndef WAIHU_MEDIA_INTERNAL_H
#define WAIHU_MEDIA_INTERNAL_H

#include <netinet/in.h>

#include <spandsp.h>

#include "media.h"

#define MOD "media"

/* ---- messages (msgq.c) ---- */

enum msg_type {
    MSG_OPEN = 1,     /* core -> worker: take a session (ws, fds) */
    MSG_REMOTE,       /* core -> worker */
    MSG_REC_START,
    MSG_REC_STOP,
    MSG_AMD_START,
    MSG_CLOSE,
    MSG_PLAY,         /* core -> worker: play u.play.prompt (a reference the message owns) */
    MSG_PLAY_STOP,
    MSG_STOP,         /* core -> worker: close everything and exit */
    MSG_EVENT,        /* worker -> core: deliver u.event */
};

struct wsession;

struct msg {
    struct msg *next;
    enum msg_type type;
    struct wsession *ws;
    union {
        struct {
            int fd[2];
        } open;
        struct {
            enum media_leg leg;
            struct sockaddr_in addr;
            enum media_codec codec;
            int te_pt;
        } remote;
        struct {
            char *path; /* owned by the message */
            uint8_t key[MEDIA_REC_KEY_BYTES];
        } rec;
        struct {
            enum media_leg leg;
            struct media_amd_config cfg;
        } amd;
        struct {
            enum media_leg leg;
            struct media_prompt *prompt; /* owned by the message until taken */
            struct media_play_config cfg;
        } play;
        struct media_event event;
    } u;
};

/* A mutex-protected FIFO whose consumer is woken with uv_async_send. */
struct msgq {
    uv_mutex_t mu;
    struct msg *head, *tail;
    uv_async_t *wake;
};

int msgq_init(struct msgq *q, uv_async_t *wake);
/* Frees every message left (and the paths they own). */
void msgq_close(struct msgq *q);
/* Any thread; takes ownership of m. */
void msgq_push(struct msgq *q, struct msg *m);
/* Consumer thread: detaches the whole list, oldest first; caller frees each with msg_free. */
struct msg *msgq_take(struct msgq *q);
struct msg *msg_new(enum msg_type type);
void msg_free(struct msg *m);

/* ---- the core-loop side (engine.c, prompt_cache.c) ---- */

struct prompt_entry;
struct prompt_wait;

struct media_session {
    struct media_engine *e;
    struct worker *w;
    struct wsession *ws;
    uint16_t port[2];
    void *data;
    int close_sent;
    struct media_session *prev, *next;
};

struct media_engine {
    uv_loop_t *loop;
    uv_async_t wake;
    struct msgq outbox;
    struct worker *workers;
    unsigned n_workers, next_worker;
    struct sockaddr_in bind;
    uint16_t port_min;
    uint32_t n_pairs, cursor;
    uint8_t *pair_busy; /* index (port - port_min) / 2 */
    media_event_cb cb;
    void *cb_data;
    struct media_session *sessions;
    int stopping;
    struct prompt_entry *prompts; /* the prompt cache, by path */
};

/* engine.c: queue m for the session's worker (takes m; WAIHU_EINVAL once closed). */
int engine_send(struct media_session *s, struct msg *m);

/* prompt_cache.c */
/* The session closes: plays still waiting for their file end now (ENDED, not started). */
void prompt_cache_drop_session(struct media_engine *e, struct media_session *s);
/* The engine stops: frees loaded prompts; loads in flight free themselves when done. */
void prompt_cache_free(struct media_engine *e);

/* ---- workers (worker.c) ---- */

struct worker {
    struct media_engine *e;
    unsigned index;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    struct msgq inbox;
    struct wsession *sessions;  /* owned by this thread */
    int stopping;
    uint8_t rxbuf[MEDIA_RTP_MAX_BYTES + 64];
};

int worker_start(struct worker *w, struct media_engine *e, unsigned index);
/* Sends MSG_STOP and joins the thread; then frees the worker's loop. */
void worker_stop(struct worker *w);
/* Worker thread: queue an event for the core loop. */
void engine_post(struct media_engine *e, struct msg *m);

/* ---- sessions on the worker side (wsession.c, relay.c, leg_dsp.c) ---- */

#define LEG_FIFO_SAMPLES 8000 /* recording buffer per leg: one second */

/* A prompt playing into a leg (play.c). */
struct leg_play {
    struct media_prompt *prompt; /* NULL: nothing plays */
    struct media_play_config cfg;
    int started;
    uint64_t requested_ms, start_ms;
    size_t frames_due;   /* frames sent since the start (prompt and tail) */
    size_t frames_sent;  /* prompt frames sent to a remote */
    size_t prompt_frames, tail_frames;
};

/* The RTP stream a leg's remote receives: relayed packets pass through unchanged until a
 * prompt has played on the leg; from then on they are mapped into its stream (play.c). */
struct leg_tx {
    int init;
    uint32_t ssrc, ts;
    uint16_t seq;
    uint64_t last_ms;
    int rewrite, resync;
    uint32_t src_ssrc;   /* the relayed stream being mapped */
    uint16_t seq_delta;
    uint32_t ts_delta;
};

struct leg {
    struct wsession *ws;
    enum media_leg id;
    uv_udp_t udp;
    int has_remote;
    struct sockaddr_in remote;
    enum media_codec codec;
    int te_pt;
    struct media_leg_stats stats;
    /* RFC 3550 loss and jitter */
    int seq_init;
    uint16_t max_seq;
    uint32_t cycles, base_seq;
    uint64_t received;
    int jitter_init;
    int64_t last_transit;
    double jitter; /* timestamp units */
    /* RFC 4733: last event end reported, to skip the retransmitted end packets */
    int te_reported;
    uint32_t te_timestamp;
    /* detectors */
    dtmf_rx_state_t *dtmf;
    power_meter_t meter;
    int32_t voice_level; /* power meter reading at -40 dBm0 */
    uint64_t last_voice_ms;
    int silence_reported;
    struct media_amd *amd;
    uint64_t amd_start_ms, amd_fed_samples;
    /* decoded audio waiting for the recorder */
    int16_t fifo[LEG_FIFO_SAMPLES];
    size_t fifo_r, fifo_n;
    /* prompts played to the other leg, mixed into this leg's channel (allocated on use) */
    int16_t *mix;
    size_t mix_r, mix_n;
    struct leg_play play;
    struct leg_tx tx;
};

struct wsession {
    struct worker *w;
    struct media_session *s; /* core handle: never dereferenced here */
    struct wsession *prev, *next;
    struct media_session_config cfg;
    struct leg legs[2];
    int open_handles;
    int closing;
    struct media_rec_writer *rec;
    uint64_t rec_start_ms, rec_frames;
    int rec_err;
    uint64_t next_stats_ms;
};

/* wsession.c */
void wsession_attach(struct worker *w, struct wsession *ws, const int fd[2]);
void wsession_close(struct wsession *ws);
void wsession_tick(struct wsession *ws, uint64_t now_ms);
void wsession_rec_start(struct wsession *ws, char *path, const uint8_t *key);
void wsession_rec_stop(struct wsession *ws);
void wsession_emit(struct wsession *ws, struct media_event *ev);

/* relay.c: one datagram arrived on leg l from addr. */
void relay_packet(struct leg *l, uint8_t *buf, size_t len, const struct sockaddr_in *from,
                  uint64_t now_ms);

/* leg_dsp.c */
int leg_dsp_init(struct leg *l, int inband_dtmf);
void leg_dsp_free(struct leg *l);
/* Decoded audio of one packet: detectors, AMD and the recording FIFO. */
void leg_dsp_audio(struct leg *l, const int16_t *pcm, size_t n, uint64_t now_ms);
/* Wall-clock duties: silence events, AMD when audio stopped arriving. */
void leg_dsp_tick(struct leg *l, uint64_t now_ms);
/* Pops up to n samples of leg audio for the recorder, zero-filling an underrun, then adds
 * the prompt audio waiting in the leg's mix FIFO (saturating). */
void leg_fifo_pop(struct leg *l, int16_t *out, size_t n, size_t stride);
/* Queues prompt audio for the recorder's channel of leg l (allocates the FIFO). */
void leg_mix_push(struct leg *l, const int16_t *pcm, size_t n);
int leg_amd_start(struct leg *l, const struct media_amd_config *cfg, uint64_t now_ms);

/* play.c: prompts into a leg, and the leg's outgoing RTP stream. */
/* Takes the prompt reference; ends a prompt already playing there first. */
void play_start(struct leg *l, struct media_prompt *p, const struct media_play_config *cfg,
                uint64_t now_ms);
/* Ends the prompt (ENDED, complete as it stands) when one plays; emit 0 frees silently. */
void play_stop(struct leg *l, int emit);
/* Worker tick: starts a waiting prompt, sends the frames due, ends it after its tail. */
void play_tick(struct leg *l, uint64_t now_ms);
/* Before relaying a packet to leg `to`: returns 0 to send it (its header mapped into the
 * leg's stream), -1 to drop it (a prompt plays there). audio: not a telephone-event. */
int play_relay_out(struct leg *to, uint8_t *buf, size_t len, int audio, uint64_t now_ms);

#endif
