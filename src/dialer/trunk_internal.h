/* Private to the trunk module: the set and the per-trunk state. */
#ifndef WAIHU_TRUNK_INTERNAL_H
#define WAIHU_TRUNK_INTERNAL_H

#include "trunk.h"

struct trunk_entry {
    /* configuration */
    char name[TRUNK_NAME_MAX];
    char target[TRUNK_ADDR_MAX];
    char proxy[TRUNK_ADDR_MAX]; /* "" = none */
    enum trunk_transport transport;
    uint32_t weight, channels, cps, priority;
    double cost_per_min;
    char (*caller_ids)[TRUNK_NUMBER_MAX];
    size_t n_caller_ids;
    uint64_t cid_next;          /* caller-ID rotation */

    /* pick */
    int64_t swrr;               /* smooth weighted round-robin current weight */
    uint32_t in_use, share;
    int64_t *starts;            /* ring of the last cps start times (sliding 1 s window) */
    uint32_t starts_head, starts_len;

    /* health */
    enum trunk_state state;
    enum trunk_reason reason;
    uint8_t *window;            /* ring of the last window_calls outcomes */
    uint32_t window_head, window_len;
    uint32_t win_answered, win_carrier;
    uint32_t consecutive;       /* carrier failures in a row (by launch time) */
    int64_t streak_pick_ms;     /* latest launch time among them */
    double base_w, base_hits;   /* decayed outcomes and answers: baseline ASR */
    uint32_t probation_n, probation_fail;
    int64_t down_since_ms, up_since_ms, hold_until_ms;
    uint32_t relapses;          /* hold doubles per relapse within stable_ms */
    uint32_t probe_ok;          /* consecutive ping successes (while out) */
    uint32_t keepalive_fail;    /* consecutive failed keep-alives (while in) */
    int64_t probe_due_ms;
    int64_t probe_sent_ms;      /* -1: no ping in flight */
    uint64_t probe_cookie;
    uint64_t picks, answered, normal, carrier;
    uint32_t downs;
};

struct trunk_set {
    struct trunk_health_config cfg;
    struct trunk_entry *t[TRUNK_MAX];
    size_t n;
    uint64_t next_cookie;
    uint64_t illegal_moves;
    int64_t last_now_ms;
};

/* Writes "fmt..." into err (if any). Returns WAIHU_EINVAL. */
int trunk_errf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The health configuration table: drives defaults, range checks and JSON. */
struct trunk_health_field {
    const char *name;
    size_t offset;   /* in struct trunk_health_config */
    int is_double;   /* else uint32_t */
    double def, min, max;
};
extern const struct trunk_health_field trunk_health_fields[];
extern const size_t trunk_health_n_fields;

/* Health: resets the per-trunk health state when a trunk is added. */
void trunk_health_init(struct trunk_set *set, struct trunk_entry *e, int64_t now_ms);
/* 1 if the trunk takes calls (UP or PROBATION). */
int trunk_in_rotation(const struct trunk_entry *e);
/* Window ASR and baseline (< 0 when not learnt yet). */
double trunk_asr_window(const struct trunk_entry *e);
double trunk_asr_baseline(const struct trunk_entry *e);

/* Pick: CPS budget of e at now_ms (starts left in the sliding second). */
uint32_t trunk_cps_share(const struct trunk_entry *e);
uint32_t trunk_cps_left(const struct trunk_entry *e, int64_t now_ms, int64_t *retry_at_ms);

/* Caller ID for destination (may be NULL) from e's pool. */
const char *trunk_caller_id_pick(struct trunk_entry *e, const char *destination);

#endif
