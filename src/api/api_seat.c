/* The live view of every agent's state on this node: loaded from the store at start and
 * kept by a watcher of the agent family, so any node answers the wallboard and streams
 * changes the moment they are applied here (docs/seat-api.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_seat_internal.h"

#define USER_PREFIX STORE_SERVICE_META_PREFIX "user/"

size_t seat_key(uint64_t tenant, const char *name, uint8_t out[SEAT_KEY_MAX])
{
    size_t n = strnlen(name, 63);
    out[0] = 's';
    be64_put(out + 1, tenant);
    memcpy(out + 9, name, n);
    return 9 + n;
}

bool seat_user(struct api *a, const char *name, uint64_t *tenant, char department[64],
               bool *disabled)
{
    char k[160];
    snprintf(k, sizeof k, USER_PREFIX "%s", name);
    void *val;
    size_t len;
    if (store_get(a->store, STORE_CF_META, k, strlen(k), &val, &len) != 0) {
        return false;
    }
    User *u = user__unpack(NULL, len, val);
    free(val);
    if (u == NULL) {
        return false;
    }
    *tenant = u->tenant_id;
    snprintf(department, 64, "%s", u->department);
    *disabled = u->disabled;
    user__free_unpacked(u, NULL);
    return true;
}

uint32_t seat_today(int64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* Binary search by name: the index of name, or where it would go (*found false). */
static size_t seat_index(struct api_seat *s, const char *name, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->entries[mid].st->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

struct seat_entry *seat_find(struct api_seat *s, const char *name)
{
    bool found;
    size_t i = seat_index(s, name, &found);
    return found ? &s->entries[i] : NULL;
}

/* Takes st (unpacked) into the view and tells the listeners. */
static void seat_upsert(struct api_seat *s, AgentState *st)
{
    bool found;
    size_t i = seat_index(s, st->name, &found);
    if (found) {
        agent_state__free_unpacked(s->entries[i].st, NULL);
        s->entries[i].st = st;
    } else {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 64;
            struct seat_entry *e = realloc(s->entries, cap * sizeof *e);
            if (e == NULL) {
                waihu_fatal("seat", "out of memory");
            }
            s->entries = e;
            s->cap = cap;
        }
        memmove(&s->entries[i + 1], &s->entries[i], (s->n - i) * sizeof *s->entries);
        s->entries[i] = (struct seat_entry){.st = st};
        s->n++;
    }
    for (struct seat_listener *l = s->listeners; l != NULL; l = l->next) {
        l->fn(l->data, st);
    }
}

static void seat_clear(struct api_seat *s)
{
    for (size_t i = 0; i < s->n; i++) {
        agent_state__free_unpacked(s->entries[i].st, NULL);
    }
    s->n = 0;
}

static int load_one(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen;
    AgentState *st = agent_state__unpack(NULL, vlen, val);
    if (st != NULL) {
        seat_upsert(data, st);
    }
    return 0;
}

static void on_agent_family(void *data, const void *key, size_t klen, const void *val,
                            size_t vlen)
{
    struct api_seat *s = data;
    if (key == NULL) { /* a snapshot was installed */
        seat_clear(s);
        store_scan(s->a->store, STORE_CF_AGENT, "s", 1, NULL, 0, load_one, s);
        seat_calls_view_loaded(s);
        return;
    }
    if (klen < 10 || ((const uint8_t *)key)[0] != 's' || val == NULL) {
        return; /* dispositions; agent states are never deleted */
    }
    AgentState *st = agent_state__unpack(NULL, vlen, val);
    if (st == NULL) {
        LOG_W("seat", "an agent state that does not parse (%zu bytes): ignored", vlen);
        return;
    }
    struct seat_entry *old = seat_find(s, st->name);
    seat_calls_view_changed(s, old != NULL ? old->st : NULL, st);
    seat_upsert(s, st);
}

void api_seat_start(struct api *a)
{
    struct api_seat *s = calloc(1, sizeof *s);
    if (s == NULL) {
        waihu_fatal("seat", "out of memory");
    }
    s->a = a;
    const struct cluster_config *cc = cluster_config_get(a->cluster);
    s->self_id = cc->self.id;
    snprintf(s->self_name, sizeof s->self_name, "%s", cc->self.name);
    a->seat = s;
    store_scan(a->store, STORE_CF_AGENT, "s", 1, NULL, 0, load_one, s);
    store_watch(a->store, STORE_CF_AGENT, on_agent_family, s);
}

void api_seat_attach(struct api *a, struct telephony *t)
{
    if (a->seat != NULL) {
        seat_calls_attach(a->seat, t);
    }
}

void seat_release(struct api_seat *s)
{
    seat_clear(s);
    free(s->entries);
    while (s->listeners != NULL) {
        struct seat_listener *l = s->listeners;
        s->listeners = l->next;
        free(l);
    }
    free(s);
}

static void timer_closed(uv_handle_t *h)
{
    struct api_seat *s = h->data;
    s->timer_on = false;
    if (s->outstanding == 0) {
        seat_release(s);
    }
}

void api_seat_stop(struct api *a)
{
    struct api_seat *s = a->seat;
    if (s == NULL) {
        return;
    }
    a->seat = NULL;
    s->stopping = true;
    store_unwatch(a->store, STORE_CF_AGENT, on_agent_family, s);
    seat_calls_stop(s);
    if (s->timer_on) {
        uv_close((uv_handle_t *)&s->timer, timer_closed); /* frees when the last write is back */
    } else if (s->outstanding == 0) {
        seat_release(s);
    }
}

const AgentState *api_seat_get(struct api *a, const char *name)
{
    struct seat_entry *e = a->seat ? seat_find(a->seat, name) : NULL;
    return e ? e->st : NULL;
}

void api_seat_each(struct api *a, uint64_t tenant, int (*fn)(void *data, const AgentState *st),
                   void *data)
{
    struct api_seat *s = a->seat;
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        if ((tenant == 0 || s->entries[i].st->tenant_id == tenant) &&
            fn(data, s->entries[i].st) != 0) {
            return;
        }
    }
}

void api_seat_listen(struct api *a, void (*fn)(void *data, const AgentState *st), void *data)
{
    struct seat_listener *l = malloc(sizeof *l);
    if (l == NULL || a->seat == NULL) {
        free(l);
        return;
    }
    *l = (struct seat_listener){fn, data, a->seat->listeners};
    a->seat->listeners = l;
}

void api_seat_unlisten(struct api *a, void (*fn)(void *data, const AgentState *st), void *data)
{
    struct seat_listener **pp = a->seat ? &a->seat->listeners : NULL;
    while (pp != NULL && *pp != NULL) {
        if ((*pp)->fn == fn && (*pp)->data == data) {
            struct seat_listener *gone = *pp;
            *pp = gone->next;
            free(gone);
            return;
        }
        pp = &(*pp)->next;
    }
}

bool api_seat_available(struct api *a, const char *name)
{
    struct api_seat *s = a->seat;
    struct seat_entry *e = s ? seat_find(s, name) : NULL;
    return e != NULL && strcmp(e->st->state, "ready") == 0 &&
           strcmp(e->st->node, s->self_name) == 0 &&
           e->reserved_until < (int64_t)clock_now_ms();
}

bool api_seat_works_on(struct api *a, const struct auth_principal *who, uint64_t tenant,
                       uint64_t customer)
{
    if (who->system || who->role != AUTH_ROLE_AGENT || who->tenant_id != tenant) {
        return false;
    }
    const AgentState *st = api_seat_get(a, who->user);
    return (st != NULL && st->customer_id == customer && st->call_id != 0) ||
           api_dialer_offers(a, who->user, customer);
}
