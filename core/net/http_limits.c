/*
 * http_limits.c — the HTTP server's limits bookkeeping (see http_limits.h).
 *
 * Owns: the per-address counts (entries of srv->ip_counts, a dt_hashmap keyed by the
 * address; an entry is freed when its count drops to zero), the silent
 * list's links, the body budget counter, the refusal log's rate limit, and the names and
 * help texts of the server's metrics. Promises: O(1) per call; no allocation except a new
 * address's entry (and the map's buckets as it grows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/log.h"
#include "dialtone/metrics.h"
#include "http_limits.h"

#define REFUSAL_LOG_MS 1000 /* at most one warning a second about refused connections */

typedef dt__http_conn_t conn_t;
typedef dt__http_ip_count_t ip_count_t;

/* ---------------------------------------------------------------- metrics and logs */

static const dt_metrics_family_t k_metrics[] = {
    {"dt_http_requests_total", "counter", "HTTP requests answered, by route and status."},
    {"dt_http_connections", "gauge", "Open HTTP connections."},
    {"dt_http_connections_rejected_total", "counter",
     "Connections closed at accept because the connection limit was reached."},
    {"dt_http_connections_rejected_per_ip_total", "counter",
     "Connections closed at accept because their address had too many open."},
    {"dt_http_connections_evicted_total", "counter",
     "Silent connections closed to make room at the connection limit."},
    {"dt_http_header_timeouts_total", "counter",
     "Connections that sent nothing, or no complete headers, within the header timeout."},
    {"dt_http_body_budget_refusals_total", "counter",
     "Requests refused (503) because the request body budget was spent."},
    {"dt_http_accept_errors_total", "counter", "Failed accepts (e.g. out of file descriptors)."},
};

void dt__http_metrics_describe(dt_metrics_t *metrics) {
  if (!metrics) return;
  dt_metrics_describe_all(metrics, k_metrics, DT_ARRAY_SIZE(k_metrics));
  dt_metrics_add(metrics, "dt_http_connections", NULL, 0);
}

void dt__http_count_request(dt_http_server_t *srv, const char *route, int status) {
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

void dt__http_metric_inc(dt_http_server_t *srv, const char *name) {
  if (srv->opts.metrics) dt_metrics_inc(srv->opts.metrics, name, NULL);
}

void dt__http_log_refusal(dt_http_server_t *srv, const char *what, const char *who) {
  uint64_t now = uv_now(srv->loop);
  srv->refused_unlogged++;
  if (srv->refusal_log_ms && now - srv->refusal_log_ms < REFUSAL_LOG_MS) return;
  dt_log_warn("http: refused %s from %s (%llu refusal(s) since the last such message)", what, who,
              (unsigned long long)srv->refused_unlogged);
  srv->refusal_log_ms = now ? now : 1;
  srv->refused_unlogged = 0;
}

bool dt__http_body_budget_take(dt_http_server_t *srv, size_t n) {
  if (n > srv->opts.max_body_total_bytes - srv->body_bytes_held) return false;
  srv->body_bytes_held += n;
  return true;
}

/* ---------------------------------------------------------------- per-address counts */

bool dt__http_ip_count_take(dt_http_server_t *srv, conn_t *c, const char *ip) {
  dt_hashmap_node_t *n = dt_hashmap_find(&srv->ip_counts, ip);
  ip_count_t *e = n ? DT_CONTAINER_OF(n, ip_count_t, node) : NULL;
  if (e && e->n >= srv->opts.max_connections_per_ip) return false;
  if (!e) {
    e = dt_xcalloc(1, sizeof *e);
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    dt_hashmap_insert(&srv->ip_counts, &e->node, e->ip);
  }
  e->n++;
  c->ip_count = e;
  return true;
}

void dt__http_ip_count_release(dt_http_server_t *srv, conn_t *c) {
  ip_count_t *e = c->ip_count;
  c->ip_count = NULL;
  if (!e || --e->n > 0) return;
  dt_hashmap_remove(&srv->ip_counts, &e->node);
  free(e);
}

/* ---------------------------------------------------------------- the silent list */

void dt__http_silent_remove(conn_t *c) {
  if (!c->silent) return;
  dt_list_remove(&c->srv->silent, &c->silent_link);
  c->silent = false;
}

void dt__http_silent_append(conn_t *c) {
  c->silent = true;
  dt_list_push_back(&c->srv->silent, &c->silent_link);
}
