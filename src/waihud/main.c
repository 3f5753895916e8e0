/* waihud: one node of a Waihu cluster (store, raft, API on one libuv loop). */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <uv.h>

#include "api.h"
#include "cluster.h"
#include "config.h"
#include "identity.h"
#include "store.h"
#include "telephony.h"
#include "webhook.h"

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    uv_timer_t disk_check;
    int exit_code;
    struct waihud_config cfg;
    struct store *store;
    struct cluster *cluster;
    struct api *api;
    struct telephony *telephony;
    bool stopping;
};

static void cluster_stopped(void *data)
{
    struct daemon *d = data;
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->disk_check, NULL);
}

static void api_stopped(void *data)
{
    struct daemon *d = data;
    telephony_stop(d->telephony); /* after the API: it detached first */
    d->telephony = NULL;
    cluster_stop(d->cluster, cluster_stopped, d);
}

static int make_dirs(const char *dir, char *errmsg);

/* Telephony when telephony.sip_bind is set: calls recorded under a key derived from
 * the master key. Returns 0 or an exit code. */
static int start_telephony(struct daemon *d, char *errmsg)
{
    const struct waihud_config *c = &d->cfg;
    if (c->sip_bind[0] == '\0') {
        return 0;
    }
    unsigned lo = 0, hi = 0;
    char extra;
    if (sscanf(c->rtp_ports, "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1024 || hi > 65535 ||
        hi <= lo) {
        LOG_E("waihud", "telephony.rtp_ports: '%s' is not MIN-MAX within 1024-65535", c->rtp_ports);
        return 2;
    }
    struct telephony_config tc = {.sip_bind = c->sip_bind, .rtp_min = (uint16_t)lo,
                                  .rtp_max = (uint16_t)hi, .trunk = c->trunk,
                                  .trunks_file = c->trunks_file,
                                  .caller_id = c->caller_id[0] ? c->caller_id : NULL,
                                  .carrier_timeout_ms = c->carrier_timeout_ms,
                                  .rtp_timeout_ms = c->rtp_timeout_ms, .amd = (int)c->amd};
    if (c->recordings_dir[0] != '\0') {
        if (api_recording_key(d->api, tc.record_key) != 0) {
            LOG_E("waihud", "telephony.recordings_dir needs customer.master_key_file");
            return 2;
        }
        if (make_dirs(c->recordings_dir, errmsg) != 0) {
            LOG_E("waihud", "%s", errmsg);
            return 2;
        }
        tc.record_dir = c->recordings_dir;
    }
    int rv = telephony_start(&d->loop, &tc, &d->telephony, errmsg);
    if (rv != 0) {
        LOG_E("waihud", "telephony: %s", errmsg);
        return rv == WAIHU_EINVAL ? 2 : 1;
    }
    api_attach_telephony(d->api, d->telephony);
    return 0;
}

static void begin_stop(struct daemon *d)
{
    d->stopping = true;
    uv_timer_stop(&d->disk_check);
    api_stop(d->api, api_stopped, d);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (d->stopping) {
        LOG_W("waihud", "second signal %d: exiting now", signum);
        exit(1);
    }
    LOG_I("waihud", "signal %d: stopping (leadership is handed over first)", signum);
    begin_stop(d);
}

/* A disk that fills under RocksDB or raft ends in an abort deep inside them; stop
 * cleanly (leadership handed over) while there is still room. */
static void on_disk_check(uv_timer_t *h)
{
    struct daemon *d = h->data;
    struct statvfs st;
    if (d->stopping || statvfs(d->cfg.cluster.data_dir, &st) != 0) {
        return;
    }
    uint64_t free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
    if (free_bytes < d->cfg.min_free_bytes) {
        LOG_E("waihud",
              "data_dir %s: only %llu bytes free, below node.min_free_bytes %llu (no space "
              "left on device soon): stopping this node",
              d->cfg.cluster.data_dir, (unsigned long long)free_bytes,
              (unsigned long long)d->cfg.min_free_bytes);
        d->exit_code = 1;
        begin_stop(d);
    }
}

static int make_dirs(const char *dir, char *errmsg)
{
    char path[512];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0750);
            *p = '/';
        }
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        snprintf(errmsg, 512, "data_dir %s: %s", dir, strerror(errno));
        return WAIHU_EIO;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct daemon d;
    char errmsg[512];
    char path[600];
    int rv = waihud_config_load(argc, argv, &d.cfg, errmsg);
    if (rv == 1) {
        return 0;
    }
    if (rv != 0) {
        fprintf(stderr, "waihud: %s\n", errmsg);
        return 2;
    }
    enum log_level level = LOG_INFO;
    if (log_level_parse(d.cfg.log_level, &level) != 0) {
        fprintf(stderr, "waihud: log.level: '%s' is not debug, info, warn or error\n",
                d.cfg.log_level);
        return 2;
    }
    log_setup(level, d.cfg.cluster.self.name);
    /* A peer that dies mid-write must not kill us (FIELD-NOTES: both survivors died). */
    signal(SIGPIPE, SIG_IGN);
    /* libcurl's global init is not thread-safe: before any thread starts. */
    if (webhook_global_init() != 0) {
        LOG_E("waihud", "libcurl cannot be initialised: alert webhooks are not delivered");
    }
    /* RocksDB allocates memtables in blocks of megabytes. Served by mmap, each block is
     * unmapped on a flush and faulted in page by page for the next memtable (measured:
     * a seventh of a follower's CPU during an import). Keep them on the heap. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    const char *dir = d.cfg.cluster.data_dir;
    if (make_dirs(dir, errmsg) != 0 ||
        identity_check(dir, d.cfg.cluster_name, d.cfg.cluster.self.id, errmsg) != 0) {
        LOG_E("waihud", "%s", errmsg);
        return 2;
    }
    snprintf(path, sizeof path, "%s/store", dir);
    if ((rv = store_open(path, &d.store, errmsg)) != 0) {
        LOG_E("waihud", "%s", errmsg);
        return 1;
    }
    store_set_min_free(d.store, d.cfg.min_free_bytes);
    uv_loop_init(&d.loop);
    if ((rv = cluster_start(&d.loop, &d.cfg.cluster, d.store, &d.cluster, errmsg)) != 0) {
        LOG_E("waihud", "%s", errmsg);
        return rv == WAIHU_EINVAL ? 2 : 1;
    }
    char prompts_dir[480];
    snprintf(prompts_dir, sizeof prompts_dir, "%s/prompts", d.cfg.cluster.data_dir);
    struct api_config api_conf = {.address = d.cfg.cluster.self.api_address,
                                  .bootstrap_token_file = d.cfg.bootstrap_token_file,
                                  .master_key_file = d.cfg.master_key_file,
                                  .rate_limit_per_s = d.cfg.rate_limit_per_s,
                                  .rate_limit_burst = d.cfg.rate_limit_burst,
                                  .import_dir = d.cfg.import_dir,
                                  .web_dir = d.cfg.web_dir, .prompts_dir = prompts_dir,
                                  .recordings_dir = d.cfg.recordings_dir,
                                  .speech_enabled = d.cfg.speech_enabled != 0,
                                  .speech_workers = d.cfg.speech_workers,
                                  .speech_hmm_dir = d.cfg.speech_hmm_dir,
                                  .speech_dict = d.cfg.speech_dict,
                                  .webhook_allow_private = d.cfg.webhook_allow_private != 0};
    if ((rv = api_start(&d.loop, &api_conf, d.cluster, d.store, &d.api, errmsg)) != 0) {
        LOG_E("waihud", "api %s: %s", d.cfg.cluster.self.api_address, errmsg);
        return rv == WAIHU_EINVAL ? 2 : 1;
    }
    if ((rv = start_telephony(&d, errmsg)) != 0) {
        return rv;
    }
    uv_signal_init(&d.loop, &d.sigterm);
    uv_signal_init(&d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    uv_timer_init(&d.loop, &d.disk_check);
    d.disk_check.data = &d;
    uv_timer_start(&d.disk_check, on_disk_check, 0, 500);
    LOG_I("waihud", "serving: api %s, raft %s, forward %s, data %s",
          d.cfg.cluster.self.api_address, d.cfg.cluster.self.raft_address,
          d.cfg.cluster.self.forward_address, dir);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    store_close(d.store);
    if (uv_loop_close(&d.loop) != 0) {
        LOG_W("waihud", "loop closed with handles still open");
    }
    LOG_I("waihud", "stopped");
    return d.exit_code;
}
