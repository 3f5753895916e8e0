/* Waihu dialer pacing: how many calls to launch now.
 *
 * A pure module: no I/O, no clock of its own, no globals. Every result is a
 * deterministic function of the configuration, the observations fed in (in
 * order) and the decision input. All state lives in caller memory
 * (struct pacing); the caller owns it and must not share one object between
 * threads. The live dialer drives it from the core loop; bench/pacing drives
 * it from a discrete-event simulator with virtual time.
 *
 * Modes:
 *  - progressive: one call per ready agent not already covered by a call in
 *    flight (no abandon is possible);
 *  - predictive: models when each busy agent frees (talk and wrap-up
 *    distributions conditioned on elapsed time), when each call in flight
 *    needs an agent (ring-time distribution conditioned on age, answer and
 *    machine rates), and launches a call while its marginal probability of
 *    being abandoned stays under a threshold that a budget controller sets
 *    from today's and the rolling window's abandon budget. See docs/pacing.md.
 */
#ifndef WAIHU_PACING_H
#define WAIHU_PACING_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* ---------------------------------------------------------------------------
 * Estimators: pure building blocks over observations fed by the caller.
 * ------------------------------------------------------------------------- */

/* A proportion (answer rate, machine rate) with exponential forgetting, both
 * per observation (half_life_obs) and per elapsed time (half_life_ms, so that
 * an overnight pause forgets stale rates), shrunk toward a prior. */
struct pacing_rate {
    double weight;       /* decayed number of observations */
    double hits;         /* decayed number of hits */
    int64_t last_ms;     /* time of the last observation */
    double prior_p;      /* prior proportion */
    double prior_weight; /* prior strength, in observations */
    double half_life_obs;
    double half_life_ms;
};

WAIHU_API void pacing_rate_init(struct pacing_rate *r, double prior_p, double prior_weight,
                                double half_life_obs, double half_life_ms);
/* Adds one observation (hit != 0 counts as a hit) seen at now_ms. */
WAIHU_API void pacing_rate_observe(struct pacing_rate *r, int64_t now_ms, int hit);
/* Posterior mean at now_ms (time decay applied, r unchanged). */
WAIHU_API double pacing_rate_value(const struct pacing_rate *r, int64_t now_ms);
/* Effective number of observations at now_ms (without the prior). */
WAIHU_API double pacing_rate_weight(const struct pacing_rate *r, int64_t now_ms);

/* A duration distribution as a histogram of fixed-width bins with forgetting
 * per observation. Values past the last bin land in the last bin. */
#define PACING_HIST_BINS 128
struct pacing_hist {
    double w[PACING_HIST_BINS];
    double total;
    double inc;          /* weight of the next observation (grows to decay the old) */
    double decay;        /* per-observation decay factor */
    uint32_t bin_ms;
};

WAIHU_API void pacing_hist_init(struct pacing_hist *h, uint32_t bin_ms, double half_life_obs);
/* Adds weight pseudo-observations spread uniformly over [lo_ms, hi_ms]. */
WAIHU_API void pacing_hist_prior(struct pacing_hist *h, uint32_t lo_ms, uint32_t hi_ms, double weight);
WAIHU_API void pacing_hist_observe(struct pacing_hist *h, uint32_t x_ms);
/* P(X <= x_ms), linear inside a bin; 0 when the histogram is empty. */
WAIHU_API double pacing_hist_cdf(const struct pacing_hist *h, double x_ms);
/* Smallest x with cdf(x) >= q (linear inside a bin); 0 when empty. */
WAIHU_API double pacing_hist_quantile(const struct pacing_hist *h, double q);

/* A lognormal fit by decayed moments of ln(x), with a prior. */
struct pacing_lognormal {
    double w, s1, s2;    /* decayed count, sum ln x, sum (ln x)^2 */
    double decay;
};

/* mean_ms and cv define the prior; prior_weight is its strength. */
WAIHU_API void pacing_lognormal_init(struct pacing_lognormal *l, double mean_ms, double cv,
                                     double prior_weight, double half_life_obs);
WAIHU_API void pacing_lognormal_observe(struct pacing_lognormal *l, double x_ms);
/* Parameters of ln X (mu in ln ms); sigma is at least 0.05. */
WAIHU_API void pacing_lognormal_params(const struct pacing_lognormal *l, double *mu, double *sigma);
WAIHU_API double pacing_lognormal_mean(const struct pacing_lognormal *l);

/* ---------------------------------------------------------------------------
 * Decision input
 * ------------------------------------------------------------------------- */

enum pacing_mode { PACING_PROGRESSIVE = 0, PACING_PREDICTIVE = 1 };

enum pacing_agent_state {
    PACING_AGENT_OFF = 0, /* paused, on break, logged out: not counted */
    PACING_AGENT_READY,   /* waiting for a call */
    PACING_AGENT_TALK,    /* connected to a call */
    PACING_AGENT_WRAP,    /* after-call work */
};

struct pacing_agent {
    enum pacing_agent_state state;
    uint32_t elapsed_ms; /* time spent in the current state */
};

enum pacing_call_state {
    PACING_CALL_RINGING = 0, /* launched, not answered; age since launch */
    PACING_CALL_DETECTING,   /* answered, answering-machine detection running */
    PACING_CALL_WAITING,     /* a live person waiting for an agent (2-second rule running) */
};

struct pacing_call {
    enum pacing_call_state state;
    uint32_t age_ms; /* since launch (ringing) or since answer (detecting, waiting) */
};

/* Live answers (connected + abandoned) and abandons of one campaign. */
struct pacing_tally {
    uint64_t live;
    uint64_t abandoned;
};

struct pacing_input {
    int64_t now_ms;                  /* caller's monotonic time (virtual in tests) */
    const struct pacing_agent *agents;
    size_t n_agents;
    const struct pacing_call *calls; /* calls in flight not yet with an agent */
    size_t n_calls;
    struct pacing_tally today;       /* since the start of the campaign's day */
    struct pacing_tally window;      /* over the rolling window (e.g. 30 days), today included */
    uint32_t day_remaining_s;        /* dialing time left today; 0 = unknown */
    uint32_t max_launch;             /* trunk, CPS or lead headroom; 0 = no limit */
};

/* Outcome of a call as fed to pacing_observe_call. */
enum pacing_outcome {
    PACING_OUT_NOANSWER = 0, /* busy, no answer, unreachable: ring_ms = launch to end */
    PACING_OUT_MACHINE,      /* answering machine detected: ring_ms = launch to answer */
    PACING_OUT_LIVE,         /* live person connected to an agent */
    PACING_OUT_ABANDONED,    /* live person, no agent within the grace time */
};

/* Why the decision launched no more than it did. */
enum pacing_reason {
    PACING_WHY_RISK = 0,   /* the next call's abandon risk is over the threshold */
    PACING_WHY_NO_AGENTS,  /* no agent is logged in and available */
    PACING_WHY_BUDGET,     /* today's or the window's abandon budget is spent: zero-risk only */
    PACING_WHY_LIMIT,      /* max_launch or the lines-per-agent cap */
    PACING_WHY_PROGRESSIVE,/* progressive mode: one call per uncovered ready agent */
};

struct pacing_decision {
    uint32_t launch;       /* calls to launch now */
    enum pacing_reason reason;
    double risk_next;      /* predicted P(abandon | live) of one more call */
    double threshold;      /* marginal-risk threshold in force */
    double target_rate;    /* abandon rate aimed at for the rest of the day */
    double p_live;         /* live-answer probability per call used */
    uint32_t ready;        /* ready agents seen */
};

/* ---------------------------------------------------------------------------
 * Configuration and state
 * ------------------------------------------------------------------------- */

struct pacing_config {
    enum pacing_mode mode;
    double abandon_cap;          /* legal cap, fraction of live answers (0.03) */
    uint32_t grace_ms;           /* a live answer must get an agent within this (2000) */
    uint32_t connect_latency_ms; /* bridge set-up time eaten from the grace (250) */
    double safety_z;             /* z-score of the daily budget reserve (2.0) */
    double overdispersion;       /* variance/mean of abandon counts (abandons cluster) (3.0) */
    double max_target_factor;    /* never aim above this x cap, even with budget left (1.0) */
    double max_lines_per_agent;  /* hard cap on calls in flight per available agent (20) */
    /* Priors used until observations arrive (and again after long pauses). */
    double prior_answer_rate;    /* conservative: high (0.6) */
    double prior_machine_rate;   /* conservative: low (0.1) */
    double prior_talk_ms;        /* (120000) */
    double prior_talk_cv;        /* (1.0) */
    double prior_wrap_ms;        /* (20000) */
    uint32_t no_answer_timeout_ms; /* the dialer's ring timeout (25000, at most 100000) */
};

/* Fills cfg with the defaults named above (predictive mode). */
WAIHU_API void pacing_config_default(struct pacing_config *cfg);

#define PACING_TALK_TABLE 7200 /* talk-time CDF on a 1 s grid: 2 hours */
#define PACING_COHORT_S 128   /* launch-second cohorts kept (>= ring timeout + 10 s) */
#define PACING_LIVE_TAU_MS (30 * 60 * 1000.0) /* memory of the live-answer rate */

/* The pacing object, in caller memory. Fields are private: use the functions. */
struct pacing {
    struct pacing_config cfg;
    /* estimators */
    struct pacing_rate answer_fast, answer_slow, machine;
    /* Answer outcomes by launch second, folded into the answer rates only once
     * every call of that second has ended (no censoring bias). */
    double cohort_answered[PACING_COHORT_S], cohort_calls[PACING_COHORT_S];
    int64_t cohort_first_s;       /* oldest launch second not folded yet */
    int cohort_started;
    struct pacing_hist ring;      /* launch -> answer, answered calls */
    struct pacing_hist noanswer;  /* launch -> end, unanswered calls */
    struct pacing_hist detect;    /* answer -> human verdict */
    struct pacing_hist wrap;      /* wrap-up durations */
    struct pacing_lognormal talk; /* talk durations */
    /* controller */
    double log_theta;             /* ln of the marginal-risk threshold */
    double pred_abandon, pred_live; /* decayed predicted abandons / live of launched calls */
    double bias_real, bias_pred;  /* decayed realised vs predicted abandons (model bias) */
    double live_count;            /* live answers, decayed with PACING_LIVE_TAU_MS */
    int64_t live_ms;              /* time of the last live answer */
    int64_t last_ms;
    uint64_t last_today_live;     /* to notice a new day (the tally restarts) */
    int started;
    /* cache rebuilt from the estimators */
    double talk_mu, talk_sigma;
    double talk_cdf[PACING_TALK_TABLE + 1];
};

/* Validates cfg and initialises p with priors. Returns 0 or WAIHU_EINVAL. */
WAIHU_API int pacing_init(struct pacing *p, const struct pacing_config *cfg);

/* Feeds the outcome of one call. ring_ms: launch to answer (answered calls) or
 * launch to end (PACING_OUT_NOANSWER). detect_ms: answer to the
 * answering-machine verdict (ignored for PACING_OUT_NOANSWER). The answer rate
 * learns from it once all calls launched in the same second have ended. */
WAIHU_API void pacing_observe_call(struct pacing *p, int64_t now_ms, enum pacing_outcome outcome,
                                   uint32_t ring_ms, uint32_t detect_ms);
/* Feeds one finished talk and its wrap-up. */
WAIHU_API void pacing_observe_talk(struct pacing *p, uint32_t talk_ms);
WAIHU_API void pacing_observe_wrap(struct pacing *p, uint32_t wrap_ms);

/* Decides how many calls to launch now. The caller launches out->launch calls
 * (or fewer) and reports them as calls in flight next time. Returns 0, or
 * WAIHU_EINVAL for a NULL or inconsistent input (out->launch is then 0). */
WAIHU_API int pacing_decide(struct pacing *p, const struct pacing_input *in,
                            struct pacing_decision *out);

/* Predicted P(abandon | live answer) of the k-th extra call launched now
 * (k >= 1), without changing p's controller. For tests and tools. */
WAIHU_API double pacing_risk(struct pacing *p, const struct pacing_input *in, uint32_t k);

#endif
