/* Waihu customer service: the pure building blocks other modules use.
 *
 *  - phone_*:      normalise phone numbers to E.164 and mask them for display (CP-1);
 *  - fieldcrypt_*: AES-256-GCM encryption of personal fields bound to their record and
 *                  field, data keys wrapped by a master key, keyed phone hashes (CP-1);
 *  - filter_*:     the safe filter language of segments and campaigns (DM-2).
 *
 * Everything here is I/O-free and keeps no global state: safe from any thread as long
 * as one object (keyring, AST) is not mutated by two threads at once.
 */
#ifndef WAIHU_CUSTOMER_H
#define WAIHU_CUSTOMER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* ---------------------------------------------------------------------------
 * Phone numbers
 * ------------------------------------------------------------------------- */

/* '+', at most 15 digits, NUL. */
#define PHONE_E164_SIZE 17
/* Room for any phone_mask() result ("+" cc " " masked national, NUL). */
#define PHONE_MASK_SIZE 24
/* Longest raw input accepted, in bytes (spaces and punctuation included). */
#define PHONE_INPUT_MAX 64

/* Normalises a phone number written by a person to E.164 ("+8613812345678").
 * default_country is the tenant's ISO 3166 alpha-2 code ("CN", "US", "CA", "GB";
 * "UK" is accepted for GB) used for numbers without '+'; with NULL or a country
 * without a numbering plan here, only international numbers ('+', or 00/011 after a
 * known default country) are accepted. Spaces, dashes, dots and parentheses are
 * ignored; letters and other characters are rejected. Known countries (+1 NANP,
 * +86 China, +44 UK) are validated by their numbering plans; other '+' numbers need
 * 8..15 digits. Idempotent: normalising an output returns it unchanged.
 * Returns 0, or WAIHU_EINVAL with the reason in errmsg (may be NULL). */
WAIHU_API int phone_normalize(const char *input, const char *default_country,
                              char out[PHONE_E164_SIZE], char *errmsg, size_t errmsg_size);

/* Masks a normalised E.164 number for display: first 3 and last 4 digits of the
 * national number kept ("138****1234"); shorter national numbers keep proportionally
 * fewer, and at most 7 digits of the national number are ever shown. The country
 * code is shown as "+cc " unless it is the one of default_country (may be NULL).
 * Returns 0, or WAIHU_EINVAL when e164 is not a normalised number. */
WAIHU_API int phone_mask(const char *e164, const char *default_country,
                         char out[PHONE_MASK_SIZE]);

/* Length in digits of the country code of a normalised E.164 number (1..3), or 0
 * when e164 is not one. */
WAIHU_API int phone_country_code_len(const char *e164);

/* ---------------------------------------------------------------------------
 * Field encryption
 *
 * Sealed field: version (1 byte, FIELDCRYPT_VERSION) | data key id (4 bytes BE) |
 * nonce (12 random bytes) | ciphertext (as long as the plaintext) | GCM tag (16).
 * The GCM associated data binds tenant id, customer id, field name and the header,
 * so a sealed value moved to another record or field fails to open.
 * Random 96-bit nonces: rotate a data key well before 2^32 seals under it.
 * ------------------------------------------------------------------------- */

#define FIELDCRYPT_VERSION 1
#define FIELDCRYPT_KEY_BYTES 32
#define FIELDCRYPT_NONCE_BYTES 12
#define FIELDCRYPT_TAG_BYTES 16
#define FIELDCRYPT_HEADER_BYTES (1 + 4 + FIELDCRYPT_NONCE_BYTES)
/* Sealed length = plaintext length + FIELDCRYPT_OVERHEAD (33 bytes). */
#define FIELDCRYPT_OVERHEAD (FIELDCRYPT_HEADER_BYTES + FIELDCRYPT_TAG_BYTES)
/* Wrapped data key: version | key id (4 BE) | nonce (12) | key (32) | tag (16) = 65. */
#define FIELDCRYPT_WRAPPED_BYTES (FIELDCRYPT_HEADER_BYTES + FIELDCRYPT_KEY_BYTES + FIELDCRYPT_TAG_BYTES)
/* Keyed phone hash: HMAC-SHA-256. */
#define FIELDCRYPT_HASH_BYTES 32
/* Most data keys one keyring holds (current plus older ones still being read). */
#define FIELDCRYPT_MAX_KEYS 16
/* Longest field name bound into the associated data. */
#define FIELDCRYPT_FIELD_MAX 64

/* Data keys by id, the current one for new seals, and the phone lookup key.
 * Key material is wiped on free. */
struct fieldcrypt_keyring;

/* Where a sealed field belongs; all three are authenticated. */
struct fieldcrypt_aad {
    uint64_t tenant_id;
    uint64_t customer_id;
    const char *field; /* NUL-terminated, 1..FIELDCRYPT_FIELD_MAX bytes */
};

/* Fills key with FIELDCRYPT_KEY_BYTES random bytes. Returns 0 or WAIHU_EIO. */
WAIHU_API int fieldcrypt_key_generate(uint8_t key[FIELDCRYPT_KEY_BYTES]);

/* Wraps data_key (with its id, which is authenticated) under master_key.
 * Returns 0 or WAIHU_EIO. */
WAIHU_API int fieldcrypt_key_wrap(const uint8_t master_key[FIELDCRYPT_KEY_BYTES], uint32_t key_id,
                                  const uint8_t data_key[FIELDCRYPT_KEY_BYTES],
                                  uint8_t out[FIELDCRYPT_WRAPPED_BYTES]);

/* Unwraps a key made by fieldcrypt_key_wrap. Returns 0, WAIHU_ECORRUPT (wrong master
 * key, tampered or unknown version; data_key is then zeroed) or WAIHU_EIO. */
WAIHU_API int fieldcrypt_key_unwrap(const uint8_t master_key[FIELDCRYPT_KEY_BYTES],
                                    const uint8_t wrapped[FIELDCRYPT_WRAPPED_BYTES],
                                    uint32_t *key_id, uint8_t data_key[FIELDCRYPT_KEY_BYTES]);

/* New empty keyring; caller frees with fieldcrypt_keyring_free. 0 or WAIHU_ENOMEM. */
WAIHU_API int fieldcrypt_keyring_new(struct fieldcrypt_keyring **out);
/* Wipes and frees (NULL is allowed). */
WAIHU_API void fieldcrypt_keyring_free(struct fieldcrypt_keyring *kr);
/* Adds a data key (copied). Returns 0, WAIHU_ECONFLICT (id known with another key),
 * WAIHU_ETOOBIG (FIELDCRYPT_MAX_KEYS reached). Adding the same key again is a no-op. */
WAIHU_API int fieldcrypt_keyring_add(struct fieldcrypt_keyring *kr, uint32_t key_id,
                                     const uint8_t key[FIELDCRYPT_KEY_BYTES]);
/* A copy that later changes to kr do not touch (for a worker thread). 0 or ENOMEM. */
WAIHU_API int fieldcrypt_keyring_clone(const struct fieldcrypt_keyring *kr,
                                       struct fieldcrypt_keyring **out);
/* The id of the key new seals use. Returns 0 or WAIHU_ENOTFOUND. */
WAIHU_API int fieldcrypt_keyring_current(const struct fieldcrypt_keyring *kr, uint32_t *key_id);
/* Chooses the key new seals use. Returns 0 or WAIHU_ENOTFOUND. */
WAIHU_API int fieldcrypt_keyring_use(struct fieldcrypt_keyring *kr, uint32_t key_id);
/* Sets the phone lookup key (copied); it is separate from every data key and is not
 * rotated with them (changing it means rebuilding the phone indexes). */
WAIHU_API void fieldcrypt_keyring_set_lookup_key(struct fieldcrypt_keyring *kr,
                                                 const uint8_t key[FIELDCRYPT_KEY_BYTES]);

/* Seals plain (plain_len bytes, may be 0) under the current key into out, which must
 * hold plain_len + FIELDCRYPT_OVERHEAD bytes. Returns 0, WAIHU_EINVAL (bad aad),
 * WAIHU_ENOTFOUND (no current key), WAIHU_ETOOBIG (out too small) or WAIHU_EIO. */
WAIHU_API int fieldcrypt_seal(const struct fieldcrypt_keyring *kr, const struct fieldcrypt_aad *aad,
                              const uint8_t *plain, size_t plain_len, uint8_t *out,
                              size_t out_size, size_t *out_len);

/* Opens a sealed field with whichever known key sealed it; out must hold
 * sealed_len - FIELDCRYPT_OVERHEAD bytes. Returns 0, WAIHU_ECORRUPT (tampered, wrong
 * record or field, unknown version), WAIHU_ENOTFOUND (key id unknown), WAIHU_EINVAL,
 * WAIHU_ETOOBIG or WAIHU_EIO. Nothing of a failed open is left in out. */
WAIHU_API int fieldcrypt_open(const struct fieldcrypt_keyring *kr, const struct fieldcrypt_aad *aad,
                              const uint8_t *sealed, size_t sealed_len, uint8_t *out,
                              size_t out_size, size_t *out_len);

/* Key id of a sealed field (to find values to re-encrypt after rotation).
 * Returns 0 or WAIHU_ECORRUPT. */
WAIHU_API int fieldcrypt_key_id_of(const uint8_t *sealed, size_t sealed_len, uint32_t *key_id);

/* Keyed hash of a normalised E.164 number for dedup and do-not-call lookups.
 * Returns 0, WAIHU_EINVAL (not "+digits"), WAIHU_ENOTFOUND (no lookup key) or
 * WAIHU_EIO. */
WAIHU_API int fieldcrypt_phone_hash(const struct fieldcrypt_keyring *kr, const char *e164,
                                    uint8_t out[FIELDCRYPT_HASH_BYTES]);

/* ---------------------------------------------------------------------------
 * Filters
 *
 *   tag:high_intent AND NOT tag:closed AND last_contact < -30d AND industry = "education"
 *
 * Terms: tag:NAME (NAME is [A-Za-z0-9_.-]+ or a quoted string) and comparisons
 * FIELD OP VALUE with OP one of = != < <= > >= and VALUE a quoted string ("..", with
 * \" and \\ escapes), a number, a relative time (-30d, -12h, -15m, 2d) or an ISO date
 * (2026-01-31 or 2026-01-31T08:00:00Z). AND, OR, NOT are case-insensitive; NOT binds
 * tighter than AND, which binds tighter than OR; parentheses group.
 * Built-in time fields (last_contact, next_callback, created) take times; status and
 * source take strings with = and !=; owner takes a string or number with = and !=.
 * Other names are custom fields, type-checked against the tenant's schema later.
 * The AST is data only: nothing in it is ever pasted into another language.
 * ------------------------------------------------------------------------- */

#define FILTER_MAX_BYTES 4096
#define FILTER_MAX_DEPTH 32
#define FILTER_MAX_TERMS 64
#define FILTER_NAME_MAX 64

enum filter_kind { FILTER_AND, FILTER_OR, FILTER_NOT, FILTER_TAG, FILTER_CMP };
enum filter_op { FILTER_EQ, FILTER_NE, FILTER_LT, FILTER_LE, FILTER_GT, FILTER_GE };
enum filter_field {
    FILTER_FIELD_CUSTOM = 0,
    FILTER_FIELD_LAST_CONTACT,
    FILTER_FIELD_NEXT_CALLBACK,
    FILTER_FIELD_CREATED,
    FILTER_FIELD_STATUS,
    FILTER_FIELD_OWNER,
    FILTER_FIELD_SOURCE,
};
enum filter_value_kind { FILTER_VAL_STRING, FILTER_VAL_NUMBER, FILTER_VAL_RELTIME, FILTER_VAL_DATE };

struct filter_value {
    enum filter_value_kind kind;
    union {
        struct {
            char *s;    /* NUL-terminated, owned; may hold any byte but NUL */
            size_t len;
        } str;
        double number; /* finite */
        struct {
            int64_t amount; /* signed: -30 for -30d */
            char unit;      /* 'd', 'h' or 'm' */
        } rel;
        struct {
            int64_t unix_s; /* UTC */
            int has_time;   /* written with a time of day */
        } date;
    } u;
};

struct filter_node {
    enum filter_kind kind;
    union {
        struct {
            struct filter_node **items; /* owned; AND/OR never directly hold their own kind */
            size_t n;                   /* >= 2 */
        } list;
        struct filter_node *not_child;  /* owned */
        struct {
            char *name;                 /* owned */
        } tag;
        struct {
            enum filter_field field;
            char *name;                 /* owned field name, also for built-ins */
            enum filter_op op;
            struct filter_value value;
        } cmp;
    } u;
};

struct filter_error {
    size_t col;     /* 1-based byte column of the problem; 0 when not positional */
    char msg[160];  /* "col 17: expected a value after '<'" */
};

/* Parses len bytes of text. On success *out is the AST (caller frees with
 * filter_free). Returns 0, WAIHU_EINVAL (syntax; err says where and why),
 * WAIHU_ETOOBIG (a limit: length, depth or terms) or WAIHU_ENOMEM. err may be NULL. */
WAIHU_API int filter_parse(const char *text, size_t len, struct filter_node **out,
                           struct filter_error *err);

/* Frees an AST (NULL is allowed). */
WAIHU_API void filter_free(struct filter_node *node);

/* Canonical text of an AST: uppercase keywords, single spaces, minimal parentheses,
 * shortest round-trip numbers. Parsing it yields an equal AST. *out is malloc'd;
 * caller frees with free(). Returns 0 or WAIHU_ENOMEM. */
WAIHU_API int filter_format(const struct filter_node *node, char **out);

/* 1 when both ASTs are structurally equal, else 0. */
WAIHU_API int filter_equal(const struct filter_node *a, const struct filter_node *b);

/* Seconds of a relative time value (negative for the past). */
WAIHU_API int64_t filter_reltime_seconds(const struct filter_value *v);

/* Name of an operator ("<=") or field kind. */
WAIHU_API const char *filter_op_name(enum filter_op op);


/* ---------------------------------------------------------------------------
 * Customer records (customer_record.c, customer_json.c, customer_match.c)
 *
 * Keys (big-endian ids so that scans run in id order):
 *   customer      <tenant be64><id be64>                 -> CustomerRecord
 *   customer_idx  'p' <tenant be64> <phone hash 32>      -> id be64 (dedup)
 *                 'n' <tenant be64> <phone hash 32>      -> DncEntry (number)
 *                 'x' <tenant be64> <digits of prefix>   -> DncEntry (prefix)
 *   audit         <tenant be64> <commit suffix>          -> AuditRecord
 * Personal fields (name, phone, address, notes) are sealed with fieldcrypt; the phone
 * is findable only through its keyed hash.
 * ------------------------------------------------------------------------- */
#include <jansson.h>

#include "store.h"
#include "waihu.pb-c.h"

#define CUSTOMER_KEY_BYTES 16
#define CUSTOMER_IDX_KEY_BYTES (1 + 8 + FIELDCRYPT_HASH_BYTES)
#define CUSTOMER_TEXT_MAX 4096   /* longest name/address/notes/custom string, bytes */
#define CUSTOMER_MAX_TAGS 64
#define CUSTOMER_MAX_FIELDS 64

void customer_key(uint64_t tenant_id, uint64_t id, uint8_t out[CUSTOMER_KEY_BYTES]);
void customer_idx_key(char kind, uint64_t tenant_id, const uint8_t hash[FIELDCRYPT_HASH_BYTES],
                      uint8_t out[CUSTOMER_IDX_KEY_BYTES]);
/* Prefix of a tenant's rows: 8 bytes, or 9 with a kind byte first (kind 0: none). */
size_t customer_tenant_prefix(char kind, uint64_t tenant_id, uint8_t out[9]);

/* What turning JSON into a record needs. */
struct customer_ctx {
    const struct fieldcrypt_keyring *kr;
    uint64_t tenant_id;
    const char *default_country; /* "CN" */
    const FieldSchema *schema;   /* may be NULL: no custom fields */
    int64_t now_ms;
};

struct customer_error {
    char field[64];
    char msg[200];
};

/* Builds a record from a JSON object. For a create (old NULL) id is the new id; for
 * an update (PATCH semantics) only given keys change. Accepts name, phone, address,
 * notes, tags, owner, department, source, status, last_contact, next_callback (ISO 8601
 * or null) and fields {custom: value}; any other key (id, tenant_id, version...) is an
 * error. *out is freed with customer_record_free. Returns 0, WAIHU_EINVAL (err says
 * which field and why) or WAIHU_ENOMEM/EIO. e164_out (may be NULL) gets the normalised
 * phone ("" if none). */
WAIHU_API int customer_from_json(const struct customer_ctx *ctx, const json_t *in,
                                 const CustomerRecord *old, uint64_t id, CustomerRecord **out,
                                 char e164_out[PHONE_E164_SIZE], struct customer_error *err);
WAIHU_API void customer_record_free(CustomerRecord *r);
/* Key rotation: re-seals under kr's current key every personal field of r that an older
 * key sealed; *changed says whether r was modified. Returns 0, WAIHU_ECORRUPT (a field
 * does not open), WAIHU_ENOTFOUND (its key is not in kr) or WAIHU_ENOMEM. */
WAIHU_API int customer_reseal(const struct fieldcrypt_keyring *kr, CustomerRecord *r,
                              bool *changed);
/* Decodes a stored record (customer_record_free), NULL when damaged. */
WAIHU_API CustomerRecord *customer_record_decode(const void *buf, size_t len);
/* The record as JSON; personal fields opened; the phone masked unless unmask. A field
 * that fails to open is shown as null with "damaged_fields" listing it. */
WAIHU_API json_t *customer_to_json(const struct customer_ctx *ctx, const CustomerRecord *r,
                                   bool unmask);
/* Opens the phone (E.164) of a record into out; 0, WAIHU_ENOTFOUND (none) or error. */
WAIHU_API int customer_phone_open(const struct customer_ctx *ctx, const CustomerRecord *r,
                                  char out[PHONE_E164_SIZE]);

/* Adds to mb the writes that turn old (NULL: create) into new: the record with a
 * condition on the old value (or absence), and the phone index (the new phone must be
 * free: dedup). stored_old is old's stored bytes (for the condition). */
WAIHU_API void customer_mutation_put(struct store_mutation_builder *mb, const CustomerRecord *old,
                                     const void *stored_old, size_t stored_old_len,
                                     const CustomerRecord *new_rec);
/* Adds the deletes of a record and its indexes (erase), conditioned on its value. */
WAIHU_API void customer_mutation_delete(struct store_mutation_builder *mb, const CustomerRecord *r,
                                        const void *stored, size_t stored_len);
/* Packs a record (malloc'd; caller frees). */
WAIHU_API uint8_t *customer_record_pack(const CustomerRecord *r, size_t *len);

/* True when the record matches the filter at now_ms (times compare in ms; relative
 * times are now + amount). Custom fields compare as their schema type. */
WAIHU_API bool customer_filter_match(const struct filter_node *f, const CustomerRecord *r,
                                     const FieldSchema *schema, int64_t now_ms);
/* Checks the filter's custom field names and value types against schema; 0 or
 * WAIHU_EINVAL with msg (cap 200). */
WAIHU_API int customer_filter_check(const struct filter_node *f, const FieldSchema *schema,
                                    char *msg);

#endif
