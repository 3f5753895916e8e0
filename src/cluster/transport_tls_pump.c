/* A TLS pump: ciphertext on a network stream <-> plaintext on our end of a socketpair,
 * through OpenSSL memory BIOs, driven by libuv callbacks (nothing blocks). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "transport_tls.h"

#define PUMP_CHUNK 65536
/* Stop reading one side while the other side's unsent bytes exceed this. */
#define PUMP_HIGH_WATER (4u << 20)

enum pump_state { PUMP_HANDSHAKE, PUMP_OPEN, PUMP_CLOSING };

struct tls_pump {
    uv_loop_t *loop;
    SSL *ssl;
    BIO *in;  /* ciphertext received, read by OpenSSL */
    BIO *out; /* ciphertext produced by OpenSSL, to send */
    uv_stream_t *net;
    uv_pipe_t *app; /* our end of the socketpair, once the handshake is done */
    uv_timer_t *timer;
    uv_shutdown_t shutdown;
    enum pump_state state;
    int open_handles;
    bool net_paused, app_paused;
    tls_pump_ready_cb ready_cb;
    tls_pump_closed_cb closed_cb;
    void *data;
    char buf[PUMP_CHUNK];
};

struct pump_write {
    uv_write_t req;
    struct tls_pump *p;
    uv_buf_t buf;
    char bytes[];
};

static void ssl_errmsg(struct tls_pump *p, const char *what, char *out, size_t cap)
{
    long verify = SSL_get_verify_result(p->ssl);
    unsigned long e = ERR_peek_last_error();
    char reason[200] = "unknown error";
    if (verify != X509_V_OK) {
        snprintf(reason, sizeof reason, "peer certificate: %s",
                 X509_verify_cert_error_string(verify));
    } else if (e != 0) {
        ERR_error_string_n(e, reason, sizeof reason);
    }
    snprintf(out, cap, "%s: %s", what, reason);
    ERR_clear_error();
}

SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file, const char *ca_file,
                     char *errmsg)
{
    char reason[200];
    const char *what = "tls";
    const char *file = "";
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (ctx == NULL) {
        goto err;
    }
    what = "TLS 1.2 minimum";
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        goto err;
    }
    what = "cert", file = cert_file;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        goto err;
    }
    what = "key", file = key_file;
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        goto err;
    }
    what = "ca", file = ca_file;
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        goto err;
    }
    /* Mutual: each side verifies the other against the cluster CA. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    /* Raft connections are long-lived: no resumption state to keep or leak. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    return ctx;
err:
    ERR_error_string_n(ERR_peek_last_error(), reason, sizeof reason);
    ERR_clear_error();
    snprintf(errmsg, 256, "%s %s: %s", what, file, reason);
    SSL_CTX_free(ctx);
    return NULL;
}

static void handle_closed_cb(uv_handle_t *h)
{
    struct tls_pump *p = h->data;
    free(h);
    if (--p->open_handles == 0) {
        p->closed_cb(p);
        SSL_free(p->ssl); /* frees both BIOs */
        free(p);
    }
}

static void close_handle(uv_handle_t *h)
{
    if (h != NULL && !uv_is_closing(h)) {
        uv_close(h, handle_closed_cb);
    }
}

static void close_now(struct tls_pump *p)
{
    p->state = PUMP_CLOSING;
    close_handle((uv_handle_t *)p->net);
    close_handle((uv_handle_t *)p->app);
    close_handle((uv_handle_t *)p->timer);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct tls_pump *p = req->data;
    (void)status;
    close_handle((uv_handle_t *)p->net);
}

/* Lets what is queued (a close_notify, an alert) reach the peer, then closes. */
static void close_after_flush(struct tls_pump *p)
{
    p->state = PUMP_CLOSING;
    close_handle((uv_handle_t *)p->app);
    close_handle((uv_handle_t *)p->timer);
    p->shutdown.data = p;
    if (uv_shutdown(&p->shutdown, p->net, shutdown_cb) != 0) {
        close_handle((uv_handle_t *)p->net);
    }
}

static void fail(struct tls_pump *p, const char *msg, bool flush)
{
    if (p->state == PUMP_CLOSING) {
        return;
    }
    bool handshaking = p->state == PUMP_HANDSHAKE;
    p->state = PUMP_CLOSING;
    if (handshaking) {
        p->ready_cb(p, RAFT_NOCONNECTION, -1, msg);
    }
    if (flush) {
        close_after_flush(p);
    } else {
        close_now(p);
    }
}

static void resume_reading(struct tls_pump *p);

static void write_cb(uv_write_t *req, int status)
{
    struct pump_write *w = (struct pump_write *)req;
    struct tls_pump *p = w->p;
    free(w);
    if (p->state == PUMP_CLOSING) {
        return;
    }
    if (status != 0) {
        fail(p, uv_strerror(status), false);
        return;
    }
    resume_reading(p);
}

static int send_bytes(struct tls_pump *p, uv_stream_t *s, const char *bytes, size_t n,
                      bool from_bio)
{
    struct pump_write *w = malloc(sizeof *w + n);
    if (w == NULL) {
        return UV_ENOMEM;
    }
    w->p = p;
    if (from_bio) {
        if (BIO_read(p->out, w->bytes, (int)n) != (int)n) {
            free(w);
            return UV_EIO;
        }
    } else {
        memcpy(w->bytes, bytes, n);
    }
    w->buf = uv_buf_init(w->bytes, (unsigned)n);
    int rv = uv_write(&w->req, s, &w->buf, 1, write_cb);
    if (rv != 0) {
        free(w);
    }
    return rv;
}

/* Sends whatever OpenSSL has produced (handshake records, data, alerts). */
static int flush_out(struct tls_pump *p)
{
    size_t pending;
    while ((pending = BIO_ctrl_pending(p->out)) > 0) {
        int rv = send_bytes(p, p->net, NULL, pending, true);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tls_pump *p = h->data;
    (void)suggested;
    *buf = uv_buf_init(p->buf, sizeof p->buf);
}

/* Backpressure: a side whose peer is slow stops feeding it. */
static void check_pressure(struct tls_pump *p)
{
    if (p->state != PUMP_OPEN) {
        return;
    }
    if (!p->app_paused && p->net->write_queue_size > PUMP_HIGH_WATER) {
        uv_read_stop((uv_stream_t *)p->app);
        p->app_paused = true;
    }
    if (!p->net_paused && p->app->write_queue_size > PUMP_HIGH_WATER) {
        uv_read_stop(p->net);
        p->net_paused = true;
    }
}

static void on_net_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_app_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void resume_reading(struct tls_pump *p)
{
    if (p->state != PUMP_OPEN) {
        return;
    }
    if (p->app_paused && p->net->write_queue_size < PUMP_HIGH_WATER / 4) {
        p->app_paused = false;
        uv_read_start((uv_stream_t *)p->app, alloc_cb, on_app_read);
    }
    if (p->net_paused && p->app->write_queue_size < PUMP_HIGH_WATER / 4) {
        p->net_paused = false;
        uv_read_start(p->net, alloc_cb, on_net_read);
    }
}

/* Decrypts everything buffered and hands it to the app side. */
static void decrypt(struct tls_pump *p)
{
    char msg[256];
    for (;;) {
        int n = SSL_read(p->ssl, p->buf, sizeof p->buf);
        if (n > 0) {
            if (send_bytes(p, (uv_stream_t *)p->app, p->buf, (size_t)n, false) != 0) {
                fail(p, "write to raft side", false);
                return;
            }
            continue;
        }
        int err = SSL_get_error(p->ssl, n);
        if (err == SSL_ERROR_WANT_READ) {
            break;
        }
        if (err == SSL_ERROR_ZERO_RETURN) { /* peer's close_notify */
            close_now(p);
            return;
        }
        ssl_errmsg(p, "tls read", msg, sizeof msg);
        fail(p, msg, true);
        return;
    }
    if (flush_out(p) != 0) { /* post-handshake records */
        fail(p, "write to network", false);
        return;
    }
    check_pressure(p);
}

static void handshake_done(struct tls_pump *p)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        fail(p, "socketpair failed", false);
        return;
    }
    p->app = malloc(sizeof *p->app);
    if (p->app == NULL) {
        close(sv[0]);
        close(sv[1]);
        fail(p, "out of memory", false);
        return;
    }
    uv_pipe_init(p->loop, p->app, 0);
    p->app->data = p;
    p->open_handles++;
    if (uv_pipe_open(p->app, sv[1]) != 0) {
        close(sv[0]);
        close(sv[1]);
        fail(p, "socketpair open failed", false);
        return;
    }
    if (uv_read_start((uv_stream_t *)p->app, alloc_cb, on_app_read) != 0) {
        close(sv[0]);
        fail(p, "socketpair open failed", false);
        return;
    }
    uv_timer_stop(p->timer);
    p->state = PUMP_OPEN;
    p->ready_cb(p, 0, sv[0], NULL);
    if (p->state == PUMP_OPEN) {
        decrypt(p); /* application data that came with the last handshake flight */
    }
}

static void handshake_step(struct tls_pump *p)
{
    char msg[256];
    ERR_clear_error();
    int rv = SSL_do_handshake(p->ssl);
    int err = rv == 1 ? SSL_ERROR_NONE : SSL_get_error(p->ssl, rv);
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ) {
        ssl_errmsg(p, "tls handshake", msg, sizeof msg);
    }
    if (flush_out(p) != 0) {
        fail(p, "tls handshake: write to network failed", false);
        return;
    }
    if (rv == 1) {
        handshake_done(p);
    } else if (err != SSL_ERROR_WANT_READ) {
        fail(p, msg, true); /* the alert we queued tells the peer why */
    }
}

static void on_net_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tls_pump *p = s->data;
    if (p->state == PUMP_CLOSING || nread == 0) {
        return;
    }
    if (nread < 0) {
        fail(p, nread == UV_EOF ? "connection closed by peer" : uv_strerror((int)nread),
             false);
        return;
    }
    if (BIO_write(p->in, buf->base, (int)nread) != (int)nread) {
        fail(p, "out of memory", false);
        return;
    }
    if (p->state == PUMP_HANDSHAKE) {
        handshake_step(p);
    } else {
        decrypt(p);
    }
}

static void on_app_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tls_pump *p = s->data;
    if (p->state != PUMP_OPEN || nread == 0) {
        return;
    }
    if (nread < 0) { /* the raft side closed: say goodbye properly */
        SSL_shutdown(p->ssl);
        if (flush_out(p) != 0) {
            close_now(p);
        } else {
            close_after_flush(p);
        }
        return;
    }
    /* Memory BIOs never block, so the record is produced whole. */
    if (SSL_write(p->ssl, buf->base, (int)nread) != (int)nread || flush_out(p) != 0) {
        char msg[256];
        ssl_errmsg(p, "tls write", msg, sizeof msg);
        fail(p, msg, false);
        return;
    }
    check_pressure(p);
}

static void timeout_cb(uv_timer_t *t)
{
    fail(t->data, "tls handshake timed out", false);
}

int tls_pump_start(struct tls_pump **out, uv_loop_t *loop, SSL_CTX *ctx, bool is_server,
                   uv_stream_t *net, unsigned timeout_ms, tls_pump_ready_cb ready_cb,
                   tls_pump_closed_cb closed_cb, void *data)
{
    struct tls_pump *p = calloc(1, sizeof *p);
    if (p == NULL) {
        goto err;
    }
    p->ssl = SSL_new(ctx);
    p->in = BIO_new(BIO_s_mem());
    p->out = BIO_new(BIO_s_mem());
    p->timer = malloc(sizeof *p->timer);
    if (p->ssl == NULL || p->in == NULL || p->out == NULL || p->timer == NULL) {
        goto err_after_alloc;
    }
    BIO_set_mem_eof_return(p->in, -1); /* empty means "wait", not EOF */
    BIO_set_mem_eof_return(p->out, -1);
    SSL_set_bio(p->ssl, p->in, p->out);
    if (is_server) {
        SSL_set_accept_state(p->ssl);
    } else {
        SSL_set_connect_state(p->ssl);
    }
    p->loop = loop;
    p->net = net;
    p->ready_cb = ready_cb;
    p->closed_cb = closed_cb;
    p->data = data;
    net->data = p;
    uv_timer_init(loop, p->timer);
    p->timer->data = p;
    p->open_handles = 2;
    *out = p;
    uv_timer_start(p->timer, timeout_cb, timeout_ms, 0);
    if (uv_read_start(net, alloc_cb, on_net_read) != 0) {
        fail(p, "cannot read the connection", false);
    } else if (!is_server) {
        handshake_step(p); /* ClientHello */
    }
    return 0;

err_after_alloc:
    SSL_free(p->ssl); /* the BIOs are not its own yet */
    BIO_free(p->in);
    BIO_free(p->out);
    free(p->timer);
    free(p);
err:
    net->data = NULL;
    uv_close((uv_handle_t *)net, (uv_close_cb)free);
    return RAFT_NOMEM;
}

void *tls_pump_data(struct tls_pump *p)
{
    return p->data;
}

void tls_pump_set_data(struct tls_pump *p, void *data)
{
    p->data = data;
}

void tls_pump_close(struct tls_pump *p)
{
    if (p->state != PUMP_CLOSING) {
        close_now(p);
    } else {
        close_handle((uv_handle_t *)p->net); /* don't wait on a graceful shutdown */
    }
}

void tls_pump_cut(struct tls_pump *p)
{
    uv_os_fd_t fd;
    if (!uv_is_closing((uv_handle_t *)p->net) && uv_fileno((uv_handle_t *)p->net, &fd) == 0) {
        shutdown(fd, SHUT_RDWR);
    }
}
