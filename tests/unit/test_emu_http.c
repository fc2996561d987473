/* Unit tests of emu_http.c: Graph error bodies and the counting of injected HTTP faults.
   (The respond helpers are exercised through the fronts: test_emu_graph, test_emulator.) */
#include "harness/dt_test.h"
#include "emulator/emu_http.h"

DT_TEST(error_bodies_have_graphs_shape) {
  char rid[37];
  char *t = dt__emu_error_text("8501", "Action is not valid.", "client-42", rid);
  cJSON *j = cJSON_Parse(t);
  DT_ASSERT(j != NULL);
  cJSON *e = cJSON_GetObjectItem(j, "error");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(e, "code")->valuestring, "8501");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(e, "message")->valuestring, "Action is not valid.");
  cJSON *ie = cJSON_GetObjectItem(e, "innerError");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(ie, "request-id")->valuestring, rid);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(ie, "client-request-id")->valuestring, "client-42");
  DT_ASSERT(cJSON_IsString(cJSON_GetObjectItem(ie, "date")));
  DT_ASSERT_EQ_INT(strlen(rid), 36);
  cJSON_Delete(j);
  free(t);
  /* no client id (or an overlong one): a fresh one */
  t = dt__emu_error_text("x", "y", NULL, rid);
  j = cJSON_Parse(t);
  const char *crid = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "innerError"),
                                         "client-request-id")->valuestring;
  DT_ASSERT_EQ_INT(strlen(crid), 36);
  cJSON_Delete(j);
  free(t);
}

DT_TEST(injected_faults_count_down) {
  int status = 503, count = 2;
  DT_ASSERT_EQ_INT(dt__emu_fault_take(&status, &count), 503);
  DT_ASSERT_EQ_INT(dt__emu_fault_take(&status, &count), 503);
  DT_ASSERT_EQ_INT(status, 0); /* the last one cleared it */
  DT_ASSERT_EQ_INT(dt__emu_fault_take(&status, &count), 0);
  status = 429;
  count = 0; /* unlimited */
  for (int i = 0; i < 5; i++) DT_ASSERT_EQ_INT(dt__emu_fault_take(&status, &count), 429);
  DT_ASSERT_EQ_INT(status, 429);
}

DT_TEST_MAIN()
