/* Backup repositories (docs/backup.md): encrypted, content-addressed copies of RocksDB
 * checkpoints on an offsite target, described by authenticated manifests chained to their
 * parents. Everything here is blocking I/O: call it from a tool or the uv thread pool,
 * never from the core loop. One writer per repository at a time (no lock object yet). */
#ifndef WAIHU_BACKUP_H
#define WAIHU_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* What went wrong, beyond the waihu_err code: the tool maps these to exit codes. */
enum backup_fault {
    BACKUP_FAULT_NONE = 0,
    BACKUP_FAULT_IO,        /* target or local disk failed, out of memory */
    BACKUP_FAULT_USAGE,     /* bad argument: not a checkpoint, target dir exists... */
    BACKUP_FAULT_KEY,       /* key file unreadable, malformed, or not this repo's key */
    BACKUP_FAULT_INTEGRITY, /* tampered, truncated, missing or foreign data */
    BACKUP_FAULT_NOTFOUND,  /* no repository, no such backup */
};

/* Filled by every call that fails: code is the waihu_err returned, msg names the object,
 * file or backup and why ("object 3fa2..: chunk 4: authentication failed"). */
struct backup_error {
    int code;
    enum backup_fault fault;
    char msg[512];
};

#define BACKUP_KEY_BYTES 32
#define BACKUP_ID_CAP 40    /* "20261124T133100Z-1a2b3c4d" + NUL, with room */
#define BACKUP_NAME_MAX 255 /* file names inside a checkpoint */

/* Called on long work with bytes done out of total (total may grow); any thread. */
typedef void (*backup_progress_fn)(void *data, const char *what, uint64_t done_bytes,
                                   uint64_t total_bytes);

/* Writes a new random master key (64 hex characters) to path, mode 0600; refuses to
 * overwrite an existing file. */
WAIHU_API int backup_key_file_create(const char *path, struct backup_error *err);

/* Creates a repository in the directory target dir (created if missing, must hold no
 * repository): a random repo id and data key, the data key wrapped by the master key in
 * key_file. repo_id_hex (cap 33) receives the id. */
WAIHU_API int backup_repo_init(const char *dir, const char *key_file, char *repo_id_hex,
                               struct backup_error *err);

/* Opens the repository at dir with the master key in key_file. Caller frees with
 * backup_repo_close. A key that does not unwrap the data key is BACKUP_FAULT_KEY. */
struct backup_repo;
WAIHU_API int backup_repo_open(const char *dir, const char *key_file, struct backup_repo **out,
                               struct backup_error *err);
WAIHU_API void backup_repo_close(struct backup_repo *r);
/* Hex repo id (33 bytes with the NUL) of an open repository. */
WAIHU_API const char *backup_repo_id(const struct backup_repo *r);

/* Rewraps the data key under the master key in new_key_file (created if missing) and
 * replaces the config atomically: no object is rewritten. The old key stops working. */
WAIHU_API int backup_repo_rotate_key(struct backup_repo *r, const char *new_key_file,
                                     struct backup_error *err);

struct backup_options {
    bool incremental;      /* upload only objects the repository lacks */
    const char *parent_id; /* incremental: parent backup (NULL: the newest) */
    uint64_t raft_index;   /* applied raft index of the checkpoint (0: unknown) */
    backup_progress_fn progress;
    void *progress_data;
};

struct backup_stats {
    uint32_t files;
    uint64_t bytes_read;      /* plaintext bytes of the checkpoint */
    uint32_t objects_new;     /* objects uploaded */
    uint64_t bytes_new;       /* plaintext bytes of those objects */
    uint64_t bytes_shipped;   /* bytes written to the target (objects + manifest) */
    uint32_t objects_checked; /* verify, restore */
    uint32_t problems;        /* verify: objects or manifests that failed */
    uint64_t elapsed_ms;
};

/* Backs up the RocksDB checkpoint in checkpoint_dir (flat dir of regular files with a
 * CURRENT). id_out (cap BACKUP_ID_CAP) receives the new backup's id. The manifest is
 * written last: a failed run leaves only unreferenced objects (prune removes them). */
WAIHU_API int backup_create(struct backup_repo *r, const char *checkpoint_dir,
                            const struct backup_options *opts, char *id_out,
                            struct backup_stats *stats, struct backup_error *err);

/* One backup as its manifest describes it. */
struct backup_info {
    char id[BACKUP_ID_CAP];
    char parent_id[BACKUP_ID_CAP]; /* "" for a full */
    bool incremental;
    uint64_t raft_index;
    int64_t created_ms;
    uint32_t n_files;
    uint64_t size_bytes;   /* sum of file sizes */
    uint64_t stored_bytes; /* manifest size, for listings */
};

/* Every backup, oldest first, each manifest authenticated. *out is malloc'd: caller frees
 * with free(). A manifest that fails its check fails the call (run verify for all). */
WAIHU_API int backup_list(struct backup_repo *r, struct backup_info **out, size_t *n,
                          struct backup_error *err);

/* One file of a backup. */
struct backup_file {
    char name[BACKUP_NAME_MAX + 1];
    uint64_t size_bytes;
    uint8_t object_id[32];
};

/* Loads backup id (or a unique prefix of one): its info and files (malloc'd: caller frees
 * *files with free()). files may be NULL. Checks the chain back to its full. */
WAIHU_API int backup_show(struct backup_repo *r, const char *id, struct backup_info *info,
                          struct backup_file **files, size_t *n_files, struct backup_error *err);

/* Authenticates every manifest and chain, then decrypts and checks every object they
 * reference (or a random sample_pct percent of them, 0 < pct <= 100). Problems are
 * counted in stats->problems and reported through report (one line each); the call
 * returns WAIHU_ECORRUPT if there was any. */
typedef void (*backup_report_fn)(void *data, const char *line);
WAIHU_API int backup_verify(struct backup_repo *r, double sample_pct, backup_report_fn report,
                            void *report_data, backup_progress_fn progress, void *progress_data,
                            struct backup_stats *stats, struct backup_error *err);

/* Restores backup id into to_dir, which must not exist: every check (manifest, chain,
 * objects present, each chunk's tag, each file's keyed hash and size) passes in a
 * temporary sibling directory, every file is fsynced, and only then is it renamed to
 * to_dir. Nothing is left on error. Files are decrypted by up to 4 threads (one per core);
 * progress may then be called from any of them, one call at a time. */
WAIHU_API int backup_restore(struct backup_repo *r, const char *id, const char *to_dir,
                             backup_progress_fn progress, void *progress_data,
                             struct backup_stats *stats, struct backup_error *err);

/* Keeps the keep newest backups and every ancestor they chain to; deletes the other
 * manifests, then the objects no remaining manifest references. */
struct backup_prune_stats {
    uint32_t backups_kept;
    uint32_t backups_deleted;
    uint32_t objects_deleted;
    uint64_t bytes_deleted;
};
WAIHU_API int backup_prune(struct backup_repo *r, unsigned keep, struct backup_prune_stats *st,
                           struct backup_error *err);

#endif
