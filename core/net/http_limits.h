/*
 * http_limits.h — internal: what the HTTP server lets in and how it says no (http_limits.c).
 *
 * Per-address connection counts, the silent list (connections that have not sent a byte,
 * oldest first: the first to be evicted at the connection limit), the server-wide budget
 * of request body bytes, refusal warnings (at most one a second, with a count) and the
 * server's metrics. Bookkeeping only: nothing here closes a connection or writes a byte.
 */
#ifndef DIALTONE_NET_HTTP_LIMITS_H
#define DIALTONE_NET_HTTP_LIMITS_H
#include "http_internal.h"

/* Describes the server's metrics (and sets the connection gauge to 0); metrics may be NULL. */
void dt__http_metrics_describe(dt_metrics_t *metrics);
/* dt_http_requests_total{route,status}; route NULL counts as "other". */
void dt__http_count_request(dt_http_server_t *srv, const char *route, int status);
void dt__http_metric_inc(dt_http_server_t *srv, const char *name);
/* Counts a refusal; logs a warning unless one was logged less than a second ago. */
void dt__http_log_refusal(dt_http_server_t *srv, const char *what, const char *who);

/* Takes n bytes from the server-wide body budget; false (nothing taken) when over it.
   dt__http_req_free gives a request's bytes back. */
bool dt__http_body_budget_take(dt_http_server_t *srv, size_t n);

/* Counts c against its address; false when the address is at the cap (nothing counted). */
bool dt__http_ip_count_take(dt_http_server_t *srv, dt__http_conn_t *c, const char *ip);
/* Releases what dt__http_ip_count_take counted for c (nothing if it counted nothing). */
void dt__http_ip_count_release(dt_http_server_t *srv, dt__http_conn_t *c);

/* The silent list: append at accept, remove at the first byte or the close (idempotent). */
void dt__http_silent_append(dt__http_conn_t *c);
void dt__http_silent_remove(dt__http_conn_t *c);

#endif
