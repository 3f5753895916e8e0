#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#define GAP 3

static char *escape(const char *s)
{
    size_t n = 0;
    const unsigned char *p;
    char *out, *o;

    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        n += (*p < 0x20 || *p == 0x7f) ? 4 : 1;
    }
    out = malloc(n + 1);
    if (out == NULL) {
        return NULL;
    }
    o = out;
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            *o++ = '\\';
            *o++ = *p == '\n' ? 'n' : (*p == '\t' ? 't' : 'r');
        } else if (*p < 0x20 || *p == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

static size_t width(const char *s)
{
    size_t w = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80) {
            w++;
        }
    }
    return w;
}

int table_init(struct table *t, size_t ncols, const char *const *headers)
{
    t->ncols = ncols;
    t->nrows = 0;
    t->cap = 0;
    t->cells = NULL;
    return table_add_row(t, headers);
}

int table_add_row(struct table *t, const char *const *cells)
{
    size_t i, base;

    if (t->nrows == t->cap) {
        size_t cap = t->cap == 0 ? 8 : t->cap * 2;
        char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));
        if (grown == NULL) {
            return WAIHU_ENOMEM;
        }
        t->cells = grown;
        t->cap = cap;
    }
    base = t->nrows * t->ncols;
    for (i = 0; i < t->ncols; i++) {
        t->cells[base + i] = escape(cells[i] != NULL ? cells[i] : "-");
        if (t->cells[base + i] == NULL) {
            while (i-- > 0) {
                free(t->cells[base + i]);
            }
            return WAIHU_ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

int table_render(const struct table *t, char **out)
{
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));
    size_t r, c, total = 1;
    char *buf, *o;

    if (w == NULL) {
        return WAIHU_ENOMEM;
    }
    for (r = 0; r < t->nrows; r++) {
        for (c = 0; c < t->ncols; c++) {
            size_t cw = width(t->cells[r * t->ncols + c]);
            w[c] = cw > w[c] ? cw : w[c];
            total += strlen(t->cells[r * t->ncols + c]) + w[c] + GAP;
        }
        total++;
    }
    buf = malloc(total);
    if (buf == NULL) {
        free(w);
        return WAIHU_ENOMEM;
    }
    o = buf;
    for (r = 0; r < t->nrows; r++) {
        for (c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            size_t len = strlen(cell);
            memcpy(o, cell, len);
            o += len;
            if (c + 1 < t->ncols) {
                size_t pad = w[c] - width(cell) + GAP;
                memset(o, ' ', pad);
                o += pad;
            }
        }
        *o++ = '\n';
    }
    *o = '\0';
    free(w);
    *out = buf;
    return 0;
}

int table_print(const struct table *t, FILE *f)
{
    char *text;
    int rv = table_render(t, &text);

    if (rv != 0) {
        return rv;
    }
    rv = fputs(text, f) < 0 ? WAIHU_EIO : 0;
    free(text);
    return rv;
}

void table_close(struct table *t)
{
    size_t i;

    for (i = 0; i < t->nrows * t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}
