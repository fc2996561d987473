/* The emulator end to end: a test bot receives a whole call's notifications. */
#include "dt_test.h"
#include "emu_harness.h"

DT_TEST(incoming_answer_hangup) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  h_resp_t r = h_req(&h, "POST", "/emulator/calls", "{\"from\":{\"phone\":\"+15551230000\"}}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 201);
  char id[64];
  snprintf(id, sizeof id, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
  h_resp_free(&r);
  int i = h_wait_note(&h, id, "created", "incoming", NULL, 0);
  DT_ASSERT(i >= 0);
  char path[256];
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s/answer", id);
  r = h_reqf(&h, "POST", path, "{\"callbackUri\":\"%s\",\"acceptedModalities\":[\"audio\"],\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}", h.bot_url);
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, id, "updated", "established", NULL, i) >= 0);
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s", id);
  r = h_req(&h, "DELETE", path, NULL, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 204);
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, id, "deleted", "terminated", NULL, 0) >= 0);
  for (int k = 0; k < h.nnotes; k++) printf("  %s\n", h.notes[k].body);
  h_stop(&h);
}

DT_TEST_MAIN()
