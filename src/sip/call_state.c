/* Call state table; see call_state.h. */
#include "call_state.h"

#define X (-1)

/* next[state][input]; X marks a move that is a bug (or a peer we must not follow). */
static const signed char next[CS_COUNT][CI_COUNT] = {
    /*                SEND_INV    RECV_INV     PROV           ANSWERED   FAILED   HANGUP
                      R_BYE    R_CANCEL REFER      TERMINATED */
    [CS_IDLE] =       {CS_CALLING, CS_INCOMING, X,             X,         CS_DONE, CS_DONE,
                       X,       X,       X,          CS_DONE},
    [CS_CALLING] =    {X,          X,           CS_EARLY,      CS_ACTIVE, CS_DONE, CS_CANCELLING,
                       X,       X,       X,          CS_DONE},
    [CS_EARLY] =      {X,          X,           CS_EARLY,      CS_ACTIVE, CS_DONE, CS_CANCELLING,
                       X,       X,       X,          CS_DONE},
    [CS_INCOMING] =   {X,          X,           CS_INCOMING,   CS_ACTIVE, CS_DONE, CS_DONE,
                       X,       CS_DONE, X,          CS_DONE},
    [CS_ACTIVE] =     {X,          X,           X,             CS_ACTIVE, X,       CS_ENDING,
                       CS_DONE, X,       CS_ACTIVE,  CS_DONE},
    [CS_CANCELLING] = {X,          X,           CS_CANCELLING, CS_ENDING, CS_DONE, CS_CANCELLING,
                       X,       X,       X,          CS_DONE},
    [CS_ENDING] =     {X,          X,           X,             CS_ENDING, CS_ENDING, CS_ENDING,
                       CS_DONE, X,       X,          CS_DONE},
    [CS_DONE] =       {X,          X,           X,             X,         X,       CS_DONE,
                       X,       X,       X,          CS_DONE},
};

int call_state_next(enum call_state from, enum call_input input)
{
    if ((unsigned)from >= CS_COUNT || (unsigned)input >= CI_COUNT) {
        return -1;
    }
    return next[from][input];
}

const char *call_state_name(enum call_state s)
{
    static const char *names[CS_COUNT] = {"idle",   "calling",    "early",  "incoming",
                                          "active", "cancelling", "ending", "done"};
    return (unsigned)s < CS_COUNT ? names[s] : "?";
}

const char *call_input_name(enum call_input i)
{
    static const char *names[CI_COUNT] = {"send-invite", "recv-invite", "provisional",
                                          "answered",    "failed",      "hangup",
                                          "remote-bye",  "remote-cancel", "refer",
                                          "terminated"};
    return (unsigned)i < CI_COUNT ? names[i] : "?";
}
