/*
 * http_server.c — HTTP/1.1 ingress on a libuv loop, parsed by llhttp, optionally over TLS
 * (see http_server.h for the contract).
 *
 * Owns: the listening socket, accepting connections (the connection limit with eviction of
 * the oldest silent one, the per-address cap, the TLS session), the public answering calls
 * (respond, stream) and the server's life (start, close). The rest of the server sits below
 * this file, each part below the next (http_internal.h lists them): a connection's input
 * (http_input.c), its output and life (http_conn.c), requests and answer bytes
 * (http_response.c), limits bookkeeping (http_limits.c).
 *
 * How a connection works:
 *  - Bytes (plaintext, or decrypted by tls.c) go to llhttp (http_input.c). Requests join the
 *    connection's response queue in arrival order. Answers are formatted into the request's
 *    own buffer; flush writes buffers from the head of the queue only, so responses leave in
 *    request order however the handler answers (http_conn.c).
 *  - Errors the server answers itself (400, 408, 413, 431, 503) are queued like responses,
 *    then the connection is shut down gracefully.
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
#include <unistd.h>
#include "dialtone/error.h"
#include "dialtone/http_server.h"
#include "dialtone/log.h"
#include "http_conn.h"
#include "http_input.h"
#include "http_internal.h"
#include "http_limits.h"
#include "http_response.h"

#define STREAM_MAX_BUFFERED (4u << 20) /* stream_write refuses beyond this backlog */
/* Accept queue. 511 overflowed when thousands of calls opened connections together (the
   kernel then drops SYNs and the client retries a second later: docs/performance.md);
   the kernel caps this at net.core.somaxconn (4096 since Linux 5.4). */
#define LISTEN_BACKLOG 65535

typedef dt__http_conn_t conn_t;
typedef dt__http_req_t req_t;

static unsigned min_u(unsigned a, unsigned b) { return a < b ? a : b; }

/* ---------------------------------------------------------------- answering */

static req_t *req_of(dt_http_request_t *pub) { return DT_CONTAINER_OF(pub, req_t, pub); }

const char *dt_http_request_header(const dt_http_request_t *req, const char *name) {
  return dt__http_header_find(req, name);
}

const char *dt_http_status_text(int status) { return dt__http_reason(status); }

void dt_http_request_set_route(dt_http_request_t *req, const char *route) {
  if (req) req_of(req)->route = route;
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
  if (r->internal || r->state != DT__RS_PENDING) return DT_ESTATE;
  if (!r->conn) {
    dt__http_req_free(r);
    return DT_ECLOSED;
  }
  return 0;
}

int dt_http_respond_ex(dt_http_request_t *req, int status, const dt_http_header_t *headers,
                       size_t header_count, const char *body, size_t body_len) {
  if (!req || status < 200 || status > 999 || (body_len && !body)) return DT_EINVAL;
  int rc = dt__http_check_headers(headers, header_count);
  if (rc) return rc;
  req_t *r = req_of(req);
  if ((rc = answer_prologue(r)) != 0) return rc;
  if (r->srv->closing) r->close_after = true;
  dt__http_format_head(r, status, headers, header_count, false, body, body_len);
  dt__http_count_request(r->srv, r->route, status);
  r->state = DT__RS_DONE;
  note_answered(r);
  dt__http_conn_flush(r->conn);
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
  int rc = dt__http_check_headers(headers, header_count);
  if (rc) return rc;
  req_t *r = req_of(req);
  if ((rc = answer_prologue(r)) != 0) return rc;
  if (r->head_method || status == 204 || status == 304) {
    r->stream_mode = DT__STREAM_NOBODY;
  } else if (r->http10) {
    /* No chunked coding in HTTP/1.0: the body ends when the connection does. */
    r->stream_mode = DT__STREAM_RAW;
    r->close_after = true;
  } else {
    r->stream_mode = DT__STREAM_CHUNKED;
  }
  if (r->srv->closing) r->close_after = true;
  r->on_abort = on_abort;
  r->abort_ud = ud;
  dt__http_format_head(r, status, headers, header_count, true, NULL, 0);
  dt__http_count_request(r->srv, r->route, status);
  r->state = DT__RS_STREAMING;
  note_answered(r);
  dt__http_conn_flush(r->conn);
  return 0;
}

int dt_http_stream_write(dt_http_request_t *req, const char *data, size_t len) {
  if (!req || (len && !data)) return DT_EINVAL;
  req_t *r = req_of(req);
  if (r->state != DT__RS_STREAMING || r->end_requested) return DT_ESTATE;
  conn_t *c = r->conn;
  if (!c || c->closing) return DT_ECLOSED;
  if (len == 0 || r->stream_mode == DT__STREAM_NOBODY) return 0;
  size_t backlog = r->out.len;
  if (c->head == r) backlog += uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
  if (backlog + len > STREAM_MAX_BUFFERED) return DT_ELIMIT;
  if (r->stream_mode == DT__STREAM_CHUNKED) {
    char hdr[24];
    int n = snprintf(hdr, sizeof hdr, "%zx\r\n", len);
    dt_buf_append(&r->out, hdr, (size_t)n);
    dt_buf_append(&r->out, data, len);
    dt_buf_append(&r->out, "\r\n", 2);
  } else {
    dt_buf_append(&r->out, data, len);
  }
  if (c->head == r) dt__http_conn_flush(c);
  return 0;
}

void dt_http_stream_end(dt_http_request_t *req) {
  if (!req) return;
  req_t *r = req_of(req);
  if (r->state != DT__RS_STREAMING || r->end_requested) return;
  if (r->in_abort) {
    r->end_requested = true;
    return;
  }
  conn_t *c = r->conn;
  if (!c) {
    dt__http_req_free(r);
    return;
  }
  if (r->stream_mode == DT__STREAM_CHUNKED) dt_buf_append(&r->out, "0\r\n\r\n", 5);
  r->state = DT__RS_DONE;
  dt__http_conn_flush(c);
}

/* ---------------------------------------------------------------- accepting */

static void on_reject_closed(uv_handle_t *h) {
  dt_http_server_t *srv = h->data;
  free(h);
  srv->handles_open--;
  dt__http_server_maybe_done(srv);
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
    dt__http_metric_inc(srv, "dt_http_accept_errors_total");
    dt__http_log_refusal(srv, "a connection (accept failed)", uv_strerror(status));
    return;
  }
  if (srv->closing) return;
  if (dt_list_count(&srv->conns) >= srv->opts.max_connections && srv->silent.head) {
    /* Full: the oldest connection that has not sent a byte makes room (a client with a
       request to send sends it at once; one that holds a slot silently is the attack). */
    conn_t *victim = DT_LIST_ENTRY(srv->silent.head, conn_t, silent_link);
    dt_log_debug("http: connection limit reached, closing %s (silent since it connected)", victim->remote);
    dt__http_metric_inc(srv, "dt_http_connections_evicted_total");
    dt__http_conn_close(victim);
  }
  if (dt_list_count(&srv->conns) >= srv->opts.max_connections) {
    dt__http_log_refusal(srv, "a connection (limits.max_connections reached)", "a client");
    uv_tcp_t *t = dt_xmalloc(sizeof *t);
    uv_tcp_init(srv->loop, t);
    t->data = srv;
    srv->handles_open++;
    (void)uv_accept(listener, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_reject_closed);
    dt__http_metric_inc(srv, "dt_http_connections_rejected_total");
    return;
  }
  conn_t *c = dt_xcalloc(1, sizeof *c);
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  srv->handles_open++;
  dt_list_push_front(&srv->conns, &c->link);
  if (srv->opts.metrics) dt_metrics_add(srv->opts.metrics, "dt_http_connections", NULL, 1);
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    dt__http_conn_close(c);
    return;
  }
  srv->accepted++;
  uv_tcp_nodelay(&c->tcp, 1);
  char ip[INET6_ADDRSTRLEN + 2];
  format_peer(&c->tcp, c->remote, sizeof c->remote, ip, sizeof ip);
  if (srv->opts.max_connections_per_ip && !dt__http_ip_count_take(srv, c, ip)) {
    dt__http_metric_inc(srv, "dt_http_connections_rejected_per_ip_total");
    dt__http_log_refusal(srv, "a connection (limits.max_connections_per_ip reached)", ip);
    dt__http_conn_close(c);
    return;
  }
  dt__http_silent_append(c);
  llhttp_init(&c->parser, HTTP_REQUEST, &srv->settings);
  c->parser.data = c;
  if (srv->tls) {
    c->tls = dt__tls_conn_new(srv->tls);
    if (!c->tls) {
      dt__http_conn_close(c);
      return;
    }
    dt__http_timer_set(c, DT__TM_HANDSHAKE, srv->opts.request_timeout_ms);
  } else {
    dt__http_timer_set(c, DT__TM_IDLE, min_u(srv->opts.idle_timeout_ms, srv->opts.header_timeout_ms));
  }
  dt__http_conn_update_read(c);
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
  dt__http_server_maybe_done(srv);
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
  if (tls) {
    srv->tls_cert_file = dt_xstrdup(opts->tls_cert_file);
    srv->tls_key_file = dt_xstrdup(opts->tls_key_file);
  }
  srv->port = port;

  dt__http_input_init(srv);

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
  dt__http_metrics_describe(opts->metrics);
  dt_log_debug("http: listening on %s (port %d)%s", opts->listen, port, tls ? " with TLS" : "");
  *out = srv;
  return 0;
}

int dt_http_server_port(const dt_http_server_t *srv) { return srv ? srv->port : 0; }

int dt_http_server_reload_tls(dt_http_server_t *srv, char *err, size_t errlen) {
  if (!srv || !srv->tls) return dt_seterr(err, errlen, DT_EINVAL, "this listener does not serve TLS");
  dt__tls_config_t *fresh = NULL;
  int rc = dt__tls_config_new(srv->tls_cert_file, srv->tls_key_file, &fresh, err, errlen);
  if (rc) return rc; /* the old certificate stays in use */
  dt__tls_config_free(srv->tls); /* connections on it keep it until they close */
  srv->tls = fresh;
  return 0;
}

unsigned dt_http_server_connection_count(const dt_http_server_t *srv) {
  return srv ? (unsigned)dt_list_count(&srv->conns) : 0;
}

uint64_t dt_http_server_accepted_total(const dt_http_server_t *srv) { return srv ? srv->accepted : 0; }

void dt_http_server_close(dt_http_server_t *srv, void (*done)(void *ud), void *ud) {
  if (!srv || srv->closing) return;
  srv->closing = true;
  srv->done = (dt_done_t){done, ud};
  uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
  uv_idle_stop(&srv->resume_idle);
  uv_close((uv_handle_t *)&srv->resume_idle, on_listener_closed);
  srv->resume_head = NULL;
  while (srv->conns.head) dt__http_conn_close(DT_LIST_ENTRY(srv->conns.head, conn_t, link));
}
