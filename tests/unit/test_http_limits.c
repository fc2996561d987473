/*
 * Unit tests for core/net/http_limits.c: per-address counts, the silent list, the body
 * budget, refusal logging and the server's metrics, on a server struct built by hand (no
 * socket, no loop turn).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "dialtone/log.h"
#include "dialtone/metrics.h"
#include "harness/dt_test.h"
#include "net/http_limits.h"

static dt_http_server_t *fake_server(uv_loop_t *loop) {
  dt_http_server_t *srv = calloc(1, sizeof *srv);
  srv->loop = loop;
  return srv;
}

static dt__http_conn_t *fake_conn(dt_http_server_t *srv) {
  dt__http_conn_t *c = calloc(1, sizeof *c);
  c->srv = srv;
  return c;
}

DT_TEST(per_address_cap_counts_each_address_apart_and_releases) {
  dt_http_server_t *srv = fake_server(uv_default_loop());
  srv->opts.max_connections_per_ip = 2;
  dt__http_conn_t *a1 = fake_conn(srv), *a2 = fake_conn(srv), *a3 = fake_conn(srv), *b1 = fake_conn(srv);
  DT_ASSERT(dt__http_ip_count_take(srv, a1, "10.0.0.1"));
  DT_ASSERT(dt__http_ip_count_take(srv, a2, "10.0.0.1"));
  DT_ASSERT(!dt__http_ip_count_take(srv, a3, "10.0.0.1")); /* at the cap */
  DT_ASSERT(a3->ip_count == NULL);                          /* nothing counted */
  DT_ASSERT(dt__http_ip_count_take(srv, b1, "10.0.0.2"));   /* another address */
  DT_ASSERT_EQ_INT(a1->ip_count->n, 2);
  DT_ASSERT_EQ_INT(dt_hashmap_count(&srv->ip_counts), 2);
  dt__http_ip_count_release(srv, a1);
  DT_ASSERT(a1->ip_count == NULL);
  DT_ASSERT(dt__http_ip_count_take(srv, a3, "10.0.0.1")); /* room again */
  dt__http_ip_count_release(srv, a2);
  dt__http_ip_count_release(srv, a3);
  dt__http_ip_count_release(srv, a3); /* nothing counted any more: a no-op */
  dt__http_ip_count_release(srv, b1);
  DT_ASSERT_EQ_INT(dt_hashmap_count(&srv->ip_counts), 0); /* entries freed at zero */
  dt_hashmap_free(&srv->ip_counts);
  free(a1), free(a2), free(a3), free(b1), free(srv);
}

#define SILENT(node) DT_LIST_ENTRY(node, dt__http_conn_t, silent_link)

DT_TEST(silent_list_is_oldest_first_and_remove_is_idempotent) {
  dt_http_server_t *srv = fake_server(uv_default_loop());
  dt__http_conn_t *c[3];
  for (int i = 0; i < 3; i++) {
    c[i] = fake_conn(srv);
    dt__http_silent_append(c[i]);
  }
  DT_ASSERT(SILENT(srv->silent.head) == c[0] && SILENT(srv->silent.tail) == c[2]);
  dt__http_silent_remove(c[0]); /* the first byte arrived */
  DT_ASSERT(SILENT(srv->silent.head) == c[1]);
  DT_ASSERT(!c[0]->silent);
  dt__http_silent_remove(c[0]);
  dt__http_silent_remove(c[2]);
  DT_ASSERT(SILENT(srv->silent.head) == c[1] && SILENT(srv->silent.tail) == c[1]);
  dt__http_silent_remove(c[1]);
  DT_ASSERT(srv->silent.head == NULL && srv->silent.tail == NULL);
  for (int i = 0; i < 3; i++) free(c[i]);
  free(srv);
}

DT_TEST(body_budget_refuses_beyond_the_total_and_takes_nothing) {
  dt_http_server_t *srv = fake_server(uv_default_loop());
  srv->opts.max_body_total_bytes = 100;
  DT_ASSERT(dt__http_body_budget_take(srv, 60));
  DT_ASSERT(!dt__http_body_budget_take(srv, 41));
  DT_ASSERT_EQ_INT(srv->body_bytes_held, 60);
  DT_ASSERT(dt__http_body_budget_take(srv, 40));
  DT_ASSERT(!dt__http_body_budget_take(srv, 1));
  DT_ASSERT_EQ_INT(srv->body_bytes_held, 100);
  free(srv);
}

DT_TEST(refusals_are_logged_at_most_once_a_second_with_a_count) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_server_t *srv = fake_server(&loop);
  char *g_log = NULL;
  size_t g_len = 0;
  FILE *mem = open_memstream(&g_log, &g_len);
  dt_log_set_output(mem);
  dt__http_log_refusal(srv, "a connection", "10.0.0.9");
  dt__http_log_refusal(srv, "a connection", "10.0.0.9");
  dt__http_log_refusal(srv, "a connection", "10.0.0.9");
  dt_log_set_output(NULL);
  fclose(mem);
  DT_ASSERT_CONTAINS(g_log, "refused a connection from 10.0.0.9 (1 refusal(s)");
  DT_ASSERT(strstr(strstr(g_log, "refused") + 1, "refused") == NULL); /* once */
  DT_ASSERT_EQ_INT(srv->refused_unlogged, 2);                         /* counted for the next */
  free(g_log);
  free(srv);
  uv_loop_close(&loop);
}

DT_TEST(metrics_are_described_and_requests_counted_by_route_and_status) {
  dt_metrics_t *m = dt_metrics_new();
  dt__http_metrics_describe(m);
  dt__http_metrics_describe(NULL); /* no registry: nothing to do */
  dt_http_server_t *srv = fake_server(uv_default_loop());
  srv->opts.metrics = m;
  dt__http_count_request(srv, "/calls", 202);
  dt__http_count_request(srv, NULL, 404);
  dt__http_count_request(srv, "a\"b", 200); /* escaped in the label */
  dt__http_metric_inc(srv, "dt_http_connections_evicted_total");
  dt_buf_t b = {0};
  dt_metrics_render(m, &b);
  const char *text = b.data;
  DT_ASSERT_CONTAINS(text, "# TYPE dt_http_requests_total counter");
  DT_ASSERT_CONTAINS(text, "# TYPE dt_http_connections gauge");
  DT_ASSERT_CONTAINS(text, "dt_http_requests_total{route=\"/calls\",status=\"202\"} 1");
  DT_ASSERT_CONTAINS(text, "dt_http_requests_total{route=\"other\",status=\"404\"} 1");
  DT_ASSERT_CONTAINS(text, "route=\"a\\\"b\"");
  DT_ASSERT_CONTAINS(text, "dt_http_connections_evicted_total 1");
  DT_ASSERT_CONTAINS(text, "dt_http_connections 0");
  dt_buf_free(&b);
  free(srv);
  dt_metrics_free(m);
}

DT_TEST_MAIN()
