/* Retention (docs/recordings.md): the leader looks every few seconds for recordings whose
 * end + the tenant's days lies at or before its clock and that are not on legal hold, and
 * commits their deletion (a tombstone row, conditioned on the row it read so that a hold
 * set meanwhile wins, and on the leader's stamp of the entry being past the expiry, so a
 * leader whose clock runs ahead cannot delete early on its own say; audited). Every node
 * that holds a file removes it when it applies the tombstone (or finds one at start), and
 * commits an audit row saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_recording_internal.h"

#define SWEEP_MS 5000
#define SWEEP_BATCH 64

void rec_service_release(struct api_recordings *k)
{
    if (k->stopping && k->timer_closed && k->jobs_in_flight == 0 && k->sweeps_in_flight == 0) {
        free(k);
    }
}

/* ---- deletion on the leader ---- */

static void swept(void *data, int status, const struct store_result *r)
{
    struct api_recordings *k = data;
    k->sweeps_in_flight--;
    if (status != 0 || r->code != 0) {
        /* A hold or another deletion won the race, or leadership moved: next tick. */
        LOG_D("api", "retention deletion not applied: %s",
              waihu_strerror(status != 0 ? status : r->code));
    }
    rec_service_release(k);
}

struct expired {
    struct api_recordings *k;
    int64_t now_ms;
};

static int delete_one(void *data, uint64_t tenant, int64_t start_ms, uint64_t node, uint64_t call)
{
    (void)start_ms;
    struct expired *e = data;
    struct api_recordings *k = e->k;
    void *raw;
    size_t len;
    Recording *r = rec_read(k->a->store, tenant, node, call, &raw, &len);
    if (r == NULL) {
        return 0;
    }
    if (r->deleted_at_ms == 0 && !r->legal_hold) {
        uint32_t days = rec_policy_days(k->a->store, tenant);
        int64_t end = r->end_ms > 0 ? r->end_ms : r->start_ms + (int64_t)r->duration_ms;
        int64_t expiry = end + (int64_t)days * REC_DAY_MS;
        struct auth_principal who = {.tenant_id = tenant, .role = AUTH_ROLE_ADMIN};
        snprintf(who.user, sizeof who.user, "(retention)");
        char detail[96];
        snprintf(detail, sizeof detail, "retention days=%u expired_ms=%lld", days,
                 (long long)expiry);
        struct store_mutation_builder *mb = store_mb_new();
        rec_tombstone_add(mb, r, raw, len, "retention", &who, detail);
        store_mb_stamp_within(mb, expiry, 0);
        k->sweeps_in_flight++;
        api_submit_mutation(k->a, mb, 0, 0, swept, k);
    }
    recording__free_unpacked(r, NULL);
    free(raw);
    return 0;
}

static void tick(uv_timer_t *t)
{
    struct api_recordings *k = t->data;
    struct cluster_status cs;
    cluster_status_get(k->a->cluster, &cs);
    if (!cs.ready || strcmp(cs.state, "leader") != 0 || k->sweeps_in_flight > 0) {
        return;
    }
    struct expired e = {.k = k, .now_ms = clock_wall_ms()};
    rec_view_expired(k->view, k->a->store, e.now_ms, SWEEP_BATCH, delete_one, &e);
}

/* ---- file removal on every node ---- */

struct removal {
    uv_fs_t fs;
    struct api_recordings *k;
    uint64_t tenant;
    char obj[64];
    char reason[32];
};

static void removed(uv_fs_t *fs)
{
    struct removal *m = fs->data;
    struct api_recordings *k = m->k;
    int rv = (int)fs->result;
    if (rv == 0) {
        LOG_I("api", "%s: file removed from this node (%s)", m->obj, m->reason);
        if (!k->stopping) {
            struct auth_principal who = {.tenant_id = m->tenant, .role = AUTH_ROLE_ADMIN};
            snprintf(who.user, sizeof who.user, "(node %llu)", (unsigned long long)k->self);
            char detail[64];
            snprintf(detail, sizeof detail, "node=%llu reason=%s", (unsigned long long)k->self,
                     m->reason);
            struct store_mutation_builder *mb = store_mb_new();
            api_audit_add(mb, &who, "recording.file_removed", m->obj, detail);
            api_submit_mutation(k->a, mb, 0, 0, NULL, NULL);
        }
    } else if (rv != UV_ENOENT) {
        LOG_E("api", "%s: removing %s: %s", m->obj, fs->path, uv_strerror(rv));
    }
    uv_fs_req_cleanup(fs);
    free(m);
    k->jobs_in_flight--;
    rec_service_release(k);
}

void rec_sweep_on_row(struct api *a, const Recording *r)
{
    struct api_recordings *k = a->recordings;
    if (k == NULL || k->stopping || k->dir[0] == '\0' || r->deleted_at_ms == 0 ||
        !rec_held_by(r, k->self) || r->file[0] == '\0' || r->file[0] == '.' ||
        strchr(r->file, '/') != NULL) {
        return;
    }
    struct removal *m = calloc(1, sizeof *m);
    if (m == NULL) {
        waihu_fatal("api", "out of memory");
    }
    m->k = k;
    m->tenant = r->tenant_id;
    m->fs.data = m;
    snprintf(m->obj, sizeof m->obj, "recording/%llu-%llu", (unsigned long long)r->node,
             (unsigned long long)r->call_id);
    snprintf(m->reason, sizeof m->reason, "%s", r->deleted_reason);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", k->dir, r->file);
    k->jobs_in_flight++;
    int rv = uv_fs_unlink(a->loop, &m->fs, path, removed);
    if (rv != 0) {
        LOG_E("api", "%s: unlink %s: %s", m->obj, path, uv_strerror(rv));
        k->jobs_in_flight--;
        free(m);
    }
}

void rec_sweep_start(struct api *a)
{
    struct api_recordings *k = a->recordings;
    uv_timer_init(a->loop, &k->sweep_timer);
    k->sweep_timer.data = k;
    uv_timer_start(&k->sweep_timer, tick, SWEEP_MS, SWEEP_MS);
}

static void timer_closed(uv_handle_t *h)
{
    struct api_recordings *k = h->data;
    k->timer_closed = true;
    rec_service_release(k);
}

void rec_sweep_stop(struct api *a)
{
    struct api_recordings *k = a->recordings;
    k->stopping = true;
    uv_timer_stop(&k->sweep_timer);
    uv_close((uv_handle_t *)&k->sweep_timer, timer_closed);
}
