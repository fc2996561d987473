/*
 * http_client.c — asynchronous HTTP(S) on a libuv loop through libcurl's multi interface.
 *
 * Owns: one CURLM per client, one uv_timer_t (curl's timeout), one uv_poll_t per socket
 * curl asks us to watch (stored on the socket with curl_multi_assign), and a small free
 * list of easy handles that are reused across requests (curl keeps the connection cache
 * in the multi, so keep-alive connections are shared by every easy handle).
 *
 * Promises (see http_client.h): the callback runs exactly once per request that is not
 * cancelled, always from the loop (a new transfer is only started by curl's timer, never
 * inside dt_http_client_send), and never after dt_http_call_cancel. Curl is only driven
 * from libuv callbacks and from send/cancel/close, never from inside a curl callback.
 *
 * The driving follows curl's docs/examples/multi-uv.c: CURLMOPT_SOCKETFUNCTION maps curl's
 * socket interest onto uv_poll_start/stop, CURLMOPT_TIMERFUNCTION onto one uv_timer_t
 * (0 ms becomes 1 ms so curl is never re-entered from its own callback), and every
 * curl_multi_socket_action is followed by draining curl_multi_info_read.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <curl/curl.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/http_client.h"
#include "dialtone/list.h"
#include "dialtone/log.h"

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_RESPONSE (8u * 1024u * 1024u)
#define MAX_RESPONSE_HEADER_BYTES (64u * 1024u)
#define MAX_REQUEST_HEADERS 128u
#define MAX_REQUEST_HEADER_BYTES (64u * 1024u)
#define MAX_FREE_CALLS 64u
/* Idle keep-alive connections the multi keeps. curl's default (4 x the easy handles
   added *now*) shrinks as soon as fewer requests are in flight and closes connections a
   moment later needed again: under load every burst reconnected, and the peer's accept
   queue overflowed (docs/performance.md). */
#define MAX_IDLE_CONNECTIONS 4096L
/* Buffers bigger than this are released when a call goes back to the free list, so one
   large download does not pin its memory for the life of the client. */
#define KEEP_BUF_BYTES (64u * 1024u)

typedef struct sock_ctx_s {
  uv_poll_t poll;
  curl_socket_t fd;
  int events;  /* what the poll handle watches now (0 = stopped) */
  bool idle;   /* curl said CURL_POLL_REMOVE: a kept-alive connection between transfers */
  dt_http_client_t *client;
  dt_list_node_t link; /* in client->socks */
} sock_ctx_t;

enum { CALL_FREE = 0, CALL_ACTIVE, CALL_DELIVERING };

struct dt_http_call_s {
  dt_http_client_t *client;
  CURL *easy;
  int state;
  dt_http_response_fn cb;
  void *ud;
  dt_list_node_t link; /* in client->active, or client->free_list */
  size_t max_bytes;
  bool too_big;
  /* request: header lines ("Name: value\0...") and curl_slist nodes pointing into them */
  dt_buf_t req_hdr;
  struct curl_slist *slist;
  size_t slist_cap;
  dt_buf_t req_body;
  /* response */
  dt_buf_t body;
  dt_buf_t resp_hdr; /* "name\0value\0" pairs of the current response */
  size_t resp_hdr_count;
  dt_http_header_t *hdrs;
  size_t hdrs_cap;
  char errbuf[CURL_ERROR_SIZE];
  /* the request's URL, pre-parsed (see set_url) */
  CURLU *uh;
  char uh_base[256]; /* "scheme://authority" uh holds; "" = none */
};

struct dt_http_client_s {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  dt_metrics_t *metrics;
  char *ca_file;
  bool insecure_tls;
  bool no_proxy_env; /* no proxy variable was set when the client was made */
  dt_list_t active;    /* of dt_http_call_t.link; count = pending */
  dt_list_t free_list; /* of dt_http_call_t.link, most recently used first */
  dt_list_t socks;     /* of sock_ctx_t.link */
  sock_ctx_t **by_fd; /* the poll handle of each socket curl has open, by descriptor */
  unsigned char *conn_fd; /* 1: a connection socket curl opened through on_open_socket */
  size_t nby_fd;
  unsigned open_handles;
  bool closing;
  dt_done_t done;
};

#define CALL_OF(node) DT_LIST_ENTRY(node, dt_http_call_t, link)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_global_once(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- sockets and timer (multi-uv.c) ---- */

static void check_multi_info(dt_http_client_t *c);
static void maybe_finish(dt_http_client_t *c);

static void on_sock_closed(uv_handle_t *h) {
  sock_ctx_t *ctx = h->data;
  dt_http_client_t *c = ctx->client;
  free(ctx);
  c->open_handles--;
  maybe_finish(c);
}

static sock_ctx_t *sock_lookup(dt_http_client_t *c, curl_socket_t s) {
  return s >= 0 && (size_t)s < c->nby_fd ? c->by_fd[s] : NULL;
}

static bool fd_table_fit(dt_http_client_t *c, curl_socket_t s) {
  if (s < 0 || s > (1 << 24)) return false;
  if ((size_t)s >= c->nby_fd) {
    size_t n = c->nby_fd ? c->nby_fd : 64;
    while (n <= (size_t)s) n *= 2;
    c->by_fd = dt_xrealloc(c->by_fd, n * sizeof *c->by_fd);
    memset(c->by_fd + c->nby_fd, 0, (n - c->nby_fd) * sizeof *c->by_fd);
    c->conn_fd = dt_xrealloc(c->conn_fd, n);
    memset(c->conn_fd + c->nby_fd, 0, n - c->nby_fd);
    c->nby_fd = n;
  }
  return true;
}

static void sock_destroy(sock_ctx_t *ctx) {
  dt_http_client_t *c = ctx->client;
  if (sock_lookup(c, ctx->fd) == ctx) c->by_fd[ctx->fd] = NULL;
  dt_list_remove(&c->socks, &ctx->link);
  uv_close((uv_handle_t *)&ctx->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_ctx_t *ctx = h->data;
  dt_http_client_t *c = ctx->client;
  if (ctx->idle) {
    /* the peer closed (or wrote to) a connection between transfers: curl's own check at
       its next use decides; stop watching so a readable EOF does not spin the loop */
    uv_poll_stop(&ctx->poll);
    ctx->events = 0;
    return;
  }
  int flags = 0, running = 0;
  if (status < 0) {
    ctx->events = 0; /* libuv stopped the handle itself (POLLERR): the next start is real */
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  curl_multi_socket_action(c->multi, ctx->fd, flags, &running);
  check_multi_info(c);
}

/* Curl reports CURL_POLL_REMOVE for a kept-alive connection after every transfer and
   asks again for the next one. Destroying and re-creating the poll handle each time cost
   an allocation, an ioctl and three epoll_ctl calls per request (a fifth of the engine's
   system calls under load), so the handle lives until curl closes the socket
   (on_close_socket). And since every uv_poll_start is an epoll DEL + ADD even when
   nothing changes, a REMOVE leaves a readable watch in place (idle: on_poll then only
   stops it) and a start with the events already watched is skipped: a request on a
   kept-alive connection costs no epoll_ctl at all. Only connection sockets are kept:
   curl closes them through on_close_socket, which drops the handle first; other
   descriptors curl watches (the threaded resolver's wake-up pipe) it closes itself, so
   their handle goes at REMOVE as before. Handles are found by descriptor, never through
   socketp: a REMOVE may follow the close. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp) {
  dt_http_client_t *c = userp;
  sock_ctx_t *ctx = sock_lookup(c, s);
  if (action == CURL_POLL_REMOVE) {
    if (ctx && !c->conn_fd[s]) {
      sock_destroy(ctx);
    } else if (ctx) {
      ctx->idle = true;
      if (ctx->events != UV_READABLE && ctx->events != 0) {
        uv_poll_stop(&ctx->poll);
        ctx->events = 0;
      }
    }
    return 0;
  }
  int events = 0;
  if (action == CURL_POLL_IN || action == CURL_POLL_INOUT) events |= UV_READABLE;
  if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT) events |= UV_WRITABLE;
  if (ctx == NULL) {
    if (!fd_table_fit(c, s)) return -1;
    ctx = dt_xcalloc(1, sizeof *ctx);
    if (uv_poll_init_socket(c->loop, &ctx->poll, s) != 0) {
      free(ctx);
      return -1;
    }
    c->by_fd[s] = ctx;
    ctx->fd = s;
    ctx->client = c;
    ctx->poll.data = ctx;
    dt_list_push_front(&c->socks, &ctx->link);
    c->open_handles++;
  }
  ctx->idle = false;
  if (c->closing) return 0; /* close() stopped every poll; keep it that way */
  if (events == ctx->events) return 0;
  if (uv_poll_start(&ctx->poll, events, on_poll) != 0) return -1;
  ctx->events = events;
  return 0;
}

/* The poll handle goes first, while the descriptor is still open: closing it drops the
   descriptor from epoll, which must never hit a later socket that reuses the number. */
static int on_close_socket(void *clientp, curl_socket_t s) {
  dt_http_client_t *c = clientp;
  sock_ctx_t *ctx = sock_lookup(c, s);
  if (ctx) sock_destroy(ctx);
  if (s >= 0 && (size_t)s < c->nby_fd) c->conn_fd[s] = 0;
  return close(s);
}

/* curl's own socket opening, plus a note that this descriptor is a connection (closed
   through on_close_socket). */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
  dt_http_client_t *c = clientp;
  curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (s == CURL_SOCKET_BAD) return s;
  if (!fd_table_fit(c, s)) {
    close(s);
    return CURL_SOCKET_BAD;
  }
  /* a handle left for this number means its socket was closed behind our back */
  sock_ctx_t *stale = sock_lookup(c, s);
  if (stale) sock_destroy(stale);
  c->conn_fd[s] = 1;
  return s;
}

static void on_timeout(uv_timer_t *t) {
  dt_http_client_t *c = t->data;
  int running = 0;
  curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_multi_info(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  dt_http_client_t *c = userp;
  if (c->closing) return 0;
  if (timeout_ms < 0) {
    uv_timer_stop(&c->timer);
  } else {
    /* 0 means "call socket_action now". A 0 ms uv timer fires from the loop's timer
       phase, after curl has returned, so curl is never re-entered; multi-uv.c's
       0 -> 1 ms rule would add a millisecond to every request's latency. */
    uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
  }
  return 0;
}

/* ---- easy handles ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  dt_http_call_t *call = ud;
  size_t len = size * n;
  if (len > call->max_bytes - call->body.len) {
    call->too_big = true;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  dt_buf_append(&call->body, data, len);
  return len;
}

static bool is_ows(char ch) { return ch == ' ' || ch == '\t'; }

static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  dt_http_call_t *call = ud;
  size_t len = size * n, end = len;
  /* A status line starts a new response (100 Continue, a redirect, a proxy's CONNECT
     reply); only the final response's headers are reported. */
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    dt_buf_reset(&call->resp_hdr);
    call->resp_hdr_count = 0;
    return len;
  }
  while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n')) end--;
  if (end == 0) return len;
  if (call->resp_hdr.len + end + 2 > MAX_RESPONSE_HEADER_BYTES) {
    call->too_big = true;
    return 0;
  }
  if (is_ows(data[0])) { /* obsolete line folding: continue the previous value */
    if (call->resp_hdr_count == 0) return len;
    size_t i = 0;
    while (i < end && is_ows(data[i])) i++;
    call->resp_hdr.len--; /* drop the value's NUL, append " more\0" */
    dt_buf_append(&call->resp_hdr, " ", 1);
    dt_buf_append(&call->resp_hdr, data + i, end - i);
    dt_buf_append(&call->resp_hdr, "", 1);
    return len;
  }
  const char *colon = memchr(data, ':', end);
  if (colon == NULL || colon == data) return len; /* not a header line; ignore */
  size_t name_len = (size_t)(colon - data);
  while (name_len > 0 && is_ows(data[name_len - 1])) name_len--;
  size_t v = (size_t)(colon - data) + 1;
  while (v < end && is_ows(data[v])) v++;
  size_t v_end = end;
  while (v_end > v && is_ows(data[v_end - 1])) v_end--;
  dt_buf_append(&call->resp_hdr, data, name_len);
  dt_buf_append(&call->resp_hdr, "", 1);
  dt_buf_append(&call->resp_hdr, data + v, v_end - v);
  dt_buf_append(&call->resp_hdr, "", 1);
  call->resp_hdr_count++;
  return len;
}

static dt_http_call_t *call_new(dt_http_client_t *c) {
  CURL *easy = curl_easy_init();
  if (easy == NULL) return NULL;
  dt_http_call_t *call = dt_xcalloc(1, sizeof *call);
  call->client = c;
  call->easy = easy;
  /* Everything that never changes between requests is set once per easy handle. */
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->errbuf);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, c);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, c);
  if (c->insecure_tls) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (c->ca_file) curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file);
  /* Without proxy variables, "no proxy for any host" is what curl would conclude anyway,
     but only after reading no_proxy, NO_PROXY and the proxy variables at every transfer
     (1% of the engine's instructions). A process's environment does not change. */
  if (c->no_proxy_env) curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  return call;
}

static void call_destroy(dt_http_call_t *call) {
  curl_easy_cleanup(call->easy);
  if (call->uh) curl_url_cleanup(call->uh);
  dt_buf_free(&call->req_hdr);
  dt_buf_free(&call->req_body);
  dt_buf_free(&call->body);
  dt_buf_free(&call->resp_hdr);
  free(call->slist);
  free(call->hdrs);
  free(call);
}

static void trim_buf(dt_buf_t *b) {
  if (b->cap > KEEP_BUF_BYTES) dt_buf_free(b);
  else dt_buf_reset(b);
}

static void call_recycle(dt_http_call_t *call) {
  dt_http_client_t *c = call->client;
  call->state = CALL_FREE;
  call->cb = NULL;
  call->ud = NULL;
  if (c->closing || dt_list_count(&c->free_list) >= MAX_FREE_CALLS) {
    call_destroy(call);
    return;
  }
  trim_buf(&call->req_hdr);
  trim_buf(&call->req_body);
  trim_buf(&call->body);
  trim_buf(&call->resp_hdr);
  dt_list_push_front(&c->free_list, &call->link);
}

static void active_unlink(dt_http_call_t *call) { dt_list_remove(&call->client->active, &call->link); }

/* ---- completion ---- */

static int map_curl_error(CURLcode rc, bool too_big) {
  switch (rc) {
    case CURLE_OK: return 0;
    case CURLE_COULDNT_CONNECT: return DT_ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST: return DT_EDNS;
    case CURLE_OPERATION_TIMEDOUT: return DT_ETIMEDOUT;
    case CURLE_FILESIZE_EXCEEDED: return DT_ETOOBIG;
    case CURLE_WRITE_ERROR: return too_big ? DT_ETOOBIG : DT_ECONN;
    case CURLE_OUT_OF_MEMORY: return DT_ENOMEM;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return DT_ETLS;
    default: return DT_ECONN;
  }
}

static void complete(dt_http_call_t *call, CURLcode rc) {
  dt_http_client_t *c = call->client;
  curl_multi_remove_handle(c->multi, call->easy);
  active_unlink(call);

  dt_http_response_t res;
  memset(&res, 0, sizeof res);
  curl_easy_getinfo(call->easy, CURLINFO_TOTAL_TIME, &res.total_seconds);
  res.error = map_curl_error(rc, call->too_big);
  if (res.error == 0) {
    long status = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
    res.status = (int)status;
    res.error_message = "";
    if (call->resp_hdr_count > call->hdrs_cap) {
      free(call->hdrs);
      call->hdrs_cap = call->resp_hdr_count;
      call->hdrs = dt_xmalloc(call->hdrs_cap * sizeof *call->hdrs);
    }
    const char *p = call->resp_hdr.data;
    for (size_t i = 0; i < call->resp_hdr_count; i++) {
      call->hdrs[i].name = p;
      p += strlen(p) + 1;
      call->hdrs[i].value = p;
      p += strlen(p) + 1;
    }
    res.headers = call->hdrs;
    res.header_count = call->resp_hdr_count;
    res.body = call->body.data ? call->body.data : "";
    res.body_len = call->body.len;
  } else {
    res.error_message = call->errbuf[0] ? call->errbuf : curl_easy_strerror(rc);
    if (res.error == DT_ETOOBIG) res.error_message = "response too large";
    res.body = "";
  }

  if (c->metrics) {
    char labels[32];
    if (res.error == 0) snprintf(labels, sizeof labels, "status=\"%d\"", res.status);
    else snprintf(labels, sizeof labels, "status=\"error\"");
    dt_metrics_inc(c->metrics, "dt_egress_requests_total", labels);
    dt_metrics_observe(c->metrics, "dt_egress_request_seconds", "", res.total_seconds);
  }

  call->state = CALL_DELIVERING; /* a cancel from inside the callback is a no-op */
  call->cb(&res, call->ud);
  call_recycle(call);
}

static void check_multi_info(dt_http_client_t *c) {
  CURLMsg *msg;
  int left;
  while (!c->closing && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    /* msg is invalid once the handle is removed: copy what we need first */
    CURL *easy = msg->easy_handle;
    CURLcode rc = msg->data.result;
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    dt_http_call_t *call = (dt_http_call_t *)priv;
    if (call && call->state == CALL_ACTIVE) complete(call, rc);
  }
}

/* ---- public API ---- */

int dt_http_client_new(uv_loop_t *loop, const dt_http_client_options_t *opts,
                       dt_http_client_t **out) {
  if (loop == NULL || out == NULL) return DT_EINVAL;
  pthread_once(&curl_once, curl_global_once);
  if (curl_init_rc != CURLE_OK) return DT_ENOMEM;
  dt_http_client_t *c = dt_xcalloc(1, sizeof *c);
  c->loop = loop;
  c->multi = curl_multi_init();
  if (c->multi == NULL) {
    free(c);
    return DT_ENOMEM;
  }
  if (opts) {
    c->metrics = opts->metrics;
    c->insecure_tls = opts->insecure_tls;
    if (opts->ca_file && *opts->ca_file) c->ca_file = dt_xstrdup(opts->ca_file);
    if (opts->max_connections_per_host)
      curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)opts->max_connections_per_host);
  }
  static const char *const proxy_vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
  c->no_proxy_env = true;
  for (size_t i = 0; i < DT_ARRAY_SIZE(proxy_vars); i++) {
    const char *v = getenv(proxy_vars[i]);
    if (v && *v) c->no_proxy_env = false;
  }
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  c->open_handles = 1;
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, MAX_IDLE_CONNECTIONS);
  if (c->metrics) {
    dt_metrics_describe(c->metrics, "dt_egress_requests_total", "counter",
                        "Outgoing HTTP requests by status (\"error\" on transport failure).");
    dt_metrics_describe(c->metrics, "dt_egress_request_seconds", "histogram",
                        "Duration of outgoing HTTP requests.");
  }
  *out = c;
  return 0;
}

static bool has_crlf(const char *s) {
  for (; *s; s++)
    if (*s == '\r' || *s == '\n') return true;
  return false;
}

/* Builds curl's header list without a malloc per header: the lines live in one buffer
   and the list nodes in one array, both reused by the next request on this handle. */
static int build_headers(dt_http_call_t *call, const dt_http_request_options_t *req, bool body) {
  size_t n = req->header_count + (body ? 1 : 0);
  if (req->header_count > MAX_REQUEST_HEADERS) return DT_ETOOBIG;
  if (n == 0) return 0;
  dt_buf_reset(&call->req_hdr);
  for (size_t i = 0; i < req->header_count; i++) {
    const char *name = req->headers[i].name, *value = req->headers[i].value;
    if (name == NULL || *name == '\0' || strchr(name, ':') || has_crlf(name)) return DT_EINVAL;
    if (value == NULL) value = "";
    if (has_crlf(value)) return DT_EINVAL;
    dt_buf_append(&call->req_hdr, name, strlen(name));
    /* curl reads "Name:" as "remove this header"; "Name;" sends it empty */
    if (*value) {
      dt_buf_append(&call->req_hdr, ": ", 2);
      dt_buf_append(&call->req_hdr, value, strlen(value));
    } else {
      dt_buf_append(&call->req_hdr, ";", 1);
    }
    dt_buf_append(&call->req_hdr, "", 1);
    if (call->req_hdr.len > MAX_REQUEST_HEADER_BYTES) return DT_ETOOBIG;
  }
  /* curl would wait up to a second for "100 Continue" on larger bodies */
  if (body) dt_buf_append(&call->req_hdr, "Expect:", sizeof "Expect:");
  if (n > call->slist_cap) {
    free(call->slist);
    call->slist_cap = n < 8 ? 8 : n;
    call->slist = dt_xmalloc(call->slist_cap * sizeof *call->slist);
  }
  char *p = call->req_hdr.data;
  for (size_t i = 0; i < n; i++) {
    call->slist[i].data = p;
    call->slist[i].next = i + 1 < n ? &call->slist[i + 1] : NULL;
    p += strlen(p) + 1;
  }
  return 0;
}

static bool url_tail_plain(const char *s) {
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~/%?=&:@!$'()*+,;", ch)))
      return false;
  }
  return true;
}

/* The URL as a CURLU handle of the call's own. Given a URL string, curl parses it and
   then prints it back with its own printf at every transfer (a tenth of the engine's
   instructions per Graph request); given a handle it only reads the parts. A call's
   handle keeps scheme and authority, so a request to the same server only sets the path
   and query (when they hold nothing the full parser would rewrite: no dot segments,
   fragments or unusual characters). Each call has its own handle because curl copies it
   only when the transfer starts, after dt_http_client_send returned. Any trouble falls
   back to CURLOPT_URL. */
static void set_url(dt_http_call_t *call, const char *url) {
  CURL *e = call->easy;
  const char *sep = strstr(url, "://");
  const char *tail = sep ? sep + 3 + strcspn(sep + 3, "/?#") : NULL;
  size_t base_len = tail ? (size_t)(tail - url) : 0;
  bool plain = tail && base_len < sizeof call->uh_base && url_tail_plain(tail) && !strstr(tail, "/.") &&
               (tail[0] == '/' || tail[0] == '\0');
  if (plain && !call->uh) call->uh = curl_url();
  if (!plain || !call->uh) goto fallback;
  if (call->uh_base[0] && strlen(call->uh_base) == base_len && memcmp(call->uh_base, url, base_len) == 0) {
    const char *q = strchr(tail, '?');
    char path[2048];
    size_t plen = q ? (size_t)(q - tail) : strlen(tail);
    if (plen >= sizeof path) goto full;
    memcpy(path, tail, plen);
    path[plen] = '\0';
    if (curl_url_set(call->uh, CURLUPART_PATH, plen ? path : "/", 0) != CURLUE_OK ||
        curl_url_set(call->uh, CURLUPART_QUERY, q && q[1] ? q + 1 : NULL, 0) != CURLUE_OK)
      goto full;
  } else {
  full:
    call->uh_base[0] = '\0';
    if (curl_url_set(call->uh, CURLUPART_URL, url, 0) != CURLUE_OK) goto fallback;
    memcpy(call->uh_base, url, base_len);
    call->uh_base[base_len] = '\0';
  }
  curl_easy_setopt(e, CURLOPT_CURLU, call->uh);
  return;
fallback:
  if (call->uh) call->uh_base[0] = '\0';
  curl_easy_setopt(e, CURLOPT_CURLU, NULL);
  curl_easy_setopt(e, CURLOPT_URL, url);
}

int dt_http_client_send(dt_http_client_t *c, const dt_http_request_options_t *req,
                        dt_http_response_fn cb, void *ud, dt_http_call_t **out_call) {
  if (out_call) *out_call = NULL;
  if (c == NULL || req == NULL || req->url == NULL || cb == NULL) return DT_EINVAL;
  if (req->body_len > 0 && req->body == NULL) return DT_EINVAL;
  if (c->closing) return DT_ECLOSED;
  const char *method = req->method && *req->method ? req->method : "GET";
  if (has_crlf(method) || strchr(method, ' ')) return DT_EINVAL;

  dt_http_call_t *call = CALL_OF(dt_list_pop_front(&c->free_list));
  if (call == NULL) {
    call = call_new(c);
    if (call == NULL) return DT_ENOMEM;
  }
  CURL *e = call->easy;
  bool is_get = strcmp(method, "GET") == 0, is_head = strcmp(method, "HEAD") == 0;
  bool is_post = strcmp(method, "POST") == 0;
  bool send_body = req->body_len > 0 || is_post || strcmp(method, "PUT") == 0 ||
                   strcmp(method, "PATCH") == 0;
  int rc = build_headers(call, req, send_body);
  if (rc != 0) {
    call_recycle(call);
    return rc;
  }
  dt_buf_reset(&call->body);
  dt_buf_reset(&call->resp_hdr);
  call->resp_hdr_count = 0;
  call->too_big = false;
  call->errbuf[0] = '\0';
  call->max_bytes = req->max_response_bytes ? req->max_response_bytes : DEFAULT_MAX_RESPONSE;

  set_url(call, req->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->header_count || send_body ? call->slist : NULL);
  /* HTTPGET resets whatever method the previous request on this handle used */
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  if (is_head) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (send_body) {
    dt_buf_reset(&call->req_body);
    dt_buf_append(&call->req_body, req->body ? req->body : "", req->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->req_body.data);
  }
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, is_get || is_head || is_post ? NULL : method);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->max_bytes);

  call->cb = cb;
  call->ud = ud;
  call->state = CALL_ACTIVE;
  dt_list_push_front(&c->active, &call->link);
  /* Only arms curl's timer (via on_curl_timer); the transfer starts from the loop. */
  if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
    active_unlink(call);
    call_recycle(call);
    return DT_ENOMEM;
  }
  if (out_call) *out_call = call;
  return 0;
}

void dt_http_call_cancel(dt_http_call_t *call) {
  if (call == NULL || call->state != CALL_ACTIVE) return;
  curl_multi_remove_handle(call->client->multi, call->easy);
  active_unlink(call);
  call_recycle(call);
}

size_t dt_http_client_pending(const dt_http_client_t *c) { return c ? dt_list_count(&c->active) : 0; }

static void maybe_finish(dt_http_client_t *c) {
  if (!c->closing || c->open_handles > 0 || c->multi != NULL) return;
  DT_FREE_ALL(c->ca_file, c->by_fd, c->conn_fd);
  dt_free_then_done(c, c->done);
}

static void on_timer_closed(uv_handle_t *h) {
  dt_http_client_t *c = h->data;
  /* Deferred to here so a close() from inside a response callback never frees the
     multi under check_multi_info. Cleanup closes cached connections, which reports
     CURL_POLL_REMOVE for their sockets; any socket left is closed after. */
  curl_multi_cleanup(c->multi);
  c->multi = NULL;
  while (c->socks.head) sock_destroy(DT_LIST_ENTRY(c->socks.head, sock_ctx_t, link));
  for (dt_http_call_t *call; (call = CALL_OF(dt_list_pop_front(&c->free_list))) != NULL;) call_destroy(call);
  c->open_handles--;
  maybe_finish(c);
}

void dt_http_client_close(dt_http_client_t *c, void (*done)(void *ud), void *ud) {
  if (c == NULL || c->closing) return;
  while (c->active.head) dt_http_call_cancel(CALL_OF(c->active.head));
  c->closing = true;
  c->done = (dt_done_t){done, ud};
  for (dt_list_node_t *n = c->socks.head; n; n = n->next) {
    sock_ctx_t *s = DT_LIST_ENTRY(n, sock_ctx_t, link);
    uv_poll_stop(&s->poll);
    s->events = 0;
  }
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

const char *dt_http_response_header(const dt_http_response_t *res, const char *name) {
  if (res == NULL || name == NULL) return NULL;
  for (size_t i = 0; i < res->header_count; i++)
    if (dt_strcasecmp(res->headers[i].name, name) == 0) return res->headers[i].value;
  return NULL;
}
