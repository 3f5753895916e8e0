/* Campaign rules the dialer applies to every lead (docs/campaigns.md): where the
 * customer's calling window lies in absolute time, and what a call's result does to
 * its lead (done, or retried later). Pure functions except campaign_zone_offset, which
 * reads the system's time-zone database. */
#ifndef WAIHU_DIALER_CAMPAIGN_H
#define WAIHU_DIALER_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

#define CAMPAIGN_ZONE_MAX 64
#define CAMPAIGN_NO_REPEAT_AFTER_ABANDON_MS (72ll * 3600 * 1000) /* Ofcom */

/* The IANA zone of a number's country (its main zone for countries with several):
 * "+8613912345678" -> "Asia/Shanghai". Returns false for a country we do not know. */
WAIHU_API bool campaign_zone_for_number(const char *e164, char zone[CAMPAIGN_ZONE_MAX]);

/* UTC offset in seconds of zone at unix time t_ms (DST included), from the system's
 * zoneinfo. Returns 0 or WAIHU_EINVAL for an unknown zone. Core loop thread only: it
 * switches the process's TZ for the lookup (results are cached per zone and hour). */
WAIHU_API int campaign_zone_offset(const char *zone, int64_t t_ms, int32_t *offset_s);

/* A calling window on the local day containing now_ms (offset_s from UTC):
 * [open_ms, close_ms) in unix ms, and the local day as yyyymmdd. start_min < end_min,
 * both minutes since local midnight (<= 1440). */
struct campaign_window {
    int64_t open_ms, close_ms;
    uint32_t day;
};
WAIHU_API void campaign_window_on(int64_t now_ms, int32_t offset_s, uint32_t start_min,
                                  uint32_t end_min, struct campaign_window *out);

/* What a call's result (bridge_cdr result names) does to its lead. */
struct campaign_next {
    bool done;          /* no more attempts */
    int64_t next_at_ms; /* when not done: not before */
    bool live;          /* a live person answered (counts toward the abandon rate) */
    bool abandoned;     /* live, but no agent took it */
};
struct campaign_retry {
    uint32_t attempts;     /* attempts made, this one included */
    uint32_t max_attempts; /* per lead, in total */
    uint32_t retry_after_s;
};
WAIHU_API void campaign_after_call(const char *result, int64_t now_ms,
                                   const struct campaign_retry *rule, struct campaign_next *out);

/* The hard backstop of the abandon cap (ARCHITECTURE.md "Safety rules of the dialer"),
 * whatever pacing predicts: of the `launch` calls pacing wants, keeps only as many as
 * leave the abandon rate within cap even if every call beyond the ready agents (calls
 * in flight + launched - ready) were abandoned, given live answers and abandons so far.
 * Applied per node to its own tally, so the campaign's rate stays under the cap too.
 * Early in a campaign this makes predictive dialing progressive. */
WAIHU_API unsigned campaign_abandon_guard(unsigned launch, unsigned in_flight, unsigned ready,
                                          uint64_t live, uint64_t abandoned, double cap);

#endif
