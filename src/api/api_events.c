/* The event log (docs/events.md): services add an event to the same mutation as the change
 * it describes (api_event_add), so an event exists exactly when its change committed; the
 * FSM numbers it (raft index, position in the entry). GET /v1/events reads the log from a
 * sequence number on; the live stream of events and webhooks read it the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_events.h"

#define EVENT_AT_FIELD 7 /* Event.at_ms, stamped by the FSM */
#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

void api_event_add(struct store_mutation_builder *mb, uint64_t tenant, const char *department,
                   const char *type, const char *subject, json_t *data)
{
    if (data == NULL) { /* a json_pack that failed: a bug, not a reason to lose the change */
        LOG_E("events", "%s event of %s could not be built: not recorded", type, subject);
        return;
    }
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (text == NULL) {
        waihu_fatal("events", "out of memory");
    }
    Event e = EVENT__INIT;
    e.format = 1;
    e.tenant_id = tenant;
    e.type = (char *)type;
    e.subject = (char *)subject;
    e.department = (char *)(department ? department : "");
    e.data = text;
    size_t n = event__get_packed_size(&e);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("events", "out of memory");
    }
    event__pack(&e, v);
    uint8_t prefix[8];
    be64_put(prefix, tenant);
    store_mb_append_seq(mb, STORE_CF_EVENT, prefix, sizeof prefix, v, n, EVENT_AT_FIELD);
    free(v);
    free(text);
}

uint64_t api_event_seq(const uint8_t *key, size_t klen)
{
    if (klen != API_EVENT_KEY_BYTES) {
        return 0;
    }
    uint64_t index = be64_get(key + 8);
    uint32_t n = (uint32_t)key[16] << 24 | (uint32_t)key[17] << 16 | (uint32_t)key[18] << 8 |
                 key[19];
    return index * STORE_SEQ_PER_ENTRY + n;
}

void api_event_key(uint64_t tenant, uint64_t seq, uint8_t out[API_EVENT_KEY_BYTES])
{
    be64_put(out, tenant);
    be64_put(out + 8, seq / STORE_SEQ_PER_ENTRY);
    uint32_t n = (uint32_t)(seq % STORE_SEQ_PER_ENTRY);
    out[16] = (uint8_t)(n >> 24);
    out[17] = (uint8_t)(n >> 16);
    out[18] = (uint8_t)(n >> 8);
    out[19] = (uint8_t)n;
}

json_t *api_event_json(const Event *e, uint64_t seq)
{
    json_error_t err;
    json_t *data = json_loads(e->data, 0, &err);
    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:o}", "seq", (json_int_t)seq, "type", e->type,
                     "subject", e->subject, "department", e->department, "at_ms",
                     (json_int_t)e->at_ms, "data", data ? data : json_object());
}

bool api_event_visible(const struct auth_principal *who, const Event *e)
{
    return auth_role_allows(who->role, AUTH_EVENT_READ) &&
           auth_may_touch(who, e->tenant_id, e->department, NULL);
}

int api_events_read(struct api *a, uint64_t tenant, uint64_t after_seq, api_event_fn fn,
                    void *data)
{
    uint8_t prefix[8], after[API_EVENT_KEY_BYTES];
    be64_put(prefix, tenant);
    api_event_key(tenant, after_seq, after);
    struct api_event_reader r = {fn, data};
    return store_scan(a->store, STORE_CF_EVENT, prefix, sizeof prefix,
                      after_seq ? after : NULL, after_seq ? sizeof after : 0,
                      api_event_reader_step, &r);
}

int api_event_reader_step(void *data, const void *key, size_t klen, const void *val,
                          size_t vlen)
{
    struct api_event_reader *r = data;
    Event *e = event__unpack(NULL, vlen, val);
    if (e == NULL) {
        LOG_W("events", "an event that does not parse (%zu bytes): skipped", vlen);
        return 0;
    }
    int rv = r->fn(r->data, e, api_event_seq(key, klen));
    event__free_unpacked(e, NULL);
    return rv;
}

/* ---- GET /v1/events?after=SEQ&limit=N ---- */

struct page {
    const struct auth_principal *who;
    json_t *items;
    size_t limit;
    uint64_t last;
};

static int page_one(void *data, const Event *e, uint64_t seq)
{
    struct page *p = data;
    p->last = seq;
    if (api_event_visible(p->who, e)) {
        json_array_append_new(p->items, api_event_json(e, seq));
    }
    return json_array_size(p->items) >= p->limit ? 1 : 0;
}

static void list_events(struct api *a, struct http_request *req)
{
    char buf[32];
    uint64_t after = 0, limit = PAGE_DEFAULT;
    const char *v = http_request_param(req, "after", buf, sizeof buf);
    if (v != NULL && api_parse_u64(v, &after) != 0) {
        api_error(a, req, 400, "invalid", "after", "after: a sequence number (decimal)");
        return;
    }
    v = http_request_param(req, "limit", buf, sizeof buf);
    if (v != NULL && (api_parse_u64(v, &limit) != 0 || limit == 0 || limit > PAGE_MAX)) {
        api_error(a, req, 400, "invalid", "limit", "limit: 1 to %d", PAGE_MAX);
        return;
    }
    struct page p = {&a->who, json_array(), (size_t)limit, after};
    if (api_events_read(a, a->who.tenant_id, after, page_one, &p) < 0) {
        json_decref(p.items);
        api_error(a, req, 503, "unavailable", NULL, "the event log cannot be read");
        return;
    }
    /* next_after: where the next page starts, also past events the caller may not see. */
    api_json(a, req, 200, json_pack("{s:o, s:I}", "items", p.items, "next_after",
                                    (json_int_t)p.last));
}

bool api_route_events(struct api *a, struct http_request *req, const char *method,
                      const char *path)
{
    if (strcmp(path, "/v1/events/stream") == 0) { /* reached only without an upgrade */
        api_error(a, req, 426, "upgrade_required", NULL,
                  "/v1/events/stream is a WebSocket: connect with an Upgrade request");
        return true;
    }
    if (strcmp(path, "/v1/events") != 0) {
        return false;
    }
    if (strcmp(method, "GET") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
    } else if (api_require(a, req, AUTH_EVENT_READ)) {
        list_events(a, req);
    }
    return true;
}
