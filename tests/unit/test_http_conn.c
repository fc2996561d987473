/*
 * Unit tests for core/net/http_conn.c, through a real dt_http_server on loopback (one uv
 * loop, no thread): answers leave in request order however the handler answers, an answer
 * that ends the connection is followed by the FIN, an idle connection is closed by its
 * timer, and a connection closed under an unanswered request leaves an orphan that the
 * handler may still answer.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "harness/dt_test.h"
#include "harness/http_loopback.h"

typedef struct {
  lb_server_t s;
  dt_http_request_t *held[4];
  int nheld;
} fix_t;

/* Holds every request; the test answers them. */
static void handler(dt_http_request_t *req, void *ud) {
  fix_t *f = ud;
  if (f->nheld < 4) f->held[f->nheld++] = req;
}

static bool start(fix_t *f, unsigned idle_ms) {
  memset(f, 0, sizeof *f);
  return lb_start(&f->s, (dt_http_server_options_t){.handler = handler, .handler_ud = f, .idle_timeout_ms = idle_ms});
}

static void stop(fix_t *f) { lb_stop(&f->s); }

/* Runs the loop until the handler holds n requests (or 5 s pass). */
static int wait_held(fix_t *f, int n) {
  uint64_t deadline = dt_now_ms() + 5000;
  while (f->nheld < n && dt_now_ms() < deadline) uv_run(&f->s.loop, UV_RUN_NOWAIT);
  return f->nheld;
}

DT_TEST(answers_leave_in_request_order_when_answered_out_of_order) {
  fix_t f;
  DT_ASSERT(start(&f, 0));
  int fd = lb_connect(f.s.port);
  DT_ASSERT(lb_send(fd, "GET /first HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\n\r\n"));
  char buf[2048];
  DT_ASSERT_EQ_INT(wait_held(&f, 2), 2);
  DT_ASSERT_EQ_INT(dt_http_respond(f.held[1], 200, "text/plain", "second", 6), 0);
  lb_read(&f.s.loop, fd, buf, sizeof buf, NULL, 100, NULL);
  DT_ASSERT_EQ_STR(buf, ""); /* held back behind the first */
  DT_ASSERT_EQ_INT(dt_http_respond(f.held[0], 200, "text/plain", "first", 5), 0);
  lb_read(&f.s.loop, fd, buf, sizeof buf, "second", 5000, NULL);
  const char *a = strstr(buf, "first"), *b = strstr(buf, "second");
  DT_ASSERT(a != NULL && b != NULL && a < b);
  close(fd);
  stop(&f);
}

DT_TEST(connection_close_is_answered_then_the_fin_follows) {
  fix_t f;
  DT_ASSERT(start(&f, 0));
  int fd = lb_connect(f.s.port);
  DT_ASSERT(lb_send(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  DT_ASSERT_EQ_INT(wait_held(&f, 1), 1);
  dt_http_respond(f.held[0], 200, "text/plain", "bye", 3);
  char buf[1024];
  bool closed = false;
  lb_read(&f.s.loop, fd, buf, sizeof buf, NULL, 5000, &closed);
  DT_ASSERT_CONTAINS(buf, "Connection: close\r\n");
  DT_ASSERT_CONTAINS(buf, "\r\n\r\nbye");
  DT_ASSERT(closed);
  close(fd);
  stop(&f);
}

DT_TEST(an_idle_connection_is_closed_by_its_timer) {
  fix_t f;
  DT_ASSERT(start(&f, 50));
  int fd = lb_connect(f.s.port);
  char buf[64];
  bool closed = false;
  lb_read(&f.s.loop, fd, buf, sizeof buf, NULL, 5000, &closed);
  DT_ASSERT(closed);
  DT_ASSERT_EQ_STR(buf, "");
  DT_ASSERT_EQ_INT(dt_http_server_connection_count(f.s.srv), 0);
  close(fd);
  stop(&f);
}

DT_TEST(a_request_outlives_its_closed_connection_and_answering_it_frees_it) {
  fix_t f;
  DT_ASSERT(start(&f, 0));
  int fd = lb_connect(f.s.port);
  DT_ASSERT(lb_send(fd, "GET /slow HTTP/1.1\r\n\r\n"));
  DT_ASSERT_EQ_INT(wait_held(&f, 1), 1);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd); /* the peer resets the connection (a plain FIN would wait for the answer) */
  uint64_t deadline = dt_now_ms() + 5000;
  while (dt_http_server_connection_count(f.s.srv) > 0 && dt_now_ms() < deadline) uv_run(&f.s.loop, UV_RUN_NOWAIT);
  DT_ASSERT_EQ_INT(dt_http_server_connection_count(f.s.srv), 0);
  DT_ASSERT_EQ_STR(f.held[0]->path, "/slow"); /* still valid */
  DT_ASSERT_EQ_INT(dt_http_respond(f.held[0], 200, NULL, NULL, 0), DT_ECLOSED);
  stop(&f);
}

DT_TEST_MAIN()
