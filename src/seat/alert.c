/* Supervisor alerts, pure part: see alert.h. */
#include "alert.h"

#include <string.h>

static const char *const kinds[ALERT_KIND_COUNT] = {"metric_falling", "occupancy_below",
                                                    "abandon_near_cap"};

const char *alert_kind_name(enum alert_kind k)
{
    return k < ALERT_KIND_COUNT ? kinds[k] : "unknown";
}

int alert_kind_parse(const char *name, enum alert_kind *out)
{
    for (int i = 0; i < ALERT_KIND_COUNT; i++) {
        if (strcmp(name, kinds[i]) == 0) {
            *out = (enum alert_kind)i;
            return 0;
        }
    }
    return WAIHU_EINVAL;
}

bool alert_falling(const struct alert_week *weeks, size_t n, uint64_t min_volume)
{
    if (n < 2) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!weeks[i].defined || weeks[i].volume < min_volume || weeks[i].volume == 0) {
            return false;
        }
        if (i > 0 && !(weeks[i].value < weeks[i - 1].value)) {
            return false;
        }
    }
    return true;
}

void alert_occ_init(struct alert_occupancy *w)
{
    memset(w, 0, sizeof *w);
}

void alert_occ_add(struct alert_occupancy *w, int64_t at_ms, uint32_t busy, uint32_t working)
{
    if (w->n > 0) {
        size_t newest = (w->head + ALERT_OCC_SAMPLES - 1) % ALERT_OCC_SAMPLES;
        if (at_ms < w->at_ms[newest]) {
            return;
        }
    }
    w->at_ms[w->head] = at_ms;
    w->busy[w->head] = busy;
    w->working[w->head] = working;
    w->head = (w->head + 1) % ALERT_OCC_SAMPLES;
    if (w->n < ALERT_OCC_SAMPLES) {
        w->n++;
    }
}

bool alert_occ_mean(const struct alert_occupancy *w, int64_t now_ms, int64_t window_ms,
                    int64_t slack_ms, double *occupancy, double *agents)
{
    uint64_t busy = 0, working = 0;
    size_t used = 0;
    int64_t oldest = now_ms;
    for (size_t k = 0; k < w->n; k++) {
        size_t i = (w->head + ALERT_OCC_SAMPLES - 1 - k) % ALERT_OCC_SAMPLES;
        if (w->at_ms[i] < now_ms - window_ms || w->at_ms[i] > now_ms) {
            continue;
        }
        busy += w->busy[i];
        working += w->working[i];
        oldest = w->at_ms[i];
        used++;
    }
    if (used == 0 || working == 0 || now_ms - oldest < window_ms - slack_ms) {
        return false;
    }
    *occupancy = (double)busy / (double)working;
    *agents = (double)working / (double)used;
    return true;
}

bool alert_near_cap(uint64_t abandoned, uint64_t answered, double cap, double fraction,
                    uint64_t min_live, double *rate)
{
    uint64_t live = abandoned + answered;
    if (cap <= 0 || live == 0 || live < min_live) {
        return false;
    }
    *rate = (double)abandoned / (double)live;
    return *rate >= fraction * cap;
}
