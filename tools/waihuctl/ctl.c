/* Shared plumbing of the commands: global option validation, endpoint failover, printing. */
#include "ctl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "apierr.h"
#include "common.h"

void ctl_init(struct ctl *ctl)
{
    memset(ctl, 0, sizeof(*ctl));
    ctl->output = CTL_OUT_TABLE;
    ctl->timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
}

void ctl_close(struct ctl *ctl)
{
    http_client_close(&ctl->http);
    endpoints_free(&ctl->endpoints);
}

uint64_t ctl_random_u64(void)
{
    uint64_t v = 0;

    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16);
    }
    /* Keep it within int64 so servers parsing signed integers accept it too. */
    v &= UINT64_MAX >> 1;
    return v != 0 ? v : 1;
}

void ctl_errorf(const char *fmt, ...)
{
    va_list ap;

    fputs("waihuctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void print_usage_line(const struct ctl_cmd *c)
{
    fprintf(stderr, "usage: waihuctl %s %s%s%s\n", c->group, c->name, c->args[0] ? " " : "",
            c->args);
}

int ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
{
    va_list ap;

    fputs("waihuctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (ctl->cmd != NULL) {
        print_usage_line(ctl->cmd);
    }
    return CTL_EXIT_USAGE;
}

/* The API token: $WAIHU_TOKEN, else the file named by $WAIHU_TOKEN_FILE (the cluster's
 * bootstrap token file for administrators). */
static int load_token(struct ctl *ctl)
{
    char buf[128] = "";
    const char *tok = getenv("WAIHU_TOKEN");
    const char *file = getenv("WAIHU_TOKEN_FILE");
    if ((tok == NULL || tok[0] == '\0') && file != NULL && file[0] != '\0') {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            ctl_errorf("WAIHU_TOKEN_FILE %s: cannot read", file);
            return -1;
        }
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
            n--;
        }
        buf[n] = '\0';
        tok = buf;
    }
    if (tok != NULL && tok[0] != '\0') {
        snprintf(ctl->http.authorization, sizeof ctl->http.authorization,
                 "Authorization: Bearer %.120s", tok);
    }
    return 0;
}

static int setup_globals(struct ctl *ctl)
{
    const char *eps = ctl->endpoints_arg;
    char err[256];
    uint64_t t;

    if (ctl->output_arg != NULL) {
        if (strcmp(ctl->output_arg, "table") == 0) {
            ctl->output = CTL_OUT_TABLE;
        } else if (strcmp(ctl->output_arg, "json") == 0) {
            ctl->output = CTL_OUT_JSON;
        } else {
            return ctl_usage_error(ctl, "bad --output \"%s\" (want table or json)",
                                   ctl->output_arg);
        }
    }
    if (ctl->timeout_arg != NULL) {
        if (args_parse_u64(ctl->timeout_arg, &t) != 0 || t == 0 || t > 3600000) {
            return ctl_usage_error(ctl, "bad --timeout-ms \"%s\" (want 1..3600000)",
                                   ctl->timeout_arg);
        }
        ctl->timeout_ms = (long)t;
    }
    if (eps == NULL) {
        eps = getenv("WAIHU_ENDPOINTS");
        if (eps == NULL || eps[0] == '\0') {
            eps = ENDPOINTS_DEFAULT;
        }
    }
    if (endpoints_parse(eps, &ctl->endpoints, err, sizeof(err)) != 0) {
        return ctl_usage_error(ctl, "%s%s", err,
                               ctl->endpoints_arg == NULL ? " in WAIHU_ENDPOINTS" : "");
    }
    if (http_client_init(&ctl->http) != 0) {
        ctl_errorf("cannot initialise libcurl");
        return CTL_EXIT_FAIL;
    }
    if (load_token(ctl) != 0) {
        return CTL_EXIT_USAGE;
    }
    ctl->client_id = ctl_random_u64();
    return -1;
}

int ctl_parse(struct ctl *ctl, int argc, char **argv, const struct args_spec *specs,
              const char **pos, size_t min_pos, size_t max_pos)
{
    struct args_result res = {.pos = pos, .pos_cap = max_pos};
    char err[256];

    if (args_parse(argc, argv, specs, false, &res, err, sizeof(err)) != 0) {
        if (res.help) {
            ctl_print_cmd_help(ctl->cmd, stdout);
            return CTL_EXIT_OK;
        }
        return ctl_usage_error(ctl, "%s", err);
    }
    if (res.help) {
        ctl_print_cmd_help(ctl->cmd, stdout);
        return CTL_EXIT_OK;
    }
    if (res.npos < min_pos) {
        return ctl_usage_error(ctl, "missing argument");
    }
    return setup_globals(ctl);
}

struct http_write_id ctl_next_write_id(struct ctl *ctl)
{
    struct http_write_id id = {.client = ctl->client_id, .seq = ++ctl->seq};
    return id;
}

static bool wanted(long status, const long *want)
{
    for (; *want != 0; want++) {
        if (*want == status) {
            return true;
        }
    }
    return false;
}

/* Membership changes must run on the leader: a follower answers 503 not_leader with
 * the leader's API address, which we try once. Returns true if resp now holds an
 * answer from the leader that is not a 503. */
static bool follow_leader_hint(struct ctl *ctl, const char *method, const char *path,
                               const json_t *body, const struct http_write_id *id,
                               struct http_response *resp)
{
    json_t *err = json_object_get(resp->body, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *leader = json_string_value(json_object_get(err, "leader_api_address"));
    if (code == NULL || strcmp(code, "not_leader") != 0 || leader == NULL || *leader == '\0') {
        return false;
    }
    char addr[128];
    snprintf(addr, sizeof addr, "%s", leader);
    struct http_response lr = {0};
    if (http_request(&ctl->http, addr, method, path, body, id, ctl->timeout_ms, &lr) != 0 ||
        lr.status == 503) {
        http_response_free(&lr);
        return false;
    }
    http_response_free(resp);
    *resp = lr;
    return true;
}

int ctl_call(struct ctl *ctl, const char *what, const char *method, const char *path,
             const json_t *body, const long *want_status, json_t **out)
{
    struct http_write_id id = {0};
    struct http_response resp = {0};
    char reasons[1024] = "", msg[512];
    bool answered = false;
    size_t i;
    int rv;

    if (out != NULL) {
        *out = NULL;
    }
    if (strcmp(method, "GET") != 0) {
        id = ctl_next_write_id(ctl);
    }
    for (i = 0; i < ctl->endpoints.n; i++) {
        const char *ep = ctl->endpoints.items[i];
        size_t used = strlen(reasons);

        http_response_free(&resp);
        rv = http_request(&ctl->http, ep, method, path, body, &id, ctl->timeout_ms, &resp);
        if (rv == WAIHU_ENOMEM) {
            ctl_errorf("%s: out of memory", what);
            http_response_free(&resp);
            return CTL_EXIT_FAIL;
        }
        if (rv != 0) {
            snprintf(reasons + used, sizeof(reasons) - used, "%s%s: %s", used ? "; " : "", ep,
                     resp.errmsg);
            continue;
        }
        answered = true;
        if (resp.status == 503 && follow_leader_hint(ctl, method, path, body, &id, &resp)) {
            break;
        }
        if (resp.status == 503) {
            apierr_format(resp.status, resp.body, resp.text, msg, sizeof(msg));
            snprintf(reasons + used, sizeof(reasons) - used, "%s%s: %s", used ? "; " : "", ep,
                     msg);
            continue;
        }
        break;
    }
    if (i == ctl->endpoints.n) {
        http_response_free(&resp);
        if (!answered) {
            ctl_errorf("%s: no endpoint reachable (%s)", what, reasons);
            return CTL_EXIT_UNREACHABLE;
        }
        ctl_errorf("%s: every endpoint unavailable (%s)", what, reasons);
        return CTL_EXIT_FAIL;
    }
    if (!wanted(resp.status, want_status)) {
        apierr_format(resp.status, resp.body, resp.text, msg, sizeof(msg));
        ctl_errorf("%s: %s", what, msg);
        http_response_free(&resp);
        return CTL_EXIT_FAIL;
    }
    if (out != NULL) {
        *out = resp.body;
        resp.body = NULL;
    }
    http_response_free(&resp);
    return CTL_EXIT_OK;
}

int ctl_print_json(const json_t *v)
{
    if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)) != 0) {
        return CTL_EXIT_FAIL;
    }
    fputc('\n', stdout);
    return CTL_EXIT_OK;
}

const char *ctl_jstr(const json_t *obj, const char *key, const char *fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : fallback;
}

uint64_t ctl_ju64(const json_t *obj, const char *key, uint64_t fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
                                                            : fallback;
}

bool ctl_jbool(const json_t *obj, const char *key, bool fallback)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

const char *ctl_jcell(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
    } else if (json_is_real(v)) {
        snprintf(buf, len, "%g", json_real_value(v));
    } else {
        snprintf(buf, len, "-");
    }
    return buf;
}

int ctl_print_one(const struct ctl *ctl, json_t *obj,
                  int (*print_rows)(const struct ctl *ctl, json_t *rows))
{
    if (ctl->output == CTL_OUT_JSON) {
        return ctl_print_json(obj);
    }
    json_t *arr = json_array();
    int rv = CTL_EXIT_FAIL;
    if (arr != NULL && json_array_append(arr, obj) == 0) {
        rv = print_rows(ctl, arr);
    }
    json_decref(arr);
    return rv;
}
