/* Filter language lexer: tokens with byte positions, values decoded and checked. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_internal.h"

#define NUMBER_TEXT_MAX 64
#define RELTIME_MAX 999999

int filter_lex_error(struct filter_error *err, size_t pos, int rv, const char *fmt, ...)
{
    if (err == NULL)
        return rv;
    char why[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    err->col = pos + 1;
    snprintf(err->msg, sizeof(err->msg), "col %zu: %s", pos + 1, why);
    return rv;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(char c)
{
    return is_ident_start(c) || is_digit(c);
}

int filter_lex_is_tag_char(char c)
{
    return is_ident_char(c) || c == '.' || c == '-';
}

static char peek(const struct lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->len ? lx->text[lx->pos + ahead] : '\0';
}

/* Length of a valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t need;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        need = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        need = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        need = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

/* Quoted string at lx->pos ('"'). */
static int lex_string(struct lexer *lx, char **out, size_t *out_len)
{
    size_t start = lx->pos;
    char *buf = malloc(lx->len - lx->pos + 1);
    size_t n = 0;
    if (buf == NULL)
        return filter_lex_error(lx->err, start, WAIHU_ENOMEM, "out of memory");
    lx->pos++;
    for (;;) {
        if (lx->pos >= lx->len) {
            free(buf);
            return filter_lex_error(lx->err, start, WAIHU_EINVAL, "unterminated string");
        }
        unsigned char c = (unsigned char)lx->text[lx->pos];
        if (c == '"') {
            lx->pos++;
            break;
        }
        if (c == '\\') {
            char e = peek(lx, 1);
            if (e != '"' && e != '\\') {
                free(buf);
                return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL,
                                        "only \\\" and \\\\ are escapes in a string");
            }
            buf[n++] = e;
            lx->pos += 2;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            free(buf);
            return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL,
                                    "control character 0x%02x in a string", c);
        }
        size_t ul = utf8_len((const unsigned char *)lx->text + lx->pos, lx->len - lx->pos);
        if (ul == 0) {
            free(buf);
            return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL, "invalid UTF-8 in a string");
        }
        memcpy(buf + n, lx->text + lx->pos, ul);
        n += ul;
        lx->pos += ul;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

int64_t filter_lex_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void filter_lex_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at lx->pos, advancing; -1 when they are not all digits. */
static int digits(struct lexer *lx, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = peek(lx, 0);
        if (!is_digit(c))
            return -1;
        v = v * 10 + (c - '0');
        lx->pos++;
    }
    return v;
}

static int expect_char(struct lexer *lx, char c)
{
    if (peek(lx, 0) != c)
        return -1;
    lx->pos++;
    return 0;
}

/* YYYY-MM-DD[THH:MM[:SS][Z]] at lx->pos. */
static int lex_date(struct lexer *lx, struct tok *t)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = digits(lx, 4), mo, d, h = 0, mi = 0, s = 0, has_time = 0;
    if (y < 0 || expect_char(lx, '-') || (mo = digits(lx, 2)) < 0 || expect_char(lx, '-') ||
        (d = digits(lx, 2)) < 0)
        return filter_lex_error(lx->err, t->pos, WAIHU_EINVAL, "a date is written YYYY-MM-DD");
    if (peek(lx, 0) == 'T') {
        lx->pos++;
        has_time = 1;
        if ((h = digits(lx, 2)) < 0 || expect_char(lx, ':') || (mi = digits(lx, 2)) < 0)
            return filter_lex_error(lx->err, t->pos, WAIHU_EINVAL,
                                    "a date with a time is written YYYY-MM-DDTHH:MM[:SS]Z");
        if (peek(lx, 0) == ':') {
            lx->pos++;
            if ((s = digits(lx, 2)) < 0)
                return filter_lex_error(lx->err, t->pos, WAIHU_EINVAL,
                                        "seconds are written with 2 digits");
        }
        if (peek(lx, 0) == 'Z')
            lx->pos++;
    }
    if (filter_lex_is_tag_char(peek(lx, 0)) || peek(lx, 0) == ':')
        return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL, "unexpected '%c' after a date",
                                peek(lx, 0));
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] + (mo == 2 && leap))
        return filter_lex_error(lx->err, t->pos, WAIHU_EINVAL, "no such date %04d-%02d-%02d", y,
                                mo, d);
    if (h > 23 || mi > 59 || s > 59)
        return filter_lex_error(lx->err, t->pos, WAIHU_EINVAL, "no such time %02d:%02d:%02d", h,
                                mi, s);
    t->kind = TOK_DATE;
    t->value.kind = FILTER_VAL_DATE;
    t->value.u.date.unix_s = filter_lex_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
                             h * 3600 + mi * 60 + s;
    t->value.u.date.has_time = has_time;
    return 0;
}

/* A number or a relative time at lx->pos (a digit, or a sign before a digit). */
static int lex_number(struct lexer *lx, struct tok *t)
{
    size_t start = lx->pos;
    if (peek(lx, 0) == '+' || peek(lx, 0) == '-')
        lx->pos++;
    size_t int_start = lx->pos;
    while (is_digit(peek(lx, 0)))
        lx->pos++;
    size_t int_len = lx->pos - int_start;
    char unit = peek(lx, 0);
    if ((unit == 'd' || unit == 'h' || unit == 'm') && !is_ident_char(peek(lx, 1))) {
        int64_t v = 0;
        for (size_t i = int_start; i < int_start + int_len; i++) {
            v = v * 10 + (lx->text[i] - '0');
            if (v > RELTIME_MAX)
                return filter_lex_error(lx->err, start, WAIHU_EINVAL,
                                        "relative time above %d%c", RELTIME_MAX, unit);
        }
        lx->pos++;
        t->kind = TOK_RELTIME;
        t->value.kind = FILTER_VAL_RELTIME;
        t->value.u.rel.amount = lx->text[start] == '-' ? -v : v;
        t->value.u.rel.unit = unit;
        return 0;
    }
    if (peek(lx, 0) == '.') {
        lx->pos++;
        if (!is_digit(peek(lx, 0)))
            return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL,
                                    "expected a digit after '.'");
        while (is_digit(peek(lx, 0)))
            lx->pos++;
    }
    if (peek(lx, 0) == 'e' || peek(lx, 0) == 'E') {
        lx->pos++;
        if (peek(lx, 0) == '+' || peek(lx, 0) == '-')
            lx->pos++;
        if (!is_digit(peek(lx, 0)))
            return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL,
                                    "expected a digit in the exponent");
        while (is_digit(peek(lx, 0)))
            lx->pos++;
    }
    if (filter_lex_is_tag_char(peek(lx, 0)) || peek(lx, 0) == ':')
        return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL, "unexpected '%c' after a number",
                                peek(lx, 0));
    size_t n = lx->pos - start;
    if (n >= NUMBER_TEXT_MAX)
        return filter_lex_error(lx->err, start, WAIHU_EINVAL, "number longer than %d characters",
                                NUMBER_TEXT_MAX - 1);
    char buf[NUMBER_TEXT_MAX];
    memcpy(buf, lx->text + start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return filter_lex_error(lx->err, start, WAIHU_EINVAL, "number out of range");
    t->kind = TOK_NUMBER;
    t->value.kind = FILTER_VAL_NUMBER;
    t->value.u.number = v == 0 ? 0.0 : v; /* one zero: -0 would not round-trip as equal */
    return 0;
}

static int keyword(const char *s, size_t n, const char *kw)
{
    if (strlen(kw) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] & ~0x20) != kw[i])
            return 0;
    return 1;
}

int filter_lex_next(struct lexer *lx, struct tok *t)
{
    memset(t, 0, sizeof(*t));
    while (lx->pos < lx->len && (lx->text[lx->pos] == ' ' || lx->text[lx->pos] == '\t' ||
                                 lx->text[lx->pos] == '\n' || lx->text[lx->pos] == '\r'))
        lx->pos++;
    t->pos = lx->pos;
    if (lx->pos >= lx->len) {
        t->kind = TOK_END;
        return 0;
    }
    char c = lx->text[lx->pos], c1 = peek(lx, 1);
    int rv = 0;
    switch (c) {
    case '(': t->kind = TOK_LPAREN; lx->pos++; break;
    case ')': t->kind = TOK_RPAREN; lx->pos++; break;
    case ':': t->kind = TOK_COLON; lx->pos++; break;
    case '=': t->kind = TOK_OP; t->op = FILTER_EQ; lx->pos++; break;
    case '!':
        if (c1 != '=')
            return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL,
                                    "expected '!=' (use NOT to negate)");
        t->kind = TOK_OP; t->op = FILTER_NE; lx->pos += 2;
        break;
    case '<':
        t->kind = TOK_OP;
        t->op = c1 == '=' ? FILTER_LE : FILTER_LT;
        lx->pos += c1 == '=' ? 2 : 1;
        break;
    case '>':
        t->kind = TOK_OP;
        t->op = c1 == '=' ? FILTER_GE : FILTER_GT;
        lx->pos += c1 == '=' ? 2 : 1;
        break;
    case '"':
        t->kind = TOK_STRING;
        t->value.kind = FILTER_VAL_STRING;
        rv = lex_string(lx, &t->value.u.str.s, &t->value.u.str.len);
        break;
    default:
        if (is_digit(c) && is_digit(c1) && is_digit(peek(lx, 2)) && is_digit(peek(lx, 3)) &&
            peek(lx, 4) == '-') {
            rv = lex_date(lx, t);
        } else if (is_digit(c) || ((c == '-' || c == '+') && is_digit(c1))) {
            rv = lex_number(lx, t);
        } else if (is_ident_start(c)) {
            size_t start = lx->pos;
            while (is_ident_char(peek(lx, 0)))
                lx->pos++;
            size_t n = lx->pos - start;
            if (n > FILTER_NAME_MAX)
                return filter_lex_error(lx->err, start, WAIHU_EINVAL,
                                        "name longer than %d characters", FILTER_NAME_MAX);
            const char *s = lx->text + start;
            t->kind = keyword(s, n, "AND")   ? TOK_AND
                      : keyword(s, n, "OR")  ? TOK_OR
                      : keyword(s, n, "NOT") ? TOK_NOT
                                             : TOK_IDENT;
        } else if ((unsigned char)c >= 0x21 && (unsigned char)c < 0x7f) {
            return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL, "unexpected character '%c'",
                                    c);
        } else {
            return filter_lex_error(lx->err, lx->pos, WAIHU_EINVAL, "unexpected byte 0x%02x",
                                    (unsigned char)c);
        }
    }
    t->len = lx->pos - t->pos;
    return rv;
}

int filter_lex_tag_name(struct lexer *lx, char **name, size_t *name_len)
{
    size_t start = lx->pos;
    if (peek(lx, 0) == '"') {
        int rv = lex_string(lx, name, name_len);
        if (rv != 0)
            return rv;
    } else {
        while (filter_lex_is_tag_char(peek(lx, 0)))
            lx->pos++;
        size_t n = lx->pos - start;
        if (n == 0)
            return filter_lex_error(lx->err, start, WAIHU_EINVAL, "expected a tag name after 'tag:'");
        *name = malloc(n + 1);
        if (*name == NULL)
            return filter_lex_error(lx->err, start, WAIHU_ENOMEM, "out of memory");
        memcpy(*name, lx->text + start, n);
        (*name)[n] = '\0';
        *name_len = n;
    }
    if (*name_len == 0 || *name_len > FILTER_NAME_MAX) {
        free(*name);
        *name = NULL;
        return filter_lex_error(lx->err, start, WAIHU_EINVAL, "a tag name has 1 to %d bytes",
                                FILTER_NAME_MAX);
    }
    return 0;
}
