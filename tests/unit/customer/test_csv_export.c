/* Tests of the CSV writer (src/customer/csv_export.c) and property-style round trips
 * writer -> reader for random cells with quotes, commas, newlines, blanks and CJK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "customer_csv.h"

struct out {
    char *data;
    size_t len, cap;
    int fail_after; /* > 0: the sink fails on that call */
    int calls;
};

static int sink(void *ctx, const void *buf, size_t len)
{
    struct out *o = ctx;
    if (++o->calls == o->fail_after)
        return WAIHU_EIO;
    if (o->len + len + 1 > o->cap) {
        o->cap = (o->len + len + 1) * 2;
        o->data = realloc(o->data, o->cap);
        assert_non_null(o->data);
    }
    memcpy(o->data + o->len, buf, len);
    o->len += len;
    o->data[o->len] = '\0';
    return 0;
}

static char *write_rows(unsigned flags, const char *const *cells, size_t ncells, size_t per_row)
{
    struct out o = {0};
    struct csvwriter *w;
    assert_int_equal(csvwriter_new(flags, sink, &o, &w), 0);
    for (size_t i = 0; i < ncells; i += per_row)
        assert_int_equal(csvwriter_row(w, cells + i, per_row), 0);
    assert_int_equal(csvwriter_flush(w), 0);
    csvwriter_free(w);
    if (o.data == NULL)
        o.data = calloc(1, 1);
    return o.data;
}

static void test_quoting(void **state)
{
    (void)state;
    const char *cells[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "", " pad ", "\xE5\xBC\xA0",
                           "", "x"};
    char *got = write_rows(0, cells, 9, 9);
    assert_string_equal(got, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,\" pad \","
                             "\xE5\xBC\xA0,,x\r\n");
    free(got);
    /* One empty cell alone is quoted so that the row is not a blank line. */
    const char *one[] = {""};
    got = write_rows(0, one, 1, 1);
    assert_string_equal(got, "\"\"\r\n");
    free(got);
    got = write_rows(CSVWRITER_BOM, cells, 1, 1);
    assert_string_equal(got, "\xEF\xBB\xBFplain\r\n");
    free(got);
}

static void test_formula(void **state)
{
    (void)state;
    const char *cells[] = {"=1+2", "+8613800000000", "-5", "@SUM(A1)", "\tcmd", "\rx",
                           "  =HYPERLINK(\"http://x\")", "a=b", "'quoted", ("\xEF\xBC\x9D" "1")};
    char *got = write_rows(0, cells, 10, 10);
    assert_string_equal(got, "\"'=1+2\",\"'+8613800000000\",\"'-5\",\"'@SUM(A1)\",\"'\tcmd\","
                             "\"'\rx\",\"'  =HYPERLINK(\"\"http://x\"\")\",a=b,'quoted,"
                             "\xEF\xBC\x9D" "1\r\n");
    free(got);
    got = write_rows(CSVWRITER_RAW, cells, 4, 4);
    assert_string_equal(got, "=1+2,+8613800000000,-5,@SUM(A1)\r\n");
    free(got);
    assert_int_equal(csvwriter_is_formula("   ", 3), 0);
    assert_int_equal(csvwriter_is_formula(" -", 2), 1);
}

static void test_sink_error(void **state)
{
    (void)state;
    struct out o = {0};
    o.fail_after = 1;
    struct csvwriter *w;
    assert_int_equal(csvwriter_new(0, sink, &o, &w), 0);
    static char big[100000];
    memset(big, 'a', sizeof(big) - 1);
    assert_int_equal(csvwriter_cell(w, big, strlen(big)), WAIHU_EIO);
    assert_int_equal(csvwriter_end_row(w), WAIHU_EIO);
    assert_int_equal(csvwriter_flush(w), WAIHU_EIO);
    csvwriter_free(w);
    free(o.data);
}

/* ---------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------- */

#define COLS 5
#define ROWS 40

static const char *const MAP_COLS[COLS] = {"c0", "c1", "c2", "c3", "c4"};

struct collect {
    char **cells; /* ROWS * COLS, strdup'd */
    size_t n;
    uint64_t errors;
};

static int collect_row(void *ctx, const struct csvreader_row *row)
{
    struct collect *c = ctx;
    for (size_t i = 0; i < row->n; i++) {
        assert_non_null(row->cells[i].value);
        c->cells[c->n++] = strndup(row->cells[i].value, row->cells[i].len);
    }
    return 0;
}

static int collect_error(void *ctx, const struct csvreader_error *e)
{
    struct collect *c = ctx;
    c->errors++;
    fail_msg("unexpected row error: %s", e->msg);
    return 0;
}

static unsigned next(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 16;
}

/* A random cell of valid UTF-8 without NUL. */
static char *random_cell(unsigned *seed)
{
    static const char *atoms[] = {"a", "Z", "0", " ", "\t", ",", "\"", "\"\"", "\n", "\r\n",
                                  "\r", "'", "=", "+", "-", "@", ";", "|", "\xE5\xBC\xA0",
                                  "\xE4\xB8\x89", "\xF0\x9F\x98\x80", "\xC3\xA9", "x y"};
    size_t n = next(seed) % 9, len = 0;
    char *s = malloc(n * 4 + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        const char *a = atoms[next(seed) % (sizeof(atoms) / sizeof(atoms[0]))];
        memcpy(s + len, a, strlen(a));
        len += strlen(a);
    }
    s[len] = '\0';
    return s;
}

/* What a neutralised cell reads back as. */
static char *expected(const char *s, unsigned flags)
{
    size_t len = strlen(s);
    char *e = malloc(len + 2);
    assert_non_null(e);
    if (!(flags & CSVWRITER_RAW) && csvwriter_is_formula(s, len)) {
        e[0] = '\'';
        memcpy(e + 1, s, len + 1);
    } else
        memcpy(e, s, len + 1);
    return e;
}

static void round_trip(unsigned seed, unsigned flags)
{
    const char *header[COLS];
    char *cells[ROWS * COLS];
    for (size_t i = 0; i < COLS; i++)
        header[i] = MAP_COLS[i];
    for (size_t i = 0; i < ROWS * COLS; i++)
        cells[i] = random_cell(&seed);

    struct out o = {0};
    struct csvwriter *w;
    assert_int_equal(csvwriter_new(flags, sink, &o, &w), 0);
    assert_int_equal(csvwriter_row(w, header, COLS), 0);
    for (size_t r = 0; r < ROWS; r++)
        assert_int_equal(csvwriter_row(w, (const char *const *)cells + r * COLS, COLS), 0);
    assert_int_equal(csvwriter_flush(w), 0);
    csvwriter_free(w);

    /* Read back whole, then byte by byte: both give the cells written. */
    for (int pass = 0; pass < 2; pass++) {
        struct csvreader_map map[COLS];
        for (size_t i = 0; i < COLS; i++)
            map[i] = (struct csvreader_map){MAP_COLS[i], MAP_COLS[i], 0};
        struct collect c = {calloc(ROWS * COLS, sizeof(char *)), 0, 0};
        struct csvreader_config cfg = {0};
        cfg.map = map;
        cfg.map_len = COLS;
        cfg.ops.on_row = collect_row;
        cfg.ops.on_error = collect_error;
        cfg.ctx = &c;
        struct csvreader *r;
        assert_int_equal(csvreader_new(&cfg, &r, NULL, 0), 0);
        if (pass == 0)
            assert_int_equal(csvreader_feed(r, o.data, o.len), 0);
        else
            for (size_t i = 0; i < o.len; i++)
                assert_int_equal(csvreader_feed(r, o.data + i, 1), 0);
        assert_int_equal(csvreader_finish(r), 0);
        struct csvreader_stats st;
        csvreader_stats(r, &st);
        assert_int_equal(st.rows_ok, ROWS);
        assert_int_equal(st.rows_failed, 0);
        assert_int_equal(c.n, ROWS * COLS);
        for (size_t i = 0; i < ROWS * COLS; i++) {
            char *e = expected(cells[i], flags);
            if (strcmp(e, c.cells[i]) != 0)
                fail_msg("seed %u cell %zu: wrote [%s] read [%s]", seed, i, e, c.cells[i]);
            free(e);
            free(c.cells[i]);
        }
        free(c.cells);
        csvreader_free(r);
    }
    for (size_t i = 0; i < ROWS * COLS; i++)
        free(cells[i]);
    free(o.data);
}

static void test_round_trip(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 150; seed++)
        round_trip(seed, (seed % 2 ? CSVWRITER_RAW : 0) | (seed % 3 ? CSVWRITER_BOM : 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_formula),
        cmocka_unit_test(test_sink_error),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
