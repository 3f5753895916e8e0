/* Phone numbers: normalisation to E.164 by numbering plan, and display masking. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "customer.h"

enum country { C_NONE, C_CN, C_NANP, C_GB, C_UNKNOWN };

#define DIGITS_MAX 32

static int fail(char *errmsg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errmsg, size_t size, const char *fmt, ...)
{
    if (errmsg != NULL && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, size, fmt, ap);
        va_end(ap);
    }
    return WAIHU_EINVAL;
}

static enum country country_parse(const char *cc)
{
    if (cc == NULL || cc[0] == '\0')
        return C_NONE;
    if (strcmp(cc, "CN") == 0)
        return C_CN;
    if (strcmp(cc, "US") == 0 || strcmp(cc, "CA") == 0)
        return C_NANP;
    if (strcmp(cc, "GB") == 0 || strcmp(cc, "UK") == 0)
        return C_GB;
    return C_UNKNOWN;
}

static const char *country_code(enum country c)
{
    switch (c) {
    case C_CN: return "86";
    case C_NANP: return "1";
    case C_GB: return "44";
    default: return NULL;
    }
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* China, national significant number (no trunk 0): mobile 1[3-9] + 9 digits;
 * landline: area 10 or 2x + 8 digits, or area [3-9]xx + 7..8 digits. */
static int cn_check(const char *nsn, size_t n, char *errmsg, size_t size)
{
    if (nsn[0] == '1' && nsn[1] != '0') {
        if (nsn[1] < '3')
            return fail(errmsg, size, "not a Chinese mobile number (1[3-9]x)");
        if (n != 11)
            return fail(errmsg, size, "a Chinese mobile number has 11 digits, not %zu", n);
        return 0;
    }
    if (nsn[0] == '1' || nsn[0] == '2') {
        if (n != 10)
            return fail(errmsg, size, "a Chinese landline with a 2-digit area code has 10 digits "
                        "after the trunk 0, not %zu", n);
        return 0;
    }
    if (nsn[0] == '0')
        return fail(errmsg, size, "area code cannot start with 00");
    if (n != 10 && n != 11)
        return fail(errmsg, size, "a Chinese landline with a 3-digit area code has 10 or 11 "
                    "digits after the trunk 0, not %zu", n);
    return 0;
}

/* NANP: NPA-NXX-XXXX, NPA and NXX not starting with 0 or 1. */
static int nanp_check(const char *nsn, size_t n, char *errmsg, size_t size)
{
    if (n != 10)
        return fail(errmsg, size, "a North American number has 10 digits, not %zu", n);
    if (nsn[0] < '2')
        return fail(errmsg, size, "area code cannot start with %c", nsn[0]);
    if (nsn[3] < '2')
        return fail(errmsg, size, "exchange code cannot start with %c", nsn[3]);
    return 0;
}

/* UK national significant number (no trunk 0): 10 digits; some 01 area codes and
 * 0800 numbers have 9. */
static int gb_check(const char *nsn, size_t n, char *errmsg, size_t size)
{
    if (nsn[0] == '0')
        return fail(errmsg, size, "a UK number has a single trunk 0");
    int short_ok = nsn[0] == '1' || (n >= 3 && memcmp(nsn, "800", 3) == 0);
    if (n != 10 && !(short_ok && n == 9))
        return fail(errmsg, size, "a UK number has %s digits after the trunk 0, not %zu",
                    short_ok ? "9 or 10" : "10", n);
    return 0;
}

static int check_nsn(enum country c, const char *nsn, size_t n, char *errmsg, size_t size)
{
    if (n < 2)
        return fail(errmsg, size, "too few digits");
    switch (c) {
    case C_CN: return cn_check(nsn, n, errmsg, size);
    case C_NANP: return nanp_check(nsn, n, errmsg, size);
    case C_GB: return gb_check(nsn, n, errmsg, size);
    default: return fail(errmsg, size, "no numbering plan");
    }
}

static int emit(char out[PHONE_E164_SIZE], const char *cc, const char *nsn, size_t n,
                char *errmsg, size_t size)
{
    size_t cl = strlen(cc);
    if (cl + n > 15)
        return fail(errmsg, size, "more than 15 digits");
    out[0] = '+';
    memcpy(out + 1, cc, cl);
    memcpy(out + 1 + cl, nsn, n);
    out[1 + cl + n] = '\0';
    return 0;
}

/* digits: everything after '+' (or an international prefix). */
static int international(const char *d, size_t n, char out[PHONE_E164_SIZE], char *errmsg,
                         size_t size)
{
    enum country c = C_UNKNOWN;
    size_t cl = 0;
    if (n == 0)
        return fail(errmsg, size, "no digits after '+'");
    if (d[0] == '0')
        return fail(errmsg, size, "country code cannot start with 0");
    if (d[0] == '1')
        c = C_NANP, cl = 1;
    else if (n >= 2 && d[0] == '8' && d[1] == '6')
        c = C_CN, cl = 2;
    else if (n >= 2 && d[0] == '4' && d[1] == '4')
        c = C_GB, cl = 2;
    if (c == C_UNKNOWN) {
        if (n < 8 || n > 15)
            return fail(errmsg, size, "an international number has 8 to 15 digits, not %zu", n);
        out[0] = '+';
        memcpy(out + 1, d, n);
        out[n + 1] = '\0';
        return 0;
    }
    const char *nsn = d + cl;
    size_t nn = n - cl;
    /* "+44 (0)20 ..." and "+86 0755 ...": drop the trunk 0 written by habit. */
    if ((c == C_CN || c == C_GB) && nn > 0 && nsn[0] == '0')
        nsn++, nn--;
    int rv = check_nsn(c, nsn, nn, errmsg, size);
    if (rv != 0)
        return rv;
    return emit(out, country_code(c), nsn, nn, errmsg, size);
}

static int national(enum country c, const char *d, size_t n, char out[PHONE_E164_SIZE],
                    char *errmsg, size_t size)
{
    int rv;
    switch (c) {
    case C_CN:
        if (n >= 2 && d[0] == '0' && d[1] == '0')
            return international(d + 2, n - 2, out, errmsg, size);
        if (d[0] == '0') {
            if (n >= 2 && d[1] == '1' && (n < 3 || d[2] != '0'))
                return fail(errmsg, size, "a mobile number has no trunk 0");
            rv = check_nsn(c, d + 1, n - 1, errmsg, size);
            return rv ? rv : emit(out, "86", d + 1, n - 1, errmsg, size);
        }
        if (d[0] != '1' || n <= 8)
            return fail(errmsg, size, "a landline needs its area code (0xx or 0xxx)");
        if (n >= 2 && d[1] == '0')
            return fail(errmsg, size, "a landline needs its trunk 0 (010...)");
        rv = check_nsn(c, d, n, errmsg, size);
        return rv ? rv : emit(out, "86", d, n, errmsg, size);
    case C_NANP:
        if (n >= 3 && memcmp(d, "011", 3) == 0)
            return international(d + 3, n - 3, out, errmsg, size);
        if (n == 11 && d[0] == '1')
            d++, n--;
        rv = check_nsn(c, d, n, errmsg, size);
        return rv ? rv : emit(out, "1", d, n, errmsg, size);
    case C_GB:
        if (n >= 2 && d[0] == '0' && d[1] == '0')
            return international(d + 2, n - 2, out, errmsg, size);
        if (d[0] != '0')
            return fail(errmsg, size, "a UK number starts with its trunk 0");
        rv = check_nsn(c, d + 1, n - 1, errmsg, size);
        return rv ? rv : emit(out, "44", d + 1, n - 1, errmsg, size);
    default:
        return fail(errmsg, size, "no default country: write the number with '+'");
    }
}

int phone_normalize(const char *input, const char *default_country, char out[PHONE_E164_SIZE],
                    char *errmsg, size_t errmsg_size)
{
    char d[DIGITS_MAX];
    size_t n = 0;
    int plus = 0;

    if (errmsg != NULL && errmsg_size > 0)
        errmsg[0] = '\0';
    out[0] = '\0';
    if (input == NULL)
        return fail(errmsg, errmsg_size, "no number");
    enum country c = country_parse(default_country);
    size_t len = strnlen(input, PHONE_INPUT_MAX + 1);
    if (len > PHONE_INPUT_MAX)
        return fail(errmsg, errmsg_size, "longer than %d characters", PHONE_INPUT_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)input[i];
        if (ch >= '0' && ch <= '9') {
            if (n == sizeof(d))
                return fail(errmsg, errmsg_size, "too many digits");
            d[n++] = (char)ch;
        } else if (ch == ' ' || ch == '-' || ch == '.' || ch == '(' || ch == ')' || ch == '\t') {
            continue;
        } else if (ch == '+' && n == 0 && !plus) {
            plus = 1;
        } else if (ch == '+') {
            return fail(errmsg, errmsg_size, "'+' only at the start (position %zu)", i + 1);
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            return fail(errmsg, errmsg_size, "letter '%c' at position %zu", ch, i + 1);
        } else {
            if (ch > 0x20 && ch < 0x7f)
                return fail(errmsg, errmsg_size, "unexpected character '%c' at position %zu", ch,
                            i + 1);
            return fail(errmsg, errmsg_size, "unexpected character 0x%02x at position %zu", ch,
                        i + 1);
        }
    }
    if (n == 0)
        return fail(errmsg, errmsg_size, "no digits");
    if (plus)
        return international(d, n, out, errmsg, errmsg_size);
    if (c == C_UNKNOWN)
        return fail(errmsg, errmsg_size, "no numbering plan for default country %.8s: write the "
                    "number with '+'", default_country);
    return national(c, d, n, out, errmsg, errmsg_size);
}

/* ITU-T E.164 country codes: 1 and 7 are one digit; these are two; the rest three. */
static const char two_digit_cc[][3] = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
};

int phone_country_code_len(const char *e164)
{
    if (e164 == NULL || e164[0] != '+')
        return 0;
    size_t n = strnlen(e164 + 1, 16);
    if (n < 4 || n > 15 || !all_digits(e164 + 1, n) || e164[1] == '0')
        return 0;
    if (e164[1] == '1' || e164[1] == '7')
        return 1;
    for (size_t i = 0; i < sizeof(two_digit_cc) / sizeof(two_digit_cc[0]); i++)
        if (memcmp(e164 + 1, two_digit_cc[i], 2) == 0)
            return 2;
    return 3;
}

int phone_mask(const char *e164, const char *default_country, char out[PHONE_MASK_SIZE])
{
    out[0] = '\0';
    int cl = phone_country_code_len(e164);
    if (cl == 0)
        return WAIHU_EINVAL;
    const char *nsn = e164 + 1 + cl;
    size_t n = strlen(nsn);
    if (n == 0)
        return WAIHU_EINVAL;
    /* Keep 3 + 4 from 10 digits up; below that hide at least a third, at least one. */
    size_t head = 3, tail = 4;
    if (n < 10) {
        size_t hidden = (n + 2) / 3;
        if (n > 7 && n - 7 > hidden)
            hidden = n - 7;
        size_t shown = n - hidden;
        head = shown * 3 / 7;
        tail = shown - head;
    }
    size_t o = 0;
    const char *own = country_code(country_parse(default_country));
    if (own == NULL || strlen(own) != (size_t)cl || memcmp(own, e164 + 1, (size_t)cl) != 0) {
        out[o++] = '+';
        memcpy(out + o, e164 + 1, (size_t)cl);
        o += (size_t)cl;
        out[o++] = ' ';
    }
    memcpy(out + o, nsn, head);
    o += head;
    for (size_t i = head; i < n - tail; i++)
        out[o++] = '*';
    memcpy(out + o, nsn + n - tail, tail);
    o += tail;
    out[o] = '\0';
    return 0;
}
