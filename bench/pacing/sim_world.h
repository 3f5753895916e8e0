/* Simulator internals shared by the engine and the baseline policies. */
#ifndef WAIHU_PACING_SIM_WORLD_H
#define WAIHU_PACING_SIM_WORLD_H

#include "sim.h"

#define RING_TIMEOUT_MS 25000
#define GRACE_MS 2000
#define TICK_MS 1000

/* Everything about one lead, fixed before any policy runs. */
struct lead {
    double u_answer;       /* answered iff u_answer < answer rate at launch */
    int machine;           /* if answered */
    uint32_t ring_ms;      /* launch -> answer, if answered */
    uint32_t noans_ms;     /* launch -> end, if not answered */
    uint32_t detect_ms;    /* answer -> AMD verdict */
    uint32_t talk_ms, wrap_ms;
};

enum agent_state { AG_READY = 0, AG_TALK, AG_WRAP };

struct agent {
    enum agent_state state;
    int64_t since_ms;
    uint32_t talk_ms, wrap_ms; /* current call's */
    int64_t busy_from_ms;      /* connect time of the current call */
};

enum call_state { CALL_RINGING = 0, CALL_DETECTING, CALL_WAITING };

struct call {
    enum call_state state;
    struct lead lead;
    int64_t launch_ms, answer_ms;
    int live;          /* decided at launch */
    int32_t slot;      /* index in the in-flight list, -1 when done */
    uint32_t gen;
};

struct vici {
    double level;
    int64_t next_adapt_ms;
    double ready_integral, waiting_integral, active_integral;
    int64_t last_ms;
};

enum ev_type { EV_TICK = 0, EV_ANSWER, EV_NOANSWER, EV_DETECT, EV_WAIT_TIMEOUT, EV_TALK_END,
               EV_WRAP_END, EV_LAUNCH };

struct ev {
    int64_t t_ms;
    uint64_t seq;      /* ties break in scheduling order: deterministic */
    uint64_t arg;      /* call, agent or lead index */
    uint32_t gen;
    uint8_t type;
};

struct world {
    const struct scenario *sc;
    struct ev *heap;
    uint32_t heap_n, heap_cap;
    uint64_t seq;
    enum policy_kind policy;
    int64_t day_base_ms, now_ms; /* absolute: days are 24 h apart */
    uint32_t day;
    uint64_t next_lead;
    struct agent *agents;
    struct call *calls;
    uint32_t n_calls_alloc;
    uint32_t *free_calls;
    uint32_t n_free_calls;
    uint32_t *inflight;      /* calls not yet with an agent */
    uint32_t n_inflight;
    uint32_t *waitq;         /* FIFO of waiting live calls (call index, generation) */
    uint32_t *waitq_gen;
    uint32_t wq_head, wq_len, wq_cap;
    uint32_t *readyq;        /* FIFO of ready agents: the longest idle is first */
    uint32_t rq_head, rq_len;
    uint32_t n_talking;
    uint32_t n_waiting;      /* live calls waiting for an agent */
    struct pacing pacing;
    struct pacing_agent *in_agents;
    struct pacing_call *in_calls;
    struct pacing_tally window;
    struct day_stats *today;
    struct vici vici;
    double theta_sum, target_sum;
    uint64_t decisions;
};

void lead_draw(const struct scenario *sc, uint64_t index, struct lead *out);
double world_answer_rate(const struct world *w, int64_t t_ms);

/* Baselines (sim_policy.c). */
uint32_t policy_ratio(const struct world *w);
uint32_t policy_vici(struct world *w);
void vici_day_start(struct world *w);
/* Oracle: plans the next live call for an agent free at free_at_ms. */
void oracle_plan(struct world *w, int64_t free_at_ms);

/* Engine hooks used by the oracle. */
void world_schedule_launch(struct world *w, int64_t at_ms, uint64_t lead_index);
int64_t world_shift_end(const struct world *w);

#endif
