/* Reads a generated customer CSV (bench/import/gen_customers.py) with the streaming
 * reader in 64 KiB chunks, checks every row as the import does (phone with default
 * country CN, date, numbers, industry enum, tags), counts duplicate phones, prints
 * key=value figures and, with --truth, compares the counts with the truth file.
 *
 *   csv_import_bench FILE [--truth FILE.truth.json] [--reader-only] [--chunk BYTES]
 *
 * Exit status: 0, 1 on a count mismatch, 2 on usage or I/O errors. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "customer_csv.h"

enum { F_NAME, F_PHONE, F_EMAIL, F_CITY, F_ADDRESS, F_INDUSTRY, F_SIZE, F_SIGNUP, F_BUDGET,
       F_NOTES, F_TAGS, F_COUNT };

static const struct csvreader_map MAP[F_COUNT] = {
    {"name", "name", 1},         {"phone", "phone", 1},     {"email", "email", 0},
    {"city", "city", 0},         {"address", "address", 0}, {"industry", "industry", 0},
    {"company_size", "company_size", 0}, {"signup_date", "signup_date", 0},
    {"budget", "budget", 0},     {"notes", "notes", 0},     {"tags", "tags", 0},
};

static const char *const INDUSTRIES[] = {"education", "finance", "retail", "manufacturing",
                                         "healthcare", "real_estate", "internet", "logistics"};

/* Set of 64-bit phone hashes (open addressing; 0 marks a free slot). */
struct set {
    uint64_t *slot;
    size_t cap, n;
};

static int set_add(struct set *s, uint64_t h)
{
    if (h == 0)
        h = 1;
    if ((s->n + 1) * 2 > s->cap) {
        struct set g = {calloc(s->cap ? s->cap * 2 : 1 << 16, sizeof(uint64_t)), 0, 0};
        if (g.slot == NULL) {
            perror("calloc");
            exit(2);
        }
        g.cap = s->cap ? s->cap * 2 : 1 << 16;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i] != 0)
                set_add(&g, s->slot[i]);
        free(s->slot);
        *s = g;
    }
    size_t i = (size_t)(h * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->slot[i] != 0) {
        if (s->slot[i] == h)
            return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = h;
    s->n++;
    return 1;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

struct counts {
    int reader_only;
    uint64_t invalid_phone, duplicates, valid_unique, other_invalid;
    struct set phones;
    char first_bad[256];
};

static int on_row(void *ctx, const struct csvreader_row *row)
{
    struct counts *c = ctx;
    char e164[PHONE_E164_SIZE], why[FIELDCHECK_WHY_SIZE];
    if (c->reader_only)
        return 0;
    if (fieldcheck_phone("phone", row->cells[F_PHONE].value, "CN", e164, why, sizeof(why)) != 0) {
        c->invalid_phone++;
        return 0;
    }
    double v;
    int64_t t;
    struct fieldcheck_tags tags;
    if (fieldcheck_enum("industry", row->cells[F_INDUSTRY].value, INDUSTRIES, 8, NULL, why,
                        sizeof(why)) != 0 ||
        fieldcheck_number("company_size", row->cells[F_SIZE].value, 0, 1e9, 1, &v, why,
                          sizeof(why)) != 0 ||
        fieldcheck_date("signup_date", row->cells[F_SIGNUP].value, &t, NULL, why,
                        sizeof(why)) != 0 ||
        fieldcheck_number("budget", row->cells[F_BUDGET].value, 0, 1e12, 0, &v, why,
                          sizeof(why)) != 0 ||
        fieldcheck_tags("tags", row->cells[F_TAGS].value, &tags, why, sizeof(why)) != 0) {
        if (c->other_invalid++ == 0)
            snprintf(c->first_bad, sizeof(c->first_bad), "line %llu: %s",
                     (unsigned long long)row->line, why);
        return 0;
    }
    if (set_add(&c->phones, fnv1a(e164)))
        c->valid_unique++;
    else
        c->duplicates++;
    return 0;
}

static int on_error(void *ctx, const struct csvreader_error *e)
{
    (void)ctx;
    (void)e;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int expect(json_t *truth, const char *path, uint64_t got)
{
    json_t *v = truth;
    char key[128];
    snprintf(key, sizeof(key), "%s", path);
    for (char *part = strtok(key, "."); part != NULL && v != NULL; part = strtok(NULL, "."))
        v = json_object_get(v, part);
    if (!json_is_integer(v)) {
        printf("truth_missing=%s\n", path);
        return 1;
    }
    if ((uint64_t)json_integer_value(v) != got) {
        printf("MISMATCH %s: truth %lld, got %llu\n", path, (long long)json_integer_value(v),
               (unsigned long long)got);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *file = NULL, *truth_path = NULL;
    size_t chunk = 64 * 1024;
    struct counts c = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--truth") == 0 && i + 1 < argc)
            truth_path = argv[++i];
        else if (strcmp(argv[i], "--reader-only") == 0)
            c.reader_only = 1;
        else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
            chunk = (size_t)strtoul(argv[++i], NULL, 10);
        else if (file == NULL && argv[i][0] != '-')
            file = argv[i];
        else
            file = NULL, i = argc;
    }
    if (file == NULL || chunk == 0) {
        fprintf(stderr, "usage: %s FILE [--truth JSON] [--reader-only] [--chunk BYTES]\n",
                argv[0]);
        return 2;
    }
    int fd = open(file, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", file, strerror(errno));
        return 2;
    }
    struct csvreader_config cfg = {0};
    cfg.map = MAP;
    cfg.map_len = F_COUNT;
    cfg.ops.on_row = on_row;
    cfg.ops.on_error = on_error;
    cfg.ctx = &c;
    struct csvreader *r;
    char why[256];
    if (csvreader_new(&cfg, &r, why, sizeof(why)) != 0) {
        fprintf(stderr, "csvreader_new: %s\n", why);
        return 2;
    }
    char *buf = malloc(chunk);
    double t0 = now_s();
    int rv = 0;
    ssize_t n;
    while (rv == 0 && (n = read(fd, buf, chunk)) > 0)
        rv = csvreader_feed(r, buf, (size_t)n);
    if (rv == 0)
        rv = csvreader_finish(r);
    double secs = now_s() - t0;
    close(fd);
    free(buf);
    if (rv != 0) {
        fprintf(stderr, "%s: %s\n", file, csvreader_errmsg(r));
        return 2;
    }
    struct csvreader_stats st;
    csvreader_stats(r, &st);
    csvreader_free(r);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t rows = st.rows_ok + st.rows_failed;
    printf("file=%s\nbytes=%llu\nlines=%llu\nencoding=%s\n", file,
           (unsigned long long)st.bytes_in, (unsigned long long)st.lines,
           st.encoding == CSVREADER_ENC_GB18030 ? "gb18030" : "utf-8");
    printf("rows_ok=%llu\nrows_failed=%llu\n", (unsigned long long)st.rows_ok,
           (unsigned long long)st.rows_failed);
    for (int k = 1; k < CSVREADER_R_COUNT; k++)
        if (st.failed_by_reason[k] > 0)
            printf("failed_%s=%llu\n", csvreader_reason_name((enum csvreader_reason)k),
                   (unsigned long long)st.failed_by_reason[k]);
    if (!c.reader_only)
        printf("invalid_phone=%llu\nduplicates=%llu\nvalid_unique=%llu\nother_invalid=%llu\n",
               (unsigned long long)c.invalid_phone, (unsigned long long)c.duplicates,
               (unsigned long long)c.valid_unique, (unsigned long long)c.other_invalid);
    if (c.other_invalid > 0)
        printf("first_other_invalid=%s\n", c.first_bad);
    printf("seconds=%.3f\nmax_rss_kb=%ld\nMB_per_s=%.1f\n", secs, ru.ru_maxrss,
           (double)st.bytes_in / 1e6 / secs);
    printf("%s_rows_per_s=%.0f\n", c.reader_only ? "reader" : "reader_checks",
           (double)rows / secs);
    free(c.phones.slot);

    if (truth_path == NULL)
        return 0;
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr);
    if (truth == NULL) {
        fprintf(stderr, "%s:%d: %s\n", truth_path, jerr.line, jerr.text);
        return 2;
    }
    int bad = expect(truth, "reader.rows_ok", st.rows_ok) +
              expect(truth, "reader.rows_failed", st.rows_failed) +
              expect(truth, "reader.failed_by_reason.quote", st.failed_by_reason[CSVREADER_R_QUOTE]) +
              expect(truth, "lines", st.lines);
    if (!c.reader_only)
        bad += expect(truth, "invalid_phone", c.invalid_phone) +
               expect(truth, "duplicates", c.duplicates) +
               expect(truth, "valid_unique", c.valid_unique) + (c.other_invalid != 0);
    json_decref(truth);
    printf("truth=%s\n", bad ? "MISMATCH" : "ok");
    return bad ? 1 : 0;
}
