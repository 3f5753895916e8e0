/* waihuctl import: --map parsing and the job report. */
#include "import_map.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Copies s[0..n) without surrounding blanks into a new string. */
static char *trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++, n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    char *out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

int import_map_parse(const char *text, json_t **out, char *errmsg, size_t errlen)
{
    size_t n = strlen(text), entry = 0;
    char *buf = malloc(n + 1), *col = NULL, *field = NULL;
    json_t *map = json_object();
    int rv = WAIHU_ENOMEM;

    *out = NULL;
    if (buf == NULL || map == NULL) {
        goto err;
    }
    const char *p = text;
    for (;;) {
        /* One entry: column (unescaped into buf) '=' field, up to an unescaped ','. */
        size_t len = 0, eq = (size_t)-1;
        entry++;
        while (*p != '\0' && *p != ',') {
            if (*p == '\\' && (p[1] == ',' || p[1] == '=' || p[1] == '\\')) {
                buf[len++] = p[1];
                p += 2;
                continue;
            }
            if (*p == '=' && eq == (size_t)-1) {
                eq = len;
            }
            buf[len++] = *p++;
        }
        rv = WAIHU_EINVAL;
        if (eq == (size_t)-1) {
            snprintf(errmsg, errlen, "--map entry %zu \"%.*s\": want column=field", entry,
                     (int)(len < 60 ? len : 60), buf);
            goto err;
        }
        rv = WAIHU_ENOMEM;
        if ((col = trimmed(buf, eq)) == NULL ||
            (field = trimmed(buf + eq + 1, len - eq - 1)) == NULL) {
            goto err;
        }
        rv = WAIHU_EINVAL;
        if (col[0] == '\0' || field[0] == '\0') {
            snprintf(errmsg, errlen, "--map entry %zu: empty %s name", entry,
                     col[0] == '\0' ? "column" : "field");
            goto err;
        }
        if (json_object_get(map, col) != NULL) {
            snprintf(errmsg, errlen, "--map: column \"%.60s\" is mapped twice", col);
            goto err;
        }
        if (json_object_size(map) == IMPORT_MAP_MAX) {
            snprintf(errmsg, errlen, "--map: more than %d columns", IMPORT_MAP_MAX);
            goto err;
        }
        json_t *v = json_string(field);
        if (v == NULL) {
            snprintf(errmsg, errlen, "--map entry %zu: not UTF-8", entry);
            goto err;
        }
        if (json_object_set_new(map, col, v) != 0) { /* a key that is not UTF-8 */
            snprintf(errmsg, errlen, "--map entry %zu: not UTF-8", entry);
            goto err;
        }
        free(col);
        free(field);
        col = field = NULL;
        if (*p == '\0') {
            break;
        }
        p++; /* ',' */
    }
    free(buf);
    *out = map;
    return 0;
err:
    if (rv == WAIHU_ENOMEM) {
        snprintf(errmsg, errlen, "out of memory");
    }
    free(col);
    free(field);
    free(buf);
    json_decref(map);
    return rv;
}

int import_encoding_valid(const char *enc)
{
    return strcmp(enc, "auto") == 0 || strcmp(enc, "utf-8") == 0 || strcmp(enc, "gb18030") == 0;
}

static json_int_t jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *jstr(const json_t *o, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : fallback;
}

void import_print_status(FILE *f, const json_t *job, size_t max_errors)
{
    json_int_t total = jint(job, "bytes_total"), done = jint(job, "bytes_done");
    double pct = total > 0 ? 100.0 * (double)done / (double)total : 100.0;
    const char *state = jstr(job, "state", "?");

    fprintf(f, "import %s: %s\n", jstr(job, "id", "?"), state);
    fprintf(f, "file      %s\n", jstr(job, "file", "?"));
    fprintf(f, "progress  %.1f%% (%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
               " bytes), %.0f rows/s",
            pct, done, total, jnum(job, "rows_per_s"));
    if (strcmp(state, "running") == 0) {
        fprintf(f, ", eta %.0f s", jnum(job, "eta_s"));
    }
    fputc('\n', f);
    fprintf(f, "rows_ok %" JSON_INTEGER_FORMAT "  rows_failed %" JSON_INTEGER_FORMAT
               "  duplicates %" JSON_INTEGER_FORMAT "\n",
            jint(job, "rows_ok"), jint(job, "rows_failed"), jint(job, "duplicates"));
    if (json_is_string(json_object_get(job, "error"))) {
        fprintf(f, "error     %s\n", jstr(job, "error", ""));
    }
    const json_t *errs = json_object_get(job, "first_errors");
    if (errs == NULL) {
        errs = json_object_get(job, "errors");
    }
    size_t n = json_array_size(errs);
    if (n > 0 && max_errors > 0) {
        fprintf(f, "first errors:\n");
    }
    for (size_t i = 0; i < n && i < max_errors; i++) {
        const json_t *e = json_array_get(errs, i);
        const char *col = json_string_value(json_object_get(e, "column"));
        const char *why = jstr(e, "reason", "");
        /* Field checks already start with the field's name. */
        if (col != NULL && strncmp(why, col, strlen(col)) == 0 && why[strlen(col)] == ':') {
            col = NULL;
        }
        fprintf(f, "  line %" JSON_INTEGER_FORMAT ": %s%s%s\n", jint(e, "line"), col ? col : "",
                col ? ": " : "", why);
    }
    if (n > max_errors && max_errors > 0) {
        fprintf(f, "  ... %zu more (GET /v1/imports/%s/errors)\n", n - max_errors,
                jstr(job, "id", "?"));
    }
}
