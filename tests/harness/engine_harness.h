/*
 * engine_harness.h — the engine against the Graph emulator on one libuv loop, over real
 * HTTP on 127.0.0.1 (ephemeral ports), for the flow and engine integration tests.
 *
 *   dt_harness_t h;
 *   h_start(&h, &(h_options_t){.dialect = DT_GRAPH_V1});
 *   h_flow(&h, "main", "return function(call) call:answer() call:play('welcome') end");
 *   char id[128];
 *   h_place_call(&h, NULL, id);                 // an incoming call to the bot
 *   H_UNTIL(&h, 10000, h_cdr(&h, id) != NULL);  // bounded wait
 *   ... assert on h_timeline(&h, id), h_cdr(&h, id), h_log_has(&h, "...") ...
 *   h_stop(&h);
 *
 * Every wait is bounded (H_UNTIL gives up after its milliseconds); tests then assert the
 * condition, so a hang is a failure, never a stuck test. Flows report what they saw with
 * dialtone.log("info", ...): the harness captures the log (h_log_has).
 */
#ifndef DT_ENGINE_HARNESS_H
#define DT_ENGINE_HARNESS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/emulator.h"
#include "dialtone/engine.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/http_client.h"
#include "dialtone/log.h"

typedef struct {
  dt_graph_dialect_t dialect;
  double time_scale;             /* emulator time scale; 0 = instant */
  unsigned op_timeout_s;         /* engine limit; 0 = engine default */
  uint64_t instruction_budget;   /* 0 = engine default */
  size_t lua_memory_bytes;       /* 0 = engine default */
  const char *flows_dir;         /* NULL = an empty temporary directory */
  bool no_auth;                  /* inbound JWT check off */
  unsigned max_calls;
  size_t max_body_bytes;         /* 0 = engine default */
  unsigned min_refresh_ms;       /* 0 = engine default */
  const dt_route_t *routes;
  size_t route_count;
  unsigned drain_timeout_ms;     /* 0 = 300 ms (tests that stop with calls running stay fast) */
  const char *emulator_key_pem;  /* the emulator's notification signing key (PEM); NULL = a new one */
  const char *tls_cert, *tls_key; /* HTTPS ingress (PEM files) */
  const char *application_instance_id, *application_instance_name; /* graph.application_instance_* */
  dt_flow_http_options_t http;   /* dialtone.http (http.*); zeros = the engine's defaults */
  const dt_config_settings_t *flow_settings; /* dialtone.settings (config flow_settings) */
} h_options_t;

typedef struct {
  uv_loop_t loop;
  uv_timer_t tick;
  dt_emulator_t *emu;
  dt_engine_t *engine;
  dt_http_client_t *http;
  char dir[64];
  char flows_dir[512], rec_dir[128], cdr_path[128], prompts_dir[512];
  char emu_url[128];
  FILE *log;
  char *log_text;
  size_t log_len;
  bool started;
  bool engine_closed;
  char engine_url[64];           /* http://127.0.0.1:PORT */
  h_options_t o;
} dt_harness_t;

static __attribute__((unused)) void h__noop(uv_timer_t *t) { (void)t; }

/* One loop turn (at most ~5 ms of waiting). */
static inline void h_tick(dt_harness_t *h) { uv_run(&h->loop, UV_RUN_ONCE); }

#define H_UNTIL(h, ms, cond) \
  for (uint64_t h__end = dt_now_ms() + (ms); !(cond) && dt_now_ms() < h__end; h_tick(h))

static __attribute__((unused)) void h__closed(void *ud) { *(int *)ud = 1; }

static inline const char *h_source_dir(void) {
  const char *s = getenv("DT_SOURCE_DIR");
  return s ? s : ".";
}

/* ---- HTTP for the control API ---- */
typedef struct {
  bool done;
  int status;
  char *body;
} h_resp_t;

static __attribute__((unused)) void h__resp_cb(const dt_http_response_t *r, void *ud) {
  h_resp_t *x = ud;
  x->done = true;
  x->status = r->status;
  x->body = dt_xstrndup(r->body ? r->body : "", r->body_len);
}

/* Sends a request with the given headers and runs the loop until its answer; returns
   the status (0 = failure). *body_out (optional) gets the body, caller frees. */
static __attribute__((unused)) int h_request(dt_harness_t *h, const char *method, const char *url,
                                             const dt_http_header_t *headers, size_t nheaders,
                                             const char *body, size_t body_len, char **body_out) {
  h_resp_t x = {0};
  dt_http_request_options_t r = {.method = method, .url = url, .headers = headers, .header_count = nheaders,
                                 .body = body, .body_len = body_len, .timeout_ms = 20000};
  if (dt_http_client_send(h->http, &r, h__resp_cb, &x, NULL) != 0) return 0;
  H_UNTIL(h, 30000, x.done);
  if (body_out) *body_out = x.body;
  else free(x.body);
  return x.status;
}

/* A JSON request (body may be NULL). */
static __attribute__((unused)) int h_http(dt_harness_t *h, const char *method, const char *url, const char *body, char **body_out) {
  dt_http_header_t hd = {"Content-Type", "application/json"};
  return h_request(h, method, url, body ? &hd : NULL, body ? 1 : 0, body, body ? strlen(body) : 0, body_out);
}

static __attribute__((unused)) cJSON *h_http_json(dt_harness_t *h, const char *method, const char *url, const char *body, int *status) {
  char *out = NULL;
  int st = h_http(h, method, url, body, &out);
  if (status) *status = st;
  cJSON *j = out ? cJSON_Parse(out) : NULL;
  free(out);
  return j;
}

/* ---- start / stop ---- */

/* Starts the engine against the harness's emulator and directories (h->o). */
static __attribute__((unused)) int h__engine_start(dt_harness_t *h) {
  const h_options_t *o = &h->o;
  char err[256];
  char graph_url[192], token_url[256], oidc[192];
  snprintf(graph_url, sizeof graph_url, "%s/%s", h->emu_url, o->dialect == DT_GRAPH_BETA ? "beta" : "v1.0");
  snprintf(token_url, sizeof token_url, "%s/%s/oauth2/v2.0/token", h->emu_url, dt_emulator_tenant_id(h->emu));
  snprintf(oidc, sizeof oidc, "%s/.well-known/openid-configuration", h->emu_url);
  dt_engine_options_t en = {0};
  en.listen = "127.0.0.1:0";
  en.flows_dir = h->flows_dir;
  en.prompts_dir = h->prompts_dir;
  en.recordings_dir = h->rec_dir;
  en.cdr_path = h->cdr_path;
  en.tls_cert = o->tls_cert;
  en.tls_key = o->tls_key;
  en.graph.base_url = graph_url;
  en.graph.dialect = o->dialect;
  en.graph.token_url = token_url;
  en.graph.tenant_id = dt_emulator_tenant_id(h->emu);
  en.graph.client_id = dt_emulator_app_id(h->emu);
  en.graph.client_secret = "secret";
  en.ca_file = dt_emulator_ca_file(h->emu); /* NULL unless DT_TEST_TLS */
  en.graph.application_instance_id = o->application_instance_id;
  en.graph.application_instance_name = o->application_instance_name;
  en.inbound.enabled = !o->no_auth;
  en.inbound.openid_config_url = oidc;
  en.limits.op_timeout_s = o->op_timeout_s;
  en.limits.instruction_budget = o->instruction_budget;
  en.limits.lua_memory_bytes = o->lua_memory_bytes;
  en.limits.max_calls = o->max_calls;
  en.limits.max_body_bytes = o->max_body_bytes;
  en.inbound.min_refresh_ms = o->min_refresh_ms;
  en.routes = o->routes;
  en.route_count = o->route_count;
  en.http = o->http;
  en.limits.drain_timeout_ms = o->drain_timeout_ms ? o->drain_timeout_ms : 300;
  en.flow_settings = o->flow_settings;
  h->engine_closed = false;
  if (dt_engine_start(&h->loop, &en, &h->engine, err, sizeof err) != 0) {
    fprintf(stderr, "engine: %s\n", err);
    h->engine_closed = true;
    return -1;
  }
  snprintf(h->engine_url, sizeof h->engine_url, "http://127.0.0.1:%d", dt_engine_port(h->engine));
  return 0;
}

static __attribute__((unused)) int h_start(dt_harness_t *h, const h_options_t *o) {
  memset(h, 0, sizeof *h);
  h->log = open_memstream(&h->log_text, &h->log_len);
  dt_log_set_output(h->log);
  dt_log_set_format(DT_LOG_TEXT);
  dt_log_set_level(getenv("H_DEBUG") ? DT_LOG_DEBUG : DT_LOG_INFO);
  uv_loop_init(&h->loop);
  uv_timer_init(&h->loop, &h->tick);
  uv_timer_start(&h->tick, h__noop, 5, 5);
  snprintf(h->dir, sizeof h->dir, "/tmp/dt_flowtest_XXXXXX");
  if (!mkdtemp(h->dir)) return -1;
  if (o->flows_dir) snprintf(h->flows_dir, sizeof h->flows_dir, "%s", o->flows_dir);
  else {
    snprintf(h->flows_dir, sizeof h->flows_dir, "%s/flows", h->dir);
    mkdir(h->flows_dir, 0755);
  }
  snprintf(h->rec_dir, sizeof h->rec_dir, "%s/recordings", h->dir);
  mkdir(h->rec_dir, 0755);
  snprintf(h->cdr_path, sizeof h->cdr_path, "%s/cdr.jsonl", h->dir);
  snprintf(h->prompts_dir, sizeof h->prompts_dir, "%s/flows/prompts", h_source_dir());

  dt_emulator_options_t eo;
  dt_emulator_options_init(&eo);
  eo.time_scale = o->time_scale;
  eo.quiet = 1;
  eo.key_bits = 2048;
  eo.key_pem = o->emulator_key_pem;
  const char *tls = getenv("DT_TEST_TLS"); /* the engine talks to the emulator over HTTPS (issue 15) */
  char tls_dir[96];
  snprintf(tls_dir, sizeof tls_dir, "%s/tls", h->dir);
  if (tls && tls[0] && strcmp(tls, "0") != 0) {
    eo.tls = 1;
    eo.tls_dir = tls_dir;
  }
  char err[256];
  if (dt_emulator_start(&h->loop, &eo, &h->emu, err, sizeof err) != 0) {
    fprintf(stderr, "emulator: %s\n", err);
    return -1;
  }
  dt_http_client_options_t ho = {0};
  ho.ca_file = dt_emulator_ca_file(h->emu);
  if (dt_http_client_new(&h->loop, &ho, &h->http) != 0) return -1;
  snprintf(h->emu_url, sizeof h->emu_url, "%s", dt_emulator_url(h->emu));
  h->o = *o;
  h->started = true;
  return h__engine_start(h);
}

/* Closes (drains) the engine now; h_stop then skips it. */
static __attribute__((unused)) bool h_close_engine(dt_harness_t *h) {
  int done = 0;
  dt_engine_close(h->engine, h__closed, &done);
  H_UNTIL(h, 20000, done);
  h->engine_closed = true;
  return done != 0;
}

/* Closes (drains) the engine and starts a new one on the same directories (flows, recordings,
   CDR file) and emulator: a restart. */
static __attribute__((unused)) int h_restart_engine(dt_harness_t *h) {
  if (!h->engine_closed && !h_close_engine(h)) return -1;
  return h__engine_start(h);
}

static __attribute__((unused)) void h_stop(dt_harness_t *h) {
  if (!h->started) return;
  int done = 0;
  if (!h->engine_closed) {
    dt_engine_close(h->engine, h__closed, &done);
    H_UNTIL(h, 20000, done);
  }
  done = 0;
  dt_emulator_close(h->emu, h__closed, &done);
  H_UNTIL(h, 20000, done);
  done = 0;
  dt_http_client_close(h->http, h__closed, &done);
  H_UNTIL(h, 20000, done);
  uv_close((uv_handle_t *)&h->tick, NULL);
  while (uv_run(&h->loop, UV_RUN_NOWAIT)) {
  }
  uv_loop_close(&h->loop);
  dt_log_set_output(NULL);
  fflush(h->log);
  if (getenv("H_VERBOSE") && h->log_text) fputs(h->log_text, stderr);
  fclose(h->log);
  free(h->log_text);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", h->dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", h->dir);
  h->started = false;
}

/* ---- flows ---- */

static __attribute__((unused)) int h_flow(dt_harness_t *h, const char *name, const char *text) {
  char err[512];
  int rc = dt_engine_load_flow(h->engine, name, text, strlen(text), err, sizeof err);
  if (rc != 0) fprintf(stderr, "flow %s: %s\n", name, err);
  return rc;
}

/* Loads tests/flows_fixtures/FILE.lua as flow `name`. */
static __attribute__((unused)) int h_flow_fixture(dt_harness_t *h, const char *name, const char *file) {
  char path[600], *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/tests/flows_fixtures/%s.lua", h_source_dir(), file);
  if (dt_read_file(path, 1 << 20, &text, &len) != 0) {
    fprintf(stderr, "cannot read %s\n", path);
    return -1;
  }
  char err[512];
  int rc = dt_engine_load_flow(h->engine, name, text, len, err, sizeof err);
  if (rc != 0) fprintf(stderr, "flow %s: %s\n", name, err);
  free(text);
  return rc;
}

/* ---- the emulator's control API ---- */

/* Places an incoming call to the bot. extra: more JSON members ("\"script\":[...]"), or NULL.
   id gets the call id. Returns the HTTP status (201). */
static __attribute__((unused)) int h_place_call(dt_harness_t *h, const char *extra, char id[128]) {
  char url[192];
  snprintf(url, sizeof url, "%s/emulator/calls", h->emu_url);
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "{\"bot_url\":\"%s\"%s%s}", dt_engine_callback_url(h->engine), extra ? "," : "",
                 extra ? extra : "");
  int st = 0;
  cJSON *j = h_http_json(h, "POST", url, b.data, &st);
  dt_buf_free(&b);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");
  snprintf(id, 128, "%s", cJSON_IsString(v) ? v->valuestring : "");
  cJSON_Delete(j);
  return st;
}

static __attribute__((unused)) int h_control(dt_harness_t *h, const char *method, const char *path, const char *body) {
  char url[512];
  snprintf(url, sizeof url, "%s/emulator/%s", h->emu_url, path);
  return h_http(h, method, url, body, NULL);
}

static __attribute__((unused)) int h_tones(dt_harness_t *h, const char *id, const char *tones) {
  char path[256], body[160];
  snprintf(path, sizeof path, "calls/%.200s/tones", id);
  snprintf(body, sizeof body, "{\"tones\":\"%s\"}", tones);
  return h_control(h, "POST", path, body);
}

static __attribute__((unused)) int h_hangup(dt_harness_t *h, const char *id) {
  char path[256];
  snprintf(path, sizeof path, "calls/%.200s/hangup", id);
  return h_control(h, "POST", path, "{}");
}

/* The call's timeline entries (a cJSON array the caller frees), or NULL. */
static __attribute__((unused)) cJSON *h_timeline(dt_harness_t *h, const char *id) {
  char url[1024];
  snprintf(url, sizeof url, "%s/emulator/calls/%.200s/timeline", h->emu_url, id);
  cJSON *j = h_http_json(h, "GET", url, NULL, NULL);
  cJSON *e = cJSON_DetachItemFromObjectCaseSensitive(j, "entries");
  cJSON_Delete(j);
  return e;
}

static __attribute__((unused)) const char *h_str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Paths and URLs match when they contain value; every other field must equal it. */
static bool h__match(const char *field, const char *v, const char *value) {
  if (strcmp(field, "path") == 0 || strcmp(field, "url") == 0) return strstr(v, value) != NULL;
  return strcmp(v, value) == 0;
}

/* Number of timeline entries of `kind` whose `field` is `value` (paths: contains) (value NULL: any). */
static __attribute__((unused)) int h_count(const cJSON *tl, const char *kind, const char *field, const char *value) {
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, tl) {
    const char *k = h_str(e, "kind");
    if (!k || strcmp(k, kind) != 0) continue;
    if (field) {
      const char *v = h_str(e, field);
      if (!v || (value && !h__match(field, v, value))) continue;
    }
    n++;
  }
  return n;
}

/* Index of the first entry of kind (and field containing value), or -1. */
static __attribute__((unused)) int h_index(const cJSON *tl, const char *kind, const char *field, const char *value) {
  int i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, tl) {
    const char *k = h_str(e, "kind");
    if (k && strcmp(k, kind) == 0) {
      const char *v = field ? h_str(e, field) : NULL;
      if (!field || (v && (!value || h__match(field, v, value)))) return i;
    }
    i++;
  }
  return -1;
}

/* Requests (method + action) the engine sent after timeline index `from`. */
static __attribute__((unused)) int h_requests_after(const cJSON *tl, int from) {
  int i = 0, n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, tl) {
    const char *k = h_str(e, "kind");
    if (i > from && k && strcmp(k, "request") == 0) n++;
    i++;
  }
  return n;
}

/* With H_VERBOSE set, prints the call's timeline (debugging a failed test). */
static __attribute__((unused)) void h_dump_timeline(dt_harness_t *h, const char *id) {
  if (!getenv("H_VERBOSE")) return;
  cJSON *tl = h_timeline(h, id);
  const cJSON *e;
  cJSON_ArrayForEach(e, tl) {
    char *s = cJSON_PrintUnformatted(e);
    fprintf(stderr, "  TL %s\n", s);
    free(s);
  }
  cJSON_Delete(tl);
}

/* Requests with this action the emulator recorded for the call so far. */
static __attribute__((unused)) int h_count_requests(dt_harness_t *h, const char *id, const char *action) {
  cJSON *tl = h_timeline(h, id);
  int n = h_count(tl, "request", "action", action);
  cJSON_Delete(tl);
  return n;
}

/* ---- CDRs and the log ---- */

static __attribute__((unused)) bool h_same_id(const char *a, const char *b) {
  char ka[300], kb[300];
  if (strlen(a) >= sizeof ka || strlen(b) >= sizeof kb) return false;
  dt_graph_id_key(a, ka);
  dt_graph_id_key(b, kb);
  return strcmp(ka, kb) == 0;
}

/* The CDR of call id (caller frees), or NULL if it has not been written. */
static __attribute__((unused)) cJSON *h_cdr(dt_harness_t *h, const char *id) {
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(h->cdr_path, 64 << 20, &text, &len) != 0) return NULL;
  cJSON *found = NULL;
  for (char *line = text; line && *line && !found;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    const char *cid = h_str(j, "call_id");
    if (cid && h_same_id(cid, id)) found = j;
    else cJSON_Delete(j);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  return found;
}

static __attribute__((unused)) bool h_has_cdr(dt_harness_t *h, const char *id) {
  cJSON *j = h_cdr(h, id);
  cJSON_Delete(j);
  return j != NULL;
}

static __attribute__((unused)) bool h_log_has(dt_harness_t *h, const char *needle) {
  fflush(h->log);
  return h->log_text && strstr(h->log_text, needle) != NULL;
}

/* ---- test definitions ----
   H_TEST(name, options...) defines a DT_TEST whose body runs between h_start and h_stop
   (so a failed assertion still stops everything), with h_options_t fields given as
   designated initializers after the name: H_TEST(x, .time_scale = 0.05) { ... }.
   The dialect is H_DIALECT (v1.0 unless the including file says otherwise). */
#ifndef H_DIALECT
#define H_DIALECT DT_GRAPH_V1
#endif
static dt_harness_t H;
#define H_TEST(name, ...)                                              \
  static void body_##name(void);                                       \
  DT_TEST(name) {                                                      \
    h_options_t h__o = {.dialect = H_DIALECT, __VA_ARGS__};            \
    DT_ASSERT(h_start(&H, &h__o) == 0);                                \
    body_##name();                                                     \
    h_stop(&H);                                                        \
  }                                                                    \
  static void body_##name(void)

/* Places one incoming call (extra JSON members or NULL), waits (bounded) for its CDR and
   returns it (caller frees; NULL if none came). id gets the call id. */
static __attribute__((unused)) cJSON *h_run_call(const char *extra, char id[128]) {
  if (h_place_call(&H, extra, id) != 201) return NULL;
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  if (!cdr) h_dump_timeline(&H, id);
  return cdr;
}

static __attribute__((unused)) bool h_outcome_is(const cJSON *cdr, const char *outcome) {
  const char *o = h_str(cdr, "outcome");
  if (!o || strcmp(o, outcome) != 0) {
    fprintf(stderr, "  outcome %s, expected %s (error: %s)\n", o ? o : "(none)", outcome,
            h_str(cdr, "error") ? h_str(cdr, "error") : "-");
    return false;
  }
  return true;
}

#endif
