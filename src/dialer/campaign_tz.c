/* Time zones of customers: the country of the number names a zone, the system's zoneinfo
 * gives its offset (DST included). glibc has no per-zone API, so the lookup switches TZ
 * for a moment; that is why it runs on the core loop only, and is cached per hour. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"

/* Country calling code -> main zone. Longest codes first where they share a prefix. */
static const struct {
    const char *code, *zone;
} ZONES[] = {
    {"852", "Asia/Hong_Kong"}, {"853", "Asia/Macau"},    {"886", "Asia/Taipei"},
    {"86", "Asia/Shanghai"},   {"81", "Asia/Tokyo"},     {"82", "Asia/Seoul"},
    {"65", "Asia/Singapore"},  {"60", "Asia/Kuala_Lumpur"}, {"66", "Asia/Bangkok"},
    {"84", "Asia/Ho_Chi_Minh"}, {"62", "Asia/Jakarta"},  {"63", "Asia/Manila"},
    {"91", "Asia/Kolkata"},    {"971", "Asia/Dubai"},    {"61", "Australia/Sydney"},
    {"64", "Pacific/Auckland"}, {"44", "Europe/London"}, {"49", "Europe/Berlin"},
    {"33", "Europe/Paris"},    {"34", "Europe/Madrid"},  {"39", "Europe/Rome"},
    {"31", "Europe/Amsterdam"}, {"7", "Europe/Moscow"},  {"55", "America/Sao_Paulo"},
    {"52", "America/Mexico_City"}, {"1", "America/New_York"},
};

bool campaign_zone_for_number(const char *e164, char zone[CAMPAIGN_ZONE_MAX])
{
    if (e164 == NULL || e164[0] != '+') {
        return false;
    }
    size_t best = 0;
    const char *found = NULL;
    for (size_t i = 0; i < sizeof ZONES / sizeof *ZONES; i++) {
        size_t n = strlen(ZONES[i].code);
        if (n > best && strncmp(e164 + 1, ZONES[i].code, n) == 0) {
            best = n;
            found = ZONES[i].zone;
        }
    }
    if (found == NULL) {
        return false;
    }
    snprintf(zone, CAMPAIGN_ZONE_MAX, "%s", found);
    return true;
}

#define CACHE 32
static struct {
    char zone[CAMPAIGN_ZONE_MAX];
    int64_t hour;
    int32_t offset_s;
} cache[CACHE];
static unsigned cache_next;

static int lookup(const char *zone, int64_t t_ms, int32_t *offset_s)
{
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
    if (strstr(zone, "..") != NULL || zone[0] == '\0' || zone[0] == '/' ||
        access(path, R_OK) != 0) {
        return WAIHU_EINVAL;
    }
    const char *old = getenv("TZ");
    char saved[128] = "";
    if (old != NULL) {
        snprintf(saved, sizeof saved, "%s", old);
    }
    setenv("TZ", zone, 1);
    tzset();
    time_t t = (time_t)(t_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (old != NULL) {
        setenv("TZ", saved, 1);
    } else {
        unsetenv("TZ");
    }
    tzset();
    *offset_s = (int32_t)tm.tm_gmtoff;
    return 0;
}

int campaign_zone_offset(const char *zone, int64_t t_ms, int32_t *offset_s)
{
    if (strlen(zone) >= CAMPAIGN_ZONE_MAX) {
        return WAIHU_EINVAL;
    }
    int64_t hour = t_ms / 3600000;
    for (unsigned i = 0; i < CACHE; i++) {
        if (cache[i].hour == hour && strcmp(cache[i].zone, zone) == 0) {
            *offset_s = cache[i].offset_s;
            return 0;
        }
    }
    int rv = lookup(zone, t_ms, offset_s);
    if (rv == 0) {
        unsigned i = cache_next++ % CACHE;
        snprintf(cache[i].zone, sizeof cache[i].zone, "%s", zone);
        cache[i].hour = hour;
        cache[i].offset_s = *offset_s;
    }
    return rv;
}
