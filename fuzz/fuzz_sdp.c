/* libFuzzer target for SDP (src/dialer/sdp_parse.c through sofia-sip's parser, and
 * sdp_build.c): any body either fails with a message, or gives a stream whose fields are in
 * range and whose offer, built back with them, parses to the same address, port, codec
 * and telephone-event type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1); /* exact bounds for ASan */
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct bridge_sdp a, b;
    char err[160] = "";
    int rv = bridge_sdp_parse(text, &a, err, sizeof err);
    free(text);
    if (rv != 0) {
        if ((rv != WAIHU_EINVAL && rv != WAIHU_ENOMEM) || (rv == WAIHU_EINVAL && err[0] == '\0'))
            abort();
        return 0;
    }
    if (a.port == 0 || (a.codec != 0 && a.codec != 8) ||
        (a.te_pt != -1 && (a.te_pt < 96 || a.te_pt > 127)) ||
        strnlen(a.ip, sizeof a.ip) == sizeof a.ip)
        abort();
    char offer[512];
    if (bridge_sdp_build(offer, sizeof offer, a.ip, a.port, a.codec, a.te_pt, 42) != 0)
        abort();
    if (bridge_sdp_parse(offer, &b, err, sizeof err) != 0 || strcmp(a.ip, b.ip) != 0 ||
        a.port != b.port || a.codec != b.codec || a.te_pt != b.te_pt)
        abort();
    return 0;
}
