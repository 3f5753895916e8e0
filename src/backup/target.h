/* Private to src/backup: where a repository's files live. A target stores named blobs
 * ("config", "manifests/<id>", "objects/ab/<hex id>"); a put becomes visible whole or not
 * at all (write a temporary, then rename: S3 gets the same from a completed PUT or
 * multipart upload, SFTP from write + rename). The directory target is the first one;
 * SFTP and S3 plug in behind the same vtable. */
#ifndef WAIHU_BACKUP_TARGET_H
#define WAIHU_BACKUP_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "backup.h"

struct target;
struct target_writer;
struct target_reader;

/* fn returns nonzero to stop the listing (that value is returned). */
typedef int (*target_list_fn)(void *data, const char *name, uint64_t size_bytes);

struct target_ops {
    /* Starts an upload of name (replacing it on commit if it exists). */
    int (*put_begin)(struct target *t, const char *name, struct target_writer **w);
    int (*put_write)(struct target *t, struct target_writer *w, const void *buf, size_t len);
    /* Makes the blob durable and visible; frees w whatever the outcome. */
    int (*put_commit)(struct target *t, struct target_writer *w);
    /* Drops a partial upload; frees w. */
    void (*put_abort)(struct target *t, struct target_writer *w);
    /* WAIHU_ENOTFOUND when name does not exist. */
    int (*get_open)(struct target *t, const char *name, struct target_reader **r,
                    uint64_t *size_bytes);
    /* Reads up to cap bytes; *got 0 at the end. */
    int (*get_read)(struct target *t, struct target_reader *r, void *buf, size_t cap, size_t *got);
    void (*get_close)(struct target *t, struct target_reader *r);
    /* 0 with the size, or WAIHU_ENOTFOUND. */
    int (*stat)(struct target *t, const char *name, uint64_t *size_bytes);
    /* Every committed blob whose name starts with prefix (a folder: "objects/"). */
    int (*list)(struct target *t, const char *prefix, target_list_fn fn, void *data);
    /* Deletes name; a missing one is not an error. */
    int (*remove)(struct target *t, const char *name);
    void (*close)(struct target *t);
};

/* Different readers and writers may be used from several threads at once (restore does);
 * errmsg then holds the last failure's message. */
struct target {
    const struct target_ops *ops;
    char errmsg[256]; /* why the last call failed ("objects/ab/..: open: EACCES") */
};

/* A target on a local or mounted directory root (created if create is set). Caller frees
 * with t->ops->close(t). */
int target_dir_open(const char *root, int create, struct target **out, char *errmsg);

/* Whole-blob helpers over the vtable: *buf is malloc'd (caller frees); at most max bytes. */
int target_get_all(struct target *t, const char *name, size_t max, uint8_t **buf, size_t *len);
int target_put_all(struct target *t, const char *name, const void *buf, size_t len);

#endif
