/* Pure parsers of the recordings API (api_recording_params.c): search parameters, the
 * pagination cursor and the Range header. No I/O; tested in tests/unit/api. */
#ifndef WAIHU_RECORDING_PARAMS_H
#define WAIHU_RECORDING_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORDING_PAGE_DEFAULT 50
#define RECORDING_PAGE_MAX 200

/* GET /v1/recordings parameters; absent ones keep the defaults set by the parser. */
struct recording_query {
    bool has_customer, has_campaign;
    uint64_t customer_id, campaign_id;
    char agent[64];          /* "" = any */
    int64_t from_ms, to_ms;  /* start time in [from, to); defaults 0 and INT64_MAX */
    uint32_t min_duration_ms, max_duration_ms; /* defaults 0 and UINT32_MAX */
    char disposition[32];    /* "" = any */
    char keyword[64];        /* "" = any; compared case-insensitively */
    bool has_cursor;         /* continue after this entry (newest first) */
    int64_t cursor_start_ms;
    uint64_t cursor_node, cursor_call;
    uint32_t limit;          /* 1..RECORDING_PAGE_MAX */
};

/* Reads parameter name into buf (cap bytes); NULL when absent. The getter of the HTTP
 * layer (http_request_param) has this shape. */
typedef const char *(*recording_param_fn)(void *data, const char *name, char *buf, size_t cap);

/* Parses the search parameters of query (the raw "a=1&b=2", to refuse unknown names)
 * through get. Returns 0; 400 for a malformed or unknown parameter; 422 for well-formed
 * values that contradict each other (from after to, min above max). *field names the
 * parameter and why (cap bytes) says what is wrong. */
int recording_query_parse(const char *query, recording_param_fn get, void *data,
                          struct recording_query *q, const char **field, char *why,
                          size_t cap);

/* The cursor of the entry (start, node, call) as text, "<start>.<node>.<call>" (cap at
 * least 64). */
void recording_cursor_format(int64_t start_ms, uint64_t node, uint64_t call, char *out,
                             size_t cap);

/* "<node>-<call>" ids of recordings (as call ids): 0 or -1. */
int recording_id_parse(const char *text, uint64_t *node, uint64_t *call);

/* The Range header against a body of size bytes (RFC 9110 14.1.2): one range
 * "bytes=a-b", "bytes=a-" or "bytes=-n". */
enum recording_range {
    RECORDING_RANGE_NONE = 0,       /* absent, or one we ignore (several ranges, another
                                       unit, malformed): send the whole body, 200 */
    RECORDING_RANGE_OK,             /* [*first, *last] inclusive: 206 */
    RECORDING_RANGE_UNSATISFIABLE,  /* 416 with Content-Range: bytes * / size */
};
enum recording_range recording_range_parse(const char *header, uint64_t size, uint64_t *first,
                                           uint64_t *last);

#endif
