/* One custom scenario from the command line (pacing_sim --scenario), to simulate the
 * world of a live run (bench/campaign_live) instead of the built-in ones:
 *
 *   name=S agents=N answer=P machine=P ring=D ring_out=P talk=D detect=D
 *   wrap=LO-HI grace_ms=N tick_ms=N guard=0|1 shift_s=N days=N seed=N
 *
 * comma-separated. D is KIND:A[:B][@MIN-MAX] in seconds: fixed:V, uniform:LO:HI,
 * normal:MEAN:SD, exp:MEAN, lognormal:MEAN:SHAPE, clamped to [MIN, MAX]. Keys left out
 * take the built-in world's values (docs/pacing.md "Simulator"), except that unanswered
 * calls that do not ring out fail at once and the answer rate does not drop mid-day.
 * guard=1 passes predictive launches through the live dialer's abandon guard
 * (campaign.h campaign_abandon_guard), as every node's dialer does. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static int num(const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || !(x >= lo && x <= hi))
        return -1;
    *out = x;
    return 0;
}

/* "KIND:A[:B][@MIN-MAX]" in seconds -> d in ms. */
static int dist(const char *v, struct sim_dist *d)
{
    static const struct {
        const char *name;
        enum sim_dist_kind kind;
        int args;
    } kinds[] = {{"fixed", SIM_DIST_FIXED, 1},   {"uniform", SIM_DIST_UNIFORM, 2},
                 {"normal", SIM_DIST_NORMAL, 2}, {"exp", SIM_DIST_EXP, 1},
                 {"lognormal", SIM_DIST_LOGNORMAL, 2}};
    char buf[96], *clamp, *arg[3] = {NULL, NULL, NULL};
    if (strlen(v) >= sizeof buf)
        return -1;
    strcpy(buf, v);
    if ((clamp = strchr(buf, '@')) != NULL)
        *clamp++ = '\0';
    int n = 0;
    for (char *p = buf, *q; p && n < 3; p = q) {
        q = strchr(p, ':');
        if (q)
            *q++ = '\0';
        arg[n++] = p;
    }
    size_t k = 0;
    while (k < sizeof kinds / sizeof *kinds && strcmp(kinds[k].name, arg[0]) != 0)
        k++;
    if (k == sizeof kinds / sizeof *kinds || n != 1 + kinds[k].args)
        return -1;
    double a, b = 0;
    if (num(arg[1], 0, 1e6, &a) || (n == 3 && num(arg[2], 0, 1e6, &b)))
        return -1;
    *d = (struct sim_dist){.kind = kinds[k].kind, .a_ms = a * 1000, .b_ms = b * 1000,
                           .min_ms = 0, .max_ms = 1e12};
    if (d->kind == SIM_DIST_LOGNORMAL)
        d->b_ms = b; /* a shape, not a time */
    if (d->kind == SIM_DIST_UNIFORM && b < a)
        return -1;
    if (clamp) {
        char *dash = strchr(clamp, '-');
        double lo, hi;
        if (!dash)
            return -1;
        *dash = '\0';
        if (num(clamp, 0, 1e6, &lo) || num(dash + 1, lo, 1e6, &hi))
            return -1;
        d->min_ms = lo * 1000;
        d->max_ms = hi * 1000;
    }
    return 0;
}

static double dist_mean_s(const struct sim_dist *d)
{
    return (d->kind == SIM_DIST_UNIFORM ? (d->a_ms + d->b_ms) / 2 : d->a_ms) / 1000;
}

static int set(const char *key, const char *v, struct scenario *sc, struct sim_custom *cu,
               char *name_buf, size_t name_len)
{
    double x, y;
    if (!strcmp(key, "name")) {
        if (!*v || strlen(v) >= name_len)
            return -1;
        strcpy(name_buf, v);
    } else if (!strcmp(key, "agents")) {
        if (num(v, 1, 5000, &x))
            return -1;
        sc->agents = (uint32_t)x;
    } else if (!strcmp(key, "answer")) {
        return num(v, 0, 1, &sc->answer_rate);
    } else if (!strcmp(key, "machine")) {
        return num(v, 0, 1, &sc->machine_rate);
    } else if (!strcmp(key, "ring_out")) {
        return num(v, 0, 1, &cu->ring_out);
    } else if (!strcmp(key, "ring")) {
        return dist(v, &cu->ring);
    } else if (!strcmp(key, "talk")) {
        if (dist(v, &cu->talk))
            return -1;
        sc->talk_mean_s = dist_mean_s(&cu->talk); /* for the printed tables */
    } else if (!strcmp(key, "detect")) {
        return dist(v, &cu->detect);
    } else if (!strcmp(key, "wrap")) {
        const char *dash = strchr(v, '-');
        char lo[32];
        if (!dash || (size_t)(dash - v) >= sizeof lo)
            return -1;
        memcpy(lo, v, (size_t)(dash - v));
        lo[dash - v] = '\0';
        if (num(lo, 0, 3600, &x) || num(dash + 1, x, 3600, &y))
            return -1;
        sc->wrap_lo_s = x;
        sc->wrap_hi_s = y;
    } else if (!strcmp(key, "grace_ms")) {
        if (num(v, 0, 60000, &x))
            return -1;
        cu->grace_ms = (uint32_t)x;
    } else if (!strcmp(key, "tick_ms")) {
        if (num(v, 10, 60000, &x))
            return -1;
        cu->tick_ms = (uint32_t)x;
    } else if (!strcmp(key, "guard")) {
        if (num(v, 0, 1, &x) || (x != 0 && x != 1))
            return -1;
        cu->abandon_guard = (int)x;
    } else if (!strcmp(key, "shift_s")) {
        if (num(v, 10, 86400, &x))
            return -1;
        sc->shift_s = (uint32_t)x;
    } else if (!strcmp(key, "days")) {
        if (num(v, 1, SIM_MAX_DAYS, &x))
            return -1;
        sc->days = (uint32_t)x;
    } else if (!strcmp(key, "seed")) {
        if (num(v, 0, 4e9, &x))
            return -1;
        sc->seed = (uint64_t)x;
    } else {
        return -2;
    }
    return 0;
}

int sim_scenario_parse(const char *spec, struct scenario *sc, struct sim_custom *cu,
                       char *name_buf, size_t name_len, char *err, size_t err_len)
{
    /* The built-in world's values (sim_main.c, sim_engine.c lead_draw). */
    *cu = (struct sim_custom){
        .ring = {SIM_DIST_LOGNORMAL, 9000, 0.5, 2000, 24000},
        .ring_out = 0.7,
        .talk = {SIM_DIST_LOGNORMAL, 120000, 0.8, 5000, 1e12},
        .detect = {SIM_DIST_UNIFORM, 600, 2000, 0, 1e12},
        .grace_ms = 2000,
        .tick_ms = 1000,
    };
    snprintf(name_buf, name_len, "custom");
    *sc = (struct scenario){
        .name = name_buf, .custom = cu, .agents = 20, .answer_rate = 0.25, .machine_rate = 0.20,
        .talk_mean_s = 120, .talk_sigma = 0.8, .wrap_lo_s = 10, .wrap_hi_s = 30, .days = 1,
        .shift_s = 8 * 3600, .drop_factor = 1.0, .seed = 1,
    };
    char buf[1024];
    if (strlen(spec) >= sizeof buf) {
        snprintf(err, err_len, "--scenario: longer than %zu characters", sizeof buf - 1);
        return -1;
    }
    strcpy(buf, spec);
    for (char *item = strtok(buf, ","); item; item = strtok(NULL, ",")) {
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(err, err_len, "--scenario: %s: want key=value", item);
            return -1;
        }
        *eq = '\0';
        int rc = set(item, eq + 1, sc, cu, name_buf, name_len);
        if (rc == -2) {
            snprintf(err, err_len, "--scenario: unknown key %s", item);
            return -1;
        }
        if (rc) {
            snprintf(err, err_len, "--scenario: %s: bad value \"%s\" (see sim_scenario.c)", item,
                     eq + 1);
            return -1;
        }
    }
    return 0;
}

static void describe_dist(const struct sim_dist *d, char *buf, size_t len)
{
    static const char *const names[] = {"fixed", "uniform", "normal", "exp", "lognormal"};
    double b = d->kind == SIM_DIST_LOGNORMAL ? d->b_ms : d->b_ms / 1000;
    int n = snprintf(buf, len, "%s %g", names[d->kind], d->a_ms / 1000);
    if (d->kind == SIM_DIST_UNIFORM || d->kind == SIM_DIST_NORMAL || d->kind == SIM_DIST_LOGNORMAL)
        n += snprintf(buf + n, len - (size_t)n, "/%g", b);
    if (d->min_ms > 0 || d->max_ms < 1e12)
        snprintf(buf + n, len - (size_t)n, " in [%g, %g]", d->min_ms / 1000, d->max_ms / 1000);
}

void sim_scenario_describe(const struct scenario *sc, char *buf, size_t len)
{
    const struct sim_custom *cu = sc->custom;
    char ring[64], talk[64], detect[64];
    describe_dist(&cu->ring, ring, sizeof ring);
    describe_dist(&cu->talk, talk, sizeof talk);
    describe_dist(&cu->detect, detect, sizeof detect);
    snprintf(buf, len,
             "%u agents, answer %.0f%%, machines %.0f%% of answers, ring %s s (%.0f%% of "
             "unanswered ring out, the rest fail at once), talk %s s, AMD verdict %s s, wrap "
             "%g-%g s, grace %u ms, decisions every %u ms%s, %u days x %u s",
             sc->agents, sc->answer_rate * 100, sc->machine_rate * 100, ring, cu->ring_out * 100,
             talk, detect, sc->wrap_lo_s, sc->wrap_hi_s, cu->grace_ms, cu->tick_ms,
             cu->abandon_guard ? ", live abandon guard" : "", sc->days, sc->shift_s);
}
