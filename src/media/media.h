/* Waihu media: RTP anchoring between two call legs, recording, DTMF, silence and
 * answering-machine detection, run by worker threads with their own libuv loops.
 *
 * Media knows nothing of SIP or of services: the dialer gives it addresses and
 * codecs (from SDP) and gets events back. Three layers, each usable alone:
 *  - pure codecs: RTP headers, G.711, RFC 4733 telephone-events;
 *  - pure detectors and files: answering-machine detection (AMD), the encrypted
 *    recording format (writer and reader);
 *  - the engine: worker threads owning UDP sockets; the core loop talks to them
 *    only by messages. See docs/media.md.
 */
#ifndef WAIHU_MEDIA_H
#define WAIHU_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common.h"

/* ---------------------------------------------------------------------------
 * RTP (RFC 3550) headers. Pure functions.
 * ------------------------------------------------------------------------- */

#define MEDIA_RTP_HEADER_BYTES 12
#define MEDIA_RTP_MAX_BYTES 1500

struct media_rtp {
    uint8_t payload_type; /* 0..127 */
    uint8_t marker;       /* 0 or 1 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    const uint8_t *payload; /* points into the parsed buffer (parse) or caller data (write) */
    size_t payload_len;
};

/* Parses one RTP packet (version 2; CSRCs, header extension and padding are
 * skipped). out->payload points into buf. Returns 0 or WAIHU_EINVAL. */
WAIHU_API int media_rtp_parse(const uint8_t *buf, size_t len, struct media_rtp *out);

/* Writes a 12-byte header then the payload of h into out (no CSRC, extension or
 * padding). Returns 0, WAIHU_EINVAL (payload type > 127) or WAIHU_ETOOBIG. */
WAIHU_API int media_rtp_write(const struct media_rtp *h, uint8_t *out, size_t out_size,
                              size_t *out_len);

/* ---------------------------------------------------------------------------
 * G.711 (ITU-T G.711, mu-law and A-law). Pure functions.
 * ------------------------------------------------------------------------- */

enum media_codec { MEDIA_PCMU = 0, MEDIA_PCMA = 8 };

WAIHU_API uint8_t media_ulaw_encode(int16_t linear);
WAIHU_API int16_t media_ulaw_decode(uint8_t ulaw);
WAIHU_API uint8_t media_alaw_encode(int16_t linear);
WAIHU_API int16_t media_alaw_decode(uint8_t alaw);
/* Direct code conversion (same result as decode then encode). */
WAIHU_API uint8_t media_ulaw_to_alaw(uint8_t ulaw);
WAIHU_API uint8_t media_alaw_to_ulaw(uint8_t alaw);

/* Buffer forms; codec is MEDIA_PCMU or MEDIA_PCMA. in and out may alias for transcode. */
WAIHU_API void media_g711_decode(enum media_codec codec, const uint8_t *in, size_t n,
                                 int16_t *out);
WAIHU_API void media_g711_encode(enum media_codec codec, const int16_t *in, size_t n,
                                 uint8_t *out);
WAIHU_API void media_g711_transcode(enum media_codec from, enum media_codec to,
                                    const uint8_t *in, size_t n, uint8_t *out);

/* ---------------------------------------------------------------------------
 * RFC 4733 telephone-events (DTMF). Pure functions.
 * ------------------------------------------------------------------------- */

#define MEDIA_DTMF_EVENT_BYTES 4

struct media_dtmf_event {
    uint8_t event;     /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D' (others parse but have no digit) */
    uint8_t end;       /* E bit */
    uint8_t volume;    /* 0..63, -dBm0 */
    uint16_t duration; /* timestamp units */
};

/* Parses the first 4 bytes of a telephone-event payload (RFC 4733 allows
 * several concatenated blocks: the first is the current event). Rejects
 * payloads shorter than 4 bytes or with the reserved bit set.
 * Returns 0 or WAIHU_EINVAL. */
WAIHU_API int media_dtmf_event_parse(const uint8_t *buf, size_t len,
                                     struct media_dtmf_event *out);
/* Writes 4 bytes; returns 0 or WAIHU_EINVAL (volume > 63). */
WAIHU_API int media_dtmf_event_write(const struct media_dtmf_event *ev,
                                     uint8_t out[MEDIA_DTMF_EVENT_BYTES]);
/* '0'-'9', '*', '#', 'A'-'D' for events 0-15, 0 otherwise. */
WAIHU_API char media_dtmf_event_digit(uint8_t event);
/* The event code of a digit (case-insensitive A-D), or -1. */
WAIHU_API int media_dtmf_digit_event(char digit);

/* ---------------------------------------------------------------------------
 * Answering-machine detection. A pure detector in caller memory: feed it 8 kHz
 * linear samples from the moment of answer; it decides within max_ms.
 * ------------------------------------------------------------------------- */

enum media_amd_result { MEDIA_AMD_UNDECIDED = 0, MEDIA_AMD_HUMAN, MEDIA_AMD_MACHINE };

/* Why a decision was taken (for logs and the benchmark). */
enum media_amd_reason {
    MEDIA_AMD_R_NONE = 0,
    MEDIA_AMD_R_SILENCE_AFTER_GREETING, /* short greeting then a pause: human */
    MEDIA_AMD_R_LONG_GREETING,          /* continuous speech too long: machine */
    MEDIA_AMD_R_MANY_WORDS,             /* too many words before a pause: machine */
    MEDIA_AMD_R_BEEP,                   /* a tone of beep length: machine */
    MEDIA_AMD_R_DEADLINE_SPEECH,        /* deadline reached while talking: machine */
    MEDIA_AMD_R_DEADLINE_QUIET,         /* deadline reached, no speech or short: human */
};

struct media_amd_config {
    uint32_t max_ms;                 /* decide by then (3000) */
    float min_speech_dbm0;           /* floor of the speech threshold (-40) */
    float speech_over_noise_db;      /* speech threshold above the noise floor (9) */
    uint32_t min_word_ms;            /* shorter voiced runs are clicks (90) */
    uint32_t between_words_ms;       /* a pause that separates words (70) */
    uint32_t after_greeting_ms;      /* a pause this long after a short greeting: human (700) */
    uint32_t max_greeting_ms;        /* a greeting longer than this: machine (1600) */
    uint32_t max_words;              /* more words than this in the greeting: machine (5) */
    uint32_t deadline_greeting_ms;   /* at the deadline, speech this long: machine (1100) */
};

/* Fills the defaults above (tuned on a tuning set, see docs/media.md). */
WAIHU_API void media_amd_config_default(struct media_amd_config *cfg);

struct media_amd;

/* Allocates a detector; cfg is copied (NULL = defaults). Caller frees with
 * media_amd_free. Returns 0 or WAIHU_ENOMEM / WAIHU_EINVAL. */
WAIHU_API int media_amd_new(const struct media_amd_config *cfg, struct media_amd **out);
WAIHU_API void media_amd_free(struct media_amd *amd);
/* Feeds n samples; returns the decision so far (once decided it never changes). */
WAIHU_API enum media_amd_result media_amd_feed(struct media_amd *amd, const int16_t *samples,
                                               size_t n);
/* Audio time (ms since the first sample) at which the decision was taken, and why. */
WAIHU_API uint32_t media_amd_decided_ms(const struct media_amd *amd);
WAIHU_API enum media_amd_reason media_amd_reason(const struct media_amd *amd);
WAIHU_API const char *media_amd_reason_name(enum media_amd_reason r);

/* ---------------------------------------------------------------------------
 * Prompts: recorded messages played into a leg. A prompt is an 8000 Hz mono 16-bit
 * PCM WAV file, parsed once and shared read-only (reference counted) between the
 * core loop and the workers. Pure but for media_prompt_load's file read.
 * ------------------------------------------------------------------------- */

#define MEDIA_PROMPT_RATE 8000
#define MEDIA_PROMPT_MAX_SAMPLES (600u * 8000u) /* ten minutes */
#define MEDIA_FRAME_SAMPLES 160                 /* one 20 ms RTP frame */

struct media_prompt;

/* Parses a RIFF/WAVE image: format PCM (or WAVE_FORMAT_EXTENSIBLE with the PCM
 * sub-format), one channel, 8000 Hz, 16 bits, a data chunk of whole samples, every
 * chunk complete, at most MEDIA_PROMPT_MAX_SAMPLES. Anything else is WAIHU_EINVAL
 * with errmsg saying why ("2 channels: want mono", "22050 Hz: want 8000 Hz",
 * "truncated: ..."); WAIHU_ENOMEM. The caller drops *out with media_prompt_unref.
 * Any thread. */
WAIHU_API int media_prompt_parse(const uint8_t *buf, size_t len, struct media_prompt **out,
                                 char *errmsg, size_t errmsg_size);
/* Reads and parses path. Errors as media_prompt_parse plus WAIHU_EIO (cannot read it);
 * errmsg starts with the path. Blocking file I/O: never on the core loop (the engine
 * loads prompts on the libuv thread pool). Any thread. */
WAIHU_API int media_prompt_load(const char *path, struct media_prompt **out, char *errmsg,
                                size_t errmsg_size);
/* Takes one more reference / drops one (frees at zero; NULL allowed). Any thread. */
WAIHU_API struct media_prompt *media_prompt_ref(struct media_prompt *p);
WAIHU_API void media_prompt_unref(struct media_prompt *p);
WAIHU_API size_t media_prompt_samples(const struct media_prompt *p);
WAIHU_API uint32_t media_prompt_duration_ms(const struct media_prompt *p);
/* Number of 20 ms frames (the last one is padded with silence). */
WAIHU_API size_t media_prompt_frames(const struct media_prompt *p);
/* Encodes frame `index` in codec into out (160 bytes) and, when pcm is not NULL, copies
 * its linear samples there. Returns how many samples came from the prompt: 160, fewer
 * for the last frame (the rest is silence), 0 past the end (a silent frame). */
WAIHU_API size_t media_prompt_frame(const struct media_prompt *p, size_t index,
                                    enum media_codec codec, uint8_t out[MEDIA_FRAME_SAMPLES],
                                    int16_t pcm[MEDIA_FRAME_SAMPLES]);

/* ---------------------------------------------------------------------------
 * Encrypted recordings. Stereo 16-bit 8 kHz PCM sealed with AES-256-GCM in
 * chunks of at most one second; a crash loses at most the chunk being filled.
 * Format in docs/media.md. Writer and reader are single-threaded objects.
 * ------------------------------------------------------------------------- */

#define MEDIA_REC_KEY_BYTES 32
#define MEDIA_REC_RATE 8000
#define MEDIA_REC_CHUNK_FRAMES 8000 /* one second */

struct media_rec_writer;

/* Creates path (must not exist: O_EXCL, mode 0600) and writes the file header.
 * key is copied. Caller frees with media_rec_writer_close. Returns 0,
 * WAIHU_EIO (errmsg says why), WAIHU_ENOMEM. errmsg may be NULL. */
WAIHU_API int media_rec_writer_open(const char *path, const uint8_t key[MEDIA_REC_KEY_BYTES],
                                    struct media_rec_writer **out, char *errmsg,
                                    size_t errmsg_size);
/* Appends n interleaved stereo frames (left = leg A, right = leg B); seals and
 * writes a chunk each time a second of audio is complete. Returns 0 or WAIHU_EIO. */
WAIHU_API int media_rec_writer_append(struct media_rec_writer *w, const int16_t *frames,
                                      size_t n);
/* Seals the partial chunk as the final one, closes and frees w (also on error).
 * Returns 0 or WAIHU_EIO. */
WAIHU_API int media_rec_writer_close(struct media_rec_writer *w);
/* media_rec_writer_close that also gives the SHA-256 of every byte written to the file
 * (header and sealed chunks, as on disk: the catalogue's checksum) and their count, as far
 * as they were written (also on error). sha256 and bytes may be NULL. */
WAIHU_API int media_rec_writer_finish(struct media_rec_writer *w, uint8_t sha256[32],
                                      uint64_t *bytes);

struct media_rec_info {
    uint32_t chunks;     /* chunks that decrypted */
    uint64_t frames;     /* stereo frames written to out */
    int complete;        /* 1 when the final chunk was seen */
    int truncated;       /* 1 when the file ends inside a chunk or without a final chunk */
};

/* Decrypts in_path to a standard WAV file at out_path (stereo, 16-bit, 8 kHz).
 * A truncated file yields every complete chunk (info->truncated = 1, returns 0).
 * Returns 0, WAIHU_EIO, WAIHU_ECORRUPT (bad magic/version, a tag fails, chunks
 * out of order: out_path then holds the chunks before the bad one). */
WAIHU_API int media_rec_decrypt(const char *in_path, const uint8_t key[MEDIA_REC_KEY_BYTES],
                                const char *out_path, struct media_rec_info *info,
                                char *errmsg, size_t errmsg_size);
/* Bytes of the WAV header media_rec_decrypt and media_rec_decrypt_buf write. */
#define MEDIA_REC_WAV_HEADER_BYTES 44
/* Decrypts a whole recording held in memory (in, len bytes) into a malloc'd WAV (*wav,
 * *wav_len; caller frees). Every chunk's tag is checked before this returns, so a caller
 * that sends *wav only on 0 never sends unauthenticated audio. A truncated file returns 0
 * with info->truncated = 1 (the caller decides: playback refuses it). Returns 0,
 * WAIHU_ECORRUPT (bad header, a tag fails, chunks out of order or after the final one:
 * *wav is NULL), WAIHU_ENOMEM. Pure; any thread. */
WAIHU_API int media_rec_decrypt_buf(const uint8_t *in, size_t len,
                                    const uint8_t key[MEDIA_REC_KEY_BYTES], uint8_t **wav,
                                    size_t *wav_len, struct media_rec_info *info, char *errmsg,
                                    size_t errmsg_size);

/* ---------------------------------------------------------------------------
 * The engine: worker threads relaying RTP between the two legs of a session.
 * Every media_engine_* and media_session_* function must be called on the loop
 * given to media_engine_new; events are delivered on that loop.
 * ------------------------------------------------------------------------- */

enum media_leg { MEDIA_LEG_A = 0, MEDIA_LEG_B = 1 }; /* A: carrier side, B: agent side */

enum media_dtmf_source { MEDIA_DTMF_RFC4733 = 0, MEDIA_DTMF_INBAND = 1 };

struct media_leg_stats {
    uint64_t packets_rx;      /* accepted RTP packets from the remote */
    uint64_t packets_tx;      /* packets sent to the remote */
    uint64_t wrong_source;    /* dropped: not from the remote address */
    uint64_t malformed;       /* dropped: not RTP, or an unknown payload type */
    int64_t lost;             /* RFC 3550 cumulative loss (may be negative with duplicates) */
    double jitter_ms;         /* RFC 3550 interarrival jitter */
};

enum media_event_type {
    MEDIA_EV_DTMF = 1,   /* a digit ended on a leg */
    MEDIA_EV_SILENCE,    /* a leg stayed under -40 dBm0 for the configured time */
    MEDIA_EV_AMD,        /* answering-machine detection decided */
    MEDIA_EV_STATS,      /* periodic statistics of both legs */
    MEDIA_EV_RECORDING,  /* recording stopped (err = 0) or failed (err < 0) */
    MEDIA_EV_CLOSED,     /* last event of a session, with final stats; the handle dies after */
    MEDIA_EV_PROMPT,     /* a prompt started or ended on a leg (media_session_play) */
};

enum media_prompt_phase {
    MEDIA_PROMPT_STARTED = 1, /* its first packet went out */
    MEDIA_PROMPT_ENDED,       /* exactly one per accepted media_session_play */
};

struct media_session;

struct media_event {
    enum media_event_type type;
    struct media_session *session;
    enum media_leg leg;
    union {
        struct {
            char digit;
            enum media_dtmf_source source;
            uint32_t duration_ms;
        } dtmf;
        struct {
            uint32_t seconds;
        } silence;
        struct {
            enum media_amd_result result;
            enum media_amd_reason reason;
            uint32_t ms; /* audio time since amd start */
        } amd;
        struct {
            int err;
            uint64_t frames;
            uint64_t bytes;     /* size of the sealed file (stop only) */
            uint8_t sha256[32]; /* of the sealed file, as written (stop only) */
        } recording;
        struct {
            uint32_t id;                   /* media_play_config.id */
            enum media_prompt_phase phase;
            int err;            /* ENDED: 0, or why it never played: WAIHU_EIO (unreadable),
                                   WAIHU_EINVAL (not 8 kHz mono 16-bit PCM WAV), WAIHU_ENOMEM */
            int complete;       /* ENDED: every frame of the prompt was due and sent */
            uint32_t played_ms; /* ENDED: prompt audio sent (the silent tail not counted) */
            uint32_t waited_ms; /* STARTED: from the request reaching the worker to the
                                   first packet (after_silence_ms waits count here) */
        } prompt;
    } u;
    struct media_leg_stats stats[2]; /* MEDIA_EV_STATS and MEDIA_EV_CLOSED */
};

struct media_engine;

/* Called on the engine's loop. The event is valid during the call only. */
typedef void (*media_event_cb)(struct media_engine *e, const struct media_event *ev,
                               void *data);

struct media_engine_config {
    unsigned n_workers;    /* threads, >= 1 */
    const char *bind_ip;   /* IPv4 literal for local RTP sockets; NULL = "127.0.0.1" */
    uint16_t port_min;     /* even ports in [port_min, port_max] are used */
    uint16_t port_max;
    media_event_cb cb;
    void *cb_data;
};

/* Starts the workers. Returns 0, WAIHU_EINVAL or WAIHU_ENOMEM / WAIHU_EIO. */
WAIHU_API int media_engine_new(uv_loop_t *loop, const struct media_engine_config *cfg,
                               struct media_engine **out);

/* Stops and joins the workers (open recordings are sealed), frees every session
 * without further events. The engine memory is released when the loop next runs
 * its close callbacks: run the loop once more before uv_loop_close. */
WAIHU_API void media_engine_free(struct media_engine *e);

struct media_session_config {
    uint32_t silence_s;          /* silence event after this many seconds per leg; 0 = off */
    uint32_t stats_interval_ms;  /* periodic MEDIA_EV_STATS; 0 = off */
    int inband_dtmf;             /* run the in-band DTMF detector on both legs */
    void *data;                  /* caller data, see media_session_data */
};

/* Allocates two local RTP ports (one per leg) and hands the session to a
 * worker. The engine owns the session: it stays valid until the MEDIA_EV_CLOSED
 * callback returns. Returns 0, WAIHU_ENOSPACE (no free port), WAIHU_EIO,
 * WAIHU_ENOMEM, WAIHU_ESHUTDOWN. */
WAIHU_API int media_session_open(struct media_engine *e, const struct media_session_config *cfg,
                                 struct media_session **out);

/* Local RTP port of a leg (what goes into that leg's SDP). */
WAIHU_API uint16_t media_session_port(const struct media_session *s, enum media_leg leg);
WAIHU_API void *media_session_data(const struct media_session *s);

/* Where a leg's remote sends from and receives at, and its payload types.
 * Packets from any other address are dropped and counted. telephone_event_pt
 * is 96..127, or -1 when the leg did not offer RFC 4733. Returns 0 or
 * WAIHU_EINVAL (bad address, codec or payload type) / WAIHU_ENOMEM. */
WAIHU_API int media_session_set_remote(struct media_session *s, enum media_leg leg,
                                       const char *ip, uint16_t port, enum media_codec codec,
                                       int telephone_event_pt);

/* Starts recording both legs to path (encrypted with key, copied). Errors of the
 * file come back as MEDIA_EV_RECORDING with err < 0. Returns 0 or WAIHU_ENOMEM. */
WAIHU_API int media_session_record_start(struct media_session *s, const char *path,
                                         const uint8_t key[MEDIA_REC_KEY_BYTES]);
/* Seals and closes the recording; a MEDIA_EV_RECORDING event follows. */
WAIHU_API int media_session_record_stop(struct media_session *s);

/* Runs AMD on what leg receives from now on (call it at answer); one
 * MEDIA_EV_AMD follows within cfg->max_ms of audio. cfg NULL = defaults. */
WAIHU_API int media_session_amd_start(struct media_session *s, enum media_leg leg,
                                      const struct media_amd_config *cfg);

/* Playback (docs/media.md "Prompts"). While a prompt plays on a leg (its tail and any
 * wait for silence included), what the other leg sends is not relayed to it; the prompt's
 * packets continue that leg's outgoing RTP stream (SSRC, sequence numbers, timestamps;
 * marker on the first packet), and so do relayed packets afterwards. A recording running
 * meanwhile gets the prompt on the channel of the other leg (what the leg hears). */
struct media_play_config {
    uint32_t id;               /* echoed in the MEDIA_EV_PROMPT events */
    uint32_t tail_ms;          /* after the prompt, silent frames this long before ENDED (a
                                  window for digits); the leg stays muted meanwhile */
    uint32_t after_silence_ms; /* 0: start at once; else once the leg has been silent (under
                                  -40 dBm0) this long, e.g. after a voicemail greeting... */
    uint32_t max_wait_ms;      /* ...or this long after the request at the latest (0 = 30000) */
};

/* Loads path into the engine's prompt cache unless it is there or on its way (read on
 * the libuv thread pool; the cache is by path, for the engine's life: a changed file
 * needs a new name or media_engine_prompt_forget). Errors of the file are logged and
 * reported by the plays that need it. Returns 0, WAIHU_EINVAL, WAIHU_ENOMEM. */
WAIHU_API int media_engine_prompt_preload(struct media_engine *e, const char *path);
/* Drops path from the cache (plays already started keep their copy). */
WAIHU_API void media_engine_prompt_forget(struct media_engine *e, const char *path);

/* Plays the WAV file at path into leg (whose remote must be set), replacing a prompt
 * already playing there (that one ends first). MEDIA_EV_PROMPT STARTED then ENDED follow
 * (ENDED alone when it never started: file error, stopped, closed). cfg NULL = zeroes.
 * Returns 0, WAIHU_EINVAL, WAIHU_ENOMEM (then no event follows). */
WAIHU_API int media_session_play(struct media_session *s, enum media_leg leg, const char *path,
                                 const struct media_play_config *cfg);
/* Ends the prompt playing (or about to play) on leg: ENDED with complete = 0 follows,
 * unless it had ended already. Relaying to the leg resumes. */
WAIHU_API int media_session_play_stop(struct media_session *s, enum media_leg leg);

/* Stops relaying, ends any prompt (MEDIA_EV_PROMPT ENDED), closes sockets and any
 * recording; MEDIA_EV_CLOSED follows (events already queued may still arrive before it).
 * Do not call twice. */
WAIHU_API void media_session_close(struct media_session *s);

#endif
