/* The risk score: a sum of points, each with the reason shown, clamped to 0..100. The
 * rules and their constants are listed in docs/speech.md; change both together. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speech_internal.h"

#define KEYWORD_POINTS 25
#define LOUD_DBFS -12.0 /* speech above this average level is loud */
#define LOUD_POINTS_PER_DB 2
#define LOUD_MAX 20
#define AGENT_INTERRUPT_POINTS 5
#define CUSTOMER_INTERRUPT_POINTS 4
#define INTERRUPT_MAX 20
#define FAST_RATE_PER_S 6.0 /* syllable-like peaks per second of speech */
#define FAST_POINTS 10
#define DEAD_AIR_RATIO 0.5 /* neither side talking for more than half the call */
#define DEAD_AIR_MIN_MS 20000
#define DEAD_AIR_POINTS 10

struct reasons {
    struct speech_reason *items;
    size_t n, cap;
};

static int add(struct reasons *rs, int points, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add(struct reasons *rs, int points, const char *fmt, ...)
{
    if (array_reserve((void **)&rs->items, &rs->cap, rs->n + 1, sizeof(*rs->items)) != 0)
        return WAIHU_ENOMEM;
    struct speech_reason *r = &rs->items[rs->n++];
    r->points = points;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    return 0;
}

static int by_points(const void *a, const void *b)
{
    const struct speech_reason *x = a, *y = b;
    int ax = abs(x->points), ay = abs(y->points);
    return ax != ay ? ay - ax : strcmp(x->text, y->text);
}

static int cap_int(int v, int max) { return v > max ? max : v; }

int speech_score(const struct speech_keyword *kw, size_t n_kw, struct speech_result *r)
{
    struct reasons rs = {0};
    const struct speech_signals *s = &r->signals;
    int rv = 0;
    for (size_t i = 0; i < r->n_hits && rv == 0; i++) {
        const struct speech_hit *h = &r->hits[i];
        int pts = h->keyword < n_kw && kw[h->keyword].points != 0 ? kw[h->keyword].points
                                                                  : KEYWORD_POINTS;
        rv = add(&rs, pts, "keyword '%s' (%s) at %.1f s", h->phrase,
                 speech_channel_name(h->channel), h->start_ms / 1000.0);
    }
    for (int c = 0; c < SPEECH_CHANNELS && rv == 0; c++) {
        const struct speech_channel_signals *ch = &s->ch[c];
        const char *who = speech_channel_name((enum speech_channel)c);
        if (ch->speech_ms > 0 && ch->loudness_dbfs > LOUD_DBFS) {
            long over = lround((ch->loudness_dbfs - LOUD_DBFS) * LOUD_POINTS_PER_DB);
            int pts = cap_int(over < 1 ? 1 : (int)over, LOUD_MAX);
            rv = add(&rs, pts, "%s loud: %.1f dBFS", who, ch->loudness_dbfs);
        }
        int per = c == SPEECH_AGENT ? AGENT_INTERRUPT_POINTS : CUSTOMER_INTERRUPT_POINTS;
        if (rv == 0 && ch->interruptions > 0)
            rv = add(&rs, cap_int((int)ch->interruptions * per, INTERRUPT_MAX),
                     "%s interrupted %u time%s", who, ch->interruptions,
                     ch->interruptions == 1 ? "" : "s");
        if (rv == 0 && ch->speech_ms >= 5000 && ch->rate_per_s > FAST_RATE_PER_S)
            rv = add(&rs, FAST_POINTS, "%s fast: %.1f syllables/s", who, ch->rate_per_s);
    }
    if (rv == 0 && s->duration_ms >= DEAD_AIR_MIN_MS && s->mutual_silence_ratio > DEAD_AIR_RATIO)
        rv = add(&rs, DEAD_AIR_POINTS, "dead air: %.0f%% of the call",
                 100.0 * s->mutual_silence_ratio);
    if (rv != 0) {
        free(rs.items);
        return rv;
    }
    int total = 0;
    for (size_t i = 0; i < rs.n; i++)
        total += rs.items[i].points;
    if (rs.n > 1)
        qsort(rs.items, rs.n, sizeof(*rs.items), by_points);
    free(r->reasons);
    r->reasons = rs.items;
    r->n_reasons = rs.n;
    r->score = total < 0 ? 0 : total > 100 ? 100 : total;
    return 0;
}
