/*
 * http_internal.h — internal: the HTTP server's shared types (no functions).
 *
 * The server (dialtone/http_server.h) is five modules, each below the next, none calling
 * up (scripts/layers.sh checks it):
 *   http_limits.c    per-address counts, the silent list, the body budget, refusal logs, metrics
 *   http_response.c  a request's memory and queue, and the bytes of its answer
 *   http_conn.c      a connection's output and life: writes (through TLS), timers, close
 *   http_input.c     a connection's input: TLS decryption, llhttp parsing, the handler call
 *   http_server.c    the public API: listen, accept, answer, stream, close
 * This header only declares the structs they share, so that including it creates no
 * dependency; each module's functions are declared in its own header. It includes the
 * public header for its types (dt_http_request_t, dt_http_header_t, the options); the
 * functions that header declares are defined in http_server.c, which nothing below calls.
 *
 * Ownership: a connection (conn_t) is freed in its uv_close callbacks only (http_conn.c);
 * a request (req_t) by dt__http_req_free() when its answer is written, its connection
 * closes before it was handed to the handler, or (an orphan) when it is answered or the
 * server closes.
 */
#ifndef DIALTONE_NET_HTTP_INTERNAL_H
#define DIALTONE_NET_HTTP_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <llhttp.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/hashmap.h"
#include "dialtone/http_server.h"
#include "dialtone/list.h"
#include "tls.h"

#define DT__HTTP_MAX_PIPELINE 32       /* requests in flight per connection before parsing pauses */
#define DT__HTTP_READ_BUF_SIZE 65536   /* one shared read buffer per server */

typedef struct dt__http_conn_s dt__http_conn_t;
typedef struct dt__http_req_s dt__http_req_t;

enum { DT__RS_READING, DT__RS_PENDING, DT__RS_STREAMING, DT__RS_DONE };
enum { DT__TM_NONE, DT__TM_IDLE, DT__TM_REQUEST, DT__TM_HEADERS, DT__TM_HANDSHAKE, DT__TM_LINGER };
enum { DT__STREAM_CHUNKED, DT__STREAM_RAW, DT__STREAM_NOBODY };

struct dt__http_req_s {
  dt_http_request_t pub;
  dt_http_server_t *srv;
  dt__http_conn_t *conn;   /* NULL once the connection is gone (orphan) */
  dt__http_req_t *next;    /* conn queue */
  dt_list_node_t olink;    /* in srv->orphans (orphan) */
  dt__http_req_t *abort_next;
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
typedef struct dt__http_ip_count_s {
  dt_hashmap_node_t node; /* in srv->ip_counts under ip */
  unsigned n;
  char ip[48];
} dt__http_ip_count_t;

struct dt__http_conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  dt_http_server_t *srv;
  dt_list_node_t link;               /* in srv->conns */
  dt__http_conn_t *resume_next;      /* server's resume list */
  llhttp_t parser;
  dt__tls_conn_t *tls;
  dt__http_req_t *head, *tail;       /* response queue */
  unsigned nreqs;
  dt__http_req_t *cur;               /* request whose body is being read (also the queue tail) */
  /* An HTTP/1.0 request handed to the handler and not answered yet. Nothing after it is
     parsed (no later request reaches the handler) until it is answered, because its answer
     may have to end the connection (a stream has no chunked coding in HTTP/1.0), and a
     request parsed after that could never get its response. */
  dt__http_req_t *barrier;
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
  bool fin_sent;             /* the lingering close's shutdown is done: every answer is written */
  bool peer_eof_lingering;   /* the peer's EOF came while the answers were still being written */
  bool silent;              /* on the server's silent list: not one byte received yet */
  dt_list_node_t silent_link;        /* in srv->silent */
  dt__http_ip_count_t *ip_count; /* with a per-address cap */
  char remote[64];
};

struct dt_http_server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_idle_t resume_idle;
  dt_http_server_options_t opts;
  llhttp_settings_t settings;
  /* The input side's callbacks (http_input.c), set by dt_http_server_start: the output side
     (http_conn.c) starts reading and schedules resumes with them without calling up. */
  uv_read_cb on_read;
  uv_idle_cb on_resume_idle;
  dt__tls_config_t *tls;     /* new connections take it; dt_http_server_reload_tls swaps it */
  char *tls_cert_file, *tls_key_file;
  dt_list_t conns;          /* of dt__http_conn_t.link; count = open connections */
  dt_list_t silent;         /* of dt__http_conn_t.silent_link: sent nothing yet, oldest first */
  dt__http_conn_t *resume_head;
  dt_list_t orphans;        /* of dt__http_req_t.olink */
  uint64_t accepted;
  int port;
  int handles_open;
  bool closing;
  dt_done_t done;
  size_t body_bytes_held;   /* body buffers of all live requests (max_body_total_bytes) */
  uint64_t refusal_log_ms;  /* when the last refusal warning was logged */
  uint64_t refused_unlogged;
  dt_hashmap_t ip_counts;   /* address -> dt__http_ip_count_t (only with a per-address cap) */
  time_t date_sec;
  char date[32];
  char readbuf[DT__HTTP_READ_BUF_SIZE];
};

#endif
