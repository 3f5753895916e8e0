/* Recordings from disk: encrypted .wrec files through media_rec_decrypt, or WAV files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "media.h"
#include "speech_internal.h"

_Static_assert(SPEECH_KEY_BYTES == MEDIA_REC_KEY_BYTES, "recording key size");
_Static_assert(SPEECH_RATE == MEDIA_REC_RATE, "recording rate");

/* Reads a stereo 8 kHz sound file into *out (caller frees). */
static int read_wav(const char *path, int16_t **out, size_t *n_frames, char *errmsg, size_t size)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (sf == NULL) {
        snprintf(errmsg, size, "%s: %s", path, sf_strerror(NULL));
        return WAIHU_EIO;
    }
    int rv = 0;
    int16_t *pcm = NULL;
    if (info.channels != SPEECH_CHANNELS || info.samplerate != SPEECH_RATE) {
        snprintf(errmsg, size, "%s: %d channels at %d Hz, want 2 at %d Hz", path, info.channels,
                 info.samplerate, SPEECH_RATE);
        rv = WAIHU_EIO;
        goto out;
    }
    pcm = malloc(((size_t)info.frames + 1) * SPEECH_CHANNELS * sizeof(*pcm));
    if (pcm == NULL) {
        rv = WAIHU_ENOMEM;
        goto out;
    }
    sf_count_t got = sf_readf_short(sf, pcm, info.frames);
    if (got < 0 || got != info.frames) {
        snprintf(errmsg, size, "%s: short read (%lld of %lld frames)", path, (long long)got,
                 (long long)info.frames);
        rv = WAIHU_EIO;
        goto out;
    }
    *out = pcm;
    *n_frames = (size_t)got;
    pcm = NULL;
out:
    free(pcm);
    sf_close(sf);
    return rv;
}

int speech_analyse_file(struct speech_engine *e, const struct speech_keyword *kw, size_t n_kw,
                        const char *path, const uint8_t key[SPEECH_KEY_BYTES],
                        struct speech_result **out, char *errmsg, size_t errmsg_size)
{
    int16_t *pcm = NULL;
    size_t n = 0;
    int rv, truncated = 0;
    if (key == NULL) {
        rv = read_wav(path, &pcm, &n, errmsg, errmsg_size);
    } else {
        /* Plaintext lives only inside a 0700 directory, for as long as the read takes. */
        const char *tmp = getenv("TMPDIR");
        char dir[512], wav[600];
        snprintf(dir, sizeof(dir), "%s/waihu-speech-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL) {
            snprintf(errmsg, errmsg_size, "%s: %s", dir, strerror(errno));
            return WAIHU_EIO;
        }
        snprintf(wav, sizeof(wav), "%s/rec.wav", dir);
        struct media_rec_info info;
        char why[256];
        rv = media_rec_decrypt(path, key, wav, &info, why, sizeof(why));
        if (rv != 0)
            snprintf(errmsg, errmsg_size, "%s: %s", path, why);
        else
            rv = read_wav(wav, &pcm, &n, errmsg, errmsg_size);
        truncated = info.truncated;
        unlink(wav);
        rmdir(dir);
    }
    if (rv == 0)
        rv = speech_analyse(e, kw, n_kw, pcm, n, out, errmsg, errmsg_size);
    if (rv == 0 && key != NULL)
        (*out)->truncated = truncated;
    free(pcm);
    return rv;
}
