/* The recordings' search index: a sorted array of fixed-size entries (binary search to a
 * time bound, then a walk backwards), names interned in an open-addressing table. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "recording_index.h"

#define F_DEAD 0x80000000u

/* Interned strings: agents' names and dispositions are few and repeat a lot. */
struct names {
    char **v;
    size_t n, cap;
    uint32_t *slots; /* open addressing, index + 1, 0 = free */
    size_t n_slots;
};

struct rec_index {
    struct rec_index_entry *e;
    size_t n, cap, dead;
    struct names names;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    }
    return h;
}

static uint32_t name_find(const struct names *t, const char *s)
{
    if (t->n_slots == 0) {
        return REC_INDEX_NO_NAME;
    }
    for (size_t i = fnv(s) & (t->n_slots - 1);; i = (i + 1) & (t->n_slots - 1)) {
        if (t->slots[i] == 0) {
            return REC_INDEX_NO_NAME;
        }
        if (strcmp(t->v[t->slots[i] - 1], s) == 0) {
            return t->slots[i] - 1;
        }
    }
}

static void name_slot(struct names *t, uint32_t id)
{
    size_t i = fnv(t->v[id]) & (t->n_slots - 1);
    while (t->slots[i] != 0) {
        i = (i + 1) & (t->n_slots - 1);
    }
    t->slots[i] = id + 1;
}

uint32_t rec_index_name(struct rec_index *ix, const char *s)
{
    struct names *t = &ix->names;
    uint32_t id = name_find(t, s);
    if (id != REC_INDEX_NO_NAME) {
        return id;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **v = realloc(t->v, cap * sizeof *v);
        if (v == NULL) {
            waihu_fatal("api", "recording index: out of memory");
        }
        t->v = v;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->n_slots) {
        free(t->slots);
        t->n_slots = t->n_slots ? 2 * t->n_slots : 256;
        t->slots = calloc(t->n_slots, sizeof *t->slots);
        if (t->slots == NULL) {
            waihu_fatal("api", "recording index: out of memory");
        }
        for (uint32_t i = 0; i < t->n; i++) {
            name_slot(t, i);
        }
    }
    if ((t->v[t->n] = strdup(s)) == NULL) {
        waihu_fatal("api", "recording index: out of memory");
    }
    name_slot(t, (uint32_t)t->n);
    return (uint32_t)t->n++;
}

uint32_t rec_index_name_find(const struct rec_index *ix, const char *name)
{
    return name_find(&ix->names, name);
}

struct rec_index *rec_index_new(void)
{
    return calloc(1, sizeof(struct rec_index));
}

void rec_index_free(struct rec_index *ix)
{
    if (ix == NULL) {
        return;
    }
    for (size_t i = 0; i < ix->names.n; i++) {
        free(ix->names.v[i]);
    }
    free(ix->names.v);
    free(ix->names.slots);
    free(ix->e);
    free(ix);
}

void rec_index_clear(struct rec_index *ix)
{
    ix->n = 0;
    ix->dead = 0;
}

size_t rec_index_size(const struct rec_index *ix)
{
    return ix->n - ix->dead;
}

/* -1, 0, 1 as (tenant, start, node, call) compare. */
static int cmp(const struct rec_index_entry *x, uint64_t tenant, int64_t start, uint64_t node,
               uint64_t call)
{
    if (x->tenant != tenant) {
        return x->tenant < tenant ? -1 : 1;
    }
    if (x->start_ms != start) {
        return x->start_ms < start ? -1 : 1;
    }
    if (x->node != node) {
        return x->node < node ? -1 : 1;
    }
    return x->call < call ? -1 : x->call > call;
}

/* First index whose entry is >= the key. */
static size_t lower_bound(const struct rec_index *ix, uint64_t tenant, int64_t start,
                          uint64_t node, uint64_t call)
{
    size_t lo = 0, hi = ix->n;
    if (hi > 0 && cmp(&ix->e[hi - 1], tenant, start, node, call) < 0) {
        return hi; /* appends (the usual case) skip the search */
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp(&ix->e[mid], tenant, start, node, call) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct rec_index_entry *rec_index_find(struct rec_index *ix, uint64_t tenant, int64_t start_ms,
                                       uint64_t node, uint64_t call)
{
    size_t i = lower_bound(ix, tenant, start_ms, node, call);
    if (i < ix->n && cmp(&ix->e[i], tenant, start_ms, node, call) == 0 &&
        !(ix->e[i].flags & F_DEAD)) {
        return &ix->e[i];
    }
    return NULL;
}

static void compact(struct rec_index *ix)
{
    size_t w = 0;
    for (size_t i = 0; i < ix->n; i++) {
        if (!(ix->e[i].flags & F_DEAD)) {
            ix->e[w++] = ix->e[i];
        }
    }
    ix->n = w;
    ix->dead = 0;
}

void rec_index_put(struct rec_index *ix, const struct rec_index_entry *e)
{
    size_t i = lower_bound(ix, e->tenant, e->start_ms, e->node, e->call);
    if (i < ix->n && cmp(&ix->e[i], e->tenant, e->start_ms, e->node, e->call) == 0) {
        if (ix->e[i].flags & F_DEAD) {
            ix->dead--;
        }
        ix->e[i] = *e;
        ix->e[i].flags &= ~F_DEAD;
        return;
    }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? 2 * ix->cap : 1024;
        struct rec_index_entry *v = realloc(ix->e, cap * sizeof *v);
        if (v == NULL) {
            waihu_fatal("api", "recording index: out of memory");
        }
        ix->e = v;
        ix->cap = cap;
    }
    memmove(&ix->e[i + 1], &ix->e[i], (ix->n - i) * sizeof *ix->e);
    ix->n++;
    ix->e[i] = *e;
    ix->e[i].flags &= ~F_DEAD;
}

void rec_index_remove(struct rec_index *ix, uint64_t tenant, int64_t start_ms, uint64_t node,
                      uint64_t call)
{
    struct rec_index_entry *x = rec_index_find(ix, tenant, start_ms, node, call);
    if (x == NULL) {
        return;
    }
    x->flags |= F_DEAD;
    if (++ix->dead > 1024 && ix->dead * 4 > ix->n) {
        compact(ix);
    }
}

int rec_index_search(const struct rec_index *ix, uint64_t tenant, const char *only_agent,
                     const struct recording_query *q, rec_keyword_fn keyword_fn, void *data,
                     struct rec_hit *out, bool *more)
{
    *more = false;
    uint32_t agent = REC_INDEX_NO_NAME, disposition = REC_INDEX_NO_NAME;
    const char *want_agent = only_agent ? only_agent : q->agent[0] ? q->agent : NULL;
    if (want_agent != NULL) {
        if (only_agent != NULL && q->agent[0] && strcmp(q->agent, only_agent) != 0) {
            return 0; /* an agent asking for another agent's recordings: none */
        }
        if ((agent = name_find(&ix->names, want_agent)) == REC_INDEX_NO_NAME) {
            return 0;
        }
    }
    if (q->disposition[0] &&
        (disposition = name_find(&ix->names, q->disposition)) == REC_INDEX_NO_NAME) {
        return 0;
    }
    /* Newest first: from just below min(to, cursor). */
    size_t i = q->has_cursor && q->cursor_start_ms < q->to_ms
                   ? lower_bound(ix, tenant, q->cursor_start_ms, q->cursor_node, q->cursor_call)
                   : lower_bound(ix, tenant, q->to_ms, 0, 0);
    int got = 0;
    while (i-- > 0) {
        const struct rec_index_entry *x = &ix->e[i];
        if (x->tenant != tenant || x->start_ms < q->from_ms) {
            break;
        }
        if ((x->flags & F_DEAD) || (agent != REC_INDEX_NO_NAME && x->agent != agent) ||
            (q->has_customer && x->customer != q->customer_id) ||
            (q->has_campaign && x->campaign != q->campaign_id) ||
            x->duration_ms < q->min_duration_ms || x->duration_ms > q->max_duration_ms ||
            (disposition != REC_INDEX_NO_NAME && x->disposition != disposition) ||
            (q->keyword[0] && (!(x->flags & REC_INDEX_KEYWORDS) || keyword_fn == NULL ||
                               !keyword_fn(data, x, q->keyword)))) {
            continue;
        }
        if ((uint32_t)got == q->limit) {
            *more = true;
            break;
        }
        out[got++] = (struct rec_hit){.start_ms = x->start_ms, .node = x->node, .call = x->call};
    }
    return got;
}

void rec_index_expired(const struct rec_index *ix, int64_t now_ms, size_t max, rec_keep_fn keep,
                       rec_expired_fn fn, void *data)
{
    size_t given = 0;
    for (size_t i = 0; i < ix->n && given < max;) {
        uint64_t tenant = ix->e[i].tenant;
        int64_t keep_ms = keep(data, tenant);
        for (; i < ix->n && ix->e[i].tenant == tenant; i++) {
            const struct rec_index_entry *x = &ix->e[i];
            if (x->start_ms > now_ms - keep_ms) {
                /* Later starts end later too: the rest of this tenant is not due. */
                i = tenant == UINT64_MAX ? ix->n : lower_bound(ix, tenant + 1, INT64_MIN, 0, 0);
                break;
            }
            if ((x->flags & (F_DEAD | REC_INDEX_HELD)) ||
                x->start_ms + (int64_t)x->duration_ms > now_ms - keep_ms) {
                continue;
            }
            if (fn(data, tenant, x->start_ms, x->node, x->call) != 0 || ++given == max) {
                return;
            }
        }
    }
}
