/* Recordings decrypted in memory (media_rec_decrypt_buf, the API's playback) and the
 * writer's checksum (media_rec_writer_finish, the catalogue): the same WAV as the file
 * decryptor, every tampered byte refused, every cut reported truncated, the SHA-256 and
 * size those of the file on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "media.h"

#define FRAMES (MEDIA_REC_CHUNK_FRAMES * 5 / 2) /* two full chunks and a half */

struct fixture {
    char dir[64], enc[128], wav[128];
    uint8_t key[MEDIA_REC_KEY_BYTES];
    uint8_t sha[32];
    uint64_t bytes;
    uint8_t *file, *wav_file;
    size_t file_len, wav_len;
};

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/waihu-media-recbuf-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->enc, sizeof(f->enc), "%s/call.wrec", f->dir);
    snprintf(f->wav, sizeof(f->wav), "%s/call.wav", f->dir);
    for (int i = 0; i < MEDIA_REC_KEY_BYTES; i++)
        f->key[i] = (uint8_t)(i * 5 + 3);
    struct media_rec_writer *w;
    assert_int_equal(media_rec_writer_open(f->enc, f->key, &w, NULL, 0), 0);
    int16_t *frames = malloc(2 * FRAMES * sizeof(int16_t));
    assert_non_null(frames);
    for (int i = 0; i < 2 * FRAMES; i++)
        frames[i] = (int16_t)(i * 37);
    assert_int_equal(media_rec_writer_append(w, frames, FRAMES), 0);
    free(frames);
    assert_int_equal(media_rec_writer_finish(w, f->sha, &f->bytes), 0);
    f->file = slurp(f->enc, &f->file_len);
    struct media_rec_info info;
    assert_int_equal(media_rec_decrypt(f->enc, f->key, f->wav, &info, NULL, 0), 0);
    f->wav_file = slurp(f->wav, &f->wav_len);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->enc);
    unlink(f->wav);
    rmdir(f->dir);
    free(f->file);
    free(f->wav_file);
    free(f);
    return 0;
}

static void test_checksum_is_the_files(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->bytes, f->file_len);
    uint8_t sum[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(f->file, f->file_len, sum, &n, EVP_sha256(), NULL), 1);
    assert_memory_equal(sum, f->sha, 32);
}

static void test_same_wav_as_the_file_decryptor(void **state)
{
    struct fixture *f = *state;
    uint8_t *wav;
    size_t len;
    struct media_rec_info info;
    char err[200];
    assert_int_equal(media_rec_decrypt_buf(f->file, f->file_len, f->key, &wav, &len, &info, err,
                                           sizeof err),
                     0);
    assert_true(info.complete && !info.truncated);
    assert_int_equal(info.chunks, 3);
    assert_int_equal(len, f->wav_len);
    assert_int_equal(len, MEDIA_REC_WAV_HEADER_BYTES + FRAMES * 4);
    assert_memory_equal(wav, f->wav_file, len);
    free(wav);
}

static void test_every_flipped_byte_is_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t *copy = malloc(f->file_len);
    assert_non_null(copy);
    /* Every byte of the header, of chunk headers and tags, and a stride of ciphertext. */
    for (size_t i = 0; i < f->file_len; i += i < 64 || i > f->file_len - 64 ? 1 : 997) {
        memcpy(copy, f->file, f->file_len);
        copy[i] ^= 0x40;
        uint8_t *wav = (uint8_t *)1;
        size_t len = 1;
        struct media_rec_info info;
        char err[200] = "";
        int rv = media_rec_decrypt_buf(copy, f->file_len, f->key, &wav, &len, &info, err,
                                       sizeof err);
        /* Flipping the final flag or a length may also read as a truncated file: never as a
         * complete, good one. */
        if (rv == 0) {
            if (!info.truncated) {
                fail_msg("byte %zu flipped: accepted as complete", i);
            }
            free(wav);
        } else {
            assert_int_equal(rv, WAIHU_ECORRUPT);
            assert_null(wav);
            assert_true(err[0] != '\0');
        }
    }
    free(copy);
}

static void test_every_cut_is_truncated(void **state)
{
    struct fixture *f = *state;
    for (size_t n = 32; n < f->file_len; n += 401) {
        uint8_t *wav;
        size_t len;
        struct media_rec_info info;
        int rv = media_rec_decrypt_buf(f->file, n, f->key, &wav, &len, &info, NULL, 0);
        assert_int_equal(rv, 0);
        if (!info.truncated)
            fail_msg("cut at %zu: not reported truncated", n);
        free(wav);
    }
    uint8_t *wav = NULL;
    size_t len;
    struct media_rec_info info;
    assert_int_equal(media_rec_decrypt_buf(f->file, 10, f->key, &wav, &len, &info, NULL, 0),
                     WAIHU_ECORRUPT);
    /* Bytes after the final chunk are not ignored. */
    uint8_t *longer = malloc(f->file_len + 1);
    assert_non_null(longer);
    memcpy(longer, f->file, f->file_len);
    longer[f->file_len] = 0;
    assert_int_equal(media_rec_decrypt_buf(longer, f->file_len + 1, f->key, &wav, &len, &info,
                                           NULL, 0),
                     WAIHU_ECORRUPT);
    free(longer);
}

static void test_wrong_key(void **state)
{
    struct fixture *f = *state;
    uint8_t key[MEDIA_REC_KEY_BYTES];
    memcpy(key, f->key, sizeof key);
    key[31] ^= 1;
    uint8_t *wav;
    size_t len;
    struct media_rec_info info;
    assert_int_equal(media_rec_decrypt_buf(f->file, f->file_len, key, &wav, &len, &info, NULL,
                                           0),
                     WAIHU_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checksum_is_the_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_wav_as_the_file_decryptor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_flipped_byte_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_cut_is_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
