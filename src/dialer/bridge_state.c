/* The bridge's call state table (pure): next[state][input], -1 = illegal. */
#include "bridge_internal.h"

#define X (-1)
/* Short names of the states, for the table only. */
#define DIAL BST_DIALING
#define SCRN BST_SCREENING
#define PRMT BST_PROMPTING
#define RING BST_AGENT_RINGING
#define BRDG BST_BRIDGED
#define ANNC BST_ANNOUNCING
#define ENDG BST_ENDING
#define DONE BST_DONE

static const int next[BST_COUNT][BIN_COUNT] = {
    /*        carri- human  agent- end    relea- retry  agent- prompt trans- aban-
              er-ans        answer        sed           retry         fer    don */
    [DIAL] = {SCRN,  X,     X,     ENDG,  X,     DIAL,  X,     X,     X,     X},
    [SCRN] = {X,     RING,  X,     ENDG,  X,     X,     X,     PRMT,  X,     ANNC},
    [PRMT] = {X,     X,     X,     ENDG,  X,     X,     X,     X,     RING,  ANNC},
    [RING] = {X,     X,     BRDG,  ENDG,  X,     X,     RING,  X,     X,     ANNC},
    [BRDG] = {X,     X,     X,     ENDG,  X,     X,     X,     X,     X,     X},
    [ANNC] = {X,     X,     X,     ENDG,  X,     X,     X,     X,     X,     X},
    [ENDG] = {X,     X,     X,     ENDG,  DONE,  X,     X,     X,     X,     X},
    [DONE] = {X,     X,     X,     X,     X,     X,     X,     X,     X,     X},
};

int bridge_state_next(enum bridge_state from, enum bridge_input in)
{
    if ((unsigned)from >= BST_COUNT || (unsigned)in >= BIN_COUNT) {
        return -1;
    }
    return next[from][in];
}

const char *bridge_state_name(enum bridge_state s)
{
    static const char *names[BST_COUNT] = {"dialing", "screening", "prompting", "agent-ringing",
                                           "bridged", "announcing", "ending", "done"};
    return (unsigned)s < BST_COUNT ? names[s] : "?";
}

const char *bridge_input_name(enum bridge_input in)
{
    static const char *names[BIN_COUNT] = {"carrier-answer", "human", "agent-answer", "end",
                                           "released", "retry", "agent-retry", "prompt",
                                           "transfer", "abandon"};
    return (unsigned)in < BIN_COUNT ? names[in] : "?";
}

const char *bridge_carrier_result(int status)
{
    switch (status) {
    case 408:
    case 480:
        return "no-answer";
    case 486:
    case 600:
        return "busy";
    case 404:
    case 484:
    case 604:
        return "unreachable";
    case 403:
        return "not-allowed";
    case 487:
        return "cancelled";
    default:
        return "carrier-failure";
    }
}

const char *bridge_party_name(enum bridge_party p)
{
    switch (p) {
    case BRIDGE_BY_CARRIER: return "carrier";
    case BRIDGE_BY_AGENT: return "agent";
    case BRIDGE_BY_LOCAL: return "local";
    case BRIDGE_BY_NONE: break;
    }
    return "none";
}
