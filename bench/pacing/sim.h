/* Discrete-event simulator of an outbound campaign driving the pacing module.
 *
 * The world (leads, carriers, agents) is drawn from seeded generators; every
 * policy sees the same leads in the same order (common random numbers). A
 * policy sees only what a real dialer sees: agent states and elapsed times,
 * calls in flight and their ages, outcomes of finished calls. Only the oracle
 * reads the leads' outcomes before dialing them. */
#ifndef WAIHU_PACING_SIM_H
#define WAIHU_PACING_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "pacing.h"

#define SIM_MAX_DAYS 30

enum policy_kind {
    POL_PROGRESSIVE = 0, /* pacing module, progressive mode (1:1) */
    POL_RATIO,           /* fixed dial ratio per ready agent */
    POL_VICIDIAL,        /* VICIdial-style ADAPT_TAPERED adaptive dial level */
    POL_PREDICTIVE,      /* pacing module, predictive mode */
    POL_ORACLE,          /* knows every lead's outcome, ring and handle times */
    POL_COUNT,
    POL_MATCHED = POL_COUNT, /* predictive with its cap lowered to vicidial's abandon rate */
};

struct scenario {
    const char *name;
    uint32_t agents;
    double answer_rate;    /* P(answered by someone or something) per dial */
    double machine_rate;   /* share of answered calls that are machines (AMD catches them) */
    double talk_mean_s;    /* lognormal mean */
    double talk_sigma;     /* lognormal shape */
    double wrap_lo_s, wrap_hi_s;
    uint32_t days;
    uint32_t shift_s;
    double drop_factor;    /* answer rate multiplier during the mid-day drop */
    uint32_t drop_from_s, drop_to_s;
    uint64_t seed;
};

struct day_stats {
    uint64_t dials, live, abandoned, connects;
    double busy_s; /* talk + wrap inside the shift, summed over agents */
};

struct run_stats {
    enum policy_kind policy;
    uint32_t days;
    struct day_stats day[SIM_MAX_DAYS];
    double agent_hours;
    double occupancy, calls_per_ah, connects_per_ah;
    double abandon_total, abandon_max_day, abandon_mean_day;
    double theta_mean, target_mean; /* predictive diagnostics */
};

/* Runs one policy over a scenario. cap: the predictive policies' abandon cap. */
void sim_run(const struct scenario *sc, enum policy_kind policy, double cap, struct run_stats *out);

const char *sim_policy_name(enum policy_kind p);

/* Fixed dial ratio and VICIdial-style settings used by the baselines. */
#define SIM_FIXED_RATIO 2.0
#define SIM_VICI_DROP_PCT 3.0
#define SIM_VICI_MAX_LEVEL 12.0
#define SIM_VICI_UP_GAIN 0.01
#define SIM_VICI_ADAPT_S 15

#endif
