/* Background writes that must not be lost to an election (call records): the
 * mutation is submitted again, with a backoff, until it commits or the node stops.
 *
 * Each write carries its own client id with seq 1. A timed-out attempt may have
 * committed after all (the outcome is unknown), so a retry of it gets the stored result
 * from the state machine's dedup row instead of being applied a second time: no
 * duplicate CDR, event or audit row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "api_internal.h"

#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 2000

struct api_retrier {
    struct cluster *cluster;
    uv_loop_t *loop;
    bool stopping;
    unsigned refs;             /* writes alive (in flight or waiting) */
    struct retry_write *waiting; /* writes whose timer runs */
};

struct retry_write {
    struct api_retrier *r;
    uint8_t *buf;
    size_t len;
    char what[48];
    unsigned attempts;
    bool has_timer;
    uv_timer_t timer;
    struct retry_write *prev, *next; /* in r->waiting while the timer runs */
};

static void retrier_unref(struct api_retrier *r)
{
    if (--r->refs == 0 && r->stopping) {
        free(r);
    }
}

static void write_closed(uv_handle_t *h)
{
    struct retry_write *w = h->data;
    struct api_retrier *r = w->r;
    free(w->buf);
    free(w);
    retrier_unref(r);
}

static void write_free(struct retry_write *w)
{
    if (w->has_timer) {
        uv_close((uv_handle_t *)&w->timer, write_closed);
        return;
    }
    struct api_retrier *r = w->r;
    free(w->buf);
    free(w);
    retrier_unref(r);
}

static bool transient(int status)
{
    return status == WAIHU_EUNAVAILABLE || status == WAIHU_ETIMEDOUT ||
           status == WAIHU_ENOTLEADER || status == WAIHU_EIO;
}

static void submit_once(struct retry_write *w);

static void on_timer(uv_timer_t *t)
{
    struct retry_write *w = t->data;
    struct api_retrier *r = w->r;
    if (w->prev != NULL) {
        w->prev->next = w->next;
    } else {
        r->waiting = w->next;
    }
    if (w->next != NULL) {
        w->next->prev = w->prev;
    }
    w->prev = w->next = NULL;
    submit_once(w);
}

static void on_result(void *data, int status, const struct store_result *res)
{
    struct retry_write *w = data;
    struct api_retrier *r = w->r;
    if (status == 0) {
        if (res->code != 0) {
            LOG_W("api", "%s refused by the state machine: %s", w->what,
                  waihu_strerror(res->code));
        } else if (w->attempts > 1) {
            LOG_I("api", "%s written at attempt %u", w->what, w->attempts);
        }
        write_free(w);
        return;
    }
    if (r->stopping || !transient(status)) {
        LOG_E("api", "%s lost after %u attempts: %s", w->what, w->attempts,
              waihu_strerror(status));
        write_free(w);
        return;
    }
    if (w->attempts == 1) {
        LOG_W("api", "%s not written yet (%s): retrying until it commits", w->what,
              waihu_strerror(status));
    }
    if (!w->has_timer) {
        uv_timer_init(r->loop, &w->timer);
        w->timer.data = w;
        w->has_timer = true;
    }
    unsigned shift = w->attempts < 5 ? w->attempts - 1 : 4;
    uint64_t delay = (uint64_t)RETRY_FIRST_MS << shift;
    w->next = r->waiting;
    if (r->waiting != NULL) {
        r->waiting->prev = w;
    }
    r->waiting = w;
    uv_timer_start(&w->timer, on_timer, delay < RETRY_MAX_MS ? delay : RETRY_MAX_MS, 0);
}

static void submit_once(struct retry_write *w)
{
    w->attempts++;
    cluster_submit(w->r->cluster, w->buf, w->len, on_result, w);
}

void api_submit_until_committed(struct api *a, struct store_mutation_builder *mb,
                                const char *what)
{
    if (a->retrier == NULL) {
        a->retrier = calloc(1, sizeof *a->retrier);
        if (a->retrier == NULL) {
            waihu_fatal("api", "retrier: out of memory");
        }
        a->retrier->cluster = a->cluster;
        a->retrier->loop = a->loop;
    }
    struct retry_write *w = calloc(1, sizeof *w);
    uint8_t rnd[8];
    if (w == NULL || RAND_bytes(rnd, sizeof rnd) != 1) {
        waihu_fatal("api", "%s: out of memory or randomness", what);
    }
    w->r = a->retrier;
    snprintf(w->what, sizeof w->what, "%s", what);
    store_mb_pack(mb, be64_get(rnd) | 1, 1, &w->buf, &w->len);
    store_mb_free(mb);
    a->retrier->refs++;
    submit_once(w);
}

void api_retrier_stop(struct api *a)
{
    struct api_retrier *r = a->retrier;
    if (r == NULL) {
        return;
    }
    a->retrier = NULL;
    r->stopping = true;
    r->refs++; /* freeing the waiting writes must not free r under the loop below */
    while (r->waiting != NULL) {
        struct retry_write *w = r->waiting;
        r->waiting = w->next;
        uv_timer_stop(&w->timer);
        LOG_E("api", "%s lost: the node stopped before it committed", w->what);
        write_free(w);
    }
    retrier_unref(r); /* in-flight writes free r with their callback */
}
