/* The node's customer view (src/customer/customer_view.c): built from the store in
 * steps on the loop when the API starts, then kept current by a watcher of the customer
 * family, which hears every applied write on this loop. While it is being built, a
 * write beyond the build cursor is left to the scan that will reach it. A snapshot
 * install starts the build again. */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "customer_view.h"

#define BUILD_STEP_RECORDS 20000

struct api_cview {
    struct customer_view *view;
    struct store *store;
    uv_timer_t timer;
    bool ready, has_cursor;
    uint8_t cursor[CUSTOMER_KEY_BYTES];
    size_t built;
    uint64_t started_ms;
};

static void apply_write(struct api_cview *v, const void *key, const void *val, size_t vlen)
{
    const uint8_t *k = key;
    if (val == NULL) {
        customer_view_delete(v->view, be64_get(k), be64_get(k + 8));
        return;
    }
    CustomerRecord *r = customer_record_decode(val, vlen);
    if (r != NULL) {
        customer_view_put(v->view, r);
        customer_record_free(r);
    }
}

static void build_step(uv_timer_t *t);

static void rebuild(struct api_cview *v)
{
    customer_view_clear(v->view);
    v->ready = false;
    v->has_cursor = false;
    v->built = 0;
    v->started_ms = clock_now_ms();
    uv_timer_start(&v->timer, build_step, 0, 0);
}

static void on_write(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct api_cview *v = data;
    if (key == NULL) {
        rebuild(v);
        return;
    }
    if (klen != CUSTOMER_KEY_BYTES) {
        return;
    }
    if (v->ready || (v->has_cursor && memcmp(key, v->cursor, CUSTOMER_KEY_BYTES) <= 0)) {
        apply_write(v, key, val, vlen);
    }
}

struct step {
    struct api_cview *v;
    size_t n;
};

static int step_record(void *data, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct step *s = data;
    if (klen == CUSTOMER_KEY_BYTES) {
        apply_write(s->v, key, val, vlen);
        memcpy(s->v->cursor, key, CUSTOMER_KEY_BYTES);
        s->v->has_cursor = true;
    }
    return ++s->n == BUILD_STEP_RECORDS;
}

static void build_step(uv_timer_t *t)
{
    struct api_cview *v = t->data;
    static const uint8_t everything[1];
    struct step s = {.v = v};
    int rv = store_scan(v->store, STORE_CF_CUSTOMER, everything, 0,
                        v->has_cursor ? v->cursor : NULL, v->has_cursor ? CUSTOMER_KEY_BYTES : 0,
                        step_record, &s);
    if (rv < 0) {
        LOG_W("api", "customer view: scan failed (%s); filters read the store",
              waihu_strerror(rv));
        return;
    }
    v->built += s.n;
    if (rv == 1) {
        uv_timer_start(&v->timer, build_step, 0, 0); /* let requests in between steps */
        return;
    }
    v->ready = true;
    LOG_I("api", "customer view ready: %zu customers in %llu ms", customer_view_size(v->view),
          (unsigned long long)(clock_now_ms() - v->started_ms));
}

void api_cview_start(struct api *a)
{
    struct api_cview *v = calloc(1, sizeof *v);
    if (v == NULL) {
        waihu_fatal("api", "customer view: out of memory");
    }
    v->view = customer_view_new();
    v->store = a->store;
    uv_timer_init(a->loop, &v->timer);
    v->timer.data = v;
    a->cview = v;
    store_watch(a->store, STORE_CF_CUSTOMER, on_write, v);
    rebuild(v);
}

static void closed(uv_handle_t *h)
{
    struct api_cview *v = h->data;
    customer_view_free(v->view);
    free(v);
}

void api_cview_stop(struct api *a)
{
    struct api_cview *v = a->cview;
    if (v == NULL) {
        return;
    }
    store_unwatch(a->store, STORE_CF_CUSTOMER, on_write, v);
    a->cview = NULL;
    uv_close((uv_handle_t *)&v->timer, closed);
}

const struct customer_view *api_cview_for(struct api *a, const struct filter_node *f)
{
    struct api_cview *v = a->cview;
    return v != NULL && v->ready && customer_view_can_answer(f) ? v->view : NULL;
}
