/* waihu-recording: operators' and tests' view of encrypted call recordings.
 *   waihu-recording decrypt --key-file K in.wrec out.wav
 *   waihu-recording energy in.wav */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "recording_tool.h"

static int usage(void)
{
    fprintf(stderr, "usage: waihu-recording decrypt --key-file KEY IN OUT.wav\n"
                    "       waihu-recording energy IN.wav\n"
                    "KEY holds 32 raw bytes or 64 hex digits. decrypt exits 0 when every\n"
                    "complete chunk was recovered (a truncated file is reported on stderr),\n"
                    "1 on errors (a chunk failing authentication), 2 on usage errors.\n"
                    "energy prints one line per channel: channel=N rms_dbfs=X (silence -200).\n");
    return 2;
}

static int cmd_decrypt(int argc, char **argv)
{
    const char *key_file = NULL, *in = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc)
            key_file = argv[++i];
        else if (in == NULL)
            in = argv[i];
        else if (out == NULL)
            out = argv[i];
        else
            return usage();
    }
    if (key_file == NULL || in == NULL || out == NULL)
        return usage();
    uint8_t key[MEDIA_REC_KEY_BYTES];
    char err[512];
    if (keyfile_read(key_file, key, err, sizeof(err)) != 0) {
        fprintf(stderr, "waihu-recording: %s\n", err);
        return 1;
    }
    struct media_rec_info info;
    int rv = media_rec_decrypt(in, key, out, &info, err, sizeof(err));
    OPENSSL_cleanse(key, sizeof(key));
    if (rv != 0) {
        fprintf(stderr, "waihu-recording: %s (%u chunks recovered)\n", err, info.chunks);
        return 1;
    }
    if (info.truncated)
        fprintf(stderr, "waihu-recording: %s: truncated; recovered %u complete chunks\n", in,
                info.chunks);
    printf("chunks=%u frames=%llu seconds=%.2f complete=%d\n", info.chunks,
           (unsigned long long)info.frames, (double)info.frames / MEDIA_REC_RATE, info.complete);
    return 0;
}

static int cmd_energy(int argc, char **argv)
{
    if (argc != 1)
        return usage();
    double dbfs[ENERGY_MAX_CHANNELS];
    int channels;
    long frames;
    char err[512];
    if (energy_measure(argv[0], dbfs, &channels, &frames, err, sizeof(err)) != 0) {
        fprintf(stderr, "waihu-recording: %s\n", err);
        return 1;
    }
    for (int c = 0; c < channels; c++)
        printf("channel=%d rms_dbfs=%.1f\n", c, dbfs[c]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "decrypt") == 0)
        return cmd_decrypt(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "energy") == 0)
        return cmd_energy(argc - 2, argv + 2);
    return usage();
}
