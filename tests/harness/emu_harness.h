/*
 * emu_harness.h — what the emulator's integration tests share: an emulator and a test bot
 * (a dt_http_server that records every notification and can serve prompt WAVs) on one loop,
 * a blocking request helper that runs the loop until the answer arrives, bounded waits, and
 * JWT verification against the emulator's JWKS fetched through its OpenID configuration.
 * Header-only (static functions) so each test executable stays one file.
 */
#ifndef EMU_HARNESS_H
#define EMU_HARNESS_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "dialtone/common.h"
#include "dialtone/emulator.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/jwt.h"
#include "dialtone/log.h"
#include "emulator/emu_util.h"

/* each test uses a subset of the helpers */
#pragma GCC diagnostic ignored "-Wunused-function"

#define H_MAX_NOTES 512

typedef struct {
  char *body;
  cJSON *json;
  char *auth;      /* Authorization header */
  char *chain;     /* X-Microsoft-Skype-Chain-Id */
  char *path;
} h_note_t;

typedef struct harness_s harness_t;
typedef void (*h_note_fn)(harness_t *h, h_note_t *n);

struct harness_s {
  uv_loop_t loop;
  uv_timer_t tick;
  dt_emulator_t *emu;
  dt_http_server_t *bot;
  dt_http_client_t *http;
  char emu_url[128];
  char bot_url[160];
  char token[4096];
  h_note_t notes[H_MAX_NOTES];
  int nnotes;
  h_note_fn on_note;
  void *ud;
  int bot_status;  /* what the bot answers (default 202) */
  char tls_dir[64]; /* DT_TEST_TLS set: the emulator serves HTTPS with its local CA here */
};

typedef struct {
  int status;
  int error;
  char *body;
  size_t len;
  cJSON *json;
  char *location;
  char *retry_after;
  char *content_type;
  bool done;
} h_resp_t;

static void h_resp_free(h_resp_t *r) {
  free(r->body);
  free(r->location);
  free(r->retry_after);
  free(r->content_type);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}

/* ---- the test bot ---- */
static void h_bot_handler(dt_http_request_t *req, void *ud) {
  harness_t *h = ud;
  if (strcmp(req->method, "GET") == 0 && strncmp(req->path, "/prompts/", 9) == 0) {
    /* prompt WAVs: /prompts/NAME_MS.wav lasts MS milliseconds (default 1500) */
    const char *us = strrchr(req->path, '_');
    long ms = us ? strtol(us + 1, NULL, 10) : 1500;
    if (ms <= 0 || ms > 60000) ms = 1500;
    char *wav = NULL;
    size_t len = 0;
    dt__emu_wav_build((uint64_t)ms, NULL, 0, &wav, &len);
    dt_http_respond(req, 200, "audio/wav", wav, len);
    free(wav);
    return;
  }
  if (strcmp(req->method, "POST") == 0 && h->nnotes < H_MAX_NOTES) {
    h_note_t *n = &h->notes[h->nnotes++];
    n->body = dt_xstrndup(req->body, req->body_len);
    n->json = cJSON_Parse(n->body);
    const char *a = dt_http_request_header(req, "Authorization");
    n->auth = a ? dt_xstrdup(a) : NULL;
    const char *c = dt_http_request_header(req, "X-Microsoft-Skype-Chain-Id");
    n->chain = c ? dt_xstrdup(c) : NULL;
    n->path = dt_xstrdup(req->path);
    dt_http_respond(req, h->bot_status ? h->bot_status : 202, NULL, NULL, 0);
    if (h->on_note) h->on_note(h, n);
    return;
  }
  dt_http_respond(req, 404, NULL, NULL, 0);
}

static void h_tick(uv_timer_t *t) { (void)t; }

/* Generating an RSA key is slow (more so under sanitizers): every emulator of a test process
   signs with the same one. */
static char *h_key_pem_text;
static void h_key_pem_free(void) { free(h_key_pem_text); }
static const char *h_key_pem(void) {
  if (h_key_pem_text == NULL) {
    dt_jwt_key_t *k = NULL;
    if (dt_jwt_key_generate("harness", 2048, &k) != 0) return NULL;
    dt_jwt_key_to_pem(k, &h_key_pem_text);
    dt_jwt_key_free(k);
    atexit(h_key_pem_free);
  }
  return h_key_pem_text;
}

/* Starts an emulator (time scale as given) and the bot on a fresh loop. */
static bool h_start(harness_t *h, double time_scale, const dt_emulator_options_t *extra) {
  memset(h, 0, sizeof *h);
  dt_log_set_level(DT_LOG_WARN);
  if (uv_loop_init(&h->loop) != 0) return false;
  uv_timer_init(&h->loop, &h->tick);
  dt_http_server_options_t so = {0};
  so.listen = "127.0.0.1:0";
  so.handler = h_bot_handler;
  so.handler_ud = h;
  char err[256];
  if (dt_http_server_start(&h->loop, &so, &h->bot, err, sizeof err) != 0) {
    fprintf(stderr, "bot: %s\n", err);
    return false;
  }
  snprintf(h->bot_url, sizeof h->bot_url, "http://127.0.0.1:%d/api/calls", dt_http_server_port(h->bot));
  dt_emulator_options_t o;
  if (extra) o = *extra;
  else dt_emulator_options_init(&o);
  o.time_scale = time_scale;
  o.bot_url = h->bot_url;
  o.quiet = 1;
  if (o.key_pem == NULL) o.key_pem = h_key_pem(); /* one key per test process */
  const char *tls = getenv("DT_TEST_TLS"); /* the same test over HTTPS (issue 15) */
  if (tls && tls[0] && strcmp(tls, "0") != 0) {
    snprintf(h->tls_dir, sizeof h->tls_dir, "/tmp/dt_emu_tls_XXXXXX");
    if (mkdtemp(h->tls_dir) == NULL) return false;
    o.tls = 1;
    o.tls_dir = h->tls_dir;
  }
  if (dt_emulator_start(&h->loop, &o, &h->emu, err, sizeof err) != 0) {
    fprintf(stderr, "emulator: %s\n", err);
    return false;
  }
  snprintf(h->emu_url, sizeof h->emu_url, "%s", dt_emulator_url(h->emu));
  dt_http_client_options_t co = {0};
  co.ca_file = dt_emulator_ca_file(h->emu); /* verified against the emulator's CA, not skipped */
  if (dt_http_client_new(&h->loop, &co, &h->http) != 0) return false;
  return true;
}

/* Runs the loop until *flag or timeout_ms; false on timeout. */
static bool h_run_until(harness_t *h, bool (*cond)(harness_t *h, void *arg), void *arg, int timeout_ms) {
  uint64_t deadline = uv_now(&h->loop) + (uint64_t)timeout_ms;
  uv_timer_start(&h->tick, h_tick, 5, 5);
  bool ok = false;
  for (;;) {
    if (cond(h, arg)) {
      ok = true;
      break;
    }
    uv_update_time(&h->loop);
    if (uv_now(&h->loop) > deadline) break;
    uv_run(&h->loop, UV_RUN_ONCE);
  }
  uv_timer_stop(&h->tick);
  return ok;
}

static bool h_resp_done(harness_t *h, void *arg) {
  (void)h;
  return ((h_resp_t *)arg)->done;
}

static void h_on_resp(const dt_http_response_t *res, void *ud) {
  h_resp_t *r = ud;
  r->status = res->status;
  r->error = res->error;
  r->body = dt_xstrndup(res->body ? res->body : "", res->body_len);
  r->len = res->body_len;
  r->json = res->body_len ? cJSON_ParseWithLength(res->body, res->body_len) : NULL;
  const char *loc = dt_http_response_header(res, "Location");
  r->location = loc ? dt_xstrdup(loc) : NULL;
  const char *ra = dt_http_response_header(res, "Retry-After");
  r->retry_after = ra ? dt_xstrdup(ra) : NULL;
  const char *ct = dt_http_response_header(res, "Content-Type");
  r->content_type = ct ? dt_xstrdup(ct) : NULL;
  r->done = true;
}

/* A blocking request. path may be a full URL or a path on the emulator. auth: NULL = the
   harness token, "" = none, else the Authorization value. */
static h_resp_t h_req(harness_t *h, const char *method, const char *path, const char *body,
                      const char *auth, const char *content_type) {
  h_resp_t r = {0};
  char url[1024];
  if (strncmp(path, "http", 4) == 0) snprintf(url, sizeof url, "%s", path);
  else snprintf(url, sizeof url, "%s%s", h->emu_url, path);
  char authbuf[4200];
  dt_http_header_t hd[2];
  size_t nh = 0;
  if (auth == NULL) {
    snprintf(authbuf, sizeof authbuf, "Bearer %s", h->token);
    hd[nh++] = (dt_http_header_t){"Authorization", authbuf};
  } else if (auth[0]) {
    hd[nh++] = (dt_http_header_t){"Authorization", auth};
  }
  if (body) hd[nh++] = (dt_http_header_t){"Content-Type", content_type ? content_type : "application/json"};
  dt_http_request_options_t ro = {.method = method, .url = url, .headers = hd, .header_count = nh,
                                  .body = body, .body_len = body ? strlen(body) : 0, .timeout_ms = 10000};
  if (dt_http_client_send(h->http, &ro, h_on_resp, &r, NULL) != 0) return r;
  h_run_until(h, h_resp_done, &r, 15000);
  return r;
}

static h_resp_t h_reqf(harness_t *h, const char *method, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static h_resp_t h_reqf(harness_t *h, const char *method, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *body = dt_xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(body, (size_t)n + 1, fmt, ap);
  va_end(ap);
  h_resp_t r = h_req(h, method, path, body, NULL, NULL);
  free(body);
  return r;
}

/* Gets a token from the emulator's token endpoint into h->token. */
static bool h_get_token(harness_t *h) {
  char path[256], form[512];
  snprintf(path, sizeof path, "/%s/oauth2/v2.0/token", dt_emulator_tenant_id(h->emu));
  snprintf(form, sizeof form,
           "client_id=%s&client_secret=anything&scope=https%%3A%%2F%%2Fgraph.microsoft.com%%2F.default"
           "&grant_type=client_credentials",
           dt_emulator_app_id(h->emu));
  h_resp_t r = h_req(h, "POST", path, form, "", "application/x-www-form-urlencoded");
  bool ok = r.status == 200 && cJSON_IsString(cJSON_GetObjectItem(r.json, "access_token"));
  if (ok) snprintf(h->token, sizeof h->token, "%s", cJSON_GetObjectItem(r.json, "access_token")->valuestring);
  h_resp_free(&r);
  return ok;
}

/* ---- notifications ---- */
static cJSON *h_note_value(const h_note_t *n) {
  return cJSON_GetArrayItem(cJSON_GetObjectItem(n->json, "value"), 0);
}
static const char *h_note_change(const h_note_t *n) {
  const cJSON *v = cJSON_GetObjectItem(h_note_value(n), "changeType");
  return cJSON_IsString(v) ? v->valuestring : "";
}
static const char *h_note_resource(const h_note_t *n) {
  const cJSON *v = cJSON_GetObjectItem(h_note_value(n), "resourceUrl");
  return cJSON_IsString(v) ? v->valuestring : "";
}
static cJSON *h_note_data(const h_note_t *n) { return cJSON_GetObjectItem(h_note_value(n), "resourceData"); }
static const char *h_note_str(const h_note_t *n, const char *field) {
  const cJSON *v = cJSON_GetObjectItem(h_note_data(n), field);
  return cJSON_IsString(v) ? v->valuestring : "";
}

typedef struct {
  const char *call_id; /* resource must mention it (NULL = any) */
  const char *change;  /* NULL = any */
  const char *state;   /* resourceData.state, NULL = any */
  const char *odata;   /* resourceData @odata.type substring, NULL = any */
  int from;            /* search from this index */
  int found;           /* out */
  const char *member;  /* resourceData must have this member, NULL = any */
} h_match_t;

static bool h_note_matches(const h_note_t *n, const h_match_t *m) {
  if (m->call_id && !strstr(h_note_resource(n), m->call_id)) return false;
  if (m->change && strcmp(h_note_change(n), m->change) != 0) return false;
  if (m->state && strcmp(h_note_str(n, "state"), m->state) != 0) return false;
  if (m->odata && !strstr(h_note_str(n, "@odata.type"), m->odata)) return false;
  if (m->member && !cJSON_GetObjectItem(h_note_data(n), m->member)) return false;
  return true;
}

static bool h_has_note(harness_t *h, void *arg) {
  h_match_t *m = arg;
  for (int i = m->from; i < h->nnotes; i++)
    if (h_note_matches(&h->notes[i], m)) {
      m->found = i;
      return true;
    }
  return false;
}

/* Waits (at most 10 s) for a notification; returns its index or -1. */
static int h_wait_note(harness_t *h, const char *call_id, const char *change, const char *state,
                       const char *odata, int from) {
  h_match_t m = {call_id, change, state, odata, from, -1, NULL};
  if (!h_run_until(h, h_has_note, &m, 10000)) return -1;
  return m.found;
}

/* Waits for a tone notification (an update of the call with toneInfo); index or -1. */
static int h_wait_tone(harness_t *h, const char *call_id, int from) {
  h_match_t m = {call_id, "updated", NULL, NULL, from, -1, "toneInfo"};
  if (!h_run_until(h, h_has_note, &m, 10000)) return -1;
  return m.found;
}

/* Lets the loop run a little so nothing else is on its way (for "nothing more came" checks). */
static bool h_never(harness_t *h, void *arg) {
  (void)h;
  (void)arg;
  return false;
}
static void h_settle(harness_t *h, int ms) { h_run_until(h, h_never, NULL, ms); }

/* ---- JWT ---- */
static dt_jwks_t *h_fetch_jwks(harness_t *h) {
  h_resp_t r = h_req(h, "GET", "/.well-known/openid-configuration", NULL, "", NULL);
  char *jwks_uri = NULL, *issuer = NULL;
  char err[256];
  dt_jwks_t *set = NULL;
  if (r.status == 200 && dt_openid_config_parse(r.body, r.len, &jwks_uri, &issuer, err, sizeof err) == 0) {
    h_resp_t k = h_req(h, "GET", jwks_uri, NULL, "", NULL);
    if (k.status == 200) dt_jwks_parse(k.body, k.len, &set, err, sizeof err);
    h_resp_free(&k);
  }
  free(jwks_uri);
  free(issuer);
  h_resp_free(&r);
  return set;
}

static bool h_verify_note(harness_t *h, const dt_jwks_t *set, const h_note_t *n, char *err, size_t errlen) {
  if (n->auth == NULL || strncmp(n->auth, "Bearer ", 7) != 0) {
    snprintf(err, errlen, "no bearer token");
    return false;
  }
  const char *iss[] = {"https://api.botframework.com"};
  dt_jwt_verify_options_t vo = {.issuers = iss, .issuer_count = 1, .audience = dt_emulator_app_id(h->emu)};
  cJSON *claims = NULL;
  int rc = dt_jwt_verify(set, n->auth + 7, &vo, &claims, err, errlen);
  bool ok = rc == 0;
  if (ok) {
    const cJSON *tid = cJSON_GetObjectItem(claims, "tid");
    ok = cJSON_IsString(tid) && strcmp(tid->valuestring, dt_emulator_tenant_id(h->emu)) == 0;
    if (!ok) snprintf(err, errlen, "tid claim missing or wrong");
  }
  cJSON_Delete(claims);
  return ok;
}

/* ---- common steps ---- */
/* Places an incoming call through the control API; returns its id (caller frees) or NULL. */
static char *h_place(harness_t *h, const char *json) {
  h_resp_t r = h_req(h, "POST", "/emulator/calls", json ? json : "{}", "", NULL);
  char *id = NULL;
  if (r.status == 201 && cJSON_IsString(cJSON_GetObjectItem(r.json, "id")))
    id = dt_xstrdup(cJSON_GetObjectItem(r.json, "id")->valuestring);
  else
    fprintf(stderr, "  place call: %d %s\n", r.status, r.body ? r.body : "");
  h_resp_free(&r);
  return id;
}

/* POST {E}/v1.0/communications/calls/{id}/{action} with body (NULL = empty). */
static h_resp_t h_action(harness_t *h, const char *id, const char *action, const char *body) {
  char path[256];
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s/%s", id, action);
  return h_req(h, "POST", path, body, NULL, NULL);
}

/* Answers and waits for the established notification; false on any failure. */
static bool h_answer(harness_t *h, const char *id) {
  char body[512];
  snprintf(body, sizeof body,
           "{\"callbackUri\":\"%s\",\"acceptedModalities\":[\"audio\"],\"mediaConfig\":"
           "{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}",
           h->bot_url);
  h_resp_t r = h_action(h, id, "answer", body);
  bool ok = r.status == 202;
  h_resp_free(&r);
  return ok && h_wait_note(h, id, "updated", "established", NULL, 0) >= 0;
}

/* A prompt body for one WAV served by the test bot that lasts ms. */
static char *h_prompt_body(harness_t *h, const char *name, int ms, const char *extra) {
  char *url = dt_xasprintf("%.*s/prompts/%s_%d.wav", (int)(strlen(h->bot_url) - strlen("/api/calls")),
                           h->bot_url, name, ms);
  char *b = dt_xasprintf("{\"prompts\":[{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":"
                         "{\"@odata.type\":\"#microsoft.graph.mediaInfo\",\"uri\":\"%s\"}}]%s%s}",
                         url, extra ? "," : "", extra ? extra : "");
  free(url);
  return b;
}

static const char *h_json_str(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItem(o, name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* The call's timeline from the control API (caller deletes). */
static cJSON *h_timeline(harness_t *h, const char *id) {
  char path[256];
  snprintf(path, sizeof path, "/emulator/calls/%s/timeline", id);
  h_resp_t r = h_req(h, "GET", path, NULL, "", NULL);
  cJSON *j = r.json;
  r.json = NULL;
  h_resp_free(&r);
  return j;
}

/* The first timeline entry of kind (and, if given, with field == value), or NULL. */
static const cJSON *h_tl_find(const cJSON *tl, const char *kind, const char *field, const char *value) {
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(tl, "entries")) {
    if (strcmp(h_json_str(e, "kind"), kind) != 0) continue;
    if (field && strcmp(h_json_str(e, field), value) != 0) continue;
    return e;
  }
  return NULL;
}

/* ---- teardown ---- */
static bool h_flag(harness_t *h, void *arg) {
  (void)h;
  return *(int *)arg != 0;
}
static void h_set_flag(void *ud) { *(int *)ud = 1; }
static void h_close_cb(uv_handle_t *hd) { (void)hd; }
static void h_walk_close(uv_handle_t *hd, void *arg) {
  (void)arg;
  if (!uv_is_closing(hd)) uv_close(hd, h_close_cb);
}

static void h_stop(harness_t *h) {
  int done = 0;
  if (h->emu) dt_emulator_close(h->emu, h_set_flag, &done);
  else done = 1;
  h_run_until(h, h_flag, &done, 10000);
  if (h->http) dt_http_client_close(h->http, NULL, NULL);
  if (h->bot) dt_http_server_close(h->bot, NULL, NULL);
  uv_close((uv_handle_t *)&h->tick, h_close_cb);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  uv_walk(&h->loop, h_walk_close, NULL);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  uv_loop_close(&h->loop);
  if (h->tls_dir[0]) {
    static const char *const files[] = {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"};
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      snprintf(path, sizeof path, "%s/%s", h->tls_dir, files[i]);
      remove(path);
    }
    rmdir(h->tls_dir);
  }
  for (int i = 0; i < h->nnotes; i++) {
    free(h->notes[i].body);
    free(h->notes[i].auth);
    free(h->notes[i].chain);
    free(h->notes[i].path);
    cJSON_Delete(h->notes[i].json);
  }
  h->nnotes = 0;
}

#endif
