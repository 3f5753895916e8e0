/* The seat service's JSON: an agent (docs/seat-api.md "The agent object") and the
 * floor's totals for the wallboard and the live stream. */
#include <stdio.h>
#include <string.h>

#include "api_seat_internal.h"

static json_t *id_or_null(uint64_t id)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)id);
    return id ? json_string(s) : json_null();
}

json_t *seat_agent_json(const AgentState *st)
{
    struct seat_tally t = {st->day, st->calls, st->connects, st->conversions,
                           st->talk_ms, st->wrap_ms, st->idle_ms, st->break_ms};
    char call[48];
    snprintf(call, sizeof call, "%llu-%llu", (unsigned long long)st->call_node,
             (unsigned long long)st->call_id);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:o, s:o, s:o, s:i, "
        "s:{s:i, s:i, s:I, s:I, s:I, s:I, s:f, s:i, s:f}}",
        "name", st->name, "department", st->department, "state", st->state, "reason",
        st->reason, "since_ms", (json_int_t)st->since_ms, "node", st->node, "registered",
        st->node[0] != '\0', "call_id", st->call_id ? json_string(call) : json_null(),
        "campaign_id", id_or_null(st->campaign_id), "customer_id", id_or_null(st->customer_id),
        "wrap_s", (int)st->wrap_s, "stats", "calls", (int)st->calls, "connects",
        (int)st->connects, "talk_s", (json_int_t)(st->talk_ms / 1000), "wrap_s",
        (json_int_t)(st->wrap_ms / 1000), "idle_s", (json_int_t)(st->idle_ms / 1000),
        "break_s", (json_int_t)(st->break_ms / 1000), "occupancy", seat_occupancy(&t),
        "conversions", (int)st->conversions, "aht_s", seat_aht_s(&t));
}

json_t *seat_offline_json(const char *name, const char *department)
{
    AgentState st = AGENT_STATE__INIT;
    st.name = (char *)name;
    st.department = (char *)department;
    st.state = (char *)seat_state_name(SEAT_OFFLINE);
    return seat_agent_json(&st);
}

struct totals {
    const struct auth_principal *who;
    unsigned by_state[SEAT_STATE_COUNT];
    struct seat_tally sum;
    uint32_t today;
};

static int add_agent(void *data, const AgentState *st)
{
    struct totals *t = data;
    if (!auth_may_touch(t->who, st->tenant_id, st->department, st->name)) {
        return 0;
    }
    enum seat_state s;
    if (seat_state_parse(st->state, &s) == 0) {
        t->by_state[s]++;
    }
    if (st->day == t->today) {
        t->sum.calls += st->calls;
        t->sum.connects += st->connects;
        t->sum.conversions += st->conversions;
        t->sum.talk_ms += st->talk_ms;
        t->sum.wrap_ms += st->wrap_ms;
        t->sum.idle_ms += st->idle_ms;
    }
    return 0;
}

json_t *seat_totals_json(struct api *a, const struct auth_principal *who)
{
    struct totals t = {.who = who, .today = seat_today(clock_wall_ms())};
    api_seat_each(a, who->tenant_id, add_agent, &t);
    json_t *by = json_object();
    for (int i = 0; i < SEAT_STATE_COUNT; i++) {
        json_object_set_new(by, seat_state_name((enum seat_state)i), json_integer(t.by_state[i]));
    }
    return json_pack("{s:o, s:i, s:i, s:i, s:f}", "by_state", by, "calls_today",
                     (int)t.sum.calls, "connects_today", (int)t.sum.connects,
                     "conversions_today", (int)t.sum.conversions, "occupancy",
                     seat_occupancy(&t.sum));
}
