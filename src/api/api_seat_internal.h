/* The seat service on a node, shared between its files (docs/seat-api.md):
 * api_seat.c (the live view of every agent, kept from applied changes), api_seat_write.c
 * (state changes: read, check, write conditioned on what was read), api_seat_calls.c
 * (registrations, call progress and wrap-up timers from the node's telephony),
 * api_agents.c (HTTP routes), api_stream.c (the WebSocket stream). */
#ifndef WAIHU_API_SEAT_INTERNAL_H
#define WAIHU_API_SEAT_INTERNAL_H

#include "api_internal.h"
#include "seat.h"

#define SEAT_KEY_MAX (1 + 8 + 64)
#define AGENT_STATE_SINCE_FIELD 7 /* AgentState.since_ms, stamped by the FSM */

struct seat_entry {
    AgentState *st;          /* as applied here */
    int64_t reserved_until;  /* a reservation of this node in flight (clock_now_ms) */
    int64_t writing_until;   /* a timer-driven change in flight */
};

struct seat_listener {
    void (*fn)(void *data, const AgentState *st);
    void *data;
    struct seat_listener *next;
};

struct seat_call;
struct seat_write;

struct api_seat {
    struct api *a;
    struct telephony *t;        /* NULL: this node has no telephony */
    uint64_t self_id;
    char self_name[64];
    struct seat_entry *entries; /* sorted by name (names are unique cluster-wide) */
    size_t n, cap;
    struct seat_listener *listeners;
    struct seat_call *calls;    /* calls of this node's agents, by telephony id */
    uv_timer_t timer;           /* wrap-up ends */
    bool timer_on;
    bool stopping;
    unsigned outstanding;       /* writes whose callback has not come */
    struct seat_write *writes;  /* running and queued changes (api_seat_write.c) */
};

/* Store key of an agent's state: "s" | be64 tenant | name. Returns its length. */
size_t seat_key(uint64_t tenant, const char *name, uint8_t out[SEAT_KEY_MAX]);
struct seat_entry *seat_find(struct api_seat *s, const char *name);
/* The user record's tenant and department; false when there is no such user. */
bool seat_user(struct api *a, const char *name, uint64_t *tenant, char department[64],
               bool *disabled);
/* Frees the view once stopping and nothing is in flight. */
void seat_release(struct api_seat *s);
/* yyyymmdd of wall_ms in the node's local time. */
uint32_t seat_today(int64_t wall_ms);

/* ---- JSON (api_seat_json.c) ---- */
json_t *seat_agent_json(const AgentState *st);
json_t *seat_offline_json(const char *name, const char *department);
/* Agents by state and today's sums over the agents who may see (tenant, department). */
json_t *seat_totals_json(struct api *a, const struct auth_principal *who);

/* ---- writes (api_seat_write.c) ---- */
enum seat_kind {
    SEAT_K_REGISTER,   /* softphone registered here */
    SEAT_K_UNREGISTER, /* registration gone here */
    SEAT_K_RESERVE,    /* the dialer gives it a call */
    SEAT_K_BRIDGED,    /* the call reached the agent */
    SEAT_K_ENDED,      /* the call ended */
    SEAT_K_WRAP_DONE,  /* wrap-up time over */
    SEAT_K_USER,       /* a user's request */
    SEAT_K_DISPOSED,   /* a disposition was recorded */
};

struct seat_change {
    enum seat_kind kind;
    uint64_t tenant;
    char name[64];
    char department[64];
    enum seat_state to;      /* SEAT_K_USER */
    char reason[64];
    uint64_t call_node, call_id, campaign, customer;
    int32_t wrap_s;          /* -1: no wrap-up, 0: until a disposition, else seconds */
    bool talked;             /* SEAT_K_ENDED */
    char source_host[64];    /* SEAT_K_REGISTER: the softphone's IP */
    int64_t registered_until_ms; /* SEAT_K_REGISTER: wall clock */
    uint32_t expires_s;      /* SEAT_K_REGISTER: the lifetime granted */
    bool conversion;         /* SEAT_K_DISPOSED */
    bool audit;
    struct auth_principal who;
};

/* Result of a change: status 0 (applied or nothing to do: st is the record now, or NULL
 * when the agent has none), WAIHU_ECONFLICT with why (refused: the change makes no sense
 * from the current state), or another WAIHU_E* (not written). */
typedef void (*seat_done_fn)(void *data, int status, const char *why, const AgentState *st);
void seat_change_submit(struct api_seat *s, const struct seat_change *ch, seat_done_fn done,
                        void *data);

/* ---- telephony side (api_seat_calls.c) ---- */
void seat_calls_attach(struct api_seat *s, struct telephony *t);
void seat_calls_stop(struct api_seat *s);
/* Tells this node's registrar where the cluster says the agent of st is registered
 * (duplicate logins); old is the record it replaces in the view, NULL when new. */
void seat_calls_view_changed(struct api_seat *s, const AgentState *old, const AgentState *st);
/* The same for every agent of the view (at attach, after a snapshot). */
void seat_calls_view_loaded(struct api_seat *s);

#endif
