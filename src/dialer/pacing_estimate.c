/* Pacing estimators: pure functions over observations fed by the caller. */
#include <math.h>
#include <string.h>

#include "pacing.h"
#include "pacing_internal.h"

/* ---- proportions ------------------------------------------------------- */

void pacing_rate_init(struct pacing_rate *r, double prior_p, double prior_weight,
                      double half_life_obs, double half_life_ms)
{
    memset(r, 0, sizeof(*r));
    r->prior_p = prior_p;
    r->prior_weight = prior_weight;
    r->half_life_obs = half_life_obs;
    r->half_life_ms = half_life_ms;
}

static double time_decay(const struct pacing_rate *r, int64_t now_ms)
{
    if (r->half_life_ms <= 0 || now_ms <= r->last_ms)
        return 1.0;
    return exp2(-(double)(now_ms - r->last_ms) / r->half_life_ms);
}

void pacing_rate_observe(struct pacing_rate *r, int64_t now_ms, int hit)
{
    double d = time_decay(r, now_ms);
    if (r->half_life_obs > 0)
        d *= exp2(-1.0 / r->half_life_obs);
    r->weight = r->weight * d + 1.0;
    r->hits = r->hits * d + (hit ? 1.0 : 0.0);
    if (now_ms > r->last_ms)
        r->last_ms = now_ms;
}

double pacing_rate_value(const struct pacing_rate *r, int64_t now_ms)
{
    double d = time_decay(r, now_ms);
    return (r->hits * d + r->prior_p * r->prior_weight) / (r->weight * d + r->prior_weight);
}

double pacing_rate_weight(const struct pacing_rate *r, int64_t now_ms)
{
    return r->weight * time_decay(r, now_ms);
}

/* ---- histograms -------------------------------------------------------- */

void pacing_hist_init(struct pacing_hist *h, uint32_t bin_ms, double half_life_obs)
{
    memset(h, 0, sizeof(*h));
    h->bin_ms = bin_ms ? bin_ms : 1;
    h->inc = 1.0;
    h->decay = half_life_obs > 0 ? exp2(-1.0 / half_life_obs) : 1.0;
}

/* Old weights decay by growing the weight of new ones; rescale before overflow. */
static void hist_rescale(struct pacing_hist *h)
{
    if (h->inc < 1e100)
        return;
    for (int i = 0; i < PACING_HIST_BINS; i++)
        h->w[i] /= h->inc;
    h->total /= h->inc;
    h->inc = 1.0;
}

void pacing_hist_prior(struct pacing_hist *h, uint32_t lo_ms, uint32_t hi_ms, double weight)
{
    if (hi_ms <= lo_ms)
        hi_ms = lo_ms + 1;
    double span = (double)(hi_ms - lo_ms);
    for (int i = 0; i < PACING_HIST_BINS; i++) {
        double a = (double)i * h->bin_ms, b = a + h->bin_ms;
        if (i == PACING_HIST_BINS - 1)
            b = INFINITY;
        double lo = fmax(a, lo_ms), hi = fmin(b, hi_ms);
        if (hi > lo) {
            double w = weight * h->inc * (hi - lo) / span;
            h->w[i] += w;
            h->total += w;
        }
    }
}

void pacing_hist_observe(struct pacing_hist *h, uint32_t x_ms)
{
    h->inc /= h->decay;
    size_t b = x_ms / h->bin_ms;
    if (b >= PACING_HIST_BINS)
        b = PACING_HIST_BINS - 1;
    h->w[b] += h->inc;
    h->total += h->inc;
    hist_rescale(h);
}

double pacing_hist_cdf(const struct pacing_hist *h, double x_ms)
{
    if (h->total <= 0 || x_ms <= 0)
        return 0.0;
    double pos = x_ms / h->bin_ms;
    if (pos >= PACING_HIST_BINS)
        return 1.0;
    int b = (int)pos;
    double s = 0;
    for (int i = 0; i < b; i++)
        s += h->w[i];
    s += h->w[b] * (pos - b);
    return fmin(1.0, s / h->total);
}

double pacing_hist_quantile(const struct pacing_hist *h, double q)
{
    if (h->total <= 0)
        return 0.0;
    double want = q * h->total, s = 0;
    for (int i = 0; i < PACING_HIST_BINS; i++) {
        if (s + h->w[i] >= want && h->w[i] > 0)
            return ((double)i + (want - s) / h->w[i]) * h->bin_ms;
        s += h->w[i];
    }
    return (double)PACING_HIST_BINS * h->bin_ms;
}

/* ---- lognormal --------------------------------------------------------- */

void pacing_lognormal_init(struct pacing_lognormal *l, double mean_ms, double cv,
                           double prior_weight, double half_life_obs)
{
    double s2 = log1p(cv * cv);
    double mu = log(mean_ms) - s2 / 2;
    l->w = prior_weight;
    l->s1 = prior_weight * mu;
    l->s2 = prior_weight * (s2 + mu * mu);
    l->decay = half_life_obs > 0 ? exp2(-1.0 / half_life_obs) : 1.0;
}

void pacing_lognormal_observe(struct pacing_lognormal *l, double x_ms)
{
    double y = log(fmax(x_ms, 1.0));
    l->w = l->w * l->decay + 1;
    l->s1 = l->s1 * l->decay + y;
    l->s2 = l->s2 * l->decay + y * y;
}

void pacing_lognormal_params(const struct pacing_lognormal *l, double *mu, double *sigma)
{
    double m = l->w > 0 ? l->s1 / l->w : 0;
    double v = l->w > 0 ? l->s2 / l->w - m * m : 0;
    *mu = m;
    *sigma = sqrt(fmax(v, 0.05 * 0.05));
}

double pacing_lognormal_mean(const struct pacing_lognormal *l)
{
    double mu, sigma;
    pacing_lognormal_params(l, &mu, &sigma);
    return exp(mu + sigma * sigma / 2);
}

/* ---- the pacing object's observations ---------------------------------- */

void pacing_config_default(struct pacing_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mode = PACING_PREDICTIVE;
    cfg->abandon_cap = 0.03;
    cfg->grace_ms = 2000;
    cfg->connect_latency_ms = 250;
    cfg->safety_z = 2.0;
    cfg->overdispersion = 3.0;
    cfg->max_target_factor = 1.0;
    cfg->max_lines_per_agent = 20;
    cfg->prior_answer_rate = 0.6;
    cfg->prior_machine_rate = 0.1;
    cfg->prior_talk_ms = 120000;
    cfg->prior_talk_cv = 1.0;
    cfg->prior_wrap_ms = 20000;
    cfg->no_answer_timeout_ms = 25000;
}

int pacing_init(struct pacing *p, const struct pacing_config *cfg)
{
    if (!p || !cfg)
        return WAIHU_EINVAL;
    if (cfg->mode != PACING_PROGRESSIVE && cfg->mode != PACING_PREDICTIVE)
        return WAIHU_EINVAL;
    if (!(cfg->abandon_cap > 0 && cfg->abandon_cap < 1) || cfg->grace_ms == 0 ||
        cfg->connect_latency_ms >= cfg->grace_ms || !(cfg->safety_z >= 0) ||
        !(cfg->overdispersion >= 1) || !(cfg->max_target_factor >= 1) ||
        !(cfg->max_lines_per_agent >= 1) || !(cfg->prior_answer_rate > 0 && cfg->prior_answer_rate <= 1) ||
        !(cfg->prior_machine_rate >= 0 && cfg->prior_machine_rate < 1) || !(cfg->prior_talk_ms >= 1000) ||
        !(cfg->prior_talk_cv > 0) || !(cfg->prior_wrap_ms >= 0) || cfg->no_answer_timeout_ms < 1000 ||
        cfg->no_answer_timeout_ms > 100000)
        return WAIHU_EINVAL;

    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    /* Half-lives in time, not in calls: a window of calls shorter than the
     * ring timeout would see only the quick outcomes of a large team. Fast: 5
     * minutes; slow: an hour. */
    pacing_rate_init(&p->answer_fast, cfg->prior_answer_rate, 10, 0, 5 * 60e3);
    pacing_rate_init(&p->answer_slow, cfg->prior_answer_rate, 10, 0, 60 * 60e3);
    pacing_rate_init(&p->machine, cfg->prior_machine_rate, 10, 1000, 120 * 60e3);

    double to = cfg->no_answer_timeout_ms;
    pacing_hist_init(&p->ring, PACING_RING_BIN_MS, 1000);
    pacing_hist_prior(&p->ring, 2000, (uint32_t)(to * 0.8), 10);
    pacing_hist_init(&p->noanswer, PACING_RING_BIN_MS, 1000);
    pacing_hist_prior(&p->noanswer, (uint32_t)(to * 0.9), (uint32_t)(to * 1.1), 10);
    pacing_hist_init(&p->detect, PACING_DETECT_BIN_MS, 500);
    pacing_hist_prior(&p->detect, 500, 2500, 10);
    pacing_hist_init(&p->wrap, PACING_WRAP_BIN_MS, 500);
    pacing_hist_prior(&p->wrap, (uint32_t)(cfg->prior_wrap_ms * 0.5),
                      (uint32_t)(cfg->prior_wrap_ms * 1.5 + 1), 10);
    pacing_lognormal_init(&p->talk, cfg->prior_talk_ms, cfg->prior_talk_cv, 20, 2000);

    p->log_theta = log(0.05);
    p->talk_mu = NAN;
    return 0;
}

static int64_t floor_s(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static void fold(struct pacing *p, int64_t now_ms, double answered, double calls)
{
    /* Counts, not single calls: decays stay per time (half_life_obs is 0). */
    for (double i = 0; i < calls; i++) {
        int hit = i < answered;
        pacing_rate_observe(&p->answer_fast, now_ms, hit);
        pacing_rate_observe(&p->answer_slow, now_ms, hit);
    }
}

/* Folds every cohort whose calls have all ended by now. */
void pacing_cohorts_advance(struct pacing *p, int64_t now_ms)
{
    if (!p->cohort_started)
        return;
    int64_t horizon_s = p->cfg.no_answer_timeout_ms / 1000 + 10;
    int64_t last = floor_s(now_ms) - horizon_s; /* cohorts <= last are complete */
    if (last - p->cohort_first_s >= PACING_COHORT_S) /* a long pause: fold all */
        last = p->cohort_first_s + PACING_COHORT_S - 1;
    for (; p->cohort_first_s <= last; p->cohort_first_s++) {
        size_t b = (size_t)(p->cohort_first_s % PACING_COHORT_S + PACING_COHORT_S) % PACING_COHORT_S;
        if (p->cohort_calls[b] > 0)
            fold(p, now_ms, p->cohort_answered[b], p->cohort_calls[b]);
        p->cohort_answered[b] = p->cohort_calls[b] = 0;
    }
    if (floor_s(now_ms) - horizon_s > p->cohort_first_s)
        p->cohort_first_s = floor_s(now_ms) - horizon_s;
}

void pacing_observe_call(struct pacing *p, int64_t now_ms, enum pacing_outcome outcome,
                         uint32_t ring_ms, uint32_t detect_ms)
{
    int answered = outcome != PACING_OUT_NOANSWER;
    int64_t launch_s = floor_s(now_ms - ring_ms - (answered ? detect_ms : 0));
    if (!p->cohort_started) {
        p->cohort_started = 1;
        p->cohort_first_s = launch_s;
    }
    pacing_cohorts_advance(p, now_ms);
    if (launch_s < p->cohort_first_s || launch_s >= p->cohort_first_s + PACING_COHORT_S) {
        fold(p, now_ms, answered, 1); /* late or odd: learn at once */
    } else {
        size_t b = (size_t)(launch_s % PACING_COHORT_S + PACING_COHORT_S) % PACING_COHORT_S;
        p->cohort_answered[b] += answered;
        p->cohort_calls[b] += 1;
    }
    if (!answered) {
        pacing_hist_observe(&p->noanswer, ring_ms);
        return;
    }
    pacing_hist_observe(&p->ring, ring_ms);
    pacing_rate_observe(&p->machine, now_ms, outcome == PACING_OUT_MACHINE);
    if (outcome == PACING_OUT_MACHINE)
        return;
    pacing_hist_observe(&p->detect, detect_ms);
    if (now_ms > p->live_ms) {
        p->live_count *= exp(-(double)(now_ms - p->live_ms) / PACING_LIVE_TAU_MS);
        p->live_ms = now_ms;
    }
    p->live_count += 1;
    if (outcome == PACING_OUT_ABANDONED)
        p->bias_real += 1.0;
}

void pacing_observe_talk(struct pacing *p, uint32_t talk_ms)
{
    pacing_lognormal_observe(&p->talk, talk_ms);
}

void pacing_observe_wrap(struct pacing *p, uint32_t wrap_ms)
{
    pacing_hist_observe(&p->wrap, wrap_ms);
}
