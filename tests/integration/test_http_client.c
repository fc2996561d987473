/* Integration tests for http_client.c: the client and servers on one uv loop over loopback. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_client.h"
#include "dt_test.h"

/* ---- loop helpers ---- */

static void on_wake(uv_timer_t *t) { (void)t; }
static void on_wake_closed(uv_handle_t *h) { (void)h; }

/* Runs the loop until *flag is non-zero or `seconds` pass; returns the flag. */
static int run_until(uv_loop_t *loop, const int *flag, double seconds) {
  uv_timer_t wake;
  uv_timer_init(loop, &wake);
  uv_timer_start(&wake, on_wake, 20, 20);
  uint64_t deadline = dt_now_ms() + (uint64_t)(seconds * 1000);
  while (!*flag && dt_now_ms() < deadline) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&wake, on_wake_closed);
  uv_run(loop, UV_RUN_NOWAIT);
  return *flag;
}

/* Runs the loop for about ms milliseconds. */
static void run_for(uv_loop_t *loop, unsigned ms) {
  int never = 0;
  run_until(loop, &never, ms / 1000.0);
}

static void on_client_closed(void *ud) { *(int *)ud = 1; }

/* Closes the client, drains the loop and checks nothing is left on it. */
static int close_client_and_loop(uv_loop_t *loop, dt_http_client_t *c) {
  int closed = 0;
  dt_http_client_close(c, on_client_closed, &closed);
  if (!run_until(loop, &closed, 10)) return -1;
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop);
}

/* ---- a TCP server that accepts and never answers ---- */

typedef struct {
  uv_tcp_t listener;
  uv_tcp_t *conns[64];
  int nconns;
  int accepted;
  int port;
} silent_server_t;

static void silent_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char scratch[4096];
  (void)h;
  (void)size;
  *buf = uv_buf_init(scratch, sizeof scratch);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void silent_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n < 0) uv_read_stop(s);
}

static void silent_on_conn(uv_stream_t *l, int status) {
  silent_server_t *s = l->data;
  if (status != 0 || s->nconns >= 64) return;
  uv_tcp_t *c = malloc(sizeof *c);
  uv_tcp_init(l->loop, c);
  if (uv_accept(l, (uv_stream_t *)c) != 0) {
    uv_close((uv_handle_t *)c, free_handle);
    return;
  }
  s->conns[s->nconns++] = c;
  s->accepted++;
  uv_read_start((uv_stream_t *)c, silent_alloc, silent_read);
}

static int silent_start(uv_loop_t *loop, silent_server_t *s) {
  memset(s, 0, sizeof *s);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  if (uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0) != 0) return -1;
  if (uv_listen((uv_stream_t *)&s->listener, 128, silent_on_conn) != 0) return -1;
  struct sockaddr_storage name;
  int len = sizeof name;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&name, &len);
  s->port = ntohs(((struct sockaddr_in *)&name)->sin_port);
  return 0;
}

static void silent_stop(silent_server_t *s) {
  for (int i = 0; i < s->nconns; i++) uv_close((uv_handle_t *)s->conns[i], free_handle);
  s->nconns = 0;
  uv_close((uv_handle_t *)&s->listener, NULL);
}

/* A port nothing listens on: bind one, read it back, close it. */
static int free_port(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_tcp_t t;
  uv_tcp_init(&loop, &t);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_bind(&t, (const struct sockaddr *)&addr, 0);
  struct sockaddr_storage name;
  int len = sizeof name;
  uv_tcp_getsockname(&t, (struct sockaddr *)&name, &len);
  int port = ntohs(((struct sockaddr_in *)&name)->sin_port);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return port;
}

/* ---- response capture ---- */

typedef struct {
  int calls;
  int status;
  int error;
  char *body;
  size_t body_len;
  char *header; /* value of the header named in `want_header` */
  const char *want_header;
} capture_t;

static void on_capture(const dt_http_response_t *res, void *ud) {
  capture_t *cap = ud;
  cap->calls++;
  cap->status = res->status;
  cap->error = res->error;
  free(cap->body);
  cap->body = dt_xstrndup(res->body, res->body_len);
  cap->body_len = res->body_len;
  if (cap->want_header) {
    const char *v = dt_http_response_header(res, cap->want_header);
    free(cap->header);
    cap->header = v ? dt_xstrdup(v) : NULL;
  }
}

static void capture_free(capture_t *cap) {
  free(cap->body);
  free(cap->header);
  cap->body = cap->header = NULL;
}

/* ---- tests without an HTTP server ---- */

DT_TEST(connection_refused_is_reported_later) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_client_t *c = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, NULL, &c), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", free_port());
  capture_t cap = {0};
  dt_http_request_options_t req = {.method = "GET", .url = url};
  DT_ASSERT_EQ_INT(dt_http_client_send(c, &req, on_capture, &cap, NULL), 0);
  /* never from inside send, even for a failure curl could see at once */
  DT_ASSERT_EQ_INT(cap.calls, 0);
  DT_ASSERT_EQ_INT(dt_http_client_pending(c), 1);
  DT_ASSERT(run_until(&loop, &cap.calls, 10));
  DT_ASSERT_EQ_INT(cap.calls, 1);
  DT_ASSERT_EQ_INT(cap.status, 0);
  DT_ASSERT_EQ_INT(cap.error, DT_ECONNREFUSED);
  DT_ASSERT_EQ_INT(dt_http_client_pending(c), 0);
  capture_free(&cap);
  DT_ASSERT_EQ_INT(close_client_and_loop(&loop, c), 0);
}

DT_TEST(unanswered_request_times_out) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  silent_server_t srv;
  DT_ASSERT_EQ_INT(silent_start(&loop, &srv), 0);
  dt_metrics_t *m = dt_metrics_new();
  dt_http_client_options_t o = {.metrics = m};
  dt_http_client_t *c = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, &o, &c), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", srv.port);
  capture_t cap = {0};
  dt_http_request_options_t req = {.method = "GET", .url = url, .timeout_ms = 300};
  DT_ASSERT_EQ_INT(dt_http_client_send(c, &req, on_capture, &cap, NULL), 0);
  DT_ASSERT(run_until(&loop, &cap.calls, 20));
  DT_ASSERT_EQ_INT(srv.accepted, 1);
  DT_ASSERT_EQ_INT(cap.error, DT_ETIMEDOUT);
  DT_ASSERT_EQ_INT(cap.status, 0);
  DT_ASSERT_EQ_INT(dt_metrics_get(m, "dt_egress_requests_total", "status=\"error\""), 1);
  capture_free(&cap);
  silent_stop(&srv);
  DT_ASSERT_EQ_INT(close_client_and_loop(&loop, c), 0);
  dt_metrics_free(m);
}

DT_TEST(cancelled_request_never_calls_back) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  silent_server_t srv;
  DT_ASSERT_EQ_INT(silent_start(&loop, &srv), 0);
  dt_http_client_t *c = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, NULL, &c), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", srv.port);
  capture_t cap = {0};
  dt_http_request_options_t req = {.method = "POST", .url = url, .body = "x", .body_len = 1,
                                   .timeout_ms = 400};
  /* one cancelled before it starts, one cancelled while connected and waiting */
  dt_http_call_t *early = NULL, *late = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_send(c, &req, on_capture, &cap, &early), 0);
  DT_ASSERT_EQ_INT(dt_http_client_send(c, &req, on_capture, &cap, &late), 0);
  DT_ASSERT(early != NULL && late != NULL);
  dt_http_call_cancel(early);
  DT_ASSERT_EQ_INT(dt_http_client_pending(c), 1);
  DT_ASSERT(run_until(&loop, &srv.accepted, 10));
  dt_http_call_cancel(late);
  DT_ASSERT_EQ_INT(dt_http_client_pending(c), 0);
  run_for(&loop, 800); /* past the request timeout: a live request would have failed by now */
  DT_ASSERT_EQ_INT(cap.calls, 0);
  silent_stop(&srv);
  DT_ASSERT_EQ_INT(close_client_and_loop(&loop, c), 0);
}

DT_TEST(close_with_requests_in_flight) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  silent_server_t srv;
  DT_ASSERT_EQ_INT(silent_start(&loop, &srv), 0);
  dt_http_client_t *c = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, NULL, &c), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", srv.port);
  capture_t cap = {0};
  dt_http_request_options_t req = {.method = "GET", .url = url};
  for (int i = 0; i < 5; i++) DT_ASSERT_EQ_INT(dt_http_client_send(c, &req, on_capture, &cap, NULL), 0);
  run_for(&loop, 200);
  DT_ASSERT(srv.accepted >= 1);
  DT_ASSERT_EQ_INT(dt_http_client_pending(c), 5);
  int closed = 0;
  dt_http_client_close(c, on_client_closed, &closed);
  DT_ASSERT_EQ_INT(closed, 0); /* done comes from the loop */
  DT_ASSERT(run_until(&loop, &closed, 10));
  DT_ASSERT_EQ_INT(cap.calls, 0);
  silent_stop(&srv);
  uv_run(&loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

DT_TEST(bad_arguments_are_rejected) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_client_t *c = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, NULL, &c), 0);
  capture_t cap = {0};
  dt_http_header_t evil[] = {{"X-A", "1\r\nX-Injected: yes"}};
  dt_http_request_options_t req = {.url = "http://127.0.0.1:1/", .headers = evil, .header_count = 1};
  DT_ASSERT_EQ_INT(dt_http_client_send(c, &req, on_capture, &cap, NULL), DT_EINVAL);
  dt_http_request_options_t nourl = {.method = "GET"};
  DT_ASSERT_EQ_INT(dt_http_client_send(c, &nourl, on_capture, &cap, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_http_client_pending(c), 0);
  DT_ASSERT_EQ_INT(close_client_and_loop(&loop, c), 0);
  DT_ASSERT_EQ_INT(cap.calls, 0);
}

DT_TEST_MAIN()
