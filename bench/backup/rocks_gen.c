/* waihu-rocks-gen: builds and inspects RocksDB stores shaped like waihud's (same column
 * families and table options) for the backup benchmark and integration tests.
 *   gen DIR --mb N [--seed S]         customers and call records, about N MB of key+value,
 *                                     then a full compaction (steady state: no L0 files)
 *   mutate DIR --percent P [--seed S] overwrite (half) and add P% of the generated volume,
 *                                     flush; prints "changed_bytes=N" (key+value written)
 *   checkpoint DIR OUT                RocksDB checkpoint (OUT must not exist)
 *   digest DIR                        opens read-only, prints "keys=N sha256=HEX" over every
 *                                     family, key and value */
#include <openssl/evp.h>
#include <rocksdb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cf_names[] = {"default", "customer", "customer_idx", "campaign", "lead",
                                       "agent",   "call",     "recording",    "audit"};
#define N_CF 9
#define CF_CUSTOMER 1
#define CF_CUSTOMER_IDX 2
#define CF_CALL 6

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void die(const char *what, char *err)
{
    fprintf(stderr, "waihu-rocks-gen: %s: %s\n", what, err ? err : "failed");
    exit(1);
}

struct db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t *cf[N_CF];
};

static void db_open(struct db *d, const char *dir, int read_only)
{
    char *err = NULL;
    const rocksdb_options_t *cf_opts[N_CF];
    d->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(d->opts, 1);
    rocksdb_options_set_create_missing_column_families(d->opts, 1);
    rocksdb_options_increase_parallelism(d->opts, 2);
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_options_set_block_based_table_factory(d->opts, t);
    rocksdb_block_based_options_destroy(t);
    for (int i = 0; i < N_CF; i++) {
        cf_opts[i] = d->opts;
    }
    if (read_only) {
        d->db = rocksdb_open_for_read_only_column_families(d->opts, dir, N_CF, cf_names, cf_opts,
                                                           d->cf, 1, &err);
    } else {
        d->db = rocksdb_open_column_families(d->opts, dir, N_CF, cf_names, cf_opts, d->cf, &err);
    }
    if (err != NULL) {
        die(dir, err);
    }
}

static void db_close(struct db *d)
{
    for (int i = 0; i < N_CF; i++) {
        rocksdb_column_family_handle_destroy(d->cf[i]);
    }
    rocksdb_close(d->db);
    rocksdb_options_destroy(d->opts);
}

static const char *const first[] = {"Aroha", "Wiremu", "Mere",   "Tama", "Hine",   "John", "Maria",
                                    "Chen",  "Priya",  "Olivia", "Noah", "Amelia", "Jack"};
static const char *const last[] = {"Smith",    "Ngata", "Williams", "Brown", "Wilson", "Taylor",
                                   "Te Rangi", "Li",    "Patel",    "Jones", "Walker", "Harris"};
static const char *const city[] = {"Auckland", "Wellington", "Christchurch", "Hamilton",
                                   "Tauranga", "Dunedin",    "Rotorua",      "Napier"};
static const char *const outcome[] = {"answered",  "busy",      "no-answer",
                                      "voicemail", "abandoned", "failed"};

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

/* One customer record (JSON-ish text with an opaque, already encrypted field) and its
 * phone index row. */
static size_t customer(rocksdb_writebatch_t *b, struct db *d, uint64_t id)
{
    uint8_t key[9] = {'c'};
    char val[512], phone[16];
    uint8_t blob[48];
    char hex[97];
    put_be64(key + 1, id);
    snprintf(phone, sizeof phone, "+6421%07llu", (unsigned long long)(rnd() % 10000000));
    for (size_t i = 0; i < sizeof blob; i++) {
        blob[i] = (uint8_t)rnd();
        snprintf(hex + 2 * i, 3, "%02x", blob[i]);
    }
    int n = snprintf(val, sizeof val,
                     "{\"id\":%llu,\"name\":\"%s %s\",\"phone\":\"%s\",\"city\":\"%s\","
                     "\"tags\":[\"campaign-%llu\",\"tier-%llu\"],\"attempts\":%llu,"
                     "\"notes_enc\":\"%s\",\"updated\":%llu}",
                     (unsigned long long)id, first[rnd() % 13], last[rnd() % 12], phone,
                     city[rnd() % 8], (unsigned long long)(rnd() % 40),
                     (unsigned long long)(rnd() % 4), (unsigned long long)(rnd() % 9), hex,
                     (unsigned long long)(1700000000000ULL + rnd() % 100000000000ULL));
    rocksdb_writebatch_put_cf(b, d->cf[CF_CUSTOMER], (char *)key, sizeof key, val, (size_t)n);
    uint8_t ikey[1 + 16 + 8] = {'p'};
    for (int i = 0; i < 16; i++) {
        ikey[1 + i] = (uint8_t)rnd();
    }
    put_be64(ikey + 17, id);
    rocksdb_writebatch_put_cf(b, d->cf[CF_CUSTOMER_IDX], (char *)ikey, sizeof ikey, "", 0);
    return sizeof key + (size_t)n + sizeof ikey;
}

static size_t call_record(rocksdb_writebatch_t *b, struct db *d, uint64_t id, uint64_t cust)
{
    uint8_t key[9] = {'k'};
    char val[384];
    put_be64(key + 1, id);
    int n =
        snprintf(val, sizeof val,
                 "{\"call\":%llu,\"customer\":%llu,\"campaign\":%llu,\"agent\":%llu,"
                 "\"trunk\":\"trunk-%llu\",\"start\":%llu,\"ring_ms\":%llu,\"talk_s\":%llu,"
                 "\"outcome\":\"%s\",\"disposition\":\"code-%llu\",\"recording\":"
                 "\"rec/%016llx\",\"sip_call_id\":\"%016llx%016llx@waihu\"}",
                 (unsigned long long)id, (unsigned long long)cust, (unsigned long long)(rnd() % 40),
                 (unsigned long long)(rnd() % 300), (unsigned long long)(rnd() % 6),
                 (unsigned long long)(1700000000000ULL + rnd() % 100000000000ULL),
                 (unsigned long long)(rnd() % 30000), (unsigned long long)(rnd() % 900),
                 outcome[rnd() % 6], (unsigned long long)(rnd() % 20), (unsigned long long)rnd(),
                 (unsigned long long)rnd(), (unsigned long long)rnd());
    rocksdb_writebatch_put_cf(b, d->cf[CF_CALL], (char *)key, sizeof key, val, (size_t)n);
    return sizeof key + (size_t)n;
}

static void write_batch(struct db *d, rocksdb_writebatch_t *b)
{
    char *err = NULL;
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(wo, 1);
    rocksdb_write(d->db, wo, b, &err);
    rocksdb_writeoptions_destroy(wo);
    if (err != NULL) {
        die("write", err);
    }
    rocksdb_writebatch_clear(b);
}

static void flush_all(struct db *d)
{
    char *err = NULL;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < N_CF; i++) {
        rocksdb_flush_cf(d->db, fo, d->cf[i], &err);
        if (err != NULL) {
            die("flush", err);
        }
    }
    rocksdb_flushoptions_destroy(fo);
}

/* Customers and calls (1 customer : 3 calls) until mb MB; ids from base. */
static uint64_t generate(struct db *d, uint64_t bytes, uint64_t cust_base, uint64_t n_cust_old,
                         double overwrite_share, uint64_t *next_cust)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    uint64_t done = 0, c = cust_base, k = cust_base * 3;
    while (done < bytes) {
        uint64_t id = c;
        if (n_cust_old > 0 && (double)(rnd() % 1000) < overwrite_share * 1000.0) {
            id = rnd() % n_cust_old; /* an update of an existing customer */
        } else {
            c++;
        }
        done += customer(b, d, id);
        for (int i = 0; i < 3; i++) {
            done += call_record(b, d, k++, id);
        }
        if (rocksdb_writebatch_count(b) >= 4000) {
            write_batch(d, b);
        }
    }
    write_batch(d, b);
    rocksdb_writebatch_destroy(b);
    *next_cust = c;
    return done;
}

static uint64_t read_meta(struct db *d, const char *name)
{
    char *err = NULL;
    size_t len;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char *v = rocksdb_get_cf(d->db, ro, d->cf[0], name, strlen(name), &len, &err);
    rocksdb_readoptions_destroy(ro);
    uint64_t x = 0;
    if (v != NULL && len == 8) {
        memcpy(&x, v, 8);
    }
    rocksdb_free(v);
    return x;
}

static void write_meta(struct db *d, const char *name, uint64_t x)
{
    char *err = NULL;
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(d->db, wo, d->cf[0], name, strlen(name), (char *)&x, 8, &err);
    rocksdb_writeoptions_destroy(wo);
    if (err != NULL) {
        die("put", err);
    }
}

static int cmd_gen(const char *dir, uint64_t mb, uint64_t seed)
{
    struct db d;
    char *err = NULL;
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    db_open(&d, dir, 0);
    uint64_t base = read_meta(&d, "gen/customers");
    uint64_t customers;
    uint64_t done = generate(&d, mb << 20, base, 0, 0, &customers);
    write_meta(&d, "gen/customers", customers);
    write_meta(&d, "gen/bytes", read_meta(&d, "gen/bytes") + done);
    flush_all(&d);
    for (int i = 0; i < N_CF; i++) {
        rocksdb_compact_range_cf(d.db, d.cf[i], NULL, 0, NULL, 0);
    }
    (void)err;
    db_close(&d);
    printf("generated_bytes=%llu\n", (unsigned long long)done);
    return 0;
}

static int cmd_mutate(const char *dir, double pct, uint64_t seed)
{
    struct db d;
    char *err = NULL;
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 7;
    db_open(&d, dir, 0);
    /* The store's live data size decides what P% is. */
    uint64_t live = 0;
    for (int i = 0; i < N_CF; i++) {
        uint64_t v = 0;
        if (rocksdb_property_int_cf(d.db, d.cf[i], "rocksdb.estimate-live-data-size", &v) == 0) {
            live += v;
        }
    }
    uint64_t customers = read_meta(&d, "gen/customers");
    uint64_t base = read_meta(&d, "gen/next") ? read_meta(&d, "gen/next") : customers * 2 + 1;
    /* P% of the data as generated (key and value bytes), not of its compressed size. */
    uint64_t volume = read_meta(&d, "gen/bytes") ? read_meta(&d, "gen/bytes") : live;
    uint64_t target = (uint64_t)((double)volume * pct / 100.0), next;
    uint64_t done = generate(&d, target, base, customers, 0.5, &next);
    write_meta(&d, "gen/next", next);
    flush_all(&d);
    (void)err;
    db_close(&d);
    printf("live_bytes=%llu changed_bytes=%llu\n", (unsigned long long)live,
           (unsigned long long)done);
    return 0;
}

static int cmd_checkpoint(const char *dir, const char *out)
{
    struct db d;
    char *err = NULL;
    db_open(&d, dir, 0);
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(d.db, &err);
    if (err == NULL) {
        rocksdb_checkpoint_create(cp, out, 0, &err);
    }
    if (cp != NULL) {
        rocksdb_checkpoint_object_destroy(cp);
    }
    if (err != NULL) {
        die("checkpoint", err);
    }
    db_close(&d);
    return 0;
}

static int cmd_digest(const char *dir)
{
    struct db d;
    uint64_t keys = 0;
    unsigned char md[32];
    unsigned int mdlen;
    db_open(&d, dir, 1);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(ro, 1);
    for (int i = 0; i < N_CF; i++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(d.db, ro, d.cf[i]);
        EVP_DigestUpdate(ctx, cf_names[i], strlen(cf_names[i]) + 1);
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t kl, vl;
            const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
            uint8_t lens[16];
            put_be64(lens, kl);
            put_be64(lens + 8, vl);
            EVP_DigestUpdate(ctx, lens, sizeof lens);
            EVP_DigestUpdate(ctx, k, kl);
            EVP_DigestUpdate(ctx, v, vl);
            keys++;
        }
        char *err = NULL;
        rocksdb_iter_get_error(it, &err);
        if (err != NULL) {
            die("iterate", err);
        }
        rocksdb_iter_destroy(it);
    }
    rocksdb_readoptions_destroy(ro);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    db_close(&d);
    printf("keys=%llu sha256=", (unsigned long long)keys);
    for (unsigned i = 0; i < mdlen; i++) {
        printf("%02x", md[i]);
    }
    printf("\n");
    return 0;
}

static const char *opt(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return argv[i + 1];
        }
    }
    return dflt;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "gen") == 0) {
        return cmd_gen(argv[2], strtoull(opt(argc, argv, "--mb", "64"), NULL, 10),
                       strtoull(opt(argc, argv, "--seed", "1"), NULL, 10));
    }
    if (argc >= 3 && strcmp(argv[1], "mutate") == 0) {
        return cmd_mutate(argv[2], strtod(opt(argc, argv, "--percent", "1"), NULL),
                          strtoull(opt(argc, argv, "--seed", "2"), NULL, 10));
    }
    if (argc == 4 && strcmp(argv[1], "checkpoint") == 0) {
        return cmd_checkpoint(argv[2], argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "digest") == 0) {
        return cmd_digest(argv[2]);
    }
    fprintf(stderr, "usage: waihu-rocks-gen gen DIR --mb N [--seed S] | mutate DIR --percent P "
                    "[--seed S] | checkpoint DIR OUT | digest DIR\n");
    return 2;
}
