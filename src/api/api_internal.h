/* Private to src/api. */
#ifndef WAIHU_API_INTERNAL_H
#define WAIHU_API_INTERNAL_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "api.h"
#include "auth.h"
#include "customer.h"
#include "http.h"

#define API_MAX_BODY_BYTES (1024 * 1024)

struct key_waiter;
struct api_cview;
struct reencrypt_job;
struct api_calls;
struct customer_view;

struct api {
    uv_loop_t *loop;
    struct cluster *cluster;
    struct store *store;
    struct http_server *http;
    uint64_t requests;
    uint64_t responses_by_class[6]; /* 1xx..5xx */
    /* auth */
    bool has_bootstrap;
    uint8_t bootstrap_sha256[32];
    struct auth_ratelimit *ratelimit;
    struct auth_ratelimit *login_limit;
    /* Principal of the request being dispatched: valid during the synchronous part of
     * a handler only; asynchronous handlers copy it into their context. */
    struct auth_principal who;
    /* customer data encryption */
    bool has_master;
    uint8_t master_key[FIELDCRYPT_KEY_BYTES];
    struct fieldcrypt_keyring *keyring;
    bool keyring_ready;
    bool key_creating;
    struct key_waiter *key_waiters;
    char import_dir[400]; /* "" = imports disabled */
    char prompts_dir[400]; /* where prompts are written for the media engine; "" = none */
    char web_dir[400];    /* "" = no console (api_web.c) */
    struct api_cview *cview; /* customer attribute view (api_customer_view.c) */
    struct reencrypt_job *reencrypt; /* this node's re-encryption pass (api_keys.c) */
    struct api_calls *calls;         /* telephony, calls awaiting CDRs (api_calls.c) */
    struct api_dialer *dialer;       /* campaigns dialed from this node (api_dialer.c) */
    struct api_seat *seat;           /* agents' live states (api_seat*.c) */
    struct api_stream *stream;       /* WebSocket subscribers (api_stream.c) */
    struct api_event_stream *event_stream; /* event log subscribers (api_event_stream.c) */
    struct api_reports *reports;     /* report book of CDRs, dispositions (api_reports*.c) */
    struct api_alerts *alerts;       /* alert rules' evaluation, webhooks (api_alert*.c) */
    struct api_event_hooks *event_hooks; /* event webhook delivery (api_event_hooks.c) */
    bool webhook_allow_private;      /* webhooks may go to loopback/private addresses */
    struct api_recordings *recordings; /* catalogue view, retention (api_recording*.c) */
    struct api_retrier *retrier;     /* writes retried until they commit (api_submit_retry.c) */
};

/* Answers with a JSON document (takes ownership of doc). */
void api_json(struct api *a, struct http_request *req, int status, json_t *doc);
/* Answers {"error":{"code","message","field"}}; field may be NULL. */
void api_error(struct api *a, struct http_request *req, int status, const char *code,
               const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Maps a WAIHU_E* status of the cluster layer to an HTTP error answer. */
void api_error_status(struct api *a, struct http_request *req, int status, const char *what);
/* Parses the body as a JSON object; on failure answers 400 and returns NULL. */
json_t *api_body_object(struct api *a, struct http_request *req);
/* Parses X-Waihu-Client/X-Waihu-Seq; on malformed headers answers 400 and returns -1. */
int api_client_seq(struct api *a, struct http_request *req, uint64_t *client_id,
                   uint64_t *seq);

/* Submits a Mutation (takes ownership of mb) with the request's client/seq headers
 * (0 = none); cb gets the cluster status and result (NULL: only failures are logged). */
void api_submit_mutation(struct api *a, struct store_mutation_builder *mb, uint64_t client_id,
                         uint64_t seq, cluster_submit_cb cb, void *data);
/* Submits a Mutation (takes ownership of mb) that must survive elections, e.g. a CDR:
 * retried with a backoff until it commits, exactly once (its own client id, seq 1);
 * given up only when the node stops (logged with what). */
void api_submit_until_committed(struct api *a, struct store_mutation_builder *mb,
                                const char *what);
void api_retrier_stop(struct api *a);
/* Answers a failed submit (status != 0 or r->code != 0) with the right 4xx/5xx; what
 * names the operation. Returns true when it answered. */
bool api_submit_failed(struct api *a, struct http_request *req, int status,
                       const struct store_result *r, const char *what);
/* Submits mb; answers ok_status with answer (owned) on success, 409 "exists" on a
 * failed condition, the usual errors otherwise. */
void api_submit_answer(struct api *a, struct http_request *req,
                       struct store_mutation_builder *mb, json_t *answer, int ok_status,
                       const char *what);
/* Adds an audit row for who to mb: action ("customer.read"), object ("customer/12"). */
void api_audit_add(struct store_mutation_builder *mb, const struct auth_principal *who,
                   const char *action, const char *object, const char *detail);
/* Writes an audit row on its own, then runs done(data, ok) (ok false: not recorded,
 * the caller must not hand out the data). */
void api_audit_then(struct api *a, const struct auth_principal *who, const char *action,
                    const char *object, const char *detail, void (*done)(void *data, bool ok),
                    void *data);
/* Checks role permission for the current request; answers 403 and returns false. */
bool api_require(struct api *a, struct http_request *req, enum auth_action action);
/* The customer view: built at start, kept current by a store watcher, dropped at stop.
 * api_cview_for returns it when it is complete and can answer f (NULL: scan instead). */
void api_cview_start(struct api *a);
void api_cview_stop(struct api *a);
const struct customer_view *api_cview_for(struct api *a, const struct filter_node *f);
/* Runs fn(data, ok) once the data key is loaded (creating it cluster-wide on first
 * use); ok false: no master key or the key could not be created. */
void api_with_keyring(struct api *a, void (*fn)(void *data, bool ok), void *data);
/* A tenant's record fields needed by services; 0 or WAIHU_ENOTFOUND. */
int api_tenant_country(struct api *a, uint64_t tenant_id, char country[4]);
/* Parses a decimal u64 (no sign, no spaces); 0 or -1. */
int api_parse_u64(const char *text, uint64_t *out);

/* Route groups: return true if they handled the request. */
bool api_route_health(struct api *a, struct http_request *req, const char *method,
                      const char *path);
bool api_route_cluster(struct api *a, struct http_request *req, const char *method,
                       const char *path);
bool api_route_settings(struct api *a, struct http_request *req, const char *method,
                        const char *path);
/* Unauthenticated: POST /v1/auth/login. */
bool api_route_login(struct api *a, struct http_request *req, const char *method,
                     const char *path);
/* Unauthenticated: the console's files, GET/HEAD / and /console/... (api_web.c). */
bool api_route_web(struct api *a, struct http_request *req, const char *method,
                   const char *path);
bool api_route_users(struct api *a, struct http_request *req, const char *method,
                     const char *path);
bool api_route_customers(struct api *a, struct http_request *req, const char *method,
                         const char *path);
/* GET /v1/customers/export.csv (api_export.c); must come before api_route_customers. */
bool api_route_export(struct api *a, struct http_request *req, const char *method,
                      const char *path);
bool api_route_dnc(struct api *a, struct http_request *req, const char *method,
                   const char *path);
bool api_route_audit(struct api *a, struct http_request *req, const char *method,
                     const char *path);
bool api_route_imports(struct api *a, struct http_request *req, const char *method,
                       const char *path);
/* Frees finished import jobs at stop. */
void api_import_close(struct api *a);

/* Authenticates the request into a->who: 1 ok; 0 answered (401, 429); -1 (only when
 * !final) the token id is unknown here, perhaps not applied yet: retry after a read
 * barrier with final set. */
int api_authenticate(struct api *a, struct http_request *req, bool final);
/* The principal of a token given outside a header (the live stream's first message):
 * 1 ok, 0 bad or expired, -1 unknown here (perhaps not applied yet). */
int api_token_principal(struct api *a, const char *token, struct auth_principal *out);
/* The live stream, WebSocket /v1/stream (api_stream.c). */
struct api_stream;
int api_stream_start(struct api *a, char *errmsg);
void api_stream_stop(struct api *a);
/* The live event stream, WebSocket /v1/events/stream (api_event_stream.c). */
struct api_event_stream;
int api_event_stream_start(struct api *a, char *errmsg);
void api_event_stream_stop(struct api *a);
/* Loads key files and limits at start; errmsg (cap 256). */
int api_auth_init(struct api *a, const struct api_config *conf, char *errmsg);
void api_auth_close(struct api *a);
/* Reads every data key from the store into the keyring and uses the newest. */
void api_keys_load(struct api *a);
/* A Mutation creating data key id (random, wrapped by the master key), only if that id
 * is free; NULL if no key could be made. */
struct store_mutation_builder *api_key_create_mutation(struct api *a, uint32_t id);
/* The do-not-call entry blocking e164 in tenant: "number", "prefix", "unknown" (no key
 * to check with: block), or NULL when it may be called. */
const char *api_dnc_match(struct api *a, uint64_t tenant_id, const char *e164);
/* Adds to mb the conditions "e164 is not on the do-not-call list" (number and every
 * prefix), so that the FSM refuses the command if the number was listed before it
 * commits, whatever this node has applied. 0 or WAIHU_ENOTFOUND (no key). */
int api_dnc_conditions(struct api *a, struct store_mutation_builder *mb, uint64_t tenant_id,
                       const char *e164);
/* Calls placed through the node's telephony (api_calls.c): POST/GET /v1/calls. */
struct telephony;
/* Campaigns (api_campaigns.c) and the node's dialer (api_dialer.c, with telephony). */
#define CAMPAIGN_KEY_BYTES 17
void campaign_record_key(uint64_t tenant, uint64_t id, uint8_t out[CAMPAIGN_KEY_BYTES]);
void campaign_lead_key(uint64_t campaign, uint64_t customer, uint8_t out[CAMPAIGN_KEY_BYTES]);
void campaign_tally_key(uint64_t campaign, uint64_t node, uint8_t out[CAMPAIGN_KEY_BYTES]);
/* The stored record (and its raw bytes in *raw, for conditions) or NULL. */
Campaign *campaign_read(struct store *s, uint64_t tenant, uint64_t id, void **raw, size_t *len);
/* Every node's tally of a campaign, summed (reason left NULL). */
void campaign_tally_sum(struct api *a, uint64_t campaign, CampaignTally *sum);
bool api_route_campaigns(struct api *a, struct http_request *req, const char *method,
                         const char *path);
struct api_dialer;
void api_dialer_start(struct api *a, struct telephony *t);
void api_dialer_stop(struct api *a);
/* Preview dialing (api_dialer_preview.c): a lead of one of the agent's running preview
 * campaigns, leased for the agent until the agent calls or skips it. The agent's softphone
 * must be registered on this node (its calls leave from here). 0 or WAIHU_ENOTFOUND with
 * *why ("no lead is ready", "not registered on this node"). */
struct api_preview {
    uint64_t campaign, customer;
    int64_t until_ms;
};
int api_dialer_preview_offer(struct api *a, const char *agent, struct api_preview *out,
                             const char **why);
/* Calls the offered lead (the attempt is committed first, as for every dial) or gives it
 * back until the campaign's retry delay. 0 or WAIHU_ENOTFOUND (no such offer). */
int api_dialer_preview_call(struct api *a, const char *agent, uint64_t campaign,
                            uint64_t customer);
int api_dialer_preview_skip(struct api *a, const char *agent, uint64_t campaign,
                            uint64_t customer);
/* A disposition "callback": the lead of (campaign, customer) is ready again at at_ms
 * (api_callbacks.c; retried while the call's end is being written). */
void api_schedule_callback(struct api *a, uint64_t campaign, uint64_t customer, int64_t at_ms);
/* The agent's current offer, if any (customers: an agent may read its offer's customer). */
bool api_dialer_offers(struct api *a, const char *agent, uint64_t customer);
/* A CDR of a call the dialer placed: true when it was one (api_calls.c asks). */
struct bridge_cdr;
bool api_dialer_on_cdr(struct api *a, const struct bridge_cdr *cdr);
/* Adds the call record (CDR) of a finished call to mb, the number sealed. */
struct call_origin {
    uint64_t tenant_id, customer_id, campaign_id;
    const char *agent;     /* NULL: the CDR's */
    const char *placed_by; /* user, or "dialer" */
    const char *e164;
};
void api_call_record_put(struct api *a, struct store_mutation_builder *mb,
                         const struct bridge_cdr *cdr, const struct call_origin *o);
void api_calls_attach(struct api *a, struct telephony *t);
void api_calls_stop(struct api *a);
bool api_route_calls(struct api *a, struct http_request *req, const char *method,
                     const char *path);
/* The seat service (api_seat*.c, api_agents.c; docs/seat-api.md): agents' live states,
 * kept on every node from applied changes, changed by requests, registrations and calls. */
struct api_seat;
void api_seat_start(struct api *a);
/* Registrations and call progress of the node's telephony move its agents' states. */
void api_seat_attach(struct api *a, struct telephony *t);
void api_seat_stop(struct api *a);
/* An agent's state as applied on this node, or NULL (valid until the loop turns). */
const AgentState *api_seat_get(struct api *a, const char *name);
/* fn for each agent of tenant in name order until it returns nonzero. */
void api_seat_each(struct api *a, uint64_t tenant, int (*fn)(void *data, const AgentState *st),
                   void *data);
/* fn runs after every applied change of an agent's state (live streams). */
void api_seat_listen(struct api *a, void (*fn)(void *data, const AgentState *st), void *data);
void api_seat_unlisten(struct api *a, void (*fn)(void *data, const AgentState *st), void *data);
/* Whether the agent may be given a call by this node now: ready, registered here, and no
 * reservation of this node in flight. */
bool api_seat_available(struct api *a, const char *name);
/* Whether who is an agent working on this customer now: the customer of its current call
 * (or the call it is wrapping up) or of its preview offer. Such an agent may open the
 * customer even though it does not own it (screen pop). */
bool api_seat_works_on(struct api *a, const struct auth_principal *who, uint64_t tenant,
                       uint64_t customer);
/* A call of this node's telephony for agent: the agent is reserved (the dialer, at
 * answer) and then follows the call (bridged: on_call; CDR: wrap-up or ready). wrap_s:
 * -1 no wrap-up, 0 until a disposition, else seconds. */
void api_seat_call_placed(struct api *a, uint64_t call_id, uint64_t tenant, const char *agent,
                          uint64_t campaign, uint64_t customer, int32_t wrap_s);
void api_seat_on_cdr(struct api *a, const struct bridge_cdr *cdr);
bool api_route_agents(struct api *a, struct http_request *req, const char *method,
                      const char *path);
/* Recorded messages (api_prompts.c): PUT/GET/DELETE /v1/prompts[/{name}]. */
bool api_route_prompts(struct api *a, struct http_request *req, const char *method,
                       const char *path);
bool api_prompt_name_ok(const char *name);
/* The tenant's prompt record, or NULL. */
Prompt *api_prompt_read(struct api *a, uint64_t tenant, const char *name);
/* The prompt as a file in the prompts directory (written from the store on first use;
 * blocking, at most 1 MiB): 0, WAIHU_ENOTFOUND, WAIHU_ECORRUPT, WAIHU_EIO or
 * WAIHU_EUNAVAILABLE (no prompts directory). */
int api_prompt_file(struct api *a, uint64_t tenant, const char *name, char *path, size_t cap);
/* Key rotation and re-encryption (api_keys.c): /v1/admin/keys[/rotate|/reencrypt]. */
void api_keys_start(struct api *a);
void api_keys_stop(struct api *a);
bool api_route_keys(struct api *a, struct http_request *req, const char *method,
                    const char *path);
/* Performance reports and rankings (api_reports*.c, docs/reports.md): the node's report
 * book, built at start and kept by watchers of the call and agent families. */
struct api_reports;
struct report_book;
void api_reports_start(struct api *a);
void api_reports_stop(struct api *a);
/* The book once built (NULL while it is being built). */
const struct report_book *api_reports_book(struct api *a);
bool api_route_reports(struct api *a, struct http_request *req, const char *method,
                       const char *path);
/* The users of a tenant with their departments, sorted by name (reports, alerts). */
struct api_user {
    char *name;
    char *department;
};
struct api_users {
    struct api_user *v;
    size_t n, cap;
    uint64_t tenant;
};
void api_users_load(struct api *a, uint64_t tenant, struct api_users *u);
/* report_department_fn over a loaded api_users: the department, NULL for no such user. */
const char *api_users_department(void *data, const char *agent);
void api_users_free(struct api_users *u);

/* Supervisor alerts (api_alert*.c, docs/alerts.md): rules, their evaluation on the
 * leader, fired alerts pushed to the console and delivered by webhook. */
struct api_alerts;
void api_alerts_start(struct api *a);
void api_alerts_stop(struct api *a);
bool api_route_alerts(struct api *a, struct http_request *req, const char *method,
                      const char *path);
/* Secrets for outgoing calls (api_secrets.c): sealed under a key derived from the master
 * key, bound to aad (the record's key). seal: 0, WAIHU_ENOTFOUND (no master key) or
 * WAIHU_ENOMEM/EIO; open: the length (out NUL-terminated, cap bytes), or a negative
 * WAIHU_E* (no master key, tampered, longer than cap - 1). */
int api_secret_seal(struct api *a, const char *aad, const char *secret,
                    ProtobufCBinaryData *out);
int api_secret_open(struct api *a, const char *aad, const ProtobufCBinaryData *sealed,
                    char *out, size_t cap);
/* The event log (api_events.c, docs/events.md): GET /v1/events. */
bool api_route_events(struct api *a, struct http_request *req, const char *method,
                      const char *path);
/* Event webhooks (api_event_hooks.c): /v1/webhooks, delivery on the leader. */
bool api_route_webhooks(struct api *a, struct http_request *req, const char *method,
                        const char *path);
void api_event_hooks_start(struct api *a);
void api_event_hooks_stop(struct api *a);
/* Sends doc (owned) to the live stream's clients whose role allows need and who may see
 * records of tenant/department (api_stream.c). */
void api_stream_broadcast(struct api *a, enum auth_action need, uint64_t tenant,
                          const char *department, json_t *doc);

/* Recordings (api_recording*.c, docs/recordings.md): the catalogue, search, playback,
 * holds and retention. dir: this node's recordings directory (NULL or "": none). */
struct api_recordings;
void api_recordings_start(struct api *a, const struct api_config *conf);
void api_recordings_stop(struct api *a);
bool api_route_recordings(struct api *a, struct http_request *req, const char *method,
                          const char *path);
/* Adds the catalogue row of the call's recording (if it was recorded) to mb, the mutation
 * of its CDR r. */
void api_recording_put_from_cdr(struct api *a, struct store_mutation_builder *mb,
                                const struct bridge_cdr *cdr, const CallRecord *r);
/* Adds to mb the deletion (tombstones, audited by who) of every live recording of a
 * customer being erased; the holders remove the files when they apply it. */
void api_recordings_erase_customer(struct api *a, struct store_mutation_builder *mb,
                                   uint64_t tenant, uint64_t customer,
                                   const struct auth_principal *who);
/* For the speech worker: commits the analysis of recording (node, call) of tenant: the
 * analysis fields of an (analysed, keywords, sentiment, sentiment_reasons, risk_score,
 * analysis_error, audio_s, processing_s; copied) over the row's others, conditioned on the
 * row read, then done(data, status): 0, WAIHU_ENOTFOUND (no live row), WAIHU_ECONFLICT (the
 * row changed meanwhile: call again), or a cluster error. Core loop. */
void api_recording_set_analysis(struct api *a, uint64_t tenant, uint64_t node, uint64_t call,
                                const Recording *an, void (*done)(void *data, int status),
                                void *data);

#endif
