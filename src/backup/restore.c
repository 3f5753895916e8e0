/* Restore and verify. A restore checks the manifest, its chain and every object's header
 * before writing a byte, decrypts into a temporary sibling of the destination (each
 * chunk's tag, each file's size and keyed hash checked), and renames it into place only
 * when all of it passed: a failed restore leaves nothing behind. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_internal.h"

#define PATH_CAP 1024

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Removes a flat directory we created (restore temporaries). */
static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char path[PATH_CAP];
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

static void parent_of(const char *path, char *out)
{
    snprintf(out, PATH_CAP, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == NULL) {
        snprintf(out, PATH_CAP, ".");
    } else if (slash == out) {
        out[1] = '\0';
    } else {
        *slash = '\0';
    }
}

/* Files are restored by a few threads at once (one file each at a time): decryption,
 * decompression, hashing and the copy into the page cache then use every core. */
#define RESTORE_THREADS_MAX 4

struct restore_job {
    struct backup_repo *r;
    const struct manifest *m;
    const char *tmp;
    pthread_mutex_t mu;
    uint32_t next;              /* next entry to take */
    int rv;                     /* first failure; workers stop taking files */
    struct backup_error err;    /* its message */
    struct object_progress *pr; /* totals, under mu */
    struct backup_stats *stats;
};

struct restore_worker {
    struct restore_job *job;
    uint64_t reported; /* bytes of this worker already added to the job's progress */
};

static void worker_progress(void *data, const char *what, uint64_t done, uint64_t total)
{
    struct restore_worker *w = data;
    struct restore_job *job = w->job;
    (void)what;
    (void)total;
    pthread_mutex_lock(&job->mu);
    job->pr->done += done - w->reported;
    w->reported = done;
    if (job->pr->fn != NULL) {
        job->pr->fn(job->pr->data, job->pr->what, job->pr->done, job->pr->total);
    }
    pthread_mutex_unlock(&job->mu);
}

static void *restore_files(void *arg)
{
    struct restore_worker *w = arg;
    struct restore_job *job = w->job;
    struct object_progress pr = {worker_progress, w, "restore", 0, 0};
    for (;;) {
        struct backup_error e = {0};
        pthread_mutex_lock(&job->mu);
        uint32_t i = job->next++;
        bool stop = job->rv != 0 || i >= job->m->n_entries;
        pthread_mutex_unlock(&job->mu);
        if (stop) {
            return NULL;
        }
        const struct manifest_entry *entry = &job->m->entries[i];
        char path[PATH_CAP];
        int rv;
        snprintf(path, sizeof path, "%s/%s", job->tmp, entry->name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0) {
            rv =
                backup_fail(&e, WAIHU_EIO, BACKUP_FAULT_IO, "create %s: %s", path, strerror(errno));
        } else {
            rv = object_get(job->r, entry->object_id, entry->size_bytes, fd, &pr, &e);
            close(fd);
            if (rv != 0) {
                backup_error_prefix(&e, entry->name);
            }
        }
        pthread_mutex_lock(&job->mu);
        if (rv != 0 && job->rv == 0) {
            job->rv = rv;
            job->err = e;
        } else if (rv == 0) {
            job->stats->objects_checked++;
            job->stats->bytes_read += entry->size_bytes;
            job->stats->files++;
        }
        pthread_mutex_unlock(&job->mu);
    }
}

/* Runs restore_files on n threads (the caller's among them); returns the first error. */
static int restore_all(struct restore_job *job, struct backup_error *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cores < 1 ? 1 : cores > RESTORE_THREADS_MAX ? RESTORE_THREADS_MAX : (int)cores;
    pthread_t threads[RESTORE_THREADS_MAX];
    struct restore_worker workers[RESTORE_THREADS_MAX];
    int started = 0;
    pthread_mutex_init(&job->mu, NULL);
    for (int i = 0; i < n; i++) {
        workers[i] = (struct restore_worker){job, 0};
    }
    for (int i = 1; i < n; i++) {
        if (pthread_create(&threads[i], NULL, restore_files, &workers[i]) != 0) {
            break; /* fewer threads: still correct */
        }
        started = i;
    }
    restore_files(&workers[0]);
    for (int i = 1; i <= started; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_mutex_destroy(&job->mu);
    if (job->rv != 0) {
        *err = job->err;
    }
    return job->rv;
}

int backup_restore(struct backup_repo *r, const char *id, const char *to_dir,
                   backup_progress_fn progress, void *progress_data, struct backup_stats *stats,
                   struct backup_error *err)
{
    char full[BACKUP_ID_CAP], tmp[PATH_CAP], parent[PATH_CAP];
    struct manifest m = {0};
    struct object_progress pr = {progress, progress_data, "restore", 0, 0};
    struct stat st;
    uint64_t start = clock_now_ms();
    uint8_t rnd[4];
    bool made = false;
    memset(stats, 0, sizeof *stats);
    int rv = manifest_resolve(r, id, full, err);
    if (rv != 0 || (rv = manifest_load(r, full, &m, err)) != 0) {
        return rv;
    }
    if ((rv = manifest_check_chain(r, &m, err)) != 0) {
        goto out;
    }
    size_t to_len = strlen(to_dir);
    while (to_len > 1 && to_dir[to_len - 1] == '/') {
        to_len--;
    }
    char to[PATH_CAP];
    snprintf(to, sizeof to, "%.*s", (int)to_len, to_dir);
    if (lstat(to, &st) == 0) {
        rv = backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE,
                         "restore target %s exists: give a path that does not exist yet", to);
        goto out;
    }
    parent_of(to, parent);
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rv = backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE,
                         "restore target's parent %s is not a directory", parent);
        goto out;
    }
    /* Every object there, named and sized as the manifest says, before writing. */
    for (uint32_t i = 0; i < m.n_entries; i++) {
        pr.total += m.entries[i].size_bytes;
        if ((rv = object_check_header(r, m.entries[i].object_id, m.entries[i].size_bytes, err)) !=
            0) {
            backup_error_prefix(err, m.entries[i].name);
            goto out;
        }
    }
    if (random_bytes(rnd, sizeof rnd) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "no random bytes");
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.restore-%02x%02x%02x%02x", to, rnd[0], rnd[1], rnd[2], rnd[3]);
    if (mkdir(tmp, 0750) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "mkdir %s: %s", tmp, strerror(errno));
        goto out;
    }
    made = true;
    struct restore_job job = {.r = r, .m = &m, .tmp = tmp, .pr = &pr, .stats = stats};
    if ((rv = restore_all(&job, err)) != 0) {
        goto out;
    }
    /* One sync pass at the end rather than one per file: writeback was started as the
     * files were written, so decryption did not wait for the disk; all of it is durable
     * before the rename makes the restore visible. */
    for (uint32_t i = 0; i < m.n_entries; i++) {
        char path[PATH_CAP];
        snprintf(path, sizeof path, "%s/%s", tmp, m.entries[i].name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fdatasync(fd) != 0) {
            rv =
                backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "fsync %s: %s", path, strerror(errno));
        }
        if (fd >= 0) {
            close(fd);
        }
        if (rv != 0) {
            goto out;
        }
    }
    fsync_path(tmp);
    if (rename(tmp, to) != 0) {
        rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "rename %s to %s: %s", tmp, to,
                         strerror(errno));
        goto out;
    }
    made = false;
    fsync_path(parent);
out:
    if (made) {
        remove_flat_dir(tmp);
    }
    if (rv != 0 && err->msg[0] != '\0') {
        backup_error_prefix(err, full[0] ? full : id);
    }
    stats->elapsed_ms = clock_now_ms() - start;
    manifest_free(&m);
    return rv;
}

/* ---- verify ---- */

struct ref {
    uint8_t id[OBJECT_ID_BYTES];
    uint64_t size_bytes;
    char name[BACKUP_NAME_MAX + 1];
    char backup[BACKUP_ID_CAP];
};

static int cmp_ref(const void *a, const void *b)
{
    return memcmp(((const struct ref *)a)->id, ((const struct ref *)b)->id, OBJECT_ID_BYTES);
}

static void report_line(backup_report_fn report, void *data, struct backup_stats *stats,
                        const char *line)
{
    stats->problems++;
    if (report != NULL) {
        report(data, line);
    }
}

int backup_verify(struct backup_repo *r, double sample_pct, backup_report_fn report,
                  void *report_data, backup_progress_fn progress, void *progress_data,
                  struct backup_stats *stats, struct backup_error *err)
{
    char(*ids)[BACKUP_ID_CAP] = NULL;
    struct ref *refs = NULL;
    size_t n_ids, n_refs = 0, cap = 0;
    struct object_progress pr = {progress, progress_data, "verify", 0, 0};
    uint64_t start = clock_now_ms();
    char line[sizeof err->msg + 160];
    memset(stats, 0, sizeof *stats);
    if (!(sample_pct > 0 && sample_pct <= 100)) {
        return backup_fail(err, WAIHU_EINVAL, BACKUP_FAULT_USAGE,
                           "sample must be a percentage in (0, 100]");
    }
    int rv = manifest_list_ids(r, &ids, &n_ids, err);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < n_ids; i++) {
        struct manifest m;
        struct backup_error e = {0};
        if (manifest_load(r, ids[i], &m, &e) != 0) {
            report_line(report, report_data, stats, e.msg);
            continue;
        }
        if (manifest_check_chain(r, &m, &e) != 0) {
            report_line(report, report_data, stats, e.msg);
        }
        if (n_refs + m.n_entries > cap) {
            cap = (n_refs + m.n_entries) * 2;
            void *p = realloc(refs, cap * sizeof *refs);
            if (p == NULL) {
                manifest_free(&m);
                rv = backup_fail(err, WAIHU_ENOMEM, BACKUP_FAULT_IO, "out of memory");
                goto out;
            }
            refs = p;
        }
        for (uint32_t j = 0; j < m.n_entries; j++) {
            struct ref *f = &refs[n_refs++];
            memcpy(f->id, m.entries[j].object_id, OBJECT_ID_BYTES);
            f->size_bytes = m.entries[j].size_bytes;
            snprintf(f->name, sizeof f->name, "%s", m.entries[j].name);
            snprintf(f->backup, sizeof f->backup, "%s", m.id);
        }
        manifest_free(&m);
    }
    /* One check per object, however many backups share it. */
    if (n_refs > 0) {
        qsort(refs, n_refs, sizeof *refs, cmp_ref);
    }
    size_t u = 0;
    for (size_t i = 0; i < n_refs; i++) {
        if (u == 0 || memcmp(refs[u - 1].id, refs[i].id, OBJECT_ID_BYTES) != 0) {
            refs[u++] = refs[i];
        }
    }
    size_t k = u;
    if (sample_pct < 100) {
        k = (size_t)((double)u * sample_pct / 100.0 + 0.999999);
        for (size_t i = 0; i < k; i++) { /* partial Fisher-Yates */
            uint64_t x;
            if (random_bytes(&x, sizeof x) != 0) {
                rv = backup_fail(err, WAIHU_EIO, BACKUP_FAULT_IO, "no random bytes");
                goto out;
            }
            size_t j = i + (size_t)(x % (u - i));
            struct ref t = refs[i];
            refs[i] = refs[j];
            refs[j] = t;
        }
    }
    for (size_t i = 0; i < k; i++) {
        pr.total += refs[i].size_bytes;
    }
    for (size_t i = 0; i < k; i++) {
        struct backup_error e = {0};
        if (object_get(r, refs[i].id, refs[i].size_bytes, -1, &pr, &e) != 0) {
            if (e.fault != BACKUP_FAULT_INTEGRITY) {
                *err = e;
                rv = e.code;
                goto out;
            }
            snprintf(line, sizeof line, "%s (file %s of backup %s)", e.msg, refs[i].name,
                     refs[i].backup);
            report_line(report, report_data, stats, line);
        }
        stats->objects_checked++;
        stats->bytes_read += refs[i].size_bytes;
    }
    if (stats->problems > 0) {
        rv = backup_fail(err, WAIHU_ECORRUPT, BACKUP_FAULT_INTEGRITY,
                         "verify found %u problem(s) in %zu backup(s), %u object(s) checked",
                         stats->problems, n_ids, stats->objects_checked);
    }
out:
    stats->elapsed_ms = clock_now_ms() - start;
    free(ids);
    free(refs);
    return rv;
}
