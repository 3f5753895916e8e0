/* Simulator media: WAV prompts, G.711 encoding, RTP pacing, minimal SDP. */
#include "simmedia.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_SAMPLES 160 /* 20 ms at 8 kHz */

uint8_t sim_ulaw_encode(int16_t pcm)
{
    const int bias = 0x84, clip = 32635;
    int sign = (pcm >> 8) & 0x80;
    int s = pcm;
    if (sign) {
        s = -s;
    }
    if (s > clip) {
        s = clip;
    }
    s += bias;
    int exponent = 7;
    for (int mask = 0x4000; (s & mask) == 0 && exponent > 0; mask >>= 1) {
        exponent--;
    }
    int mantissa = (s >> (exponent + 3)) & 0x0f;
    return (uint8_t)~(sign | (exponent << 4) | mantissa);
}

uint8_t sim_alaw_encode(int16_t pcm)
{
    int sign = (pcm & 0x8000) ? 0x00 : 0x80;
    int s = pcm < 0 ? -(int)pcm - 1 : pcm;
    if (s > 32767) {
        s = 32767;
    }
    int exponent = 7;
    for (int mask = 0x4000; (s & mask) == 0 && exponent > 0; mask >>= 1) {
        exponent--;
    }
    int mantissa = exponent ? (s >> (exponent + 3)) & 0x0f : (s >> 4) & 0x0f;
    return (uint8_t)((sign | (exponent << 4) | mantissa) ^ 0x55);
}

static int16_t ulaw_decode(uint8_t u)
{
    u = (uint8_t)~u;
    int t = ((u & 0x0f) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    return (int16_t)((u & 0x80) ? 0x84 - t : t - 0x84);
}

static int16_t alaw_decode(uint8_t a)
{
    a ^= 0x55;
    int t = (a & 0x0f) << 4;
    int seg = (a & 0x70) >> 4;
    if (seg == 0) {
        t += 8;
    } else {
        t = (t + 0x108) << (seg - 1);
    }
    return (int16_t)((a & 0x80) ? t : -t);
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int sim_audio_load(const char *path, struct sim_audio *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 44 || size > 64L * 1024 * 1024) {
        snprintf(err, err_len, "%s: not a WAV file of sensible size", path);
        goto err;
    }
    buf = malloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        snprintf(err, err_len, "%s: read failed", path);
        goto err;
    }
    if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0) {
        snprintf(err, err_len, "%s: no RIFF/WAVE header", path);
        goto err;
    }
    int format = -1, channels = 0, bits = 0;
    uint32_t rate = 0;
    const uint8_t *data = NULL;
    size_t data_len = 0;
    for (size_t off = 12; off + 8 <= (size_t)size;) {
        uint32_t len = le32(buf + off + 4);
        const uint8_t *body = buf + off + 8;
        if (len > (size_t)size - off - 8) {
            len = (uint32_t)((size_t)size - off - 8); /* sox may leave a streaming length */
        }
        if (memcmp(buf + off, "fmt ", 4) == 0 && len >= 16) {
            format = le16(body);
            channels = le16(body + 2);
            rate = le32(body + 4);
            bits = le16(body + 14);
        } else if (memcmp(buf + off, "data", 4) == 0) {
            data = body;
            data_len = len;
        }
        off += 8 + len + (len & 1);
    }
    if (!data || channels != 1 || rate != 8000) {
        snprintf(err, err_len, "%s: want 8000 Hz mono (got %u Hz, %d channels)", path, rate,
                 channels);
        goto err;
    }
    int pcm16 = format == 1 && bits == 16;
    if (!pcm16 && format != 6 && format != 7) {
        snprintf(err, err_len, "%s: want 16-bit PCM or G.711 (format %d, %d bits)", path,
                 format, bits);
        goto err;
    }
    out->samples = pcm16 ? data_len / 2 : data_len;
    out->ulaw = malloc(out->samples + 1);
    out->alaw = malloc(out->samples + 1);
    if (!out->ulaw || !out->alaw) {
        snprintf(err, err_len, "%s: out of memory", path);
        goto err;
    }
    for (size_t i = 0; i < out->samples; i++) {
        int16_t s;
        if (pcm16) {
            s = (int16_t)le16(data + 2 * i);
        } else if (format == 7) {
            s = ulaw_decode(data[i]);
        } else {
            s = alaw_decode(data[i]);
        }
        out->ulaw[i] = sim_ulaw_encode(s);
        out->alaw[i] = sim_alaw_encode(s);
    }
    free(buf);
    fclose(f);
    return 0;
err:
    sim_audio_free(out);
    free(buf);
    fclose(f);
    return -1;
}

void sim_audio_free(struct sim_audio *audio)
{
    free(audio->ulaw);
    free(audio->alaw);
    memset(audio, 0, sizeof *audio);
}

/* Returns a pointer just after "prefix" at a line start, or NULL. */
static const char *line_with(const char *sdp, const char *prefix, const char *from)
{
    size_t n = strlen(prefix);
    for (const char *p = from ? from : sdp; p && *p;) {
        if (strncmp(p, prefix, n) == 0) {
            return p + n;
        }
        p = strchr(p, '\n');
        if (p) {
            p++;
        }
    }
    return NULL;
}

int sim_sdp_parse(const char *sdp, struct sim_sdp_offer *out)
{
    memset(out, 0, sizeof *out);
    out->pt = -1;
    out->dtmf_pt = -1;
    if (!sdp) {
        return -1;
    }
    const char *m = line_with(sdp, "m=audio ", NULL);
    if (!m) {
        return -1;
    }
    /* A c= line in the media section wins over the session one. */
    const char *c = line_with(sdp, "c=IN IP4 ", m);
    if (!c) {
        c = line_with(sdp, "c=IN IP4 ", NULL);
    }
    if (!c || sscanf(c, "%63[0-9.]", out->addr) != 1) {
        return -1;
    }
    unsigned port = 0;
    int used = 0;
    if (sscanf(m, "%u RTP/AVP%n", &port, &used) != 1 || used == 0 || port > 65535) {
        return -1;
    }
    out->port = (uint16_t)port;
    for (const char *p = m + used; *p && *p != '\r' && *p != '\n';) {
        char *end;
        long pt = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        if (out->pt < 0 && (pt == 0 || pt == 8)) {
            out->pt = (int)pt;
        }
        p = end;
    }
    for (const char *a = line_with(sdp, "a=rtpmap:", m); a; a = line_with(sdp, "a=rtpmap:", a)) {
        int pt;
        char name[32];
        if (sscanf(a, "%d %31[^/]", &pt, name) == 2 && strcmp(name, "telephone-event") == 0) {
            out->dtmf_pt = pt;
            break;
        }
    }
    return out->pt < 0 ? -1 : 0;
}

int sim_sdp_write(char *buf, size_t cap, const char *addr, uint16_t port,
                  const struct sim_sdp_offer *offer, uint64_t session_id)
{
    char fmts[32], maps[256];
    if (!offer) {
        snprintf(fmts, sizeof fmts, "0 8 101");
        snprintf(maps, sizeof maps,
                 "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                 "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n");
    } else if (offer->dtmf_pt >= 0) {
        snprintf(fmts, sizeof fmts, "%d %d", offer->pt, offer->dtmf_pt);
        snprintf(maps, sizeof maps, "a=rtpmap:%d %s/8000\r\na=rtpmap:%d telephone-event/8000\r\n"
                 "a=fmtp:%d 0-16\r\n", offer->pt, offer->pt == 0 ? "PCMU" : "PCMA",
                 offer->dtmf_pt, offer->dtmf_pt);
    } else {
        snprintf(fmts, sizeof fmts, "%d", offer->pt);
        snprintf(maps, sizeof maps, "a=rtpmap:%d %s/8000\r\n", offer->pt,
                 offer->pt == 0 ? "PCMU" : "PCMA");
    }
    return snprintf(buf, cap,
                    "v=0\r\no=- %llu %llu IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                    "m=audio %u RTP/AVP %s\r\n%sa=ptime:20\r\na=sendrecv\r\n",
                    (unsigned long long)session_id, (unsigned long long)session_id, addr, addr,
                    port, fmts, maps);
}

int sim_rtp_open(struct sim_rtp *rtp, struct sim_ports *ports, const char *addr)
{
    memset(rtp, 0, sizeof *rtp);
    rtp->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (rtp->fd < 0) {
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    unsigned span = (unsigned)(ports->hi - ports->lo) / 2 + 1;
    for (unsigned i = 0; i < span; i++) {
        if (ports->next < ports->lo || ports->next > ports->hi) {
            ports->next = ports->lo;
        }
        uint16_t port = (uint16_t)(ports->next & ~1u);
        ports->next = (uint16_t)(port + 2);
        if (port < ports->lo) {
            continue;
        }
        sa.sin_port = htons(port);
        if (bind(rtp->fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            rtp->local_port = port;
            rtp->dtmf_pt = -1;
            return 0;
        }
    }
    close(rtp->fd);
    rtp->fd = -1;
    return -1;
}

void sim_rtp_start(struct sim_rtp *rtp, const struct sim_sdp_offer *remote,
                   const struct sim_audio *audio, uint64_t now_ms)
{
    rtp->peer.sin_family = AF_INET;
    rtp->peer.sin_port = htons(remote->port);
    rtp->peer_set = remote->port != 0 && inet_pton(AF_INET, remote->addr, &rtp->peer.sin_addr) == 1;
    rtp->pt = remote->pt;
    rtp->audio = audio;
    rtp->start_ms = now_ms;
    rtp->ssrc = (uint32_t)(now_ms * 2654435761u) ^ rtp->local_port;
    rtp->seq = (uint16_t)rtp->ssrc;
}

static void put_be(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    }
}

static uint32_t get_be(const uint8_t *p, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void put_le(FILE *f, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        fputc((int)(v >> (8 * i)) & 0xff, f);
    }
}

/* Counts one received packet: stream continuity, voiced audio, and the WAV. */
static void rx_packet(struct sim_rtp *rtp, const uint8_t *p, size_t n, uint64_t now_ms)
{
    struct sim_rx *rx = &rtp->rx;
    if (n < 12 || (p[0] >> 6) != 2) {
        return;
    }
    size_t off = 12 + 4u * (p[0] & 0x0f);
    if ((p[0] & 0x10) && off + 4 <= n) {
        off += 4 + 4 * (size_t)get_be(p + off + 2, 2);
    }
    if (off > n) {
        return;
    }
    uint16_t seq = (uint16_t)get_be(p + 2, 2);
    uint32_t ssrc = get_be(p + 8, 4);
    int pt = p[1] & 0x7f;
    if (!rx->init) {
        rx->init = 1;
        rx->first_ms = now_ms;
    } else if (ssrc != rx->ssrc) {
        rx->ssrc_changes++;
    } else if (seq != (uint16_t)(rx->seq + 1)) {
        rx->seq_breaks++;
    }
    rx->ssrc = ssrc;
    rx->seq = seq;
    rx->markers += p[1] >> 7;
    if (pt != 0 && pt != 8) {
        return;
    }
    double sum = 0;
    for (size_t i = off; i < n; i++) {
        int16_t s = pt == 0 ? ulaw_decode(p[i]) : alaw_decode(p[i]);
        sum += (double)s * s;
        if (rx->wav) {
            put_le(rx->wav, (uint16_t)s, 2);
        }
    }
    rx->samples += n - off;
    if (n > off && sqrt(sum / (double)(n - off)) > 328.0) { /* -40 dBFS */
        rx->voiced++;
        if (!rx->first_voice_ms) {
            rx->first_voice_ms = now_ms;
        }
    }
}

static int dtmf_code(char d)
{
    const char *codes = "0123456789*#ABCD";
    const char *at = d ? strchr(codes, d) : NULL;
    return at ? (int)(at - codes) : -1;
}

static void send_packet(struct sim_rtp *rtp, uint8_t *pkt, size_t len, int pt, int marker,
                        uint32_t ts)
{
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    put_be(pkt + 2, rtp->seq++, 2);
    put_be(pkt + 4, ts, 4);
    put_be(pkt + 8, rtp->ssrc, 4);
    sendto(rtp->fd, pkt, len, 0, (struct sockaddr *)&rtp->peer, sizeof rtp->peer);
}

/* Frame f carries a telephone-event instead of audio when a digit is due: each digit is
 * five 20 ms packets (the last one, the end, three times), then 100 ms of audio. Returns
 * 1 when it sent the frame. */
static int dtmf_frame(struct sim_rtp *rtp, uint64_t f)
{
    int code = dtmf_code(rtp->dtmf[rtp->dtmf_sent]);
    if (code < 0 || rtp->dtmf_pt < 0) {
        return 0;
    }
    uint64_t first = rtp->dtmf_at_ms <= rtp->start_ms
                         ? 0 : (rtp->dtmf_at_ms - rtp->start_ms + 19) / 20;
    uint64_t start = first + 10u * rtp->dtmf_sent;
    if (f < start) {
        return 0;
    }
    uint64_t j = f - start;
    int end = j >= 4; /* a stall that skipped frames ends the digit at once */
    uint8_t pkt[16];
    pkt[12] = (uint8_t)code;
    pkt[13] = (uint8_t)((end ? 0x80 : 0) | 10);
    put_be(pkt + 14, (uint32_t)(end ? 5 : j + 1) * FRAME_SAMPLES, 2);
    uint32_t ts = (uint32_t)(start * FRAME_SAMPLES) + rtp->ssrc;
    for (int i = 0; i < (end ? 3 : 1); i++) {
        send_packet(rtp, pkt, sizeof pkt, rtp->dtmf_pt, j == 0, ts);
    }
    if (end) {
        rtp->dtmf_sent++;
    }
    return j <= 4;
}

void sim_rtp_tick(struct sim_rtp *rtp, uint64_t now_ms)
{
    uint8_t pkt[12 + FRAME_SAMPLES], in[2048];
    if (rtp->fd < 0) {
        return;
    }
    ssize_t n;
    while ((n = recv(rtp->fd, in, sizeof in, 0)) > 0) {
        rtp->packets_recv++;
        rx_packet(rtp, in, (size_t)n, now_ms);
    }
    if (!rtp->peer_set || now_ms < rtp->start_ms) {
        return;
    }
    uint64_t due = (now_ms - rtp->start_ms) / 20 + 1;
    if (due > rtp->frames_sent + 10) {
        rtp->frames_sent = due - 10; /* a long stall: skip instead of bursting */
    }
    uint8_t silence = rtp->pt == 8 ? 0xd5 : 0xff;
    for (; rtp->frames_sent < due; rtp->frames_sent++) {
        if (dtmf_frame(rtp, rtp->frames_sent)) {
            rtp->pos += FRAME_SAMPLES;
            continue;
        }
        const uint8_t *src = NULL;
        if (rtp->audio) {
            src = rtp->pt == 8 ? rtp->audio->alaw : rtp->audio->ulaw;
        }
        for (int i = 0; i < FRAME_SAMPLES; i++) {
            size_t at = rtp->pos + (size_t)i;
            pkt[12 + i] = src && at < rtp->audio->samples ? src[at] : silence;
        }
        rtp->pos += FRAME_SAMPLES;
        uint32_t ts = (uint32_t)(rtp->frames_sent * FRAME_SAMPLES) + rtp->ssrc;
        send_packet(rtp, pkt, sizeof pkt, rtp->pt, rtp->frames_sent == 0, ts);
    }
}

void sim_rtp_dtmf(struct sim_rtp *rtp, const char *digits, uint64_t at_ms, int pt)
{
    snprintf(rtp->dtmf, sizeof rtp->dtmf, "%s", digits ? digits : "");
    rtp->dtmf_at_ms = at_ms;
    rtp->dtmf_pt = pt;
    rtp->dtmf_sent = 0;
}

int sim_rtp_record(struct sim_rtp *rtp, const char *path)
{
    rtp->rx.wav = fopen(path, "wb");
    if (!rtp->rx.wav) {
        return -1;
    }
    fwrite("RIFF\0\0\0\0WAVEfmt ", 1, 16, rtp->rx.wav);
    put_le(rtp->rx.wav, 16, 4);
    put_le(rtp->rx.wav, 1, 2);         /* PCM */
    put_le(rtp->rx.wav, 1, 2);         /* mono */
    put_le(rtp->rx.wav, 8000, 4);
    put_le(rtp->rx.wav, 16000, 4);
    put_le(rtp->rx.wav, 2, 2);
    put_le(rtp->rx.wav, 16, 2);
    fwrite("data\0\0\0\0", 1, 8, rtp->rx.wav);
    return 0;
}

void sim_rtp_close(struct sim_rtp *rtp)
{
    if (rtp->fd >= 0) {
        close(rtp->fd);
    }
    rtp->fd = -1;
    FILE *w = rtp->rx.wav;
    if (w) { /* the sizes, now known */
        uint32_t data = (uint32_t)(rtp->rx.samples * 2);
        fseek(w, 4, SEEK_SET);
        put_le(w, 36 + data, 4);
        fseek(w, 40, SEEK_SET);
        put_le(w, data, 4);
        fclose(w);
        rtp->rx.wav = NULL;
    }
}

uint64_t sim_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double sim_rand01(uint64_t *state)
{
    return (double)(sim_rand(state) >> 11) / 9007199254740992.0;
}
