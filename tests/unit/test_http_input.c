/*
 * Unit tests for core/net/http_input.c, through a real dt_http_server on loopback (one uv
 * loop, no thread): what reaches the handler (method, path, query, headers, a de-chunked
 * body), pipelined requests in order, and the limits enforced while parsing (431, 413,
 * 400), each answered by the server itself with the connection closed after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/http_server.h"
#include "harness/dt_test.h"
#include "harness/http_loopback.h"

typedef struct {
  lb_server_t s;
  char seen[2048]; /* one line per request: "METHOD path ?query body" */
  int requests;
} fix_t;

static void handler(dt_http_request_t *req, void *ud) {
  fix_t *f = ud;
  size_t have = strlen(f->seen);
  const char *x = dt_http_request_header(req, "x-test");
  snprintf(f->seen + have, sizeof f->seen - have, "%s %s ?%s [%s] %.*s\n", req->method, req->path, req->query,
           x ? x : "", (int)req->body_len, req->body);
  f->requests++;
  dt_http_respond(req, 200, "text/plain", "ok", 2);
}

static bool start(fix_t *f, size_t max_header_bytes, size_t max_body_bytes) {
  memset(f, 0, sizeof *f);
  return lb_start(&f->s, (dt_http_server_options_t){.handler = handler, .handler_ud = f,
                                .max_header_bytes = max_header_bytes, .max_body_bytes = max_body_bytes});
}

static void stop(fix_t *f) { lb_stop(&f->s); }

DT_TEST(the_handler_sees_the_request_as_sent_with_the_body_dechunked) {
  fix_t f;
  DT_ASSERT(start(&f, 0, 0));
  int fd = lb_connect(f.s.port);
  DT_ASSERT(fd >= 0);
  DT_ASSERT(lb_send(fd, "POST /calls/abc?x=1&y=2 HTTP/1.1\r\nHost: h\r\nX-Test: yes\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
  char buf[1024];
  lb_read(&f.s.loop, fd, buf, sizeof buf, "\r\n\r\nok", 5000, NULL);
  DT_ASSERT_CONTAINS(buf, "HTTP/1.1 200 OK");
  DT_ASSERT_EQ_STR(f.seen, "POST /calls/abc ?x=1&y=2 [yes] abcdefg\n");
  close(fd);
  stop(&f);
}

DT_TEST(pipelined_requests_reach_the_handler_in_order) {
  fix_t f;
  DT_ASSERT(start(&f, 0, 0));
  int fd = lb_connect(f.s.port);
  DT_ASSERT(lb_send(fd, "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n\r\n"));
  char buf[2048];
  lb_read(&f.s.loop, fd, buf, sizeof buf, NULL, 300, NULL);
  DT_ASSERT_EQ_INT(f.requests, 3);
  DT_ASSERT_EQ_STR(f.seen, "GET /a ? [] \nPOST /b ? [] hi\nGET /c ? [] \n");
  close(fd);
  stop(&f);
}

static void expect_refusal(const char *request, size_t max_header, size_t max_body, const char *status) {
  fix_t f;
  DT_ASSERT(start(&f, max_header, max_body));
  int fd = lb_connect(f.s.port);
  lb_send(fd, request);
  char buf[1024];
  bool closed = false;
  lb_read(&f.s.loop, fd, buf, sizeof buf, NULL, 5000, &closed);
  DT_ASSERT_CONTAINS(buf, status);
  DT_ASSERT_CONTAINS(buf, "Connection: close");
  DT_ASSERT(closed);
  DT_ASSERT_EQ_INT(f.requests, 0); /* the handler never saw it */
  close(fd);
  stop(&f);
}

DT_TEST(headers_over_the_limit_get_431) {
  char req[2048];
  snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX-Big: %0900d\r\n\r\n", 0);
  expect_refusal(req, 512, 0, "HTTP/1.1 431 ");
}

DT_TEST(a_declared_body_over_the_limit_gets_413_before_it_is_read) {
  expect_refusal("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 0, 1000, "HTTP/1.1 413 ");
}

DT_TEST(a_chunked_body_growing_over_the_limit_gets_413) {
  expect_refusal("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n", 0, 8,
                 "HTTP/1.1 413 ");
}

DT_TEST(garbage_gets_400) { expect_refusal("HELLO THERE\r\n\r\n", 0, 0, "HTTP/1.1 400 "); }

DT_TEST_MAIN()
