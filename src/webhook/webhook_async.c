/* webhook_post_blocking in the libuv thread pool, so the core loop never waits on a
 * receiver. The job owns a copy of the request: the caller's memory may be gone by then. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "webhook_internal.h"

struct job {
    uv_work_t work;
    struct webhook_request req; /* points into copy[] */
    struct webhook_result res;
    webhook_cb cb;
    void *data;
    size_t copy_len;
    char copy[]; /* url, event id, body, secret */
};

static void run(uv_work_t *work)
{
    struct job *j = work->data;

    webhook_post_blocking(&j->req, &j->res);
}

static void done(uv_work_t *work, int status)
{
    struct job *j = work->data;

    if (status == UV_ECANCELED) {
        memset(&j->res, 0, sizeof(j->res));
        j->res.err = WAIHU_ESHUTDOWN;
        webhook_say(j->res.why, sizeof(j->res.why), "cancelled before it was sent");
    }
    j->cb(&j->res, j->data);
    OPENSSL_cleanse(j->copy, j->copy_len); /* the secret */
    free(j);
}

/* Appends n bytes of src at *at in j->copy and returns where they went. */
static void *put(struct job *j, size_t *at, const void *src, size_t n)
{
    void *dst = j->copy + *at;

    if (n > 0) {
        memcpy(dst, src, n);
    }
    *at += n;
    return dst;
}

int webhook_post_async(uv_loop_t *loop, const struct webhook_request *r, webhook_cb cb, void *data)
{
    size_t url_len, id_len, body_len, secret_len, at = 0;
    struct job *j;
    int rv;

    if (loop == NULL || r == NULL || cb == NULL) {
        return WAIHU_EINVAL;
    }
    /* Initialised here, on the loop thread, if waihud did not do it at start. */
    if ((rv = webhook_global_init()) != 0) {
        return rv;
    }
    url_len = r->url != NULL ? strlen(r->url) + 1 : 0;
    id_len = r->event_id != NULL ? strlen(r->event_id) + 1 : 0;
    /* Oversized or missing bodies are refused by the worker, through cb like other errors. */
    body_len = r->body != NULL && r->body_len <= WEBHOOK_BODY_MAX_BYTES ? r->body_len : 0;
    secret_len = r->secret != NULL ? r->secret_len : 0;
    j = malloc(sizeof(*j) + url_len + id_len + body_len + secret_len);
    if (j == NULL) {
        return WAIHU_ENOMEM;
    }
    memset(j, 0, sizeof(*j));
    j->req = *r;
    j->req.url = r->url != NULL ? put(j, &at, r->url, url_len) : NULL;
    j->req.event_id = r->event_id != NULL ? put(j, &at, r->event_id, id_len) : NULL;
    if (r->body != NULL && body_len == r->body_len) {
        j->req.body = put(j, &at, r->body, body_len);
    } else {
        j->req.body = NULL; /* keeps body_len: the worker reports the error */
    }
    j->req.secret = r->secret != NULL ? put(j, &at, r->secret, secret_len) : NULL;
    j->req.secret_len = secret_len;
    j->copy_len = at;
    j->cb = cb;
    j->data = data;
    j->work.data = j;
    if (uv_queue_work(loop, &j->work, run, done) != 0) {
        free(j);
        return WAIHU_EINVAL; /* only for a NULL work callback: cannot happen */
    }
    return 0;
}
