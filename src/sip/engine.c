/* The engine's two sides: the core-loop API (commands out as su_msg, events in through
 * a mutex queue and uv_async) and the SIP thread that owns sofia-sip (FIELD-NOTES: su_root
 * has no pollable fd, so it runs in its own thread with su_root_threading(root, 0)). */
#include <arpa/inet.h>
#include <assert.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/tport_tag.h>

#include "digest.h"
#include "dup.h"

#define ASSERT_LOOP_THREAD(e) assert(pthread_equal(pthread_self(), (e)->loop_thread))
#define SIP_UDP_RCVBUF_BYTES (4u << 20) /* capped by net.core.rmem_max (4 MiB here) */

/* ---- SIP thread ------------------------------------------------------------------- */

void engine_emit(struct sip_engine *e, const struct sip_event *ev)
{
    const char *strs[7] = {ev->reason ? ev->reason : "", ev->sdp, ev->agent, ev->tenant,
                           ev->target, ev->source, ev->dialog};
    size_t total = sizeof(struct ev_node);
    for (int i = 0; i < 7; i++) {
        total += strs[i] ? strlen(strs[i]) + 1 : 0;
    }
    struct ev_node *n = malloc(total);
    if (!n) {
        LOG_E(MOD, "event %d of call %llu lost: out of memory", ev->type,
              (unsigned long long)ev->call_id);
        return;
    }
    n->next = NULL;
    n->ev = *ev;
    char *p = (char *)(n + 1);
    const char **dst[7] = {&n->ev.reason, &n->ev.sdp, &n->ev.agent, &n->ev.tenant,
                           &n->ev.target, &n->ev.source, &n->ev.dialog};
    for (int i = 0; i < 7; i++) {
        if (strs[i]) {
            size_t len = strlen(strs[i]) + 1;
            memcpy(p, strs[i], len);
            *dst[i] = p;
            p += len;
        } else {
            *dst[i] = NULL;
        }
    }
    pthread_mutex_lock(&e->lock);
    if (e->ev_tail) {
        e->ev_tail->next = n;
    } else {
        e->ev_head = n;
    }
    e->ev_tail = n;
    pthread_mutex_unlock(&e->lock);
    uv_async_send(&e->async);
}

static void cmd_free(struct cmd *c)
{
    if (!c) {
        return;
    }
    free(c->target);
    free(c->agent);
    free(c->proxy);
    free(c->from);
    free(c->from_display);
    free(c->sdp);
    free(c->tenant);
    free(c->user_name);
    free(c->ha1);
    free(c->transport);
    free(c->host);
    free(c->node);
    free(c);
}

static void on_shutdown_timeout(struct sip_engine *e, su_timer_t *t, struct xcall *unused)
{
    (void)t, (void)unused;
    LOG_W(MOD, "nua shutdown did not finish in time; stopping anyway");
    su_root_break(e->root);
}

static void on_command(struct sip_engine *e, su_msg_r msg, su_msg_arg_t *arg)
{
    (void)msg;
    struct cmd *c = *(struct cmd **)arg;
    switch (c->type) {
    case CMD_SET_CRED:
    case CMD_DEL_CRED:
    case CMD_SET_ELSEWHERE:
    case CMD_DROP_BINDING:
        registrar_on_command(e, c);
        break;
    case CMD_OPTIONS:
        options_on_command(e, c);
        break;
    case CMD_SHUTDOWN:
        e->shutdown_timer = su_timer_create(su_root_task(e->root), 0);
        su_timer_set_interval(e->shutdown_timer, on_shutdown_timeout, NULL, 5000);
        nua_shutdown(e->nua);
        break;
    default:
        calls_on_command(e, c);
    }
    cmd_free(c);
}

static void on_nua(nua_event_t event, int status, char const *phrase, nua_t *nua,
                   struct sip_engine *e, nua_handle_t *nh, struct xcall *xc, sip_t const *sip,
                   tagi_t tags[])
{
    (void)nua;
    switch (event) {
    case nua_i_register:
        if (status < 300 && sip) {
            registrar_on_register(e, nh, sip);
        } else {
            nua_handle_destroy(nh);
        }
        break;
    case nua_i_options:
        if (status < 300 && sip) {
            registrar_on_options(e, nh, sip);
        } else {
            nua_handle_destroy(nh);
        }
        break;
    case nua_i_invite:
        if (!xc) {
            if (status < 300 && sip) {
                registrar_on_invite(e, nh, sip);
            }
            break;
        }
        calls_on_event(e, event, status, phrase, nh, xc, sip, tags);
        break;
    case nua_r_options:
        if (!options_on_response(e, nh, status, phrase)) {
            calls_on_event(e, event, status, phrase, nh, xc, sip, tags);
        }
        break;
    case nua_r_shutdown:
        if (status >= 200) {
            e->shutdown_done = 1;
            su_root_break(e->root);
        }
        break;
    default:
        calls_on_event(e, event, status, phrase, nh, xc, sip, tags);
    }
}

static void on_sweep(struct sip_engine *e, su_timer_t *t, struct xcall *unused)
{
    (void)t, (void)unused;
    registrar_sweep(e, clock_now_ms());
}

static void started(struct sip_engine *e, int state)
{
    pthread_mutex_lock(&e->lock);
    e->start_state = state;
    pthread_cond_signal(&e->started_cond);
    pthread_mutex_unlock(&e->lock);
}

static void *sip_thread(void *arg)
{
    struct sip_engine *e = arg;
    char url[160];
    const char *bind = e->bind_udp ? e->bind_udp : e->bind_tcp;
    const char *transport = !e->bind_udp ? ";transport=tcp" : !e->bind_tcp ? ";transport=udp" : "";
    snprintf(url, sizeof url, "sip:%s%s", bind, transport);

    sip_steady_clock_install();
    su_init();
    su_log_set_level(NULL, 0);
    e->root = su_root_create(e);
    if (!e->root) {
        goto fail;
    }
    su_root_threading(e->root, 0);
    e->nua = nua_create(e->root, on_nua, e, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                        NUTAG_AUTOALERT(0), NUTAG_AUTOANSWER(0), NUTAG_ENABLEMESSAGE(0),
                        NUTAG_ALLOW("INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, "
                                    "REGISTER, INFO"),
                        NUTAG_APPL_METHOD("INVITE, REGISTER, OPTIONS"),
                        TAG_IF(e->user_agent, SIPTAG_USER_AGENT_STR(e->user_agent)),
                        TAG_IF(e->cfg.transaction_timeout_ms,
                               NTATAG_SIP_T1X64(e->cfg.transaction_timeout_ms)),
                        /* the kernel's 208 KiB default overflowed at ~200 calls/s
                           (bench/sip_load.sh: 10,746 datagrams dropped at 300/s) */
                        TPTAG_UDP_RMEM(SIP_UDP_RCVBUF_BYTES), TAG_END());
    if (!e->nua) {
        LOG_E(MOD, "cannot bind %s", url);
        goto fail;
    }
    if (!e->user_agent) {
        /* SIP_NONE drops the header: no product token for scanners to fingerprint. */
        nua_set_params(e->nua, SIPTAG_USER_AGENT(SIP_NONE), TAG_END());
    }
    e->sweep_timer = su_timer_create(su_root_task(e->root), 1000);
    su_timer_set_for_ever(e->sweep_timer, on_sweep, NULL);
    LOG_I(MOD, "listening on %s", url);
    started(e, 1);
    su_root_run(e->root);

    calls_free_all(e);
    registrar_free_all(e);
    options_free_all(e);
    su_timer_destroy(e->sweep_timer);
    su_timer_destroy(e->shutdown_timer);
    if (e->shutdown_done) {
        nua_destroy(e->nua);
    }
    su_root_destroy(e->root);
    su_deinit();
    return NULL;
fail:
    if (e->root) {
        su_root_destroy(e->root);
    }
    su_deinit();
    started(e, -1);
    return NULL;
}

/* ---- core loop -------------------------------------------------------------------- */

static void on_async(uv_async_t *handle)
{
    struct sip_engine *e = handle->data;
    pthread_mutex_lock(&e->lock);
    struct ev_node *n = e->ev_head;
    e->ev_head = e->ev_tail = NULL;
    pthread_mutex_unlock(&e->lock);
    while (n) {
        struct ev_node *next = n->next;
        if (!e->closing) {
            e->cb(e, &n->ev, e->cb_data);
        }
        free(n);
        n = next;
    }
}

static int send_cmd(struct sip_engine *e, struct cmd *c)
{
    su_msg_r msg = SU_MSG_R_INIT;
    if (e->closing) {
        cmd_free(c);
        return WAIHU_ESHUTDOWN;
    }
    if (su_msg_create(msg, su_root_task(e->root), su_task_null, on_command, sizeof c) != 0) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    *(struct cmd **)su_msg_data(msg) = c;
    if (su_msg_send(msg) != 0) {
        cmd_free(c);
        return WAIHU_EIO;
    }
    return 0;
}

/* strdup that keeps NULL; sets *failed when a copy fails. */
static char *copy(const char *s, int *failed)
{
    if (!s) {
        return NULL;
    }
    char *d = strdup(s);
    if (!d) {
        *failed = 1;
    }
    return d;
}

static void engine_release(struct sip_engine *e)
{
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->started_cond);
    sip_guard_free(e->guard);
    sip_dest_free(e->dest);
    free(e->bind_udp);
    free(e->bind_tcp);
    free(e->realm);
    free(e->user_agent);
    free(e->guard_exempt);
    free(e);
}

static void on_closed(uv_handle_t *h)
{
    engine_release(h->data);
}

static int setup_guard(struct sip_engine *e)
{
    struct sip_guard_config g = {
        .rate_per_s = e->cfg.guard_rate_per_s ? e->cfg.guard_rate_per_s : 20,
        .burst = e->cfg.guard_burst ? e->cfg.guard_burst : 40,
        .fail_limit = e->cfg.guard_fail_limit ? e->cfg.guard_fail_limit : 10,
        .fail_window_ms = 60000,
        .ban_ms = e->cfg.guard_ban_ms ? e->cfg.guard_ban_ms : 600000,
        .capacity = 8192,
    };
    e->guard = sip_guard_new(&g);
    if (!e->guard) {
        return WAIHU_ENOMEM;
    }
    for (char *p = e->guard_exempt; p && *p;) {
        char ip[32];
        size_t len = strcspn(p, ",");
        struct in_addr a;
        snprintf(ip, sizeof ip, "%.*s", (int)len, p);
        if (inet_pton(AF_INET, ip, &a) != 1 || sip_guard_exempt(e->guard, ntohl(a.s_addr))) {
            LOG_E(MOD, "guard_exempt: \"%s\" is not an IPv4 address (or too many)", ip);
            return WAIHU_EINVAL;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

int sip_engine_new(uv_loop_t *loop, const struct sip_engine_config *config, sip_event_cb cb,
                   void *data, struct sip_engine **out)
{
    struct sockaddr_in sa;
    char err[256];
    int failed = 0, rv;
    if (!loop || !config || !cb || (!config->bind_udp && !config->bind_tcp)) {
        return WAIHU_EINVAL;
    }
    if ((config->bind_udp && addr_parse_ipv4(config->bind_udp, &sa) != 0) ||
        (config->bind_tcp && addr_parse_ipv4(config->bind_tcp, &sa) != 0) ||
        (config->bind_udp && config->bind_tcp && strcmp(config->bind_udp, config->bind_tcp))) {
        LOG_E(MOD, "bind_udp/bind_tcp: want one a.b.c.d:port (the same for both)");
        return WAIHU_EINVAL;
    }
    struct sip_engine *e = calloc(1, sizeof *e);
    if (!e) {
        return WAIHU_ENOMEM;
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->started_cond, NULL);
    e->loop = loop;
    e->loop_thread = pthread_self();
    e->cb = cb;
    e->cb_data = data;
    e->cfg = *config;
    e->bind_udp = copy(config->bind_udp, &failed);
    e->bind_tcp = copy(config->bind_tcp, &failed);
    e->realm = copy(config->realm ? config->realm : "waihu", &failed);
    e->user_agent = copy(config->user_agent, &failed);
    e->guard_exempt = copy(config->guard_exempt, &failed);
    e->cfg.dest_rules = NULL; /* compiled below; the caller's array is not kept */
    if (!e->cfg.register_min_s) {
        e->cfg.register_min_s = 60;
    }
    if (!e->cfg.register_max_s) {
        e->cfg.register_max_s = 3600;
    }
    if (!e->cfg.nonce_ttl_s) {
        e->cfg.nonce_ttl_s = 300;
    }
    atomic_init(&e->next_call_id, 1);
    if (failed) {
        rv = WAIHU_ENOMEM;
        goto err;
    }
    if ((rv = setup_guard(e)) != 0) {
        goto err;
    }
    if (config->dest_rules &&
        sip_dest_compile(config->dest_rules, config->n_dest_rules, &e->dest, err, sizeof err)) {
        LOG_E(MOD, "dest_rules: %s", err);
        rv = WAIHU_EINVAL;
        goto err;
    }
    if (RAND_bytes(e->nonce_secret, sizeof e->nonce_secret) != 1) {
        rv = WAIHU_EIO;
        goto err;
    }
    uint8_t dummy[16];
    RAND_bytes(dummy, sizeof dummy);
    sip_digest_md5_hex((const char *)dummy, sizeof dummy, e->dummy_ha1);
    if (uv_async_init(loop, &e->async, on_async) != 0) {
        rv = WAIHU_EIO;
        goto err;
    }
    e->async.data = e;
    if (pthread_create(&e->thread, NULL, sip_thread, e) != 0) {
        e->closing = 1;
        uv_close((uv_handle_t *)&e->async, on_closed);
        return WAIHU_EIO;
    }
    e->thread_started = 1;
    pthread_mutex_lock(&e->lock);
    while (e->start_state == 0) {
        pthread_cond_wait(&e->started_cond, &e->lock);
    }
    int state = e->start_state;
    pthread_mutex_unlock(&e->lock);
    if (state < 0) {
        pthread_join(e->thread, NULL);
        e->closing = 1;
        uv_close((uv_handle_t *)&e->async, on_closed);
        return WAIHU_EIO;
    }
    *out = e;
    return 0;
err:
    engine_release(e);
    return rv;
}

void sip_engine_free(struct sip_engine *e)
{
    if (!e) {
        return;
    }
    ASSERT_LOOP_THREAD(e);
    struct cmd *c = calloc(1, sizeof *c);
    if (c) {
        c->type = CMD_SHUTDOWN;
        send_cmd(e, c);
    }
    e->closing = 1;
    pthread_join(e->thread, NULL);
    on_async(&e->async); /* drops what is queued: no event after free */
    uv_close((uv_handle_t *)&e->async, on_closed);
}

int sip_engine_set_credential(struct sip_engine *e, const char *user, const char *ha1_hex,
                              const char *password, const char *tenant)
{
    ASSERT_LOOP_THREAD(e);
    char ha1[33];
    if (!user || !*user || strlen(user) >= 64 || (!ha1_hex == !password) ||
        (tenant && strlen(tenant) >= 64)) {
        return WAIHU_EINVAL;
    }
    if (ha1_hex) {
        if (strlen(ha1_hex) != 32 || strspn(ha1_hex, "0123456789abcdefABCDEF") != 32) {
            return WAIHU_EINVAL;
        }
        for (int i = 0; i < 33; i++) {
            ha1[i] = (char)(ha1_hex[i] >= 'A' && ha1_hex[i] <= 'F' ? ha1_hex[i] + 32 : ha1_hex[i]);
        }
    } else {
        sip_digest_ha1(user, e->realm, password, ha1);
    }
    int failed = 0;
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->type = CMD_SET_CRED;
    c->user_name = copy(user, &failed);
    c->ha1 = copy(ha1, &failed);
    c->tenant = copy(tenant, &failed);
    if (failed) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    return send_cmd(e, c);
}

int sip_engine_remove_credential(struct sip_engine *e, const char *user)
{
    ASSERT_LOOP_THREAD(e);
    int failed = 0;
    if (!user) {
        return WAIHU_EINVAL;
    }
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->type = CMD_DEL_CRED;
    c->user_name = copy(user, &failed);
    if (failed) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    return send_cmd(e, c);
}

int sip_engine_set_elsewhere(struct sip_engine *e, const char *user, const char *host,
                             int64_t until_ms, const char *node)
{
    ASSERT_LOOP_THREAD(e);
    int failed = 0;
    if (!user || !*user || strlen(user) >= 64 || (host && strlen(host) >= SIP_HOST_MAX) ||
        (node && strlen(node) >= 64)) {
        return WAIHU_EINVAL;
    }
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->type = CMD_SET_ELSEWHERE;
    c->until_ms = until_ms;
    c->user_name = copy(user, &failed);
    c->host = copy(host, &failed);
    c->node = copy(node ? node : "", &failed);
    if (failed) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    return send_cmd(e, c);
}

int sip_engine_drop_binding(struct sip_engine *e, const char *user)
{
    ASSERT_LOOP_THREAD(e);
    int failed = 0;
    if (!user || !*user) {
        return WAIHU_EINVAL;
    }
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->type = CMD_DROP_BINDING;
    c->user_name = copy(user, &failed);
    if (failed) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    return send_cmd(e, c);
}

int sip_call_originate(struct sip_engine *e, const struct sip_originate *req, uint64_t *call_id)
{
    ASSERT_LOOP_THREAD(e);
    int failed = 0;
    if (!req || !req->sdp || !req->from || (!req->target == !req->agent)) {
        return WAIHU_EINVAL;
    }
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->type = CMD_ORIGINATE;
    c->call_id = atomic_fetch_add(&e->next_call_id, 1);
    c->user = req->user;
    c->timeout_ms = req->timeout_ms ? req->timeout_ms : 60000;
    c->target = copy(req->target, &failed);
    c->agent = copy(req->agent, &failed);
    c->proxy = copy(req->proxy, &failed);
    c->from = copy(req->from, &failed);
    c->from_display = copy(req->from_display, &failed);
    c->sdp = copy(req->sdp, &failed);
    c->tenant = copy(req->tenant, &failed);
    if (failed) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    uint64_t id = c->call_id;
    int rv = send_cmd(e, c);
    if (rv == 0) {
        *call_id = id;
    }
    return rv;
}

static int call_cmd(struct sip_engine *e, enum cmd_type type, uint64_t call_id, int status,
                    const char *text)
{
    ASSERT_LOOP_THREAD(e);
    int failed = 0;
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->type = type;
    c->call_id = call_id;
    c->status = status;
    if (type == CMD_REFER) {
        c->target = copy(text, &failed);
    } else {
        c->sdp = copy(text, &failed);
    }
    if (failed) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    return send_cmd(e, c);
}

int sip_call_answer(struct sip_engine *e, uint64_t call_id, const char *sdp)
{
    return sdp ? call_cmd(e, CMD_ANSWER, call_id, 200, sdp) : WAIHU_EINVAL;
}

int sip_call_respond(struct sip_engine *e, uint64_t call_id, int status, const char *sdp)
{
    if (status < 101 || status > 699 || (status >= 200 && status < 300)) {
        return WAIHU_EINVAL;
    }
    return call_cmd(e, CMD_RESPOND, call_id, status, sdp);
}

int sip_call_hangup(struct sip_engine *e, uint64_t call_id)
{
    return call_cmd(e, CMD_HANGUP, call_id, 0, NULL);
}

int sip_call_refer(struct sip_engine *e, uint64_t call_id, const char *refer_to)
{
    return refer_to ? call_cmd(e, CMD_REFER, call_id, 0, refer_to) : WAIHU_EINVAL;
}

/* A host:port or SIP URI that can go into a request line and a header unquoted. */
static int addr_ok(const char *s)
{
    if (!s || !*s || strlen(s) >= 256 || strpbrk(s, " \t\r\n<>\"")) {
        return 0;
    }
    /* parameters only inside a URI */
    return strncmp(s, "sip:", 4) == 0 || strncmp(s, "sips:", 5) == 0 || !strpbrk(s, ",;");
}

int sip_engine_options_ping(struct sip_engine *e, const struct sip_options *req)
{
    ASSERT_LOOP_THREAD(e);
    int failed = 0;
    if (!req || !addr_ok(req->target) || (req->proxy && !addr_ok(req->proxy)) ||
        (req->transport && strcmp(req->transport, "udp") != 0 &&
         strcmp(req->transport, "tcp") != 0 && strcmp(req->transport, "tls") != 0)) {
        return WAIHU_EINVAL;
    }
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) {
        return WAIHU_ENOMEM;
    }
    c->type = CMD_OPTIONS;
    c->user = req->user;
    c->timeout_ms = req->timeout_ms ? req->timeout_ms : 4000;
    c->target = copy(req->target, &failed);
    c->proxy = copy(req->proxy, &failed);
    c->transport = copy(req->transport, &failed);
    if (failed) {
        cmd_free(c);
        return WAIHU_ENOMEM;
    }
    /* counted before sending: the SIP thread may answer before send_cmd returns */
    atomic_fetch_add(&e->st_pings_pending, 1);
    int rv = send_cmd(e, c);
    if (rv != 0) {
        atomic_fetch_sub(&e->st_pings_pending, 1);
    }
    return rv;
}

void sip_engine_stats(struct sip_engine *e, struct sip_engine_stats *out)
{
    out->calls_out = atomic_load(&e->st_calls_out);
    out->calls_in = atomic_load(&e->st_calls_in);
    out->calls_active = atomic_load(&e->st_calls_active);
    out->registers_ok = atomic_load(&e->st_registers_ok);
    out->auth_failures = atomic_load(&e->st_auth_failures);
    out->guard_rejects = atomic_load(&e->st_guard_rejects);
    out->bans = atomic_load(&e->st_bans);
    out->illegal_moves = atomic_load(&e->st_illegal);
    out->pings_sent = atomic_load(&e->st_pings_sent);
    out->pings_pending = atomic_load(&e->st_pings_pending);
    out->dup_refused = atomic_load(&e->st_dup_refused);
}
