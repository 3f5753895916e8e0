/* Customer keys, record encoding and the mutations that keep indexes in the same
 * WriteBatch as the record. */
#include <stdlib.h>
#include <string.h>

#include "customer.h"

void customer_key(uint64_t tenant_id, uint64_t id, uint8_t out[CUSTOMER_KEY_BYTES])
{
    be64_put(out, tenant_id);
    be64_put(out + 8, id);
}

void customer_idx_key(char kind, uint64_t tenant_id, const uint8_t hash[FIELDCRYPT_HASH_BYTES],
                      uint8_t out[CUSTOMER_IDX_KEY_BYTES])
{
    out[0] = (uint8_t)kind;
    be64_put(out + 1, tenant_id);
    memcpy(out + 9, hash, FIELDCRYPT_HASH_BYTES);
}

size_t customer_tenant_prefix(char kind, uint64_t tenant_id, uint8_t out[9])
{
    if (kind == 0) {
        be64_put(out, tenant_id);
        return 8;
    }
    out[0] = (uint8_t)kind;
    be64_put(out + 1, tenant_id);
    return 9;
}

void customer_record_free(CustomerRecord *r)
{
    if (r != NULL) {
        customer_record__free_unpacked(r, NULL);
    }
}

CustomerRecord *customer_record_decode(const void *buf, size_t len)
{
    CustomerRecord *r = customer_record__unpack(NULL, len, buf);
    if (r != NULL && (r->format != 1 || r->id == 0)) {
        customer_record__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

uint8_t *customer_record_pack(const CustomerRecord *r, size_t *len)
{
    *len = customer_record__get_packed_size(r);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf == NULL) {
        waihu_fatal("customer", "pack record: out of memory");
    }
    customer_record__pack(r, buf);
    return buf;
}

static bool same_hash(const CustomerRecord *a, const CustomerRecord *b)
{
    return a->phone_hash.len == b->phone_hash.len &&
           (a->phone_hash.len == 0 ||
            memcmp(a->phone_hash.data, b->phone_hash.data, a->phone_hash.len) == 0);
}

void customer_mutation_put(struct store_mutation_builder *mb, const CustomerRecord *old,
                           const void *stored_old, size_t stored_old_len,
                           const CustomerRecord *new_rec)
{
    uint8_t key[CUSTOMER_KEY_BYTES];
    customer_key(new_rec->tenant_id, new_rec->id, key);
    if (old == NULL) {
        store_mb_condition(mb, STORE_CF_CUSTOMER, key, sizeof key, STORE_MB_ABSENT, NULL, 0);
    } else {
        store_mb_condition(mb, STORE_CF_CUSTOMER, key, sizeof key, STORE_MB_VALUE_IS,
                           stored_old, stored_old_len);
    }
    uint8_t idx[CUSTOMER_IDX_KEY_BYTES];
    bool phone_changed = old == NULL || !same_hash(old, new_rec);
    if (phone_changed && new_rec->phone_hash.len == FIELDCRYPT_HASH_BYTES) {
        /* Dedup: the first condition after the record's, so a caller can tell. */
        customer_idx_key('p', new_rec->tenant_id, new_rec->phone_hash.data, idx);
        store_mb_condition(mb, STORE_CF_CUSTOMER_IDX, idx, sizeof idx, STORE_MB_ABSENT, NULL, 0);
        uint8_t id[8];
        be64_put(id, new_rec->id);
        store_mb_put(mb, STORE_CF_CUSTOMER_IDX, idx, sizeof idx, id, sizeof id);
    }
    if (phone_changed && old != NULL && old->phone_hash.len == FIELDCRYPT_HASH_BYTES) {
        customer_idx_key('p', old->tenant_id, old->phone_hash.data, idx);
        store_mb_delete(mb, STORE_CF_CUSTOMER_IDX, idx, sizeof idx);
    }
    size_t len;
    uint8_t *v = customer_record_pack(new_rec, &len);
    store_mb_put(mb, STORE_CF_CUSTOMER, key, sizeof key, v, len);
    free(v);
}

void customer_mutation_delete(struct store_mutation_builder *mb, const CustomerRecord *r,
                              const void *stored, size_t stored_len)
{
    uint8_t key[CUSTOMER_KEY_BYTES];
    customer_key(r->tenant_id, r->id, key);
    store_mb_condition(mb, STORE_CF_CUSTOMER, key, sizeof key, STORE_MB_VALUE_IS, stored,
                       stored_len);
    store_mb_delete(mb, STORE_CF_CUSTOMER, key, sizeof key);
    if (r->phone_hash.len == FIELDCRYPT_HASH_BYTES) {
        uint8_t idx[CUSTOMER_IDX_KEY_BYTES];
        customer_idx_key('p', r->tenant_id, r->phone_hash.data, idx);
        store_mb_delete(mb, STORE_CF_CUSTOMER_IDX, idx, sizeof idx);
    }
}
