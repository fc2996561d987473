/*
 * lean_http.h — the smallest HTTP/1.1 keep-alive server and client the benchmark's light
 * tools need (tests/bench: dt_floor_bot and the light fake Graph of dt_bench).
 *
 * Owns: libuv TCP connections and llhttp parsers, nothing else. The server hands each
 * complete request (method, target, body) to one callback, which answers it at once with
 * lh_respond; pipelined requests are answered in order. The client is a pool of keep-alive
 * connections to one host: a request goes out on an idle connection, a new one (up to
 * max_conns) or waits in FIFO order; its callback gets the status only (bodies are read and
 * dropped). Promises: no per-request heap allocation on the server side beyond the
 * per-connection buffers (and a copy of the answers the socket could not take at once); limits on every input (target 2 KiB, body 1 MiB: the connection is
 * closed past them); every request's callback runs exactly once (status < 0 when the
 * connection failed). Loopback plain HTTP only: these are measuring instruments, not
 * production code.
 */
#ifndef DT_BENCH_LEAN_HTTP_H
#define DT_BENCH_LEAN_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define LH_MAX_TARGET 2048
#define LH_MAX_BODY (1u << 20)

typedef struct lh_server_s lh_server_t;
typedef struct lh_conn_s lh_conn_t;

/* One complete request; answer it with lh_respond before returning (exactly once). */
typedef void (*lh_request_fn)(lh_conn_t *c, const char *method, const char *target, size_t target_len,
                              const char *body, size_t body_len, void *ud);

/* Listens on 127.0.0.1:port (0 = a free port; *bound gets it). Returns 0 or a libuv error. */
int lh_server_start(uv_loop_t *loop, int port, lh_request_fn fn, void *ud, lh_server_t **out, int *bound);
void lh_respond(lh_conn_t *c, int status, const char *content_type, const char *body, size_t len);
/* Stops listening and closes every open connection. */
void lh_server_close(lh_server_t *s);

typedef struct lh_pool_s lh_pool_t;
/* status: the HTTP status, or < 0 when the connection failed before a response. */
typedef void (*lh_response_fn)(int status, void *ud);

/* url: "http://127.0.0.1:PORT" (anything after the port is ignored). NULL on a bad url. */
lh_pool_t *lh_pool_new(uv_loop_t *loop, const char *url, unsigned max_conns);
/* Sends a complete request (head and body; the pool adds nothing); the bytes are copied. */
void lh_pool_send(lh_pool_t *p, const char *bytes, size_t len, lh_response_fn fn, void *ud);
/* Requests queued or in flight. */
size_t lh_pool_pending(const lh_pool_t *p);
/* Connections opened so far (a keep-alive pool opens few). */
unsigned long lh_pool_connects(const lh_pool_t *p);
/* Closes every connection; callbacks of unanswered requests run with status -1. */
void lh_pool_close(lh_pool_t *p);

#endif
