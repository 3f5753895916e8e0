/* waihud's configuration: one typed table drives the file parser (libconfig), the
 * flags, --help and the error messages (docs/waihud-config.md). */
#ifndef WAIHUD_CONFIG_H
#define WAIHUD_CONFIG_H

#include "cluster.h"

struct waihud_config {
    struct cluster_config cluster;
    char cluster_name[64];
    char log_level[16];
    uint64_t min_free_bytes;
    char bootstrap_token_file[400];
    char master_key_file[400];
    char import_dir[400];
    char web_dir[400];
    unsigned rate_limit_per_s;
    unsigned rate_limit_burst;
    unsigned webhook_allow_private; /* 0 or 1 */
    /* telephony (docs/telephony.md); sip_bind "" = none on this node */
    char sip_bind[64];
    char rtp_ports[32];
    char trunk[128];
    char trunks_file[400];
    char caller_id[32];
    char recordings_dir[400];
    unsigned carrier_timeout_ms;
    unsigned rtp_timeout_ms;
    unsigned amd;
    /* speech worker (docs/recordings.md "Speech") */
    unsigned speech_enabled; /* 0 or 1 */
    unsigned speech_workers;
    char speech_hmm_dir[400];
    char speech_dict[400];
};

/* Parses argv (and the file named by --config). On error writes "file:line: key: why"
 * or "flag: why" into errmsg (cap 512) and returns WAIHU_EINVAL. Returns 1 when --help
 * was printed. */
int waihud_config_load(int argc, char **argv, struct waihud_config *out, char *errmsg);
void waihud_config_usage(FILE *f);

#endif
