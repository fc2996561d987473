/*
 * Integration tests for the Graph client's retries (core/graph/graph.c, "Retries" in graph.h):
 * the real client, http client and token source against a fake Graph on dt_http_server
 * over 127.0.0.1 (port 0).
 *
 * The fake is told per request what to do: a script of actions consumed one per Graph
 * request (answer with a status / Retry-After / body, or hold the request unanswered so
 * the client times out), then a fallback (the documents' default answer, or the same
 * error forever). It records every Graph request with the time it arrived by its own
 * clock, so the tests can check how many requests Graph saw and how far apart.
 * Backoffs are configured small so the tests run in well under a second each, except
 * where a Retry-After of 1-2 s is the point.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/metrics.h"
#include "dialtone/oauth.h"
#include "harness/dt_test.h"
#include "harness/fake_token.h"
#include "harness/loop.h"

static bool under_valgrind(void) { return getenv("DT_UNDER_VALGRIND") != NULL; }

/* ---- the fake Graph ---- */

#define MAX_RECORDED 128
#define MAX_SCRIPT 16
#define MAX_HELD 16

typedef enum { ACT_DEFAULT = 0, ACT_RESPOND, ACT_HOLD } act_kind_t;

typedef struct {
  act_kind_t kind;
  int status;
  const char *retry_after; /* may be NULL */
  const char *body;        /* may be NULL */
} action_t;

typedef struct {
  char *method, *target, *auth, *body;
  uint64_t at_ms; /* dt_now_ms() when the request arrived */
} recorded_t;

typedef struct {
  dt_http_server_t *srv;
  int port;
  recorded_t rec[MAX_RECORDED];
  int nrec;
  int token_requests;
  char valid_token[32];
  bool check_auth;
  bool always_401;
  action_t script[MAX_SCRIPT];
  int nscript, next;
  action_t fallback; /* after the script */
  char date_buf[64]; /* storage for an HTTP-date Retry-After */
  dt_http_request_t *held[MAX_HELD];
  int nheld;
} fake_t;

static void answer_default(fake_t *f, dt_http_request_t *req) {
  char loc[256];
  const char *p = req->path;
  if (strcmp(req->method, "DELETE") == 0) {
    respond(req, 204, NULL, NULL, NULL);
  } else if (strcmp(req->method, "GET") == 0) {
    respond(req, 200, NULL, NULL, "{\"id\":\"x\"}");
  } else if (ends_with(p, "/calls")) {
    snprintf(loc, sizeof loc, "http://127.0.0.1:%d%s/2e1a0b00-2db4-4022-9570-243709c565ab", f->port, p);
    respond(req, 201, loc, NULL,
            "{\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"establishing\","
            "\"id\":\"2e1a0b00-2db4-4022-9570-243709c565ab\"}");
  } else if (ends_with(p, "/keepAlive")) {
    respond(req, 200, NULL, NULL, NULL);
  } else {
    respond(req, 200, NULL, NULL, "{\"id\":\"0fe0623f-d628-42ed-b4bd-8ac290072cc5\",\"status\":\"running\"}");
  }
}

static void fake_handler(dt_http_request_t *req, void *ud) {
  fake_t *f = ud;
  if (fake_token_serve(req, &f->token_requests, f->valid_token, sizeof f->valid_token)) return;
  if (f->nrec < MAX_RECORDED) {
    recorded_t *r = &f->rec[f->nrec++];
    r->method = dt_xstrdup(req->method);
    r->target = dt_xstrdup(req->target);
    const char *auth = dt_http_request_header(req, "Authorization");
    r->auth = auth ? dt_xstrdup(auth) : NULL;
    r->body = req->body_len ? dt_xstrndup(req->body, req->body_len) : NULL;
    r->at_ms = dt_now_ms();
  }
  if (f->check_auth && (f->always_401 || !fake_token_accepts(req, f->valid_token))) {
    fake_token_reject(req);
    return;
  }
  action_t a = f->next < f->nscript ? f->script[f->next++] : f->fallback;
  switch (a.kind) {
    case ACT_HOLD:
      if (f->nheld < MAX_HELD) {
        f->held[f->nheld++] = req;
        return;
      }
      respond(req, 500, NULL, NULL, NULL);
      return;
    case ACT_RESPOND: respond(req, a.status, NULL, a.retry_after, a.body); return;
    default: answer_default(f, req); return;
  }
}

static void fake_push(fake_t *f, action_t a) {
  if (f->nscript < MAX_SCRIPT) f->script[f->nscript++] = a;
}

static void fake_clear(fake_t *f) {
  for (int i = 0; i < f->nrec; i++) {
    free(f->rec[i].method);
    free(f->rec[i].target);
    free(f->rec[i].auth);
    free(f->rec[i].body);
  }
  f->nrec = 0;
}

static int fake_start(uv_loop_t *loop, fake_t *f, const char *listen) {
  char err[256] = "";
  dt_http_server_options_t so = {.listen = listen, .handler = fake_handler, .handler_ud = f};
  int rc = dt_http_server_start(loop, &so, &f->srv, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "  server: %s\n", err);
    return rc;
  }
  f->port = dt_http_server_port(f->srv);
  return 0;
}

static void fake_stop(uv_loop_t *loop, fake_t *f) {
  if (f->srv == NULL) return;
  for (int i = 0; i < f->nheld; i++) respond(f->held[i], 503, NULL, NULL, NULL);
  f->nheld = 0;
  int closed = 0;
  dt_http_server_close(f->srv, on_done_flag, &closed);
  run_until(loop, &closed, 10);
  f->srv = NULL;
  fake_clear(f);
}

/* ---- a test environment: loop, fake, http client, token source, metrics, graph ---- */

typedef struct {
  uv_loop_t loop;
  fake_t fake;
  dt_http_client_t *http;
  dt_oauth_source_t *tokens;
  dt_metrics_t *metrics;
  dt_graph_t *g;
  char base[128];
} env_t;

/* Small backoffs unless a test says otherwise; 4 attempts; a timeout long enough for
   valgrind but short enough that the timeout tests are quick. */
static dt_graph_options_t test_options(env_t *e) {
  return (dt_graph_options_t){.base_url = e->base,
                              .timeout_ms = under_valgrind() ? 3000 : 500,
                              .max_attempts = 4,
                              .base_backoff_ms = 5,
                              .max_backoff_ms = 20,
                              .retry_deadline_ms = 20000, /* room for the 1-5 s Retry-After tests */
                              .metrics = e->metrics};
}

static int env_init_with(env_t *e, const dt_graph_options_t *custom) {
  memset(e, 0, sizeof *e);
  uv_loop_init(&e->loop);
  int rc = fake_start(&e->loop, &e->fake, "127.0.0.1:0");
  if (rc != 0) return rc;
  e->fake.check_auth = true;
  e->metrics = dt_metrics_new();
  if ((rc = dt_http_client_new(&e->loop, &(dt_http_client_options_t){0}, &e->http)) != 0) return rc;
  char token_url[128];
  snprintf(token_url, sizeof token_url, "http://127.0.0.1:%d/token", e->fake.port);
  dt_oauth_options_t to = {.token_url = token_url, .client_id = "app", .client_secret = "secret"};
  if ((rc = dt_oauth_source_new(&e->loop, e->http, &to, &e->tokens)) != 0) return rc;
  snprintf(e->base, sizeof e->base, "http://127.0.0.1:%d/v1.0", e->fake.port);
  dt_graph_options_t go = test_options(e);
  if (custom) {
    go = *custom;
    go.base_url = e->base;
    go.metrics = e->metrics;
  }
  return dt_graph_new(&e->loop, e->http, e->tokens, &go, &e->g);
}

static int env_init(env_t *e) { return env_init_with(e, NULL); }

static int env_close(env_t *e) {
  dt_graph_free(e->g);
  e->g = NULL;
  dt_oauth_source_free(e->tokens);
  for (int i = 0; i < e->fake.nheld; i++) respond(e->fake.held[i], 503, NULL, NULL, NULL);
  e->fake.nheld = 0;
  int client_closed = 0;
  dt_http_client_close(e->http, on_done_flag, &client_closed);
  run_until(&e->loop, &client_closed, 10);
  fake_stop(&e->loop, &e->fake);
  dt_metrics_free(e->metrics);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  return uv_loop_close(&e->loop);
}

static double retries(env_t *e, const char *reason) {
  char labels[64];
  snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
  return dt_metrics_get(e->metrics, "dt_graph_retries_total", labels);
}

static double giveups(env_t *e) { return dt_metrics_get(e->metrics, "dt_graph_giveups_total", ""); }

/* ---- result capture ---- */

typedef struct {
  int done, calls;
  int status, error, attempts, retry_after_s;
  char error_code[64], error_message[256], call_id[64];
} capture_t;

static void copy(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : ""); }

static void on_result(const dt_graph_result_t *res, void *ud) {
  capture_t *c = ud;
  c->calls++;
  c->done = 1;
  c->status = res->status;
  c->error = res->error;
  c->attempts = res->attempts;
  c->retry_after_s = res->retry_after_s;
  copy(c->error_code, sizeof c->error_code, res->error_code);
  copy(c->error_message, sizeof c->error_message, res->error_message);
  copy(c->call_id, sizeof c->call_id, res->call_id);
  if (res->error_message == NULL) c->error_message[0] = '!';
}

#define CALL "57dab8b1-894c-409a-b240-bd8beae78896"

static dt_media_t k_prompt = {"https://cdn.contoso.com/beep.wav", "1D6DE2D4-CD51-4309-8DAA-70768651088E"};
static dt_invitation_t k_user = {{"user", "550fae72-d251-43ec-868c-373732c2704f", NULL, "Heidi Steen"}, NULL};

/* Fetches the token once so the requests under test go straight out. */
static bool warm_up(env_t *e) {
  capture_t c = {0};
  if (dt_graph_get_call(e->g, CALL, on_result, &c, NULL) != 0) return false;
  if (!run_until(&e->loop, &c.done, 10) || c.status != 200) return false;
  fake_clear(&e->fake);
  return true;
}

static int start_play(env_t *e, capture_t *c, dt_graph_req_t **out) {
  return dt_graph_play_prompt(e->g, CALL, &k_prompt, 1, "ctx", on_result, c, out);
}

static const char *k_503_body = "{\"error\":{\"code\":\"serviceUnavailable\",\"message\":\"Try again later.\"}}";

/* ---- the classification table ---- */

DT_TEST(repeatable_table) {
  DT_ASSERT(dt_graph_repeatable("GET", "/" CALL));
  DT_ASSERT(dt_graph_repeatable("GET", "/" CALL "/operations/op-1"));
  DT_ASSERT(dt_graph_repeatable("GET", "/" CALL "/participants"));
  DT_ASSERT(dt_graph_repeatable("DELETE", "/" CALL));
  DT_ASSERT(dt_graph_repeatable("DELETE", "/" CALL "/participants/p-1"));
  const char *yes[] = {"keepAlive", "subscribeToTone", "cancelMediaProcessing", "mute", "unmute",
                       "participants/muteAll", "participants/p-1/mute", "changeScreenSharingRole", "updateMetadata"};
  const char *no[] = {"answer", "reject", "redirect", "transfer", "playPrompt", "record", "recordResponse",
                      "sendDtmfTones", "participants/invite", "someFutureAction", "keepAliveX"};
  char path[256];
  for (size_t i = 0; i < DT_ARRAY_SIZE(yes); i++) {
    snprintf(path, sizeof path, "/%s/%s", CALL, yes[i]);
    DT_ASSERT_MSG(dt_graph_repeatable("POST", path), "%s should be repeatable", yes[i]);
  }
  for (size_t i = 0; i < DT_ARRAY_SIZE(no); i++) {
    snprintf(path, sizeof path, "/%s/%s", CALL, no[i]);
    DT_ASSERT_MSG(!dt_graph_repeatable("POST", path), "%s should not be repeatable", no[i]);
  }
  DT_ASSERT(!dt_graph_repeatable("POST", "")); /* create call */
  DT_ASSERT(!dt_graph_repeatable("PATCH", "/" CALL));
  DT_ASSERT(!dt_graph_repeatable(NULL, "/x"));
}

DT_TEST(options_are_validated) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_client_t *http = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, &(dt_http_client_options_t){0}, &http), 0);
  dt_graph_t *g = NULL;
  const char *b = "http://127.0.0.1:9/v1.0";
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = b, .max_attempts = -1}, &g),
                   DT_EINVAL);
  DT_ASSERT_EQ_INT(
      dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = b, .max_attempts = DT_GRAPH_MAX_ATTEMPTS + 1}, &g),
      DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = b, .max_backoff_ms = -5}, &g),
                   DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = b, .retry_deadline_ms = -1}, &g),
                   DT_EINVAL);
  DT_ASSERT(g == NULL);
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = b}, &g), 0);
  dt_graph_free(g);
  int closed = 0;
  dt_http_client_close(http, on_done_flag, &closed);
  run_until(&loop, &closed, 10);
  uv_run(&loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

/* ---- throttling ---- */

DT_TEST(first_try_success_is_one_attempt) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  capture_t c = {0};
  DT_ASSERT_EQ_INT(start_play(&e, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_INT(c.attempts, 1);
  DT_ASSERT_EQ_INT(e.fake.nrec, 1);
  DT_ASSERT_EQ_INT(retries(&e, "429") + retries(&e, "503") + giveups(&e), 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(retry_after_429_waits_then_succeeds) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  fake_push(&e.fake, (action_t){ACT_RESPOND, 429, "1",
                                "{\"error\":{\"code\":\"activityLimitReached\",\"message\":\"Throttled.\"}}"});
  capture_t c = {0};
  DT_ASSERT_EQ_INT(start_play(&e, &c, NULL), 0); /* not repeatable, but a 429 proves Graph did nothing */
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.calls, 1);
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_INT(c.error, 0);
  DT_ASSERT_EQ_INT(c.attempts, 2);
  DT_ASSERT_EQ_INT(e.fake.nrec, 2);
  uint64_t gap = e.fake.rec[1].at_ms - e.fake.rec[0].at_ms;
  DT_ASSERT_MSG(gap >= 950, "second request %llu ms after the first; Retry-After was 1 s", (unsigned long long)gap);
  DT_ASSERT_EQ_STR(e.fake.rec[0].body, e.fake.rec[1].body);
  DT_ASSERT_EQ_STR(e.fake.rec[0].target, e.fake.rec[1].target);
  DT_ASSERT_EQ_INT(retries(&e, "429"), 1);
  DT_ASSERT_EQ_INT(giveups(&e), 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(retry_after_http_date_is_honoured) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  time_t when = time(NULL) + 2;
  struct tm tm;
  gmtime_r(&when, &tm);
  strftime(e.fake.date_buf, sizeof e.fake.date_buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  fake_push(&e.fake, (action_t){ACT_RESPOND, 503, e.fake.date_buf, k_503_body});
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_INT(c.attempts, 2);
  DT_ASSERT_EQ_INT(e.fake.nrec, 2);
  /* The date is 2 s ahead at whole-second resolution: at least 1 s of it is left. */
  uint64_t gap = e.fake.rec[1].at_ms - e.fake.rec[0].at_ms;
  DT_ASSERT_MSG(gap >= 950, "second request %llu ms after the first", (unsigned long long)gap);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(service_unavailable_three_times_then_success) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  for (int i = 0; i < 3; i++) fake_push(&e.fake, (action_t){ACT_RESPOND, 503, NULL, k_503_body});
  capture_t c = {0};
  DT_ASSERT_EQ_INT(start_play(&e, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.calls, 1);
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_INT(c.error, 0);
  DT_ASSERT_EQ_INT(c.attempts, 4);
  DT_ASSERT_EQ_INT(e.fake.nrec, 4);
  for (int i = 1; i < 4; i++) {
    DT_ASSERT_EQ_STR(e.fake.rec[i].body, e.fake.rec[0].body);
    DT_ASSERT_EQ_STR(e.fake.rec[i].auth, "Bearer tok-1");
  }
  DT_ASSERT_EQ_INT(retries(&e, "503"), 3);
  DT_ASSERT_EQ_INT(giveups(&e), 0);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(service_unavailable_forever_gives_up_after_max_attempts) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  e.fake.fallback = (action_t){ACT_RESPOND, 503, NULL, k_503_body};
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  run_for(&e.loop, 200); /* nothing more goes out after the give-up */
  DT_ASSERT_EQ_INT(c.calls, 1);
  DT_ASSERT_EQ_INT(c.status, 503);
  DT_ASSERT_EQ_INT(c.error, DT_EGRAPH);
  DT_ASSERT_EQ_STR(c.error_code, "serviceUnavailable");
  DT_ASSERT_EQ_STR(c.error_message, "Try again later.");
  DT_ASSERT_EQ_INT(c.attempts, 4);
  DT_ASSERT_EQ_INT(e.fake.nrec, 4);
  DT_ASSERT_EQ_INT(retries(&e, "503"), 3);
  DT_ASSERT_EQ_INT(giveups(&e), 1);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(retry_after_beyond_deadline_gives_up_at_once) {
  dt_graph_options_t o = {.timeout_ms = 500, .max_attempts = 4, .retry_deadline_ms = 3000};
  env_t e;
  DT_ASSERT_EQ_INT(env_init_with(&e, &o), 0);
  DT_ASSERT(warm_up(&e));
  fake_push(&e.fake, (action_t){ACT_RESPOND, 429, "30", NULL});
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c, NULL), 0);
  /* Well before the 30 s the server asked for. */
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 429);
  DT_ASSERT_EQ_INT(c.error, DT_EGRAPH);
  DT_ASSERT_EQ_INT(c.retry_after_s, 30);
  DT_ASSERT_EQ_INT(c.attempts, 1);
  DT_ASSERT(c.error_message[0] != '\0' && c.error_message[0] != '!');
  DT_ASSERT_EQ_INT(e.fake.nrec, 1);
  DT_ASSERT_EQ_INT(retries(&e, "429"), 0);
  DT_ASSERT_EQ_INT(giveups(&e), 1);
  /* Same for an HTTP-date far ahead. */
  fake_push(&e.fake, (action_t){ACT_RESPOND, 503, "Wed, 21 Oct 2099 07:28:00 GMT", k_503_body});
  capture_t c2 = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c2, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c2.done, 10));
  DT_ASSERT_EQ_INT(c2.status, 503);
  DT_ASSERT_EQ_INT(c2.attempts, 1);
  DT_ASSERT_EQ_INT(e.fake.nrec, 2);
  DT_ASSERT_EQ_INT(giveups(&e), 2);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* With many attempts allowed, the deadline is what ends the retries. */
DT_TEST(deadline_bounds_backoff_retries) {
  dt_graph_options_t o = {.timeout_ms = 500, .max_attempts = DT_GRAPH_MAX_ATTEMPTS, .base_backoff_ms = 20,
                          .max_backoff_ms = 20, .retry_deadline_ms = 300};
  env_t e;
  DT_ASSERT_EQ_INT(env_init_with(&e, &o), 0);
  DT_ASSERT(warm_up(&e));
  e.fake.fallback = (action_t){ACT_RESPOND, 503, NULL, k_503_body};
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  run_for(&e.loop, 100);
  /* The last attempt gets only what is left of the deadline: on a slow machine (valgrind)
     it can time out before its answer comes (the result is then that timeout) or before the
     server has read it, so the server saw every attempt or all but the last. */
  if (c.status != 503) {
    DT_ASSERT_EQ_INT(c.status, 0);
    DT_ASSERT_EQ_INT(c.error, DT_ETIMEDOUT);
  }
  DT_ASSERT(c.attempts >= 2);
  DT_ASSERT(c.attempts < DT_GRAPH_MAX_ATTEMPTS);
  DT_ASSERT(e.fake.nrec <= c.attempts);
  DT_ASSERT(e.fake.nrec >= c.attempts - 1);
  DT_ASSERT_EQ_INT(giveups(&e), 1);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* ---- ambiguous failures: only repeatable requests go again ---- */

DT_TEST(play_prompt_timeout_is_not_repeated) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  fake_push(&e.fake, (action_t){ACT_HOLD, 0, NULL, NULL}); /* Graph never answers */
  capture_t c = {0};
  DT_ASSERT_EQ_INT(start_play(&e, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 20));
  run_for(&e.loop, 300); /* a retry would have gone out by now (backoff <= 20 ms) */
  DT_ASSERT_EQ_INT(c.calls, 1);
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT_EQ_INT(c.error, DT_ETIMEDOUT);
  DT_ASSERT_EQ_INT(c.attempts, 1);
  DT_ASSERT(c.error_message[0] != '\0' && c.error_message[0] != '!');
  DT_ASSERT_EQ_INT(e.fake.nrec, 1);
  DT_ASSERT_EQ_INT(retries(&e, "timeout"), 0);
  DT_ASSERT_EQ_INT(giveups(&e), 1);
  /* The same holds for create call, sendDtmfTones and invite. */
  fake_push(&e.fake, (action_t){ACT_HOLD, 0, NULL, NULL});
  fake_push(&e.fake, (action_t){ACT_HOLD, 0, NULL, NULL});
  fake_push(&e.fake, (action_t){ACT_HOLD, 0, NULL, NULL});
  capture_t c1 = {0}, c2 = {0}, c3 = {0};
  dt_graph_create_params_t p = {.callback_uri = "https://bot.contoso.com/callback", .targets = &k_user,
                                .target_count = 1};
  DT_ASSERT_EQ_INT(dt_graph_create_call(e.g, &p, on_result, &c1, NULL), 0);
  DT_ASSERT_EQ_INT(dt_graph_send_dtmf(e.g, CALL, "12#", 0, NULL, on_result, &c2, NULL), 0);
  DT_ASSERT_EQ_INT(dt_graph_invite(e.g, CALL, &k_user, 1, NULL, on_result, &c3, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c1.done, 20));
  DT_ASSERT(run_until(&e.loop, &c2.done, 20));
  DT_ASSERT(run_until(&e.loop, &c3.done, 20));
  run_for(&e.loop, 300);
  DT_ASSERT_EQ_INT(c1.error, DT_ETIMEDOUT);
  DT_ASSERT_EQ_INT(c2.error, DT_ETIMEDOUT);
  DT_ASSERT_EQ_INT(c3.error, DT_ETIMEDOUT);
  DT_ASSERT_EQ_INT(e.fake.nrec, 4);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST(keep_alive_timeout_is_repeated) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  fake_push(&e.fake, (action_t){ACT_HOLD, 0, NULL, NULL}); /* first attempt: no answer */
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 20));
  DT_ASSERT_EQ_INT(c.calls, 1);
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_INT(c.error, 0);
  DT_ASSERT_EQ_INT(c.attempts, 2);
  DT_ASSERT_EQ_INT(e.fake.nrec, 2);
  DT_ASSERT_CONTAINS(e.fake.rec[1].target, "/" CALL "/keepAlive");
  DT_ASSERT_EQ_INT(retries(&e, "timeout"), 1);
  DT_ASSERT_EQ_INT(giveups(&e), 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* A 502/504 from a gateway may hide a request Graph acted on: like a timeout. */
DT_TEST(gateway_errors_retry_only_repeatable_requests) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  fake_push(&e.fake, (action_t){ACT_RESPOND, 502, NULL, NULL});
  capture_t c = {0};
  DT_ASSERT_EQ_INT(start_play(&e, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  run_for(&e.loop, 200);
  DT_ASSERT_EQ_INT(c.status, 502);
  DT_ASSERT_EQ_INT(c.error, DT_EGRAPH);
  DT_ASSERT_EQ_INT(c.attempts, 1);
  DT_ASSERT_EQ_INT(e.fake.nrec, 1);
  fake_push(&e.fake, (action_t){ACT_RESPOND, 504, NULL, NULL});
  fake_push(&e.fake, (action_t){ACT_RESPOND, 502, NULL, NULL});
  capture_t c2 = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_operation(e.g, CALL, "op-1", on_result, &c2, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c2.done, 10));
  DT_ASSERT_EQ_INT(c2.status, 200);
  DT_ASSERT_EQ_INT(c2.attempts, 3);
  DT_ASSERT_EQ_INT(e.fake.nrec, 4);
  DT_ASSERT_EQ_INT(retries(&e, "504"), 1);
  DT_ASSERT_EQ_INT(retries(&e, "502"), 1);
  /* Other errors are final at once. */
  fake_push(&e.fake, (action_t){ACT_RESPOND, 500, NULL, NULL});
  capture_t c3 = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c3, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c3.done, 10));
  DT_ASSERT_EQ_INT(c3.status, 500);
  DT_ASSERT_EQ_INT(c3.attempts, 1);
  DT_ASSERT_EQ_INT(e.fake.nrec, 5);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* A port nobody listens on: bind an ephemeral port, read it, close it. */
static int dead_port(uv_loop_t *loop) {
  uv_tcp_t probe;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(loop, &probe);
  uv_tcp_bind(&probe, (const struct sockaddr *)&addr, 0);
  struct sockaddr_storage name;
  int namelen = sizeof name;
  uv_tcp_getsockname(&probe, (struct sockaddr *)&name, &namelen);
  int port = ntohs(((struct sockaddr_in *)&name)->sin_port);
  uv_close((uv_handle_t *)&probe, NULL);
  run_for(loop, 20);
  return port;
}

/* Connection refused proves nothing was sent, so even create call goes again; Graph
   comes up during the backoff and sees exactly one create. */
DT_TEST(connection_refused_create_call_is_retried) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  int port = dead_port(&e.loop);
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%d/v1.0", port);
  dt_graph_options_t o = {.base_url = base, .timeout_ms = 2000, .max_attempts = 50, .base_backoff_ms = 50,
                          .max_backoff_ms = 100, .retry_deadline_ms = 30000, .metrics = e.metrics};
  dt_graph_t *g2 = NULL;
  DT_ASSERT_EQ_INT(dt_graph_new(&e.loop, e.http, NULL, &o, &g2), 0);
  dt_graph_create_params_t p = {.callback_uri = "https://bot.contoso.com/callback", .targets = &k_user,
                                .target_count = 1};
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_create_call(g2, &p, on_result, &c, NULL), 0);
  for (int i = 0; i < 500 && retries(&e, "refused") < 1 && !c.done; i++) run_for(&e.loop, 10);
  DT_ASSERT(!c.done);
  DT_ASSERT(retries(&e, "refused") >= 1);
  fake_t late = {0};
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  DT_ASSERT_EQ_INT(fake_start(&e.loop, &late, listen), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 20));
  DT_ASSERT_EQ_INT(c.status, 201);
  DT_ASSERT_EQ_INT(c.error, 0);
  DT_ASSERT_EQ_STR(c.call_id, "2e1a0b00-2db4-4022-9570-243709c565ab");
  DT_ASSERT_EQ_INT(late.nrec, 1);
  DT_ASSERT_EQ_STR(late.rec[0].method, "POST");
  DT_ASSERT_EQ_STR(late.rec[0].target, "/v1.0/communications/calls");
  DT_ASSERT(c.attempts >= 2);
  DT_ASSERT_EQ_INT(c.attempts, 1 + (int)retries(&e, "refused"));
  DT_ASSERT_EQ_INT(giveups(&e), 0);
  dt_graph_free(g2);
  fake_stop(&e.loop, &late);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* When Graph never comes up, the refusal reaches the caller after max_attempts. */
DT_TEST(connection_refused_forever_gives_up) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%d/v1.0", dead_port(&e.loop));
  dt_graph_options_t o = {.base_url = base, .max_attempts = 3, .base_backoff_ms = 5, .max_backoff_ms = 10,
                          .metrics = e.metrics};
  dt_graph_t *g2 = NULL;
  DT_ASSERT_EQ_INT(dt_graph_new(&e.loop, e.http, NULL, &o, &g2), 0);
  capture_t c = {0};
  DT_ASSERT_EQ_INT(dt_graph_answer(g2, CALL, &(dt_graph_answer_params_t){.callback_uri = "https://b/c"}, on_result,
                                   &c, NULL),
                   0);
  DT_ASSERT(run_until(&e.loop, &c.done, 20));
  DT_ASSERT_EQ_INT(c.status, 0);
  DT_ASSERT_EQ_INT(c.error, DT_ECONNREFUSED);
  DT_ASSERT_EQ_INT(c.attempts, 3);
  DT_ASSERT_EQ_INT(retries(&e, "refused"), 2);
  DT_ASSERT_EQ_INT(giveups(&e), 1);
  dt_graph_free(g2);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* ---- cancel and free ---- */

DT_TEST(cancel_during_backoff) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  fake_push(&e.fake, (action_t){ACT_RESPOND, 503, "1", k_503_body});
  capture_t c = {0};
  dt_graph_req_t *r = NULL;
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c, &r), 0);
  /* The retry counter moves when the backoff timer is armed. */
  for (int i = 0; i < 1000 && retries(&e, "503") < 1; i++) run_for(&e.loop, 10);
  DT_ASSERT_EQ_INT(retries(&e, "503"), 1);
  DT_ASSERT_EQ_INT(e.fake.nrec, 1);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 1);
  dt_graph_req_cancel(r);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 0);
  run_for(&e.loop, 1500); /* past the Retry-After */
  DT_ASSERT_EQ_INT(c.calls, 0);
  DT_ASSERT_EQ_INT(e.fake.nrec, 1);
  DT_ASSERT_EQ_INT(giveups(&e), 0);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* dt_graph_free with requests in backoff and in flight: no callbacks, every timer closed,
   nothing leaked (ASan, valgrind). */
DT_TEST(free_with_retries_pending) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  fake_push(&e.fake, (action_t){ACT_RESPOND, 503, "5", k_503_body});
  fake_push(&e.fake, (action_t){ACT_RESPOND, 429, "5", NULL});
  fake_push(&e.fake, (action_t){ACT_HOLD, 0, NULL, NULL});
  capture_t c[3] = {{0}};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c[0], NULL), 0);
  DT_ASSERT_EQ_INT(start_play(&e, &c[1], NULL), 0);
  DT_ASSERT_EQ_INT(dt_graph_delete_call(e.g, CALL, on_result, &c[2], NULL), 0);
  for (int i = 0; i < 1000 && (retries(&e, "503") + retries(&e, "429") < 2 || e.fake.nheld < 1); i++)
    run_for(&e.loop, 10);
  DT_ASSERT_EQ_INT(retries(&e, "503") + retries(&e, "429"), 2);
  DT_ASSERT_EQ_INT(e.fake.nheld, 1);
  DT_ASSERT_EQ_INT(dt_graph_pending(e.g), 3);
  dt_graph_free(e.g);
  e.g = NULL;
  run_for(&e.loop, 200);
  DT_ASSERT_EQ_INT(c[0].calls + c[1].calls + c[2].calls, 0);
  DT_ASSERT_EQ_INT(e.fake.nrec, 3);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

/* ---- 401 ---- */

DT_TEST(unauthorized_refreshes_token_once) {
  env_t e;
  DT_ASSERT_EQ_INT(env_init(&e), 0);
  DT_ASSERT(warm_up(&e));
  DT_ASSERT_EQ_INT(e.fake.token_requests, 1);
  snprintf(e.fake.valid_token, sizeof e.fake.valid_token, "revoked");
  capture_t c = {0};
  DT_ASSERT_EQ_INT(start_play(&e, &c, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c.done, 10));
  DT_ASSERT_EQ_INT(c.status, 200);
  DT_ASSERT_EQ_INT(c.attempts, 2);
  DT_ASSERT_EQ_INT(e.fake.token_requests, 2);
  DT_ASSERT_EQ_INT(e.fake.nrec, 2);
  DT_ASSERT_EQ_STR(e.fake.rec[0].auth, "Bearer tok-1");
  DT_ASSERT_EQ_STR(e.fake.rec[1].auth, "Bearer tok-2");
  /* The 401 resend does not use up the throttling budget: 401, then 503 x3, then 200
     is 5 sends with max_attempts 4. */
  snprintf(e.fake.valid_token, sizeof e.fake.valid_token, "revoked");
  for (int i = 0; i < 3; i++) fake_push(&e.fake, (action_t){ACT_RESPOND, 503, NULL, k_503_body});
  capture_t c2 = {0};
  DT_ASSERT_EQ_INT(dt_graph_keep_alive(e.g, CALL, on_result, &c2, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c2.done, 10));
  DT_ASSERT_EQ_INT(c2.status, 200);
  DT_ASSERT_EQ_INT(c2.attempts, 5);
  DT_ASSERT_EQ_INT(e.fake.token_requests, 3);
  /* A service that keeps refusing the token: one refresh, then the 401 is the result. */
  e.fake.always_401 = true;
  int before = e.fake.nrec;
  capture_t c3 = {0};
  DT_ASSERT_EQ_INT(dt_graph_get_call(e.g, CALL, on_result, &c3, NULL), 0);
  DT_ASSERT(run_until(&e.loop, &c3.done, 10));
  run_for(&e.loop, 200);
  DT_ASSERT_EQ_INT(c3.calls, 1);
  DT_ASSERT_EQ_INT(c3.status, 401);
  DT_ASSERT_EQ_INT(c3.error, DT_EGRAPH);
  DT_ASSERT_EQ_STR(c3.error_code, "InvalidAuthenticationToken");
  DT_ASSERT_EQ_INT(c3.attempts, 2);
  DT_ASSERT_EQ_INT(e.fake.nrec - before, 2);
  DT_ASSERT_EQ_INT(e.fake.token_requests, 4);
  DT_ASSERT_EQ_INT(env_close(&e), 0);
}

DT_TEST_MAIN()
