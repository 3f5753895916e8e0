/* Reports and rankings (src/seat/report.h): calendar days and ISO weeks, counting CDRs and
 * dispositions, rows with the previous period, rankings against the group's mean. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

#define DAY_MS 86400000LL
/* This cmocka has no assert_double_equal. */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static int32_t day_of(const char *text)
{
    int32_t d = -1;
    assert_int_equal(report_day_parse(text, &d), 0);
    return d;
}

/* ms of local noon of a day in a book at +08:00 */
static int64_t noon(const char *text)
{
    return (int64_t)day_of(text) * DAY_MS + 12 * 3600000LL - 8 * 3600000LL;
}

static void test_days(void **state)
{
    (void)state;
    assert_int_equal(day_of("1970-01-01"), 0);
    assert_int_equal(day_of("2026-03-01") - day_of("2026-02-28"), 1);
    assert_int_equal(day_of("2024-03-01") - day_of("2024-02-28"), 2); /* leap year */
    char out[11];
    for (int32_t d = 0; d < 40000; d += 37) { /* round trip */
        report_day_format(d, out);
        assert_int_equal(day_of(out), d);
    }
    report_day_format(day_of("2026-12-31"), out);
    assert_string_equal(out, "2026-12-31");
    int32_t d;
    const char *bad[] = {"2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "2026/01/01",
                         "1969-12-31", "2026-01-01x", "", "abcd-ef-gh", "2026-04-31"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(report_day_parse(bad[i], &d), WAIHU_EINVAL);
    }
    assert_int_equal(report_day_parse(NULL, &d), WAIHU_EINVAL);
}

static void test_iso_weeks(void **state)
{
    (void)state;
    char w[9];
    /* 2026-01-01 is a Thursday: week 1 of 2026 starts on Monday 2025-12-29. */
    assert_int_equal(report_week_start(day_of("2026-01-01")), day_of("2025-12-29"));
    report_week_format(day_of("2025-12-29"), w);
    assert_string_equal(w, "2026-W01");
    /* 2027-01-01 is a Friday: it belongs to 2026's week 53. */
    report_week_format(day_of("2027-01-01"), w);
    assert_string_equal(w, "2026-W53");
    report_week_format(day_of("2024-12-30"), w);
    assert_string_equal(w, "2025-W01");
    report_week_format(day_of("2026-03-08"), w); /* a Sunday ends its week */
    assert_string_equal(w, "2026-W10");
    assert_int_equal(report_week_start(day_of("2026-03-08")), day_of("2026-03-02"));
    assert_int_equal(report_week_start(day_of("2026-03-09")), day_of("2026-03-09"));
    assert_int_equal(report_week_start(0), -3); /* 1970-01-01, a Thursday */
}

static void test_local_day(void **state)
{
    (void)state;
    struct report_book *b = report_book_new(480);
    int64_t midnight = (int64_t)day_of("2026-03-02") * DAY_MS - 8 * 3600000LL;
    assert_int_equal(report_book_day(b, midnight), day_of("2026-03-02"));
    assert_int_equal(report_book_day(b, midnight - 1), day_of("2026-03-01"));
    report_book_free(b);
    b = report_book_new(-300); /* west of UTC, before 1970 too */
    assert_int_equal(report_book_day(b, 0), -1);
    assert_int_equal(report_book_day(b, 5 * 3600000LL), 0);
    report_book_free(b);
}

static void cdr(struct report_book *b, uint64_t tenant, const char *day, const char *agent,
                uint64_t campaign, const char *result, uint32_t talk_ms)
{
    struct report_cdr c = {.tenant = tenant, .start_ms = noon(day), .agent = agent,
                           .campaign = campaign, .result = result, .talk_ms = talk_ms,
                           .ring_ms = 2000};
    assert_int_equal(report_add_cdr(b, &c), 0);
}

static void disp(struct report_book *b, uint64_t id, const char *day, const char *agent,
                 uint64_t campaign, const char *what)
{
    struct report_disposition d = {.tenant = 1, .node = 2, .call_id = id, .at_ms = noon(day),
                                   .agent = agent, .campaign = campaign, .disposition = what};
    assert_int_equal(report_put_disposition(b, &d), 0);
}

static double field(const struct report_counts *c, enum report_field f)
{
    double v = -1;
    assert_true(report_field_value(c, f, &v));
    return v;
}

static const char *dept_of(void *data, const char *agent)
{
    (void)data;
    if (strcmp(agent, "ann") == 0 || strcmp(agent, "bob") == 0 || strcmp(agent, "cat") == 0) {
        return "east";
    }
    if (strcmp(agent, "dan") == 0 || strcmp(agent, "eve") == 0) {
        return "west";
    }
    return NULL; /* no agent (any more) */
}

/* A book with two days of two agents and calls nobody took. */
static struct report_book *sample(void)
{
    struct report_book *b = report_book_new(480);
    /* 2026-03-01: ann 4 calls (2 answered), dan 1 call; nobody: 1 abandoned */
    cdr(b, 1, "2026-03-01", "ann", 7, "answered", 60000);
    cdr(b, 1, "2026-03-01", "ann", 7, "answered", 30000);
    cdr(b, 1, "2026-03-01", "ann", 7, "busy", 0);
    cdr(b, 1, "2026-03-01", "ann", 8, "no-answer", 0);
    cdr(b, 1, "2026-03-01", "dan", 7, "answered", 90000);
    cdr(b, 1, "2026-03-01", "", 7, "abandoned", 0);
    /* 2026-03-02: ann 2 calls (1 answered, 1 machine), another tenant's call */
    cdr(b, 1, "2026-03-02", "ann", 7, "answered", 120000);
    cdr(b, 1, "2026-03-02", "ann", 7, "machine", 0);
    cdr(b, 2, "2026-03-02", "ann", 7, "answered", 1000);
    disp(b, 1, "2026-03-01", "ann", 7, "sale");
    disp(b, 2, "2026-03-01", "ann", 7, "not_interested");
    disp(b, 3, "2026-03-02", "ann", 7, "sale");
    return b;
}

static void test_counts_and_fields(void **state)
{
    (void)state;
    struct report_book *b = sample();
    struct report_query q = {.tenant = 1, .from_day = day_of("2026-03-01"),
                             .to_day = day_of("2026-03-01"), .period = REPORT_BY_DAY,
                             .key = REPORT_KEY_AGENT, .department = dept_of};
    struct report_rows rows;
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(rows.n, 2); /* ann, dan; the abandoned call has no agent */
    const struct report_row *ann = &rows.rows[0];
    assert_string_equal(ann->agent, "ann");
    assert_string_equal(ann->department, "east");
    assert_int_equal(field(&ann->cur, REPORT_F_CALLS), 4);
    assert_int_equal(field(&ann->cur, REPORT_F_ANSWERED), 2);
    assert_int_equal(field(&ann->cur, REPORT_F_BUSY), 1);
    assert_int_equal(field(&ann->cur, REPORT_F_NO_ANSWER), 1);
    assert_int_equal(field(&ann->cur, REPORT_F_TALK_S), 90);
    assert_int_equal(field(&ann->cur, REPORT_F_RING_S), 8);
    assert_int_equal(field(&ann->cur, REPORT_F_CONVERSIONS), 1);
    assert_int_equal(field(&ann->cur, REPORT_F_NOT_INTERESTED), 1);
    assert_near(field(&ann->cur, REPORT_F_CONNECT_RATE), 0.5, 1e-12);
    assert_near(field(&ann->cur, REPORT_F_CONVERSION_RATE), 0.5, 1e-12);
    assert_near(field(&ann->cur, REPORT_F_AVG_TALK_S), 45, 1e-12);
    const struct report_row *dan = &rows.rows[1];
    assert_string_equal(dan->agent, "dan");
    assert_int_equal(field(&dan->cur, REPORT_F_CONVERSIONS), 0);
    double v;
    assert_true(report_field_value(&dan->cur, REPORT_F_CONVERSION_RATE, &v));
    assert_near(v, 0, 0);
    /* Nothing in the previous day: rates undefined there, changes without a percentage. */
    assert_false(report_field_value(&ann->prev, REPORT_F_CONNECT_RATE, &v));
    double abs, pct;
    assert_int_equal(report_change(&ann->cur, &ann->prev, REPORT_F_CALLS, &abs, &pct), 1);
    assert_near(abs, 4, 0);
    assert_int_equal(report_change(&ann->cur, &ann->prev, REPORT_F_CONNECT_RATE, &abs, &pct), 0);
    report_rows_free(&rows);
    for (int f = 0; f < REPORT_F_COUNT; f++) {
        assert_true(strcmp(report_field_name((enum report_field)f), "?") != 0);
    }
    assert_true(report_field_integer(REPORT_F_RING_S));
    assert_false(report_field_integer(REPORT_F_AVG_TALK_S));
    report_book_free(b);
}

static void test_previous_day(void **state)
{
    (void)state;
    struct report_book *b = sample();
    struct report_query q = {.tenant = 1, .from_day = day_of("2026-03-02"),
                             .to_day = day_of("2026-03-02"), .period = REPORT_BY_DAY,
                             .key = REPORT_KEY_AGENT, .department = dept_of};
    struct report_rows rows;
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    /* dan had calls the day before only: a row with zero current counts. */
    assert_int_equal(rows.n, 2);
    const struct report_row *ann = &rows.rows[0], *dan = &rows.rows[1];
    assert_int_equal(ann->first_day, day_of("2026-03-02"));
    assert_int_equal(field(&ann->cur, REPORT_F_CALLS), 2);
    assert_int_equal(field(&ann->prev, REPORT_F_CALLS), 4);
    double abs, pct;
    assert_int_equal(report_change(&ann->cur, &ann->prev, REPORT_F_CALLS, &abs, &pct), 3);
    assert_near(abs, -2, 0);
    assert_near(pct, -50, 1e-12);
    assert_int_equal(report_change(&ann->cur, &ann->prev, REPORT_F_CONVERSION_RATE, &abs, &pct),
                     3);
    assert_near(abs, 0.5, 1e-12); /* 1/1 against 1/2 */
    assert_near(pct, 100, 1e-9);
    assert_int_equal(field(&dan->cur, REPORT_F_CALLS), 0);
    assert_int_equal(field(&dan->prev, REPORT_F_CALLS), 1);
    report_rows_free(&rows);
    report_book_free(b);
}

static void test_weeks_clip_and_compare(void **state)
{
    (void)state;
    struct report_book *b = report_book_new(480);
    /* Week 2026-W10 is Mon 03-02 .. Sun 03-08; W09 is 02-23 .. 03-01. */
    cdr(b, 1, "2026-02-25", "ann", 7, "answered", 1000); /* W09 Wed */
    cdr(b, 1, "2026-02-23", "ann", 7, "answered", 1000); /* W09 Mon: before the clip */
    cdr(b, 1, "2026-03-04", "ann", 7, "answered", 1000); /* W10 Wed */
    cdr(b, 1, "2026-03-05", "ann", 7, "busy", 0);        /* W10 Thu */
    cdr(b, 1, "2026-03-09", "ann", 7, "busy", 0);        /* W11 Mon */
    struct report_query q = {.tenant = 1, .from_day = day_of("2026-03-04"),
                             .to_day = day_of("2026-03-09"), .period = REPORT_BY_WEEK,
                             .key = REPORT_KEY_AGENT, .department = dept_of};
    struct report_rows rows;
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(rows.n, 2);
    const struct report_row *w10 = &rows.rows[0], *w11 = &rows.rows[1];
    assert_int_equal(w10->period_day, day_of("2026-03-02"));
    assert_int_equal(w10->first_day, day_of("2026-03-04")); /* clipped to from */
    assert_int_equal(w10->last_day, day_of("2026-03-08"));
    assert_int_equal(field(&w10->cur, REPORT_F_CALLS), 2);
    /* The same days one week earlier: Wed 02-25 .. Sun 03-01, not Monday 02-23. */
    assert_int_equal(field(&w10->prev, REPORT_F_CALLS), 1);
    assert_int_equal(w11->first_day, day_of("2026-03-09"));
    assert_int_equal(w11->last_day, day_of("2026-03-09"));
    assert_int_equal(field(&w11->cur, REPORT_F_CALLS), 1);
    assert_int_equal(field(&w11->prev, REPORT_F_CALLS), 0); /* Monday 03-02: nothing */
    report_rows_free(&rows);
    report_book_free(b);
}

static void test_campaigns_departments_range(void **state)
{
    (void)state;
    struct report_book *b = sample();
    struct report_query q = {.tenant = 1, .from_day = day_of("2026-03-01"),
                             .to_day = day_of("2026-03-02"), .period = REPORT_BY_RANGE,
                             .key = REPORT_KEY_CAMPAIGN, .department = dept_of};
    struct report_rows rows;
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.rows[0].campaign, 7);
    assert_int_equal(field(&rows.rows[0].cur, REPORT_F_CALLS), 7); /* with the abandoned call */
    assert_int_equal(field(&rows.rows[0].cur, REPORT_F_ABANDONED), 1);
    assert_int_equal(field(&rows.rows[0].cur, REPORT_F_CONVERSIONS), 2);
    assert_int_equal(rows.rows[1].campaign, 8);
    assert_int_equal(rows.rows[0].first_day, day_of("2026-03-01"));
    assert_int_equal(rows.rows[0].last_day, day_of("2026-03-02"));
    report_rows_free(&rows);
    /* A supervisor of "west": only dan's calls, never the calls nobody took. */
    q.only_department = "west";
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(rows.n, 1);
    assert_int_equal(field(&rows.rows[0].cur, REPORT_F_CALLS), 1);
    report_rows_free(&rows);
    q.only_department = NULL;
    q.key = REPORT_KEY_DEPARTMENT;
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.rows[0].department, "east");
    assert_int_equal(field(&rows.rows[0].cur, REPORT_F_CALLS), 6);
    assert_string_equal(rows.rows[1].department, "west");
    report_rows_free(&rows);
    q.from_day = q.to_day + 1;
    assert_int_equal(report_query_run(b, &q, &rows), WAIHU_EINVAL);
    report_book_free(b);
}

static void test_disposition_replaced_and_deleted(void **state)
{
    (void)state;
    struct report_book *b = report_book_new(0);
    struct report_counts c;
    struct report_query q = {.tenant = 1, .from_day = 0, .to_day = 100000,
                             .period = REPORT_BY_RANGE, .key = REPORT_KEY_AGENT,
                             .department = dept_of};
    struct report_rows rows;
    disp(b, 9, "2026-03-01", "ann", 7, "callback");
    disp(b, 9, "2026-03-01", "ann", 7, "sale"); /* recorded again: replaces */
    disp(b, 10, "2026-03-01", "ann", 7, "gibberish");
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(rows.n, 1);
    c = rows.rows[0].cur;
    assert_int_equal(field(&c, REPORT_F_CALLBACK), 0);
    assert_int_equal(field(&c, REPORT_F_CONVERSIONS), 1);
    assert_int_equal(field(&c, REPORT_F_OTHER_DISPOSITION), 1);
    report_rows_free(&rows);
    report_delete_disposition(b, 1, 2, 9);
    report_delete_disposition(b, 1, 2, 9);  /* twice: nothing more */
    report_delete_disposition(b, 1, 2, 77); /* unknown */
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(field(&rows.rows[0].cur, REPORT_F_CONVERSIONS), 0);
    report_rows_free(&rows);
    /* Many puts and deletes: the table grows and reuses dead slots. */
    for (uint64_t i = 100; i < 5000; i++) {
        disp(b, i, "2026-03-02", "bob", 7, "sale");
        if (i % 2 == 0) {
            report_delete_disposition(b, 1, 2, i);
        }
    }
    q.key = REPORT_KEY_DEPARTMENT;
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(field(&rows.rows[0].cur, REPORT_F_CONVERSIONS), 2450);
    report_rows_free(&rows);
    report_book_free(b);
}

static void test_many_cells(void **state)
{
    (void)state;
    struct report_book *b = report_book_new(480);
    char name[16];
    char day[11];
    for (int a = 0; a < 50; a++) {
        snprintf(name, sizeof name, "agent%d", a);
        for (int d = 0; d < 90; d++) {
            report_day_format(day_of("2026-01-01") + d, day);
            for (uint64_t k = 1; k <= 3; k++) {
                cdr(b, 1, day, name, k, "answered", 1000);
            }
        }
    }
    assert_int_equal(report_book_cells(b), 50 * 90 * 3);
    struct report_query q = {.tenant = 1, .from_day = day_of("2026-01-01"),
                             .to_day = day_of("2026-03-31"), .period = REPORT_BY_WEEK,
                             .key = REPORT_KEY_CAMPAIGN};
    struct report_rows rows;
    assert_int_equal(report_query_run(b, &q, &rows), 0);
    assert_int_equal(rows.n, 14 * 3); /* W01 (from Thu 01-01) .. W14 (ends Tue 03-31) */
    uint64_t sum = 0;
    for (size_t i = 0; i < rows.n; i++) {
        sum += rows.rows[i].cur.calls;
    }
    assert_int_equal(sum, 50 * 90 * 3);
    report_rows_free(&rows);
    report_book_free(b);
}

static const struct report_rank *rank_of(const struct report_ranking *r, const char *agent)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->ranks[i].agent, agent) == 0) {
            return &r->ranks[i];
        }
    }
    fail_msg("%s not ranked", agent);
    return NULL;
}

static void calls_on(struct report_book *b, const char *agent, const char *day, int n,
                     int answered)
{
    for (int i = 0; i < n; i++) {
        cdr(b, 1, day, agent, 7, i < answered ? "answered" : "no-answer", 1000);
    }
}

static void test_rankings(void **state)
{
    (void)state;
    struct report_book *b = report_book_new(480);
    /* east: ann 15 calls a day over 2 days (all answered), bob 20 in his one day (half
     * answered); west: dan alone. */
    calls_on(b, "ann", "2026-03-01", 15, 15);
    calls_on(b, "ann", "2026-03-02", 15, 15);
    calls_on(b, "bob", "2026-03-01", 20, 10);
    calls_on(b, "dan", "2026-03-01", 4, 1); /* west, alone */
    calls_on(b, "ghost", "2026-03-01", 99, 0); /* not an agent any more */
    calls_on(b, "", "2026-03-01", 50, 0);
    struct report_query q = {.tenant = 1, .from_day = day_of("2026-03-01"),
                             .to_day = day_of("2026-03-07"), .department = dept_of};
    struct report_ranking r;
    assert_int_equal(report_rank_run(b, &q, REPORT_M_CALLS_PER_DAY, true, &r), 0);
    assert_int_equal(r.n, 3);
    const struct report_rank *ann = rank_of(&r, "ann"), *bob = rank_of(&r, "bob"),
                             *dan = rank_of(&r, "dan");
    assert_int_equal(ann->days_worked, 2);
    assert_near(ann->value, 15, 1e-12);
    assert_near(bob->value, 20, 1e-12); /* one day worked */
    assert_int_equal(bob->rank, 1);
    assert_int_equal(ann->rank, 2);
    assert_near(ann->group_mean, 17.5, 1e-12);
    assert_false(ann->flagged);
    assert_string_equal(dan->group, "west");
    assert_int_equal(dan->group_size, 1);
    assert_false(dan->flagged);
    report_ranking_free(&r);

    /* Connect rate: ann 1.0, bob 0.5; mean 0.75, 0.8 * 0.75 = 0.6: bob flagged. */
    assert_int_equal(report_rank_run(b, &q, REPORT_M_CONNECT_RATE, true, &r), 0);
    bob = rank_of(&r, "bob");
    assert_near(bob->value, 0.5, 1e-12);
    assert_true(bob->flagged);
    assert_near(bob->vs_mean, 0.5 / 0.75 - 1, 1e-12);
    report_ranking_free(&r);

    /* Exactly 20% below the mean is flagged: 15 and 10 a day, mean 12.5. */
    struct report_book *b2 = report_book_new(480);
    calls_on(b2, "ann", "2026-03-01", 15, 15);
    calls_on(b2, "bob", "2026-03-01", 10, 10);
    assert_int_equal(report_rank_run(b2, &q, REPORT_M_CALLS_PER_DAY, false, &r), 0);
    assert_int_equal(r.n, 2);
    assert_null(r.ranks[0].group);
    assert_true(rank_of(&r, "bob")->flagged);
    assert_false(rank_of(&r, "ann")->flagged);
    report_ranking_free(&r);
    calls_on(b2, "bob", "2026-03-01", 1, 1); /* 11 a day: 12% below, not flagged */
    assert_int_equal(report_rank_run(b2, &q, REPORT_M_CALLS_PER_DAY, false, &r), 0);
    assert_false(rank_of(&r, "bob")->flagged);
    report_ranking_free(&r);
    report_book_free(b2);

    /* Conversion rate: undefined without an answered call; not ranked, not in the mean. */
    assert_int_equal(report_rank_run(b, &q, REPORT_M_CONVERSION_RATE, false, &r), 0);
    assert_int_equal(r.n, 3);
    for (size_t i = 0; i < r.n; i++) {
        assert_true(r.ranks[i].has_value); /* all answered at least one call */
        assert_near(r.ranks[i].value, 0, 0);
        assert_false(r.ranks[i].flagged); /* mean 0: nobody is below */
    }
    report_ranking_free(&r);
    /* A supervisor's ranking: its department only. */
    q.only_department = "west";
    assert_int_equal(report_rank_run(b, &q, REPORT_M_CONNECT_RATE, true, &r), 0);
    assert_int_equal(r.n, 1);
    report_ranking_free(&r);

    enum report_metric m;
    assert_int_equal(report_metric_parse("connect_rate", &m), 0);
    assert_int_equal(m, REPORT_M_CONNECT_RATE);
    assert_string_equal(report_metric_name(REPORT_M_CALLS_PER_DAY), "calls_per_day");
    assert_int_equal(report_metric_parse("calls_per_hour", &m), WAIHU_EINVAL);
    report_book_free(b);
}

static void test_undefined_conversion_not_ranked(void **state)
{
    (void)state;
    struct report_book *b = report_book_new(0);
    cdr(b, 1, "2026-03-01", "ann", 7, "answered", 1000);
    cdr(b, 1, "2026-03-01", "bob", 7, "busy", 0);
    disp(b, 1, "2026-03-01", "ann", 7, "sale");
    struct report_query q = {.tenant = 1, .from_day = day_of("2026-03-01"),
                             .to_day = day_of("2026-03-01"), .department = dept_of};
    struct report_ranking r;
    assert_int_equal(report_rank_run(b, &q, REPORT_M_CONVERSION_RATE, false, &r), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.ranks[0].agent, "ann");
    assert_int_equal(r.ranks[0].rank, 1);
    assert_int_equal(r.ranks[0].group_size, 1);
    assert_false(r.ranks[1].has_value);
    assert_int_equal(r.ranks[1].rank, 0);
    report_ranking_free(&r);
    report_book_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_iso_weeks),
        cmocka_unit_test(test_local_day),
        cmocka_unit_test(test_counts_and_fields),
        cmocka_unit_test(test_previous_day),
        cmocka_unit_test(test_weeks_clip_and_compare),
        cmocka_unit_test(test_campaigns_departments_range),
        cmocka_unit_test(test_disposition_replaced_and_deleted),
        cmocka_unit_test(test_many_cells),
        cmocka_unit_test(test_rankings),
        cmocka_unit_test(test_undefined_conversion_not_ranked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
