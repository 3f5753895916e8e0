/* Option parsing in the kubectl habit: long options anywhere, "--" ends them. */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const struct args_spec *find_long(const struct args_spec *specs, const char *name,
                                         size_t len)
{
    for (; specs->name != NULL; specs++) {
        if (strlen(specs->name) == len && strncmp(specs->name, name, len) == 0) {
            return specs;
        }
    }
    return NULL;
}

static const struct args_spec *find_short(const struct args_spec *specs, char c)
{
    for (; specs->name != NULL; specs++) {
        if (specs->short_name != 0 && specs->short_name == c) {
            return specs;
        }
    }
    return NULL;
}

/* Applies one option; inline_value is the text after '=' (or after a short name), or NULL.
 * Returns how many extra argv entries were consumed (0 or 1), or -1 on error. */
static int apply(const struct args_spec *spec, const char *shown, const char *inline_value,
                 int i, int argc, char **argv, char *errmsg, size_t errlen)
{
    if (spec->kind == ARGS_FLAG) {
        if (inline_value != NULL) {
            snprintf(errmsg, errlen, "flag \"%s\" takes no value", shown);
            return -1;
        }
        *spec->flag = true;
        return 0;
    }
    if (inline_value != NULL) {
        *spec->value = inline_value;
        return 0;
    }
    if (i + 1 >= argc) {
        snprintf(errmsg, errlen, "flag \"%s\" needs a value", shown);
        return -1;
    }
    *spec->value = argv[i + 1];
    return 1;
}

int args_parse(int argc, char **argv, const struct args_spec *specs, bool stop_at_positional,
               struct args_result *res, char *errmsg, size_t errlen)
{
    bool options_done = false;
    int i;

    res->npos = 0;
    res->help = false;
    res->next = argc;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        const struct args_spec *spec;
        const char *inline_value = NULL;
        int used;

        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (stop_at_positional) {
                res->next = i;
                return 0;
            }
            if (res->npos == res->pos_cap) {
                snprintf(errmsg, errlen, "unexpected argument \"%s\"", a);
                return WAIHU_EINVAL;
            }
            res->pos[res->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            res->help = true;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            spec = find_long(specs, name, len);
            inline_value = eq != NULL ? eq + 1 : NULL;
        } else {
            spec = find_short(specs, a[1]);
            if (a[2] != '\0') {
                inline_value = a[2] == '=' ? a + 3 : a + 2;
            }
        }
        if (spec == NULL) {
            snprintf(errmsg, errlen, "unknown flag \"%s\"", a);
            return WAIHU_EINVAL;
        }
        used = apply(spec, a, inline_value, i, argc, argv, errmsg, errlen);
        if (used < 0) {
            return WAIHU_EINVAL;
        }
        i += used;
    }
    return 0;
}

int args_parse_u64(const char *text, uint64_t *out)
{
    unsigned long long v;
    char *end;

    if (text == NULL || text[0] < '0' || text[0] > '9') {
        return WAIHU_EINVAL;
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return WAIHU_EINVAL;
    }
    *out = (uint64_t)v;
    return 0;
}
