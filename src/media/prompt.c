/* Prompts: 8 kHz mono 16-bit PCM WAV files, parsed once, shared read-only by the core loop
 * and the workers (reference counted), cut into 20 ms G.711 frames. Pure but for the file
 * read in media_prompt_load. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media.h"

struct media_prompt {
    atomic_uint refs;
    size_t samples;
    int16_t pcm[];
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static int fail(char *errmsg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errmsg, size_t cap, const char *fmt, ...)
{
    if (errmsg != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, cap, fmt, ap);
        va_end(ap);
    }
    return WAIHU_EINVAL;
}

/* Checks the "fmt " chunk body: PCM (or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format),
 * one channel, 8000 Hz, 16 bits. */
static int check_format(const uint8_t *fmt, uint32_t len, char *errmsg, size_t cap)
{
    if (len < 16)
        return fail(errmsg, cap, "fmt chunk of %u bytes (want at least 16)", len);
    uint16_t tag = le16(fmt), channels = le16(fmt + 2), align = le16(fmt + 12);
    uint16_t bits = le16(fmt + 14);
    uint32_t rate = le32(fmt + 4);
    if (tag == 0xfffe && len >= 26)
        tag = le16(fmt + 24); /* the sub-format GUID starts with the format code */
    if (tag != 1)
        return fail(errmsg, cap, "format %u: want PCM (1)", tag);
    if (channels != 1)
        return fail(errmsg, cap, "%u channels: want mono", channels);
    if (rate != MEDIA_PROMPT_RATE)
        return fail(errmsg, cap, "%u Hz: want %u Hz", rate, MEDIA_PROMPT_RATE);
    if (bits != 16 || align != 2)
        return fail(errmsg, cap, "%u-bit samples: want 16-bit", bits);
    return 0;
}

int media_prompt_parse(const uint8_t *buf, size_t len, struct media_prompt **out, char *errmsg,
                       size_t errmsg_size)
{
    if (buf == NULL || out == NULL)
        return WAIHU_EINVAL;
    if (len < 12 || memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0)
        return fail(errmsg, errmsg_size, "not a RIFF/WAVE file");
    const uint8_t *data = NULL;
    size_t data_len = 0;
    int have_fmt = 0;
    for (size_t off = 12; off + 8 <= len;) {
        uint32_t chunk = le32(buf + off + 4);
        const uint8_t *body = buf + off + 8;
        if (chunk > len - off - 8) {
            return fail(errmsg, errmsg_size, "truncated: chunk '%.4s' at byte %zu declares %u "
                        "bytes, %zu present", (const char *)(buf + off), off, chunk,
                        len - off - 8);
        }
        if (memcmp(buf + off, "fmt ", 4) == 0) {
            int rv = check_format(body, chunk, errmsg, errmsg_size);
            if (rv != 0)
                return rv;
            have_fmt = 1;
        } else if (memcmp(buf + off, "data", 4) == 0 && data == NULL) {
            data = body;
            data_len = chunk;
        }
        off += 8 + (size_t)chunk + (chunk & 1u);
    }
    if (!have_fmt)
        return fail(errmsg, errmsg_size, "no fmt chunk");
    if (data == NULL)
        return fail(errmsg, errmsg_size, "no data chunk");
    if (data_len % 2 != 0)
        return fail(errmsg, errmsg_size, "data chunk of %zu bytes: not whole 16-bit samples",
                    data_len);
    size_t samples = data_len / 2;
    if (samples == 0)
        return fail(errmsg, errmsg_size, "no audio in the data chunk");
    if (samples > MEDIA_PROMPT_MAX_SAMPLES)
        return fail(errmsg, errmsg_size, "%zu s of audio: at most %u s", samples / 8000,
                    MEDIA_PROMPT_MAX_SAMPLES / 8000);
    struct media_prompt *p = malloc(sizeof(*p) + samples * sizeof(int16_t));
    if (p == NULL) {
        fail(errmsg, errmsg_size, "out of memory");
        return WAIHU_ENOMEM;
    }
    atomic_init(&p->refs, 1);
    p->samples = samples;
    for (size_t i = 0; i < samples; i++)
        p->pcm[i] = (int16_t)le16(data + 2 * i);
    *out = p;
    return 0;
}

int media_prompt_load(const char *path, struct media_prompt **out, char *errmsg,
                      size_t errmsg_size)
{
    char why[200];
    uint8_t *buf = NULL;
    int rv = WAIHU_EIO;
    struct stat st;
    /* O_NONBLOCK: a FIFO at that path must not hang the loader. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, sizeof(why), "%s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, sizeof(why), "not a regular file");
        goto out;
    }
    if ((unsigned long long)st.st_size > 2ull * MEDIA_PROMPT_MAX_SAMPLES + 65536) {
        snprintf(why, sizeof(why), "%lld bytes: too large for a prompt", (long long)st.st_size);
        rv = WAIHU_EINVAL;
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    buf = malloc(size + 1);
    if (buf == NULL) {
        snprintf(why, sizeof(why), "out of memory");
        rv = WAIHU_ENOMEM;
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, sizeof(why), "read: %s", n < 0 ? strerror(errno) : "file shrank");
            goto out;
        }
        got += (size_t)n;
    }
    rv = media_prompt_parse(buf, size, out, why, sizeof(why));
out:
    if (rv != 0 && errmsg != NULL && errmsg_size > 0)
        snprintf(errmsg, errmsg_size, "%s: %s", path, why);
    free(buf);
    if (fd >= 0)
        close(fd);
    return rv;
}

struct media_prompt *media_prompt_ref(struct media_prompt *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void media_prompt_unref(struct media_prompt *p)
{
    if (p != NULL && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        free(p);
}

size_t media_prompt_samples(const struct media_prompt *p)
{
    return p->samples;
}

uint32_t media_prompt_duration_ms(const struct media_prompt *p)
{
    return (uint32_t)(p->samples / (MEDIA_PROMPT_RATE / 1000));
}

size_t media_prompt_frames(const struct media_prompt *p)
{
    return (p->samples + MEDIA_FRAME_SAMPLES - 1) / MEDIA_FRAME_SAMPLES;
}

size_t media_prompt_frame(const struct media_prompt *p, size_t index, enum media_codec codec,
                          uint8_t out[MEDIA_FRAME_SAMPLES], int16_t pcm[MEDIA_FRAME_SAMPLES])
{
    int16_t frame[MEDIA_FRAME_SAMPLES] = {0};
    size_t n = 0;
    if (index < media_prompt_frames(p)) {
        size_t at = index * MEDIA_FRAME_SAMPLES;
        n = p->samples - at < MEDIA_FRAME_SAMPLES ? p->samples - at : MEDIA_FRAME_SAMPLES;
        memcpy(frame, p->pcm + at, n * sizeof(int16_t));
    }
    media_g711_encode(codec, frame, MEDIA_FRAME_SAMPLES, out);
    if (pcm != NULL)
        memcpy(pcm, frame, sizeof(frame));
    return n;
}
