/* Decoys: dictionary words that sound almost like a keyword ("contrast" for "contract",
 * "complete" for "complaint"). They are spotted alongside the keyword, and a keyword hit
 * that a decoy overlaps with a better score is dropped: the keyword's near neighbours
 * compete for the audio instead of all firing as the keyword. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speech_internal.h"

#define MAX_PHONES 32
#define MAX_DISTANCE 2

struct phones {
    size_t n;
    char p[MAX_PHONES][8];
};

static void tokenise(const char *text, struct phones *out)
{
    out->n = 0;
    while (*text != '\0' && out->n < MAX_PHONES) {
        text += strspn(text, " \t\r\n");
        size_t len = strcspn(text, " \t\r\n");
        if (len == 0)
            break;
        if (len >= sizeof(out->p[0]))
            len = sizeof(out->p[0]) - 1;
        memcpy(out->p[out->n], text, len);
        out->p[out->n++][len] = '\0';
        text += strcspn(text, " \t\r\n");
    }
}

/* Edit distance over phones, or MAX_DISTANCE + 1 when larger. */
static int distance(const struct phones *a, const struct phones *b)
{
    int row[MAX_PHONES + 1];
    for (size_t j = 0; j <= b->n; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= a->n; i++) {
        int diag = row[0], best = row[0] = (int)i;
        for (size_t j = 1; j <= b->n; j++) {
            int up = row[j];
            int sub = diag + (strcmp(a->p[i - 1], b->p[j - 1]) != 0);
            int v = sub < up + 1 ? sub : up + 1;
            v = v < row[j - 1] + 1 ? v : row[j - 1] + 1;
            row[j] = v;
            diag = up;
            best = v < best ? v : best;
        }
        if (best > MAX_DISTANCE)
            return MAX_DISTANCE + 1;
    }
    return row[b->n];
}

/* Whether a's phones appear in b contiguously: such a word is heard inside every keyword. */
static int contained(const struct phones *a, const struct phones *b)
{
    for (size_t off = 0; a->n > 0 && off + a->n <= b->n; off++) {
        size_t i = 0;
        while (i < a->n && strcmp(a->p[i], b->p[off + i]) == 0)
            i++;
        if (i == a->n)
            return 1;
    }
    return 0;
}

struct candidate {
    int score; /* distance * 16 + length difference: smaller sounds closer */
    char word[SPEECH_PHRASE_MAX];
};

static int by_score(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    return x->score != y->score ? x->score - y->score : strcmp(x->word, y->word);
}

int decoys_find(const char *dict_path, const char *keyword, const char *keyword_phones, size_t max,
                char ***out, size_t *n_out, char *errmsg, size_t size)
{
    *out = NULL;
    *n_out = 0;
    if (max == 0 || strchr(keyword, ' ') != NULL) /* phrases are distinctive enough */
        return 0;
    FILE *fp = fopen(dict_path, "r");
    if (fp == NULL) {
        snprintf(errmsg, size, "%s: %s", dict_path, strerror(errno));
        return WAIHU_EIO;
    }
    struct phones kw, w;
    tokenise(keyword_phones, &kw);
    size_t kw_len = strlen(keyword);
    struct candidate *c = NULL;
    size_t n = 0, cap = 0;
    char line[512];
    int rv = 0;
    while (rv == 0 && fgets(line, sizeof(line), fp) != NULL) {
        size_t wl = strcspn(line, " \t");
        /* Alternate pronunciations "word(2)" are not decoys, nor the keyword's family
         * (a spelling that shares all but its last letter: complain, complained...). */
        size_t common = 0;
        while (common < wl && common < kw_len && line[common] == keyword[common])
            common++;
        if (wl == 0 || wl >= SPEECH_PHRASE_MAX || memchr(line, '(', wl) != NULL ||
            common + 1 >= kw_len)
            continue;
        tokenise(line + wl, &w);
        if (w.n + MAX_DISTANCE < kw.n || w.n > kw.n + MAX_DISTANCE || contained(&w, &kw))
            continue;
        int d = distance(&kw, &w);
        if (d > MAX_DISTANCE)
            continue;
        if (array_reserve((void **)&c, &cap, n + 1, sizeof(*c)) != 0) {
            rv = WAIHU_ENOMEM;
            break;
        }
        c[n].score = d * 16 + (int)(w.n > kw.n ? w.n - kw.n : kw.n - w.n);
        memcpy(c[n].word, line, wl);
        c[n++].word[wl] = '\0';
    }
    fclose(fp);
    if (rv == 0 && n > 0) {
        qsort(c, n, sizeof(*c), by_score);
        if (n > max)
            n = max;
        char **words = calloc(n, sizeof(*words));
        if (words == NULL)
            rv = WAIHU_ENOMEM;
        for (size_t i = 0; rv == 0 && i < n; i++)
            if ((words[i] = strdup(c[i].word)) == NULL)
                rv = WAIHU_ENOMEM;
        if (rv == 0) {
            *out = words;
            *n_out = n;
        } else if (words != NULL) {
            for (size_t i = 0; i < n; i++)
                free(words[i]);
            free(words);
        }
    }
    free(c);
    if (rv != 0)
        snprintf(errmsg, size, "decoys of '%s': %s", keyword, waihu_strerror(rv));
    return rv;
}
