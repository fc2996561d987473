/*
 * cmd_run.c — `dialtone run` (cmd_run.h): the engine in production.
 *
 * Owns: the command's options (src/args.h), loading the configuration (file, DIALTONE_*
 * environment, flags), logging set-up, the engine (and the embedded emulator when there
 * are no Graph credentials) on one libuv loop, the open-file limit, and the signals:
 * SIGINT/SIGTERM drain, SIGHUP reloads the flows and the TLS certificate. With real Graph,
 * the start-up checks (preflight.h: a token and the inbound key set) pass before the engine
 * listens. Exit codes: 0 after a clean drain, 1 when it cannot start, 2 on a usage or
 * configuration error.
 */
#include "cmd_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>
#include "args.h"
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/config_lua.h"
#include "dialtone/emulator.h"
#include "dialtone/engine.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/metrics.h"
#include "sd_notify.h"
#include "preflight.h"

#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2


/* `run` is the engine (include/dialtone/engine.h) on one loop. With no Graph credentials
   the Graph calls emulator runs beside it on its own thread and loop, and the engine talks
   to it over loopback exactly as it would to Graph: tokens from its token endpoint,
   notifications signed with its key and checked against its JWKS. SIGINT/SIGTERM drain:
   new incoming calls are refused as busy, running calls get limits.drain_timeout_s to
   finish, the rest are hung up with their CDRs written, and the process exits 0. SIGHUP
   reloads the flows (the engine also watches their directory). */
typedef struct {
  uv_loop_t loop;
  dt_config_t cfg;
  dt_metrics_t *metrics;
  dt_engine_t *engine;
  dt_emulator_thread_t *emulator;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_signal_t sighup;
  bool stopping;
} app_t;

/* Tells systemd (Type=notify) where we stand; a failure is logged, never fatal. */
static void notify_manager(const char *state) {
  int rc = dt_sd_notify(state);
  if (rc < 0) dt_log_warn("cannot notify the service manager at $NOTIFY_SOCKET: %s", dt_strerror(rc));
}

/* RELOADING=1 carries the monotonic time (systemd's Type=notify-reload wants it). */
static void notify_reloading(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char state[96];
  snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%llu",
           (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull);
  notify_manager(state);
}

static void on_engine_closed(void *ud) {
  app_t *app = ud;
  app->engine = NULL;
  dt_log_info("stopped");
}

static void on_signal(uv_signal_t *h, int signum) {
  app_t *app = h->data;
  if (app->engine) dt_engine_signal_arrived(app->engine);
  if (app->stopping) return;
  app->stopping = true;
  dt_log_info("received %s: draining (up to %.0f s), new calls are refused as busy",
              signum == SIGINT ? "SIGINT" : "SIGTERM", app->cfg.limits.drain_timeout_s);
  uv_close((uv_handle_t *)&app->sigint, NULL);
  uv_close((uv_handle_t *)&app->sigterm, NULL);
  uv_close((uv_handle_t *)&app->sighup, NULL);
  notify_manager("STOPPING=1\nSTATUS=draining: new calls are refused as busy");
  if (app->engine) dt_engine_close(app->engine, on_engine_closed, app);
}

/* SIGHUP reloads the flows directory now (it is also watched; SIGHUP is for changes a
   watch cannot see, such as the directory's symbolic link pointed elsewhere). */
static void on_sighup(uv_signal_t *h, int signum) {
  app_t *app = h->data;
  if (app->engine) dt_engine_signal_arrived(app->engine);
  if (app->stopping || !app->engine) return;
  dt_log_info("received SIGHUP: reloading the flows in %s", app->cfg.flows);
  notify_reloading();
  unsigned failed = 0;
  char err[512] = "";
  int n = dt_engine_reload(app->engine, &failed, err, sizeof err);
  if (n < 0) dt_log_error("SIGHUP: reload failed: %s", err);
  int t = dt_engine_reload_tls(app->engine, err, sizeof err);
  if (t > 0) dt_log_info("SIGHUP: TLS certificate and key reloaded (new connections use them)");
  else if (t < 0) dt_log_error("SIGHUP: TLS certificate not reloaded, the old one stays in use: %s", err);
  notify_manager("READY=1\nSTATUS=running (reloaded)");
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}


/* Applies --log-format/--log-level from cfg (already validated). */
static void setup_logging(const dt_config_t *cfg) {
  dt_log_set_level((dt_log_level_t)dt_log_level_from_name(cfg->log.level));
  dt_log_set_format(strcmp(cfg->log.format, "json") == 0 ? DT_LOG_JSON : DT_LOG_TEXT);
}

static bool derived(const dt_config_t *cfg, const char *path) {
  return strcmp(dt_config_origin(cfg, path), "derived") == 0;
}

/* Descriptors kept back from ingress connections for everything else the engine opens:
   Graph requests (one connection each at worst), prompt and recording files, the CDR file
   and the recordings journal, the flow watcher, libuv's own, the embedded emulator. */
static rlim_t fd_headroom(rlim_t limit) {
  rlim_t quarter = limit / 4;
  return quarter > 256 ? quarter : 256;
}

/* Raises the soft open-file limit to the hard one, then returns the connection limit that
   fits below it with headroom, lowered from wanted (logged) when it does not. Without this
   a flood of connections takes the descriptors Graph requests and CDR writes need, and the
   engine fails in places far from the cause. */
static unsigned fit_connections_to_fd_limit(int64_t wanted) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return (unsigned)wanted;
  rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    struct rlimit raised = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl.rlim_cur = rl.rlim_max;
    else dt_log_warn("cannot raise the open-file limit from %llu to %llu: %s", (unsigned long long)before,
                     (unsigned long long)rl.rlim_max, strerror(errno));
  }
  if (rl.rlim_cur != before)
    dt_log_debug("open-file limit raised from %llu to %llu", (unsigned long long)before,
                 (unsigned long long)rl.rlim_cur);
  if (rl.rlim_cur == RLIM_INFINITY) return (unsigned)wanted;
  rlim_t headroom = fd_headroom(rl.rlim_cur);
  rlim_t fit = rl.rlim_cur > headroom + 16 ? rl.rlim_cur - headroom : 16;
  if ((rlim_t)wanted <= fit) return (unsigned)wanted;
  dt_log_warn("limits.max_connections lowered from %lld to %llu: the open-file limit is %llu (ulimit -n) "
              "and %llu descriptors are kept for Graph requests, prompts, recordings and the journal",
              (long long)wanted, (unsigned long long)fit, (unsigned long long)rl.rlim_cur,
              (unsigned long long)headroom);
  return (unsigned)fit;
}

static void run_usage(FILE *f) {
  fprintf(f, "usage: dialtone run [--config FILE] [--flows DIR] [--listen ADDR:PORT] [--print-config]\n");
}

int dt_cmd_run_main(int argc, char **argv, const dt_args_global_t *g) {
  const char *flows = NULL, *listen_addr = NULL;
  bool print_config = false;
  const dt_arg_t opts[] = {
      DT_ARG_STR("--flows", &flows),
      DT_ARG_STR("--listen", &listen_addr),
      DT_ARG_BOOL("--print-config", NULL, &print_config),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone run", .opts = opts, .nopts = DT_ARRAY_SIZE(opts),
                               .usage = run_usage, .unknown = "unknown argument '%s'",
                               .usage_after_missing = true};
  int code;
  if (!dt_args_parse(&spec, 1, argc, argv, stdout, stderr, &code)) return code;
  dt_config_override_t overrides[4];
  size_t n = 0;
  if (g->log_format) overrides[n++] = (dt_config_override_t){"log.format", g->log_format, "--log-format"};
  if (g->log_level) overrides[n++] = (dt_config_override_t){"log.level", g->log_level, "--log-level"};
  if (flows) overrides[n++] = (dt_config_override_t){"flows", flows, "--flows"};
  if (listen_addr) overrides[n++] = (dt_config_override_t){"listen", listen_addr, "--listen"};

  app_t *app = dt_xcalloc(1, sizeof *app);
  char err[1024] = "";
  int exit_code = EXIT_OK;
  if (dt_config_load(&app->cfg, g->config, overrides, n, err, sizeof err) != 0) {
    fprintf(stderr, "dialtone: configuration error: %s\n", err);
    dt_config_free(&app->cfg);
    free(app);
    return EXIT_USAGE;
  }
  if (print_config) {
    dt_buf_t out = {0};
    dt_config_dump(&app->cfg, &out);
    fwrite(out.data, 1, out.len, stdout);
    dt_buf_free(&out);
    dt_config_free(&app->cfg);
    free(app);
    return EXIT_OK;
  }
  setup_logging(&app->cfg);
  signal(SIGPIPE, SIG_IGN); /* a peer closing mid-write is an error code, not a death */
  const dt_config_t *c = &app->cfg;
  bool real_graph = dt_config_has_graph_credentials(c);

  /* The first log line says which Graph this process talks to. */
  if (real_graph)
    dt_log_info("dialtone %s starting: Graph at %s (dialect %s)", DIALTONE_VERSION, c->graph.base_url,
                c->graph.dialect);
  else
    dt_log_info("dialtone %s starting: no Graph credentials (graph.tenant_id, graph.client_id, "
                "graph.client_secret or graph.client_certificate), so calls go to the embedded Graph emulator",
                DIALTONE_VERSION);
  dt_preflight_warn_settings(c, real_graph);

  int rc = uv_loop_init(&app->loop);
  if (rc != 0) {
    dt_log_error("cannot create the event loop: %s", uv_strerror(rc));
    dt_config_free(&app->cfg);
    free(app);
    return EXIT_RUNTIME;
  }
  app->metrics = dt_metrics_new();
  dt_metrics_describe(app->metrics, "dialtone_build_info", "gauge", "dialtone version");
  dt_metrics_set(app->metrics, "dialtone_build_info", "version=\"" DIALTONE_VERSION "\"", 1);
  dt_metrics_describe(app->metrics, "dialtone_start_time_seconds", "gauge", "Unix time the process started");
  dt_metrics_set(app->metrics, "dialtone_start_time_seconds", NULL, (double)dt_unix_time());

  /* Real Graph: a token and the key set, or no start (one line says why). */
  if (real_graph && (rc = dt_preflight_run(&app->loop, c, err, sizeof err)) != 0) {
    dt_log_error("start-up check failed, not starting: %s", err);
    exit_code = EXIT_RUNTIME;
    goto shutdown;
  }

  /* Graph: the configured one, or the embedded emulator. */
  char *graph_url = NULL, *token_url = NULL, *openid = NULL;
  if (!real_graph) {
    dt_emulator_options_t eo;
    dt_emulator_options_init(&eo);
    eo.listen = c->emulator.listen;
    eo.time_scale = c->emulator.time_scale;
    if (c->graph.client_id) eo.app_id = c->graph.client_id;
    if (c->graph.tenant_id) eo.tenant_id = c->graph.tenant_id;
    rc = dt_emulator_thread_start(&eo, &app->emulator, err, sizeof err);
    if (rc != 0) {
      dt_log_error("cannot start the embedded emulator on %s: %s", c->emulator.listen, err);
      exit_code = EXIT_RUNTIME;
      goto shutdown;
    }
    const char *eurl = dt_emulator_thread_url(app->emulator);
    graph_url = dt_xasprintf("%s/%s", eurl, strcmp(c->graph.dialect, "beta") == 0 ? "beta" : "v1.0");
    token_url = dt_xasprintf("%s/%s/oauth2/v2.0/token", eurl, dt_emulator_thread_tenant_id(app->emulator));
    openid = dt_xasprintf("%s/.well-known/openid-configuration", eurl);
    dt_log_info("embedded Graph emulator at %s (time scale %g)", eurl, c->emulator.time_scale);
  }

  dt_route_t *routes = dt_xcalloc(c->routes.count + 1, sizeof *routes);
  for (size_t i = 0; i < c->routes.count; i++)
  {
    const dt_config_route_t *it = &c->routes.items[i];
    routes[i] = (dt_route_t){it->match, it->flow, it->subject, it->policy_recording, it->transferred, it->meeting};
  }
  dt_engine_options_t eo = {
      .listen = c->listen,
      .public_url = derived(c, "public_url") ? NULL : c->public_url,
      .callback_path = c->callback_path,
      .tls_cert = c->tls.cert,
      .tls_key = c->tls.key,
      .flows_dir = c->flows,
      .prompts_dir = c->prompts.dir,
      .prompts_base_url = derived(c, "prompts.base_url") ? NULL : c->prompts.base_url,
      .recordings_dir = c->recordings,
      .cdr_path = c->cdr,
      .cdr_spool_path = c->cdr_spool,
      .cdr_spool_records = (size_t)c->limits.cdr_spool_records,
      .routes = routes,
      .route_count = c->routes.count,
      .default_flow = c->routes.default_flow,
      .tts = {.voice = c->tts.voice, .language = c->tts.language, .rate = (int)c->tts.rate,
              .cache_bytes = (uint64_t)c->tts.cache_mb << 20, .no_prompts = c->tts.prompts == 0},
      .metrics = app->metrics,
      .flow_settings = &c->flow_settings,
  };
  if (real_graph) {
    eo.graph.base_url = c->graph.base_url;
    eo.graph.token_url = c->graph.token_url;
    eo.graph.tenant_id = c->graph.tenant_id;
    eo.graph.client_id = c->graph.client_id;
    eo.graph.client_secret = c->graph.client_secret;
    eo.ca_file = c->graph.ca_file;
    eo.graph.client_cert_file = c->graph.client_certificate.cert;
    eo.graph.client_key_file = c->graph.client_certificate.key;
    eo.inbound.jwks_url = c->inbound.jwks_url;
    eo.inbound.openid_config_url = c->inbound.jwks_url ? NULL : c->inbound.openid_config;
    eo.inbound.audience = c->inbound.audience;
  } else {
    eo.graph.base_url = graph_url;
    eo.graph.token_url = token_url;
    eo.graph.tenant_id = dt_emulator_thread_tenant_id(app->emulator);
    eo.graph.client_id = dt_emulator_thread_app_id(app->emulator);
    eo.graph.client_secret = c->graph.client_secret ? c->graph.client_secret : "embedded-emulator";
    eo.inbound.openid_config_url = openid;
    eo.inbound.audience = dt_emulator_thread_app_id(app->emulator);
  }
  eo.graph.dialect = strcmp(c->graph.dialect, "beta") == 0 ? DT_GRAPH_BETA : DT_GRAPH_V1;
  if (!real_graph) { /* flow timers follow the embedded emulator's clock (0 = instant) */
    eo.timer_scale = c->emulator.time_scale;
    eo.instant_timers = c->emulator.time_scale == 0;
  }
  eo.inbound.enabled = true;
  eo.inbound.issuers = (const char *const *)c->inbound.issuers.items;
  eo.inbound.issuer_count = c->inbound.issuers.count;
  eo.limits.max_body_bytes = (size_t)c->limits.max_body_bytes;
  eo.limits.max_header_bytes = (size_t)c->limits.max_header_bytes;
  eo.limits.max_connections = fit_connections_to_fd_limit(c->limits.max_connections);
  eo.limits.max_connections_per_ip = (unsigned)c->limits.max_connections_per_ip;
  eo.limits.header_timeout_ms = (unsigned)c->limits.header_timeout_ms;
  eo.limits.idle_timeout_ms = (unsigned)c->limits.idle_timeout_ms;
  eo.limits.request_timeout_ms = (unsigned)c->limits.request_timeout_ms;
  eo.limits.max_body_total_bytes = (size_t)c->limits.max_body_total_bytes;
  eo.admin_listen = c->admin.listen;
  eo.admin_token = c->admin.token;
  eo.limits.instruction_budget = (uint64_t)c->limits.instruction_budget;
  eo.limits.lua_memory_bytes = (size_t)c->limits.lua_memory_bytes;
  eo.limits.call_memory_bytes = (size_t)c->limits.call_memory;
  eo.limits.op_timeout_s = (unsigned)(c->limits.op_timeout_s + 0.999);
  eo.limits.drain_timeout_s = (unsigned)(c->limits.drain_timeout_s + 0.999);
  /* to the millisecond; 0 s means "do not wait" (1 ms), not the engine's default */
  eo.limits.drain_timeout_ms = (unsigned)(c->limits.drain_timeout_s * 1000 + 0.5);
  if (eo.limits.drain_timeout_ms == 0) eo.limits.drain_timeout_ms = 1;
  eo.limits.max_calls = (unsigned)c->limits.max_calls;
  eo.graph.keepalive_interval_s = (unsigned)c->graph.keepalive_interval_s;
  eo.graph.application_instance_id = c->graph.application_instance_id;
  eo.graph.application_instance_name = c->graph.application_instance_name;
  static const char *const no_hosts[1] = {NULL}; /* http.allow = {}: nothing, not the default */
  eo.http.allow = c->http.allow.count ? (const char *const *)c->http.allow.items : no_hosts;
  eo.http.allow_count = c->http.allow.count;
  eo.http.timeout_s = c->http.timeout_s;
  eo.http.max_timeout_s = c->http.max_timeout_s;
  eo.http.max_body_bytes = (size_t)c->http.max_body;
  eo.http.max_in_flight = (unsigned)c->http.max_in_flight;
  eo.health_interval_ms = (unsigned)(c->admin.health_check_s * 1000 + 0.5);

  err[0] = '\0';
  rc = dt_engine_start(&app->loop, &eo, &app->engine, err, sizeof err);
  free(routes);
  free(graph_url);
  free(token_url);
  free(openid);
  if (rc != 0) {
    dt_log_error("cannot start the engine on %s: %s", c->listen, err[0] ? err : dt_strerror(rc));
    exit_code = EXIT_RUNTIME;
    goto shutdown;
  }
  if (err[0]) dt_log_warn("%s", err); /* a flow that did not compile; the others run */
  dt_config_bound_port(&app->cfg, dt_engine_port(app->engine));
  char bot_err[256] = "";
  if (app->emulator &&
      dt_emulator_thread_set_bot_url(app->emulator, dt_engine_callback_url(app->engine), bot_err, sizeof bot_err) != 0) {
    dt_log_error("cannot tell the embedded emulator where the engine listens: %s", bot_err);
    exit_code = EXIT_RUNTIME;
    goto shutdown;
  }
  /* Logged once the engine can take calls (the embedded emulator knows where it is). */
  dt_log_info("run: listening on %s (notifications to %s)", app->cfg.listen, dt_engine_callback_url(app->engine));

  uv_signal_init(&app->loop, &app->sigint);
  uv_signal_init(&app->loop, &app->sigterm);
  app->sigint.data = app->sigterm.data = app;
  uv_signal_start(&app->sigint, on_signal, SIGINT);
  uv_signal_start(&app->sigterm, on_signal, SIGTERM);
  uv_signal_init(&app->loop, &app->sighup);
  app->sighup.data = app;
  uv_signal_start(&app->sighup, on_sighup, SIGHUP);
  /* Ready only now: a reload or stop signal from systemd finds its handler installed. */
  char status[512];
  snprintf(status, sizeof status, "READY=1\nSTATUS=listening on %.200s (notifications to %.250s)", app->cfg.listen,
           dt_engine_callback_url(app->engine));
  notify_manager(status);

  uv_run(&app->loop, UV_RUN_DEFAULT);

shutdown:
  if (app->engine) dt_engine_close(app->engine, on_engine_closed, app);
  uv_run(&app->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&app->loop) == UV_EBUSY) {
    /* Whatever a module left open is closed here, so the loop can be freed. */
    uv_walk(&app->loop, close_walk_cb, NULL);
    uv_run(&app->loop, UV_RUN_DEFAULT);
    uv_loop_close(&app->loop);
  }
  if (app->emulator) dt_emulator_thread_stop(app->emulator);
  dt_metrics_free(app->metrics);
  dt_config_free(&app->cfg);
  free(app);
  return exit_code;
}

