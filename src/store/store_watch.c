/* Watchers of a column family: services that keep in-memory views of their records
 * (customer filters) hear of every committed write, in apply order, on the loop
 * thread. Writes are noted while an entry is applied and told after its commit, so a
 * watcher that reads the store sees them. */
#include <stdlib.h>

#include "store_internal.h"

int store_watch(struct store *s, enum store_cf cf, store_watch_fn fn, void *data)
{
    struct store_watcher *w = s->watch[cf];
    for (int i = 0; i < STORE_WATCHERS_PER_CF; i++) {
        if (w[i].fn == NULL) {
            w[i].fn = fn;
            w[i].data = data;
            return 0;
        }
    }
    return WAIHU_ETOOBIG;
}

void store_unwatch(struct store *s, enum store_cf cf, store_watch_fn fn, void *data)
{
    struct store_watcher *w = s->watch[cf];
    for (int i = 0; i < STORE_WATCHERS_PER_CF; i++) {
        if (w[i].fn == fn && w[i].data == data) {
            w[i].fn = NULL;
            w[i].data = NULL;
        }
    }
}

static bool watched(const struct store *s, uint32_t cf)
{
    for (int i = 0; i < STORE_WATCHERS_PER_CF; i++) {
        if (s->watch[cf][i].fn != NULL) {
            return true;
        }
    }
    return false;
}

static void tell(struct store *s, uint32_t cf, const void *key, size_t klen, const void *val,
                 size_t vlen)
{
    for (int i = 0; i < STORE_WATCHERS_PER_CF; i++) {
        struct store_watcher *w = &s->watch[cf][i];
        if (w->fn != NULL) {
            w->fn(w->data, key, klen, val, vlen);
        }
    }
}

void store_watch_note(struct store *s, uint32_t cf, const void *key, size_t klen,
                      const void *val, size_t vlen, bool deleted, void *owned)
{
    if (cf >= STORE_CF_COUNT || !watched(s, cf)) {
        free(owned);
        return;
    }
    if (s->n_noted == s->cap_noted) {
        size_t cap = s->cap_noted ? 2 * s->cap_noted : 256;
        struct store_noted *n = realloc(s->noted, cap * sizeof *n);
        if (n == NULL) {
            waihu_fatal("store", "watch: out of memory");
        }
        s->noted = n;
        s->cap_noted = cap;
    }
    s->noted[s->n_noted++] = (struct store_noted){.cf = cf, .key = key, .klen = klen,
                                                  .val = deleted ? NULL : val, .vlen = vlen,
                                                  .owned = owned};
}

void store_watch_tell(struct store *s)
{
    for (size_t i = 0; i < s->n_noted; i++) {
        const struct store_noted *n = &s->noted[i];
        tell(s, n->cf, n->key, n->klen, n->val, n->vlen);
        free(n->owned);
    }
    s->n_noted = 0;
}

void store_watch_reset(struct store *s)
{
    for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
        tell(s, (uint32_t)cf, NULL, 0, NULL, 0);
    }
}
