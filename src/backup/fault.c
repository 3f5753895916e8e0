/* Error reporting of the backup module and the hex codec its names and keys use. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backup_internal.h"

int backup_fail(struct backup_error *err, int code, enum backup_fault fault, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
        err->fault = fault;
    }
    return code;
}

int backup_fail_target(struct backup_error *err, int code, struct target *t, const char *what)
{
    enum backup_fault fault = code == WAIHU_ENOTFOUND ? BACKUP_FAULT_NOTFOUND : BACKUP_FAULT_IO;
    return backup_fail(err, code, fault, "%s: %s", what,
                       t->errmsg[0] ? t->errmsg : waihu_strerror(code));
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int hex_decode(const char *in, uint8_t *out, size_t n)
{
    if (strlen(in) != 2 * n) {
        return WAIHU_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return WAIHU_EINVAL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void backup_error_prefix(struct backup_error *err, const char *prefix)
{
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s: %s", prefix, err->msg);
    memcpy(err->msg, msg, sizeof msg);
}
