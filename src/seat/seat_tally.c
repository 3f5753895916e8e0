/* The day's figures of an agent, advanced at each state change. */
#include "seat.h"

void seat_tally_close(struct seat_tally *t, enum seat_state state, int64_t since_ms,
                      enum seat_state next, int64_t now_ms, uint32_t today)
{
    if (t->day != today) {
        /* A new day: yesterday's figures are in the call records, not here. The interval
         * that crossed midnight counts for today from its start, which is close enough
         * for a live view. */
        *t = (struct seat_tally){.day = today};
    }
    uint64_t spent = since_ms > 0 && now_ms > since_ms ? (uint64_t)(now_ms - since_ms) : 0;
    switch (state) {
    case SEAT_READY:
    case SEAT_RESERVED: t->idle_ms += spent; break;
    case SEAT_ON_CALL: t->talk_ms += spent; break;
    case SEAT_WRAP_UP: t->wrap_ms += spent; break;
    case SEAT_BREAK: t->break_ms += spent; break;
    default: break;
    }
    if (next == SEAT_RESERVED) {
        t->calls++;
    } else if (next == SEAT_ON_CALL) {
        if (state != SEAT_RESERVED) {
            t->calls++; /* put through without a reservation first */
        }
        t->connects++;
    }
}

double seat_occupancy(const struct seat_tally *t)
{
    uint64_t busy = t->talk_ms + t->wrap_ms, all = busy + t->idle_ms;
    return all > 0 ? (double)busy / (double)all : 0.0;
}

double seat_aht_s(const struct seat_tally *t)
{
    return t->connects > 0 ? (double)(t->talk_ms + t->wrap_ms) / 1000.0 / t->connects : 0.0;
}
