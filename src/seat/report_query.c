/* Queries over the report book: rows per period and key with the previous period, and
 * rankings of agents against their group's mean (report.h). One pass over the cells. */
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* What the query makes of each agent of the book: whether it counts and its department. */
struct agent_info {
    const char *department; /* "" none */
    uint32_t dept_id;
    bool resolved, included;
    bool known; /* an agent of the tenant (the callback knew it) */
};

struct ctx {
    const struct report_book *b;
    const struct report_query *q;
    struct agent_info *agents;
    const char **depts; /* distinct departments seen, by dept_id */
    size_t n_depts, depts_cap;
};

static int ctx_init(struct ctx *x, const struct report_book *b, const struct report_query *q)
{
    *x = (struct ctx){.b = b, .q = q};
    if (q->from_day > q->to_day) {
        return WAIHU_EINVAL;
    }
    x->agents = calloc(b->n_agents ? b->n_agents : 1, sizeof *x->agents);
    return x->agents != NULL ? 0 : WAIHU_ENOMEM;
}

static void ctx_close(struct ctx *x)
{
    free(x->agents);
    free(x->depts);
}

/* The agent's info; NULL when it does not count (or out of memory: *oom). */
static const struct agent_info *agent_of(struct ctx *x, uint32_t ai, bool *oom)
{
    struct agent_info *in = &x->agents[ai];
    if (in->resolved) {
        return in->included ? in : NULL;
    }
    in->resolved = true;
    const char *name = x->b->agents[ai];
    const char *dept = name[0] != '\0' && x->q->department != NULL
                           ? x->q->department(x->q->data, name)
                           : NULL;
    if (x->q->only_department != NULL &&
        (dept == NULL || strcmp(dept, x->q->only_department) != 0)) {
        return NULL;
    }
    in->known = dept != NULL;
    in->department = dept != NULL ? dept : "";
    size_t i = 0;
    while (i < x->n_depts && strcmp(x->depts[i], in->department) != 0) {
        i++;
    }
    if (i == x->n_depts) {
        if (x->n_depts == x->depts_cap) {
            size_t ncap = x->depts_cap ? x->depts_cap * 2 : 16;
            const char **nd = realloc(x->depts, ncap * sizeof *nd);
            if (nd == NULL) {
                in->resolved = false;
                *oom = true;
                return NULL;
            }
            x->depts = nd;
            x->depts_cap = ncap;
        }
        x->depts[x->n_depts++] = in->department;
    }
    in->dept_id = (uint32_t)i;
    in->included = true;
    return in;
}

static bool ratio_of(double num, uint64_t den, double *out)
{
    if (den == 0) {
        return false;
    }
    *out = num / (double)den;
    return true;
}

static bool in_range(const struct report_query *q, int32_t d)
{
    return d >= q->from_day && d <= q->to_day;
}

/* ---- rows ---- */

struct rowmap {
    struct report_row *rows;
    uint64_t *keys; /* per row: the key id */
    size_t n, cap;
    uint32_t *slots;
    size_t slots_cap;
};

static uint64_t row_hash(int32_t period, uint64_t key)
{
    uint64_t h = (uint64_t)(uint32_t)period * 0x9e3779b97f4a7c15ULL ^ key * 0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

/* The row of (period, key), created when new; NULL when out of memory. */
static struct report_row *row_at(struct rowmap *m, int32_t period, uint64_t key, bool *created)
{
    *created = false;
    if (m->slots_cap > 0) {
        for (size_t p = row_hash(period, key) & (m->slots_cap - 1); m->slots[p] != 0;
             p = (p + 1) & (m->slots_cap - 1)) {
            size_t i = m->slots[p] - 1;
            if (m->rows[i].period_day == period && m->keys[i] == key) {
                return &m->rows[i];
            }
        }
    }
    if ((m->n + 1) * 10 >= m->slots_cap * 7) {
        size_t ncap = m->slots_cap ? m->slots_cap * 2 : 256;
        uint32_t *ns = calloc(ncap, sizeof *ns);
        if (ns == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < m->n; i++) {
            size_t p = row_hash(m->rows[i].period_day, m->keys[i]) & (ncap - 1);
            while (ns[p] != 0) {
                p = (p + 1) & (ncap - 1);
            }
            ns[p] = (uint32_t)i + 1;
        }
        free(m->slots);
        m->slots = ns;
        m->slots_cap = ncap;
    }
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct report_row *nr = realloc(m->rows, ncap * sizeof *nr);
        if (nr == NULL) {
            return NULL;
        }
        m->rows = nr;
        uint64_t *nk = realloc(m->keys, ncap * sizeof *nk);
        if (nk == NULL) {
            return NULL;
        }
        m->keys = nk;
        m->cap = ncap;
    }
    size_t i = m->n++;
    memset(&m->rows[i], 0, sizeof m->rows[i]);
    m->rows[i].period_day = period;
    m->keys[i] = key;
    size_t p = row_hash(period, key) & (m->slots_cap - 1);
    while (m->slots[p] != 0) {
        p = (p + 1) & (m->slots_cap - 1);
    }
    m->slots[p] = (uint32_t)i + 1;
    *created = true;
    return &m->rows[i];
}

static void counts_add(struct report_counts *to, const struct report_counts *c)
{
    to->calls += c->calls;
    for (int i = 0; i < REPORT_OUTCOME_COUNT; i++) {
        to->outcome[i] += c->outcome[i];
    }
    to->talk_ms += c->talk_ms;
    to->ring_ms += c->ring_ms;
    for (int i = 0; i < REPORT_DISP_COUNT; i++) {
        to->disp[i] += c->disp[i];
    }
}

static int32_t period_of(const struct report_query *q, int32_t d)
{
    switch (q->period) {
    case REPORT_BY_DAY: return d;
    case REPORT_BY_WEEK: return report_week_start(d);
    default: return q->from_day;
    }
}

static int32_t period_shift(const struct report_query *q)
{
    switch (q->period) {
    case REPORT_BY_DAY: return 1;
    case REPORT_BY_WEEK: return 7;
    default: return q->to_day - q->from_day + 1;
    }
}

static int32_t period_len(const struct report_query *q)
{
    return period_shift(q);
}

/* Adds cell counts to the row of (period of day, the cell's key) as cur or prev. */
static int add_to_row(struct ctx *x, struct rowmap *m, const struct report_cell *c,
                      const struct agent_info *ai, int32_t day, bool prev)
{
    const struct report_query *q = x->q;
    uint64_t key = q->key == REPORT_KEY_AGENT      ? c->agent
                   : q->key == REPORT_KEY_CAMPAIGN ? c->campaign
                                                   : ai->dept_id;
    bool created;
    struct report_row *r = row_at(m, period_of(q, day), key, &created);
    if (r == NULL) {
        return WAIHU_ENOMEM;
    }
    if (created) {
        int32_t first = r->period_day, last = r->period_day + period_len(q) - 1;
        r->first_day = first < q->from_day ? q->from_day : first;
        r->last_day = last > q->to_day ? q->to_day : last;
        r->agent = q->key == REPORT_KEY_AGENT ? x->b->agents[c->agent] : NULL;
        r->department = q->key != REPORT_KEY_CAMPAIGN ? ai->department : NULL;
        r->campaign = q->key == REPORT_KEY_CAMPAIGN ? c->campaign : 0;
    }
    counts_add(prev ? &r->prev : &r->cur, &c->counts);
    return 0;
}

static int row_cmp(const void *pa, const void *pb)
{
    const struct report_row *a = pa, *b = pb;
    if (a->period_day != b->period_day) {
        return a->period_day < b->period_day ? -1 : 1;
    }
    if (a->agent != NULL && b->agent != NULL) {
        return strcmp(a->agent, b->agent);
    }
    if (a->agent == NULL && b->agent == NULL && a->department != NULL && b->department != NULL) {
        return strcmp(a->department, b->department);
    }
    return a->campaign < b->campaign ? -1 : a->campaign > b->campaign;
}

int report_query_run(const struct report_book *b, const struct report_query *q,
                     struct report_rows *out)
{
    *out = (struct report_rows){0};
    struct ctx x;
    int rv = ctx_init(&x, b, q);
    if (rv != 0) {
        return rv;
    }
    struct rowmap m = {0};
    int32_t shift = period_shift(q);
    bool oom = false;
    for (size_t i = 0; i < b->n_cells && rv == 0; i++) {
        const struct report_cell *c = &b->cells[i];
        if (c->tenant != q->tenant) {
            continue;
        }
        bool now = in_range(q, c->day), before = in_range(q, c->day + shift);
        if (!now && !before) {
            continue;
        }
        /* Calls nobody took belong to campaigns, not to agents or departments. */
        if (b->agents[c->agent][0] == '\0' &&
            (q->key != REPORT_KEY_CAMPAIGN || q->only_department != NULL)) {
            continue;
        }
        const struct agent_info *ai = agent_of(&x, c->agent, &oom);
        if (oom) {
            rv = WAIHU_ENOMEM;
            break;
        }
        if (ai == NULL) {
            continue;
        }
        if (now) {
            rv = add_to_row(&x, &m, c, ai, c->day, false);
        }
        if (before && rv == 0) {
            rv = add_to_row(&x, &m, c, ai, c->day + shift, true);
        }
    }
    free(m.slots);
    free(m.keys);
    ctx_close(&x);
    if (rv != 0) {
        free(m.rows);
        return rv;
    }
    qsort(m.rows, m.n, sizeof *m.rows, row_cmp);
    out->rows = m.rows;
    out->n = m.n;
    return 0;
}

void report_rows_free(struct report_rows *r)
{
    free(r->rows);
    *r = (struct report_rows){0};
}

/* ---- rankings ---- */

static const char *const metric_names[REPORT_METRIC_COUNT] = {"calls_per_day", "connect_rate",
                                                              "conversion_rate"};

const char *report_metric_name(enum report_metric m)
{
    return m < REPORT_METRIC_COUNT ? metric_names[m] : "?";
}

int report_metric_parse(const char *name, enum report_metric *out)
{
    for (int i = 0; name != NULL && i < REPORT_METRIC_COUNT; i++) {
        if (strcmp(name, metric_names[i]) == 0) {
            *out = (enum report_metric)i;
            return 0;
        }
    }
    return WAIHU_EINVAL;
}

static int rank_cmp(const void *pa, const void *pb)
{
    const struct report_rank *a = pa, *b = pb;
    int g = a->group == NULL || b->group == NULL ? 0 : strcmp(a->group, b->group);
    if (g != 0) {
        return g;
    }
    if (a->has_value != b->has_value) {
        return a->has_value ? -1 : 1;
    }
    if (a->has_value && a->value != b->value) {
        return a->value > b->value ? -1 : 1;
    }
    return strcmp(a->agent, b->agent);
}

static bool metric_value(const struct report_rank *r, enum report_metric m, double *v)
{
    switch (m) {
    case REPORT_M_CALLS_PER_DAY: return ratio_of((double)r->calls, r->days_worked, v);
    case REPORT_M_CONNECT_RATE: return ratio_of((double)r->answered, r->calls, v);
    default: return ratio_of((double)r->conversions, r->answered, v);
    }
}

/* Groups are runs of the sorted ranks: means, ranks and flags per run. */
static void judge_groups(struct report_rank *r, size_t n)
{
    for (size_t s = 0; s < n;) {
        size_t e = s;
        double sum = 0;
        unsigned k = 0;
        while (e < n && (r[e].group == r[s].group ||
                         (r[e].group && r[s].group && strcmp(r[e].group, r[s].group) == 0))) {
            if (r[e].has_value) {
                sum += r[e].value;
                k++;
            }
            e++;
        }
        double mean = k ? sum / k : 0;
        for (size_t i = s; i < e; i++) {
            r[i].group_mean = mean;
            r[i].group_size = k;
            if (!r[i].has_value) {
                continue;
            }
            r[i].rank = (unsigned)(i - s + 1);
            r[i].vs_mean = mean > 0 ? r[i].value / mean - 1.0 : 0;
            /* A tolerance of 1e-9 keeps exact "20% below" flagged despite rounding. */
            r[i].flagged = mean > 0 && r[i].value <= mean * (1.0 - REPORT_FLAG_BELOW) + 1e-9 * mean;
        }
        s = e;
    }
}

int report_rank_run(const struct report_book *b, const struct report_query *q,
                    enum report_metric metric, bool by_department, struct report_ranking *out)
{
    *out = (struct report_ranking){0};
    if (metric >= REPORT_METRIC_COUNT) {
        return WAIHU_EINVAL;
    }
    struct ctx x;
    int rv = ctx_init(&x, b, q);
    if (rv != 0) {
        return rv;
    }
    size_t len = (size_t)(q->to_day - q->from_day) + 1, words = (len + 63) / 64;
    struct report_rank *ranks = calloc(b->n_agents ? b->n_agents : 1, sizeof *ranks);
    uint64_t *worked = calloc((b->n_agents ? b->n_agents : 1) * words, sizeof *worked);
    bool oom = ranks == NULL || worked == NULL;
    for (size_t i = 0; i < b->n_cells && !oom; i++) {
        const struct report_cell *c = &b->cells[i];
        if (c->tenant != q->tenant || !in_range(q, c->day) || b->agents[c->agent][0] == '\0') {
            continue;
        }
        const struct agent_info *ai = agent_of(&x, c->agent, &oom);
        /* Names that are no agent of the tenant (any more) are not ranked. */
        if (ai == NULL || !ai->known) {
            continue;
        }
        struct report_rank *r = &ranks[c->agent];
        r->agent = b->agents[c->agent];
        r->group = by_department ? ai->department : NULL;
        r->calls += c->counts.calls;
        r->answered += c->counts.outcome[REPORT_ANSWERED];
        r->conversions += c->counts.disp[REPORT_DISP_SALE];
        size_t bit = (size_t)(c->day - q->from_day);
        uint64_t *w = &worked[c->agent * words + bit / 64];
        if (c->counts.calls > 0 && !(*w >> (bit % 64) & 1)) {
            *w |= 1ULL << (bit % 64);
            r->days_worked++;
        }
    }
    ctx_close(&x);
    free(worked);
    if (oom) {
        free(ranks);
        return WAIHU_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < b->n_agents; i++) {
        if (ranks[i].agent != NULL && ranks[i].calls > 0) {
            ranks[n] = ranks[i];
            ranks[n].has_value = metric_value(&ranks[n], metric, &ranks[n].value);
            n++;
        }
    }
    qsort(ranks, n, sizeof *ranks, rank_cmp);
    judge_groups(ranks, n);
    out->ranks = ranks;
    out->n = n;
    return 0;
}

void report_ranking_free(struct report_ranking *r)
{
    free(r->ranks);
    *r = (struct report_ranking){0};
}
