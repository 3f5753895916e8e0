/* Reading the catalogue: list every backup, show one (its files), each manifest
 * authenticated on the way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"

static void info_of(const struct manifest *m, struct backup_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->id, sizeof info->id, "%s", m->id);
    snprintf(info->parent_id, sizeof info->parent_id, "%s", m->parent_id);
    info->incremental = m->incremental;
    info->raft_index = m->raft_index;
    info->created_ms = m->created_ms;
    info->n_files = m->n_entries;
    info->stored_bytes = m->stored_bytes;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        info->size_bytes += m->entries[i].size_bytes;
    }
}

static int cmp_info(const void *a, const void *b)
{
    const struct backup_info *x = a, *y = b;
    if (x->created_ms != y->created_ms) {
        return x->created_ms < y->created_ms ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

int backup_list(struct backup_repo *r, struct backup_info **out, size_t *n,
                struct backup_error *err)
{
    char(*ids)[BACKUP_ID_CAP];
    size_t count;
    int rv = manifest_list_ids(r, &ids, &count, err);
    if (rv != 0) {
        return rv;
    }
    struct backup_info *all = calloc(count ? count : 1, sizeof *all);
    if (all == NULL) {
        free(ids);
        return backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        struct manifest m;
        if ((rv = manifest_load(r, ids[i], &m, err)) != 0) {
            free(ids);
            free(all);
            return rv;
        }
        info_of(&m, &all[i]);
        manifest_free(&m);
    }
    free(ids);
    qsort(all, count, sizeof *all, cmp_info);
    *out = all;
    *n = count;
    return 0;
}

int backup_show(struct backup_repo *r, const char *id, struct backup_info *info,
                struct backup_file **files, size_t *n_files, struct backup_error *err)
{
    char full[BACKUP_ID_CAP];
    struct manifest m;
    int rv = manifest_resolve(r, id, full, err);
    if (rv != 0 || (rv = manifest_load(r, full, &m, err)) != 0) {
        return rv;
    }
    if ((rv = manifest_check_chain(r, &m, err)) != 0) {
        manifest_free(&m);
        return rv;
    }
    info_of(&m, info);
    if (files != NULL) {
        *files = calloc(m.n_entries ? m.n_entries : 1, sizeof **files);
        if (*files == NULL) {
            manifest_free(&m);
            return backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
        }
        for (uint32_t i = 0; i < m.n_entries; i++) {
            snprintf((*files)[i].name, sizeof(*files)[i].name, "%s", m.entries[i].name);
            (*files)[i].size_bytes = m.entries[i].size_bytes;
            memcpy((*files)[i].object_id, m.entries[i].object_id, 32);
        }
        *n_files = m.n_entries;
    }
    manifest_free(&m);
    return 0;
}
