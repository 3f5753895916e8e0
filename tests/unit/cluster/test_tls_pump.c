/* TLS pumps (src/cluster/transport_tls_pump.c): two pumps joined by a socketpair as
 * the "network", on one uv loop. Certificates are made in-process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "transport_tls.h"

/* --- certificates ------------------------------------------------------------------ */

struct pki {
    EVP_PKEY *key;
    X509 *cert;
};

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/* issuer NULL: a self-signed CA. */
static struct pki make_cert(const char *cn, const struct pki *issuer)
{
    static long serial = 1;
    struct pki p;
    p.key = EVP_EC_gen("prime256v1");
    assert_non_null(p.key);
    p.cert = X509_new();
    X509_set_version(p.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(p.cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(p.cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(p.cert), 3600);
    X509_set_pubkey(p.cert, p.key);
    X509_NAME *name = X509_get_subject_name(p.cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509 *icert = issuer ? issuer->cert : p.cert;
    X509_set_issuer_name(p.cert, X509_get_subject_name(icert));
    add_ext(p.cert, icert, NID_basic_constraints, issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
    if (issuer == NULL) {
        add_ext(p.cert, icert, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    assert_true(X509_sign(p.cert, issuer ? issuer->key : p.key, EVP_sha256()) > 0);
    return p;
}

static void pki_free(struct pki *p)
{
    EVP_PKEY_free(p->key);
    X509_free(p->cert);
}

static char tmpdir[] = "/tmp/waihu-tls-unit-XXXXXX";

static void write_pem(const char *file, const struct pki *p, bool key)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (key) {
        PEM_write_PrivateKey(f, p->key, NULL, NULL, 0, NULL, NULL);
    } else {
        PEM_write_X509(f, p->cert);
    }
    fclose(f);
}

/* Node `name` with a cert from `ca`; the context trusts ca.pem (the cluster CA). */
static SSL_CTX *node_ctx(const char *name)
{
    char cert[256], key[256], ca[256], err[256];
    snprintf(cert, sizeof cert, "%s/%s.pem", tmpdir, name);
    snprintf(key, sizeof key, "%s/%s.key", tmpdir, name);
    snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
    SSL_CTX *ctx = tls_ctx_new(cert, key, ca, err);
    if (ctx == NULL) {
        fail_msg("%s", err);
    }
    return ctx;
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    struct pki ca = make_cert("test-ca", NULL);
    struct pki other_ca = make_cert("other-ca", NULL);
    struct pki a = make_cert("a", &ca), b = make_cert("b", &ca);
    struct pki stranger = make_cert("stranger", &other_ca);
    write_pem("ca.pem", &ca, false);
    write_pem("a.pem", &a, false);
    write_pem("a.key", &a, true);
    write_pem("b.pem", &b, false);
    write_pem("b.key", &b, true);
    write_pem("stranger.pem", &stranger, false);
    write_pem("stranger.key", &stranger, true);
    pki_free(&ca);
    pki_free(&other_ca);
    pki_free(&a);
    pki_free(&b);
    pki_free(&stranger);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* --- a pair of pumps --------------------------------------------------------------- */

#define BIG (3u << 20) /* over the pump's 64 KiB chunk and its high-water mark */

struct side {
    struct pair *pair;
    struct tls_pump *pump;
    int ready_status;
    char errmsg[256];
    bool ready, closed;
    uv_pipe_t app; /* the plaintext end given to "raft" */
    bool app_open;
    uint8_t *sent;
    size_t n_sent;
    uint8_t *got;
    size_t n_got, want;
    bool eof;
};

struct pair {
    uv_loop_t loop;
    struct side s[2]; /* 0: client, 1: server */
};

static void app_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct side *s = h->data;
    (void)suggested;
    size_t room = s->want + 1 - s->n_got; /* +1: notice extra bytes */
    *buf = uv_buf_init((char *)s->got + s->n_got, (unsigned)(room > 65536 ? 65536 : room));
}

static void app_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct side *s = st->data;
    (void)buf;
    if (nread < 0) {
        s->eof = true;
        uv_read_stop(st);
        return;
    }
    s->n_got += (size_t)nread;
    assert_true(s->n_got <= s->want);
}

static void write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void ready_cb(struct tls_pump *p, int status, int app_fd, const char *errmsg)
{
    struct side *s = tls_pump_data(p);
    s->ready = true;
    s->ready_status = status;
    if (status != 0) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s", errmsg);
        return;
    }
    uv_pipe_init(&s->pair->loop, &s->app, 0);
    s->app.data = s;
    assert_int_equal(uv_pipe_open(&s->app, app_fd), 0);
    s->app_open = true;
    assert_int_equal(uv_read_start((uv_stream_t *)&s->app, app_alloc, app_read), 0);
    uv_buf_t b = uv_buf_init((char *)s->sent, (unsigned)s->n_sent);
    uv_write_t *w = malloc(sizeof *w);
    assert_int_equal(uv_write(w, (uv_stream_t *)&s->app, &b, 1, write_done), 0);
}

static void closed_cb(struct tls_pump *p)
{
    struct side *s = tls_pump_data(p);
    s->closed = true;
}

static void start_pair(struct pair *pr, const char *client, const char *server,
                       size_t n_client_sends, size_t n_server_sends)
{
    memset(pr, 0, sizeof *pr);
    uv_loop_init(&pr->loop);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    SSL_CTX *ctx[2] = {node_ctx(client), node_ctx(server)};
    size_t sends[2] = {n_client_sends, n_server_sends};
    for (int i = 0; i < 2; i++) {
        struct side *s = &pr->s[i];
        s->pair = pr;
        s->n_sent = sends[i];
        s->sent = malloc(sends[i] + 1);
        for (size_t k = 0; k < sends[i]; k++) {
            s->sent[k] = (uint8_t)(k * 31 + (size_t)i * 7 + k / 4093);
        }
        s->want = sends[1 - i];
        s->got = malloc(s->want + 1);
        uv_pipe_t *net = malloc(sizeof *net);
        uv_pipe_init(&pr->loop, net, 0);
        assert_int_equal(uv_pipe_open(net, sv[i]), 0);
        assert_int_equal(tls_pump_start(&s->pump, &pr->loop, ctx[i], i == 1, (uv_stream_t *)net,
                                        2000, ready_cb, closed_cb, s),
                         0);
        SSL_CTX_free(ctx[i]); /* each SSL holds its own reference */
    }
}

static void free_pair(struct pair *pr)
{
    for (int i = 0; i < 2; i++) {
        if (pr->s[i].app_open) {
            uv_close((uv_handle_t *)&pr->s[i].app, NULL);
        }
    }
    uv_run(&pr->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&pr->loop), 0);
    for (int i = 0; i < 2; i++) {
        free(pr->s[i].sent);
        free(pr->s[i].got);
    }
}

static void test_exchange_both_ways_then_close(void **state)
{
    (void)state;
    struct pair pr;
    start_pair(&pr, "a", "b", BIG, BIG / 3 + 17);
    while (!(pr.s[0].n_got == pr.s[0].want && pr.s[1].n_got == pr.s[1].want)) {
        assert_false(pr.s[0].closed || pr.s[1].closed);
        uv_run(&pr.loop, UV_RUN_ONCE);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pr.s[i].ready_status, 0);
        assert_memory_equal(pr.s[i].got, pr.s[1 - i].sent, pr.s[i].want);
    }
    /* The client's raft side closes: the server's raft side sees EOF, both pumps go. */
    uv_close((uv_handle_t *)&pr.s[0].app, NULL);
    pr.s[0].app_open = false;
    while (!(pr.s[1].eof && pr.s[0].closed && pr.s[1].closed)) {
        uv_run(&pr.loop, UV_RUN_ONCE);
    }
    free_pair(&pr);
}

static void test_cert_from_another_ca_is_rejected(void **state)
{
    (void)state;
    struct pair pr;
    start_pair(&pr, "stranger", "b", 100, 100);
    while (!(pr.s[0].closed && pr.s[1].closed)) {
        uv_run(&pr.loop, UV_RUN_ONCE);
    }
    /* The server refuses and names the reason. */
    assert_true(pr.s[1].ready);
    assert_int_not_equal(pr.s[1].ready_status, 0);
    assert_false(pr.s[1].app_open);
    assert_non_null(strstr(pr.s[1].errmsg, "certificate"));
    /* In TLS 1.3 the client is done before the server has checked its cert: it may see
     * success, then the alert closes it; either way nothing gets through. */
    assert_true(pr.s[0].ready);
    assert_int_equal(pr.s[0].n_got, 0);
    assert_int_equal(pr.s[1].n_got, 0);
    free_pair(&pr);
}

static void test_client_rejects_a_server_from_another_ca(void **state)
{
    (void)state;
    struct pair pr;
    start_pair(&pr, "a", "stranger", 100, 100);
    while (!(pr.s[0].closed && pr.s[1].closed)) {
        uv_run(&pr.loop, UV_RUN_ONCE);
    }
    assert_int_not_equal(pr.s[0].ready_status, 0);
    assert_non_null(strstr(pr.s[0].errmsg, "certificate"));
    assert_int_not_equal(pr.s[1].ready_status, 0);
    free_pair(&pr);
}

static void test_cut_closes_both_sides(void **state)
{
    (void)state;
    struct pair pr;
    start_pair(&pr, "a", "b", 10, 10);
    while (!(pr.s[0].n_got == 10 && pr.s[1].n_got == 10)) {
        uv_run(&pr.loop, UV_RUN_ONCE);
    }
    tls_pump_cut(pr.s[1].pump);
    while (!(pr.s[0].eof && pr.s[1].eof && pr.s[0].closed && pr.s[1].closed)) {
        uv_run(&pr.loop, UV_RUN_ONCE);
    }
    free_pair(&pr);
}

static void test_ctx_errors_name_the_file(void **state)
{
    (void)state;
    char cert[256], key[256], err[256];
    snprintf(cert, sizeof cert, "%s/a.pem", tmpdir);
    snprintf(key, sizeof key, "%s/b.key", tmpdir); /* not a's key */
    assert_null(tls_ctx_new(cert, "/nonexistent.key", cert, err));
    assert_non_null(strstr(err, "/nonexistent.key"));
    assert_null(tls_ctx_new(cert, key, cert, err));
    assert_non_null(strstr(err, key));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_both_ways_then_close),
        cmocka_unit_test(test_cert_from_another_ca_is_rejected),
        cmocka_unit_test(test_client_rejects_a_server_from_another_ca),
        cmocka_unit_test(test_cut_closes_both_sides),
        cmocka_unit_test(test_ctx_errors_name_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
