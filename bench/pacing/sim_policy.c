/* Baseline policies: a fixed dial ratio, a VICIdial-style ADAPT_TAPERED
 * adaptive dial level, and an oracle that knows every lead's outcome. */
#include <math.h>

#include "sim_world.h"

/* Fixed ratio: keep SIM_FIXED_RATIO calls in flight per ready agent. */
uint32_t policy_ratio(const struct world *w)
{
    uint32_t want = (uint32_t)ceil(SIM_FIXED_RATIO * w->rq_len);
    return want > w->n_inflight ? want - w->n_inflight : 0;
}

/* VICIdial-style adaptive dial level, written from the ADAPT_TAPERED
 * description in VICIdial's admin help ("allows for running over the dropped
 * percentage in the first half of the shift -as defined by call_time selected
 * for campaign- and gets more strict as the shift goes on"; HARD_LIMIT "will
 * not allow aggressive dialing once the drop limit is reached until the
 * percentage goes down again"; Auto Dial Level: "lines equal to active agents
 * multiplied by the dial level"; Available Only Tally: leave out agents on a
 * call). Our reading, not VICIdial's code:
 *  - lines = round(level x ready agents) (available-only tally); launch = lines
 *    minus calls in progress that have no agent (ringing, in AMD, queued);
 *  - every 15 s the level adapts: today's drop % (drops / live answers) is
 *    compared with an allowed % that starts at 2x the target and tapers
 *    linearly to the target at mid-shift, then stays there; over it, the level
 *    falls back to 1.0 (no over-dialing); under it, the level rises in
 *    proportion to the share of agents that waited during the interval minus
 *    calls that waited (VICIdial's agents-vs-calls-waiting difference, target
 *    0), within [1, max level].
 * Of the readings we tried (count agents on calls or not; fall back to 1.0,
 * halve, or step down; up-gains 0.5 to 0.01) this one gave the baseline its
 * best occupancy at 5, 20 and 100 agents, so it is the one compared against.
 * Settings: drop target 3%, max level 12 (never binding), up-gain 0.01. */
static void vici_integrate(struct world *w)
{
    struct vici *v = &w->vici;
    double dt = (double)(w->now_ms - v->last_ms);
    if (dt <= 0)
        return;
    v->ready_integral += w->rq_len * dt;
    v->waiting_integral += w->n_waiting * dt;
    v->active_integral += (w->rq_len + w->n_talking) * dt;
    v->last_ms = w->now_ms;
}

void vici_day_start(struct world *w)
{
    struct vici *v = &w->vici;
    v->next_adapt_ms = w->day_base_ms + SIM_VICI_ADAPT_S * 1000;
    v->ready_integral = v->waiting_integral = v->active_integral = 0;
    v->last_ms = w->day_base_ms;
}

static void vici_adapt(struct world *w)
{
    struct vici *v = &w->vici;
    const struct day_stats *t = w->today;
    double drop = t->live ? 100.0 * (double)t->abandoned / (double)t->live : 0;
    double prog = (double)(w->now_ms - w->day_base_ms) / (w->sc->shift_s * 1000.0);
    double allowed = SIM_VICI_DROP_PCT * (prog < 0.5 ? 2 - 2 * prog : 1.0);
    if (drop > allowed) {
        v->level = 1.0;
    } else {
        double span = SIM_VICI_ADAPT_S * 1000.0;
        double ready = v->ready_integral / span, waiting = v->waiting_integral / span;
        double active = fmax(1.0, v->active_integral / span);
        double step = SIM_VICI_UP_GAIN * v->level * (ready - waiting) / active;
        step = fmin(0.25, fmax(-0.25, step));
        v->level = fmin(SIM_VICI_MAX_LEVEL, fmax(1.0, v->level + step));
    }
    v->ready_integral = v->waiting_integral = v->active_integral = 0;
}

uint32_t policy_vici(struct world *w)
{
    struct vici *v = &w->vici;
    vici_integrate(w);
    while (w->now_ms >= v->next_adapt_ms) {
        vici_adapt(w);
        v->next_adapt_ms += SIM_VICI_ADAPT_S * 1000;
    }
    uint32_t lines = (uint32_t)floor(v->level * w->rq_len + 0.5);
    uint32_t in_use = w->n_inflight;
    return lines > in_use ? lines - in_use : 0;
}

/* Oracle: for an agent free at free_at_ms, dial (in list order) until the
 * next lead that will answer live, timed so that it is detected as live the
 * moment the agent frees. Leads that will not answer live are dialed too (they
 * count as calls) but need no simulation: they never reach an agent. */
void oracle_plan(struct world *w, int64_t free_at_ms)
{
    int64_t end = world_shift_end(w);
    for (;;) {
        uint64_t i = w->next_lead++;
        struct lead l;
        lead_draw(w->sc, i, &l);
        int64_t t = free_at_ms - (int64_t)l.ring_ms - (int64_t)l.detect_ms;
        if (t < w->now_ms)
            t = w->now_ms;
        if (t >= end)
            return;
        int live = l.u_answer < world_answer_rate(w, t) && !l.machine;
        if (!live) {
            w->today->dials++;
            continue;
        }
        world_schedule_launch(w, t, i);
        return;
    }
}
