/* /healthz, /readyz and /metrics (Prometheus text format). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

struct text {
    char *p;
    size_t len, cap;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tprintf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)(n > 0 ? n : 0);
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

static void metrics(struct api *a, struct http_request *req)
{
    struct cluster_status st;
    struct cluster_metrics m;
    static const double bounds[] = CLUSTER_LATENCY_BOUNDS_MS;
    cluster_status_get(a->cluster, &st);
    cluster_metrics_get(a->cluster, &m);
    struct text t = {.p = malloc(8192), .cap = 8192};
    if (t.p == NULL) {
        api_error(a, req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    tprintf(&t, "# HELP waihu_raft_term Current raft term.\n# TYPE waihu_raft_term gauge\n");
    tprintf(&t, "waihu_raft_term %llu\n", (unsigned long long)st.term);
    tprintf(&t, "# TYPE waihu_raft_commit_index gauge\nwaihu_raft_commit_index %llu\n",
            (unsigned long long)st.commit_index);
    tprintf(&t, "# TYPE waihu_raft_applied_index gauge\nwaihu_raft_applied_index %llu\n",
            (unsigned long long)st.applied_index);
    tprintf(&t, "# TYPE waihu_raft_last_index gauge\nwaihu_raft_last_index %llu\n",
            (unsigned long long)st.last_index);
    tprintf(&t, "# TYPE waihu_raft_leader_id gauge\nwaihu_raft_leader_id %llu\n",
            (unsigned long long)st.leader_id);
    tprintf(&t, "# TYPE waihu_raft_state gauge\n");
    const char *states[] = {"follower", "candidate", "leader", "unavailable"};
    for (int i = 0; i < 4; i++) {
        tprintf(&t, "waihu_raft_state{state=\"%s\"} %d\n", states[i],
                strcmp(states[i], st.state) == 0);
    }
    tprintf(&t, "# TYPE waihu_ready gauge\nwaihu_ready %d\n", st.ready);
    tprintf(&t, "# TYPE waihu_fenced gauge\nwaihu_fenced %d\n", st.fenced);
    tprintf(&t, "# TYPE waihu_raft_members gauge\nwaihu_raft_members %d\n", st.n_members);
    tprintf(&t, "# TYPE waihu_submit_total counter\n");
    tprintf(&t, "waihu_submit_total{result=\"ok\"} %llu\n", (unsigned long long)m.applied_ok);
    tprintf(&t, "waihu_submit_total{result=\"unavailable\"} %llu\n",
            (unsigned long long)m.failed_unavailable);
    tprintf(&t, "waihu_submit_total{result=\"timeout\"} %llu\n",
            (unsigned long long)m.failed_timeout);
    tprintf(&t, "# TYPE waihu_forwarded_total counter\nwaihu_forwarded_total %llu\n",
            (unsigned long long)m.forwarded);
    tprintf(&t, "# TYPE waihu_raft_batches_total counter\nwaihu_raft_batches_total %llu\n",
            (unsigned long long)m.batches);
    tprintf(&t, "# TYPE waihu_read_barriers_total counter\nwaihu_read_barriers_total %llu\n",
            (unsigned long long)m.read_barriers);
    tprintf(&t, "# TYPE waihu_elections_won_total counter\nwaihu_elections_won_total %llu\n",
            (unsigned long long)m.elections_won);
    tprintf(&t, "# HELP waihu_apply_latency_seconds Submit to applied result, on the "
                "node that took the request.\n# TYPE waihu_apply_latency_seconds histogram\n");
    for (int i = 0; i < 11; i++) {
        tprintf(&t, "waihu_apply_latency_seconds_bucket{le=\"%g\"} %llu\n", bounds[i] / 1000.0,
                (unsigned long long)m.latency_buckets[i]);
    }
    tprintf(&t, "waihu_apply_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)m.latency_count);
    tprintf(&t, "waihu_apply_latency_seconds_sum %.6f\n", m.latency_sum_s);
    tprintf(&t, "waihu_apply_latency_seconds_count %llu\n", (unsigned long long)m.latency_count);
    tprintf(&t, "# TYPE waihu_http_requests_total counter\nwaihu_http_requests_total %llu\n",
            (unsigned long long)a->requests);
    http_respond(req, 200, "text/plain; version=0.0.4", t.p, t.len);
    free(t.p);
}

bool api_route_health(struct api *a, struct http_request *req, const char *method,
                      const char *path)
{
    (void)method;
    if (strcmp(path, "/healthz") == 0) {
        api_json(a, req, 200, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(path, "/readyz") == 0) {
        struct cluster_status st;
        cluster_status_get(a->cluster, &st);
        if (st.ready) {
            api_json(a, req, 200, json_pack("{s:s, s:I}", "status", "ready", "leader_id",
                                            (json_int_t)st.leader_id));
        } else {
            api_error(a, req, 503, "unavailable", NULL, "not ready: state %s, leader %llu%s",
                      st.state, (unsigned long long)st.leader_id,
                      st.fenced ? ", fenced" : "");
        }
    } else if (strcmp(path, "/metrics") == 0) {
        metrics(a, req);
    } else {
        return false;
    }
    return true;
}
