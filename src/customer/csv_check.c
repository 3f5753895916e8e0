/* Checks of single imported values: phone, date, number, enum, tags. Reasons start
 * with the field name and show the offending value quoted and cut short. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "customer_csv.h"

#define QUOTE_MAX 40

static int why_set(char *why, size_t size, const char *field, const char *value,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "<field>: <quoted value> <fmt...>" */
static int why_set(char *why, size_t size, const char *field, const char *value, const char *fmt,
                   ...)
{
    if (why == NULL || size == 0)
        return WAIHU_EINVAL;
    char q[QUOTE_MAX * 4 + 8];
    fieldcheck_quote(value, strlen(value), q, sizeof(q));
    int n = snprintf(why, size, "%s: %s ", field, q);
    if (n >= 0 && (size_t)n < size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why + n, size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return WAIHU_EINVAL;
}

void fieldcheck_quote(const char *s, size_t len, char *out, size_t out_size)
{
    size_t o = 0, i = 0;
    if (out_size == 0)
        return;
#define PUT(c) do { if (o + 1 < out_size) out[o++] = (c); } while (0)
    PUT('"');
    while (i < len && i < QUOTE_MAX) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c < 0x20 || c == 0x7F) {
            static const char hex[] = "0123456789abcdef";
            PUT('\\');
            PUT('x');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else if (c >= 0x80) {
            /* Copy a whole UTF-8 character or escape a stray byte. */
            size_t k = csvenc_utf8_check((const unsigned char *)s + i,
                                         len - i < 4 ? len - i : 4);
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (k >= need && o + need + 1 < out_size) {
                memcpy(out + o, s + i, need);
                o += need;
                i += need;
                continue;
            }
            if (k >= need)
                break; /* no room for it: never emit half a character */
            static const char hex[] = "0123456789abcdef";
            PUT('\\');
            PUT('x');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else
            PUT((char)c);
        i++;
    }
    PUT('"');
    if (i < len) {
        PUT('.');
        PUT('.');
        PUT('.');
    }
#undef PUT
    out[o] = '\0';
}

int fieldcheck_phone(const char *field, const char *value, const char *default_country,
                     char out[PHONE_E164_SIZE], char *why, size_t why_size)
{
    char detail[128];
    int rv = phone_normalize(value, default_country, out, detail, sizeof(detail));
    if (rv == 0)
        return 0;
    out[0] = '\0';
    return why_set(why, why_size, field, value, "is not a valid number for %s (%s)",
                   default_country != NULL && default_country[0] != '\0' ? default_country
                                                                         : "international use",
                   detail);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Reads exactly n digits at *p. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int fieldcheck_date(const char *field, const char *value, int64_t *unix_s, int *has_time,
                    char *why, size_t why_size)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = value;
    int y, mo, d, h = 0, mi = 0, s = 0, timed = 0;

    while (*p == ' ')
        p++;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return why_set(why, why_size, field, value,
                       "is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])");
    if ((*p == ' ' || *p == 'T') && p[1] >= '0' && p[1] <= '9') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return why_set(why, why_size, field, value, "has a bad time (HH:MM[:SS])");
        if (*p == ':' && (p++, digits(&p, 2, &s)))
            return why_set(why, why_size, field, value, "has bad seconds (HH:MM:SS)");
        timed = 1;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return why_set(why, why_size, field, value,
                       "is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])");
    if (y < 1900 || y > 2999)
        return why_set(why, why_size, field, value, "has a year outside 1900..2999");
    if (mo < 1 || mo > 12)
        return why_set(why, why_size, field, value, "has no month %d", mo);
    int dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
    if (d < 1 || d > dim)
        return why_set(why, why_size, field, value, "has no day %d (%04d-%02d has %d days)", d,
                       y, mo, dim);
    if (h > 23 || mi > 59 || s > 59)
        return why_set(why, why_size, field, value, "has no time %02d:%02d:%02d", h, mi, s);
    if (unix_s != NULL)
        *unix_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    if (has_time != NULL)
        *has_time = timed;
    return 0;
}

int fieldcheck_number(const char *field, const char *value, double min, double max,
                      int integer_only, double *out, char *why, size_t why_size)
{
    const char *p = value, *start;
    char buf[48];
    size_t n = 0, intd = 0, fracd = 0;
    int dot = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    start = p;
    if (*p == '-' || *p == '+')
        p++;
    while (*p >= '0' && *p <= '9')
        p++, intd++;
    if (*p == '.') {
        dot = 1;
        p++;
        while (*p >= '0' && *p <= '9')
            p++, fracd++;
    }
    n = (size_t)(p - start);
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' || intd == 0 || (dot && fracd == 0))
        return why_set(why, why_size, field, value, "is not a number");
    if (integer_only && fracd > 0)
        return why_set(why, why_size, field, value, "is not a whole number");
    if (n >= sizeof(buf))
        return why_set(why, why_size, field, value, "has too many digits");
    memcpy(buf, start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v) || v < min || v > max)
        return why_set(why, why_size, field, value, "is outside %.15g..%.15g", min, max);
    if (out != NULL)
        *out = v;
    return 0;
}

int fieldcheck_enum(const char *field, const char *value, const char *const *allowed, size_t n,
                    size_t *index, char *why, size_t why_size)
{
    const char *v = value;
    size_t len = strlen(v);
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < n; i++) {
        if (strlen(allowed[i]) == len && strncasecmp(allowed[i], v, len) == 0) {
            if (index != NULL)
                *index = i;
            return 0;
        }
    }
    char list[96] = "";
    for (size_t i = 0, used = 0; i < n && used < sizeof(list); i++) {
        int k = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", allowed[i]);
        if (k < 0 || (size_t)k >= sizeof(list) - used) {
            snprintf(list + (sizeof(list) > 4 ? sizeof(list) - 4 : 0), 4, "...");
            break;
        }
        used += (size_t)k;
    }
    return why_set(why, why_size, field, value, "is not one of: %s", list);
}

int fieldcheck_tags(const char *field, const char *value, struct fieldcheck_tags *out, char *why,
                    size_t why_size)
{
    const char *p = value;
    out->n = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ";|");
        const char *item = p;
        p += len;
        if (*p != '\0')
            p++;
        while (len > 0 && (*item == ' ' || *item == '\t'))
            item++, len--;
        while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            len--;
        if (len == 0)
            continue;
        char tag[FIELDCHECK_TAG_MAX + 1];
        if (len > FIELDCHECK_TAG_MAX) {
            char q[QUOTE_MAX * 4 + 8];
            fieldcheck_quote(item, len, q, sizeof(q));
            return why_set(why, why_size, field, value, "has tag %s longer than %d characters",
                           q, FIELDCHECK_TAG_MAX);
        }
        for (size_t i = 0; i < len; i++) {
            char c = item[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                char q[QUOTE_MAX * 4 + 8];
                fieldcheck_quote(item, len, q, sizeof(q));
                return why_set(why, why_size, field, value,
                               "has tag %s: only a-z, 0-9 and _ are allowed", q);
            }
            tag[i] = c;
        }
        tag[len] = '\0';
        size_t j = 0;
        while (j < out->n && strcmp(out->tag[j], tag) != 0)
            j++;
        if (j < out->n)
            continue;
        if (out->n == FIELDCHECK_TAGS_MAX)
            return why_set(why, why_size, field, value, "has more than %d tags",
                           FIELDCHECK_TAGS_MAX);
        memcpy(out->tag[out->n++], tag, len + 1);
    }
    return 0;
}
