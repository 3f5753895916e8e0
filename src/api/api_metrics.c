/* GET /metrics: the text writer, then the node's own families (identity, raft, submits,
 * apply latency, HTTP, RocksDB) and those of api_metrics_calls.c. docs/metrics.md lists
 * every family; tests/integration/test_metrics.py checks the format and the names. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_metrics.h"

#define TEXT_START_BYTES 16384

/* ---- the writer ---- */

/* Room for at least want more bytes (and a NUL). */
static bool reserve(struct metrics_text *t, size_t want)
{
    if (t->failed) {
        return false;
    }
    if (t->cap - t->len > want) {
        return true;
    }
    size_t cap = t->cap ? t->cap : TEXT_START_BYTES;
    while (cap - t->len <= want) {
        cap *= 2;
    }
    char *p = realloc(t->p, cap);
    if (p == NULL) {
        t->failed = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    return true;
}

static void put(struct metrics_text *t, const char *s, size_t n)
{
    if (reserve(t, n)) {
        memcpy(t->p + t->len, s, n);
        t->len += n;
        t->p[t->len] = '\0';
    }
}

static void puts_(struct metrics_text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void vput(struct metrics_text *t, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vput(struct metrics_text *t, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) {
        t->failed = true; /* a format the C library refuses: a bug, not a bigger buffer */
    } else if (reserve(t, (size_t)n)) {
        vsnprintf(t->p + t->len, t->cap - t->len, fmt, again);
        t->len += (size_t)n;
    }
    va_end(again);
}

static void putf(struct metrics_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(struct metrics_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput(t, fmt, ap);
    va_end(ap);
}

/* Escapes as the text format wants: backslash and newline always, '"' in label values. */
static void put_escaped(struct metrics_text *t, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') {
            put(t, "\\\\", 2);
        } else if (*s == '\n') {
            put(t, "\\n", 2);
        } else if (*s == '"' && quote) {
            put(t, "\\\"", 2);
        } else {
            put(t, s, 1);
        }
    }
}

void metrics_family(struct metrics_text *t, const char *name, const char *type,
                    const char *help)
{
    putf(t, "# HELP %s ", name);
    put_escaped(t, help, false);
    putf(t, "\n# TYPE %s %s\n", name, type);
}

static void put_labels(struct metrics_text *t, va_list ap)
{
    const char *key = va_arg(ap, const char *);
    for (int i = 0; key != NULL; i++) {
        const char *val = va_arg(ap, const char *);
        puts_(t, i == 0 ? "{" : ",");
        putf(t, "%s=\"", key);
        put_escaped(t, val != NULL ? val : "", true);
        puts_(t, "\"");
        key = va_arg(ap, const char *);
        if (key == NULL) {
            puts_(t, "}");
        }
    }
}

void metrics_u64(struct metrics_text *t, const char *name, uint64_t value, ...)
{
    va_list ap;
    va_start(ap, value);
    puts_(t, name);
    put_labels(t, ap);
    va_end(ap);
    putf(t, " %llu\n", (unsigned long long)value);
}

void metrics_f64(struct metrics_text *t, const char *name, double value, ...)
{
    va_list ap;
    va_start(ap, value);
    puts_(t, name);
    put_labels(t, ap);
    va_end(ap);
    if (isnan(value)) {
        puts_(t, " NaN\n");
    } else if (isinf(value)) {
        puts_(t, value > 0 ? " +Inf\n" : " -Inf\n");
    } else {
        putf(t, " %.10g\n", value);
    }
}

/* ---- the node, raft, submits ---- */

static void gauge(struct metrics_text *t, const char *name, const char *help, uint64_t v)
{
    metrics_family(t, name, "gauge", help);
    metrics_u64(t, name, v, NULL);
}

static void counter(struct metrics_text *t, const char *name, const char *help, uint64_t v)
{
    metrics_family(t, name, "counter", help);
    metrics_u64(t, name, v, NULL);
}

static void cluster_families(struct api *a, struct metrics_text *t)
{
    struct cluster_status st;
    struct cluster_metrics m;
    static const double bounds[] = CLUSTER_LATENCY_BOUNDS_MS;
    cluster_status_get(a->cluster, &st);
    cluster_metrics_get(a->cluster, &m);
    const struct cluster_config *cc = cluster_config_get(a->cluster);
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)cc->self.id);
    metrics_family(t, "waihu_node_info", "gauge", "This node: id, name and datacenter (always 1).");
    metrics_u64(t, "waihu_node_info", 1, "id", id, "name", cc->self.name, "dc", cc->self.dc,
                NULL);
    gauge(t, "waihu_raft_term", "Current raft term.", st.term);
    gauge(t, "waihu_raft_commit_index", "Highest log index known to be committed.",
          st.commit_index);
    gauge(t, "waihu_raft_applied_index", "Highest log index applied to this node's store.",
          st.applied_index);
    gauge(t, "waihu_raft_last_index", "Last index of this node's raft log.", st.last_index);
    gauge(t, "waihu_raft_leader_id", "Node id of the leader as this node knows it (0: none).",
          st.leader_id);
    metrics_family(t, "waihu_raft_state", "gauge", "1 for this node's raft state, else 0.");
    static const char *const states[] = {"follower", "candidate", "leader", "unavailable"};
    for (size_t i = 0; i < sizeof states / sizeof *states; i++) {
        metrics_u64(t, "waihu_raft_state", strcmp(states[i], st.state) == 0, "state", states[i],
                    NULL);
    }
    gauge(t, "waihu_ready", "1 when the node serves (a leader is known and caught up).",
          st.ready);
    gauge(t, "waihu_fenced", "1 while a drill fences the node.", st.fenced);
    gauge(t, "waihu_raft_members", "Members in the raft configuration.",
          (uint64_t)st.n_members);
    metrics_family(t, "waihu_submit_total", "counter",
                   "Commands submitted on this node, by result.");
    metrics_u64(t, "waihu_submit_total", m.applied_ok, "result", "ok", NULL);
    metrics_u64(t, "waihu_submit_total", m.failed_unavailable, "result", "unavailable", NULL);
    metrics_u64(t, "waihu_submit_total", m.failed_timeout, "result", "timeout", NULL);
    counter(t, "waihu_forwarded_total", "Commands forwarded to the leader.", m.forwarded);
    counter(t, "waihu_raft_batches_total", "Group-committed batches appended to raft.",
            m.batches);
    counter(t, "waihu_read_barriers_total", "Read barriers run.", m.read_barriers);
    counter(t, "waihu_elections_won_total", "Elections this node won.", m.elections_won);
    metrics_family(t, "waihu_apply_latency_seconds", "histogram",
                   "Submit to applied result, on the node that took the request.");
    /* The last bound (1e12 ms) is the +Inf bucket. */
    for (size_t i = 0; i + 1 < sizeof bounds / sizeof *bounds; i++) {
        char le[32];
        snprintf(le, sizeof le, "%g", bounds[i] / 1000.0);
        metrics_u64(t, "waihu_apply_latency_seconds_bucket", m.latency_buckets[i], "le", le,
                    NULL);
    }
    metrics_u64(t, "waihu_apply_latency_seconds_bucket", m.latency_count, "le", "+Inf", NULL);
    metrics_f64(t, "waihu_apply_latency_seconds_sum", m.latency_sum_s, NULL);
    metrics_u64(t, "waihu_apply_latency_seconds_count", m.latency_count, NULL);
}

static void http_families(struct api *a, struct metrics_text *t)
{
    counter(t, "waihu_http_requests_total", "HTTP requests received by the API.", a->requests);
    metrics_family(t, "waihu_http_responses_total", "counter",
                   "HTTP answers sent by the API, by status class.");
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        metrics_u64(t, "waihu_http_responses_total", a->responses_by_class[i + 1], "class",
                    classes[i], NULL);
    }
}

/* ---- RocksDB: integer properties, per column family ---- */

_Static_assert(STORE_CF_COUNT == 10, "name the new column family in cf_labels");
static const char *const cf_labels[STORE_CF_COUNT] = {
    "meta", "customer", "customer_idx", "campaign", "lead",
    "agent", "call", "recording", "audit", "event",
};

static void store_families(struct api *a, struct metrics_text *t)
{
    static const struct {
        const char *name, *property, *help;
    } props[] = {
        {"waihu_store_sst_bytes", "rocksdb.total-sst-files-size",
         "Size of the column family's SST files on disk."},
        {"waihu_store_live_data_bytes", "rocksdb.estimate-live-data-size",
         "RocksDB's estimate of the column family's live data."},
        {"waihu_store_memtable_bytes", "rocksdb.cur-size-all-mem-tables",
         "Memory held by the column family's memtables."},
        {"waihu_store_keys", "rocksdb.estimate-num-keys",
         "RocksDB's estimate of the keys in the column family."},
        {"waihu_store_pending_compaction_bytes", "rocksdb.estimate-pending-compaction-bytes",
         "Bytes RocksDB estimates compaction still has to rewrite."},
    };
    for (size_t p = 0; p < sizeof props / sizeof *props; p++) {
        metrics_family(t, props[p].name, "gauge", props[p].help);
        for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
            uint64_t v = 0;
            if (store_property_int(a->store, (enum store_cf)cf, props[p].property, &v) == 0) {
                metrics_u64(t, props[p].name, v, "cf", cf_labels[cf], NULL);
            }
        }
    }
}

void api_metrics_answer(struct api *a, struct http_request *req)
{
    struct metrics_text t = {0};
    cluster_families(a, &t);
    http_families(a, &t);
    store_families(a, &t);
    metrics_telephony(a, &t);
    metrics_agents(a, &t);
    metrics_campaigns(a, &t);
    if (t.failed) {
        free(t.p);
        api_error(a, req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    a->responses_by_class[2]++; /* as api_json counts its answers */
    http_respond(req, 200, "text/plain; version=0.0.4", t.p, t.len);
    free(t.p);
}
