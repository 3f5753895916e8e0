/* libFuzzer target for the trunk file (src/dialer/trunk.h): any input either fails
 * cleanly (WAIHU_EINVAL, a message, no set) or builds a set on which picks respect
 * the channel limits and return only pool caller IDs. Run by fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct trunk_set *set = (struct trunk_set *)text; /* must be reset */
    char err[256] = "";
    int rv = trunk_set_from_json(text, &set, err, sizeof(err));
    free(text);
    if (rv != 0) {
        if (set != NULL || (rv != WAIHU_EINVAL && rv != WAIHU_ENOMEM && rv != WAIHU_ETOOBIG) ||
            err[0] == '\0')
            abort();
        return 0;
    }
    size_t n = trunk_set_count(set);
    if (n == 0 || n > TRUNK_MAX)
        abort();
    struct trunk_pick_request req = {.destination = "+861012345678"};
    struct trunk_pick_result r;
    for (int i = 0; i < 64; i++) {
        if (trunk_pick(set, i, &req, &r) != 0)
            break;
        struct trunk_info ti;
        if (trunk_set_info(set, r.trunk, i, &ti) != 0 || ti.in_use > ti.channels ||
            r.caller_id == NULL || r.caller_id[0] != '+')
            abort();
        trunk_report(set, r.trunk, i, i + 1, (enum trunk_outcome)(i % 3));
    }
    trunk_set_free(set);
    return 0;
}
