/* Campaigns (docs/campaigns.md):
 *   POST /v1/campaigns                  create: the filter's customers become leads
 *   GET  /v1/campaigns                  the tenant's campaigns
 *   GET  /v1/campaigns/{id}             one, with its progress (leads, tallies, why idle)
 *   POST /v1/campaigns/{id}/pause       no attempt commits after this is acknowledged
 *   POST /v1/campaigns/{id}/resume
 * Leads are written before the campaign record, so a dialer that sees the campaign finds
 * them. The dialers of every node with telephony do the calling (api_dialer.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "campaign.h"
#include "customer_view.h"

#define LEADS_PER_BATCH 256
#define LEADS_MAX 1000000
#define AGENTS_MAX 500
#define NAME_MAX_BYTES 128

/* ---- keys (shared with the dialer) ---- */

void campaign_record_key(uint64_t tenant, uint64_t id, uint8_t out[CAMPAIGN_KEY_BYTES])
{
    out[0] = 'c';
    be64_put(out + 1, tenant);
    be64_put(out + 9, id);
}

void campaign_lead_key(uint64_t campaign, uint64_t customer, uint8_t out[CAMPAIGN_KEY_BYTES])
{
    out[0] = 'l';
    be64_put(out + 1, campaign);
    be64_put(out + 9, customer);
}

void campaign_tally_key(uint64_t campaign, uint64_t node, uint8_t out[CAMPAIGN_KEY_BYTES])
{
    out[0] = 's';
    be64_put(out + 1, campaign);
    be64_put(out + 9, node);
}

Campaign *campaign_read(struct store *s, uint64_t tenant, uint64_t id, void **raw,
                        size_t *len)
{
    uint8_t key[CAMPAIGN_KEY_BYTES];
    campaign_record_key(tenant, id, key);
    if (store_get(s, STORE_CF_CAMPAIGN, key, sizeof key, raw, len) != 0) {
        return NULL;
    }
    Campaign *c = campaign__unpack(NULL, *len, *raw);
    if (c == NULL) {
        free(*raw);
        *raw = NULL;
    }
    return c;
}

/* ---- POST /v1/campaigns ---- */

struct create {
    struct api *a;
    struct http_request *req;
    struct auth_principal who;
    json_t *body;
    Campaign c;
    char **agents;
    struct filter_node *filter;
    unsigned batches_left;
    int failed;
    char ivr_prompt[72], ivr_digit[2], abandon_prompt[72];
    const char *bad_prompt;
};

static void create_free(struct create *cr)
{
    for (size_t i = 0; i < cr->c.n_agents; i++) {
        free(cr->agents[i]);
    }
    free(cr->agents);
    free(cr->c.name);
    free(cr->c.filter);
    free(cr->c.timezone);
    free(cr->c.mode);
    filter_free(cr->filter);
    json_decref(cr->body);
    free(cr);
}

static json_t *campaign_json(const Campaign *c)
{
    json_t *agents = json_array();
    for (size_t i = 0; i < c->n_agents; i++) {
        json_array_append_new(agents, json_string(c->agents[i]));
    }
    char id[24], win_start[8], win_end[8];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    snprintf(win_start, sizeof win_start, "%02u:%02u", c->window_start_min / 60,
             c->window_start_min % 60);
    snprintf(win_end, sizeof win_end, "%02u:%02u", c->window_end_min / 60,
             c->window_end_min % 60);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:i, s:{s:s, s:s}, s:s, s:i, "
                          "s:i, s:f, s:i, s:s, s:I}",
                     "id", id, "name", c->name, "mode", c->mode, "state", c->state, "filter",
                     c->filter, "agents", agents, "max_attempts", (int)c->max_attempts,
                     "max_per_number_day", (int)c->max_per_number_day, "window", "start",
                     win_start, "end", win_end, "timezone", c->timezone, "retry_after_s",
                     (int)c->retry_after_s, "wrap_s", (int)c->wrap_s, "abandon_cap",
                     c->abandon_cap, "leads", (int)c->leads, "created_by", c->created_by,
                     "created_ms", (json_int_t)c->created_ms);
    if (c->ivr_prompt[0] != '\0') {
        json_object_set_new(j, "ivr", json_pack("{s:s, s:s, s:b}", "prompt", c->ivr_prompt,
                                                "transfer_digit", c->ivr_transfer_digit,
                                                "on_machine", c->ivr_on_machine));
    }
    if (c->abandon_prompt[0] != '\0') {
        json_object_set_new(j, "abandon_prompt", json_string(c->abandon_prompt));
    }
    return j;
}

static void campaign_written(void *data, int status, const struct store_result *r)
{
    struct create *cr = data;
    if (!api_submit_failed(cr->a, cr->req, status, r, "campaign")) {
        api_json(cr->a, cr->req, 201, campaign_json(&cr->c));
    }
    create_free(cr);
}

static void write_campaign(struct create *cr)
{
    size_t n = campaign__get_packed_size(&cr->c);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    campaign__pack(&cr->c, v);
    uint8_t key[CAMPAIGN_KEY_BYTES];
    campaign_record_key(cr->c.tenant_id, cr->c.id, key);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_CAMPAIGN, key, sizeof key, STORE_MB_ABSENT, NULL, 0);
    store_mb_put(mb, STORE_CF_CAMPAIGN, key, sizeof key, v, n);
    free(v);
    char obj[48], detail[160];
    snprintf(obj, sizeof obj, "campaign/%llu", (unsigned long long)cr->c.id);
    snprintf(detail, sizeof detail, "name=%.60s mode=%s leads=%u", cr->c.name, cr->c.mode,
             cr->c.leads);
    api_audit_add(mb, &cr->who, "campaign.create", obj, detail);
    api_submit_mutation(cr->a, mb, 0, 0, campaign_written, cr);
}

static void leads_written(void *data, int status, const struct store_result *r)
{
    struct create *cr = data;
    if (status != 0 || r->code != 0) {
        cr->failed = status != 0 ? status : r->code;
    }
    if (--cr->batches_left > 0) {
        return;
    }
    if (cr->failed) {
        api_error(cr->a, cr->req, 503, "unavailable", NULL,
                  "leads not written (%s); the campaign was not created", waihu_strerror(cr->failed));
        create_free(cr);
        return;
    }
    write_campaign(cr);
}

static bool may_call(void *ctx, const CustomerRecord *r)
{
    return auth_may_touch(ctx, r->tenant_id, r->department, r->owner);
}

static void write_leads(struct create *cr)
{
    const struct customer_view *view = api_cview_for(cr->a, cr->filter);
    if (view == NULL) {
        api_error(cr->a, cr->req, 503, "unavailable", "filter",
                  "the customer view is still loading, or the filter names a custom field "
                  "(campaign filters use tags, status, owner, department, source and times)");
        create_free(cr);
        return;
    }
    uint64_t *ids = malloc(LEADS_MAX * sizeof *ids);
    if (ids == NULL) {
        waihu_fatal("api", "out of memory");
    }
    size_t n = customer_view_first(view, cr->who.tenant_id, cr->filter, clock_wall_ms(),
                                   may_call, &cr->who, 0, ids, LEADS_MAX);
    if (n == 0) {
        free(ids);
        api_error(cr->a, cr->req, 422, "no_leads", "filter",
                  "no customer you may call matches the filter; nothing was created");
        create_free(cr);
        return;
    }
    cr->c.leads = (uint32_t)n;
    cr->batches_left = (unsigned)((n + LEADS_PER_BATCH - 1) / LEADS_PER_BATCH);
    Lead l = LEAD__INIT;
    l.format = 1;
    l.campaign_id = cr->c.id;
    l.state = "ready";
    for (size_t i = 0; i < n; i += LEADS_PER_BATCH) {
        struct store_mutation_builder *items[LEADS_PER_BATCH];
        size_t k = n - i < LEADS_PER_BATCH ? n - i : LEADS_PER_BATCH;
        for (size_t j = 0; j < k; j++) {
            l.customer_id = ids[i + j];
            uint8_t v[64], key[CAMPAIGN_KEY_BYTES];
            size_t vlen = lead__pack(&l, v);
            campaign_lead_key(cr->c.id, l.customer_id, key);
            items[j] = store_mb_new();
            store_mb_condition(items[j], STORE_CF_LEAD, key, sizeof key, STORE_MB_ABSENT, NULL, 0);
            store_mb_put(items[j], STORE_CF_LEAD, key, sizeof key, v, vlen);
        }
        uint8_t *buf;
        size_t len;
        store_mb_pack_batch(items, k, 0, 0, &buf, &len);
        for (size_t j = 0; j < k; j++) {
            store_mb_free(items[j]);
        }
        cluster_submit(cr->a->cluster, buf, len, leads_written, cr);
        free(buf);
    }
    free(ids);
}

static void create_caught_up(void *data, int status)
{
    struct create *cr = data;
    if (status != 0) {
        api_error(cr->a, cr->req, 503, "unavailable", NULL, "cluster: %s", waihu_strerror(status));
        create_free(cr);
        return;
    }
    write_leads(cr);
}

static int parse_hhmm(const char *s, uint32_t *min)
{
    unsigned h, m;
    char end;
    if (s == NULL || sscanf(s, "%2u:%2u%c", &h, &m, &end) != 2 || m > 59 ||
        h * 60 + m > 1440) {
        return WAIHU_EINVAL;
    }
    *min = h * 60 + m;
    return 0;
}

static uint32_t uint_or(json_t *b, const char *name, uint32_t dflt, uint32_t max, bool *bad)
{
    json_t *v = json_object_get(b, name);
    if (v == NULL) {
        return dflt;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        *bad = true;
        return dflt;
    }
    return (uint32_t)json_integer_value(v);
}

/* Fills cr->c from the body; answers 400 and returns false on the first bad field. */
/* "ivr": {"prompt", "transfer_digit", "on_machine"} and "abandon_prompt": prompts that
 * exist (uploaded with PUT /v1/prompts/{name}). False with cr->bad_prompt naming the field. */
static bool parse_prompts(struct create *cr, const char *mode)
{
    Campaign *c = &cr->c;
    json_t *ivr = json_object_get(cr->body, "ivr");
    json_t *abandon = json_object_get(cr->body, "abandon_prompt");
    bool is_ivr = strcmp(mode, "ivr") == 0;
    cr->bad_prompt = "ivr";
    if ((ivr != NULL) != is_ivr || (ivr != NULL && !json_is_object(ivr))) {
        return false; /* mode ivr needs it; other modes have none */
    }
    if (ivr != NULL) {
        const char *p = json_string_value(json_object_get(ivr, "prompt"));
        const char *d = json_string_value(json_object_get(ivr, "transfer_digit"));
        json_t *m = json_object_get(ivr, "on_machine");
        Prompt *found = p && api_prompt_name_ok(p) ? api_prompt_read(cr->a, cr->who.tenant_id, p)
                                                   : NULL;
        if (found == NULL || (d != NULL && (strlen(d) != 1 || !strchr("0123456789*#", d[0]))) ||
            (m != NULL && !json_is_boolean(m)) || json_object_size(ivr) > 3) {
            if (found) {
                prompt__free_unpacked(found, NULL);
            }
            return false;
        }
        prompt__free_unpacked(found, NULL);
        snprintf(cr->ivr_prompt, sizeof cr->ivr_prompt, "%s", p);
        snprintf(cr->ivr_digit, sizeof cr->ivr_digit, "%s", d ? d : "");
        c->ivr_prompt = cr->ivr_prompt;
        c->ivr_transfer_digit = cr->ivr_digit;
        c->ivr_on_machine = m != NULL && json_is_true(m);
    }
    cr->bad_prompt = "abandon_prompt";
    if (abandon != NULL) {
        const char *p = json_string_value(abandon);
        Prompt *found = p && api_prompt_name_ok(p) ? api_prompt_read(cr->a, cr->who.tenant_id, p)
                                                   : NULL;
        if (found == NULL) {
            return false;
        }
        prompt__free_unpacked(found, NULL);
        snprintf(cr->abandon_prompt, sizeof cr->abandon_prompt, "%s", p);
        c->abandon_prompt = cr->abandon_prompt;
    }
    return true;
}

static bool parse_campaign(struct create *cr)
{
    struct api *a = cr->a;
    json_t *b = cr->body;
    static const char *const known[] = {"name", "mode", "filter", "agents", "max_attempts",
                                        "max_per_number_day", "window", "timezone",
                                        "retry_after_s", "wrap_s", "abandon_cap", "start",
                                        "ivr", "abandon_prompt"};
    const char *key;
    json_t *val;
    json_object_foreach(b, key, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
            ok = ok || strcmp(key, known[i]) == 0;
        }
        if (!ok) {
            api_error(a, cr->req, 400, "invalid", key, "unknown field \"%s\"", key);
            return false;
        }
    }
    Campaign *c = &cr->c;
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *mode = json_string_value(json_object_get(b, "mode"));
    const char *filter = json_string_value(json_object_get(b, "filter"));
    const char *tz = json_string_value(json_object_get(b, "timezone"));
    json_t *agents = json_object_get(b, "agents");
    json_t *window = json_object_get(b, "window");
    json_t *cap = json_object_get(b, "abandon_cap");
    json_t *start = json_object_get(b, "start");
    bool bad = false;
    c->max_attempts = uint_or(b, "max_attempts", 3, 20, &bad);
    const char *what = bad ? "max_attempts" : NULL;
    c->max_per_number_day = uint_or(b, "max_per_number_day", 3, 20, &bad);
    what = what ? what : bad ? "max_per_number_day" : NULL;
    c->retry_after_s = uint_or(b, "retry_after_s", 1800, 7 * 86400, &bad);
    what = what ? what : bad ? "retry_after_s" : NULL;
    c->wrap_s = uint_or(b, "wrap_s", 10, 3600, &bad);
    what = what ? what : bad ? "wrap_s" : NULL;
    if (what != NULL) {
        api_error(a, cr->req, 400, "invalid", what, "%s must be a whole number in range", what);
        return false;
    }
    c->window_start_min = 9 * 60;
    c->window_end_min = 21 * 60;
    char zone[CAMPAIGN_ZONE_MAX] = "";
    int32_t off;
    what = name == NULL || name[0] == '\0' || strlen(name) > NAME_MAX_BYTES ? "name"
           : mode == NULL || (strcmp(mode, "predictive") != 0 && strcmp(mode, "progressive") != 0 &&
                              strcmp(mode, "preview") != 0 && strcmp(mode, "ivr") != 0)
               ? "mode"
           : !parse_prompts(cr, mode) ? cr->bad_prompt
           : !json_is_array(agents) || json_array_size(agents) > AGENTS_MAX ||
                   (json_array_size(agents) == 0 && cr->ivr_digit[0] != '\0') ||
                   (json_array_size(agents) == 0 && strcmp(mode, "ivr") != 0)
               ? "agents"
           : window != NULL && (!json_is_object(window) ||
                                parse_hhmm(json_string_value(json_object_get(window, "start")),
                                           &c->window_start_min) != 0 ||
                                parse_hhmm(json_string_value(json_object_get(window, "end")),
                                           &c->window_end_min) != 0 ||
                                c->window_start_min >= c->window_end_min)
               ? "window"
           : json_object_get(b, "timezone") != NULL &&
                   (tz == NULL || campaign_zone_offset(tz, clock_wall_ms(), &off) != 0)
               ? "timezone"
           : cap != NULL && (!json_is_number(cap) || json_number_value(cap) < 0 ||
                             json_number_value(cap) > 0.05)
               ? "abandon_cap"
           : start != NULL && !json_is_boolean(start) ? "start"
           : json_object_get(b, "filter") != NULL && filter == NULL ? "filter"
                                                                     : NULL;
    if (what != NULL) {
        api_error(a, cr->req, 400, "invalid", what,
                  "expected name, mode (predictive|progressive|preview|ivr), agents (a list, "
                  "empty only for a broadcast), ivr {prompt, transfer_digit, on_machine} "
                  "naming an uploaded prompt (mode ivr), abandon_prompt, "
                  "optional window {\"start\":\"09:00\",\"end\":\"21:00\"} with start < end, "
                  "timezone (IANA), abandon_cap (0..0.05), start (boolean), filter");
        return false;
    }
    if (tz != NULL) {
        snprintf(zone, sizeof zone, "%s", tz);
    }
    cr->agents = calloc(json_array_size(agents), sizeof *cr->agents);
    if (cr->agents == NULL) {
        waihu_fatal("api", "out of memory");
    }
    c->agents = cr->agents;
    size_t i;
    json_t *ag;
    json_array_foreach(agents, i, ag) {
        const char *s = json_string_value(ag);
        if (s == NULL || s[0] == '\0' || strlen(s) >= 64) {
            api_error(a, cr->req, 400, "invalid", "agents", "agents are user names");
            return false;
        }
        cr->agents[c->n_agents++] = strdup(s);
    }
    struct filter_error ferr = {0};
    const char *ftext = filter ? filter : "";
    if (ftext[0] != '\0' && filter_parse(ftext, strlen(ftext), &cr->filter, &ferr) != 0) {
        api_error(a, cr->req, 400, "invalid", "filter", "%s", ferr.msg);
        return false;
    }
    c->format = 1;
    c->tenant_id = cr->who.tenant_id;
    c->name = strdup(name);
    c->mode = strdup(mode);
    c->filter = strdup(ftext);
    c->timezone = strdup(zone);
    c->state = start == NULL || json_is_true(start) ? "running" : "paused";
    c->abandon_cap = cap != NULL ? json_number_value(cap) : 0.03;
    c->created_by = cr->who.user;
    c->created_ms = clock_wall_ms();
    c->state_ms = c->created_ms;
    uint64_t id = 0;
    random_bytes(&id, sizeof id);
    c->id = (id >> 12) | 1; /* under 2^52: exact in JSON numbers too */
    return true;
}

static void create_campaign(struct api *a, struct http_request *req)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    struct create *cr = calloc(1, sizeof *cr);
    if (cr == NULL) {
        waihu_fatal("api", "out of memory");
    }
    cr->a = a;
    cr->req = req;
    cr->who = a->who;
    cr->body = b;
    campaign__init(&cr->c);
    /* Ours to free once parsed (init points them at protobuf-c's shared empty string). */
    cr->c.name = cr->c.mode = cr->c.filter = cr->c.timezone = NULL;
    if (!parse_campaign(cr)) {
        create_free(cr);
        return;
    }
    /* The customers and agents the caller just created elsewhere must be seen. */
    cluster_read_barrier(a->cluster, create_caught_up, cr);
}

/* ---- GET ---- */

struct progress {
    uint64_t by_state[4]; /* ready, leased, dialing, done */
    uint64_t retry_later;
    int64_t now;
};

static int count_lead(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct progress *p = data;
    Lead *l = lead__unpack(NULL, vlen, val);
    if (l == NULL) {
        return 0;
    }
    static const char *const names[] = {"ready", "leased", "dialing", "done"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(l->state, names[i]) == 0) {
            p->by_state[i]++;
        }
    }
    if (strcmp(l->state, "ready") == 0 && l->next_at_ms > p->now) {
        p->retry_later++;
    }
    lead__free_unpacked(l, NULL);
    return 0;
}

struct tallies {
    json_t *nodes;
    CampaignTally sum;
};

static int add_tally(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct tallies *t = data;
    CampaignTally *ct = campaign_tally__unpack(NULL, vlen, val);
    if (ct == NULL || klen != CAMPAIGN_KEY_BYTES) {
        if (ct) {
            campaign_tally__free_unpacked(ct, NULL);
        }
        return 0;
    }
    t->sum.attempts += ct->attempts;
    t->sum.answered += ct->answered;
    t->sum.abandoned += ct->abandoned;
    t->sum.machine += ct->machine;
    t->sum.no_answer += ct->no_answer;
    t->sum.refused += ct->refused;
    char node[24];
    snprintf(node, sizeof node, "%llu", (unsigned long long)be64_get((const uint8_t *)key + 9));
    json_array_append_new(t->nodes, json_pack("{s:s, s:I, s:s}", "node", node, "attempts",
                                              (json_int_t)ct->attempts, "idle_reason",
                                              ct->reason));
    campaign_tally__free_unpacked(ct, NULL);
    return 0;
}

void campaign_tally_sum(struct api *a, uint64_t campaign, CampaignTally *sum)
{
    struct tallies t = {.nodes = json_array()};
    uint8_t prefix[9];
    prefix[0] = 's';
    be64_put(prefix + 1, campaign);
    store_scan(a->store, STORE_CF_LEAD, prefix, sizeof prefix, NULL, 0, add_tally, &t);
    json_decref(t.nodes);
    *sum = t.sum;
}

static json_t *progress_json(struct api *a, const Campaign *c)
{
    struct progress p = {.now = clock_wall_ms()};
    uint8_t prefix[9];
    prefix[0] = 'l';
    be64_put(prefix + 1, c->id);
    store_scan(a->store, STORE_CF_LEAD, prefix, sizeof prefix, NULL, 0, count_lead, &p);
    struct tallies t = {.nodes = json_array()};
    prefix[0] = 's';
    store_scan(a->store, STORE_CF_LEAD, prefix, sizeof prefix, NULL, 0, add_tally, &t);
    uint64_t live = t.sum.answered + t.sum.abandoned;
    return json_pack("{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:f}, "
                     "s:o}",
                     "leads", "ready", (json_int_t)p.by_state[0], "leased",
                     (json_int_t)p.by_state[1], "dialing", (json_int_t)p.by_state[2], "done",
                     (json_int_t)p.by_state[3], "retry_later", (json_int_t)p.retry_later,
                     "calls", "attempts", (json_int_t)t.sum.attempts, "answered",
                     (json_int_t)t.sum.answered, "abandoned", (json_int_t)t.sum.abandoned,
                     "machine", (json_int_t)t.sum.machine, "no_answer",
                     (json_int_t)t.sum.no_answer, "refused", (json_int_t)t.sum.refused,
                     "abandon_rate", live ? (double)t.sum.abandoned / (double)live : 0.0,
                     "nodes", t.nodes);
}

static int list_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    Campaign *c = campaign__unpack(NULL, vlen, val);
    if (c != NULL) {
        json_array_append_new(data, campaign_json(c));
        campaign__free_unpacked(c, NULL);
    }
    return 0;
}

static void list_campaigns(struct api *a, struct http_request *req)
{
    uint8_t prefix[9];
    prefix[0] = 'c';
    be64_put(prefix + 1, a->who.tenant_id);
    json_t *items = json_array();
    store_scan(a->store, STORE_CF_CAMPAIGN, prefix, sizeof prefix, NULL, 0, list_one, items);
    api_json(a, req, 200, json_pack("{s:o}", "items", items));
}

static void get_campaign(struct api *a, struct http_request *req, uint64_t tenant, uint64_t id)
{
    void *raw;
    size_t len;
    Campaign *c = campaign_read(a->store, tenant, id, &raw, &len);
    if (c == NULL) {
        api_error(a, req, 404, "not_found", "id", "no such campaign");
        return;
    }
    json_t *doc = campaign_json(c);
    json_object_set_new(doc, "progress", progress_json(a, c));
    campaign__free_unpacked(c, NULL);
    free(raw);
    api_json(a, req, 200, doc);
}

struct get_req {
    struct api *a;
    struct http_request *req;
    uint64_t tenant, id;
};

static void get_caught_up(void *data, int status)
{
    struct get_req *g = data;
    if (status != 0) {
        api_error(g->a, g->req, 503, "unavailable", NULL, "cluster: %s", waihu_strerror(status));
    } else {
        get_campaign(g->a, g->req, g->tenant, g->id);
    }
    free(g);
}

/* A campaign just created or paused through another node is read as committed. */
static void read_after_barrier(struct api *a, struct http_request *req, uint64_t id)
{
    struct get_req *g = malloc(sizeof *g);
    if (g == NULL) {
        waihu_fatal("api", "out of memory");
    }
    *g = (struct get_req){.a = a, .req = req, .tenant = a->who.tenant_id, .id = id};
    cluster_read_barrier(a->cluster, get_caught_up, g);
}

/* ---- pause / resume ---- */

static void set_state(struct api *a, struct http_request *req, uint64_t id, const char *state)
{
    void *raw;
    size_t len;
    Campaign *c = campaign_read(a->store, a->who.tenant_id, id, &raw, &len);
    if (c == NULL) {
        api_error(a, req, 404, "not_found", "id", "no such campaign");
        return;
    }
    uint8_t key[CAMPAIGN_KEY_BYTES];
    campaign_record_key(a->who.tenant_id, id, key);
    struct store_mutation_builder *mb = store_mb_new();
    /* Against the record read: a concurrent change makes this a 409, not a lost update. */
    store_mb_condition(mb, STORE_CF_CAMPAIGN, key, sizeof key, STORE_MB_VALUE_IS, raw, len);
    Campaign nc = *c; /* shallow: c keeps its own strings for campaign__free_unpacked */
    nc.state = (char *)state;
    nc.state_ms = clock_wall_ms();
    size_t n = campaign__get_packed_size(&nc);
    uint8_t *v = malloc(n);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    campaign__pack(&nc, v);
    store_mb_put(mb, STORE_CF_CAMPAIGN, key, sizeof key, v, n);
    free(v);
    char obj[48];
    snprintf(obj, sizeof obj, "campaign/%llu", (unsigned long long)id);
    api_audit_add(mb, &a->who, strcmp(state, "paused") == 0 ? "campaign.pause" : "campaign.resume",
                  obj, "");
    json_t *answer = json_pack("{s:s, s:s}", "id", obj + 9, "state", state);
    campaign__free_unpacked(c, NULL);
    free(raw);
    api_submit_answer(a, req, mb, answer, 200, "campaign state");
}

bool api_route_campaigns(struct api *a, struct http_request *req, const char *method,
                         const char *path)
{
    static const char base[] = "/v1/campaigns";
    if (strncmp(path, base, sizeof base - 1) != 0 ||
        (path[sizeof base - 1] != '\0' && path[sizeof base - 1] != '/')) {
        return false;
    }
    const char *rest = path + sizeof base - 1;
    bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
    if (*rest == '\0') {
        if (post && api_require(a, req, AUTH_CAMPAIGN_WRITE)) {
            create_campaign(a, req);
        } else if (get && api_require(a, req, AUTH_CAMPAIGN_READ)) {
            list_campaigns(a, req);
        } else if (!post && !get) {
            api_error(a, req, 405, "method_not_allowed", NULL, "use GET or POST");
        }
        return true;
    }
    char idtext[24], action[16] = "";
    uint64_t id;
    if (sscanf(rest, "/%23[0-9]/%15[a-z]", idtext, action) < 1 ||
        api_parse_u64(idtext, &id) != 0) {
        api_error(a, req, 404, "not_found", NULL, "no such campaign path");
        return true;
    }
    if (action[0] == '\0' && get) {
        if (api_require(a, req, AUTH_CAMPAIGN_READ)) {
            read_after_barrier(a, req, id);
        }
    } else if ((strcmp(action, "pause") == 0 || strcmp(action, "resume") == 0) && post) {
        if (api_require(a, req, AUTH_CAMPAIGN_WRITE)) {
            set_state(a, req, id, strcmp(action, "pause") == 0 ? "paused" : "running");
        }
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL,
                  "GET /v1/campaigns/{id}, POST /v1/campaigns/{id}/pause|resume");
    }
    return true;
}
