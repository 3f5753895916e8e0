/* Private to src/sip: the engine object shared by the core-side API (engine.c) and the
 * SIP thread's handlers (calls.c, registrar.c). Fields are marked with the thread that
 * owns them; the event queue and the atomics are the only things both touch. */
#ifndef WAIHU_SIP_ENGINE_INTERNAL_H
#define WAIHU_SIP_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct sip_engine;
struct xcall;
#define SU_ROOT_MAGIC_T struct sip_engine
#define NUA_MAGIC_T struct sip_engine
#define NUA_HMAGIC_T struct xcall
#define SU_TIMER_ARG_T struct xcall

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#include "call_state.h"
#include "dest.h"
#include "guard.h"
#include "sip.h"

#define MOD "sip"

/* A call, owned by the SIP thread. */
struct xcall {
    uint64_t id;
    void *user;
    nua_handle_t *nh;
    enum call_state state;
    int outgoing;
    int answered_emitted, final_emitted, timed_out, hangup_requested;
    int final_status;
    char end_reason[32];
    char dialog[128];           /* SIP Call-ID */
    su_timer_t *timer;          /* no-answer timeout of outgoing calls */
    char *local_sdp;            /* our last SDP (re-INVITEs are answered with it) */
    struct xcall *hnext;        /* hash chain */
};

/* Commands from the core loop to the SIP thread (one su_msg each). */
enum cmd_type {
    CMD_ORIGINATE = 1, CMD_ANSWER, CMD_RESPOND, CMD_HANGUP, CMD_REFER,
    CMD_SET_CRED, CMD_DEL_CRED, CMD_OPTIONS, CMD_SHUTDOWN,
    CMD_SET_ELSEWHERE, /* user_name, host (NULL: clear), node, until_ms (wall clock) */
    CMD_DROP_BINDING,  /* user_name */
};

struct cmd {
    enum cmd_type type;
    uint64_t call_id;
    int status;
    uint32_t timeout_ms;
    int64_t until_ms;
    void *user;
    char *target, *agent, *proxy, *from, *from_display, *sdp, *tenant, *user_name, *ha1;
    char *transport, *host, *node;
};

struct ev_node {
    struct ev_node *next;
    struct sip_event ev; /* strings point into the same allocation */
};

struct credential;
struct binding;
struct xping;

#define CALL_BUCKETS 4096

struct sip_engine {
    /* Set at creation, read-only afterwards. */
    uv_loop_t *loop;
    pthread_t loop_thread;
    sip_event_cb cb;
    void *cb_data;
    char *bind_udp, *bind_tcp, *realm, *user_agent, *guard_exempt;
    struct sip_engine_config cfg;
    uint8_t nonce_secret[32];
    char dummy_ha1[33];           /* unknown users are checked against it: same work */

    /* Core loop only. */
    uv_async_t async;
    pthread_t thread;
    int thread_started, closing;

    /* Both threads: the event queue, start handshake, counters. */
    pthread_mutex_t lock;
    pthread_cond_t started_cond;
    int start_state;              /* 0 starting, 1 running, -1 failed */
    struct ev_node *ev_head, *ev_tail;
    atomic_uint_fast64_t next_call_id;
    atomic_uint_fast64_t st_calls_out, st_calls_in, st_calls_active, st_registers_ok,
        st_auth_failures, st_guard_rejects, st_bans, st_illegal, st_pings_sent,
        st_pings_pending, st_dup_refused;

    /* SIP thread only. */
    su_root_t *root;
    nua_t *nua;
    su_timer_t *sweep_timer, *shutdown_timer;
    int shutdown_done;
    struct xcall *calls[CALL_BUCKETS];
    struct credential *creds;
    struct binding *bindings;
    struct sip_guard *guard;
    struct sip_dest_table *dest;
    struct xping *pings;          /* OPTIONS pings awaiting their answer (options.c) */
    su_timer_t *ping_timer;       /* armed for the earliest ping deadline */
};

/* engine.c (SIP thread): deep-copies ev and queues it for the core loop. */
void engine_emit(struct sip_engine *e, const struct sip_event *ev);

/* calls.c (SIP thread) */
void calls_on_command(struct sip_engine *e, struct cmd *c);
void calls_on_event(struct sip_engine *e, nua_event_t event, int status, char const *phrase,
                    nua_handle_t *nh, struct xcall *xc, sip_t const *sip, tagi_t tags[]);
/* Creates the call of an authenticated agent INVITE and emits INCOMING. */
void calls_incoming(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip,
                    const char *agent, const char *tenant, const char *source);
void calls_free_all(struct sip_engine *e);

/* options.c (SIP thread): OPTIONS pings. A response on a handle that is no ping returns 0. */
void options_on_command(struct sip_engine *e, struct cmd *c);
int options_on_response(struct sip_engine *e, nua_handle_t *nh, int status, char const *phrase);
void options_free_all(struct sip_engine *e);

/* registrar.c (SIP thread) */
void registrar_on_register(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip);
void registrar_on_invite(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip);
void registrar_on_options(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip);
void registrar_on_command(struct sip_engine *e, struct cmd *c);
/* Contact URI of a registered agent, or NULL. */
const char *registrar_contact(struct sip_engine *e, const char *user);
void registrar_sweep(struct sip_engine *e, uint64_t now_ms);
void registrar_free_all(struct sip_engine *e);

/* Makes sofia-sip's clock steady (wall clock at start + monotonic time): a stepped wall
 * clock must not reach its timers (steady_clock.c). Process-wide, idempotent. */
void sip_steady_clock_install(void);

#endif
