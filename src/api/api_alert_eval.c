/* Evaluating alert rules (docs/alerts.md "How rules are evaluated"). Every node samples
 * its floors' occupancy from its own view of agent states (the same replicated data on
 * every node), so a new leader judges with a full window at once; only the leader fires.
 * A fired alert's key is a hash of rule, subject and period, and the put is conditioned
 * on its absence: it fires once per period, whichever node evaluated. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "api_alert_internal.h"
#include "api_seat_internal.h"
#include "report.h"

#define TICK_SLACK_MS 10000          /* two ticks: the window may start that late */
#define WEEKLY_EVERY_MS (5 * 60000)  /* metric_falling rules: figures change slowly */

struct alert_floor {
    uint64_t tenant;
    char rule[ALERT_NAME_MAX + 1];
    bool seen;
    struct alert_occupancy occ;
    struct alert_floor *next;
};

/* ---- firing ---- */

struct firing {
    struct api *a;
    char message[256];
};

static void fired(void *data, int status, const struct store_result *r)
{
    struct firing *f = data;
    if (status == 0 && r != NULL && r->code == 0) {
        LOG_I("alerts", "fired: %s", f->message);
    } else if (status == 0 && r != NULL && r->code == WAIHU_ECONFLICT) {
        /* fired already: another node or an earlier tick won */
    } else {
        LOG_W("alerts", "not fired (%s): %s",
              waihu_strerror(status != 0 ? status : r ? r->code : WAIHU_EIO), f->message);
    }
    free(f);
}

void alert_fire(struct api *a, const Alert *al)
{
    uint8_t id[ALERT_ID_BYTES], key[ALERT_KEY_BYTES];
    alert_id_of(al->rule, al->subject, al->period, id);
    alert_key(ALERT_K_FIRED, al->tenant_id, id, key);
    void *old = NULL;
    size_t old_len;
    if (store_get(a->store, STORE_CF_AGENT, key, sizeof key, &old, &old_len) == 0) {
        free(old); /* fired in this period already */
        return;
    }
    size_t n = alert__get_packed_size(al);
    uint8_t *v = malloc(n);
    struct firing *f = malloc(sizeof *f);
    if (v == NULL || f == NULL) {
        waihu_fatal("alerts", "out of memory");
    }
    alert__pack(al, v);
    struct store_mutation_builder *mb = store_mb_new();
    store_mb_condition(mb, STORE_CF_AGENT, key, sizeof key, STORE_MB_ABSENT, NULL, 0);
    store_mb_put_stamped(mb, STORE_CF_AGENT, key, sizeof key, v, n, ALERT_FIRED_MS_FIELD);
    free(v);
    if (al->webhook_url[0] != '\0') {
        AlertDelivery d = ALERT_DELIVERY__INIT;
        d.format = 1;
        d.state = "pending";
        d.next_ms = clock_wall_ms();
        d.updated_ms = d.next_ms;
        uint8_t dv[128], dk[ALERT_KEY_BYTES];
        size_t dn = alert_delivery__pack(&d, dv);
        alert_key(ALERT_K_DELIVERY, al->tenant_id, id, dk);
        store_mb_put(mb, STORE_CF_AGENT, dk, sizeof dk, dv, dn);
    }
    f->a = a;
    snprintf(f->message, sizeof f->message, "%s", al->message);
    api_submit_mutation(a, mb, 0, 0, fired, f);
}

static void alert_base(Alert *al, const AlertRule *r, const char *department)
{
    al->format = 1;
    al->tenant_id = r->tenant_id;
    al->rule = r->name;
    al->kind = r->kind;
    al->department = (char *)department;
    al->webhook_url = r->webhook_url;
}

/* ---- occupancy_below ---- */

static struct alert_floor *floor_of(struct api_alerts *s, const AlertRule *r)
{
    for (struct alert_floor *f = s->floors; f != NULL; f = f->next) {
        if (f->tenant == r->tenant_id && strcmp(f->rule, r->name) == 0) {
            return f;
        }
    }
    struct alert_floor *f = malloc(sizeof *f);
    if (f == NULL) {
        waihu_fatal("alerts", "out of memory");
    }
    f->tenant = r->tenant_id;
    snprintf(f->rule, sizeof f->rule, "%s", r->name);
    alert_occ_init(&f->occ);
    f->next = s->floors;
    s->floors = f;
    return f;
}

static void sample_floor(struct api_alerts *s, const AlertRule *r, struct alert_floor *f,
                         int64_t now)
{
    struct api_seat *seat = s->a->seat;
    uint32_t busy = 0, working = 0;
    for (size_t i = 0; seat != NULL && i < seat->n; i++) {
        const AgentState *st = seat->entries[i].st;
        if (st->tenant_id != r->tenant_id ||
            (r->department[0] != '\0' && strcmp(st->department, r->department) != 0)) {
            continue;
        }
        bool b = strcmp(st->state, "on_call") == 0 || strcmp(st->state, "wrap_up") == 0;
        if (b || strcmp(st->state, "ready") == 0 || strcmp(st->state, "reserved") == 0) {
            working++;
            busy += b;
        }
    }
    alert_occ_add(&f->occ, now, busy, working);
}

static void judge_floor(struct api *a, const AlertRule *r, struct alert_floor *f, int64_t now)
{
    double occ, agents;
    if (!alert_occ_mean(&f->occ, now, (int64_t)r->window_s * 1000, TICK_SLACK_MS, &occ,
                        &agents) ||
        agents < r->min_agents || !(occ < r->threshold)) {
        return;
    }
    /* Once per cooldown: the period is the cooldown slot the alert falls in. */
    int64_t slot = (int64_t)r->cooldown_min * 60000;
    char period[32], subject[80], msg[256];
    snprintf(period, sizeof period, "%lld", (long long)(now / slot * slot));
    snprintf(subject, sizeof subject, "%s", r->department[0] ? r->department : "tenant");
    snprintf(msg, sizeof msg,
             "occupancy of %s%s was %.0f%% over the last %u s (threshold %.0f%%, %.1f agents "
             "working)",
             r->department[0] ? "department " : "the whole floor", r->department, occ * 100,
             r->window_s, r->threshold * 100, agents);
    Alert al = ALERT__INIT;
    alert_base(&al, r, r->department);
    al.subject_type = "floor";
    al.subject = subject;
    al.period = period;
    al.message = msg;
    al.value = occ;
    al.threshold = r->threshold;
    alert_fire(a, &al);
}

/* ---- abandon_near_cap ---- */

static void judge_abandon(struct api *a, const AlertRule *r, const struct report_book *b,
                          int64_t now)
{
    int32_t today = report_book_day(b, now);
    struct report_query q = {.tenant = r->tenant_id, .from_day = today, .to_day = today,
                             .period = REPORT_BY_RANGE, .key = REPORT_KEY_CAMPAIGN};
    struct report_rows rows;
    if (report_query_run(b, &q, &rows) != 0) {
        return;
    }
    char day[11];
    report_day_format(today, day);
    for (size_t i = 0; i < rows.n; i++) {
        const struct report_row *row = &rows.rows[i];
        void *raw = NULL;
        size_t len;
        Campaign *c = row->campaign != 0
                          ? campaign_read(a->store, r->tenant_id, row->campaign, &raw, &len)
                          : NULL;
        double rate;
        if (c != NULL && alert_near_cap(row->cur.outcome[REPORT_ABANDONED],
                                        row->cur.outcome[REPORT_ANSWERED], c->abandon_cap,
                                        r->threshold, r->min_volume, &rate)) {
            char subject[24], msg[256];
            snprintf(subject, sizeof subject, "%llu", (unsigned long long)c->id);
            snprintf(msg, sizeof msg,
                     "campaign '%s' (%llu): abandon rate %.2f%% today, %.0f%% of its %.1f%% cap",
                     c->name, (unsigned long long)c->id, rate * 100,
                     rate / c->abandon_cap * 100, c->abandon_cap * 100);
            Alert al = ALERT__INIT;
            alert_base(&al, r, r->department);
            al.subject_type = "campaign";
            al.subject = subject;
            al.period = day;
            al.message = msg;
            al.value = rate;
            al.threshold = r->threshold * c->abandon_cap;
            alert_fire(a, &al);
        }
        if (c != NULL) {
            campaign__free_unpacked(c, NULL);
        }
        free(raw);
    }
    report_rows_free(&rows);
}

/* ---- metric_falling ---- */

#define WEEKS_MAX 9

struct agent_weeks {
    const char *agent, *department;
    struct alert_week w[WEEKS_MAX];
};

static void judge_falling(struct api *a, const AlertRule *r, const struct report_book *b,
                          int64_t now)
{
    bool conversion = strcmp(r->metric, "connect_rate") != 0;
    size_t n = r->weeks + 1;
    int32_t last = report_week_start(report_book_day(b, now)) - 7; /* last whole week */
    struct api_users users;
    api_users_load(a, r->tenant_id, &users);
    struct report_query q = {.tenant = r->tenant_id, .from_day = last - 7 * (int32_t)(n - 1),
                             .to_day = last + 6, .period = REPORT_BY_WEEK,
                             .key = REPORT_KEY_AGENT, .department = api_users_department,
                             .data = &users,
                             .only_department = r->department[0] ? r->department : NULL};
    struct report_rows rows = {0};
    struct agent_weeks *ag = NULL;
    size_t n_ag = 0;
    if (n > WEEKS_MAX || report_query_run(b, &q, &rows) != 0) {
        api_users_free(&users);
        return;
    }
    for (size_t i = 0; i < rows.n; i++) {
        const struct report_row *row = &rows.rows[i];
        size_t k = (size_t)((row->period_day - q.from_day) / 7);
        if (row->agent == NULL || row->agent[0] == '\0' || row->department == NULL || k >= n) {
            continue; /* calls nobody took; agents no longer users */
        }
        size_t j = 0;
        while (j < n_ag && strcmp(ag[j].agent, row->agent) != 0) {
            j++;
        }
        if (j == n_ag) {
            ag = realloc(ag, (n_ag + 1) * sizeof *ag);
            if (ag == NULL) {
                waihu_fatal("alerts", "out of memory");
            }
            memset(&ag[n_ag], 0, sizeof *ag);
            ag[n_ag].agent = row->agent;
            ag[n_ag].department = row->department;
            n_ag++;
        }
        struct alert_week *w = &ag[j].w[k];
        enum report_field f = conversion ? REPORT_F_CONVERSION_RATE : REPORT_F_CONNECT_RATE;
        w->defined = report_field_value(&row->cur, f, &w->value);
        w->volume = conversion ? row->cur.outcome[REPORT_ANSWERED] : row->cur.calls;
    }
    char label[9], first[9];
    report_week_format(last, label);
    report_week_format(q.from_day, first);
    for (size_t j = 0; j < n_ag; j++) {
        if (!alert_falling(ag[j].w, n, r->min_volume)) {
            continue;
        }
        char msg[256], trail[160] = "";
        double hist[WEEKS_MAX];
        for (size_t k = 0; k < n; k++) {
            hist[k] = ag[j].w[k].value;
            size_t used = strlen(trail);
            snprintf(trail + used, sizeof trail - used, "%s%.1f%%", k ? " -> " : "",
                     hist[k] * 100);
        }
        snprintf(msg, sizeof msg, "%s's %s fell %u weeks in a row: %s (%s to %s)",
                 ag[j].agent, conversion ? "conversion rate" : "connect rate", r->weeks, trail,
                 first, label);
        Alert al = ALERT__INIT;
        alert_base(&al, r, ag[j].department);
        al.subject_type = "agent";
        al.subject = (char *)ag[j].agent;
        al.period = label;
        al.message = msg;
        al.value = hist[n - 1];
        al.threshold = hist[0];
        al.n_history = n;
        al.history = hist;
        alert_fire(a, &al);
    }
    free(ag);
    report_rows_free(&rows);
    api_users_free(&users);
}

/* ---- the tick ---- */

struct tick_ctx {
    struct api_alerts *s;
    bool leader, weekly;
    int64_t now;
    const struct report_book *book;
};

static int rule_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    struct tick_ctx *t = data;
    AlertRule *r = alert_rule__unpack(NULL, vlen, val);
    enum alert_kind kind;
    if (r == NULL || !r->enabled || alert_kind_parse(r->kind, &kind) != 0) {
        alert_rule__free_unpacked(r, NULL);
        return 0;
    }
    if (kind == ALERT_OCCUPANCY_BELOW) {
        struct alert_floor *f = floor_of(t->s, r);
        f->seen = true;
        sample_floor(t->s, r, f, t->now);
        if (t->leader) {
            judge_floor(t->s->a, r, f, t->now);
        }
    } else if (t->leader && t->book != NULL && kind == ALERT_ABANDON_NEAR_CAP) {
        judge_abandon(t->s->a, r, t->book, t->now);
    } else if (t->leader && t->book != NULL &&
               (t->weekly || r->updated_ms >= t->s->prev_tick_ms - TICK_SLACK_MS)) {
        /* every few minutes, and at once when the rule is new or changed */
        judge_falling(t->s->a, r, t->book, t->now);
    }
    alert_rule__free_unpacked(r, NULL);
    return 0;
}

void alert_eval_tick(struct api_alerts *s)
{
    struct api *a = s->a;
    struct cluster_status cs;
    cluster_status_get(a->cluster, &cs);
    struct tick_ctx t = {.s = s, .now = clock_wall_ms(), .book = api_reports_book(a)};
    t.leader = cs.ready && strcmp(cs.state, "leader") == 0;
    t.weekly = t.leader && t.book != NULL &&
               (s->last_weekly_ms == 0 || t.now - s->last_weekly_ms >= WEEKLY_EVERY_MS);
    if (t.weekly) {
        s->last_weekly_ms = t.now;
    } else if (!t.leader) {
        s->last_weekly_ms = 0; /* judge at once when this node leads again */
    }
    for (struct alert_floor *f = s->floors; f != NULL; f = f->next) {
        f->seen = false;
    }
    store_scan(a->store, STORE_CF_META, ALERT_RULE_PREFIX, strlen(ALERT_RULE_PREFIX), NULL, 0,
               rule_one, &t);
    s->prev_tick_ms = t.now;
    for (struct alert_floor **pp = &s->floors; *pp != NULL;) {
        struct alert_floor *f = *pp;
        if (!f->seen) { /* its rule was deleted or disabled */
            *pp = f->next;
            free(f);
        } else {
            pp = &f->next;
        }
    }
}

void alert_eval_free(struct api_alerts *s)
{
    while (s->floors != NULL) {
        struct alert_floor *f = s->floors;
        s->floors = f->next;
        free(f);
    }
}
