/* Trunk health thresholds: one typed table drives defaults, range checks and
 * the "health" object of the JSON file (docs/trunks.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "trunk_internal.h"

#define F(field, dbl, def, lo, hi) \
    { #field, offsetof(struct trunk_health_config, field), dbl, def, lo, hi }

const struct trunk_health_field trunk_health_fields[] = {
    F(down_consecutive, 0, 5, 1, 1000),
    F(window_calls, 0, 100, 10, TRUNK_WINDOW_MAX),
    F(window_min_calls, 0, 20, 1, TRUNK_WINDOW_MAX),
    F(down_fail_ratio, 1, 0.3, 0.01, 1.0),
    F(asr_drop_ratio, 1, 0.5, 0.0, 1.0),
    F(asr_min_calls, 0, 50, 1, TRUNK_WINDOW_MAX),
    F(asr_baseline_min, 0, 200, 1, 1000000),
    F(asr_baseline_calls, 0, 2000, 10, 1000000),
    F(asr_settle_ms, 0, 60000, 0, 3600000),
    F(probe_interval_ms, 0, 5000, 100, 3600000),
    F(probe_timeout_ms, 0, 4000, 100, 600000),
    F(up_probes, 0, 3, 1, 100),
    F(hold_ms, 0, 30000, 0, 86400000),
    F(hold_max_ms, 0, 600000, 0, 86400000),
    F(stable_ms, 0, 600000, 0, 86400000),
    F(probation_calls, 0, 20, 0, 100000),
    F(probation_fail_limit, 0, 2, 1, 100000),
    F(keepalive_interval_ms, 0, 30000, 0, 3600000),
    F(keepalive_fail_limit, 0, 3, 1, 100),
};
const size_t trunk_health_n_fields = sizeof(trunk_health_fields) / sizeof(trunk_health_fields[0]);

#undef F

int trunk_errf(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return WAIHU_EINVAL;
}

void trunk_health_default(struct trunk_health_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < trunk_health_n_fields; i++) {
        const struct trunk_health_field *f = &trunk_health_fields[i];
        char *p = (char *)cfg + f->offset;
        if (f->is_double)
            *(double *)p = f->def;
        else
            *(uint32_t *)p = (uint32_t)f->def;
    }
}

int trunk_health_check(const struct trunk_health_config *cfg, char *err, size_t err_len)
{
    if (!cfg)
        return trunk_errf(err, err_len, "health: missing");
    for (size_t i = 0; i < trunk_health_n_fields; i++) {
        const struct trunk_health_field *f = &trunk_health_fields[i];
        const char *p = (const char *)cfg + f->offset;
        double v = f->is_double ? *(const double *)p : (double)*(const uint32_t *)p;
        if (!(v >= f->min && v <= f->max)) /* also refuses NaN */
            return trunk_errf(err, err_len, "health.%s: must be in %g..%g", f->name, f->min,
                              f->max);
    }
    if (cfg->window_min_calls > cfg->window_calls)
        return trunk_errf(err, err_len, "health.window_min_calls: must not exceed window_calls");
    if (cfg->asr_min_calls > cfg->window_calls)
        return trunk_errf(err, err_len, "health.asr_min_calls: must not exceed window_calls");
    if (cfg->hold_max_ms < cfg->hold_ms)
        return trunk_errf(err, err_len, "health.hold_max_ms: must be at least hold_ms");
    if (cfg->probe_timeout_ms > cfg->probe_interval_ms)
        return trunk_errf(err, err_len,
                          "health.probe_timeout_ms: must not exceed probe_interval_ms");
    return 0;
}
