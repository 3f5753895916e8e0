/* Keyword spotting with pocketsphinx 5prealpha (Debian 12): one decoder per recogniser,
 * a "kws" search holding the keyword list with per-keyword thresholds. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/err.h>

#include "speech_internal.h"

#define DEFAULT_THRESHOLD 1e-10

struct sphinx {
    ps_decoder_t *ps;
    int rate_hz;
    int frate;        /* feature frames per second */
    double threshold; /* default per keyword */
    const char *dict; /* for messages; points into the config copy below */
    char dict_path[512];
    char **phrases; /* the keyword list in the active search (cache) */
    double *thresholds;
    size_t n;
    struct entry *entries; /* what the search spots: the keywords, then their decoys */
    size_t n_entries;
    size_t decoys;           /* per one-word keyword */
    struct detection *found; /* scratch for spot() */
    size_t found_cap, found_n;
    struct decoys *cache; /* per keyword seen by this recogniser */
    size_t n_cache, cache_cap;
    int generation; /* alternates the search name: the active search is never replaced */
    uint32_t rng;
    int16_t *buf; /* dithered copy of the audio */
    size_t buf_cap;
};

struct entry {
    char *phrase;
    size_t keyword; /* the keyword it is, or the keyword it is a decoy of */
    int decoy;
};

struct decoys {
    char *keyword;
    char **words;
    size_t n;
};

static void decoys_free(struct decoys *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->words[i]);
    free(d->words);
    free(d->keyword);
}

struct detection {
    size_t entry;
    int sf, ef; /* frames, inclusive */
    int32 prob;
};

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

/* sphinxbase logs to stderr through process-wide state; silence it once, before any
 * decoder exists, so no two threads ever touch it. */
static void quiet(void) { err_set_logfp(NULL); }

static void free_entries(struct sphinx *s)
{
    for (size_t i = 0; i < s->n_entries; i++)
        free(s->entries[i].phrase);
    free(s->entries);
    s->entries = NULL;
    s->n_entries = 0;
}

static void free_list(struct sphinx *s)
{
    free_entries(s);
    for (size_t i = 0; i < s->n; i++)
        free(s->phrases[i]);
    free(s->phrases);
    free(s->thresholds);
    s->phrases = NULL;
    s->thresholds = NULL;
    s->n = 0;
}

static void sphinx_close(void *r)
{
    struct sphinx *s = r;
    if (s == NULL)
        return;
    if (s->ps != NULL)
        ps_free(s->ps);
    free_list(s);
    free(s->buf);
    free(s->found);
    for (size_t i = 0; i < s->n_cache; i++)
        decoys_free(&s->cache[i]);
    free(s->cache);
    free(s);
}

static int readable(const char *path, char *errmsg, size_t size)
{
    if (access(path, R_OK) == 0)
        return 0;
    snprintf(errmsg, size, "%s: %s", path, strerror(errno));
    return WAIHU_EINVAL;
}

static int sphinx_open(const struct speech_recogniser_config *cfg, void **out, char *errmsg,
                       size_t size)
{
    pthread_once(&quiet_once, quiet);
    char mdef[600], rate[16];
    const char *hmm = cfg->hmm_dir, *dict = cfg->dict;
    int rate_hz = cfg->sample_rate_hz == 0 ? 16000 : cfg->sample_rate_hz;
    if (rate_hz != 8000 && rate_hz != 16000) {
        snprintf(errmsg, size, "sample_rate_hz %d: want 8000 or 16000", rate_hz);
        return WAIHU_EINVAL;
    }
    snprintf(mdef, sizeof(mdef), "%s/mdef", hmm);
    int rv = readable(mdef, errmsg, size);
    if (rv == 0)
        rv = readable(dict, errmsg, size);
    if (rv != 0)
        return rv;
    struct sphinx *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return WAIHU_ENOMEM;
    s->rate_hz = rate_hz;
    s->threshold = cfg->threshold > 0 ? cfg->threshold : DEFAULT_THRESHOLD;
    s->decoys = cfg->decoys > 0 ? (size_t)cfg->decoys : 0;
    s->rng = 0x9e3779b9u;
    snprintf(s->dict_path, sizeof(s->dict_path), "%s", dict);
    s->dict = s->dict_path;
    snprintf(rate, sizeof(rate), "%d", rate_hz);
    /* Dither is done here (see dither()), not by sphinxbase: its generator is global. */
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict, "-samprate",
                                   rate, "-dither", "no", NULL);
    if (config == NULL) {
        snprintf(errmsg, size, "pocketsphinx: bad configuration (hmm %s, dict %s)", hmm, dict);
        free(s);
        return WAIHU_EINVAL;
    }
    s->ps = ps_init(config);
    if (s->ps != NULL)
        s->frate = cmd_ln_int32_r(config, "-frate");
    cmd_ln_free_r(config);
    if (s->ps == NULL) {
        snprintf(errmsg, size, "pocketsphinx: cannot load model %s with %s", hmm, dict);
        free(s);
        return WAIHU_EINVAL;
    }
    if (s->frate <= 0)
        s->frate = 100;
    *out = s;
    return 0;
}

static int same_list(const struct sphinx *s, const struct speech_keyword *kw, size_t n)
{
    if (n != s->n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        double t = kw[i].threshold > 0 ? kw[i].threshold : s->threshold;
        if (strcmp(kw[i].phrase, s->phrases[i]) != 0 || t != s->thresholds[i])
            return 0;
    }
    return 1;
}

/* Every word of every phrase must be in the dictionary, or kws refuses the whole list. */
static int check_words(struct sphinx *s, const struct speech_keyword *kw, size_t n, char *errmsg,
                       size_t size)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = kw[i].phrase;
        size_t len = p == NULL ? 0 : strlen(p);
        if (len == 0 || len >= SPEECH_PHRASE_MAX || strchr(p, '/') != NULL ||
            strchr(p, '\n') != NULL) {
            snprintf(errmsg, size, "keyword %zu: empty, longer than %d bytes, or has '/'", i,
                     SPEECH_PHRASE_MAX - 1);
            return WAIHU_EINVAL;
        }
        char word[SPEECH_PHRASE_MAX];
        for (const char *w = p; *w != '\0';) {
            size_t wl = strcspn(w, " ");
            if (wl > 0) {
                memcpy(word, w, wl);
                word[wl] = '\0';
                char *pron = ps_lookup_word(s->ps, word);
                if (pron == NULL) {
                    snprintf(errmsg, size, "keyword '%s': word '%s' is not in %s", p, word,
                             s->dict);
                    return WAIHU_EINVAL;
                }
                ckd_free(pron);
            }
            w += wl;
            w += strspn(w, " ");
        }
    }
    return 0;
}

static int add_entry(struct sphinx *s, size_t *cap, const char *phrase, size_t keyword, int decoy)
{
    for (size_t i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].phrase, phrase) == 0)
            return 0; /* a decoy that is another keyword stays that keyword */
    if (array_reserve((void **)&s->entries, cap, s->n_entries + 1, sizeof(*s->entries)) != 0)
        return WAIHU_ENOMEM;
    char *copy = strdup(phrase);
    if (copy == NULL)
        return WAIHU_ENOMEM;
    s->entries[s->n_entries++] = (struct entry){copy, keyword, decoy};
    return 0;
}

/* A keyword's decoys, found in the dictionary once per recogniser (a ~3 MB scan) and kept:
 * tenants' lists alternate on a worker. *out is NULL for a word without a pronunciation. */
static int decoys_of(struct sphinx *s, const char *keyword, const struct decoys **out, char *errmsg,
                     size_t size)
{
    *out = NULL;
    for (size_t i = 0; i < s->n_cache; i++)
        if (strcmp(s->cache[i].keyword, keyword) == 0) {
            *out = &s->cache[i];
            return 0;
        }
    char *pron = ps_lookup_word(s->ps, keyword);
    if (pron == NULL)
        return 0;
    struct decoys d = {0};
    int rv = decoys_find(s->dict, keyword, pron, s->decoys, &d.words, &d.n, errmsg, size);
    ckd_free(pron);
    if (rv == 0 &&
        ((d.keyword = strdup(keyword)) == NULL ||
         array_reserve((void **)&s->cache, &s->cache_cap, s->n_cache + 1, sizeof(*s->cache)) != 0))
        rv = WAIHU_ENOMEM;
    if (rv != 0) {
        decoys_free(&d);
        return rv;
    }
    s->cache[s->n_cache] = d;
    *out = &s->cache[s->n_cache++];
    return 0;
}

/* The keywords, then each one-word keyword's decoys (decoy.c). */
static int build_entries(struct sphinx *s, const struct speech_keyword *kw, size_t n, char *errmsg,
                         size_t size)
{
    free_entries(s);
    size_t cap = 0;
    int rv = 0;
    for (size_t i = 0; i < n && rv == 0; i++)
        rv = add_entry(s, &cap, kw[i].phrase, i, 0);
    for (size_t i = 0; i < n && rv == 0 && s->decoys > 0; i++) {
        if (strchr(kw[i].phrase, ' ') != NULL)
            continue;
        const struct decoys *d;
        rv = decoys_of(s, kw[i].phrase, &d, errmsg, size);
        for (size_t j = 0; rv == 0 && d != NULL && j < d->n; j++)
            rv = add_entry(s, &cap, d->words[j], i, 1);
    }
    if (rv == WAIHU_ENOMEM)
        snprintf(errmsg, size, "keyword list: out of memory");
    if (rv != 0)
        free_entries(s);
    return rv;
}

static int sphinx_set_keywords(void *r, const struct speech_keyword *kw, size_t n, char *errmsg,
                               size_t size)
{
    struct sphinx *s = r;
    if (n > 0 && s->phrases != NULL && same_list(s, kw, n))
        return 0;
    if (n == 0) {
        free_list(s);
        return 0;
    }
    int rv = check_words(s, kw, n, errmsg, size);
    if (rv != 0)
        return rv;
    rv = build_entries(s, kw, n, errmsg, size);
    if (rv != 0)
        return rv;
    /* 5prealpha reads a keyword list with per-phrase thresholds only from a file. */
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/waihu-kws-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        snprintf(errmsg, size, "keyword list %s: %s", path, strerror(errno));
        goto fail;
    }
    FILE *fp = fdopen(fd, "w");
    if (fp == NULL) {
        close(fd);
        unlink(path);
        snprintf(errmsg, size, "keyword list %s: %s", path, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct speech_keyword *k = &kw[s->entries[i].keyword];
        fprintf(fp, "%s /%.3g/\n", s->entries[i].phrase,
                k->threshold > 0 ? k->threshold : s->threshold);
    }
    int bad = ferror(fp) | fclose(fp);
    char name[16];
    snprintf(name, sizeof(name), "kws%d", s->generation & 1);
    if (bad == 0 && ps_set_kws(s->ps, name, path) == 0 && ps_set_search(s->ps, name) == 0)
        s->generation++;
    else
        bad = 1;
    unlink(path);
    if (bad) {
        snprintf(errmsg, size, "pocketsphinx refused the keyword list");
        goto fail;
    }
    /* The cache of what the active search holds. */
    for (size_t i = 0; i < s->n; i++)
        free(s->phrases[i]);
    free(s->phrases);
    free(s->thresholds);
    s->n = 0;
    s->phrases = calloc(n, sizeof(*s->phrases));
    s->thresholds = calloc(n, sizeof(*s->thresholds));
    if (s->phrases == NULL || s->thresholds == NULL)
        goto nomem;
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        s->thresholds[i] = kw[i].threshold > 0 ? kw[i].threshold : s->threshold;
        if ((s->phrases[i] = strdup(kw[i].phrase)) == NULL)
            goto nomem;
    }
    return 0;
nomem:
    free_list(s); /* the next call rebuilds the search */
    return WAIHU_ENOMEM;
fail:
    free_list(s);
    return WAIHU_EIO;
}

/* Adds one LSB to a quarter of the samples (what sphinxbase's -dither does), so that the
 * empty band above 4 kHz of upsampled telephone audio never reaches log(0). */
static const int16_t *dither(struct sphinx *s, const int16_t *pcm, size_t n)
{
    if (array_reserve((void **)&s->buf, &s->buf_cap, n, sizeof(*s->buf)) != 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s->rng ^= s->rng << 13;
        s->rng ^= s->rng >> 17;
        s->rng ^= s->rng << 5;
        int v = pcm[i] + ((s->rng & 3) == 0);
        s->buf[i] = (int16_t)(v > INT16_MAX ? INT16_MAX : v);
    }
    return s->buf;
}

/* kws segments are named by the phrase, with a trailing space in 5prealpha. */
static size_t find_entry(const struct sphinx *s, const char *word)
{
    size_t len = strlen(word);
    while (len > 0 && word[len - 1] == ' ')
        len--;
    for (size_t i = 0; i < s->n_entries; i++)
        if (strncmp(s->entries[i].phrase, word, len) == 0 && s->entries[i].phrase[len] == '\0')
            return i;
    return s->n_entries;
}

/* A decoy of the same keyword that covers at least half of the hit and scored better. */
static int vetoed(const struct sphinx *s, const struct detection *hit)
{
    size_t k = s->entries[hit->entry].keyword;
    for (size_t i = 0; i < s->found_n; i++) {
        const struct detection *d = &s->found[i];
        if (!s->entries[d->entry].decoy || s->entries[d->entry].keyword != k ||
            d->prob <= hit->prob)
            continue;
        int from = d->sf > hit->sf ? d->sf : hit->sf, to = d->ef < hit->ef ? d->ef : hit->ef;
        int shorter = d->ef - d->sf < hit->ef - hit->sf ? d->ef - d->sf : hit->ef - hit->sf;
        if (2 * (to - from + 1) >= shorter + 1)
            return 1;
    }
    return 0;
}

static int sphinx_spot(void *r, const int16_t *pcm, size_t n, speech_spot_cb cb, void *arg,
                       char *errmsg, size_t size)
{
    struct sphinx *s = r;
    if (s->n_entries == 0 || n == 0)
        return 0;
    const int16_t *in = dither(s, pcm, n);
    if (in == NULL) {
        snprintf(errmsg, size, "pocketsphinx: out of memory for %zu samples", n);
        return WAIHU_EIO;
    }
    if (ps_start_utt(s->ps) < 0 || ps_process_raw(s->ps, in, n, FALSE, TRUE) < 0 ||
        ps_end_utt(s->ps) < 0) {
        snprintf(errmsg, size, "pocketsphinx: decoding %zu samples failed", n);
        return WAIHU_EIO;
    }
    s->found_n = 0;
    for (ps_seg_t *seg = ps_seg_iter(s->ps); seg != NULL; seg = ps_seg_next(seg)) {
        size_t k = find_entry(s, ps_seg_word(seg));
        if (k == s->n_entries)
            continue;
        if (array_reserve((void **)&s->found, &s->found_cap, s->found_n + 1, sizeof(*s->found)) !=
            0) {
            ps_seg_free(seg);
            snprintf(errmsg, size, "pocketsphinx: out of memory for detections");
            return WAIHU_EIO;
        }
        struct detection *d = &s->found[s->found_n++];
        int32 ascr, lscr, lback;
        d->entry = k;
        ps_seg_frames(seg, &d->sf, &d->ef);
        d->prob = ps_seg_prob(seg, &ascr, &lscr, &lback);
    }
    logmath_t *lmath = ps_get_logmath(s->ps);
    for (size_t i = 0; i < s->found_n; i++) {
        const struct detection *d = &s->found[i];
        if (s->entries[d->entry].decoy || vetoed(s, d))
            continue;
        struct speech_spot spot = {
            .keyword = s->entries[d->entry].keyword,
            .start_ms = (uint32_t)(d->sf < 0 ? 0 : d->sf) * 1000u / (uint32_t)s->frate,
            .end_ms = (uint32_t)(d->ef + 1 < 0 ? 0 : d->ef + 1) * 1000u / (uint32_t)s->frate,
            .score = logmath_log_to_log10(lmath, d->prob),
        };
        cb(arg, &spot);
    }
    return 0;
}

const struct speech_recogniser_ops speech_pocketsphinx = {
    .name = "pocketsphinx",
    .open = sphinx_open,
    .set_keywords = sphinx_set_keywords,
    .spot = sphinx_spot,
    .close = sphinx_close,
};
