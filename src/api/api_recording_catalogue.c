/* The recording catalogue (docs/recordings.md): rows in the recording family, written with
 * the call's CDR, tombstoned by retention or erasure, analysed by the speech worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_recording_internal.h"
#include "telephony.h"

void rec_row_key(uint64_t tenant, int64_t start_ms, uint64_t node, uint64_t call,
                 uint8_t out[REC_ROW_KEY_BYTES])
{
    out[0] = 'r';
    be64_put(out + 1, tenant);
    be64_put(out + 9, (uint64_t)start_ms);
    be64_put(out + 17, node);
    be64_put(out + 25, call);
}

void rec_id_key(uint64_t tenant, uint64_t node, uint64_t call, uint8_t out[REC_ID_KEY_BYTES])
{
    out[0] = 'i';
    be64_put(out + 1, tenant);
    be64_put(out + 9, node);
    be64_put(out + 17, call);
}

void rec_policy_key(uint64_t tenant, uint8_t out[REC_POLICY_KEY_BYTES])
{
    out[0] = 'p';
    be64_put(out + 1, tenant);
}

void rec_key_of(const Recording *r, uint8_t out[REC_ROW_KEY_BYTES])
{
    rec_row_key(r->tenant_id, r->start_ms, r->node, r->call_id, out);
}

Recording *rec_read(struct store *s, uint64_t tenant, uint64_t node, uint64_t call, void **raw,
                    size_t *raw_len)
{
    uint8_t ik[REC_ID_KEY_BYTES], rk[REC_ROW_KEY_BYTES];
    rec_id_key(tenant, node, call, ik);
    void *v;
    size_t n;
    if (store_get(s, STORE_CF_RECORDING, ik, sizeof ik, &v, &n) != 0) {
        return NULL;
    }
    int64_t start = n == 8 ? (int64_t)be64_get(v) : -1;
    free(v);
    if (start < 0) {
        return NULL;
    }
    rec_row_key(tenant, start, node, call, rk);
    if (store_get(s, STORE_CF_RECORDING, rk, sizeof rk, &v, &n) != 0) {
        return NULL;
    }
    Recording *r = recording__unpack(NULL, n, v);
    if (r == NULL || raw == NULL) {
        free(v);
    } else {
        *raw = v;
        *raw_len = n;
    }
    return r;
}

void rec_put(struct store_mutation_builder *mb, const Recording *r, const void *raw,
             size_t raw_len)
{
    uint8_t key[REC_ROW_KEY_BYTES];
    rec_key_of(r, key);
    if (raw != NULL) {
        store_mb_condition(mb, STORE_CF_RECORDING, key, sizeof key, STORE_MB_VALUE_IS, raw,
                           raw_len);
    }
    size_t n = recording__get_packed_size(r);
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    recording__pack(r, v);
    store_mb_put(mb, STORE_CF_RECORDING, key, sizeof key, v, n);
    free(v);
}

void rec_tombstone_add(struct store_mutation_builder *mb, const Recording *r, const void *raw,
                       size_t raw_len, const char *reason, const struct auth_principal *who,
                       const char *detail)
{
    Recording t = *r;
    t.deleted_at_ms = 0; /* the FSM appends the leader's stamp as field 19 */
    t.deleted_reason = (char *)reason;
    if (strcmp(reason, "erasure") == 0) {
        t.customer_id = 0; /* nothing left that points at the erased customer */
    }
    uint8_t key[REC_ROW_KEY_BYTES];
    rec_key_of(r, key);
    store_mb_condition(mb, STORE_CF_RECORDING, key, sizeof key, STORE_MB_VALUE_IS, raw, raw_len);
    size_t n = recording__get_packed_size(&t);
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    recording__pack(&t, v);
    store_mb_put_stamped(mb, STORE_CF_RECORDING, key, sizeof key, v, n, 19);
    free(v);
    char obj[64];
    snprintf(obj, sizeof obj, "recording/%llu-%llu", (unsigned long long)r->node,
             (unsigned long long)r->call_id);
    api_audit_add(mb, who, "recording.delete", obj, detail);
}

uint32_t rec_policy_days(struct store *s, uint64_t tenant)
{
    uint8_t key[REC_POLICY_KEY_BYTES];
    rec_policy_key(tenant, key);
    void *v;
    size_t n;
    uint32_t days = REC_DAYS_DEFAULT;
    if (store_get(s, STORE_CF_RECORDING, key, sizeof key, &v, &n) == 0) {
        RecordingPolicy *p = recording_policy__unpack(NULL, n, v);
        if (p != NULL && p->days > 0) {
            days = p->days;
        }
        if (p != NULL) {
            recording_policy__free_unpacked(p, NULL);
        }
        free(v);
    }
    return days;
}

bool rec_visible(const struct auth_principal *who, const Recording *r)
{
    if (who->system || who->tenant_id != r->tenant_id || r->deleted_at_ms != 0) {
        return false;
    }
    return who->role != AUTH_ROLE_AGENT || strcmp(who->user, r->agent) == 0;
}

bool rec_held_by(const Recording *r, uint64_t node)
{
    for (size_t i = 0; i < r->n_holders; i++) {
        if (r->holders[i] == node) {
            return true;
        }
    }
    return false;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

json_t *rec_json(struct api *a, const Recording *r)
{
    (void)a;
    char id[48], cust[24], camp[24], sum[65] = "";
    snprintf(id, sizeof id, "%llu-%llu", (unsigned long long)r->node,
             (unsigned long long)r->call_id);
    snprintf(cust, sizeof cust, "%llu", (unsigned long long)r->customer_id);
    snprintf(camp, sizeof camp, "%llu", (unsigned long long)r->campaign_id);
    if (r->sha256.len == 32) {
        hex(r->sha256.data, 32, sum);
    }
    json_t *holders = json_array();
    for (size_t i = 0; i < r->n_holders; i++) {
        json_array_append_new(holders, json_integer((json_int_t)r->holders[i]));
    }
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:I, s:I, s:I, s:I, s:s, s:o, s:s, "
                          "s:b, s:s?}",
                          "id", id, "call_id", id, "customer_id",
                          r->customer_id ? cust : NULL, "campaign_id",
                          r->campaign_id ? camp : NULL, "agent", r->agent, "start_ms",
                          (json_int_t)r->start_ms, "end_ms", (json_int_t)r->end_ms,
                          "duration_ms", (json_int_t)r->duration_ms, "bytes",
                          (json_int_t)r->bytes, "sha256", sum, "holders", holders, "file",
                          r->file, "legal_hold", r->legal_hold, "error",
                          r->error[0] ? r->error : NULL);
    if (r->analysed) {
        json_t *hits = json_array(), *why = json_array();
        for (size_t i = 0; i < r->n_keywords; i++) {
            const RecordingKeywordHit *h = r->keywords[i];
            json_array_append_new(hits, json_pack("{s:s, s:i, s:s, s:i, s:i}", "keyword",
                                                  h->keyword, "channel", (int)h->channel,
                                                  "speaker",
                                                  h->channel == 0 ? "customer" : "agent",
                                                  "offset_ms", (int)h->offset_ms, "end_ms",
                                                  (int)h->end_ms));
        }
        for (size_t i = 0; i < r->n_sentiment_reasons; i++) {
            json_array_append_new(why, json_string(r->sentiment_reasons[i]));
        }
        json_object_set_new(j, "analysis",
                            json_pack("{s:o, s:f, s:i, s:o, s:I, s:s?, s:f, s:f}", "keywords",
                                      hits, "sentiment", r->sentiment, "score",
                                      (int)r->risk_score, "sentiment_reasons", why, "at_ms",
                                      (json_int_t)r->analysed_ms, "error",
                                      r->analysis_error[0] ? r->analysis_error : NULL,
                                      "audio_s", r->audio_s, "processing_s",
                                      r->processing_s));
    }
    return j;
}

/* ---- written with the CDR ---- */

void api_recording_put_from_cdr(struct api *a, struct store_mutation_builder *mb,
                                const struct bridge_cdr *cdr, const CallRecord *cr)
{
    (void)a;
    if (cdr->recording == NULL || cdr->recording[0] == '\0') {
        return;
    }
    const char *slash = strrchr(cdr->recording, '/');
    uint64_t holder = cr->node;
    Recording r = RECORDING__INIT;
    r.format = 1;
    r.call_id = cr->id;
    r.node = cr->node;
    r.tenant_id = cr->tenant_id;
    r.customer_id = cr->customer_id;
    r.agent = cr->agent;
    r.campaign_id = cr->campaign_id;
    r.start_ms = cr->start_ms;
    r.end_ms = cdr->end_wall_ms;
    r.duration_ms = cdr->duration_ms;
    r.bytes = cdr->recording_bytes;
    if (cdr->recording_sha256 != NULL) {
        r.sha256.data = (uint8_t *)cdr->recording_sha256;
        r.sha256.len = 32;
    }
    r.holders = &holder;
    r.n_holders = 1;
    r.file = (char *)(slash ? slash + 1 : cdr->recording);
    r.error = (char *)(cdr->recording_err ? waihu_strerror(cdr->recording_err) : "");
    rec_put(mb, &r, NULL, 0);
    uint8_t ik[REC_ID_KEY_BYTES], start[8];
    rec_id_key(r.tenant_id, r.node, r.call_id, ik);
    be64_put(start, (uint64_t)r.start_ms);
    store_mb_put(mb, STORE_CF_RECORDING, ik, sizeof ik, start, sizeof start);
}

/* ---- erasure ---- */

struct erase_scan {
    struct api *a;
    struct store_mutation_builder *mb;
    uint64_t customer;
    const struct auth_principal *who;
    size_t n;
};

static int erase_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct erase_scan *e = data;
    (void)key;
    if (klen != REC_ROW_KEY_BYTES) {
        return 0;
    }
    Recording *r = recording__unpack(NULL, vlen, val);
    if (r == NULL) {
        return 0;
    }
    if (r->customer_id == e->customer && r->deleted_at_ms == 0) {
        /* Erasure wins over a legal hold? No: a held recording is kept, and the erasure
         * says so in its audit detail (docs/recordings.md). */
        if (!r->legal_hold) {
            rec_tombstone_add(e->mb, r, val, vlen, "erasure", e->who, "customer erased");
            e->n++;
        }
    }
    recording__free_unpacked(r, NULL);
    return 0;
}

void api_recordings_erase_customer(struct api *a, struct store_mutation_builder *mb,
                                   uint64_t tenant, uint64_t customer,
                                   const struct auth_principal *who)
{
    struct erase_scan e = {.a = a, .mb = mb, .customer = customer, .who = who};
    struct rec_view *view = a->recordings ? a->recordings->view : NULL;
    struct recording_query q = {.has_customer = true, .customer_id = customer,
                                .to_ms = INT64_MAX, .max_duration_ms = UINT32_MAX,
                                .limit = RECORDING_PAGE_MAX};
    struct rec_hit hits[RECORDING_PAGE_MAX];
    bool more = true;
    int n = view ? rec_view_search(view, tenant, NULL, &q, hits, &more) : -1;
    if (n < 0) {
        /* No view yet (the node is starting): a scan of the tenant's rows. */
        uint8_t prefix[9];
        prefix[0] = 'r';
        be64_put(prefix + 1, tenant);
        store_scan(a->store, STORE_CF_RECORDING, prefix, sizeof prefix, NULL, 0, erase_one, &e);
    } else {
        for (;;) {
            for (int i = 0; i < n; i++) {
                void *raw;
                size_t len;
                uint8_t key[REC_ROW_KEY_BYTES];
                rec_row_key(tenant, hits[i].start_ms, hits[i].node, hits[i].call, key);
                if (store_get(a->store, STORE_CF_RECORDING, key, sizeof key, &raw, &len) == 0) {
                    erase_one(&e, key, sizeof key, raw, len);
                    free(raw);
                }
            }
            if (!more || n == 0) {
                break;
            }
            q.has_cursor = true;
            q.cursor_start_ms = hits[n - 1].start_ms;
            q.cursor_node = hits[n - 1].node;
            q.cursor_call = hits[n - 1].call;
            n = rec_view_search(view, tenant, NULL, &q, hits, &more);
        }
    }
    if (e.n > 0) {
        LOG_I("api", "erasure of customer %llu deletes %zu recording(s)",
              (unsigned long long)customer, e.n);
    }
}

/* ---- speech analysis ---- */

struct analysis {
    void (*done)(void *data, int status);
    void *data;
};

static void analysis_done(void *data, int status, const struct store_result *r)
{
    struct analysis *x = data;
    int rv = status != 0 ? status : r->code;
    x->done(x->data, rv);
    free(x);
}

void api_recording_set_analysis(struct api *a, uint64_t tenant, uint64_t node, uint64_t call,
                                const Recording *an, void (*done)(void *data, int status),
                                void *data)
{
    void *raw;
    size_t raw_len;
    Recording *r = rec_read(a->store, tenant, node, call, &raw, &raw_len);
    if (r == NULL || r->deleted_at_ms != 0) {
        if (r != NULL) {
            recording__free_unpacked(r, NULL);
            free(raw);
        }
        done(data, WAIHU_ENOTFOUND);
        return;
    }
    Recording n = *r;
    n.analysed = true;
    n.keywords = an->keywords;
    n.n_keywords = an->n_keywords;
    n.sentiment = an->sentiment;
    n.sentiment_reasons = an->sentiment_reasons;
    n.n_sentiment_reasons = an->n_sentiment_reasons;
    n.risk_score = an->risk_score;
    n.analysis_error = an->analysis_error;
    n.audio_s = an->audio_s;
    n.processing_s = an->processing_s;
    n.analysed_ms = clock_wall_ms();
    struct store_mutation_builder *mb = store_mb_new();
    rec_put(mb, &n, raw, raw_len);
    recording__free_unpacked(r, NULL);
    free(raw);
    struct analysis *x = malloc(sizeof *x);
    if (x == NULL) {
        waihu_fatal("api", "out of memory");
    }
    x->done = done;
    x->data = data;
    api_submit_mutation(a, mb, 0, 0, analysis_done, x);
}
