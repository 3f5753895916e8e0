/* Private to src/api. */
#ifndef WAIHU_API_INTERNAL_H
#define WAIHU_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "http.h"

#define API_MAX_BODY_BYTES (1024 * 1024)

struct api {
    uv_loop_t *loop;
    struct cluster *cluster;
    struct store *store;
    struct http_server *http;
    uint64_t requests;
    uint64_t responses_by_class[6]; /* 1xx..5xx */
};

/* Answers with a JSON document (takes ownership of doc). */
void api_json(struct api *a, struct http_request *req, int status, json_t *doc);
/* Answers {"error":{"code","message","field"}}; field may be NULL. */
void api_error(struct api *a, struct http_request *req, int status, const char *code,
               const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Maps a WAIHU_E* status of the cluster layer to an HTTP error answer. */
void api_error_status(struct api *a, struct http_request *req, int status, const char *what);
/* Parses the body as a JSON object; on failure answers 400 and returns NULL. */
json_t *api_body_object(struct api *a, struct http_request *req);
/* Parses X-Waihu-Client/X-Waihu-Seq; on malformed headers answers 400 and returns -1. */
int api_client_seq(struct api *a, struct http_request *req, uint64_t *client_id,
                   uint64_t *seq);

/* Route groups: return true if they handled the request. */
bool api_route_health(struct api *a, struct http_request *req, const char *method,
                      const char *path);
bool api_route_cluster(struct api *a, struct http_request *req, const char *method,
                       const char *path);
bool api_route_settings(struct api *a, struct http_request *req, const char *method,
                        const char *path);

#endif
