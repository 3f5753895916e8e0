/* Streaming CSV reader for customer imports: libcsv in strict mode, fed one physical
 * line (or 64 KiB of one) at a time so that every callback knows its line number.
 *
 * Pipeline: bytes -> BOM check -> (AUTO: sniff window from the first non-ASCII byte)
 * -> line segments -> libcsv -> cells converted to UTF-8 (iconv for GB18030) ->
 * one row or one row error per record. GB18030 and UTF-8 never use the bytes of
 * '"', ',', CR or LF inside a character, so libcsv can split the raw bytes and each
 * cell is converted on its own.
 *
 * Resynchronisation after a broken record (docs/import-csv.md): a record broken on
 * its first line is skipped to the end of that line. A record broken on a later line
 * was almost always an unclosed quote that swallowed the lines after it, so those
 * lines (kept in recbuf, at most max_record_bytes) are parsed again from the line
 * after the record's first one. A replay never starts inside lines already replayed,
 * so every byte is parsed at most twice. */
#include <assert.h>
#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "customer_csv.h"

#define SEGMENT_MAX (64 * 1024)
#define ABSENT SIZE_MAX
#define NO_COLUMN SIZE_MAX

struct buf {
    unsigned char *data;
    size_t len, cap;
};

struct csvreader {
    struct csvreader_map *map;
    size_t map_len;
    struct csvreader_ops ops;
    void *ctx;
    size_t max_cell, max_record, max_columns;
    unsigned char delim;
    struct csv_parser p;

    /* Encoding. */
    enum csvreader_encoding enc;   /* AUTO until decided */
    int bom_done;
    unsigned char head[4];
    size_t head_len;
    struct buf sniff;
    iconv_t cd;                    /* (iconv_t)-1 unless GB18030 */

    /* Header. */
    int have_header;
    size_t ncols;
    struct buf hdr;                /* header names, NUL-terminated, UTF-8 */
    size_t *hdr_off;               /* [max_columns] */
    const char **colname;          /* [max_columns], set when the header is done */
    size_t *colmap;                /* header column -> map index or ABSENT */
    size_t *map_col;               /* map index -> header column or ABSENT */

    /* Lines and records. */
    uint64_t line;                 /* current physical line, 1-based */
    int between;                   /* no record open */
    int last_lf;                   /* last byte processed was LF */
    uint64_t rec_line;
    size_t rec_bytes;
    int skip_line;                 /* discard up to the next LF */
    uint64_t replay_guard;         /* error line of the last replay */
    int want_replay, replaying;
    struct buf recbuf, replay;

    /* The open record. */
    size_t ncol;
    int failed;
    enum csvreader_reason reason;
    size_t fail_col;
    char why[200];
    struct buf arena;
    size_t *off, *len;             /* [map_len] */
    struct csvreader_cell *cells;  /* [map_len] */

    struct csvreader_stats st;
    int cb_rv;                     /* fatal error or callback abort, sticky */
    int finished;
    char errmsg[256];
};

static int reserve(struct buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (d == NULL)
        return WAIHU_ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

static int append(struct buf *b, const void *s, size_t n)
{
    if (n == 0)
        return 0; /* b->data may still be NULL: no pointer arithmetic on it (UBSan) */
    if (reserve(b, n) != 0)
        return WAIHU_ENOMEM;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int set_fatal(struct csvreader *r, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_fatal(struct csvreader *r, int rv, const char *fmt, ...)
{
    if (r->cb_rv != 0)
        return r->cb_rv;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
    va_end(ap);
    r->cb_rv = rv;
    return rv;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_lf(unsigned char c)
{
    return c == '\n';
}

/* Forgets the open record inside libcsv (fini without callbacks resets it, and only
 * STRICT_FINI could make it refuse). */
static void parser_reset(struct csvreader *r)
{
    csv_set_opts(&r->p, CSV_STRICT);
    csv_fini(&r->p, NULL, NULL, NULL);
    csv_set_opts(&r->p, CSV_STRICT | CSV_STRICT_FINI);
}

const char *csvreader_reason_name(enum csvreader_reason reason)
{
    switch (reason) {
    case CSVREADER_R_QUOTE: return "quote";
    case CSVREADER_R_COLUMNS: return "columns";
    case CSVREADER_R_ENCODING: return "encoding";
    case CSVREADER_R_EMPTY: return "empty";
    case CSVREADER_R_TOOLONG: return "too_long";
    case CSVREADER_R_TOOMANY: return "too_many_columns";
    }
    return "unknown";
}

/* ---------------------------------------------------------------------------
 * Cells
 * ------------------------------------------------------------------------- */

/* Appends the cell as NUL-terminated UTF-8 to r->arena. Returns 0, 1 (bad encoding,
 * reason in why) or WAIHU_ENOMEM. */
static int cell_store(struct csvreader *r, const unsigned char *s, size_t n, size_t *off,
                      size_t *out_len, char *why, size_t why_size)
{
    const unsigned char *nul = memchr(s, '\0', n);
    if (nul != NULL) {
        snprintf(why, why_size, "NUL byte at byte %zu of the cell", (size_t)(nul - s) + 1);
        return 1;
    }
    size_t ascii = csvenc_ascii_prefix(s, n);
    *off = r->arena.len;
    if (ascii == n || r->enc != CSVREADER_ENC_GB18030) {
        if (ascii < n) {
            size_t bad = ascii + csvenc_utf8_check(s + ascii, n - ascii);
            if (bad < n) {
                snprintf(why, why_size, "invalid UTF-8 at byte %zu of the cell (0x%02x)",
                         bad + 1, s[bad]);
                return 1;
            }
        }
        if (reserve(&r->arena, n + 1) != 0)
            return WAIHU_ENOMEM;
        memcpy(r->arena.data + r->arena.len, s, n);
        r->arena.len += n;
        r->arena.data[r->arena.len++] = '\0';
        *out_len = n;
        return 0;
    }
    /* GB18030 grows at most 3/2 into UTF-8 (2 bytes -> 3; 4 bytes -> 3 or 4). */
    if (reserve(&r->arena, n + n / 2 + 4) != 0)
        return WAIHU_ENOMEM;
    char *in = (char *)s, *out = (char *)r->arena.data + r->arena.len;
    size_t in_left = n, out_left = r->arena.cap - r->arena.len - 1;
    iconv(r->cd, NULL, NULL, NULL, NULL);
    if (iconv(r->cd, &in, &in_left, &out, &out_left) == (size_t)-1) {
        size_t at = (size_t)((const unsigned char *)in - s) + 1;
        if (errno == EINVAL)
            snprintf(why, why_size, "incomplete GB18030 sequence at byte %zu of the cell", at);
        else
            snprintf(why, why_size, "invalid GB18030 at byte %zu of the cell (0x%02x)", at,
                     s[at - 1]);
        return 1;
    }
    *out_len = (size_t)(out - (char *)r->arena.data) - *off;
    r->arena.len += *out_len;
    r->arena.data[r->arena.len++] = '\0';
    return 0;
}

/* Marks the open record as failed, keeping the first reason. */
static void fail(struct csvreader *r, enum csvreader_reason reason, size_t col, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void fail(struct csvreader *r, enum csvreader_reason reason, size_t col, const char *fmt,
                 ...)
{
    if (r->failed)
        return;
    r->failed = 1;
    r->reason = reason;
    r->fail_col = col < r->ncols ? col : NO_COLUMN;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

static void record_begin(struct csvreader *r)
{
    r->between = 0;
    r->rec_line = r->line;
    r->rec_bytes = 0;
    r->ncol = 0;
    r->failed = 0;
    r->arena.len = 0;
    for (size_t i = 0; i < r->map_len; i++)
        r->off[i] = ABSENT;
}

/* Reports the open record, a row or a row error, and closes it. */
static void record_emit(struct csvreader *r)
{
    int rv;
    r->between = 1;
    if (r->failed) {
        char msg[512], col[96];
        const char *colname = r->fail_col != NO_COLUMN ? r->colname[r->fail_col] : NULL;
        if (colname != NULL) {
            fieldcheck_quote(colname, strlen(colname), col, sizeof(col));
            snprintf(msg, sizeof(msg), "line %" PRIu64 ": column %s: %s", r->rec_line, col,
                     r->why);
        } else
            snprintf(msg, sizeof(msg), "line %" PRIu64 ": %s", r->rec_line, r->why);
        struct csvreader_error e = {r->rec_line, r->reason, colname, msg};
        r->st.rows_failed++;
        r->st.failed_by_reason[r->reason]++;
        rv = r->ops.on_error != NULL ? r->ops.on_error(r->ctx, &e) : 0;
    } else {
        for (size_t i = 0; i < r->map_len; i++) {
            r->cells[i].field = r->map[i].field;
            r->cells[i].value = r->off[i] == ABSENT ? NULL : (const char *)r->arena.data + r->off[i];
            r->cells[i].len = r->off[i] == ABSENT ? 0 : r->len[i];
        }
        struct csvreader_row row = {r->rec_line, r->map_len, r->cells};
        r->st.rows_ok++;
        rv = r->ops.on_row != NULL ? r->ops.on_row(r->ctx, &row) : 0;
    }
    if (rv != 0)
        set_fatal(r, rv, "line %" PRIu64 ": stopped by the caller (%s)", r->rec_line,
                  waihu_strerror(rv));
}

/* ---------------------------------------------------------------------------
 * Header
 * ------------------------------------------------------------------------- */

static void header_cell(struct csvreader *r, const unsigned char *s, size_t n, size_t col)
{
    char why[128];
    size_t off, len;
    if (col >= r->max_columns) {
        set_fatal(r, WAIHU_ETOOBIG, "header (line %" PRIu64 "): more than %zu columns",
                  r->rec_line, r->max_columns);
        return;
    }
    if (n > r->max_cell) {
        set_fatal(r, WAIHU_ETOOBIG, "header (line %" PRIu64 "): column %zu is %zu bytes, "
                  "limit %zu", r->rec_line, col + 1, n, r->max_cell);
        return;
    }
    r->arena.len = 0;
    int rv = cell_store(r, s, n, &off, &len, why, sizeof(why));
    if (rv == 1)
        rv = set_fatal(r, WAIHU_EINVAL, "header (line %" PRIu64 "): column %zu: %s",
                       r->rec_line, col + 1, why);
    if (rv == 0) {
        /* Names are kept trimmed: they are compared and reported trimmed. */
        const char *name = (const char *)r->arena.data + off;
        while (len > 0 && is_blank((unsigned char)name[len - 1]))
            len--;
        while (len > 0 && is_blank((unsigned char)*name))
            name++, len--;
        r->hdr_off[col] = r->hdr.len;
        if (append(&r->hdr, name, len) != 0 || append(&r->hdr, "", 1) != 0)
            rv = WAIHU_ENOMEM;
    }
    if (rv == WAIHU_ENOMEM)
        set_fatal(r, rv, "out of memory");
}

static void header_done(struct csvreader *r)
{
    r->between = 1;
    r->have_header = 1;
    r->ncols = r->ncol;
    for (size_t c = 0; c < r->ncols; c++)
        r->colname[c] = (const char *)r->hdr.data + r->hdr_off[c];
    for (size_t c = 0; c < r->ncols; c++) {
        r->colmap[c] = ABSENT;
        for (size_t m = 0; m < r->map_len; m++) {
            if (strcasecmp(r->colname[c], r->map[m].column) != 0)
                continue;
            if (r->map_col[m] != ABSENT) {
                set_fatal(r, WAIHU_EINVAL, "header (line %" PRIu64 "): column \"%s\" appears "
                          "twice (columns %zu and %zu)", r->rec_line, r->map[m].column,
                          r->map_col[m] + 1, c + 1);
                return;
            }
            r->colmap[c] = m;
            r->map_col[m] = c;
            break;
        }
    }
    char missing[192] = "";
    size_t nmissing = 0;
    for (size_t m = 0; m < r->map_len; m++) {
        if (!r->map[m].required || r->map_col[m] != ABSENT)
            continue;
        size_t used = strlen(missing);
        snprintf(missing + used, sizeof(missing) - used, "%s\"%s\"", nmissing ? ", " : "",
                 r->map[m].column);
        nmissing++;
    }
    if (nmissing > 0) {
        set_fatal(r, WAIHU_EINVAL, "header (line %" PRIu64 "): missing required column%s %s",
                  r->rec_line, nmissing > 1 ? "s" : "", missing);
        return;
    }
    if (r->ops.on_unmapped != NULL)
        for (size_t c = 0; c < r->ncols; c++)
            if (r->colmap[c] == ABSENT)
                r->ops.on_unmapped(r->ctx, r->colname[c]);
}

/* ---------------------------------------------------------------------------
 * libcsv callbacks
 * ------------------------------------------------------------------------- */

static void on_field(void *field, size_t n, void *data)
{
    struct csvreader *r = data;
    const unsigned char *s = field;
    size_t col = r->ncol++;
    char why[128];

    if (r->cb_rv != 0)
        return;
    if (!r->have_header) {
        header_cell(r, s, n, col);
        return;
    }
    if (r->failed)
        return;
    if (col >= r->max_columns) {
        fail(r, CSVREADER_R_TOOMANY, NO_COLUMN, "more than %zu columns", r->max_columns);
        return;
    }
    if (col >= r->ncols || r->colmap[col] == ABSENT)
        return; /* extra columns fail at the end of the record; unmapped ones are ignored */
    if (n > r->max_cell) {
        fail(r, CSVREADER_R_TOOLONG, col, "cell is %zu bytes, limit %zu", n, r->max_cell);
        return;
    }
    size_t m = r->colmap[col];
    int rv = cell_store(r, s, n, &r->off[m], &r->len[m], why, sizeof(why));
    if (rv == 1)
        fail(r, CSVREADER_R_ENCODING, col, "%s", why);
    else if (rv != 0)
        set_fatal(r, rv, "out of memory");
}

static void on_record(int c, void *data)
{
    struct csvreader *r = data;
    (void)c;
    if (r->cb_rv != 0)
        return;
    if (!r->have_header) {
        header_done(r);
        return;
    }
    if (!r->failed && r->ncol != r->ncols)
        fail(r, CSVREADER_R_COLUMNS, NO_COLUMN, "%zu columns, the header has %zu", r->ncol,
             r->ncols);
    for (size_t m = 0; m < r->map_len && !r->failed; m++) {
        if (!r->map[m].required)
            continue;
        const unsigned char *v = r->arena.data + r->off[m];
        size_t n = r->len[m];
        while (n > 0 && is_blank(v[n - 1]))
            n--;
        if (n == 0)
            fail(r, CSVREADER_R_EMPTY, r->map_col[m], "required field \"%s\" is empty",
                 r->map[m].field);
    }
    record_emit(r);
}

/* ---------------------------------------------------------------------------
 * Segments and resynchronisation
 * ------------------------------------------------------------------------- */

/* The open record cannot be parsed further: report it, then either replay the lines
 * after its first one or skip the rest of the current line. */
static void record_broken(struct csvreader *r, enum csvreader_reason reason, const char *why,
                          int ends_lf)
{
    int multi = r->line > r->rec_line;
    if (!r->have_header) {
        set_fatal(r, WAIHU_EINVAL, "header (line %" PRIu64 "): %s", r->rec_line, why);
        return;
    }
    fail(r, reason, r->ncol, "%s", why);
    record_emit(r);
    parser_reset(r);
    if (multi && r->rec_line >= r->replay_guard) {
        r->replay_guard = r->line;
        r->want_replay = 1;
        return;
    }
    r->recbuf.len = 0;
    if (ends_lf)
        r->line++;
    else
        r->skip_line = 1;
}

static void quote_error(struct csvreader *r, int ends_lf)
{
    char why[160];
    if (r->line > r->rec_line)
        snprintf(why, sizeof(why), "quoted field not closed (parsing failed on line %" PRIu64
                 ")", r->line);
    else if (r->p.quoted)
        snprintf(why, sizeof(why), "text after the closing quote of a quoted field");
    else
        snprintf(why, sizeof(why), "stray quote in an unquoted field (quote the cell and "
                 "double the quote)");
    record_broken(r, CSVREADER_R_QUOTE, why, ends_lf);
}

/* Parses n bytes of one line: they end at its LF or are cut before it. A record over
 * max_record_bytes fails after libcsv has seen exactly its first max_record_bytes
 * bytes, whatever the chunking, so that the reported reason never depends on it. */
static int segment(struct csvreader *r, const unsigned char *s, size_t n)
{
    int ends_lf = s[n - 1] == '\n';
    size_t lead = 0, parse = n;
    if (r->between) {
        while (lead < n && (is_blank(s[lead]) || s[lead] == '\n') && s[lead] != r->delim)
            lead++;
        if (lead < n)
            record_begin(r);
    }
    int too_long = 0;
    if (!r->between) {
        if (r->line > r->rec_line && append(&r->recbuf, s, n) != 0)
            return set_fatal(r, WAIHU_ENOMEM, "out of memory");
        if (r->rec_bytes + (n - lead) > r->max_record) {
            parse = lead + (r->max_record - r->rec_bytes);
            too_long = 1;
        }
        r->rec_bytes += n - lead;
    }
    csv_parse(&r->p, s, parse, on_field, on_record, r);
    if (r->cb_rv != 0)
        return r->cb_rv;
    int err = csv_error(&r->p);
    if (err == CSV_EPARSE)
        quote_error(r, ends_lf);
    else if (err != CSV_SUCCESS)
        return set_fatal(r, WAIHU_ENOMEM, "line %" PRIu64 ": csv: %s", r->line,
                         csv_strerror(err));
    else if (too_long) {
        char why[160];
        int multi = r->line > r->rec_line;
        snprintf(why, sizeof(why), "%s longer than %zu bytes",
                 multi ? "quoted field not closed: record" : "record", r->max_record);
        record_broken(r, multi ? CSVREADER_R_QUOTE : CSVREADER_R_TOOLONG, why, ends_lf);
    } else if (ends_lf)
        r->line++;
    if (r->between && !r->want_replay)
        r->recbuf.len = 0;
    r->last_lf = ends_lf;
    return r->cb_rv;
}

static int process(struct csvreader *r, const unsigned char *s, size_t n);

static int replay(struct csvreader *r)
{
    struct buf t = r->replay;
    assert(!r->replaying);
    r->want_replay = 0;
    r->replay = r->recbuf;
    r->recbuf = t;
    r->recbuf.len = 0;
    r->line = r->rec_line + 1;
    r->between = 1;
    r->replaying = 1;
    int rv = process(r, r->replay.data, r->replay.len);
    r->replaying = 0;
    r->replay.len = 0;
    return rv;
}

static int process(struct csvreader *r, const unsigned char *s, size_t n)
{
    while (n > 0 && r->cb_rv == 0) {
        if (r->skip_line) {
            const unsigned char *lf = memchr(s, '\n', n);
            if (lf == NULL) {
                r->last_lf = 0;
                return 0;
            }
            size_t k = (size_t)(lf - s) + 1;
            s += k, n -= k;
            r->line++;
            r->skip_line = 0;
            r->last_lf = 1;
            continue;
        }
        size_t k = n < SEGMENT_MAX ? n : SEGMENT_MAX;
        const unsigned char *lf = memchr(s, '\n', k);
        if (lf != NULL)
            k = (size_t)(lf - s) + 1;
        int rv = segment(r, s, k);
        if (rv != 0)
            return rv;
        s += k, n -= k;
        if (r->want_replay && (rv = replay(r)) != 0)
            return rv;
    }
    return r->cb_rv;
}

/* ---------------------------------------------------------------------------
 * Encoding front end
 * ------------------------------------------------------------------------- */

static int set_encoding(struct csvreader *r, enum csvreader_encoding enc)
{
    r->enc = enc;
    r->st.encoding = enc;
    if (enc == CSVREADER_ENC_GB18030 && r->cd == (iconv_t)-1) {
        r->cd = iconv_open("UTF-8", "GB18030");
        if (r->cd == (iconv_t)-1)
            return set_fatal(r, WAIHU_EIO, "iconv GB18030: %s", strerror(errno));
    }
    return 0;
}

static int sniff_flush(struct csvreader *r, int at_eof)
{
    int rv = set_encoding(r, csvenc_guess(r->sniff.data, r->sniff.len, at_eof));
    if (rv == 0)
        rv = process(r, r->sniff.data, r->sniff.len);
    free(r->sniff.data);
    memset(&r->sniff, 0, sizeof(r->sniff));
    return rv;
}

/* Bytes after the BOM: sniffed while the encoding is undecided, else parsed. */
static int decoded(struct csvreader *r, const unsigned char *s, size_t n)
{
    if (r->enc != CSVREADER_ENC_AUTO)
        return process(r, s, n);
    if (r->sniff.len == 0) {
        size_t a = csvenc_ascii_prefix(s, n);
        int rv = process(r, s, a);
        if (rv != 0 || a == n)
            return rv;
        s += a, n -= a;
    }
    size_t take = CSVREADER_SNIFF_BYTES - r->sniff.len;
    if (take > n)
        take = n;
    if (append(&r->sniff, s, take) != 0)
        return set_fatal(r, WAIHU_ENOMEM, "out of memory");
    if (r->sniff.len < CSVREADER_SNIFF_BYTES)
        return 0;
    int rv = sniff_flush(r, 0);
    return rv != 0 ? rv : process(r, s + take, n - take);
}

static const unsigned char BOM_UTF8[] = {0xEF, 0xBB, 0xBF};
static const unsigned char BOM_GB18030[] = {0x84, 0x31, 0x95, 0x33};

/* Matches the first bytes against the BOMs, however the input is split. A BOM wins
 * over the declared encoding. */
static int bom_step(struct csvreader *r, const unsigned char **s, size_t *n, int at_eof)
{
    while (!r->bom_done && (*n > 0 || at_eof)) {
        if (*n > 0) {
            r->head[r->head_len++] = **s;
            (*s)++, (*n)--;
        }
        int u = r->head_len <= 3 && memcmp(r->head, BOM_UTF8, r->head_len) == 0;
        int g = memcmp(r->head, BOM_GB18030, r->head_len) == 0;
        if (u && r->head_len == 3) {
            r->bom_done = 1;
            return set_encoding(r, CSVREADER_ENC_UTF8);
        }
        if (g && r->head_len == 4) {
            r->bom_done = 1;
            return set_encoding(r, CSVREADER_ENC_GB18030);
        }
        if ((!u && !g) || at_eof) {
            r->bom_done = 1;
            return decoded(r, r->head, r->head_len);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Public functions
 * ------------------------------------------------------------------------- */

int csvreader_new(const struct csvreader_config *cfg, struct csvreader **out, char *errmsg,
                  size_t errmsg_size)
{
    struct csvreader *r = NULL;
    char dummy[1];
    if (errmsg == NULL)
        errmsg = dummy, errmsg_size = sizeof(dummy);
    *out = NULL;
    if (cfg == NULL || cfg->map == NULL || cfg->map_len == 0) {
        snprintf(errmsg, errmsg_size, "no column map");
        return WAIHU_EINVAL;
    }
    size_t max_columns = cfg->max_columns ? cfg->max_columns : CSVREADER_MAX_COLUMNS;
    if (cfg->map_len > max_columns) {
        snprintf(errmsg, errmsg_size, "map has more than %zu entries", max_columns);
        return WAIHU_EINVAL;
    }
    unsigned char delim = cfg->delimiter ? (unsigned char)cfg->delimiter : ',';
    if (delim == '"' || delim == '\n' || delim == '\r' || delim == ' ' || delim >= 0x80) {
        snprintf(errmsg, errmsg_size, "invalid delimiter 0x%02x", delim);
        return WAIHU_EINVAL;
    }
    for (size_t i = 0; i < cfg->map_len; i++) {
        if (cfg->map[i].column == NULL || cfg->map[i].field == NULL) {
            snprintf(errmsg, errmsg_size, "map entry %zu has no column or field", i);
            return WAIHU_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(cfg->map[i].column, cfg->map[j].column) == 0 ||
                strcmp(cfg->map[i].field, cfg->map[j].field) == 0) {
                snprintf(errmsg, errmsg_size, "map entries %zu and %zu repeat a column or "
                         "field", j, i);
                return WAIHU_EINVAL;
            }
    }

    r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto nomem;
    r->cd = (iconv_t)-1;
    r->map_len = cfg->map_len;
    r->ops = cfg->ops;
    r->ctx = cfg->ctx;
    r->max_cell = cfg->max_cell_bytes ? cfg->max_cell_bytes : CSVREADER_MAX_CELL_BYTES;
    r->max_record = cfg->max_record_bytes ? cfg->max_record_bytes : CSVREADER_MAX_RECORD_BYTES;
    r->max_columns = max_columns;
    r->delim = delim;
    r->line = 1;
    r->between = 1;
    r->last_lf = 1;
    r->map = calloc(r->map_len, sizeof(*r->map));
    r->off = calloc(r->map_len, sizeof(*r->off));
    r->len = calloc(r->map_len, sizeof(*r->len));
    r->cells = calloc(r->map_len, sizeof(*r->cells));
    r->map_col = calloc(r->map_len, sizeof(*r->map_col));
    r->hdr_off = calloc(max_columns, sizeof(*r->hdr_off));
    r->colname = calloc(max_columns, sizeof(*r->colname));
    r->colmap = calloc(max_columns, sizeof(*r->colmap));
    if (r->map == NULL || r->off == NULL || r->len == NULL || r->cells == NULL ||
        r->map_col == NULL || r->hdr_off == NULL || r->colname == NULL || r->colmap == NULL)
        goto nomem;
    for (size_t i = 0; i < r->map_len; i++) {
        r->map[i] = cfg->map[i];
        r->map[i].column = strdup(cfg->map[i].column);
        r->map[i].field = strdup(cfg->map[i].field);
        r->map_col[i] = ABSENT;
        if (r->map[i].column == NULL || r->map[i].field == NULL)
            goto nomem;
    }
    csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI);
    csv_set_delim(&r->p, delim);
    csv_set_space_func(&r->p, is_blank);
    csv_set_term_func(&r->p, is_lf);
    csv_set_blk_size(&r->p, 4096);
    if (cfg->encoding != CSVREADER_ENC_AUTO && set_encoding(r, cfg->encoding) != 0) {
        snprintf(errmsg, errmsg_size, "%s", r->errmsg);
        csvreader_free(r);
        return WAIHU_EIO;
    }
    *out = r;
    return 0;

nomem:
    csvreader_free(r);
    snprintf(errmsg, errmsg_size, "out of memory");
    return WAIHU_ENOMEM;
}

void csvreader_free(struct csvreader *r)
{
    if (r == NULL)
        return;
    if (r->map != NULL)
        for (size_t i = 0; i < r->map_len; i++) {
            free((char *)r->map[i].column);
            free((char *)r->map[i].field);
        }
    free(r->map);
    free(r->off);
    free(r->len);
    free(r->cells);
    free(r->map_col);
    free(r->hdr_off);
    free(r->colname);
    free(r->colmap);
    free(r->sniff.data);
    free(r->hdr.data);
    free(r->recbuf.data);
    free(r->replay.data);
    free(r->arena.data);
    csv_free(&r->p);
    if (r->cd != (iconv_t)-1)
        iconv_close(r->cd);
    free(r);
}

int csvreader_feed(struct csvreader *r, const void *buf, size_t len)
{
    const unsigned char *s = buf;
    if (r->cb_rv != 0)
        return r->cb_rv;
    if (r->finished)
        return WAIHU_EINVAL;
    r->st.bytes_in += len;
    int rv = bom_step(r, &s, &len, 0);
    if (rv == 0 && len > 0)
        rv = decoded(r, s, len);
    return rv;
}

int csvreader_finish(struct csvreader *r)
{
    const unsigned char *s = NULL;
    size_t n = 0;
    if (r->cb_rv != 0)
        return r->cb_rv;
    if (r->finished)
        return WAIHU_EINVAL;
    r->finished = 1;
    int rv = bom_step(r, &s, &n, 1);
    if (rv == 0 && r->sniff.len > 0)
        rv = sniff_flush(r, 1);
    while (rv == 0) {
        if (r->skip_line) {
            r->skip_line = 0; /* the parser was reset when the line was abandoned */
            break;
        }
        if (csv_fini(&r->p, on_field, on_record, r) == 0 || r->cb_rv != 0)
            break;
        record_broken(r, CSVREADER_R_QUOTE, "quoted field not closed at the end of the file",
                      0);
        if (!r->want_replay)
            break;
        rv = replay(r);
    }
    if (rv == 0 && r->cb_rv == 0 && !r->have_header)
        set_fatal(r, WAIHU_EINVAL, "no header row");
    return r->cb_rv;
}

const char *csvreader_errmsg(const struct csvreader *r)
{
    return r->errmsg;
}

void csvreader_stats(const struct csvreader *r, struct csvreader_stats *out)
{
    *out = r->st;
    out->lines = r->line - (r->last_lf ? 1 : 0);
}

const struct csvreader_cell *csvreader_row_get(const struct csvreader_row *row, const char *field)
{
    for (size_t i = 0; i < row->n; i++)
        if (strcmp(row->cells[i].field, field) == 0)
            return row->cells[i].value != NULL ? &row->cells[i] : NULL;
    return NULL;
}
