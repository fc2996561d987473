/*
 * http_response.h — internal: a request's memory and queue, and the bytes of its answer
 * (http_response.c).
 *
 * A request lives in its connection's queue (arrival order) until its answer is written,
 * or on the server's orphan list once its connection is gone. Answers are formatted into
 * the request's own buffer (req->out); writing them is http_conn.c's job.
 */
#ifndef DIALTONE_NET_HTTP_RESPONSE_H
#define DIALTONE_NET_HTTP_RESPONSE_H
#include "http_internal.h"

/* The reason phrase of status ("OK", "Not Found", a class name for unknown codes). */
const char *dt__http_reason(int status);
/* The current time as an HTTP date, formatted at most once a second per server. */
const char *dt__http_date(dt_http_server_t *srv);
/* The first header named name (case-insensitive), or NULL. */
const char *dt__http_header_find(const dt_http_request_t *req, const char *name);

/* Frees r: off the orphan list, its body back to the server's budget. */
void dt__http_req_free(dt__http_req_t *r);
/* r, no longer in a connection's queue, joins the server's orphan list. */
void dt__http_orphan_add(dt_http_server_t *srv, dt__http_req_t *r);
void dt__http_queue_push(dt__http_conn_t *c, dt__http_req_t *r);
/* Removes r, which must be in c's queue (O(queue), queues are short). */
void dt__http_queue_remove(dt__http_conn_t *c, dt__http_req_t *r);
/* Queues an answer the server makes itself (an error: a text body, Connection: close),
   after everything before it; counted under route (NULL: "other"). */
void dt__http_queue_error(dt__http_conn_t *c, int status, const char *route);

/* DT_EINVAL unless every header has a non-empty name without ':' and no CR/LF anywhere. */
int dt__http_check_headers(const dt_http_header_t *headers, size_t n);
/* Appends the status line and headers (and, unless stream, the body) to r->out with one
   allocation. The server sets Date, Content-Length, Transfer-Encoding and Connection; the
   caller's headers of those names are dropped. No body for HEAD, 1xx, 204 and 304. */
void dt__http_format_head(dt__http_req_t *r, int status, const dt_http_header_t *headers, size_t n,
                          bool stream, const char *body, size_t body_len);

#endif
