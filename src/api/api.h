/* REST API v1 of a node (docs/api-cluster.md): routing, JSON, errors. Runs on the
 * core loop; every handler answers through http_respond once. */
#ifndef WAIHU_API_H
#define WAIHU_API_H

#include <uv.h>

#include "cluster.h"
#include "store.h"

struct api;

struct api_config {
    const char *address;           /* "host:port" */
    /* File holding the bootstrap token (cluster administration, tenants, first users);
     * "" = none. docs/api-auth.md. */
    const char *bootstrap_token_file;
    /* File holding the 32-byte master key as 64 hex digits; "" = customer data
     * cannot be stored (customer routes answer 503). Same file on every node. */
    const char *master_key_file;
    unsigned rate_limit_per_s;     /* per token; 0 = default 200 */
    unsigned rate_limit_burst;     /* 0 = default 400 */
    /* Directory whose CSV files POST /v1/imports may read (by plain file name); "" = no
     * imports. */
    const char *import_dir;
    /* Directory of the web console's files, served at / and /console/ (docs/console.md);
     * "" or NULL = no console. */
    const char *web_dir;
    /* Directory where this node writes the prompts it plays (IVR messages); NULL = none. */
    const char *prompts_dir;
    /* Webhooks (alerts) may go to loopback and private addresses: a lab, or a CRM inside
     * the same network. Off by default: user-supplied URLs must not reach the cluster's
     * own services (docs/webhooks.md "SSRF guard"). */
    bool webhook_allow_private;
    /* Directory of this node's encrypted recordings (telephony.recordings_dir), where the
     * recordings API reads and deletes the files this node holds; NULL or "" = none. */
    const char *recordings_dir;
    /* The speech worker of the recordings held here (docs/recordings.md "Speech"):
     * on/off, concurrent analyses (0 = 1), pocketsphinx model ("" or NULL = Debian's en-us). */
    bool speech_enabled;
    unsigned speech_workers;
    const char *speech_hmm_dir;
    const char *speech_dict;
};

/* Serves the API. errmsg (cap 256) says why on failure (unreadable key files too). */
WAIHU_API int api_start(uv_loop_t *loop, const struct api_config *conf, struct cluster *c,
                        struct store *s, struct api **out, char *errmsg);
struct telephony;
/* Places calls through t (POST/GET /v1/calls) and keeps agents' softphone credentials
 * in it; t must outlive the API (stop the API first). */
WAIHU_API void api_attach_telephony(struct api *a, struct telephony *t);
/* The key recordings are encrypted with, derived from the master key; WAIHU_ENOTFOUND
 * without a master key file. */
WAIHU_API int api_recording_key(struct api *a, uint8_t out[32]);
/* Stops listening; cb (may be NULL) once every handle is closed. */
WAIHU_API void api_stop(struct api *a, void (*cb)(void *data), void *data);

#endif
