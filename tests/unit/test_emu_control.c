/* Unit tests of emu_control.c: the control API's route table through dt_emulator_control
   (the same table the HTTP server uses): statuses, bodies, Graph-shaped errors, methods,
   the path forms it accepts. */
#include "harness/emu_fixture.h"
#include "dialtone/error.h"

static int ctl(ef_t *f, const char *m, const char *path, const char *body, cJSON **out) {
  char *text = NULL;
  int st = dt_emulator_control(f->emu, m, path, body, body ? strlen(body) : 0, &text, NULL);
  if (out) *out = text ? cJSON_Parse(text) : NULL;
  free(text);
  return st;
}

DT_TEST(routes_answer_with_the_typed_apis_results) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  cJSON *j = NULL;
  DT_ASSERT_EQ_INT(ctl(&f, "GET", "/emulator/health", NULL, &j), 200);
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
  cJSON_Delete(j);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/calls", "{\"from\":{\"user\":\"ann\"}}", &j), 201);
  char id[64];
  snprintf(id, sizeof id, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "from")->valuestring, "user:ann");
  cJSON_Delete(j);
  char path[128];
  snprintf(path, sizeof path, "/emulator/calls/%s/tones/", id); /* a trailing slash is fine */
  DT_ASSERT_EQ_INT(ctl(&f, "POST", path, "{\"tones\":\"12\",\"gap_ms\":10}", NULL), 200);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", path, "{\"tones\":\"9z\"}", &j), 400);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring, "BadRequest");
  cJSON_Delete(j);
  snprintf(path, sizeof path, "/calls/%s/speak", id);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", path, "{\"seconds\":0}", NULL), 400);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", path, "{\"seconds\":1.5}", NULL), 200);
  snprintf(path, sizeof path, "/calls/%s/timeline", id);
  DT_ASSERT_EQ_INT(ctl(&f, "GET", path, NULL, &j), 200);
  DT_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "entries")) > 3);
  cJSON_Delete(j);
  snprintf(path, sizeof path, "/calls/%s/hangup", id);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", path, NULL, NULL), 200);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", path, NULL, NULL), 409); /* ended */
  DT_ASSERT_EQ_INT(ctl(&f, "GET", "/calls", NULL, &j), 200);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "calls")), 1);
  cJSON_Delete(j);
  DT_ASSERT_EQ_INT(ctl(&f, "PUT", "/parties/Eve", "{\"behaviour\":\"busy\"}", &j), 200);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "id")->valuestring, "eve");
  cJSON_Delete(j);
  DT_ASSERT_EQ_INT(ctl(&f, "PUT", "/parties/eve", "{\"behaviour\":\"maybe\"}", NULL), 400);
  DT_ASSERT_EQ_INT(ctl(&f, "DELETE", "/parties/eve", NULL, NULL), 204);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/config", "{\"history\":0}", NULL), 400);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/config?x=1", "{\"ring_timeout_ms\":5000}", &j), 200);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "ring_timeout_ms")->valuedouble, 5000);
  cJSON_Delete(j);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/bot", "{\"url\":\"ftp://no\"}", NULL), 400);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/faults", "{\"drop_notifications\":2}", NULL), 400);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/faults", "{\"graph_status\":503}", &j), 200);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "graph_status")->valuedouble, 503);
  cJSON_Delete(j);
  DT_ASSERT_EQ_INT(ctl(&f, "DELETE", "/faults", NULL, NULL), 200);
  DT_ASSERT_EQ_INT(ctl(&f, "GET", "/stats", NULL, &j), 200);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "calls_total")->valuedouble, 1);
  cJSON_Delete(j);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/reset", NULL, NULL), 200);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(refusals) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  cJSON *j = NULL;
  DT_ASSERT_EQ_INT(ctl(&f, "GET", "/calls/nope", NULL, &j), 404);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring, "itemNotFound");
  cJSON_Delete(j);
  DT_ASSERT_EQ_INT(ctl(&f, "PATCH", "/config", NULL, NULL), 405);
  DT_ASSERT_EQ_INT(ctl(&f, "POST", "/calls", "[1]", NULL), 400);
  DT_ASSERT_EQ_INT(ctl(&f, "GET", "/nowhere", NULL, NULL), 404);
  DT_ASSERT_EQ_INT(ctl(&f, "GET", "/events", NULL, NULL), 400); /* a stream needs a connection */
  DT_ASSERT_EQ_INT(ctl(&f, "GET", "calls", NULL, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_emulator_control(f.emu, "GET", "/calls", NULL, 5, NULL, NULL), DT_EINVAL);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
