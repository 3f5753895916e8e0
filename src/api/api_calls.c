/* Calls through the node's telephony (docs/telephony.md):
 *   POST /v1/calls {"customer_id"|"number", "agent"}  place a call, bridged to the agent
 *   GET  /v1/calls?limit=                              the tenant's newest call records
 * A call is checked (role, object, number, do-not-call here), then its attempt is
 * committed (an audit row whose mutation requires the number to be absent from the
 * do-not-call list at commit: the FSM refuses it otherwise) before the INVITE leaves; its CDR is written to the replicated call family with the number sealed
 * like a customer field. Agents' softphone credentials (User.sip_ha1) are pushed into
 * the SIP engine at start and whenever a user record changes (a meta watcher). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"
#include "api_seat_internal.h"
#include "api_internal.h"
#include "telephony.h"

#define USER_PREFIX STORE_SERVICE_META_PREFIX "user/"
#define CALL_KEY_BYTES 32
#define LIST_MAX 200

struct pending_call {
    uint64_t id;
    uint64_t tenant_id;
    uint64_t customer_id;
    char agent[64];
    char placed_by[64];
    char e164[PHONE_E164_SIZE];
    struct pending_call *next;
};

struct api_calls {
    struct api *a;
    struct telephony *t;
    uint64_t node_id;
    struct pending_call *pending;
};

/* ---- agent credentials ---- */

static void push_user(struct api_calls *k, const void *val, size_t vlen)
{
    User *u = user__unpack(NULL, vlen, val);
    if (u == NULL) {
        return;
    }
    bool softphone = !u->disabled && u->sip_ha1[0] != '\0' &&
                     (strcmp(u->role, "agent") == 0 || strcmp(u->role, "supervisor") == 0);
    char tenant[24];
    snprintf(tenant, sizeof tenant, "%llu", (unsigned long long)u->tenant_id);
    LOG_D("api", "softphone credential of %s: %s", u->name, softphone ? "set" : "none");
    if (softphone) {
        telephony_set_agent(k->t, u->name, u->sip_ha1, tenant);
    } else {
        telephony_remove_agent(k->t, u->name);
    }
    user__free_unpacked(u, NULL);
}

static int push_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    push_user(data, val, vlen);
    return 0;
}

static void push_all(struct api_calls *k)
{
    store_scan(k->a->store, STORE_CF_META, USER_PREFIX, strlen(USER_PREFIX), NULL, 0, push_one,
               k);
}

static void on_meta(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct api_calls *k = data;
    size_t p = strlen(USER_PREFIX);
    if (key == NULL) {
        push_all(k);
    } else if (klen > p && memcmp(key, USER_PREFIX, p) == 0) {
        if (val != NULL) {
            push_user(k, val, vlen);
        } else {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(klen - p), (const char *)key + p);
            telephony_remove_agent(k->t, name);
        }
    }
}

/* ---- CDRs ---- */

static void call_key(uint64_t tenant, int64_t start_ms, uint64_t node, uint64_t id,
                     uint8_t out[CALL_KEY_BYTES])
{
    be64_put(out, tenant);
    be64_put(out + 8, (uint64_t)start_ms);
    be64_put(out + 16, node);
    be64_put(out + 24, id);
}

void api_call_record_put(struct api *a, struct store_mutation_builder *mb,
                         const struct bridge_cdr *cdr, const struct call_origin *o)
{
    CallRecord r = CALL_RECORD__INIT;
    r.format = 1;
    r.id = cdr->id;
    r.node = cluster_config_get(a->cluster)->self.id;
    r.tenant_id = o->tenant_id;
    r.agent = (char *)(o->agent != NULL ? o->agent : cdr->agent != NULL ? cdr->agent : "");
    r.customer_id = o->customer_id;
    r.result = (char *)cdr->result;
    r.end_reason = (char *)cdr->end_reason;
    r.hangup_by = (char *)bridge_party_name(cdr->hangup_by);
    r.status = cdr->status;
    r.start_ms = cdr->start_wall_ms;
    r.ring_ms = cdr->ring_ms;
    r.talk_ms = cdr->talk_ms;
    r.duration_ms = cdr->duration_ms;
    r.amd = (char *)(cdr->amd ? cdr->amd : "");
    r.recording = (char *)(cdr->recording ? cdr->recording : "");
    r.carrier_dialog = (char *)(cdr->carrier_dialog ? cdr->carrier_dialog : "");
    r.placed_by = (char *)o->placed_by;
    r.campaign_id = o->campaign_id;
    char digit[2] = {cdr->ivr_digit, '\0'};
    r.prompt_state = (char *)(cdr->prompt.state ? cdr->prompt.state : "none");
    r.ivr_digit = digit;
    r.transferred = cdr->transferred != 0;
    r.abandon_prompt_state = (char *)(cdr->abandon_prompt.state ? cdr->abandon_prompt.state
                                                                : "none");
    r.abandon_prompt_start_ms = cdr->abandon_prompt.start_ms;
    /* The number is personal data: sealed, bound to this call record. */
    uint8_t sealed[PHONE_E164_SIZE + FIELDCRYPT_OVERHEAD];
    size_t sealed_len = 0;
    struct fieldcrypt_aad aad = {.tenant_id = o->tenant_id, .customer_id = cdr->id,
                                 .field = "number"};
    if (fieldcrypt_seal(a->keyring, &aad, (const uint8_t *)o->e164, strlen(o->e164), sealed,
                        sizeof sealed, &sealed_len) == 0) {
        r.number_sealed.data = sealed;
        r.number_sealed.len = sealed_len;
    }
    size_t n = call_record__get_packed_size(&r);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    call_record__pack(&r, v);
    uint8_t key[CALL_KEY_BYTES];
    call_key(o->tenant_id, cdr->start_wall_ms, r.node, cdr->id, key);
    store_mb_put(mb, STORE_CF_CALL, key, sizeof key, v, n);
    free(v);
    api_recording_put_from_cdr(a, mb, cdr, &r); /* the catalogue row, same mutation */
    char subject[64], dept[64] = "";
    snprintf(subject, sizeof subject, "call/%llu-%llu", (unsigned long long)r.node,
             (unsigned long long)r.id);
    uint64_t tenant;
    bool disabled;
    if (r.agent[0] == '\0' || !seat_user(a, r.agent, &tenant, dept, &disabled)) {
        dept[0] = '\0'; /* a call nobody took: admins and auditors see it */
    }
    /* No number: events leave the cluster (webhooks); the customer id finds it. */
    api_event_add(mb, r.tenant_id, dept, "call.ended", subject,
                  json_pack("{s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:I, s:s?}", "call",
                            subject + 5, "result", r.result, "agent", r.agent, "customer_id",
                            (json_int_t)r.customer_id, "campaign_id", (json_int_t)r.campaign_id,
                            "start_ms", (json_int_t)r.start_ms, "ring_ms",
                            (json_int_t)r.ring_ms, "talk_ms", (json_int_t)r.talk_ms,
                            "end_reason", r.end_reason));
}

static void on_cdr(struct bridge *b, const struct bridge_cdr *cdr, void *data)
{
    (void)b;
    struct api_calls *k = data;
    api_seat_on_cdr(k->a, cdr); /* the agent's state follows the call */
    struct pending_call **pp = &k->pending;
    while (*pp != NULL && (*pp)->id != cdr->id) {
        pp = &(*pp)->next;
    }
    struct pending_call *pc = *pp;
    if (pc == NULL) {
        if (!api_dialer_on_cdr(k->a, cdr)) {
            LOG_W("api", "CDR of unknown call %llu dropped", (unsigned long long)cdr->id);
        }
        return;
    }
    *pp = pc->next;
    struct call_origin o = {.tenant_id = pc->tenant_id, .customer_id = pc->customer_id,
                            .agent = pc->agent, .placed_by = pc->placed_by, .e164 = pc->e164};
    struct store_mutation_builder *mb = store_mb_new();
    api_call_record_put(k->a, mb, cdr, &o);
    char what[48];
    snprintf(what, sizeof what, "CDR of call %llu", (unsigned long long)cdr->id);
    api_submit_until_committed(k->a, mb, what);
    free(pc);
}

/* ---- POST /v1/calls ---- */

struct place {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
    uint64_t customer_id;
    char number[PHONE_INPUT_MAX + 1];
    char agent[64];
    char e164[PHONE_E164_SIZE];
};

/* The attempt (audit row, conditioned on the number not being on the do-not-call list)
 * is committed: only now does the INVITE leave. */
static void committed(void *data, int status, const struct store_result *r)
{
    struct place *p = data;
    struct api *a = p->a;
    struct api_calls *k = a->calls;
    if (status == 0 && r->code == WAIHU_ECONFLICT) {
        api_error(a, p->req, 403, "do_not_call", "number",
                  "the number is on the do-not-call list (listed before the call committed)");
        free(p);
        return;
    }
    if (api_submit_failed(a, p->req, status, r, "call attempt")) {
        free(p);
        return;
    }
    if (k == NULL) {
        api_error(a, p->req, 503, "unavailable", NULL, "telephony stopped");
        free(p);
        return;
    }
    struct pending_call *pc = calloc(1, sizeof *pc);
    if (pc == NULL) {
        waihu_fatal("api", "out of memory");
    }
    char tenant[24];
    snprintf(tenant, sizeof tenant, "%llu", (unsigned long long)p->who.tenant_id);
    int rv = telephony_dial(k->t, p->e164, p->agent, tenant, &pc->id);
    if (rv != 0) {
        api_error(a, p->req, 503, "unavailable", NULL, "call not placed: %s", waihu_strerror(rv));
        free(pc);
        free(p);
        return;
    }
    pc->tenant_id = p->who.tenant_id;
    pc->customer_id = p->customer_id;
    snprintf(pc->agent, sizeof pc->agent, "%s", p->agent);
    snprintf(pc->placed_by, sizeof pc->placed_by, "%s", p->who.user);
    snprintf(pc->e164, sizeof pc->e164, "%s", p->e164);
    pc->next = k->pending;
    k->pending = pc;
    /* A call the agent places: wrap-up lasts until its disposition. */
    api_seat_call_placed(a, pc->id, pc->tenant_id, pc->agent, 0, pc->customer_id, 0);
    char id[48];
    snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)k->node_id,
             (unsigned long long)pc->id);
    api_json(a, p->req, 202, json_pack("{s:s, s:s, s:s}", "id", id, "agent", p->agent, "state",
                                       "dialing"));
    free(p);
}

/* The number to call: the customer's (opened; the caller must be allowed to touch the
 * customer) or the one given, normalised. Answers and returns false on a refusal. */
static bool resolve_number(struct place *p)
{
    struct api *a = p->a;
    char country[4] = "CN", why[128];
    api_tenant_country(a, p->who.tenant_id, country);
    if (p->customer_id == 0) {
        if (phone_normalize(p->number, country, p->e164, why, sizeof why) != 0) {
            api_error(a, p->req, 400, "invalid", "number", "%s", why);
            return false;
        }
        return true;
    }
    uint8_t key[CUSTOMER_KEY_BYTES];
    customer_key(p->who.tenant_id, p->customer_id, key);
    void *raw;
    size_t len;
    CustomerRecord *r = NULL;
    if (store_get(a->store, STORE_CF_CUSTOMER, key, sizeof key, &raw, &len) == 0) {
        r = customer_record_decode(raw, len);
        free(raw);
    }
    if (r == NULL || !auth_may_touch(&p->who, r->tenant_id, r->department, r->owner)) {
        customer_record_free(r);
        api_error(a, p->req, 404, "not_found", "customer_id", "no such customer");
        return false;
    }
    struct fieldcrypt_aad aad = {.tenant_id = r->tenant_id, .customer_id = r->id,
                                 .field = "phone"};
    size_t n = 0;
    int rv = r->phone_sealed.len > 0 && r->phone_sealed.len < sizeof p->e164 + FIELDCRYPT_OVERHEAD
                 ? fieldcrypt_open(a->keyring, &aad, r->phone_sealed.data, r->phone_sealed.len,
                                   (uint8_t *)p->e164, sizeof p->e164 - 1, &n)
                 : WAIHU_ENOTFOUND;
    customer_record_free(r);
    if (rv != 0) {
        api_error(a, p->req, 409, "no_phone", "customer_id", "the customer has no usable phone");
        return false;
    }
    p->e164[n] = '\0';
    return true;
}

static void with_keys(void *data, bool ok)
{
    struct place *p = data;
    struct api *a = p->a;
    if (!ok) {
        api_error(a, p->req, 503, "encryption_unavailable", NULL,
                  "calls need the master key (customer.master_key_file) on this node");
        free(p);
        return;
    }
    if (!resolve_number(p)) {
        free(p);
        return;
    }
    const char *match = api_dnc_match(a, p->who.tenant_id, p->e164);
    if (match != NULL) {
        api_error(a, p->req, 403, "do_not_call", "number",
                  "the number is on the do-not-call list (%s)", match);
        free(p);
        return;
    }
    char obj[48], detail[96], masked[PHONE_MASK_SIZE], country[4] = "CN";
    api_tenant_country(a, p->who.tenant_id, country);
    if (p->customer_id) {
        snprintf(obj, sizeof obj, "customer/%llu", (unsigned long long)p->customer_id);
    } else {
        snprintf(obj, sizeof obj, "number");
    }
    snprintf(detail, sizeof detail, "agent=%s number=%s", p->agent,
             phone_mask(p->e164, country, masked) == 0 ? masked : "****");
    struct store_mutation_builder *mb = store_mb_new();
    if (api_dnc_conditions(a, mb, p->who.tenant_id, p->e164) != 0) {
        store_mb_free(mb);
        api_error(a, p->req, 503, "encryption_unavailable", NULL, "no key to check the number");
        free(p);
        return;
    }
    api_audit_add(mb, &p->who, "call.place", obj, detail);
    api_submit_mutation(a, mb, 0, 0, committed, p);
}

static bool agent_ok(struct api *a, const struct auth_principal *who, const char *agent)
{
    char k[128];
    snprintf(k, sizeof k, USER_PREFIX "%s", agent);
    void *raw;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &raw, &len) != 0) {
        return false;
    }
    User *u = user__unpack(NULL, len, raw);
    free(raw);
    bool ok = u != NULL && !u->disabled && u->tenant_id == who->tenant_id &&
              strcmp(u->role, "agent") == 0;
    if (ok && who->role == AUTH_ROLE_AGENT) {
        ok = strcmp(agent, who->user) == 0;
    } else if (ok && who->role == AUTH_ROLE_SUPERVISOR && who->department[0] != '\0') {
        ok = strcmp(u->department, who->department) == 0;
    }
    if (u != NULL) {
        user__free_unpacked(u, NULL);
    }
    return ok;
}

static void caught_up(void *data, int status)
{
    struct place *p = data;
    if (status != 0) {
        api_error(p->a, p->req, 503, "unavailable", NULL, "cluster: %s", waihu_strerror(status));
        free(p);
        return;
    }
    if (!agent_ok(p->a, &p->who, p->agent)) {
        api_error(p->a, p->req, 403, "forbidden", "agent",
                  "calls are bridged to an agent of your tenant (and department); agents only "
                  "to themselves");
        free(p);
        return;
    }
    api_with_keyring(p->a, with_keys, p);
}

static void place_call(struct api *a, struct http_request *req)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    struct place *p = calloc(1, sizeof *p);
    if (p == NULL) {
        waihu_fatal("api", "out of memory");
    }
    p->a = a;
    p->req = req;
    p->who = a->who;
    const char *cid = json_string_value(json_object_get(b, "customer_id"));
    const char *number = json_string_value(json_object_get(b, "number"));
    const char *agent = json_string_value(json_object_get(b, "agent"));
    if (agent == NULL && a->who.role == AUTH_ROLE_AGENT) {
        agent = a->who.user;
    }
    const char *bad = (cid == NULL) == (number == NULL) ? "number"
                      : cid && api_parse_u64(cid, &p->customer_id) != 0 ? "customer_id"
                      : number && strlen(number) > PHONE_INPUT_MAX      ? "number"
                      : agent == NULL || strlen(agent) >= sizeof p->agent ? "agent"
                                                                          : NULL;
    if (bad != NULL) {
        api_error(a, req, 400, "invalid", bad,
                  "expected {\"customer_id\": \"id\"} or {\"number\": \"...\"}, and \"agent\" "
                  "(the user name of an agent; agents call for themselves)");
        json_decref(b);
        free(p);
        return;
    }
    snprintf(p->number, sizeof p->number, "%s", number ? number : "");
    snprintf(p->agent, sizeof p->agent, "%s", agent);
    json_decref(b);
    /* Read what the cluster has committed (a customer or agent just created elsewhere). */
    cluster_read_barrier(a->cluster, caught_up, p);
}

/* ---- GET /v1/calls ---- */

struct list {
    struct api *a;
    const struct auth_principal *who;
    json_t *items;
    size_t limit;
    char country[4];
};

static json_t *call_json(struct list *l, const CallRecord *r)
{
    char e164[PHONE_E164_SIZE] = "", masked[PHONE_MASK_SIZE] = "****", id[48];
    struct fieldcrypt_aad aad = {.tenant_id = r->tenant_id, .customer_id = r->id,
                                 .field = "number"};
    size_t n = 0;
    if (r->number_sealed.len > 0 && r->number_sealed.len < sizeof e164 + FIELDCRYPT_OVERHEAD &&
        fieldcrypt_open(l->a->keyring, &aad, r->number_sealed.data, r->number_sealed.len,
                        (uint8_t *)e164, sizeof e164 - 1, &n) == 0) {
        e164[n] = '\0';
        phone_mask(e164, l->country, masked);
    }
    snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)r->node, (unsigned long long)r->id);
    char cust[24], camp[24];
    snprintf(cust, sizeof cust, "%llu", (unsigned long long)r->customer_id);
    snprintf(camp, sizeof camp, "%llu", (unsigned long long)r->campaign_id);
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:i, s:i, "
                          "s:s, s:b, s:s}",
                     "id", id, "agent", r->agent, "customer_id", r->customer_id ? cust : NULL,
                     "campaign_id", r->campaign_id ? camp : NULL,
                     "number", masked, "result", r->result, "end_reason", r->end_reason,
                     "hangup_by", r->hangup_by, "status", r->status, "start_ms",
                     (json_int_t)r->start_ms, "ring_ms", (int)r->ring_ms, "talk_ms",
                     (int)r->talk_ms, "duration_ms", (int)r->duration_ms, "amd", r->amd,
                     "recorded", r->recording[0] != '\0', "placed_by", r->placed_by);
    if (r->prompt_state[0] != '\0' && strcmp(r->prompt_state, "none") != 0) {
        json_object_set_new(j, "ivr", json_pack("{s:s, s:s, s:b}", "prompt", r->prompt_state,
                                                "digit", r->ivr_digit, "transferred",
                                                r->transferred));
    }
    if (r->abandon_prompt_state[0] != '\0' && strcmp(r->abandon_prompt_state, "none") != 0) {
        json_object_set_new(j, "abandon_message",
                            json_pack("{s:s, s:i}", "state", r->abandon_prompt_state, "start_ms",
                                      (int)r->abandon_prompt_start_ms));
    }
    return j;
}

static int list_cb(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct list *l = data;
    CallRecord *r = call_record__unpack(NULL, vlen, val);
    if (r == NULL) {
        return 0;
    }
    if (l->who->role != AUTH_ROLE_AGENT || strcmp(r->agent, l->who->user) == 0) {
        json_array_append_new(l->items, call_json(l, r));
        if (json_array_size(l->items) > l->limit) {
            json_array_remove(l->items, 0); /* oldest first in the store: keep the newest */
        }
    }
    call_record__free_unpacked(r, NULL);
    return 0;
}

struct list_answer {
    struct api *a;
    struct http_request *req;
    json_t *items;
};

static void list_answered(void *data, bool ok)
{
    struct list_answer *ans = data;
    if (ok) {
        api_json(ans->a, ans->req, 200, json_pack("{s:o}", "items", ans->items));
    } else {
        json_decref(ans->items);
        api_error(ans->a, ans->req, 503, "unavailable", NULL,
                  "the access could not be audited; nothing was disclosed");
    }
    free(ans);
}

static void list_calls(struct api *a, struct http_request *req)
{
    char buf[16];
    const char *lim = http_request_param(req, "limit", buf, sizeof buf);
    uint64_t limit = 50;
    if (lim != NULL && (api_parse_u64(lim, &limit) != 0 || limit == 0 || limit > LIST_MAX)) {
        api_error(a, req, 400, "invalid", "limit", "limit is 1..%d", LIST_MAX);
        return;
    }
    struct list l = {.a = a, .who = &a->who, .items = json_array(), .limit = limit};
    snprintf(l.country, sizeof l.country, "CN");
    api_tenant_country(a, a->who.tenant_id, l.country);
    uint8_t prefix[8];
    be64_put(prefix, a->who.tenant_id);
    store_scan(a->store, STORE_CF_CALL, prefix, sizeof prefix, NULL, 0, list_cb, &l);
    if (json_array_size(l.items) == 0) {
        api_json(a, req, 200, json_pack("{s:o}", "items", l.items));
        return;
    }
    /* Masked numbers are still personal data: the read is audited before it leaves. */
    struct list_answer *ans = malloc(sizeof *ans);
    if (ans == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *ans = (struct list_answer){.a = a, .req = req, .items = l.items};
    char detail[48];
    snprintf(detail, sizeof detail, "returned=%zu", json_array_size(l.items));
    api_audit_then(a, &a->who, "call.list", "calls", detail, list_answered, ans);
}

bool api_route_calls(struct api *a, struct http_request *req, const char *method,
                     const char *path)
{
    if (strcmp(path, "/v1/calls") != 0) {
        return false;
    }
    if (strcmp(method, "POST") == 0) {
        if (a->calls == NULL) {
            api_error(a, req, 503, "telephony_disabled", NULL,
                      "this node places no calls (telephony.sip_bind is not set)");
        } else if (api_require(a, req, AUTH_CALL_PLACE)) {
            place_call(a, req);
        }
    } else if (strcmp(method, "GET") == 0) {
        if (api_require(a, req, AUTH_CALL_READ)) {
            /* Numbers are shown masked: opening them needs the keyring. */
            if (!a->keyring_ready) {
                api_keys_load(a);
            }
            list_calls(a, req);
        }
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET or POST");
    }
    return true;
}

void api_calls_attach(struct api *a, struct telephony *t)
{
    struct api_calls *k = calloc(1, sizeof *k);
    if (k == NULL) {
        waihu_fatal("api", "out of memory");
    }
    k->a = a;
    k->t = t;
    k->node_id = cluster_config_get(a->cluster)->self.id;
    a->calls = k;
    telephony_on_cdr(t, on_cdr, k);
    push_all(k);
    store_watch(a->store, STORE_CF_META, on_meta, k);
}

void api_calls_stop(struct api *a)
{
    struct api_calls *k = a->calls;
    if (k == NULL) {
        return;
    }
    store_unwatch(a->store, STORE_CF_META, on_meta, k);
    telephony_on_cdr(k->t, NULL, NULL);
    while (k->pending != NULL) {
        struct pending_call *next = k->pending->next;
        free(k->pending);
        k->pending = next;
    }
    a->calls = NULL;
    free(k);
}
