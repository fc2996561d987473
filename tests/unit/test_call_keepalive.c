/*
 * test_call_keepalive.c — core/calls/call_keepalive.c on a clock the test moves: the first
 * keepAlive is due one interval after the call is established (none before), each sweep
 * sends the ones due and re-arms them, the call's end stops them, and a 404 ends the call
 * as Graph's termination would (CDR written, registry empty).
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "harness/dt_test.h"

static uint64_t fake_now;
static uint64_t fake_clock(void *ud) { (void)ud; return fake_now; }

typedef struct {
  int status;   /* what keepAlive answers */
  int count;    /* keepAlive requests seen */
  char last[256];
} ka_srv_t;

static void on_graph(dt_http_request_t *req, void *ud) {
  ka_srv_t *s = ud;
  if (strstr(req->path, "/keepAlive")) {
    s->count++;
    snprintf(s->last, sizeof s->last, "%s %s", req->method, req->path);
    const char *body = s->status == 404 ? "{\"error\":{}}" : "";
    dt_http_respond(req, s->status, "application/json", body, strlen(body));
    return;
  }
  dt_http_respond(req, 200, "application/json", "{}", 2);
}

static dt_http_server_t *open_with_server(call_fx_t *f, ka_srv_t *s, unsigned interval_ms) {
  int port = fx_free_port();
  snprintf(fx_graph_url, sizeof fx_graph_url, "http://127.0.0.1:%d/v1.0", port);
  fake_now = 1000000;
  fx_open(f, &(dt_calls_options_t){.keepalive_interval_ms = interval_ms, .keepalive_clock = fake_clock}, true);
  char listen[64], err[256];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  dt_http_server_options_t so = {0};
  so.listen = listen;
  so.handler = on_graph;
  so.handler_ud = s;
  dt_http_server_t *srv = NULL;
  if (dt_http_server_start(&f->loop, &so, &srv, err, sizeof err) != 0) return NULL;
  return srv;
}

static char *close_all(call_fx_t *f, dt_http_server_t *srv) {
  dt_http_server_close(srv, NULL, NULL);
  return fx_close(f);
}

DT_TEST(keepalive_runs_each_interval_from_establishment_until_the_end) {
  call_fx_t f;
  ka_srv_t s = {.status = 200};
  dt_http_server_t *srv = open_with_server(&f, &s, 1800000);
  DT_ASSERT(srv != NULL);
  fx_incoming(&f, "call-k", "u", "app");
  uint64_t due = 0;
  DT_ASSERT_EQ_INT(dt_calls_keepalive_next_due(f.reg, &due), DT_ENOENT); /* not established */
  fake_now += 5000;
  fx_state(&f, "call-k", "established");
  DT_ASSERT_EQ_INT(dt_calls_keepalive_next_due(f.reg, &due), 0);
  DT_ASSERT(due == fake_now + 1800000);
  DT_ASSERT_EQ_INT((int)dt_calls_keepalive_sweep(f.reg, due - 1), 0); /* not yet */
  fake_now = due;
  DT_ASSERT_EQ_INT((int)dt_calls_keepalive_sweep(f.reg, fake_now), 1);
  dt_call_t *c = dt_calls_find(f.reg, "call-k");
  FX_UNTIL(&f, 3000, s.count == 1 && c->keepalive_req == NULL); /* answered */
  DT_ASSERT_EQ_STR(s.last, "POST /v1.0/communications/calls/call-k/keepAlive");
  DT_ASSERT_EQ_INT(dt_calls_keepalive_next_due(f.reg, &due), 0);
  DT_ASSERT(due == fake_now + 1800000);
  fake_now = due;
  DT_ASSERT_EQ_INT((int)dt_calls_keepalive_sweep(f.reg, fake_now), 1);
  FX_UNTIL(&f, 3000, s.count == 2);
  DT_ASSERT(dt_calls_find(f.reg, "call-k") != NULL); /* 200: the call goes on */
  fx_state(&f, "call-k", "terminated");
  DT_ASSERT_EQ_INT(dt_calls_keepalive_next_due(f.reg, &due), DT_ENOENT); /* ended: no more */
  DT_ASSERT_EQ_INT((int)dt_calls_keepalive_sweep(f.reg, fake_now + 10000000), 0);
  free(close_all(&f, srv));
}

DT_TEST(a_404_ends_the_call_as_graph_would) {
  call_fx_t f;
  ka_srv_t s = {.status = 404};
  dt_http_server_t *srv = open_with_server(&f, &s, 900000);
  DT_ASSERT(srv != NULL);
  fx_incoming(&f, "call-n", "u", "app");
  fx_state(&f, "call-n", "established");
  fake_now += 900000;
  DT_ASSERT_EQ_INT((int)dt_calls_keepalive_sweep(f.reg, fake_now), 1);
  dt_call_t *c = dt_calls_find(f.reg, "call-n");
  FX_UNTIL(&f, 3000, s.count == 1 && c->keepalive_req == NULL);
  /* ended as Graph's termination ends it: the flow (here the fixture) meets a hangup */
  DT_ASSERT(c->flags & DT_CALLF_TERMINATED);
  DT_ASSERT_EQ_INT(c->state, DT_CALL_STATE_TERMINATED);
  DT_ASSERT_CONTAINS(c->end_message, "keepAlive");
  DT_ASSERT_EQ_INT(dt_calls_keepalive_next_due(f.reg, NULL), DT_ENOENT);
  char *cdr = close_all(&f, srv);
  char *line = fx_cdr_line(cdr, "call-n");
  DT_ASSERT(line != NULL);
  DT_ASSERT_CONTAINS(line, "\"end_message\":\"keepAlive: the call no longer exists (404)\"");
  free(line);
  free(cdr);
}

DT_TEST(another_failure_is_retried_next_interval) {
  call_fx_t f;
  ka_srv_t s = {.status = 500};
  dt_http_server_t *srv = open_with_server(&f, &s, 900000);
  DT_ASSERT(srv != NULL);
  fx_incoming(&f, "call-r", "u", "app");
  fx_state(&f, "call-r", "established");
  fake_now += 900000;
  DT_ASSERT_EQ_INT((int)dt_calls_keepalive_sweep(f.reg, fake_now), 1);
  dt_call_t *c = dt_calls_find(f.reg, "call-r");
  FX_UNTIL(&f, 3000, s.count == 1 && c->keepalive_req == NULL);
  uint64_t due = 0;
  DT_ASSERT(dt_calls_find(f.reg, "call-r") != NULL);
  DT_ASSERT_EQ_INT(dt_calls_keepalive_next_due(f.reg, &due), 0);
  DT_ASSERT(due == fake_now + 900000);
  s.status = 200;
  fake_now = due;
  DT_ASSERT_EQ_INT((int)dt_calls_keepalive_sweep(f.reg, fake_now), 1);
  FX_UNTIL(&f, 3000, s.count == 2);
  free(close_all(&f, srv));
}

/* Without a clock hook the registry's own timer sends them, in real time. */
DT_TEST(the_registry_timer_sends_them_in_real_time) {
  call_fx_t f;
  ka_srv_t s = {.status = 200};
  int port = fx_free_port();
  snprintf(fx_graph_url, sizeof fx_graph_url, "http://127.0.0.1:%d/v1.0", port);
  fx_open(&f, &(dt_calls_options_t){.keepalive_interval_ms = 40}, false);
  char listen[64], err[256];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  dt_http_server_options_t so = {0};
  so.listen = listen;
  so.handler = on_graph;
  so.handler_ud = &s;
  dt_http_server_t *srv = NULL;
  DT_ASSERT(dt_http_server_start(&f.loop, &so, &srv, err, sizeof err) == 0);
  fx_incoming(&f, "call-t", "u", "app");
  fx_state(&f, "call-t", "established");
  FX_UNTIL(&f, 3000, s.count >= 3);
  fx_state(&f, "call-t", "terminated");
  FX_UNTIL(&f, 1000, dt_calls_keepalive_next_due(f.reg, NULL) == DT_ENOENT);
  int n = s.count;
  uint64_t end = dt_now_ms() + 200;
  while (dt_now_ms() < end) { uv_run(&f.loop, UV_RUN_NOWAIT); usleep(1000); }
  DT_ASSERT(s.count <= n + 1); /* at most the one already in flight */
  free(close_all(&f, srv));
}

DT_TEST_MAIN()
