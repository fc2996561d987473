/*
 * test_engine_flows.c — the flow registry: files of the flows directory, versions and
 * hot reload (running calls keep the version they started on; a file that does not
 * compile changes nothing and is reported with file and line), flows that return no
 * function or never finish loading, require of library modules, removed files.
 */
#include <sys/time.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

/* Copies tests/flows_fixtures/FIXTURE.lua to {flows_dir}/NAME (a new mtime each time). */
static int install(const char *fixture, const char *name) {
  char src[600], dst[700], *text = NULL;
  size_t len = 0;
  snprintf(src, sizeof src, "%s/tests/flows_fixtures/%s.lua", h_source_dir(), fixture);
  snprintf(dst, sizeof dst, "%s/%s", H.flows_dir, name);
  if (dt_read_file(src, 1 << 20, &text, &len) != 0) return -1;
  int rc = dt_write_file_atomic(dst, text, len);
  free(text);
  static int bump = 0;
  struct timeval tv[2];
  gettimeofday(&tv[0], NULL);
  tv[0].tv_sec += ++bump;
  tv[1] = tv[0];
  utimes(dst, tv);
  return rc;
}

static bool parked(const char *id) {
  for (dt_call_t *c = dt_calls_first(dt_engine_calls(H.engine)); c; c = c->next)
    if (h_same_id(c->id, id)) return c->wait == DT_WAIT_GATHER && c->stage == 2;
  return false;
}

static int cdr_version(const char *id) {
  cJSON *cdr = h_cdr(&H, id);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cdr, "flow_version");
  int n = cJSON_IsNumber(v) ? v->valueint : -1;
  cJSON_Delete(cdr);
  return n;
}

H_TEST(hot_reload_keeps_running_calls_on_their_version, .time_scale = 0) {
  char lib[600];
  snprintf(lib, sizeof lib, "%s/lib", H.flows_dir);
  mkdir(lib, 0755);
  DT_ASSERT_EQ_INT(install("lib_greet", "lib/greet.lua"), 0);
  DT_ASSERT_EQ_INT(install("reload_v1", "main.lua"), 0);
  unsigned failed = 9;
  char err[512] = "";
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, &failed, err, sizeof err), 1);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "main"), 1);
  /* nothing changed: nothing reloaded */
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, &failed, err, sizeof err), 0);

  char a[128], b[128], c[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, a), 201);
  H_UNTIL(&H, 10000, parked(a));
  DT_ASSERT(parked(a));

  DT_ASSERT_EQ_INT(install("reload_v2", "main.lua"), 0);
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, &failed, err, sizeof err), 1);
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "main"), 2);
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, b), 201);
  H_UNTIL(&H, 10000, parked(b));
  DT_ASSERT(parked(b));

  /* a file that does not compile changes nothing, and says where */
  DT_ASSERT_EQ_INT(install("broken_syntax", "main.lua"), 0);
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, &failed, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(failed, 1);
  DT_ASSERT_CONTAINS(err, "main.lua:4:");
  DT_ASSERT(h_log_has(&H, "flow main not loaded"));
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "main"), 2);
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, c), 201);
  H_UNTIL(&H, 10000, parked(c));

  DT_ASSERT_EQ_INT(h_tones(&H, a, "1"), 200);
  DT_ASSERT_EQ_INT(h_tones(&H, b, "2"), 200);
  DT_ASSERT_EQ_INT(h_tones(&H, c, "3"), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, a) && h_has_cdr(&H, b) && h_has_cdr(&H, c));
  DT_ASSERT(h_log_has(&H, "VERSION 1 got 1"));
  DT_ASSERT(h_log_has(&H, "VERSION 2 got 2 hello-from-lib"));
  DT_ASSERT(h_log_has(&H, "VERSION 2 got 3 hello-from-lib"));
  DT_ASSERT_EQ_INT(cdr_version(a), 1);
  DT_ASSERT_EQ_INT(cdr_version(b), 2);
  DT_ASSERT_EQ_INT(cdr_version(c), 2);
}

H_TEST(flows_that_cannot_load_are_reported, .time_scale = 0, .instruction_budget = 1000000) {
  DT_ASSERT_EQ_INT(install("no_function", "table.lua"), 0);
  DT_ASSERT_EQ_INT(install("endless_top_level", "endless.lua"), 0);
  DT_ASSERT_EQ_INT(install("reload_v1", "bad name.lua"), 0);
  unsigned failed = 0;
  char err[512] = "";
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, &failed, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(failed, 2);
  DT_ASSERT(h_log_has(&H, "the flow must return function(call), it returned table"));
  DT_ASSERT(h_log_has(&H, "top-level code exceeded the instruction budget"));
  DT_ASSERT(h_log_has(&H, "not a valid flow name"));
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "table"), 0);
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "endless"), 0);
}

/* NAME_test.lua beside a flow is its flow test (run by `dialtone test`), never a flow. */
H_TEST(flow_tests_are_not_loaded_as_flows, .time_scale = 0) {
  DT_ASSERT_EQ_INT(install("reload_v1", "main.lua"), 0);
  DT_ASSERT_EQ_INT(install("reload_v1", "main_test.lua"), 0);
  unsigned failed = 9;
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, &failed, NULL, 0), 1);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "main"), 1);
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "main_test"), 0);
}

/* A removed file: new calls can no longer use the flow (the call is rejected with an
   error outcome); calls already running on it finish. */
H_TEST(removed_flow_file, .time_scale = 0) {
  DT_ASSERT_EQ_INT(install("reload_v1", "main.lua"), 0);
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, NULL, NULL, 0), 1);
  char a[128], b[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, a), 201);
  H_UNTIL(&H, 10000, parked(a));
  char path[700];
  snprintf(path, sizeof path, "%s/main.lua", H.flows_dir);
  unlink(path);
  DT_ASSERT_EQ_INT(dt_engine_reload(H.engine, NULL, NULL, 0), 0);
  DT_ASSERT_EQ_INT(dt_engine_flow_version(H.engine, "main"), 0);
  cJSON *cdr = h_run_call(NULL, b);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "error"));
  cJSON_Delete(cdr);
  DT_ASSERT_EQ_INT(h_tones(&H, a, "5"), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, a));
  DT_ASSERT(h_log_has(&H, "VERSION 1 got 5"));
}

DT_TEST_MAIN()
