/* Random bytes from a per-thread buffer of OpenSSL DRBG output. RAND_bytes checks the
 * process id on every call (a getpid syscall): a bulk import asks for five small values
 * per row and spent more time there than in AES. */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "common.h"

#define POOL_BYTES 4096

struct pool {
    uint8_t buf[POOL_BYTES];
    size_t used;
    unsigned generation;
};

static _Thread_local struct pool pool = {.used = POOL_BYTES};
static atomic_uint generation;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A child must never hand out bytes its parent also holds. */
static void after_fork_child(void)
{
    atomic_fetch_add(&generation, 1);
}

static void install(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

int random_bytes(void *out, size_t n)
{
    pthread_once(&once, install);
    if (n > POOL_BYTES / 4) {
        return RAND_bytes(out, (int)n) == 1 ? 0 : WAIHU_EIO;
    }
    unsigned gen = atomic_load(&generation);
    if (pool.generation != gen || POOL_BYTES - pool.used < n) {
        if (RAND_bytes(pool.buf, POOL_BYTES) != 1) {
            return WAIHU_EIO;
        }
        pool.used = 0;
        pool.generation = gen;
    }
    memcpy(out, pool.buf + pool.used, n);
    /* Served bytes do not stay in memory. */
    memset(pool.buf + pool.used, 0, n);
    pool.used += n;
    return 0;
}
