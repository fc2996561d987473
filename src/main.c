/*
 * main.c — the `dialtone` command line (DESIGN.md "Command line").
 *
 * Owns argument parsing, exit codes and the process lifecycle of each command. Exit
 * codes: 0 success, 1 runtime failure, 2 usage or configuration error (with a message
 * that names the key and the fix). Global options (--config, --log-format, --log-level)
 * may come before or after the command. A command that is not in this build is a usage
 * error, never a silent success.
 *
 * `run` loads the configuration (file, DIALTONE_* environment, flags), sets up logging,
 * serves the ingress (GET /healthz, GET /metrics) on the libuv loop and stops cleanly on
 * SIGINT or SIGTERM.
 */
#include <curl/curl.h>
#include <lua.h>
#include <llhttp.h>
#include <mbedtls/version.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "dialtone/check.h"
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/config_lua.h"
#include "dialtone/emulator.h"
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/log.h"
#include "dialtone/metrics.h"

#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Options valid for every command. */
typedef struct {
  const char *config;     /* --config FILE */
  const char *log_format; /* --log-format text|json */
  const char *log_level;  /* --log-level debug|info|warn|error|off */
} global_opts_t;

typedef int (*command_fn)(int argc, char **argv, const global_opts_t *g);

typedef struct {
  const char *name;
  command_fn fn;
  const char *args;
  const char *help;
} command_t;

static int cmd_run(int argc, char **argv, const global_opts_t *g);
static int cmd_version(int argc, char **argv, const global_opts_t *g);
static int cmd_help(int argc, char **argv, const global_opts_t *g);

/* argv[0] is the command name; both ignore it. */
static int cmd_emulator(int argc, char **argv, const global_opts_t *g) { return dt_emulator_main(argc, argv); }
static int cmd_check(int argc, char **argv, const global_opts_t *g) { return dt_check_main(argc, argv); }

/* The commands of this build. demo, console, emulator, test and check join this table
   when their modules are wired in; until then they are reported as unavailable. */
static const command_t commands[] = {
    {"run", cmd_run, "[--config FILE] [--flows DIR] [--listen ADDR:PORT] [--print-config]",
     "run the engine"},
    {"emulator", cmd_emulator, "[--listen ADDR:PORT] [--bot URL] [--time-scale X] [--app-id ID] [--tenant-id ID]",
     "run the Graph calls emulator alone (see docs/emulator.md)"},
    {"check", cmd_check, "[--format text|json] [--prompts DIR] [DIR|FILES...]",
     "compile and lint flows; exit 1 on any problem"},
    {"version", cmd_version, "", "print the versions of dialtone and its libraries"},
    {"help", cmd_help, "", "print this help"},
};

static const char *const planned_commands[] = {"demo", "console", "test"};

static void usage(FILE *out) {
  fprintf(out, "usage: dialtone [--config FILE] [--log-format text|json] [--log-level LEVEL] COMMAND [ARGS]\n\n"
               "commands:\n");
  for (size_t i = 0; i < DT_ARRAY_SIZE(commands); i++)
    fprintf(out, "  dialtone %s%s%s\n      %s\n", commands[i].name, commands[i].args[0] ? " " : "",
            commands[i].args, commands[i].help);
  fprintf(out, "\nThe configuration is read from " DT_CONFIG_DEFAULT_FILE
               " (if present) or --config FILE, then from\n"
               "DIALTONE_* environment variables (DIALTONE_LISTEN, DIALTONE_FLOWS, DIALTONE_CLIENT_ID, ...),\n"
               "then from flags. `dialtone run --print-config` shows the result.\n"
               "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "dialtone: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n\n");
  usage(stderr);
  return EXIT_USAGE;
}

/* ---- version / help --------------------------------------------------------------- */

static int cmd_version(int argc, char **argv, const global_opts_t *g) {
  if (argc > 1) return usage_error("version takes no arguments (got '%s')", argv[1]);
  char mbed[32];
  mbedtls_version_get_string(mbed);
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  printf("dialtone %s\n", DIALTONE_VERSION);
  printf("  %s\n", LUA_RELEASE);
  printf("  libuv %s\n", uv_version_string());
  printf("  libcurl %s\n", curl && curl->version ? curl->version : "?");
  printf("  mbedTLS %s\n", mbed);
  printf("  cJSON %s\n", cJSON_Version());
  printf("  llhttp %d.%d.%d\n", LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
  return EXIT_OK;
}

static int cmd_help(int argc, char **argv, const global_opts_t *g) {
  usage(stdout);
  return EXIT_OK;
}

/* ---- run -------------------------------------------------------------------------- */

typedef struct {
  uv_loop_t loop;
  dt_config_t cfg;
  dt_metrics_t *metrics;
  dt_http_server_t *server;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  bool stopping;
} app_t;

static void respond_text(dt_http_request_t *req, int status, const char *text) {
  dt_http_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void http_handler(dt_http_request_t *req, void *ud) {
  app_t *app = ud;
  const char *path = req->path;
  bool get = strcmp(req->method, "GET") == 0;
  if (strcmp(path, "/healthz") == 0) {
    dt_http_request_set_route(req, "/healthz");
    if (!get) goto not_allowed;
    if (app->stopping) respond_text(req, 503, "draining\n");
    else respond_text(req, 200, "ok\n");
    return;
  }
  if (strcmp(path, "/metrics") == 0) {
    dt_http_request_set_route(req, "/metrics");
    if (!get) goto not_allowed;
    dt_buf_t body = {0};
    dt_metrics_render(app->metrics, &body);
    dt_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", body.data ? body.data : "", body.len);
    dt_buf_free(&body);
    return;
  }
  /* ENGINE: the lead routes POST {callback_path}, GET /calls and GET /prompts/ here. */
  respond_text(req, app->stopping ? 503 : 404, app->stopping ? "draining\n" : "not found\n");
  return;
not_allowed:;
  static const dt_http_header_t allow[] = {{"Allow", "GET"}, {"Content-Type", "text/plain; charset=utf-8"}};
  dt_http_respond_ex(req, 405, allow, DT_ARRAY_SIZE(allow), "method not allowed\n", 19);
}

static void on_server_closed(void *ud) {
  app_t *app = ud;
  app->server = NULL;
  dt_log_info("stopped");
}

static void on_signal(uv_signal_t *h, int signum) {
  app_t *app = h->data;
  if (app->stopping) return;
  app->stopping = true;
  dt_log_info("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
  /* ENGINE: the lead drains calls here first (limits.drain_timeout_s), then closes. */
  uv_close((uv_handle_t *)&app->sigint, NULL);
  uv_close((uv_handle_t *)&app->sigterm, NULL);
  if (app->server) dt_http_server_close(app->server, on_server_closed, app);
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static int run_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "dialtone run: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nusage: dialtone run [--config FILE] [--flows DIR] [--listen ADDR:PORT] [--print-config]\n");
  return EXIT_USAGE;
}

/* Applies --log-format/--log-level from cfg (already validated). */
static void setup_logging(const dt_config_t *cfg) {
  dt_log_set_level((dt_log_level_t)dt_log_level_from_name(cfg->log.level));
  dt_log_set_format(strcmp(cfg->log.format, "json") == 0 ? DT_LOG_JSON : DT_LOG_TEXT);
}

static int cmd_run(int argc, char **argv, const global_opts_t *g) {
  dt_config_override_t overrides[8];
  size_t n = 0;
  bool print_config = false;
  if (g->log_format) overrides[n++] = (dt_config_override_t){"log.format", g->log_format, "--log-format"};
  if (g->log_level) overrides[n++] = (dt_config_override_t){"log.level", g->log_level, "--log-level"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--flows") == 0 || strcmp(a, "--listen") == 0) {
      if (i + 1 >= argc) return run_usage("%s needs a value", a);
      overrides[n++] = (dt_config_override_t){a[2] == 'f' ? "flows" : "listen", argv[++i], a};
    } else if (strncmp(a, "--flows=", 8) == 0) {
      overrides[n++] = (dt_config_override_t){"flows", a + 8, "--flows"};
    } else if (strncmp(a, "--listen=", 9) == 0) {
      overrides[n++] = (dt_config_override_t){"listen", a + 9, "--listen"};
    } else if (strcmp(a, "--print-config") == 0) {
      print_config = true;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      printf("usage: dialtone run [--config FILE] [--flows DIR] [--listen ADDR:PORT] [--print-config]\n");
      return EXIT_OK;
    } else {
      return run_usage("unknown argument '%s'", a);
    }
    if (n == DT_ARRAY_SIZE(overrides)) return run_usage("too many options (at '%s')", a);
  }

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

  /* The first log line says which Graph this process talks to. */
  if (dt_config_has_graph_credentials(&app->cfg))
    dt_log_info("dialtone %s starting: Graph at %s (dialect %s)", DIALTONE_VERSION, app->cfg.graph.base_url,
                app->cfg.graph.dialect);
  else
    dt_log_info("dialtone %s starting: no Graph credentials (graph.tenant_id, graph.client_id, "
                "graph.client_secret), so calls go to the embedded Graph emulator; the call engine "
                "and the emulator are not wired into `run` yet",
                DIALTONE_VERSION);

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

  const dt_config_t *c = &app->cfg;
  dt_http_server_options_t so = {
      .listen = c->listen,
      .handler = http_handler,
      .handler_ud = app,
      .max_header_bytes = (size_t)c->limits.max_header_bytes,
      .max_body_bytes = (size_t)c->limits.max_body_bytes,
      .max_connections = (unsigned)c->limits.max_connections,
      .idle_timeout_ms = (unsigned)c->limits.idle_timeout_ms,
      .request_timeout_ms = (unsigned)c->limits.request_timeout_ms,
      .tls_cert_file = c->tls.cert,
      .tls_key_file = c->tls.key,
      .metrics = app->metrics,
  };
  rc = dt_http_server_start(&app->loop, &so, &app->server, err, sizeof err);
  if (rc != 0) {
    dt_log_error("cannot listen on %s: %s", c->listen, err[0] ? err : dt_strerror(rc));
    exit_code = EXIT_RUNTIME;
    goto shutdown;
  }
  dt_config_bound_port(&app->cfg, dt_http_server_port(app->server));
  dt_log_info("listening on %s (public URL %s)", app->cfg.listen, app->cfg.public_url);

  /* ENGINE: the lead starts the flow engine here (flows from cfg.flows, routes, limits) and,
     when !dt_config_has_graph_credentials(), the embedded emulator on cfg.emulator.listen.
     A failure here sets exit_code = EXIT_RUNTIME and goes to shutdown. */

  uv_signal_init(&app->loop, &app->sigint);
  uv_signal_init(&app->loop, &app->sigterm);
  app->sigint.data = app->sigterm.data = app;
  uv_signal_start(&app->sigint, on_signal, SIGINT);
  uv_signal_start(&app->sigterm, on_signal, SIGTERM);

  uv_run(&app->loop, UV_RUN_DEFAULT);

shutdown:
  if (app->server) dt_http_server_close(app->server, on_server_closed, app);
  uv_run(&app->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&app->loop) == UV_EBUSY) {
    /* Whatever a module left open is closed here, so the loop can be freed. */
    uv_walk(&app->loop, close_walk_cb, NULL);
    uv_run(&app->loop, UV_RUN_DEFAULT);
    uv_loop_close(&app->loop);
  }
  dt_metrics_free(app->metrics);
  dt_config_free(&app->cfg);
  free(app);
  return exit_code;
}

/* ---- main ------------------------------------------------------------------------- */

/* Takes "--opt VALUE" or "--opt=VALUE" at argv[*i]; returns the value, or NULL if argv[*i]
   is not this option. Sets *missing when the value is absent. */
static const char *take_opt(int argc, char **argv, int *i, const char *opt, bool *missing) {
  size_t n = strlen(opt);
  const char *a = argv[*i];
  if (strncmp(a, opt, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

int main(int argc, char **argv) {
  global_opts_t g = {0};
  char **rest = dt_xcalloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0;
  int code = EXIT_USAGE;
  bool want_help = false;
  for (int i = 1; i < argc; i++) {
    bool missing = false;
    const char *v;
    if ((v = take_opt(argc, argv, &i, "--config", &missing))) g.config = v;
    else if ((v = take_opt(argc, argv, &i, "--log-format", &missing))) g.log_format = v;
    else if ((v = take_opt(argc, argv, &i, "--log-level", &missing))) g.log_level = v;
    else if (missing) {
      code = usage_error("%s needs a value", argv[i]);
      goto out;
    } else if (nrest == 0 && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) want_help = true;
    else if (nrest == 0 && strcmp(argv[i], "--version") == 0) rest[nrest++] = "version";
    else rest[nrest++] = argv[i];
  }
  if (g.log_format && strcmp(g.log_format, "text") != 0 && strcmp(g.log_format, "json") != 0) {
    code = usage_error("--log-format must be text or json (got '%s')", g.log_format);
    goto out;
  }
  if (g.log_level && dt_log_level_from_name(g.log_level) < 0) {
    code = usage_error("--log-level must be debug, info, warn, error or off (got '%s')", g.log_level);
    goto out;
  }
  if (g.log_format) dt_log_set_format(strcmp(g.log_format, "json") == 0 ? DT_LOG_JSON : DT_LOG_TEXT);
  if (g.log_level) dt_log_set_level((dt_log_level_t)dt_log_level_from_name(g.log_level));
  if (want_help) {
    usage(stdout);
    code = EXIT_OK;
    goto out;
  }
  if (nrest == 0) {
    usage(stderr);
    goto out;
  }
  if (rest[0][0] == '-') {
    code = usage_error("unknown option '%s'", rest[0]);
    goto out;
  }
  for (size_t i = 0; i < DT_ARRAY_SIZE(commands); i++) {
    if (strcmp(rest[0], commands[i].name) == 0) {
      code = commands[i].fn(nrest, rest, &g);
      goto out;
    }
  }
  for (size_t i = 0; i < DT_ARRAY_SIZE(planned_commands); i++) {
    if (strcmp(rest[0], planned_commands[i]) == 0) {
      code = usage_error("the '%s' command is not available in this build", rest[0]);
      goto out;
    }
  }
  code = usage_error("unknown command '%s'", rest[0]);
out:
  free(rest);
  return code;
}
