/*
 * test_ingress.c — core/calls/ingress.c on a loop with a call registry (no engine, no
 * authentication): /healthz (200, 503 while draining), a notification POSTed to the
 * callback path is answered 202 and reaches the registry, a malformed one is 400, GET /calls
 * serves the registry's JSON, an unknown path is 404 and a known one with the wrong method 405.
 * Health: a key set that cannot be downloaded (a refused port) and what the health callback
 * reports make /healthz "degraded" (200, JSON reasons in words, never "HTTP 0"); a
 * refused notification is counted.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "dialtone/ingress.h"
#include "harness/dt_test.h"

typedef struct {
  int done, status;
  char body[4096];
} reply_t;

static void on_reply(const dt_http_response_t *res, void *ud) {
  reply_t *r = ud;
  r->status = res->status;
  snprintf(r->body, sizeof r->body, "%s", res->body ? res->body : "");
  r->done = 1;
}

static reply_t ask(call_fx_t *f, int port, const char *method, const char *path, const char *body) {
  reply_t r = {0};
  char *url = dt_xasprintf("http://127.0.0.1:%d%s", port, path);
  dt_http_header_t h[] = {{"Content-Type", "application/json"}};
  dt_http_request_options_t q = {.method = method, .url = url, .headers = h, .header_count = body ? 1 : 0,
                                 .body = body, .body_len = body ? strlen(body) : 0, .timeout_ms = 5000};
  if (dt_http_client_send(f->http, &q, on_reply, &r, NULL) == 0) run_until(&f->loop, &r.done, 10);
  free(url);
  return r;
}

DT_TEST(routes_of_the_ingress) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_ingress_options_t o = {.loop = &f.loop, .listen = "127.0.0.1:0", .http = f.http, .auth = false};
  dt_ingress_t *ing = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_ingress_start(&o, &ing, err, sizeof err), 0);
  dt_ingress_set_calls(ing, f.reg);
  int port = dt_ingress_port(ing);
  DT_ASSERT(port > 0);
  reply_t r = ask(&f, port, "GET", "/healthz", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(r.body, "{\"status\":\"ok\"}\n");
  r = ask(&f, port, "POST", "/api/calls",
          "{\"value\":[{\"changeType\":\"created\",\"resource\":\"/app/calls/call-i\",\"resourceData\":{"
          "\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"incoming\","
          "\"source\":{\"identity\":{\"user\":{\"id\":\"u\"}}},"
          "\"targets\":[{\"identity\":{\"application\":{\"id\":\"a\"}}}]}}]}");
  DT_ASSERT_EQ_INT(r.status, 202);
  FX_UNTIL(&f, 2000, f.starts == 1);
  DT_ASSERT(dt_calls_find(f.reg, "call-i") != NULL);
  DT_ASSERT_EQ_INT((int)dt_ingress_accepted(ing), 1);
  r = ask(&f, port, "POST", "/api/calls", "{not json");
  DT_ASSERT_EQ_INT(r.status, 400);
  r = ask(&f, port, "GET", "/calls", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT(strstr(r.body, "\"id\":\"call-i\"") != NULL);
  r = ask(&f, port, "GET", "/nothing-here", NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  r = ask(&f, port, "DELETE", "/healthz", NULL);
  DT_ASSERT_EQ_INT(r.status, 405);
  dt_ingress_set_draining(ing, true);
  r = ask(&f, port, "GET", "/healthz", NULL);
  DT_ASSERT_EQ_INT(r.status, 503);
  DT_ASSERT_EQ_STR(r.body, "{\"status\":\"draining\"}\n");
  int closed = 0;
  dt_ingress_close(ing, on_done_flag, &closed);
  run_until(&f.loop, &closed, 5);
  DT_ASSERT(closed);
  free(fx_close(&f));
}

static size_t fake_health(void *ud, const char **reasons, size_t max) {
  const char *r = ud;
  if (!r || max == 0) return 0;
  reasons[0] = r;
  return 1;
}

static bool healthz_has(call_fx_t *f, int port, const char *needle) {
  reply_t r = ask(f, port, "GET", "/healthz", NULL);
  return r.status == 200 && strstr(r.body, needle) != NULL;
}

DT_TEST(healthz_degraded_with_reasons_while_the_key_set_cannot_load) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_metrics_t *m = dt_metrics_new();
  dt_ingress_options_t o = {.loop = &f.loop, .listen = "127.0.0.1:0", .http = f.http, .auth = true,
                            .jwks_url = "http://127.0.0.1:1/keys", .audience = "app", .metrics = m,
                            .min_refresh_ms = 1, .health = fake_health,
                            .health_ud = "token refresh failing: test"};
  dt_ingress_t *ing = NULL;
  char err[256];
  DT_ASSERT_EQ_INT(dt_ingress_start(&o, &ing, err, sizeof err), 0);
  int port = dt_ingress_port(ing);
  for (int i = 0; i < 200 && !dt_ingress_keys_error(ing); i++) uv_run(&f.loop, UV_RUN_ONCE);
  DT_ASSERT(dt_ingress_keys_error(ing) != NULL);
  DT_ASSERT_CONTAINS(dt_ingress_keys_error(ing), "connection refused");
  reply_t r = ask(&f, port, "GET", "/healthz", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_CONTAINS(r.body, "{\"status\":\"degraded\",\"reasons\":[\"key set missing: cannot fetch the key set from "
                             "http://127.0.0.1:1/keys: connection refused");
  DT_ASSERT_CONTAINS(r.body, "\"token refresh failing: test\"]}");
  DT_ASSERT(strstr(r.body, "HTTP 0") == NULL);
  /* a notification without a token is refused, counted (and logged with why, log_limit.h) */
  r = ask(&f, port, "POST", "/api/calls", "{\"value\":[]}");
  DT_ASSERT_EQ_INT(r.status, 401); /* no bearer token at all: refused before the body */
  dt_buf_t b = {0};
  dt_metrics_render(m, &b);
  DT_ASSERT_CONTAINS(b.data, "dt_notifications_refused_total 1");
  dt_buf_free(&b);
  /* the key set keeps failing: still degraded */
  DT_ASSERT(healthz_has(&f, port, "key set missing"));
  int closed = 0;
  dt_ingress_close(ing, on_done_flag, &closed);
  run_until(&f.loop, &closed, 5);
  DT_ASSERT(closed);
  free(fx_close(&f));
  dt_metrics_free(m);
}

DT_TEST_MAIN()
