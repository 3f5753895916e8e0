/* Performance reports and rankings, pure part (docs/reports.md): counters per (tenant,
 * local day, agent, campaign) folded from call records (CDRs) and dispositions, and the
 * queries over them: rows per day, ISO week or range, per agent, campaign or department,
 * each with the same days one period earlier and the change; agents ranked against their
 * group's mean. No I/O, no clock: callers pass records and days. Not thread-safe: one
 * book belongs to one thread (the API's core loop). */
#ifndef WAIHU_REPORT_H
#define WAIHU_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Dispositions an agent records (src/api/api_agents.c); anything else counts as other. */
enum report_disp {
    REPORT_DISP_SALE = 0, /* a conversion */
    REPORT_DISP_NOT_INTERESTED,
    REPORT_DISP_CALLBACK,
    REPORT_DISP_WRONG_NUMBER,
    REPORT_DISP_OTHER,
    REPORT_DISP_COUNT
};

/* What a CDR's result counts as: "answered", "abandoned", "machine", "no-answer", "busy";
 * every other result (unreachable, cancelled, carrier-failure, played...) is failed. */
enum report_outcome {
    REPORT_ANSWERED = 0,
    REPORT_ABANDONED,
    REPORT_MACHINE,
    REPORT_NO_ANSWER,
    REPORT_BUSY,
    REPORT_FAILED,
    REPORT_OUTCOME_COUNT
};

WAIHU_API enum report_outcome report_outcome_of(const char *result);
WAIHU_API enum report_disp report_disp_of(const char *disposition);

struct report_counts {
    uint64_t calls;
    uint64_t outcome[REPORT_OUTCOME_COUNT];
    uint64_t talk_ms, ring_ms;
    uint64_t disp[REPORT_DISP_COUNT];
};

/* ---- days ---- */
/* Days are numbered from 1970-01-01 (day 0) in the book's local time. */
/* "YYYY-MM-DD" (a real date, years 1970..9999) to a day number: 0 or WAIHU_EINVAL. */
WAIHU_API int report_day_parse(const char *text, int32_t *day);
/* Day number to "YYYY-MM-DD" (out: at least 11 bytes). */
WAIHU_API void report_day_format(int32_t day, char out[11]);
/* The Monday starting day's ISO week, and its label "2026-W09" (out: at least 9 bytes). */
WAIHU_API int32_t report_week_start(int32_t day);
WAIHU_API void report_week_format(int32_t day, char out[9]);

/* ---- the book ---- */
struct report_book;
/* A book counting days at utc_offset_min minutes east of UTC (China: 480). NULL when out
 * of memory. Free with report_book_free. */
WAIHU_API struct report_book *report_book_new(int32_t utc_offset_min);
WAIHU_API void report_book_free(struct report_book *b);
/* Forgets everything (a rebuild). */
WAIHU_API void report_book_clear(struct report_book *b);
/* The local day of a time (ms since 1970, UTC). */
WAIHU_API int32_t report_book_day(const struct report_book *b, int64_t ms);
WAIHU_API int32_t report_book_utc_offset_min(const struct report_book *b);
/* Cells (tenant, day, agent, campaign) held, and dispositions remembered. */
WAIHU_API size_t report_book_cells(const struct report_book *b);

/* The counts of one campaign's day summed over its agents and the calls nobody took, by
 * one hash lookup per agent name the book knows (no pass over the cells: cheap enough for
 * /metrics). false, with out zeroed, when the book counts nothing for it. */
WAIHU_API bool report_book_campaign_day(const struct report_book *b, uint64_t tenant,
                                        int32_t day, uint64_t campaign,
                                        struct report_counts *out);

/* One call record. agent "" = nobody took it (abandoned, machine, no answer). */
struct report_cdr {
    uint64_t tenant;
    int64_t start_ms;
    const char *agent;
    uint64_t campaign; /* 0: placed through POST /v1/calls */
    const char *result;
    uint32_t talk_ms, ring_ms;
};
/* Counts a CDR. CDRs are written once per call: a second add counts it twice. Returns 0
 * or WAIHU_ENOMEM (then nothing was counted). */
WAIHU_API int report_add_cdr(struct report_book *b, const struct report_cdr *c);

/* One disposition, identified by its call (tenant, node, call id); counted on the local
 * day of at_ms. A disposition recorded again for the same call replaces the earlier one. */
struct report_disposition {
    uint64_t tenant, node, call_id;
    int64_t at_ms;
    const char *agent;
    uint64_t campaign;
    const char *disposition;
};
/* 0 or WAIHU_ENOMEM (then the book is as before). */
WAIHU_API int report_put_disposition(struct report_book *b, const struct report_disposition *d);
/* Uncounts the call's disposition, if any. */
WAIHU_API void report_delete_disposition(struct report_book *b, uint64_t tenant, uint64_t node,
                                         uint64_t call_id);

/* ---- figures ---- */
/* The fields of a row, in the order of CSV columns and JSON keys: counters (integers)
 * then derived rates (reals). A derived value with a zero denominator is undefined. */
enum report_field {
    REPORT_F_CALLS = 0,
    REPORT_F_ANSWERED,
    REPORT_F_ABANDONED,
    REPORT_F_MACHINE,
    REPORT_F_NO_ANSWER,
    REPORT_F_BUSY,
    REPORT_F_FAILED,
    REPORT_F_TALK_S,
    REPORT_F_RING_S,
    REPORT_F_CONVERSIONS, /* dispositions "sale" */
    REPORT_F_NOT_INTERESTED,
    REPORT_F_CALLBACK,
    REPORT_F_WRONG_NUMBER,
    REPORT_F_OTHER_DISPOSITION,
    REPORT_F_CONNECT_RATE,    /* answered / calls */
    REPORT_F_CONVERSION_RATE, /* conversions / answered */
    REPORT_F_AVG_TALK_S,      /* talk / answered */
    REPORT_F_COUNT
};
WAIHU_API const char *report_field_name(enum report_field f);
/* Whether the field is a whole number (counters), else a real (rates). */
WAIHU_API bool report_field_integer(enum report_field f);
/* The field's value; false when undefined (zero denominator). */
WAIHU_API bool report_field_value(const struct report_counts *c, enum report_field f,
                                  double *out);
/* Change from prev to cur: abs = cur - prev; pct = 100 * abs / prev. Returns a bit set:
 * 1 abs defined (both values defined), 2 pct defined (also prev != 0). */
WAIHU_API int report_change(const struct report_counts *cur, const struct report_counts *prev,
                            enum report_field f, double *abs, double *pct);

/* ---- queries ---- */
enum report_period { REPORT_BY_DAY = 0, REPORT_BY_WEEK, REPORT_BY_RANGE };
enum report_key { REPORT_KEY_AGENT = 0, REPORT_KEY_CAMPAIGN, REPORT_KEY_DEPARTMENT };

/* Agents' departments are the caller's (users): department(data, agent) returns the
 * agent's department ("" none) or NULL for a name that is no agent of the tenant. */
typedef const char *(*report_department_fn)(void *data, const char *agent);

struct report_query {
    uint64_t tenant;
    int32_t from_day, to_day; /* inclusive; from <= to */
    enum report_period period;
    enum report_key key;
    report_department_fn department;
    void *data;
    /* Only agents of this department (a supervisor's); NULL = every agent and the
     * calls nobody took (agent ""). */
    const char *only_department;
};

/* A row: one period and one key. Periods are clipped to [from, to]; previous = the same
 * days one period earlier (a day: the day before; a week: 7 days before; the range: the
 * range's length before). */
struct report_row {
    int32_t period_day;      /* first day of the period (a week: its Monday, maybe < from) */
    int32_t first_day, last_day; /* the days counted, inside [from, to] */
    const char *agent;       /* REPORT_KEY_AGENT: the name ("" nobody), else NULL */
    const char *department;  /* AGENT (its department) and DEPARTMENT rows, else NULL */
    uint64_t campaign;       /* REPORT_KEY_CAMPAIGN */
    struct report_counts cur, prev;
};

struct report_rows {
    struct report_row *rows;
    size_t n;
};
/* Runs q: rows sorted by period then key; a key with figures in the previous period only
 * has a row with zero current counts. Strings point into the book and the department
 * callback's answers: valid until the book changes. Returns 0, WAIHU_EINVAL (from > to)
 * or WAIHU_ENOMEM. Free with report_rows_free. */
WAIHU_API int report_query_run(const struct report_book *b, const struct report_query *q,
                               struct report_rows *out);
WAIHU_API void report_rows_free(struct report_rows *r);

/* ---- rankings ---- */
enum report_metric {
    REPORT_M_CALLS_PER_DAY = 0, /* calls / days with at least one call */
    REPORT_M_CONNECT_RATE,      /* answered / calls */
    REPORT_M_CONVERSION_RATE,   /* conversions / answered */
    REPORT_METRIC_COUNT
};
WAIHU_API const char *report_metric_name(enum report_metric m);
/* 0 or WAIHU_EINVAL. */
WAIHU_API int report_metric_parse(const char *name, enum report_metric *out);

/* A ranking flags agents at least this far below their group's mean. */
#define REPORT_FLAG_BELOW 0.20

struct report_rank {
    const char *agent;
    const char *group;  /* the department, or NULL when the group is the whole tenant */
    double value;       /* undefined (no denominator): has_value false, not ranked */
    bool has_value;
    double group_mean;  /* mean of the defined values of the group */
    double vs_mean;     /* value / mean - 1 (-0.25: 25% below); 0 when the mean is 0 */
    unsigned rank;      /* 1 = best of its group; 0 without a value */
    unsigned group_size; /* agents of the group with a value */
    bool flagged;       /* value <= (1 - REPORT_FLAG_BELOW) * mean, mean > 0 */
    uint64_t calls, answered, conversions, days_worked;
};
struct report_ranking {
    struct report_rank *ranks; /* by group, then rank (undefined last), then name */
    size_t n;
};
/* Ranks every agent with at least one call in [q->from_day, q->to_day] on metric, within
 * its department (by_department) or the tenant; q's period and key are ignored. 0,
 * WAIHU_EINVAL or WAIHU_ENOMEM. Free with report_ranking_free. */
WAIHU_API int report_rank_run(const struct report_book *b, const struct report_query *q,
                              enum report_metric metric, bool by_department,
                              struct report_ranking *out);
WAIHU_API void report_ranking_free(struct report_ranking *r);

#endif
