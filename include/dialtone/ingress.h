/*
 * ingress.h — the engine's HTTP routes.
 *
 *   POST {callback_path}  commsNotifications: bearer JWT checked against the JWKS as soon
 *                         as the headers are complete, before any of the body is read
 *                         (401 and the connection closed if missing or invalid; a token
 *                         whose kid is unknown goes on to the refresh below), parsed (400 for a
 *                         malformed body), answered 202 at once, then dispatched to the
 *                         call registry on the loop. An unknown kid refreshes the key set
 *                         once (single flight) before the request is refused; requests
 *                         that arrive before the first key set is loaded wait for it.
 *   GET /healthz          JSON: 200 {"status":"ok"}; 200 {"status":"degraded","reasons":[...]}
 *                         while something the engine needs is failing (the key set could
 *                         not be refreshed, plus what the health callback reports); 503
 *                         {"status":"draining"} while the engine drains
 *   GET /metrics          Prometheus text          } admin routes: with admin_listen set they
 *   GET /calls            active calls as JSON     } are served only on that listener (404 on
 *                         (id, flow, ...)          } the public one); with admin_token set they
 *                                                  } need "Authorization: Bearer TOKEN" (401)
 *   GET /prompts/NAME.wav the prompt files of prompts_dir (names: letters, digits, _ - and
 *                         one level of subdirectory; nothing else is served)
 * The admin listener serves /healthz, /metrics, /calls and what admin_route takes (the live
 * view: /events, /dashboard, /cdrs, /flows). The admin token may also come as the query's
 * access_token=TOKEN (a browser's EventSource cannot send a header).
 * Anything else is 404, a known path with the wrong method 405; 413, 431, 408 and 503 (the
 * request body budget) come from the HTTP server's limits. Keep-alive, pipelining and
 * chunked bodies are the server's.
 */
#ifndef DIALTONE_INGRESS_H
#define DIALTONE_INGRESS_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include "dialtone/call.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/metrics.h"

typedef struct dt_ingress_s dt_ingress_t;

typedef struct {
  uv_loop_t *loop;
  const char *listen;                 /* "127.0.0.1:8080"; port 0 = any free port */
  const char *tls_cert_file, *tls_key_file;
  size_t max_body_bytes, max_header_bytes;
  unsigned max_connections;
  unsigned max_connections_per_ip;    /* 0 = no cap */
  unsigned header_timeout_ms;         /* default 10000 */
  unsigned idle_timeout_ms;           /* keep-alive idle close; default 60000 */
  unsigned request_timeout_ms;        /* first byte to complete request; default 10000 */
  size_t max_body_total_bytes;        /* body bytes held across connections; default 64 MiB */
  const char *admin_listen;           /* NULL = admin routes on the public listener */
  const char *admin_token;            /* NULL = admin routes need no token */
  const char *callback_path;          /* default "/api/calls" */
  const char *prompts_dir;            /* NULL = /prompts/ answers 404 */
  dt_metrics_t *metrics;              /* borrowed; /metrics renders it */
  dt_http_client_t *http;             /* borrowed: key set downloads */
  bool auth;                          /* false = notifications are not authenticated (warned) */
  const char *jwks_url;               /* either this ... */
  const char *openid_config_url;      /* ... or the OpenID configuration that names it */
  const char *const *issuers;         /* default: https://api.botframework.com, https://graph.microsoft.com */
  size_t issuer_count;
  const char *audience;               /* required when auth */
  unsigned max_parked;                /* notifications waiting for a key set; default 4096 */
  unsigned min_refresh_ms;            /* an unknown kid refreshes the key set at most this often; default 5000 */
  /* /healthz asks it for up to max reasons the engine is degraded (each copied at once);
     returns how many it wrote. NULL = none beyond the key set's. */
  size_t (*health)(void *ud, const char **reasons, size_t max);
  void *health_ud;
  /* Optional: more admin routes. Called for a request on the admin routes that no built-in
     route took on the admin listener (never the public one); returns true if it took (and
     answers) it, after dt_ingress_admin_allowed. */
  bool (*admin_route)(struct dt_ingress_s *ing, dt_http_request_t *req, void *ud);
  void *admin_route_ud;
} dt_ingress_options_t;

int dt_ingress_start(const dt_ingress_options_t *opts, dt_ingress_t **out, char *err, size_t errlen);
/* The registry notifications go to (set once, after the registry exists). */
void dt_ingress_set_calls(dt_ingress_t *ing, dt_calls_t *calls);
/* For admin_route: true = the request may go on; false = it was answered 401 (no or a wrong
   admin token). */
bool dt_ingress_admin_allowed(dt_ingress_t *ing, dt_http_request_t *req);
int dt_ingress_port(const dt_ingress_t *ing);
/* The admin listener's bound port, 0 without one. */
int dt_ingress_admin_port(const dt_ingress_t *ing);
void dt_ingress_set_draining(dt_ingress_t *ing, bool draining);
/* Reads the public listener's TLS certificate and key again (dt_http_server_reload_tls). */
int dt_ingress_reload_tls(dt_ingress_t *ing, char *err, size_t errlen);
/* Key set downloads started so far (tests of the single-flight refresh). */
unsigned dt_ingress_jwks_fetches(const dt_ingress_t *ing);
/* True once a key set is loaded (always true without authentication). */
bool dt_ingress_keys_ready(const dt_ingress_t *ing);
/* Downloads the key set again now (unless one is under way): the periodic health check.
   A failure keeps the keys already loaded and makes /healthz say "key set stale". */
void dt_ingress_refresh_keys(dt_ingress_t *ing);
/* Why the key set is stale or missing, NULL while the last download succeeded. */
const char *dt_ingress_keys_error(const dt_ingress_t *ing);
/* Notifications accepted (202) so far. */
uint64_t dt_ingress_accepted(const dt_ingress_t *ing);
/* Stops listening; waiting requests get 503; done (may be NULL) runs from the loop. */
void dt_ingress_close(dt_ingress_t *ing, void (*done)(void *ud), void *ud);

#endif
