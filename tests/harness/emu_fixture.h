/*
 * emu_fixture.h — an emulator on a test's own loop for the unit tests of the emulator's
 * upper modules (test_emu_notify, _media, _calls, _api, _control, _graph, test_emulator):
 * instant simulated time, one signing key per process (generating one is slow), and a bot
 * server on loopback that
 * keeps every notification it gets. Header-only; include it once per test file.
 */
#ifndef DT_EMU_FIXTURE_H
#define DT_EMU_FIXTURE_H
#include "harness/dt_test.h"
#include "dialtone/common.h"
#include "dialtone/emulator.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/jwt.h"

#define EF_MAX_NOTES 256

typedef struct {
  uv_loop_t loop;
  uv_timer_t wake;
  dt_emulator_t *emu;
  dt_http_server_t *bot;
  char bot_url[96];
  int nnotes;
  char *notes[EF_MAX_NOTES]; /* bodies the bot got, in order */
  char *auth[EF_MAX_NOTES];  /* their Authorization headers */
  dt_http_client_t *http;    /* ef_http's, made on first use */
} ef_t;

/* One answer of ef_http: status (0: transport failure), body, Location; ef_resp_free. */
typedef struct {
  int status;
  char *body;
  char *location;
  cJSON *json;
} ef_resp_t;

static inline void ef_on_bot(dt_http_request_t *req, void *ud) {
  ef_t *f = ud;
  if (f->nnotes < EF_MAX_NOTES) {
    const char *a = dt_http_request_header(req, "Authorization");
    f->auth[f->nnotes] = dt_xstrdup(a ? a : "");
    f->notes[f->nnotes++] = dt_xstrndup(req->body, req->body_len);
  }
  dt_http_respond(req, 202, NULL, NULL, 0);
}

static inline void ef_wake(uv_timer_t *t) { (void)t; }

static char *ef_pem;
static inline void ef_pem_free(void) { free(ef_pem); }
static inline const char *ef_key_pem(void) {
  if (ef_pem == NULL) {
    dt_jwt_key_t *k = NULL;
    if (dt_jwt_key_generate("ef", 2048, &k) != 0) return NULL;
    dt_jwt_key_to_pem(k, &ef_pem);
    dt_jwt_key_free(k);
    atexit(ef_pem_free);
  }
  return ef_pem;
}

static inline bool ef_start(ef_t *f) {
  memset(f, 0, sizeof *f);
  if (uv_loop_init(&f->loop) != 0) return false;
  uv_timer_init(&f->loop, &f->wake);
  dt_http_server_options_t so = {0};
  so.listen = "127.0.0.1:0";
  so.handler = ef_on_bot;
  so.handler_ud = f;
  char err[256] = "";
  if (dt_http_server_start(&f->loop, &so, &f->bot, err, sizeof err) != 0) {
    fprintf(stderr, "  bot server: %s\n", err);
    return false;
  }
  snprintf(f->bot_url, sizeof f->bot_url, "http://127.0.0.1:%d/api/calls", dt_http_server_port(f->bot));
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.time_scale = 0;
  o.quiet = 1;
  o.key_pem = ef_key_pem();
  o.bot_url = f->bot_url;
  if (dt_emulator_start(&f->loop, &o, &f->emu, err, sizeof err) != 0) {
    fprintf(stderr, "  emulator: %s\n", err);
    return false;
  }
  return true;
}

/* Runs the loop until pred(f, arg) holds or seconds pass; returns whether it held. */
static inline bool ef_wait(ef_t *f, bool (*pred)(ef_t *f, const void *arg), const void *arg, double seconds) {
  /* Under valgrind (~30x slower) on a shared machine the same work can take far longer;
     the wait only lasts this long when the condition never comes. */
  if (getenv("DT_UNDER_VALGRIND")) seconds *= 6;
  uv_timer_start(&f->wake, ef_wake, 5, 5);
  uint64_t deadline = dt_now_ms() + (uint64_t)(seconds * 1000);
  bool ok = pred(f, arg);
  while (!ok && dt_now_ms() < deadline) {
    uv_run(&f->loop, UV_RUN_ONCE);
    ok = pred(f, arg);
  }
  uv_timer_stop(&f->wake);
  return ok;
}

/* Whether the emulator owes nothing more (notifications delivered, hook fed). */
static inline bool ef_idle_pred(ef_t *f, const void *arg) {
  (void)arg;
  return !dt_emulator_busy(f->emu);
}
static inline void ef_settle(ef_t *f) {
  uv_run(&f->loop, UV_RUN_NOWAIT);
  ef_wait(f, ef_idle_pred, NULL, 5);
}

/* The call's timeline as text (empty when unknown); caller frees. */
static inline char *ef_timeline(ef_t *f, const char *call_id) {
  cJSON *j = dt_emulator_timeline_json(f->emu, call_id);
  char *t = j ? cJSON_PrintUnformatted(j) : dt_xstrdup("");
  cJSON_Delete(j);
  return t;
}

typedef struct {
  const char *call_id, *needle;
} ef_tl_arg_t;
static inline bool ef_tl_pred(ef_t *f, const void *arg) {
  const ef_tl_arg_t *a = arg;
  char *t = ef_timeline(f, a->call_id);
  bool ok = strstr(t, a->needle) != NULL;
  free(t);
  return ok;
}
/* Runs the loop until the call's timeline contains needle (5 s at most). */
static inline bool ef_wait_timeline(ef_t *f, const char *call_id, const char *needle) {
  ef_tl_arg_t a = {call_id, needle};
  return ef_wait(f, ef_tl_pred, &a, 5);
}

static inline bool ef_notes_pred(ef_t *f, const void *arg) { return f->nnotes >= *(const int *)arg; }
/* Runs the loop until the bot got n notifications (5 s at most). */
static inline bool ef_wait_notes(ef_t *f, int n) { return ef_wait(f, ef_notes_pred, &n, 5); }

static inline void ef_on_closed(void *ud) { *(int *)ud = 1; }

typedef struct {
  ef_resp_t *r;
  int done;
} ef_req_t;
static inline void ef_on_resp(const dt_http_response_t *res, void *ud) {
  ef_req_t *q = ud;
  q->r->status = res->status;
  q->r->body = dt_xstrndup(res->body ? res->body : "", res->body_len);
  const char *loc = dt_http_response_header(res, "Location");
  q->r->location = loc ? dt_xstrdup(loc) : NULL;
  q->r->json = cJSON_Parse(q->r->body);
  q->done = 1;
}
static inline bool ef_req_pred(ef_t *f, const void *arg) { (void)f; return ((const ef_req_t *)arg)->done; }

/* A request to the emulator (path from its root), with "Authorization: <auth>" unless NULL. */
static inline ef_resp_t ef_http(ef_t *f, const char *method, const char *path, const char *auth, const char *body) {
  ef_resp_t r = {0};
  if (f->http == NULL) {
    dt_http_client_options_t co = {0};
    dt_http_client_new(&f->loop, &co, &f->http);
  }
  char *url = dt_xasprintf("%s%s", dt_emulator_url(f->emu), path);
  dt_http_header_t h[] = {{"Content-Type", "application/json"}, {"Authorization", auth ? auth : ""}};
  dt_http_request_options_t ro = {.method = method, .url = url, .headers = h, .header_count = auth ? 2 : 1,
                                  .body = body, .body_len = body ? strlen(body) : 0, .timeout_ms = 5000};
  ef_req_t q = {&r, 0};
  if (dt_http_client_send(f->http, &ro, ef_on_resp, &q, NULL) == 0) ef_wait(f, ef_req_pred, &q, 6);
  free(url);
  return r;
}
static inline void ef_resp_free(ef_resp_t *r) {
  free(r->body);
  free(r->location);
  cJSON_Delete(r->json);
}

static inline void ef_stop(ef_t *f) {
  int done = 0;
  dt_emulator_close(f->emu, ef_on_closed, &done);
  dt_http_server_close(f->bot, NULL, NULL);
  if (f->http) dt_http_client_close(f->http, NULL, NULL);
  uv_close((uv_handle_t *)&f->wake, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  for (int i = 0; i < f->nnotes; i++) {
    free(f->notes[i]);
    free(f->auth[i]);
  }
  f->nnotes = 0;
  DT_ASSERT(done);
  DT_ASSERT_EQ_INT(uv_loop_close(&f->loop), 0); /* every handle closed */
}

#endif
