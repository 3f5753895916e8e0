/* The event log, private to src/api (docs/events.md): api_events.c (adding events, reading
 * the log, GET /v1/events), api_event_stream.c (WebSocket /v1/events with resume),
 * api_event_hooks.c (webhook subscriptions). */
#ifndef WAIHU_API_EVENTS_H
#define WAIHU_API_EVENTS_H

#include "api_internal.h"
#include "waihu.pb-c.h"

/* be64 tenant | be64 raft index | be32 position in the entry */
#define API_EVENT_KEY_BYTES (8 + STORE_SEQ_SUFFIX_BYTES)

/* Adds an event to mb (the mutation that makes the change it describes): type
 * ("agent.state"), subject (the key events are ordered by: "agent/ann"), department
 * (supervisors of it may see the event; "" or NULL: admins and auditors only), data
 * (owned). */
void api_event_add(struct store_mutation_builder *mb, uint64_t tenant, const char *department,
                   const char *type, const char *subject, json_t *data);
/* The sequence number of an event key (0 for a key that is none), and back. */
uint64_t api_event_seq(const uint8_t *key, size_t klen);
void api_event_key(uint64_t tenant, uint64_t seq, uint8_t out[API_EVENT_KEY_BYTES]);
/* {"seq", "type", "subject", "department", "at_ms", "data"}. */
json_t *api_event_json(const Event *e, uint64_t seq);
/* Whether who may read e (role and department). */
bool api_event_visible(const struct auth_principal *who, const Event *e);

/* Reads the tenant's events after after_seq (0: from the start) in order; fn returns
 * nonzero to stop. Returns 0, fn's value or WAIHU_EIO. */
typedef int (*api_event_fn)(void *data, const Event *e, uint64_t seq);
int api_events_read(struct api *a, uint64_t tenant, uint64_t after_seq, api_event_fn fn,
                    void *data);
/* store_kv_fn adapter used by api_events_read (data: struct api_event_reader). */
struct api_event_reader {
    api_event_fn fn;
    void *data;
};
int api_event_reader_step(void *data, const void *key, size_t klen, const void *val,
                          size_t vlen);

#endif
