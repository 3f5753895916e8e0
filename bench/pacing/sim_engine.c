/* The simulated world: leads, carrier, answering-machine detection, agents,
 * the 2-second rule, and the event loop that asks a policy what to launch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "sim_world.h"

#define DAY_MS (24LL * 3600 * 1000)

/* ---- random numbers ---------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s)
{
    return ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
    double u = unif(s), v = unif(s);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double lognormal(uint64_t *s, double mean, double sigma)
{
    return exp(log(mean) - sigma * sigma / 2 + sigma * gauss(s));
}

double sim_dist_draw(const struct sim_dist *d, uint64_t *s)
{
    double v;
    switch (d->kind) {
    case SIM_DIST_UNIFORM: v = d->a_ms + (d->b_ms - d->a_ms) * unif(s); break;
    case SIM_DIST_NORMAL: v = d->a_ms + d->b_ms * gauss(s); break;
    case SIM_DIST_EXP: v = -d->a_ms * log(unif(s)); break;
    case SIM_DIST_LOGNORMAL: v = lognormal(s, d->a_ms, d->b_ms); break;
    default: v = d->a_ms;
    }
    return fmin(fmax(v, fmax(d->min_ms, 0)), d->max_ms);
}

/* A custom world redraws what it defines, after the built-in draws: the built-in
 * scenarios keep their exact random sequences. */
static void custom_draw(const struct sim_custom *cu, uint64_t *s, struct lead *out)
{
    out->ring_ms = (uint32_t)sim_dist_draw(&cu->ring, s);
    out->noans_ms = unif(s) < cu->ring_out ? (uint32_t)sim_dist_draw(&cu->ring, s) : 0;
    out->detect_ms = (uint32_t)sim_dist_draw(&cu->detect, s);
    out->talk_ms = (uint32_t)sim_dist_draw(&cu->talk, s);
}

void lead_draw(const struct scenario *sc, uint64_t index, struct lead *out)
{
    uint64_t s = sc->seed * 0xD1B54A32D192ED03ULL + index * 0x9E3779B97F4A7C15ULL;
    splitmix(&s);
    out->u_answer = unif(&s);
    out->machine = unif(&s) < sc->machine_rate;
    /* Answered calls: most within 4-15 s, a few late ones up to the timeout. */
    double r = lognormal(&s, 9000, 0.5);
    out->ring_ms = (uint32_t)fmin(fmax(r, 2000), RING_TIMEOUT_MS - 1000);
    /* Unanswered: 30% busy/unreachable early, the rest ring out at the timeout. */
    double u = unif(&s);
    out->noans_ms = u < 0.3 ? (uint32_t)(1000 + unif(&s) * 5000) : RING_TIMEOUT_MS;
    double d = unif(&s);
    out->detect_ms = out->machine ? (uint32_t)(2500 + 2000 * d) : (uint32_t)(600 + 1400 * d);
    out->talk_ms = (uint32_t)fmax(5000, lognormal(&s, sc->talk_mean_s * 1000, sc->talk_sigma));
    out->wrap_ms = (uint32_t)((sc->wrap_lo_s + unif(&s) * (sc->wrap_hi_s - sc->wrap_lo_s)) * 1000);
    if (sc->custom)
        custom_draw(sc->custom, &s, out);
}

double world_answer_rate(const struct world *w, int64_t t_ms)
{
    const struct scenario *sc = w->sc;
    int64_t t = t_ms - w->day_base_ms;
    if (t >= (int64_t)sc->drop_from_s * 1000 && t < (int64_t)sc->drop_to_s * 1000)
        return sc->answer_rate * sc->drop_factor;
    return sc->answer_rate;
}

static int64_t tick_ms(const struct world *w)
{
    return w->sc->custom ? w->sc->custom->tick_ms : TICK_MS;
}

static int64_t grace_ms(const struct world *w)
{
    return w->sc->custom ? w->sc->custom->grace_ms : GRACE_MS;
}

int64_t world_shift_end(const struct world *w)
{
    return w->day_base_ms + (int64_t)w->sc->shift_s * 1000;
}

/* ---- event heap -------------------------------------------------------- */

static int ev_less(const struct ev *a, const struct ev *b)
{
    return a->t_ms < b->t_ms || (a->t_ms == b->t_ms && a->seq < b->seq);
}

static void push(struct world *w, int64_t t, uint8_t type, uint64_t arg, uint32_t gen)
{
    if (w->heap_n == w->heap_cap) {
        w->heap_cap = w->heap_cap ? 2 * w->heap_cap : 1024;
        w->heap = realloc(w->heap, w->heap_cap * sizeof(*w->heap));
        if (!w->heap)
            abort();
    }
    struct ev e = {.t_ms = t, .seq = w->seq++, .arg = arg, .gen = gen, .type = type};
    uint32_t i = w->heap_n++;
    while (i > 0) {
        uint32_t up = (i - 1) / 2;
        if (!ev_less(&e, &w->heap[up]))
            break;
        w->heap[i] = w->heap[up];
        i = up;
    }
    w->heap[i] = e;
}

static struct ev pop(struct world *w)
{
    struct ev top = w->heap[0], last = w->heap[--w->heap_n];
    uint32_t i = 0, n = w->heap_n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_less(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!ev_less(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n)
        w->heap[i] = last;
    return top;
}

void world_schedule_launch(struct world *w, int64_t at_ms, uint64_t lead_index)
{
    push(w, at_ms, EV_LAUNCH, lead_index, 0);
}

/* ---- calls and agents -------------------------------------------------- */

static uint32_t call_alloc(struct world *w)
{
    if (w->n_free_calls == 0) {
        uint32_t old = w->n_calls_alloc, n = old ? old * 2 : 1024;
        w->calls = realloc(w->calls, n * sizeof(*w->calls));
        w->free_calls = realloc(w->free_calls, n * sizeof(*w->free_calls));
        w->inflight = realloc(w->inflight, n * sizeof(*w->inflight));
        if (!w->calls || !w->free_calls || !w->inflight)
            abort();
        memset(w->calls + old, 0, (n - old) * sizeof(*w->calls));
        for (uint32_t i = n; i > old; i--)
            w->free_calls[w->n_free_calls++] = i - 1;
        w->n_calls_alloc = n;
    }
    return w->free_calls[--w->n_free_calls];
}

static void call_done(struct world *w, uint32_t id)
{
    struct call *c = &w->calls[id];
    int32_t slot = c->slot;
    uint32_t last = w->inflight[--w->n_inflight];
    w->inflight[slot] = last;
    w->calls[last].slot = slot;
    c->slot = -1;
    c->gen++;
    w->free_calls[w->n_free_calls++] = id;
}

static void launch(struct world *w, uint64_t lead_index)
{
    uint32_t id = call_alloc(w);
    struct call *c = &w->calls[id];
    lead_draw(w->sc, lead_index, &c->lead);
    c->state = CALL_RINGING;
    c->launch_ms = w->now_ms;
    c->slot = (int32_t)w->n_inflight;
    w->inflight[w->n_inflight++] = id;
    w->today->dials++;
    int answered = c->lead.u_answer < world_answer_rate(w, w->now_ms);
    c->live = answered && !c->lead.machine;
    if (answered)
        push(w, w->now_ms + c->lead.ring_ms, EV_ANSWER, id, c->gen);
    else
        push(w, w->now_ms + c->lead.noans_ms, EV_NOANSWER, id, c->gen);
}

static void ready_push(struct world *w, uint32_t a)
{
    uint32_t n = w->sc->agents + 1;
    w->readyq[(w->rq_head + w->rq_len) % n] = a;
    w->rq_len++;
    w->agents[a].state = AG_READY;
    w->agents[a].since_ms = w->now_ms;
}

static void add_busy(struct world *w, int64_t from, int64_t to)
{
    int64_t end = world_shift_end(w);
    if (to > end)
        to = end;
    if (from < w->day_base_ms)
        from = w->day_base_ms;
    if (to > from)
        w->today->busy_s += (double)(to - from) / 1000.0;
}

static void connect(struct world *w, uint32_t id)
{
    uint32_t n = w->sc->agents + 1;
    uint32_t a = w->readyq[w->rq_head];
    w->rq_head = (w->rq_head + 1) % n;
    w->rq_len--;
    struct call *c = &w->calls[id];
    struct agent *ag = &w->agents[a];
    if (w->policy == POL_PREDICTIVE)
        pacing_observe_call(&w->pacing, w->now_ms, PACING_OUT_LIVE,
                            (uint32_t)(c->answer_ms - c->launch_ms),
                            (uint32_t)(w->now_ms - c->answer_ms));
    ag->state = AG_TALK;
    ag->since_ms = w->now_ms;
    ag->busy_from_ms = w->now_ms;
    ag->talk_ms = c->lead.talk_ms;
    ag->wrap_ms = c->lead.wrap_ms;
    w->n_talking++;
    if (c->state == CALL_WAITING)
        w->n_waiting--;
    push(w, w->now_ms + ag->talk_ms, EV_TALK_END, a, 0);
    w->today->connects++;
    call_done(w, id);
    if (w->policy == POL_ORACLE)
        oracle_plan(w, w->now_ms + ag->talk_ms + ag->wrap_ms);
}

/* ---- decisions --------------------------------------------------------- */

static uint32_t module_decide(struct world *w)
{
    for (uint32_t i = 0; i < w->sc->agents; i++) {
        const struct agent *a = &w->agents[i];
        w->in_agents[i].state = a->state == AG_READY  ? PACING_AGENT_READY
                                : a->state == AG_TALK ? PACING_AGENT_TALK
                                                      : PACING_AGENT_WRAP;
        w->in_agents[i].elapsed_ms = (uint32_t)(w->now_ms - a->since_ms);
    }
    for (uint32_t i = 0; i < w->n_inflight; i++) {
        const struct call *c = &w->calls[w->inflight[i]];
        w->in_calls[i].state = c->state == CALL_RINGING     ? PACING_CALL_RINGING
                               : c->state == CALL_DETECTING ? PACING_CALL_DETECTING
                                                            : PACING_CALL_WAITING;
        w->in_calls[i].age_ms = (uint32_t)(w->now_ms - (c->state == CALL_RINGING ? c->launch_ms
                                                                                 : c->answer_ms));
    }
    struct pacing_input in = {
        .now_ms = w->now_ms,
        .agents = w->in_agents,
        .n_agents = w->sc->agents,
        .calls = w->in_calls,
        .n_calls = w->n_inflight,
        .today = {w->today->live, w->today->abandoned},
        .window = w->window,
        .day_remaining_s = (uint32_t)((world_shift_end(w) - w->now_ms) / 1000),
    };
    struct pacing_decision d;
    if (pacing_decide(&w->pacing, &in, &d) != 0)
        abort();
    if (w->sc->custom && w->sc->custom->abandon_guard && w->policy == POL_PREDICTIVE)
        d.launch = campaign_abandon_guard(d.launch, w->n_inflight, w->rq_len, w->today->live,
                                          w->today->abandoned, w->pacing.cfg.abandon_cap);
    if (w->policy == POL_PREDICTIVE) {
        w->theta_sum += d.threshold;
        w->target_sum += d.target_rate;
        w->decisions++;
    }
    return d.launch;
}

static void decide(struct world *w)
{
    if (w->now_ms >= world_shift_end(w))
        return;
    uint32_t n = 0;
    switch (w->policy) {
    case POL_PROGRESSIVE:
    case POL_PREDICTIVE: n = module_decide(w); break;
    case POL_RATIO: n = policy_ratio(w); break;
    case POL_VICIDIAL: n = policy_vici(w); break;
    default: return;
    }
    for (uint32_t i = 0; i < n; i++)
        launch(w, w->next_lead++);
}

/* ---- the event loop ---------------------------------------------------- */

enum trigger { TRIG_NONE = 0, TRIG_TICK, TRIG_AGENT_READY, TRIG_CALL_END };

static void observe_end(struct world *w, enum pacing_outcome o, const struct call *c)
{
    if (w->policy != POL_PREDICTIVE)
        return;
    uint32_t ring = (uint32_t)((o == PACING_OUT_NOANSWER ? w->now_ms : c->answer_ms) - c->launch_ms);
    uint32_t det = o == PACING_OUT_NOANSWER ? 0 : (uint32_t)(w->now_ms - c->answer_ms);
    if (o == PACING_OUT_ABANDONED)
        det = c->lead.detect_ms;
    pacing_observe_call(&w->pacing, w->now_ms, o, ring, det);
}

static enum trigger handle(struct world *w, const struct ev *e)
{
    struct call *c;
    struct agent *ag;
    switch (e->type) {
    case EV_TICK:
        if (e->t_ms + tick_ms(w) < world_shift_end(w))
            push(w, e->t_ms + tick_ms(w), EV_TICK, 0, 0);
        return TRIG_TICK;
    case EV_LAUNCH:
        if (w->now_ms < world_shift_end(w))
            launch(w, e->arg);
        return TRIG_NONE;
    case EV_NOANSWER:
        c = &w->calls[e->arg];
        observe_end(w, PACING_OUT_NOANSWER, c);
        call_done(w, (uint32_t)e->arg);
        return TRIG_CALL_END;
    case EV_ANSWER:
        c = &w->calls[e->arg];
        c->state = CALL_DETECTING;
        c->answer_ms = w->now_ms;
        push(w, w->now_ms + c->lead.detect_ms, EV_DETECT, e->arg, c->gen);
        return TRIG_NONE;
    case EV_DETECT:
        c = &w->calls[e->arg];
        if (!c->live) {
            observe_end(w, PACING_OUT_MACHINE, c);
            call_done(w, (uint32_t)e->arg);
            return TRIG_CALL_END;
        }
        w->today->live++;
        w->window.live++;
        if (w->rq_len > 0) {
            connect(w, (uint32_t)e->arg);
            return TRIG_NONE;
        }
        c->state = CALL_WAITING;
        w->n_waiting++;
        w->waitq[(w->wq_head + w->wq_len) % w->wq_cap] = (uint32_t)e->arg;
        w->waitq_gen[(w->wq_head + w->wq_len) % w->wq_cap] = c->gen;
        w->wq_len++;
        if (w->wq_len >= w->wq_cap)
            abort();
        push(w, w->now_ms + grace_ms(w), EV_WAIT_TIMEOUT, e->arg, c->gen);
        return TRIG_NONE;
    case EV_WAIT_TIMEOUT:
        c = &w->calls[e->arg];
        if (c->gen != e->gen || c->state != CALL_WAITING)
            return TRIG_NONE;
        w->today->abandoned++;
        w->window.abandoned++;
        w->n_waiting--;
        observe_end(w, PACING_OUT_ABANDONED, c);
        call_done(w, (uint32_t)e->arg); /* its waitq entry goes stale */
        return TRIG_CALL_END;
    case EV_TALK_END:
        ag = &w->agents[e->arg];
        if (w->policy == POL_PREDICTIVE)
            pacing_observe_talk(&w->pacing, ag->talk_ms);
        ag->state = AG_WRAP;
        ag->since_ms = w->now_ms;
        w->n_talking--;
        push(w, w->now_ms + ag->wrap_ms, EV_WRAP_END, e->arg, 0);
        return TRIG_NONE;
    case EV_WRAP_END:
        ag = &w->agents[e->arg];
        if (w->policy == POL_PREDICTIVE)
            pacing_observe_wrap(&w->pacing, ag->wrap_ms);
        add_busy(w, ag->busy_from_ms, w->now_ms);
        ready_push(w, (uint32_t)e->arg);
        while (w->wq_len > 0) {
            uint32_t id = w->waitq[w->wq_head], gen = w->waitq_gen[w->wq_head];
            w->wq_head = (w->wq_head + 1) % w->wq_cap;
            w->wq_len--;
            if (w->calls[id].gen == gen && w->calls[id].state == CALL_WAITING) {
                connect(w, id);
                return TRIG_NONE;
            }
        }
        return TRIG_AGENT_READY;
    default:
        abort();
    }
}

static void ensure_input_capacity(struct world *w, uint32_t *cap)
{
    if (*cap >= w->n_calls_alloc)
        return;
    *cap = w->n_calls_alloc;
    w->in_calls = realloc(w->in_calls, *cap * sizeof(*w->in_calls));
    if (!w->in_calls)
        abort();
}

static void run_day(struct world *w, uint32_t *in_cap)
{
    const struct scenario *sc = w->sc;
    w->day_base_ms = (int64_t)w->day * DAY_MS;
    w->now_ms = w->day_base_ms;
    w->rq_head = w->rq_len = 0;
    w->n_talking = 0;
    for (uint32_t i = 0; i < sc->agents; i++)
        ready_push(w, i);
    if (w->policy == POL_VICIDIAL)
        vici_day_start(w);
    push(w, w->day_base_ms, EV_TICK, 0, 0);
    if (w->policy == POL_ORACLE)
        for (uint32_t i = 0; i < sc->agents; i++)
            oracle_plan(w, w->day_base_ms);
    while (w->heap_n > 0) {
        struct ev e = pop(w);
        w->now_ms = e.t_ms;
        enum trigger t = handle(w, &e);
        if (t == TRIG_NONE)
            continue;
        if (w->policy == POL_PREDICTIVE && t != TRIG_TICK)
            continue; /* the expensive model runs on ticks and ready agents only */
        ensure_input_capacity(w, in_cap);
        decide(w);
        ensure_input_capacity(w, in_cap);
    }
}

void sim_run(const struct scenario *sc, enum policy_kind policy, double cap, struct run_stats *out)
{
    struct world w;
    memset(&w, 0, sizeof(w));
    memset(out, 0, sizeof(*out));
    w.sc = sc;
    w.policy = policy == POL_MATCHED ? POL_PREDICTIVE : policy;
    w.agents = calloc(sc->agents, sizeof(*w.agents));
    w.readyq = calloc(sc->agents + 1, sizeof(*w.readyq));
    w.in_agents = calloc(sc->agents, sizeof(*w.in_agents));
    w.wq_cap = 4 * sc->agents + 4096;
    w.waitq = calloc(w.wq_cap, sizeof(*w.waitq));
    w.waitq_gen = calloc(w.wq_cap, sizeof(*w.waitq_gen));
    if (!w.agents || !w.readyq || !w.in_agents || !w.waitq || !w.waitq_gen)
        abort();
    struct pacing_config cfg;
    pacing_config_default(&cfg);
    cfg.mode = w.policy == POL_PREDICTIVE ? PACING_PREDICTIVE : PACING_PROGRESSIVE;
    cfg.abandon_cap = cap;
    if (pacing_init(&w.pacing, &cfg) != 0)
        abort();
    w.vici.level = 1.0;
    uint32_t in_cap = 0;
    out->policy = policy;
    out->days = sc->days;
    for (w.day = 0; w.day < sc->days; w.day++) {
        w.today = &out->day[w.day];
        run_day(&w, &in_cap);
    }
    free(w.agents);
    free(w.readyq);
    free(w.in_agents);
    free(w.in_calls);
    free(w.waitq);
    free(w.waitq_gen);
    free(w.calls);
    free(w.free_calls);
    free(w.inflight);
    free(w.heap);

    double busy = 0, dials = 0, live = 0, ab = 0, conn = 0, sum_rate = 0;
    for (uint32_t d = 0; d < sc->days; d++) {
        const struct day_stats *s = &out->day[d];
        busy += s->busy_s;
        dials += (double)s->dials;
        live += (double)s->live;
        ab += (double)s->abandoned;
        conn += (double)s->connects;
        double r = s->live ? (double)s->abandoned / (double)s->live : 0;
        sum_rate += r;
        if (r > out->abandon_max_day)
            out->abandon_max_day = r;
    }
    out->agent_hours = (double)sc->agents * sc->shift_s / 3600.0 * sc->days;
    out->occupancy = busy / (out->agent_hours * 3600.0);
    out->calls_per_ah = dials / out->agent_hours;
    out->connects_per_ah = conn / out->agent_hours;
    out->abandon_total = live > 0 ? ab / live : 0;
    out->abandon_mean_day = sum_rate / sc->days;
    out->theta_mean = w.decisions ? w.theta_sum / (double)w.decisions : 0;
    out->target_mean = w.decisions ? w.target_sum / (double)w.decisions : 0;
}

const char *sim_policy_name(enum policy_kind p)
{
    static const char *const names[POL_COUNT + 1] = {"progressive", "ratio", "vicidial", "predictive",
                                                     "oracle", "pred@vici"};
    return p <= POL_MATCHED ? names[p] : "?";
}
