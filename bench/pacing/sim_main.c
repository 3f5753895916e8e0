/* pacing_sim: runs the scenarios of issue 5 against every policy and prints,
 * per scenario, occupancy, idle time, calls and connects per agent-hour and
 * abandon rates (per day, worst day, over the whole run).
 *
 *   pacing_sim [--shard i/n] [--only NAME] [--days N] [--days-500 N] [--quiet]
 *   pacing_sim --scenario key=value,... [--quiet]
 *
 * --scenario runs one custom scenario instead of the built-in ones (keys in
 * sim_scenario.c), e.g. the world of a live run (bench/campaign_live).
 * Lines starting with ROW and DAYS are for scripts (bench/pacing/run.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define MAX_SCEN 32
#define LEGAL_CAP 0.03

static uint32_t make_scenarios(struct scenario *out, uint32_t days, uint32_t days_500)
{
    static char names[MAX_SCEN][32];
    static const uint32_t teams[] = {5, 20, 100, 500};
    static const double rates[] = {0.10, 0.25, 0.50};
    uint32_t n = 0;
    for (size_t t = 0; t < sizeof(teams) / sizeof(*teams); t++) {
        for (size_t r = 0; r < sizeof(rates) / sizeof(*rates); r++) {
            struct scenario *s = &out[n];
            snprintf(names[n], sizeof(names[n]), "a%u_r%02d_t120", teams[t], (int)(rates[r] * 100 + 0.5));
            *s = (struct scenario){
                .name = names[n], .agents = teams[t], .answer_rate = rates[r], .machine_rate = 0.20,
                .talk_mean_s = 120, .talk_sigma = 0.8, .wrap_lo_s = 10, .wrap_hi_s = 30,
                .days = teams[t] >= 500 ? days_500 : days, .shift_s = 8 * 3600,
                .drop_factor = 0.6, .drop_from_s = 4 * 3600, .drop_to_s = 6 * 3600,
                .seed = 1000 + 17 * n,
            };
            n++;
        }
    }
    static const double talks[] = {90, 240};
    for (size_t i = 0; i < sizeof(talks) / sizeof(*talks); i++) {
        struct scenario *s = &out[n];
        snprintf(names[n], sizeof(names[n]), "a20_r25_t%u", (unsigned)talks[i]);
        *s = out[4]; /* a20_r25_t120 */
        s->name = names[n];
        s->talk_mean_s = talks[i];
        s->seed = 5000 + i;
        n++;
    }
    return n;
}

/* Rough cost, to balance shards: the model's work grows ~ with sqrt(team). */
static double cost(const struct scenario *s)
{
    return s->days * sqrt((double)s->agents) * (s->answer_rate < 0.2 ? 1.3 : 1.0);
}

/* Greedy longest-first assignment of scenarios to shards. */
static void assign_shards(const struct scenario *sc, uint32_t n, uint32_t shards, uint32_t *shard_of)
{
    double load[64] = {0};
    int done[MAX_SCEN] = {0};
    for (uint32_t k = 0; k < n; k++) {
        uint32_t best = 0;
        for (uint32_t i = 0; i < n; i++)
            if (!done[i] && (done[best] || cost(&sc[i]) > cost(&sc[best])))
                best = i;
        done[best] = 1;
        uint32_t lightest = 0;
        for (uint32_t j = 1; j < shards; j++)
            if (load[j] < load[lightest])
                lightest = j;
        load[lightest] += cost(&sc[best]);
        shard_of[best] = lightest;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint32_t shard = 0, shards = 1, days = 30, days_500 = 2;
    const char *only = NULL, *spec = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
            if (sscanf(argv[++i], "%u/%u", &shard, &shards) != 2 || shards == 0 || shards > 64 ||
                shard >= shards) {
                fprintf(stderr, "--shard i/n with 0 <= i < n <= 64\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--days") && i + 1 < argc) {
            days = (uint32_t)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--days-500") && i + 1 < argc) {
            days_500 = (uint32_t)atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--scenario") && i + 1 < argc) {
            spec = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--shard i/n] [--only NAME] [--days N] [--days-500 N] [--quiet]\n"
                            "       %s --scenario key=value,... [--quiet]\n",
                    argv[0], argv[0]);
            return 2;
        }
    }
    if (days < 1 || days > SIM_MAX_DAYS || days_500 < 1 || days_500 > SIM_MAX_DAYS) {
        fprintf(stderr, "days must be 1..%d\n", SIM_MAX_DAYS);
        return 2;
    }
    struct scenario sc[MAX_SCEN];
    struct sim_custom custom;
    static char custom_name[32];
    uint32_t n, shard_of[MAX_SCEN] = {0};
    if (spec) {
        char err[160];
        if (sim_scenario_parse(spec, &sc[0], &custom, custom_name, sizeof custom_name, err,
                               sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
        n = 1;
        shard = 0;
        only = NULL;
    } else {
        n = make_scenarios(sc, days, days_500);
        assign_shards(sc, n, shards, shard_of);
    }
    for (uint32_t s = 0; s < n; s++) {
        if (only && strcmp(only, sc[s].name))
            continue;
        if (!only && shard_of[s] != shard)
            continue;
        double t0 = now_s();
        struct run_stats rs[POL_COUNT + 1];
        double tp[POL_COUNT + 1] = {0};
        int np = POL_COUNT;
        for (int p = 0; p < POL_COUNT; p++) {
            double t1 = now_s();
            sim_run(&sc[s], (enum policy_kind)p, LEGAL_CAP, &rs[p]);
            tp[p] = now_s() - t1;
        }
        /* "At an equal or lower abandon rate": when the VICIdial-style baseline
         * abandoned less, rerun predictive with its cap set to that rate. */
        double vici_rate = rs[POL_VICIDIAL].abandon_total;
        if (vici_rate < rs[POL_PREDICTIVE].abandon_total) {
            double t1 = now_s();
            sim_run(&sc[s], POL_MATCHED, vici_rate > 1e-4 ? vici_rate : 1e-4, &rs[POL_MATCHED]);
            tp[POL_MATCHED] = now_s() - t1;
            np = POL_COUNT + 1;
        }
        if (!quiet && sc[s].custom) {
            char what[512];
            sim_scenario_describe(&sc[s], what, sizeof what);
            printf("\n== %s: %s\n", sc[s].name, what);
        } else if (!quiet) {
            printf("\n== %s: %u agents, answer %.0f%% (x%.1f from %uh to %uh), machines %.0f%% of answers, "
                   "talk lognormal mean %.0f s, wrap %.0f-%.0f s, %u days x %u h\n",
                   sc[s].name, sc[s].agents, sc[s].answer_rate * 100, sc[s].drop_factor,
                   sc[s].drop_from_s / 3600, sc[s].drop_to_s / 3600, sc[s].machine_rate * 100,
                   sc[s].talk_mean_s, sc[s].wrap_lo_s, sc[s].wrap_hi_s, sc[s].days, sc[s].shift_s / 3600);
        }
        if (!quiet) {
            printf("%-12s %9s %7s %9s %9s %10s %10s %10s\n", "policy", "occupancy", "idle%", "calls/ah",
                   "conn/ah", "aband.all", "aband.max", "aband.mean");
        }
        for (int p = 0; p < np; p++) {
            const struct run_stats *r = &rs[p];
            if (!quiet)
                printf("%-12s %8.2f%% %6.2f%% %9.1f %9.2f %9.2f%% %9.2f%% %9.2f%%\n", sim_policy_name(r->policy),
                       r->occupancy * 100, (1 - r->occupancy) * 100, r->calls_per_ah, r->connects_per_ah,
                       r->abandon_total * 100, r->abandon_max_day * 100, r->abandon_mean_day * 100);
            printf("ROW %s %u %.2f %.0f %s %.5f %.5f %.3f %.3f %.5f %.5f %.5f %u\n", sc[s].name, sc[s].agents,
                   sc[s].answer_rate, sc[s].talk_mean_s, sim_policy_name(r->policy), r->occupancy,
                   1 - r->occupancy, r->calls_per_ah, r->connects_per_ah, r->abandon_total,
                   r->abandon_max_day, r->abandon_mean_day, r->days);
        }
        const struct run_stats *pr = &rs[POL_PREDICTIVE];
        printf("DAYS %s predictive abandon%%:", sc[s].name);
        for (uint32_t d = 0; d < pr->days; d++) {
            const struct day_stats *ds = &pr->day[d];
            printf(" %.2f", ds->live ? 100.0 * (double)ds->abandoned / (double)ds->live : 0.0);
        }
        printf("\n");
        if (!quiet)
            printf("predictive: mean threshold %.3f, mean target %.4f; %.1f s\n", pr->theta_mean,
                   pr->target_mean, now_s() - t0);
        fflush(stdout);
        fprintf(stderr, "%s done in %.1f s (", sc[s].name, now_s() - t0);
        for (int p = 0; p < np; p++)
            fprintf(stderr, "%s%s %.1f", p ? ", " : "", sim_policy_name((enum policy_kind)p), tp[p]);
        fprintf(stderr, ")\n");
    }
    return 0;
}
