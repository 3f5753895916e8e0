/* Private to src/cluster: TLS between nodes.
 *
 * raft_uv reads and writes the uv_stream_t its transport hands it, so TLS sits below
 * that stream: raft gets one end of an AF_UNIX socketpair, and a pump moves bytes between
 * the other end and the real TCP socket through OpenSSL memory BIOs, on the same loop. */
#ifndef WAIHU_CLUSTER_TRANSPORT_TLS_H
#define WAIHU_CLUSTER_TRANSPORT_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>
#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

/* Handshake deadline: a peer that accepts TCP but never finishes TLS must not hold a
 * raft connect request forever (raft 0.15 has no connect timeout of its own). */
#define TLS_HANDSHAKE_TIMEOUT_MS 5000

/* Mutual-TLS context for one node: its cert chain and key, the cluster CA that every peer
 * must chain to, TLS 1.2 minimum. Returns NULL and fills errmsg (256 bytes) on error.
 * Caller frees with SSL_CTX_free. */
SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file, const char *ca_file,
                     char *errmsg);

struct tls_pump;

/* Handshake finished. status 0: app_fd is the caller's end of the plaintext socketpair
 * (caller owns it). Otherwise the handshake failed (app_fd -1, errmsg says why) and the
 * pump is closing itself; only closed_cb follows. */
typedef void (*tls_pump_ready_cb)(struct tls_pump *p, int status, int app_fd,
                                  const char *errmsg);
/* Every handle of the pump is closed; p is freed when this returns. */
typedef void (*tls_pump_closed_cb)(struct tls_pump *p);

/* Starts TLS on an established stream `net` (a uv_tcp_t or uv_pipe_t allocated with
 * malloc; the pump owns it from now on, even on error). is_server picks the TLS role.
 * *out is set before any callback, which may come before this returns (a failure).
 * Returns 0, or RAFT_NOMEM with the stream already closing and no callback to come.
 * Loop thread only. */
int tls_pump_start(struct tls_pump **out, uv_loop_t *loop, SSL_CTX *ctx, bool is_server,
                   uv_stream_t *net, unsigned timeout_ms, tls_pump_ready_cb ready_cb,
                   tls_pump_closed_cb closed_cb, void *data);
void *tls_pump_data(struct tls_pump *p);
void tls_pump_set_data(struct tls_pump *p, void *data);
/* Closes both sides at once (no callback but closed_cb). Idempotent. */
void tls_pump_close(struct tls_pump *p);
/* shutdown(2)s the network socket: the pump sees EOF and closes both sides. */
void tls_pump_cut(struct tls_pump *p);

/* The raft transport over TLS. Fills `out` (raft's interface; its impl is heap memory
 * freed by tls_transport_free after close). fenced: connections are refused while true.
 * Takes ownership of ctx. */
int tls_transport_init(struct raft_uv_transport *out, uv_loop_t *loop, SSL_CTX *ctx,
                       bool *fenced);
void tls_transport_free(struct raft_uv_transport *out);
/* Cuts every raft connection (fence). */
void tls_transport_cut(struct raft_uv_transport *out);

#endif
