/* import start|status: bulk CSV import of customers (docs/api-customers.md "Bulk import").
 * The file must already be in the import directory of the node that runs the job. Jobs
 * live on that node: status asks the first reachable endpoint, as start did. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "import_map.h"

#define STATUS_ERRORS 10
#define POLL_MS 500

static const long OK202[] = {202, 0};
static const long OK200[] = {200, 0};

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int print_job(const struct ctl *ctl, json_t *job)
{
    if (ctl->output == CTL_OUT_JSON) {
        return ctl_print_json(job);
    }
    import_print_status(stdout, job, STATUS_ERRORS);
    return CTL_EXIT_OK;
}

int cmd_import_start(struct ctl *ctl, int argc, char **argv)
{
    const char *map_arg = NULL, *encoding = NULL;
    struct args_spec specs[] = {{"map", 0, ARGS_VALUE, &map_arg, NULL},
                                {"encoding", 0, ARGS_VALUE, &encoding, NULL},
                                CTL_GLOBAL_SPECS(ctl)};
    const char *pos[1];
    char err[256];
    json_t *mapping = NULL, *body = NULL, *out = NULL;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 1, 1)) >= 0) {
        return rv;
    }
    if (map_arg == NULL) {
        return ctl_usage_error(ctl, "--map is required (CSV column=field,...)");
    }
    if (import_map_parse(map_arg, &mapping, err, sizeof err) != 0) {
        return ctl_usage_error(ctl, "%s", err);
    }
    if (encoding != NULL && !import_encoding_valid(encoding)) {
        json_decref(mapping);
        return ctl_usage_error(ctl, "bad --encoding \"%s\" (want auto, utf-8 or gb18030)",
                               encoding);
    }
    /* The server reads its own import directory: a path names the file there. */
    const char *slash = strrchr(pos[0], '/');
    const char *file = slash != NULL ? slash + 1 : pos[0];
    body = json_pack("{s:s, s:o, s:s}", "file", file, "mapping", mapping, "encoding",
                     encoding != NULL ? encoding : "auto");
    if (body == NULL) {
        ctl_errorf("import start: file name is not UTF-8");
        return CTL_EXIT_USAGE;
    }
    rv = ctl_call(ctl, "import start", "POST", "/v1/imports", body, OK202, &out);
    if (rv == CTL_EXIT_OK) {
        if (ctl->output == CTL_OUT_JSON) {
            rv = ctl_print_json(out);
        } else {
            printf("%s\n", ctl_jstr(out, "id", "?"));
        }
    }
    json_decref(out);
    json_decref(body);
    return rv;
}

int cmd_import_status(struct ctl *ctl, int argc, char **argv)
{
    bool wait = false;
    const char *timeout_arg = NULL;
    struct args_spec specs[] = {{"wait", 0, ARGS_FLAG, NULL, &wait},
                                {"timeout-s", 0, ARGS_VALUE, &timeout_arg, NULL},
                                CTL_GLOBAL_SPECS(ctl)};
    const char *pos[1];
    char path[128], what[96];
    uint64_t timeout_s = 3600;
    json_t *job = NULL;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 1, 1)) >= 0) {
        return rv;
    }
    if (timeout_arg != NULL &&
        (args_parse_u64(timeout_arg, &timeout_s) != 0 || timeout_s == 0 || timeout_s > 864000)) {
        return ctl_usage_error(ctl, "bad --timeout-s \"%s\" (want 1..864000)", timeout_arg);
    }
    if (strlen(pos[0]) > 40 || strspn(pos[0], "imp-0123456789abcdef") != strlen(pos[0])) {
        return ctl_usage_error(ctl, "bad import id \"%s\" (want imp-<16 hex>)", pos[0]);
    }
    snprintf(path, sizeof path, "/v1/imports/%s", pos[0]);
    snprintf(what, sizeof what, "import status %s", pos[0]);
    double deadline = now_s() + (double)timeout_s, last_note = now_s();
    for (;;) {
        json_decref(job);
        job = NULL;
        rv = ctl_call(ctl, what, "GET", path, NULL, OK200, &job);
        if (rv != CTL_EXIT_OK) {
            return rv;
        }
        const char *state = ctl_jstr(job, "state", "?");
        if (!wait || strcmp(state, "running") != 0) {
            break;
        }
        if (now_s() > deadline) {
            print_job(ctl, job);
            json_decref(job);
            ctl_errorf("%s: still running after %" PRIu64 " s", what, timeout_s);
            return CTL_EXIT_FAIL;
        }
        if (now_s() - last_note >= 10) {
            last_note = now_s();
            fprintf(stderr, "waihuctl: %s: %" PRIu64 " of %" PRIu64 " bytes, %" PRIu64
                            " rows ok\n",
                    pos[0], ctl_ju64(job, "bytes_done", 0), ctl_ju64(job, "bytes_total", 0),
                    ctl_ju64(job, "rows_ok", 0));
        }
        sleep_ms(POLL_MS);
    }
    rv = print_job(ctl, job);
    if (rv == CTL_EXIT_OK && strcmp(ctl_jstr(job, "state", "?"), "failed") == 0) {
        rv = CTL_EXIT_FAIL;
    }
    json_decref(job);
    return rv;
}
