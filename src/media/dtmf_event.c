/* RFC 4733 telephone-event payloads (section 2.3) and their DTMF digits. */
#include "media.h"

static const char digits[] = "0123456789*#ABCD";

int media_dtmf_event_parse(const uint8_t *buf, size_t len, struct media_dtmf_event *out)
{
    if (buf == NULL || len < MEDIA_DTMF_EVENT_BYTES || (buf[1] & 0x40))
        return WAIHU_EINVAL;
    out->event = buf[0];
    out->end = buf[1] >> 7;
    out->volume = buf[1] & 0x3f;
    out->duration = (uint16_t)(buf[2] << 8 | buf[3]);
    return 0;
}

int media_dtmf_event_write(const struct media_dtmf_event *ev, uint8_t out[MEDIA_DTMF_EVENT_BYTES])
{
    if (ev->volume > 63 || ev->end > 1)
        return WAIHU_EINVAL;
    out[0] = ev->event;
    out[1] = (uint8_t)(ev->end << 7 | ev->volume);
    out[2] = (uint8_t)(ev->duration >> 8);
    out[3] = (uint8_t)ev->duration;
    return 0;
}

char media_dtmf_event_digit(uint8_t event)
{
    return event < 16 ? digits[event] : 0;
}

int media_dtmf_digit_event(char digit)
{
    if (digit >= 'a' && digit <= 'd')
        digit = (char)(digit - 'a' + 'A');
    for (int i = 0; i < 16; i++)
        if (digits[i] == digit)
            return i;
    return -1;
}
