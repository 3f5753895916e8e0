/* AMD benchmark driver: runs media_amd over generated calls and scores it.
 * usage: amd_bench [--set NAME=VALUE]... LIST
 * LIST lines: "label file [notes...]", label human|machine, file raw 8 kHz s16le mono
 * with t=0 at answer. Each call goes through a G.711 mu-law round trip first, as it
 * would on a trunk. Prints one line per call, then per-class accuracy and decision
 * times, then "RESULT human_accuracy=H machine_accuracy=M". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

#define MAX_SAMPLES (8000 * 60)

static int set_param(struct media_amd_config *c, const char *kv)
{
    char name[64];
    double v;
    if (sscanf(kv, "%63[^=]=%lf", name, &v) != 2)
        return -1;
    struct {
        const char *name;
        uint32_t *u;
        float *f;
    } p[] = {
        {"max_ms", &c->max_ms, NULL},
        {"min_speech_dbm0", NULL, &c->min_speech_dbm0},
        {"speech_over_noise_db", NULL, &c->speech_over_noise_db},
        {"min_word_ms", &c->min_word_ms, NULL},
        {"between_words_ms", &c->between_words_ms, NULL},
        {"after_greeting_ms", &c->after_greeting_ms, NULL},
        {"max_greeting_ms", &c->max_greeting_ms, NULL},
        {"max_words", &c->max_words, NULL},
        {"deadline_greeting_ms", &c->deadline_greeting_ms, NULL},
    };
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        if (strcmp(p[i].name, name) != 0)
            continue;
        if (p[i].u != NULL)
            *p[i].u = (uint32_t)v;
        else
            *p[i].f = (float)v;
        return 0;
    }
    return -1;
}

static size_t read_call(const char *path, int16_t *pcm)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        exit(1);
    }
    size_t n = fread(pcm, sizeof(int16_t), MAX_SAMPLES, fp);
    fclose(fp);
    uint8_t law[160];
    for (size_t off = 0; off < n; off += 160) { /* the trunk's G.711 */
        size_t k = n - off < 160 ? n - off : 160;
        media_g711_encode(MEDIA_PCMU, pcm + off, k, law);
        media_g711_decode(MEDIA_PCMU, law, k, pcm + off);
    }
    return n;
}

int main(int argc, char **argv)
{
    struct media_amd_config cfg;
    media_amd_config_default(&cfg);
    int i = 1;
    for (; i + 1 < argc && strcmp(argv[i], "--set") == 0; i += 2) {
        if (set_param(&cfg, argv[i + 1]) != 0) {
            fprintf(stderr, "amd_bench: bad --set %s\n", argv[i + 1]);
            return 2;
        }
    }
    if (i + 1 != argc) {
        fprintf(stderr, "usage: amd_bench [--set NAME=VALUE]... LIST\n");
        return 2;
    }
    FILE *list = fopen(argv[i], "r");
    if (list == NULL) {
        perror(argv[i]);
        return 1;
    }
    int16_t *pcm = malloc(MAX_SAMPLES * sizeof(int16_t));
    if (pcm == NULL)
        return 1;
    char line[1024], label[32], path[900];
    int total[2] = {0}, right[2] = {0}, late = 0;
    double ms_sum[2] = {0};
    while (fgets(line, sizeof(line), list) != NULL) {
        if (sscanf(line, "%31s %899s", label, path) != 2)
            continue;
        int machine = strcmp(label, "machine") == 0;
        size_t n = read_call(path, pcm);
        struct media_amd *a;
        if (media_amd_new(&cfg, &a) != 0)
            return 1;
        enum media_amd_result r = MEDIA_AMD_UNDECIDED;
        for (size_t off = 0; off < n && r == MEDIA_AMD_UNDECIDED; off += 160)
            r = media_amd_feed(a, pcm + off, n - off < 160 ? n - off : 160);
        int ok = r == (machine ? MEDIA_AMD_MACHINE : MEDIA_AMD_HUMAN);
        uint32_t ms = media_amd_decided_ms(a);
        total[machine]++;
        right[machine] += ok;
        ms_sum[machine] += ms;
        late += r == MEDIA_AMD_UNDECIDED || ms > cfg.max_ms;
        line[strcspn(line, "\n")] = 0;
        printf("%s %s %s %u ms %s\n", ok ? "ok  " : "MISS", line,
               r == MEDIA_AMD_MACHINE ? "machine" : r == MEDIA_AMD_HUMAN ? "human" : "undecided",
               ms, media_amd_reason_name(media_amd_reason(a)));
        media_amd_free(a);
    }
    fclose(list);
    free(pcm);
    double acc[2];
    for (int k = 0; k < 2; k++) {
        acc[k] = total[k] ? (double)right[k] / total[k] : 0.0;
        printf("%-8s %3d/%3d correct (%.3f), mean decision %.0f ms\n", k ? "machine" : "human",
               right[k], total[k], acc[k], total[k] ? ms_sum[k] / total[k] : 0.0);
    }
    printf("decisions after %u ms: %d\n", cfg.max_ms, late);
    printf("RESULT human_accuracy=%.3f machine_accuracy=%.3f\n", acc[0], acc[1]);
    return 0;
}
