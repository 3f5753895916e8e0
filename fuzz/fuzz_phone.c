/* libFuzzer target for phone numbers (src/customer/phone.c): any input either fails with a
 * message, or gives an E.164 number that normalises to itself (with its default country,
 * with none, and with every other), has a country code and masks within PHONE_MASK_SIZE.
 * Byte 0 picks the default country; the rest is the number as typed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "customer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const countries[] = {NULL, "CN", "US", "CA", "GB", "UK", "FR", ""};
#define N_COUNTRIES (sizeof countries / sizeof countries[0])

static void check_e164(const char *e164, const char *country)
{
    size_t n = strlen(e164);
    if (n < 3 || n >= PHONE_E164_SIZE || e164[0] != '+' || e164[1] == '0' ||
        strspn(e164 + 1, "0123456789") != n - 1)
        abort();
    char again[PHONE_E164_SIZE], err[128];
    for (size_t i = 0; i < N_COUNTRIES; i++) {
        if (phone_normalize(e164, countries[i], again, err, sizeof err) != 0 ||
            strcmp(again, e164) != 0)
            abort(); /* idempotent, whatever the tenant's country */
    }
    int cl = phone_country_code_len(e164);
    if (cl < 1 || cl > 3)
        abort();
    char masked[PHONE_MASK_SIZE];
    if (phone_mask(e164, country, masked) != 0 || strlen(masked) >= PHONE_MASK_SIZE ||
        strchr(masked, '*') == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *country = countries[data[0] % N_COUNTRIES];
    char *input = malloc(size); /* exact bounds for ASan: size - 1 bytes and a NUL */
    if (input == NULL)
        return 0;
    memcpy(input, data + 1, size - 1);
    input[size - 1] = '\0';

    char out[PHONE_E164_SIZE], err[128];
    int rv = phone_normalize(input, country, out, err, sizeof err);
    if (rv == 0)
        check_e164(out, country);
    else if (rv != WAIHU_EINVAL || err[0] == '\0' || out[0] != '\0')
        abort();
    /* Raw input straight into the display helpers: must refuse or stay in bounds. */
    char masked[PHONE_MASK_SIZE];
    if (phone_mask(input, country, masked) == 0 && strlen(masked) >= PHONE_MASK_SIZE)
        abort();
    (void)phone_country_code_len(input);
    free(input);
    return 0;
}
