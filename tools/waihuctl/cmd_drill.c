/* drill dc-failover: fence every member of one datacenter, time how long until a survivor
 * acknowledges a write, unfence, and time how long until every member is ready and caught up. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apierr.h"
#include "cmds.h"
#include "common.h"
#include "drill_plan.h"

#define PROBE_TIMEOUT_MS 500 /* per drill write / poll, so a dead peer costs little */
#define RETRY_PAUSE_MS 10    /* after a fast failure, so a refusing survivor is not hammered */
#define POLL_PAUSE_MS 20

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct drill {
    struct ctl *ctl;
    struct drill_plan plan;
    uint64_t fence_ms;
    uint64_t timeout_ms;
    bool fenced[DRILL_MEMBERS_MAX];
    uint64_t t0_ms, ack_ms, unfence_ms, converged_ms;
    uint64_t ack_index;
    uint64_t new_leader;
    char key[64];
    size_t acked_by;
};

static long probe_timeout(const struct drill *d)
{
    return d->ctl->timeout_ms < PROBE_TIMEOUT_MS ? d->ctl->timeout_ms : PROBE_TIMEOUT_MS;
}

static const char *member_label(const struct drill *d, uint64_t id, char *buf, size_t len)
{
    const struct drill_member *m = drill_plan_find(&d->plan, id);

    if (id == 0) {
        snprintf(buf, len, "none");
    } else if (m != NULL && m->name[0] != '\0') {
        snprintf(buf, len, "%s (id %" PRIu64 ")", m->name, id);
    } else {
        snprintf(buf, len, "id %" PRIu64, id);
    }
    return buf;
}

/* POSTs an admin body to one member; 0 on 200, else prints why and returns CTL_EXIT_FAIL. */
static int admin_post(struct drill *d, const struct drill_member *m, const char *path,
                      const json_t *body)
{
    struct http_response resp;
    char msg[256];
    int rv = CTL_EXIT_FAIL;

    if (http_request(&d->ctl->http, m->api_address, "POST", path, body, NULL,
                     d->ctl->timeout_ms, &resp) != 0) {
        ctl_errorf("drill: %s %s: %s", path, m->api_address, resp.errmsg);
    } else if (resp.status != 200) {
        apierr_format(resp.status, resp.body, resp.text, msg, sizeof(msg));
        ctl_errorf("drill: %s %s: %s", path, m->api_address, msg);
    } else {
        rv = CTL_EXIT_OK;
    }
    http_response_free(&resp);
    return rv;
}

static int fence_all(struct drill *d)
{
    json_t *body = json_pack("{s:I}", "duration_ms", (json_int_t)d->fence_ms);
    size_t i;
    int rv = CTL_EXIT_OK;

    if (body == NULL) {
        return CTL_EXIT_FAIL;
    }
    d->t0_ms = clock_now_ms();
    for (i = 0; i < d->plan.n && rv == CTL_EXIT_OK; i++) {
        if (d->plan.members[i].in_dc) {
            rv = admin_post(d, &d->plan.members[i], "/v1/admin/fence", body);
            d->fenced[i] = rv == CTL_EXIT_OK;
        }
    }
    json_decref(body);
    return rv;
}

/* Unfences every member this drill fenced, retrying each for up to 5 s. */
static int unfence_all(struct drill *d)
{
    json_t *body = json_object();
    size_t i;
    int rv = CTL_EXIT_OK;

    d->unfence_ms = clock_now_ms();
    for (i = 0; i < d->plan.n; i++) {
        uint64_t give_up = clock_now_ms() + 5000;
        int one;
        if (!d->fenced[i]) {
            continue;
        }
        while ((one = admin_post(d, &d->plan.members[i], "/v1/admin/unfence", body)) != 0 &&
               clock_now_ms() < give_up) {
            pause_ms(100);
        }
        if (one == CTL_EXIT_OK) {
            d->fenced[i] = false;
        } else {
            ctl_errorf("drill: %s stays fenced until its fence expires",
                       d->plan.members[i].api_address);
            rv = CTL_EXIT_FAIL;
        }
    }
    json_decref(body);
    return rv;
}

/* The next survivor index after i, round-robin. */
static size_t next_survivor(const struct drill *d, size_t i)
{
    do {
        i = (i + 1) % d->plan.n;
    } while (d->plan.members[i].in_dc);
    return i;
}

/* Writes one drill value to survivors until one acknowledges it. The pair (client, seq)
 * stays the same across retries of one value, so a retry cannot apply it twice. */
static int write_until_acked(struct drill *d)
{
    struct ctl *ctl = d->ctl;
    uint64_t deadline = d->t0_ms + d->timeout_ms;
    struct http_write_id id = ctl_next_write_id(ctl);
    char path[128], value[128], last[256] = "none yet", msg[200];
    size_t i = next_survivor(d, d->plan.n - 1);
    json_t *body = NULL;
    int rv = CTL_EXIT_FAIL;

    snprintf(d->key, sizeof(d->key), "drill.%016" PRIx64, ctl_random_u64());
    snprintf(path, sizeof(path), "/v1/settings/%s", d->key);
    for (;;) {
        const struct drill_member *m = &d->plan.members[i];
        struct http_response resp;
        uint64_t started = clock_now_ms();
        int hr;

        if (body == NULL) {
            snprintf(value, sizeof(value), "%016" PRIx64 "-%" PRIu64 "-%" PRId64, id.client,
                     id.seq, clock_wall_ms());
            body = json_pack("{s:s}", "value", value);
            if (body == NULL) {
                return CTL_EXIT_FAIL;
            }
        }
        if (interrupted) {
            ctl_errorf("drill: interrupted while waiting for failover");
            break;
        }
        if (started >= deadline) {
            ctl_errorf("drill: no survivor acknowledged a write within %" PRIu64 " s (last: %s)",
                       d->timeout_ms / 1000, last);
            break;
        }
        hr = http_request(&ctl->http, m->api_address, "PUT", path, body, &id, probe_timeout(d),
                          &resp);
        if (hr == 0 && resp.status == 200) {
            d->ack_ms = clock_now_ms();
            d->acked_by = i;
            http_response_free(&resp);
            rv = CTL_EXIT_OK;
            break;
        }
        if (hr == WAIHU_ENOMEM) {
            http_response_free(&resp);
            break;
        }
        if (hr != 0) {
            snprintf(last, sizeof(last), "%s: %s", m->api_address, resp.errmsg);
        } else {
            const char *code = apierr_code(resp.body);
            apierr_format(resp.status, resp.body, resp.text, msg, sizeof(msg));
            snprintf(last, sizeof(last), "%s: %s", m->api_address, msg);
            if (resp.status == 409 && code != NULL && strcmp(code, "stale") == 0) {
                /* Our seq fell behind (should not happen): move on to a fresh value. */
                json_decref(body);
                body = NULL;
                id = ctl_next_write_id(ctl);
            } else if (resp.status >= 400 && resp.status < 500) {
                ctl_errorf("drill: write %s: %s", d->key, last);
                http_response_free(&resp);
                break;
            }
        }
        http_response_free(&resp);
        i = next_survivor(d, i);
        if (clock_now_ms() - started < RETRY_PAUSE_MS) {
            pause_ms(RETRY_PAUSE_MS);
        }
    }
    json_decref(body);
    return rv;
}

static int get_cluster(struct drill *d, const char *addr, json_t **out)
{
    struct http_response resp;
    int rv = CTL_EXIT_FAIL;

    *out = NULL;
    if (http_request(&d->ctl->http, addr, "GET", "/v1/cluster", NULL, NULL, probe_timeout(d),
                     &resp) == 0 &&
        resp.status == 200 && json_is_object(resp.body)) {
        *out = json_incref(resp.body);
        rv = CTL_EXIT_OK;
    }
    http_response_free(&resp);
    return rv;
}

/* Finds the new leader and an index at or past the acknowledged write: the leader's
 * commit_index once the write was acknowledged (a commit precedes the ack). */
static int find_ack_index(struct drill *d)
{
    uint64_t deadline = clock_now_ms() + d->timeout_ms;
    size_t i = d->acked_by;

    while (clock_now_ms() < deadline && !interrupted) {
        json_t *view = NULL, *lview = NULL;
        const char *laddr;

        if (get_cluster(d, d->plan.members[i].api_address, &view) == 0 &&
            ctl_ju64(view, "leader_id", 0) != 0) {
            d->new_leader = ctl_ju64(view, "leader_id", 0);
            if (strcmp(ctl_jstr(view, "state", ""), "leader") == 0) {
                lview = json_incref(view);
            } else if ((laddr = ctl_jstr(view, "leader_api_address", NULL)) != NULL &&
                       endpoints_check(laddr) == 0) {
                get_cluster(d, laddr, &lview);
            }
            if (lview != NULL) {
                uint64_t c = ctl_ju64(lview, "commit_index", 0);
                uint64_t a = ctl_ju64(lview, "applied_index", 0);
                d->ack_index = c > a ? c : a;
                json_decref(lview);
                json_decref(view);
                return CTL_EXIT_OK;
            }
        }
        json_decref(view);
        i = next_survivor(d, i);
        pause_ms(POLL_PAUSE_MS);
    }
    ctl_errorf("drill: could not read the new leader's commit index");
    return CTL_EXIT_FAIL;
}

static bool member_converged(struct drill *d, const struct drill_member *m)
{
    struct http_response resp;
    json_t *view = NULL;
    bool ready, ok = false;

    ready = http_request(&d->ctl->http, m->api_address, "GET", "/readyz", NULL, NULL,
                         probe_timeout(d), &resp) == 0 &&
            resp.status == 200;
    http_response_free(&resp);
    if (ready && get_cluster(d, m->api_address, &view) == 0) {
        ok = ctl_ju64(view, "applied_index", 0) >= d->ack_index &&
             !ctl_jbool(view, "fenced", false);
    }
    json_decref(view);
    return ok;
}

static int wait_converged(struct drill *d)
{
    uint64_t deadline = d->unfence_ms + d->timeout_ms;
    bool done[DRILL_MEMBERS_MAX] = {false};
    size_t i, left = d->plan.n;
    char label[128];

    while (left > 0) {
        for (i = 0; i < d->plan.n; i++) {
            if (!done[i] && member_converged(d, &d->plan.members[i])) {
                done[i] = true;
                left--;
            }
        }
        if (left == 0) {
            break;
        }
        if (interrupted || clock_now_ms() >= deadline) {
            for (i = 0; i < d->plan.n; i++) {
                if (!done[i]) {
                    ctl_errorf("drill: %s not ready or not at index %" PRIu64 " after %" PRIu64
                               " s",
                               member_label(d, d->plan.members[i].id, label, sizeof(label)),
                               d->ack_index, d->timeout_ms / 1000);
                }
            }
            return CTL_EXIT_FAIL;
        }
        pause_ms(POLL_PAUSE_MS);
    }
    d->converged_ms = clock_now_ms();
    return CTL_EXIT_OK;
}

static int report(struct drill *d, const char *dc, bool converged)
{
    struct ctl *ctl = d->ctl;
    double failover_s = (double)(d->ack_ms - d->t0_ms) / 1000.0;
    double converge_s = (double)(d->converged_ms - d->unfence_ms) / 1000.0;
    char label[128];
    size_t i;
    bool first = true;

    if (ctl->output == CTL_OUT_JSON) {
        json_t *o = json_object(), *fenced = json_array();
        int rv;
        for (i = 0; i < d->plan.n; i++) {
            if (d->plan.members[i].in_dc) {
                json_array_append_new(fenced, json_integer((json_int_t)d->plan.members[i].id));
            }
        }
        json_object_set_new(o, "dc", json_string(dc));
        json_object_set_new(o, "fenced", fenced);
        json_object_set_new(o, "old_leader", d->plan.old_leader != 0
                                                 ? json_integer((json_int_t)d->plan.old_leader)
                                                 : json_null());
        json_object_set_new(o, "new_leader", json_integer((json_int_t)d->new_leader));
        json_object_set_new(o, "failover_s", json_real(failover_s));
        json_object_set_new(o, "converge_s", converged ? json_real(converge_s) : json_null());
        rv = ctl_print_json(o);
        json_decref(o);
        return rv;
    }
    printf("drill dc-failover: dc %s\n  fenced:       ", dc);
    for (i = 0; i < d->plan.n; i++) {
        if (d->plan.members[i].in_dc) {
            printf("%s%s", first ? "" : ", ",
                   member_label(d, d->plan.members[i].id, label, sizeof(label)));
            first = false;
        }
    }
    printf("\n  old leader:   %s, %s\n",
           member_label(d, d->plan.old_leader, label, sizeof(label)),
           d->plan.old_leader_in_dc ? "in the fenced dc" : "outside the fenced dc");
    printf("  new leader:   %s\n", member_label(d, d->new_leader, label, sizeof(label)));
    printf("  failover:     %.3f s (fence to first acknowledged write, on %s)\n", failover_s,
           d->plan.members[d->acked_by].api_address);
    if (converged) {
        printf("  convergence:  %.3f s (unfence to all %zu members ready, applied >= %" PRIu64
               ")\n",
               converge_s, d->plan.n, d->ack_index);
    } else {
        printf("  convergence:  not reached\n");
    }
    return CTL_EXIT_OK;
}

static void cleanup_key(struct drill *d)
{
    static const long want[] = {200, 404, 0};
    char path[128], what[128];

    snprintf(path, sizeof(path), "/v1/settings/%s", d->key);
    snprintf(what, sizeof(what), "drill: delete %s (ignored)", d->key);
    ctl_call(d->ctl, what, "DELETE", path, NULL, want, NULL);
}

int cmd_drill_dc_failover(struct ctl *ctl, int argc, char **argv)
{
    static const long want[] = {200, 0};
    const char *dc = NULL, *fence_arg = NULL, *timeout_arg = NULL;
    struct args_spec specs[] = {{"dc", 0, ARGS_VALUE, &dc, NULL},
                                {"fence-ms", 0, ARGS_VALUE, &fence_arg, NULL},
                                {"timeout-s", 0, ARGS_VALUE, &timeout_arg, NULL},
                                CTL_GLOBAL_SPECS(ctl)};
    struct sigaction sa, old_int, old_term;
    struct drill *d;
    uint64_t fence_ms = 60000, timeout_s = 60;
    json_t *cluster = NULL;
    char err[256];
    int rv, unf;
    bool converged = false;

    if ((rv = ctl_parse(ctl, argc, argv, specs, NULL, 0, 0)) >= 0) {
        return rv;
    }
    if (dc == NULL || dc[0] == '\0') {
        return ctl_usage_error(ctl, "--dc is required");
    }
    if (fence_arg != NULL &&
        (args_parse_u64(fence_arg, &fence_ms) != 0 || fence_ms == 0 || fence_ms > 86400000)) {
        return ctl_usage_error(ctl, "bad --fence-ms \"%s\"", fence_arg);
    }
    if (timeout_arg != NULL &&
        (args_parse_u64(timeout_arg, &timeout_s) != 0 || timeout_s == 0 || timeout_s > 86400)) {
        return ctl_usage_error(ctl, "bad --timeout-s \"%s\"", timeout_arg);
    }
    rv = ctl_call(ctl, "drill dc-failover", "GET", "/v1/cluster", NULL, want, &cluster);
    if (rv != CTL_EXIT_OK) {
        return rv;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        json_decref(cluster);
        return CTL_EXIT_FAIL;
    }
    d->ctl = ctl;
    d->fence_ms = fence_ms;
    d->timeout_ms = timeout_s * 1000;
    if (drill_plan_make(cluster, dc, &d->plan, err, sizeof(err)) != 0) {
        ctl_errorf("drill dc-failover: %s", err);
        rv = CTL_EXIT_FAIL;
        goto out;
    }

    /* From the first fence on, an interrupt must still unfence. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    rv = fence_all(d);
    if (rv == CTL_EXIT_OK) {
        rv = write_until_acked(d);
    }
    if (rv == CTL_EXIT_OK) {
        rv = find_ack_index(d);
    }
    unf = unfence_all(d);
    if (rv == CTL_EXIT_OK) {
        converged = unf == CTL_EXIT_OK && wait_converged(d) == CTL_EXIT_OK;
        rv = report(d, dc, converged);
        if (rv == CTL_EXIT_OK && !converged) {
            rv = CTL_EXIT_FAIL;
        }
        cleanup_key(d);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    free(d);
    json_decref(cluster);
    return rv;
}
