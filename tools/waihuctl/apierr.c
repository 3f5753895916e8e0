#include "apierr.h"

#include <stdio.h>
#include <string.h>

const char *apierr_code(const json_t *body)
{
    const json_t *err = json_is_object(body) ? json_object_get(body, "error") : NULL;
    const json_t *code = json_is_object(err) ? json_object_get(err, "code") : NULL;

    return json_is_string(code) ? json_string_value(code) : NULL;
}

void apierr_format(long status, const json_t *body, const char *text, char *buf, size_t len)
{
    const json_t *err = json_is_object(body) ? json_object_get(body, "error") : NULL;
    const char *code = apierr_code(body);
    const json_t *msg, *field, *cur;
    size_t n;

    if (len == 0) {
        return;
    }
    if (code == NULL) {
        int line = 0;
        if (text != NULL) {
            const char *nl = strchr(text, '\n');
            line = (int)(nl != NULL ? (size_t)(nl - text) : strlen(text));
            line = line > 200 ? 200 : line;
        }
        snprintf(buf, len, "HTTP %ld%s%.*s", status, line > 0 ? ": " : "", line,
                 line > 0 ? text : "");
        return;
    }
    msg = json_object_get(err, "message");
    field = json_object_get(err, "field");
    cur = json_object_get(body, "current_version");
    snprintf(buf, len, "%s", code);
    if (json_is_string(msg) && json_string_length(msg) > 0) {
        n = strlen(buf);
        snprintf(buf + n, len - n, ": %s", json_string_value(msg));
    }
    if (json_is_integer(cur)) {
        n = strlen(buf);
        snprintf(buf + n, len - n, " (current %" JSON_INTEGER_FORMAT ")", json_integer_value(cur));
    }
    if (json_is_string(field) && (!json_is_string(msg) ||
                                  strstr(json_string_value(msg), json_string_value(field)) == NULL)) {
        n = strlen(buf);
        snprintf(buf + n, len - n, " (field %s)", json_string_value(field));
    }
}
