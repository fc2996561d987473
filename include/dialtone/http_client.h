/*
 * http_client.h — asynchronous HTTP(S) requests on a libuv loop through libcurl's multi
 * interface (curl's multi-uv.c pattern: a uv_poll per socket, one uv_timer).
 *
 * Promises:
 *  - Connections are kept alive and reused across requests to the same host.
 *  - No signals (CURLOPT_NOSIGNAL); every request has a timeout.
 *  - The completion callback runs exactly once per request that was not cancelled,
 *    always later on the loop (never from inside dt_http_client_send), with the status,
 *    headers and body; transport failures have status 0 and error set.
 *  - dt_http_call_cancel() stops a request; its callback is then never called.
 *  - Metrics (if given): counter dt_egress_requests_total{status} (status "error" on
 *    transport failure) and histogram dt_egress_request_seconds.
 *  - Never calls curl from within a callback in a way that re-enters the loop.
 */
#ifndef DIALTONE_HTTP_CLIENT_H
#define DIALTONE_HTTP_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include "dialtone/http_server.h" /* dt_http_header_t */
#include "dialtone/metrics.h"

typedef struct dt_http_client_s dt_http_client_t;
typedef struct dt_http_call_s dt_http_call_t;

typedef struct {
  int status;                      /* HTTP status, 0 on transport failure */
  int error;                       /* 0, or DT_ETIMEDOUT / DT_ECONNREFUSED / DT_ECONN / DT_ETLS / ... */
  const char *error_message;       /* "" when error == 0; else what failed in words first
                                      ("connection refused (...)", "DNS lookup failed (...)",
                                      "TLS failure: the server's certificate is not trusted (...)",
                                      "timed out (...)"), then curl's detail */
  const dt_http_header_t *headers; /* response headers of the final response */
  size_t header_count;
  const char *body;                /* NUL-terminated */
  size_t body_len;
  double total_seconds;
} dt_http_response_t;

/* Everything in the response is valid only during the callback. */
typedef void (*dt_http_response_fn)(const dt_http_response_t *res, void *ud);

typedef struct {
  const char *method;              /* "GET", "POST", "DELETE", ... */
  const char *url;
  const dt_http_header_t *headers; /* copied */
  size_t header_count;
  const char *body;                /* copied; may be NULL */
  size_t body_len;
  long timeout_ms;                 /* 0 = the client's default (10000) */
  size_t max_response_bytes;       /* 0 = 8 MiB; larger responses fail with DT_ETOOBIG */
} dt_http_request_options_t;

typedef struct {
  dt_metrics_t *metrics;           /* optional, borrowed */
  const char *ca_file;             /* extra CA bundle (PEM) for HTTPS, optional */
  bool insecure_tls;               /* skip certificate verification (tests, emulator) */
  unsigned max_connections_per_host; /* 0 = curl default */
} dt_http_client_options_t;

int dt_http_client_new(uv_loop_t *loop, const dt_http_client_options_t *opts, dt_http_client_t **out);
/* Starts a request. out_call (may be NULL) receives a handle valid until the callback
   runs or the call is cancelled. */
int dt_http_client_send(dt_http_client_t *c, const dt_http_request_options_t *req,
                        dt_http_response_fn cb, void *ud, dt_http_call_t **out_call);
void dt_http_call_cancel(dt_http_call_t *call);
/* Number of requests in flight. */
size_t dt_http_client_pending(const dt_http_client_t *c);
/* Cancels everything in flight (no callbacks), closes handles, calls done from the loop. */
void dt_http_client_close(dt_http_client_t *c, void (*done)(void *ud), void *ud);

/* "HTTP 503", or the transport failure in words (never "HTTP 0"): for log lines. */
const char *dt_http_outcome(const dt_http_response_t *res, char *buf, size_t len);

/* Case-insensitive lookup in a response's headers; NULL if absent. */
const char *dt_http_response_header(const dt_http_response_t *res, const char *name);

#endif
