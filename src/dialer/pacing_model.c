/* Pacing model: when agents free up, when calls in flight need an agent, and
 * the law of the difference, exact for small teams and normal with a skew
 * correction for large ones. */
#include <math.h>
#include <string.h>

#include "pacing.h"
#include "pacing_internal.h"

#define EPS_P 1e-9     /* probabilities closer than this to 0 or 1 are certain */
#define EXACT_VAR 9.0  /* exact convolution while the variance is this small */
#define TRIM 1e-15     /* mass dropped at the tails of the exact law */
#define EXACT_ITEMS 96 /* ... and while few items are uncertain (cost) */

static double phi_cdf(double z)
{
    return 0.5 * erfc(-z / M_SQRT2);
}

/* Standard normal CDF to ~1e-7 (Zelen & Severo, A&S 26.2.17): one exp, no erfc. */
static double phi_fast(double z)
{
    double t = 1 / (1 + 0.2316419 * fabs(z));
    double poly = t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
    double tail = exp(-0.5 * z * z) * 0.3989422804014327 * poly;
    return z >= 0 ? 1 - tail : tail;
}

static double phi_pdf(double z)
{
    return exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

/* ---- the model snapshot ------------------------------------------------- */

static inline double dmin(double a, double b)
{
    return a < b ? a : b;
}

static void hist_edges(const struct pacing_hist *h, double *cdf)
{
    double s = 0, inv = h->total > 0 ? 1 / h->total : 0;
    cdf[0] = 0;
    for (int i = 0; i < PACING_HIST_BINS; i++) {
        s += h->w[i];
        cdf[i + 1] = inv > 0 ? dmin(1.0, s * inv) : 1.0;
    }
    cdf[PACING_HIST_BINS] = 1.0;
}

static double edges_cdf(const double *cdf, double bin_ms, double x_ms)
{
    if (x_ms <= 0)
        return 0.0;
    double pos = x_ms / bin_ms;
    if (pos >= PACING_HIST_BINS)
        return 1.0;
    int b = (int)pos;
    return cdf[b] + (cdf[b + 1] - cdf[b]) * (pos - b);
}

static double hist_mean(const struct pacing_hist *h)
{
    if (h->total <= 0)
        return 0;
    double s = 0;
    for (int i = 0; i < PACING_HIST_BINS; i++)
        s += h->w[i] * (i + 0.5) * h->bin_ms;
    return s / h->total;
}

static void talk_table(struct pacing *p)
{
    double mu, sigma;
    pacing_lognormal_params(&p->talk, &mu, &sigma);
    /* Talk-time estimates drift slowly: rebuild on a 0.5% change only. */
    if (fabs(mu - p->talk_mu) < 5e-3 && fabs(sigma - p->talk_sigma) < 5e-3)
        return;
    p->talk_mu = mu;
    p->talk_sigma = sigma;
    p->talk_cdf[0] = 0;
    for (int i = 1; i <= PACING_TALK_TABLE; i++)
        p->talk_cdf[i] = phi_cdf((log(i * 1000.0) - mu) / sigma);
}

static double talk_cdf(const struct pacing *p, double x_ms)
{
    if (x_ms <= 0)
        return 0;
    double pos = x_ms * 1e-3;
    if (pos >= PACING_TALK_TABLE)
        return phi_cdf((log(x_ms) - p->talk_mu) / p->talk_sigma);
    int b = (int)pos;
    return p->talk_cdf[b] + (p->talk_cdf[b + 1] - p->talk_cdf[b]) * (pos - b);
}

void pacing_model_build(struct pacing *p, const struct pacing_input *in, struct pacing_model *m)
{
    const struct pacing_config *cfg = &p->cfg;
    int64_t now_ms = in ? in->now_ms : 0;
    hist_edges(&p->ring, m->ring_cdf);
    hist_edges(&p->noanswer, m->noans_cdf);

    /* For abandons, over-estimating the answer rate is the safe error: a rise
     * shows first in the fast estimate, a fall only once the slow one agrees. */
    double fast = pacing_rate_value(&p->answer_fast, now_ms);
    double slow = pacing_rate_value(&p->answer_slow, now_ms);
    m->p_answer = fmin(1.0, fmax(fast, slow));
    m->p_machine = pacing_rate_value(&p->machine, now_ms);
    m->p_live = m->p_answer * (1 - m->p_machine);

    hist_edges(&p->wrap, m->wrap_cdf);
    for (int i = 0; i < PACING_WRAP_Q; i++)
        m->wrap_q[i] = pacing_hist_quantile(&p->wrap, (i + 0.5) / PACING_WRAP_Q);
    m->wrap_mean_ms = hist_mean(&p->wrap);
    m->detect_ms = hist_mean(&p->detect);
    talk_table(p);
    m->talk_mean_ms = pacing_lognormal_mean(&p->talk);

    double grace = (double)cfg->grace_ms - cfg->connect_latency_ms;
    for (int j = 0; j < PACING_J; j++) {
        double level = j < PACING_TAU ? (j + 0.5) / PACING_TAU : 0.995;
        double r = pacing_hist_quantile(&p->ring, level);
        if (j > 0 && r < m->tau_ms[j - 1] - m->detect_ms)
            r = m->tau_ms[j - 1] - m->detect_ms;
        m->tau_ms[j] = r + m->detect_ms;
        m->q_new[j] = m->p_live * edges_cdf(m->ring_cdf, PACING_RING_BIN_MS, r);
        m->supply_ms[j] = m->tau_ms[j] + grace;
    }
}

/* ---- items: agents (supply) and calls (demand) -------------------------- */

/* P(agent free by supply_ms[j]) for every j. Returns 0 if all are zero. */
static int agent_free(const struct pacing *p, const struct pacing_model *m,
                      const struct pacing_agent *a, double *out)
{
    double e = a->elapsed_ms;
    switch (a->state) {
    case PACING_AGENT_READY:
        for (int j = 0; j < PACING_J; j++)
            out[j] = 1.0;
        return 1;
    case PACING_AGENT_WRAP: {
        double fe = edges_cdf(m->wrap_cdf, PACING_WRAP_BIN_MS, e), se = 1 - fe;
        for (int j = 0; j < PACING_J; j++) {
            double u = m->supply_ms[j];
            if (se < 1e-6) /* longer than any wrap-up seen: a memoryless guess */
                out[j] = 1 - exp(-u / fmax(1000.0, m->wrap_mean_ms));
            else
                out[j] = (edges_cdf(m->wrap_cdf, PACING_WRAP_BIN_MS, e + u) - fe) / se;
        }
        return 1;
    }
    case PACING_AGENT_TALK: {
        double fe = talk_cdf(p, e), se = 1 - fe;
        if (se < 1e-12)
            return 0;
        /* Cheap test at the far horizon: most long-remaining agents stop here. */
        double far = 0;
        double u_far = m->supply_ms[PACING_J - 1];
        far = talk_cdf(p, e + u_far - m->wrap_q[0]) - fe;
        if (far / se < 1e-7)
            return 0;
        for (int j = 0; j < PACING_J; j++) {
            double u = m->supply_ms[j], s = 0;
            for (int q = 0; q < PACING_WRAP_Q; q++) {
                double d = talk_cdf(p, e + u - m->wrap_q[q]) - fe;
                if (d > 0)
                    s += d;
            }
            out[j] = dmin(1.0, s / PACING_WRAP_Q / se);
        }
        return 1;
    }
    case PACING_AGENT_OFF:
    default:
        return 0;
    }
}

/* P(call needs an agent by tau_ms[j]) for every j. */
static int call_need(const struct pacing_model *m, const struct pacing_call *c, double *out)
{
    switch (c->state) {
    case PACING_CALL_WAITING:
        for (int j = 0; j < PACING_J; j++)
            out[j] = 1.0;
        return 1;
    case PACING_CALL_DETECTING:
        for (int j = 0; j < PACING_J; j++)
            out[j] = 1 - m->p_machine;
        return 1;
    case PACING_CALL_RINGING: {
        double a = c->age_ms, p = m->p_answer;
        double fr = edges_cdf(m->ring_cdf, PACING_RING_BIN_MS, a);
        double z = p * (1 - fr) + (1 - p) * (1 - edges_cdf(m->noans_cdf, PACING_RING_BIN_MS, a));
        if (z < 1e-12)
            return 0;
        double k = p * (1 - m->p_machine) / z;
        for (int j = 0; j < PACING_J; j++) {
            double d = edges_cdf(m->ring_cdf, PACING_RING_BIN_MS, a + m->tau_ms[j] - m->detect_ms) - fr;
            out[j] = d > 0 ? dmin(1.0, k * d) : 0;
        }
        return 1;
    }
    default:
        return 0;
    }
}

/* ---- the law of X_j --------------------------------------------------- */

/* Adds a Bernoulli(q) (a supply item, or 1 - demand with the constant -1). */
static void moments_add(struct pacing_dist *d, int j, double q)
{
    if (q < EPS_P)
        return;
    if (q > 1 - EPS_P) {
        d->c[j] += 1;
        return;
    }
    double v = q * (1 - q);
    d->mean[j] += q;
    d->var[j] += v;
    d->k3[j] += v * (1 - 2 * q);
}

static void exact_add(struct pacing_dist *d, int j, double q)
{
    if (q < EPS_P || q > 1 - EPS_P)
        return; /* constants are in c[] already */
    double *f = d->pmf[j];
    int lo = d->lo[j], hi = d->hi[j];
    if (hi >= PACING_DPW) { /* slide the window to the start */
        memmove(f, f + lo, (size_t)(hi - lo) * sizeof(*f));
        d->c[j] += lo;
        hi -= lo;
        lo = 0;
    }
    f[hi] = f[hi - 1] * q;
    for (int i = hi - 1; i > lo; i--)
        f[i] = f[i] * (1 - q) + f[i - 1] * q;
    f[lo] *= 1 - q;
    hi++;
    while (hi - lo > 1 && f[lo] < TRIM)
        lo++;
    while (hi - lo > 1 && f[hi - 1] < TRIM)
        hi--;
    d->lo[j] = lo;
    d->hi[j] = hi;
}

static void item_add(struct pacing_dist *d, const double *q, int demand, int pass)
{
    for (int j = 0; j < PACING_J; j++) {
        double b = demand ? 1 - q[j] : q[j];
        if (pass == 0) {
            if (demand)
                d->c[j] -= 1;
            moments_add(d, j, b);
        } else {
            exact_add(d, j, b);
        }
    }
}


/* Uncertain items kept from the moments pass, replayed by the exact pass. */
struct item {
    double q[PACING_J];
    uint32_t n;
    int demand;
};

static int uncertain(const double *q, int demand)
{
    for (int j = 0; j < PACING_J; j++) {
        double b = demand ? 1 - q[j] : q[j];
        if (b >= EPS_P && b <= 1 - EPS_P)
            return 1;
    }
    return 0;
}

/* Adds n identical items to the constants and moments; remembers uncertain ones. */
static void add_items(struct pacing_dist *d, const double *q, int demand, uint32_t n,
                      struct item *keep, size_t *n_keep, size_t *n_uncertain)
{
    for (int j = 0; j < PACING_J; j++) {
        double b = demand ? 1 - q[j] : q[j];
        if (demand)
            d->c[j] -= n;
        if (b < EPS_P)
            continue;
        if (b > 1 - EPS_P) {
            d->c[j] += n;
            continue;
        }
        double v = b * (1 - b);
        d->mean[j] += n * b;
        d->var[j] += n * v;
        d->k3[j] += n * v * (1 - 2 * b);
    }
    if (!uncertain(q, demand))
        return;
    *n_uncertain += n;
    if (*n_keep < EXACT_ITEMS) {
        memcpy(keep[*n_keep].q, q, sizeof(keep[*n_keep].q));
        keep[*n_keep].n = n;
        keep[*n_keep].demand = demand;
    }
    (*n_keep)++;
}

size_t pacing_dist_build(const struct pacing *p, const struct pacing_model *m,
                         const struct pacing_input *in, struct pacing_dist *d)
{
    double q[PACING_J];
    struct item keep[EXACT_ITEMS];
    size_t avail = 0, n_keep = 0, n_uncertain = 0;
    uint32_t ring_bins[PACING_AGE_BINS];
    memset(ring_bins, 0, sizeof(ring_bins));
    for (int j = 0; j < PACING_J; j++) {
        d->c[j] = 0;
        d->mean[j] = d->var[j] = d->k3[j] = 0;
    }
    for (size_t i = 0; i < in->n_agents; i++) {
        if (in->agents[i].state != PACING_AGENT_OFF)
            avail++;
        if (agent_free(p, m, &in->agents[i], q))
            add_items(d, q, 0, 1, keep, &n_keep, &n_uncertain);
    }
    for (size_t i = 0; i < in->n_calls; i++) {
        const struct pacing_call *c = &in->calls[i];
        if (c->state == PACING_CALL_RINGING && c->age_ms / PACING_AGE_BIN_MS < PACING_AGE_BINS) {
            ring_bins[c->age_ms / PACING_AGE_BIN_MS]++;
            continue;
        }
        if (call_need(m, c, q))
            add_items(d, q, 1, 1, keep, &n_keep, &n_uncertain);
    }
    for (uint32_t b = 0; b < PACING_AGE_BINS; b++) {
        if (!ring_bins[b])
            continue;
        struct pacing_call c = {PACING_CALL_RINGING, b * PACING_AGE_BIN_MS + PACING_AGE_BIN_MS / 2};
        if (call_need(m, &c, q))
            add_items(d, q, 1, ring_bins[b], keep, &n_keep, &n_uncertain);
    }
    double vmax = 0;
    for (int j = 0; j < PACING_J; j++)
        vmax = fmax(vmax, d->var[j]);
    d->exact = vmax <= EXACT_VAR && n_uncertain <= EXACT_ITEMS && n_keep <= EXACT_ITEMS;
    if (!d->exact)
        return avail;
    for (int j = 0; j < PACING_J; j++) {
        d->pmf[j][0] = 1.0;
        d->lo[j] = 0;
        d->hi[j] = 1;
    }
    for (size_t i = 0; i < n_keep; i++)
        for (uint32_t k = 0; k < keep[i].n; k++)
            item_add(d, keep[i].q, keep[i].demand, 1);
    return avail;
}

void pacing_dist_add_new(const struct pacing_model *m, struct pacing_dist *d)
{
    item_add(d, m->q_new, 1, 0);
    if (d->exact)
        item_add(d, m->q_new, 1, 1);
}

/* P(X_j <= 0): the call finds no agent left for it. */
static double p_short(const struct pacing_dist *d, int j)
{
    if (d->exact) {
        double s = 0;
        for (int i = d->lo[j]; i < d->hi[j] && d->c[j] + i <= 0.5; i++)
            s += d->pmf[j][i];
        return fmin(1.0, s);
    }
    double mean = d->c[j] + d->mean[j], var = d->var[j];
    if (var < 1e-12)
        return mean <= 0.5 ? 1.0 : 0.0;
    double sd = sqrt(var), z = (0.5 - mean) / sd;
    double g = d->k3[j] / (var * sd);
    double pr = phi_fast(z) - phi_pdf(z) * g / 6 * (z * z - 1);
    return fmin(1.0, fmax(0.0, pr));
}

double pacing_dist_risk(const struct pacing_dist *d)
{
    double pj[PACING_J];
    for (int j = 0; j < PACING_J; j++)
        pj[j] = p_short(d, j);
    /* If the call takes an agent that a call answering later needed, that
     * later call is abandoned instead: the marginal risk at tau_j is at least
     * the risk at any later point, up to the end of the in-flight horizon. */
    for (int j = PACING_J - 2; j >= 0; j--)
        pj[j] = fmax(pj[j], pj[j + 1]);
    double s = 0;
    for (int j = 0; j < PACING_TAU; j++)
        s += pj[j];
    return s / PACING_TAU;
}
