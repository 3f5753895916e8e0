/* libFuzzer target for the replicated state machine's input: a raft entry as store_apply
 * gets it (src/store/store_apply.c, store_mutation.c: frame, Entry/Command decoding,
 * validation, dedup, settings, node announcements, conditional mutations and batches)
 * applied to a real RocksDB store opened once in $TMPDIR (an open per input would cost more
 * than the applies; state therefore carries over between inputs, as on a node). Each input is
 * applied twice at consecutive indexes (the second sees the first's writes and dedup rows);
 * byte 0 odd: the input is the framed entry as is, even: the rest is an Entry message that
 * this target frames. Every command gets one result with a known code; the applied index
 * moves by one per entry, valid or not. */
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct store *s;
static char dir[512];
static uint64_t next_index = 1;

static void on_applied(void *data, uint64_t index, uint64_t origin, uint64_t batch_id,
                       const struct store_result *results, unsigned n)
{
    (void)data, (void)origin, (void)batch_id;
    if (index != next_index)
        abort();
    for (unsigned i = 0; i < n; i++) {
        int c = results[i].code;
        if (c != 0 && c != WAIHU_EINVAL && c != WAIHU_ECONFLICT && c != WAIHU_ENOTFOUND &&
            c != WAIHU_ESTALE)
            abort();
    }
}

/* Watchers make the FSM keep every written key until the commit (store_watch.c). */
static void on_write(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)data;
    if ((key == NULL && klen != 0) || (val == NULL && vlen != 0))
        abort();
}

static void cleanup(void)
{
    store_close(s);
    char cmd[sizeof dir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_store_apply: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[256] = "";
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/waihu-fuzz-store-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL || store_open(dir, &s, err) != 0) {
        fprintf(stderr, "fuzz_store_apply: open %s: %s\n", dir, err);
        abort();
    }
    store_on_applied(s, on_applied, NULL);
    for (int cf = 0; cf < STORE_CF_COUNT; cf++)
        if (store_watch(s, (enum store_cf)cf, on_write, NULL) != 0)
            abort();
    log_setup(LOG_ERROR, "fuzz"); /* an undecodable entry logs a warning: most inputs */
    atexit(cleanup);
    return 0;
}

static void apply(const uint8_t *buf, size_t len)
{
    store_apply(s, next_index, buf, len);
    if (store_applied_index(s) != next_index)
        abort();
    next_index++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *buf;
    size_t len;
    if (data[0] & 1) {
        len = size - 1;
        buf = malloc(len ? len : 1); /* exact bounds for ASan */
        if (buf == NULL)
            return 0;
        memcpy(buf, data + 1, len);
    } else {
        len = store_entry_size(size - 1);
        buf = malloc(len);
        if (buf == NULL)
            return 0;
        memcpy(buf + STORE_ENTRY_HEAD, data + 1, size - 1);
        store_entry_frame(buf, size - 1);
    }
    apply(buf, len);
    apply(buf, len);
    free(buf);
    return 0;
}
