/*
 * test_ingress.c — core/calls/ingress.c on a loop with a call registry (no engine, no
 * authentication): /healthz (200, 503 while draining), a notification POSTed to the
 * callback path is answered 202 and reaches the registry, a malformed one is 400, GET /calls
 * serves the registry's JSON, an unknown path is 404 and a known one with the wrong method 405.
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
  DT_ASSERT_EQ_STR(r.body, "ok\n");
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
  int closed = 0;
  dt_ingress_close(ing, on_done_flag, &closed);
  run_until(&f.loop, &closed, 5);
  DT_ASSERT(closed);
  free(fx_close(&f));
}

DT_TEST_MAIN()
