/*
 * localrun.c — the engine and its Graph calls emulator in one process, on one libuv loop
 * (include/dialtone/localrun.h). `dialtone demo`, `dialtone console` and `dialtone test`
 * stand on it.
 *
 * Owns: the emulator and the engine it starts, the temporary recordings directory it
 * creates when none is given (removed at close), and the log level while quiet.
 * Promises: the engine talks to the emulator over real HTTP on loopback exactly as it
 * talks to Graph — OAuth client credentials at the emulator's token endpoint, Graph
 * requests to its /v1.0 or /beta, and every notification authenticated against the
 * emulator's OpenID configuration and key set. The emulator's timeline reaches the event
 * hook through dt_emulator_on_event; callers act on the emulator through its typed control
 * API (dt_localrun_emulator + dt_emulator_place_call, _press ...), and
 * dt_localrun_control addresses the same API by method and path (dt_emulator_control),
 * so nothing here repeats the emulator's own logic. Calls started from C run the flow they
 * name through the engine's own mechanisms: an incoming call is pinned to its flow by id
 * (dt_engine_route_call) before its notification leaves the emulator, and a dial is the
 * registry's dial with no calling call (dt_engine_dial). Close drains the
 * engine (its calls are hung up while the emulator still answers), then closes the
 * emulator, then frees what is left.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dialtone/call.h"
#include "dialtone/clock.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/localrun.h"
#include "dialtone/log.h"

struct dt_localrun_s {
  uv_loop_t *loop;
  dt_emulator_t *emu;
  dt_engine_t *engine;
  char *recordings_dir;
  bool remove_recordings;      /* the directory is ours (a temporary one) */
  dt_localrun_event_fn event_fn;
  void *event_ud;
  bool log_lowered;
  dt_log_level_t saved_level;
  bool closing;
  bool sim_wall;     /* time scale 0: the flows' wall clock runs on the simulated clock */
  double wall_base;  /* ... and reads wall_base + simulated seconds */
  dt_done_t done; /* dt_localrun_close's callback: runs after lr is freed */
  /* the settled clock (options.settled_clock): a prepare handle moves the emulator's
     manual clock one instant at a time once everything has settled */
  bool clock_on;
  uv_prepare_t clock_prep;
  uv_timer_t clock_wake;
  int quiet;
  bool sim_keepalive; /* the engine's keepAlive runs on the emulator's simulated clock */
};

#define LR_QUIET_TURNS 4

bool dt_localrun_settled(dt_localrun_t *lr) {
  if (lr == NULL || lr->closing || dt_emulator_busy(lr->emu)) return false;
  /* a request on its way or not yet answered: its answer (and what the flow does next) belongs
     to this instant, however slowly this process runs (valgrind) */
  if (lr->engine && dt_engine_requests_in_flight(lr->engine) > 0) return false;
  if (lr->clock_on) uv_timer_stop(&lr->clock_wake); /* our own wake-up does not count */
  return uv_backend_timeout(lr->loop) != 0;
}

static void on_clock_wake(uv_timer_t *t) { (void)t; }

double dt_localrun_wall_clock(const dt_localrun_t *lr) {
  if (!lr->sim_wall) return (double)dt_clock_unix_ms() / 1000.0;
  return lr->wall_base + (double)dt_emulator_clock_now(lr->emu) / 1000.0;
}

void dt_localrun_set_wall_clock(dt_localrun_t *lr, double unix_s) {
  if (lr->sim_wall) lr->wall_base = unix_s - (double)dt_emulator_clock_now(lr->emu) / 1000.0;
}

static double lr_wall_clock(void *ud) { return dt_localrun_wall_clock(ud); }

static uint64_t lr_sim_now(void *ud) { return dt_emulator_clock_now(ud); }

bool dt_localrun_keepalive_step(dt_localrun_t *lr, int64_t target) {
  if (lr == NULL || lr->closing || !lr->sim_keepalive || !lr->engine) return false;
  dt_calls_t *r = dt_engine_calls(lr->engine);
  uint64_t k = 0, e = 0;
  if (!r || dt_calls_keepalive_next_due(r, &k) != 0) return false;
  if (target >= 0 && (int64_t)k > target) return false;
  /* the emulator's events come first up to and including the same instant */
  if (dt_emulator_clock_next_due(lr->emu, &e) == 0 && e <= k) return false;
  uint64_t now = dt_emulator_clock_now(lr->emu);
  if (k > now) dt_emulator_clock_advance(lr->emu, k - now);
  dt_calls_keepalive_sweep(r, dt_emulator_clock_now(lr->emu));
  return true;
}

/* Each loop turn: count settled turns (polling without blocking while there is a next
   instant), then move the clock to the next instant. With nothing scheduled the loop
   blocks as usual; what arrives then schedules the next instant. */
static void on_clock_prepare(uv_prepare_t *p) {
  dt_localrun_t *lr = p->data;
  if (lr->closing) return;
  lr->quiet = dt_localrun_settled(lr) ? lr->quiet + 1 : 0;
  /* nothing scheduled, or something on its way (the poll wakes us when it comes) */
  if (lr->quiet == 0 || dt_emulator_clock_next_due(lr->emu, NULL) != 0) return;
  if (lr->quiet >= LR_QUIET_TURNS && dt_emulator_clock_next(lr->emu) > 0) lr->quiet = 0;
  uv_timer_start(&lr->clock_wake, on_clock_wake, 0, 0); /* poll without blocking */
}

/* Removes a directory tree we created (recordings and their metadata files). Symbolic
   links are removed, never followed; the depth is bounded. */
static void remove_tree(const char *path, int depth) {
  DIR *d = opendir(path);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char *p = dt_xasprintf("%s/%s", path, e->d_name);
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 8) remove_tree(p, depth + 1);
      else unlink(p);
      free(p);
    }
    closedir(d);
  }
  rmdir(path);
}

static void lr_free(dt_localrun_t *lr) {
  if (lr->remove_recordings && lr->recordings_dir) remove_tree(lr->recordings_dir, 0);
  if (lr->log_lowered) dt_log_set_level(lr->saved_level);
  free(lr->recordings_dir);
  dt_free_then_done(lr, lr->done); /* set only by dt_localrun_close */
}

static void lr_free_cb(void *ud) { lr_free(ud); } /* the emulator closed: lr goes last */

static void on_event(const cJSON *entry, void *ud) {
  dt_localrun_t *lr = ud;
  if (lr->event_fn && !lr->closing) lr->event_fn(entry, lr->event_ud);
}

int dt_localrun_start(uv_loop_t *loop, const dt_localrun_options_t *opts, dt_localrun_t **out,
                      char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (loop == NULL || out == NULL) return dt_seterr(err, errlen, DT_EINVAL, "localrun: no loop");
  dt_localrun_options_t defaults = {0};
  if (opts == NULL) opts = &defaults;
  if (!(opts->time_scale >= 0 && opts->time_scale <= 1000))
    return dt_seterr(err, errlen, DT_EINVAL, "the time scale must be from 0 (instant) to 1000 (1 = real time)");
  const char *flows = opts->flows_dir && opts->flows_dir[0] ? opts->flows_dir : "flows";
  struct stat st;
  if (stat(flows, &st) != 0)
    return dt_seterr(err, errlen, DT_ENOENT, "flows directory %s: %s", flows, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return dt_seterr(err, errlen, DT_EINVAL, "flows directory %s: not a directory", flows);

  dt_localrun_t *lr = dt_xcalloc(1, sizeof *lr);
  lr->loop = loop;
  if (opts->recordings_dir && opts->recordings_dir[0]) {
    lr->recordings_dir = dt_xstrdup(opts->recordings_dir);
  } else {
    const char *tmp = getenv("TMPDIR");
    char *tmpl = dt_xasprintf("%s/dialtone-recordings-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
      int e = errno;
      free(tmpl);
      free(lr);
      return dt_seterr(err, errlen, DT_EIO, "cannot create a temporary recordings directory: %s", strerror(e));
    }
    lr->recordings_dir = tmpl;
    lr->remove_recordings = true;
  }
  if (opts->quiet && dt_log_get_level() < DT_LOG_WARN) {
    lr->saved_level = dt_log_get_level();
    lr->log_lowered = true;
    dt_log_set_level(DT_LOG_WARN);
  }

  dt_emulator_options_t eo;
  dt_emulator_options_init(&eo);
  eo.listen = "127.0.0.1:0";
  eo.time_scale = opts->time_scale;
  eo.quiet = opts->quiet;
  bool sim_ka = opts->keepalive_simulated && opts->time_scale == 0 && !opts->settled_clock;
  eo.keepalive_simulated = sim_ka;
  char e2[256] = "";
  int rc = dt_emulator_start(loop, &eo, &lr->emu, e2, sizeof e2);
  if (rc != 0) {
    dt_seterr(err, errlen, rc, "emulator: %s", e2);
    lr_free(lr);
    return rc;
  }
  const char *eurl = dt_emulator_url(lr->emu);
  char *graph_url = dt_xasprintf("%s/%s", eurl, opts->dialect == DT_GRAPH_BETA ? "beta" : "v1.0");
  char *token_url = dt_xasprintf("%s/%s/oauth2/v2.0/token", eurl, dt_emulator_tenant_id(lr->emu));
  char *oidc = dt_xasprintf("%s/.well-known/openid-configuration", eurl);

  dt_engine_options_t en = {0};
  en.listen = "127.0.0.1:0";
  en.flows_dir = flows;
  en.prompts_dir = opts->prompts_dir && opts->prompts_dir[0] ? opts->prompts_dir : NULL;
  en.recordings_dir = lr->recordings_dir;
  en.cdr_path = opts->cdr_path && opts->cdr_path[0] ? opts->cdr_path : NULL;
  en.graph.base_url = graph_url;
  en.graph.dialect = opts->dialect;
  en.graph.token_url = token_url;
  en.graph.tenant_id = dt_emulator_tenant_id(lr->emu);
  en.graph.client_id = dt_emulator_app_id(lr->emu);
  en.graph.client_secret = "localrun"; /* the emulator takes any secret unless told otherwise */
  en.graph.application_instance_id = opts->application_instance_id;
  en.inbound.enabled = true;
  en.inbound.openid_config_url = oidc;
  /* Closing localrun (console quit, end of a flow test) hangs up what still runs: a short
     drain lets a flow that is just finishing write its CDR without holding the user up. */
  en.limits.drain_timeout_ms = 200;
  /* the engine's flow timers follow the emulator's clock: at 0, a no-input timeout
     does not wait real seconds */
  en.timer_scale = opts->time_scale;
  en.instant_timers = opts->time_scale == 0;
  en.flow_settings = opts->flow_settings;
  if (opts->time_scale == 0) { /* simulated time: the flows' wall clock follows it */
    lr->sim_wall = true;
    lr->wall_base = (double)dt_clock_unix_ms() / 1000.0 - (double)dt_emulator_clock_now(lr->emu) / 1000.0;
    en.flow_clock = lr_wall_clock;
    en.flow_clock_ud = lr;
  }
  en.graph.keepalive_interval_s = opts->keepalive_interval_s < 0    ? 0
                                  : opts->keepalive_interval_s == 0 ? 1800
                                                                    : (unsigned)opts->keepalive_interval_s;
  if (sim_ka) { /* keepAlive follows the simulated clock, like the emulator's rule */
    en.graph.keepalive_clock = lr_sim_now;
    en.graph.keepalive_clock_ud = lr->emu;
    lr->sim_keepalive = true;
  }
  en.default_flow = opts->default_flow && opts->default_flow[0] ? opts->default_flow : NULL;
  en.routes = opts->routes;
  en.route_count = opts->route_count;
  e2[0] = '\0';
  rc = dt_engine_start(loop, &en, &lr->engine, e2, sizeof e2);
  free(graph_url);
  free(token_url);
  free(oidc);
  if (rc != 0) {
    dt_seterr(err, errlen, rc, "engine: %s", e2);
    /* the emulator frees itself from the loop; lr goes with it */
    lr->closing = true;
    dt_emulator_close(lr->emu, lr_free_cb, lr);
    return rc;
  }
  /* a flow that did not compile does not stop the start; the caller may show why */
  if (e2[0] && err && errlen) snprintf(err, errlen, "%s", e2);

  /* the emulator's incoming calls go to the engine's callback */
  char e3[256] = "";
  rc = dt_emulator_set_bot_url(lr->emu, dt_engine_callback_url(lr->engine), e3, sizeof e3);
  if (rc != 0) {
    dt_seterr(err, errlen, rc, "emulator: cannot set the bot URL: %s", e3);
    dt_localrun_close(lr, NULL, NULL);
    return rc;
  }
  dt_emulator_on_event(lr->emu, on_event, lr);
  if (opts->settled_clock && opts->time_scale == 0) {
    dt_emulator_set_clock_manual(lr->emu, true);
    uv_prepare_init(loop, &lr->clock_prep);
    uv_timer_init(loop, &lr->clock_wake);
    lr->clock_prep.data = lr->clock_wake.data = lr;
    uv_prepare_start(&lr->clock_prep, on_clock_prepare);
    lr->clock_on = true;
  }
  *out = lr;
  return 0;
}

dt_engine_t *dt_localrun_engine(dt_localrun_t *lr) { return lr->engine; }

dt_emulator_t *dt_localrun_emulator(dt_localrun_t *lr) { return lr->emu; }
const char *dt_localrun_recordings_dir(const dt_localrun_t *lr) { return lr->recordings_dir; }

void dt_localrun_on_event(dt_localrun_t *lr, dt_localrun_event_fn fn, void *ud) {
  lr->event_fn = fn;
  lr->event_ud = ud;
}

int dt_localrun_control(dt_localrun_t *lr, const char *method, const char *path, const char *body,
                        cJSON **response) {
  if (response) *response = NULL;
  if (lr == NULL || lr->closing) return DT_ECLOSED;
  char *text = NULL;
  size_t len = 0;
  int st = dt_emulator_control(lr->emu, method, path, body, body ? strlen(body) : 0, &text, &len);
  if (response && text && len > 0) *response = cJSON_ParseWithLength(text, len);
  free(text);
  return st;
}

int dt_localrun_place_call(dt_localrun_t *lr, const char *flow, const dt_emulator_call_options_t *call,
                           char call_id[DT_EMULATOR_CALL_ID_LEN], char *err, size_t errlen) {
  if (call_id) call_id[0] = '\0';
  if (lr == NULL || lr->closing) return dt_seterr(err, errlen, DT_ECLOSED, "localrun is closing");
  bool named = flow && flow[0];
  if (named && dt_engine_flow_version(lr->engine, flow) == 0)
    return dt_seterr(err, errlen, DT_ENOENT, "no flow named '%s'", flow);
  char id[DT_EMULATOR_CALL_ID_LEN];
  int rc = dt_emulator_place_call(lr->emu, call, id, err, errlen);
  if (rc != 0) return rc;
  /* the notification leaves on a later loop turn: the pin is in place before it comes */
  if (named && (rc = dt_engine_route_call(lr->engine, id, flow, err, errlen)) != 0) {
    dt_emulator_hangup(lr->emu, id, NULL, 0);
    return rc;
  }
  if (call_id) snprintf(call_id, DT_EMULATOR_CALL_ID_LEN, "%s", id);
  return 0;
}

int dt_localrun_dial(dt_localrun_t *lr, const char *flow, const dt_graph_create_params_t *p, char *err,
                     size_t errlen) {
  if (lr == NULL || lr->closing) return dt_seterr(err, errlen, DT_ECLOSED, "localrun is closing");
  return dt_engine_dial(lr->engine, flow, p, err, errlen);
}

static void on_engine_closed(void *ud) {
  dt_localrun_t *lr = ud;
  lr->engine = NULL;
  dt_emulator_close(lr->emu, lr_free_cb, lr); /* lr_free ends with the caller's done */
}

void dt_localrun_close(dt_localrun_t *lr, void (*done)(void *ud), void *ud) {
  if (lr == NULL || lr->closing) return;
  lr->closing = true;
  lr->done = (dt_done_t){done, ud};
  dt_emulator_on_event(lr->emu, NULL, NULL);
  if (lr->clock_on) {
    /* the engine's drain needs the emulator's clock to run by itself (time scale 0); the
       handles close long before lr is freed (after the engine and the emulator) */
    lr->clock_on = false;
    dt_emulator_set_clock_manual(lr->emu, false);
    uv_close((uv_handle_t *)&lr->clock_prep, NULL);
    uv_close((uv_handle_t *)&lr->clock_wake, NULL);
  }
  dt_engine_close(lr->engine, on_engine_closed, lr);
}
