/* Token buckets per key in an open-addressing table; stale keys are swept so a client
 * inventing keys cannot grow it without bound (the table has a fixed size). */
#include <stdlib.h>
#include <string.h>

#include "auth.h"

#define SLOTS 4096
#define KEY_MAX 64
#define IDLE_MS 60000

struct bucket {
    char key[KEY_MAX];
    double tokens;
    uint64_t last_ms;
};

struct auth_ratelimit {
    double rate_per_s;
    double burst;
    struct bucket slots[SLOTS];
};

struct auth_ratelimit *auth_ratelimit_new(double rate_per_s, double burst)
{
    struct auth_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl != NULL) {
        rl->rate_per_s = rate_per_s;
        rl->burst = burst;
    }
    return rl;
}

void auth_ratelimit_free(struct auth_ratelimit *rl)
{
    free(rl);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h;
}

static struct bucket *find(struct auth_ratelimit *rl, const char *key, uint64_t now_ms)
{
    uint32_t h = hash(key);
    struct bucket *free_slot = NULL;
    for (uint32_t i = 0; i < 16; i++) {
        struct bucket *b = &rl->slots[(h + i) % SLOTS];
        if (b->key[0] != '\0' && strncmp(b->key, key, KEY_MAX - 1) == 0) {
            return b;
        }
        bool idle = b->key[0] == '\0' || now_ms - b->last_ms > IDLE_MS;
        if (idle && free_slot == NULL) {
            free_slot = b;
        }
    }
    if (free_slot == NULL) {
        /* Every probed slot busy: share the first (stricter, never looser). */
        return &rl->slots[h % SLOTS];
    }
    strncpy(free_slot->key, key, KEY_MAX - 1);
    free_slot->key[KEY_MAX - 1] = '\0';
    free_slot->tokens = rl->burst;
    free_slot->last_ms = now_ms;
    return free_slot;
}

bool auth_ratelimit_take(struct auth_ratelimit *rl, const char *key, uint64_t now_ms,
                         uint64_t *retry_ms)
{
    struct bucket *b = find(rl, key, now_ms);
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate_per_s / 1000.0;
        if (b->tokens > rl->burst) {
            b->tokens = rl->burst;
        }
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    if (retry_ms != NULL) {
        *retry_ms = (uint64_t)((1.0 - b->tokens) * 1000.0 / rl->rate_per_s) + 1;
    }
    return false;
}
