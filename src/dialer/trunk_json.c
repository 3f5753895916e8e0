/* Trunk sets from JSON: every error names the field that is wrong. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "trunk_internal.h"

static int get_u32(json_t *obj, const char *where, const char *key, uint32_t lo, uint32_t hi,
                   uint32_t def, uint32_t *out, char *err, size_t err_len)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return trunk_errf(err, err_len, "%s.%s: must be an integer in %u..%u", where, key, lo, hi);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int parse_health(json_t *h, struct trunk_health_config *cfg, char *err, size_t err_len)
{
    if (!json_is_object(h))
        return trunk_errf(err, err_len, "health: must be an object");
    const char *key;
    json_t *v;
    json_object_foreach(h, key, v) {
        const struct trunk_health_field *f = NULL;
        for (size_t i = 0; i < trunk_health_n_fields; i++)
            if (strcmp(trunk_health_fields[i].name, key) == 0)
                f = &trunk_health_fields[i];
        if (!f)
            return trunk_errf(err, err_len, "health.%s: unknown field", key);
        char *p = (char *)cfg + f->offset;
        if (f->is_double) {
            if (!json_is_number(v))
                return trunk_errf(err, err_len, "health.%s: must be a number in %g..%g", key,
                                  f->min, f->max);
            *(double *)p = json_number_value(v);
        } else {
            if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)f->min ||
                json_integer_value(v) > (json_int_t)f->max)
                return trunk_errf(err, err_len, "health.%s: must be an integer in %g..%g", key,
                                  f->min, f->max);
            *(uint32_t *)p = (uint32_t)json_integer_value(v);
        }
    }
    return trunk_health_check(cfg, err, err_len);
}

static const char *const trunk_keys[] = {"name",     "target",     "transport",    "proxy",
                                         "weight",   "channels",   "cps",          "caller_ids",
                                         "cost_per_min", "priority", NULL};

static int parse_trunk(struct trunk_set *set, json_t *t, size_t idx, char *err, size_t err_len)
{
    char where[32];
    snprintf(where, sizeof(where), "trunks[%zu]", idx);
    if (!json_is_object(t))
        return trunk_errf(err, err_len, "%s: must be an object", where);
    const char *key;
    json_t *v;
    json_object_foreach(t, key, v) {
        int known = 0;
        for (size_t i = 0; trunk_keys[i]; i++)
            known |= strcmp(trunk_keys[i], key) == 0;
        if (!known)
            return trunk_errf(err, err_len, "%s.%s: unknown field", where, key);
    }
    struct trunk_config tc;
    memset(&tc, 0, sizeof(tc));
    const char *cids[TRUNK_CALLER_IDS_MAX];
    static const char *const skeys[] = {"name", "target", "proxy"};
    const char **dsts[] = {&tc.name, &tc.target, &tc.proxy};
    for (size_t i = 0; i < 3; i++) {
        v = json_object_get(t, skeys[i]);
        if (!v && i == 2)
            continue; /* proxy is optional */
        if (!json_is_string(v))
            return trunk_errf(err, err_len, "%s.%s: must be a string", where, skeys[i]);
        *dsts[i] = json_string_value(v);
    }
    v = json_object_get(t, "transport");
    if (v) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "udp") == 0)
            tc.transport = TRUNK_UDP;
        else if (strcmp(s, "tcp") == 0)
            tc.transport = TRUNK_TCP;
        else if (strcmp(s, "tls") == 0)
            tc.transport = TRUNK_TLS;
        else
            return trunk_errf(err, err_len, "%s.transport: must be \"udp\", \"tcp\" or \"tls\"",
                              where);
    }
    int rv;
    if ((rv = get_u32(t, where, "weight", 1, TRUNK_WEIGHT_MAX, 1, &tc.weight, err, err_len)) ||
        (rv = get_u32(t, where, "channels", 1, TRUNK_CHANNELS_MAX, 0, &tc.channels, err,
                      err_len)) ||
        (rv = get_u32(t, where, "cps", 1, TRUNK_CPS_MAX, 0, &tc.cps, err, err_len)) ||
        (rv = get_u32(t, where, "priority", 0, 1000000, 0, &tc.priority, err, err_len)))
        return rv;
    if (!json_object_get(t, "channels"))
        return trunk_errf(err, err_len, "%s.channels: missing", where);
    if (!json_object_get(t, "cps"))
        return trunk_errf(err, err_len, "%s.cps: missing", where);
    v = json_object_get(t, "cost_per_min");
    if (v) {
        if (!json_is_number(v) || json_number_value(v) < 0)
            return trunk_errf(err, err_len, "%s.cost_per_min: must be a number >= 0", where);
        tc.cost_per_min = json_number_value(v);
    }
    v = json_object_get(t, "caller_ids");
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > TRUNK_CALLER_IDS_MAX)
        return trunk_errf(err, err_len, "%s.caller_ids: must be an array of 1..%d numbers", where,
                          TRUNK_CALLER_IDS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *c = json_array_get(v, i);
        if (!json_is_string(c))
            return trunk_errf(err, err_len, "%s.caller_ids[%zu]: must be a string", where, i);
        cids[i] = json_string_value(c);
    }
    tc.caller_ids = cids;
    tc.n_caller_ids = json_array_size(v);
    /* Field checks shared with trunk_set_add; their messages start with the name. */
    char inner[200];
    rv = trunk_set_add(set, &tc, NULL, inner, sizeof(inner));
    if (rv) {
        size_t nl = strlen(tc.name);
        const char *field = inner;
        if (nl && strncmp(inner, tc.name, nl) == 0 && inner[nl] == '.')
            field = inner + nl + 1;
        trunk_errf(err, err_len, "%s.%s", where, field);
    }
    return rv;
}

int trunk_set_from_json(const char *text, struct trunk_set **out, char *err, size_t err_len)
{
    if (!out)
        return WAIHU_EINVAL;
    *out = NULL;
    if (!text)
        return trunk_errf(err, err_len, "trunks: no document");
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return trunk_errf(err, err_len, "line %d column %d: %s", jerr.line, jerr.column,
                          jerr.text);
    struct trunk_set *set = NULL;
    struct trunk_health_config cfg;
    trunk_health_default(&cfg);
    int rv;
    if (!json_is_object(root)) {
        rv = trunk_errf(err, err_len, "top level: must be an object");
        goto err;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "trunks") != 0 && strcmp(key, "health") != 0) {
            rv = trunk_errf(err, err_len, "%s: unknown field", key);
            goto err;
        }
    }
    json_t *h = json_object_get(root, "health");
    if (h && (rv = parse_health(h, &cfg, err, err_len)))
        goto err;
    json_t *arr = json_object_get(root, "trunks");
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        rv = trunk_errf(err, err_len, "trunks: must be a non-empty array");
        goto err;
    }
    if (json_array_size(arr) > TRUNK_MAX) {
        rv = trunk_errf(err, err_len, "trunks: more than %d trunks", TRUNK_MAX);
        goto err;
    }
    if ((rv = trunk_set_new(&cfg, &set, err, err_len)))
        goto err;
    for (size_t i = 0; i < json_array_size(arr); i++)
        if ((rv = parse_trunk(set, json_array_get(arr, i), i, err, err_len)))
            goto err;
    json_decref(root);
    *out = set;
    return 0;
err:
    trunk_set_free(set);
    json_decref(root);
    return rv;
}
