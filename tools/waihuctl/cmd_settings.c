/* settings get|put|delete|list: the replicated runtime configuration. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "table.h"

#define KEY_MAX_BYTES 256
#define LIST_PAGE 500

static const long OK200[] = {200, 0};

/* Keys are 1..256 bytes of [A-Za-z0-9._:/-] (docs/api-cluster.md), all safe in a URL path. */
static bool key_valid(const char *key)
{
    size_t n = strlen(key), i;

    if (n == 0 || n > KEY_MAX_BYTES) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._:/-", c) != NULL)) {
            return false;
        }
    }
    return true;
}

static int print_settings(const struct ctl *ctl, json_t *items)
{
    static const char *const hdr[] = {"KEY", "VERSION", "VALUE"};
    struct table t;
    size_t i;
    json_t *s;
    int rv = CTL_EXIT_OK;

    if (ctl->output == CTL_OUT_JSON) {
        return ctl_print_json(items);
    }
    if (table_init(&t, 3, hdr) != 0) {
        rv = CTL_EXIT_FAIL;
        goto out;
    }
    json_array_foreach(items, i, s) {
        char ver[32], val[8];
        const char *row[3];
        row[0] = ctl_jstr(s, "key", "?");
        row[1] = ctl_jcell(s, "version", ver, sizeof(ver));
        row[2] = ctl_jstr(s, "value", ctl_jcell(s, "value", val, sizeof(val)));
        if (table_add_row(&t, row) != 0) {
            rv = CTL_EXIT_FAIL;
            goto out;
        }
    }
    if (table_print(&t, stdout) != 0) {
        rv = CTL_EXIT_FAIL;
    }
out:
    table_close(&t);
    return rv;
}

static int parse_version(struct ctl *ctl, const char *text, uint64_t *out)
{
    if (args_parse_u64(text, out) != 0 || *out > INT64_MAX) {
        return ctl_usage_error(ctl, "bad --version \"%s\" (want a number)", text);
    }
    return -1;
}

int cmd_settings_get(struct ctl *ctl, int argc, char **argv)
{
    bool stale = false;
    struct args_spec specs[] = {{"stale", 0, ARGS_FLAG, NULL, &stale}, CTL_GLOBAL_SPECS(ctl)};
    const char *pos[1];
    char path[KEY_MAX_BYTES + 64], what[KEY_MAX_BYTES + 64];
    json_t *out;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 1, 1)) >= 0) {
        return rv;
    }
    if (!key_valid(pos[0])) {
        return ctl_usage_error(ctl, "bad key \"%s\" (1..256 of A-Z a-z 0-9 . _ : / -)", pos[0]);
    }
    snprintf(path, sizeof(path), "/v1/settings/%s%s", pos[0], stale ? "?stale=true" : "");
    snprintf(what, sizeof(what), "settings get %s", pos[0]);
    rv = ctl_call(ctl, what, "GET", path, NULL, OK200, &out);
    if (rv == CTL_EXIT_OK) {
        rv = ctl_print_one(ctl, out, print_settings);
    }
    json_decref(out);
    return rv;
}

int cmd_settings_put(struct ctl *ctl, int argc, char **argv)
{
    const char *version = NULL;
    struct args_spec specs[] = {{"version", 0, ARGS_VALUE, &version, NULL},
                                CTL_GLOBAL_SPECS(ctl)};
    const char *pos[2];
    char path[KEY_MAX_BYTES + 64], what[KEY_MAX_BYTES + 64];
    uint64_t v = 0;
    json_t *body = NULL, *out = NULL;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 2, 2)) >= 0) {
        return rv;
    }
    if (!key_valid(pos[0])) {
        return ctl_usage_error(ctl, "bad key \"%s\" (1..256 of A-Z a-z 0-9 . _ : / -)", pos[0]);
    }
    if (version != NULL && (rv = parse_version(ctl, version, &v)) >= 0) {
        return rv;
    }
    body = json_pack("{s:s}", "value", pos[1]);
    if (body == NULL) {
        ctl_errorf("settings put %s: value is not valid UTF-8", pos[0]);
        return CTL_EXIT_USAGE;
    }
    if (version != NULL && json_object_set_new(body, "version", json_integer((json_int_t)v))) {
        json_decref(body);
        return CTL_EXIT_FAIL;
    }
    snprintf(path, sizeof(path), "/v1/settings/%s", pos[0]);
    snprintf(what, sizeof(what), "settings put %s", pos[0]);
    rv = ctl_call(ctl, what, "PUT", path, body, OK200, &out);
    if (rv == CTL_EXIT_OK) {
        rv = ctl_print_one(ctl, out, print_settings);
    }
    json_decref(out);
    json_decref(body);
    return rv;
}

int cmd_settings_delete(struct ctl *ctl, int argc, char **argv)
{
    const char *version = NULL;
    struct args_spec specs[] = {{"version", 0, ARGS_VALUE, &version, NULL},
                                CTL_GLOBAL_SPECS(ctl)};
    const char *pos[1];
    char path[KEY_MAX_BYTES + 64], what[KEY_MAX_BYTES + 64];
    uint64_t v = 0;
    json_t *out = NULL;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 1, 1)) >= 0) {
        return rv;
    }
    if (!key_valid(pos[0])) {
        return ctl_usage_error(ctl, "bad key \"%s\" (1..256 of A-Z a-z 0-9 . _ : / -)", pos[0]);
    }
    if (version != NULL && (rv = parse_version(ctl, version, &v)) >= 0) {
        return rv;
    }
    if (version != NULL) {
        snprintf(path, sizeof(path), "/v1/settings/%s?version=%" PRIu64, pos[0], v);
    } else {
        snprintf(path, sizeof(path), "/v1/settings/%s", pos[0]);
    }
    snprintf(what, sizeof(what), "settings delete %s", pos[0]);
    rv = ctl_call(ctl, what, "DELETE", path, NULL, OK200, &out);
    if (rv == CTL_EXIT_OK) {
        if (ctl->output == CTL_OUT_JSON) {
            rv = ctl_print_json(out);
        } else {
            printf("deleted %s\n", pos[0]);
        }
    }
    json_decref(out);
    return rv;
}

int cmd_settings_list(struct ctl *ctl, int argc, char **argv)
{
    const char *prefix = NULL;
    struct args_spec specs[] = {{"prefix", 0, ARGS_VALUE, &prefix, NULL}, CTL_GLOBAL_SPECS(ctl)};
    char *eprefix = NULL, *after = NULL, *path = NULL;
    json_t *all = NULL, *page = NULL;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, NULL, 0, 0)) >= 0) {
        return rv;
    }
    rv = CTL_EXIT_FAIL;
    all = json_array();
    eprefix = http_escape(&ctl->http, prefix != NULL ? prefix : "");
    if (all == NULL || eprefix == NULL) {
        goto out;
    }
    for (;;) {
        json_t *items, *next;
        char *eafter = after != NULL ? http_escape(&ctl->http, after) : NULL;
        size_t len = strlen(eprefix) + (eafter ? strlen(eafter) : 0) + 64;

        free(path);
        path = malloc(len);
        if (path == NULL || (after != NULL && eafter == NULL)) {
            free(eafter);
            goto out;
        }
        snprintf(path, len, "/v1/settings?limit=%d%s%s%s%s", LIST_PAGE,
                 eprefix[0] ? "&prefix=" : "", eprefix, eafter ? "&after=" : "",
                 eafter ? eafter : "");
        free(eafter);
        json_decref(page);
        rv = ctl_call(ctl, "settings list", "GET", path, NULL, OK200, &page);
        if (rv != CTL_EXIT_OK) {
            goto out;
        }
        rv = CTL_EXIT_FAIL;
        items = json_object_get(page, "settings");
        if (!json_is_array(items)) {
            ctl_errorf("settings list: answer has no \"settings\" array");
            goto out;
        }
        if (json_array_extend(all, items) != 0) {
            goto out;
        }
        next = json_object_get(page, "next");
        if (!json_is_string(next) || json_string_length(next) == 0 ||
            (after != NULL && strcmp(after, json_string_value(next)) == 0) ||
            json_array_size(items) == 0) {
            break;
        }
        free(after);
        after = strdup(json_string_value(next));
        if (after == NULL) {
            goto out;
        }
    }
    rv = print_settings(ctl, all);
out:
    json_decref(page);
    json_decref(all);
    free(eprefix);
    free(after);
    free(path);
    return rv;
}
