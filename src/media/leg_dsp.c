/* What a leg hears: in-band DTMF (spandsp dtmf_rx), silence (spandsp power meter
 * at -40 dBm0), answering-machine detection, and the recorder's FIFO. */
#include <stdlib.h>
#include <string.h>

#include "media_internal.h"

#define SILENCE_DBM0 -40.0f
#define AMD_STALL_MS 200 /* no audio for this long during AMD: feed silence */

static void on_inband_digits(void *data, const char *digits, int len)
{
    struct leg *l = data;
    for (int i = 0; i < len; i++) {
        struct media_event ev = {.type = MEDIA_EV_DTMF, .leg = l->id};
        ev.u.dtmf.digit = digits[i];
        ev.u.dtmf.source = MEDIA_DTMF_INBAND;
        wsession_emit(l->ws, &ev);
    }
}

int leg_dsp_init(struct leg *l, int inband_dtmf)
{
    power_meter_init(&l->meter, 6);
    l->voice_level = power_meter_level_dbm0(SILENCE_DBM0);
    if (inband_dtmf) {
        l->dtmf = dtmf_rx_init(NULL, on_inband_digits, l);
        if (l->dtmf == NULL)
            return WAIHU_ENOMEM;
    }
    return 0;
}

void leg_dsp_free(struct leg *l)
{
    play_stop(l, 0);
    free(l->mix);
    l->mix = NULL;
    if (l->dtmf != NULL)
        dtmf_rx_free(l->dtmf);
    l->dtmf = NULL;
    media_amd_free(l->amd);
    l->amd = NULL;
}

int leg_amd_start(struct leg *l, const struct media_amd_config *cfg, uint64_t now_ms)
{
    media_amd_free(l->amd);
    l->amd = NULL;
    int rv = media_amd_new(cfg, &l->amd);
    if (rv != 0)
        return rv;
    l->amd_start_ms = now_ms;
    l->amd_fed_samples = 0;
    return 0;
}

static void amd_feed(struct leg *l, const int16_t *pcm, size_t n)
{
    enum media_amd_result r = media_amd_feed(l->amd, pcm, n);
    l->amd_fed_samples += n;
    if (r == MEDIA_AMD_UNDECIDED)
        return;
    struct media_event ev = {.type = MEDIA_EV_AMD, .leg = l->id};
    ev.u.amd.result = r;
    ev.u.amd.reason = media_amd_reason(l->amd);
    ev.u.amd.ms = media_amd_decided_ms(l->amd);
    wsession_emit(l->ws, &ev);
    media_amd_free(l->amd);
    l->amd = NULL;
}

static void fifo_push(struct leg *l, const int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (l->fifo_n == LEG_FIFO_SAMPLES) { /* the sender runs fast: drop the oldest */
            l->fifo_r = (l->fifo_r + 1) % LEG_FIFO_SAMPLES;
            l->fifo_n--;
        }
        l->fifo[(l->fifo_r + l->fifo_n) % LEG_FIFO_SAMPLES] = pcm[i];
        l->fifo_n++;
    }
}

void leg_mix_push(struct leg *l, const int16_t *pcm, size_t n)
{
    if (l->mix == NULL) {
        l->mix = malloc(LEG_FIFO_SAMPLES * sizeof(*l->mix));
        l->mix_r = l->mix_n = 0;
        if (l->mix == NULL) {
            LOG_W(MOD, "leg %d: prompt not recorded (out of memory)", l->id);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (l->mix_n == LEG_FIFO_SAMPLES) {
            l->mix_r = (l->mix_r + 1) % LEG_FIFO_SAMPLES;
            l->mix_n--;
        }
        l->mix[(l->mix_r + l->mix_n) % LEG_FIFO_SAMPLES] = pcm[i];
        l->mix_n++;
    }
}

void leg_fifo_pop(struct leg *l, int16_t *out, size_t n, size_t stride)
{
    for (size_t i = 0; i < n; i++) {
        int32_t v = 0;
        if (l->fifo_n > 0) {
            v = l->fifo[l->fifo_r];
            l->fifo_r = (l->fifo_r + 1) % LEG_FIFO_SAMPLES;
            l->fifo_n--;
        }
        if (l->mix_n > 0) {
            v += l->mix[l->mix_r];
            l->mix_r = (l->mix_r + 1) % LEG_FIFO_SAMPLES;
            l->mix_n--;
            v = v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v;
        }
        out[i * stride] = (int16_t)v;
    }
}

void leg_dsp_audio(struct leg *l, const int16_t *pcm, size_t n, uint64_t now_ms)
{
    int voiced = 0;
    for (size_t i = 0; i < n; i++)
        voiced |= power_meter_update(&l->meter, pcm[i]) > l->voice_level;
    if (voiced) {
        l->last_voice_ms = now_ms;
        l->silence_reported = 0;
    }
    if (l->dtmf != NULL)
        dtmf_rx(l->dtmf, pcm, (int)n);
    if (l->amd != NULL)
        amd_feed(l, pcm, n);
    if (l->ws->rec != NULL)
        fifo_push(l, pcm, n);
}

void leg_dsp_tick(struct leg *l, uint64_t now_ms)
{
    uint32_t silence_s = l->ws->cfg.silence_s;
    if (silence_s > 0 && l->has_remote && !l->silence_reported &&
        now_ms - l->last_voice_ms >= (uint64_t)silence_s * 1000) {
        l->silence_reported = 1;
        struct media_event ev = {.type = MEDIA_EV_SILENCE, .leg = l->id};
        ev.u.silence.seconds = (uint32_t)((now_ms - l->last_voice_ms) / 1000);
        wsession_emit(l->ws, &ev);
    }
    if (l->amd != NULL) {
        /* No RTP (or a long loss) is silence to the detector, so it still decides. */
        uint64_t heard_ms = l->amd_fed_samples / 8;
        if (now_ms - l->amd_start_ms > heard_ms + AMD_STALL_MS) {
            int16_t zeros[160] = {0};
            uint64_t missing = (now_ms - l->amd_start_ms - heard_ms) * 8;
            while (missing > 0 && l->amd != NULL) {
                size_t n = missing < 160 ? (size_t)missing : 160;
                amd_feed(l, zeros, n);
                missing -= n;
            }
        }
    }
}
