/* Per-channel RMS level of a sound file, so tests can tell who is heard in a recording. */
#include <math.h>
#include <stdio.h>

#include <sndfile.h>

#include "recording_tool.h"

int energy_measure(const char *path, double dbfs[ENERGY_MAX_CHANNELS], int *channels,
                   long *frames, char *errmsg, size_t size)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (sf == NULL) {
        snprintf(errmsg, size, "%s: %s", path, sf_strerror(NULL));
        return WAIHU_EIO;
    }
    if (info.channels < 1 || info.channels > ENERGY_MAX_CHANNELS) {
        snprintf(errmsg, size, "%s: %d channels (max %d)", path, info.channels,
                 ENERGY_MAX_CHANNELS);
        sf_close(sf);
        return WAIHU_EIO;
    }
    double sum[ENERGY_MAX_CHANNELS] = {0}, buf[1024 * ENERGY_MAX_CHANNELS];
    long total = 0;
    sf_count_t n;
    /* Doubles are normalised to [-1, 1). */
    while ((n = sf_readf_double(sf, buf, 1024)) > 0) {
        for (sf_count_t i = 0; i < n; i++)
            for (int c = 0; c < info.channels; c++)
                sum[c] += buf[i * info.channels + c] * buf[i * info.channels + c];
        total += (long)n;
    }
    sf_close(sf);
    for (int c = 0; c < info.channels; c++)
        dbfs[c] = total == 0 || sum[c] == 0.0 ? ENERGY_FLOOR_DBFS
                                              : 10.0 * log10(sum[c] / (double)total);
    *channels = info.channels;
    *frames = total;
    return 0;
}
