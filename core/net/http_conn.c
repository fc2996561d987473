/*
 * http_conn.c — a connection's output and life (see http_conn.h).
 *
 * Owns: the write path (uv_try_write first, uv_write only for what the socket did not
 * take; plaintext goes through the TLS session when there is one), the connection's one
 * timer (timer_mode: idle keep-alive, the request and header read deadlines (408), the TLS
 * handshake deadline, the lingering close), reading on and off (at most
 * DT__HTTP_MAX_PIPELINE requests in flight and WRITE_HIGH_WATER bytes queued), the graceful
 * close (FIN after the last answer, then the peer's input drained for LINGER_MS so it sees
 * the answer, not a reset) and the immediate one, and the connection's memory, which is
 * freed in its close callbacks only. Answers leave in request order: flush writes from the
 * head of the queue only, however the handler answers.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/log.h"
#include "http_conn.h"
#include "http_limits.h"
#include "http_response.h"

#define WRITE_HIGH_WATER (1u << 20)  /* stop reading while this much output is queued */
#define LINGER_MS 2000               /* how long a closing connection's input is drained */
#define MAX_WRITE_BATCH 16

typedef dt__http_conn_t conn_t;
typedef dt__http_req_t req_t;

static void on_timer(uv_timer_t *t);

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
    dt__http_conn_close(c);
    return;
  }
  dt__http_conn_flush(c); /* may finish a pending graceful close, resume reading */
}

/* Writes bufs to the socket, taking ownership of owned[i] (NULL for static data). */
static void raw_write(conn_t *c, uv_buf_t *bufs, char **owned, unsigned n) {
  uv_stream_t *s = (uv_stream_t *)&c->tcp;
  int w = uv_try_write(s, bufs, n);
  if (w == UV_EAGAIN || w == UV_ENOSYS) w = 0;
  if (w < 0) {
    for (unsigned i = 0; i < n; i++) free(owned[i]);
    dt_log_debug("http: write to %s failed: %s", c->remote, uv_strerror(w));
    dt__http_conn_close(c);
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
    dt__http_conn_close(c);
    return;
  }
  c->writes_in_flight++;
}

void dt__http_tls_flush_output(conn_t *c) {
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
    dt__http_conn_close(c);
    return;
  }
  dt__http_tls_flush_output(c);
}

/* ---------------------------------------------------------------- timers, reading, closing */

void dt__http_timer_set(conn_t *c, int mode, unsigned ms) {
  c->timer_mode = (uint8_t)mode;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

void dt__http_timer_clear(conn_t *c) {
  c->timer_mode = DT__TM_NONE;
  uv_timer_stop(&c->timer);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn_t *c = h->data;
  /* One buffer per server: on_read consumes (or copies) everything before returning. */
  *buf = uv_buf_init(c->srv->readbuf, DT__HTTP_READ_BUF_SIZE);
}

void dt__http_conn_update_read(conn_t *c) {
  bool want = !c->closing &&
              (c->lingering || (!c->stop_parsing && !c->paused &&
                                uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < WRITE_HIGH_WATER));
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, c->srv->on_read) == 0) c->reading = true;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

void dt__http_server_maybe_done(dt_http_server_t *srv) {
  if (!srv->closing || srv->handles_open > 0) return;
  while (srv->orphans.head) dt__http_req_free(DT_LIST_ENTRY(srv->orphans.head, req_t, olink));
  dt_hashmap_free(&srv->ip_counts); /* empty: every connection has released its count */
  dt__tls_config_free(srv->tls);
  DT_FREE_ALL(srv->tls_cert_file, srv->tls_key_file);
  dt_free_then_done(srv, srv->done);
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
  dt__http_server_maybe_done(srv);
}

void dt__http_conn_close(conn_t *c) {
  if (c->closing) return;
  dt_http_server_t *srv = c->srv;
  c->closing = true;
  if (c->on_resume_list) {
    conn_t **pp = &srv->resume_head;
    while (*pp && *pp != c) pp = &(*pp)->resume_next;
    if (*pp) *pp = c->resume_next;
    c->on_resume_list = false;
  }
  dt_list_remove(&srv->conns, &c->link);
  dt__http_silent_remove(c);
  dt__http_ip_count_release(srv, c);
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
    if (r->internal || r->state == DT__RS_READING || r->state == DT__RS_DONE) {
      dt__http_req_free(r);
    } else {
      dt__http_orphan_add(srv, r);
      dt_buf_free(&r->out);
      if (r->state == DT__RS_STREAMING && r->on_abort) {
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
    if (r->end_requested) dt__http_req_free(r);
  }
}

static void on_linger_shutdown(uv_shutdown_t *sr, int status) {
  conn_t *c = sr->data;
  free(sr);
  if (c->closing) return;
  if (status < 0 || c->peer_eof_lingering) {
    /* Failed, or done and the peer has already said it sends nothing more. */
    dt__http_conn_close(c);
    return;
  }
  c->fin_sent = true;
  /* Everything is written and the FIN is out; now only a short drain. */
  dt__http_timer_set(c, DT__TM_LINGER, LINGER_MS);
}

/* All answers are out: send FIN, then drain the peer's input briefly (lingering close). */
static void conn_graceful_close(conn_t *c) {
  if (c->shutting_down || c->closing) return;
  c->shutting_down = true;
  c->stop_parsing = true;
  if (c->tls) {
    dt__tls_conn_close_notify(c->tls);
    dt__http_tls_flush_output(c);
    if (c->closing) return;
  }
  uv_shutdown_t *sr = dt_xmalloc(sizeof *sr);
  sr->data = c;
  if (uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_linger_shutdown) != 0) {
    free(sr);
    dt__http_conn_close(c);
    return;
  }
  c->lingering = true;
  /* Until the writes drain, a peer that never reads is cut off like an idle one. */
  dt__http_timer_set(c, DT__TM_LINGER, c->srv->opts.idle_timeout_ms);
  dt__http_conn_update_read(c);
}

static void schedule_resume(conn_t *c) {
  if (c->on_resume_list || c->closing) return;
  c->on_resume_list = true;
  c->resume_next = c->srv->resume_head;
  c->srv->resume_head = c;
  uv_idle_start(&c->srv->resume_idle, c->srv->on_resume_idle);
}

void dt__http_conn_flush(conn_t *c) {
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
    if (r->expect_continue && !r->continue_sent && r->state == DT__RS_READING) {
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
    if (r->state != DT__RS_DONE) break;
    c->head = r->next;
    if (!c->head) c->tail = NULL;
    c->nreqs--;
    bool close_after = r->close_after;
    dt__http_req_free(r);
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
             (c->timer_mode == DT__TM_NONE || c->timer_mode == DT__TM_IDLE) &&
             (!c->tls || dt__tls_conn_established(c->tls))) {
    dt__http_timer_set(c, DT__TM_IDLE, srv->opts.idle_timeout_ms);
  }
  if (c->paused && !c->barrier && c->nreqs < DT__HTTP_MAX_PIPELINE) schedule_resume(c);
  dt__http_conn_update_read(c);
}

void dt__http_conn_fail(conn_t *c, int status) {
  if (c->closing || c->stop_parsing) return;
  c->stop_parsing = true;
  if (c->cur) {
    dt__http_queue_remove(c, c->cur);
    dt__http_req_free(c->cur);
    c->cur = NULL;
  }
  c->in_message = false;
  dt__http_timer_clear(c);
  dt__http_queue_error(c, status, NULL);
  dt__http_conn_flush(c);
}

static void on_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  int mode = c->timer_mode;
  c->timer_mode = DT__TM_NONE;
  switch (mode) {
    case DT__TM_REQUEST:
      dt_log_debug("http: %s too slow to send its request, 408", c->remote);
      dt__http_conn_fail(c, 408);
      break;
    case DT__TM_HEADERS:
      dt_log_debug("http: %s did not complete its headers in time, 408", c->remote);
      dt__http_metric_inc(c->srv, "dt_http_header_timeouts_total");
      dt__http_conn_fail(c, 408);
      break;
    case DT__TM_IDLE:
      if (c->silent) {
        dt_log_debug("http: %s sent nothing within the header timeout, closed", c->remote);
        dt__http_metric_inc(c->srv, "dt_http_header_timeouts_total");
      }
      dt__http_conn_close(c);
      break;
    case DT__TM_HANDSHAKE:
    case DT__TM_LINGER:
      dt__http_conn_close(c);
      break;
    default:
      break;
  }
}

void dt__http_conn_eof(conn_t *c) {
  if (c->lingering) {
    /* Closing before the shutdown is done would cancel answers still queued for writing
       (a peer that half-closes right after its requests is normal): wait for the FIN. */
    if (c->fin_sent) dt__http_conn_close(c);
    else c->peer_eof_lingering = true;
    return;
  }
  if (c->cur) {
    dt__http_queue_remove(c, c->cur);
    dt__http_req_free(c->cur);
    c->cur = NULL;
  }
  c->in_message = false;
  bool waiting = false;
  for (req_t *r = c->head; r; r = r->next) {
    if (r->state == DT__RS_STREAMING) {
      dt__http_conn_close(c);
      return;
    }
    if (r->state == DT__RS_PENDING || r->state == DT__RS_DONE) waiting = true;
  }
  if (!waiting) {
    dt__http_conn_close(c);
    return;
  }
  c->stop_parsing = true;
  c->close_when_drained = true;
  dt__http_timer_clear(c);
  dt__http_conn_update_read(c);
}

