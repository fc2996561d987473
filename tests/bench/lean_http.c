/*
 * lean_http.c — see lean_http.h: a minimal HTTP/1.1 keep-alive server and client pool on
 * libuv + llhttp for the benchmark's light tools. Why not the engine's own dt_http_server
 * and libcurl client: the floor must be what a minimal bot costs, and the light fake Graph
 * must cost far less than the engine per notification, so both stay this small.
 */
#include "lean_http.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <llhttp.h>

typedef struct {
  char *data;
  size_t len, cap;
} lh_buf_t;

static bool buf_add(lh_buf_t *b, const char *p, size_t n, size_t limit) {
  if (b->len + n > limit) return false;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return false;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return true;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[65536]; /* one loop, one read at a time: the bytes are parsed before the next */
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(slab, sizeof slab);
}

typedef struct {
  uv_write_t w;
  char bytes[];
} wreq_t;

static void on_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

/* Writes at once if the socket takes it all, else queues a copy of the rest. */
static int write_all(uv_stream_t *s, const char *p, size_t n) {
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  int r = uv_try_write(s, &b, 1);
  if (r == (int)n) return 0;
  if (r < 0 && r != UV_EAGAIN) return r;
  size_t done = r > 0 ? (size_t)r : 0;
  wreq_t *w = malloc(sizeof *w + n - done);
  if (!w) return UV_ENOMEM;
  memcpy(w->bytes, p + done, n - done);
  b = uv_buf_init(w->bytes, (unsigned)(n - done));
  r = uv_write(&w->w, s, &b, 1, on_written);
  if (r) free(w);
  return r;
}

/* ------------------------------------------------------------------ server */

struct lh_server_s {
  uv_tcp_t tcp;
  uv_loop_t *loop;
  struct lh_conn_s *conns; /* every open connection (closed with the server) */
  lh_request_fn fn;
  void *ud;
};

struct lh_conn_s {
  uv_tcp_t tcp;
  lh_server_t *srv;
  struct lh_conn_s *next;
  llhttp_t parser;
  llhttp_settings_t settings;
  lh_buf_t target, body, out;
  bool too_big, closing;
};

static int srv_on_begin(llhttp_t *p) {
  lh_conn_t *c = p->data;
  c->target.len = c->body.len = 0;
  return 0;
}

static int srv_on_url(llhttp_t *p, const char *at, size_t n) {
  lh_conn_t *c = p->data;
  if (!buf_add(&c->target, at, n, LH_MAX_TARGET)) c->too_big = true;
  return c->too_big ? -1 : 0;
}

static int srv_on_body(llhttp_t *p, const char *at, size_t n) {
  lh_conn_t *c = p->data;
  if (!buf_add(&c->body, at, n, LH_MAX_BODY)) c->too_big = true;
  return c->too_big ? -1 : 0;
}

static int srv_on_complete(llhttp_t *p) {
  lh_conn_t *c = p->data;
  const char *m = llhttp_method_name((llhttp_method_t)p->method);
  c->srv->fn(c, m, c->target.data ? c->target.data : "", c->target.len, c->body.data ? c->body.data : "",
             c->body.len, c->srv->ud);
  return 0;
}

static void conn_free(uv_handle_t *h) {
  lh_conn_t *c = (lh_conn_t *)h;
  free(c->target.data);
  free(c->body.data);
  free(c->out.data);
  free(c);
}

static void conn_close(lh_conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  for (lh_conn_t **pp = &c->srv->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  uv_close((uv_handle_t *)&c->tcp, conn_free);
}

void lh_respond(lh_conn_t *c, int status, const char *content_type, const char *body, size_t len) {
  char head[256];
  const char *reason = status == 200 ? "OK" : status == 202 ? "Accepted" : status == 204 ? "No Content"
                                                                                          : status == 404 ? "Not Found" : "Status";
  int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", status,
                   reason, content_type ? content_type : "application/json", len);
  buf_add(&c->out, head, (size_t)n, SIZE_MAX);
  if (len) buf_add(&c->out, body, len, SIZE_MAX);
}

static void srv_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  lh_conn_t *c = (lh_conn_t *)s;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0) return;
  llhttp_errno_t e = llhttp_execute(&c->parser, buf->base, (size_t)n);
  /* the answers to every request in this read leave in one write */
  if (c->out.len) {
    if (write_all(s, c->out.data, c->out.len) != 0) e = HPE_USER;
    c->out.len = 0;
  }
  if (e != HPE_OK) conn_close(c);
}

static void srv_on_conn(uv_stream_t *l, int status) {
  lh_server_t *srv = l->data;
  if (status < 0) return;
  lh_conn_t *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = srv;
  c->next = srv->conns;
  srv->conns = c;
  uv_tcp_init(srv->loop, &c->tcp);
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_settings_init(&c->settings);
  c->settings.on_message_begin = srv_on_begin;
  c->settings.on_url = srv_on_url;
  c->settings.on_body = srv_on_body;
  c->settings.on_message_complete = srv_on_complete;
  llhttp_init(&c->parser, HTTP_REQUEST, &c->settings);
  c->parser.data = c;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, srv_on_read);
}

int lh_server_start(uv_loop_t *loop, int port, lh_request_fn fn, void *ud, lh_server_t **out, int *bound) {
  lh_server_t *s = calloc(1, sizeof *s);
  if (!s) return UV_ENOMEM;
  s->loop = loop;
  s->fn = fn;
  s->ud = ud;
  uv_tcp_init(loop, &s->tcp);
  s->tcp.data = s;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  int r = uv_tcp_bind(&s->tcp, (const struct sockaddr *)&a, 0);
  if (r == 0) r = uv_listen((uv_stream_t *)&s->tcp, 1024, srv_on_conn);
  if (r == 0 && bound) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    r = uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len);
    *bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  if (r) {
    uv_close((uv_handle_t *)&s->tcp, (uv_close_cb)free);
    return r;
  }
  *out = s;
  return 0;
}

void lh_server_close(lh_server_t *s) {
  if (!s) return;
  while (s->conns) conn_close(s->conns);
  uv_close((uv_handle_t *)&s->tcp, (uv_close_cb)free);
}

/* ------------------------------------------------------------------ client pool */

typedef struct pending_s {
  struct pending_s *next;
  lh_response_fn fn;
  void *ud;
  size_t len;
  char bytes[];
} pending_t;

typedef struct cconn_s {
  uv_tcp_t tcp;
  uv_connect_t connect;
  struct lh_pool_s *pool;
  struct cconn_s *next_idle, *next_all;
  llhttp_t parser;
  pending_t *cur; /* the request in flight (NULL = idle) */
  bool connected, closing;
} cconn_t;

struct lh_pool_s {
  uv_loop_t *loop;
  struct sockaddr_in addr;
  llhttp_settings_t settings;
  unsigned max_conns, nconns;
  unsigned long connects;
  cconn_t *idle, *all;
  pending_t *head, *tail;
  size_t pending;
  bool closing;
};

static void pool_dispatch(lh_pool_t *p);

static void finish(cconn_t *c, int status) {
  pending_t *q = c->cur;
  c->cur = NULL;
  if (!q) return;
  c->pool->pending--;
  q->fn(status, q->ud);
  free(q);
}

static void cconn_free(uv_handle_t *h) { free(h); }

static void cconn_close(cconn_t *c) {
  if (c->closing) return;
  c->closing = true;
  lh_pool_t *p = c->pool;
  p->nconns--;
  for (cconn_t **pp = &p->idle; *pp; pp = &(*pp)->next_idle)
    if (*pp == c) {
      *pp = c->next_idle;
      break;
    }
  for (cconn_t **pp = &p->all; *pp; pp = &(*pp)->next_all)
    if (*pp == c) {
      *pp = c->next_all;
      break;
    }
  finish(c, -1);
  uv_close((uv_handle_t *)&c->tcp, cconn_free);
  if (!p->closing) pool_dispatch(p);
}

static int cli_on_complete(llhttp_t *parser) {
  cconn_t *c = parser->data;
  finish(c, parser->status_code);
  if (c->pool->closing) return 0;
  c->next_idle = c->pool->idle;
  c->pool->idle = c;
  pool_dispatch(c->pool);
  return 0;
}

static void cli_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  cconn_t *c = (cconn_t *)s;
  if (n < 0) {
    cconn_close(c);
    return;
  }
  if (n > 0 && llhttp_execute(&c->parser, buf->base, (size_t)n) != HPE_OK) cconn_close(c);
}

static void cconn_send(cconn_t *c, pending_t *q) {
  c->cur = q;
  if (write_all((uv_stream_t *)&c->tcp, q->bytes, q->len) != 0) cconn_close(c);
}

static void on_connected(uv_connect_t *r, int status) {
  cconn_t *c = r->data;
  if (c->closing) return;
  if (status < 0) {
    cconn_close(c);
    return;
  }
  c->connected = true;
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, cli_on_read);
  cconn_send(c, c->cur);
}

static void pool_dispatch(lh_pool_t *p) {
  while (p->head) {
    cconn_t *c = p->idle;
    if (c) {
      p->idle = c->next_idle;
    } else if (p->nconns < p->max_conns) {
      c = calloc(1, sizeof *c);
      if (!c) return;
      c->pool = p;
      uv_tcp_init(p->loop, &c->tcp);
      llhttp_init(&c->parser, HTTP_RESPONSE, &p->settings);
      c->parser.data = c;
      c->connect.data = c;
      c->next_all = p->all;
      p->all = c;
      p->nconns++;
      p->connects++;
    } else {
      return;
    }
    pending_t *q = p->head;
    p->head = q->next;
    if (!p->head) p->tail = NULL;
    if (c->connected) {
      cconn_send(c, q);
    } else {
      c->cur = q;
      if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&p->addr, on_connected) != 0) cconn_close(c);
    }
  }
}

lh_pool_t *lh_pool_new(uv_loop_t *loop, const char *url, unsigned max_conns) {
  char host[64];
  int port = 0;
  if (sscanf(url, "http://%63[^:/]:%d", host, &port) != 2 || port <= 0 || port > 65535) return NULL;
  lh_pool_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (uv_ip4_addr(host, port, &p->addr) != 0) {
    free(p);
    return NULL;
  }
  p->loop = loop;
  p->max_conns = max_conns ? max_conns : 1;
  llhttp_settings_init(&p->settings);
  p->settings.on_message_complete = cli_on_complete;
  return p;
}

void lh_pool_send(lh_pool_t *p, const char *bytes, size_t len, lh_response_fn fn, void *ud) {
  pending_t *q = malloc(sizeof *q + len);
  if (!q) {
    fn(-1, ud);
    return;
  }
  q->next = NULL;
  q->fn = fn;
  q->ud = ud;
  q->len = len;
  memcpy(q->bytes, bytes, len);
  if (p->tail) p->tail->next = q;
  else p->head = q;
  p->tail = q;
  p->pending++;
  pool_dispatch(p);
}

size_t lh_pool_pending(const lh_pool_t *p) { return p->pending; }
unsigned long lh_pool_connects(const lh_pool_t *p) { return p->connects; }

void lh_pool_close(lh_pool_t *p) {
  if (!p) return;
  p->closing = true;
  while (p->all) cconn_close(p->all);
  while (p->head) {
    pending_t *q = p->head;
    p->head = q->next;
    p->pending--;
    q->fn(-1, q->ud);
    free(q);
  }
  p->tail = NULL;
  free(p);
}
