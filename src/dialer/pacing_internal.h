/* Private to the pacing module: the model snapshot and the risk evaluator. */
#ifndef WAIHU_PACING_INTERNAL_H
#define WAIHU_PACING_INTERNAL_H

#include "pacing.h"

#define PACING_RING_BIN_MS 500u   /* ring and no-answer histograms: 64 s */
#define PACING_DETECT_BIN_MS 100u /* AMD verdict delay: 12.8 s */
#define PACING_WRAP_BIN_MS 1000u  /* wrap-up: 128 s */

#define PACING_WRAP_Q 3   /* wrap-up quadrature points */
#define PACING_TAU 6      /* quantiles of the new call's answer time */
#define PACING_J (PACING_TAU + 1) /* ... plus the end of the in-flight horizon */
#define PACING_DPW 512    /* exact distribution width (values) */
/* Ringing calls are grouped by age in bins of this width (ms): the answer-time
 * law barely moves within a bin, and large teams have hundreds of calls. */
#define PACING_AGE_BIN_MS 250u
#define PACING_AGE_BINS 256u

/* Everything a decision needs, derived once from the estimators. */
struct pacing_model {
    double p_answer, p_machine, p_live;
    double ring_cdf[PACING_HIST_BINS + 1];  /* at bin edges */
    double noans_cdf[PACING_HIST_BINS + 1];
    double wrap_cdf[PACING_HIST_BINS + 1];
    double wrap_q[PACING_WRAP_Q];           /* wrap-up quantiles, ms */
    double wrap_mean_ms, talk_mean_ms;
    double detect_ms;                       /* mean human-verdict delay */
    double tau_ms[PACING_J];                /* when the new call needs an agent */
    double q_new[PACING_J];                 /* P(a new call needs an agent by tau_j) */
    double supply_ms[PACING_J];             /* agents free by this time can take it */
};

/* Exact (small teams) or normal-with-skew (large) law of
 * X_j = agents free by supply_ms[j] - calls needing one by tau_ms[j]. */
struct pacing_dist {
    int exact;
    /* exact: X = c + index, mass in pmf[lo..hi) */
    double pmf[PACING_J][PACING_DPW];
    int lo[PACING_J], hi[PACING_J];
    double c[PACING_J];
    /* moments (always kept) */
    double mean[PACING_J], var[PACING_J], k3[PACING_J];
};

/* in may be NULL (no calls in flight to correct the answer rate with). */
/* Folds finished launch cohorts into the answer rates. */
void pacing_cohorts_advance(struct pacing *p, int64_t now_ms);

void pacing_model_build(struct pacing *p, const struct pacing_input *in, struct pacing_model *m);
/* Builds the law of X_j from the input; returns the number of available agents. */
size_t pacing_dist_build(const struct pacing *p, const struct pacing_model *m,
                         const struct pacing_input *in, struct pacing_dist *d);
/* Marginal P(abandon | live) of one more call given d (suffix max over j, averaged). */
double pacing_dist_risk(const struct pacing_dist *d);
/* Counts one more launched call (needing an agent by tau_j with q_new[j]). */
void pacing_dist_add_new(const struct pacing_model *m, struct pacing_dist *d);

#endif
