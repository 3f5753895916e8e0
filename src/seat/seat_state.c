/* Agent states and the changes between them (docs/seat-api.md "States"). */
#include <string.h>

#include "seat.h"

static const char *const names[SEAT_STATE_COUNT] = {
    [SEAT_OFFLINE] = "offline", [SEAT_ONLINE] = "online",   [SEAT_READY] = "ready",
    [SEAT_RESERVED] = "reserved", [SEAT_ON_CALL] = "on_call", [SEAT_WRAP_UP] = "wrap_up",
    [SEAT_BREAK] = "break",
};

const char *seat_state_name(enum seat_state s)
{
    return (unsigned)s < SEAT_STATE_COUNT ? names[s] : "?";
}

int seat_state_parse(const char *name, enum seat_state *out)
{
    for (int i = 0; i < SEAT_STATE_COUNT; i++) {
        if (name != NULL && strcmp(name, names[i]) == 0) {
            *out = (enum seat_state)i;
            return 0;
        }
    }
    return -1;
}

static bool has_call(enum seat_state s)
{
    return s == SEAT_RESERVED || s == SEAT_ON_CALL || s == SEAT_WRAP_UP;
}

/* Changes users may ask for: their availability, never the call states. */
static bool user_change_ok(enum seat_state from, enum seat_state to, bool registered,
                           const char **why)
{
    switch (to) {
    case SEAT_READY:
    case SEAT_ONLINE:
    case SEAT_BREAK:
        if (!registered) {
            *why = "the agent's softphone is not registered";
            return false;
        }
        if (from == SEAT_RESERVED || from == SEAT_ON_CALL) {
            *why = "the agent is on a call";
            return false;
        }
        return true;
    case SEAT_OFFLINE:
        if (from == SEAT_RESERVED || from == SEAT_ON_CALL) {
            *why = "the agent is on a call";
            return false;
        }
        return true;
    case SEAT_WRAP_UP:
        *why = "wrap_up needs a call: it starts when a call ends";
        return false;
    case SEAT_RESERVED:
    case SEAT_ON_CALL:
        *why = "call states are set by the dialer, not by request";
        return false;
    default:
        *why = "unknown state";
        return false;
    }
}

/* Changes telephony and the dialer make: registrations and the life of a call. */
static bool system_change_ok(enum seat_state from, enum seat_state to, const char **why)
{
    switch (to) {
    case SEAT_ONLINE:   /* registered */
    case SEAT_OFFLINE:  /* registration gone */
    case SEAT_READY:    /* end of wrap-up, or a call that never reached the agent */
        return true;
    case SEAT_RESERVED:
        if (from != SEAT_READY) {
            *why = "only a ready agent is given a call";
            return false;
        }
        return true;
    case SEAT_ON_CALL: /* online: a call the agent placed itself */
        if (from != SEAT_RESERVED && from != SEAT_READY && from != SEAT_ONLINE) {
            *why = "a call is put through to a ready, reserved or online agent only";
            return false;
        }
        return true;
    case SEAT_WRAP_UP:
        if (!has_call(from)) {
            *why = "wrap_up needs a call";
            return false;
        }
        return true;
    default:
        *why = "the system never sends an agent on a break";
        return false;
    }
}

bool seat_change_ok(enum seat_state from, enum seat_state to, enum seat_actor by,
                    bool registered, const char **why)
{
    static const char *unused;
    if (why == NULL) {
        why = &unused;
    }
    *why = "";
    if ((unsigned)from >= SEAT_STATE_COUNT || (unsigned)to >= SEAT_STATE_COUNT) {
        *why = "unknown state";
        return false;
    }
    return by == SEAT_BY_USER ? user_change_ok(from, to, registered, why)
                              : system_change_ok(from, to, why);
}
