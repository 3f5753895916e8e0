/* The seat service's routes (docs/seat-api.md):
 *   GET  /v1/agents                      agents the caller may see, with live states
 *   GET  /v1/agents/{name}               one
 *   POST /v1/agents/{name}/state         {"state", "reason"}: ready, online, break, offline
 *   GET  /v1/wallboard                   agents, totals, campaigns
 *   POST /v1/calls/{id}/disposition      {"disposition", "notes", "callback_at_ms"}
 * States come from this node's live view (api_seat.c): the wallboard of any node shows
 * what that node has applied, within a replication delay of the leader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "api_seat_internal.h"

#define USER_PREFIX STORE_SERVICE_META_PREFIX "user/"
#define NOTES_MAX 2000

/* ---- listing ---- */

struct listing {
    struct api *a;
    const struct auth_principal *who;
    json_t *items;
    const char *only; /* one name, or NULL */
};

static int list_user(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct listing *l = data;
    User *u = user__unpack(NULL, vlen, val);
    if (u == NULL) {
        return 0;
    }
    if (strcmp(u->role, "agent") == 0 && (l->only == NULL || strcmp(l->only, u->name) == 0) &&
        auth_may_touch(l->who, u->tenant_id, u->department, u->name)) {
        const AgentState *st = api_seat_get(l->a, u->name);
        json_t *j = st ? seat_agent_json(st) : seat_offline_json(u->name, u->department);
        json_object_set_new(j, "disabled", json_boolean(u->disabled));
        json_array_append_new(l->items, j);
    }
    user__free_unpacked(u, NULL);
    return 0;
}

static json_t *agents_json(struct api *a, const char *only)
{
    struct listing l = {.a = a, .who = &a->who, .items = json_array(), .only = only};
    store_scan(a->store, STORE_CF_META, USER_PREFIX, strlen(USER_PREFIX), NULL, 0, list_user, &l);
    return l.items;
}

static int add_campaign(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct listing *l = data;
    Campaign *c = campaign__unpack(NULL, vlen, val);
    if (c == NULL) {
        return 0;
    }
    CampaignTally t;
    campaign_tally_sum(l->a, c->id, &t);
    uint64_t live = t.answered + t.abandoned;
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    json_array_append_new(l->items,
                          json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:f}", "id", id, "name",
                                    c->name, "mode", c->mode, "state", c->state, "calls",
                                    (json_int_t)t.attempts, "answered", (json_int_t)t.answered,
                                    "abandoned", (json_int_t)t.abandoned, "abandon_rate",
                                    live ? (double)t.abandoned / (double)live : 0.0));
    campaign__free_unpacked(c, NULL);
    return 0;
}

static void wallboard(struct api *a, struct http_request *req)
{
    struct listing camps = {.a = a, .who = &a->who, .items = json_array()};
    uint8_t prefix[9];
    prefix[0] = 'c';
    be64_put(prefix + 1, a->who.tenant_id);
    store_scan(a->store, STORE_CF_CAMPAIGN, prefix, sizeof prefix, NULL, 0, add_campaign, &camps);
    api_json(a, req, 200, json_pack("{s:o, s:o, s:o, s:I}", "agents", agents_json(a, NULL),
                                    "totals", seat_totals_json(a, &a->who), "campaigns",
                                    camps.items, "now_ms", (json_int_t)clock_wall_ms()));
}

/* ---- POST /v1/agents/{name}/state ---- */

struct state_req {
    struct api *a;
    struct http_request *req;
};

static void state_done(void *data, int status, const char *why, const AgentState *st)
{
    struct state_req *r = data;
    if (status == WAIHU_ECONFLICT) {
        api_error(r->a, r->req, 409, "invalid_transition", "state", "%s", why);
    } else if (status != 0) {
        api_error_status(r->a, r->req, status, "agent state");
    } else if (st != NULL) {
        api_json(r->a, r->req, 200, seat_agent_json(st));
    } else {
        api_error(r->a, r->req, 500, "internal", NULL, "agent state written but not readable");
    }
    free(r);
}

/* The agent's user record, when the caller may act on it; else answers 404. */
static bool agent_lookup(struct api *a, struct http_request *req, const char *name,
                         uint64_t *tenant, char dept[64], bool *disabled)
{
    if (!seat_user(a, name, tenant, dept, disabled) ||
        !auth_may_touch(&a->who, *tenant, dept, name)) {
        api_error(a, req, 404, "not_found", NULL, "no agent %s", name);
        return false;
    }
    return true;
}

static bool agent_visible(struct api *a, struct http_request *req, const char *name)
{
    uint64_t tenant;
    char dept[64];
    bool disabled;
    return agent_lookup(a, req, name, &tenant, dept, &disabled);
}

static void change_state(struct api *a, struct http_request *req, const char *name)
{
    uint64_t tenant;
    char dept[64];
    bool disabled;
    if (!agent_lookup(a, req, name, &tenant, dept, &disabled)) {
        return;
    }
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    const char *state = json_string_value(json_object_get(b, "state"));
    json_t *reason = json_object_get(b, "reason");
    struct seat_change ch = {.kind = SEAT_K_USER, .tenant = tenant, .audit = true,
                             .who = a->who};
    if (state == NULL || seat_state_parse(state, &ch.to) != 0) {
        api_error(a, req, 400, "invalid", "state",
                  "state must be one of ready, online, break, offline");
    } else if (reason != NULL && (!json_is_string(reason) ||
                                  strlen(json_string_value(reason)) > 63)) {
        api_error(a, req, 400, "invalid", "reason", "reason: a string of up to 63 bytes");
    } else if (disabled && ch.to != SEAT_OFFLINE) {
        api_error(a, req, 409, "invalid_transition", "state", "agent %s is disabled", name);
    } else {
        snprintf(ch.name, sizeof ch.name, "%s", name);
        snprintf(ch.department, sizeof ch.department, "%s", dept);
        snprintf(ch.reason, sizeof ch.reason, "%s",
                 reason ? json_string_value(reason) : ch.to == SEAT_BREAK ? "break" : "");
        struct state_req *r = malloc(sizeof *r);
        if (r == NULL) {
            waihu_fatal("api", "out of memory");
        }
        *r = (struct state_req){a, req};
        seat_change_submit(a->seat, &ch, state_done, r);
    }
    json_decref(b);
}

/* ---- POST /v1/calls/{node-id}/disposition ---- */

static const char *const dispositions[] = {"sale", "not_interested", "callback",
                                           "wrong_number", "other"};

struct dispose {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
    uint64_t call_node, call_id;
    char agent[64];
    char disposition[24];
    char *notes;
    int64_t callback_at_ms;
    uint64_t campaign, customer;
};

static void dispose_free(struct dispose *d)
{
    free(d->notes);
    free(d);
}

static void disposed(void *data, int status, const struct store_result *r)
{
    struct dispose *d = data;
    if (!api_submit_failed(d->a, d->req, status, r, "disposition")) {
        char id[48];
        snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)d->call_node,
                 (unsigned long long)d->call_id);
        api_json(d->a, d->req, 200,
                 json_pack("{s:s, s:s, s:s, s:I}", "call_id", id, "agent", d->agent,
                           "disposition", d->disposition, "callback_at_ms",
                           (json_int_t)d->callback_at_ms));
        LOG_I("api", "call %llu-%llu: disposition %s by %s (campaign %llu)",
              (unsigned long long)d->call_node, (unsigned long long)d->call_id, d->disposition,
              d->who.user, (unsigned long long)d->campaign);
        if (strcmp(d->disposition, "callback") == 0 && d->campaign != 0) {
            api_schedule_callback(d->a, d->campaign, d->customer, d->callback_at_ms);
        }
        if (d->a->seat != NULL) { /* wrap-up ends with it */
            struct seat_change ch = {.kind = SEAT_K_DISPOSED, .tenant = d->who.tenant_id,
                                     .call_node = d->call_node, .call_id = d->call_id,
                                     .conversion = strcmp(d->disposition, "sale") == 0};
            snprintf(ch.name, sizeof ch.name, "%s", d->agent);
            seat_change_submit(d->a->seat, &ch, NULL, NULL);
        }
    }
    dispose_free(d);
}

static void dispose_sealed(void *data, bool ok)
{
    struct dispose *d = data;
    struct api *a = d->a;
    size_t nlen = strlen(d->notes);
    uint8_t *sealed = malloc(nlen + FIELDCRYPT_OVERHEAD);
    size_t sealed_len = 0;
    struct fieldcrypt_aad aad = {.tenant_id = d->who.tenant_id, .customer_id = d->call_id,
                                 .field = "notes"};
    if (!ok || sealed == NULL ||
        (nlen > 0 && fieldcrypt_seal(a->keyring, &aad, (const uint8_t *)d->notes, nlen, sealed,
                                     nlen + FIELDCRYPT_OVERHEAD, &sealed_len) != 0)) {
        api_error(a, d->req, 503, "no_key", NULL, "notes cannot be encrypted: no data key");
        free(sealed);
        dispose_free(d);
        return;
    }
    Disposition rec = DISPOSITION__INIT;
    rec.format = 1;
    rec.disposition = d->disposition;
    rec.notes_sealed.data = sealed;
    rec.notes_sealed.len = sealed_len;
    rec.callback_at_ms = d->callback_at_ms;
    rec.agent = d->agent;
    rec.by = d->who.user;
    rec.at_ms = clock_wall_ms();
    rec.campaign_id = d->campaign;
    rec.customer_id = d->customer;
    size_t n = disposition__get_packed_size(&rec);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    disposition__pack(&rec, v);
    uint8_t k[25];
    k[0] = 'd';
    be64_put(k + 1, d->who.tenant_id);
    be64_put(k + 9, d->call_node);
    be64_put(k + 17, d->call_id);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_put(mb, STORE_CF_AGENT, k, sizeof k, v, n);
    char object[64];
    snprintf(object, sizeof object, "call/%llu-%llu", (unsigned long long)d->call_node,
             (unsigned long long)d->call_id);
    api_audit_add(mb, &d->who, "call.disposition", object, d->disposition);
    uint64_t tenant;
    char dept[64] = "";
    bool disabled;
    if (!seat_user(a, d->agent, &tenant, dept, &disabled)) {
        dept[0] = '\0';
    }
    api_event_add(mb, d->who.tenant_id, dept, "call.disposition", object,
                  json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "call", object + 5,
                            "disposition", d->disposition, "agent", d->agent, "campaign_id",
                            (json_int_t)d->campaign, "customer_id", (json_int_t)d->customer,
                            "callback_at_ms", (json_int_t)d->callback_at_ms, "has_notes",
                            d->notes[0] != '\0'));
    free(v);
    free(sealed);
    api_submit_mutation(a, mb, 0, 0, disposed, d);
}

/* The agent whose current or last call is node-id, among those who may be seen. */
struct call_owner {
    const struct auth_principal *who;
    uint64_t node, id;
    const AgentState *found;
};

static int owner_of(void *data, const AgentState *st)
{
    struct call_owner *o = data;
    if (((st->call_node == o->node && st->call_id == o->id) ||
         (st->last_call_node == o->node && st->last_call_id == o->id)) &&
        auth_may_touch(o->who, st->tenant_id, st->department, st->name)) {
        o->found = st;
        return 1;
    }
    return 0;
}

static bool parse_call_id(const char *s, uint64_t *node, uint64_t *id)
{
    char a[24], b[24];
    const char *dash = strchr(s, '-');
    if (dash == NULL || dash == s || (size_t)(dash - s) >= sizeof a || strlen(dash + 1) >= sizeof b) {
        return false;
    }
    snprintf(a, sizeof a, "%.*s", (int)(dash - s), s);
    snprintf(b, sizeof b, "%s", dash + 1);
    return api_parse_u64(a, node) == 0 && api_parse_u64(b, id) == 0;
}

static void dispose(struct api *a, struct http_request *req, const char *call)
{
    struct call_owner o = {.who = &a->who};
    if (!parse_call_id(call, &o.node, &o.id)) {
        api_error(a, req, 400, "invalid", "id", "a call id looks like 3-17 (node-call)");
        return;
    }
    api_seat_each(a, a->who.tenant_id, owner_of, &o);
    if (o.found == NULL) {
        api_error(a, req, 404, "not_found", NULL,
                  "no agent of yours has call %s as its current or last call", call);
        return;
    }
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    const char *disp = json_string_value(json_object_get(b, "disposition"));
    json_t *notes = json_object_get(b, "notes"), *cb = json_object_get(b, "callback_at_ms");
    bool known = false;
    for (size_t i = 0; disp != NULL && i < sizeof dispositions / sizeof *dispositions; i++) {
        known |= strcmp(disp, dispositions[i]) == 0;
    }
    if (!known) {
        api_error(a, req, 400, "invalid", "disposition",
                  "disposition must be sale, not_interested, callback, wrong_number or other");
    } else if (notes != NULL && (!json_is_string(notes) ||
                                 strlen(json_string_value(notes)) > NOTES_MAX)) {
        api_error(a, req, 400, "invalid", "notes", "notes: a string of up to %d bytes",
                  NOTES_MAX);
    } else if (cb != NULL && (!json_is_integer(cb) ||
                              json_integer_value(cb) <= clock_wall_ms())) {
        api_error(a, req, 400, "invalid", "callback_at_ms",
                  "callback_at_ms: a time in the future, in ms since 1970");
    } else if (strcmp(disp, "callback") == 0 && cb == NULL) {
        api_error(a, req, 400, "invalid", "callback_at_ms", "a callback needs callback_at_ms");
    } else {
        struct dispose *d = calloc(1, sizeof *d);
        if (d == NULL) {
            waihu_fatal("api", "out of memory");
        }
        *d = (struct dispose){.a = a, .req = req, .who = a->who, .call_node = o.node,
                              .call_id = o.id, .callback_at_ms = cb ? json_integer_value(cb) : 0,
                              .campaign = o.found->last_campaign_id,
                              .customer = o.found->last_customer_id};
        snprintf(d->agent, sizeof d->agent, "%s", o.found->name);
        snprintf(d->disposition, sizeof d->disposition, "%s", disp);
        d->notes = strdup(notes ? json_string_value(notes) : "");
        if (d->notes == NULL) {
            waihu_fatal("api", "out of memory");
        }
        api_with_keyring(a, dispose_sealed, d);
    }
    json_decref(b);
}

/* ---- preview: GET /v1/agents/{name}/preview, POST .../preview/call|skip ---- */

static void preview_offer(struct api *a, struct http_request *req, const char *name)
{
    struct api_preview p;
    const char *why = "";
    if (api_dialer_preview_offer(a, name, &p, &why) != 0) {
        api_json(a, req, 200, json_pack("{s:n, s:s}", "lead", "reason", why));
        return;
    }
    char camp[24], cust[24];
    snprintf(camp, sizeof camp, "%llu", (unsigned long long)p.campaign);
    snprintf(cust, sizeof cust, "%llu", (unsigned long long)p.customer);
    api_json(a, req, 200, json_pack("{s:{s:s, s:s, s:I}}", "lead", "campaign_id", camp,
                                    "customer_id", cust, "until_ms", (json_int_t)p.until_ms));
}

static void preview_decide(struct api *a, struct http_request *req, const char *name,
                           bool call)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    uint64_t campaign = 0, customer = 0;
    const char *cs = json_string_value(json_object_get(b, "campaign_id"));
    const char *us = json_string_value(json_object_get(b, "customer_id"));
    if (cs == NULL || api_parse_u64(cs, &campaign) != 0) {
        api_error(a, req, 400, "invalid", "campaign_id", "campaign_id: the offer's, a string");
    } else if (us == NULL || api_parse_u64(us, &customer) != 0) {
        api_error(a, req, 400, "invalid", "customer_id", "customer_id: the offer's, a string");
    } else if ((call ? api_dialer_preview_call(a, name, campaign, customer)
                     : api_dialer_preview_skip(a, name, campaign, customer)) != 0) {
        api_error(a, req, 404, "not_found", NULL,
                  "agent %s has no offer of customer %s in campaign %s on this node (taken, "
                  "expired or asked on another node)", name, us, cs);
    } else {
        api_json(a, req, call ? 202 : 200, json_pack("{s:s}", "state",
                                                     call ? "dialing" : "skipped"));
    }
    json_decref(b);
}

/* ---- routing ---- */

bool api_route_agents(struct api *a, struct http_request *req, const char *method,
                      const char *path)
{
    if (strcmp(path, "/v1/stream") == 0) { /* upgrades never reach the handler */
        api_error(a, req, 426, "upgrade_required", NULL,
                  "/v1/stream is a WebSocket: connect with Upgrade: websocket");
        return true;
    }
    if (strcmp(path, "/v1/wallboard") == 0) {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_WALLBOARD)) {
            wallboard(a, req);
        }
        return true;
    }
    static const char calls[] = "/v1/calls/", disp[] = "/disposition";
    size_t pl = strlen(path);
    if (strncmp(path, calls, sizeof calls - 1) == 0 && pl > sizeof calls - 1 + sizeof disp - 1 &&
        strcmp(path + pl - (sizeof disp - 1), disp) == 0) {
        char id[64];
        size_t n = pl - (sizeof calls - 1) - (sizeof disp - 1);
        snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1),
                 path + sizeof calls - 1);
        if (strcmp(method, "POST") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use POST");
        } else if (api_require(a, req, AUTH_CALL_DISPOSE)) {
            dispose(a, req, id);
        }
        return true;
    }
    static const char agents[] = "/v1/agents";
    if (strncmp(path, agents, sizeof agents - 1) != 0 ||
        (path[sizeof agents - 1] != '\0' && path[sizeof agents - 1] != '/')) {
        return false;
    }
    const char *rest = path + sizeof agents - 1;
    if (a->seat == NULL) {
        api_error(a, req, 503, "unavailable", NULL, "the seat service is not running");
        return true;
    }
    if (*rest == '\0') {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_AGENT_READ)) {
            api_json(a, req, 200, json_pack("{s:o}", "agents", agents_json(a, NULL)));
        }
        return true;
    }
    char name[64];
    const char *slash = strchr(rest + 1, '/');
    size_t n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
    if (n == 0 || n >= sizeof name) {
        api_error(a, req, 404, "not_found", NULL, "no route %s %s", method, path);
        return true;
    }
    snprintf(name, sizeof name, "%.*s", (int)n, rest + 1);
    if (slash == NULL) {
        if (strcmp(method, "GET") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
        } else if (api_require(a, req, AUTH_AGENT_READ)) {
            json_t *items = agents_json(a, name);
            if (json_array_size(items) == 0) {
                api_error(a, req, 404, "not_found", NULL, "no agent %s", name);
            } else {
                api_json(a, req, 200, json_incref(json_array_get(items, 0)));
            }
            json_decref(items);
        }
    } else if (strcmp(slash, "/preview") == 0 || strcmp(slash, "/preview/call") == 0 ||
               strcmp(slash, "/preview/skip") == 0) {
        bool offer = strcmp(slash, "/preview") == 0;
        if (strcmp(method, offer ? "GET" : "POST") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, offer ? "use GET" : "use POST");
        } else if (api_require(a, req, AUTH_AGENT_STATE) && agent_visible(a, req, name)) {
            if (offer) {
                preview_offer(a, req, name);
            } else {
                preview_decide(a, req, name, strcmp(slash, "/preview/call") == 0);
            }
        }
    } else if (strcmp(slash, "/state") == 0) {
        if (strcmp(method, "POST") != 0) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use POST");
        } else if (api_require(a, req, AUTH_AGENT_STATE)) {
            change_state(a, req, name);
        }
    } else {
        api_error(a, req, 404, "not_found", NULL, "no route %s %s", method, path);
    }
    return true;
}
