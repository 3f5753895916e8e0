/* Taking a backup of a RocksDB checkpoint directory: every file becomes an object named by
 * its keyed content hash (a full uploads them all, an incremental only those the
 * repository lacks: SSTs are immutable, so mostly the new ones), then the manifest is
 * written last, chained to its parent by the parent manifest's SHA-256. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backup_internal.h"

#define PATH_CAP 1024

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct manifest_entry *)a)->name,
                  ((const struct manifest_entry *)b)->name);
}

/* Lists the checkpoint's files (names and sizes) into m->entries, sorted by name. */
static int scan_checkpoint(const char *dir, struct manifest *m, uint64_t *total,
                           struct backup_error *err)
{
    DIR *d = opendir(dir);
    uint32_t cap = 0;
    bool has_current = false;
    int rv = 0;
    if (d == NULL) {
        return backup_fail(err, errno == ENOENT ? WAIHU_ENOTFOUND : WAIHU_EIO, BACKUP_FAULT_USAGE,
                           "checkpoint %s: %s", dir, strerror(errno));
    }
    struct dirent *e;
    *total = 0;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_CAP];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || strlen(e->d_name) > BACKUP_NAME_MAX ||
            e->d_name[0] == '.' ||
            strspn(e->d_name,
                   "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_") !=
                strlen(e->d_name)) {
            rv = backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE,
                             "checkpoint %s: unexpected entry %s (a RocksDB checkpoint is a flat "
                             "directory of files)",
                             dir, e->d_name);
            break;
        }
        if (m->n_entries == cap) {
            cap = cap ? cap * 2 : 64;
            void *p = realloc(m->entries, cap * sizeof *m->entries);
            if (p == NULL || cap > MANIFEST_MAX_ENTRIES) {
                rv = backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "too many files");
                break;
            }
            m->entries = p;
        }
        struct manifest_entry *me = &m->entries[m->n_entries++];
        memset(me, 0, sizeof *me);
        me->kind = MANIFEST_FILE;
        snprintf(me->name, sizeof me->name, "%s", e->d_name);
        me->size_bytes = (uint64_t)st.st_size;
        *total += me->size_bytes;
        has_current |= strcmp(e->d_name, "CURRENT") == 0;
    }
    closedir(d);
    if (rv == 0 && !has_current) {
        rv = backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE,
                         "%s is not a RocksDB checkpoint (no CURRENT file)", dir);
    }
    if (rv == 0) {
        qsort(m->entries, m->n_entries, sizeof *m->entries, cmp_entry);
    }
    return rv;
}

/* "20261124T133100.123Z-1a2b3c4d": sorts by time, unique by the random tail. */
static int make_id(int64_t now_ms, char *out)
{
    uint8_t rnd[4];
    char hex[9];
    struct tm tm;
    time_t s = (time_t)(now_ms / 1000);
    if (random_bytes(rnd, sizeof rnd) != 0 || gmtime_r(&s, &tm) == NULL) {
        return WAIHU_EIO;
    }
    hex_encode(rnd, sizeof rnd, hex);
    snprintf(out, BACKUP_ID_CAP, "%04d%02d%02dT%02d%02d%02d.%03dZ-%s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now_ms % 1000),
             hex);
    return 0;
}

/* The newest backup (by its manifest's time), for an incremental without a parent. */
static int newest_id(struct backup_repo *r, char *out, struct backup_error *err)
{
    struct backup_info *all;
    size_t n;
    int rv = backup_list(r, &all, &n, err);
    if (rv != 0) {
        return rv;
    }
    if (n == 0) {
        free(all);
        return backup_fail(err, WAIHU_ENOTFOUND, BACKUP_FAULT_NOTFOUND,
                           "no backup to build an incremental on: take a full first");
    }
    snprintf(out, BACKUP_ID_CAP, "%s", all[n - 1].id);
    free(all);
    return 0;
}

int backup_create(struct backup_repo *r, const char *checkpoint_dir,
                  const struct backup_options *opts, char *id_out, struct backup_stats *stats,
                  struct backup_error *err)
{
    struct manifest m = {0}, parent = {0};
    struct object_progress pr = {opts->progress, opts->progress_data, "backup", 0, 0};
    uint64_t start = clock_now_ms(), total = 0;
    uint8_t *buf = NULL, *data = NULL;
    size_t len, data_cap = 0;
    char name[BACKUP_ID_CAP + 16];
    int rv;
    memset(stats, 0, sizeof *stats);
    m.incremental = opts->incremental;
    m.raft_index = opts->raft_index;
    m.created_ms = clock_wall_ms();
    if (make_id(m.created_ms, m.id) != 0) {
        return backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "no random bytes");
    }
    if (opts->incremental) {
        char pid[BACKUP_ID_CAP];
        rv = opts->parent_id != NULL ? manifest_resolve(r, opts->parent_id, pid, err)
                                     : newest_id(r, pid, err);
        if (rv != 0 || (rv = manifest_load(r, pid, &parent, err)) != 0 ||
            (rv = manifest_check_chain(r, &parent, err)) != 0) {
            goto out;
        }
        snprintf(m.parent_id, sizeof m.parent_id, "%s", parent.id);
        memcpy(m.parent_hash, parent.hash, 32);
        if (m.created_ms < parent.created_ms) {
            m.created_ms = parent.created_ms; /* the clock went back: keep the chain ordered */
        }
    }
    if ((rv = scan_checkpoint(checkpoint_dir, &m, &total, err)) != 0) {
        goto out;
    }
    /* Pass 1 names every file; pass 2 uploads those needed. Both count as progress. */
    pr.total = total;
    for (uint32_t i = 0; i < m.n_entries; i++) {
        struct manifest_entry *e = &m.entries[i];
        char path[PATH_CAP], obj[80];
        uint64_t size = e->size_bytes, have;
        bool held = size <= OBJECT_LOAD_MAX;
        snprintf(path, sizeof path, "%s/%s", checkpoint_dir, e->name);
        /* Files we can hold are read once; bigger ones are named, then streamed. */
        rv = held ? object_load_file(r, path, size, &data, &data_cap, e->object_id, err)
                  : object_id_of_file(r, path, e->object_id, &size, err);
        if (rv == 0 && size != e->size_bytes) {
            rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_USAGE,
                             "%s changed while being backed up (a checkpoint must not change)",
                             path);
        }
        if (rv != 0) {
            goto out;
        }
        stats->files++;
        stats->bytes_read += size;
        object_name(e->object_id, obj);
        /* Same content twice in one checkpoint: upload it once. */
        bool skip = opts->incremental && r->target->ops->stat(r->target, obj, &have) == 0;
        for (uint32_t j = 0; j < i && !skip; j++) {
            skip = memcmp(m.entries[j].object_id, e->object_id, OBJECT_ID_BYTES) == 0;
        }
        if (skip) {
            pr.total -= size;
            continue;
        }
        rv = held ? object_put_mem(r, data, e->object_id, size, &stats->bytes_shipped, &pr, err)
                  : object_put_file(r, path, e->object_id, size, &stats->bytes_shipped, &pr, err);
        if (rv != 0) {
            backup_error_prefix(err, e->name);
            goto out;
        }
        stats->objects_new++;
        stats->bytes_new += size;
    }
    if ((rv = manifest_seal(r, &m, &buf, &len)) != 0) {
        rv = backup_fail(err, rv, BACKUP_FAULT_IO, "sealing the manifest failed");
        goto out;
    }
    snprintf(name, sizeof name, "manifests/%s", m.id);
    if ((rv = target_put_all(r->target, name, buf, len)) != 0) {
        rv = backup_fail_target(err, rv, r->target, "write manifest");
        goto out;
    }
    stats->bytes_shipped += len;
    snprintf(id_out, BACKUP_ID_CAP, "%s", m.id);
out:
    stats->elapsed_ms = clock_now_ms() - start;
    free(data);
    free(buf);
    manifest_free(&m);
    manifest_free(&parent);
    return rv;
}
