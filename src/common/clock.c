/* One injectable clock for the whole process (STYLE.md: tests use virtual time). */
#include <time.h>

#include "common.h"

static uint64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t real_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t (*now_fn)(void) = real_now_ms;
static int64_t (*wall_fn)(void) = real_wall_ms;

uint64_t clock_now_ms(void) { return now_fn(); }
int64_t clock_wall_ms(void) { return wall_fn(); }

void clock_set_source(uint64_t (*now_ms)(void), int64_t (*wall_ms)(void))
{
    now_fn = now_ms ? now_ms : real_now_ms;
    wall_fn = wall_ms ? wall_ms : real_wall_ms;
}
