/* GET /v1/recordings/{id}/audio: the recording as a standard WAV, decrypted on the fly in
 * the thread pool. Every chunk's tag, the final chunk and the catalogue's size and SHA-256
 * are checked before a byte is sent: a tampered or truncated file answers 422 and no
 * audio. One Range (bytes=a-b, a-, -n) gives 206 or 416. A file held by another node
 * answers 409 naming that node and its API address (the client asks it; no proxying yet).
 * Every playback, refused ones included, is audited before the answer. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api_recording_internal.h"
#include "media.h"

/* Encrypted files above this are not played through the API (about 4.6 hours of audio). */
#define AUDIO_MAX_FILE_BYTES ((uint64_t)512 << 20)

struct audio {
    uv_work_t work;
    struct api *a;
    struct api_recordings *k;
    struct http_request *req;
    struct auth_principal who;
    char path[512];
    char obj[64];
    char range[128];
    bool has_range;
    uint64_t want_bytes;
    uint8_t want_sha[32];
    bool has_sha;
    uint8_t key[MEDIA_REC_KEY_BYTES];
    /* results */
    int rv;
    char why[256];
    uint8_t *wav;
    size_t wav_len;
    uint64_t first, last;
    enum recording_range kind;
};

static void audio_free(struct audio *j)
{
    if (j->wav != NULL) {
        OPENSSL_cleanse(j->wav, j->wav_len);
        free(j->wav);
    }
    OPENSSL_cleanse(j->key, sizeof j->key);
    free(j);
}

/* Reads the whole file; 0, WAIHU_ENOTFOUND, WAIHU_EIO, WAIHU_ETOOBIG. */
static int read_all(const char *path, uint8_t **out, size_t *len, char *why, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, cap, "the file is missing on this node (%s)", strerror(errno));
        return errno == ENOENT ? WAIHU_ENOTFOUND : WAIHU_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "not a regular file");
        close(fd);
        return WAIHU_EIO;
    }
    if ((uint64_t)st.st_size > AUDIO_MAX_FILE_BYTES) {
        snprintf(why, cap, "the file is too large to play through the API (%lld bytes)",
                 (long long)st.st_size);
        close(fd);
        return WAIHU_ETOOBIG;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        close(fd);
        return WAIHU_ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
}

static void work(uv_work_t *w)
{
    struct audio *j = w->data;
    uint8_t *file = NULL;
    size_t len = 0;
    j->rv = read_all(j->path, &file, &len, j->why, sizeof j->why);
    if (j->rv != 0) {
        return;
    }
    struct media_rec_info info;
    char err[200];
    j->rv = media_rec_decrypt_buf(file, len, j->key, &j->wav, &j->wav_len, &info, err,
                                  sizeof err);
    if (j->rv != 0) {
        snprintf(j->why, sizeof j->why, "%s", err);
    } else if (info.truncated) {
        snprintf(j->why, sizeof j->why, "truncated after %u chunk(s)%s%s", info.chunks,
                 err[0] ? ": " : "", err);
        j->rv = WAIHU_ECORRUPT;
    } else if (j->want_bytes > 0 && len != j->want_bytes) {
        snprintf(j->why, sizeof j->why, "size %zu differs from the catalogue's %" PRIu64, len,
                 j->want_bytes);
        j->rv = WAIHU_ECORRUPT;
    } else if (j->has_sha) {
        uint8_t sum[32];
        unsigned int n = 0;
        if (EVP_Digest(file, len, sum, &n, EVP_sha256(), NULL) != 1 ||
            CRYPTO_memcmp(sum, j->want_sha, sizeof sum) != 0) {
            snprintf(j->why, sizeof j->why, "SHA-256 differs from the catalogue's");
            j->rv = WAIHU_ECORRUPT;
        }
    }
    free(file);
    if (j->rv != 0 && j->wav != NULL) {
        OPENSSL_cleanse(j->wav, j->wav_len);
        free(j->wav);
        j->wav = NULL;
    }
}

static void answer(void *data, bool ok)
{
    struct audio *j = data;
    struct api *a = j->a;
    if (!ok) {
        api_error(a, j->req, 503, "unavailable", NULL,
                  "the access could not be audited; nothing was disclosed");
    } else if (j->rv == WAIHU_ECORRUPT) {
        api_error(a, j->req, 422, "integrity_failed", NULL,
                  "recording failed its integrity check: %s", j->why);
    } else if (j->rv == WAIHU_ENOTFOUND) {
        api_error(a, j->req, 410, "file_missing", NULL, "%s", j->why);
    } else if (j->rv == WAIHU_ETOOBIG) {
        api_error(a, j->req, 413, "too_large", NULL, "%s", j->why);
    } else if (j->rv != 0) {
        api_error(a, j->req, 503, "unavailable", NULL, "reading the recording: %s%s%s",
                  waihu_strerror(j->rv), j->why[0] ? ": " : "", j->why);
    } else {
        char h[256];
        if (j->kind == RECORDING_RANGE_UNSATISFIABLE) {
            snprintf(h, sizeof h, "Accept-Ranges: bytes\r\nContent-Range: bytes */%zu\r\n",
                     j->wav_len);
            static const char body[] =
                "{\"error\":{\"code\":\"range_not_satisfiable\",\"message\":"
                "\"the range starts past the end\",\"field\":\"Range\"}}";
            http_respond_headers(j->req, 416, "application/json", h, body, sizeof body - 1);
            a->responses_by_class[4]++;
        } else if (j->kind == RECORDING_RANGE_OK) {
            snprintf(h, sizeof h,
                     "Accept-Ranges: bytes\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
                     "/%zu\r\n",
                     j->first, j->last, j->wav_len);
            http_respond_headers(j->req, 206, "audio/wav", h, (const char *)j->wav + j->first,
                                 (size_t)(j->last - j->first + 1));
            a->responses_by_class[2]++;
        } else {
            http_respond_headers(j->req, 200, "audio/wav", "Accept-Ranges: bytes\r\n",
                                 (const char *)j->wav, j->wav_len);
            a->responses_by_class[2]++;
        }
    }
    struct api_recordings *k = j->k;
    k->jobs_in_flight--;
    audio_free(j);
    rec_service_release(k);
}

static void after_work(uv_work_t *w, int status)
{
    struct audio *j = w->data;
    if (status != 0 || j->k->stopping) {
        static const char stopping[] = "{\"error\":{\"code\":\"unavailable\",\"message\":"
                                       "\"node stopping\",\"field\":null}}";
        http_respond(j->req, 503, "application/json", stopping, sizeof stopping - 1);
        struct api_recordings *k = j->k;
        k->jobs_in_flight--;
        audio_free(j);
        rec_service_release(k);
        return;
    }
    char detail[160];
    if (j->rv == 0) {
        j->kind = j->has_range ? recording_range_parse(j->range, j->wav_len, &j->first, &j->last)
                               : RECORDING_RANGE_NONE;
        if (j->kind == RECORDING_RANGE_OK) {
            snprintf(detail, sizeof detail, "bytes=%" PRIu64 "-%" PRIu64 "/%zu", j->first,
                     j->last, j->wav_len);
        } else {
            snprintf(detail, sizeof detail, "%s/%zu",
                     j->kind == RECORDING_RANGE_NONE ? "whole" : "unsatisfiable", j->wav_len);
        }
    } else {
        snprintf(detail, sizeof detail, "refused: %.140s", j->why);
        LOG_W("api", "%s: playback refused: %s", j->obj, j->why);
    }
    api_audit_then(j->a, &j->who, "recording.play", j->obj, detail, answer, j);
}

static void held_elsewhere(struct api *a, struct http_request *req, const Recording *r)
{
    struct store_node nodes[16];
    int n = store_nodes_list(a->store, nodes, 16);
    uint64_t holder = r->n_holders > 0 ? r->holders[0] : r->node;
    const char *addr = NULL;
    for (int i = 0; i < n && i < 16; i++) {
        if (nodes[i].id == holder) {
            addr = nodes[i].api_address;
        }
    }
    json_t *err = json_pack("{s:s, s:s, s:n, s:I, s:s?}", "code", "held_elsewhere", "message",
                            "the file of this recording is on another node: ask that node",
                            "field", "node", (json_int_t)holder, "api_address", addr);
    api_json(a, req, 409, json_pack("{s:o}", "error", err));
}

void rec_audio_get(struct api *a, struct http_request *req, uint64_t node, uint64_t call)
{
    struct api_recordings *k = a->recordings;
    Recording *r = rec_read(a->store, a->who.tenant_id, node, call, NULL, NULL);
    if (r == NULL || !rec_visible(&a->who, r)) {
        if (r != NULL) {
            recording__free_unpacked(r, NULL);
        }
        api_error(a, req, 404, "not_found", NULL, "no such recording");
        return;
    }
    if (k->dir[0] == '\0' || !rec_held_by(r, k->self)) {
        held_elsewhere(a, req, r);
        recording__free_unpacked(r, NULL);
        return;
    }
    struct audio *j = calloc(1, sizeof *j);
    if (j == NULL) {
        waihu_fatal("api", "out of memory");
    }
    if (api_recording_key(a, j->key) != 0) {
        recording__free_unpacked(r, NULL);
        free(j);
        api_error(a, req, 503, "encryption_unavailable", NULL,
                  "playback needs the master key (customer.master_key_file) on this node");
        return;
    }
    j->a = a;
    j->k = k;
    j->req = req;
    j->who = a->who;
    j->work.data = j;
    /* The name comes from our own CDR; still, only a plain file name is opened. */
    bool plain = r->file[0] != '\0' && r->file[0] != '.' && strchr(r->file, '/') == NULL;
    snprintf(j->path, sizeof j->path, "%s/%s", k->dir, plain ? r->file : "(invalid name)");
    snprintf(j->obj, sizeof j->obj, "recording/%llu-%llu", (unsigned long long)node,
             (unsigned long long)call);
    j->want_bytes = r->bytes;
    j->has_sha = r->sha256.len == 32;
    if (j->has_sha) {
        memcpy(j->want_sha, r->sha256.data, 32);
    }
    const char *range = http_request_header(req, "Range");
    if (range != NULL) {
        j->has_range = true;
        snprintf(j->range, sizeof j->range, "%s", range);
    }
    recording__free_unpacked(r, NULL);
    k->jobs_in_flight++;
    int rv = uv_queue_work(a->loop, &j->work, work, after_work);
    if (rv != 0) {
        k->jobs_in_flight--;
        audio_free(j);
        api_error(a, req, 503, "unavailable", NULL, "thread pool: %s", uv_strerror(rv));
    }
}
