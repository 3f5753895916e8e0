/* The customer attribute view: entries in an array, found by (tenant, id) through an
 * open-addressing index; strings and tag sets interned. Queries walk the array and
 * evaluate the filter against a record assembled on the stack (customer_match.c), so
 * the view and the scan cannot disagree on what a filter means. */
#include <stdlib.h>
#include <string.h>

#include "customer_view.h"

struct tagset {
    size_t n;
    char **tags; /* sorted, as records keep them; interned strings */
};

struct entry {
    uint64_t tenant_id, id; /* tenant 0: a free slot */
    int64_t last_contact_ms, next_callback_ms, created_ms;
    const char *department, *owner, *source, *status;
    const struct tagset *tags;
};

/* Interned strings and tag sets: open addressing over hashes, never shrinking. */
struct intern {
    void **slots;  /* char * or struct tagset * */
    uint64_t *hashes;
    size_t cap, used;
};

#define SLOT_EMPTY 0u
#define SLOT_GONE 1u

struct customer_view {
    struct entry *entries;
    size_t n_entries, cap_entries, live;
    uint32_t *free_slots;
    size_t n_free, cap_free;
    uint32_t *index; /* SLOT_EMPTY, SLOT_GONE or entry index + 2 */
    size_t index_cap, index_used;
    struct intern strings, tagsets;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        waihu_fatal("customer", "view: out of memory");
    }
    return q;
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_key(uint64_t tenant_id, uint64_t id)
{
    uint64_t h = (tenant_id * 0x9E3779B97F4A7C15ULL) ^ id;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* ---- interning ---- */

typedef bool (*intern_eq)(const void *item, const void *probe);

static void intern_grow(struct intern *t)
{
    size_t cap = t->cap ? 2 * t->cap : 256;
    void **slots = calloc(cap, sizeof *slots);
    uint64_t *hashes = calloc(cap, sizeof *hashes);
    if (slots == NULL || hashes == NULL) {
        waihu_fatal("customer", "view: out of memory");
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i] != NULL) {
            size_t j = t->hashes[i] & (cap - 1);
            while (slots[j] != NULL) {
                j = (j + 1) & (cap - 1);
            }
            slots[j] = t->slots[i];
            hashes[j] = t->hashes[i];
        }
    }
    free(t->slots);
    free(t->hashes);
    t->slots = slots;
    t->hashes = hashes;
    t->cap = cap;
}

/* The slot holding an item equal to probe, or the empty slot where it belongs. */
static size_t intern_find(struct intern *t, uint64_t h, intern_eq eq, const void *probe)
{
    if (2 * (t->used + 1) > t->cap) {
        intern_grow(t);
    }
    size_t j = h & (t->cap - 1);
    while (t->slots[j] != NULL && !(t->hashes[j] == h && eq(t->slots[j], probe))) {
        j = (j + 1) & (t->cap - 1);
    }
    return j;
}

static bool str_eq(const void *item, const void *probe)
{
    return strcmp(item, probe) == 0;
}

static const char *intern_str(struct customer_view *v, const char *s)
{
    struct intern *t = &v->strings;
    uint64_t h = hash_bytes(s, strlen(s), 0xcbf29ce484222325ULL);
    size_t j = intern_find(t, h, str_eq, s);
    if (t->slots[j] == NULL) {
        size_t n = strlen(s) + 1;
        char *copy = xrealloc(NULL, n);
        memcpy(copy, s, n);
        t->slots[j] = copy;
        t->hashes[j] = h;
        t->used++;
    }
    return t->slots[j];
}

struct tags_probe {
    char *const *tags;
    size_t n;
};

static bool tags_eq(const void *item, const void *probe)
{
    const struct tagset *a = item;
    const struct tags_probe *b = probe;
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->tags[i], b->tags[i]) != 0) {
            return false;
        }
    }
    return true;
}

static const struct tagset *intern_tags(struct customer_view *v, char *const *tags, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h = hash_bytes(tags[i], strlen(tags[i]) + 1, h);
    }
    struct tags_probe probe = {tags, n};
    struct intern *t = &v->tagsets;
    size_t j = intern_find(t, h, tags_eq, &probe);
    if (t->slots[j] == NULL) {
        struct tagset *set = xrealloc(NULL, sizeof *set);
        set->n = n;
        set->tags = xrealloc(NULL, n * sizeof *set->tags);
        for (size_t i = 0; i < n; i++) {
            set->tags[i] = (char *)intern_str(v, tags[i]);
        }
        t->slots[j] = set;
        t->hashes[j] = h;
        t->used++;
    }
    return t->slots[j];
}

static void intern_clear(struct intern *t, bool tagsets)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i] != NULL && tagsets) {
            free(((struct tagset *)t->slots[i])->tags);
        }
        free(t->slots[i]);
    }
    free(t->slots);
    free(t->hashes);
    memset(t, 0, sizeof *t);
}

/* ---- the (tenant, id) index ---- */

static void index_rebuild(struct customer_view *v, size_t cap)
{
    free(v->index);
    v->index = calloc(cap, sizeof *v->index);
    if (v->index == NULL) {
        waihu_fatal("customer", "view: out of memory");
    }
    v->index_cap = cap;
    v->index_used = 0;
    for (size_t i = 0; i < v->n_entries; i++) {
        const struct entry *e = &v->entries[i];
        if (e->tenant_id == 0) {
            continue;
        }
        size_t j = hash_key(e->tenant_id, e->id) & (cap - 1);
        while (v->index[j] != SLOT_EMPTY) {
            j = (j + 1) & (cap - 1);
        }
        v->index[j] = (uint32_t)i + 2;
        v->index_used++;
    }
}

/* The index slot of (tenant, id), or the first reusable slot when absent (*found false). */
static size_t index_find(struct customer_view *v, uint64_t tenant_id, uint64_t id, bool *found)
{
    if (v->index_cap == 0 || 10 * (v->index_used + 1) > 7 * v->index_cap) {
        size_t cap = v->index_cap ? v->index_cap : 1024;
        while (10 * (v->live + 1) > 4 * cap) {
            cap *= 2;
        }
        index_rebuild(v, cap);
    }
    size_t mask = v->index_cap - 1, j = hash_key(tenant_id, id) & mask, reuse = SIZE_MAX;
    for (;; j = (j + 1) & mask) {
        uint32_t s = v->index[j];
        if (s == SLOT_EMPTY) {
            *found = false;
            return reuse != SIZE_MAX ? reuse : j;
        }
        if (s == SLOT_GONE) {
            if (reuse == SIZE_MAX) {
                reuse = j;
            }
            continue;
        }
        const struct entry *e = &v->entries[s - 2];
        if (e->tenant_id == tenant_id && e->id == id) {
            *found = true;
            return j;
        }
    }
}

/* ---- public ---- */

struct customer_view *customer_view_new(void)
{
    struct customer_view *v = calloc(1, sizeof *v);
    if (v == NULL) {
        waihu_fatal("customer", "view: out of memory");
    }
    return v;
}

void customer_view_clear(struct customer_view *v)
{
    free(v->entries);
    free(v->free_slots);
    free(v->index);
    intern_clear(&v->tagsets, true);
    intern_clear(&v->strings, false);
    memset(v, 0, sizeof *v);
}

void customer_view_free(struct customer_view *v)
{
    if (v != NULL) {
        customer_view_clear(v);
        free(v);
    }
}

size_t customer_view_size(const struct customer_view *v)
{
    return v->live;
}

void customer_view_put(struct customer_view *v, const CustomerRecord *r)
{
    if (r->tenant_id == 0) {
        return;
    }
    bool found;
    size_t slot = index_find(v, r->tenant_id, r->id, &found);
    struct entry *e;
    if (found) {
        e = &v->entries[v->index[slot] - 2];
    } else {
        uint32_t i;
        if (v->n_free > 0) {
            i = v->free_slots[--v->n_free];
        } else {
            if (v->n_entries == v->cap_entries) {
                v->cap_entries = v->cap_entries ? 2 * v->cap_entries : 1024;
                v->entries = xrealloc(v->entries, v->cap_entries * sizeof *v->entries);
            }
            i = (uint32_t)v->n_entries++;
        }
        if (v->index[slot] == SLOT_EMPTY) {
            v->index_used++;
        }
        v->index[slot] = i + 2;
        v->live++;
        e = &v->entries[i];
    }
    e->tenant_id = r->tenant_id;
    e->id = r->id;
    e->last_contact_ms = r->last_contact_ms;
    e->next_callback_ms = r->next_callback_ms;
    e->created_ms = r->created_ms;
    e->department = intern_str(v, r->department ? r->department : "");
    e->owner = intern_str(v, r->owner ? r->owner : "");
    e->source = intern_str(v, r->source ? r->source : "");
    e->status = intern_str(v, r->status ? r->status : "");
    e->tags = intern_tags(v, r->tags, r->n_tags);
}

void customer_view_delete(struct customer_view *v, uint64_t tenant_id, uint64_t id)
{
    bool found;
    size_t slot = v->live ? index_find(v, tenant_id, id, &found) : 0;
    if (v->live == 0 || !found) {
        return;
    }
    uint32_t i = v->index[slot] - 2;
    v->index[slot] = SLOT_GONE;
    v->entries[i].tenant_id = 0;
    v->live--;
    if (v->n_free == v->cap_free) {
        v->cap_free = v->cap_free ? 2 * v->cap_free : 256;
        v->free_slots = xrealloc(v->free_slots, v->cap_free * sizeof *v->free_slots);
    }
    v->free_slots[v->n_free++] = i;
}

bool customer_view_can_answer(const struct filter_node *f)
{
    if (f == NULL) {
        return true;
    }
    switch (f->kind) {
    case FILTER_AND:
    case FILTER_OR:
        for (size_t i = 0; i < f->u.list.n; i++) {
            if (!customer_view_can_answer(f->u.list.items[i])) {
                return false;
            }
        }
        return true;
    case FILTER_NOT: return customer_view_can_answer(f->u.not_child);
    case FILTER_TAG: return true;
    case FILTER_CMP: return f->u.cmp.field != FILTER_FIELD_CUSTOM;
    }
    return false;
}

/* Fills r (initialised once by the caller) from e. */
static void as_record(const struct entry *e, CustomerRecord *r)
{
    r->tenant_id = e->tenant_id;
    r->id = e->id;
    r->department = (char *)e->department;
    r->owner = (char *)e->owner;
    r->source = (char *)e->source;
    r->status = (char *)e->status;
    r->tags = e->tags->tags;
    r->n_tags = e->tags->n;
    r->last_contact_ms = e->last_contact_ms;
    r->next_callback_ms = e->next_callback_ms;
    r->created_ms = e->created_ms;
}

static bool matches(const struct entry *e, uint64_t tenant_id, const struct filter_node *f,
                    int64_t now_ms, customer_view_allow_fn allow, void *ctx, CustomerRecord *r)
{
    if (e->tenant_id != tenant_id) {
        return false;
    }
    as_record(e, r);
    return (allow == NULL || allow(ctx, r)) &&
           (f == NULL || customer_filter_match(f, r, NULL, now_ms));
}

size_t customer_view_count(const struct customer_view *v, uint64_t tenant_id,
                           const struct filter_node *f, int64_t now_ms,
                           customer_view_allow_fn allow, void *ctx)
{
    CustomerRecord r;
    customer_record__init(&r);
    size_t n = 0;
    for (size_t i = 0; i < v->n_entries; i++) {
        n += matches(&v->entries[i], tenant_id, f, now_ms, allow, ctx, &r);
    }
    return n;
}

/* ids[0..n) is a max-heap: the largest of the smallest ids found so far on top. */
static void sift_down(uint64_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, big = i;
        if (l < n && h[l] > h[big]) {
            big = l;
        }
        if (l + 1 < n && h[l + 1] > h[big]) {
            big = l + 1;
        }
        if (big == i) {
            return;
        }
        uint64_t t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

static void sift_up(uint64_t *h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2] < h[i]) {
        uint64_t t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t customer_view_first(const struct customer_view *v, uint64_t tenant_id,
                           const struct filter_node *f, int64_t now_ms,
                           customer_view_allow_fn allow, void *ctx, uint64_t after,
                           uint64_t *ids, size_t limit)
{
    if (limit == 0) {
        return 0;
    }
    CustomerRecord r;
    customer_record__init(&r);
    size_t n = 0;
    for (size_t i = 0; i < v->n_entries; i++) {
        const struct entry *e = &v->entries[i];
        if (e->id <= after || (n == limit && e->id >= ids[0]) ||
            !matches(e, tenant_id, f, now_ms, allow, ctx, &r)) {
            continue;
        }
        if (n < limit) {
            ids[n] = e->id;
            sift_up(ids, n++);
        } else {
            ids[0] = e->id;
            sift_down(ids, n, 0);
        }
    }
    qsort(ids, n, sizeof *ids, cmp_u64);
    return n;
}
