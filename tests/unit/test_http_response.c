/*
 * Unit tests for core/net/http_response.c: reason phrases, header checks, the bytes of an
 * answer (status line, Date, the caller's headers, framing, body), the request queue, the
 * orphan list and the server's own error answers, on structs built by hand (no socket).
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "harness/dt_test.h"
#include "net/http_response.h"

static dt_http_server_t *fake_server(void) { return calloc(1, sizeof(dt_http_server_t)); }

static dt__http_req_t *fake_req(dt_http_server_t *srv) {
  dt__http_req_t *r = calloc(1, sizeof *r);
  r->srv = srv;
  return r;
}

DT_TEST(reason_phrases_known_and_by_class) {
  DT_ASSERT_EQ_STR(dt__http_reason(200), "OK");
  DT_ASSERT_EQ_STR(dt__http_reason(431), "Request Header Fields Too Large");
  DT_ASSERT_EQ_STR(dt__http_reason(299), "OK");
  DT_ASSERT_EQ_STR(dt__http_reason(399), "Redirect");
  DT_ASSERT_EQ_STR(dt__http_reason(499), "Client Error");
  DT_ASSERT_EQ_STR(dt__http_reason(599), "Server Error");
  DT_ASSERT_EQ_STR(dt__http_reason(999), "Unknown");
  DT_ASSERT_EQ_STR(dt_http_status_text(404), "Not Found"); /* the public name, same table */
}

DT_TEST(headers_with_crlf_colon_or_no_name_are_refused) {
  dt_http_header_t ok[] = {{"X-A", "1"}, {"Content-Type", "text/plain"}};
  DT_ASSERT_EQ_INT(dt__http_check_headers(ok, 2), 0);
  DT_ASSERT_EQ_INT(dt__http_check_headers(NULL, 0), 0);
  DT_ASSERT_EQ_INT(dt__http_check_headers(NULL, 1), DT_EINVAL);
  dt_http_header_t bad[][1] = {{{"X-A", "1\r\nX-B: 2"}}, {{"X\nA", "1"}}, {{"X:A", "1"}}, {{"", "1"}},
                               {{NULL, "1"}},           {{"X-A", NULL}}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) DT_ASSERT_EQ_INT(dt__http_check_headers(bad[i], 1), DT_EINVAL);
}

DT_TEST(an_answer_has_status_date_headers_length_and_body) {
  dt_http_server_t *srv = fake_server();
  dt__http_req_t *r = fake_req(srv);
  dt_http_header_t h[] = {{"Content-Type", "application/json"}, {"Content-Length", "999"}, {"Date", "x"}};
  dt__http_format_head(r, 200, h, 3, false, "{}", 2);
  const char *out = r->out.data;
  DT_ASSERT(strncmp(out, "HTTP/1.1 200 OK\r\nDate: ", 23) == 0);
  DT_ASSERT_CONTAINS(out, " GMT\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  DT_ASSERT(strstr(out, "999") == NULL);     /* the server frames the body itself */
  DT_ASSERT(strstr(out, "Date: x") == NULL);
  DT_ASSERT(strstr(out, "Connection") == NULL); /* HTTP/1.1 keep-alive: nothing to say */
  DT_ASSERT_EQ_INT(r->out.len, strlen(out));
  dt__http_req_free(r);
  free(srv);
}

DT_TEST(framing_follows_method_status_version_and_stream_mode) {
  dt_http_server_t *srv = fake_server();
  dt__http_req_t *r = fake_req(srv);
  r->head_method = true; /* HEAD: the length of the body, not the body */
  dt__http_format_head(r, 200, NULL, 0, false, "hello", 5);
  DT_ASSERT_CONTAINS(r->out.data, "Content-Length: 5\r\n\r\n");
  DT_ASSERT(strstr(r->out.data, "hello") == NULL);
  dt__http_req_free(r);

  r = fake_req(srv);
  dt__http_format_head(r, 204, NULL, 0, false, NULL, 0);
  DT_ASSERT(strstr(r->out.data, "Content-Length") == NULL);
  dt__http_req_free(r);

  r = fake_req(srv);
  r->http10 = true;
  dt__http_format_head(r, 200, NULL, 0, false, "", 0);
  DT_ASSERT_CONTAINS(r->out.data, "Connection: keep-alive\r\n");
  dt__http_req_free(r);

  r = fake_req(srv);
  r->close_after = true;
  r->stream_mode = DT__STREAM_CHUNKED;
  dt__http_format_head(r, 200, NULL, 0, true, NULL, 0);
  DT_ASSERT_CONTAINS(r->out.data, "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  DT_ASSERT(strstr(r->out.data, "Content-Length") == NULL);
  dt__http_req_free(r);
  free(srv);
}

DT_TEST(queue_keeps_arrival_order_and_removes_anywhere) {
  dt_http_server_t *srv = fake_server();
  dt__http_conn_t c = {.srv = srv};
  dt__http_req_t *a = fake_req(srv), *b = fake_req(srv), *d = fake_req(srv);
  dt__http_queue_push(&c, a);
  dt__http_queue_push(&c, b);
  dt__http_queue_push(&c, d);
  DT_ASSERT(c.head == a && a->next == b && b->next == d && c.tail == d);
  DT_ASSERT_EQ_INT(c.nreqs, 3);
  dt__http_queue_remove(&c, d); /* the tail */
  DT_ASSERT(c.tail == b && b->next == NULL);
  dt__http_queue_remove(&c, a); /* the head */
  DT_ASSERT(c.head == b && c.tail == b);
  dt__http_queue_remove(&c, a); /* not in it: nothing happens */
  DT_ASSERT_EQ_INT(c.nreqs, 1);
  dt__http_req_free(a), dt__http_req_free(b), dt__http_req_free(d);
  free(srv);
}

#define ORPHAN(node) DT_LIST_ENTRY(node, dt__http_req_t, olink)

DT_TEST(orphans_leave_their_list_when_freed_and_give_back_their_body_budget) {
  dt_http_server_t *srv = fake_server();
  dt__http_req_t *a = fake_req(srv), *b = fake_req(srv);
  b->body_cap = 100;
  b->body_buf = malloc(100);
  srv->body_bytes_held = 100;
  dt__http_orphan_add(srv, a);
  dt__http_orphan_add(srv, b);
  DT_ASSERT(ORPHAN(srv->orphans.head) == b && ORPHAN(b->olink.next) == a && ORPHAN(a->olink.prev) == b);
  DT_ASSERT(a->orphan && a->conn == NULL);
  dt__http_req_free(b);
  DT_ASSERT(ORPHAN(srv->orphans.head) == a && a->olink.prev == NULL);
  DT_ASSERT_EQ_INT(srv->body_bytes_held, 0);
  dt__http_req_free(a);
  DT_ASSERT(srv->orphans.head == NULL);
  free(srv);
}

DT_TEST(the_servers_own_errors_close_the_connection_and_queue_in_order) {
  dt_http_server_t *srv = fake_server();
  dt__http_conn_t c = {.srv = srv};
  dt__http_req_t *first = fake_req(srv);
  dt__http_queue_push(&c, first);
  dt__http_queue_error(&c, 401, "/calls");
  dt__http_req_t *e = first->next;
  DT_ASSERT(e != NULL && c.tail == e);
  DT_ASSERT(e->internal && e->close_after && e->state == DT__RS_DONE);
  DT_ASSERT(strncmp(e->out.data, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0);
  DT_ASSERT_CONTAINS(e->out.data, "WWW-Authenticate: Bearer\r\n");
  DT_ASSERT_CONTAINS(e->out.data, "Content-Length: 13\r\nConnection: close\r\n\r\nUnauthorized\n");
  dt__http_req_free(first), dt__http_req_free(e);
  free(srv);
}

DT_TEST(header_lookup_ignores_case_and_takes_the_first) {
  dt_http_header_t h[] = {{"Expect", "100-continue"}, {"X-Twice", "1"}, {"x-twice", "2"}};
  dt_http_request_t req = {.headers = h, .header_count = 3};
  DT_ASSERT_EQ_STR(dt__http_header_find(&req, "expect"), "100-continue");
  DT_ASSERT_EQ_STR(dt__http_header_find(&req, "X-TWICE"), "1");
  DT_ASSERT(dt__http_header_find(&req, "Host") == NULL);
  DT_ASSERT(dt__http_header_find(NULL, "Host") == NULL);
  DT_ASSERT_EQ_STR(dt_http_request_header(&req, "x-twice"), "1");
}

DT_TEST_MAIN()
