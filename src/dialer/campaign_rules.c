/* Calling windows and retry rules (campaign.h). */
#include <string.h>

#include "campaign.h"

#define DAY_MS (86400ll * 1000)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static uint32_t civil_day(int64_t days)
{
    days += 719468;
    int64_t era = floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return (uint32_t)(y * 10000 + m * 100 + d);
}

void campaign_window_on(int64_t now_ms, int32_t offset_s, uint32_t start_min, uint32_t end_min,
                        struct campaign_window *out)
{
    int64_t off_ms = (int64_t)offset_s * 1000;
    int64_t local_days = floor_div(now_ms + off_ms, DAY_MS);
    int64_t midnight_utc = local_days * DAY_MS - off_ms;
    out->open_ms = midnight_utc + (int64_t)start_min * 60000;
    out->close_ms = midnight_utc + (int64_t)end_min * 60000;
    out->day = civil_day(local_days);
}

/* Results after which the number is worth another try; anything else but an answer ends
 * the lead (unreachable, not-allowed: the number is wrong or barred). */
static bool retryable(const char *r)
{
    static const char *const names[] = {"no-answer", "busy", "machine", "carrier-failure",
                                        "agent-unavailable", "dropped", "cancelled",
                                        "error", "abandoned"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strcmp(r, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

void campaign_after_call(const char *result, int64_t now_ms, const struct campaign_retry *rule,
                         struct campaign_next *out)
{
    *out = (struct campaign_next){0};
    out->abandoned = strcmp(result, "abandoned") == 0;
    out->live = out->abandoned || strcmp(result, "answered") == 0;
    if (strcmp(result, "answered") == 0 || !retryable(result) ||
        rule->attempts >= rule->max_attempts) {
        out->done = true;
        return;
    }
    /* An abandoned person is not called again within 72 hours. */
    int64_t wait_ms = out->abandoned ? CAMPAIGN_NO_REPEAT_AFTER_ABANDON_MS
                                     : (int64_t)rule->retry_after_s * 1000;
    out->next_at_ms = now_ms + wait_ms;
}

unsigned campaign_abandon_guard(unsigned launch, unsigned in_flight, unsigned ready,
                                uint64_t live, uint64_t abandoned, double cap)
{
    while (launch > 0) {
        double over = (double)in_flight + launch - ready;
        if (over <= 0 || (double)abandoned + over <= cap * ((double)live + over)) {
            break;
        }
        launch--;
    }
    return launch;
}
