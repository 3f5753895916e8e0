/* REST API v1 of a node (docs/api-cluster.md): routing, JSON, errors. Runs on the
 * core loop; every handler answers through http_respond once. */
#ifndef WAIHU_API_H
#define WAIHU_API_H

#include <uv.h>

#include "cluster.h"
#include "store.h"

struct api;

/* Serves the API on address ("host:port"). errmsg (cap 256) says why on failure. */
WAIHU_API int api_start(uv_loop_t *loop, const char *address, struct cluster *c,
                        struct store *s, struct api **out, char *errmsg);
/* Stops listening; cb (may be NULL) once every handle is closed. */
WAIHU_API void api_stop(struct api *a, void (*cb)(void *data), void *data);

#endif
