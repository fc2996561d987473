/*
 * http_server.h — an HTTP/1.1 server on a libuv loop, parsed by llhttp, with optional
 * TLS (mbedTLS) on the same code path.
 *
 * Promises:
 *  - Keep-alive and pipelining: requests on one connection are handed to the handler
 *    in order, and their responses are written in the same order even when the handler
 *    answers them out of order (later). Chunked request bodies are de-chunked.
 *  - Every request handed to the handler gets its response on the wire: once an answer
 *    ends the connection (Connection: close, an HTTP/1.0 stream), nothing behind it is
 *    parsed; and an HTTP/1.0 request holds back the next one until it is answered, since
 *    its answer may have to end the connection.
 *  - Limits (options): header bytes (431), body bytes (413), connections (at the limit a
 *    new connection displaces the oldest one that has not sent a byte yet; with none, it is
 *    closed at accept), connections per client address (closed at accept), a header
 *    timeout for new connections (closed silently if nothing arrives; 408 if the headers
 *    do not complete), idle keep-alive timeout, a per-request read deadline against slow
 *    clients (408, then close), and a budget of request body bytes held across all
 *    connections (503 and close beyond it). Malformed requests get 400 and the connection
 *    is closed; the server keeps serving everyone else. Refusals are logged at most once a
 *    second (with a count) and counted in metrics.
 *  - on_headers (option): decides on a request when its headers are complete, before any
 *    of its body is read or buffered; a refusal is answered at once and the connection is
 *    closed (the body that follows is read and discarded, never kept).
 *  - The handler is called once per complete request and must answer it exactly once,
 *    now or later, with dt_http_respond*() or the streaming calls. A request whose
 *    connection is gone stays valid until answered; answering it then just frees it.
 *  - Metrics (if options.metrics): counter dt_http_requests_total{route,status}. The
 *    route label is what the handler set with dt_http_request_set_route(), else "other".
 *    Gauge dt_http_connections; counters dt_http_connections_rejected_total (limit),
 *    dt_http_connections_rejected_per_ip_total, dt_http_connections_evicted_total,
 *    dt_http_header_timeouts_total, dt_http_body_budget_refusals_total.
 *  - All callbacks run on the loop thread. Memory of a connection is freed in its
 *    uv_close callback only.
 */
#ifndef DIALTONE_HTTP_SERVER_H
#define DIALTONE_HTTP_SERVER_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include "dialtone/metrics.h"

typedef struct dt_http_server_s dt_http_server_t;
typedef struct dt_http_request_s dt_http_request_t;

typedef struct {
  const char *name;
  const char *value;
} dt_http_header_t;

/* What the handler sees. All strings are NUL-terminated and owned by the request. */
struct dt_http_request_s {
  const char *method;       /* "GET", "POST", ... */
  const char *target;       /* the raw request target, e.g. "/calls?x=1" */
  const char *path;         /* target without the query, percent-decoding NOT applied */
  const char *query;        /* text after '?', or "" */
  const dt_http_header_t *headers; /* as received, names in original case */
  size_t header_count;
  const char *body;         /* de-chunked body, NUL-terminated (may contain NULs) */
  size_t body_len;
  const char *remote_addr;  /* "127.0.0.1:54321" */
  bool tls;                 /* arrived over TLS */
  void *user_data;          /* free for the handler to use */
};

typedef void (*dt_http_handler_fn)(dt_http_request_t *req, void *ud);

typedef struct {
  const char *listen;              /* "127.0.0.1:8080"; port 0 picks a free port; "[::1]:0" for IPv6 */
  dt_http_handler_fn handler;
  void *handler_ud;
  size_t max_header_bytes;         /* default 16 KiB: total of request line + headers */
  size_t max_body_bytes;           /* default 1 MiB */
  unsigned max_connections;        /* default 10000 */
  unsigned idle_timeout_ms;        /* keep-alive idle close, default 60000 */
  unsigned request_timeout_ms;     /* from first byte to complete request, default 10000 */
  unsigned header_timeout_ms;      /* a new connection's first request line + headers, default 10000 */
  unsigned max_connections_per_ip; /* open connections per client address; 0 = no cap */
  size_t max_body_total_bytes;     /* body bytes held by all requests together, default 64 MiB */
  /* Optional: called (with handler_ud) when a request's headers are complete, before its
     body is read. Return 0 to go on, or a status (400..599) the server answers at once
     (401 gets "WWW-Authenticate: Bearer") before closing the connection; the handler then
     never sees the request. It may set the route label; it must not answer the request. */
  int (*on_headers)(dt_http_request_t *req, void *ud);
  const char *tls_cert_file;       /* PEM; both set = HTTPS */
  const char *tls_key_file;
  dt_metrics_t *metrics;           /* optional, borrowed */
} dt_http_server_options_t;

/* Binds and starts listening. On failure returns DT_E* with a detail in err. */
int dt_http_server_start(uv_loop_t *loop, const dt_http_server_options_t *opts,
                         dt_http_server_t **out, char *err, size_t errlen);
/* The bound port (useful after listening on port 0). */
int dt_http_server_port(const dt_http_server_t *srv);
/* Reads the TLS certificate and key again from the files the server started with (a renewed
   certificate, SIGHUP): new connections use them, open ones finish on the old. On an error
   (DT_ETLS, the file named in err; DT_EINVAL without TLS) the old certificate stays. */
int dt_http_server_reload_tls(dt_http_server_t *srv, char *err, size_t errlen);
/* Number of open connections (for tests and /metrics). */
unsigned dt_http_server_connection_count(const dt_http_server_t *srv);
/* Total connections ever accepted (for tests of keep-alive reuse). */
uint64_t dt_http_server_accepted_total(const dt_http_server_t *srv);
/* Stops listening, closes every connection, then calls done (may be NULL) from the loop.
   Requests not yet answered are freed; answering them afterwards is not allowed. */
void dt_http_server_close(dt_http_server_t *srv, void (*done)(void *ud), void *ud);

/* Case-insensitive header lookup; NULL if absent. */
const char *dt_http_request_header(const dt_http_request_t *req, const char *name);
/* Route label for metrics, e.g. "/api/calls". The string must outlive the request (use a literal). */
void dt_http_request_set_route(dt_http_request_t *req, const char *route);

/* Answers the request. body is copied. content_type may be NULL (no Content-Type). */
int dt_http_respond(dt_http_request_t *req, int status, const char *content_type,
                    const char *body, size_t body_len);
/* Same with extra headers (Content-Length and Connection are added by the server). */
int dt_http_respond_ex(dt_http_request_t *req, int status, const dt_http_header_t *headers,
                       size_t header_count, const char *body, size_t body_len);

/* Streaming answers (server-sent events): begin with status and headers (sent with
   Transfer-Encoding: chunked), write any number of chunks, end once. on_abort (optional)
   is called if the client goes away before the end; the request must still be ended. */
int dt_http_stream_begin(dt_http_request_t *req, int status, const dt_http_header_t *headers,
                         size_t header_count,
                         void (*on_abort)(dt_http_request_t *req, void *ud), void *ud);
int dt_http_stream_write(dt_http_request_t *req, const char *data, size_t len);
void dt_http_stream_end(dt_http_request_t *req);

/* Reason phrase for a status code ("Not Found"). */
const char *dt_http_status_text(int status);

#endif
