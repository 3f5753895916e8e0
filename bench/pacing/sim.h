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

/* A duration law of a custom scenario (pacing_sim --scenario), in ms: the laws
 * waihu-carrier draws from, plus the lognormal of the built-in world. */
enum sim_dist_kind { SIM_DIST_FIXED = 0, SIM_DIST_UNIFORM, SIM_DIST_NORMAL, SIM_DIST_EXP,
                     SIM_DIST_LOGNORMAL };

struct sim_dist {
    enum sim_dist_kind kind;
    double a_ms, b_ms;     /* fixed: a; uniform: [a, b]; normal: mean a, sd b; exp: mean a;
                              lognormal: mean a, shape b (not ms) */
    double min_ms, max_ms; /* clamp */
};

/* The world of a custom scenario; NULL in struct scenario means the built-in one. */
struct sim_custom {
    struct sim_dist ring;   /* launch -> answer, and launch -> end of calls that ring out */
    double ring_out;        /* share of unanswered calls that ring out; the rest fail at once */
    struct sim_dist talk;
    struct sim_dist detect; /* answer -> AMD verdict (humans and machines) */
    uint32_t grace_ms;      /* how long a live answer waits for an agent */
    uint32_t tick_ms;       /* the dialer's decision period */
    int abandon_guard;      /* predictive launches pass the live dialer's campaign_abandon_guard */
};

struct scenario {
    const char *name;
    const struct sim_custom *custom; /* NULL: the built-in world below */
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

/* Parses "key=value,..." (pacing_sim --scenario; keys in sim_scenario.c) into sc and
 * cu; sc->custom points to cu and sc->name into spec's copy in name_buf. Returns 0, or
 * -1 with the reason in err. */
int sim_scenario_parse(const char *spec, struct scenario *sc, struct sim_custom *cu,
                       char *name_buf, size_t name_len, char *err, size_t err_len);
/* One line describing a custom scenario's world. */
void sim_scenario_describe(const struct scenario *sc, char *buf, size_t len);
/* Draws from d with the simulator's generator state s. */
double sim_dist_draw(const struct sim_dist *d, uint64_t *s);

/* Fixed dial ratio and VICIdial-style settings used by the baselines. */
#define SIM_FIXED_RATIO 2.0
#define SIM_VICI_DROP_PCT 3.0
#define SIM_VICI_MAX_LEVEL 12.0
#define SIM_VICI_UP_GAIN 0.01
#define SIM_VICI_ADAPT_S 15

#endif
