/* Carrier behaviour rules: per-number table and statistical shares. */
#include "rules.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simmedia.h"

static const char *names[OUTCOME_COUNT] = {"answer", "human", "voicemail", "busy",
                                           "no-answer", "unreachable", "reject"};
static const int codes[OUTCOME_COUNT] = {200, 200, 200, 486, 480, 404, 603};

const char *outcome_name(enum outcome o) { return o < OUTCOME_COUNT ? names[o] : "?"; }
int outcome_code(enum outcome o) { return o < OUTCOME_COUNT ? codes[o] : 500; }

int outcome_parse(const char *name, enum outcome *out)
{
    for (int i = 0; i < OUTCOME_COUNT; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum outcome)i;
            return 0;
        }
    }
    if (strcmp(name, "no_answer") == 0) {
        *out = OUTCOME_NO_ANSWER;
        return 0;
    }
    return -1;
}

void rules_init(struct rules *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->share[OUTCOME_ANSWER] = 1.0;
    r->ring = (struct dist){DIST_UNIFORM, 0, 1000, 0, 1e9};
    r->talk = (struct dist){DIST_UNIFORM, 2000, 5000, 0, 1e9};
    r->rng = seed;
}

void rules_free(struct rules *r)
{
    for (size_t i = 0; r->numbers != NULL && i < r->n_numbers; i++) {
        if (r->numbers[i].audio != NULL) {
            sim_audio_free(r->numbers[i].audio);
            free(r->numbers[i].audio);
        }
    }
    free(r->numbers);
    r->numbers = NULL;
    r->n_numbers = 0;
}

uint32_t dist_sample(const struct dist *d, uint64_t *rng)
{
    double v;
    switch (d->kind) {
    case DIST_UNIFORM:
        v = d->a + (d->b - d->a) * sim_rand01(rng);
        break;
    case DIST_NORMAL: { /* Box-Muller */
        double u1 = sim_rand01(rng), u2 = sim_rand01(rng);
        v = d->a + d->b * sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-12)) * cos(6.283185307179586 * u2);
        break;
    }
    case DIST_EXP:
        v = -d->a * log(1.0 - sim_rand01(rng));
        break;
    default:
        v = d->a;
    }
    if (v < d->min_ms) {
        v = d->min_ms;
    }
    if (v > d->max_ms) {
        v = d->max_ms;
    }
    return v < 0 ? 0 : (uint32_t)v;
}

/* A distribution is a number (fixed) or {"dist":"uniform|normal|exp|fixed", ...}. */
static int parse_dist(json_t *j, struct dist *d, const char *what, char *err, size_t err_len)
{
    if (json_is_number(j)) {
        *d = (struct dist){DIST_FIXED, json_number_value(j), 0, 0, 1e9};
        return 0;
    }
    const char *kind = json_string_value(json_object_get(j, "dist"));
    if (!json_is_object(j) || !kind) {
        snprintf(err, err_len, "%s: want a number or an object with \"dist\"", what);
        return -1;
    }
    json_t *min = json_object_get(j, "min_ms"), *max = json_object_get(j, "max_ms");
    d->min_ms = json_is_number(min) ? json_number_value(min) : 0;
    d->max_ms = json_is_number(max) ? json_number_value(max) : 1e9;
    if (strcmp(kind, "uniform") == 0) {
        d->kind = DIST_UNIFORM;
        d->a = d->min_ms;
        d->b = d->max_ms;
    } else if (strcmp(kind, "normal") == 0) {
        d->kind = DIST_NORMAL;
        d->a = json_number_value(json_object_get(j, "mean_ms"));
        d->b = json_number_value(json_object_get(j, "sd_ms"));
    } else if (strcmp(kind, "exp") == 0) {
        d->kind = DIST_EXP;
        d->a = json_number_value(json_object_get(j, "mean_ms"));
    } else if (strcmp(kind, "fixed") == 0) {
        d->kind = DIST_FIXED;
        d->a = json_number_value(json_object_get(j, "ms"));
    } else {
        snprintf(err, err_len, "%s: unknown dist \"%s\"", what, kind);
        return -1;
    }
    return 0;
}

static int cmp_rule(const void *a, const void *b)
{
    return strcmp(((const struct rule *)a)->number, ((const struct rule *)b)->number);
}

static int parse_rule(const char *number, json_t *v, struct rule *out, char *err,
                      size_t err_len)
{
    const char *name = json_is_string(v) ? json_string_value(v)
                                         : json_string_value(json_object_get(v, "outcome"));
    if (!name || outcome_parse(name, &out->plan.outcome) != 0) {
        snprintf(err, err_len, "numbers.%s: unknown outcome", number);
        return -1;
    }
    if (strlen(number) >= sizeof out->number) {
        snprintf(err, err_len, "numbers.%s: number too long", number);
        return -1;
    }
    snprintf(out->number, sizeof out->number, "%s", number);
    out->plan.code = outcome_code(out->plan.outcome);
    out->plan.ring_ms = UINT32_MAX; /* sampled per call unless given */
    out->plan.talk_ms = UINT32_MAX;
    if (json_is_object(v)) {
        json_t *code = json_object_get(v, "code"), *ring = json_object_get(v, "ring_ms"),
               *talk = json_object_get(v, "talk_ms"), *dtmf = json_object_get(v, "dtmf"),
               *dtmf_at = json_object_get(v, "dtmf_at_ms"), *wav = json_object_get(v, "wav");
        if (wav) {
            const char *path = json_string_value(wav);
            char why[200];
            out->audio = calloc(1, sizeof *out->audio);
            if (!path || !out->audio || sim_audio_load(path, out->audio, why, sizeof why) != 0) {
                snprintf(err, err_len, "numbers.%s: wav: %s", number,
                         !path ? "want a file name" : !out->audio ? "out of memory" : why);
                free(out->audio);
                out->audio = NULL;
                return -1;
            }
            out->plan.audio = out->audio;
        }
        if (dtmf) {
            const char *d = json_string_value(dtmf);
            if (!d || strlen(d) >= sizeof out->plan.dtmf ||
                strspn(d, "0123456789*#ABCD") != strlen(d)) {
                snprintf(err, err_len, "numbers.%s: dtmf must be up to 15 of 0-9*#A-D", number);
                return -1;
            }
            snprintf(out->plan.dtmf, sizeof out->plan.dtmf, "%s", d);
        }
        if (json_is_number(dtmf_at)) {
            out->plan.dtmf_at_ms = (uint32_t)json_number_value(dtmf_at);
        }
        if (json_is_integer(code)) {
            out->plan.code = (int)json_integer_value(code);
            if (out->plan.code < 300 || out->plan.code > 699) {
                snprintf(err, err_len, "numbers.%s: code must be 300-699", number);
                return -1;
            }
        }
        if (json_is_number(ring)) {
            out->plan.ring_ms = (uint32_t)json_number_value(ring);
        }
        if (json_is_number(talk)) {
            out->plan.talk_ms = (uint32_t)json_number_value(talk);
        }
    }
    return 0;
}

int rules_load(struct rules *r, const char *path, char *err, size_t err_len)
{
    char why[256] = "";
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(err, err_len, "%s:%d: %s", path, jerr.line, jerr.text);
        return -1;
    }
    json_t *numbers = json_object_get(root, "numbers");
    if (json_is_object(numbers)) {
        r->numbers = calloc(json_object_size(numbers) + 1, sizeof *r->numbers);
        if (!r->numbers) {
            snprintf(why, sizeof why, "out of memory");
            goto err;
        }
        const char *number;
        json_t *v;
        json_object_foreach(numbers, number, v) {
            if (parse_rule(number, v, &r->numbers[r->n_numbers], why, sizeof why) != 0) {
                r->n_numbers++; /* rules_free frees what the rule loaded */
                goto err;
            }
            r->n_numbers++;
        }
        qsort(r->numbers, r->n_numbers, sizeof *r->numbers, cmp_rule);
    }
    json_t *stats = json_object_get(root, "stats");
    if (json_is_object(stats)) {
        double sum = 0;
        for (int i = 0; i < OUTCOME_COUNT; i++) {
            json_t *s = json_object_get(stats, names[i]);
            r->share[i] = json_is_number(s) ? json_number_value(s) : 0;
            if (r->share[i] < 0) {
                snprintf(why, sizeof why, "stats.%s: negative share", names[i]);
                goto err;
            }
            sum += r->share[i];
        }
        if (sum <= 0) {
            snprintf(why, sizeof why, "stats: shares sum to zero");
            goto err;
        }
        for (int i = 0; i < OUTCOME_COUNT; i++) {
            r->share[i] /= sum;
        }
    }
    json_t *ring = json_object_get(root, "ring_ms"), *talk = json_object_get(root, "talk_ms");
    if (ring && parse_dist(ring, &r->ring, "ring_ms", why, sizeof why) != 0) {
        goto err;
    }
    if (talk && parse_dist(talk, &r->talk, "talk_ms", why, sizeof why) != 0) {
        goto err;
    }
    json_decref(root);
    return 0;
err:
    snprintf(err, err_len, "%s: %s", path, why);
    json_decref(root);
    rules_free(r);
    return -1;
}

void rules_plan(struct rules *r, const char *number, struct plan *out)
{
    struct rule key;
    snprintf(key.number, sizeof key.number, "%s", number ? number : "");
    const struct rule *hit =
        r->n_numbers ? bsearch(&key, r->numbers, r->n_numbers, sizeof key, cmp_rule) : NULL;
    if (hit) {
        *out = hit->plan;
    } else {
        double u = sim_rand01(&r->rng), acc = 0;
        int pick = OUTCOME_ANSWER;
        for (int i = 0; i < OUTCOME_COUNT; i++) {
            acc += r->share[i];
            if (u < acc) {
                pick = i;
                break;
            }
        }
        out->outcome = (enum outcome)pick;
        out->code = outcome_code(out->outcome);
        out->ring_ms = UINT32_MAX;
        out->talk_ms = UINT32_MAX;
        out->dtmf[0] = '\0';
        out->dtmf_at_ms = 0;
        out->audio = NULL;
    }
    /* Immediate failures do not ring; the rest sample what the rule left open. */
    if (out->ring_ms == UINT32_MAX) {
        int rings = out->outcome != OUTCOME_BUSY && out->outcome != OUTCOME_UNREACHABLE;
        out->ring_ms = rings ? dist_sample(&r->ring, &r->rng) : 0;
    }
    if (out->talk_ms == UINT32_MAX) {
        out->talk_ms = dist_sample(&r->talk, &r->rng);
    }
}
