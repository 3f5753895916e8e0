/* Recording keys from files: raw 32 bytes or 64 hex digits. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "recording_tool.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int keyfile_read(const char *path, uint8_t key[MEDIA_REC_KEY_BYTES], char *errmsg, size_t size)
{
    uint8_t buf[2 * MEDIA_REC_KEY_BYTES + 3];
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(errmsg, size, "%s: %s", path, strerror(errno));
        return WAIHU_EIO;
    }
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    int rv = WAIHU_EINVAL;
    if (n == MEDIA_REC_KEY_BYTES) {
        memcpy(key, buf, MEDIA_REC_KEY_BYTES);
        rv = 0;
    } else {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        if (n == 2 * MEDIA_REC_KEY_BYTES) {
            rv = 0;
            for (size_t i = 0; i < MEDIA_REC_KEY_BYTES && rv == 0; i++) {
                int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
                if (hi < 0 || lo < 0)
                    rv = WAIHU_EINVAL;
                else
                    key[i] = (uint8_t)(hi << 4 | lo);
            }
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rv != 0)
        snprintf(errmsg, size, "%s: want 32 raw bytes or 64 hex digits", path);
    return rv;
}
