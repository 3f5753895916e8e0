/* Supervisor alerts, pure part (docs/alerts.md): when a rule holds. No I/O, no clock:
 * callers pass figures and times. The rules themselves, the evaluation timer, firing,
 * the console push and webhooks live in src/api/api_alert*.c. */
#ifndef WAIHU_ALERT_H
#define WAIHU_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

enum alert_kind {
    ALERT_METRIC_FALLING = 0, /* an agent's weekly metric fell N weeks in a row */
    ALERT_OCCUPANCY_BELOW,    /* a floor's occupancy under a threshold for a while */
    ALERT_ABANDON_NEAR_CAP,   /* a campaign's abandon rate today near its cap */
    ALERT_KIND_COUNT
};
WAIHU_API const char *alert_kind_name(enum alert_kind k);
/* 0 or WAIHU_EINVAL. */
WAIHU_API int alert_kind_parse(const char *name, enum alert_kind *out);

/* ---- metric_falling ---- */
/* One week of an agent's metric: value defined when its denominator is not 0; volume
 * is that denominator (answered calls for a conversion rate, calls for a connect rate). */
struct alert_week {
    double value;
    bool defined;
    uint64_t volume;
};
/* True when weeks[0..n-1] (oldest first, n >= 2) fell strictly every week, each with a
 * defined value and at least min_volume: a week too thin to judge breaks the run. */
WAIHU_API bool alert_falling(const struct alert_week *weeks, size_t n, uint64_t min_volume);

/* ---- occupancy_below ---- */
/* Samples of a floor: agents busy (on a call, wrapping up) and working (ready, reserved,
 * on a call, wrapping up), one every few seconds, in a ring. */
#define ALERT_OCC_SAMPLES 1024
struct alert_occupancy {
    int64_t at_ms[ALERT_OCC_SAMPLES];
    uint32_t busy[ALERT_OCC_SAMPLES], working[ALERT_OCC_SAMPLES];
    size_t head, n; /* next slot, samples held */
};
WAIHU_API void alert_occ_init(struct alert_occupancy *w);
/* Adds a sample; the oldest is dropped when the ring is full. Samples must come in
 * time order: one older than the newest held is ignored (a clock that went back). */
WAIHU_API void alert_occ_add(struct alert_occupancy *w, int64_t at_ms, uint32_t busy,
                             uint32_t working);
/* Occupancy over the samples of the last window_ms before now_ms: sum(busy) /
 * sum(working), and the mean number of working agents. False until the samples cover
 * the window (the oldest one in it is at least window_ms - slack_ms old) or when no
 * agent worked at all. */
WAIHU_API bool alert_occ_mean(const struct alert_occupancy *w, int64_t now_ms, int64_t window_ms,
                              int64_t slack_ms, double *occupancy, double *agents);

/* ---- abandon_near_cap ---- */
/* A campaign's abandon rate today: abandoned / (answered + abandoned). True when at least
 * min_live live answers were counted and the rate reached fraction * cap (cap > 0). */
WAIHU_API bool alert_near_cap(uint64_t abandoned, uint64_t answered, double cap, double fraction,
                              uint64_t min_live, double *rate);

#endif
