/* Encrypted recordings: round trip, truncation after a crash, tampering, wrong key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "media.h"

#define FRAMES (MEDIA_REC_CHUNK_FRAMES * 5 / 2) /* 2.5 s: two full chunks and a half */
#define WAV_HEADER 44

struct fixture {
    char dir[64], enc[128], wav[128];
    uint8_t key[MEDIA_REC_KEY_BYTES];
    int16_t *frames; /* 2 * FRAMES */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/waihu-media-rec-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->enc, sizeof(f->enc), "%s/call.wrec", f->dir);
    snprintf(f->wav, sizeof(f->wav), "%s/call.wav", f->dir);
    for (int i = 0; i < MEDIA_REC_KEY_BYTES; i++)
        f->key[i] = (uint8_t)(i * 7 + 1);
    f->frames = malloc(2 * FRAMES * sizeof(int16_t));
    assert_non_null(f->frames);
    uint32_t x = 12345;
    for (int i = 0; i < 2 * FRAMES; i++) {
        x = x * 1103515245u + 12345u;
        f->frames[i] = (int16_t)(x >> 16);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->enc);
    unlink(f->wav);
    rmdir(f->dir);
    free(f->frames);
    free(f);
    return 0;
}

static void write_recording(struct fixture *f, size_t frames)
{
    struct media_rec_writer *w;
    char err[256];
    assert_int_equal(media_rec_writer_open(f->enc, f->key, &w, err, sizeof(err)), 0);
    /* odd append sizes cross chunk borders */
    for (size_t done = 0; done < frames;) {
        size_t n = 777 < frames - done ? 777 : frames - done;
        assert_int_equal(media_rec_writer_append(w, f->frames + 2 * done, n), 0);
        done += n;
    }
    assert_int_equal(media_rec_writer_close(w), 0);
}

/* Checks the WAV holds the first `frames` frames of the fixture. */
static void check_wav(struct fixture *f, size_t frames)
{
    FILE *in = fopen(f->wav, "rb");
    assert_non_null(in);
    uint8_t h[WAV_HEADER];
    assert_int_equal(fread(h, 1, WAV_HEADER, in), WAV_HEADER);
    assert_memory_equal(h, "RIFF", 4);
    assert_memory_equal(h + 8, "WAVEfmt ", 8);
    uint32_t data = (uint32_t)h[40] | (uint32_t)h[41] << 8 | (uint32_t)h[42] << 16 |
                    (uint32_t)h[43] << 24;
    assert_int_equal(data, frames * 4);
    for (size_t i = 0; i < 2 * frames; i++) {
        uint8_t b[2];
        assert_int_equal(fread(b, 1, 2, in), 2);
        assert_int_equal((int16_t)(b[0] | b[1] << 8), f->frames[i]);
    }
    uint8_t extra;
    assert_int_equal(fread(&extra, 1, 1, in), 0);
    fclose(in);
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    write_recording(f, FRAMES);
    struct media_rec_info info;
    char err[256];
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, err, sizeof(err)), 0);
    assert_int_equal(info.chunks, 3);
    assert_int_equal(info.frames, FRAMES);
    assert_true(info.complete);
    assert_false(info.truncated);
    check_wav(f, FRAMES);
    /* Ciphertext does not contain the plaintext. */
    struct stat st;
    assert_int_equal(stat(f->enc, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32 + 3 * (8 + 16) + FRAMES * 4);
}

static void test_empty_and_exact(void **state)
{
    struct fixture *f = *state;
    struct media_rec_info info;
    write_recording(f, 0);
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, NULL, 0), 0);
    assert_int_equal(info.chunks, 1);
    assert_true(info.complete);
    check_wav(f, 0);
    unlink(f->enc);
    write_recording(f, MEDIA_REC_CHUNK_FRAMES); /* one full chunk then an empty final one */
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, NULL, 0), 0);
    assert_int_equal(info.chunks, 2);
    check_wav(f, MEDIA_REC_CHUNK_FRAMES);
}

static void test_truncated_keeps_complete_chunks(void **state)
{
    struct fixture *f = *state;
    write_recording(f, FRAMES);
    struct stat st;
    assert_int_equal(stat(f->enc, &st), 0);
    const off_t chunk = 8 + MEDIA_REC_CHUNK_FRAMES * 4 + 16;
    /* Every cut point class: inside the header, inside a chunk header, mid-chunk, at a border. */
    const off_t cuts[] = {32, 36, 32 + 100, 32 + chunk - 1, 32 + chunk, 32 + chunk + 5,
                          32 + 2 * chunk - 16, 32 + 2 * chunk, st.st_size - 1};
    const size_t want[] = {0, 0, 0, 0, 1, 1, 1, 2, 2};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        assert_int_equal(truncate(f->enc, cuts[i]), 0);
        struct media_rec_info info;
        char err[256];
        assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, err, sizeof(err)), 0);
        assert_int_equal(info.chunks, want[i]);
        assert_true(info.truncated);
        assert_false(info.complete);
        check_wav(f, want[i] * MEDIA_REC_CHUNK_FRAMES);
        unlink(f->enc);
        write_recording(f, FRAMES);
    }
    assert_int_equal(truncate(f->enc, 20), 0);
    struct media_rec_info info;
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, NULL, 0), WAIHU_ECORRUPT);
}

static void flip_byte(const char *path, long off)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    fputc(c ^ 0x01, fp);
    fclose(fp);
}

static void test_tamper_and_wrong_key(void **state)
{
    struct fixture *f = *state;
    struct media_rec_info info;
    char err[256];
    write_recording(f, FRAMES);
    uint8_t other[MEDIA_REC_KEY_BYTES] = {0};
    assert_int_equal(media_rec_decrypt(f->enc, other, f->wav, &info, err, sizeof(err)),
                     WAIHU_ECORRUPT);
    assert_non_null(strstr(err, "chunk 0"));
    /* A flipped byte in the second chunk: the first survives, the rest is refused. */
    const long chunk = 8 + MEDIA_REC_CHUNK_FRAMES * 4 + 16;
    flip_byte(f->enc, 32 + chunk + 8 + 1000);
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, err, sizeof(err)),
                     WAIHU_ECORRUPT);
    assert_int_equal(info.chunks, 1);
    check_wav(f, MEDIA_REC_CHUNK_FRAMES);
    flip_byte(f->enc, 32 + chunk + 8 + 1000);
    /* The header is authenticated too (salt byte), and the magic is checked. */
    flip_byte(f->enc, 25);
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, NULL, 0), WAIHU_ECORRUPT);
    flip_byte(f->enc, 25);
    flip_byte(f->enc, 0);
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, err, sizeof(err)),
                     WAIHU_ECORRUPT);
    assert_non_null(strstr(err, "magic"));
    flip_byte(f->enc, 0);
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, NULL, 0), 0);
    /* The writer never overwrites. */
    struct media_rec_writer *w;
    assert_int_equal(media_rec_writer_open(f->enc, f->key, &w, err, sizeof(err)), WAIHU_EIO);
    assert_non_null(strstr(err, f->enc));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_keeps_complete_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_and_wrong_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
