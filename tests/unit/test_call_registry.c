/*
 * test_call_registry.c — core/calls/call_registry.c (the registry's life): GET /calls
 * rendering, drain and hang up all (every running flow's wait fails with DT_EHANGUP, outcome
 * drained), and a close that hangs up and frees every call.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

#define APP "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698"

DT_TEST(calls_render_as_json) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_buf_t b = {0};
  dt_calls_render_json(f.reg, &b);
  DT_ASSERT_EQ_STR(b.data, "[]");
  dt_buf_free(&b);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-j", "u", APP), 0);
  dt_calls_render_json(f.reg, &b);
  cJSON *j = cJSON_Parse(b.data);
  DT_ASSERT(cJSON_GetArraySize(j) == 1);
  cJSON *o = cJSON_GetArrayItem(j, 0);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "id")->valuestring, "call-j");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "flow")->valuestring, "main");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "direction")->valuestring, "incoming");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "waiting")->valuestring, "running");
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "waiting_s")));
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(o, "buffered_digits")->valueint, 0);
  cJSON_Delete(j);
  dt_buf_free(&b);
  free(fx_close(&f));
}

DT_TEST(close_ends_every_call_with_outcome_drained) {
  call_fx_t f;
  fx_open(&f, NULL, true);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-a", "u", APP), 0);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-b", "u", APP), 0);
  char *cdr = fx_close(&f);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT_EQ_INT(f.releases, 2);
  DT_ASSERT(strstr(cdr, "\"call_id\":\"call-a\"") && strstr(cdr, "\"call_id\":\"call-b\""));
  DT_ASSERT(strstr(cdr, "\"outcome\":\"drained\"") != NULL);
  free(cdr);
}

DT_TEST(hangup_all_fails_waits_with_hangup_and_marks_calls_drained) {
  call_fx_t f;
  fx_open(&f, NULL, true);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-x", "u", APP), 0);
  dt_call_t *c = dt_calls_find(f.reg, "call-x");
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 60000), 0);
  dt_calls_hangup_all(f.reg);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_INT(f.last.err, DT_EHANGUP);
  DT_ASSERT_EQ_STR(f.last_message, "the engine is shutting down");
  DT_ASSERT_EQ_INT(c->outcome, DT_OUTCOME_DRAINED);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-y", "u", APP), 0); /* draining now: refused */
  DT_ASSERT_EQ_INT(f.starts, 1);
  char *cdr = fx_close(&f);
  char *line = fx_cdr_line(cdr, "call-x");
  free(cdr);
  DT_ASSERT(line && strstr(line, "\"outcome\":\"drained\""));
  free(line);
}

DT_TEST_MAIN()
