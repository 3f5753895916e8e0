/* Retention: keep the newest backups and every ancestor their chains need; delete the
 * other manifests first, then the objects no kept manifest references (a crash between
 * the two leaves garbage for the next prune, never a backup without its objects). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"

struct keep_set {
    uint8_t (*ids)[OBJECT_ID_BYTES]; /* sorted */
    size_t n;
};

static int cmp_oid(const void *a, const void *b)
{
    return memcmp(a, b, OBJECT_ID_BYTES);
}

struct gc {
    struct backup_repo *r;
    struct keep_set *keep;
    struct backup_prune_stats *st;
    char (*doomed)[80];
    size_t n, cap;
    uint64_t *sizes;
};

/* Collects objects to delete (deleting while listing would disturb readdir). */
static int gc_visit(void *data, const char *name, uint64_t size_bytes)
{
    struct gc *g = data;
    uint8_t id[OBJECT_ID_BYTES];
    const char *slash = strrchr(name, '/');
    if (slash == NULL || hex_decode(slash + 1, id, OBJECT_ID_BYTES) != 0) {
        return 0; /* not an object name: leave it alone */
    }
    if (bsearch(id, g->keep->ids, g->keep->n, OBJECT_ID_BYTES, cmp_oid) != NULL) {
        return 0;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        void *p = realloc(g->doomed, cap * 80), *q = realloc(g->sizes, cap * sizeof *g->sizes);
        if (p != NULL) {
            g->doomed = p;
        }
        if (q != NULL) {
            g->sizes = q;
        }
        if (p == NULL || q == NULL) {
            return WAIHU_ENOMEM;
        }
        g->cap = cap;
    }
    snprintf(g->doomed[g->n], 80, "%s", name);
    g->sizes[g->n++] = size_bytes;
    return 0;
}

int backup_prune(struct backup_repo *r, unsigned keep, struct backup_prune_stats *st,
                 struct backup_error *err)
{
    struct backup_info *all = NULL;
    struct keep_set ks = {0};
    struct gc g = {.r = r, .keep = &ks, .st = st};
    bool *kept = NULL;
    size_t n, cap = 0;
    memset(st, 0, sizeof *st);
    if (keep == 0) {
        return backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE, "--keep must be at least 1");
    }
    /* Every manifest must authenticate: pruning on a damaged catalogue could delete the
     * objects of a backup we failed to read. */
    int rv = backup_list(r, &all, &n, err);
    if (rv != 0) {
        backup_error_prefix(err, "prune refused");
        return rv;
    }
    kept = calloc(n ? n : 1, sizeof *kept);
    if (kept == NULL) {
        rv = backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
        goto out;
    }
    /* The keep newest, then the parents they need, walking from newest to oldest. */
    for (size_t i = n; i-- > 0;) {
        if (n - i <= keep) {
            kept[i] = true;
        }
        if (kept[i] && all[i].incremental) {
            bool found = false;
            for (size_t j = 0; j < n && !found; j++) {
                if (strcmp(all[j].id, all[i].parent_id) == 0) {
                    kept[j] = found = true;
                }
            }
            if (!found) {
                rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                                 "prune refused: backup %s needs parent %s, which is missing",
                                 all[i].id, all[i].parent_id);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct manifest m;
        if (!kept[i]) {
            continue;
        }
        if ((rv = manifest_load(r, all[i].id, &m, err)) != 0) {
            goto out;
        }
        if (ks.n + m.n_entries > cap) {
            cap = (ks.n + m.n_entries) * 2;
            void *p = realloc(ks.ids, cap * OBJECT_ID_BYTES);
            if (p == NULL) {
                manifest_free(&m);
                rv = backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
                goto out;
            }
            ks.ids = p;
        }
        for (uint32_t j = 0; j < m.n_entries; j++) {
            memcpy(ks.ids[ks.n++], m.entries[j].object_id, OBJECT_ID_BYTES);
        }
        manifest_free(&m);
        st->backups_kept++;
    }
    if (ks.n > 0) {
        qsort(ks.ids, ks.n, OBJECT_ID_BYTES, cmp_oid);
    }
    for (size_t i = 0; i < n; i++) {
        char name[BACKUP_ID_CAP + 16];
        if (kept[i]) {
            continue;
        }
        snprintf(name, sizeof name, "manifests/%s", all[i].id);
        if ((rv = r->target->ops->remove(r->target, name)) != 0) {
            rv = backup_fail_target(err, rv, r->target, "delete manifest");
            goto out;
        }
        st->backups_deleted++;
    }
    if ((rv = r->target->ops->list(r->target, "objects/", gc_visit, &g)) != 0) {
        rv = rv == WAIHU_ENOMEM ? backup_fail(err, rv, BACKUP_FAULT_IO, "out of memory")
                                : backup_fail_target(err, rv, r->target, "list objects");
        goto out;
    }
    for (size_t i = 0; i < g.n; i++) {
        if ((rv = r->target->ops->remove(r->target, g.doomed[i])) != 0) {
            rv = backup_fail_target(err, rv, r->target, "delete object");
            goto out;
        }
        st->objects_deleted++;
        st->bytes_deleted += g.sizes[i];
    }
out:
    free(all);
    free(kept);
    free(ks.ids);
    free(g.doomed);
    free(g.sizes);
    return rv;
}
