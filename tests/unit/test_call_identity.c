/*
 * test_call_identity.c — core/calls/call_identity.c: the short text of an identity set,
 * the ids it names, an invitation's text, and the participants list a flow sees.
 */
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "call_internal.h"
#include "harness/dt_test.h"

DT_TEST(identity_text_and_ids) {
  cJSON *phone = cJSON_Parse("{\"phone\":{\"id\":\"+15550100\"}}");
  cJSON *user = cJSON_Parse("{\"user\":{\"id\":\"u-1\",\"displayName\":\"Ann\"},\"application\":{\"id\":\"a-1\"}}");
  cJSON *guest = cJSON_Parse("{\"guest\":{\"displayName\":\"Bob\"}}");
  cJSON *none = cJSON_Parse("{\"other\":{}}");
  char *t = dt__call_identity_text(phone);
  DT_ASSERT_EQ_STR(t, "+15550100");
  free(t);
  t = dt__call_identity_text(user);
  DT_ASSERT_EQ_STR(t, "user:u-1");
  free(t);
  t = dt__call_identity_text(guest);
  DT_ASSERT_EQ_STR(t, "guest:Bob");
  free(t);
  DT_ASSERT(dt__call_identity_text(none) == NULL);
  DT_ASSERT(dt__call_identity_text(NULL) == NULL);
  const char *ids[3];
  size_t n = dt__call_identity_ids(user, ids, 0, 3);
  DT_ASSERT_EQ_INT(n, 2);
  DT_ASSERT_EQ_STR(ids[0], "u-1");
  DT_ASSERT_EQ_STR(ids[1], "a-1");
  DT_ASSERT_EQ_INT(dt__call_identity_ids(phone, ids, n, 3), 3);
  DT_ASSERT_EQ_INT(dt__call_identity_ids(phone, ids, 3, 3), 3); /* full: nothing more */
  cJSON_Delete(phone);
  cJSON_Delete(user);
  cJSON_Delete(guest);
  cJSON_Delete(none);
}

DT_TEST(invitation_text) {
  char *t = dt__call_invitation_text(&(dt_identity_t){.kind = "phone", .id = "+1555"});
  DT_ASSERT_EQ_STR(t, "+1555");
  free(t);
  t = dt__call_invitation_text(&(dt_identity_t){.kind = "guest", .display_name = "Eve"});
  DT_ASSERT_EQ_STR(t, "guest:Eve");
  free(t);
  DT_ASSERT(dt__call_invitation_text(&(dt_identity_t){0}) == NULL);
}

DT_TEST(participants_as_the_flow_sees_them) {
  cJSON *body = cJSON_Parse("{\"value\":[{\"id\":\"p1\",\"info\":{\"identity\":{\"user\":{\"id\":\"u1\",\"displayName\":\"Ann\"}}},"
                            "\"isMuted\":true,\"isInLobby\":false},\"junk\",{\"id\":\"p2\"}]}");
  cJSON *out = dt__call_participants_json(body);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(out), 2);
  cJSON *p = cJSON_GetArrayItem(out, 0);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(p, "id")->valuestring, "p1");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(p, "user")->valuestring, "u1");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(p, "name")->valuestring, "Ann");
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(p, "muted")));
  DT_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(p, "in_lobby")));
  DT_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(out, 1), "muted")));
  cJSON_Delete(out);
  cJSON_Delete(body);
  out = dt__call_participants_json(NULL);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(out), 0);
  cJSON_Delete(out);
}

DT_TEST_MAIN()
