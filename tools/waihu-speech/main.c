/* waihu-speech: speech analysis of one call recording, printed as JSON.
 *   waihu-speech analyse [--key-file K] [--keywords LIST] [--threshold T] [--hmm DIR]
 *                        [--dict FILE] [--language TAG] [--engine none] FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "recording_tool.h"
#include "speech_tool.h"

#define MAX_KEYWORDS 64
#define DEFAULT_KEYWORDS "complaint,contract,refund,lawyer"

static int usage(void)
{
    fprintf(stderr,
            "usage: waihu-speech analyse [--key-file KEY] [--keywords LIST] [--threshold T]\n"
            "                            [--decoys N] [--hmm DIR] [--dict FILE] [--language TAG]\n"
            "                            [--engine pocketsphinx|none] FILE...\n"
            "FILE is an encrypted recording (with --key-file: 32 raw bytes or 64 hex digits)\n"
            "or a stereo 8 kHz WAV (left = customer, right = agent).\n"
            "LIST is comma-separated, default " DEFAULT_KEYWORDS "; an item is\n"
            "PHRASE[/THRESHOLD][@customer|@agent], e.g. 'complaint/1e-12@customer'.\n"
            "N confusable words per keyword veto its false hits (default 8, 0 = off).\n"
            "T is the default keyword threshold (1e-10). Prints one JSON document per FILE\n"
            "(one per line); the model is loaded once.\n"
            "Exit 0 on success, 1 on errors, 2 on usage errors.\n");
    return 2;
}

/* Splits list in place into kw; returns the count or -1 on a malformed item. */
static int parse_keywords(char *list, struct speech_keyword *kw)
{
    int n = 0;
    for (char *save = NULL, *item = strtok_r(list, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        if (n == MAX_KEYWORDS)
            return -1;
        struct speech_keyword k = {.phrase = item};
        char *at = strchr(item, '@');
        if (at != NULL) {
            *at++ = '\0';
            if (strcmp(at, "customer") == 0)
                k.channels = SPEECH_ON_CUSTOMER;
            else if (strcmp(at, "agent") == 0)
                k.channels = SPEECH_ON_AGENT;
            else
                return -1;
        }
        char *slash = strchr(item, '/');
        if (slash != NULL) {
            *slash++ = '\0';
            char *end;
            k.threshold = strtod(slash, &end);
            if (*end != '\0' || !(k.threshold > 0))
                return -1;
        }
        if (*item == '\0')
            return -1;
        kw[n++] = k;
    }
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_analyse(int argc, char **argv)
{
    const char *key_file = NULL, *files[256];
    int n_files = 0;
    char list[2048] = DEFAULT_KEYWORDS;
    struct speech_config cfg;
    speech_config_default(&cfg);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v != NULL && strcmp(a, "--key-file") == 0)
            key_file = argv[++i];
        else if (v != NULL && strcmp(a, "--keywords") == 0) {
            if (strlen(v) >= sizeof(list))
                return usage();
            strcpy(list, argv[++i]);
        } else if (v != NULL && strcmp(a, "--threshold") == 0) {
            char *end;
            cfg.recogniser.threshold = strtod(argv[++i], &end);
            if (*end != '\0' || !(cfg.recogniser.threshold > 0))
                return usage();
        } else if (v != NULL && strcmp(a, "--decoys") == 0) {
            char *end;
            long d = strtol(argv[++i], &end, 10);
            if (*end != '\0' || d < 0 || d > 100)
                return usage();
            cfg.recogniser.decoys = (int)d;
        } else if (v != NULL && strcmp(a, "--hmm") == 0)
            cfg.recogniser.hmm_dir = argv[++i];
        else if (v != NULL && strcmp(a, "--dict") == 0)
            cfg.recogniser.dict = argv[++i];
        else if (v != NULL && strcmp(a, "--language") == 0)
            cfg.recogniser.language = argv[++i];
        else if (v != NULL && strcmp(a, "--engine") == 0)
            cfg.recogniser.engine = argv[++i];
        else if (a[0] != '-' && n_files < (int)(sizeof(files) / sizeof(files[0])))
            files[n_files++] = a;
        else
            return usage();
    }
    struct speech_keyword kw[MAX_KEYWORDS];
    int n_kw = parse_keywords(list, kw);
    if (n_files == 0 || n_kw < 0)
        return usage();
    uint8_t key[MEDIA_REC_KEY_BYTES];
    char err[512];
    if (key_file != NULL && keyfile_read(key_file, key, err, sizeof(err)) != 0) {
        fprintf(stderr, "waihu-speech: %s\n", err);
        return 1;
    }
    double t0 = now_s();
    struct speech_engine *e = NULL;
    int rv = speech_engine_new(&cfg, &e, err, sizeof(err));
    double load_s = now_s() - t0;
    /* One engine for every file: the model loads once. */
    for (int i = 0; rv == 0 && i < n_files; i++) {
        struct speech_result *r;
        rv = speech_analyse_file(e, kw, (size_t)n_kw, files[i], key_file != NULL ? key : NULL, &r,
                                 err, sizeof(err));
        if (rv == 0) {
            json_print(stdout, files[i], r, load_s);
            fflush(stdout);
            speech_result_free(r);
        }
    }
    if (e != NULL)
        speech_engine_free(e);
    OPENSSL_cleanse(key, sizeof(key));
    if (rv != 0) {
        fprintf(stderr, "waihu-speech: %s (%s)\n", err, waihu_strerror(rv));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "analyse") == 0)
        return cmd_analyse(argc - 2, argv + 2);
    return usage();
}
