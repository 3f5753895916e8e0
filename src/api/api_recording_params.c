/* Parsers of the recordings API: search parameters, cursors, ids and Range headers.
 * Pure: no I/O, no allocation. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "recording_params.h"

static const char *const known[] = {"customer_id", "agent", "campaign_id", "from", "to",
                                    "min_duration_ms", "max_duration_ms", "disposition",
                                    "keyword", "cursor", "limit"};

static int parse_u64(const char *text, uint64_t *out)
{
    if (text == NULL || *text == '\0' || strlen(text) > 20) {
        return -1;
    }
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        uint64_t nv = v * 10 + (uint64_t)(*p - '0');
        if (nv / 10 != v) {
            return -1;
        }
        v = nv;
    }
    *out = v;
    return 0;
}

/* Names allowed in free-text parameters: printable ASCII and UTF-8, no control bytes. */
static bool text_ok(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n >= cap) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

static int fail(const char **field, const char *name, char *why, size_t cap, int status,
                const char *msg)
{
    *field = name;
    snprintf(why, cap, "%s", msg);
    return status;
}

static int unknown_name(const char *query, char *name, size_t cap)
{
    const char *p = query ? query : "";
    while (*p != '\0') {
        size_t n = strcspn(p, "=&");
        bool ok = n == 0;
        for (size_t i = 0; !ok && i < sizeof known / sizeof known[0]; i++) {
            ok = strlen(known[i]) == n && memcmp(known[i], p, n) == 0;
        }
        if (!ok) {
            snprintf(name, cap, "%.*s", (int)(n < 40 ? n : 40), p);
            return 1;
        }
        p += strcspn(p, "&");
        if (*p == '&') {
            p++;
        }
    }
    return 0;
}

int recording_query_parse(const char *query, recording_param_fn get, void *data,
                          struct recording_query *q, const char **field, char *why, size_t cap)
{
    memset(q, 0, sizeof *q);
    q->to_ms = INT64_MAX;
    q->max_duration_ms = UINT32_MAX;
    q->limit = RECORDING_PAGE_DEFAULT;
    *field = NULL;
    static char bad[48];
    if (unknown_name(query, bad, sizeof bad)) {
        snprintf(why, cap, "unknown parameter \"%s\"", bad);
        *field = bad;
        return 400;
    }
    char buf[128];
    const char *v;
    uint64_t n;
    if ((v = get(data, "customer_id", buf, sizeof buf)) != NULL) {
        if (parse_u64(v, &q->customer_id) != 0 || q->customer_id == 0) {
            return fail(field, "customer_id", why, cap, 400, "customer_id is a decimal id");
        }
        q->has_customer = true;
    }
    if ((v = get(data, "campaign_id", buf, sizeof buf)) != NULL) {
        if (parse_u64(v, &q->campaign_id) != 0 || q->campaign_id == 0) {
            return fail(field, "campaign_id", why, cap, 400, "campaign_id is a decimal id");
        }
        q->has_campaign = true;
    }
    if ((v = get(data, "agent", buf, sizeof buf)) != NULL) {
        if (!text_ok(v, sizeof q->agent)) {
            return fail(field, "agent", why, cap, 400, "agent is a user name (1-63 bytes)");
        }
        snprintf(q->agent, sizeof q->agent, "%s", v);
    }
    if ((v = get(data, "disposition", buf, sizeof buf)) != NULL) {
        if (!text_ok(v, sizeof q->disposition)) {
            return fail(field, "disposition", why, cap, 400,
                        "disposition is a disposition name (1-31 bytes)");
        }
        snprintf(q->disposition, sizeof q->disposition, "%s", v);
    }
    if ((v = get(data, "keyword", buf, sizeof buf)) != NULL) {
        if (!text_ok(v, sizeof q->keyword)) {
            return fail(field, "keyword", why, cap, 400, "keyword is 1-63 bytes of text");
        }
        snprintf(q->keyword, sizeof q->keyword, "%s", v);
    }
    static const struct {
        const char *name;
        int kind; /* 0 from, 1 to, 2 min, 3 max */
    } nums[] = {{"from", 0}, {"to", 1}, {"min_duration_ms", 2}, {"max_duration_ms", 3}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if ((v = get(data, nums[i].name, buf, sizeof buf)) == NULL) {
            continue;
        }
        bool time = nums[i].kind < 2;
        if (parse_u64(v, &n) != 0 || (time && n > (uint64_t)INT64_MAX) ||
            (!time && n > UINT32_MAX)) {
            return fail(field, nums[i].name, why, cap, 400,
                        time ? "from and to are times in ms since 1970 (UTC)"
                             : "durations are whole milliseconds (0..4294967295)");
        }
        switch (nums[i].kind) {
        case 0: q->from_ms = (int64_t)n; break;
        case 1: q->to_ms = (int64_t)n; break;
        case 2: q->min_duration_ms = (uint32_t)n; break;
        default: q->max_duration_ms = (uint32_t)n; break;
        }
    }
    if ((v = get(data, "limit", buf, sizeof buf)) != NULL) {
        if (parse_u64(v, &n) != 0 || n == 0 || n > RECORDING_PAGE_MAX) {
            return fail(field, "limit", why, cap, 400, "limit is 1..200");
        }
        q->limit = (uint32_t)n;
    }
    if ((v = get(data, "cursor", buf, sizeof buf)) != NULL) {
        uint64_t start, node, call;
        char a[24], b[24], c[24];
        int used = 0;
        if (strlen(v) > 62 ||
            sscanf(v, "%23[0-9].%23[0-9].%23[0-9]%n", a, b, c, &used) != 3 ||
            (size_t)used != strlen(v) || parse_u64(a, &start) != 0 ||
            parse_u64(b, &node) != 0 || parse_u64(c, &call) != 0 ||
            start > (uint64_t)INT64_MAX) {
            return fail(field, "cursor", why, cap, 400,
                        "cursor is the next_cursor of a previous page");
        }
        q->has_cursor = true;
        q->cursor_start_ms = (int64_t)start;
        q->cursor_node = node;
        q->cursor_call = call;
    }
    if (q->from_ms >= q->to_ms) {
        return fail(field, "from", why, cap, 422, "from must be before to");
    }
    if (q->min_duration_ms > q->max_duration_ms) {
        return fail(field, "min_duration_ms", why, cap, 422,
                    "min_duration_ms is above max_duration_ms");
    }
    return 0;
}

void recording_cursor_format(int64_t start_ms, uint64_t node, uint64_t call, char *out,
                             size_t cap)
{
    snprintf(out, cap, "%" PRId64 ".%" PRIu64 ".%" PRIu64, start_ms, node, call);
}

int recording_id_parse(const char *text, uint64_t *node, uint64_t *call)
{
    if (text == NULL) {
        return -1;
    }
    const char *dash = strchr(text, '-');
    char a[24];
    if (dash == NULL || dash == text || (size_t)(dash - text) >= sizeof a) {
        return -1;
    }
    memcpy(a, text, (size_t)(dash - text));
    a[dash - text] = '\0';
    return parse_u64(a, node) == 0 && parse_u64(dash + 1, call) == 0 && *node != 0 ? 0 : -1;
}

/* Digits only, at most 19 of them (fits an int64). */
static int range_num(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19) {
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

enum recording_range recording_range_parse(const char *header, uint64_t size, uint64_t *first,
                                           uint64_t *last)
{
    if (header == NULL) {
        return RECORDING_RANGE_NONE;
    }
    while (*header == ' ' || *header == '\t') {
        header++;
    }
    if (strncmp(header, "bytes=", 6) != 0) {
        return RECORDING_RANGE_NONE; /* another unit: ignored */
    }
    const char *spec = header + 6;
    size_t len = strlen(spec);
    while (len > 0 && (spec[len - 1] == ' ' || spec[len - 1] == '\t')) {
        len--;
    }
    if (memchr(spec, ',', len) != NULL) {
        return RECORDING_RANGE_NONE; /* several ranges: the whole body is a valid answer */
    }
    const char *dash = memchr(spec, '-', len);
    if (dash == NULL) {
        return RECORDING_RANGE_NONE;
    }
    size_t a_len = (size_t)(dash - spec), b_len = len - a_len - 1;
    uint64_t a = 0, b = 0;
    if (a_len == 0) { /* suffix: the last b bytes */
        if (range_num(dash + 1, b_len, &b) != 0) {
            return RECORDING_RANGE_NONE;
        }
        if (b == 0 || size == 0) {
            return RECORDING_RANGE_UNSATISFIABLE;
        }
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return RECORDING_RANGE_OK;
    }
    if (range_num(spec, a_len, &a) != 0 || (b_len > 0 && range_num(dash + 1, b_len, &b) != 0)) {
        return RECORDING_RANGE_NONE;
    }
    if (b_len > 0 && b < a) {
        return RECORDING_RANGE_NONE; /* invalid: ignored, as RFC 9110 says */
    }
    if (a >= size) {
        return RECORDING_RANGE_UNSATISFIABLE;
    }
    *first = a;
    *last = b_len == 0 || b >= size ? size - 1 : b;
    return RECORDING_RANGE_OK;
}
