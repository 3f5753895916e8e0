/* Pacing decisions: progressive, and predictive with an abandon-budget
 * controller. */
#include <math.h>
#include <string.h>

#include "pacing.h"
#include "pacing_internal.h"

#define THETA_MIN 1e-7
#define THETA_MAX 0.6
#define PRED_TAU_S 900.0   /* memory of the predicted abandon rate */
#define BIAS_HALF_LIFE 3000.0 /* model-bias memory, in predicted live answers */
#define BIAS_PRIOR 8.0     /* model-bias prior strength, in abandons */
#define GAIN_PER_S (1.0 / 60) /* threshold moves by up to e^1 per minute */
#define PLAN_HOUR_S 3600u
#define RESTART_GAP_MS (10 * 60 * 1000) /* a pause this long restarts the controller */  /* horizon of the daily budget when the day's end is unknown */

static int input_valid(const struct pacing_input *in)
{
    if (!in)
        return 0;
    if (in->n_agents && !in->agents)
        return 0;
    if (in->n_calls && !in->calls)
        return 0;
    if (in->today.abandoned > in->today.live || in->window.abandoned > in->window.live)
        return 0;
    for (size_t i = 0; i < in->n_agents; i++)
        if ((unsigned)in->agents[i].state > PACING_AGENT_WRAP)
            return 0;
    for (size_t i = 0; i < in->n_calls; i++)
        if ((unsigned)in->calls[i].state > PACING_CALL_WAITING)
            return 0;
    return 1;
}

static uint32_t count_ready(const struct pacing_input *in, size_t *avail)
{
    uint32_t ready = 0;
    *avail = 0;
    for (size_t i = 0; i < in->n_agents; i++) {
        if (in->agents[i].state == PACING_AGENT_READY)
            ready++;
        if (in->agents[i].state != PACING_AGENT_OFF)
            (*avail)++;
    }
    return ready;
}

/* Abandons we may still plan for so that, with the reserve, the tally stays
 * under the cap: largest m with m + z*sqrt(k*m) <= budget. */
static double plannable(double budget, double z, double k)
{
    if (budget <= 0)
        return 0;
    double b = z * sqrt(k);
    double x = (-b + sqrt(b * b + 4 * budget)) / 2;
    return x * x;
}

/* The abandon rate to aim at for the rest of the day (0: budget spent). */
static double target_rate(const struct pacing *p, const struct pacing_model *m,
                          const struct pacing_input *in, size_t avail)
{
    const struct pacing_config *cfg = &p->cfg;
    uint32_t rem_s = in->day_remaining_s ? in->day_remaining_s : PLAN_HOUR_S;
    /* Live answers still to come today: from the observed rate once there is
     * one, else from the team (as if 80% busy). Low is the safe side. */
    double count = p->live_count;
    if (in->now_ms > p->live_ms)
        count *= exp(-(double)(in->now_ms - p->live_ms) / PACING_LIVE_TAU_MS);
    double rate_per_s = count / (PACING_LIVE_TAU_MS / 1000.0);
    if (count < 20) {
        double handle = m->talk_mean_ms + m->wrap_mean_ms + 1000;
        rate_per_s = (double)avail * 1000.0 / handle * 0.8;
    }
    double l_rem = rate_per_s * rem_s * 0.9;
    if (l_rem < 1)
        l_rem = 1;
    double cap = cfg->abandon_cap;
    /* One abandon held back (less for tiny caps, where one is the whole day's
     * allowance): the plan must end the day at or under the cap. */
    double l_day = (double)in->today.live + l_rem, l_win = (double)in->window.live + l_rem;
    double b_day = cap * l_day - (double)in->today.abandoned - fmin(1.0, 0.5 * cap * l_day);
    double b_win = cap * l_win - (double)in->window.abandoned - fmin(1.0, 0.5 * cap * l_win);
    double r_day = plannable(b_day, cfg->safety_z, cfg->overdispersion) / l_rem;
    double r_win = plannable(b_win, cfg->safety_z, cfg->overdispersion) / l_rem;
    double r = fmin(r_day, r_win);
    return fmin(r, cap * cfg->max_target_factor);
}

static double bias_factor(const struct pacing *p)
{
    double b = (p->bias_real + BIAS_PRIOR) / (p->bias_pred + BIAS_PRIOR);
    return fmin(2.0, fmax(0.7, b));
}

/* Moves the threshold so that the predicted abandon rate of what we launch,
 * corrected by the observed model bias, tracks the target. */
static void controller_step(struct pacing *p, const struct pacing_input *in, double target)
{
    int64_t now_ms = in->now_ms;
    /* A new day or a long pause: yesterday's end-of-day threshold (spending
     * what was left of the budget) must not meet a morning with every agent
     * ready. Start again cautious: the marginal risk at the average target. */
    if (in->today.live < p->last_today_live || now_ms - p->last_ms > RESTART_GAP_MS)
        p->started = 0;
    p->last_today_live = in->today.live;
    if (!p->started) {
        p->started = 1;
        p->last_ms = now_ms;
        p->log_theta = log(fmin(THETA_MAX, fmax(THETA_MIN, target)));
        return;
    }
    double dt = (double)(now_ms - p->last_ms) / 1000.0;
    if (dt <= 0)
        return;
    p->last_ms = now_ms;
    double decay = exp(-dt / PRED_TAU_S);
    p->pred_abandon *= decay;
    p->pred_live *= decay;
    const double l0 = 5.0; /* pseudo live answers at the target rate */
    double rate = (p->pred_abandon + target * l0) / (p->pred_live + l0) * bias_factor(p);
    double err = (target - rate) / target;
    if (err > 1)
        err = 1;
    if (err < -1)
        err = -1;
    if (dt > 60)
        dt = 60;
    p->log_theta += GAIN_PER_S * dt * err;
    p->log_theta = fmin(log(THETA_MAX), fmax(log(THETA_MIN), p->log_theta));
}

static void record_launch(struct pacing *p, double p_live, double risk)
{
    p->pred_abandon += p_live * risk;
    p->pred_live += p_live;
    double d = exp2(-p_live / BIAS_HALF_LIFE);
    p->bias_real *= d;
    p->bias_pred = p->bias_pred * d + p_live * risk;
}

int pacing_decide(struct pacing *p, const struct pacing_input *in, struct pacing_decision *out)
{
    if (!out)
        return WAIHU_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!p || !input_valid(in))
        return WAIHU_EINVAL;

    size_t avail;
    uint32_t ready = count_ready(in, &avail);
    out->ready = ready;
    out->threshold = exp(p->log_theta);
    if (avail == 0) {
        out->reason = PACING_WHY_NO_AGENTS;
        return 0;
    }
    /* Calls that each have a ready agent to themselves: no abandon possible. */
    uint32_t safe = ready > in->n_calls ? ready - (uint32_t)in->n_calls : 0;
    double lines = p->cfg.max_lines_per_agent * (double)avail - (double)in->n_calls;
    uint32_t limit = lines > 0 ? (uint32_t)lines : 0;
    if (in->max_launch && in->max_launch < limit)
        limit = in->max_launch;
    if (safe > limit)
        safe = limit;

    if (p->cfg.mode == PACING_PROGRESSIVE) {
        out->launch = safe;
        out->reason = PACING_WHY_PROGRESSIVE;
        return 0;
    }

    pacing_cohorts_advance(p, in->now_ms);
    struct pacing_model m;
    pacing_model_build(p, in, &m);
    out->p_live = m.p_live;
    double target = target_rate(p, &m, in, avail);
    out->target_rate = target;
    if (target <= 0) {
        p->last_ms = in->now_ms;
        out->launch = safe;
        out->reason = PACING_WHY_BUDGET;
        return 0;
    }
    controller_step(p, in, target);
    double theta = exp(p->log_theta), beta = bias_factor(p);
    out->threshold = theta;

    struct pacing_dist d;
    pacing_dist_build(p, &m, in, &d);
    uint32_t k = 0;
    out->reason = PACING_WHY_RISK;
    for (;;) {
        double risk = pacing_dist_risk(&d);
        out->risk_next = risk;
        if (k >= limit) {
            out->reason = PACING_WHY_LIMIT;
            break;
        }
        if (k >= safe && beta * risk > theta)
            break;
        if (d.exact) {
            int full = 0;
            for (int j = 0; j < PACING_J; j++)
                full |= d.hi[j] - d.lo[j] >= PACING_DPW - 2;
            if (full) {
                out->reason = PACING_WHY_LIMIT;
                break;
            }
        }
        record_launch(p, m.p_live, risk);
        pacing_dist_add_new(&m, &d);
        k++;
    }
    out->launch = k;
    return 0;
}

double pacing_risk(struct pacing *p, const struct pacing_input *in, uint32_t k)
{
    if (!p || !input_valid(in) || k == 0)
        return 0;
    struct pacing_model m;
    pacing_model_build(p, in, &m);
    struct pacing_dist d;
    pacing_dist_build(p, &m, in, &d);
    for (uint32_t i = 1; i < k; i++)
        pacing_dist_add_new(&m, &d);
    return pacing_dist_risk(&d);
}
