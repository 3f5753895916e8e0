/* Private to src/backup: keys, the object and manifest formats (docs/backup.md), and the
 * open repository. */
#ifndef WAIHU_BACKUP_INTERNAL_H
#define WAIHU_BACKUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup.h"
#include "target.h"

#define REPO_ID_BYTES 16
#define OBJECT_ID_BYTES 32
#define OBJECT_ID_HEX (2 * OBJECT_ID_BYTES + 1)
#define REPO_FORMAT 1
#define REPO_CHUNK_BYTES (1u << 20)
#define REPO_CHUNK_MIN (4u << 10)
#define REPO_CHUNK_MAX (16u << 20)

/* Sets err (code, fault, formatted message) and returns code. */
int backup_fail(struct backup_error *err, int code, enum backup_fault fault, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a target error code to a fault and copies the target's message with a prefix. */
int backup_fail_target(struct backup_error *err, int code, struct target *t, const char *what);
/* Puts "prefix: " before err's message (a file name, a backup id). */
void backup_error_prefix(struct backup_error *err, const char *prefix);

void hex_encode(const uint8_t *in, size_t n, char *out); /* out: 2n + 1 */
int hex_decode(const char *in, uint8_t *out, size_t n);  /* exactly 2n hex digits */

/* ---- keys (keys.c) ---- */

/* HKDF-SHA-256 (RFC 5869) into out_len bytes. Returns 0 or WAIHU_EIO. */
int kdf_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
             const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
/* HMAC-SHA-256 over an incremental stream. */
struct kdf_mac;
int kdf_mac_new(const uint8_t key[32], struct kdf_mac **out);
int kdf_mac_update(struct kdf_mac *m, const void *buf, size_t len);
int kdf_mac_final(struct kdf_mac *m, uint8_t out[32]); /* resets m for reuse */
void kdf_mac_free(struct kdf_mac *m);
int kdf_hmac(const uint8_t key[32], const void *buf, size_t len, uint8_t out[32]);

/* Reads a master key file: 64 hex digits (whitespace around allowed) or 32 raw bytes;
 * refuses a file readable by group or others. */
int key_file_load(const char *path, uint8_t key[BACKUP_KEY_BYTES], struct backup_error *err);
/* Short public fingerprint of a master key (shown in messages, stored in the config). */
void key_fingerprint(const uint8_t key[BACKUP_KEY_BYTES], uint8_t out[8]);

/* The keys an open repository derives from its data key. */
struct repo_keys {
    uint8_t data[BACKUP_KEY_BYTES];
    uint8_t object_id[32]; /* HMAC key naming objects by content */
    uint8_t manifest[32];  /* AEAD key of manifests */
};
int repo_keys_derive(const uint8_t data_key[BACKUP_KEY_BYTES], const uint8_t repo_id[16],
                     struct repo_keys *out);

/* ---- the repository config (repo.c) ---- */

struct backup_repo {
    struct target *target;
    uint8_t repo_id[REPO_ID_BYTES];
    char repo_id_hex[2 * REPO_ID_BYTES + 1];
    uint32_t chunk_bytes;
    struct repo_keys keys;
};

/* ---- objects (object.c) ---- */

/* Object header, authenticated as part of every chunk's associated data:
 *   "WAIHUOB1" | u32 format | u32 chunk_bytes | u64 plain size | repo id (16) |
 *   object id (32) | salt (16) | u8 compression | 7 zero bytes          = 96 bytes
 * then chunks: u32 sealed length | sealed bytes | 16-byte tag. */
#define OBJECT_MAGIC "WAIHUOB1"
#define OBJECT_FORMAT 1
#define OBJECT_HEADER_BYTES 96
#define OBJECT_COMPRESSION_ZSTD 1

struct object_header {
    uint32_t format;
    uint32_t chunk_bytes;
    uint64_t plain_size;
    uint8_t repo_id[REPO_ID_BYTES];
    uint8_t object_id[OBJECT_ID_BYTES];
    uint8_t salt[16];
    uint8_t compression;
};
void object_header_encode(const struct object_header *h, uint8_t out[OBJECT_HEADER_BYTES]);
int object_header_decode(const uint8_t in[OBJECT_HEADER_BYTES], struct object_header *h);

/* Per-object key: HKDF(data key, salt, "waihu-backup object v1" | repo id | object id). */
int object_key(const struct repo_keys *k, const struct object_header *h, uint8_t key[32]);
/* Associated data of chunk index: header | be64 index | u8 final. */
void object_chunk_aad(const uint8_t header[OBJECT_HEADER_BYTES], uint64_t index, bool final,
                      uint8_t aad[OBJECT_HEADER_BYTES + 9]);

/* "objects/ab/<64 hex>" into out (cap 80). */
void object_name(const uint8_t id[OBJECT_ID_BYTES], char *out);

/* Keyed content id and size of a local file. */
int object_id_of_file(const struct backup_repo *r, const char *path, uint8_t id[32],
                      uint64_t *size_bytes, struct backup_error *err);

/* Uploads the file at path as object id: zstd per chunk, AES-256-GCM per chunk under a
 * fresh salt; checks on the way that the file still has the content id names. Adds the
 * bytes written to *shipped; progress sees plaintext bytes. */
struct object_progress {
    backup_progress_fn fn;
    void *data;
    const char *what;
    uint64_t done, total;
};
int object_put_file(struct backup_repo *r, const char *path, const uint8_t id[32],
                    uint64_t size_bytes, uint64_t *shipped, struct object_progress *pr,
                    struct backup_error *err);

/* The same from memory: buf holds size_bytes whose keyed hash is id. */
int object_put_mem(struct backup_repo *r, const uint8_t *buf, const uint8_t id[32],
                   uint64_t size_bytes, uint64_t *shipped, struct object_progress *pr,
                   struct backup_error *err);
/* Reads the file at path (exactly size_bytes) into *buf and names it: one read for files
 * small enough to hold (RocksDB SSTs), none of them re-read. *buf (capacity *cap) is
 * reused and grown with malloc; the caller frees it once done with every file. */
#define OBJECT_LOAD_MAX (256u << 20)
int object_load_file(const struct backup_repo *r, const char *path, uint64_t size_bytes,
                     uint8_t **buf, size_t *cap, uint8_t id[32], struct backup_error *err);

/* Reads object id, checking header, every chunk's tag, order, count and end, the
 * plaintext size and keyed hash; writes the plaintext to fd (-1: discard). */
int object_get(struct backup_repo *r, const uint8_t id[32], uint64_t size_bytes, int fd,
               struct object_progress *pr, struct backup_error *err);
/* Checks that object id exists and its header names it with this size (no decryption). */
int object_check_header(struct backup_repo *r, const uint8_t id[32], uint64_t size_bytes,
                        struct backup_error *err);

/* ---- manifests (manifest.c) ---- */

/* Entry kinds: checkpoint files now; raft log segments and recordings later (format
 * room: readers of format 1 refuse kinds they do not know). */
enum manifest_kind { MANIFEST_FILE = 1, MANIFEST_RAFT_SEGMENT = 2, MANIFEST_RECORDING = 3 };

struct manifest_entry {
    uint8_t kind;
    char name[BACKUP_NAME_MAX + 1];
    uint64_t size_bytes;
    uint8_t object_id[OBJECT_ID_BYTES];
};

struct manifest {
    uint8_t repo_id[REPO_ID_BYTES];
    char id[BACKUP_ID_CAP];
    bool incremental;
    int64_t created_ms;
    uint64_t raft_index;
    char parent_id[BACKUP_ID_CAP];
    uint8_t parent_hash[32]; /* SHA-256 of the parent's stored manifest */
    uint32_t n_entries;
    struct manifest_entry *entries; /* malloc'd */
    uint8_t hash[32];               /* SHA-256 of this stored manifest (on load) */
    size_t stored_bytes;
};

#define MANIFEST_MAGIC "WAIHUMF1"
#define MANIFEST_FORMAT 1
#define MANIFEST_MAX_BYTES (64u << 20)
#define MANIFEST_MAX_ENTRIES 1000000

/* Seals m under the repository's manifest key; *buf malloc'd (caller frees). */
int manifest_seal(const struct backup_repo *r, const struct manifest *m, uint8_t **buf,
                  size_t *len);
/* Authenticates and decodes a stored manifest named id; checks the repo id. Caller frees
 * with manifest_free. Tampering, a wrong key or another repository's manifest fail with
 * BACKUP_FAULT_INTEGRITY and say which. */
int manifest_open(const struct backup_repo *r, const char *id, const uint8_t *buf, size_t len,
                  struct manifest *m, struct backup_error *err);
void manifest_free(struct manifest *m);
bool backup_id_valid(const char *id);

/* Loads manifests/<id> from the target. */
int manifest_load(struct backup_repo *r, const char *id, struct manifest *m,
                  struct backup_error *err);
/* Loads m's ancestors back to its full, checking each link's hash. */
int manifest_check_chain(struct backup_repo *r, const struct manifest *m, struct backup_error *err);
/* Ids of every stored manifest, sorted (oldest first: ids start with the UTC time). *ids
 * is one malloc'd array of BACKUP_ID_CAP-byte strings. */
int manifest_list_ids(struct backup_repo *r, char (**ids)[BACKUP_ID_CAP], size_t *n,
                      struct backup_error *err);
/* Resolves an id or a unique prefix of one into out (cap BACKUP_ID_CAP). */
int manifest_resolve(struct backup_repo *r, const char *id, char *out, struct backup_error *err);

#endif
