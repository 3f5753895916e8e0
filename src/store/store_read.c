/* Local reads of replicated records (callers wanting linearizability wait behind a
 * read barrier first). Safe from any thread: RocksDB handles are thread-safe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "waihu.pb-c.h"

static int decode_setting(const char *v, size_t len, struct store_setting *out)
{
    Setting *rec = setting__unpack(NULL, len, (const uint8_t *)v);
    if (rec == NULL) {
        return WAIHU_ECORRUPT;
    }
    out->value = strdup(rec->value);
    out->version = rec->version;
    out->updated_ms = rec->updated_ms;
    setting__free_unpacked(rec, NULL);
    return out->value ? 0 : WAIHU_ENOMEM;
}

int store_setting_get(struct store *s, const char *key, struct store_setting *out)
{
    char k[512];
    int klen = snprintf(k, sizeof k, PREFIX_SETTING "%s", key);
    if (klen < 0 || (size_t)klen >= sizeof k) {
        return WAIHU_EINVAL;
    }
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], k, (size_t)klen, &len, &err);
    if (err != NULL) {
        LOG_E("store", "get setting %s: %s", key, err);
        rocksdb_free(err);
        return WAIHU_EIO;
    }
    if (v == NULL) {
        return WAIHU_ENOTFOUND;
    }
    int rv = decode_setting(v, len, out);
    rocksdb_free(v);
    return rv;
}

int store_settings_scan(struct store *s, const char *prefix, const char *after, unsigned limit,
                        store_setting_fn fn, void *data)
{
    char start[600];
    char full_prefix[600];
    int plen = snprintf(full_prefix, sizeof full_prefix, PREFIX_SETTING "%s", prefix ? prefix : "");
    if (plen < 0 || (size_t)plen >= sizeof full_prefix) {
        return WAIHU_EINVAL;
    }
    int slen = after ? snprintf(start, sizeof start, PREFIX_SETTING "%s", after)
                     : snprintf(start, sizeof start, "%s", full_prefix);
    if (slen < 0 || (size_t)slen >= sizeof start) {
        return WAIHU_EINVAL;
    }
    /* A cursor sorting before the prefix must not skip it. */
    if (after && strcmp(start, full_prefix) < 0) {
        slen = snprintf(start, sizeof start, "%s", full_prefix);
    }
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[STORE_CF_META]);
    rocksdb_iter_seek(it, start, (size_t)slen);
    unsigned n = 0;
    int rv = 0;
    for (; rocksdb_iter_valid(it) && n < limit; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < (size_t)plen || memcmp(k, full_prefix, (size_t)plen) != 0) {
            break;
        }
        if (after && klen == (size_t)slen && memcmp(k, start, klen) == 0) {
            continue; /* the cursor itself */
        }
        const char *v = rocksdb_iter_value(it, &vlen);
        struct store_setting st;
        rv = decode_setting(v, vlen, &st);
        if (rv != 0) {
            break;
        }
        char key[512];
        size_t kl = klen - strlen(PREFIX_SETTING);
        if (kl >= sizeof key) {
            kl = sizeof key - 1;
        }
        memcpy(key, k + strlen(PREFIX_SETTING), kl);
        key[kl] = '\0';
        int stop = fn(data, key, &st);
        free(st.value);
        n++;
        if (stop) {
            break;
        }
    }
    rocksdb_iter_destroy(it);
    return rv;
}

int store_nodes_list(struct store *s, struct store_node *out, int cap)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[STORE_CF_META]);
    size_t plen = strlen(PREFIX_NODE);
    rocksdb_iter_seek(it, PREFIX_NODE, plen);
    int n = 0;
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < plen || memcmp(k, PREFIX_NODE, plen) != 0) {
            break;
        }
        const char *v = rocksdb_iter_value(it, &vlen);
        NodeInfo *rec = node_info__unpack(NULL, vlen, (const uint8_t *)v);
        if (rec == NULL) {
            continue;
        }
        if (n < cap) {
            struct store_node *o = &out[n];
            memset(o, 0, sizeof *o);
            o->id = rec->id;
            snprintf(o->name, sizeof o->name, "%s", rec->name);
            snprintf(o->dc, sizeof o->dc, "%s", rec->dc);
            snprintf(o->raft_address, sizeof o->raft_address, "%s", rec->raft_address);
            snprintf(o->api_address, sizeof o->api_address, "%s", rec->api_address);
            snprintf(o->forward_address, sizeof o->forward_address, "%s", rec->forward_address);
        }
        n++;
        node_info__free_unpacked(rec, NULL);
    }
    rocksdb_iter_destroy(it);
    return n;
}

int store_get(struct store *s, enum store_cf cf, const void *key, size_t key_len, void **val,
              size_t *val_len)
{
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[cf], key, key_len, &len, &err);
    if (err != NULL) {
        LOG_E("store", "get from %s: %s", store_cf_names[cf], err);
        rocksdb_free(err);
        return WAIHU_EIO;
    }
    if (v == NULL) {
        return WAIHU_ENOTFOUND;
    }
    *val = malloc(len ? len : 1);
    if (*val == NULL) {
        rocksdb_free(v);
        return WAIHU_ENOMEM;
    }
    memcpy(*val, v, len);
    *val_len = len;
    rocksdb_free(v);
    return 0;
}

int store_scan(struct store *s, enum store_cf cf, const void *prefix, size_t prefix_len,
               const void *after, size_t after_len, store_kv_fn fn, void *data)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[cf]);
    /* A cursor sorting before the prefix must not skip it. */
    bool use_after = after != NULL && after_len > 0 &&
                     (after_len < prefix_len ? memcmp(after, prefix, after_len) > 0
                                             : memcmp(after, prefix, prefix_len) >= 0);
    if (use_after) {
        rocksdb_iter_seek(it, after, after_len);
    } else {
        rocksdb_iter_seek(it, prefix, prefix_len);
    }
    int rv = 0;
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < prefix_len || memcmp(k, prefix, prefix_len) != 0) {
            break;
        }
        if (use_after && klen == after_len && memcmp(k, after, klen) == 0) {
            continue;
        }
        const char *v = rocksdb_iter_value(it, &vlen);
        rv = fn(data, k, klen, v, vlen);
        if (rv != 0) {
            break;
        }
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err != NULL) {
        LOG_E("store", "scan %s: %s", store_cf_names[cf], err);
        rocksdb_free(err);
        return WAIHU_EIO;
    }
    return rv;
}

int store_property_int(struct store *s, enum store_cf cf, const char *name, uint64_t *out)
{
    return rocksdb_property_int_cf(s->db, s->cf[cf], name, out) == 0 ? 0 : WAIHU_ENOTFOUND;
}
