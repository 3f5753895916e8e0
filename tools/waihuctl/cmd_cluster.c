/* cluster status: ask every member for its own view, show them side by side, judge health. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "cmds.h"
#include "health.h"
#include "table.h"

#define MEMBERS_MAX 64

struct view {
    uint64_t id;
    json_t *status;     /* the member's own GET /v1/cluster, or NULL */
    char error[256];    /* why status is NULL */
};

struct status_run {
    struct view views[MEMBERS_MAX];
    size_t nviews;
};

static struct view *find_view(struct status_run *s, uint64_t id)
{
    size_t i;

    for (i = 0; i < s->nviews; i++) {
        if (s->views[i].id == id) {
            return &s->views[i];
        }
    }
    return NULL;
}

/* Asks each member of members (not yet asked) for its own view. */
static void ask_members(struct ctl *ctl, struct status_run *s, const json_t *members)
{
    size_t i;
    json_t *m;

    json_array_foreach(members, i, m) {
        uint64_t id = ctl_ju64(m, "id", 0);
        const char *addr = ctl_jstr(m, "api_address", NULL);
        struct http_response resp;
        struct view *v;

        if (find_view(s, id) != NULL || s->nviews == MEMBERS_MAX) {
            continue;
        }
        v = &s->views[s->nviews++];
        v->id = id;
        v->status = NULL;
        if (addr == NULL || endpoints_check(addr) != 0) {
            snprintf(v->error, sizeof(v->error), "no usable api_address");
            continue;
        }
        if (http_request(&ctl->http, addr, "GET", "/v1/cluster", NULL, NULL, ctl->timeout_ms,
                         &resp) != 0) {
            snprintf(v->error, sizeof(v->error), "%s: %s", addr, resp.errmsg);
        } else if (resp.status != 200 || !json_is_object(resp.body)) {
            char msg[200];
            apierr_format(resp.status, resp.body, resp.text, msg, sizeof(msg));
            snprintf(v->error, sizeof(v->error), "%s: %s", addr, msg);
        } else {
            v->status = json_incref(resp.body);
        }
        http_response_free(&resp);
    }
}

/* The membership list to show: the leader's own if one answered (roles and match_index are
 * authoritative there), else the first answer's. Borrowed. */
static const json_t *pick_members(struct status_run *s, const json_t *first)
{
    const json_t *best = NULL;
    uint64_t best_term = 0;
    size_t i;

    for (i = 0; i < s->nviews; i++) {
        const json_t *st = s->views[i].status;
        if (st != NULL && strcmp(ctl_jstr(st, "state", ""), "leader") == 0 &&
            !ctl_jbool(st, "fenced", false) && json_is_array(json_object_get(st, "members")) &&
            (best == NULL || ctl_ju64(st, "term", 0) > best_term)) {
            best = st;
            best_term = ctl_ju64(st, "term", 0);
        }
    }
    return best != NULL ? json_object_get(best, "members") : json_object_get(first, "members");
}

/* One member object for -o json: its membership entry, its own status fields, and
 * "reachable" = whether waihuctl reached its API ("raft_reachable" keeps the leader's view). */
static json_t *merge(const json_t *member, const struct view *v)
{
    static const char *const own[] = {"state",         "term",  "leader_id", "commit_index",
                                      "applied_index", "ready", "fenced"};
    json_t *o = json_deep_copy(member);
    size_t k;

    if (o == NULL) {
        return NULL;
    }
    json_object_set(o, "raft_reachable", json_object_get(member, "reachable"));
    json_object_set_new(o, "reachable", json_boolean(v != NULL && v->status != NULL));
    for (k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
        json_t *val = v != NULL && v->status != NULL ? json_object_get(v->status, own[k]) : NULL;
        json_object_set(o, own[k], val != NULL ? val : json_null());
    }
    if (v == NULL || v->status == NULL) {
        json_object_set_new(o, "error", json_string(v != NULL ? v->error : "not asked"));
    }
    return o;
}

static int print_table(const json_t *rows)
{
    static const char *const hdr[] = {"ID",      "NAME",   "DC",       "ROLE",     "STATE",
                                      "TERM",    "APPLIED", "LEADER",  "REACHABLE"};
    struct table t;
    size_t i;
    json_t *r;
    int rv = CTL_EXIT_OK;

    if (table_init(&t, 9, hdr) != 0) {
        table_close(&t);
        return CTL_EXIT_FAIL;
    }
    json_array_foreach(rows, i, r) {
        char c[9][128];
        const char *row[9];
        row[0] = ctl_jcell(r, "id", c[0], sizeof(c[0]));
        row[1] = ctl_jcell(r, "name", c[1], sizeof(c[1]));
        row[2] = ctl_jcell(r, "dc", c[2], sizeof(c[2]));
        row[3] = ctl_jcell(r, "role", c[3], sizeof(c[3]));
        row[4] = ctl_jcell(r, "state", c[4], sizeof(c[4]));
        if (ctl_jbool(r, "fenced", false)) {
            size_t n = strlen(c[4]);
            snprintf(c[4] + n, sizeof(c[4]) - n, ",fenced");
        }
        row[5] = ctl_jcell(r, "term", c[5], sizeof(c[5]));
        row[6] = ctl_jcell(r, "applied_index", c[6], sizeof(c[6]));
        row[7] = ctl_ju64(r, "leader_id", 0) != 0 ? ctl_jcell(r, "leader_id", c[7], sizeof(c[7]))
                                                  : "-";
        row[8] = ctl_jcell(r, "reachable", c[8], sizeof(c[8]));
        if (table_add_row(&t, row) != 0) {
            rv = CTL_EXIT_FAIL;
            break;
        }
    }
    if (rv == CTL_EXIT_OK && table_print(&t, stdout) != 0) {
        rv = CTL_EXIT_FAIL;
    }
    table_close(&t);
    return rv;
}

int cmd_cluster_status(struct ctl *ctl, int argc, char **argv)
{
    static const long want[] = {200, 0};
    struct args_spec specs[] = {CTL_GLOBAL_SPECS(ctl)};
    struct status_run *s = NULL;
    struct health_node nodes[MEMBERS_MAX];
    struct health_report report;
    const json_t *members;
    json_t *first = NULL, *rows = NULL, *m;
    char summary[512];
    size_t i, n = 0;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, NULL, 0, 0)) >= 0) {
        return rv;
    }
    rv = ctl_call(ctl, "cluster status", "GET", "/v1/cluster", NULL, want, &first);
    if (rv != CTL_EXIT_OK) {
        return rv;
    }
    rv = CTL_EXIT_FAIL;
    if (!json_is_array(json_object_get(first, "members"))) {
        ctl_errorf("cluster status: answer has no \"members\" array");
        goto out;
    }
    s = calloc(1, sizeof(*s));
    rows = json_array();
    if (s == NULL || rows == NULL) {
        goto out;
    }
    ask_members(ctl, s, json_object_get(first, "members"));
    members = pick_members(s, first);
    ask_members(ctl, s, members); /* the leader may know members the first answer did not */

    json_array_foreach(members, i, m) {
        const struct view *v = find_view(s, ctl_ju64(m, "id", 0));
        json_t *row = merge(m, v);
        if (row == NULL || json_array_append_new(rows, row) != 0 || n == MEMBERS_MAX) {
            goto out;
        }
        nodes[n].id = ctl_ju64(row, "id", 0);
        nodes[n].name = ctl_jstr(row, "name", NULL);
        nodes[n].role = ctl_jstr(row, "role", NULL);
        nodes[n].answered = v != NULL && v->status != NULL;
        nodes[n].fenced = ctl_jbool(row, "fenced", false);
        nodes[n].state = ctl_jstr(row, "state", NULL);
        nodes[n].term = ctl_ju64(row, "term", 0);
        n++;
    }
    health_assess(nodes, n, &report);
    health_summary(nodes, n, &report, summary, sizeof(summary));
    if (ctl->output == CTL_OUT_JSON) {
        rv = ctl_print_json(rows);
        fprintf(stderr, "%s\n", summary);
    } else {
        rv = print_table(rows);
        printf("%s\n", summary);
        for (i = 0; i < s->nviews; i++) {
            if (s->views[i].status == NULL) {
                fprintf(stderr, "waihuctl: member %" PRIu64 ": %s\n", s->views[i].id,
                        s->views[i].error);
            }
        }
    }
    if (rv == CTL_EXIT_OK && !report.healthy) {
        rv = CTL_EXIT_FAIL;
    }
out:
    if (s != NULL) {
        for (i = 0; i < s->nviews; i++) {
            json_decref(s->views[i].status);
        }
        free(s);
    }
    json_decref(rows);
    json_decref(first);
    return rv;
}
