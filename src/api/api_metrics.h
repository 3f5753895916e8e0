/* GET /metrics in the Prometheus text format 0.0.4 (docs/metrics.md), private to src/api:
 * api_metrics.c writes the text and the node's raft, HTTP and store families;
 * api_metrics_calls.c those of telephony, trunks, agents and campaigns. It is scraped every
 * 15 s, so nothing here scans a big family: loops go over agents, campaigns and trunks. */
#ifndef WAIHU_API_METRICS_H
#define WAIHU_API_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_internal.h"

/* The answer being written; grows as needed. */
struct metrics_text {
    char *p;
    size_t len, cap;
    bool failed; /* out of memory: the answer becomes a 503 */
};

/* The HELP and TYPE lines that open a family (type: "counter", "gauge", "histogram"). Every
 * sample of the family must follow before the next family opens. */
void metrics_family(struct metrics_text *t, const char *name, const char *type,
                    const char *help);
/* One sample line: name{k1="v1",k2="v2"} value. After the value come label pairs (key,
 * value) ended by NULL; keys are written as given, values escaped (\\, \", \n). */
void metrics_u64(struct metrics_text *t, const char *name, uint64_t value, ...)
    __attribute__((sentinel));
void metrics_f64(struct metrics_text *t, const char *name, double value, ...)
    __attribute__((sentinel));

/* Answers GET /metrics (api_health.c routes it). */
void api_metrics_answer(struct api *a, struct http_request *req);

/* api_metrics_calls.c: each writes its families, or nothing when the node lacks the part
 * (no telephony, no trunk set, report book still loading). */
void metrics_telephony(struct api *a, struct metrics_text *t);
void metrics_agents(struct api *a, struct metrics_text *t);
void metrics_campaigns(struct api *a, struct metrics_text *t);

#endif
