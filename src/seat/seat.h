/* The seat service's pure part (docs/seat-api.md): agent states, which changes make sense,
 * and the day's tallies kept with each state. No I/O, no clock: callers pass the time.
 * The live view every node keeps and the API around it live in src/api/api_agents*.c. */
#ifndef WAIHU_SEAT_H
#define WAIHU_SEAT_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

enum seat_state {
    SEAT_OFFLINE = 0, /* no softphone registered */
    SEAT_ONLINE,      /* registered, not taking calls */
    SEAT_READY,       /* waiting for a call */
    SEAT_RESERVED,    /* a call is being put through */
    SEAT_ON_CALL,     /* talking */
    SEAT_WRAP_UP,     /* after-call work */
    SEAT_BREAK,       /* away, with a reason */
    SEAT_STATE_COUNT
};

WAIHU_API const char *seat_state_name(enum seat_state s);
/* 0, or -1 for a name that is not a state. */
WAIHU_API int seat_state_parse(const char *name, enum seat_state *out);

/* Who asks for a change: an agent or supervisor through the API, or the node's telephony
 * and dialer (registrations, calls). Some changes belong to one side only: nobody asks
 * to be "on_call", and telephony never sends an agent on a break. */
enum seat_actor { SEAT_BY_USER = 0, SEAT_BY_SYSTEM };

/* Whether from -> to makes sense; when not, *why says so in words a user understands
 * ("wrap_up needs a call"). registered: the agent's softphone is registered somewhere. */
WAIHU_API bool seat_change_ok(enum seat_state from, enum seat_state to, enum seat_actor by,
                              bool registered, const char **why);

/* The day's figures of one agent, carried in its state record. */
struct seat_tally {
    uint32_t day; /* yyyymmdd the figures belong to */
    uint32_t calls, connects, conversions;
    uint64_t talk_ms, wrap_ms, idle_ms, break_ms;
};

/* Closes the interval spent in `state` from since_ms to now_ms into t: its time goes to
 * the right bucket, and entering `next` counts a call (reserved) or a connect (on_call).
 * A new day (today != t->day) starts the figures again. A clock that went back counts 0. */
WAIHU_API void seat_tally_close(struct seat_tally *t, enum seat_state state, int64_t since_ms,
                                enum seat_state next, int64_t now_ms, uint32_t today);

/* Derived figures: occupancy = (talk + wrap) / (talk + wrap + idle), 0 with no time;
 * average handle time = (talk + wrap) / connects in seconds, 0 with no connect. */
WAIHU_API double seat_occupancy(const struct seat_tally *t);
WAIHU_API double seat_aht_s(const struct seat_tally *t);

#endif
