/* CSV writer for customer exports: RFC 4180 quoting, CRLF rows, optional UTF-8 BOM,
 * and spreadsheet formula neutralisation (OWASP "CSV Injection": a cell starting
 * with = + - @ TAB or CR, also after leading spaces, gets a leading apostrophe and is
 * quoted, so Excel and LibreOffice show it as text instead of evaluating it). */
#include <stdlib.h>
#include <string.h>

#include "customer_csv.h"

#define OUT_BUF_BYTES (64 * 1024)

struct csvwriter {
    unsigned flags;
    csvwriter_sink_fn sink;
    void *ctx;
    size_t cells_in_row;
    size_t len;
    int err; /* sticky sink error */
    unsigned char buf[OUT_BUF_BYTES];
};

int csvwriter_flush(struct csvwriter *w)
{
    if (w->err == 0 && w->len > 0) {
        w->err = w->sink(w->ctx, w->buf, w->len);
        w->len = 0;
    }
    return w->err;
}

static int put(struct csvwriter *w, const void *s, size_t n)
{
    const unsigned char *p = s;
    while (n > 0 && w->err == 0) {
        if (w->len == sizeof(w->buf) && csvwriter_flush(w) != 0)
            break;
        size_t k = sizeof(w->buf) - w->len;
        if (k > n)
            k = n;
        memcpy(w->buf + w->len, p, k);
        w->len += k;
        p += k, n -= k;
    }
    return w->err;
}

int csvwriter_new(unsigned flags, csvwriter_sink_fn sink, void *ctx, struct csvwriter **out)
{
    struct csvwriter *w = malloc(sizeof(*w));
    *out = NULL;
    if (w == NULL)
        return WAIHU_ENOMEM;
    w->flags = flags;
    w->sink = sink;
    w->ctx = ctx;
    w->cells_in_row = 0;
    w->len = 0;
    w->err = 0;
    if (flags & CSVWRITER_BOM)
        put(w, "\xEF\xBB\xBF", 3);
    *out = w;
    return 0;
}

void csvwriter_free(struct csvwriter *w)
{
    free(w);
}

int csvwriter_is_formula(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    if (i == len)
        return 0;
    switch (s[i]) {
    case '=': case '+': case '-': case '@': case '\t': case '\r':
        return 1;
    default:
        return 0;
    }
}

int csvwriter_cell(struct csvwriter *w, const char *s, size_t len)
{
    int formula = !(w->flags & CSVWRITER_RAW) && csvwriter_is_formula(s, len);
    /* An empty first cell is quoted so that a one-cell row is not a blank line. */
    int quote = formula || (len == 0 && w->cells_in_row == 0);
    if (len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        quote = 1; /* readers trim unquoted blanks */
    if (!quote && len > 0)
        quote = memchr(s, ',', len) != NULL || memchr(s, '"', len) != NULL ||
                memchr(s, '\n', len) != NULL || memchr(s, '\r', len) != NULL;
    if (w->cells_in_row++ > 0)
        put(w, ",", 1);
    if (quote)
        put(w, "\"", 1);
    if (formula)
        put(w, "'", 1);
    if (!quote) {
        put(w, s, len);
        return w->err;
    }
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (q == NULL) {
            put(w, p, (size_t)(end - p));
            break;
        }
        put(w, p, (size_t)(q - p) + 1);
        put(w, "\"", 1); /* double the quote */
        p = q + 1;
    }
    return put(w, "\"", 1);
}

int csvwriter_end_row(struct csvwriter *w)
{
    w->cells_in_row = 0;
    return put(w, "\r\n", 2);
}

int csvwriter_row(struct csvwriter *w, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csvwriter_cell(w, cells[i], strlen(cells[i]));
    return csvwriter_end_row(w);
}
