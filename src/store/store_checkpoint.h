/* Private to src/store: checkpoint snapshots for large states. The raft blob is a
 * manifest:
 *   "WAIHUCP1" | u32 format | u64 index | u64 dir | u64 origin node | u32 n_files |
 *   n x (u16 name length | name | u64 size | 32-byte SHA-256) | SHA-256 of all before
 * (big-endian). index is the store's applied index (what restore compares, as for inline
 * blobs); dir names the checkpoint dir, <snapshots>/<dir>/: the raft snapshot index, unique
 * per snapshot where the store's index is not (barriers do not move it). Inline blobs
 * start with "WAIHUSN1", so restore tells them apart. */
#ifndef WAIHU_STORE_CHECKPOINT_H
#define WAIHU_STORE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

#define CKPT_MAGIC "WAIHUCP1"
#define CKPT_FORMAT 1
#define CKPT_MAX_FILES 100000
#define CKPT_NAME_MAX 255
#define CKPT_KEEP 2

struct ckpt_file {
    char name[CKPT_NAME_MAX + 1];
    uint64_t size_bytes;
    uint8_t sha256[32];
};

struct ckpt_manifest {
    uint32_t format;
    uint64_t index;
    uint64_t dir;
    uint64_t origin;
    uint32_t n_files;
    struct ckpt_file *files; /* malloc'd */
};

/* True if buf starts with the manifest magic. */
bool ckpt_is_manifest(const void *buf, size_t len);
/* A file name we write, serve and accept: [A-Za-z0-9_-][A-Za-z0-9._-]{0,254}. */
bool ckpt_name_valid(const char *name);
/* *buf comes from alloc and belongs to the caller. */
int ckpt_manifest_encode(const struct ckpt_manifest *m, void *(*alloc)(size_t), void **buf,
                         size_t *len);
/* Checks magic, format, bounds, names and the trailing digest: WAIHU_ECORRUPT otherwise.
 * On success the caller frees with ckpt_manifest_free. */
int ckpt_manifest_decode(const void *buf, size_t len, struct ckpt_manifest *out);
void ckpt_manifest_free(struct ckpt_manifest *m);

/* Whether a checkpoint snapshot is due (configured and state above the inline max). */
bool ckpt_wanted(struct store *s);
/* Any thread: writes a checkpoint of s into <snap_dir>/<index>/, keeps the last
 * CKPT_KEEP, and returns its manifest in a buffer from alloc. */
int ckpt_create(struct store *s, uint64_t index, uint64_t dir, void *(*alloc)(size_t),
                void **buf, size_t *len);
/* Loop thread: fetches (unless already local), verifies and swaps in the checkpoint a
 * manifest names. Nothing changes on error. */
int ckpt_restore(struct store *s, const void *buf, size_t len);

#endif
