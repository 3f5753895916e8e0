/* /healthz, /readyz and /metrics (Prometheus text format: api_metrics*.c). */
#include <string.h>

#include "api_internal.h"
#include "api_metrics.h"

bool api_route_health(struct api *a, struct http_request *req, const char *method,
                      const char *path)
{
    (void)method;
    if (strcmp(path, "/healthz") == 0) {
        api_json(a, req, 200, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(path, "/readyz") == 0) {
        struct cluster_status st;
        cluster_status_get(a->cluster, &st);
        if (st.ready) {
            api_json(a, req, 200, json_pack("{s:s, s:I}", "status", "ready", "leader_id",
                                            (json_int_t)st.leader_id));
        } else {
            api_error(a, req, 503, "unavailable", NULL, "not ready: state %s, leader %llu%s",
                      st.state, (unsigned long long)st.leader_id,
                      st.fenced ? ", fenced" : "");
        }
    } else if (strcmp(path, "/metrics") == 0) {
        api_metrics_answer(a, req);
    } else {
        return false;
    }
    return true;
}
