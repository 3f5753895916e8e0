/* Registrar and front door (SIP thread): digest authentication of REGISTER and agent
 * INVITEs, agent bindings, duplicate logins, and the source guard. Unknown users, wrong
 * passwords, banned sources and scanners all get the same reply built by one function:
 * 401 with a fresh challenge, after the same digest work (docs/sip.md "Security"). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/url.h>

#include "digest.h"
#include "dup.h"

struct credential {
    struct credential *next;
    char user[64], ha1[33], tenant[64];
    /* Registered on another node (sip_engine_set_elsewhere): host "" when not. */
    char away_host[SIP_HOST_MAX], away_node[64];
    int64_t away_until_ms; /* wall clock */
};

struct binding {
    struct binding *next;
    char user[64], contact[512], source[64], host[SIP_HOST_MAX];
    uint64_t expires_at_ms;
};

struct source {
    uint32_t ip; /* host order; 0 when unknown */
    char text[64];
    char host[SIP_HOST_MAX]; /* "" when unknown */
};

static void get_source(struct sip_engine *e, struct source *out)
{
    out->ip = 0;
    out->host[0] = '\0';
    snprintf(out->text, sizeof out->text, "?");
    msg_t *req = nua_current_request(e->nua);
    su_addrinfo_t *ai = req ? msg_addrinfo(req) : NULL;
    if (ai && ai->ai_addr && ai->ai_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        out->ip = ntohl(sin->sin_addr.s_addr);
        snprintf(out->host, sizeof out->host, "%s", ip);
        snprintf(out->text, sizeof out->text, "%s:%u", ip, ntohs(sin->sin_port));
    }
}

static struct credential *cred_find(struct sip_engine *e, const char *user)
{
    for (struct credential *c = e->creds; c; c = c->next) {
        if (strcmp(c->user, user) == 0) {
            return c;
        }
    }
    return NULL;
}

static struct binding **binding_find(struct sip_engine *e, const char *user)
{
    struct binding **p = &e->bindings;
    for (; *p; p = &(*p)->next) {
        if (strcmp((*p)->user, user) == 0) {
            break;
        }
    }
    return p;
}

static void emit_registered(struct sip_engine *e, const struct binding *b, const char *tenant,
                            uint32_t expires_s)
{
    struct sip_event ev = {.type = SIP_EV_REGISTERED, .reason = expires_s ? "bound" : "unbound",
                           .agent = b->user, .tenant = tenant && *tenant ? tenant : NULL,
                           .target = b->contact, .source = b->source, .expires_s = expires_s};
    engine_emit(e, &ev);
}

static void binding_remove(struct sip_engine *e, struct binding **p)
{
    struct binding *b = *p;
    struct credential *c = cred_find(e, b->user);
    *p = b->next;
    emit_registered(e, b, c ? c->tenant : NULL, 0);
    free(b);
}

static void note_ban(struct sip_engine *e, const struct source *src, const char *reason)
{
    atomic_fetch_add(&e->st_bans, 1);
    LOG_W(MOD, "ban source=%s reason=%s for_ms=%u", src->text, reason,
          e->cfg.guard_ban_ms ? e->cfg.guard_ban_ms : 600000);
    struct sip_event ev = {.type = SIP_EV_BANNED, .reason = reason, .source = src->text};
    engine_emit(e, &ev);
}

/* Accounts an out-of-dialog request; returns 1 when the source may proceed. */
static int admit(struct sip_engine *e, const struct source *src, sip_t const *sip)
{
    uint64_t now = clock_now_ms();
    const char *ua = sip->sip_user_agent ? sip->sip_user_agent->g_string : NULL;
    enum sip_guard_verdict v = sip_guard_check(e->guard, src->ip, now);
    if (v == SIP_GUARD_PASS && sip_guard_is_scanner(ua)) {
        v = sip_guard_ban(e->guard, src->ip, now);
        if (v == SIP_GUARD_NEW_BAN) {
            note_ban(e, src, "scanner");
        }
        atomic_fetch_add(&e->st_guard_rejects, 1);
        return 0;
    }
    if (v == SIP_GUARD_NEW_BAN) {
        note_ban(e, src, "flood");
    }
    if (v != SIP_GUARD_PASS) {
        atomic_fetch_add(&e->st_guard_rejects, 1);
        return 0;
    }
    return 1;
}

/* The one reply to anything not authenticated. */
static void challenge(struct sip_engine *e, nua_handle_t *nh, const struct source *src,
                      int with_this, int stale)
{
    char nonce[SIP_DIGEST_NONCE_LEN + 1], header[256];
    sip_digest_nonce(e->nonce_secret, clock_now_ms(), src->text, nonce);
    snprintf(header, sizeof header,
             "Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, qop=\"auth\"%s", e->realm,
             nonce, stale ? ", stale=TRUE" : "");
    nua_respond(nh, SIP_401_UNAUTHORIZED, SIPTAG_WWW_AUTHENTICATE_STR(header),
                TAG_IF(with_this, NUTAG_WITH_THIS(e->nua)), TAG_END());
}

enum auth { AUTH_OK, AUTH_NONE, AUTH_STALE, AUTH_BAD };

/* Checks the request's credentials; on AUTH_OK *who is the credential. Known and unknown
 * users take the same path (the unknown against a random HA1). */
static enum auth authenticate(struct sip_engine *e, sip_t const *sip, const struct source *src,
                              struct credential **who)
{
    struct sip_digest_creds cr;
    const sip_authorization_t *au = sip->sip_authorization;
    for (; au; au = au->au_next) {
        if (au->au_scheme && strcasecmp(au->au_scheme, "Digest") == 0 &&
            sip_digest_parse(au->au_params, &cr) == 0 && strcmp(cr.realm, e->realm) == 0) {
            break;
        }
    }
    if (!au) {
        return sip->sip_authorization ? AUTH_BAD : AUTH_NONE;
    }
    enum sip_nonce_check nc = sip_digest_nonce_check(
        e->nonce_secret, cr.nonce, src->text, clock_now_ms(), e->cfg.nonce_ttl_s * 1000u);
    if (nc == SIP_NONCE_BAD) {
        return AUTH_BAD;
    }
    struct credential *c = cred_find(e, cr.username);
    char expected[33];
    sip_digest_response(c ? c->ha1 : e->dummy_ha1, sip->sip_request->rq_method_name, &cr,
                        expected);
    int match = sip_digest_equal(cr.response, expected);
    if (nc == SIP_NONCE_STALE) {
        return AUTH_STALE;
    }
    if (!c || !match) {
        return AUTH_BAD;
    }
    *who = c;
    return AUTH_OK;
}

/* Runs the front door for REGISTER and INVITE: returns the credential, or NULL after
 * sending the challenge. */
static struct credential *front_door(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip,
                                     const struct source *src, int with_this)
{
    struct credential *who = NULL;
    if (!admit(e, src, sip)) {
        challenge(e, nh, src, with_this, 0);
        return NULL;
    }
    enum auth a = authenticate(e, sip, src, &who);
    if (a == AUTH_BAD) {
        atomic_fetch_add(&e->st_auth_failures, 1);
        if (sip_guard_auth_failed(e->guard, src->ip, clock_now_ms()) == SIP_GUARD_NEW_BAN) {
            note_ban(e, src, "auth-failures");
        }
    }
    if (a != AUTH_OK) {
        challenge(e, nh, src, with_this, a == AUTH_STALE);
        return NULL;
    }
    return who;
}

static uint32_t expiry_of(struct sip_engine *e, sip_t const *sip, const sip_contact_t *m)
{
    unsigned long v = 3600;
    if (m && m->m_expires) {
        v = strtoul(m->m_expires, NULL, 10);
    } else if (sip->sip_expires) {
        v = sip->sip_expires->ex_delta;
    }
    if (v == 0) {
        return 0;
    }
    if (v < e->cfg.register_min_s) {
        v = e->cfg.register_min_s;
    }
    if (v > e->cfg.register_max_s) {
        v = e->cfg.register_max_s;
    }
    return (uint32_t)v;
}

/* A second device for an agent registered from another host is refused, and so is an
 * unregister from anywhere but the device that holds the binding (docs/seat-api.md
 * "Duplicate logins"). Returns 1 after answering 403. */
static int refuse_duplicate(struct sip_engine *e, nua_handle_t *nh, const struct credential *who,
                            const struct binding *b, const struct source *src, int unregister)
{
    struct sip_holder here = {b ? b->host : NULL, b ? b->expires_at_ms : 0};
    struct sip_holder away = {who->away_host,
                              who->away_until_ms > 0 ? (uint64_t)who->away_until_ms : 0};
    int64_t wall = clock_wall_ms();
    enum sip_dup_verdict v = sip_dup_check(&here, clock_now_ms(), unregister ? NULL : &away,
                                           wall > 0 ? (uint64_t)wall : 0, src->host);
    if (v == SIP_DUP_ALLOW) {
        return 0;
    }
    atomic_fetch_add(&e->st_dup_refused, 1);
    if (v == SIP_DUP_HERE) {
        LOG_W(MOD, "duplicate login refused: %s of %s from %s: registered here from %s",
              unregister ? "unregister" : "register", who->user, src->text, b->source);
    } else {
        LOG_W(MOD, "duplicate login refused: register of %s from %s: registered on node %s "
              "from %s, held %lld s more", who->user, src->text, who->away_node, who->away_host,
              (long long)((who->away_until_ms - wall) / 1000));
    }
    nua_respond(nh, 403, SIP_DUP_PHRASE, NUTAG_WITH_THIS(e->nua), TAG_END());
    return 1;
}

void registrar_on_register(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip)
{
    struct source src;
    get_source(e, &src);
    struct credential *who = front_door(e, nh, sip, &src, 1);
    if (!who) {
        goto out;
    }
    const char *aor_user = sip->sip_to ? sip->sip_to->a_url->url_user : NULL;
    if (!aor_user || strcmp(aor_user, who->user) != 0) {
        nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(e->nua), TAG_END());
        goto out;
    }
    struct binding **p = binding_find(e, who->user);
    const sip_contact_t *m = sip->sip_contact;
    uint32_t expires = m ? expiry_of(e, sip, m) : 0;
    if (m && refuse_duplicate(e, nh, who, *p, &src, m->m_url->url_type == url_any || !expires)) {
        goto out;
    }
    atomic_fetch_add(&e->st_registers_ok, 1);
    if (!m) { /* a query */
        char reply[600] = "";
        if (*p) {
            snprintf(reply, sizeof reply, "<%s>;expires=%llu", (*p)->contact,
                     (unsigned long long)(((*p)->expires_at_ms - clock_now_ms()) / 1000));
        }
        nua_respond(nh, SIP_200_OK, TAG_IF(*p, SIPTAG_CONTACT_STR(reply)),
                    NUTAG_WITH_THIS(e->nua), TAG_END());
        goto out;
    }
    if (m->m_url->url_type == url_any || expires == 0) {
        if (*p) {
            binding_remove(e, p);
        }
        nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(e->nua), TAG_END());
        goto out;
    }
    struct binding *b = *p;
    if (!b && !(b = *p = calloc(1, sizeof *b))) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(e->nua), TAG_END());
        goto out;
    }
    snprintf(b->user, sizeof b->user, "%s", who->user);
    snprintf(b->source, sizeof b->source, "%s", src.text);
    snprintf(b->host, sizeof b->host, "%s", src.host);
    url_e(b->contact, (isize_t)sizeof b->contact, m->m_url);
    b->expires_at_ms = clock_now_ms() + (uint64_t)expires * 1000u;
    char reply[600];
    snprintf(reply, sizeof reply, "<%s>;expires=%u", b->contact, expires);
    nua_respond(nh, SIP_200_OK, SIPTAG_CONTACT_STR(reply), NUTAG_WITH_THIS(e->nua), TAG_END());
    emit_registered(e, b, who->tenant, expires);
out:
    nua_handle_destroy(nh);
}

void registrar_on_invite(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip)
{
    struct source src;
    get_source(e, &src);
    struct credential *who = front_door(e, nh, sip, &src, 0);
    if (!who) {
        return; /* the handle ends with the transaction (calls_on_event) */
    }
    const char *number = sip->sip_request->rq_url->url_user;
    if (!*binding_find(e, who->user)) {
        nua_respond(nh, SIP_403_FORBIDDEN, TAG_END());
        return;
    }
    if (e->dest && (!number || !sip_dest_allowed(e->dest, who->tenant, number))) {
        LOG_W(MOD, "agent %s (tenant %s) may not call %s", who->user, who->tenant,
              number ? number : "-");
        nua_respond(nh, SIP_403_FORBIDDEN, TAG_END());
        return;
    }
    calls_incoming(e, nh, sip, who->user, who->tenant[0] ? who->tenant : NULL, src.text);
}

void registrar_on_options(struct sip_engine *e, nua_handle_t *nh, sip_t const *sip)
{
    struct source src;
    get_source(e, &src);
    admit(e, &src, sip); /* counted and maybe banned; the reply is the same for everyone */
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(e->nua), TAG_END());
    nua_handle_destroy(nh);
}

static void set_elsewhere(struct credential *cr, const struct cmd *c)
{
    if (!cr) {
        return; /* no credential, no registration to guard: it comes with the next view */
    }
    snprintf(cr->away_host, sizeof cr->away_host, "%s", c->host ? c->host : "");
    snprintf(cr->away_node, sizeof cr->away_node, "%s", c->host ? c->node : "");
    cr->away_until_ms = c->host ? c->until_ms : 0;
}

void registrar_on_command(struct sip_engine *e, struct cmd *c)
{
    struct credential *cr = cred_find(e, c->user_name);
    if (c->type == CMD_SET_ELSEWHERE) {
        set_elsewhere(cr, c);
        return;
    }
    if (c->type == CMD_DROP_BINDING) {
        struct binding **b = binding_find(e, c->user_name);
        if (*b) {
            LOG_I(MOD, "binding of %s from %s dropped on request", (*b)->user, (*b)->source);
            binding_remove(e, b);
        }
        return;
    }
    if (c->type == CMD_DEL_CRED) {
        for (struct credential **p = &e->creds; *p; p = &(*p)->next) {
            if (*p == cr) {
                *p = cr->next;
                free(cr);
                break;
            }
        }
        struct binding **b = binding_find(e, c->user_name);
        if (*b) {
            binding_remove(e, b);
        }
        return;
    }
    if (!cr) {
        cr = calloc(1, sizeof *cr);
        if (!cr) {
            LOG_E(MOD, "credential of %s dropped: out of memory", c->user_name);
            return;
        }
        cr->next = e->creds;
        e->creds = cr;
    }
    snprintf(cr->user, sizeof cr->user, "%s", c->user_name);
    snprintf(cr->ha1, sizeof cr->ha1, "%s", c->ha1);
    snprintf(cr->tenant, sizeof cr->tenant, "%s", c->tenant ? c->tenant : "");
}

const char *registrar_contact(struct sip_engine *e, const char *user)
{
    struct binding *b = *binding_find(e, user);
    return b ? b->contact : NULL;
}

void registrar_sweep(struct sip_engine *e, uint64_t now_ms)
{
    for (struct binding **p = &e->bindings; *p;) {
        if ((*p)->expires_at_ms <= now_ms) {
            binding_remove(e, p);
        } else {
            p = &(*p)->next;
        }
    }
}

void registrar_free_all(struct sip_engine *e)
{
    while (e->creds) {
        struct credential *c = e->creds;
        e->creds = c->next;
        free(c);
    }
    while (e->bindings) {
        struct binding *b = e->bindings;
        e->bindings = b->next;
        free(b);
    }
}
