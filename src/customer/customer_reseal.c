/* Key rotation, per record: personal fields sealed under an older data key are opened
 * and sealed again under the current one, bound to the same tenant, customer and field. */
#include <openssl/crypto.h>
#include <stdlib.h>

#include "customer.h"

static int reseal_field(const struct fieldcrypt_keyring *kr, uint32_t current,
                        const CustomerRecord *r, const char *field, ProtobufCBinaryData *slot,
                        bool *changed)
{
    uint32_t id;
    if (slot->len == 0) {
        return 0;
    }
    if (fieldcrypt_key_id_of(slot->data, slot->len, &id) != 0) {
        return WAIHU_ECORRUPT;
    }
    if (id == current) {
        return 0;
    }
    struct fieldcrypt_aad aad = {.tenant_id = r->tenant_id, .customer_id = r->id, .field = field};
    uint8_t *plain = malloc(slot->len), *out = malloc(slot->len + FIELDCRYPT_OVERHEAD);
    size_t plain_len, out_len;
    int rv = plain && out ? 0 : WAIHU_ENOMEM;
    if (rv == 0) {
        rv = fieldcrypt_open(kr, &aad, slot->data, slot->len, plain, slot->len, &plain_len);
    }
    if (rv == 0) {
        rv = fieldcrypt_seal(kr, &aad, plain, plain_len, out, slot->len + FIELDCRYPT_OVERHEAD,
                             &out_len);
    }
    if (plain != NULL) {
        OPENSSL_cleanse(plain, slot->len);
    }
    free(plain);
    if (rv != 0) {
        free(out);
        return rv;
    }
    free(slot->data);
    slot->data = out;
    slot->len = out_len;
    *changed = true;
    return 0;
}

int customer_reseal(const struct fieldcrypt_keyring *kr, CustomerRecord *r, bool *changed)
{
    uint32_t current;
    *changed = false;
    if (fieldcrypt_keyring_current(kr, &current) != 0) {
        return WAIHU_ENOTFOUND;
    }
    int rv = reseal_field(kr, current, r, "name", &r->name_sealed, changed);
    if (rv == 0) rv = reseal_field(kr, current, r, "phone", &r->phone_sealed, changed);
    if (rv == 0) rv = reseal_field(kr, current, r, "address", &r->address_sealed, changed);
    if (rv == 0) rv = reseal_field(kr, current, r, "notes", &r->notes_sealed, changed);
    return rv;
}
