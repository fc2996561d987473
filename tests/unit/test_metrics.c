/* Unit tests for metrics.c: lookups, types, histogram buckets and the Prometheus text format. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/metrics.h"
#include "harness/dt_test.h"

static char *render(dt_metrics_t *m) {
  dt_buf_t b = {0};
  dt_metrics_render(m, &b);
  if (!b.data) return dt_xstrdup("");
  return b.data;
}

DT_TEST(counter_adds_and_get_reads) {
  dt_metrics_t *m = dt_metrics_new();
  DT_ASSERT_EQ_INT(dt_metrics_get(m, "dt_x_total", NULL), 0);
  dt_metrics_inc(m, "dt_x_total", NULL);
  dt_metrics_inc(m, "dt_x_total", "");
  dt_metrics_add(m, "dt_x_total", NULL, 2.5);
  DT_ASSERT(dt_metrics_get(m, "dt_x_total", NULL) == 4.5);
  dt_metrics_inc(m, "dt_x_total", "a=\"1\"");
  DT_ASSERT(dt_metrics_get(m, "dt_x_total", "a=\"1\"") == 1);
  DT_ASSERT(dt_metrics_get(m, "dt_x_total", "a=\"2\"") == 0);
  DT_ASSERT(dt_metrics_get(m, "dt_other", NULL) == 0);
  dt_metrics_free(m);
}

DT_TEST(many_series_stay_distinct) {
  dt_metrics_t *m = dt_metrics_new();
  char labels[64];
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 5000; i++) {
      snprintf(labels, sizeof labels, "id=\"%d\"", i);
      dt_metrics_add(m, i % 2 ? "dt_odd_total" : "dt_even_total", labels, i);
    }
  for (int i = 0; i < 5000; i++) {
    snprintf(labels, sizeof labels, "id=\"%d\"", i);
    DT_ASSERT_MSG(dt_metrics_get(m, i % 2 ? "dt_odd_total" : "dt_even_total", labels) == 3.0 * i,
                  "series %d", i);
    DT_ASSERT(dt_metrics_get(m, i % 2 ? "dt_even_total" : "dt_odd_total", labels) == 0);
  }
  dt_metrics_free(m);
}

DT_TEST(gauge_sets) {
  dt_metrics_t *m = dt_metrics_new();
  dt_metrics_set(m, "dt_conns", NULL, 7);
  dt_metrics_set(m, "dt_conns", NULL, 3);
  dt_metrics_add(m, "dt_conns", NULL, -1);
  DT_ASSERT(dt_metrics_get(m, "dt_conns", NULL) == 2);
  char *text = render(m);
  DT_ASSERT_CONTAINS(text, "# TYPE dt_conns gauge\n");
  DT_ASSERT_CONTAINS(text, "\ndt_conns 2\n");
  free(text);
  dt_metrics_free(m);
}

DT_TEST(render_help_type_and_labels) {
  dt_metrics_t *m = dt_metrics_new();
  dt_metrics_describe(m, "dt_http_requests_total", "counter", "HTTP requests.\nBy route \\ status");
  dt_metrics_inc(m, "dt_http_requests_total", "route=\"/api/calls\",status=\"202\"");
  dt_metrics_inc(m, "dt_http_requests_total", "route=\"/api/calls\",status=\"202\"");
  dt_metrics_inc(m, "dt_http_requests_total", "route=\"other\",status=\"404\"");
  dt_metrics_inc(m, "dt_plain_total", NULL);
  dt_metrics_add(m, "dt_frac", NULL, 0.1);
  char *text = render(m);
  DT_ASSERT_CONTAINS(text, "# HELP dt_http_requests_total HTTP requests.\\nBy route \\\\ status\n"
                           "# TYPE dt_http_requests_total counter\n"
                           "dt_http_requests_total{route=\"/api/calls\",status=\"202\"} 2\n"
                           "dt_http_requests_total{route=\"other\",status=\"404\"} 1\n");
  DT_ASSERT_CONTAINS(text, "# TYPE dt_plain_total counter\ndt_plain_total 1\n");
  DT_ASSERT_CONTAINS(text, "\ndt_frac 0.1\n");
  /* Each family appears exactly once. */
  DT_ASSERT(strstr(strstr(text, "# TYPE dt_http_requests_total") + 1,
                   "# TYPE dt_http_requests_total") == NULL);
  free(text);
  dt_metrics_free(m);
}

DT_TEST(histogram_buckets_sum_count) {
  dt_metrics_t *m = dt_metrics_new();
  dt_metrics_describe(m, "dt_lat_seconds", "histogram", "Latency.");
  dt_metrics_observe(m, "dt_lat_seconds", "op=\"play\"", 0.0005); /* on the bound: le=0.0005 */
  dt_metrics_observe(m, "dt_lat_seconds", "op=\"play\"", 0.003);
  dt_metrics_observe(m, "dt_lat_seconds", "op=\"play\"", 0.3);
  dt_metrics_observe(m, "dt_lat_seconds", "op=\"play\"", 100);
  dt_metrics_observe(m, "dt_lat_seconds", "op=\"play\"", NAN); /* ignored */
  dt_metrics_observe(m, "dt_lat_seconds", NULL, 1);
  DT_ASSERT(dt_metrics_get(m, "dt_lat_seconds", "op=\"play\"") == 4);
  char *text = render(m);
  DT_ASSERT_CONTAINS(text, "# HELP dt_lat_seconds Latency.\n# TYPE dt_lat_seconds histogram\n");
  DT_ASSERT_CONTAINS(text, "dt_lat_seconds_bucket{op=\"play\",le=\"0.0005\"} 1\n"
                           "dt_lat_seconds_bucket{op=\"play\",le=\"0.001\"} 1\n"
                           "dt_lat_seconds_bucket{op=\"play\",le=\"0.0025\"} 1\n"
                           "dt_lat_seconds_bucket{op=\"play\",le=\"0.005\"} 2\n");
  DT_ASSERT_CONTAINS(text, "dt_lat_seconds_bucket{op=\"play\",le=\"0.25\"} 2\n"
                           "dt_lat_seconds_bucket{op=\"play\",le=\"0.5\"} 3\n");
  DT_ASSERT_CONTAINS(text, "dt_lat_seconds_bucket{op=\"play\",le=\"10\"} 3\n"
                           "dt_lat_seconds_bucket{op=\"play\",le=\"+Inf\"} 4\n"
                           "dt_lat_seconds_sum{op=\"play\"} 100.3035\n"
                           "dt_lat_seconds_count{op=\"play\"} 4\n");
  DT_ASSERT_CONTAINS(text, "dt_lat_seconds_bucket{le=\"0.5\"} 0\n"
                           "dt_lat_seconds_bucket{le=\"1\"} 1\n");
  DT_ASSERT_CONTAINS(text, "dt_lat_seconds_sum 1\ndt_lat_seconds_count 1\n");
  free(text);
  dt_metrics_free(m);
}

DT_TEST(invalid_input_is_dropped) {
  dt_metrics_t *m = dt_metrics_new();
  dt_metrics_inc(m, "bad name", NULL);
  dt_metrics_inc(m, "9starts_with_digit", NULL);
  dt_metrics_inc(m, "dt_ok", "a=\"x\ny\"");
  dt_metrics_inc(NULL, "dt_ok", NULL);
  dt_metrics_inc(m, NULL, NULL);
  /* A histogram family refuses counter updates and vice versa. */
  dt_metrics_observe(m, "dt_h", NULL, 1);
  dt_metrics_inc(m, "dt_h", NULL);
  dt_metrics_inc(m, "dt_c", NULL);
  dt_metrics_observe(m, "dt_c", NULL, 5);
  DT_ASSERT(dt_metrics_get(m, "dt_h", NULL) == 1);
  DT_ASSERT(dt_metrics_get(m, "dt_c", NULL) == 1);
  char *text = render(m);
  DT_ASSERT(strstr(text, "bad name") == NULL);
  DT_ASSERT(strstr(text, "starts_with_digit") == NULL);
  DT_ASSERT(strstr(text, "dt_ok") == NULL);
  DT_ASSERT(strstr(text, "dt_c_bucket") == NULL);
  free(text);
  dt_metrics_free(m);
}

DT_TEST(described_but_unused_is_not_rendered) {
  dt_metrics_t *m = dt_metrics_new();
  dt_metrics_describe(m, "dt_never", "counter", "never used");
  char *text = render(m);
  DT_ASSERT_EQ_STR(text, "");
  free(text);
  dt_metrics_free(m);
}

DT_TEST(describe_all_describes_each_family_of_a_table) {
  static const dt_metrics_family_t families[] = {
      {"dt_a_total", "counter", "As."},
      {"dt_b", "gauge", "Bs now."},
  };
  dt_metrics_describe_all(NULL, families, 2); /* no registry: nothing, no crash */
  dt_metrics_t *m = dt_metrics_new();
  dt_metrics_describe_all(m, families, DT_ARRAY_SIZE(families));
  dt_metrics_inc(m, "dt_a_total", NULL);
  dt_metrics_set(m, "dt_b", NULL, 3);
  char *text = render(m);
  DT_ASSERT_CONTAINS(text, "# HELP dt_a_total As.\n# TYPE dt_a_total counter\ndt_a_total 1\n");
  DT_ASSERT_CONTAINS(text, "# HELP dt_b Bs now.\n# TYPE dt_b gauge\ndt_b 3\n");
  free(text);
  dt_metrics_free(m);
}


/* Removing series keeps every other one findable (the probe runs are repaired) and out of
   the rendering; removing what is not there changes nothing. */
DT_TEST(remove_series) {
  dt_metrics_t *m = dt_metrics_new();
  char labels[64];
  for (int i = 0; i < 500; i++) {
    snprintf(labels, sizeof labels, "v=\"%d\"", i);
    dt_metrics_set(m, "dt_x", labels, i + 1);
  }
  for (int i = 0; i < 500; i += 2) {
    snprintf(labels, sizeof labels, "v=\"%d\"", i);
    dt_metrics_remove(m, "dt_x", labels);
  }
  dt_metrics_remove(m, "dt_x", "v=\"nope\"");
  dt_metrics_remove(m, "dt_absent", NULL);
  dt_metrics_remove(NULL, "dt_x", NULL);
  for (int i = 0; i < 500; i++) {
    snprintf(labels, sizeof labels, "v=\"%d\"", i);
    DT_ASSERT(dt_metrics_get(m, "dt_x", labels) == (i % 2 ? i + 1 : 0));
  }
  dt_buf_t b = {0};
  dt_metrics_render(m, &b);
  DT_ASSERT(strstr(b.data, "dt_x{v=\"2\"}") == NULL);
  DT_ASSERT_CONTAINS(b.data, "dt_x{v=\"3\"} 4\n");
  dt_buf_free(&b);
  /* a removed series comes back from zero when used again; first and last of the family too */
  dt_metrics_add(m, "dt_x", "v=\"2\"", 5);
  DT_ASSERT(dt_metrics_get(m, "dt_x", "v=\"2\"") == 5);
  dt_metrics_remove(m, "dt_x", "v=\"1\"");
  dt_metrics_remove(m, "dt_x", "v=\"2\"");
  dt_metrics_add(m, "dt_x", "v=\"new\"", 1);
  b = (dt_buf_t){0};
  dt_metrics_render(m, &b);
  DT_ASSERT_CONTAINS(b.data, "dt_x{v=\"new\"} 1\n");
  DT_ASSERT(strstr(b.data, "dt_x{v=\"1\"}") == NULL);
  dt_buf_free(&b);
  dt_metrics_free(m);
}

DT_TEST_MAIN()
