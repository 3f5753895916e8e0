/* The call state table (STYLE.md "States with rules"): every move of a call in the SIP
 * thread goes through call_state_next, so an unexpected move is reported, not applied. */
#ifndef WAIHU_SIP_CALL_STATE_H
#define WAIHU_SIP_CALL_STATE_H

enum call_state {
    CS_IDLE = 0,
    CS_CALLING,    /* INVITE sent, nothing back yet */
    CS_EARLY,      /* 1xx received */
    CS_INCOMING,   /* INVITE received, not answered */
    CS_ACTIVE,     /* answered */
    CS_CANCELLING, /* CANCEL sent, waiting for the final response */
    CS_ENDING,     /* BYE sent, waiting for the transaction to end */
    CS_DONE,       /* terminated: one FAILED or ENDED event was emitted */
    CS_COUNT
};

enum call_input {
    CI_SEND_INVITE = 0,
    CI_RECV_INVITE,
    CI_PROVISIONAL,    /* 1xx received (outgoing) or sent (incoming) */
    CI_ANSWERED,       /* 2xx received (outgoing) or sent (incoming) */
    CI_FAILED,         /* final >= 300 received or sent, timeout, transport error */
    CI_HANGUP,         /* the core asked to end the call */
    CI_REMOTE_BYE,     /* BYE received */
    CI_REMOTE_CANCEL,  /* CANCEL received on an incoming call */
    CI_REFER,          /* transfer requested */
    CI_TERMINATED,     /* the stack released the dialog */
    CI_COUNT
};

/* The state after applying input in state from, or -1 when the table forbids it. */
int call_state_next(enum call_state from, enum call_input input);

const char *call_state_name(enum call_state s);
const char *call_input_name(enum call_input i);

#endif
