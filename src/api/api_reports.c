/* Performance reports and rankings (docs/reports.md):
 *   GET /v1/reports/agents|campaigns|departments?from=&to=&group=day|week|total&format=json|csv
 *   GET /v1/rankings?metric=&from=&to=&scope=department|tenant&format=json|csv
 * Figures come from this node's report book (api_reports_view.c), kept from applied CDRs
 * and dispositions; the answer is written straight into one buffer (no JSON tree: a
 * 90-day daily report has tens of thousands of rows). Admins and auditors see the tenant,
 * supervisors their department (agents: 403). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "report.h"

#define USER_PREFIX STORE_SERVICE_META_PREFIX "user/"
#define RANGE_MAX_DAYS 366

/* ---- an output buffer ---- */

struct out {
    char *p;
    size_t n, cap;
};

static void out_reserve(struct out *o, size_t more)
{
    if (o->n + more + 1 <= o->cap) {
        return;
    }
    size_t ncap = o->cap ? o->cap : 65536;
    while (ncap < o->n + more + 1) {
        ncap *= 2;
    }
    char *np = realloc(o->p, ncap);
    if (np == NULL) {
        waihu_fatal("api", "reports: out of memory");
    }
    o->p = np;
    o->cap = ncap;
}

static void out_put(struct out *o, const char *s, size_t len)
{
    out_reserve(o, len);
    memcpy(o->p + o->n, s, len);
    o->n += len;
    o->p[o->n] = '\0';
}

static void out_str(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static void out_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct out *o, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof small) {
        out_put(o, small, (size_t)n);
        return;
    }
    out_reserve(o, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(o->p + o->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->n += (size_t)n;
}

/* A JSON string literal. */
static void out_jstr(struct out *o, const char *s)
{
    out_put(o, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            out_put(o, e, 2);
        } else if (c < 0x20) {
            out_fmt(o, "\\u%04x", c);
        } else {
            out_put(o, s, 1);
        }
    }
    out_put(o, "\"", 1);
}

/* A CSV text cell (RFC 4180): quoted when it holds a comma, quote or line break; a cell
 * a spreadsheet would take for a formula (= + - @ first) gets a leading apostrophe. */
static void out_cstr(struct out *o, const char *s)
{
    bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
        out_str(o, s);
        return;
    }
    out_put(o, "\"", 1);
    if (formula) {
        out_put(o, "'", 1);
    }
    for (; *s; s++) {
        out_put(o, s, 1);
        if (*s == '"') {
            out_put(o, "\"", 1);
        }
    }
    out_put(o, "\"", 1);
}

/* A number: integers whole, rates with 4 decimals, percentages with 2; undefined is JSON
 * null or an empty CSV cell. */
static void out_num(struct out *o, bool defined, double v, int decimals, bool csv)
{
    if (!defined) {
        if (!csv) {
            out_put(o, "null", 4);
        }
        return;
    }
    if (decimals == 0 && v > -1e15 && v < 1e15) { /* counters: most numbers, and fast */
        char d[24], *e = d + sizeof d, *q = e;
        long long n = (long long)(v < 0 ? v - 0.5 : v + 0.5);
        unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
        do {
            *--q = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        if (n < 0) {
            *--q = '-';
        }
        out_put(o, q, (size_t)(e - q));
        return;
    }
    out_fmt(o, "%.*f", decimals, v);
}

static void respond(struct api *a, struct http_request *req, struct out *o, bool csv)
{
    a->responses_by_class[2]++;
    http_respond(req, 200, csv ? "text/csv; charset=utf-8" : "application/json", o->p, o->n);
    free(o->p);
}

/* ---- who sees what ---- */

static int add_user(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct api_users *u = data;
    User *r = user__unpack(NULL, vlen, val);
    if (r == NULL) {
        return 0;
    }
    if (r->tenant_id == u->tenant) {
        if (u->n == u->cap) {
            u->cap = u->cap ? u->cap * 2 : 64;
            u->v = realloc(u->v, u->cap * sizeof *u->v);
        }
        if (u->v == NULL) {
            waihu_fatal("api", "reports: out of memory");
        }
        u->v[u->n].name = strdup(r->name);
        u->v[u->n].department = strdup(r->department);
        if (u->v[u->n].name == NULL || u->v[u->n].department == NULL) {
            waihu_fatal("api", "reports: out of memory");
        }
        u->n++;
    }
    user__free_unpacked(r, NULL);
    return 0;
}

void api_users_free(struct api_users *u)
{
    for (size_t i = 0; i < u->n; i++) {
        free(u->v[i].name);
        free(u->v[i].department);
    }
    free(u->v);
}

void api_users_load(struct api *a, uint64_t tenant, struct api_users *u)
{
    memset(u, 0, sizeof *u);
    u->tenant = tenant;
    store_scan(a->store, STORE_CF_META, USER_PREFIX, strlen(USER_PREFIX), NULL, 0, add_user, u);
}

static int user_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct api_user *)elem)->name);
}

/* The department of a user of the tenant (the keys are sorted by name), or NULL. */
const char *api_users_department(void *data, const char *agent)
{
    struct api_users *u = data;
    const struct api_user *f = bsearch(agent, u->v, u->n, sizeof *u->v, user_cmp);
    return f != NULL ? f->department : NULL;
}

/* ---- parameters ---- */

struct params {
    struct report_query q;
    bool csv;
    char from_text[11], to_text[11];
};

static bool day_param(struct api *a, struct http_request *req, const char *name, int32_t *day,
                      char text[11])
{
    char buf[16];
    const char *v = http_request_param(req, name, buf, sizeof buf);
    if (v == NULL || report_day_parse(v, day) != 0) {
        api_error(a, req, 400, "invalid", name, "%s: a date YYYY-MM-DD is required", name);
        return false;
    }
    report_day_format(*day, text);
    return true;
}

/* from, to, format and the caller's reach; answers 400 and returns false on bad input. */
static bool common_params(struct api *a, struct http_request *req, struct params *p,
                          struct api_users *users)
{
    memset(p, 0, sizeof *p);
    if (!day_param(a, req, "from", &p->q.from_day, p->from_text) ||
        !day_param(a, req, "to", &p->q.to_day, p->to_text)) {
        return false;
    }
    if (p->q.to_day < p->q.from_day) {
        api_error(a, req, 400, "invalid", "to", "to (%s) is before from (%s)", p->to_text,
                  p->from_text);
        return false;
    }
    if (p->q.to_day - p->q.from_day + 1 > RANGE_MAX_DAYS) {
        api_error(a, req, 400, "invalid", "to", "a report covers at most %d days",
                  RANGE_MAX_DAYS);
        return false;
    }
    char buf[16];
    const char *f = http_request_param(req, "format", buf, sizeof buf);
    if (f != NULL && strcmp(f, "json") != 0 && strcmp(f, "csv") != 0) {
        api_error(a, req, 400, "invalid", "format", "format: json or csv");
        return false;
    }
    p->csv = f != NULL && strcmp(f, "csv") == 0;
    p->q.tenant = a->who.tenant_id;
    api_users_load(a, a->who.tenant_id, users);
    p->q.department = api_users_department;
    p->q.data = users;
    /* auth_may_touch's rule: a supervisor without a department sees the whole tenant. */
    if (a->who.role == AUTH_ROLE_SUPERVISOR && a->who.department[0] != '\0') {
        p->q.only_department = a->who.department;
    }
    return true;
}

static const struct report_book *book_or_503(struct api *a, struct http_request *req)
{
    const struct report_book *b = api_reports_book(a);
    if (b == NULL) {
        api_error(a, req, 503, "loading", NULL,
                  "this node is still reading call records for reports; retry shortly");
    }
    return b;
}

/* ---- reports ---- */

struct campaign_name {
    uint64_t id;
    char *name;
};

struct names {
    struct campaign_name *v;
    size_t n;
};

static const char *campaign_name(struct api *a, struct names *c, uint64_t tenant, uint64_t id)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].id == id) {
            return c->v[i].name;
        }
    }
    void *raw = NULL;
    size_t len;
    Campaign *rec = id != 0 ? campaign_read(a->store, tenant, id, &raw, &len) : NULL;
    struct campaign_name *nv = realloc(c->v, (c->n + 1) * sizeof *nv);
    char *name = strdup(rec != NULL ? rec->name : "");
    if (nv == NULL || name == NULL) {
        waihu_fatal("api", "reports: out of memory");
    }
    if (rec != NULL) {
        campaign__free_unpacked(rec, NULL);
    }
    free(raw);
    c->v = nv;
    c->v[c->n] = (struct campaign_name){.id = id, .name = name};
    return c->v[c->n++].name;
}

static const char *const key_names[] = {"agents", "campaigns", "departments"};

static void period_label(const struct report_query *q, const struct report_row *r, char *out,
                         size_t cap)
{
    char a[11], b[11];
    if (q->period == REPORT_BY_DAY) {
        report_day_format(r->period_day, out);
    } else if (q->period == REPORT_BY_WEEK) {
        report_week_format(r->period_day, out);
    } else {
        report_day_format(q->from_day, a);
        report_day_format(q->to_day, b);
        snprintf(out, cap, "%s/%s", a, b);
    }
}

static int32_t shift_of(const struct report_query *q)
{
    return q->period == REPORT_BY_DAY ? 1 : q->period == REPORT_BY_WEEK ? 7
                                                                      : q->to_day - q->from_day + 1;
}

static int decimals_of(enum report_field f)
{
    return report_field_integer(f) ? 0 : 4;
}

static void csv_header(struct out *o, const struct report_query *q)
{
    out_str(o, "period,from,to,previous_from,previous_to,");
    out_str(o, q->key == REPORT_KEY_AGENT      ? "agent,department"
               : q->key == REPORT_KEY_CAMPAIGN ? "campaign_id,campaign_name"
                                               : "department");
    static const char *const pre[] = {"", "previous_", "change_", "change_pct_"};
    for (int k = 0; k < 4; k++) {
        for (int f = 0; f < REPORT_F_COUNT; f++) {
            out_fmt(o, ",%s%s", pre[k], report_field_name((enum report_field)f));
        }
    }
    out_str(o, "\r\n");
}

static void counts_json(struct out *o, const struct report_counts *c)
{
    out_put(o, "{", 1);
    for (int f = 0; f < REPORT_F_COUNT; f++) {
        double v = 0;
        bool def = report_field_value(c, (enum report_field)f, &v);
        out_fmt(o, "%s\"%s\":", f ? "," : "", report_field_name((enum report_field)f));
        out_num(o, def, v, decimals_of((enum report_field)f), false);
    }
    out_put(o, "}", 1);
}

static void write_row(struct api *a, struct out *o, const struct params *p,
                      const struct report_row *r, struct names *names, bool first)
{
    const struct report_query *q = &p->q;
    char period[24], d[4][11], camp[24];
    period_label(q, r, period, sizeof period);
    int32_t shift = shift_of(q);
    report_day_format(r->first_day, d[0]);
    report_day_format(r->last_day, d[1]);
    report_day_format(r->first_day - shift, d[2]);
    report_day_format(r->last_day - shift, d[3]);
    snprintf(camp, sizeof camp, "%llu", (unsigned long long)r->campaign);
    const char *cname = q->key == REPORT_KEY_CAMPAIGN
                            ? campaign_name(a, names, q->tenant, r->campaign)
                            : NULL;
    if (p->csv) {
        out_fmt(o, "%s,%s,%s,%s,%s,", period, d[0], d[1], d[2], d[3]);
        if (q->key == REPORT_KEY_AGENT) {
            out_cstr(o, r->agent);
            out_put(o, ",", 1);
            out_cstr(o, r->department);
        } else if (q->key == REPORT_KEY_CAMPAIGN) {
            out_fmt(o, "%s,", camp);
            out_cstr(o, cname);
        } else {
            out_cstr(o, r->department);
        }
        for (int k = 0; k < 4; k++) {
            for (int f = 0; f < REPORT_F_COUNT; f++) {
                double v = 0, abs = 0, pct = 0;
                bool def;
                int dec = decimals_of((enum report_field)f);
                if (k < 2) {
                    def = report_field_value(k == 0 ? &r->cur : &r->prev, (enum report_field)f,
                                             &v);
                } else {
                    int has = report_change(&r->cur, &r->prev, (enum report_field)f, &abs, &pct);
                    def = (has & (k == 2 ? 1 : 2)) != 0;
                    v = k == 2 ? abs : pct;
                    dec = k == 2 ? dec : 2;
                }
                out_put(o, ",", 1);
                out_num(o, def, v, dec, true);
            }
        }
        out_str(o, "\r\n");
        return;
    }
    out_fmt(o, "%s{\"period\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"previous_from\":\"%s\","
               "\"previous_to\":\"%s\",",
            first ? "" : ",", period, d[0], d[1], d[2], d[3]);
    if (q->key == REPORT_KEY_AGENT) {
        out_str(o, "\"agent\":");
        out_jstr(o, r->agent);
        out_str(o, ",\"department\":");
        out_jstr(o, r->department);
    } else if (q->key == REPORT_KEY_CAMPAIGN) {
        out_fmt(o, "\"campaign_id\":\"%s\",\"campaign_name\":", camp);
        out_jstr(o, cname);
    } else {
        out_str(o, "\"department\":");
        out_jstr(o, r->department);
    }
    out_str(o, ",\"current\":");
    counts_json(o, &r->cur);
    out_str(o, ",\"previous\":");
    counts_json(o, &r->prev);
    out_str(o, ",\"change\":{");
    for (int f = 0; f < REPORT_F_COUNT; f++) {
        double abs = 0, pct = 0;
        int has = report_change(&r->cur, &r->prev, (enum report_field)f, &abs, &pct);
        out_fmt(o, "%s\"%s\":{\"abs\":", f ? "," : "", report_field_name((enum report_field)f));
        out_num(o, has & 1, abs, decimals_of((enum report_field)f), false);
        out_str(o, ",\"pct\":");
        out_num(o, has & 2, pct, 2, false);
        out_put(o, "}", 1);
    }
    out_str(o, "}}");
}

static void report(struct api *a, struct http_request *req, enum report_key key)
{
    const struct report_book *b = book_or_503(a, req);
    if (b == NULL) {
        return;
    }
    char buf[16];
    const char *g = http_request_param(req, "group", buf, sizeof buf);
    enum report_period period = REPORT_BY_DAY;
    if (g != NULL && strcmp(g, "week") == 0) {
        period = REPORT_BY_WEEK;
    } else if (g != NULL && strcmp(g, "total") == 0) {
        period = REPORT_BY_RANGE;
    } else if (g != NULL && strcmp(g, "day") != 0) {
        api_error(a, req, 400, "invalid", "group", "group: day, week or total");
        return;
    }
    struct params p;
    struct api_users users = {0};
    if (!common_params(a, req, &p, &users)) {
        api_users_free(&users);
        return;
    }
    p.q.period = period;
    p.q.key = key;
    struct report_rows rows;
    if (report_query_run(b, &p.q, &rows) != 0) {
        waihu_fatal("api", "reports: out of memory");
    }
    struct out o = {0};
    struct names names = {0};
    static const char *const groups[] = {"day", "week", "total"};
    if (p.csv) {
        csv_header(&o, &p.q);
    } else {
        out_fmt(&o, "{\"report\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"group\":\"%s\","
                    "\"utc_offset_min\":%d,\"department\":",
                key_names[key], p.from_text, p.to_text, groups[period],
                (int)report_book_utc_offset_min(b));
        if (p.q.only_department != NULL) {
            out_jstr(&o, p.q.only_department);
        } else {
            out_str(&o, "null");
        }
        out_str(&o, ",\"rows\":[");
    }
    for (size_t i = 0; i < rows.n; i++) {
        write_row(a, &o, &p, &rows.rows[i], &names, i == 0);
    }
    if (!p.csv) {
        out_str(&o, "]}");
    }
    report_rows_free(&rows);
    for (size_t i = 0; i < names.n; i++) {
        free(names.v[i].name);
    }
    free(names.v);
    api_users_free(&users);
    respond(a, req, &o, p.csv);
}

/* ---- rankings ---- */

static void rankings(struct api *a, struct http_request *req)
{
    const struct report_book *b = book_or_503(a, req);
    if (b == NULL) {
        return;
    }
    char buf[32], sbuf[16];
    enum report_metric metric;
    const char *m = http_request_param(req, "metric", buf, sizeof buf);
    if (m == NULL || report_metric_parse(m, &metric) != 0) {
        api_error(a, req, 400, "invalid", "metric",
                  "metric: calls_per_day, connect_rate or conversion_rate");
        return;
    }
    const char *scope = http_request_param(req, "scope", sbuf, sizeof sbuf);
    if (scope != NULL && strcmp(scope, "department") != 0 && strcmp(scope, "tenant") != 0) {
        api_error(a, req, 400, "invalid", "scope", "scope: department or tenant");
        return;
    }
    bool by_dept = scope == NULL || strcmp(scope, "department") == 0;
    struct params p;
    struct api_users users = {0};
    if (!common_params(a, req, &p, &users)) {
        api_users_free(&users);
        return;
    }
    struct report_ranking r;
    if (report_rank_run(b, &p.q, metric, by_dept, &r) != 0) {
        waihu_fatal("api", "reports: out of memory");
    }
    struct out o = {0};
    int dec = metric == REPORT_M_CALLS_PER_DAY ? 2 : 4;
    if (p.csv) {
        out_str(&o, "agent,department,group,value,group_mean,vs_mean_pct,rank,group_size,"
                    "flagged,calls,answered,conversions,days_worked\r\n");
    } else {
        out_fmt(&o, "{\"metric\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"scope\":\"%s\","
                    "\"flag_below_pct\":%.0f,\"utc_offset_min\":%d,\"agents\":[",
                report_metric_name(metric), p.from_text, p.to_text,
                by_dept ? "department" : "tenant", REPORT_FLAG_BELOW * 100,
                (int)report_book_utc_offset_min(b));
    }
    for (size_t i = 0; i < r.n; i++) {
        const struct report_rank *k = &r.ranks[i];
        const char *dept = api_users_department(&users, k->agent);
        const char *group = k->group != NULL ? k->group : "";
        if (p.csv) {
            out_cstr(&o, k->agent);
            out_put(&o, ",", 1);
            out_cstr(&o, dept != NULL ? dept : "");
            out_put(&o, ",", 1);
            out_cstr(&o, group);
        } else {
            out_fmt(&o, "%s{\"agent\":", i ? "," : "");
            out_jstr(&o, k->agent);
            out_str(&o, ",\"department\":");
            out_jstr(&o, dept != NULL ? dept : "");
            out_str(&o, ",\"group\":");
            if (k->group != NULL) {
                out_jstr(&o, group);
            } else {
                out_str(&o, "null");
            }
        }
        out_str(&o, p.csv ? "," : ",\"value\":");
        out_num(&o, k->has_value, k->value, dec, p.csv);
        out_str(&o, p.csv ? "," : ",\"group_mean\":");
        out_num(&o, k->group_size > 0, k->group_mean, dec, p.csv);
        out_str(&o, p.csv ? "," : ",\"vs_mean_pct\":");
        out_num(&o, k->has_value && k->group_mean > 0, k->vs_mean * 100, 2, p.csv);
        out_fmt(&o, p.csv ? ",%u,%u,%s,%llu,%llu,%llu,%llu\r\n"
                          : ",\"rank\":%u,\"group_size\":%u,\"flagged\":%s,\"calls\":%llu,"
                            "\"answered\":%llu,\"conversions\":%llu,\"days_worked\":%llu}",
                k->rank, k->group_size, k->flagged ? "true" : "false",
                (unsigned long long)k->calls, (unsigned long long)k->answered,
                (unsigned long long)k->conversions, (unsigned long long)k->days_worked);
    }
    if (!p.csv) {
        out_str(&o, "]}");
    }
    report_ranking_free(&r);
    api_users_free(&users);
    respond(a, req, &o, p.csv);
}

/* ---- routing ---- */

bool api_route_reports(struct api *a, struct http_request *req, const char *method,
                       const char *path)
{
    static const char prefix[] = "/v1/reports/";
    int key = -1;
    if (strncmp(path, prefix, sizeof prefix - 1) == 0) {
        for (int i = 0; i < 3; i++) {
            if (strcmp(path + sizeof prefix - 1, key_names[i]) == 0) {
                key = i;
            }
        }
        if (key < 0) {
            return false;
        }
    } else if (strcmp(path, "/v1/rankings") != 0) {
        return false;
    }
    if (strcmp(method, "GET") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "use GET");
    } else if (api_require(a, req, AUTH_REPORT_READ)) {
        if (key >= 0) {
            report(a, req, (enum report_key)key);
        } else {
            rankings(a, req);
        }
    }
    return true;
}
