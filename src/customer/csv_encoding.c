/* Byte-level encoding checks for the CSV reader: strict UTF-8 validation and the
 * UTF-8 / GB18030 guess. Conversion itself is iconv's job (csv_reader.c). */
#include <string.h>

#include "customer_csv.h"

/* Length of the leading run of ASCII bytes. */
size_t csvenc_ascii_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull)
            break;
        i += 8;
    }
    while (i < n && s[i] < 0x80)
        i++;
    return i;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid, or -1 when s is a
 * valid but incomplete prefix of one (n too short). Rejects overlongs, surrogates
 * and code points above U+10FFFF (RFC 3629). */
static int utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    int len;
    unsigned lo = 0x80, hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        len = 2;
    else if (c < 0xF0) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c < 0xF5) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        unsigned b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return len;
}

size_t csvenc_utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        i += csvenc_ascii_prefix(s + i, n - i);
        if (i >= n)
            break;
        int k = utf8_seq(s + i, n - i);
        if (k <= 0)
            return i;
        i += (size_t)k;
    }
    return n;
}

/* GB18030 sequence length at s (1, 2 or 4), 0 when invalid, -1 when incomplete. */
static int gb18030_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c == 0x80 || c == 0xFF)
        return 0;
    if (n < 2)
        return -1;
    unsigned b = s[1];
    if ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFE))
        return 2;
    if (b < 0x30 || b > 0x39)
        return 0;
    if (n < 4)
        return -1;
    if (s[2] < 0x81 || s[2] > 0xFE || s[3] < 0x30 || s[3] > 0x39)
        return 0;
    return 4;
}

static size_t count_errors(const unsigned char *s, size_t n, int at_eof,
                           int (*seq)(const unsigned char *, size_t))
{
    size_t errors = 0;
    for (size_t i = 0; i < n;) {
        int k = seq(s + i, n - i);
        if (k < 0) {
            errors += at_eof ? 1 : 0; /* cut by the sniff window, not an error */
            break;
        }
        if (k == 0) {
            errors++;
            i++;
            continue;
        }
        i += (size_t)k;
    }
    return errors;
}

enum csvreader_encoding csvenc_guess(const unsigned char *s, size_t n, int at_eof)
{
    size_t utf8_errors = count_errors(s, n, at_eof, utf8_seq);
    if (utf8_errors == 0)
        return CSVREADER_ENC_UTF8;
    /* Chinese GB18030 text fails as UTF-8 on nearly every character, while UTF-8 text
     * with a few damaged bytes usually still decodes as (nonsense) GB18030: demand
     * clearly fewer GB18030 errors than UTF-8 ones before leaving UTF-8. */
    size_t gb_errors = count_errors(s, n, at_eof, gb18030_seq);
    if (utf8_errors >= 2 && gb_errors * 10 < utf8_errors)
        return CSVREADER_ENC_GB18030;
    return CSVREADER_ENC_UTF8;
}
