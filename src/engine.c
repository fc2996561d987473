/*
 * engine.c — assembles the engine (see engine.h): HTTP client, OAuth token source, Graph
 * client, CDR writer, flow runtime, call registry and ingress, started in that order and
 * closed in reverse after a drain. Holds no policy of its own; engine-neutral (the flow
 * runtime is reached through runtime.h only). Health: every health_interval_ms the key
 * set is downloaded again and a token asked for, and /healthz (ingress) lists what fails:
 * the key set (ingress's own), token refresh (oauth) and Graph's answers (graph).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dialtone/cdr.h"
#include "dialtone/common.h"
#include "dialtone/engine.h"
#include "dialtone/error.h"
#include "dialtone/http_client.h"
#include "dialtone/ingress.h"
#include "dialtone/log.h"
#include "dialtone/loop_watch.h"
#include "dialtone/oauth.h"
#include "dialtone/recstore.h"
#include "dialtone/runtime.h"
#include "dialtone/text.h"
#include "dialtone/call_events.h"
#include "live_view.h"

struct dt_engine_s {
  uv_loop_t *loop;
  dt_metrics_t *metrics;
  bool own_metrics;
  bool tls;                         /* HTTPS ingress (its certificate reloads on SIGHUP) */
  dt_http_client_t *http;
  dt_http_client_t *flow_http;      /* dialtone.http: a client of its own (no Graph TLS settings) */
  dt_oauth_source_t *tokens;
  dt_client_cert_t *client_cert;    /* certificate credentials, or NULL (the secret) */
  dt_graph_t *graph;
  dt_cdr_writer_t *cdr;
  dt_recstore_t *recstore;
  dt_runtime_t *rt;
  dt_loop_watch_t *loop_watch;      /* stalls of the loop, blamed on the slowest call */
  dt_calls_t *calls;
  dt_ingress_t *ing;
  dt_call_events_t *events;         /* the live view's bus of call events */
  dt_live_view_t *live;             /* /events, /dashboard, /cdrs, /flows on the admin routes */
  char *public_url, *callback_url;
  uint64_t drain_ms;
  uv_timer_t drain_timer;
  uint64_t drain_deadline;
  int drain_phase;                  /* 1: calls finish their flows; 2: the rest were hung up */
  /* hot reload: the flows directory is watched; changes are debounced into one reload */
  char *flows_dir;
  uv_fs_event_t watch;
  uv_timer_t reload_timer;
  bool watching, reload_pending;
  uint64_t reload_first_ms;       /* first change not yet reloaded (loop time) */
  dev_t watch_dev;
  ino_t watch_ino;
  uv_fs_event_t lib_watch;        /* flows_dir/lib, the modules (a change there reloads too) */
  bool lib_watching;
  dev_t lib_dev;
  ino_t lib_ino;
  uv_timer_t health_timer;
  dt_oauth_wait_t *health_wait;   /* the health check's token request */
  char health_reasons[2][760];    /* what /healthz reports beyond the key set */
  int handles_open;
  bool closing;
  dt_done_t done;
};

static const char *or_default(const char *v, const char *def) { return v && v[0] ? v : def; }

static void watch_check(dt_engine_t *e);
static void watch_stop(dt_engine_t *e);
static int engine_reload(dt_engine_t *e, const char *why, unsigned *failed_out, char *err, size_t errlen);

/* http://HOST:PORT (https:// with TLS ingress) from "HOST:PORT" with the port actually bound. */
static char *url_from_listen(const char *listen, int port, bool tls) {
  const char *colon = strrchr(listen, ':');
  size_t hl = colon ? (size_t)(colon - listen) : strlen(listen);
  char host[256];
  if (hl >= sizeof host) hl = sizeof host - 1;
  memcpy(host, listen, hl);
  host[hl] = '\0';
  if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0') snprintf(host, sizeof host, "127.0.0.1");
  else if (strcmp(host, "[::]") == 0) snprintf(host, sizeof host, "[::1]");
  return dt_xasprintf("%s://%s:%d", tls ? "https" : "http", host, port);
}

static void engine_free_now(dt_engine_t *e) {
  if (e->own_metrics) dt_metrics_free(e->metrics);
  dt_call_events_free(e->events);
  DT_FREE_ALL(e->flows_dir, e->public_url, e->callback_url);
  dt_free_then_done(e, e->done);
}

static unsigned live_flow_version(void *rt, const char *name) { return dt_runtime_flow_version(rt, name); }

static void timer_closed(uv_handle_t *h) {
  dt_engine_t *e = h->data;
  if (--e->handles_open == 0) engine_free_now(e);
}

static void http_closed(void *ud) {
  dt_engine_t *e = ud;
  e->handles_open = 5;
  uv_close((uv_handle_t *)&e->health_timer, timer_closed);
  uv_close((uv_handle_t *)&e->watch, timer_closed);
  uv_close((uv_handle_t *)&e->lib_watch, timer_closed);
  uv_close((uv_handle_t *)&e->reload_timer, timer_closed);
  uv_close((uv_handle_t *)&e->drain_timer, timer_closed);
}

static void ingress_closed(void *ud);

static void flow_http_closed(void *ud) {
  dt_engine_t *e = ud;
  e->flow_http = NULL;
  if (e->http) dt_http_client_close(e->http, http_closed, e);
  else http_closed(e);
}

/* Recordings still downloading stay in the journal for the next start. */
static void recstore_closed(void *ud) {
  dt_engine_t *e = ud;
  e->recstore = NULL;
  ingress_closed(e);
}

static void ingress_closed(void *ud) {
  dt_engine_t *e = ud;
  e->ing = NULL;
  if (e->recstore) {
    dt_recstore_close(e->recstore, recstore_closed, e);
    return;
  }
  dt_graph_free(e->graph);
  e->graph = NULL;
  e->health_wait = NULL; /* cancelled with the source, no callback */
  dt_oauth_source_free(e->tokens);
  e->tokens = NULL;
  dt_client_cert_free(e->client_cert); /* after the token source that borrowed it */
  e->client_cert = NULL;
  dt_cdr_close(e->cdr);
  e->cdr = NULL;
  if (e->flow_http) dt_http_client_close(e->flow_http, flow_http_closed, e);
  else flow_http_closed(e);
}

static void calls_closed(void *ud) {
  dt_engine_t *e = ud;
  e->calls = NULL;
  dt_loop_watch_close(e->loop_watch); /* it asks the runtime who stalled the loop */
  e->loop_watch = NULL;
  dt_runtime_free(e->rt);
  e->rt = NULL;
  dt_live_view_close(e->live); /* ends the event streams while their listener is still open */
  e->live = NULL;
  if (e->ing) dt_ingress_close(e->ing, ingress_closed, e);
  else ingress_closed(e);
}

static void close_parts(dt_engine_t *e) {
  if (e->calls) dt_calls_close(e->calls, calls_closed, e);
  else calls_closed(e);
}

/* How long hung-up calls get to be confirmed ended before they are closed regardless. */
#define HANGUP_GRACE_MS 5000

/* The drain, every 20 ms: phase 1 lets calls run their flows (and recordings finish
   downloading) until the drain deadline; phase 2 hangs up what is left and gives Graph
   HANGUP_GRACE_MS to confirm before the registry closes (writing the remaining CDRs). */
static void drain_tick(uv_timer_t *t) {
  dt_engine_t *e = t->data;
  size_t calls = dt_calls_count(e->calls);
  uint64_t now = dt_now_ms();
  if (e->drain_phase == 1) {
    size_t recs = dt_recstore_pending(e->recstore);
    if ((calls > 0 || recs > 0) && now < e->drain_deadline) return;
    if (calls > 0) {
      dt_log(DT_LOG_WARN, NULL, "engine: %zu call%s still running after the drain timeout; hanging up", calls,
             calls == 1 ? "" : "s");
      e->drain_phase = 2;
      e->drain_deadline = now + HANGUP_GRACE_MS;
      dt_calls_hangup_all(e->calls);
      return;
    }
  } else if (calls > 0 && now < e->drain_deadline) {
    return;
  } else if (calls > 0) {
    dt_log(DT_LOG_WARN, NULL, "engine: %zu call%s not confirmed ended; closing them", calls, calls == 1 ? "" : "s");
  }
  uv_timer_stop(t);
  close_parts(e);
}

/* ---------------------------------------------------------------- health */

/* ingress's health callback: token refresh and Graph (the key set is ingress's own). */
static size_t engine_health(void *ud, const char **reasons, size_t max) {
  dt_engine_t *e = ud;
  size_t n = 0;
  const char *tok = dt_oauth_last_error(e->tokens);
  if (tok && n < max) {
    snprintf(e->health_reasons[n], sizeof e->health_reasons[n], "token refresh failing: %s", tok);
    reasons[n] = e->health_reasons[n];
    n++;
  }
  const char *graph = dt_graph_failing(e->graph);
  if (graph && n < max) {
    snprintf(e->health_reasons[n], sizeof e->health_reasons[n], "%s", graph);
    reasons[n] = e->health_reasons[n];
    n++;
  }
  return n;
}

static void on_health_token(int err, const char *token, void *ud) {
  (void)err, (void)token;
  dt_engine_t *e = ud;
  e->health_wait = NULL; /* a failure is in dt_oauth_last_error, and logged by oauth */
}

static void health_tick(uv_timer_t *t) {
  dt_engine_t *e = t->data;
  if (e->closing || !e->ing || !e->tokens) return;
  dt_ingress_refresh_keys(e->ing);
  if (!e->health_wait) (void)dt_oauth_get(e->tokens, on_health_token, e, &e->health_wait);
}

/* ---------------------------------------------------------------- hot reload */

static void watch_stop(dt_engine_t *e) {
  if (e->watching) uv_fs_event_stop(&e->watch);
  e->watching = false;
  if (e->lib_watching) uv_fs_event_stop(&e->lib_watch);
  e->lib_watching = false;
  uv_timer_stop(&e->reload_timer);
  e->reload_pending = false;
}

/* One reload of the flows directory, synchronous on the loop: the runtime reads only the
   files whose size or mtime changed (or whose mtime is too recent to trust) and compiles
   only those whose text changed, so a reload of a normal directory takes a few ms;
   notifications arriving meanwhile wait in the socket buffers, none is lost. */
static int engine_reload(dt_engine_t *e, const char *why, unsigned *failed_out, char *err, size_t errlen) {
  if (!e->rt || e->closing) return dt_seterr(err, errlen, DT_ECLOSED, "the engine is closing");
  if (e->reload_pending) { /* this reload covers the changes the watcher was waiting on */
    uv_timer_stop(&e->reload_timer);
    e->reload_pending = false;
  }
  uint64_t t0 = uv_hrtime();
  unsigned failed = 0;
  char msg[512] = "";
  int n = dt_runtime_reload(e->rt, &failed, msg, sizeof msg);
  double secs = (double)(uv_hrtime() - t0) / 1e9;
  if (e->metrics) dt_metrics_observe(e->metrics, "dt_flow_reload_seconds", NULL, secs);
  watch_check(e); /* the directory may have been replaced (a swapped symlink) */
  if (n < 0)
    dt_log(DT_LOG_ERROR, NULL, "flows: reload (%s) failed: %s", why, msg);
  else if (n > 0 || failed > 0 || strcmp(why, "file change") != 0)
    dt_log(failed ? DT_LOG_WARN : DT_LOG_INFO, NULL, "flows: reload (%s): %d flow%s loaded, %u not compiling, %.1f ms",
           why, n, n == 1 ? "" : "s", failed, secs * 1000.0);
  if (failed_out) *failed_out = failed;
  if (e->events && (n != 0 || failed > 0 || strcmp(why, "file change") != 0)) {
    dt_buf_t f = {0};
    dt_buf_append(&f, "\"why\":", 6);
    dt_text_json_string(&f, why);
    dt_buf_appendf(&f, ",\"loaded\":%d,\"failed\":%u,\"ms\":%.1f,\"message\":", n < 0 ? 0 : n, failed, secs * 1000.0);
    dt_text_json_string(&f, msg);
    dt_call_events_emit(e->events, "reload", NULL, NULL, 0, f.data);
    dt_buf_free(&f);
  }
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return n;
}

static void on_reload_timer(uv_timer_t *t) {
  dt_engine_t *e = t->data;
  e->reload_pending = false;
  engine_reload(e, "file change", NULL, NULL, 0);
}

/* Editors save in several steps (truncate + write, or write a temporary file and rename
   it into place), so events are debounced: the reload runs once nothing happened for
   RELOAD_QUIET_MS, and at the latest RELOAD_MAX_DELAY_MS after the first change. Every
   reload rescans the whole directory, so which file an event names does not matter and
   coalesced events lose nothing. */
#define RELOAD_QUIET_MS 75
#define RELOAD_MAX_DELAY_MS 1000

static void on_flows_event(uv_fs_event_t *h, const char *filename, int events, int status) {
  dt_engine_t *e = h->data;
  if (e->closing) return;
  if (status < 0)
    dt_log(DT_LOG_WARN, NULL, "flows: watching %s: %s (reloading; SIGHUP reloads too)", e->flows_dir,
           uv_strerror(status));
  uint64_t now = uv_now(e->loop);
  if (!e->reload_pending) {
    e->reload_pending = true;
    e->reload_first_ms = now;
  }
  uint64_t waited = now - e->reload_first_ms;
  uint64_t delay = RELOAD_QUIET_MS;
  if (waited + delay > RELOAD_MAX_DELAY_MS) delay = waited >= RELOAD_MAX_DELAY_MS ? 0 : RELOAD_MAX_DELAY_MS - waited;
  uv_timer_start(&e->reload_timer, on_reload_timer, delay, 0);
}

/* (Re)starts the watcher of flows_dir/lib (the modules flows require) as watch_check does
   flows_dir's: a lib/ made later is watched from the reload its creation caused. */
static void lib_watch_check(dt_engine_t *e) {
  char dir[1100];
  snprintf(dir, sizeof dir, "%s/lib", e->flows_dir);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    if (e->lib_watching) uv_fs_event_stop(&e->lib_watch);
    e->lib_watching = false;
    return;
  }
  if (e->lib_watching && st.st_dev == e->lib_dev && st.st_ino == e->lib_ino) return;
  if (e->lib_watching) uv_fs_event_stop(&e->lib_watch);
  e->lib_watching = uv_fs_event_start(&e->lib_watch, on_flows_event, dir, 0) == 0;
  if (!e->lib_watching) dt_log(DT_LOG_WARN, NULL, "flows: cannot watch %s (send SIGHUP to reload)", dir);
  e->lib_dev = st.st_dev;
  e->lib_ino = st.st_ino;
}

/* (Re)starts the watcher when it is not running or the directory is no longer the one
   watched (replaced, or a symbolic link pointed elsewhere). */
static void watch_check(dt_engine_t *e) {
  if (e->closing) return;
  lib_watch_check(e);
  struct stat st;
  if (stat(e->flows_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    if (e->watching) {
      dt_log(DT_LOG_WARN, NULL, "flows: %s is gone; not watching it until a reload finds it again", e->flows_dir);
      uv_fs_event_stop(&e->watch);
      e->watching = false;
    }
    return;
  }
  if (e->watching && st.st_dev == e->watch_dev && st.st_ino == e->watch_ino) return;
  if (e->watching) uv_fs_event_stop(&e->watch);
  e->watching = false;
  int rc = uv_fs_event_start(&e->watch, on_flows_event, e->flows_dir, 0);
  if (rc != 0) {
    dt_log(DT_LOG_WARN, NULL, "flows: cannot watch %s: %s (send SIGHUP to reload)", e->flows_dir, uv_strerror(rc));
    return;
  }
  e->watching = true;
  e->watch_dev = st.st_dev;
  e->watch_ino = st.st_ino;
  dt_log(DT_LOG_DEBUG, NULL, "flows: watching %s", e->flows_dir);
}

void dt_engine_close(dt_engine_t *e, void (*done)(void *ud), void *ud) {
  if (e->closing) return;
  e->closing = true;
  e->done = (dt_done_t){done, ud};
  uv_timer_stop(&e->health_timer);
  watch_stop(e); /* no reloads while draining */
  if (!e->calls) {
    close_parts(e);
    return;
  }
  dt_ingress_set_draining(e->ing, true);
  dt_calls_drain(e->calls);
  size_t n = dt_calls_count(e->calls);
  if (n > 0)
    dt_log(DT_LOG_INFO, NULL, "engine: draining: %zu call%s may run for up to %.1f s; new calls are refused", n,
           n == 1 ? "" : "s", (double)e->drain_ms / 1000.0);
  e->drain_deadline = dt_now_ms() + e->drain_ms;
  e->drain_phase = 1;
  uv_timer_start(&e->drain_timer, drain_tick, 0, 20);
}

int dt_engine_start(uv_loop_t *loop, const dt_engine_options_t *o, dt_engine_t **out, char *err, size_t errlen) {
  if (!o->graph.base_url || !o->graph.base_url[0])
    return dt_seterr(err, errlen, DT_ECONFIG, "graph.base_url is required");
  if (!o->graph.client_id || !o->graph.client_id[0])
    return dt_seterr(err, errlen, DT_ECONFIG, "graph.client_id is required");
  dt_engine_t *e = dt_xcalloc(1, sizeof *e);
  e->loop = loop;
  e->drain_ms = o->limits.drain_timeout_ms       ? o->limits.drain_timeout_ms
                : o->limits.drain_timeout_s ? (uint64_t)o->limits.drain_timeout_s * 1000
                                            : 10000;
  uv_timer_init(loop, &e->drain_timer);
  e->drain_timer.data = e;
  uv_fs_event_init(loop, &e->watch);
  e->watch.data = e;
  uv_fs_event_init(loop, &e->lib_watch);
  e->lib_watch.data = e;
  uv_timer_init(loop, &e->reload_timer);
  e->reload_timer.data = e;
  uv_timer_init(loop, &e->health_timer);
  e->health_timer.data = e;
  e->metrics = o->metrics;
  if (!e->metrics) {
    e->metrics = dt_metrics_new();
    e->own_metrics = true;
  }
  int rc;
  char *token_url = NULL;
  char *prompts_dir = NULL, *prompts_base = NULL;
  const char *flows_dir = or_default(o->flows_dir, "flows");
  const char *listen = or_default(o->listen, "127.0.0.1:8080");
  const char *callback_path = or_default(o->callback_path, "/api/calls");

  dt_http_client_options_t ho = {.metrics = e->metrics, .insecure_tls = o->insecure_tls, .ca_file = o->ca_file};
  if ((rc = dt_http_client_new(loop, &ho, &e->http)) < 0) {
    dt_seterr(err, errlen, rc, "cannot create the HTTP client");
    goto fail;
  }
  dt_http_client_options_t fho = {0};
  if ((rc = dt_http_client_new(loop, &fho, &e->flow_http)) < 0) {
    dt_seterr(err, errlen, rc, "cannot create the HTTP client for flows");
    goto fail;
  }

  prompts_dir = o->prompts_dir ? dt_xstrdup(o->prompts_dir) : dt_xasprintf("%s/prompts", flows_dir);
  char *default_oidc = NULL;
  const char *oidc = o->inbound.openid_config_url;
  if (o->inbound.enabled && !o->inbound.jwks_url && !oidc)
    oidc = default_oidc = dt_xstrdup("https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration");
  e->events = dt_call_events_new(0, 0);
  dt_live_view_options_t lvo = {.loop = loop, .bus = e->events, .cdr_path = o->cdr_path, .flows_dir = flows_dir};
  e->live = dt_live_view_new(&lvo);
  dt_ingress_options_t io = {.loop = loop,
                             .admin_route = dt_live_view_route,
                             .admin_route_ud = e->live,
                             .listen = listen,
                             .tls_cert_file = o->tls_cert,
                             .tls_key_file = o->tls_key,
                             .max_body_bytes = o->limits.max_body_bytes,
                             .max_header_bytes = o->limits.max_header_bytes,
                             .max_connections = o->limits.max_connections,
                             .max_connections_per_ip = o->limits.max_connections_per_ip,
                             .header_timeout_ms = o->limits.header_timeout_ms,
                             .idle_timeout_ms = o->limits.idle_timeout_ms,
                             .request_timeout_ms = o->limits.request_timeout_ms,
                             .max_body_total_bytes = o->limits.max_body_total_bytes,
                             .admin_listen = o->admin_listen,
                             .admin_token = o->admin_token,
                             .callback_path = callback_path,
                             .prompts_dir = prompts_dir,
                             .metrics = e->metrics,
                             .http = e->http,
                             .auth = o->inbound.enabled,
                             .jwks_url = o->inbound.jwks_url,
                             .openid_config_url = oidc,
                             .issuers = o->inbound.issuers,
                             .issuer_count = o->inbound.issuer_count,
                             .audience = or_default(o->inbound.audience, o->graph.client_id),
                             .min_refresh_ms = o->inbound.min_refresh_ms,
                             .health = engine_health,
                             .health_ud = e};
  rc = dt_ingress_start(&io, &e->ing, err, errlen);
  free(default_oidc);
  if (rc < 0) goto fail;
  e->tls = o->tls_cert && o->tls_key;
  e->public_url = o->public_url && o->public_url[0] ? dt_xstrdup(o->public_url)
                                                     : url_from_listen(listen, dt_ingress_port(e->ing), o->tls_cert && o->tls_key);
  size_t pl = strlen(e->public_url);
  while (pl > 0 && e->public_url[pl - 1] == '/') e->public_url[--pl] = '\0';
  e->callback_url = dt_xasprintf("%s%s", e->public_url, callback_path);

  token_url = o->graph.token_url && o->graph.token_url[0]
                  ? dt_xstrdup(o->graph.token_url)
                  : dt_xasprintf("https://login.microsoftonline.com/%s/oauth2/v2.0/token",
                                 or_default(o->graph.tenant_id, "common"));
  if (o->graph.client_cert_file &&
      (rc = dt_client_cert_load(o->graph.client_cert_file, o->graph.client_key_file, &e->client_cert, err, errlen)) < 0)
    goto fail;
  dt_oauth_options_t to = {.token_url = token_url,
                           .client_id = o->graph.client_id,
                           .client_secret = or_default(o->graph.client_secret, ""),
                           .client_cert = e->client_cert};
  if ((rc = dt_oauth_source_new(loop, e->http, &to, &e->tokens)) < 0) {
    dt_seterr(err, errlen, rc, "cannot create the token source for %s", token_url);
    goto fail;
  }
  dt_graph_options_t go = {.base_url = o->graph.base_url, .dialect = o->graph.dialect, .metrics = e->metrics};
  if ((rc = dt_graph_new(loop, e->http, e->tokens, &go, &e->graph)) < 0) {
    dt_seterr(err, errlen, rc, "bad graph.base_url '%s'", o->graph.base_url);
    goto fail;
  }
  dt_cdr_options_t cdro = {.path = o->cdr_path,
                           .loop = loop,
                           .metrics = e->metrics,
                           .spool_records = o->cdr_spool_records,
                           .spool_path = o->cdr_spool_path};
  if (o->cdr_path && (rc = dt_cdr_open_opts(&cdro, &e->cdr, err, errlen)) < 0) goto fail;

  const char *recordings = or_default(o->recordings_dir, "recordings");
  if (mkdir(recordings, 0755) != 0 && errno != EEXIST)
    dt_log(DT_LOG_WARN, NULL, "engine: cannot create the recordings directory %s: %s", recordings, strerror(errno));
  dt_recstore_options_t rso = {.loop = loop, .http = e->http, .metrics = e->metrics, .dir = recordings};
  if ((rc = dt_recstore_new(&rso, &e->recstore)) < 0) {
    dt_seterr(err, errlen, rc, "cannot create the recording store for %s", recordings);
    goto fail;
  }
  int resumed = dt_recstore_resume(e->recstore);
  if (resumed > 0)
    dt_log(DT_LOG_INFO, NULL, "engine: %d recording download%s resumed from %s", resumed, resumed == 1 ? "" : "s",
           dt_recstore_journal_dir(e->recstore));
  else if (resumed < 0)
    dt_log(DT_LOG_ERROR, NULL, "engine: cannot read the recordings journal %s: %s",
           dt_recstore_journal_dir(e->recstore), dt_strerror(resumed));

  prompts_base = o->prompts_base_url && o->prompts_base_url[0] ? dt_xstrdup(o->prompts_base_url)
                                                               : dt_xasprintf("%s/prompts", e->public_url);
  dt_runtime_options_t ro = {.loop = loop,
                             .flows_dir = flows_dir,
                             .prompts_dir = prompts_dir,
                             .prompts_base_url = prompts_base,
                             .instruction_budget = o->limits.instruction_budget,
                             .memory_bytes = o->limits.lua_memory_bytes,
                             .call_memory_bytes = o->limits.call_memory_bytes,
                             .metrics = e->metrics,
                             .timer_scale = o->timer_scale,
                             .instant_timers = o->instant_timers,
                             .http = o->http,
                             .clock = o->flow_clock,
                             .clock_ud = o->flow_clock_ud,
                             .settings = o->flow_settings,
                             .tts_voice = o->tts.voice,
                             .tts_rate = o->tts.rate,
                             .tts_cache_bytes = o->tts.cache_bytes,
                             .tts_no_prompts = o->tts.no_prompts,
                             .language = o->tts.language};
  ro.http.client = e->flow_http;
  if ((rc = dt_runtime_new(&ro, &e->rt, err, errlen)) < 0) goto fail;
  dt_live_view_set_version_source(e->live, live_flow_version, e->rt);
  dt_loop_watch_options_t lwo = {.loop = loop, .metrics = e->metrics, .blame = dt_runtime_take_slowest, .blame_ud = e->rt};
  if ((rc = dt_loop_watch_start(&lwo, &e->loop_watch)) < 0) goto fail;
  if (e->metrics)
    dt_metrics_describe(e->metrics, "dt_flow_reload_seconds", "histogram",
                        "Time one reload of the flows directory held the loop.");
  e->flows_dir = dt_xstrdup(flows_dir);
  watch_check(e); /* before the first load, so no change can fall between the two */
  unsigned failed = 0;
  char ferr[512] = "";
  int n = dt_runtime_reload(e->rt, &failed, ferr, sizeof ferr);
  if (n < 0) dt_log(DT_LOG_WARN, NULL, "engine: %s", ferr);
  else if (failed && err) snprintf(err, errlen, "%s", ferr);

  dt_calls_options_t co = {.loop = loop,
                           .graph = e->graph,
                           .http = e->http,
                           .recstore = e->recstore,
                           .metrics = e->metrics,
                           .cdr = e->cdr,
                           .events = e->events,
                           .callback_uri = e->callback_url,
                           .recordings_dir = recordings,
                           .op_timeout_ms = (o->limits.op_timeout_s ? o->limits.op_timeout_s : 60) * 1000u,
                           .max_calls = o->limits.max_calls,
                           .keepalive_interval_ms = o->graph.keepalive_interval_s * 1000u,
                           .keepalive_clock = o->graph.keepalive_clock,
                           .keepalive_clock_ud = o->graph.keepalive_clock_ud,
                           .application_instance_id = o->graph.application_instance_id,
                           .application_instance_name = o->graph.application_instance_name,
                           .tenant_id = o->graph.tenant_id,
                           .routes = o->routes,
                           .route_count = o->route_count,
                           .default_flow = or_default(o->default_flow, "main"),
                           .hooks = {.on_start = dt_runtime_on_start,
                                     .on_result = dt_runtime_on_result,
                                     .on_release = dt_runtime_on_release,
                                     .ud = e->rt}};
  if ((rc = dt_calls_new(&co, &e->calls)) < 0) {
    dt_seterr(err, errlen, rc, "cannot create the call registry");
    goto fail;
  }
  dt_ingress_set_calls(e->ing, e->calls);
  uint64_t every = o->health_interval_ms ? o->health_interval_ms : 60000;
  uv_timer_start(&e->health_timer, health_tick, every, every);
  dt_log(DT_LOG_INFO, NULL, "engine: listening on %s (callbacks at %s, Graph %s %s)", listen, e->callback_url,
         o->graph.base_url, o->graph.dialect == DT_GRAPH_BETA ? "beta" : "v1.0");
  if (o->admin_listen && *o->admin_listen)
    dt_log(DT_LOG_INFO, NULL, "engine: admin endpoints (/metrics, /calls; live view: /events, /dashboard) on %s (port %d)%s; not on %s",
           o->admin_listen, dt_ingress_admin_port(e->ing), o->admin_token ? ", token required" : "", listen);
  else if (o->admin_token)
    dt_log(DT_LOG_INFO, NULL, "engine: admin endpoints (/metrics, /calls) need the admin token");
  free(token_url);
  free(prompts_dir);
  free(prompts_base);
  *out = e;
  return 0;
fail:
  free(token_url);
  free(prompts_dir);
  free(prompts_base);
  uv_timer_stop(&e->health_timer);
  e->closing = true;
  close_parts(e); /* completes on the loop; the caller's loop run frees the rest */
  return rc < 0 ? rc : DT_EINVAL;
}

int dt_engine_port(const dt_engine_t *e) { return e->ing ? dt_ingress_port(e->ing) : 0; }
const char *dt_engine_callback_url(const dt_engine_t *e) { return e->callback_url; }
size_t dt_engine_active_calls(const dt_engine_t *e) { return e->calls ? dt_calls_count(e->calls) : 0; }
dt_calls_t *dt_engine_calls(dt_engine_t *e) { return e->calls; }
size_t dt_engine_requests_in_flight(const dt_engine_t *e) {
  return (e->http ? dt_http_client_pending(e->http) : 0) + (e->flow_http ? dt_http_client_pending(e->flow_http) : 0) +
         dt_runtime_synth_pending(); /* speech: say.c */
}
void dt_engine_set_http_stub(dt_engine_t *e, dt_runtime_http_stub_fn fn, void *ud) {
  if (e->rt) dt_runtime_set_http_stub(e->rt, fn, ud);
}
dt_metrics_t *dt_engine_metrics(dt_engine_t *e) { return e->metrics; }
int dt_engine_reload(dt_engine_t *e, unsigned *failed, char *err, size_t errlen) {
  return engine_reload(e, "requested", failed, err, errlen);
}
int dt_engine_reload_tls(dt_engine_t *e, char *err, size_t errlen) {
  if (!e->ing || !e->tls) return 0;
  int rc = dt_ingress_reload_tls(e->ing, err, errlen);
  return rc < 0 ? rc : 1;
}

void dt_engine_signal_arrived(dt_engine_t *e) { dt_loop_watch_signal_arrived(e->loop_watch); }

void dt_engine_set_timer_scale(dt_engine_t *e, double scale) {
  if (e->rt) dt_runtime_set_timer_scale(e->rt, scale);
}
int dt_engine_load_flow(dt_engine_t *e, const char *name, const char *text, size_t len, char *err, size_t errlen) {
  return dt_runtime_load_flow(e->rt, name, text, len, err, errlen);
}
unsigned dt_engine_flow_version(dt_engine_t *e, const char *name) { return dt_runtime_flow_version(e->rt, name); }

/* A call started from C runs a flow the runtime holds, or nothing happens. */
static int need_flow(dt_engine_t *e, const char *flow, char *err, size_t errlen) {
  if (!flow || !flow[0]) return dt_seterr(err, errlen, DT_EINVAL, "no flow name given");
  if (!e->rt || !e->calls || e->closing) return dt_seterr(err, errlen, DT_ECLOSED, "the engine is closing");
  if (dt_runtime_flow_version(e->rt, flow) == 0) return dt_seterr(err, errlen, DT_ENOENT, "no flow named '%s'", flow);
  return 0;
}

int dt_engine_route_call(dt_engine_t *e, const char *call_id, const char *flow, char *err, size_t errlen) {
  int rc = need_flow(e, flow, err, errlen);
  if (rc != 0) return rc;
  rc = dt_calls_pin_flow(e->calls, call_id, flow);
  if (rc == DT_EBUSY) return dt_seterr(err, errlen, rc, "too many calls wait for their notification");
  if (rc != 0) return dt_seterr(err, errlen, rc, "cannot route call '%s': %s", call_id ? call_id : "", dt_strerror(rc));
  return 0;
}

int dt_engine_dial(dt_engine_t *e, const char *flow, const dt_graph_create_params_t *p, char *err, size_t errlen) {
  int rc = need_flow(e, flow, err, errlen);
  if (rc != 0) return rc;
  if (!p || (p->target_count == 0 && !p->meeting_join_id && !p->meeting_token && !p->meeting_organizer_id))
    return dt_seterr(err, errlen, DT_EINVAL, "give a target (people to call) or a meeting to join");
  /* the CDR's "to", as dialtone.dial writes it */
  const dt_identity_t *id = p->target_count ? &p->targets[0].identity : NULL;
  char *to = !id                                               ? dt_xstrdup("meeting")
             : id->kind && strcmp(id->kind, "phone") == 0 && id->id ? dt_xstrdup(id->id)
                                                               : dt_xasprintf("%s:%s", id->kind ? id->kind : "?", id->id ? id->id : "");
  rc = dt_calls_dial(e->calls, p, flow, to);
  free(to);
  if (rc == DT_EUNSUPPORTED) return dt_seterr(err, errlen, rc, "meeting.join_id needs the v1.0 dialect (use token or organizer)");
  if (rc == DT_EINVAL)
    return dt_seterr(err, errlen, rc, "Graph would refuse this call (one meeting kind only; guest and a source do not "
                                      "mix; strings at most a few KiB)");
  if (rc == DT_ESTATE) return dt_seterr(err, errlen, rc, "the engine is draining: no new calls");
  if (rc != 0) return dt_seterr(err, errlen, rc, "cannot dial: %s", dt_strerror(rc));
  return 0;
}
size_t dt_engine_lua_memory(const dt_engine_t *e) { return e->rt ? dt_runtime_memory(e->rt) : 0; }
unsigned dt_engine_jwks_fetches(const dt_engine_t *e) { return e->ing ? dt_ingress_jwks_fetches(e->ing) : 0; }
bool dt_engine_inbound_ready(const dt_engine_t *e) { return e->ing && dt_ingress_keys_ready(e->ing); }
uint64_t dt_engine_cdr_count(const dt_engine_t *e) { return dt_cdr_count(e->cdr); }
