/* OPTIONS pings in the SIP thread (trunk health probes, docs/trunks.md): one nua handle per
 * ping, one engine timer armed for the earliest deadline, exactly one SIP_EV_OPTIONS per
 * ping (the answer, the timeout, or a failure to send), after which the handle is gone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

struct xping {
    nua_handle_t *nh; /* bound to no call: found by handle in e->pings */
    void *user;
    uint64_t deadline_ms;
    char uri[320];
    struct xping *next;
};

/* "host:port" or a SIP URI -> a SIP URI with the transport parameter when not UDP. */
static int to_uri(const char *addr, const char *transport, char *out, size_t cap)
{
    int is_uri = strncmp(addr, "sip:", 4) == 0 || strncmp(addr, "sips:", 5) == 0;
    int add = transport && strcmp(transport, "udp") != 0 && !strstr(addr, "transport=");
    int n = snprintf(out, cap, "%s%s%s%s", is_uri ? "" : "sip:", addr, add ? ";transport=" : "",
                     add ? transport : "");
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void on_ping_timer(struct sip_engine *e, su_timer_t *t, struct xcall *unused);

static void arm(struct sip_engine *e)
{
    if (!e->ping_timer) {
        return;
    }
    if (!e->pings) {
        su_timer_reset(e->ping_timer);
        return;
    }
    uint64_t first = e->pings->deadline_ms;
    for (struct xping *p = e->pings->next; p; p = p->next) {
        first = p->deadline_ms < first ? p->deadline_ms : first;
    }
    uint64_t now = clock_now_ms();
    su_timer_set_interval(e->ping_timer, on_ping_timer, NULL,
                          first > now ? (su_duration_t)(first - now) : 1);
}

/* Emits the ping's one event and forgets it (the caller re-arms the timer). */
static void finish(struct sip_engine *e, struct xping *p, int status, const char *phrase)
{
    for (struct xping **pp = &e->pings; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    struct sip_event ev = {.type = SIP_EV_OPTIONS, .user = p->user, .status = status,
                           .reason = phrase ? phrase : "", .target = p->uri};
    engine_emit(e, &ev);
    if (p->nh) {
        nua_handle_destroy(p->nh); /* a late answer finds no handle and is dropped */
    }
    free(p);
    atomic_fetch_sub(&e->st_pings_pending, 1);
}

static void on_ping_timer(struct sip_engine *e, su_timer_t *t, struct xcall *unused)
{
    (void)t, (void)unused;
    uint64_t now = clock_now_ms();
    struct xping *p = e->pings;
    while (p) {
        struct xping *next = p->next;
        if (p->deadline_ms <= now) {
            finish(e, p, 408, "no answer");
        }
        p = next;
    }
    arm(e);
}

void options_on_command(struct sip_engine *e, struct cmd *c)
{
    char from[128], to[340], proxy[340];
    struct xping *p = calloc(1, sizeof *p);
    if (!p) {
        struct sip_event ev = {.type = SIP_EV_OPTIONS, .user = c->user, .status = 0,
                               .reason = "out of memory", .target = c->target};
        engine_emit(e, &ev);
        atomic_fetch_sub(&e->st_pings_pending, 1);
        return;
    }
    p->user = c->user;
    p->deadline_ms = clock_now_ms() + c->timeout_ms;
    p->next = e->pings;
    e->pings = p;
    if (!e->ping_timer) {
        e->ping_timer = su_timer_create(su_root_task(e->root), 0);
    }
    if (to_uri(c->target, c->transport, p->uri, sizeof p->uri) != 0 ||
        (c->proxy && to_uri(c->proxy, c->transport, proxy, sizeof proxy - 6) != 0)) {
        snprintf(p->uri, sizeof p->uri, "%.*s", (int)sizeof p->uri - 1, c->target);
        finish(e, p, 0, "URI too long");
        return;
    }
    snprintf(from, sizeof from, "<sip:ping@%s>", e->realm);
    snprintf(to, sizeof to, "<%s>", p->uri);
    if (c->proxy) {
        memmove(proxy + 1, proxy, strlen(proxy) + 1);
        proxy[0] = '<';
        strcat(proxy, ";lr>");
    }
    p->nh = nua_handle(e->nua, NULL, NUTAG_URL(p->uri), SIPTAG_TO_STR(to),
                       SIPTAG_FROM_STR(from), TAG_END());
    if (!p->nh || !e->ping_timer) {
        finish(e, p, 0, "out of memory");
        arm(e);
        return;
    }
    atomic_fetch_add(&e->st_pings_sent, 1);
    /* An unusable URI comes back at once as a nua_r_options with a 9xx status. */
    nua_options(p->nh, TAG_IF(c->proxy, SIPTAG_ROUTE_STR(proxy)), TAG_END());
    arm(e);
}

int options_on_response(struct sip_engine *e, nua_handle_t *nh, int status, char const *phrase)
{
    for (struct xping *p = e->pings; p; p = p->next) {
        if (p->nh == nh) {
            if (status >= 200) {
                /* sofia's own errors (9xx: bad URI, no transport) mean "not sent" */
                finish(e, p, status >= 700 ? 0 : status, phrase);
                arm(e);
            }
            return 1;
        }
    }
    return 0;
}

void options_free_all(struct sip_engine *e)
{
    while (e->pings) {
        struct xping *p = e->pings;
        e->pings = p->next;
        free(p); /* nua_destroy releases the handles; no event after sip_engine_free */
        atomic_fetch_sub(&e->st_pings_pending, 1);
    }
    if (e->ping_timer) {
        su_timer_destroy(e->ping_timer);
        e->ping_timer = NULL;
    }
}
