/* The only shared mutable state between threads: FIFOs of messages. */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "media_internal.h"

int msgq_init(struct msgq *q, uv_async_t *wake)
{
    q->head = q->tail = NULL;
    q->wake = wake;
    return uv_mutex_init(&q->mu) == 0 ? 0 : WAIHU_ENOMEM;
}

void msgq_close(struct msgq *q)
{
    struct msg *m = msgq_take(q);
    while (m != NULL) {
        struct msg *next = m->next;
        msg_free(m);
        m = next;
    }
    uv_mutex_destroy(&q->mu);
}

void msgq_push(struct msgq *q, struct msg *m)
{
    m->next = NULL;
    uv_mutex_lock(&q->mu);
    if (q->tail != NULL)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    uv_mutex_unlock(&q->mu);
    uv_async_send(q->wake);
}

struct msg *msgq_take(struct msgq *q)
{
    uv_mutex_lock(&q->mu);
    struct msg *m = q->head;
    q->head = q->tail = NULL;
    uv_mutex_unlock(&q->mu);
    return m;
}

struct msg *msg_new(enum msg_type type)
{
    struct msg *m = calloc(1, sizeof(*m));
    if (m != NULL)
        m->type = type;
    return m;
}

void msg_free(struct msg *m)
{
    if (m == NULL)
        return;
    if (m->type == MSG_REC_START) {
        free(m->u.rec.path);
        OPENSSL_cleanse(m->u.rec.key, sizeof(m->u.rec.key));
    }
    if (m->type == MSG_PLAY)
        media_prompt_unref(m->u.play.prompt);
    free(m);
}
