/* sofia-sip's timers run on su_now(), the wall clock: a clock stepped by NTP or an
 * operator made nta's timer code assert (nta.c agent_timer) and the node abort (seen with
 * libfaketime moving a node's clock). Debian's sofia-sip 1.12.11 exports _su_time, a hook
 * su_time() calls with the time it read; ours replaces it with the wall clock at the first
 * call plus the monotonic time elapsed since, so sofia's clock never jumps. Nothing we
 * send takes a wall time from sofia (no Date headers; CDR times come from the core). */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <sofia-sip/su_time.h>

#include "engine_internal.h"

#define NTP_EPOCH 2208988800ULL /* seconds from 1900 (sofia's epoch) to 1970 */

extern void (*_su_time)(su_time_t *tv);

static int64_t wall0_ns, mono0_ns;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int64_t ns_of(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void steady_time(su_time_t *tv)
{
    int64_t ns = wall0_ns + (ns_of(CLOCK_MONOTONIC) - mono0_ns);
    tv->tv_sec = (unsigned long)(ns / 1000000000 + (int64_t)NTP_EPOCH);
    tv->tv_usec = (unsigned long)(ns % 1000000000 / 1000);
}

static void install(void)
{
    wall0_ns = ns_of(CLOCK_REALTIME);
    mono0_ns = ns_of(CLOCK_MONOTONIC);
    _su_time = steady_time;
}

void sip_steady_clock_install(void)
{
    pthread_once(&once, install);
}
