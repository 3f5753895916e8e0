/* Structured logs: one JSON object per line, so operators can ship them as-is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static enum log_level min_level = LOG_INFO;
static char node[64] = "-";

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, const char *node_name)
{
    min_level = level;
    snprintf(node, sizeof node, "%s", node_name ? node_name : "-");
}

int log_level_parse(const char *text, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return WAIHU_EINVAL;
}

/* Appends s to buf as JSON string content; returns the new length. */
static size_t json_escape(char *buf, size_t len, size_t cap, const char *s)
{
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", c);
        } else {
            buf[len++] = (char)c;
        }
    }
    return len;
}

static void vlog(enum log_level level, const char *mod, const char *fmt, va_list ap)
{
    char msg[2048];
    char line[4608];
    struct timespec ts;
    struct tm tm;
    vsnprintf(msg, sizeof msg, fmt, ap);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t len = (size_t)snprintf(line, sizeof line,
                                  "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
                                  "\"level\":\"%s\",\"node\":\"",
                                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                  tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                                  level_names[level]);
    len = json_escape(line, len, sizeof line - 32, node);
    len += (size_t)snprintf(line + len, sizeof line - len, "\",\"mod\":\"");
    len = json_escape(line, len, sizeof line - 32, mod);
    len += (size_t)snprintf(line + len, sizeof line - len, "\",\"msg\":\"");
    len = json_escape(line, len, sizeof line - 4, msg);
    line[len++] = '"';
    line[len++] = '}';
    line[len++] = '\n';
    ssize_t rv = write(STDERR_FILENO, line, len);
    (void)rv;
}

void log_write(enum log_level level, const char *mod, const char *fmt, ...)
{
    if (level < min_level) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(level, mod, fmt, ap);
    va_end(ap);
}

void waihu_fatal(const char *mod, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_ERROR, mod, fmt, ap);
    va_end(ap);
    abort();
}
