/* libFuzzer target for prompt files (src/media/prompt.c, media_prompt_parse): any input
 * either fails cleanly (WAIHU_EINVAL with a message, no prompt) or gives a prompt whose
 * every frame encodes within its samples. Run by fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size + 1); /* exact bounds for ASan */
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    struct media_prompt *p = (struct media_prompt *)copy; /* must be reset on failure */
    char err[200] = "";
    int rv = media_prompt_parse(copy, size, &p, err, sizeof(err));
    free(copy);
    if (rv != 0) {
        if (rv != WAIHU_EINVAL || err[0] == '\0' || p != (struct media_prompt *)copy)
            abort();
        return 0;
    }
    size_t frames = media_prompt_frames(p), total = 0;
    uint8_t out[MEDIA_FRAME_SAMPLES];
    for (size_t i = 0; i <= frames; i++)
        total += media_prompt_frame(p, i, i % 2 ? MEDIA_PCMA : MEDIA_PCMU, out, NULL);
    if (total != media_prompt_samples(p) || total == 0 || total > MEDIA_PROMPT_MAX_SAMPLES)
        abort();
    media_prompt_unref(p);
    return 0;
}
