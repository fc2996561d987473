/*
 * http_server.c — HTTP/1.1 ingress on a libuv loop, parsed by llhttp, optionally over TLS
 * (see http_server.h for the contract).
 *
 * Owns: the listening socket, every connection (uv_tcp_t + one uv_timer_t + llhttp parser +
 * optional TLS session) and every request until it is answered.
 *
 * How a connection works:
 *  - Bytes (plaintext, or decrypted by tls.c) go to llhttp. Header names/values collect in a
 *    per-connection scratch buffer that is reused across requests; when the headers are
 *    complete the request is built with ONE allocation holding the struct, the header array
 *    and all strings (an arena per request), plus one for the body when there is one.
 *  - Requests join the connection's response queue in arrival order. Answers are formatted
 *    into the request's own buffer; flush() writes buffers from the head of the queue only,
 *    so responses leave in request order however the handler answers. Writes go out with
 *    uv_try_write first and uv_write only for what the socket did not take.
 *  - Backpressure: at most MAX_PIPELINE requests per connection are in flight; beyond that
 *    llhttp is paused (HPE_PAUSED from on_message_complete) and the unparsed rest is kept,
 *    and reading stops while the kernel write queue is above WRITE_HIGH_WATER. Parsing is
 *    resumed from a uv_idle callback, never from inside a handler's respond call.
 *  - One timer per connection serves four purposes (timer_mode): idle keep-alive, the
 *    request read deadline (408), the TLS handshake deadline, and the lingering close.
 *  - Errors the server answers itself (400, 408, 413, 431) are queued like responses, then
 *    the connection is shut down gracefully: FIN after the last byte, then the peer's
 *    leftover input is read and discarded for a short while so it sees the answer, not a
 *    reset.
 *  - Memory of a connection is freed in its close callbacks only. Requests outlive their
 *    connection when the handler still holds them (orphans, on the server's list) and are
 *    freed when answered, or when the server closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <llhttp.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/log.h"
#include "tls.h"

#define MAX_PIPELINE 32              /* requests in flight per connection before parsing pauses */
#define MAX_HEADERS 128              /* header lines per request (431 beyond) */
#define READ_BUF_SIZE 65536          /* one shared read buffer per server */
#define WRITE_HIGH_WATER (1u << 20)  /* stop reading while this much output is queued */
#define STREAM_MAX_BUFFERED (4u << 20) /* stream_write refuses beyond this backlog */
/* Accept queue. 511 overflowed when thousands of calls opened connections together (the
   kernel then drops SYNs and the client retries a second later: docs/performance.md);
   the kernel caps this at net.core.somaxconn (4096 since Linux 5.4). */
#define LISTEN_BACKLOG 65535
#define LINGER_MS 2000               /* how long a closing connection's input is drained */
#define MAX_WRITE_BATCH 16
#define IP_BUCKETS 1024              /* per-address connection counts (only with a per-address cap) */
#define REFUSAL_LOG_MS 1000          /* at most one warning a second about refused connections */

typedef struct conn_s conn_t;
typedef struct req_s req_t;

enum { RS_READING, RS_PENDING, RS_STREAMING, RS_DONE };
enum { TM_NONE, TM_IDLE, TM_REQUEST, TM_HEADERS, TM_HANDSHAKE, TM_LINGER };
enum { STREAM_CHUNKED, STREAM_RAW, STREAM_NOBODY };

struct req_s {
  dt_http_request_t pub;
  dt_http_server_t *srv;
  conn_t *conn;   /* NULL once the connection is gone (orphan) */
  req_t *next;    /* conn queue, or orphan list */
  req_t *prev;    /* orphan list only */
  req_t *abort_next;
  const char *route;
  dt_buf_t out;   /* response bytes not yet handed to the socket */
  char *body_buf;
  size_t body_cap;
  void (*on_abort)(dt_http_request_t *req, void *ud);
  void *abort_ud;
  uint8_t state;
  uint8_t stream_mode;
  bool keep_alive, head_method, http10, close_after, internal;
  bool expect_continue, continue_sent, orphan, in_abort, end_requested;
};

/* Open connections from one client address (the per-address cap). */
typedef struct ip_count_s {
  struct ip_count_s *next;
  unsigned n;
  char ip[48];
} ip_count_t;

struct conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  dt_http_server_t *srv;
  conn_t *prev, *next;      /* server's connection list */
  conn_t *resume_next;      /* server's resume list */
  llhttp_t parser;
  dt__tls_conn_t *tls;
  req_t *head, *tail;       /* response queue */
  unsigned nreqs;
  req_t *cur;               /* request whose body is being read (also the queue tail) */
  /* An HTTP/1.0 request handed to the handler and not answered yet. Nothing after it is
     parsed (no later request reaches the handler) until it is answered, because its answer
     may have to end the connection (a stream has no chunked coding in HTTP/1.0), and a
     request parsed after that could never get its response. */
  req_t *barrier;
  dt_buf_t hbuf;            /* scratch: url and header tokens, NUL-separated */
  uint32_t *toks;           /* offsets of header names and values in hbuf */
  unsigned ntoks, toks_cap;
  size_t url_len;
  size_t tok_start;
  size_t head_bytes;
  dt_buf_t pending_in;      /* plaintext not yet parsed while paused */
  int fail_status;
  unsigned writes_in_flight;
  int closes_pending;
  uint8_t timer_mode;
  bool tok_open, reading, closing, paused, stop_parsing, close_when_drained;
  bool shutting_down, lingering, in_message, on_resume_list, last_answered;
  bool silent;              /* on the server's silent list: not one byte received yet */
  conn_t *silent_prev, *silent_next;
  ip_count_t *ip_count;     /* with a per-address cap */
  char remote[64];
};

struct dt_http_server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_idle_t resume_idle;
  dt_http_server_options_t opts;
  llhttp_settings_t settings;
  dt__tls_config_t *tls;
  conn_t *conns;
  conn_t *silent_head, *silent_tail; /* connections that sent nothing yet, oldest first */
  conn_t *resume_head;
  req_t *orphans;
  unsigned nconns;
  uint64_t accepted;
  int port;
  int handles_open;
  bool closing;
  void (*done)(void *ud);
  void *done_ud;
  size_t body_bytes_held;   /* body buffers of all live requests (max_body_total_bytes) */
  uint64_t refusal_log_ms;  /* when the last refusal warning was logged */
  uint64_t refused_unlogged;
  ip_count_t *ip_buckets[IP_BUCKETS];
  time_t date_sec;
  char date[32];
  char readbuf[READ_BUF_SIZE];
};

static void conn_close(conn_t *c);
static void conn_flush(conn_t *c);
static void conn_fail(conn_t *c, int status);
static void conn_update_read(conn_t *c);
static void conn_parse(conn_t *c, const char *data, size_t len);

/* ---------------------------------------------------------------- small helpers */

const char *dt_http_status_text(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: break;
  }
  if (status >= 200 && status < 300) return "OK";
  if (status >= 300 && status < 400) return "Redirect";
  if (status >= 400 && status < 500) return "Client Error";
  if (status >= 500 && status < 600) return "Server Error";
  return "Unknown";
}

static const char *http_date(dt_http_server_t *srv) {
  time_t now = time(NULL);
  if (now != srv->date_sec) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    srv->date_sec = now;
  }
  return srv->date;
}

static void count_request(dt_http_server_t *srv, const char *route, int status) {
  if (!srv->opts.metrics) return;
  char labels[256];
  char esc[160];
  size_t j = 0;
  for (const char *p = route ? route : "other"; *p && j + 2 < sizeof esc; p++) {
    if (*p == '"' || *p == '\\') esc[j++] = '\\';
    esc[j++] = *p == '\n' ? ' ' : *p;
  }
  esc[j] = '\0';
  snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", esc, status);
  dt_metrics_inc(srv->opts.metrics, "dt_http_requests_total", labels);
}

static bool token_has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

static unsigned min_u(unsigned a, unsigned b) { return a < b ? a : b; }

/* ---------------------------------------------------------------- requests */

static void orphan_unlink(dt_http_server_t *srv, req_t *r) {
  if (r->prev) r->prev->next = r->next;
  else srv->orphans = r->next;
  if (r->next) r->next->prev = r->prev;
  r->next = r->prev = NULL;
  r->orphan = false;
}

static void req_free(req_t *r) {
  if (r->orphan) orphan_unlink(r->srv, r);
  r->srv->body_bytes_held -= r->body_cap;
  free(r->body_buf);
  dt_buf_free(&r->out);
  free(r);
}

static void queue_push(conn_t *c, req_t *r) {
  r->next = NULL;
  if (c->tail) c->tail->next = r;
  else c->head = r;
  c->tail = r;
  c->nreqs++;
}

/* Removes r, which must be in c's queue (O(queue), queues are short). */
static void queue_remove(conn_t *c, req_t *r) {
  req_t **pp = &c->head, *prev = NULL;
  while (*pp && *pp != r) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (!*pp) return;
  *pp = r->next;
  if (c->tail == r) c->tail = prev;
  r->next = NULL;
  c->nreqs--;
}

/* A response the server makes itself (errors); queued after everything before it. */
static void queue_error_route(conn_t *c, int status, const char *route) {
  dt_http_server_t *srv = c->srv;
  const char *reason = dt_http_status_text(status);
  req_t *r = dt_xcalloc(1, sizeof *r);
  r->srv = srv;
  r->conn = c;
  r->internal = true;
  r->close_after = true;
  r->state = RS_DONE;
  dt_buf_appendf(&r->out,
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                 status, reason, http_date(srv), status == 401 ? "WWW-Authenticate: Bearer\r\n" : "",
                 strlen(reason) + 1, reason);
  count_request(srv, route, status);
  queue_push(c, r);
}

static void queue_error(conn_t *c, int status) { queue_error_route(c, status, NULL); }

/* Refused connections and requests: one warning a second at most, saying how many. */
static void log_refusal(dt_http_server_t *srv, const char *what, const char *who) {
  uint64_t now = uv_now(srv->loop);
  srv->refused_unlogged++;
  if (srv->refusal_log_ms && now - srv->refusal_log_ms < REFUSAL_LOG_MS) return;
  dt_log_warn("http: refused %s from %s (%llu refusal(s) since the last such message)", what, who,
              (unsigned long long)srv->refused_unlogged);
  srv->refusal_log_ms = now ? now : 1;
  srv->refused_unlogged = 0;
}

static void metric_inc(dt_http_server_t *srv, const char *name) {
  if (srv->opts.metrics) dt_metrics_inc(srv->opts.metrics, name, NULL);
}

/* Takes bytes from the server-wide body budget; false (nothing taken) when over it. */
static bool body_budget_take(dt_http_server_t *srv, size_t n) {
  if (n > srv->opts.max_body_total_bytes - srv->body_bytes_held) return false;
  srv->body_bytes_held += n;
  return true;
}

/* ---------------------------------------------------------------- per-address counts */

static ip_count_t **ip_bucket(dt_http_server_t *srv, const char *ip) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const char *p = ip; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
  return &srv->ip_buckets[h % IP_BUCKETS];
}

/* Counts c against its address; false when the address is at the cap (nothing counted). */
static bool ip_count_take(dt_http_server_t *srv, conn_t *c, const char *ip) {
  ip_count_t **b = ip_bucket(srv, ip), *e = *b;
  while (e && strcmp(e->ip, ip) != 0) e = e->next;
  if (e && e->n >= srv->opts.max_connections_per_ip) return false;
  if (!e) {
    e = dt_xcalloc(1, sizeof *e);
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    e->next = *b;
    *b = e;
  }
  e->n++;
  c->ip_count = e;
  return true;
}

static void ip_count_release(dt_http_server_t *srv, conn_t *c) {
  ip_count_t *e = c->ip_count;
  c->ip_count = NULL;
  if (!e || --e->n > 0) return;
  ip_count_t **pp = ip_bucket(srv, e->ip);
  while (*pp && *pp != e) pp = &(*pp)->next;
  if (*pp) *pp = e->next;
  free(e);
}

/* ---------------------------------------------------------------- the silent list */

static void silent_remove(conn_t *c) {
  if (!c->silent) return;
  dt_http_server_t *srv = c->srv;
  if (c->silent_prev) c->silent_prev->silent_next = c->silent_next;
  else srv->silent_head = c->silent_next;
  if (c->silent_next) c->silent_next->silent_prev = c->silent_prev;
  else srv->silent_tail = c->silent_prev;
  c->silent_prev = c->silent_next = NULL;
  c->silent = false;
}

static void silent_append(conn_t *c) {
  dt_http_server_t *srv = c->srv;
  c->silent = true;
  c->silent_next = NULL;
  c->silent_prev = srv->silent_tail;
  if (srv->silent_tail) srv->silent_tail->silent_next = c;
  else srv->silent_head = c;
  srv->silent_tail = c;
}

/* ---------------------------------------------------------------- writing */

typedef struct {
  uv_write_t req;
  conn_t *conn;
  unsigned n;
  char *owned[];
} wreq_t;

static void on_write(uv_write_t *w, int status) {
  wreq_t *wr = DT_CONTAINER_OF(w, wreq_t, req);
  conn_t *c = wr->conn;
  for (unsigned i = 0; i < wr->n; i++) free(wr->owned[i]);
  free(wr);
  c->writes_in_flight--;
  if (c->closing) return;
  if (status < 0) {
    dt_log_debug("http: write to %s failed: %s", c->remote, uv_strerror(status));
    conn_close(c);
    return;
  }
  conn_flush(c); /* may finish a pending graceful close, resume reading */
}

/* Writes bufs to the socket, taking ownership of owned[i] (NULL for static data). */
static void raw_write(conn_t *c, uv_buf_t *bufs, char **owned, unsigned n) {
  uv_stream_t *s = (uv_stream_t *)&c->tcp;
  int w = uv_try_write(s, bufs, n);
  if (w == UV_EAGAIN || w == UV_ENOSYS) w = 0;
  if (w < 0) {
    for (unsigned i = 0; i < n; i++) free(owned[i]);
    dt_log_debug("http: write to %s failed: %s", c->remote, uv_strerror(w));
    conn_close(c);
    return;
  }
  size_t skip = (size_t)w;
  unsigned i = 0;
  while (i < n && skip >= bufs[i].len) {
    skip -= bufs[i].len;
    free(owned[i]);
    i++;
  }
  if (i == n) return;
  bufs[i].base += skip;
  bufs[i].len -= skip;
  wreq_t *wr = dt_xmalloc(sizeof *wr + (n - i) * sizeof(char *));
  wr->conn = c;
  wr->n = n - i;
  memcpy(wr->owned, owned + i, (n - i) * sizeof(char *));
  int rc = uv_write(&wr->req, s, bufs + i, n - i, on_write);
  if (rc < 0) {
    for (unsigned k = 0; k < wr->n; k++) free(wr->owned[k]);
    free(wr);
    conn_close(c);
    return;
  }
  c->writes_in_flight++;
}

static void tls_flush_output(conn_t *c) {
  size_t len;
  char *data = dt__tls_conn_take_output(c->tls, &len);
  if (!data) return;
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  raw_write(c, &b, &data, 1);
}

/* Plaintext out: straight to the socket, or through the TLS session. */
static void conn_write(conn_t *c, uv_buf_t *bufs, char **owned, unsigned n) {
  if (n == 0 || c->closing) {
    for (unsigned i = 0; i < n; i++) free(owned[i]);
    return;
  }
  if (!c->tls) {
    raw_write(c, bufs, owned, n);
    return;
  }
  int rc = 0;
  for (unsigned i = 0; i < n; i++) {
    if (rc == 0) rc = dt__tls_conn_write(c->tls, bufs[i].base, bufs[i].len);
    free(owned[i]);
  }
  if (rc != 0) {
    dt_log_debug("http: TLS write to %s failed: %s", c->remote, dt__tls_conn_error(c->tls));
    conn_close(c);
    return;
  }
  tls_flush_output(c);
}

/* ---------------------------------------------------------------- timers, reading, closing */

static void on_timer(uv_timer_t *t);

static void timer_set(conn_t *c, int mode, unsigned ms) {
  c->timer_mode = (uint8_t)mode;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void timer_clear(conn_t *c) {
  c->timer_mode = TM_NONE;
  uv_timer_stop(&c->timer);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn_t *c = h->data;
  /* One buffer per server: on_read consumes (or copies) everything before returning. */
  *buf = uv_buf_init(c->srv->readbuf, READ_BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_update_read(conn_t *c) {
  bool want = !c->closing &&
              (c->lingering || (!c->stop_parsing && !c->paused &&
                                uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < WRITE_HIGH_WATER));
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = true;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

static void on_conn_closed(uv_handle_t *h);

static void server_maybe_done(dt_http_server_t *srv) {
  if (!srv->closing || srv->handles_open > 0) return;
  while (srv->orphans) req_free(srv->orphans);
  dt__tls_config_free(srv->tls);
  void (*done)(void *) = srv->done;
  void *ud = srv->done_ud;
  free(srv);
  if (done) done(ud);
}

static void on_conn_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->closes_pending > 0) return;
  dt_http_server_t *srv = c->srv;
  dt__tls_conn_free(c->tls);
  dt_buf_free(&c->hbuf);
  dt_buf_free(&c->pending_in);
  free(c->toks);
  free(c);
  srv->handles_open--;
  server_maybe_done(srv);
}

/* Closes the connection now. Unanswered requests become orphans; streams are aborted. */
static void conn_close(conn_t *c) {
  if (c->closing) return;
  dt_http_server_t *srv = c->srv;
  c->closing = true;
  if (c->on_resume_list) {
    conn_t **pp = &srv->resume_head;
    while (*pp && *pp != c) pp = &(*pp)->resume_next;
    if (*pp) *pp = c->resume_next;
    c->on_resume_list = false;
  }
  if (c->prev) c->prev->next = c->next;
  else srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->nconns--;
  silent_remove(c);
  ip_count_release(srv, c);
  if (srv->opts.metrics) dt_metrics_add(srv->opts.metrics, "dt_http_connections", NULL, -1);
  uv_timer_stop(&c->timer);
  if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = false;

  req_t *aborts = NULL, **atail = &aborts;
  req_t *r = c->head;
  c->head = c->tail = c->cur = c->barrier = NULL;
  c->nreqs = 0;
  while (r) {
    req_t *next = r->next;
    r->next = NULL;
    if (r->internal || r->state == RS_READING || r->state == RS_DONE) {
      req_free(r);
    } else {
      r->conn = NULL;
      r->orphan = true;
      r->prev = NULL;
      r->next = srv->orphans;
      if (srv->orphans) srv->orphans->prev = r;
      srv->orphans = r;
      dt_buf_free(&r->out);
      if (r->state == RS_STREAMING && r->on_abort) {
        *atail = r;
        atail = &r->abort_next;
      }
    }
    r = next;
  }
  c->closes_pending = 2;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);

  /* Callbacks last: they may end the stream, answer other requests or close the server. */
  while (aborts) {
    r = aborts;
    aborts = r->abort_next;
    r->abort_next = NULL;
    r->in_abort = true;
    r->on_abort(&r->pub, r->abort_ud);
    r->in_abort = false;
    if (r->end_requested) req_free(r);
  }
}

static void on_linger_shutdown(uv_shutdown_t *sr, int status) {
  conn_t *c = sr->data;
  free(sr);
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  /* Everything is written and the FIN is out; now only a short drain. */
  timer_set(c, TM_LINGER, LINGER_MS);
}

/* All answers are out: send FIN, then drain the peer's input briefly (lingering close). */
static void conn_graceful_close(conn_t *c) {
  if (c->shutting_down || c->closing) return;
  c->shutting_down = true;
  c->stop_parsing = true;
  if (c->tls) {
    dt__tls_conn_close_notify(c->tls);
    tls_flush_output(c);
    if (c->closing) return;
  }
  uv_shutdown_t *sr = dt_xmalloc(sizeof *sr);
  sr->data = c;
  if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_linger_shutdown) != 0) {
    free(sr);
    conn_close(c);
    return;
  }
  c->lingering = true;
  /* Until the writes drain, a peer that never reads is cut off like an idle one. */
  timer_set(c, TM_LINGER, c->srv->opts.idle_timeout_ms);
  conn_update_read(c);
}

static void on_resume_idle(uv_idle_t *h);

static void schedule_resume(conn_t *c) {
  if (c->on_resume_list || c->closing) return;
  c->on_resume_list = true;
  c->resume_next = c->srv->resume_head;
  c->srv->resume_head = c;
  uv_idle_start(&c->srv->resume_idle, on_resume_idle);
}

/* Moves finished answers from the head of the queue to the socket, in order. */
static void conn_flush(conn_t *c) {
  if (c->closing) return;
  dt_http_server_t *srv = c->srv;
  uv_buf_t bufs[MAX_WRITE_BATCH];
  char *owned[MAX_WRITE_BATCH];
  unsigned n = 0;
  req_t *r;
  while ((r = c->head) != NULL) {
    if (n + 2 > MAX_WRITE_BATCH) {
      conn_write(c, bufs, owned, n);
      n = 0;
      if (c->closing) return;
    }
    if (r->expect_continue && !r->continue_sent && r->state == RS_READING) {
      static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      bufs[n] = uv_buf_init(cont, sizeof cont - 1);
      owned[n++] = NULL;
      r->continue_sent = true;
    }
    if (r->out.len) {
      bufs[n] = uv_buf_init(r->out.data, (unsigned)r->out.len);
      owned[n++] = r->out.data;
      r->out = (dt_buf_t){0};
    }
    if (r->state != RS_DONE) break;
    c->head = r->next;
    if (!c->head) c->tail = NULL;
    c->nreqs--;
    bool close_after = r->close_after;
    req_free(r);
    if (close_after) {
      /* Nothing after this answer may be sent. */
      c->close_when_drained = true;
      c->stop_parsing = true;
      c->last_answered = true;
      break;
    }
  }
  conn_write(c, bufs, owned, n);
  if (c->closing) return;

  if (c->close_when_drained) {
    /* uv_shutdown waits for queued writes, so the FIN follows the last answer. */
    if (c->head == NULL || c->last_answered) conn_graceful_close(c);
  } else if (!c->head && !c->in_message && !c->shutting_down &&
             (c->timer_mode == TM_NONE || c->timer_mode == TM_IDLE) &&
             (!c->tls || dt__tls_conn_established(c->tls))) {
    timer_set(c, TM_IDLE, srv->opts.idle_timeout_ms);
  }
  if (c->paused && !c->barrier && c->nreqs < MAX_PIPELINE) schedule_resume(c);
  conn_update_read(c);
}

/* The server answers with status itself and closes once it is written. */
static void conn_fail(conn_t *c, int status) {
  if (c->closing || c->stop_parsing) return;
  c->stop_parsing = true;
  if (c->cur) {
    queue_remove(c, c->cur);
    req_free(c->cur);
    c->cur = NULL;
  }
  c->in_message = false;
  timer_clear(c);
  queue_error(c, status);
  conn_flush(c);
}

static void on_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  int mode = c->timer_mode;
  c->timer_mode = TM_NONE;
  switch (mode) {
    case TM_REQUEST:
      dt_log_debug("http: %s too slow to send its request, 408", c->remote);
      conn_fail(c, 408);
      break;
    case TM_HEADERS:
      dt_log_debug("http: %s did not complete its headers in time, 408", c->remote);
      metric_inc(c->srv, "dt_http_header_timeouts_total");
      conn_fail(c, 408);
      break;
    case TM_IDLE:
      if (c->silent) {
        dt_log_debug("http: %s sent nothing within the header timeout, closed", c->remote);
        metric_inc(c->srv, "dt_http_header_timeouts_total");
      }
      conn_close(c);
      break;
    case TM_HANDSHAKE:
    case TM_LINGER:
      conn_close(c);
      break;
    default:
      break;
  }
}

/* The peer finished sending. Answer what was asked (half-close), unless a stream is open. */
static void conn_eof(conn_t *c) {
  if (c->lingering) {
    conn_close(c);
    return;
  }
  if (c->cur) {
    queue_remove(c, c->cur);
    req_free(c->cur);
    c->cur = NULL;
  }
  c->in_message = false;
  bool waiting = false;
  for (req_t *r = c->head; r; r = r->next) {
    if (r->state == RS_STREAMING) {
      conn_close(c);
      return;
    }
    if (r->state == RS_PENDING || r->state == RS_DONE) waiting = true;
  }
  if (!waiting) {
    conn_close(c);
    return;
  }
  c->stop_parsing = true;
  c->close_when_drained = true;
  timer_clear(c);
  conn_update_read(c);
}

static void on_resume_idle(uv_idle_t *h) {
  dt_http_server_t *srv = h->data;
  conn_t *list = srv->resume_head;
  srv->resume_head = NULL;
  uv_idle_stop(h);
  while (list) {
    conn_t *c = list;
    list = c->resume_next;
    c->on_resume_list = false;
    if (c->closing || !c->paused || c->barrier || c->nreqs >= MAX_PIPELINE) continue;
    c->paused = false;
    llhttp_resume(&c->parser);
    dt_buf_t in = c->pending_in;
    c->pending_in = (dt_buf_t){0};
    if (in.len) conn_parse(c, in.data, in.len);
    dt_buf_free(&in);
    conn_update_read(c);
  }
}

/* ---------------------------------------------------------------- TLS input */

static void tls_input(conn_t *c, const char *data, size_t len) {
  dt__tls_conn_set_input(c->tls, data, len);
  if (!dt__tls_conn_established(c->tls)) {
    int rc = dt__tls_conn_handshake(c->tls);
    if (rc < 0) {
      dt_log_debug("http: TLS handshake with %s failed: %s", c->remote, dt__tls_conn_error(c->tls));
      tls_flush_output(c); /* the alert, best effort */
      conn_close(c);
      return;
    }
    if (rc == DT__TLS_WANT_INPUT) {
      tls_flush_output(c);
      return;
    }
    timer_set(c, TM_IDLE, min_u(c->srv->opts.idle_timeout_ms, c->srv->opts.header_timeout_ms));
  }
  char plain[16384];
  size_t stalls = 0;
  while (!c->closing) {
    size_t before = dt__tls_conn_input_left(c->tls);
    int rc = dt__tls_conn_read(c->tls, plain, sizeof plain);
    if (rc > 0) {
      conn_parse(c, plain, (size_t)rc);
      continue;
    }
    if (rc == DT__TLS_WANT_INPUT) {
      size_t left = dt__tls_conn_input_left(c->tls);
      /* mbedTLS may stop after a non-data record; go on while it makes progress. */
      if (left == 0 || (left == before && ++stalls > 2)) break;
      continue;
    }
    if (rc == DT_ECLOSED) {
      tls_flush_output(c);
      if (!c->closing) conn_eof(c);
      return;
    }
    dt_log_debug("http: TLS read from %s failed: %s", c->remote, dt__tls_conn_error(c->tls));
    tls_flush_output(c);
    conn_close(c);
    return;
  }
  if (!c->closing) tls_flush_output(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  if (c->closing) return;
  if (nread < 0) {
    if (nread == UV_EOF) conn_eof(c);
    else conn_close(c);
    return;
  }
  if (nread == 0) return;
  silent_remove(c);
  if (c->lingering) return; /* discard: we already said everything */
  if (c->tls) tls_input(c, buf->base, (size_t)nread);
  else conn_parse(c, buf->base, (size_t)nread);
}

/* ---------------------------------------------------------------- parsing */

static void conn_parse(conn_t *c, const char *data, size_t len) {
  if (c->closing || c->stop_parsing || len == 0) return;
  if (c->paused) {
    dt_buf_append(&c->pending_in, data, len);
    return;
  }
  llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
  if (err == HPE_OK || c->closing) return;
  if (err == HPE_PAUSED) {
    if (c->stop_parsing) return;
    const char *pos = llhttp_get_error_pos(&c->parser);
    size_t used = (pos && pos >= data && pos <= data + len) ? (size_t)(pos - data) : len;
    c->paused = true;
    if (used < len) dt_buf_append(&c->pending_in, data + used, len - used);
    conn_update_read(c);
    return;
  }
  if (err == HPE_PAUSED_UPGRADE) {
    /* No protocol upgrades here: the request was answered normally; close after it. */
    c->stop_parsing = true;
    c->close_when_drained = true;
    conn_flush(c);
    return;
  }
  if (c->stop_parsing) return;
  int status = c->fail_status ? c->fail_status : 400;
  dt_log_debug("http: %s sent a bad request (%s), %d", c->remote, llhttp_errno_name(err), status);
  conn_fail(c, status);
}

static int head_limit(conn_t *c, size_t add) {
  c->head_bytes += add;
  if (c->head_bytes > c->srv->opts.max_header_bytes) {
    c->fail_status = 431;
    return -1;
  }
  return 0;
}

static int cb_message_begin(llhttp_t *p) {
  conn_t *c = p->data;
  c->hbuf.len = 0;
  c->ntoks = 0;
  c->url_len = 0;
  c->tok_open = false;
  c->head_bytes = 16; /* method, version, CRLFs */
  c->fail_status = 0;
  c->in_message = true;
  /* The headers have the shorter of the two deadlines; the body gets the request's own. */
  if (c->srv->opts.header_timeout_ms < c->srv->opts.request_timeout_ms)
    timer_set(c, TM_HEADERS, c->srv->opts.header_timeout_ms);
  else
    timer_set(c, TM_REQUEST, c->srv->opts.request_timeout_ms);
  return 0;
}

static int cb_url(llhttp_t *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (head_limit(c, len)) return -1;
  dt_buf_append(&c->hbuf, at, len);
  return 0;
}

static int cb_url_complete(llhttp_t *p) {
  conn_t *c = p->data;
  c->url_len = c->hbuf.len;
  dt_buf_append(&c->hbuf, "", 1);
  return 0;
}

static int tok_data(llhttp_t *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (head_limit(c, len)) return -1;
  if (!c->tok_open) {
    c->tok_open = true;
    c->tok_start = c->hbuf.len;
  }
  dt_buf_append(&c->hbuf, at, len);
  return 0;
}

static int tok_complete(llhttp_t *p) {
  conn_t *c = p->data;
  if (!c->tok_open) c->tok_start = c->hbuf.len; /* empty value */
  c->tok_open = false;
  dt_buf_append(&c->hbuf, "", 1);
  if (c->ntoks >= 2 * MAX_HEADERS) {
    c->fail_status = 431;
    return -1;
  }
  if (c->ntoks == c->toks_cap) {
    c->toks_cap = c->toks_cap ? c->toks_cap * 2 : 32;
    c->toks = dt_xrealloc(c->toks, c->toks_cap * sizeof *c->toks);
  }
  c->toks[c->ntoks++] = (uint32_t)c->tok_start;
  return head_limit(c, 2); /* ": " or CRLF */
}

/* The body budget is spent: 503 (the request may be retried; it is not too large). */
static int body_budget_refused(conn_t *c) {
  metric_inc(c->srv, "dt_http_body_budget_refusals_total");
  log_refusal(c->srv, "a request body (request body budget spent: limits.max_body_total_bytes)", c->remote);
  c->fail_status = 503;
  return -1;
}

static int cb_headers_complete(llhttp_t *p) {
  conn_t *c = p->data;
  dt_http_server_t *srv = c->srv;
  if (c->ntoks % 2 != 0 || c->url_len == 0) return -1;
  bool chunked = (p->flags & F_CHUNKED) != 0;
  bool has_cl = (p->flags & F_CONTENT_LENGTH) != 0;
  if (has_cl && p->content_length > srv->opts.max_body_bytes) {
    c->fail_status = 413;
    return -1;
  }
  size_t nh = c->ntoks / 2;
  const char *url = c->hbuf.data;
  const char *q = memchr(url, '?', c->url_len);
  size_t path_len = q ? (size_t)(q - url) : c->url_len;
  size_t remote_len = strlen(c->remote);
  size_t hdr_off = (sizeof(req_t) + 15) & ~(size_t)15;
  size_t str_off = hdr_off + nh * sizeof(dt_http_header_t);
  size_t total = str_off + c->hbuf.len + path_len + 1 + remote_len + 1;

  req_t *r = dt_xmalloc(total);
  memset(r, 0, sizeof *r);
  char *base = (char *)r;
  dt_http_header_t *hdrs = (dt_http_header_t *)(base + hdr_off);
  char *strs = base + str_off;
  memcpy(strs, c->hbuf.data, c->hbuf.len);
  char *path = strs + c->hbuf.len;
  memcpy(path, url, path_len);
  path[path_len] = '\0';
  char *remote = path + path_len + 1;
  memcpy(remote, c->remote, remote_len + 1);
  for (size_t i = 0; i < nh; i++) {
    hdrs[i].name = strs + c->toks[2 * i];
    hdrs[i].value = strs + c->toks[2 * i + 1];
  }
  r->srv = srv;
  r->conn = c;
  r->state = RS_READING;
  r->pub.method = llhttp_method_name((llhttp_method_t)p->method);
  r->pub.target = strs;
  r->pub.path = path;
  r->pub.query = q ? strs + (q - url) + 1 : "";
  r->pub.headers = hdrs;
  r->pub.header_count = nh;
  r->pub.body = "";
  r->pub.remote_addr = remote;
  r->pub.tls = c->tls != NULL;
  r->head_method = p->method == HTTP_HEAD;
  r->http10 = p->http_major == 1 && p->http_minor == 0;
  if (c->timer_mode == TM_HEADERS) timer_set(c, TM_REQUEST, srv->opts.request_timeout_ms);
  if (srv->opts.on_headers) {
    /* Decided before one byte of the body is read or buffered (e.g. authentication). */
    int status = srv->opts.on_headers(&r->pub, srv->opts.handler_ud);
    if (status != 0) {
      if (status < 400 || status > 599) status = 500;
      const char *route = r->route;
      free(r);
      c->stop_parsing = true;
      c->in_message = false;
      timer_clear(c);
      queue_error_route(c, status, route);
      conn_flush(c);
      return -1; /* conn_parse sees stop_parsing: nothing after the headers is parsed */
    }
  }
  if (has_cl && p->content_length > 0) {
    if (!body_budget_take(srv, (size_t)p->content_length + 1)) {
      free(r);
      return body_budget_refused(c);
    }
    r->body_cap = (size_t)p->content_length + 1;
    r->body_buf = dt_xmalloc(r->body_cap);
  }
  if ((chunked || (has_cl && p->content_length > 0)) && !r->http10) {
    const char *expect = dt_http_request_header(&r->pub, "Expect");
    if (expect && dt_strcasecmp(expect, "100-continue") == 0) r->expect_continue = true;
  }
  queue_push(c, r);
  c->cur = r;
  if (r->expect_continue && c->head == r) conn_flush(c);
  return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t len) {
  conn_t *c = p->data;
  req_t *r = c->cur;
  if (!r) return -1;
  size_t have = r->pub.body_len;
  if (len > c->srv->opts.max_body_bytes - have) {
    c->fail_status = 413;
    return -1;
  }
  if (have + len + 1 > r->body_cap) {
    size_t cap = r->body_cap ? r->body_cap * 2 : 1024;
    if (cap < have + len + 1) cap = have + len + 1;
    if (cap > c->srv->opts.max_body_bytes + 1) cap = c->srv->opts.max_body_bytes + 1;
    if (!body_budget_take(c->srv, cap - r->body_cap)) return body_budget_refused(c);
    r->body_buf = dt_xrealloc(r->body_buf, cap);
    r->body_cap = cap;
  }
  memcpy(r->body_buf + have, at, len);
  r->pub.body_len = have + len;
  return 0;
}

static int cb_message_complete(llhttp_t *p) {
  conn_t *c = p->data;
  dt_http_server_t *srv = c->srv;
  req_t *r = c->cur;
  c->cur = NULL;
  c->in_message = false;
  if (c->timer_mode == TM_REQUEST) timer_clear(c);
  if (!r) return -1;
  if (r->body_buf) {
    r->body_buf[r->pub.body_len] = '\0';
    r->pub.body = r->body_buf;
  }
  r->keep_alive = llhttp_should_keep_alive(p) != 0;
  if (!r->keep_alive || srv->closing) {
    r->close_after = true;
    c->stop_parsing = true;
  }
  r->state = RS_PENDING;
  if (r->http10 && !r->close_after) c->barrier = r; /* cleared when answered (note_answered) */
  srv->opts.handler(&r->pub, srv->opts.handler_ud); /* may answer and free r */
  if (c->closing || c->stop_parsing || c->barrier || c->nreqs >= MAX_PIPELINE) return HPE_PAUSED;
  return 0;
}

/* ---------------------------------------------------------------- answering */

static req_t *req_of(dt_http_request_t *pub) { return DT_CONTAINER_OF(pub, req_t, pub); }

const char *dt_http_request_header(const dt_http_request_t *req, const char *name) {
  if (!req || !name) return NULL;
  for (size_t i = 0; i < req->header_count; i++)
    if (dt_strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
  return NULL;
}

void dt_http_request_set_route(dt_http_request_t *req, const char *route) {
  if (req) req_of(req)->route = route;
}

static bool skip_header(const char *name) {
  return dt_strcasecmp(name, "Content-Length") == 0 || dt_strcasecmp(name, "Connection") == 0 ||
         dt_strcasecmp(name, "Transfer-Encoding") == 0 || dt_strcasecmp(name, "Date") == 0;
}

static void put(char **p, const char *s, size_t n) {
  memcpy(*p, s, n);
  *p += n;
}
#define PUTS(p, lit) put((p), (lit), sizeof(lit) - 1)

/* Formats status line and headers (and body when given) into r->out with one allocation. */
static void format_head(req_t *r, int status, const dt_http_header_t *headers, size_t n,
                        bool stream, const char *body, size_t body_len) {
  const char *reason = dt_http_status_text(status);
  bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
  const char *conn_hdr = NULL;
  if (r->close_after) conn_hdr = "Connection: close\r\n";
  else if (r->http10) conn_hdr = "Connection: keep-alive\r\n";
  char num[32];
  int numlen = 0;
  if (!stream && !no_body) numlen = snprintf(num, sizeof num, "%zu", body_len);
  const char *date = http_date(r->srv);

  size_t need = 9 + 4 + strlen(reason) + 2 + 6 + strlen(date) + 2 + 2;
  for (size_t i = 0; i < n; i++) need += strlen(headers[i].name) + 2 + strlen(headers[i].value) + 2;
  need += 16 + (size_t)numlen + 2;
  if (stream) need += 28;
  if (conn_hdr) need += strlen(conn_hdr);
  bool send_body = !stream && !no_body && !r->head_method;
  if (send_body) need += body_len;

  dt_buf_t *b = &r->out;
  if (b->cap < b->len + need + 1) {
    b->data = dt_xrealloc(b->data, b->len + need + 1);
    b->cap = b->len + need + 1;
  }
  char *p = b->data + b->len;
  p += snprintf(p, 32, "HTTP/1.1 %03d ", status);
  put(&p, reason, strlen(reason));
  PUTS(&p, "\r\nDate: ");
  put(&p, date, strlen(date));
  PUTS(&p, "\r\n");
  for (size_t i = 0; i < n; i++) {
    if (skip_header(headers[i].name)) continue;
    put(&p, headers[i].name, strlen(headers[i].name));
    PUTS(&p, ": ");
    put(&p, headers[i].value, strlen(headers[i].value));
    PUTS(&p, "\r\n");
  }
  if (stream) {
    if (r->stream_mode == STREAM_CHUNKED) PUTS(&p, "Transfer-Encoding: chunked\r\n");
  } else if (!no_body) {
    PUTS(&p, "Content-Length: ");
    put(&p, num, (size_t)numlen);
    PUTS(&p, "\r\n");
  }
  if (conn_hdr) put(&p, conn_hdr, strlen(conn_hdr));
  PUTS(&p, "\r\n");
  if (send_body && body_len) put(&p, body, body_len);
  b->len = (size_t)(p - b->data);
  b->data[b->len] = '\0';
}

static int check_headers(const dt_http_header_t *headers, size_t n) {
  if (n && !headers) return DT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!headers[i].name || !headers[i].value || !headers[i].name[0]) return DT_EINVAL;
    if (token_has_crlf(headers[i].name) || token_has_crlf(headers[i].value) ||
        strchr(headers[i].name, ':'))
      return DT_EINVAL;
  }
  return 0;
}

/* The answer to r is decided: if it ends the connection, nothing after r may be parsed
   (the handler would get requests that can never be answered); an HTTP/1.0 barrier lifts. */
static void note_answered(req_t *r) {
  conn_t *c = r->conn;
  if (r->close_after) c->stop_parsing = true;
  if (c->barrier == r) c->barrier = NULL; /* conn_flush schedules the resume */
}

/* Common entry checks; frees an orphan that is being answered. */
static int answer_prologue(req_t *r) {
  if (r->internal || r->state != RS_PENDING) return DT_ESTATE;
  if (!r->conn) {
    req_free(r);
    return DT_ECLOSED;
  }
  return 0;
}

int dt_http_respond_ex(dt_http_request_t *req, int status, const dt_http_header_t *headers,
                       size_t header_count, const char *body, size_t body_len) {
  if (!req || status < 200 || status > 999 || (body_len && !body)) return DT_EINVAL;
  int rc = check_headers(headers, header_count);
  if (rc) return rc;
  req_t *r = req_of(req);
  if ((rc = answer_prologue(r)) != 0) return rc;
  if (r->srv->closing) r->close_after = true;
  format_head(r, status, headers, header_count, false, body, body_len);
  count_request(r->srv, r->route, status);
  r->state = RS_DONE;
  note_answered(r);
  conn_flush(r->conn);
  return 0;
}

int dt_http_respond(dt_http_request_t *req, int status, const char *content_type, const char *body,
                    size_t body_len) {
  dt_http_header_t h = {"Content-Type", content_type};
  return dt_http_respond_ex(req, status, content_type ? &h : NULL, content_type ? 1 : 0, body,
                            body_len);
}

int dt_http_stream_begin(dt_http_request_t *req, int status, const dt_http_header_t *headers,
                         size_t header_count, void (*on_abort)(dt_http_request_t *req, void *ud),
                         void *ud) {
  if (!req || status < 200 || status > 999) return DT_EINVAL;
  int rc = check_headers(headers, header_count);
  if (rc) return rc;
  req_t *r = req_of(req);
  if ((rc = answer_prologue(r)) != 0) return rc;
  if (r->head_method || status == 204 || status == 304) {
    r->stream_mode = STREAM_NOBODY;
  } else if (r->http10) {
    /* No chunked coding in HTTP/1.0: the body ends when the connection does. */
    r->stream_mode = STREAM_RAW;
    r->close_after = true;
  } else {
    r->stream_mode = STREAM_CHUNKED;
  }
  if (r->srv->closing) r->close_after = true;
  r->on_abort = on_abort;
  r->abort_ud = ud;
  format_head(r, status, headers, header_count, true, NULL, 0);
  count_request(r->srv, r->route, status);
  r->state = RS_STREAMING;
  note_answered(r);
  conn_flush(r->conn);
  return 0;
}

int dt_http_stream_write(dt_http_request_t *req, const char *data, size_t len) {
  if (!req || (len && !data)) return DT_EINVAL;
  req_t *r = req_of(req);
  if (r->state != RS_STREAMING || r->end_requested) return DT_ESTATE;
  conn_t *c = r->conn;
  if (!c || c->closing) return DT_ECLOSED;
  if (len == 0 || r->stream_mode == STREAM_NOBODY) return 0;
  size_t backlog = r->out.len;
  if (c->head == r) backlog += uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
  if (backlog + len > STREAM_MAX_BUFFERED) return DT_ELIMIT;
  if (r->stream_mode == STREAM_CHUNKED) {
    char hdr[24];
    int n = snprintf(hdr, sizeof hdr, "%zx\r\n", len);
    dt_buf_append(&r->out, hdr, (size_t)n);
    dt_buf_append(&r->out, data, len);
    dt_buf_append(&r->out, "\r\n", 2);
  } else {
    dt_buf_append(&r->out, data, len);
  }
  if (c->head == r) conn_flush(c);
  return 0;
}

void dt_http_stream_end(dt_http_request_t *req) {
  if (!req) return;
  req_t *r = req_of(req);
  if (r->state != RS_STREAMING || r->end_requested) return;
  if (r->in_abort) {
    r->end_requested = true;
    return;
  }
  conn_t *c = r->conn;
  if (!c) {
    req_free(r);
    return;
  }
  if (r->stream_mode == STREAM_CHUNKED) dt_buf_append(&r->out, "0\r\n\r\n", 5);
  r->state = RS_DONE;
  conn_flush(c);
}

/* ---------------------------------------------------------------- accepting */

static void on_reject_closed(uv_handle_t *h) {
  dt_http_server_t *srv = h->data;
  free(h);
  srv->handles_open--;
  server_maybe_done(srv);
}

/* out: "ip:port" or "[ip]:port"; ip: the address alone. */
static void format_peer(uv_tcp_t *tcp, char *out, size_t outlen, char *ip, size_t iplen) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int port = 0;
  snprintf(out, outlen, "unknown");
  snprintf(ip, iplen, "unknown");
  if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0) return;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    uv_ip4_name(a, ip, iplen);
    port = ntohs(a->sin_port);
    snprintf(out, outlen, "%s:%d", ip, port);
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, ip, iplen);
    port = ntohs(a->sin6_port);
    snprintf(out, outlen, "[%s]:%d", ip, port);
  }
}

static void on_connection(uv_stream_t *listener, int status) {
  dt_http_server_t *srv = listener->data;
  if (status < 0) {
    /* EMFILE/ENFILE: libuv accepts and drops the connection with its reserve descriptor. */
    metric_inc(srv, "dt_http_accept_errors_total");
    log_refusal(srv, "a connection (accept failed)", uv_strerror(status));
    return;
  }
  if (srv->closing) return;
  if (srv->nconns >= srv->opts.max_connections && srv->silent_head) {
    /* Full: the oldest connection that has not sent a byte makes room (a client with a
       request to send sends it at once; one that holds a slot silently is the attack). */
    conn_t *victim = srv->silent_head;
    dt_log_debug("http: connection limit reached, closing %s (silent since it connected)", victim->remote);
    metric_inc(srv, "dt_http_connections_evicted_total");
    conn_close(victim);
  }
  if (srv->nconns >= srv->opts.max_connections) {
    log_refusal(srv, "a connection (limits.max_connections reached)", "a client");
    uv_tcp_t *t = dt_xmalloc(sizeof *t);
    uv_tcp_init(srv->loop, t);
    t->data = srv;
    srv->handles_open++;
    (void)uv_accept(listener, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_reject_closed);
    if (srv->opts.metrics) dt_metrics_inc(srv->opts.metrics, "dt_http_connections_rejected_total", NULL);
    return;
  }
  conn_t *c = dt_xcalloc(1, sizeof *c);
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  srv->handles_open++;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  if (srv->opts.metrics) dt_metrics_add(srv->opts.metrics, "dt_http_connections", NULL, 1);
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  srv->accepted++;
  uv_tcp_nodelay(&c->tcp, 1);
  char ip[INET6_ADDRSTRLEN + 2];
  format_peer(&c->tcp, c->remote, sizeof c->remote, ip, sizeof ip);
  if (srv->opts.max_connections_per_ip && !ip_count_take(srv, c, ip)) {
    metric_inc(srv, "dt_http_connections_rejected_per_ip_total");
    log_refusal(srv, "a connection (limits.max_connections_per_ip reached)", ip);
    conn_close(c);
    return;
  }
  silent_append(c);
  llhttp_init(&c->parser, HTTP_REQUEST, &srv->settings);
  c->parser.data = c;
  if (srv->tls) {
    c->tls = dt__tls_conn_new(srv->tls);
    if (!c->tls) {
      conn_close(c);
      return;
    }
    timer_set(c, TM_HANDSHAKE, srv->opts.request_timeout_ms);
  } else {
    timer_set(c, TM_IDLE, min_u(srv->opts.idle_timeout_ms, srv->opts.header_timeout_ms));
  }
  conn_update_read(c);
}

/* ---------------------------------------------------------------- server */

/* "host:port", "[v6]:port", ":port", "*:port", "localhost:port". */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen) {
  char host[128];
  const char *colon;
  if (!listen || !*listen) return dt_seterr(err, errlen, DT_EINVAL, "listen address is empty");
  if (listen[0] == '[') {
    const char *end = strchr(listen, ']');
    if (!end || end[1] != ':')
      return dt_seterr(err, errlen, DT_EINVAL, "listen address %s: expected [ipv6]:port", listen);
    if ((size_t)(end - listen - 1) >= sizeof host)
      return dt_seterr(err, errlen, DT_EINVAL, "listen address %s: host too long", listen);
    memcpy(host, listen + 1, (size_t)(end - listen - 1));
    host[end - listen - 1] = '\0';
    colon = end + 1;
  } else {
    colon = strrchr(listen, ':');
    if (!colon)
      return dt_seterr(err, errlen, DT_EINVAL, "listen address %s: expected host:port", listen);
    if ((size_t)(colon - listen) >= sizeof host)
      return dt_seterr(err, errlen, DT_EINVAL, "listen address %s: host too long", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
  }
  char *end;
  errno = 0;
  long port = strtol(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || errno || port < 0 || port > 65535)
    return dt_seterr(err, errlen, DT_EINVAL, "listen address %s: bad port", listen);
  if (!host[0] || strcmp(host, "*") == 0) strcpy(host, "0.0.0.0");
  if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
  memset(ss, 0, sizeof *ss);
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) return 0;
  if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) return 0;
  return dt_seterr(err, errlen, DT_EINVAL, "listen address %s: %s is not an IP address", listen, host);
}

static void on_listener_closed(uv_handle_t *h) {
  dt_http_server_t *srv = h->data;
  srv->handles_open--;
  server_maybe_done(srv);
}

int dt_http_server_start(uv_loop_t *loop, const dt_http_server_options_t *opts,
                         dt_http_server_t **out, char *err, size_t errlen) {
  if (out) *out = NULL;
  if (!loop || !opts || !out || !opts->handler)
    return dt_seterr(err, errlen, DT_EINVAL, "http server needs a loop, options and a handler");
  struct sockaddr_storage ss;
  int rc = parse_listen(opts->listen, &ss, err, errlen);
  if (rc) return rc;

  dt__tls_config_t *tls = NULL;
  if (opts->tls_cert_file || opts->tls_key_file) {
    rc = dt__tls_config_new(opts->tls_cert_file, opts->tls_key_file, &tls, err, errlen);
    if (rc) return rc;
  }

  /* Bind with a plain socket first so that a failure leaves no libuv handle to close. */
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    dt__tls_config_free(tls);
    return dt_seterr(err, errlen, DT_EIO, "listen %s: socket: %s", opts->listen, strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t sslen = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
    int e = errno;
    close(fd);
    dt__tls_config_free(tls);
    return dt_seterr(err, errlen, e == EADDRINUSE ? DT_EBUSY : DT_EIO, "listen %s: %s", opts->listen,
                     strerror(e));
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  int port = 0;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
    port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                             : ((struct sockaddr_in *)&bound)->sin_port);

  dt_http_server_t *srv = dt_xcalloc(1, sizeof *srv);
  srv->loop = loop;
  srv->opts = *opts;
  srv->opts.listen = NULL; /* borrowed strings are not kept */
  srv->opts.tls_cert_file = srv->opts.tls_key_file = NULL;
  if (!srv->opts.max_header_bytes) srv->opts.max_header_bytes = 16 * 1024;
  if (!srv->opts.max_body_bytes) srv->opts.max_body_bytes = 1024 * 1024;
  if (!srv->opts.max_connections) srv->opts.max_connections = 10000;
  if (!srv->opts.idle_timeout_ms) srv->opts.idle_timeout_ms = 60000;
  if (!srv->opts.request_timeout_ms) srv->opts.request_timeout_ms = 10000;
  if (!srv->opts.header_timeout_ms) srv->opts.header_timeout_ms = 10000;
  if (!srv->opts.max_body_total_bytes) srv->opts.max_body_total_bytes = (size_t)64 << 20;
  srv->tls = tls;
  srv->port = port;

  llhttp_settings_init(&srv->settings);
  srv->settings.on_message_begin = cb_message_begin;
  srv->settings.on_url = cb_url;
  srv->settings.on_url_complete = cb_url_complete;
  srv->settings.on_header_field = tok_data;
  srv->settings.on_header_field_complete = tok_complete;
  srv->settings.on_header_value = tok_data;
  srv->settings.on_header_value_complete = tok_complete;
  srv->settings.on_headers_complete = cb_headers_complete;
  srv->settings.on_body = cb_body;
  srv->settings.on_message_complete = cb_message_complete;

  uv_tcp_init(loop, &srv->listener);
  srv->listener.data = srv;
  uv_idle_init(loop, &srv->resume_idle);
  srv->resume_idle.data = srv;
  srv->handles_open = 2;
  rc = uv_tcp_open(&srv->listener, fd);
  if (rc != 0) close(fd); /* not adopted by the handle */
  else rc = uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG, on_connection);
  if (rc != 0) {
    dt_seterr(err, errlen, DT_EIO, "listen %s: %s", opts->listen, uv_strerror(rc));
    dt_http_server_close(srv, NULL, NULL);
    return DT_EIO;
  }
  if (opts->metrics) {
    dt_metrics_describe(opts->metrics, "dt_http_requests_total", "counter",
                        "HTTP requests answered, by route and status.");
    dt_metrics_describe(opts->metrics, "dt_http_connections", "gauge", "Open HTTP connections.");
    dt_metrics_describe(opts->metrics, "dt_http_connections_rejected_total", "counter",
                        "Connections closed at accept because the connection limit was reached.");
    dt_metrics_describe(opts->metrics, "dt_http_connections_rejected_per_ip_total", "counter",
                        "Connections closed at accept because their address had too many open.");
    dt_metrics_describe(opts->metrics, "dt_http_connections_evicted_total", "counter",
                        "Silent connections closed to make room at the connection limit.");
    dt_metrics_describe(opts->metrics, "dt_http_header_timeouts_total", "counter",
                        "Connections that sent nothing, or no complete headers, within the header timeout.");
    dt_metrics_describe(opts->metrics, "dt_http_body_budget_refusals_total", "counter",
                        "Requests refused (503) because the request body budget was spent.");
    dt_metrics_describe(opts->metrics, "dt_http_accept_errors_total", "counter",
                        "Failed accepts (e.g. out of file descriptors).");
    dt_metrics_add(opts->metrics, "dt_http_connections", NULL, 0);
  }
  dt_log_debug("http: listening on %s (port %d)%s", opts->listen, port, tls ? " with TLS" : "");
  *out = srv;
  return 0;
}

int dt_http_server_port(const dt_http_server_t *srv) { return srv ? srv->port : 0; }

unsigned dt_http_server_connection_count(const dt_http_server_t *srv) { return srv ? srv->nconns : 0; }

uint64_t dt_http_server_accepted_total(const dt_http_server_t *srv) { return srv ? srv->accepted : 0; }

void dt_http_server_close(dt_http_server_t *srv, void (*done)(void *ud), void *ud) {
  if (!srv || srv->closing) return;
  srv->closing = true;
  srv->done = done;
  srv->done_ud = ud;
  uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
  uv_idle_stop(&srv->resume_idle);
  uv_close((uv_handle_t *)&srv->resume_idle, on_listener_closed);
  srv->resume_head = NULL;
  while (srv->conns) conn_close(srv->conns);
}
