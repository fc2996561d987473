/* Unit tests for core/net/http_client.c: the client and servers on one uv loop over loopback. */
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_client.h"
#include "dialtone/http_server.h"
#include "dialtone/metrics.h"
#include "harness/dt_test.h"
#include "harness/loop.h"
#include "harness/tls_testcert.h"

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
  const char *canned; /* if set, written once in reply to the first bytes read */
} silent_server_t;

static void silent_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char scratch[4096];
  (void)h;
  (void)size;
  *buf = uv_buf_init(scratch, sizeof scratch);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void free_write(uv_write_t *w, int status) { free(w); }

static void silent_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  silent_server_t *srv = s->data;
  if (n < 0) {
    uv_read_stop(s);
  } else if (n > 0 && srv->canned) {
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init((char *)srv->canned, (unsigned)strlen(srv->canned));
    uv_write(w, s, &b, 1, free_write);
    srv->canned = NULL;
  }
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
  c->data = s;
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
  char message[512]; /* error_message, then what dt_http_outcome says */
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
  char outcome[400];
  snprintf(cap->message, sizeof cap->message, "%s|%s", res->error_message ? res->error_message : "(null)",
           dt_http_outcome(res, outcome, sizeof outcome));
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
  /* in words first, curl's detail after; never "HTTP 0" */
  DT_ASSERT_MSG(strncmp(cap.message, "connection refused (", 20) == 0, "%s", cap.message);
  DT_ASSERT_CONTAINS(cap.message, "|connection refused (");
  DT_ASSERT(strstr(cap.message, "HTTP 0") == NULL);
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

typedef struct {
  int calls, status, error, header_count;
  char interim[16], final[16], folded[16];
} headers_seen_t;

static void copy_header(const dt_http_response_t *res, const char *name, char *out, size_t n) {
  const char *v = dt_http_response_header(res, name);
  snprintf(out, n, "%s", v ? v : "(absent)");
}

static void on_headers(const dt_http_response_t *res, void *ud) {
  headers_seen_t *h = ud;
  h->calls++;
  h->status = res->status;
  h->error = res->error;
  h->header_count = (int)res->header_count;
  copy_header(res, "x-interim", h->interim, sizeof h->interim);
  copy_header(res, "X-FINAL", h->final, sizeof h->final);
  copy_header(res, "x-folded", h->folded, sizeof h->folded);
}

DT_TEST(only_the_final_responses_headers_are_reported) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  silent_server_t srv;
  DT_ASSERT_EQ_INT(silent_start(&loop, &srv), 0);
  /* an interim 1xx response with its own header, then the real one (with a folded line) */
  srv.canned = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
               "HTTP/1.1 200 OK\r\nX-Final:  yes \r\nX-Folded: a\r\n  b\r\n"
               "Content-Length: 2\r\n\r\nok";
  dt_http_client_t *c = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, NULL, &c), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
  headers_seen_t h = {0};
  dt_http_request_options_t req = {.method = "POST", .url = url, .body = "hi", .body_len = 2};
  DT_ASSERT_EQ_INT(dt_http_client_send(c, &req, on_headers, &h, NULL), 0);
  DT_ASSERT(run_until(&loop, &h.calls, 10));
  DT_ASSERT_EQ_INT(h.error, 0);
  DT_ASSERT_EQ_INT(h.status, 200);
  DT_ASSERT_EQ_STR(h.interim, "(absent)");
  DT_ASSERT_EQ_STR(h.final, "yes");
  DT_ASSERT_EQ_STR(h.folded, "a b");
  DT_ASSERT_EQ_INT(h.header_count, 3);
  silent_stop(&srv);
  DT_ASSERT_EQ_INT(close_client_and_loop(&loop, c), 0);
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


/* ---- tests against dt_http_server on the same loop ---- */

typedef struct {
  int requests;
  dt_http_request_t *parked; /* a request the handler never answers */
  size_t big_len;            /* size of /big and /bigstream bodies */
  char last_method[16];
  char last_header[128];     /* value of the request's X-Test header */
  char last_ctype[128];
} handler_state_t;

static void handler(dt_http_request_t *req, void *ud) {
  handler_state_t *st = ud;
  st->requests++;
  snprintf(st->last_method, sizeof st->last_method, "%s", req->method);
  const char *xt = dt_http_request_header(req, "x-test");
  snprintf(st->last_header, sizeof st->last_header, "%s", xt ? xt : "(none)");
  const char *ct = dt_http_request_header(req, "content-type");
  snprintf(st->last_ctype, sizeof st->last_ctype, "%s", ct ? ct : "(none)");
  if (strcmp(req->path, "/hello") == 0) {
    dt_http_header_t h[] = {{"Content-Type", "text/plain"}, {"X-Reply", "yes"},
                            {"X-Echo", xt ? xt : ""}, {"X-Method", req->method}};
    dt_http_respond_ex(req, 200, h, 4, "hello world", 11);
  } else if (strcmp(req->path, "/echo") == 0) {
    dt_http_header_t h[] = {{"Content-Type", ct ? ct : "application/octet-stream"},
                            {"X-Method", req->method}, {"Location", "/things/1"}};
    dt_http_respond_ex(req, 201, h, 3, req->body, req->body_len);
  } else if (strncmp(req->path, "/n/", 3) == 0) {
    dt_http_respond(req, 200, "text/plain", req->path + 3, strlen(req->path + 3));
  } else if (strcmp(req->path, "/never") == 0) {
    st->parked = req;
  } else if (strcmp(req->path, "/big") == 0) {
    char *big = malloc(st->big_len);
    memset(big, 'b', st->big_len);
    dt_http_respond(req, 200, "application/octet-stream", big, st->big_len);
    free(big);
  } else if (strcmp(req->path, "/bigstream") == 0) {
    /* chunked: no Content-Length, so only the body cap can stop it */
    dt_http_stream_begin(req, 200, NULL, 0, NULL, NULL);
    char chunk[1024];
    memset(chunk, 's', sizeof chunk);
    for (size_t sent = 0; sent < st->big_len; sent += sizeof chunk)
      dt_http_stream_write(req, chunk, sizeof chunk);
    dt_http_stream_end(req);
  } else if (strcmp(req->path, "/nocontent") == 0) {
    dt_http_respond(req, 204, NULL, NULL, 0);
  } else {
    dt_http_respond(req, 404, "text/plain", "nope", 4);
  }
}

typedef struct {
  uv_loop_t loop;
  dt_http_server_t *srv;
  dt_http_client_t *client;
  dt_metrics_t *metrics;
  handler_state_t st;
  char base[64];
} fixture_t;

/* cert/key set = HTTPS server; co = client options (metrics are filled in). */
static int fixture_start_ex(fixture_t *f, const char *cert, const char *key,
                            dt_http_client_options_t co) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  f->metrics = dt_metrics_new();
  dt_http_server_options_t so = {.listen = "127.0.0.1:0", .handler = handler, .handler_ud = &f->st,
                                 .tls_cert_file = cert, .tls_key_file = key};
  char err[256] = "";
  int rc = dt_http_server_start(&f->loop, &so, &f->srv, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "  server: %s\n", err);
    return rc;
  }
  snprintf(f->base, sizeof f->base, "%s://127.0.0.1:%d", cert ? "https" : "http",
           dt_http_server_port(f->srv));
  co.metrics = f->metrics;
  return dt_http_client_new(&f->loop, &co, &f->client);
}

static int fixture_start(fixture_t *f) {
  return fixture_start_ex(f, NULL, NULL, (dt_http_client_options_t){0});
}

static void on_server_closed(void *ud) { *(int *)ud = 1; }

static int fixture_stop(fixture_t *f) {
  int client_closed = 0, server_closed = 0;
  dt_http_client_close(f->client, on_client_closed, &client_closed);
  dt_http_server_close(f->srv, on_server_closed, &server_closed);
  run_until(&f->loop, &client_closed, 10);
  run_until(&f->loop, &server_closed, 10);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  dt_metrics_free(f->metrics);
  if (!client_closed || !server_closed) return -1;
  return uv_loop_close(&f->loop);
}

static int get(fixture_t *f, const char *path, capture_t *cap, dt_http_request_options_t *req) {
  char url[128];
  snprintf(url, sizeof url, "%s%s", f->base, path);
  dt_http_request_options_t r = req ? *req : (dt_http_request_options_t){.method = "GET"};
  r.url = url;
  cap->calls = 0;
  int rc = dt_http_client_send(f->client, &r, on_capture, cap, NULL);
  if (rc != 0) return rc;
  return run_until(&f->loop, &cap->calls, 20) ? 0 : DT_ETIMEDOUT;
}

DT_TEST(get_round_trip_with_headers) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  dt_http_header_t h[] = {{"X-Test", "forty two"}, {"X-Empty", ""}};
  dt_http_request_options_t req = {.method = "GET", .headers = h, .header_count = 2};
  capture_t cap = {.want_header = "x-reply"};
  DT_ASSERT_EQ_INT(get(&f, "/hello", &cap, &req), 0);
  DT_ASSERT_EQ_INT(cap.error, 0);
  DT_ASSERT_EQ_INT(cap.status, 200);
  DT_ASSERT_EQ_STR(cap.body, "hello world");
  DT_ASSERT_EQ_INT(cap.body_len, 11);
  DT_ASSERT_EQ_STR(cap.header, "yes");
  DT_ASSERT_EQ_STR(f.st.last_method, "GET");
  DT_ASSERT_EQ_STR(f.st.last_header, "forty two");
  cap.want_header = "X-ECHO";
  DT_ASSERT_EQ_INT(get(&f, "/hello", &cap, &req), 0);
  DT_ASSERT_EQ_STR(cap.header, "forty two");
  /* a 404 is a response, not a transport error */
  DT_ASSERT_EQ_INT(get(&f, "/missing", &cap, NULL), 0);
  DT_ASSERT_EQ_INT(cap.error, 0);
  DT_ASSERT_EQ_INT(cap.status, 404);
  DT_ASSERT_EQ_STR(cap.body, "nope");
  DT_ASSERT_EQ_INT(dt_metrics_get(f.metrics, "dt_egress_requests_total", "status=\"200\""), 2);
  DT_ASSERT_EQ_INT(dt_metrics_get(f.metrics, "dt_egress_requests_total", "status=\"404\""), 1);
  capture_free(&cap);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(post_and_other_methods_round_trip) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  const char *json = "{\"callbackUri\":\"https://bot.example/api/calls\",\"n\":1}";
  dt_http_header_t h[] = {{"Content-Type", "application/json"}, {"X-Test", "post"}};
  dt_http_request_options_t req = {.method = "POST", .headers = h, .header_count = 2,
                                   .body = json, .body_len = strlen(json)};
  capture_t cap = {.want_header = "Location"};
  DT_ASSERT_EQ_INT(get(&f, "/echo", &cap, &req), 0);
  DT_ASSERT_EQ_INT(cap.error, 0);
  DT_ASSERT_EQ_INT(cap.status, 201);
  DT_ASSERT_EQ_STR(cap.body, json);
  DT_ASSERT_EQ_STR(cap.header, "/things/1");
  DT_ASSERT_EQ_STR(f.st.last_method, "POST");
  DT_ASSERT_EQ_STR(f.st.last_ctype, "application/json");
  /* binary body with a NUL in it survives */
  const char bin[] = {'a', '\0', 'b', '\xff'};
  req.body = bin;
  req.body_len = sizeof bin;
  DT_ASSERT_EQ_INT(get(&f, "/echo", &cap, &req), 0);
  DT_ASSERT_EQ_INT(cap.body_len, sizeof bin);
  DT_ASSERT(memcmp(cap.body, bin, sizeof bin) == 0);
  /* the same pooled handle then serves other methods correctly */
  const char *methods[] = {"PATCH", "PUT", "DELETE", "GET", "POST"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(methods); i++) {
    dt_http_request_options_t r = {.method = methods[i], .headers = h, .header_count = 2,
                                   .body = "m", .body_len = strcmp(methods[i], "GET") ? 1 : 0};
    cap.want_header = "X-Method";
    DT_ASSERT_EQ_INT(get(&f, "/echo", &cap, &r), 0);
    DT_ASSERT_EQ_INT(cap.status, 201);
    DT_ASSERT_EQ_STR(cap.header, methods[i]);
    DT_ASSERT_EQ_STR(f.st.last_method, methods[i]);
    DT_ASSERT_EQ_STR(cap.body, strcmp(methods[i], "GET") ? "m" : "");
  }
  DT_ASSERT_EQ_INT(get(&f, "/nocontent", &cap, NULL), 0);
  DT_ASSERT_EQ_INT(cap.status, 204);
  DT_ASSERT_EQ_INT(cap.body_len, 0);
  DT_ASSERT_EQ_STR(cap.body, "");
  capture_free(&cap);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

typedef struct {
  fixture_t *f;
  int done, ok, target;
} chain_t;

static void on_chain(const dt_http_response_t *res, void *ud) {
  chain_t *ch = ud;
  char want[16];
  snprintf(want, sizeof want, "%d", ch->done);
  if (res->error == 0 && res->status == 200 && strcmp(res->body, want) == 0) ch->ok++;
  ch->done++;
  if (ch->done < ch->target) {
    char url[128];
    snprintf(url, sizeof url, "%s/n/%d", ch->f->base, ch->done);
    dt_http_request_options_t r = {.method = "GET", .url = url};
    dt_http_client_send(ch->f->client, &r, on_chain, ch, NULL);
  }
}

DT_TEST(sequential_requests_reuse_one_connection) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  chain_t ch = {.f = &f, .target = 100};
  char url[128];
  snprintf(url, sizeof url, "%s/n/0", f.base);
  dt_http_request_options_t r = {.method = "GET", .url = url};
  DT_ASSERT_EQ_INT(dt_http_client_send(f.client, &r, on_chain, &ch, NULL), 0);
  int finished = 0;
  uint64_t deadline = dt_now_ms() + 60000;
  while (ch.done < ch.target && dt_now_ms() < deadline) run_until(&f.loop, &finished, 0.1);
  DT_ASSERT_EQ_INT(ch.done, 100);
  DT_ASSERT_EQ_INT(ch.ok, 100);
  DT_ASSERT_EQ_INT(f.st.requests, 100);
  DT_ASSERT_EQ_INT(dt_http_server_accepted_total(f.srv), 1);
  DT_ASSERT_EQ_INT(dt_metrics_get(f.metrics, "dt_egress_requests_total", "status=\"200\""), 100);
  dt_buf_t text = {0};
  dt_metrics_render(f.metrics, &text);
  DT_ASSERT_CONTAINS(text.data, "dt_egress_request_seconds_count 100");
  dt_buf_free(&text);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

typedef struct {
  int index, done, ok;
  int *total;
} conc_t;

static void on_conc(const dt_http_response_t *res, void *ud) {
  conc_t *c = ud;
  char want[16];
  snprintf(want, sizeof want, "%d", c->index);
  c->done++;
  if (res->error == 0 && res->status == 200 && strcmp(res->body, want) == 0) c->ok++;
  (*c->total)++;
}

DT_TEST(concurrent_requests_all_complete) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  enum { N = 64 };
  conc_t cs[N];
  int total = 0;
  for (int i = 0; i < N; i++) {
    cs[i] = (conc_t){.index = i, .total = &total};
    char url[128];
    snprintf(url, sizeof url, "%s/n/%d", f.base, i);
    dt_http_request_options_t r = {.method = "GET", .url = url};
    DT_ASSERT_EQ_INT(dt_http_client_send(f.client, &r, on_conc, &cs[i], NULL), 0);
  }
  DT_ASSERT_EQ_INT(dt_http_client_pending(f.client), N);
  int finished = 0;
  uint64_t deadline = dt_now_ms() + 60000;
  while (total < N && dt_now_ms() < deadline) run_until(&f.loop, &finished, 0.1);
  DT_ASSERT_EQ_INT(total, N);
  for (int i = 0; i < N; i++) {
    DT_ASSERT_EQ_INT(cs[i].done, 1);
    DT_ASSERT_EQ_INT(cs[i].ok, 1);
  }
  DT_ASSERT_EQ_INT(dt_http_client_pending(f.client), 0);
  DT_ASSERT_EQ_INT(f.st.requests, N);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(handler_that_never_answers_times_out) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  dt_http_request_options_t req = {.method = "GET", .timeout_ms = 300};
  capture_t cap = {0};
  DT_ASSERT_EQ_INT(get(&f, "/never", &cap, &req), 0);
  DT_ASSERT(f.st.parked != NULL);
  DT_ASSERT_EQ_INT(cap.status, 0);
  DT_ASSERT_EQ_INT(cap.error, DT_ETIMEDOUT);
  DT_ASSERT_EQ_INT(dt_metrics_get(f.metrics, "dt_egress_requests_total", "status=\"error\""), 1);
  /* the client still works afterwards */
  DT_ASSERT_EQ_INT(get(&f, "/hello", &cap, NULL), 0);
  DT_ASSERT_EQ_INT(cap.status, 200);
  capture_free(&cap);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

DT_TEST(oversized_response_fails_with_etoobig) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  f.st.big_len = 100 * 1024;
  dt_http_request_options_t req = {.method = "GET", .max_response_bytes = 10000};
  capture_t cap = {0};
  DT_ASSERT_EQ_INT(get(&f, "/big", &cap, &req), 0); /* Content-Length known up front */
  DT_ASSERT_EQ_INT(cap.status, 0);
  DT_ASSERT_EQ_INT(cap.error, DT_ETOOBIG);
  DT_ASSERT_EQ_INT(get(&f, "/bigstream", &cap, &req), 0); /* chunked: caught while reading */
  DT_ASSERT_EQ_INT(cap.status, 0);
  DT_ASSERT_EQ_INT(cap.error, DT_ETOOBIG);
  /* the same size under the limit is fine */
  req.max_response_bytes = 200 * 1024;
  DT_ASSERT_EQ_INT(get(&f, "/bigstream", &cap, &req), 0);
  DT_ASSERT_EQ_INT(cap.error, 0);
  DT_ASSERT_EQ_INT(cap.body_len, 100 * 1024);
  DT_ASSERT_EQ_INT(get(&f, "/big", &cap, &req), 0);
  DT_ASSERT_EQ_INT(cap.error, 0);
  DT_ASSERT_EQ_INT(cap.body_len, 100 * 1024);
  capture_free(&cap);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

typedef struct {
  fixture_t *f;
  dt_http_call_t *victim;
  int calls;
} canceller_t;

static void on_cancel_other(const dt_http_response_t *res, void *ud) {
  canceller_t *c = ud;
  c->calls++;
  dt_http_call_cancel(c->victim);
}

static void on_must_not_run(const dt_http_response_t *res, void *ud) { (*(int *)ud)++; }

DT_TEST(cancel_from_another_callback) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  char fast[128], slow[128];
  snprintf(fast, sizeof fast, "%s/hello", f.base);
  snprintf(slow, sizeof slow, "%s/never", f.base);
  canceller_t cc = {.f = &f};
  int victim_calls = 0;
  dt_http_request_options_t rs = {.method = "GET", .url = slow, .timeout_ms = 5000};
  dt_http_request_options_t rf = {.method = "GET", .url = fast};
  DT_ASSERT_EQ_INT(dt_http_client_send(f.client, &rs, on_must_not_run, &victim_calls, &cc.victim), 0);
  DT_ASSERT_EQ_INT(dt_http_client_send(f.client, &rf, on_cancel_other, &cc, NULL), 0);
  DT_ASSERT(run_until(&f.loop, &cc.calls, 20));
  DT_ASSERT_EQ_INT(dt_http_client_pending(f.client), 0);
  run_for(&f.loop, 100);
  DT_ASSERT_EQ_INT(victim_calls, 0);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
}

static void on_close_inside(const dt_http_response_t *res, void *ud) {
  fixture_t *f = ud;
  f->st.requests += 1000;
  dt_http_client_close(f->client, NULL, NULL);
  f->client = NULL;
}

DT_TEST(close_from_inside_a_callback) {
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start(&f), 0);
  char url[128];
  snprintf(url, sizeof url, "%s/hello", f.base);
  int victim_calls = 0;
  dt_http_request_options_t r = {.method = "GET", .url = url};
  char never[128];
  snprintf(never, sizeof never, "%s/never", f.base);
  dt_http_request_options_t rn = {.method = "GET", .url = never};
  DT_ASSERT_EQ_INT(dt_http_client_send(f.client, &rn, on_must_not_run, &victim_calls, NULL), 0);
  DT_ASSERT_EQ_INT(dt_http_client_send(f.client, &r, on_close_inside, &f, NULL), 0);
  int closed_flag = 0;
  uint64_t deadline = dt_now_ms() + 20000;
  while (f.client != NULL && dt_now_ms() < deadline) run_until(&f.loop, &closed_flag, 0.1);
  DT_ASSERT(f.client == NULL);
  /* the parked request was cancelled by the close: its callback never runs */
  run_for(&f.loop, 100);
  DT_ASSERT_EQ_INT(victim_calls, 0);
  int server_closed = 0;
  dt_http_server_close(f.srv, on_server_closed, &server_closed);
  DT_ASSERT(run_until(&f.loop, &server_closed, 10));
  uv_run(&f.loop, UV_RUN_DEFAULT);
  dt_metrics_free(f.metrics);
  DT_ASSERT_EQ_INT(uv_loop_close(&f.loop), 0);
}

DT_TEST(get_over_tls) {
  dt_testcert_t tc;
  DT_ASSERT_EQ_INT(dt_testcert_create(&tc), 0);
  /* verified against the test CA */
  fixture_t f;
  DT_ASSERT_EQ_INT(fixture_start_ex(&f, tc.cert_file, tc.key_file,
                                    (dt_http_client_options_t){.ca_file = tc.cert_file}),
                   0);
  dt_http_header_t h[] = {{"X-Test", "over tls"}};
  dt_http_request_options_t req = {.method = "GET", .headers = h, .header_count = 1};
  capture_t cap = {.want_header = "X-Echo"};
  DT_ASSERT_EQ_INT(get(&f, "/hello", &cap, &req), 0);
  DT_ASSERT_EQ_INT(cap.error, 0);
  DT_ASSERT_EQ_INT(cap.status, 200);
  DT_ASSERT_EQ_STR(cap.body, "hello world");
  DT_ASSERT_EQ_STR(cap.header, "over tls");
  DT_ASSERT_EQ_INT(get(&f, "/hello", &cap, &req), 0); /* kept alive over TLS too */
  DT_ASSERT_EQ_INT(cap.status, 200);
  DT_ASSERT_EQ_INT(dt_http_server_accepted_total(f.srv), 1);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
  /* an unknown self-signed certificate is refused ... */
  DT_ASSERT_EQ_INT(fixture_start_ex(&f, tc.cert_file, tc.key_file, (dt_http_client_options_t){0}), 0);
  DT_ASSERT_EQ_INT(get(&f, "/hello", &cap, NULL), 0);
  DT_ASSERT_EQ_INT(cap.status, 0);
  DT_ASSERT_EQ_INT(cap.error, DT_ETLS);
  DT_ASSERT_MSG(strncmp(cap.message, "TLS failure: the server's certificate is not trusted (", 54) == 0, "%s",
                cap.message);
  DT_ASSERT_EQ_INT(f.st.requests, 0);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
  /* ... unless verification is switched off */
  DT_ASSERT_EQ_INT(fixture_start_ex(&f, tc.cert_file, tc.key_file,
                                    (dt_http_client_options_t){.insecure_tls = true}),
                   0);
  DT_ASSERT_EQ_INT(get(&f, "/hello", &cap, NULL), 0);
  DT_ASSERT_EQ_INT(cap.error, 0);
  DT_ASSERT_EQ_INT(cap.status, 200);
  DT_ASSERT_EQ_INT(fixture_stop(&f), 0);
  capture_free(&cap);
  dt_testcert_remove(&tc);
}

DT_TEST_MAIN()
