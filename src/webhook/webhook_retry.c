/* The retry policy, pure: what an attempt's outcome means and how long to wait. */
#include "webhook_internal.h"

uint64_t webhook_backoff_ms(unsigned attempt, uint32_t rand)
{
    uint64_t base = WEBHOOK_BACKOFF_CAP_MS, delay;

    if (attempt < 1) {
        attempt = 1;
    }
    if (attempt <= 20) { /* beyond that the doubling is far past the cap */
        base = (uint64_t)WEBHOOK_BACKOFF_FIRST_MS << (attempt - 1);
        if (base > WEBHOOK_BACKOFF_CAP_MS) {
            base = WEBHOOK_BACKOFF_CAP_MS;
        }
    }
    /* base * (0.8 + 0.4 * rand / 2^32), in integers. */
    delay = base - base / 5 + ((base * 2 / 5) * rand >> 32);
    return delay > WEBHOOK_BACKOFF_CAP_MS ? WEBHOOK_BACKOFF_CAP_MS : delay;
}

enum webhook_verdict webhook_should_retry(long http_status, int err)
{
    if (err != 0) {
        /* Refused or malformed requests fail the same way next time. */
        return err == WAIHU_EINVAL || err == WAIHU_ETOOBIG ? WEBHOOK_DEAD : WEBHOOK_RETRY;
    }
    if (http_status >= 200 && http_status <= 299) {
        return WEBHOOK_DELIVERED;
    }
    if (http_status == 408 || http_status == 425 || http_status == 429 ||
        (http_status >= 500 && http_status <= 599)) {
        return WEBHOOK_RETRY;
    }
    return WEBHOOK_DEAD;
}

enum webhook_verdict webhook_next(const struct webhook_result *res, unsigned attempt,
                                  unsigned max_attempts, uint32_t rand, uint64_t *delay_ms,
                                  char *why, size_t whylen)
{
    enum webhook_verdict v = webhook_should_retry(res->status, res->err);
    const char *last = res->why[0] != '\0' ? res->why : waihu_strerror(res->err);

    *delay_ms = 0;
    webhook_say(why, whylen, "%s", "");
    if (max_attempts == 0) {
        max_attempts = WEBHOOK_MAX_ATTEMPTS_DEFAULT;
    }
    if (v == WEBHOOK_DEAD) {
        webhook_say(why, whylen, "permanent failure: %s", last);
    } else if (v == WEBHOOK_RETRY && attempt >= max_attempts) {
        webhook_say(why, whylen, "gave up after %u attempts; last: %s", attempt, last);
        v = WEBHOOK_DEAD;
    } else if (v == WEBHOOK_RETRY) {
        *delay_ms = webhook_backoff_ms(attempt, rand);
        if ((res->status == 429 || res->status == 503) && res->retry_after_s > 0) {
            uint64_t after = res->retry_after_s >= WEBHOOK_BACKOFF_CAP_MS / 1000
                                 ? WEBHOOK_BACKOFF_CAP_MS
                                 : (uint64_t)res->retry_after_s * 1000;
            *delay_ms = after > *delay_ms ? after : *delay_ms;
        }
    }
    return v;
}
