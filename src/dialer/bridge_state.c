/* The bridge's call state table (pure): next[state][input], -1 = illegal. */
#include "bridge_internal.h"

#define X (-1)

static const int next[BST_COUNT][BIN_COUNT] = {
    /*                 carrier-answer  human              agent-answer  end         released  retry        agent-retry */
    [BST_DIALING] =       {BST_SCREENING, X,                 X,            BST_ENDING, X,        BST_DIALING, X},
    [BST_SCREENING] =     {X,             BST_AGENT_RINGING, X,            BST_ENDING, X,        X,           X},
    [BST_AGENT_RINGING] = {X,             X,                 BST_BRIDGED,  BST_ENDING, X,        X,           BST_AGENT_RINGING},
    [BST_BRIDGED] =       {X,             X,                 X,            BST_ENDING, X,        X,           X},
    [BST_ENDING] =        {X,             X,                 X,            BST_ENDING, BST_DONE, X,           X},
    [BST_DONE] =          {X,             X,                 X,            X,          X,        X,           X},
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
    static const char *names[BST_COUNT] = {"dialing", "screening", "agent-ringing", "bridged",
                                           "ending", "done"};
    return (unsigned)s < BST_COUNT ? names[s] : "?";
}

const char *bridge_input_name(enum bridge_input in)
{
    static const char *names[BIN_COUNT] = {"carrier-answer", "human", "agent-answer", "end",
                                           "released", "retry", "agent-retry"};
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
