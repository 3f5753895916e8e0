/* Writes an encrypted recording for the CLI test: a 440 Hz tone on the left
 * (leg A), quieter noise on the right (leg B), 2.5 s, key = bytes 0..31.
 * usage: make_recording OUT.wrec KEYFILE */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "media.h"

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    uint8_t key[MEDIA_REC_KEY_BYTES];
    for (int i = 0; i < MEDIA_REC_KEY_BYTES; i++)
        key[i] = (uint8_t)i;
    FILE *kf = fopen(argv[2], "w");
    if (kf == NULL)
        return 1;
    for (int i = 0; i < MEDIA_REC_KEY_BYTES; i++)
        fprintf(kf, "%02x", key[i]);
    fprintf(kf, "\n");
    fclose(kf);
    struct media_rec_writer *w;
    char err[256];
    if (media_rec_writer_open(argv[1], key, &w, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uint32_t seed = 7;
    int16_t frame[2];
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        frame[0] = (int16_t)(8000.0 * sin(2.0 * M_PI * 440.0 * i / MEDIA_REC_RATE));
        frame[1] = (int16_t)((int)(seed >> 16) % 2000 - 1000);
        if (media_rec_writer_append(w, frame, 1) != 0)
            return 1;
    }
    return media_rec_writer_close(w) == 0 ? 0 : 1;
}
