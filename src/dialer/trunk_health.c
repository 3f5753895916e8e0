/* Trunk health: outcomes per call, the rules that take a trunk out of
 * rotation, probes that bring it back, and the state table every move goes
 * through. */
#include <math.h>
#include <string.h>

#include "trunk_internal.h"

enum health_event {
    EV_TRIP = 0,        /* a failure rule tripped */
    EV_PROBES_OK,       /* enough pings answered and the hold-down is over */
    EV_PROBATION_DONE,  /* probation passed */
    EV_PROBATION_FAIL,  /* failed again on probation */
    EV_KEEPALIVE_FAIL,  /* keep-alive pings failed */
    EV_COUNT
};

#define NO_MOVE (-1)
static const int next_state[3][EV_COUNT] = {
    /*               TRIP        PROBES_OK        PROB_DONE  PROB_FAIL   KEEPALIVE_FAIL */
    [TRUNK_UP] = {TRUNK_DOWN, NO_MOVE, NO_MOVE, NO_MOVE, TRUNK_DOWN},
    [TRUNK_DOWN] = {NO_MOVE, TRUNK_PROBATION, NO_MOVE, NO_MOVE, NO_MOVE},
    [TRUNK_PROBATION] = {TRUNK_DOWN, NO_MOVE, TRUNK_UP, TRUNK_DOWN, TRUNK_DOWN},
};

const char *trunk_state_str(enum trunk_state state)
{
    switch (state) {
    case TRUNK_UP: return "up";
    case TRUNK_DOWN: return "down";
    case TRUNK_PROBATION: return "probation";
    }
    return "unknown";
}

const char *trunk_reason_str(enum trunk_reason reason)
{
    switch (reason) {
    case TRUNK_WHY_NONE: return "none";
    case TRUNK_WHY_CONSECUTIVE: return "consecutive";
    case TRUNK_WHY_FAIL_RATIO: return "fail-ratio";
    case TRUNK_WHY_ASR: return "asr";
    case TRUNK_WHY_PROBATION: return "probation";
    case TRUNK_WHY_KEEPALIVE: return "keepalive";
    }
    return "unknown";
}

int trunk_in_rotation(const struct trunk_entry *e)
{
    return e->state == TRUNK_UP || e->state == TRUNK_PROBATION;
}

static void window_reset(struct trunk_entry *e)
{
    e->window_head = e->window_len = 0;
    e->win_answered = e->win_carrier = 0;
    e->consecutive = 0;
    e->streak_pick_ms = INT64_MIN;
}

void trunk_health_init(struct trunk_set *set, struct trunk_entry *e, int64_t now_ms)
{
    (void)set;
    e->state = TRUNK_UP;
    e->reason = TRUNK_WHY_NONE;
    window_reset(e);
    e->up_since_ms = now_ms;
    e->probe_due_ms = now_ms; /* a first keep-alive at once learns a dead trunk early */
    e->probe_sent_ms = -1;
}

double trunk_asr_window(const struct trunk_entry *e)
{
    return e->window_len ? (double)e->win_answered / e->window_len : 0.0;
}

double trunk_asr_baseline(const struct trunk_entry *e)
{
    return e->base_w > 0 ? e->base_hits / e->base_w : -1.0;
}

static uint32_t hold_for(const struct trunk_health_config *cfg, uint32_t relapses)
{
    uint64_t hold = cfg->hold_ms;
    for (uint32_t i = 0; i < relapses && hold < cfg->hold_max_ms; i++)
        hold *= 2;
    return (uint32_t)(hold < cfg->hold_max_ms ? hold : cfg->hold_max_ms);
}

/* The one place a state changes. */
static void move(struct trunk_set *set, struct trunk_entry *e, enum health_event ev,
                 int64_t now_ms, enum trunk_reason why)
{
    int to = next_state[e->state][ev];
    if (to == NO_MOVE) {
        set->illegal_moves++;
        return;
    }
    const struct trunk_health_config *cfg = &set->cfg;
    e->state = (enum trunk_state)to;
    e->probe_sent_ms = -1; /* a ping in flight belongs to the old state */
    e->probe_cookie = 0;
    if (to == TRUNK_DOWN) {
        /* A relapse soon after coming back doubles the hold-down. */
        if (e->downs > 0 && now_ms - e->up_since_ms < (int64_t)cfg->stable_ms)
            e->relapses++;
        else
            e->relapses = 0;
        e->downs++;
        e->reason = why;
        e->down_since_ms = now_ms;
        e->hold_until_ms = now_ms + hold_for(cfg, e->relapses);
        e->probe_ok = 0;
        e->probe_due_ms = now_ms + cfg->probe_interval_ms;
    } else if (to == TRUNK_PROBATION) {
        window_reset(e);
        e->probation_n = e->probation_fail = 0;
        e->keepalive_fail = 0;
        e->up_since_ms = now_ms;
        e->swrr = 0;
        e->probe_due_ms = now_ms + cfg->keepalive_interval_ms;
        if (cfg->probation_calls == 0)
            move(set, e, EV_PROBATION_DONE, now_ms, TRUNK_WHY_NONE);
    }
}

/* Is the ASR drop this trunk's own? Some other trunk in rotation with enough
 * data must have kept its ASR (relative to its own baseline) above the drop
 * ratio and be at least 1/asr_drop_ratio times better than this one; a drop
 * everywhere is the leads, not a carrier. */
static double asr_ratio(const struct trunk_entry *e)
{
    double base = trunk_asr_baseline(e);
    return base > 0 ? trunk_asr_window(e) / base : 1.0;
}

static int asr_drop_is_own(const struct trunk_set *set, const struct trunk_entry *self,
                           int64_t now_ms)
{
    const struct trunk_health_config *cfg = &set->cfg;
    double mine = asr_ratio(self);
    for (size_t i = 0; i < set->n; i++) {
        const struct trunk_entry *e = set->t[i];
        if (e == self || !trunk_in_rotation(e) || e->window_len < cfg->asr_min_calls ||
            e->base_w < cfg->asr_baseline_min ||
            now_ms - e->up_since_ms < (int64_t)cfg->asr_settle_ms)
            continue;
        double peer = asr_ratio(e);
        if (peer >= cfg->asr_drop_ratio && mine < cfg->asr_drop_ratio * peer)
            return 1;
    }
    return 0;
}

static void window_push(struct trunk_entry *e, uint32_t cap, enum trunk_outcome o)
{
    if (e->window_len == cap) {
        uint8_t old = e->window[e->window_head];
        e->win_answered -= old == TRUNK_OUT_ANSWERED;
        e->win_carrier -= old == TRUNK_OUT_CARRIER;
        e->window_head = (e->window_head + 1) % cap;
        e->window_len--;
    }
    e->window[(e->window_head + e->window_len) % cap] = (uint8_t)o;
    e->window_len++;
    e->win_answered += o == TRUNK_OUT_ANSWERED;
    e->win_carrier += o == TRUNK_OUT_CARRIER;
}

enum trunk_outcome trunk_outcome_from_sip(int status, int had_provisional)
{
    if (status >= 200 && status < 300)
        return TRUNK_OUT_ANSWERED;
    if (status <= 0 || (status >= 500 && status < 600))
        return TRUNK_OUT_CARRIER;
    if (status == 408 && !had_provisional)
        return TRUNK_OUT_CARRIER;
    return TRUNK_OUT_NORMAL;
}

void trunk_report(struct trunk_set *set, uint32_t index, int64_t picked_ms, int64_t now_ms,
                  enum trunk_outcome o)
{
    if (!set || index >= set->n || (unsigned)o > TRUNK_OUT_CARRIER)
        return;
    if (now_ms < set->last_now_ms)
        now_ms = set->last_now_ms;
    set->last_now_ms = now_ms;
    const struct trunk_health_config *cfg = &set->cfg;
    struct trunk_entry *e = set->t[index];
    e->answered += o == TRUNK_OUT_ANSWERED;
    e->normal += o == TRUNK_OUT_NORMAL;
    e->carrier += o == TRUNK_OUT_CARRIER;
    if (!trunk_in_rotation(e) || picked_ms < e->up_since_ms)
        return; /* calls launched before it went out or came back tell nothing new */

    window_push(e, cfg->window_calls, o);
    if (o == TRUNK_OUT_CARRIER) {
        e->consecutive++;
        if (picked_ms > e->streak_pick_ms)
            e->streak_pick_ms = picked_ms;
    } else if (picked_ms > e->streak_pick_ms) {
        e->consecutive = 0; /* a newer call went through */
    }
    if (e->state == TRUNK_UP) {
        double d = exp2(-1.0 / cfg->asr_baseline_calls);
        e->base_w = e->base_w * d + 1;
        e->base_hits = e->base_hits * d + (o == TRUNK_OUT_ANSWERED);
    }

    if (e->consecutive >= cfg->down_consecutive) {
        move(set, e, EV_TRIP, now_ms, TRUNK_WHY_CONSECUTIVE);
        return;
    }
    if (e->window_len >= cfg->window_min_calls &&
        e->win_carrier >= cfg->down_fail_ratio * e->window_len) {
        move(set, e, EV_TRIP, now_ms, TRUNK_WHY_FAIL_RATIO);
        return;
    }
    if (e->window_len >= cfg->asr_min_calls && e->base_w >= cfg->asr_baseline_min &&
        now_ms - e->up_since_ms >= (int64_t)cfg->asr_settle_ms &&
        trunk_asr_window(e) < cfg->asr_drop_ratio * trunk_asr_baseline(e) &&
        asr_drop_is_own(set, e, now_ms)) {
        move(set, e, EV_TRIP, now_ms, TRUNK_WHY_ASR);
        return;
    }
    if (e->state == TRUNK_PROBATION) {
        if (o == TRUNK_OUT_CARRIER && ++e->probation_fail >= cfg->probation_fail_limit) {
            move(set, e, EV_PROBATION_FAIL, now_ms, TRUNK_WHY_PROBATION);
            return;
        }
        if (++e->probation_n >= cfg->probation_calls)
            move(set, e, EV_PROBATION_DONE, now_ms, TRUNK_WHY_NONE);
    }
}

int trunk_probe_ok_from_sip(int status)
{
    if (status <= 0 || status == 408 || status >= 500)
        return 0;
    return status >= 200; /* 2xx, and 4xx/6xx prove the far end processes requests */
}

static uint32_t probe_interval(const struct trunk_set *set, const struct trunk_entry *e)
{
    return e->state == TRUNK_DOWN ? set->cfg.probe_interval_ms : set->cfg.keepalive_interval_ms;
}

static void probe_outcome(struct trunk_set *set, struct trunk_entry *e, int64_t now_ms, int ok)
{
    const struct trunk_health_config *cfg = &set->cfg;
    e->probe_due_ms = e->probe_sent_ms + probe_interval(set, e);
    e->probe_sent_ms = -1;
    e->probe_cookie = 0;
    if (e->state == TRUNK_DOWN) {
        e->probe_ok = ok ? e->probe_ok + 1 : 0;
        if (e->probe_ok >= cfg->up_probes && now_ms >= e->hold_until_ms)
            move(set, e, EV_PROBES_OK, now_ms, TRUNK_WHY_NONE);
    } else {
        e->keepalive_fail = ok ? 0 : e->keepalive_fail + 1;
        if (e->keepalive_fail >= cfg->keepalive_fail_limit)
            move(set, e, EV_KEEPALIVE_FAIL, now_ms, TRUNK_WHY_KEEPALIVE);
    }
}

int trunk_probe_next(struct trunk_set *set, int64_t now_ms, struct trunk_probe *out)
{
    if (!set || !out)
        return 0;
    if (now_ms < set->last_now_ms)
        now_ms = set->last_now_ms;
    set->last_now_ms = now_ms;
    for (size_t i = 0; i < set->n; i++) {
        struct trunk_entry *e = set->t[i];
        if (e->probe_sent_ms >= 0) {
            if (now_ms - e->probe_sent_ms < (int64_t)set->cfg.probe_timeout_ms)
                continue;
            probe_outcome(set, e, now_ms, 0); /* no answer in time */
        }
        if (e->state != TRUNK_DOWN && set->cfg.keepalive_interval_ms == 0)
            continue;
        if (e->probe_due_ms > now_ms)
            continue;
        e->probe_cookie = set->next_cookie++;
        e->probe_sent_ms = now_ms;
        out->trunk = (uint32_t)i;
        out->cookie = e->probe_cookie;
        out->target = e->target;
        out->proxy = e->proxy[0] ? e->proxy : NULL;
        out->transport = e->transport;
        return 1;
    }
    return 0;
}

void trunk_probe_result(struct trunk_set *set, uint64_t cookie, int64_t now_ms, int ok)
{
    if (!set || cookie == 0)
        return;
    if (now_ms < set->last_now_ms)
        now_ms = set->last_now_ms;
    set->last_now_ms = now_ms;
    for (size_t i = 0; i < set->n; i++) {
        struct trunk_entry *e = set->t[i];
        if (e->probe_sent_ms >= 0 && e->probe_cookie == cookie) {
            probe_outcome(set, e, now_ms, ok);
            return;
        }
    }
}
