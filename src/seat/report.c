/* The report book: counters per (tenant, local day, agent, campaign), calendar days and
 * the fields of a row (report.h). Queries are in report_query.c. */
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define MS_PER_DAY 86400000LL

/* ---- days (proleptic Gregorian, Howard Hinnant's civil algorithms) ---- */

static int32_t days_from_civil(int32_t y, int32_t m, int32_t d)
{
    y -= m <= 2;
    int32_t era = (y >= 0 ? y : y - 399) / 400;
    int32_t yoe = y - era * 400;
    int32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int32_t z, int32_t *y, int32_t *m, int32_t *d)
{
    z += 719468;
    int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    int32_t doe = z - era * 146097;
    int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int32_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int report_day_parse(const char *t, int32_t *day)
{
    if (t == NULL || strlen(t) != 10 || t[4] != '-' || t[7] != '-') {
        return WAIHU_EINVAL;
    }
    int32_t v[3] = {0, 0, 0};
    static const int at[3] = {0, 5, 8}, len[3] = {4, 2, 2};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < len[i]; j++) {
            char c = t[at[i] + j];
            if (c < '0' || c > '9') {
                return WAIHU_EINVAL;
            }
            v[i] = v[i] * 10 + (c - '0');
        }
    }
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1) {
        return WAIHU_EINVAL;
    }
    int32_t d = days_from_civil(v[0], v[1], v[2]);
    int32_t y, m, dd;
    civil_from_days(d, &y, &m, &dd);
    if (y != v[0] || m != v[1] || dd != v[2]) {
        return WAIHU_EINVAL; /* 2026-02-30 */
    }
    *day = d;
    return 0;
}

static void put_digits(char *out, int32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void report_day_format(int32_t day, char out[11])
{
    int32_t y, m, d;
    civil_from_days(day, &y, &m, &d);
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = '\0';
}

int32_t report_week_start(int32_t day)
{
    int32_t wd = ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; Monday = 0 */
    return day - wd;
}

void report_week_format(int32_t day, char out[9])
{
    int32_t thursday = report_week_start(day) + 3; /* an ISO week belongs to its Thursday's year */
    int32_t y, m, d;
    civil_from_days(thursday, &y, &m, &d);
    int32_t week = (thursday - days_from_civil(y, 1, 1)) / 7 + 1;
    put_digits(out, y, 4);
    out[4] = '-';
    out[5] = 'W';
    put_digits(out + 6, week, 2);
    out[8] = '\0';
}

/* ---- outcomes, dispositions ---- */

enum report_outcome report_outcome_of(const char *r)
{
    static const char *const names[] = {"answered", "abandoned", "machine", "no-answer", "busy"};
    for (size_t i = 0; r != NULL && i < sizeof names / sizeof *names; i++) {
        if (strcmp(r, names[i]) == 0) {
            return (enum report_outcome)i;
        }
    }
    return REPORT_FAILED;
}

enum report_disp report_disp_of(const char *d)
{
    static const char *const names[] = {"sale", "not_interested", "callback", "wrong_number"};
    for (size_t i = 0; d != NULL && i < sizeof names / sizeof *names; i++) {
        if (strcmp(d, names[i]) == 0) {
            return (enum report_disp)i;
        }
    }
    return REPORT_DISP_OTHER;
}

/* ---- hashing ---- */

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb34f57a4d9b3ULL;
    return h ^ (h >> 33);
}

uint64_t report_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    }
    return mix(h);
}

static uint64_t cell_hash(uint64_t tenant, int32_t day, uint32_t agent, uint64_t campaign)
{
    return mix(tenant * 31 + mix(campaign) + ((uint64_t)(uint32_t)day << 32 | agent));
}

/* Doubles a slot table of indices+1 (0 = empty), rehashing with hash_of(index). */
static int grow_slots(uint32_t **slots, size_t *cap, size_t want_entries, const void *ctx,
                      uint64_t (*hash_of)(const void *ctx, uint32_t i), size_t n)
{
    if (want_entries * 10 < *cap * 7) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 1024;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL) {
        return WAIHU_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t p = hash_of(ctx, i) & (ncap - 1);
        while (ns[p] != 0) {
            p = (p + 1) & (ncap - 1);
        }
        ns[p] = i + 1;
    }
    free(*slots);
    *slots = ns;
    *cap = ncap;
    return 0;
}

static uint64_t agent_hash_at(const void *ctx, uint32_t i)
{
    return report_hash_str(((const struct report_book *)ctx)->agents[i]);
}

static uint64_t cell_hash_at(const void *ctx, uint32_t i)
{
    const struct report_cell *c = &((const struct report_book *)ctx)->cells[i];
    return cell_hash(c->tenant, c->day, c->agent, c->campaign);
}

/* The agent's index, interned; UINT32_MAX when out of memory. */
static uint32_t agent_index(struct report_book *b, const char *name)
{
    if (b->agent_slots_cap > 0) {
        size_t p = report_hash_str(name) & (b->agent_slots_cap - 1);
        for (; b->agent_slots[p] != 0; p = (p + 1) & (b->agent_slots_cap - 1)) {
            if (strcmp(b->agents[b->agent_slots[p] - 1], name) == 0) {
                return b->agent_slots[p] - 1;
            }
        }
    }
    if (b->n_agents == b->agents_cap) {
        size_t ncap = b->agents_cap ? b->agents_cap * 2 : 64;
        char **na = realloc(b->agents, ncap * sizeof *na);
        if (na == NULL) {
            return UINT32_MAX;
        }
        b->agents = na;
        b->agents_cap = ncap;
    }
    char *copy = strdup(name);
    if (copy == NULL || grow_slots(&b->agent_slots, &b->agent_slots_cap, b->n_agents + 1, b,
                                   agent_hash_at, b->n_agents) != 0) {
        free(copy);
        return UINT32_MAX;
    }
    uint32_t i = (uint32_t)b->n_agents++;
    b->agents[i] = copy;
    size_t p = report_hash_str(name) & (b->agent_slots_cap - 1);
    while (b->agent_slots[p] != 0) {
        p = (p + 1) & (b->agent_slots_cap - 1);
    }
    b->agent_slots[p] = i + 1;
    return i;
}

/* The cell's index, created empty when new; UINT32_MAX when out of memory. */
static uint32_t cell_index(struct report_book *b, uint64_t tenant, int32_t day,
                           const char *agent, uint64_t campaign)
{
    uint32_t ai = agent_index(b, agent != NULL ? agent : "");
    if (ai == UINT32_MAX) {
        return UINT32_MAX;
    }
    uint64_t h = cell_hash(tenant, day, ai, campaign);
    if (b->cell_slots_cap > 0) {
        for (size_t p = h & (b->cell_slots_cap - 1); b->cell_slots[p] != 0;
             p = (p + 1) & (b->cell_slots_cap - 1)) {
            const struct report_cell *c = &b->cells[b->cell_slots[p] - 1];
            if (c->tenant == tenant && c->day == day && c->agent == ai &&
                c->campaign == campaign) {
                return b->cell_slots[p] - 1;
            }
        }
    }
    if (b->n_cells == b->cells_cap) {
        size_t ncap = b->cells_cap ? b->cells_cap * 2 : 1024;
        struct report_cell *nc = realloc(b->cells, ncap * sizeof *nc);
        if (nc == NULL) {
            return UINT32_MAX;
        }
        b->cells = nc;
        b->cells_cap = ncap;
    }
    if (grow_slots(&b->cell_slots, &b->cell_slots_cap, b->n_cells + 1, b, cell_hash_at,
                   b->n_cells) != 0) {
        return UINT32_MAX;
    }
    uint32_t i = (uint32_t)b->n_cells++;
    b->cells[i] = (struct report_cell){.tenant = tenant, .day = day, .agent = ai,
                                       .campaign = campaign};
    size_t p = h & (b->cell_slots_cap - 1);
    while (b->cell_slots[p] != 0) {
        p = (p + 1) & (b->cell_slots_cap - 1);
    }
    b->cell_slots[p] = i + 1;
    return i;
}

/* The cell's index, or UINT32_MAX when it does not exist (read-only lookup). */
static uint32_t cell_find(const struct report_book *b, uint64_t tenant, int32_t day,
                          uint32_t agent, uint64_t campaign)
{
    if (b->cell_slots_cap == 0) {
        return UINT32_MAX;
    }
    for (size_t p = cell_hash(tenant, day, agent, campaign) & (b->cell_slots_cap - 1);
         b->cell_slots[p] != 0; p = (p + 1) & (b->cell_slots_cap - 1)) {
        const struct report_cell *c = &b->cells[b->cell_slots[p] - 1];
        if (c->tenant == tenant && c->day == day && c->agent == agent &&
            c->campaign == campaign) {
            return b->cell_slots[p] - 1;
        }
    }
    return UINT32_MAX;
}

/* ---- the book ---- */

struct report_book *report_book_new(int32_t utc_offset_min)
{
    struct report_book *b = calloc(1, sizeof *b);
    if (b != NULL) {
        b->utc_offset_min = utc_offset_min;
    }
    return b;
}

void report_book_clear(struct report_book *b)
{
    for (size_t i = 0; i < b->n_agents; i++) {
        free(b->agents[i]);
    }
    free(b->agents);
    free(b->agent_slots);
    free(b->cells);
    free(b->cell_slots);
    free(b->disps);
    int32_t off = b->utc_offset_min;
    memset(b, 0, sizeof *b);
    b->utc_offset_min = off;
}

void report_book_free(struct report_book *b)
{
    if (b != NULL) {
        report_book_clear(b);
        free(b);
    }
}

int32_t report_book_day(const struct report_book *b, int64_t ms)
{
    int64_t local = ms + (int64_t)b->utc_offset_min * 60000;
    int64_t d = local / MS_PER_DAY;
    if (local % MS_PER_DAY < 0) {
        d--;
    }
    return (int32_t)d;
}

int32_t report_book_utc_offset_min(const struct report_book *b)
{
    return b->utc_offset_min;
}

size_t report_book_cells(const struct report_book *b)
{
    return b->n_cells;
}

bool report_book_campaign_day(const struct report_book *b, uint64_t tenant, int32_t day,
                              uint64_t campaign, struct report_counts *out)
{
    *out = (struct report_counts){0};
    bool found = false;
    for (uint32_t a = 0; a < b->n_agents; a++) {
        uint32_t i = cell_find(b, tenant, day, a, campaign);
        if (i == UINT32_MAX) {
            continue;
        }
        const struct report_counts *k = &b->cells[i].counts;
        found = true;
        out->calls += k->calls;
        for (int o = 0; o < REPORT_OUTCOME_COUNT; o++) {
            out->outcome[o] += k->outcome[o];
        }
        out->talk_ms += k->talk_ms;
        out->ring_ms += k->ring_ms;
        for (int d = 0; d < REPORT_DISP_COUNT; d++) {
            out->disp[d] += k->disp[d];
        }
    }
    return found;
}

int report_add_cdr(struct report_book *b, const struct report_cdr *c)
{
    uint32_t i = cell_index(b, c->tenant, report_book_day(b, c->start_ms), c->agent,
                            c->campaign);
    if (i == UINT32_MAX) {
        return WAIHU_ENOMEM;
    }
    struct report_counts *k = &b->cells[i].counts;
    k->calls++;
    k->outcome[report_outcome_of(c->result)]++;
    k->talk_ms += c->talk_ms;
    k->ring_ms += c->ring_ms;
    return 0;
}

/* ---- dispositions: the call's (tenant, node, id) -> the cell and kind counted ---- */

static uint64_t disp_hash(uint64_t tenant, uint64_t node, uint64_t id)
{
    return mix(mix(tenant) ^ mix(node + 0x9e3779b97f4a7c15ULL) ^ id);
}

static struct report_disp_entry *disp_find(const struct report_book *b, uint64_t tenant,
                                           uint64_t node, uint64_t id)
{
    if (b->disps_cap == 0) {
        return NULL;
    }
    for (size_t p = disp_hash(tenant, node, id) & (b->disps_cap - 1);
         b->disps[p].state != REPORT_SLOT_EMPTY; p = (p + 1) & (b->disps_cap - 1)) {
        struct report_disp_entry *e = &b->disps[p];
        if (e->state == REPORT_SLOT_USED && e->tenant == tenant && e->node == node &&
            e->call_id == id) {
            return e;
        }
    }
    return NULL;
}

static int disp_reserve(struct report_book *b)
{
    if ((b->disps_used + b->disps_dead + 1) * 10 < b->disps_cap * 7) {
        return 0;
    }
    size_t ncap = b->disps_cap == 0 ? 1024
                  : b->disps_used * 2 * 10 >= b->disps_cap * 7 ? b->disps_cap * 2
                                                               : b->disps_cap;
    struct report_disp_entry *nd = calloc(ncap, sizeof *nd);
    if (nd == NULL) {
        return WAIHU_ENOMEM;
    }
    for (size_t i = 0; i < b->disps_cap; i++) {
        const struct report_disp_entry *e = &b->disps[i];
        if (e->state == REPORT_SLOT_USED) {
            size_t p = disp_hash(e->tenant, e->node, e->call_id) & (ncap - 1);
            while (nd[p].state != REPORT_SLOT_EMPTY) {
                p = (p + 1) & (ncap - 1);
            }
            nd[p] = *e;
        }
    }
    free(b->disps);
    b->disps = nd;
    b->disps_cap = ncap;
    b->disps_dead = 0;
    return 0;
}

void report_delete_disposition(struct report_book *b, uint64_t tenant, uint64_t node,
                               uint64_t call_id)
{
    struct report_disp_entry *e = disp_find(b, tenant, node, call_id);
    if (e == NULL) {
        return;
    }
    uint64_t *n = &b->cells[e->cell].counts.disp[e->kind];
    assert(*n > 0);
    (*n)--;
    e->state = REPORT_SLOT_DEAD;
    b->disps_used--;
    b->disps_dead++;
}

int report_put_disposition(struct report_book *b, const struct report_disposition *d)
{
    if (disp_reserve(b) != 0) {
        return WAIHU_ENOMEM;
    }
    uint32_t cell = cell_index(b, d->tenant, report_book_day(b, d->at_ms), d->agent,
                               d->campaign);
    if (cell == UINT32_MAX) {
        return WAIHU_ENOMEM;
    }
    report_delete_disposition(b, d->tenant, d->node, d->call_id);
    size_t p = disp_hash(d->tenant, d->node, d->call_id) & (b->disps_cap - 1);
    while (b->disps[p].state == REPORT_SLOT_USED) {
        p = (p + 1) & (b->disps_cap - 1);
    }
    if (b->disps[p].state == REPORT_SLOT_DEAD) {
        b->disps_dead--;
    }
    enum report_disp kind = report_disp_of(d->disposition);
    b->disps[p] = (struct report_disp_entry){.tenant = d->tenant, .node = d->node,
                                             .call_id = d->call_id, .cell = cell,
                                             .kind = (uint8_t)kind,
                                             .state = REPORT_SLOT_USED};
    b->disps_used++;
    b->cells[cell].counts.disp[kind]++;
    return 0;
}

/* ---- fields ---- */

static const char *const field_names[REPORT_F_COUNT] = {
    "calls", "answered", "abandoned", "machine", "no_answer", "busy", "failed", "talk_s",
    "ring_s", "conversions", "not_interested", "callback", "wrong_number",
    "other_disposition", "connect_rate", "conversion_rate", "avg_talk_s"};

const char *report_field_name(enum report_field f)
{
    return f < REPORT_F_COUNT ? field_names[f] : "?";
}

bool report_field_integer(enum report_field f)
{
    return f < REPORT_F_CONNECT_RATE;
}

static bool ratio(double num, uint64_t den, double *out)
{
    if (den == 0) {
        return false;
    }
    *out = num / (double)den;
    return true;
}

bool report_field_value(const struct report_counts *c, enum report_field f, double *out)
{
    switch (f) {
    case REPORT_F_CALLS: *out = (double)c->calls; return true;
    case REPORT_F_ANSWERED: *out = (double)c->outcome[REPORT_ANSWERED]; return true;
    case REPORT_F_ABANDONED: *out = (double)c->outcome[REPORT_ABANDONED]; return true;
    case REPORT_F_MACHINE: *out = (double)c->outcome[REPORT_MACHINE]; return true;
    case REPORT_F_NO_ANSWER: *out = (double)c->outcome[REPORT_NO_ANSWER]; return true;
    case REPORT_F_BUSY: *out = (double)c->outcome[REPORT_BUSY]; return true;
    case REPORT_F_FAILED: *out = (double)c->outcome[REPORT_FAILED]; return true;
    case REPORT_F_TALK_S: *out = (double)(c->talk_ms / 1000); return true;
    case REPORT_F_RING_S: *out = (double)(c->ring_ms / 1000); return true;
    case REPORT_F_CONVERSIONS: *out = (double)c->disp[REPORT_DISP_SALE]; return true;
    case REPORT_F_NOT_INTERESTED: *out = (double)c->disp[REPORT_DISP_NOT_INTERESTED]; return true;
    case REPORT_F_CALLBACK: *out = (double)c->disp[REPORT_DISP_CALLBACK]; return true;
    case REPORT_F_WRONG_NUMBER: *out = (double)c->disp[REPORT_DISP_WRONG_NUMBER]; return true;
    case REPORT_F_OTHER_DISPOSITION: *out = (double)c->disp[REPORT_DISP_OTHER]; return true;
    case REPORT_F_CONNECT_RATE:
        return ratio((double)c->outcome[REPORT_ANSWERED], c->calls, out);
    case REPORT_F_CONVERSION_RATE:
        return ratio((double)c->disp[REPORT_DISP_SALE], c->outcome[REPORT_ANSWERED], out);
    case REPORT_F_AVG_TALK_S:
        return ratio((double)c->talk_ms / 1000.0, c->outcome[REPORT_ANSWERED], out);
    default: return false;
    }
}

int report_change(const struct report_counts *cur, const struct report_counts *prev,
                  enum report_field f, double *abs, double *pct)
{
    double a, b;
    if (!report_field_value(cur, f, &a) || !report_field_value(prev, f, &b)) {
        return 0;
    }
    *abs = a - b;
    if (b == 0) {
        return 1;
    }
    *pct = 100.0 * (a - b) / b;
    return 3;
}
