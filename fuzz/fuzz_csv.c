/* libFuzzer target for the CSV reader: any input is read without crashing; rows hold
 * valid UTF-8 of the stated length; line numbers never go back; counts match the
 * callbacks; and feeding the input whole or in small pieces gives the same rows,
 * errors and counts. The first input byte picks encoding, delimiter and limits.
 * Run by fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "customer_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    uint64_t hash, rows, errors, last_line;
};

static void mix(struct seen *s, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        s->hash = (s->hash ^ b[i]) * 1099511628211ull;
}

static int on_row(void *ctx, const struct csvreader_row *row)
{
    struct seen *s = ctx;
    if (row->line < s->last_line || row->line == 0)
        abort();
    s->last_line = row->line;
    s->rows++;
    mix(s, &row->line, sizeof(row->line));
    for (size_t i = 0; i < row->n; i++) {
        const struct csvreader_cell *c = &row->cells[i];
        if (c->value == NULL)
            continue;
        if (strlen(c->value) != c->len ||
            csvenc_utf8_check((const unsigned char *)c->value, c->len) != c->len)
            abort();
        mix(s, c->value, c->len + 1);
    }
    return 0;
}

static int on_error(void *ctx, const struct csvreader_error *e)
{
    struct seen *s = ctx;
    if (e->line < s->last_line || e->line == 0 || e->msg[0] == '\0')
        abort();
    s->last_line = e->line;
    s->errors++;
    mix(s, e->msg, strlen(e->msg));
    return 0;
}

static int run(const uint8_t *data, size_t size, uint8_t opts, size_t chunk, struct seen *s,
               struct csvreader_stats *st)
{
    static const struct csvreader_map map[] = {
        {"name", "name", 1}, {"phone", "phone", 1}, {"note", "note", 0}, {"a", "a", 0}};
    struct csvreader_config cfg = {0};
    struct csvreader *r;
    cfg.map = map;
    cfg.map_len = 4;
    cfg.encoding = (enum csvreader_encoding)(opts % 3);
    cfg.delimiter = (opts & 4) ? ';' : ',';
    if (opts & 8) {
        cfg.max_cell_bytes = 16;
        cfg.max_record_bytes = 64;
        cfg.max_columns = 6;
    }
    cfg.ops.on_row = on_row;
    cfg.ops.on_error = on_error;
    cfg.ctx = s;
    memset(s, 0, sizeof(*s));
    if (csvreader_new(&cfg, &r, NULL, 0) != 0)
        abort();
    int rv = 0;
    for (size_t off = 0; off < size && rv == 0; off += chunk)
        rv = csvreader_feed(r, data + off, size - off < chunk ? size - off : chunk);
    if (rv == 0)
        rv = csvreader_finish(r);
    if (rv != 0 && csvreader_errmsg(r)[0] == '\0')
        abort();
    csvreader_stats(r, st);
    if (st->rows_ok != s->rows || st->rows_failed != s->errors)
        abort();
    csvreader_free(r);
    return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opts = data[0];
    data++, size--;
    struct seen a, b;
    struct csvreader_stats sa, sb;
    int ra = run(data, size, opts, size ? size : 1, &a, &sa);
    int rb = run(data, size, opts, 1 + (opts >> 4) % 5, &b, &sb);
    if (ra != rb || a.hash != b.hash || sa.rows_ok != sb.rows_ok ||
        sa.rows_failed != sb.rows_failed)
        abort();
    /* A fatal error stops feeding early, so bytes and lines are compared only without. */
    if (ra == 0 && memcmp(&sa, &sb, sizeof(sa)) != 0)
        abort();
    return 0;
}
