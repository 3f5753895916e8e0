/* Watchers of a column family: services that keep in-memory views of their records
 * (customer filters) hear of every committed write, in apply order, on the loop
 * thread. Writes are noted while an entry is applied and told after its commit, so a
 * watcher that reads the store sees them. */
#include <stdlib.h>

#include "store_internal.h"

void store_watch(struct store *s, enum store_cf cf, store_watch_fn fn, void *data)
{
    s->watch[cf].fn = fn;
    s->watch[cf].data = data;
}

void store_watch_note(struct store *s, uint32_t cf, const void *key, size_t klen,
                      const void *val, size_t vlen, bool deleted)
{
    if (cf >= STORE_CF_COUNT || s->watch[cf].fn == NULL) {
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
                                                  .val = deleted ? NULL : val, .vlen = vlen};
}

void store_watch_tell(struct store *s)
{
    for (size_t i = 0; i < s->n_noted; i++) {
        const struct store_noted *n = &s->noted[i];
        s->watch[n->cf].fn(s->watch[n->cf].data, n->key, n->klen, n->val, n->vlen);
    }
    s->n_noted = 0;
}

void store_watch_reset(struct store *s)
{
    for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
        if (s->watch[cf].fn != NULL) {
            s->watch[cf].fn(s->watch[cf].data, NULL, 0, NULL, 0);
        }
    }
}
