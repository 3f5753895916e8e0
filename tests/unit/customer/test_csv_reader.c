/* Tests of the streaming CSV reader (src/customer/csv_reader.c): every error class
 * with exact line numbers, resynchronisation, encodings, and the same rows and errors
 * however the input is split into chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "customer_csv.h"

/* What the reader reported, as text: one line per row, error or unmapped column. */
struct transcript {
    char *text;
    size_t len, cap;
    int stop_after; /* > 0: on_row returns WAIHU_ESHUTDOWN at that row */
    int rows;
};

static void tr_add(struct transcript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tr_add(struct transcript *t, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(line));
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->text = realloc(t->text, t->cap);
        assert_non_null(t->text);
    }
    memcpy(t->text + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

static int on_row(void *ctx, const struct csvreader_row *row)
{
    struct transcript *t = ctx;
    tr_add(t, "row %llu:", (unsigned long long)row->line);
    for (size_t i = 0; i < row->n; i++) {
        if (row->cells[i].value == NULL)
            tr_add(t, " %s=<absent>", row->cells[i].field);
        else {
            assert_int_equal(strlen(row->cells[i].value), row->cells[i].len);
            tr_add(t, " %s=[%s]", row->cells[i].field, row->cells[i].value);
        }
    }
    tr_add(t, "\n");
    if (++t->rows == t->stop_after)
        return WAIHU_ESHUTDOWN;
    return 0;
}

static int on_error(void *ctx, const struct csvreader_error *e)
{
    struct transcript *t = ctx;
    tr_add(t, "error %llu %s %s: %s\n", (unsigned long long)e->line,
           csvreader_reason_name(e->reason), e->column ? e->column : "-", e->msg);
    return 0;
}

static void on_unmapped(void *ctx, const char *column)
{
    struct transcript *t = ctx;
    tr_add(t, "unmapped [%s]\n", column);
}

static const struct csvreader_map MAP3[] = {
    {"name", "name", 1},
    {"phone", "phone", 1},
    {"note", "note", 0},
};

struct run {
    int rv;          /* first non-zero of feed/finish */
    struct csvreader_stats st;
    char errmsg[256];
};

/* Feeds data split every chunk bytes (0: one piece; < 0: pseudo-random sizes seeded
 * by -chunk) and returns the transcript (caller frees). */
static char *run_reader(const struct csvreader_config *base, const void *data, size_t len,
                        long chunk, struct run *out)
{
    struct transcript t = {0};
    struct csvreader_config cfg = *base;
    struct csvreader *r;
    cfg.ops.on_row = on_row;
    cfg.ops.on_error = on_error;
    cfg.ops.on_unmapped = on_unmapped;
    cfg.ctx = &t;
    assert_int_equal(csvreader_new(&cfg, &r, NULL, 0), 0);
    tr_add(&t, "%s", "");
    const unsigned char *p = data;
    size_t off = 0;
    unsigned seed = chunk < 0 ? (unsigned)-chunk : 1;
    int rv = 0;
    while (off < len && rv == 0) {
        size_t k = len - off;
        if (chunk > 0 && (size_t)chunk < k)
            k = (size_t)chunk;
        else if (chunk < 0) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 97;
            if (want < k)
                k = want;
        }
        rv = csvreader_feed(r, p + off, k);
        off += k;
    }
    if (rv == 0)
        rv = csvreader_finish(r);
    memset(out, 0, sizeof(*out));
    out->rv = rv;
    csvreader_stats(r, &out->st);
    snprintf(out->errmsg, sizeof(out->errmsg), "%s", csvreader_errmsg(r));
    csvreader_free(r);
    return t.text;
}

/* Runs with one buffer, 1-byte chunks and random chunks: all must agree. */
static char *run_all(const struct csvreader_config *cfg, const char *data, size_t len,
                     struct run *out)
{
    char *whole = run_reader(cfg, data, len, 0, out);
    long chunks[] = {1, 2, 3, 7, -1, -2, -3};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct run other;
        char *t = run_reader(cfg, data, len, chunks[i], &other);
        if (strcmp(t, whole) != 0)
            fail_msg("chunk %ld differs:\n--- whole\n%s--- chunked\n%s", chunks[i], whole, t);
        assert_int_equal(other.rv, out->rv);
        if (out->rv == 0) /* a fatal error stops feeding early: bytes and lines differ */
            assert_memory_equal(&other.st, &out->st, sizeof(other.st));
        assert_int_equal(other.st.rows_ok, out->st.rows_ok);
        assert_int_equal(other.st.rows_failed, out->st.rows_failed);
        free(t);
    }
    return whole;
}

static struct csvreader_config cfg3(void)
{
    struct csvreader_config c = {0};
    c.map = MAP3;
    c.map_len = 3;
    return c;
}

static void expect(const char *data, const char *want, uint64_t ok, uint64_t failed)
{
    struct csvreader_config c = cfg3();
    struct run run;
    char *got = run_all(&c, data, strlen(data), &run);
    if (strcmp(got, want) != 0)
        fail_msg("input:\n%s\n--- want\n%s--- got\n%s", data, want, got);
    assert_int_equal(run.rv, 0);
    assert_int_equal(run.st.rows_ok, ok);
    assert_int_equal(run.st.rows_failed, failed);
    free(got);
}

static void test_basic(void **state)
{
    (void)state;
    expect("name,phone,note\r\nZhang San,13800000001,hi\r\n\"Li, Si\",\"139 0000 0002\",\"say \"\"hi\"\"\"\r\n",
           "row 2: name=[Zhang San] phone=[13800000001] note=[hi]\n"
           "row 3: name=[Li, Si] phone=[139 0000 0002] note=[say \"hi\"]\n",
           2, 0);
    /* LF endings, no final newline, blank and whitespace-only lines skipped, blanks
     * around unquoted cells trimmed, kept inside quotes. */
    expect("name,phone,note\n\n a , b ,\" c \"\n   \n\r\nx,y,z",
           "row 3: name=[a] phone=[b] note=[ c ]\n"
           "row 6: name=[x] phone=[y] note=[z]\n",
           2, 0);
    /* Header order and case do not matter; absent optional column; unmapped reported once. */
    expect("Phone, EXTRA ,NAME\n1,x,a\n2,y,b\n",
           "unmapped [EXTRA]\n"
           "row 2: name=[a] phone=[1] note=<absent>\n"
           "row 3: name=[b] phone=[2] note=<absent>\n",
           2, 0);
}

static void test_multiline_lines(void **state)
{
    (void)state;
    /* Physical line numbers count the newlines inside quoted cells. */
    expect("name,phone,note\na,1,\"two\nlines\"\nb,2,\"three\r\nline\r\ncell\"\nc,3,x\n",
           "row 2: name=[a] phone=[1] note=[two\nlines]\n"
           "row 4: name=[b] phone=[2] note=[three\r\nline\r\ncell]\n"
           "row 7: name=[c] phone=[3] note=[x]\n",
           3, 0);
}

static void test_quote_errors(void **state)
{
    (void)state;
    /* Stray quote in an unquoted cell, text after a closing quote: the row fails, the
     * next one is read. */
    expect("name,phone,note\nZhang \"Tiger\" San,1,x\n\"Li\"Si,2,y\nok,3,z\n",
           "error 2 quote name: line 2: column \"name\": stray quote in an unquoted field "
           "(quote the cell and double the quote)\n"
           "error 3 quote name: line 3: column \"name\": text after the closing quote of a "
           "quoted field\n"
           "row 4: name=[ok] phone=[3] note=[z]\n",
           1, 2);
    /* Unterminated quote: it swallows lines until a quote breaks it; the lines after
     * the broken record's first line are read again. */
    expect("name,phone,note\n\"Wang,1,x\nb,2,y\nc,3,\"quoted\"\nd,4,w\n",
           "error 2 quote name: line 2: column \"name\": quoted field not closed (parsing "
           "failed on line 4)\n"
           "row 3: name=[b] phone=[2] note=[y]\n"
           "row 4: name=[c] phone=[3] note=[quoted]\n"
           "row 5: name=[d] phone=[4] note=[w]\n",
           3, 1);
    /* Unterminated at the end of the file. */
    expect("name,phone,note\na,1,x\nb,2,\"open\nc,3,z\n",
           "row 2: name=[a] phone=[1] note=[x]\n"
           "error 3 quote note: line 3: column \"note\": quoted field not closed at the end "
           "of the file\n"
           "row 4: name=[c] phone=[3] note=[z]\n",
           2, 1);
    /* Unterminated quote on the last line, no final newline. */
    expect("name,phone,note\na,1,\"open",
           "error 2 quote note: line 2: column \"note\": quoted field not closed at the end "
           "of the file\n",
           0, 1);
    /* Two unterminated quotes in a row: each fails alone. */
    expect("name,phone,note\n\"a,1,x\n\"b,2,y\nc,3,z\n",
           "error 2 quote name: line 2: column \"name\": quoted field not closed (parsing "
           "failed on line 3)\n"
           "error 3 quote name: line 3: column \"name\": quoted field not closed at the end "
           "of the file\n"
           "row 4: name=[c] phone=[3] note=[z]\n",
           1, 2);
}

static void test_column_errors(void **state)
{
    (void)state;
    expect("name,phone,note\na,1\nb,2,x,extra\nc,3,\n",
           "error 2 columns -: line 2: 2 columns, the header has 3\n"
           "error 3 columns -: line 3: 4 columns, the header has 3\n"
           "row 4: name=[c] phone=[3] note=[]\n",
           1, 2);
    /* Empty required cells (blank or quoted blanks count as empty). */
    expect("name,phone,note\n,1,x\na,\"  \",y\nb,2,\n",
           "error 2 empty name: line 2: column \"name\": required field \"name\" is empty\n"
           "error 3 empty phone: line 3: column \"phone\": required field \"phone\" is empty\n"
           "row 4: name=[b] phone=[2] note=[]\n",
           1, 2);
}

static void test_limits(void **state)
{
    (void)state;
    struct csvreader_config c = cfg3();
    c.max_cell_bytes = 8;
    c.max_record_bytes = 64;
    c.max_columns = 5;
    struct run run;
    const char *data = "name,phone,note\n"
                       "123456789,1,x\n"                  /* cell over 8 bytes */
                       "a,1,2,3,4,5,6\n"                  /* over 5 columns */
                       "b,2,\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                       "c,3,y\n"
                       "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd,4\n"
                       "e,5,z\n";
    char *got = run_all(&c, data, strlen(data), &run);
    const char *want =
        "error 2 too_long name: line 2: column \"name\": cell is 9 bytes, limit 8\n"
        "error 3 too_many_columns -: line 3: more than 5 columns\n"
        "error 4 too_long note: line 4: column \"note\": record longer than 64 bytes\n"
        "row 5: name=[c] phone=[3] note=[y]\n"
        "error 6 too_long name: line 6: column \"name\": record longer than 64 bytes\n"
        "row 7: name=[e] phone=[5] note=[z]\n";
    if (strcmp(got, want) != 0)
        fail_msg("--- want\n%s--- got\n%s", want, got);
    assert_int_equal(run.st.rows_ok, 2);
    assert_int_equal(run.st.rows_failed, 4);
    assert_int_equal(run.st.failed_by_reason[CSVREADER_R_TOOLONG], 3);
    assert_int_equal(run.st.lines, 7);
    free(got);

    /* An unclosed quote over many lines stops at max_record_bytes, then the lines after
     * its first one are read again. */
    c.max_cell_bytes = 0;
    c.max_columns = 0;
    c.max_record_bytes = 20;
    data = "name,phone,note\n\"a,1,x\nb,2,y\nc,3,z\nd,4,w\ne,5,v\nf,6,u\n";
    got = run_all(&c, data, strlen(data), &run);
    want = "error 2 quote name: line 2: column \"name\": quoted field not closed: record "
           "longer than 20 bytes\n"
           "row 3: name=[b] phone=[2] note=[y]\n"
           "row 4: name=[c] phone=[3] note=[z]\n"
           "row 5: name=[d] phone=[4] note=[w]\n"
           "row 6: name=[e] phone=[5] note=[v]\n"
           "row 7: name=[f] phone=[6] note=[u]\n";
    if (strcmp(got, want) != 0)
        fail_msg("--- want\n%s--- got\n%s", want, got);
    free(got);
}

static void test_encoding_utf8(void **state)
{
    (void)state;
    /* BOM stripped; CJK kept; invalid UTF-8 fails only its row, in any mapped column;
     * bad bytes in an unmapped column do not matter. */
    expect("\xEF\xBB\xBFname,phone,note,junk\n"
           "\xE5\xBC\xA0\xE4\xB8\x89,1,x,\xFF\n"
           "a\xC3(,2,y,q\n"
           "b,3,\xED\xA0\x80,q\n"
           "c,4,\xE4\xB8,q\n"
           "d,5,\"\xF0\x9F\x98\x80\",q\n",
           "unmapped [junk]\n"
           "row 2: name=[\xE5\xBC\xA0\xE4\xB8\x89] phone=[1] note=[x]\n"
           "error 3 encoding name: line 3: column \"name\": invalid UTF-8 at byte 2 of the cell (0xc3)\n"
           "error 4 encoding note: line 4: column \"note\": invalid UTF-8 at byte 1 of the cell (0xed)\n"
           "error 5 encoding note: line 5: column \"note\": invalid UTF-8 at byte 1 of the cell (0xe4)\n"
           "row 6: name=[d] phone=[5] note=[\xF0\x9F\x98\x80]\n",
           2, 3);
}

/* 张三 李四 王五 in GB18030, and the same in UTF-8. */
#define GB_ZHANGSAN "\xD5\xC5\xC8\xFD"
#define GB_LISI "\xC0\xEE\xCB\xC4"
#define GB_WANGWU "\xCD\xF5\xCE\xE5"
#define GB_BEIJING "\xB1\xB1\xBE\xA9"
#define U8_ZHANGSAN "\xE5\xBC\xA0\xE4\xB8\x89"
#define U8_LISI "\xE6\x9D\x8E\xE5\x9B\x9B"
#define U8_WANGWU "\xE7\x8E\x8B\xE4\xBA\x94"
#define U8_BEIJING "\xE5\x8C\x97\xE4\xBA\xAC"

static void test_encoding_gb18030(void **state)
{
    (void)state;
    /* Auto-detected from the Chinese names; the header is GB18030 too; a 4-byte
     * sequence (U+20AC euro: 0xA2E3 is 2-byte, use 0x81308130 = U+0080); a broken
     * sequence fails its row only. */
    const char *data = "name,phone,note\n"
                       GB_ZHANGSAN ",13800000001," GB_BEIJING "\n"
                       GB_LISI ",13800000002,\"\x81\x30\x81\x30\"\n"
                       GB_WANGWU ",13800000003,\x81\n"
                       "Tom,13800000004,ok\n";
    const char *want =
        "row 2: name=[" U8_ZHANGSAN "] phone=[13800000001] note=[" U8_BEIJING "]\n"
        "row 3: name=[" U8_LISI "] phone=[13800000002] note=[\xC2\x80]\n"
        "error 4 encoding note: line 4: column \"note\": incomplete GB18030 sequence at byte 1 of the cell\n"
        "row 5: name=[Tom] phone=[13800000004] note=[ok]\n";
    struct csvreader_config c = cfg3();
    struct run run;
    char *got = run_all(&c, data, strlen(data), &run);
    if (strcmp(got, want) != 0)
        fail_msg("--- want\n%s--- got\n%s", want, got);
    assert_int_equal(run.st.encoding, CSVREADER_ENC_GB18030);
    free(got);

    /* Declared, with a Chinese header mapped by its UTF-8 name. */
    static const struct csvreader_map cn_map[] = {{U8_BEIJING, "city", 1}};
    c.map = cn_map;
    c.map_len = 1;
    c.encoding = CSVREADER_ENC_GB18030;
    data = GB_BEIJING "\n" GB_ZHANGSAN "\n";
    got = run_all(&c, data, strlen(data), &run);
    assert_string_equal(got, "row 2: city=[" U8_ZHANGSAN "]\n");
    free(got);

    /* GB18030 BOM wins over AUTO. */
    c.encoding = CSVREADER_ENC_AUTO;
    data = "\x84\x31\x95\x33" GB_BEIJING "\n" GB_LISI "\n";
    got = run_all(&c, data, strlen(data), &run);
    assert_string_equal(got, "row 2: city=[" U8_LISI "]\n");
    assert_int_equal(run.st.encoding, CSVREADER_ENC_GB18030);
    free(got);

    /* Plain ASCII stays UTF-8; UTF-8 Chinese is not mistaken for GB18030. */
    c.map = MAP3;
    c.map_len = 3;
    data = "name,phone,note\n" U8_ZHANGSAN ",1," U8_BEIJING "\n";
    got = run_all(&c, data, strlen(data), &run);
    assert_string_equal(got, "row 2: name=[" U8_ZHANGSAN "] phone=[1] note=[" U8_BEIJING "]\n");
    assert_int_equal(run.st.encoding, CSVREADER_ENC_UTF8);
    free(got);
}

static void test_header_errors(void **state)
{
    (void)state;
    struct csvreader_config c = cfg3();
    struct run run;
    const char *cases[][2] = {
        {"name,note\na,b\n", "header (line 1): missing required column \"phone\""},
        {"note\n", "header (line 1): missing required columns \"name\", \"phone\""},
        {"name,phone,NAME\n", "header (line 1): column \"name\" appears twice (columns 1 and 3)"},
        {"name,\"phone\"x\n", "header (line 1): text after the closing quote of a quoted field"},
        {"name,ph\xFFone\n", "header (line 1): column 2: invalid UTF-8 at byte 3 of the cell (0xff)"},
        {"", "no header row"},
        {"\n\n  \n", "no header row"},
        /* Empty header names: 0 bytes appended to a buffer not allocated yet (fuzz/fuzz_csv.c,
         * clang's UBSan; its input is fuzz/corpus/fuzz_csv/regress-empty-header-cell). */
        {",", "header (line 1): missing required columns \"name\", \"phone\""},
        {",\n", "header (line 1): missing required columns \"name\", \"phone\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = run_all(&c, cases[i][0], strlen(cases[i][0]), &run);
        assert_int_equal(run.rv, WAIHU_EINVAL);
        assert_string_equal(run.errmsg, cases[i][1]);
        assert_int_equal(run.st.rows_ok + run.st.rows_failed, 0);
        free(got);
    }
    /* Fatal errors are sticky. */
    struct csvreader *r;
    assert_int_equal(csvreader_new(&c, &r, NULL, 0), 0);
    assert_int_equal(csvreader_feed(r, "name\n", 5), WAIHU_EINVAL);
    assert_int_equal(csvreader_feed(r, "a\n", 2), WAIHU_EINVAL);
    assert_int_equal(csvreader_finish(r), WAIHU_EINVAL);
    csvreader_free(r);
}

static void test_config_and_abort(void **state)
{
    (void)state;
    struct csvreader *r;
    struct csvreader_config c = {0};
    char why[128];
    assert_int_equal(csvreader_new(&c, &r, why, sizeof(why)), WAIHU_EINVAL);
    static const struct csvreader_map dup[] = {{"a", "x", 0}, {"A", "y", 0}};
    c.map = dup;
    c.map_len = 2;
    assert_int_equal(csvreader_new(&c, &r, why, sizeof(why)), WAIHU_EINVAL);
    c = cfg3();
    c.delimiter = '"';
    assert_int_equal(csvreader_new(&c, &r, why, sizeof(why)), WAIHU_EINVAL);

    /* Semicolon files. */
    c.delimiter = ';';
    struct run run;
    const char *data = "name;phone;note\na;1,5;x\n";
    char *got = run_all(&c, data, strlen(data), &run);
    assert_string_equal(got, "row 2: name=[a] phone=[1,5] note=[x]\n");
    free(got);

    /* A callback error stops the reader and is returned. */
    struct transcript t = {0};
    t.stop_after = 1;
    c = cfg3();
    c.ops.on_row = on_row;
    c.ctx = &t;
    assert_int_equal(csvreader_new(&c, &r, NULL, 0), 0);
    data = "name,phone\na,1\nb,2\n";
    assert_int_equal(csvreader_feed(r, data, strlen(data)), WAIHU_ESHUTDOWN);
    assert_int_equal(t.rows, 1);
    assert_int_equal(csvreader_finish(r), WAIHU_ESHUTDOWN);
    csvreader_free(r);
    free(t.text);
}

/* A file far bigger than any buffer: a quote that never closes, and a line that never
 * ends, are each one error and the reader's memory stays bounded. */
static void test_endless(void **state)
{
    (void)state;
    struct csvreader_config c = cfg3();
    struct transcript t = {0};
    struct csvreader *r;
    c.ops.on_row = on_row;
    c.ops.on_error = on_error;
    c.ctx = &t;
    assert_int_equal(csvreader_new(&c, &r, NULL, 0), 0);
    const char *head = "name,phone,note\na,1,\"open\n";
    assert_int_equal(csvreader_feed(r, head, strlen(head)), 0);
    static char block[65536];
    memset(block, 'x', sizeof(block));
    for (int i = 0; i < 64; i++)
        block[i * 1000] = '\n';
    for (int i = 0; i < 200; i++) /* 13 MB */
        assert_int_equal(csvreader_feed(r, block, sizeof(block)), 0);
    memset(block, 'y', sizeof(block)); /* one endless line: 13 MB */
    for (int i = 0; i < 200; i++)
        assert_int_equal(csvreader_feed(r, block, sizeof(block)), 0);
    assert_int_equal(csvreader_feed(r, "\nb,2,z\n", 7), 0);
    assert_int_equal(csvreader_finish(r), 0);
    struct csvreader_stats st;
    csvreader_stats(r, &st);
    assert_int_equal(st.rows_ok, 1);
    assert_non_null(strstr(t.text, "error 2 quote note"));
    assert_non_null(strstr(t.text, "row 12804: name=[b]"));
    csvreader_free(r);
    free(t.text);
}

/* Random mixtures of good and broken lines: any chunking gives the same transcript,
 * and every record is counted once. */
static void test_chunking_random(void **state)
{
    (void)state;
    static const char *pieces[] = {
        "a,1,x\n", "\"b\",2,\"y\"\r\n", "c,3,\"multi\nline\"\n", "d\"q,4,x\n", "\"e,5,x\n",
        "f,6\n", "g,7,x,9\n", "\n", "h,8,\xFF\n", ",9,x\n", "i,10,\"\xE4\xB8\xAD\"\n",
        "\"j\"k,11,x\n", "  \n", "l,12,\"\"\"q\"\"\"\n",
    };
    struct csvreader_config c = cfg3();
    unsigned seed = 7;
    for (int round = 0; round < 60; round++) {
        char data[4096] = "name,phone,note\n";
        size_t len = strlen(data);
        int n = 5 + round % 30;
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(data + len, p, strlen(p));
            len += strlen(p);
        }
        struct run run;
        char *got = run_all(&c, data, len - (round % 3 == 0 ? 1 : 0), &run);
        assert_int_equal(run.rv, 0);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_multiline_lines),
        cmocka_unit_test(test_quote_errors),
        cmocka_unit_test(test_column_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_encoding_utf8),
        cmocka_unit_test(test_encoding_gb18030),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_config_and_abort),
        cmocka_unit_test(test_endless),
        cmocka_unit_test(test_chunking_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
