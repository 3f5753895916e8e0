/* The directory target: a mounted NAS/NFS path. Puts write "<name>.tmp.<random>" and rename
 * it over name after fsync, so readers never see half an object. */
#define _GNU_SOURCE /* sync_file_range */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target.h"

#define PATH_CAP 1024

struct dir_target {
    struct target base;
    char root[PATH_CAP / 2];
};

/* Writeback is started every this many bytes, so the final fsync finds little left to do
 * and the disk works while we compress and encrypt the next chunks. */
#define WRITEBACK_BYTES (8u << 20)

struct target_writer {
    int fd;
    uint64_t written, kicked;
    char tmp[PATH_CAP];
    char final[PATH_CAP];
};

struct target_reader {
    int fd;
};

static struct dir_target *dt(struct target *t)
{
    return (struct dir_target *)t;
}

static int fail(struct target *t, const char *what, const char *path)
{
    int e = errno;
    snprintf(t->errmsg, sizeof t->errmsg, "%s %s: %s", what, path, strerror(e));
    return e == ENOSPC ? WAIHU_ENOSPACE : e == ENOENT ? WAIHU_ENOTFOUND : WAIHU_EIO;
}

/* Names are ours ("objects/ab/<hex>"): no "..", no leading "/". */
static int path_of(struct target *t, const char *name, char *out)
{
    if (name[0] == '/' || strstr(name, "..") != NULL ||
        (size_t)snprintf(out, PATH_CAP, "%s/%s", dt(t)->root, name) >= PATH_CAP) {
        snprintf(t->errmsg, sizeof t->errmsg, "bad blob name %s", name);
        return WAIHU_EINVAL;
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    char dir[PATH_CAP];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        return;
    }
    *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* mkdir -p of the folders above path. */
static int make_parents(struct target *t, const char *path)
{
    char p[PATH_CAP];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + strlen(dt(t)->root) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            return fail(t, "mkdir", p);
        }
        *s = '/';
    }
    return 0;
}

static int put_begin(struct target *t, const char *name, struct target_writer **out)
{
    struct target_writer *w = calloc(1, sizeof *w);
    uint8_t rnd[8];
    int rv;
    if (w == NULL) {
        return WAIHU_ENOMEM;
    }
    if ((rv = path_of(t, name, w->final)) != 0 || (rv = random_bytes(rnd, sizeof rnd)) != 0) {
        free(w);
        return rv;
    }
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", w->final, rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    if ((rv = make_parents(t, w->tmp)) != 0) {
        free(w);
        return rv;
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (w->fd < 0) {
        rv = fail(t, "create", w->tmp);
        free(w);
        return rv;
    }
    *out = w;
    return 0;
}

static int put_write(struct target *t, struct target_writer *w, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(t, "write", w->tmp);
        }
        p += n;
        len -= (size_t)n;
        w->written += (uint64_t)n;
    }
    if (w->written - w->kicked >= WRITEBACK_BYTES) {
        sync_file_range(w->fd, (off_t)w->kicked, (off_t)(w->written - w->kicked),
                        SYNC_FILE_RANGE_WRITE);
        w->kicked = w->written;
    }
    return 0;
}

static void put_abort(struct target *t, struct target_writer *w)
{
    (void)t;
    close(w->fd);
    unlink(w->tmp);
    free(w);
}

static int put_commit(struct target *t, struct target_writer *w)
{
    int rv = 0;
    if (fdatasync(w->fd) != 0) {
        rv = fail(t, "fsync", w->tmp);
    } else if (close(w->fd) != 0) {
        w->fd = -1;
        rv = fail(t, "close", w->tmp);
    } else {
        w->fd = -1;
        if (rename(w->tmp, w->final) != 0) {
            rv = fail(t, "rename", w->tmp);
        } else {
            fsync_parent(w->final);
        }
    }
    if (rv != 0) {
        if (w->fd >= 0) {
            close(w->fd);
        }
        unlink(w->tmp);
    }
    free(w);
    return rv;
}

static int get_open(struct target *t, const char *name, struct target_reader **out,
                    uint64_t *size_bytes)
{
    char path[PATH_CAP];
    struct stat st;
    int rv = path_of(t, name, path);
    if (rv != 0) {
        return rv;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(t, "open", path);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rv = fail(t, "stat", path);
        close(fd);
        return rv == WAIHU_ENOTFOUND ? WAIHU_EIO : rv;
    }
    struct target_reader *r = malloc(sizeof *r);
    if (r == NULL) {
        close(fd);
        return WAIHU_ENOMEM;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    r->fd = fd;
    *size_bytes = (uint64_t)st.st_size;
    *out = r;
    return 0;
}

static int get_read(struct target *t, struct target_reader *r, void *buf, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t n = read(r->fd, buf, cap);
        if (n >= 0) {
            *got = (size_t)n;
            return 0;
        }
        if (errno != EINTR) {
            return fail(t, "read", "blob");
        }
    }
}

static void get_close(struct target *t, struct target_reader *r)
{
    (void)t;
    close(r->fd);
    free(r);
}

static int stat_blob(struct target *t, const char *name, uint64_t *size_bytes)
{
    char path[PATH_CAP];
    struct stat st;
    int rv = path_of(t, name, path);
    if (rv != 0) {
        return rv;
    }
    if (stat(path, &st) != 0) {
        return fail(t, "stat", path);
    }
    *size_bytes = (uint64_t)st.st_size;
    return 0;
}

static bool is_temporary(const char *name)
{
    return strstr(name, ".tmp.") != NULL;
}

/* Walks rel (relative to the root) recursively; names passed to fn are relative too. */
static int walk(struct target *t, const char *rel, target_list_fn fn, void *data, int depth)
{
    char path[PATH_CAP];
    int rv = 0;
    snprintf(path, sizeof path, "%s/%s", dt(t)->root, rel);
    DIR *d = opendir(path);
    if (d == NULL) {
        return errno == ENOENT ? 0 : fail(t, "opendir", path);
    }
    struct dirent *e;
    while (rv == 0 && (e = readdir(d)) != NULL) {
        char child[PATH_CAP], full[PATH_CAP];
        struct stat st;
        if (e->d_name[0] == '.' || is_temporary(e->d_name)) {
            continue;
        }
        if ((size_t)snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >=
            sizeof child) {
            continue;
        }
        snprintf(full, sizeof full, "%s/%s", dt(t)->root, child);
        if (lstat(full, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth < 4) {
            rv = walk(t, child, fn, data, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            rv = fn(data, child, (uint64_t)st.st_size);
        }
    }
    closedir(d);
    return rv;
}

static int list(struct target *t, const char *prefix, target_list_fn fn, void *data)
{
    char rel[PATH_CAP];
    snprintf(rel, sizeof rel, "%s", prefix);
    size_t n = strlen(rel);
    if (n > 0 && rel[n - 1] == '/') {
        rel[n - 1] = '\0';
    }
    return walk(t, rel, fn, data, 0);
}

static int remove_blob(struct target *t, const char *name)
{
    char path[PATH_CAP];
    int rv = path_of(t, name, path);
    if (rv != 0) {
        return rv;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return fail(t, "unlink", path);
    }
    return 0;
}

static void close_target(struct target *t)
{
    free(t);
}

static const struct target_ops dir_ops = {
    .put_begin = put_begin,
    .put_write = put_write,
    .put_commit = put_commit,
    .put_abort = put_abort,
    .get_open = get_open,
    .get_read = get_read,
    .get_close = get_close,
    .stat = stat_blob,
    .list = list,
    .remove = remove_blob,
    .close = close_target,
};

int target_dir_open(const char *root, int create, struct target **out, char *errmsg)
{
    struct stat st;
    if (strlen(root) == 0 || strlen(root) >= PATH_CAP / 2) {
        snprintf(errmsg, 256, "repository path is empty or too long");
        return WAIHU_EINVAL;
    }
    if (create && mkdir(root, 0750) != 0 && errno != EEXIST) {
        snprintf(errmsg, 256, "mkdir %s: %s", root, strerror(errno));
        return WAIHU_EIO;
    }
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(errmsg, 256, "%s: not a directory", root);
        return WAIHU_ENOTFOUND;
    }
    struct dir_target *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return WAIHU_ENOMEM;
    }
    d->base.ops = &dir_ops;
    snprintf(d->root, sizeof d->root, "%s", root);
    *out = &d->base;
    return 0;
}

/* ---- whole-blob helpers ---- */

int target_get_all(struct target *t, const char *name, size_t max, uint8_t **buf, size_t *len)
{
    struct target_reader *r;
    uint64_t size;
    int rv = t->ops->get_open(t, name, &r, &size);
    if (rv != 0) {
        return rv;
    }
    if (size > max) {
        t->ops->get_close(t, r);
        snprintf(t->errmsg, sizeof t->errmsg, "%s: %llu bytes, more than %zu", name,
                 (unsigned long long)size, max);
        return WAIHU_ETOOBIG;
    }
    uint8_t *p = malloc(size + 1);
    size_t off = 0, got = 0;
    if (p == NULL) {
        t->ops->get_close(t, r);
        return WAIHU_ENOMEM;
    }
    while ((rv = t->ops->get_read(t, r, p + off, size + 1 - off, &got)) == 0 && got > 0) {
        off += got;
        if (off > size) {
            break;
        }
    }
    t->ops->get_close(t, r);
    if (rv == 0 && off != size) {
        snprintf(t->errmsg, sizeof t->errmsg, "%s changed while being read", name);
        rv = WAIHU_EIO;
    }
    if (rv != 0) {
        free(p);
        return rv;
    }
    *buf = p;
    *len = off;
    return 0;
}

int target_put_all(struct target *t, const char *name, const void *buf, size_t len)
{
    struct target_writer *w;
    int rv = t->ops->put_begin(t, name, &w);
    if (rv != 0) {
        return rv;
    }
    if ((rv = t->ops->put_write(t, w, buf, len)) != 0) {
        t->ops->put_abort(t, w);
        return rv;
    }
    return t->ops->put_commit(t, w);
}
