/*
 * fuzz_http_request.c — libFuzzer target for the request path of core/net/http_server.c.
 *
 * Each input is the byte stream one client sends on one connection. A real dt_http_server
 * listens on 127.0.0.1 (port 0) on a private uv loop for the whole run; per input a client
 * socket connects over loopback, writes the input, half-closes, and reads until the server
 * closes. The loop runs until the connection is gone and every deferred answer is sent, so
 * nothing of one input survives into the next (the server's listener and metrics do).
 *
 * The handler answers in several ways, picked by the request's path, to reach the
 * server's ordering and streaming code: "/later…" is answered after the handler returns
 * (deferred to an idle callback, newest first, so answers arrive out of order), "/stream…"
 * streams a chunked body, anything else is answered at once; "?status=N" picks the status
 * and an "X-Echo" header is sent back, as an extra header. The body is echoed.
 *
 * The server's early checks are on: an on_headers hook refuses "/auth…" requests without
 * "Authorization: Bearer good" (401 when the headers are complete, body unread) and
 * "/deny…" with 503, the request body budget (max_body_total_bytes) is smaller than a few
 * pipelined bodies held by deferred requests (503), and a header timeout is set (long: the
 * client half-closes at once, so it is not what ends a connection here).
 *
 * Promises checked, beyond "no crash, no leak, no UB": what the handler sees is
 * consistent (path is the target's prefix, the body is NUL-terminated at body_len, limits
 * hold); everything the server sends back parses as HTTP/1.1 responses (llhttp in response
 * mode, HEAD-aware); there is one final response per request the handler saw, plus at most
 * one the server made itself (400/401/408/413/431/503); the handler never sees a request
 * the hook refused; and the connection is always closed in
 * bounded time (a hang aborts with a message after HANG_MS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <llhttp.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/log.h"
#include "dialtone/metrics.h"

#define MAX_HEADER_BYTES 2048
#define MAX_BODY_BYTES 4096
#define MAX_BODY_TOTAL_BYTES 6144 /* two bodies near the limit held at once exhaust it */
#define HANG_MS 20000 /* well above the server's 2 s lingering close */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_http_request: broken promise: %s\n", what);
    abort();
  }
}

/* ---------------------------------------------------------------- the server side */

static uv_loop_t loop;
static dt_http_server_t *server;
static dt_metrics_t *metrics;
static uv_idle_t later_idle;

/* Per input. */
static dt_http_request_t **later; /* deferred requests, answered newest first */
static size_t nlater, later_cap;
static bool *req_is_head;         /* per request the handler saw, in order */
static size_t nhandled, handled_cap;

static int status_from_query(const char *query) {
  const char *s = strstr(query, "status=");
  if (!s) return 200;
  long v = strtol(s + 7, NULL, 10);
  if (v < 200 || v > 599) return 200;
  return (int)v;
}

static void answer(dt_http_request_t *req) {
  int status = status_from_query(req->query);
  const char *echo = dt_http_request_header(req, "X-Echo");
  dt_http_header_t h[2] = {{"Content-Type", "application/octet-stream"}, {"X-Echo", echo ? echo : ""}};
  int rc = dt_http_respond_ex(req, status, h, echo ? 2 : 1, req->body, req->body_len);
  if (rc == DT_EINVAL) /* an echoed value the server refuses to put on the wire */
    rc = dt_http_respond(req, 500, NULL, NULL, 0);
  check(rc == 0, "respond failed");
}

static void stream(dt_http_request_t *req) {
  int status = strstr(req->path, "204") ? 204 : 200;
  dt_http_header_t h = {"Content-Type", "text/event-stream"};
  check(dt_http_stream_begin(req, status, &h, 1, NULL, NULL) == 0, "stream_begin failed");
  check(dt_http_stream_write(req, "data: x\n\n", 9) == 0, "stream_write failed");
  check(dt_http_stream_write(req, req->body, req->body_len) == 0, "stream_write (body) failed");
  dt_http_stream_end(req);
}

static void on_later(uv_idle_t *h) {
  uv_idle_stop(h);
  while (nlater > 0) answer(later[--nlater]);
}

static bool authorized(const dt_http_request_t *req) {
  const char *a = dt_http_request_header(req, "Authorization");
  return a && strcmp(a, "Bearer good") == 0;
}

/* Decided at headers-complete, before the body: what the engine does for notifications. */
static int on_headers(dt_http_request_t *req, void *ud) {
  if (strncmp(req->path, "/auth", 5) == 0) {
    dt_http_request_set_route(req, "/auth");
    return authorized(req) ? 0 : 401;
  }
  if (strncmp(req->path, "/deny", 5) == 0) return 503;
  return 0;
}

static void handler(dt_http_request_t *req, void *ud) {
  check(req->method && req->target && req->path && req->query && req->remote_addr, "NULL field");
  size_t plen = strlen(req->path);
  check(strncmp(req->target, req->path, plen) == 0, "path is not a prefix of target");
  check(req->target[plen] == '\0' || req->target[plen] == '?', "path ends oddly");
  if (req->target[plen] == '?') check(req->query == req->target + plen + 1, "query misplaced");
  check(req->body != NULL && req->body[req->body_len] == '\0', "body not NUL-terminated");
  check(req->body_len <= MAX_BODY_BYTES, "body over the limit");
  check(req->header_count == 0 || req->headers != NULL, "headers missing");
  for (size_t i = 0; i < req->header_count; i++)
    check(req->headers[i].name && req->headers[i].value, "NULL header");
  check(!req->tls, "tls flag on a plain connection");
  check(strncmp(req->path, "/auth", 5) != 0 || authorized(req), "handler saw a request the hook refused");
  check(strncmp(req->path, "/deny", 5) != 0, "handler saw a request the hook refused");

  if (nhandled == handled_cap) {
    handled_cap = handled_cap ? handled_cap * 2 : 64;
    req_is_head = dt_xrealloc(req_is_head, handled_cap * sizeof *req_is_head);
  }
  req_is_head[nhandled++] = strcmp(req->method, "HEAD") == 0;

  if (strncmp(req->path, "/api/calls", 10) == 0) dt_http_request_set_route(req, "/api/calls");
  if (strncmp(req->path, "/later", 6) == 0) {
    if (nlater == later_cap) {
      later_cap = later_cap ? later_cap * 2 : 16;
      later = dt_xrealloc(later, later_cap * sizeof *later);
    }
    later[nlater++] = req;
    uv_idle_start(&later_idle, on_later);
  } else if (strncmp(req->path, "/stream", 7) == 0) {
    stream(req);
  } else {
    answer(req);
  }
}

/* ---------------------------------------------------------------- the client side */

typedef struct {
  uv_poll_t poll;
  int fd;
  const uint8_t *data;
  size_t len, off;
  bool shut, eof, closed;
  llhttp_t parser;
  llhttp_settings_t settings;
  size_t nfinal;     /* final (>= 200) responses seen */
  size_t n_interim;  /* 1xx */
  llhttp_errno_t perr;
} client_t;

static int resp_headers_complete(llhttp_t *p) {
  client_t *c = p->data;
  if (p->status_code < 200) {
    c->n_interim++;
    return 0;
  }
  size_t idx = c->nfinal++;
  if (idx < nhandled && req_is_head[idx]) return 1; /* a HEAD answer has no body */
  return 0;
}

static void on_client_closed(uv_handle_t *h) {
  client_t *c = h->data;
  close(c->fd);
  c->closed = true;
}

static void client_feed(client_t *c, const char *buf, size_t n) {
  if (c->perr != HPE_OK) return;
  llhttp_errno_t e = llhttp_execute(&c->parser, buf, n);
  if (e != HPE_OK) {
    c->perr = e;
    fprintf(stderr, "fuzz_http_request: bad response bytes: %s (%s)\n", llhttp_errno_name(e),
            llhttp_get_error_reason(&c->parser));
  }
}

static void on_client_poll(uv_poll_t *h, int status, int events) {
  client_t *c = h->data;
  if (status < 0) events = UV_READABLE; /* read the error out below */
  if ((events & UV_WRITABLE) && !c->shut) {
    while (c->off < c->len) {
      ssize_t n = send(c->fd, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
      if (n > 0) {
        c->off += (size_t)n;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      c->off = c->len; /* EPIPE / ECONNRESET: the server closed; stop sending */
      break;
    }
    if (c->off == c->len) {
      shutdown(c->fd, SHUT_WR);
      c->shut = true;
      uv_poll_start(&c->poll, UV_READABLE, on_client_poll);
    }
  }
  if (events & UV_READABLE) {
    char buf[16384];
    for (;;) {
      ssize_t n = recv(c->fd, buf, sizeof buf, 0);
      if (n > 0) {
        client_feed(c, buf, (size_t)n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n < 0) check(errno == ECONNRESET || errno == EPIPE, "unexpected recv error");
      c->eof = true;
      break;
    }
  }
  if (c->eof) {
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, on_client_closed);
  }
}

static void on_hang(uv_timer_t *t) {
  fprintf(stderr, "fuzz_http_request: the connection was not closed within %d ms "
                  "(open connections: %u)\n", HANG_MS, dt_http_server_connection_count(server));
  abort();
}

/* ---------------------------------------------------------------- libFuzzer */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  dt_log_set_level(DT_LOG_OFF);
  check(uv_loop_init(&loop) == 0, "uv_loop_init");
  metrics = dt_metrics_new();
  uv_idle_init(&loop, &later_idle);
  dt_http_server_options_t o = {
      .listen = "127.0.0.1:0",
      .handler = handler,
      .max_header_bytes = MAX_HEADER_BYTES,
      .max_body_bytes = MAX_BODY_BYTES,
      .max_body_total_bytes = MAX_BODY_TOTAL_BYTES,
      .header_timeout_ms = 60000,
      .on_headers = on_headers,
      .max_connections = 4,
      .idle_timeout_ms = 60000,
      .request_timeout_ms = 60000, /* never the reason a connection ends here */
      .metrics = metrics,
  };
  char err[256];
  if (dt_http_server_start(&loop, &o, &server, err, sizeof err) != 0) {
    fprintf(stderr, "fuzz_http_request: cannot start the server: %s\n", err);
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nlater = 0;
  nhandled = 0;
  uint64_t accepted_before = dt_http_server_accepted_total(server);
  client_t c;
  memset(&c, 0, sizeof c);
  c.data = data;
  c.len = size;
  llhttp_settings_init(&c.settings);
  c.settings.on_headers_complete = resp_headers_complete;
  llhttp_init(&c.parser, HTTP_RESPONSE, &c.settings);
  c.parser.data = &c;

  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  check(c.fd >= 0, "socket");
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)dt_http_server_port(server));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  /* The client closes first, so each input leaves a TIME_WAIT socket for a minute. Thousands
     of inputs a second would exhaust one source address's ephemeral ports where the kernel
     does not reuse them (net.ipv4.tcp_tw_reuse=0), so connections come from a rotating
     127.1.x.y source; the port is picked at connect time, per 4-tuple. */
  static uint32_t nconn;
  nconn++;
  struct sockaddr_in src;
  memset(&src, 0, sizeof src);
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f010000u | (nconn & 0xffffu));
  int one = 1;
#ifdef IP_BIND_ADDRESS_NO_PORT
  setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#else
  (void)one;
#endif
  check(bind(c.fd, (struct sockaddr *)&src, sizeof src) == 0, "bind the client's source address");
  int rc = connect(c.fd, (struct sockaddr *)&sa, sizeof sa);
  if (rc != 0 && errno != EINPROGRESS) {
    perror("fuzz_http_request: connect");
    check(0, "connect to the server");
  }
  check(uv_poll_init(&loop, &c.poll, c.fd) == 0, "uv_poll_init");
  c.poll.data = &c;
  uv_poll_start(&c.poll, UV_READABLE | UV_WRITABLE, on_client_poll);

  uv_timer_t hang;
  uv_timer_init(&loop, &hang);
  uv_timer_start(&hang, on_hang, HANG_MS, 0);
  /* The connection must be accepted before "no open connections" means "done". */
  while (!c.closed || nlater > 0 || dt_http_server_connection_count(server) > 0 ||
         dt_http_server_accepted_total(server) == accepted_before)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&hang);
  uv_close((uv_handle_t *)&hang, NULL);
  uv_run(&loop, UV_RUN_NOWAIT); /* runs the close callback; hang lives on this stack */

  if (c.perr == HPE_OK) {
    /* A body that ends with the connection (HTTP/1.0 streams) is complete only now. */
    llhttp_errno_t e = llhttp_finish(&c.parser);
    if (e != HPE_OK) {
      fprintf(stderr, "fuzz_http_request: response cut short: %s\n", llhttp_errno_name(e));
      c.perr = e;
    }
  }
  check(c.perr == HPE_OK, "the server sent something that is not a valid HTTP/1.1 response");
  if (c.nfinal < nhandled || c.nfinal > nhandled + 1) {
    fprintf(stderr, "fuzz_http_request: %zu requests handled, %zu final responses\n", nhandled,
            c.nfinal);
    check(0, "one final response per handled request, plus at most one error");
  }
  return 0;
}
