/*
 * Unit tests for core/net/http_server.c (and the modules below it, end to end): the server
 * runs on a uv loop in a background thread; the tests talk to it over loopback with raw
 * blocking sockets (and a mbedTLS client, and curl) so they control every byte. All waits are bounded (socket timeouts, polling
 * deadlines); nothing asserts on elapsed time.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/metrics.h"
#include "harness/dt_test.h"
#include "harness/tls_testcert.h"

/* ------------------------------------------------------------------ the handler (loop thread) */

typedef struct delay_s {
  uv_timer_t timer;
  dt_http_request_t *req;
  char body[64];
  int kind; /* 0 respond, 1 stream step */
  int step;
  bool aborted;
  struct delay_s *next, *prev;
} delay_t;

static delay_t *g_delays;          /* pending timers, loop thread only */
static atomic_int g_answer_seq;    /* order in which the handler answered */
static atomic_int g_fast_seq, g_delay_seq;
static atomic_int g_aborts;
static atomic_int g_orphan_rc = 1;
static atomic_int g_never;
static atomic_int g_fast_count;  /* /fast requests the handler saw */

static void delay_closed(uv_handle_t *h) { free(h->data); }

static void delay_unlink(delay_t *d) {
  if (d->prev) d->prev->next = d->next;
  else g_delays = d->next;
  if (d->next) d->next->prev = d->prev;
}

static void delay_done(delay_t *d) {
  delay_unlink(d);
  uv_close((uv_handle_t *)&d->timer, delay_closed);
}

static void on_stream_abort(dt_http_request_t *req, void *ud) {
  delay_t *d = ud;
  atomic_fetch_add(&g_aborts, 1);
  if (d) d->aborted = true;
  dt_http_stream_end(req);
}

static void on_delay(uv_timer_t *t) {
  delay_t *d = t->data;
  if (d->kind == 0) {
    atomic_store(&g_delay_seq, atomic_fetch_add(&g_answer_seq, 1) + 1);
    int rc = dt_http_respond(d->req, 200, "text/plain", d->body, strlen(d->body));
    atomic_store(&g_orphan_rc, rc);
    delay_done(d);
    return;
  }
  if (d->aborted) {
    delay_done(d);
    return;
  }
  char chunk[32];
  snprintf(chunk, sizeof chunk, "data: %d\n\n", ++d->step);
  dt_http_stream_write(d->req, chunk, strlen(chunk));
  if (d->step < 3) {
    uv_timer_start(&d->timer, on_delay, 30, 0);
    return;
  }
  dt_http_stream_end(d->req);
  delay_done(d);
}

static delay_t *delay_new(uv_loop_t *loop, dt_http_request_t *req, int kind, unsigned ms) {
  delay_t *d = dt_xcalloc(1, sizeof *d);
  d->req = req;
  d->kind = kind;
  uv_timer_init(loop, &d->timer);
  d->timer.data = d;
  d->next = g_delays;
  if (g_delays) g_delays->prev = d;
  g_delays = d;
  uv_timer_start(&d->timer, on_delay, ms, 0);
  return d;
}

static const char *query_param(const char *query, const char *key, char *out, size_t outlen) {
  size_t klen = strlen(key);
  for (const char *p = query; p && *p;) {
    if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
      const char *v = p + klen + 1;
      size_t n = strcspn(v, "&");
      if (n >= outlen) n = outlen - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
    p = strchr(p, '&');
    if (p) p++;
  }
  return NULL;
}

static void handler(dt_http_request_t *req, void *ud) {
  uv_loop_t *loop = ud;
  char id[32] = "", ms[16] = "";
  query_param(req->query, "id", id, sizeof id);
  if (strcmp(req->path, "/healthz") == 0) {
    dt_http_request_set_route(req, "/healthz");
    dt_http_respond(req, 200, "text/plain", "ok", 2);
  } else if (strcmp(req->path, "/echo") == 0) {
    dt_http_request_set_route(req, "/echo");
    char len[32];
    snprintf(len, sizeof len, "%zu", req->body_len);
    dt_http_header_t h[] = {{"Content-Type", "application/octet-stream"}, {"X-Body-Len", len}};
    dt_http_respond_ex(req, 200, h, 2, req->body, req->body_len);
  } else if (strcmp(req->path, "/info") == 0) {
    const char *x = dt_http_request_header(req, "x-test");
    char *body = dt_xasprintf("method=%s target=%s path=%s query=%s x-test=%s tls=%d remote=%s",
                              req->method, req->target, req->path, req->query, x ? x : "(none)",
                              req->tls, req->remote_addr);
    dt_http_respond(req, 200, "text/plain", body, strlen(body));
    free(body);
  } else if (strcmp(req->path, "/fast") == 0) {
    atomic_fetch_add(&g_fast_count, 1);
    atomic_store(&g_fast_seq, atomic_fetch_add(&g_answer_seq, 1) + 1);
    char body[64];
    snprintf(body, sizeof body, "fast %s", id);
    dt_http_respond(req, 200, "text/plain", body, strlen(body));
  } else if (strcmp(req->path, "/delay") == 0) {
    query_param(req->query, "ms", ms, sizeof ms);
    delay_t *d = delay_new(loop, req, 0, (unsigned)atoi(ms));
    snprintf(d->body, sizeof d->body, "delayed %s", id);
  } else if (strcmp(req->path, "/stream") == 0) {
    dt_http_request_set_route(req, "/stream");
    delay_t *d = delay_new(loop, req, 1, 30);
    dt_http_header_t h[] = {{"Content-Type", "text/event-stream"}};
    dt_http_stream_begin(req, 200, h, 1, on_stream_abort, d);
    dt_http_stream_write(req, "data: 0\n\n", 9);
  } else if (strcmp(req->path, "/forever") == 0) {
    dt_http_header_t h[] = {{"Content-Type", "text/event-stream"}};
    dt_http_stream_begin(req, 200, h, 1, on_stream_abort, NULL);
    dt_http_stream_write(req, "data: hello\n\n", 13);
  } else if (strcmp(req->path, "/inject") == 0) {
    /* Response splitting through a header value is refused; the request stays answerable. */
    dt_http_header_t bad[] = {{"X-A", "1\r\nSet-Cookie: evil=1"}};
    int rc = dt_http_respond_ex(req, 200, bad, 1, "", 0);
    char body[32];
    snprintf(body, sizeof body, "rc=%d", rc);
    dt_http_respond(req, 200, "text/plain", body, strlen(body));
  } else if (strcmp(req->path, "/big") == 0) {
    /* n bytes of a repeating pattern: larger than the socket buffers, so writes queue */
    char n[16] = "";
    query_param(req->query, "n", n, sizeof n);
    size_t len = strtoul(n, NULL, 10);
    char *body = dt_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++) body[i] = (char)('a' + i % 26);
    dt_http_respond(req, 200, "application/octet-stream", body, len);
    free(body);
  } else if (strcmp(req->path, "/nocontent") == 0) {
    dt_http_respond(req, 204, NULL, NULL, 0);
  } else if (strcmp(req->path, "/never") == 0) {
    atomic_fetch_add(&g_never, 1); /* left unanswered: the server frees it at close */
  } else {
    dt_http_respond(req, 404, "text/plain", "not found", 9);
  }
}

/* ------------------------------------------------------------------ the fixture */

typedef struct {
  uv_loop_t loop;
  uv_async_t async;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  void (*job)(void *fx, void *arg);
  void *job_arg;
  bool job_done;
  dt_http_server_t *srv;
  dt_metrics_t *metrics;
  int port;
  bool running;
} fx_t;

static void on_async(uv_async_t *a) {
  fx_t *fx = a->data;
  pthread_mutex_lock(&fx->mu);
  if (fx->job && !fx->job_done) {
    fx->job(fx, fx->job_arg);
    fx->job_done = true;
    pthread_cond_broadcast(&fx->cv);
  }
  pthread_mutex_unlock(&fx->mu);
}

static void *loop_main(void *arg) {
  fx_t *fx = arg;
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  return NULL;
}

/* Runs fn(fx, arg) on the loop thread and waits for it. */
static void on_loop(fx_t *fx, void (*fn)(void *fx, void *arg), void *arg) {
  pthread_mutex_lock(&fx->mu);
  fx->job = fn;
  fx->job_arg = arg;
  fx->job_done = false;
  uv_async_send(&fx->async);
  while (!fx->job_done) pthread_cond_wait(&fx->cv, &fx->mu);
  fx->job = NULL;
  pthread_mutex_unlock(&fx->mu);
}

static int fx_start(fx_t *fx, dt_http_server_options_t *opts) {
  memset(fx, 0, sizeof *fx);
  uv_loop_init(&fx->loop);
  pthread_mutex_init(&fx->mu, NULL);
  pthread_cond_init(&fx->cv, NULL);
  fx->metrics = dt_metrics_new();
  opts->listen = "127.0.0.1:0";
  opts->handler = handler;
  opts->handler_ud = &fx->loop;
  opts->metrics = fx->metrics;
  char err[256] = "";
  int rc = dt_http_server_start(&fx->loop, opts, &fx->srv, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "  server start failed: %s\n", err);
    return rc;
  }
  fx->port = dt_http_server_port(fx->srv);
  uv_async_init(&fx->loop, &fx->async, on_async);
  fx->async.data = fx;
  pthread_create(&fx->thread, NULL, loop_main, fx);
  fx->running = true;
  return 0;
}

static void on_server_closed(void *ud) {
  fx_t *fx = ud;
  uv_close((uv_handle_t *)&fx->async, NULL);
}

static void job_stop(void *p, void *arg) {
  fx_t *fx = p;
  /* Deferred answers still pending would touch freed requests: cancel them first. */
  while (g_delays) {
    delay_t *d = g_delays;
    if (d->kind == 1 && !d->aborted) {
      d->aborted = true; /* the stream's on_abort runs at server close and ends it */
    }
    delay_done(d);
  }
  dt_http_server_close(fx->srv, on_server_closed, fx);
}

/* Stops the server and the loop; returns uv_loop_close's result (0 = nothing left open). */
static int fx_stop(fx_t *fx) {
  if (!fx->running) return 0;
  on_loop(fx, job_stop, NULL);
  pthread_join(fx->thread, NULL);
  fx->running = false;
  int rc = uv_loop_close(&fx->loop);
  dt_metrics_free(fx->metrics);
  pthread_mutex_destroy(&fx->mu);
  pthread_cond_destroy(&fx->cv);
  return rc;
}

typedef struct {
  unsigned conns;
  uint64_t accepted;
  double value;
  const char *name, *labels;
} probe_t;

static void job_probe(void *p, void *arg) {
  fx_t *fx = p;
  probe_t *pr = arg;
  pr->conns = dt_http_server_connection_count(fx->srv);
  pr->accepted = dt_http_server_accepted_total(fx->srv);
  pr->value = pr->name ? dt_metrics_get(fx->metrics, pr->name, pr->labels) : 0;
}

static probe_t probe(fx_t *fx, const char *name, const char *labels) {
  probe_t pr = {.name = name, .labels = labels};
  on_loop(fx, job_probe, &pr);
  return pr;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Polls until the open connection count equals want; false after 10 s. */
static bool wait_conns(fx_t *fx, unsigned want) {
  for (int i = 0; i < 1000; i++) {
    if (probe(fx, NULL, NULL).conns == want) return true;
    sleep_ms(10);
  }
  return false;
}

/* ------------------------------------------------------------------ the raw client */

typedef struct {
  int fd;
  mbedtls_ssl_context *ssl;
  char *buf;
  size_t len, cap;
} cli_t;

typedef struct {
  int status;
  char head[8192];
  char *body;
  size_t body_len;
} resp_t;

static int cli_open(cli_t *c, int port) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  struct timeval tv = {10, 0}; /* bounded waits: a missing answer fails the test */
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  c->cap = 1 << 16;
  c->buf = dt_xmalloc(c->cap);
  return 0;
}

static void cli_close(cli_t *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  free(c->buf);
  c->buf = NULL;
}

static int cli_send(cli_t *c, const char *data, size_t len) {
  if (c->ssl) {
    size_t off = 0;
    while (off < len) {
      int n = mbedtls_ssl_write(c->ssl, (const unsigned char *)data + off, len - off);
      if (n <= 0) return -1;
      off += (size_t)n;
    }
    return 0;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    off += (size_t)n;
  }
  return 0;
}
static int cli_sends(cli_t *c, const char *s) { return cli_send(c, s, strlen(s)); }

/* Reads more bytes: >0 read, 0 EOF (or reset), -1 timeout/error. */
static int cli_fill(cli_t *c) {
  if (c->len + 4096 > c->cap) {
    c->cap *= 2;
    c->buf = dt_xrealloc(c->buf, c->cap);
  }
  if (c->ssl) {
    int n = mbedtls_ssl_read(c->ssl, (unsigned char *)c->buf + c->len, c->cap - c->len - 1);
    if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == 0) return 0;
    if (n < 0) return -1;
    c->len += (size_t)n;
    return n;
  }
  ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
  if (n == 0 || (n < 0 && errno == ECONNRESET)) return 0;
  if (n < 0) return -1;
  c->len += (size_t)n;
  return (int)n;
}

static void cli_consume(cli_t *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

static const char *resp_header(resp_t *r, const char *name, char *out, size_t outlen) {
  size_t nlen = strlen(name);
  for (const char *line = strstr(r->head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
    const char *l = line + 2;
    if (dt_strncasecmp(l, name, nlen) == 0 && l[nlen] == ':') {
      const char *v = l + nlen + 1;
      while (*v == ' ') v++;
      size_t n = strcspn(v, "\r");
      if (n >= outlen) n = outlen - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
  }
  return NULL;
}

/* Reads one response. head_req: the request was HEAD (no body follows). 0 or -1. */
static int cli_response(cli_t *c, resp_t *r, bool head_req) {
  memset(r, 0, sizeof *r);
  char *end;
  while (c->len == 0 || (c->buf[c->len] = '\0', (end = strstr(c->buf, "\r\n\r\n")) == NULL)) {
    if (cli_fill(c) <= 0) return -1;
  }
  size_t hlen = (size_t)(end - c->buf) + 4;
  if (hlen >= sizeof r->head) return -1;
  memcpy(r->head, c->buf, hlen);
  r->head[hlen] = '\0';
  cli_consume(c, hlen);
  if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1) return -1;
  char v[64];
  dt_buf_t body = {0};
  if (head_req || r->status < 200 || r->status == 204 || r->status == 304) {
    /* no body */
  } else if (resp_header(r, "Transfer-Encoding", v, sizeof v) && strcmp(v, "chunked") == 0) {
    for (;;) {
      char *nl;
      while ((c->buf[c->len] = '\0', nl = strstr(c->buf, "\r\n")) == NULL)
        if (cli_fill(c) <= 0) goto fail;
      size_t size = strtoul(c->buf, NULL, 16);
      cli_consume(c, (size_t)(nl - c->buf) + 2);
      while (c->len < size + 2)
        if (cli_fill(c) <= 0) goto fail;
      dt_buf_append(&body, c->buf, size);
      cli_consume(c, size + 2);
      if (size == 0) break;
    }
  } else if (resp_header(r, "Content-Length", v, sizeof v)) {
    size_t n = strtoul(v, NULL, 10);
    while (c->len < n)
      if (cli_fill(c) <= 0) goto fail;
    dt_buf_append(&body, c->buf, n);
    cli_consume(c, n);
  } else {
    int rc;
    while ((rc = cli_fill(c)) > 0) {
    }
    if (rc < 0) goto fail;
    dt_buf_append(&body, c->buf, c->len);
    cli_consume(c, c->len);
  }
  dt_buf_append(&body, "", 0);
  r->body = body.data;
  r->body_len = body.len;
  return 0;
fail:
  dt_buf_free(&body);
  return -1;
}

static void resp_free(resp_t *r) {
  free(r->body);
  r->body = NULL;
}

/* True when the server closes the connection (EOF or reset) within the socket timeout. */
static bool cli_wait_closed(cli_t *c) {
  for (;;) {
    int rc = cli_fill(c);
    if (rc == 0) return true;
    if (rc < 0) return false;
  }
}

/* One request, one response; returns the status or -1. body_out (optional) gets the body. */
static int roundtrip(cli_t *c, const char *request, char *body_out, size_t outlen) {
  if (cli_sends(c, request) != 0) return -1;
  resp_t r;
  if (cli_response(c, &r, strncmp(request, "HEAD ", 5) == 0) != 0) return -1;
  if (body_out) snprintf(body_out, outlen, "%s", r.body ? r.body : "");
  resp_free(&r);
  return r.status;
}

static int one_shot(int port, const char *request, char *body_out, size_t outlen) {
  cli_t c;
  if (cli_open(&c, port) != 0) return -1;
  int st = roundtrip(&c, request, body_out, outlen);
  cli_close(&c);
  return st;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: localhost\r\n\r\n"

/* ------------------------------------------------------------------ plain HTTP tests */

DT_TEST(healthz_info_and_404) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  DT_ASSERT(fx.port > 0);
  char body[512];
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/healthz")), 0);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(r.body, "ok");
  char v[64];
  DT_ASSERT_EQ_STR(resp_header(&r, "Content-Type", v, sizeof v), "text/plain");
  DT_ASSERT(resp_header(&r, "Date", v, sizeof v) != NULL);
  DT_ASSERT(resp_header(&r, "Connection", v, sizeof v) == NULL); /* 1.1 keep-alive is implicit */
  resp_free(&r);
  DT_ASSERT_EQ_INT(roundtrip(&c, "GET /info?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Test: hello there\r\n\r\n",
                             body, sizeof body),
                   200);
  DT_ASSERT_CONTAINS(body, "method=GET target=/info?a=1&b=2 path=/info query=a=1&b=2 x-test=hello there tls=0 remote=127.0.0.1:");
  DT_ASSERT_EQ_INT(roundtrip(&c, GET("/nope"), body, sizeof body), 404);
  DT_ASSERT_EQ_STR(body, "not found");
  char want[32];
  snprintf(want, sizeof want, "rc=%d", DT_EINVAL);
  DT_ASSERT_EQ_INT(roundtrip(&c, GET("/inject"), body, sizeof body), 200);
  DT_ASSERT_EQ_STR(body, want);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/nocontent")), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 204);
  DT_ASSERT(resp_header(&r, "Content-Length", v, sizeof v) == NULL);
  resp_free(&r);
  DT_ASSERT_EQ_INT(roundtrip(&c, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_STR(body, "ok");
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(request_split_into_single_bytes) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  const char *req = "GET /info?q=split HTTP/1.1\r\nHost: x\r\nX-Test: piece by piece\r\nX-Empty:\r\n\r\n";
  for (const char *p = req; *p; p++) {
    DT_ASSERT_EQ_INT(cli_send(&c, p, 1), 0);
    sleep_ms(1); /* separate segments: every token arrives across many reads */
  }
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_CONTAINS(r.body, "target=/info?q=split path=/info query=q=split x-test=piece by piece");
  resp_free(&r);
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(keep_alive_many_requests_one_connection) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  char body[64];
  for (int i = 0; i < 200; i++) {
    DT_ASSERT_EQ_INT(roundtrip(&c, GET("/healthz"), body, sizeof body), 200);
    DT_ASSERT_EQ_STR(body, "ok");
  }
  probe_t p = probe(&fx, "dt_http_requests_total", "route=\"/healthz\",status=\"200\"");
  DT_ASSERT_EQ_INT(p.accepted, 1);
  DT_ASSERT_EQ_INT(p.conns, 1);
  DT_ASSERT_EQ_INT(p.value, 200);
  cli_close(&c);
  DT_ASSERT(wait_conns(&fx, 0));
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(pipelined_answers_keep_request_order) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  /* The first is answered 150 ms later, the second at once: the wire order must hold. */
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/delay?ms=150&id=1") GET("/fast?id=2") GET("/healthz")), 0);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "delayed 1");
  resp_free(&r);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "fast 2");
  resp_free(&r);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "ok");
  resp_free(&r);
  /* The handler really did answer the second request first. */
  DT_ASSERT(atomic_load(&g_fast_seq) < atomic_load(&g_delay_seq));
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(deep_pipeline_pauses_and_resumes_in_order) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  /* 300 requests in one burst (more than the per-connection in-flight limit), the first
     one deferred so that everything behind it queues up. */
  dt_buf_t all = {0};
  dt_buf_appendf(&all, GET("/delay?ms=100&id=first"));
  for (int i = 0; i < 300; i++) dt_buf_appendf(&all, "GET /fast?id=%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
  DT_ASSERT_EQ_INT(cli_send(&c, all.data, all.len), 0);
  dt_buf_free(&all);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "delayed first");
  resp_free(&r);
  for (int i = 0; i < 300; i++) {
    char want[32];
    snprintf(want, sizeof want, "fast %d", i);
    DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
    DT_ASSERT_EQ_STR(r.body, want);
    resp_free(&r);
  }
  DT_ASSERT_EQ_INT(probe(&fx, NULL, NULL).accepted, 1);
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(chunked_request_body_is_reassembled) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  const char *parts[] = {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                         "5\r\nhel", "lo\r\n", "7\r\n, world\r\n", "1;ext=1\r\n!\r\n", "0\r\n\r\n"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(parts); i++) {
    DT_ASSERT_EQ_INT(cli_sends(&c, parts[i]), 0);
    sleep_ms(5); /* separate segments, so the parser sees the body in pieces */
  }
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(r.body, "hello, world!");
  char v[32];
  DT_ASSERT_EQ_STR(resp_header(&r, "X-Body-Len", v, sizeof v), "13");
  resp_free(&r);
  /* Content-Length body with binary bytes, same connection. */
  const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\na\0b\0c";
  DT_ASSERT_EQ_INT(cli_send(&c, req, sizeof req - 1), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.body_len, 5);
  DT_ASSERT(memcmp(r.body, "a\0b\0c", 5) == 0);
  resp_free(&r);
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(expect_100_continue_is_answered) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                 "Expect: 100-continue\r\n\r\n"),
                   0);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 100);
  resp_free(&r);
  DT_ASSERT_EQ_INT(cli_sends(&c, "12345"), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(r.body, "12345");
  resp_free(&r);
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(oversized_headers_get_431_then_new_connection_works) {
  fx_t fx;
  dt_http_server_options_t o = {.max_header_bytes = 1024};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  dt_buf_t req = {0};
  dt_buf_appendf(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
  for (int i = 0; i < 2000; i++) dt_buf_append(&req, "a", 1);
  dt_buf_appendf(&req, "\r\n\r\n");
  DT_ASSERT_EQ_INT(cli_send(&c, req.data, req.len), 0);
  dt_buf_free(&req);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 431);
  char v[32];
  DT_ASSERT_EQ_STR(resp_header(&r, "Connection", v, sizeof v), "close");
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  /* Too many header lines is the same failure. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  dt_buf_appendf(&req, "GET /healthz HTTP/1.1\r\n");
  for (int i = 0; i < 200; i++) dt_buf_appendf(&req, "A%d: b\r\n", i);
  dt_buf_appendf(&req, "\r\n");
  DT_ASSERT_EQ_INT(cli_send(&c, req.data, req.len), 0);
  dt_buf_free(&req);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 431);
  resp_free(&r);
  cli_close(&c);
  char body[64];
  DT_ASSERT_EQ_INT(one_shot(fx.port, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"other\",status=\"431\"").value, 2);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(oversized_body_gets_413_then_new_connection_works) {
  fx_t fx;
  dt_http_server_options_t o = {.max_body_bytes = 1000};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  resp_t r;
  /* Known length: refused at once, without the body ever being sent. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 413);
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  /* Chunked: refused once the running total passes the limit. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
  char chunk[600 + 16];
  int n = snprintf(chunk, sizeof chunk, "258\r\n");
  memset(chunk + n, 'z', 600);
  memcpy(chunk + n + 600, "\r\n", 2);
  DT_ASSERT_EQ_INT(cli_send(&c, chunk, (size_t)n + 602), 0);
  DT_ASSERT_EQ_INT(cli_send(&c, chunk, (size_t)n + 602), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 413);
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  /* At the limit exactly is fine. */
  dt_buf_t req = {0};
  dt_buf_appendf(&req, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
  for (int i = 0; i < 1000; i++) dt_buf_append(&req, "y", 1);
  char body[2000];
  DT_ASSERT_EQ_INT(one_shot(fx.port, req.data, body, sizeof body), 200);
  DT_ASSERT_EQ_INT(strlen(body), 1000);
  dt_buf_free(&req);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"other\",status=\"413\"").value, 2);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(malformed_requests_get_400_then_new_connection_works) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  const char *bad[] = {"GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET  HTTP/1.1\r\n\r\n",
                       "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                       "GET /x HTTP/1.1\r\nBad Header\r\n\r\n"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    cli_t c;
    DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
    resp_t r;
    DT_ASSERT_EQ_INT(cli_sends(&c, bad[i]), 0);
    DT_ASSERT_MSG(cli_response(&c, &r, false) == 0, "no answer to bad request %zu", i);
    DT_ASSERT_MSG(r.status == 400, "bad request %zu got %d", i, r.status);
    resp_free(&r);
    DT_ASSERT(cli_wait_closed(&c));
    cli_close(&c);
  }
  /* A good request before the bad one on the same connection is still answered first. */
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/delay?ms=50&id=ok") "BLAH BLAH\r\n\r\n"), 0);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "delayed ok");
  resp_free(&r);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 400);
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  char body[64];
  DT_ASSERT_EQ_INT(one_shot(fx.port, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(connection_limit_closes_excess) {
  fx_t fx;
  dt_http_server_options_t o = {.max_connections = 2};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t a, b, x;
  char body[64];
  DT_ASSERT_EQ_INT(cli_open(&a, fx.port), 0);
  DT_ASSERT_EQ_INT(roundtrip(&a, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_INT(cli_open(&b, fx.port), 0);
  DT_ASSERT_EQ_INT(roundtrip(&b, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_INT(cli_open(&x, fx.port), 0); /* the kernel completes the handshake... */
  (void)cli_sends(&x, GET("/healthz"));
  DT_ASSERT(cli_wait_closed(&x)); /* ...then the server closes it unanswered */
  DT_ASSERT_EQ_INT(x.len, 0);
  cli_close(&x);
  DT_ASSERT_EQ_INT(roundtrip(&a, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_connections_rejected_total", NULL).value, 1);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_connections", NULL).value, 2);
  cli_close(&b);
  DT_ASSERT(wait_conns(&fx, 1));
  DT_ASSERT_EQ_INT(one_shot(fx.port, GET("/healthz"), body, sizeof body), 200);
  cli_close(&a);
  DT_ASSERT(wait_conns(&fx, 0));
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_connections", NULL).value, 0);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(idle_keep_alive_connection_is_closed) {
  fx_t fx;
  dt_http_server_options_t o = {.idle_timeout_ms = 500};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  char body[64];
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(roundtrip(&c, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT(cli_wait_closed(&c)); /* silence: the server hangs up, no 408 */
  DT_ASSERT_EQ_INT(c.len, 0);
  cli_close(&c);
  /* A connection that never sends anything is idle too. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  DT_ASSERT(wait_conns(&fx, 0));
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(slow_client_gets_408) {
  fx_t fx;
  dt_http_server_options_t o = {.request_timeout_ms = 300};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  resp_t r;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"), 0); /* then silence */
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 408);
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  /* Same for a body that stops half way. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 408);
  resp_free(&r);
  cli_close(&c);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"other\",status=\"408\"").value, 2);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(streaming_response_delivers_chunks) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  resp_t r;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/stream")), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  char v[64];
  DT_ASSERT_EQ_STR(resp_header(&r, "Transfer-Encoding", v, sizeof v), "chunked");
  DT_ASSERT_EQ_STR(resp_header(&r, "Content-Type", v, sizeof v), "text/event-stream");
  DT_ASSERT_EQ_STR(r.body, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n");
  resp_free(&r);
  /* The connection is reusable after the stream ends. */
  char body[64];
  DT_ASSERT_EQ_INT(roundtrip(&c, GET("/healthz"), body, sizeof body), 200);
  cli_close(&c);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"/stream\",status=\"200\"").value, 1);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(stream_abort_when_client_goes_away) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  atomic_store(&g_aborts, 0);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/forever")), 0);
  while (strstr((c.buf[c.len] = '\0', c.buf), "data: hello") == NULL) DT_ASSERT(cli_fill(&c) > 0);
  cli_close(&c);
  for (int i = 0; i < 1000 && atomic_load(&g_aborts) == 0; i++) sleep_ms(10);
  DT_ASSERT_EQ_INT(atomic_load(&g_aborts), 1);
  /* A stream still open when the server closes is aborted too (and freed: ASan/valgrind). */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/forever")), 0);
  while (strstr((c.buf[c.len] = '\0', c.buf), "data: hello") == NULL) DT_ASSERT(cli_fill(&c) > 0);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
  DT_ASSERT_EQ_INT(atomic_load(&g_aborts), 2);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
}

DT_TEST(http10_and_connection_close) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  resp_t r;
  char v[32];
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "GET /healthz HTTP/1.0\r\n\r\n"), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(resp_header(&r, "Connection", v, sizeof v), "close");
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  /* HTTP/1.0 asking for keep-alive keeps the connection. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  for (int i = 0; i < 3; i++) {
    DT_ASSERT_EQ_INT(cli_sends(&c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
    DT_ASSERT_EQ_STR(resp_header(&r, "Connection", v, sizeof v), "keep-alive");
    resp_free(&r);
  }
  cli_close(&c);
  /* HTTP/1.1 with Connection: close; a pipelined request after it is ignored. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n" GET("/healthz")), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(resp_header(&r, "Connection", v, sizeof v), "close");
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  DT_ASSERT_EQ_INT(c.len, 0);
  cli_close(&c);
  DT_ASSERT_EQ_INT(probe(&fx, NULL, NULL).accepted, 3);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

/* Regression (fuzz_http_request, issue 10 point 11): an HTTP/1.0 keep-alive request answered
   with a stream must end the connection (no chunked coding in 1.0), so a request pipelined
   behind it must never reach the handler: it could not get its response. Before the fix the
   handler saw and answered /fast, and its answer was never sent. */
DT_TEST(http10_stream_in_pipeline_ends_parsing) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  int fast_before = atomic_load(&g_fast_count);
  cli_t c;
  resp_t r;
  char v[32];
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/delay?ms=100&id=1")
                                     "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                     GET("/fast?id=3")),
                   0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "delayed 1");
  resp_free(&r);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0); /* the raw stream, up to the close */
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(resp_header(&r, "Connection", v, sizeof v), "close");
  DT_ASSERT(strstr(r.body, "data: 3") != NULL);
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  DT_ASSERT_EQ_INT(atomic_load(&g_fast_count), fast_before);
  /* An HTTP/1.0 keep-alive request answered later holds back the next one until it is
     answered; then both are answered in order on the same connection. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "GET /delay?ms=50&id=4 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                 GET("/fast?id=5")),
                   0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "delayed 4");
  resp_free(&r);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "fast 5");
  resp_free(&r);
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

/* ------------------------------------------------------------------ hostile clients (issue 10) */

/* "/private…" needs "Authorization: Bearer ok", decided when the headers are complete. */
static int private_hook(dt_http_request_t *req, void *ud) {
  (void)ud;
  if (strncmp(req->path, "/private", 8) != 0) return 0;
  dt_http_request_set_route(req, "/private");
  const char *a = dt_http_request_header(req, "Authorization");
  return a && strcmp(a, "Bearer ok") == 0 ? 0 : 401;
}

DT_TEST(on_headers_refuses_before_the_body_and_body_budget_holds) {
  fx_t fx;
  dt_http_server_options_t o = {.on_headers = private_hook, .max_body_total_bytes = 4096};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  resp_t r;
  char v[64];
  /* Headers of a 512 KiB body, no token: 401 at once, without waiting for the body. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 524288\r\n\r\n"), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 401);
  DT_ASSERT_EQ_STR(resp_header(&r, "WWW-Authenticate", v, sizeof v), "Bearer");
  DT_ASSERT_EQ_STR(resp_header(&r, "Connection", v, sizeof v), "close");
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  /* With the token the handler gets it (404: the fixture has no such route). */
  DT_ASSERT_EQ_INT(one_shot(fx.port, "GET /private HTTP/1.1\r\nAuthorization: Bearer ok\r\n\r\n", NULL, 0), 404);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"/private\",status=\"401\"").value, 1);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"/private\",status=\"404\"").value, 1);
  /* The body budget (4 KiB for all requests together): 5000 bytes get 503, 3000 fit. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 503);
  resp_free(&r);
  cli_close(&c);
  dt_buf_t big = {0};
  dt_buf_appendf(&big, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n");
  for (int i = 0; i < 3000; i++) dt_buf_append(&big, "b", 1);
  dt_buf_append(&big, "", 0);
  DT_ASSERT_EQ_INT(one_shot(fx.port, big.data, NULL, 0), 200);
  /* A chunked body grows past the budget while it arrives: 503 too. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nbb8\r\n"), 0);
  DT_ASSERT_EQ_INT(cli_send(&c, big.data + big.len - 3000, 3000), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "\r\nbb8\r\n"), 0);
  (void)cli_send(&c, big.data + big.len - 3000, 3000);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 503);
  resp_free(&r);
  cli_close(&c);
  dt_buf_free(&big);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_body_budget_refusals_total", NULL).value, 2);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(silent_connections_make_room_per_ip_cap_and_header_timeout) {
  fx_t fx;
  dt_http_server_options_t o = {.max_connections = 2};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t a, b, x;
  char body[64];
  /* Two silent connections fill the server; a third with a request takes the oldest's place. */
  DT_ASSERT_EQ_INT(cli_open(&a, fx.port), 0);
  DT_ASSERT(wait_conns(&fx, 1));
  DT_ASSERT_EQ_INT(cli_open(&b, fx.port), 0);
  DT_ASSERT(wait_conns(&fx, 2));
  DT_ASSERT_EQ_INT(cli_open(&x, fx.port), 0);
  DT_ASSERT_EQ_INT(roundtrip(&x, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT(cli_wait_closed(&a));
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_connections_evicted_total", NULL).value, 1);
  cli_close(&a);
  cli_close(&b);
  cli_close(&x);
  DT_ASSERT(wait_conns(&fx, 0));
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);

  dt_http_server_options_t o2 = {.max_connections_per_ip = 2, .header_timeout_ms = 300};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o2), 0);
  cli_t k[3];
  for (int i = 0; i < 2; i++) {
    DT_ASSERT_EQ_INT(cli_open(&k[i], fx.port), 0);
    DT_ASSERT_EQ_INT(roundtrip(&k[i], GET("/healthz"), body, sizeof body), 200);
  }
  DT_ASSERT_EQ_INT(cli_open(&k[2], fx.port), 0);
  (void)cli_sends(&k[2], GET("/healthz"));
  DT_ASSERT(cli_wait_closed(&k[2])); /* the third from 127.0.0.1: closed at accept, unanswered */
  DT_ASSERT_EQ_INT(k[2].len, 0);
  cli_close(&k[2]);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_connections_rejected_per_ip_total", NULL).value, 1);
  cli_close(&k[0]);
  cli_close(&k[1]);
  DT_ASSERT(wait_conns(&fx, 0));
  /* Header timeout: silence is closed without a word, half the headers get 408. */
  DT_ASSERT_EQ_INT(cli_open(&a, fx.port), 0);
  DT_ASSERT(cli_wait_closed(&a));
  DT_ASSERT_EQ_INT(a.len, 0);
  cli_close(&a);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_open(&a, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&a, "GET /healthz HTTP/1.1\r\nHost: x\r\n"), 0);
  DT_ASSERT_EQ_INT(cli_response(&a, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 408);
  resp_free(&r);
  cli_close(&a);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_header_timeouts_total", NULL).value, 2);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(head_response_has_no_body) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  resp_t r;
  char v[32];
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, true), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(resp_header(&r, "Content-Length", v, sizeof v), "2");
  resp_free(&r);
  /* Had a body been sent, it would now be read as the start of the next response. */
  char body[64];
  DT_ASSERT_EQ_INT(roundtrip(&c, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_STR(body, "ok");
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(answer_after_client_left_frees_request) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  atomic_store(&g_orphan_rc, 1);
  cli_t c;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/delay?ms=300&id=late")), 0);
  sleep_ms(50);
  /* Reset (not a FIN, which could be a half-close) while the handler holds the request. */
  struct linger lg = {1, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  cli_close(&c);
  for (int i = 0; i < 1000 && atomic_load(&g_orphan_rc) == 1; i++) sleep_ms(10);
  DT_ASSERT_EQ_INT(atomic_load(&g_orphan_rc), DT_ECLOSED);
  /* Requests never answered are freed by dt_http_server_close (checked by ASan/valgrind). */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/never")), 0);
  for (int i = 0; i < 1000 && atomic_load(&g_never) == 0; i++) sleep_ms(10);
  DT_ASSERT(atomic_load(&g_never) > 0);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
  cli_close(&c);
}

DT_TEST(half_closed_client_still_gets_answer) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  cli_t c;
  resp_t r;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/delay?ms=100&id=half")), 0);
  shutdown(c.fd, SHUT_WR);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "delayed half");
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

/* A client that half-closes right after its request and reads only later: the server's
   EOF comes while the answer is still queued for writing, and must not cut it off (closing
   before the lingering shutdown completes would cancel the queued writes). */
DT_TEST(half_closed_client_gets_a_large_answer_whole) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  enum { N = 24 * 1024 * 1024 };
  cli_t c;
  resp_t r;
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT_EQ_INT(cli_sends(&c, "GET /big?n=25165824 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 0);
  shutdown(c.fd, SHUT_WR);
  sleep_ms(300); /* not a timing assertion: only gives the server time to see the EOF early */
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_INT((long long)r.body_len, N);
  DT_ASSERT(r.body[N - 1] == (char)('a' + (N - 1) % 26));
  resp_free(&r);
  DT_ASSERT(cli_wait_closed(&c));
  cli_close(&c);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(metrics_reflect_requests) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  char body[64];
  for (int i = 0; i < 3; i++) DT_ASSERT_EQ_INT(one_shot(fx.port, GET("/healthz"), body, sizeof body), 200);
  DT_ASSERT_EQ_INT(one_shot(fx.port, GET("/missing"), body, sizeof body), 404);
  DT_ASSERT_EQ_INT(one_shot(fx.port, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", body, sizeof body), 200);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"/healthz\",status=\"200\"").value, 3);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"other\",status=\"404\"").value, 1);
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"/echo\",status=\"200\"").value, 1);
  DT_ASSERT_EQ_INT(probe(&fx, NULL, NULL).accepted, 5);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(start_errors_are_reported) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_server_t *srv = NULL;
  char err[256] = "";
  dt_http_server_options_t o = {.listen = "not-an-address", .handler = handler};
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), DT_EINVAL);
  DT_ASSERT(srv == NULL);
  o.listen = "127.0.0.1:99999";
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), DT_EINVAL);
  o.listen = "127.0.0.1:0";
  o.handler = NULL;
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), DT_EINVAL);
  /* A port already in use. */
  o.handler = handler;
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), 0);
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", dt_http_server_port(srv));
  dt_http_server_t *srv2 = NULL;
  o.listen = listen;
  DT_ASSERT(dt_http_server_start(&loop, &o, &srv2, err, sizeof err) < 0);
  DT_ASSERT_CONTAINS(err, listen);
  DT_ASSERT(srv2 == NULL);
  /* IPv6 loopback, when the machine has it. */
  o.listen = "[::1]:0";
  if (dt_http_server_start(&loop, &o, &srv2, err, sizeof err) == 0) {
    DT_ASSERT(dt_http_server_port(srv2) > 0);
    dt_http_server_close(srv2, NULL, NULL);
  }
  dt_http_server_close(srv, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

/* ------------------------------------------------------------------ TLS */

static dt_testcert_t g_cert;
static bool g_cert_ready;

static void remove_cert(void) { dt_testcert_remove(&g_cert); }

static bool cert_ready(void) {
  if (!g_cert_ready && dt_testcert_create(&g_cert) == 0) {
    g_cert_ready = true;
    atexit(remove_cert);
  }
  return g_cert_ready;
}

typedef struct {
  mbedtls_net_context net;
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
} tls_client_t;

/* A TLS client that trusts ca_file; -1 when the handshake (or the set-up) fails. */
static int tls_client_open_ca(tls_client_t *t, cli_t *c, int port, const char *ca_file) {
  memset(t, 0, sizeof *t);
  mbedtls_net_init(&t->net);
  mbedtls_ssl_init(&t->ssl);
  mbedtls_ssl_config_init(&t->conf);
  mbedtls_x509_crt_init(&t->ca);
  mbedtls_entropy_init(&t->entropy);
  mbedtls_ctr_drbg_init(&t->drbg);
  if (mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, NULL, 0)) return -1;
  if (mbedtls_x509_crt_parse_file(&t->ca, ca_file)) return -1;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  if (mbedtls_net_connect(&t->net, "127.0.0.1", portstr, MBEDTLS_NET_PROTO_TCP)) return -1;
  mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                              MBEDTLS_SSL_PRESET_DEFAULT);
  mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
  mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
  mbedtls_ssl_conf_read_timeout(&t->conf, 10000);
  if (mbedtls_ssl_setup(&t->ssl, &t->conf)) return -1;
  mbedtls_ssl_set_hostname(&t->ssl, "localhost");
  mbedtls_ssl_set_bio(&t->ssl, &t->net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
  int rc;
  while ((rc = mbedtls_ssl_handshake(&t->ssl)) != 0) {
    if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
      fprintf(stderr, "  TLS client handshake failed: -0x%04x\n", (unsigned)-rc);
      return -1;
    }
  }
  memset(c, 0, sizeof *c);
  c->fd = -1;
  c->ssl = &t->ssl;
  c->cap = 1 << 16;
  c->buf = dt_xmalloc(c->cap);
  return 0;
}

static int tls_client_open(tls_client_t *t, cli_t *c, int port) {
  return tls_client_open_ca(t, c, port, g_cert.cert_file);
}

/* Frees what tls_client_open_ca set up when it failed (no cli_t was made). */
static void tls_client_free(tls_client_t *t) {
  mbedtls_net_free(&t->net);
  mbedtls_ssl_free(&t->ssl);
  mbedtls_ssl_config_free(&t->conf);
  mbedtls_x509_crt_free(&t->ca);
  mbedtls_ctr_drbg_free(&t->drbg);
  mbedtls_entropy_free(&t->entropy);
}

static void tls_client_close(tls_client_t *t, cli_t *c) {
  mbedtls_ssl_close_notify(&t->ssl);
  cli_close(c);
  mbedtls_net_free(&t->net);
  mbedtls_ssl_free(&t->ssl);
  mbedtls_ssl_config_free(&t->conf);
  mbedtls_x509_crt_free(&t->ca);
  mbedtls_ctr_drbg_free(&t->drbg);
  mbedtls_entropy_free(&t->entropy);
}

DT_TEST(tls_keep_alive_with_mbedtls_client) {
  DT_ASSERT(cert_ready());
  fx_t fx;
  dt_http_server_options_t o = {.tls_cert_file = g_cert.cert_file, .tls_key_file = g_cert.key_file};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  tls_client_t t;
  cli_t c;
  DT_ASSERT_EQ_INT(tls_client_open(&t, &c, fx.port), 0);
  char body[512];
  for (int i = 0; i < 20; i++) {
    DT_ASSERT_EQ_INT(roundtrip(&c, GET("/healthz"), body, sizeof body), 200);
    DT_ASSERT_EQ_STR(body, "ok");
  }
  DT_ASSERT_EQ_INT(roundtrip(&c, "GET /info HTTP/1.1\r\nX-Test: tls\r\n\r\n", body, sizeof body), 200);
  DT_ASSERT_CONTAINS(body, "x-test=tls tls=1");
  /* Pipelined and out of order over TLS as well. */
  DT_ASSERT_EQ_INT(cli_sends(&c, GET("/delay?ms=100&id=t1") GET("/fast?id=t2")), 0);
  resp_t r;
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "delayed t1");
  resp_free(&r);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_STR(r.body, "fast t2");
  resp_free(&r);
  /* A body larger than one TLS record. */
  dt_buf_t req = {0};
  dt_buf_appendf(&req, "POST /echo HTTP/1.1\r\nContent-Length: 50000\r\n\r\n");
  for (int i = 0; i < 50000; i++) dt_buf_append(&req, &"abcdefghij"[i % 10], 1);
  DT_ASSERT_EQ_INT(cli_send(&c, req.data, req.len), 0);
  DT_ASSERT_EQ_INT(cli_response(&c, &r, false), 0);
  DT_ASSERT_EQ_INT(r.body_len, 50000);
  DT_ASSERT(memcmp(r.body, req.data + req.len - 50000, 50000) == 0);
  resp_free(&r);
  dt_buf_free(&req);
  DT_ASSERT_EQ_INT(probe(&fx, NULL, NULL).accepted, 1);
  tls_client_close(&t, &c);
  DT_ASSERT(wait_conns(&fx, 0));
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(tls_errors_over_tls_and_plaintext_client) {
  DT_ASSERT(cert_ready());
  fx_t fx;
  dt_http_server_options_t o = {.tls_cert_file = g_cert.cert_file, .tls_key_file = g_cert.key_file,
                                .max_header_bytes = 512, .request_timeout_ms = 1500};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  tls_client_t t;
  cli_t c;
  DT_ASSERT_EQ_INT(tls_client_open(&t, &c, fx.port), 0);
  dt_buf_t req = {0};
  dt_buf_appendf(&req, "GET / HTTP/1.1\r\nX-Big: ");
  for (int i = 0; i < 1000; i++) dt_buf_append(&req, "b", 1);
  dt_buf_appendf(&req, "\r\n\r\n");
  DT_ASSERT_EQ_INT(roundtrip(&c, req.data, NULL, 0), 431);
  dt_buf_free(&req);
  tls_client_close(&t, &c);
  /* Plain HTTP spoken to the TLS port: the handshake fails and the connection closes. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  (void)cli_sends(&c, GET("/healthz"));
  DT_ASSERT(cli_wait_closed(&c));
  DT_ASSERT(strstr((c.buf[c.len] = '\0', c.buf), "HTTP/1.1") == NULL);
  cli_close(&c);
  /* A client that never starts the handshake is cut off by the request deadline. */
  DT_ASSERT_EQ_INT(cli_open(&c, fx.port), 0);
  DT_ASSERT(cli_wait_closed(&c));
  DT_ASSERT_EQ_INT(c.len, 0);
  cli_close(&c);
  DT_ASSERT(wait_conns(&fx, 0));
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

static int copy_file(const char *from, const char *to) {
  char *data = NULL;
  size_t len = 0;
  if (dt_read_file(from, 1 << 20, &data, &len) != 0) return -1;
  FILE *f = fopen(to, "wb");
  int ok = f && fwrite(data, 1, len, f) == len;
  if (f && fclose(f) != 0) ok = 0;
  free(data);
  return ok ? 0 : -1;
}

typedef struct {
  int rc;
  char err[256];
} reload_t;

static void job_reload_tls(void *p, void *arg) {
  fx_t *fx = p;
  reload_t *r = arg;
  r->rc = dt_http_server_reload_tls(fx->srv, r->err, sizeof r->err);
}

/* A renewed certificate (SIGHUP): new connections get it, an open one finishes on the old,
   and a broken file changes nothing. */
DT_TEST(tls_certificate_reloads_for_new_connections) {
  DT_ASSERT(cert_ready());
  dt_testcert_t renewed;
  DT_ASSERT(dt_testcert_create(&renewed) == 0);
  char dir[] = "/tmp/dt_tlsreload_XXXXXX";
  DT_ASSERT(mkdtemp(dir) != NULL);
  char cert[64], key[64];
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  DT_ASSERT_EQ_INT(copy_file(g_cert.cert_file, cert), 0);
  DT_ASSERT_EQ_INT(copy_file(g_cert.key_file, key), 0);
  fx_t fx;
  dt_http_server_options_t o = {.tls_cert_file = cert, .tls_key_file = key};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  tls_client_t t_old, t_new, t_bad;
  cli_t c_old, c_new;
  char body[64];
  DT_ASSERT_EQ_INT(tls_client_open_ca(&t_old, &c_old, fx.port, g_cert.cert_file), 0);
  DT_ASSERT_EQ_INT(roundtrip(&c_old, GET("/healthz"), body, sizeof body), 200);

  DT_ASSERT_EQ_INT(copy_file(renewed.cert_file, cert), 0);
  DT_ASSERT_EQ_INT(copy_file(renewed.key_file, key), 0);
  reload_t r = {0};
  on_loop(&fx, job_reload_tls, &r);
  DT_ASSERT_EQ_INT(r.rc, 0);
  /* the open connection goes on with the certificate it was set up with */
  DT_ASSERT_EQ_INT(roundtrip(&c_old, GET("/healthz"), body, sizeof body), 200);
  /* a new one is served the renewed certificate: a client that trusts only the old fails */
  DT_ASSERT(tls_client_open_ca(&t_bad, &c_new, fx.port, g_cert.cert_file) != 0);
  tls_client_free(&t_bad);
  DT_ASSERT_EQ_INT(tls_client_open_ca(&t_new, &c_new, fx.port, renewed.cert_file), 0);
  DT_ASSERT_EQ_INT(roundtrip(&c_new, GET("/healthz"), body, sizeof body), 200);
  tls_client_close(&t_new, &c_new);

  /* a broken certificate file: an error naming it, the renewed certificate stays */
  FILE *f = fopen(cert, "w");
  DT_ASSERT(f != NULL);
  fputs("not a certificate\n", f);
  fclose(f);
  r = (reload_t){0};
  on_loop(&fx, job_reload_tls, &r);
  DT_ASSERT_EQ_INT(r.rc, DT_ETLS);
  DT_ASSERT_CONTAINS(r.err, cert);
  DT_ASSERT_EQ_INT(tls_client_open_ca(&t_new, &c_new, fx.port, renewed.cert_file), 0);
  DT_ASSERT_EQ_INT(roundtrip(&c_new, GET("/healthz"), body, sizeof body), 200);
  tls_client_close(&t_new, &c_new);
  tls_client_close(&t_old, &c_old);
  DT_ASSERT(wait_conns(&fx, 0));
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
  unlink(cert);
  unlink(key);
  rmdir(dir);
  dt_testcert_remove(&renewed);
}

/* A listener without TLS has no certificate to reload. */
DT_TEST(tls_reload_without_tls_is_refused) {
  fx_t fx;
  dt_http_server_options_t o = {0};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  reload_t r = {0};
  on_loop(&fx, job_reload_tls, &r);
  DT_ASSERT_EQ_INT(r.rc, DT_EINVAL);
  DT_ASSERT_CONTAINS(r.err, "does not serve TLS");
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

static int run_capture(const char *cmd, char *out, size_t outlen) {
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = fread(out, 1, outlen - 1, p);
  out[n] = '\0';
  return pclose(p);
}

DT_TEST(tls_with_curl) {
  DT_ASSERT(cert_ready());
  if (system("command -v curl >/dev/null 2>&1") != 0) {
    printf("  (curl not installed: skipped)\n");
    return;
  }
  fx_t fx;
  dt_http_server_options_t o = {.tls_cert_file = g_cert.cert_file, .tls_key_file = g_cert.key_file};
  DT_ASSERT_EQ_INT(fx_start(&fx, &o), 0);
  char cmd[1024], out[4096];
  /* Two URLs in one curl run share one kept-alive connection. */
  snprintf(cmd, sizeof cmd,
           "curl -sS -k --max-time 20 -w ' %%{http_code}\\n' https://127.0.0.1:%d/healthz "
           "https://127.0.0.1:%d/healthz 2>&1",
           fx.port, fx.port);
  DT_ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 0);
  DT_ASSERT_EQ_STR(out, "ok 200\nok 200\n");
  DT_ASSERT_EQ_INT(probe(&fx, NULL, NULL).accepted, 1);
  /* The test certificate verifies for localhost when used as the CA file. */
  snprintf(cmd, sizeof cmd,
           "curl -sS --cacert %s --max-time 20 -d 'hi there' https://localhost:%d/echo 2>&1",
           g_cert.cert_file, fx.port);
  DT_ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 0);
  DT_ASSERT_EQ_STR(out, "hi there");
  DT_ASSERT_EQ_INT(probe(&fx, "dt_http_requests_total", "route=\"/healthz\",status=\"200\"").value, 2);
  DT_ASSERT_EQ_INT(fx_stop(&fx), 0);
}

DT_TEST(tls_bad_files_fail_start_naming_the_file) {
  DT_ASSERT(cert_ready());
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_server_t *srv = NULL;
  char err[512] = "";
  dt_http_server_options_t o = {.listen = "127.0.0.1:0", .handler = handler,
                                .tls_cert_file = "/nonexistent/cert.pem",
                                .tls_key_file = g_cert.key_file};
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, "/nonexistent/cert.pem");
  char junk[256];
  snprintf(junk, sizeof junk, "%s/junk.pem", g_cert.dir);
  FILE *f = fopen(junk, "w");
  DT_ASSERT(f != NULL);
  fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", f);
  fclose(f);
  o.tls_cert_file = g_cert.cert_file;
  o.tls_key_file = junk;
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, junk);
  o.tls_cert_file = junk;
  o.tls_key_file = g_cert.key_file;
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), DT_ETLS);
  DT_ASSERT_CONTAINS(err, junk);
  o.tls_cert_file = g_cert.cert_file;
  o.tls_key_file = NULL;
  DT_ASSERT_EQ_INT(dt_http_server_start(&loop, &o, &srv, err, sizeof err), DT_ETLS);
  unlink(junk);
  DT_ASSERT(srv == NULL);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

DT_TEST_MAIN()
