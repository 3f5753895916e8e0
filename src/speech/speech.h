/* Speech analysis of call recordings: keyword spotting per channel and conversation
 * signals (speaking ratio, loudness, speaking rate, interruptions, silence) combined into
 * a risk score with the reasons shown. See docs/speech.md.
 *
 * Input is what src/media records: stereo 16-bit 8 kHz, interleaved, left = leg A
 * (carrier side: the customer), right = leg B (the agent). The work is CPU-bound and
 * blocking (seconds per call): run it on the uv thread pool, never on the core loop.
 *
 * Threads: a struct speech_engine (it owns a recogniser, ~34 MB for pocketsphinx en-us)
 * is used by one thread at a time; give each pool thread its own engine (created lazily in
 * the work callback and kept thread-local, or taken from a small free list). Results are
 * plain heap memory that may be handed to another thread. Nothing else is shared.
 *
 *   struct speech_config cfg;
 *   speech_config_default(&cfg);
 *   struct speech_engine *e;
 *   speech_engine_new(&cfg, &e, err, sizeof(err));           // once per worker thread
 *   struct speech_keyword kw[] = {{.phrase = "complaint"}, {.phrase = "contract"}};
 *   struct speech_result *r;
 *   speech_analyse_file(e, kw, 2, "call.wrec", key, &r, err, sizeof(err));
 *   ... r->hits, r->signals, r->score, r->reasons ...
 *   speech_result_free(r);
 *   speech_engine_free(e);
 */
#ifndef WAIHU_SPEECH_H
#define WAIHU_SPEECH_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define SPEECH_RATE 8000 /* input sample rate (recordings) */
#define SPEECH_CHANNELS 2
#define SPEECH_PHRASE_MAX 64     /* bytes of a keyword phrase, NUL included */
#define SPEECH_REASON_MAX 96     /* bytes of a reason text, NUL included */
#define SPEECH_FLOOR_DBFS -100.0 /* loudness reported when a channel has no speech */
#define SPEECH_KEY_BYTES 32      /* recording key, = MEDIA_REC_KEY_BYTES */

/* Left channel = customer (leg A), right channel = agent (leg B). */
enum speech_channel { SPEECH_CUSTOMER = 0, SPEECH_AGENT = 1 };

/* Masks for struct speech_keyword.channels. */
#define SPEECH_ON_CUSTOMER (1u << SPEECH_CUSTOMER)
#define SPEECH_ON_AGENT (1u << SPEECH_AGENT)

/* "customer" or "agent". */
WAIHU_API const char *speech_channel_name(enum speech_channel ch);

/* One entry of a tenant's keyword list. Only phrase is required. */
struct speech_keyword {
    const char *phrase; /* words of the model's dictionary, lower case, single spaces */
    double threshold;   /* detection threshold, > 0 (pocketsphinx: larger is stricter);
                           0 = the recogniser's default */
    unsigned channels;  /* SPEECH_ON_* mask of channels where a hit counts; 0 = both */
    int points;         /* risk points per hit (negative lowers risk); 0 = default 25 */
};

/* ---------------------------------------------------------------------------
 * Recognisers: what spots keywords in one channel. A recogniser object belongs to one
 * thread. pocketsphinx is built in; another engine (or a fake in tests) is a struct of
 * these function pointers.
 * ------------------------------------------------------------------------- */

struct speech_recogniser_config {
    const char *engine;   /* "pocketsphinx" (default) or "none" (signals only) */
    const char *hmm_dir;  /* acoustic model directory; NULL = Debian's en-us */
    const char *dict;     /* pronunciation dictionary; NULL = Debian's cmudict-en-us.dict */
    const char *language; /* tag for messages and results, e.g. "en-us", "zh-cn" */
    double threshold;     /* default keyword threshold; 0 = 1e-10 */
    int decoys;           /* confusable dictionary words spotted per one-word keyword to veto
                             its false hits (docs/speech.md); 0 = none, default 8 */
    int sample_rate_hz;   /* the model's rate: 16000 (8 kHz audio is upsampled) or 8000 */
};

/* A detection, times relative to the start of the PCM given to spot(). */
struct speech_spot {
    size_t keyword; /* index in the list given to set_keywords */
    uint32_t start_ms;
    uint32_t end_ms;
    double score; /* engine-specific confidence, higher is surer (pocketsphinx: log10) */
};

typedef void (*speech_spot_cb)(void *arg, const struct speech_spot *spot);

struct speech_recogniser_ops {
    const char *name;
    /* Loads the model. *out is freed with close. Returns 0, WAIHU_EINVAL (bad config,
     * missing model files: errmsg names the path) or WAIHU_ENOMEM. */
    int (*open)(const struct speech_recogniser_config *cfg, void **out, char *errmsg,
                size_t errmsg_size);
    /* Sets the keywords the next spot() calls look for; the list is copied. Cheap when
     * the list did not change. Returns 0 or WAIHU_EINVAL (a word missing from the
     * dictionary: errmsg names it). */
    int (*set_keywords)(void *r, const struct speech_keyword *kw, size_t n, char *errmsg,
                        size_t errmsg_size);
    /* Spots keywords in n mono samples at cfg->sample_rate_hz (one utterance); calls cb
     * for each detection before returning. Returns 0 or WAIHU_EIO. */
    int (*spot)(void *r, const int16_t *pcm, size_t n, speech_spot_cb cb, void *arg, char *errmsg,
                size_t errmsg_size);
    void (*close)(void *r);
};

/* The pocketsphinx 5prealpha keyword-spotting recogniser (Debian's libpocketsphinx). */
WAIHU_API extern const struct speech_recogniser_ops speech_pocketsphinx;

/* ---------------------------------------------------------------------------
 * Configuration and the engine.
 * ------------------------------------------------------------------------- */

/* Voice activity and signal thresholds (docs/speech.md says what each one does). */
struct speech_signal_config {
    double vad_min_dbfs;   /* a 10 ms frame is voiced above max(this, noise floor + margin) */
    double vad_margin_db;  /* margin over the channel's noise floor (5th percentile) */
    uint32_t hangover_ms;  /* voiced runs closer than this are one talk spurt */
    uint32_t min_spurt_ms; /* shorter spurts are clicks, dropped */
    uint32_t interrupt_overlap_ms; /* overlap needed to count an interruption */
    uint32_t interrupt_lead_ms;    /* the other side must have spoken this long before */
    uint32_t utterance_pad_ms;     /* audio kept around each spurt for the recogniser */
    uint32_t utterance_max_ms;     /* longer spurts are cut into pieces this long */
};

struct speech_config {
    struct speech_recogniser_config recogniser;
    const struct speech_recogniser_ops *ops; /* NULL = chosen by recogniser.engine */
    struct speech_signal_config signals;
};

/* Fills cfg with the defaults (Debian's en-us model, thresholds in docs/speech.md). */
WAIHU_API void speech_config_default(struct speech_config *cfg);

struct speech_engine;

/* Creates an engine and loads its recogniser (pocketsphinx en-us: ~0.4 s, ~37 MB). cfg and the
 * strings it points to are copied. Free with speech_engine_free. Returns 0, WAIHU_EINVAL
 * (unknown engine, model files missing; errmsg says which) or WAIHU_ENOMEM. Any thread;
 * the engine then belongs to the caller's thread. */
WAIHU_API int speech_engine_new(const struct speech_config *cfg, struct speech_engine **out,
                                char *errmsg, size_t errmsg_size);
WAIHU_API void speech_engine_free(struct speech_engine *e);

/* ---------------------------------------------------------------------------
 * Results.
 * ------------------------------------------------------------------------- */

struct speech_hit {
    char phrase[SPEECH_PHRASE_MAX];
    size_t keyword; /* index in the caller's keyword list */
    enum speech_channel channel;
    uint32_t start_ms; /* from the start of the recording */
    uint32_t end_ms;
    double score;
};

struct speech_channel_signals {
    uint32_t speech_ms;     /* time inside talk spurts */
    double speaking_ratio;  /* speech_ms / duration */
    double silence_ratio;   /* 1 - speaking_ratio */
    double loudness_dbfs;   /* RMS of voiced frames; a full-scale sine is -3 dBFS */
    double rate_per_s;      /* syllable-like energy peaks per second of speech */
    uint32_t spurts;        /* talk spurts (voiced runs joined over short gaps) */
    uint32_t interruptions; /* times this side started talking over the other */
    uint32_t hits;          /* keyword hits on this channel */
};

struct speech_signals {
    uint32_t duration_ms;
    struct speech_channel_signals ch[SPEECH_CHANNELS];
    uint32_t overlap_ms;         /* both sides talking */
    double mutual_silence_ratio; /* neither side talking / duration */
    uint32_t longest_silence_ms; /* longest time with neither side talking */
};

struct speech_reason {
    int points;                   /* contribution to the score */
    char text[SPEECH_REASON_MAX]; /* "customer loud: -9.0 dBFS", "keyword 'complaint' ..." */
};

struct speech_result {
    struct speech_signals signals;
    struct speech_hit *hits; /* sorted by start_ms */
    size_t n_hits;
    int score; /* risk 0..100: sum of reasons' points, clamped (formula: docs/speech.md) */
    struct speech_reason *reasons; /* largest contribution first */
    size_t n_reasons;
    double audio_s;      /* recording length */
    double processing_s; /* wall time of the analysis (file reading excluded) */
    double cpu_s;        /* CPU time of the calling thread during the analysis */
    int truncated;       /* speech_analyse_file: the recording ended inside a chunk */
};

WAIHU_API void speech_result_free(struct speech_result *r);

/* ---------------------------------------------------------------------------
 * Analysis. Blocking; call from a worker thread that owns e.
 * ------------------------------------------------------------------------- */

/* Analyses n_frames interleaved stereo frames at 8 kHz (left = customer, right = agent)
 * for the n_kw keywords (kw may be NULL when n_kw = 0: signals only). The caller keeps
 * frames and kw. On success *out is a new result (caller frees with speech_result_free).
 * Returns 0, WAIHU_EINVAL (a keyword the model cannot spot: errmsg names it),
 * WAIHU_ENOMEM, WAIHU_EIO (the recogniser failed). */
WAIHU_API int speech_analyse(struct speech_engine *e, const struct speech_keyword *kw, size_t n_kw,
                             const int16_t *frames, size_t n_frames, struct speech_result **out,
                             char *errmsg, size_t errmsg_size);

/* Reads a recording and analyses it as speech_analyse does. With key != NULL, path is an
 * encrypted recording (.wrec): it is decrypted with media_rec_decrypt into a private
 * temporary directory ($TMPDIR or /tmp, mode 0700) that is removed before returning; a
 * truncated recording is analysed up to its last complete chunk (r->truncated = 1). With
 * key == NULL, path
 * is a WAV file, stereo 8 kHz. Returns what speech_analyse returns, or WAIHU_EIO (file
 * unreadable, wrong format), WAIHU_ECORRUPT (a chunk failed authentication). */
WAIHU_API int speech_analyse_file(struct speech_engine *e, const struct speech_keyword *kw,
                                  size_t n_kw, const char *path,
                                  const uint8_t key[SPEECH_KEY_BYTES], struct speech_result **out,
                                  char *errmsg, size_t errmsg_size);

/* Signals alone (no recogniser), for tests and callers with their own hits: fills *out
 * from n_frames stereo frames; hits (may be NULL) are counted per channel. Pure. Returns
 * 0 or WAIHU_ENOMEM. */
WAIHU_API int speech_signals_compute(const struct speech_signal_config *cfg, const int16_t *frames,
                                     size_t n_frames, const struct speech_hit *hits, size_t n_hits,
                                     struct speech_signals *out);

/* The risk score of signals and hits: fills r->score and r->reasons (freed with the
 * result). kw is the list the hits index (for points). Pure. Returns 0 or WAIHU_ENOMEM. */
WAIHU_API int speech_score(const struct speech_keyword *kw, size_t n_kw, struct speech_result *r);

#endif
