/*
 * engine.h — dialtone's engine assembled: HTTP ingress, inbound JWT check, notification
 * parser, call registry, flow runtime, Graph client with its OAuth token source, CDRs.
 *
 * The options are engine-neutral (no config.h): src/main.c maps the configuration onto
 * them. Every string is copied at start. The engine does not start the emulator; callers
 * that want one start it and pass its URLs here.
 *
 * dt_engine_start starts listening at once and, on the loop, fetches the inbound key set;
 * it loads every flow of flows_dir before returning (flows that do not compile are logged
 * and skipped; err then names the first one but the start succeeds).
 *
 * Hot reload: flows_dir is watched (uv_fs_event); a change (a file written, added,
 * removed or renamed into place) reloads it after 75 ms of quiet (at most 1 s after the
 * first change): new calls get the new version, calls in progress finish on theirs, a
 * file that does not compile leaves its previous version in place (logged with
 * file:line, counted in dt_flow_reloads_total{result="error"}), a removed file takes
 * its flow away from new calls. dt_engine_reload does the same at once (`dialtone run`
 * calls it on SIGHUP). Metrics: dt_flow_version{flow}, dt_calls_active{flow,version},
 * dt_flow_reloads_total{result}, dt_flow_reload_seconds.
 *
 * Recordings: the engine resumes every recording download left in
 * {recordings_dir}/.journal by an earlier process (recstore.h).
 *
 * dt_engine_close drains gracefully: /healthz answers 503, new incoming calls are rejected
 * "busy", and running calls keep running their flows (their notifications are still
 * accepted) until they end or the drain timeout passes; recordings still downloading get
 * the same time. Calls still running then are hung up (outcome drained, their waiting
 * primitive raises a hangup so the flow unwinds) and get a few seconds for Graph to
 * confirm; then everything is closed (every CDR written; unfinished recording downloads
 * stay in the journal for the next start) and done runs.
 */
#ifndef DIALTONE_ENGINE_H
#define DIALTONE_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "dialtone/call.h"
#include "dialtone/config_settings.h"
#include "dialtone/graph.h"
#include "dialtone/metrics.h"
#include "dialtone/runtime.h" /* dt_flow_http_options_t */

typedef struct dt_engine_s dt_engine_t;

typedef struct {
  const char *listen;               /* default "127.0.0.1:8080"; port 0 = any free port */
  const char *public_url;           /* base of every callbackUri; default http://{listen with the bound port} */
  const char *callback_path;        /* default "/api/calls" */
  const char *tls_cert, *tls_key;   /* both set = HTTPS ingress */
  const char *admin_listen;         /* /metrics and /calls only there (plain HTTP); NULL = public listener */
  const char *admin_token;          /* bearer token /metrics and /calls require; NULL = none */
  const char *flows_dir;            /* default "flows" */
  const char *prompts_dir;          /* default {flows_dir}/prompts; served at /prompts/ */
  const char *prompts_base_url;     /* default {public_url}/prompts */
  const char *recordings_dir;       /* default "recordings" (created if missing) */
  const char *cdr_path;             /* NULL = no CDRs */
  const char *cdr_spool_path;       /* CDRs the file cannot take once memory is full, and at close; NULL = none */
  size_t cdr_spool_records;         /* CDRs kept in memory while the file fails; 0 = 10000 */
  const dt_route_t *routes;         /* incoming calls: called identity -> flow */
  size_t route_count;
  const char *default_flow;         /* default "main" */
  struct {                          /* text to speech (the tts.* keys; runtime.h's tts_* options) */
    const char *voice, *language;   /* default "en-us", "en" */
    int rate;                       /* words per minute; 0 = 165 */
    uint64_t cache_bytes;           /* 0 = 64 MiB */
    bool no_prompts;                /* a missing NAME.wav is an error even with NAME.txt */
  } tts;
  struct {
    const char *base_url;           /* e.g. "https://graph.microsoft.com/v1.0"; required */
    dt_graph_dialect_t dialect;
    const char *token_url;          /* default https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token */
    const char *tenant_id, *client_id, *client_secret;
    /* certificate credentials instead of the secret (PEM files; both or neither) */
    const char *client_cert_file, *client_key_file;
    unsigned keepalive_interval_s;  /* keepAlive period per established call; 0 = never */
    /* the source of calls to phone numbers (graph.application_instance_id/_name); NULL = none */
    const char *application_instance_id, *application_instance_name;
    /* keepAlive's clock (see dt_calls_options_t): NULL = real time, the engine sends them;
       set = a simulated clock, whose owner sends them (dt_calls_keepalive_sweep) */
    uint64_t (*keepalive_clock)(void *ud);
    void *keepalive_clock_ud;
  } graph;
  struct {
    bool enabled;                   /* authenticate notifications (main enables it by default) */
    const char *jwks_url;           /* either this ... */
    const char *openid_config_url;  /* ... or this; default Graph's OpenID configuration */
    const char *const *issuers;     /* default api.botframework.com and graph.microsoft.com */
    size_t issuer_count;
    const char *audience;           /* default graph.client_id */
    unsigned min_refresh_ms;        /* unknown kid: key set downloads at most this often; default 5000 */
  } inbound;
  struct {
    size_t max_body_bytes;          /* default 1 MiB */
    size_t max_header_bytes;        /* default 16 KiB */
    unsigned max_connections;       /* default 10000 */
    unsigned max_connections_per_ip; /* default 0 = no cap */
    unsigned header_timeout_ms;     /* a new connection's headers; default 10000 */
    unsigned idle_timeout_ms;       /* keep-alive idle close; default 60000 */
    unsigned request_timeout_ms;    /* first byte to complete request; default 10000 */
    size_t max_body_total_bytes;    /* request bodies held at once; default 64 MiB */
    uint64_t instruction_budget;    /* per resume; default 10,000,000 */
    size_t lua_memory_bytes;        /* default 1 GiB */
    size_t call_memory_bytes;       /* one call's Lua memory; default 16 MiB */
    unsigned op_timeout_s;          /* default 60 */
    unsigned drain_timeout_s;       /* default 10 */
    unsigned drain_timeout_ms;      /* when non-zero, used instead of drain_timeout_s */
    unsigned max_calls;             /* default 0 = unlimited */
  } limits;
  bool insecure_tls;                /* outbound HTTPS without certificate checks (tests) */
  /* How often the engine re-downloads the key set and asks for a token (refreshed only
     when due, or while failing), so /healthz turns degraded and back without traffic;
     0 = 60000 ms. */
  unsigned health_interval_ms;
  const char *ca_file;              /* optional extra CA bundle (PEM) for outbound HTTPS (e.g. the
                                       emulator's local CA, `dialtone emulator --tls`) */
  dt_metrics_t *metrics;            /* optional, borrowed; else the engine has its own */
  /* Flow timers (gather/menu timeouts, inter-digit waits, call:sleep) are multiplied by
     timer_scale: 0 or unset = 1 = real time. instant_timers makes them fire at once (after
     at most DT_INSTANT_TIMER_MS = 250 ms of real time, so keys already on their way still
     count): the engine's side of an emulator at time scale 0. Operation deadlines
     (limits.op_timeout_s) are never scaled. */
  double timer_scale;
  bool instant_timers;
  /* dialtone.http (config http.*): allow, timeout_s, max_timeout_s, max_body_bytes,
     max_in_flight; zeros are the defaults (runtime.h). The engine gives flows an HTTP client
     of their own (client is ignored here). */
  dt_flow_http_options_t http;
  /* The flows' wall clock (dialtone.now, os.time, os.date) in Unix seconds; NULL = real. */
  double (*flow_clock)(void *ud);
  void *flow_clock_ud;
  const dt_config_settings_t *flow_settings; /* dialtone.settings; borrowed; NULL = none */
} dt_engine_options_t;

int dt_engine_start(uv_loop_t *loop, const dt_engine_options_t *opts, dt_engine_t **out, char *err,
                    size_t errlen);
int dt_engine_port(const dt_engine_t *e);
/* public_url + callback_path. */
const char *dt_engine_callback_url(const dt_engine_t *e);
void dt_engine_close(dt_engine_t *e, void (*done)(void *ud), void *ud);

/* For tests and the CLI. */
size_t dt_engine_active_calls(const dt_engine_t *e);
dt_calls_t *dt_engine_calls(dt_engine_t *e);
dt_metrics_t *dt_engine_metrics(dt_engine_t *e);
/* Recompiles the flow files that changed, now; returns the number (re)loaded or DT_E*.
   *failed gets the number of files that do not compile (their previous version stays);
   err the first one's message (file:line: ...). The watcher and SIGHUP call the same. */
int dt_engine_reload(dt_engine_t *e, unsigned *failed, char *err, size_t errlen);
/* Reads the HTTPS ingress certificate and key again from their files (SIGHUP: a renewed
   certificate needs no restart). 1 when reloaded, 0 without HTTPS ingress, DT_E* with the
   cause in err when a file is unreadable or invalid (the old certificate stays in use). */
int dt_engine_reload_tls(dt_engine_t *e, char *err, size_t errlen);
/* Call from a uv_signal_t callback: the loop-stall watchdog does not count the iteration
   a signal interrupted (dt_loop_watch_signal_arrived). */
void dt_engine_signal_arrived(dt_engine_t *e);
/* Flow timer scale for primitives started from now on (<= 0 = instant), see the options. */
void dt_engine_set_timer_scale(dt_engine_t *e, double scale);
/* Compiles a flow from text (tests, `dialtone test`). */
int dt_engine_load_flow(dt_engine_t *e, const char *name, const char *text, size_t len, char *err, size_t errlen);
unsigned dt_engine_flow_version(dt_engine_t *e, const char *name);
/* Calls started from C (localrun, `dialtone test`). Both refuse a flow the engine does not
   hold (DT_ENOENT, err "no flow named 'X'") and then change nothing.
   dt_engine_route_call: the incoming call with this id (its notification not yet received)
   runs `flow` whatever the routes say. dt_engine_dial: places an outbound call as
   dialtone.dial{flow=...} would from a flow, with no calling call; the new call runs `flow`
   once established (a create request Graph refuses is logged). */
int dt_engine_route_call(dt_engine_t *e, const char *call_id, const char *flow, char *err, size_t errlen);
int dt_engine_dial(dt_engine_t *e, const char *flow, const dt_graph_create_params_t *p, char *err, size_t errlen);
size_t dt_engine_lua_memory(const dt_engine_t *e);
/* Key set downloads so far (tests of the unknown-kid refresh). */
unsigned dt_engine_jwks_fetches(const dt_engine_t *e);
/* True once notifications can be authenticated (the key set is loaded, or auth is off). */
bool dt_engine_inbound_ready(const dt_engine_t *e);
/* CDR lines written so far. */
uint64_t dt_engine_cdr_count(const dt_engine_t *e);
/* Outbound HTTP requests (Graph, tokens, key sets, recordings, flows' dialtone.http) started and not yet answered:
   the simulated clock of `dialtone demo` and `dialtone test` does not move while the engine
   still waits for the emulator's answer. */
size_t dt_engine_requests_in_flight(const dt_engine_t *e);
/* dialtone.http asks fn instead of the network from now on (`dialtone test`); NULL: the network. */
void dt_engine_set_http_stub(dt_engine_t *e, dt_runtime_http_stub_fn fn, void *ud);

#endif
