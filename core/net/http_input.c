/*
 * http_input.c — a connection's input (see http_input.h).
 *
 * Owns: the bytes a connection receives until they are requests in its queue: TLS
 * decryption (the handshake too), llhttp parsing, and the request built when the headers
 * are complete -- ONE allocation holding the struct, the header array and all strings,
 * plus one for the body when there is one. Header names/values collect in a per-connection
 * scratch buffer that is reused across requests. Limits enforced while parsing: header
 * bytes and lines (431), body bytes (413), the body budget (503), the header and request
 * deadlines (timers armed here, fired in http_conn.c). Backpressure: at most
 * DT__HTTP_MAX_PIPELINE requests in flight per connection; beyond that llhttp is paused
 * (HPE_PAUSED from on_message_complete) and the unparsed rest is kept in pending_in.
 * Parsing is resumed from a uv_idle callback, never from inside a handler's respond call.
 * Promises: the handler gets each complete request once, in order, and never a request
 * parsed after one whose answer ends the connection (stop_parsing) or behind an
 * unanswered HTTP/1.0 request (the barrier).
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "http_conn.h"
#include "http_input.h"
#include "http_limits.h"
#include "http_response.h"

#define MAX_HEADERS 128 /* header lines per request (431 beyond) */

typedef dt__http_conn_t conn_t;
typedef dt__http_req_t req_t;

static void conn_parse(conn_t *c, const char *data, size_t len);

static unsigned min_u(unsigned a, unsigned b) { return a < b ? a : b; }

/* ---------------------------------------------------------------- resuming */

static void on_resume_idle(uv_idle_t *h) {
  dt_http_server_t *srv = h->data;
  conn_t *list = srv->resume_head;
  srv->resume_head = NULL;
  uv_idle_stop(h);
  while (list) {
    conn_t *c = list;
    list = c->resume_next;
    c->on_resume_list = false;
    if (c->closing || !c->paused || c->barrier || c->nreqs >= DT__HTTP_MAX_PIPELINE) continue;
    c->paused = false;
    llhttp_resume(&c->parser);
    dt_buf_t in = c->pending_in;
    c->pending_in = (dt_buf_t){0};
    if (in.len) conn_parse(c, in.data, in.len);
    dt_buf_free(&in);
    dt__http_conn_update_read(c);
  }
}

/* ---------------------------------------------------------------- TLS input */

static void tls_input(conn_t *c, const char *data, size_t len) {
  dt__tls_conn_set_input(c->tls, data, len);
  if (!dt__tls_conn_established(c->tls)) {
    int rc = dt__tls_conn_handshake(c->tls);
    if (rc < 0) {
      dt_log_debug("http: TLS handshake with %s failed: %s", c->remote, dt__tls_conn_error(c->tls));
      dt__http_tls_flush_output(c); /* the alert, best effort */
      dt__http_conn_close(c);
      return;
    }
    if (rc == DT__TLS_WANT_INPUT) {
      dt__http_tls_flush_output(c);
      return;
    }
    dt__http_timer_set(c, DT__TM_IDLE, min_u(c->srv->opts.idle_timeout_ms, c->srv->opts.header_timeout_ms));
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
      dt__http_tls_flush_output(c);
      if (!c->closing) dt__http_conn_eof(c);
      return;
    }
    dt_log_debug("http: TLS read from %s failed: %s", c->remote, dt__tls_conn_error(c->tls));
    dt__http_tls_flush_output(c);
    dt__http_conn_close(c);
    return;
  }
  if (!c->closing) dt__http_tls_flush_output(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  if (c->closing) return;
  if (nread < 0) {
    if (nread == UV_EOF) dt__http_conn_eof(c);
    else dt__http_conn_close(c);
    return;
  }
  if (nread == 0) return;
  dt__http_silent_remove(c);
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
    dt__http_conn_update_read(c);
    return;
  }
  if (err == HPE_PAUSED_UPGRADE) {
    /* No protocol upgrades here: the request was answered normally; close after it. */
    c->stop_parsing = true;
    c->close_when_drained = true;
    dt__http_conn_flush(c);
    return;
  }
  if (c->stop_parsing) return;
  int status = c->fail_status ? c->fail_status : 400;
  dt_log_debug("http: %s sent a bad request (%s), %d", c->remote, llhttp_errno_name(err), status);
  dt__http_conn_fail(c, status);
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
    dt__http_timer_set(c, DT__TM_HEADERS, c->srv->opts.header_timeout_ms);
  else
    dt__http_timer_set(c, DT__TM_REQUEST, c->srv->opts.request_timeout_ms);
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
  dt__http_metric_inc(c->srv, "dt_http_body_budget_refusals_total");
  dt__http_log_refusal(c->srv, "a request body (request body budget spent: limits.max_body_total_bytes)", c->remote);
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
  r->state = DT__RS_READING;
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
  if (c->timer_mode == DT__TM_HEADERS) dt__http_timer_set(c, DT__TM_REQUEST, srv->opts.request_timeout_ms);
  if (srv->opts.on_headers) {
    /* Decided before one byte of the body is read or buffered (e.g. authentication). */
    int status = srv->opts.on_headers(&r->pub, srv->opts.handler_ud);
    if (status != 0) {
      if (status < 400 || status > 599) status = 500;
      const char *route = r->route;
      free(r);
      c->stop_parsing = true;
      c->in_message = false;
      dt__http_timer_clear(c);
      dt__http_queue_error(c, status, route);
      dt__http_conn_flush(c);
      return -1; /* conn_parse sees stop_parsing: nothing after the headers is parsed */
    }
  }
  if (has_cl && p->content_length > 0) {
    if (!dt__http_body_budget_take(srv, (size_t)p->content_length + 1)) {
      free(r);
      return body_budget_refused(c);
    }
    r->body_cap = (size_t)p->content_length + 1;
    r->body_buf = dt_xmalloc(r->body_cap);
  }
  if ((chunked || (has_cl && p->content_length > 0)) && !r->http10) {
    const char *expect = dt__http_header_find(&r->pub, "Expect");
    if (expect && dt_strcasecmp(expect, "100-continue") == 0) r->expect_continue = true;
  }
  dt__http_queue_push(c, r);
  c->cur = r;
  if (r->expect_continue && c->head == r) dt__http_conn_flush(c);
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
    if (!dt__http_body_budget_take(c->srv, cap - r->body_cap)) return body_budget_refused(c);
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
  if (c->timer_mode == DT__TM_REQUEST) dt__http_timer_clear(c);
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
  r->state = DT__RS_PENDING;
  if (r->http10 && !r->close_after) c->barrier = r; /* cleared when answered (note_answered) */
  srv->opts.handler(&r->pub, srv->opts.handler_ud); /* may answer and free r */
  if (c->closing || c->stop_parsing || c->barrier || c->nreqs >= DT__HTTP_MAX_PIPELINE) return HPE_PAUSED;
  return 0;
}


/* ---------------------------------------------------------------- wiring */

void dt__http_input_init(dt_http_server_t *srv) {
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
  srv->on_read = on_read;
  srv->on_resume_idle = on_resume_idle;
}
