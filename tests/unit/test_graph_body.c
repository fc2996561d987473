/*
 * Unit tests for the request bodies of core/graph/graph.c, compared structurally (cJSON_Compare)
 * with the request examples of the reference documents where dialtone can express them.
 *
 * The documents mix two styles: the v1.0 examples (graph_api.md) annotate every level with
 * "@odata.type", the beta seed documents (graph-create-call.md, graph-participant-invite.md)
 * annotate only polymorphic members. dialtone always sends the v1.0 style, so a beta
 * example is compared after dropping the annotations the example itself does not have
 * (drop_extra_annotations); v1.0 examples are compared exactly. Members an example has
 * that dialtone has no parameter for are removed from the example, each with a comment.
 */
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/graph_body.h"
#include "dialtone/http_client.h"
#include "harness/dt_test.h"

/* Removes "@odata.type" from ours wherever the document's object at the same place has none. */
static void drop_extra_annotations(cJSON *ours, const cJSON *doc) {
  if (cJSON_IsObject(ours) && cJSON_IsObject(doc)) {
    if (!cJSON_HasObjectItem(doc, "@odata.type")) cJSON_DeleteItemFromObjectCaseSensitive(ours, "@odata.type");
    for (cJSON *c = ours->child; c; c = c->next)
      drop_extra_annotations(c, cJSON_GetObjectItemCaseSensitive(doc, c->string));
  } else if (cJSON_IsArray(ours) && cJSON_IsArray(doc)) {
    int i = 0;
    for (cJSON *c = ours->child; c; c = c->next, i++) drop_extra_annotations(c, cJSON_GetArrayItem(doc, i));
  }
}

/* Deletes a member by a dotted path ("source.languageId", "mediaConfig.preFetchMedia"). */
static void drop_path(cJSON *root, const char *path) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  cJSON *o = root;
  char *save = NULL, *tok = strtok_r(buf, ".", &save), *next;
  while (tok && (next = strtok_r(NULL, ".", &save)) != NULL) {
    o = cJSON_GetObjectItemCaseSensitive(o, tok);
    tok = next;
  }
  if (o && tok) cJSON_DeleteItemFromObjectCaseSensitive(o, tok);
}

static bool same(const cJSON *a, const cJSON *b) {
  if (cJSON_Compare(a, b, true)) return true;
  char *sa = cJSON_Print(a), *sb = cJSON_Print(b);
  fprintf(stderr, "  ours:\n%s\n  document:\n%s\n", sa, sb);
  cJSON_free(sa);
  cJSON_free(sb);
  return false;
}

static const char *str_at(const cJSON *obj, const char *a, const char *b, const char *c) {
  const char *keys[] = {a, b, c};
  const cJSON *it = obj;
  for (int i = 0; i < 3 && keys[i]; i++) it = cJSON_GetObjectItemCaseSensitive(it, keys[i]);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* ---- building blocks ---- */

DT_TEST(identity_set_for_each_kind) {
  static const char *const kinds[] = {"user", "phone", "application", "applicationInstance", "guest"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(kinds); i++) {
    dt_identity_t id = {kinds[i], "id-1", "tenant-1", "Name"};
    cJSON *j = dt_graph_identity_set_json(&id);
    DT_ASSERT(j != NULL);
    DT_ASSERT_EQ_STR(str_at(j, "@odata.type", NULL, NULL), "#microsoft.graph.identitySet");
    DT_ASSERT_EQ_STR(str_at(j, kinds[i], "@odata.type", NULL), "#microsoft.graph.identity");
    DT_ASSERT_EQ_STR(str_at(j, kinds[i], "id", NULL), "id-1");
    DT_ASSERT_EQ_STR(str_at(j, kinds[i], "tenantId", NULL), "tenant-1");
    DT_ASSERT_EQ_STR(str_at(j, kinds[i], "displayName", NULL), "Name");
    DT_ASSERT_EQ_INT(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
  }
  /* Optional members are left out, not sent as null. */
  dt_identity_t phone = {"phone", "+12345678901", NULL, NULL};
  cJSON *j = dt_graph_identity_set_json(&phone);
  cJSON *want = cJSON_Parse("{\"@odata.type\":\"#microsoft.graph.identitySet\",\"phone\":{"
                            "\"@odata.type\":\"#microsoft.graph.identity\",\"id\":\"+12345678901\"}}");
  DT_ASSERT(same(j, want));
  cJSON_Delete(j);
  cJSON_Delete(want);
  /* A guest may have only a display name. */
  dt_identity_t guest = {"guest", NULL, NULL, "Visitor"};
  j = dt_graph_identity_set_json(&guest);
  DT_ASSERT(j != NULL);
  DT_ASSERT_EQ_STR(str_at(j, "guest", "displayName", NULL), "Visitor");
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "guest"), "id") == NULL);
  cJSON_Delete(j);
}

DT_TEST(identity_set_rejects_bad_input) {
  dt_identity_t bad[] = {
      {"bot", "x", NULL, NULL}, {NULL, "x", NULL, NULL}, {"user", NULL, NULL, NULL},
      {"user", "", NULL, NULL}, {"guest", NULL, NULL, NULL}, {"User", "x", NULL, NULL},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++)
    DT_ASSERT_MSG(dt_graph_identity_set_json(&bad[i]) == NULL, "case %zu accepted", i);
  DT_ASSERT(dt_graph_identity_set_json(NULL) == NULL);
  char *huge = dt_xmalloc(DT_GRAPH_MAX_STRING + 2);
  memset(huge, 'a', DT_GRAPH_MAX_STRING + 1);
  huge[DT_GRAPH_MAX_STRING + 1] = '\0';
  dt_identity_t big = {"user", "x", NULL, huge};
  DT_ASSERT(dt_graph_identity_set_json(&big) == NULL);
  free(huge);
}

DT_TEST(invitation_with_replaces_call_id) {
  dt_invitation_t inv = {{"user", "278405a3-f568-4b3e-b684-009193463064", NULL, "string"},
                         "a7ebfb2d-871e-419c-87af-27290b22e8db"};
  cJSON *j = dt_graph_invitation_json(&inv);
  DT_ASSERT_EQ_STR(str_at(j, "@odata.type", NULL, NULL), "#microsoft.graph.invitationParticipantInfo");
  DT_ASSERT_EQ_STR(str_at(j, "replacesCallId", NULL, NULL), "a7ebfb2d-871e-419c-87af-27290b22e8db");
  DT_ASSERT_EQ_STR(str_at(j, "identity", "user", "id"), "278405a3-f568-4b3e-b684-009193463064");
  cJSON_Delete(j);
  dt_invitation_t bad = {{"user", NULL, NULL, NULL}, NULL};
  DT_ASSERT(dt_graph_invitation_json(&bad) == NULL);
}

/* graph_api.md §1.5, the prompt object. */
DT_TEST(media_prompt_matches_document) {
  dt_media_t m = {"https://cdn.contoso.com/beep.wav", "1D6DE2D4-CD51-4309-8DAA-70768651088E"};
  cJSON *j = dt_graph_media_prompt_json(&m);
  cJSON *doc = cJSON_Parse(
      "{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":{\"@odata.type\":\"#microsoft.graph.mediaInfo\","
      "\"uri\":\"https://cdn.contoso.com/beep.wav\",\"resourceId\":\"1D6DE2D4-CD51-4309-8DAA-70768651088E\"}}");
  DT_ASSERT(same(j, doc));
  cJSON_Delete(j);
  cJSON_Delete(doc);
  dt_media_t none = {NULL, NULL};
  DT_ASSERT(dt_graph_media_prompt_json(&none) == NULL);
}

/* ---- create call ---- */

/* graph_api.md §1.2 (DC application-post-calls.md Example 1), v1.0: compared exactly. */
DT_TEST(create_call_p2p_v1_matches_document) {
  const char *doc_text =
      "{\n"
      "  \"@odata.type\": \"#microsoft.graph.call\",\n"
      "  \"callbackUri\": \"https://bot.contoso.com/callback\",\n"
      "  \"targets\": [{ \"@odata.type\": \"#microsoft.graph.invitationParticipantInfo\",\n"
      "                \"identity\": { \"@odata.type\": \"#microsoft.graph.identitySet\",\n"
      "                              \"user\": { \"@odata.type\": \"#microsoft.graph.identity\",\n"
      "                                        \"displayName\": \"John\", \"id\": \"112f7296-5fa4-42ca-bae8-6a692b15d4b8\" } } }],\n"
      "  \"requestedModalities\": [\"audio\"],\n"
      "  \"mediaConfig\": { \"@odata.type\": \"#microsoft.graph.serviceHostedMediaConfig\" }\n"
      "}";
  dt_invitation_t target = {{"user", "112f7296-5fa4-42ca-bae8-6a692b15d4b8", NULL, "John"}, NULL};
  dt_graph_create_params_t p = {.callback_uri = "https://bot.contoso.com/callback", .targets = &target,
                                .target_count = 1};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &p, &ours), 0);
  cJSON *doc = cJSON_Parse(doc_text);
  DT_ASSERT(doc != NULL);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
}

/* graph-create-call.md, "Create group call with service hosted media". */
DT_TEST(create_group_call_matches_document) {
  const char *doc_text =
      "{\n"
      "  \"subject\": \"Test Call\",\n"
      "  \"callbackUri\": \"https://bot.contoso.com/api/calls\",\n"
      "  \"source\": {\n"
      "    \"identity\": {\n"
      "      \"application\": {\n"
      "        \"id\": \"8A34A46B-3D17-4ADC-8DCE-DC4E7D572698\"\n"
      "      }\n"
      "    }\n"
      "  },\n"
      "  \"targets\": [\n"
      "    {\n"
      "      \"identity\": {\n"
      "        \"user\": {\n"
      "          \"id\": \"29362BD4-CD58-4ED0-A206-0E4A33DBB0B6\",\n"
      "          \"displayName\": \"Heidi Steen\"\n"
      "        }\n"
      "      }\n"
      "    },\n"
      "    {\n"
      "      \"identity\": {\n"
      "        \"phone\": {\n"
      "          \"displayName\": \"+12345678890\",\n"
      "          \"id\": \"+12345678890\"\n"
      "        }\n"
      "      }\n"
      "    }\n"
      "  ],\n"
      "  \"requestedModalities\": [ \"audio\", \"video\" ],\n"
      "  \"mediaConfig\": {\n"
      "    \"@odata.type\": \"#microsoft.graph.serviceHostedMediaConfig\",\n"
      "    \"preFetchMedia\": [\n"
      "      {\n"
      "        \"uri\": \"https://cdn.contoso.com/beep.wav\",\n"
      "        \"resourceId\": \"1D6DE2D4-CD51-4309-8DAA-70768651088E\"\n"
      "      },\n"
      "      {\n"
      "        \"uri\": \"https://cdn.contoso.com/cool.wav\",\n"
      "        \"resourceId\": \"1D6DE2D4-CD51-4309-8DAA-70768651088F\"\n"
      "      }\n"
      "    ]\n"
      "  },\n"
      "  \"chatInfo\": {\n"
      "    \"threadId\": \"19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2\",\n"
      "    \"messageId\": \"0\",\n"
      "    \"replyChainMessageId\": null\n"
      "  }\n"
      "}";
  cJSON *doc = cJSON_Parse(doc_text);
  DT_ASSERT(doc != NULL);
  /* dialtone's create call has no prefetch list (prompts are fetched on play), and it
     leaves unset members out instead of sending null. */
  drop_path(doc, "mediaConfig.preFetchMedia");
  drop_path(doc, "chatInfo.replyChainMessageId");
  dt_identity_t app = {"application", "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698", NULL, NULL};
  dt_invitation_t targets[] = {
      {{"user", "29362BD4-CD58-4ED0-A206-0E4A33DBB0B6", NULL, "Heidi Steen"}, NULL},
      {{"phone", "+12345678890", NULL, "+12345678890"}, NULL},
  };
  const char *mods[] = {"audio", "video"};
  dt_graph_create_params_t p = {
      .callback_uri = "https://bot.contoso.com/api/calls", .targets = targets, .target_count = 2,
      .source = &app, .modalities = mods, .modality_count = 2, .subject = "Test Call",
      .chat_thread_id = "19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2",
      .chat_message_id = "0",
  };
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_BETA, &p, &ours), 0);
  /* The beta examples carry no "@odata.type": "#microsoft.graph.call" at the top. */
  drop_extra_annotations(ours, doc);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
}

/* graph-create-call.md, "Join private meeting" and "Join channel meeting". */
DT_TEST(join_meeting_matches_documents) {
  const char *private_text =
      "{\n"
      "  \"subject\": \"Test Call\",\n"
      "  \"callbackUri\": \"https://bot.contoso.com/api/calls\",\n"
      "  \"source\": {\n"
      "    \"identity\": {\n"
      "      \"application\": {\n"
      "        \"id\": \"8A34A46B-3D17-4ADC-8DCE-DC4E7D572698\"\n"
      "      }\n"
      "    }\n"
      "  },\n"
      "  \"requestedModalities\": [ \"audio\", \"video\" ],\n"
      "  \"mediaConfig\": {\n"
      "    \"@odata.type\": \"#microsoft.graph.serviceHostedMediaConfig\",\n"
      "    \"preFetchMedia\": [\n"
      "      {\n"
      "        \"uri\": \"https://cdn.contoso.com/beep.wav\",\n"
      "        \"resourceId\": \"1D6DE2D4-CD51-4309-8DAA-70768651088E\"\n"
      "      },\n"
      "      {\n"
      "        \"uri\": \"https://cdn.contoso.com/cool.wav\",\n"
      "        \"resourceId\": \"1D6DE2D4-CD51-4309-8DAA-70768651088F\"\n"
      "      }\n"
      "    ]\n"
      "  },\n"
      "  \"chatInfo\": {\n"
      "    \"threadId\": \"19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2\",\n"
      "    \"messageId\": \"0\"\n"
      "  },\n"
      "  \"meetingInfo\": {\n"
      "    \"@odata.type\": \"#microsoft.graph.organizerMeetingInfo\",\n"
      "    \"organizer\": {\n"
      "      \"user\": {\n"
      "        \"id\": \"90ED37DC-D8E3-4E11-9DE3-30A955DDA06F\",\n"
      "        \"tenantId\": \"49BFC225-8482-4AB8-94E7-76B48FDB9849\"\n"
      "      }\n"
      "    }\n"
      "  }\n"
      "}";
  dt_identity_t app = {"application", "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698", NULL, NULL};
  const char *mods[] = {"audio", "video"};
  dt_graph_create_params_t p = {
      .callback_uri = "https://bot.contoso.com/api/calls", .source = &app, .modalities = mods,
      .modality_count = 2, .subject = "Test Call",
      .chat_thread_id = "19:meeting_NTg0NmQ3NTctZDVkZC00YzRhLThmNmEtOGQ3M2E0ODdmZDZk@thread.v2",
      .chat_message_id = "0",
      .meeting_organizer_id = "90ED37DC-D8E3-4E11-9DE3-30A955DDA06F",
      .meeting_organizer_tenant_id = "49BFC225-8482-4AB8-94E7-76B48FDB9849",
  };
  cJSON *doc = cJSON_Parse(private_text);
  DT_ASSERT(doc != NULL);
  drop_path(doc, "mediaConfig.preFetchMedia"); /* no prefetch on create, as above */
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_BETA, &p, &ours), 0);
  drop_extra_annotations(ours, doc);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  /* The channel meeting differs only in messageId (and a null replyChainMessageId). */
  cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "chatInfo"), "messageId",
                                         cJSON_CreateString("1507228578052"));
  p.chat_message_id = "1507228578052";
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_BETA, &p, &ours), 0);
  drop_extra_annotations(ours, doc);
  DT_ASSERT(same(ours, doc));
  /* No targets at all: a meeting join carries none. */
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(ours, "targets") == NULL);
  cJSON_Delete(ours);
  cJSON_Delete(doc);
}

/* The guest example of graph-create-call.md puts the guest under "user" with
   "identityProvider": "None"; dialtone uses the v1.0 communicationsIdentitySet member
   "guest" (graph.h), so only the shape is checked here. */
DT_TEST(join_as_guest_uses_guest_identity) {
  dt_graph_create_params_t p = {
      .callback_uri = "https://bot.contoso.com/api/calls",
      .chat_thread_id = "19:meeting_x@thread.v2", .chat_message_id = "0",
      .meeting_organizer_id = "90ED37DC-D8E3-4E11-9DE3-30A955DDA06F",
      .guest_display_name = "App_Guest_DisplayName", .guest_id = "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698",
  };
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &p, &ours), 0);
  DT_ASSERT_EQ_STR(str_at(ours, "source", "@odata.type", NULL), "#microsoft.graph.participantInfo");
  const cJSON *ident = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ours, "source"), "identity");
  DT_ASSERT_EQ_STR(str_at(ident, "guest", "displayName", NULL), "App_Guest_DisplayName");
  DT_ASSERT_EQ_STR(str_at(ident, "guest", "id", NULL), "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698");
  DT_ASSERT_EQ_STR(str_at(ours, "chatInfo", "@odata.type", NULL), "#microsoft.graph.chatInfo");
  DT_ASSERT_EQ_STR(str_at(cJSON_GetObjectItemCaseSensitive(ours, "meetingInfo"), "organizer", "user", "id"),
                   "90ED37DC-D8E3-4E11-9DE3-30A955DDA06F");
  cJSON_Delete(ours);
}

/* graph_api.md §1.2: PSTN (applicationInstance source, phone target, tenantId), plus the
   token and join-id meeting kinds. */
DT_TEST(create_call_pstn_and_meeting_kinds) {
  dt_identity_t inst = {"applicationInstance", "3d913abb-aec0-4964-8fa6-3c6850c4f278", NULL, "Calling Bot"};
  dt_invitation_t phone = {{"phone", "+12345678901", NULL, NULL}, NULL};
  dt_graph_create_params_t p = {.callback_uri = "https://bot.contoso.com/callback", .targets = &phone,
                                .target_count = 1, .source = &inst,
                                .tenant_id = "aa67bd4c-8475-432d-bd41-39f255720e0a",
                                .client_context = "ctx-9"};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &p, &ours), 0);
  cJSON *doc = cJSON_Parse(
      "{\"@odata.type\":\"#microsoft.graph.call\",\"callbackUri\":\"https://bot.contoso.com/callback\","
      "\"source\":{\"@odata.type\":\"#microsoft.graph.participantInfo\",\"identity\":{\"@odata.type\":"
      "\"#microsoft.graph.identitySet\",\"applicationInstance\":{\"@odata.type\":\"#microsoft.graph.identity\","
      "\"displayName\":\"Calling Bot\",\"id\":\"3d913abb-aec0-4964-8fa6-3c6850c4f278\"}}},"
      "\"targets\":[{\"@odata.type\":\"#microsoft.graph.invitationParticipantInfo\",\"identity\":{\"@odata.type\":"
      "\"#microsoft.graph.identitySet\",\"phone\":{\"@odata.type\":\"#microsoft.graph.identity\",\"id\":\"+12345678901\"}}}],"
      "\"requestedModalities\":[\"audio\"],\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"},"
      "\"tenantId\":\"aa67bd4c-8475-432d-bd41-39f255720e0a\",\"clientContext\":\"ctx-9\"}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);

  dt_graph_create_params_t tok = {.callback_uri = "https://b/cb", .meeting_token = "tok-1", .tenant_id = "t"};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_BETA, &tok, &ours), 0);
  DT_ASSERT_EQ_STR(str_at(ours, "meetingInfo", "@odata.type", NULL), "#microsoft.graph.tokenMeetingInfo");
  DT_ASSERT_EQ_STR(str_at(ours, "meetingInfo", "token", NULL), "tok-1");
  cJSON_Delete(ours);

  dt_graph_create_params_t jid = {.callback_uri = "https://b/cb", .meeting_join_id = "123456789", .meeting_passcode = "abc"};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &jid, &ours), 0);
  DT_ASSERT_EQ_STR(str_at(ours, "meetingInfo", "@odata.type", NULL), "#microsoft.graph.joinMeetingIdMeetingInfo");
  DT_ASSERT_EQ_STR(str_at(ours, "meetingInfo", "joinMeetingId", NULL), "123456789");
  DT_ASSERT_EQ_STR(str_at(ours, "meetingInfo", "passcode", NULL), "abc");
  cJSON_Delete(ours);
  /* joinMeetingIdMeetingInfo is v1.0 only. */
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_BETA, &jid, &ours), DT_EUNSUPPORTED);
  DT_ASSERT(ours == NULL);
}

DT_TEST(create_call_rejects_bad_params) {
  cJSON *ours = NULL;
  dt_invitation_t t = {{"user", "u", NULL, NULL}, NULL};
  dt_identity_t app = {"application", "a", NULL, NULL};
  dt_graph_create_params_t none = {.callback_uri = "https://b/cb"};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &none, &ours), DT_EINVAL); /* no targets, no meeting */
  dt_graph_create_params_t nocb = {.targets = &t, .target_count = 1};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &nocb, &ours), DT_EINVAL);
  dt_graph_create_params_t two = {.callback_uri = "https://b/cb", .meeting_token = "x", .meeting_organizer_id = "o"};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &two, &ours), DT_EINVAL);
  dt_graph_create_params_t guest_src = {.callback_uri = "https://b/cb", .targets = &t, .target_count = 1,
                                        .source = &app, .guest_display_name = "g"};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &guest_src, &ours), DT_EINVAL);
  dt_invitation_t bad = {{"robot", "u", NULL, NULL}, NULL};
  dt_graph_create_params_t badt = {.callback_uri = "https://b/cb", .targets = &bad, .target_count = 1};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &badt, &ours), DT_EINVAL);
  dt_graph_create_params_t many = {.callback_uri = "https://b/cb", .targets = &t, .target_count = DT_GRAPH_MAX_ITEMS + 1};
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_V1, &many, &ours), DT_EINVAL);
  DT_ASSERT(ours == NULL);
}

/* ---- incoming call actions ---- */

/* graph_api.md §1.3 (DC call-answer.md), v1.0: compared exactly. */
DT_TEST(answer_matches_document) {
  const char *doc_text =
      "{ \"callbackUri\": \"https://bot.contoso.com/api/calls\",\n"
      "    \"acceptedModalities\": [ \"audio\" ],\n"
      "    \"mediaConfig\": { \"@odata.type\": \"#microsoft.graph.serviceHostedMediaConfig\",\n"
      "      \"preFetchMedia\": [ { \"uri\": \"https://cdn.contoso.com/beep.wav\", \"resourceId\": \"1D6DE2D4-CD51-4309-8DAA-70768651088E\" },\n"
      "                         { \"uri\": \"https://cdn.contoso.com/cool.wav\", \"resourceId\": \"1D6DE2D4-CD51-4309-8DAA-70768651088F\" } ] } }";
  dt_media_t pre[] = {{"https://cdn.contoso.com/beep.wav", "1D6DE2D4-CD51-4309-8DAA-70768651088E"},
                      {"https://cdn.contoso.com/cool.wav", "1D6DE2D4-CD51-4309-8DAA-70768651088F"}};
  dt_graph_answer_params_t p = {.callback_uri = "https://bot.contoso.com/api/calls", .prefetch = pre, .prefetch_count = 2};
  cJSON *ours = NULL, *doc = cJSON_Parse(doc_text);
  DT_ASSERT(doc != NULL);
  DT_ASSERT_EQ_INT(dt_graph_answer_body(&p, &ours), 0);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  /* participantCapacity when given; callbackUri is required. */
  dt_graph_answer_params_t cap = {.callback_uri = "https://b/cb", .participant_capacity = 200};
  DT_ASSERT_EQ_INT(dt_graph_answer_body(&cap, &ours), 0);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(ours, "participantCapacity")->valueint, 200);
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ours, "mediaConfig"), "preFetchMedia") == NULL);
  cJSON_Delete(ours);
  dt_graph_answer_params_t nocb = {0};
  DT_ASSERT_EQ_INT(dt_graph_answer_body(&nocb, &ours), DT_EINVAL);
}

/* graph_api.md §1.3: {"reason":"busy"}; reasons outside the enum are refused. */
DT_TEST(reject_body) {
  cJSON *ours = NULL, *doc = cJSON_Parse("{\"reason\":\"busy\"}");
  DT_ASSERT_EQ_INT(dt_graph_reject_body("busy", NULL, &ours), 0);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  DT_ASSERT_EQ_INT(dt_graph_reject_body("forbidden", "https://b/cb", &ours), 0);
  DT_ASSERT_EQ_STR(str_at(ours, "callbackUri", NULL, NULL), "https://b/cb");
  cJSON_Delete(ours);
  DT_ASSERT_EQ_INT(dt_graph_reject_body(NULL, NULL, &ours), 0);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(ours), 0);
  cJSON_Delete(ours);
  DT_ASSERT_EQ_INT(dt_graph_reject_body("Busy", NULL, &ours), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_reject_body("later", NULL, &ours), DT_EINVAL);
}

DT_TEST(redirect_body) {
  dt_invitation_t t[] = {{{"user", "u1", NULL, NULL}, NULL}, {{"phone", "+1555", NULL, NULL}, NULL}};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_redirect_body(t, 2, 30, "https://b/cb", &ours), 0);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ours, "targets")), 2);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(ours, "timeout")->valueint, 30);
  DT_ASSERT_EQ_STR(str_at(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ours, "targets"), 1), "identity", "phone", "id"), "+1555");
  cJSON_Delete(ours);
  DT_ASSERT_EQ_INT(dt_graph_redirect_body(t, 1, 0, NULL, &ours), 0);
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(ours, "timeout") == NULL);
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(ours, "callbackUri") == NULL);
  cJSON_Delete(ours);
  DT_ASSERT_EQ_INT(dt_graph_redirect_body(t, 0, 0, NULL, &ours), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_redirect_body(t, 1, -1, NULL, &ours), DT_EINVAL);
}

/* redirect's full parameter list (graph_api.md §1.3): voicemail on each invitation; beta-only
   targetDisposition and masking refused in v1.0; forward takes one target. */
DT_TEST(redirect_params_body) {
  dt_invitation_t t[] = {{{"user", "u1", NULL, NULL}, NULL}, {{"user", "u2", NULL, NULL}, NULL}};
  dt_graph_redirect_params_t p = {.targets = t, .target_count = 1, .voicemail = true, .callback_uri = "https://b/cb"};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_redirect_params_body(DT_GRAPH_V1, &p, &ours), 0);
  const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ours, "targets"), 0);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(t0, "endpointType")->valuestring, "voicemail");
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(ours, "targetDisposition") == NULL);
  cJSON_Delete(ours);
  dt_graph_redirect_params_t b = {.targets = t, .target_count = 2, .disposition = "simultaneousRing",
                                  .mask_callee = true, .mask_caller = true, .timeout_s = 60};
  DT_ASSERT_EQ_INT(dt_graph_redirect_params_body(DT_GRAPH_V1, &b, &ours), DT_EUNSUPPORTED);
  DT_ASSERT(ours == NULL);
  DT_ASSERT_EQ_INT(dt_graph_redirect_params_body(DT_GRAPH_BETA, &b, &ours), 0);
  DT_ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(ours, "targetDisposition")->valuestring, "simultaneousRing");
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ours, "maskCallee")));
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ours, "maskCaller")));
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(ours, "timeout")->valueint, 60);
  cJSON_Delete(ours);
  b.disposition = "forward";
  DT_ASSERT_EQ_INT(dt_graph_redirect_params_body(DT_GRAPH_BETA, &b, &ours), DT_EINVAL);
  b.disposition = "sideways";
  b.target_count = 1;
  DT_ASSERT_EQ_INT(dt_graph_redirect_params_body(DT_GRAPH_BETA, &b, &ours), DT_EINVAL);
  b.disposition = NULL;
  b.timeout_s = 10; /* 15..90 */
  DT_ASSERT_EQ_INT(dt_graph_redirect_params_body(DT_GRAPH_BETA, &b, &ours), DT_EINVAL);
}

/* graph_api.md §1.4: PSTN target with an annotated identity; transferee is v1.0 only. */
DT_TEST(transfer_body) {
  dt_invitation_t target = {{"phone", "+12345678901", NULL, NULL}, NULL};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_transfer_body(DT_GRAPH_V1, &target, NULL, &ours), 0);
  cJSON *doc = cJSON_Parse("{\"transferTarget\":{\"@odata.type\":\"#microsoft.graph.invitationParticipantInfo\","
                           "\"identity\":{\"@odata.type\":\"#microsoft.graph.identitySet\",\"phone\":{"
                           "\"@odata.type\":\"#microsoft.graph.identity\",\"id\":\"+12345678901\"}}}}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  /* Consultative: replacesCallId on the target; group call: transferee. */
  dt_invitation_t cons = {{"user", "u2", "t2", NULL}, "second-call-id"};
  dt_identity_t transferee = {"user", "u1", "t1", NULL};
  DT_ASSERT_EQ_INT(dt_graph_transfer_body(DT_GRAPH_V1, &cons, &transferee, &ours), 0);
  DT_ASSERT_EQ_STR(str_at(ours, "transferTarget", "replacesCallId", NULL), "second-call-id");
  DT_ASSERT_EQ_STR(str_at(ours, "transferee", "@odata.type", NULL), "#microsoft.graph.participantInfo");
  const cJSON *ti = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ours, "transferee"), "identity");
  DT_ASSERT_EQ_STR(str_at(ti, "user", "id", NULL), "u1");
  DT_ASSERT_EQ_STR(str_at(ti, "user", "tenantId", NULL), "t1");
  cJSON_Delete(ours);
  DT_ASSERT_EQ_INT(dt_graph_transfer_body(DT_GRAPH_BETA, &cons, &transferee, &ours), DT_EUNSUPPORTED);
  DT_ASSERT_EQ_INT(dt_graph_transfer_body(DT_GRAPH_BETA, &cons, NULL, &ours), 0);
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(ours, "transferee") == NULL);
  cJSON_Delete(ours);
  DT_ASSERT_EQ_INT(dt_graph_transfer_body(DT_GRAPH_V1, NULL, NULL, &ours), DT_EINVAL);
}

/* ---- media ---- */

DT_TEST(play_prompt_body) {
  dt_media_t m[] = {{"https://cdn.contoso.com/beep.wav", "1D6DE2D4-CD51-4309-8DAA-70768651088E"},
                    {"https://cdn.contoso.com/cool.wav", NULL}};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_play_prompt_body(m, 2, "d45324c1-fcb5-430a-902c-f20af696537c", &ours), 0);
  cJSON *doc = cJSON_Parse(
      "{\"prompts\":[{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":{\"@odata.type\":\"#microsoft.graph.mediaInfo\","
      "\"uri\":\"https://cdn.contoso.com/beep.wav\",\"resourceId\":\"1D6DE2D4-CD51-4309-8DAA-70768651088E\"}},"
      "{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":{\"@odata.type\":\"#microsoft.graph.mediaInfo\","
      "\"uri\":\"https://cdn.contoso.com/cool.wav\"}}],\"clientContext\":\"d45324c1-fcb5-430a-902c-f20af696537c\"}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  DT_ASSERT_EQ_INT(dt_graph_play_prompt_body(m, 0, NULL, &ours), DT_EINVAL);
  dt_media_t empty = {"", NULL};
  DT_ASSERT_EQ_INT(dt_graph_play_prompt_body(&empty, 1, NULL, &ours), DT_EINVAL);
}

/* graph_api.md §1.6: the parameters and the docs' stopTones ["#","1","*"]. */
DT_TEST(record_body) {
  dt_media_t prompt = {"https://cdn.contoso.com/beep.wav", "1D6DE2D4-CD51-4309-8DAA-70768651088E"};
  const char *stops[] = {"#", "1", "*"};
  dt_graph_record_params_t p = {.prompt = &prompt, .barge_in = true, .initial_silence_s = 5, .max_silence_s = 2,
                                .max_duration_s = 10, .play_beep = 1, .stop_tones = stops, .stop_tone_count = 3,
                                .client_context = "d45324c1-fcb5-430a-902c-f20af696537c"};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_record_body(&p, &ours), 0);
  cJSON *doc = cJSON_Parse(
      "{\"bargeInAllowed\":true,\"clientContext\":\"d45324c1-fcb5-430a-902c-f20af696537c\","
      "\"prompts\":[{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":{\"@odata.type\":\"#microsoft.graph.mediaInfo\","
      "\"uri\":\"https://cdn.contoso.com/beep.wav\",\"resourceId\":\"1D6DE2D4-CD51-4309-8DAA-70768651088E\"}}],"
      "\"maxRecordDurationInSeconds\":10,\"initialSilenceTimeoutInSeconds\":5,\"maxSilenceTimeoutInSeconds\":2,"
      "\"playBeep\":true,\"stopTones\":[\"#\",\"1\",\"*\"]}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  /* Zero / -1 mean "leave it to Graph's default". */
  dt_graph_record_params_t min = {.play_beep = -1};
  DT_ASSERT_EQ_INT(dt_graph_record_body(&min, &ours), 0);
  doc = cJSON_Parse("{\"bargeInAllowed\":false}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  dt_graph_record_params_t nobeep = {.play_beep = 0};
  DT_ASSERT_EQ_INT(dt_graph_record_body(&nobeep, &ours), 0);
  DT_ASSERT(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ours, "playBeep")));
  cJSON_Delete(ours);
  dt_graph_record_params_t bad = {.max_duration_s = -5, .play_beep = -1};
  DT_ASSERT_EQ_INT(dt_graph_record_body(&bad, &ours), DT_EINVAL);
  DT_ASSERT_EQ_STR(dt_graph_record_action(DT_GRAPH_V1), "recordResponse");
  DT_ASSERT_EQ_STR(dt_graph_record_action(DT_GRAPH_BETA), "record");
}

/* graph_api.md §1.8. The document abbreviates the list ("tone1","tone2",…,"star","pound")
   and the context ("e0be71f1-…"); repaired here to a complete list and a full GUID. */
DT_TEST(send_dtmf_body) {
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_send_dtmf_body("12*#", 1000, "e0be71f1-f6ba-4b3d-9f44-54f1e0fd1a31", &ours), 0);
  cJSON *doc = cJSON_Parse("{\"tones\":[\"tone1\",\"tone2\",\"star\",\"pound\"],\"delayBetweenTonesMs\":1000,"
                           "\"clientContext\":\"e0be71f1-f6ba-4b3d-9f44-54f1e0fd1a31\"}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  DT_ASSERT_EQ_INT(dt_graph_send_dtmf_body("0aBdF", 0, NULL, &ours), 0);
  doc = cJSON_Parse("{\"tones\":[\"tone0\",\"a\",\"b\",\"d\",\"flash\"]}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  DT_ASSERT_EQ_INT(dt_graph_send_dtmf_body("12x", 0, NULL, &ours), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_send_dtmf_body("", 0, NULL, &ours), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_send_dtmf_body("1", -1, NULL, &ours), DT_EINVAL);
}

/* graph_api.md §1.7: {"clientContext": ...}; and {} without one. */
DT_TEST(context_body) {
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_context_body("fd1c7836-4d84-4e24-b6aa-23188688cc54", &ours), 0);
  cJSON *doc = cJSON_Parse("{\"clientContext\":\"fd1c7836-4d84-4e24-b6aa-23188688cc54\"}");
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  DT_ASSERT_EQ_INT(dt_graph_context_body(NULL, &ours), 0);
  char *s = cJSON_PrintUnformatted(ours);
  DT_ASSERT_EQ_STR(s, "{}");
  cJSON_free(s);
  cJSON_Delete(ours);
}

/* ---- participants ---- */

/* graph-participant-invite.md, "Invite participant from initial incoming call". */
DT_TEST(invite_from_incoming_call_matches_document) {
  const char *doc_text =
      "{\n"
      "  \"participants\": [\n"
      "    {\n"
      "      \"@odata.type\": \"#microsoft.graph.invitationParticipantInfo\",\n"
      "      \"identity\": {\n"
      "        \"user\": {\n"
      "          \"id\": \"8A34A46B-3D17-4ADC-8DCE-DC4E7D572698\"\n"
      "        }\n"
      "      },\n"
      "      \"replacesCallId\": \"/app/calls/57DAB8B1894C409AB240BD8BEAE78896\"\n"
      "    }\n"
      "  ]\n"
      "}";
  dt_invitation_t inv = {{"user", "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698", NULL, NULL},
                         "/app/calls/57DAB8B1894C409AB240BD8BEAE78896"};
  cJSON *ours = NULL, *doc = cJSON_Parse(doc_text);
  DT_ASSERT(doc != NULL);
  DT_ASSERT_EQ_INT(dt_graph_invite_body(&inv, 1, NULL, &ours), 0);
  drop_extra_annotations(ours, doc);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
}

/* graph-participant-invite.md, the first request: endpointType, languageId and region
   have no dialtone parameter and are removed from the example. */
DT_TEST(invite_matches_document) {
  const char *doc_text =
      "{\n"
      "  \"participants\": [\n"
      "    {\n"
      "      \"endpointType\": \"default\",\n"
      "      \"identity\": {\n"
      "        \"user\": {\n"
      "          \"id\": \"550fae72-d251-43ec-868c-373732c2704f\",\n"
      "          \"tenantId\": \"72f988bf-86f1-41af-91ab-2d7cd011db47\",\n"
      "          \"displayName\": \"Heidi Steen\"\n"
      "        }\n"
      "      },\n"
      "      \"languageId\": \"languageId-value\",\n"
      "      \"region\": \"region-value\",\n"
      "      \"replacesCallId\": \"replacesCallId-value\"\n"
      "    }\n"
      "  ],\n"
      "  \"clientContext\": \"clientContext-value\"\n"
      "}";
  cJSON *doc = cJSON_Parse(doc_text);
  DT_ASSERT(doc != NULL);
  cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "participants"), 0);
  drop_path(p0, "endpointType");
  drop_path(p0, "languageId");
  drop_path(p0, "region");
  dt_invitation_t inv = {{"user", "550fae72-d251-43ec-868c-373732c2704f", "72f988bf-86f1-41af-91ab-2d7cd011db47",
                          "Heidi Steen"}, "replacesCallId-value"};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_invite_body(&inv, 1, "clientContext-value", &ours), 0);
  drop_extra_annotations(ours, doc);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
  DT_ASSERT_EQ_INT(dt_graph_invite_body(&inv, 0, NULL, &ours), DT_EINVAL);
}

/* graph_api.md §1.11, v1.0: compared exactly except the identitySet/identity annotations
   the example leaves out. The example's ids are abbreviated ("a7ebfb2d-…"); used as they are. */
DT_TEST(invite_v1_matches_document) {
  cJSON *doc = cJSON_Parse(
      "{\"participants\":[{\"@odata.type\":\"#microsoft.graph.invitationParticipantInfo\",\"replacesCallId\":\"a7ebfb2d-…\","
      "\"identity\":{\"user\":{\"id\":\"278405a3-…\",\"displayName\":\"string\"}}}],\"clientContext\":\"f2fa86af-…\"}");
  DT_ASSERT(doc != NULL);
  dt_invitation_t inv = {{"user", "278405a3-…", NULL, "string"}, "a7ebfb2d-…"};
  cJSON *ours = NULL;
  DT_ASSERT_EQ_INT(dt_graph_invite_body(&inv, 1, "f2fa86af-…", &ours), 0);
  drop_extra_annotations(ours, doc);
  DT_ASSERT(same(ours, doc));
  cJSON_Delete(ours);
  cJSON_Delete(doc);
}

/* ---- ids and URLs ---- */

DT_TEST(id_key_normalises_both_spellings) {
  char a[64], b[64];
  dt_graph_id_key("57DAB8B1894C409AB240BD8BEAE78896", a);
  dt_graph_id_key("57dab8b1-894c-409a-b240-bd8beae78896", b);
  DT_ASSERT_EQ_STR(a, "57dab8b1894c409ab240bd8beae78896");
  DT_ASSERT_EQ_STR(a, b);
  dt_graph_id_key("", a);
  DT_ASSERT_EQ_STR(a, "");
}

DT_TEST(calls_url_per_dialect) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_http_client_t *http = NULL;
  DT_ASSERT_EQ_INT(dt_http_client_new(&loop, &(dt_http_client_options_t){0}, &http), 0);
  dt_graph_t *g = NULL;
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = "https://graph.microsoft.com/v1.0"}, &g), 0);
  DT_ASSERT_EQ_STR(dt_graph_calls_url(g), "https://graph.microsoft.com/v1.0/communications/calls");
  dt_graph_free(g);
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL,
                                &(dt_graph_options_t){.base_url = "http://127.0.0.1:9090/beta/", .dialect = DT_GRAPH_BETA}, &g), 0);
  DT_ASSERT_EQ_STR(dt_graph_calls_url(g), "http://127.0.0.1:9090/beta/app/calls");
  /* Bad arguments fail at once and never call back. */
  DT_ASSERT_EQ_INT(dt_graph_get_call(g, "a/b", NULL, NULL, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_get_call(g, "", NULL, NULL, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_request(g, "BREW", "", NULL, NULL, NULL, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_pending(g), 0);
  dt_graph_free(g);
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = "ftp://x"}, &g), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_new(&loop, http, NULL, &(dt_graph_options_t){.base_url = NULL}, &g), DT_EINVAL);
  dt_http_client_close(http, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

static char *print_body(cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

DT_TEST(screen_sharing_role_and_metadata_bodies) {
  cJSON *o = NULL;
  DT_ASSERT_EQ_INT(dt_graph_screen_sharing_role_body("viewer", &o), 0);
  char *s = print_body(o);
  DT_ASSERT_EQ_STR(s, "{\"role\":\"viewer\"}");
  cJSON_free(s);
  DT_ASSERT_EQ_INT(dt_graph_screen_sharing_role_body("owner", &o), DT_EINVAL);
  DT_ASSERT(o == NULL);
  DT_ASSERT_EQ_INT(dt_graph_screen_sharing_role_body(NULL, &o), DT_EINVAL);

  DT_ASSERT_EQ_INT(dt_graph_update_metadata_body("m1", "ctx", &o), 0);
  s = print_body(o);
  DT_ASSERT_EQ_STR(s, "{\"metadata\":\"m1\",\"clientContext\":\"ctx\"}");
  cJSON_free(s);
  DT_ASSERT_EQ_INT(dt_graph_update_metadata_body("m1", NULL, &o), 0);
  s = print_body(o);
  DT_ASSERT_EQ_STR(s, "{\"metadata\":\"m1\"}");
  cJSON_free(s);
  DT_ASSERT_EQ_INT(dt_graph_update_metadata_body(NULL, "ctx", &o), DT_EINVAL);
  DT_ASSERT(o == NULL);
  char *big = malloc(DT_GRAPH_MAX_STRING + 2);
  memset(big, 'x', DT_GRAPH_MAX_STRING + 1);
  big[DT_GRAPH_MAX_STRING + 1] = '\0';
  DT_ASSERT_EQ_INT(dt_graph_update_metadata_body(big, NULL, &o), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_graph_update_metadata_body("m", big, &o), DT_EINVAL);
  free(big);
}

/* updateRecordingStatus, as the reference gives it: {clientContext, status}; the statuses a
   bot reports are recording, notRecording and failed (graph_api.md). */
DT_TEST(recording_status_body) {
  cJSON *o = NULL;
  DT_ASSERT_EQ_INT(dt_graph_recording_status_body("recording", "c-1", &o), 0);
  char *s = print_body(o);
  DT_ASSERT_EQ_STR(s, "{\"clientContext\":\"c-1\",\"status\":\"recording\"}");
  cJSON_free(s);
  DT_ASSERT_EQ_INT(dt_graph_recording_status_body("notRecording", NULL, &o), 0);
  s = print_body(o);
  DT_ASSERT_EQ_STR(s, "{\"status\":\"notRecording\"}");
  cJSON_free(s);
  DT_ASSERT(dt_graph_recording_status_ok("failed"));
  const char *bad[] = {"unknown", "unknownFutureValue", "Recording", "", NULL};
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    DT_ASSERT_EQ_INT(dt_graph_recording_status_body(bad[i], NULL, &o), DT_EINVAL);
    DT_ASSERT(o == NULL);
  }
  char *big = malloc(DT_GRAPH_MAX_STRING + 2);
  memset(big, 'x', DT_GRAPH_MAX_STRING + 1);
  big[DT_GRAPH_MAX_STRING + 1] = '\0';
  DT_ASSERT_EQ_INT(dt_graph_recording_status_body("failed", big, &o), DT_EINVAL);
  free(big);
}

/* Hold music: "loop": true in beta (graph_api.md §1.5); v1.0 has no loop parameter. */
DT_TEST(play_prompt_loop_is_beta_only) {
  dt_media_t m = {"https://b/hold.wav", NULL};
  cJSON *o = NULL;
  DT_ASSERT_EQ_INT(dt_graph_play_prompt_loop_body(DT_GRAPH_BETA, &m, 1, NULL, &o), 0);
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "loop")));
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "prompts")), 1);
  cJSON_Delete(o);
  DT_ASSERT_EQ_INT(dt_graph_play_prompt_loop_body(DT_GRAPH_V1, &m, 1, NULL, &o), DT_EUNSUPPORTED);
  DT_ASSERT(o == NULL);
  DT_ASSERT_EQ_INT(dt_graph_play_prompt_loop_body(DT_GRAPH_BETA, &m, 0, NULL, &o), DT_EINVAL);
}

/* A join without media: requestedModalities [] and no mediaConfig, as the documents'
   "Join channel meeting without media" example. */
DT_TEST(create_call_without_media) {
  dt_graph_create_params_t p = {.callback_uri = "https://b/cb", .chat_thread_id = "19:x@thread.v2",
                                .chat_message_id = "0", .meeting_organizer_id = "org", .no_media = true};
  cJSON *o = NULL;
  DT_ASSERT_EQ_INT(dt_graph_create_call_body(DT_GRAPH_BETA, &p, &o), 0);
  const cJSON *rm = cJSON_GetObjectItemCaseSensitive(o, "requestedModalities");
  DT_ASSERT(cJSON_IsArray(rm) && cJSON_GetArraySize(rm) == 0);
  DT_ASSERT(cJSON_GetObjectItemCaseSensitive(o, "mediaConfig") == NULL);
  cJSON_Delete(o);
}

DT_TEST_MAIN()
