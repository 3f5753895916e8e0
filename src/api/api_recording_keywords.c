/* A tenant's keyword list for the speech worker (docs/recordings.md "Keywords"):
 *   GET/PUT /v1/recordings/keywords
 *       {"keywords":[{"phrase","threshold","channels":"customer|agent|both","points"}]}
 * Stored replicated in the recording family at "k" | be64 tenant, as the retention policy
 * is; without a row the tenant has the default list (thresholds of docs/speech.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_recording_internal.h"

#define KW_POINTS_MAX 100

static const struct {
    const char *phrase;
    double threshold;
    int points;
} defaults[] = {
    /* complaint and contract: tuned on bench/speech seed 1 (docs/speech.md) */
    {"complaint", 1, 25},
    {"contract", 1e-10, 25},
    {"refund", 1e-10, 25},
    {"lawyer", 1e-10, 40},
};

void rec_keywords_key(uint64_t tenant, uint8_t out[REC_KEYWORDS_KEY_BYTES])
{
    out[0] = 'k';
    be64_put(out + 1, tenant);
}

static void add(struct rec_kwlist *l, const char *phrase, double threshold, unsigned channels,
                int points)
{
    size_t i = l->n++;
    snprintf(l->phrase[i], sizeof l->phrase[i], "%s", phrase);
    l->kw[i] = (struct speech_keyword){.phrase = l->phrase[i], .threshold = threshold,
                                       .channels = channels, .points = points};
}

void rec_kwlist_bind(struct rec_kwlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        l->kw[i].phrase = l->phrase[i];
    }
}

void rec_keywords_load(struct store *s, uint64_t tenant, struct rec_kwlist *out,
                       int64_t *updated_ms, char *updated_by, size_t by_cap)
{
    uint8_t key[REC_KEYWORDS_KEY_BYTES];
    rec_keywords_key(tenant, key);
    void *v;
    size_t n;
    out->n = 0;
    if (updated_ms != NULL) {
        *updated_ms = 0;
        updated_by[0] = '\0';
    }
    if (store_get(s, STORE_CF_RECORDING, key, sizeof key, &v, &n) == 0) {
        RecordingKeywords *p = recording_keywords__unpack(NULL, n, v);
        free(v);
        if (p != NULL) {
            for (size_t i = 0; i < p->n_keywords && i < REC_KEYWORDS_MAX; i++) {
                const RecordingKeyword *k = p->keywords[i];
                add(out, k->phrase, k->threshold, k->channels, k->points);
            }
            if (updated_ms != NULL) {
                *updated_ms = p->updated_ms;
                snprintf(updated_by, by_cap, "%s", p->updated_by);
            }
            recording_keywords__free_unpacked(p, NULL);
            return;
        }
        LOG_W("api", "keyword list of tenant %llu does not decode: the default list is used",
              (unsigned long long)tenant);
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        add(out, defaults[i].phrase, defaults[i].threshold, SPEECH_ON_CUSTOMER,
            defaults[i].points);
    }
}

static const char *channels_name(unsigned c)
{
    return c == SPEECH_ON_CUSTOMER ? "customer" : c == SPEECH_ON_AGENT ? "agent" : "both";
}

static json_t *list_json(const struct rec_kwlist *l)
{
    json_t *items = json_array();
    for (size_t i = 0; i < l->n; i++) {
        json_array_append_new(items, json_pack("{s:s, s:f, s:s, s:i}", "phrase", l->phrase[i],
                                               "threshold", l->kw[i].threshold, "channels",
                                               channels_name(l->kw[i].channels), "points",
                                               l->kw[i].points));
    }
    return items;
}

void rec_keywords_get(struct api *a, struct http_request *req)
{
    struct rec_kwlist l;
    int64_t at;
    char by[128];
    rec_keywords_load(a->store, a->who.tenant_id, &l, &at, by, sizeof by);
    json_t *doc = json_pack("{s:o}", "keywords", list_json(&l));
    json_object_set_new(doc, "updated_by", by[0] ? json_string(by) : json_null());
    json_object_set_new(doc, "updated_ms", at ? json_integer((json_int_t)at) : json_null());
    api_json(a, req, 200, doc);
}

/* Lower-case words of the dictionary, single spaces: ASCII letters, digits, apostrophes and
 * hyphens, or UTF-8 (a Mandarin dictionary's words). */
static bool phrase_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= SPEECH_PHRASE_MAX || p[0] == ' ' || p[n - 1] == ' ') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c == '-' ||
                  c >= 0x80 || (c == ' ' && p[i + 1] != ' ');
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Fills out from the body's list; on error fills *status (400 malformed, 422 out of range),
 * field and why. */
static int parse_list(json_t *list, struct rec_kwlist *out, int *status, char *field,
                      size_t field_cap, char *why, size_t why_cap)
{
    out->n = 0;
    if (!json_is_array(list)) {
        *status = 400;
        snprintf(field, field_cap, "keywords");
        snprintf(why, why_cap, "expected {\"keywords\": [{\"phrase\": ...}, ...]}");
        return -1;
    }
    if (json_array_size(list) > REC_KEYWORDS_MAX) {
        *status = 422;
        snprintf(field, field_cap, "keywords");
        snprintf(why, why_cap, "at most %d keywords", REC_KEYWORDS_MAX);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        *status = 400;
        snprintf(field, field_cap, "keywords[%zu]", i);
        if (!json_is_object(e)) {
            snprintf(why, why_cap, "expected an object");
            return -1;
        }
        const char *k;
        json_t *v;
        json_object_foreach(e, k, v) {
            if (strcmp(k, "phrase") != 0 && strcmp(k, "threshold") != 0 &&
                strcmp(k, "channels") != 0 && strcmp(k, "points") != 0) {
                snprintf(field, field_cap, "keywords[%zu].%.32s", i, k);
                snprintf(why, why_cap, "unknown field");
                return -1;
            }
        }
        json_t *ph = json_object_get(e, "phrase"), *th = json_object_get(e, "threshold"),
               *ch = json_object_get(e, "channels"), *pt = json_object_get(e, "points");
        snprintf(field, field_cap, "keywords[%zu].phrase", i);
        if (!json_is_string(ph)) {
            snprintf(why, why_cap, "a phrase is required (a string)");
            return -1;
        }
        const char *phrase = json_string_value(ph);
        if (!phrase_ok(phrase)) {
            *status = 422;
            snprintf(why, why_cap, "lower-case words of the dictionary, single spaces, 1 to %d "
                                   "bytes", SPEECH_PHRASE_MAX - 1);
            return -1;
        }
        for (size_t j = 0; j < out->n; j++) {
            if (strcmp(out->phrase[j], phrase) == 0) {
                *status = 422;
                snprintf(why, why_cap, "\"%s\" is listed twice", phrase);
                return -1;
            }
        }
        double threshold = 0;
        if (th != NULL) {
            snprintf(field, field_cap, "keywords[%zu].threshold", i);
            if (!json_is_number(th)) {
                snprintf(why, why_cap, "a number");
                return -1;
            }
            threshold = json_number_value(th);
            if (!isfinite(threshold) || threshold <= 0 || threshold > 1e50) {
                *status = 422;
                snprintf(why, why_cap, "a threshold is > 0 and at most 1e50 (larger is "
                                       "stricter)");
                return -1;
            }
        }
        unsigned channels = SPEECH_ON_CUSTOMER | SPEECH_ON_AGENT;
        if (ch != NULL) {
            snprintf(field, field_cap, "keywords[%zu].channels", i);
            const char *c = json_string_value(ch);
            if (c == NULL) {
                snprintf(why, why_cap, "\"customer\", \"agent\" or \"both\"");
                return -1;
            }
            if (strcmp(c, "customer") == 0) {
                channels = SPEECH_ON_CUSTOMER;
            } else if (strcmp(c, "agent") == 0) {
                channels = SPEECH_ON_AGENT;
            } else if (strcmp(c, "both") != 0) {
                *status = 422;
                snprintf(why, why_cap, "\"customer\", \"agent\" or \"both\"");
                return -1;
            }
        }
        int points = 25;
        if (pt != NULL) {
            snprintf(field, field_cap, "keywords[%zu].points", i);
            if (!json_is_integer(pt)) {
                snprintf(why, why_cap, "an integer");
                return -1;
            }
            json_int_t p = json_integer_value(pt);
            if (p < -KW_POINTS_MAX || p > KW_POINTS_MAX || p == 0) {
                *status = 422;
                snprintf(why, why_cap, "risk points per hit: -%d..%d, not 0", KW_POINTS_MAX,
                         KW_POINTS_MAX);
                return -1;
            }
            points = (int)p;
        }
        add(out, phrase, threshold, channels, points);
    }
    return 0;
}

void rec_keywords_put(struct api *a, struct http_request *req)
{
    json_t *b = api_body_object(a, req);
    if (b == NULL) {
        return;
    }
    struct rec_kwlist l;
    int status = 400;
    char field[64], why[160];
    if (json_object_size(b) != 1) {
        json_decref(b);
        api_error(a, req, 400, "invalid", "keywords", "expected {\"keywords\": [...]} alone");
        return;
    }
    if (parse_list(json_object_get(b, "keywords"), &l, &status, field, sizeof field, why,
                   sizeof why) != 0) {
        json_decref(b);
        api_error(a, req, status, status == 422 ? "unprocessable" : "invalid", field, "%s", why);
        return;
    }
    json_decref(b);
    RecordingKeywords p = RECORDING_KEYWORDS__INIT;
    RecordingKeyword items[REC_KEYWORDS_MAX], *ptrs[REC_KEYWORDS_MAX];
    for (size_t i = 0; i < l.n; i++) {
        recording_keyword__init(&items[i]);
        items[i].phrase = l.phrase[i];
        items[i].threshold = l.kw[i].threshold;
        items[i].channels = l.kw[i].channels;
        items[i].points = l.kw[i].points;
        ptrs[i] = &items[i];
    }
    p.format = 1;
    p.tenant_id = a->who.tenant_id;
    p.keywords = ptrs;
    p.n_keywords = l.n;
    p.updated_by = a->who.user;
    p.updated_ms = clock_wall_ms();
    size_t n = recording_keywords__get_packed_size(&p);
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL) {
        waihu_fatal("api", "out of memory");
    }
    recording_keywords__pack(&p, v);
    uint8_t key[REC_KEYWORDS_KEY_BYTES];
    rec_keywords_key(a->who.tenant_id, key);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_put(mb, STORE_CF_RECORDING, key, sizeof key, v, n);
    free(v);
    char detail[32];
    snprintf(detail, sizeof detail, "keywords=%zu", l.n);
    api_audit_add(mb, &a->who, "recording.keywords", "recordings/keywords", detail);
    json_t *doc = json_pack("{s:o, s:s, s:I}", "keywords", list_json(&l), "updated_by",
                            a->who.user, "updated_ms", (json_int_t)p.updated_ms);
    api_submit_answer(a, req, mb, doc, 200, "keyword list");
}
