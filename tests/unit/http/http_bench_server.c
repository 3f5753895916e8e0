/* Tiny server for wrk: http_bench_server HOST:PORT [delay_ms]. Answers every request
 * with a small JSON body, at once or from a uv timer after delay_ms. Ctrl-C stops it. */
#include <stdio.h>
#include <stdlib.h>

#include "http.h"

struct delayed {
    uv_timer_t timer;
    struct http_request *req;
};

static uv_loop_t loop;
static uv_signal_t sigint;
static struct http_server *server;
static unsigned delay_ms;

static const char reply[] = "{\"ok\":true}";

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_delay(uv_timer_t *t)
{
    struct delayed *d = t->data;
    http_respond(d->req, 200, "application/json", reply, sizeof reply - 1);
    uv_close((uv_handle_t *)t, on_closed);
}

static void handle(void *data, struct http_request *req)
{
    (void)data;
    if (delay_ms == 0) {
        http_respond(req, 200, "application/json", reply, sizeof reply - 1);
        return;
    }
    struct delayed *d = malloc(sizeof *d);
    if (d == NULL) {
        http_respond(req, 500, "application/json", "{}", 2);
        return;
    }
    d->req = req;
    uv_timer_init(&loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, on_delay, delay_ms, 0);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    http_server_stop(server, NULL, NULL);
    uv_close((uv_handle_t *)h, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s HOST:PORT [delay_ms]\n", argv[0]);
        return 2;
    }
    delay_ms = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
    uv_loop_init(&loop);
    char err[256];
    int rv = http_server_start(&loop, argv[1], 1 << 20, handle, NULL, &server, err);
    if (rv != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uv_signal_init(&loop, &sigint);
    uv_signal_start(&sigint, on_signal, SIGINT);
    fprintf(stderr, "listening on port %d\n", http_server_port(server));
    uv_run(&loop, UV_RUN_DEFAULT);
    rv = uv_loop_close(&loop);
    fprintf(stderr, "loop closed: %s\n", rv == 0 ? "ok" : uv_strerror(rv));
    return rv == 0 ? 0 : 1;
}
