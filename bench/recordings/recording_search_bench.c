/* Searches over N catalogued recordings (default 1,000,000) in the index every node keeps
 * (src/api/recording_index.c): one tenant, 180 days of calls, 200 agents, 50 campaigns,
 * 100,000 customers, five dispositions. Each query runs R times (default 50); prints the
 * median and the worst time per query, and the index's memory. The API adds the point
 * reads of one page of rows (at most 200) and the audit commit to these figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recording_index.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int runs = argc > 2 ? atoi(argv[2]) : 50;
    struct rec_index *ix = rec_index_new();
    const char *disp[] = {"sale", "callback", "not_interested", "wrong_number", "other"};
    uint32_t agents[200], disps[5];
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "agent%d", i + 1);
        agents[i] = rec_index_name(ix, name);
    }
    for (int i = 0; i < 5; i++) {
        disps[i] = rec_index_name(ix, disp[i]);
    }
    const int64_t t0 = 1790000000000LL, span = 180LL * 86400 * 1000;
    double start = now_ms();
    for (size_t i = 0; i < n; i++) { /* in time order, as calls end */
        struct rec_index_entry e = {
            .tenant = 1,
            .start_ms = t0 + (int64_t)((double)span * (double)i / (double)n),
            .node = 1 + next() % 3,
            .call = i + 1,
            .customer = 1 + next() % 100000,
            .campaign = 1 + next() % 50,
            .duration_ms = 5000 + (uint32_t)(next() % 600000),
            .agent = agents[next() % 200],
            .disposition = next() % 3 ? disps[next() % 5] : REC_INDEX_NO_NAME,
        };
        rec_index_put(ix, &e);
    }
    printf("loaded %zu recordings in %.0f ms; index %.1f MB\n", rec_index_size(ix),
           now_ms() - start, (double)n * sizeof(struct rec_index_entry) / 1e6);
    struct {
        const char *what;
        struct recording_query q;
    } qs[] = {
        {"newest page (no filter)", {.limit = 50}},
        {"one customer, all time (a full scan)", {.has_customer = true, .customer_id = 4242,
                                                 .limit = 50}},
        {"one agent, last 30 days", {.agent = "agent17", .from_ms = t0 + span - 30 * 86400000LL,
                                     .limit = 50}},
        {"campaign + disposition + duration > 9 min", {.has_campaign = true, .campaign_id = 7,
                                                       .disposition = "sale",
                                                       .min_duration_ms = 540000, .limit = 200}},
        {"a customer nobody called (no match, full scan)", {.has_customer = true,
                                                           .customer_id = 999999999,
                                                           .limit = 50}},
    };
    static struct rec_hit hits[RECORDING_PAGE_MAX];
    double *t = malloc((size_t)runs * sizeof *t);
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        struct recording_query *q = &qs[k].q;
        if (q->to_ms == 0) {
            q->to_ms = INT64_MAX;
        }
        q->max_duration_ms = UINT32_MAX;
        int got = 0;
        bool more = false;
        for (int r = 0; r < runs; r++) {
            double a = now_ms();
            got = rec_index_search(ix, 1, NULL, q, NULL, NULL, hits, &more);
            t[r] = now_ms() - a;
        }
        qsort(t, (size_t)runs, sizeof *t, cmp_double);
        printf("%-48s hits %3d%s  median %7.3f ms  max %7.3f ms\n", qs[k].what, got,
               more ? "+" : " ", t[runs / 2], t[runs - 1]);
    }
    free(t);
    rec_index_free(ix);
    return 0;
}
