/*
 * Unit tests for core/graph/notify.c: every notification example of the reference documents
 * (every JSON file in tests/data/notifications, copied verbatim from the graph-NAME.md files and graph_api.md),
 * plus the spellings real Graph deliveries use (PascalCase enums, legacy `resource`,
 * `subCode`, numbers as strings), shapes Graph allows (arrays, single-object rosters),
 * limits and garbage.
 *
 * All fifteen document examples are valid JSON as published, so no *.invalid.json /
 * repaired pair exists; the test would parse such a pair if one were added (the
 * .invalid.json must fail with DT_EPARSE, the repaired one is checked by name).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/notify.h"
#include "harness/dt_test.h"

static char *data_path(const char *name) {
  const char *src = getenv("DT_SOURCE_DIR");
  return dt_xasprintf("%s/tests/data/notifications/%s", src ? src : ".", name);
}

/* Parses tests/data/notifications/<name>; returns the parse result code. */
static int parse_file(const char *name, dt_event_list_t *list) {
  char *path = data_path(name);
  char *body = NULL;
  size_t len = 0;
  int rc = dt_read_file(path, DT_NOTIFY_MAX_BODY, &body, &len);
  free(path);
  if (rc != 0) {
    fprintf(stderr, "  cannot read %s: %s\n", name, dt_strerror(rc));
    list->events = NULL;
    list->count = 0;
    return rc;
  }
  char err[256] = "";
  rc = dt_notify_parse(body, len, list, err, sizeof err);
  if (rc != 0) fprintf(stderr, "  %s: %s\n", name, err);
  free(body);
  return rc;
}

static int parse_str(const char *body, dt_event_list_t *list) {
  char err[256] = "";
  return dt_notify_parse(body, strlen(body), list, err, sizeof err);
}

static const char *str_at(const cJSON *obj, const char *a, const char *b, const char *c, const char *d) {
  const char *keys[] = {a, b, c, d};
  const cJSON *it = obj;
  for (int i = 0; i < 4 && keys[i]; i++) it = cJSON_GetObjectItemCaseSensitive(it, keys[i]);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

#define CALL_57 "57DAB8B1894C409AB240BD8BEAE78896"
#define CALL_90 "90ED37DCD8E34E119DE330A955DDA06F"
#define OP_0F "0FE0623FD62842EDB4BD8AC290072CC5"

/* ---- The documents' examples, one by one ---- */

DT_TEST(doc_create_call_establishing) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("create_call_establishing.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_STR(e->call_id, CALL_57);
  DT_ASSERT_EQ_INT(e->state, DT_CALL_STATE_ESTABLISHING);
  DT_ASSERT_EQ_STR(str_at(e->resource_data, "direction", NULL, NULL, NULL), "outgoing");
  DT_ASSERT(!e->result.present);
  dt_event_list_free(&l);
}

DT_TEST(doc_create_call_established) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("create_call_established.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_STR(l.events[0].call_id, CALL_57);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_INT(l.events[0].media_audio, DT_MEDIA_UNKNOWN);
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_operation_completed) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_operation_completed.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_OPERATION);
  DT_ASSERT_EQ_STR(e->call_id, CALL_57);
  DT_ASSERT_EQ_STR(e->op_id, OP_0F);
  DT_ASSERT_EQ_STR(e->op_type, "commsOperation");
  DT_ASSERT_EQ_INT(e->op_status, DT_OP_STATUS_COMPLETED);
  DT_ASSERT_EQ_STR(e->client_context, "d45324c1-fcb5-430a-902c-f20af696537c");
  DT_ASSERT(!e->result.present);
  DT_ASSERT(e->recording_location == NULL);
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_roster_participant_added) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_roster_participant_added.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_ROSTER);
  DT_ASSERT_EQ_STR(e->call_id, CALL_57);
  DT_ASSERT(cJSON_IsArray(e->resource_data));
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(e->resource_data), 2);
  const cJSON *p1 = cJSON_GetArrayItem(e->resource_data, 1);
  DT_ASSERT_EQ_STR(str_at(p1, "info", "identity", "application", "displayName"), "Test Bot");
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_p2p_incoming) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_p2p_incoming.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_CALL_INCOMING);
  DT_ASSERT_EQ_STR(e->call_id, CALL_57);
  DT_ASSERT_EQ_INT(e->state, DT_CALL_STATE_INCOMING);
  DT_ASSERT_EQ_STR(str_at(e->resource_data, "source", "identity", "user", "id"),
                   "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698");
  const cJSON *targets = cJSON_GetObjectItemCaseSensitive(e->resource_data, "targets");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(targets), 1);
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_p2p_establishing_established) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_p2p_establishing.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_ESTABLISHING);
  DT_ASSERT_EQ_STR(l.events[0].call_id, CALL_57);
  dt_event_list_free(&l);
  DT_ASSERT_EQ_INT(parse_file("invite_p2p_established.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_STR(l.events[0].call_id, CALL_57);
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_join_meeting_establishing_established) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_join_meeting_establishing.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_ESTABLISHING);
  DT_ASSERT_EQ_STR(l.events[0].call_id, CALL_90);
  dt_event_list_free(&l);
  DT_ASSERT_EQ_INT(parse_file("invite_join_meeting_established.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_STR(l.events[0].call_id, CALL_90);
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_from_incoming_operation_completed) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_from_incoming_operation_completed.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_OPERATION);
  DT_ASSERT_EQ_STR(e->call_id, CALL_90);
  DT_ASSERT_EQ_STR(e->op_id, OP_0F);
  DT_ASSERT_EQ_STR(e->op_type, "inviteParticipantsOperation");
  DT_ASSERT_EQ_INT(e->op_status, DT_OP_STATUS_COMPLETED);
  DT_ASSERT_EQ_STR(e->client_context, "A904FBD5A31041E881E861877A3DE3CD");
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_from_incoming_roster) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_from_incoming_roster_participant_added.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_ROSTER);
  DT_ASSERT_EQ_STR(l.events[0].call_id, CALL_57);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(l.events[0].resource_data), 2);
  dt_event_list_free(&l);
}

DT_TEST(doc_invite_original_call_terminated_then_deleted) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_original_call_terminated.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_CALL_TERMINATED); /* "updated" with state terminated */
  DT_ASSERT_EQ_INT(e->state, DT_CALL_STATE_TERMINATED);
  DT_ASSERT_EQ_STR(e->termination_reason, "AppInitiated");
  DT_ASSERT_EQ_STR(e->call_id, CALL_57);
  dt_event_list_free(&l);
  DT_ASSERT_EQ_INT(parse_file("invite_original_call_deleted.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_TERMINATED);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_UNKNOWN); /* the example has no state */
  DT_ASSERT_EQ_STR(l.events[0].call_id, CALL_57);
  dt_event_list_free(&l);
}

DT_TEST(doc_api_playprompt_completed) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("api_playprompt_completed.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_OPERATION);
  DT_ASSERT_EQ_STR(e->call_id, CALL_57);
  DT_ASSERT_EQ_STR(e->op_id, OP_0F);
  DT_ASSERT_EQ_STR(e->op_type, "playPromptOperation");
  DT_ASSERT_EQ_INT(e->op_status, DT_OP_STATUS_COMPLETED);
  DT_ASSERT(e->result.present);
  DT_ASSERT_EQ_INT(e->result.code, 200);
  DT_ASSERT_EQ_INT(e->result.subcode, 0);
  DT_ASSERT_EQ_STR(e->result.message, "Action completed successfully.");
  DT_ASSERT_EQ_STR(e->client_context, "d45324c1-fcb5-430a-902c-f20af696537c");
  dt_event_list_free(&l);
}

DT_TEST(doc_api_tone_received) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("api_tone_received.json", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_TONE);
  DT_ASSERT_EQ_STR(e->call_id, "57dab8b1-894c-409a-b240-bd8beae78896");
  DT_ASSERT_EQ_INT(e->tone, '1');
  DT_ASSERT_EQ_INT(e->tone_sequence_id, 1);
  DT_ASSERT_EQ_INT(e->state, DT_CALL_STATE_ESTABLISHED);
  dt_event_list_free(&l);
}

/* Every file in the directory parses (or, for *.invalid.json, fails with DT_EPARSE), and
   every file is one of the examples checked field by field above. */
DT_TEST(doc_every_example_file_is_parsed_and_checked) {
  static const char *const checked[] = {
      "create_call_establishing.json", "create_call_established.json",
      "invite_operation_completed.json", "invite_roster_participant_added.json",
      "invite_p2p_incoming.json", "invite_p2p_establishing.json", "invite_p2p_established.json",
      "invite_join_meeting_establishing.json", "invite_join_meeting_established.json",
      "invite_from_incoming_operation_completed.json",
      "invite_from_incoming_roster_participant_added.json",
      "invite_original_call_terminated.json", "invite_original_call_deleted.json",
      "api_playprompt_completed.json", "api_tone_received.json",
  };
  char *dir_path = data_path("");
  DIR *dir = opendir(dir_path);
  free(dir_path);
  DT_ASSERT(dir != NULL);
  int files = 0, unchecked = 0;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0) continue;
    files++;
    dt_event_list_t l;
    int rc = parse_file(de->d_name, &l);
    bool invalid = n > 13 && strcmp(de->d_name + n - 13, ".invalid.json") == 0;
    if (invalid) {
      if (rc != DT_EPARSE) { closedir(dir); DT_FAIL("%s parsed although it is invalid", de->d_name); }
      continue;
    }
    if (rc != 0 || l.count == 0) { closedir(dir); DT_FAIL("%s: rc %d, %zu events", de->d_name, rc, l.count); }
    dt_event_list_free(&l);
    bool known = false;
    for (size_t i = 0; i < DT_ARRAY_SIZE(checked); i++)
      if (strcmp(checked[i], de->d_name) == 0) known = true;
    if (!known) {
      fprintf(stderr, "  %s has no field-by-field test\n", de->d_name);
      unchecked++;
    }
  }
  closedir(dir);
  DT_ASSERT_EQ_INT(files, (int)DT_ARRAY_SIZE(checked));
  DT_ASSERT_EQ_INT(unchecked, 0);
}

/* ---- What real deliveries look like (graph_api.md §2.1, §9 of the checklist) ---- */

DT_TEST(pascal_case_enums) {
  const char *body =
      "{\"value\":["
      "{\"changeType\":\"Created\",\"resourceUrl\":\"/communications/calls/2F1A1100-AB\","
      "\"resourceData\":{\"state\":\"Incoming\",\"direction\":\"Incoming\"}},"
      "{\"changeType\":\"Updated\",\"resourceUrl\":\"/communications/calls/2F1A1100-AB\","
      "\"resourceData\":{\"state\":\"Established\",\"mediaState\":{\"audio\":\"Active\"}}},"
      "{\"changeType\":\"Updated\",\"resourceUrl\":\"/communications/calls/2F1A1100-AB\","
      "\"resourceData\":{\"state\":\"TransferAccepted\",\"mediaState\":{\"audio\":\"Inactive\"}}},"
      "{\"changeType\":\"Updated\",\"resourceUrl\":\"/communications/calls/2F1A1100-AB\","
      "\"resourceData\":{\"toneInfo\":{\"sequenceId\":7,\"tone\":\"Pound\"}}},"
      "{\"changeType\":\"Deleted\",\"resourceUrl\":\"/communications/calls/2F1A1100-AB/operations/OP1\","
      "\"resourceData\":{\"@odata.type\":\"microsoft.graph.recordOperation\",\"status\":\"Failed\"}},"
      "{\"changeType\":\"Updated\",\"resourceUrl\":\"/communications/calls/2F1A1100-AB/operations/OP2\","
      "\"resourceData\":{\"status\":\"NotStarted\"}},"
      "{\"changeType\":\"Deleted\",\"resourceUrl\":\"/communications/calls/2F1A1100-AB\","
      "\"resourceData\":{\"state\":\"Terminated\"}}"
      "]}";
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str(body, &l), 0);
  DT_ASSERT_EQ_INT(l.count, 7);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_INCOMING);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_INCOMING);
  DT_ASSERT_EQ_INT(l.events[1].type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_INT(l.events[1].state, DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_INT(l.events[1].media_audio, DT_MEDIA_ACTIVE);
  DT_ASSERT_EQ_INT(l.events[2].state, DT_CALL_STATE_TRANSFER_ACCEPTED);
  DT_ASSERT_EQ_INT(l.events[2].media_audio, DT_MEDIA_INACTIVE);
  DT_ASSERT_EQ_INT(l.events[3].type, DT_EVENT_TONE);
  DT_ASSERT_EQ_INT(l.events[3].tone, '#');
  DT_ASSERT_EQ_INT(l.events[3].tone_sequence_id, 7);
  DT_ASSERT_EQ_INT(l.events[4].type, DT_EVENT_OPERATION);
  DT_ASSERT_EQ_STR(l.events[4].op_type, "recordOperation"); /* no leading '#' */
  DT_ASSERT_EQ_INT(l.events[4].op_status, DT_OP_STATUS_FAILED);
  DT_ASSERT_EQ_STR(l.events[4].op_id, "OP1");
  DT_ASSERT_EQ_INT(l.events[5].op_status, DT_OP_STATUS_NOT_STARTED);
  DT_ASSERT(l.events[5].op_type == NULL);
  DT_ASSERT_EQ_INT(l.events[6].type, DT_EVENT_CALL_TERMINATED);
  DT_ASSERT_EQ_INT(l.events[6].state, DT_CALL_STATE_TERMINATED);
  for (size_t i = 0; i < l.count; i++) DT_ASSERT_EQ_STR(l.events[i].call_id, "2F1A1100-AB");
  dt_event_list_free(&l);
}

DT_TEST(legacy_resource_and_resource_url_precedence) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str("{\"value\":[{\"changeType\":\"updated\",\"resource\":\"/app/calls/LEGACY\","
                             "\"resourceData\":{\"state\":\"hold\"}}]}", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_STR(l.events[0].call_id, "LEGACY");
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_HOLD);
  dt_event_list_free(&l);
  /* Both present (CS#700, CS#752 captures): resourceUrl is the current one. */
  DT_ASSERT_EQ_INT(parse_str("{\"value\":[{\"changeType\":\"Updated\",\"resource\":\"/app/calls/old-id\","
                             "\"resourceUrl\":\"/communications/calls/new-id\","
                             "\"resourceData\":{\"state\":\"Established\"}}]}", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_STR(l.events[0].call_id, "new-id");
  dt_event_list_free(&l);
  /* Absolute URLs with a version prefix. */
  DT_ASSERT_EQ_INT(parse_str("{\"value\":[{\"changeType\":\"deleted\",\"resourceUrl\":"
                             "\"https://graph.microsoft.com/v1.0/communications/calls/c1/operations/o1\","
                             "\"resourceData\":{\"status\":\"completed\"}}]}", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_STR(l.events[0].call_id, "c1");
  DT_ASSERT_EQ_STR(l.events[0].op_id, "o1");
  dt_event_list_free(&l);
}

/* §1.6: recordResponse completion, with the recording's location and access token. */
DT_TEST(record_operation_completed) {
  const char *body =
      "{\"@odata.type\":\"#microsoft.graph.commsNotifications\",\"value\":[{"
      "\"@odata.type\":\"#microsoft.graph.commsNotification\",\"changeType\":\"deleted\","
      "\"resourceUrl\":\"/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/operations/"
      "0fe0623f-d628-42ed-b4bd-8ac290072cc5\",\"resourceData\":{"
      "\"@odata.type\":\"#microsoft.graph.recordOperation\",\"status\":\"completed\","
      "\"completionReason\":\"stopToneDetected\","
      "\"resultInfo\":{\"@odata.type\":\"#microsoft.graph.resultInfo\",\"code\":200,\"subcode\":8515,"
      "\"message\":\"Action completed, max record duration reached.\"},"
      "\"recordingLocation\":\"https://file.location/17e3b46c-f61d-4f4d-9635-c626ef18e6ad\","
      "\"recordingAccessToken\":\"<access-token>\",\"clientContext\":\"ctx-1\"}}]}";
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str(body, &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  dt_event_t *e = &l.events[0];
  DT_ASSERT_EQ_INT(e->type, DT_EVENT_OPERATION);
  DT_ASSERT_EQ_STR(e->op_id, "0fe0623f-d628-42ed-b4bd-8ac290072cc5");
  DT_ASSERT_EQ_STR(e->op_type, "recordOperation");
  DT_ASSERT_EQ_INT(e->op_status, DT_OP_STATUS_COMPLETED);
  DT_ASSERT_EQ_INT(e->result.code, 200);
  DT_ASSERT_EQ_INT(e->result.subcode, 8515);
  DT_ASSERT_EQ_STR(e->recording_location, "https://file.location/17e3b46c-f61d-4f4d-9635-c626ef18e6ad");
  DT_ASSERT_EQ_STR(e->recording_access_token, "<access-token>");
  DT_ASSERT_EQ_STR(e->completion_reason, "stopToneDetected");
  DT_ASSERT_EQ_STR(e->client_context, "ctx-1");
  dt_event_list_free(&l);
}

/* §1.9: a cancelled recordResponse has empty location and token: they come out NULL. */
DT_TEST(record_operation_cancelled_has_no_location) {
  const char *body =
      "{\"value\":[{\"changeType\":\"deleted\",\"resourceUrl\":\"/communications/calls/C/operations/O\","
      "\"resourceData\":{\"@odata.type\":\"#microsoft.graph.recordOperation\",\"status\":\"failed\","
      "\"resultInfo\":{\"code\":400,\"subcode\":8508,\"message\":\"Action failed, the operation was cancelled.\"},"
      "\"recordingLocation\":\"\",\"recordingAccessToken\":\"\",\"completionReason\":\"operationCanceled\"}}]}";
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str(body, &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(l.events[0].op_status, DT_OP_STATUS_FAILED);
  DT_ASSERT_EQ_INT(l.events[0].result.code, 400);
  DT_ASSERT_EQ_INT(l.events[0].result.subcode, 8508);
  DT_ASSERT(l.events[0].recording_location == NULL);
  DT_ASSERT(l.events[0].recording_access_token == NULL);
  DT_ASSERT_EQ_STR(l.events[0].completion_reason, "operationCanceled");
  dt_event_list_free(&l);
}

/* §1.4 / §1.10: `subCode` spelling, codes sent as strings. */
DT_TEST(result_info_spellings) {
  const char *body =
      "{\"value\":["
      "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/T\",\"resourceData\":{"
      "\"state\":\"established\",\"resultInfo\":{\"code\":500,\"subCode\":7000,\"message\":\"transfer failed\"}}},"
      "{\"changeType\":\"deleted\",\"resourceUrl\":\"/communications/calls/T\",\"resourceData\":{"
      "\"state\":\"terminated\",\"resultInfo\":{\"code\":\"0\",\"subcode\":\"7015\",\"message\":\"GracefulTransferCompleted\"}}},"
      "{\"changeType\":\"deleted\",\"resourceUrl\":\"/communications/calls/T\",\"resourceData\":{"
      "\"resultInfo\":{\"code\":1e300,\"subcode\":\"x7\"}}}"
      "]}";
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str(body, &l), 0);
  DT_ASSERT_EQ_INT(l.count, 3);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_INT(l.events[0].result.code, 500);
  DT_ASSERT_EQ_INT(l.events[0].result.subcode, 7000);
  DT_ASSERT_EQ_STR(l.events[0].result.message, "transfer failed");
  DT_ASSERT_EQ_INT(l.events[1].type, DT_EVENT_CALL_TERMINATED);
  DT_ASSERT(l.events[1].result.present);
  DT_ASSERT_EQ_INT(l.events[1].result.code, 0);
  DT_ASSERT_EQ_INT(l.events[1].result.subcode, 7015);
  DT_ASSERT_EQ_STR(l.events[1].result.message, "GracefulTransferCompleted");
  /* Out-of-range and non-numeric values are ignored, not converted. */
  DT_ASSERT(l.events[2].result.present);
  DT_ASSERT_EQ_INT(l.events[2].result.code, 0);
  DT_ASSERT_EQ_INT(l.events[2].result.subcode, 0);
  DT_ASSERT(l.events[2].result.message == NULL);
  dt_event_list_free(&l);
}

DT_TEST(tone_sequence_as_string_and_large) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str("{\"value\":[{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/x\","
                             "\"resourceData\":{\"toneInfo\":{\"sequenceId\":\"9007199254740993\",\"tone\":\"Tone9\"}}},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/x\","
                             "\"resourceData\":{\"toneInfo\":{\"sequenceId\":3,\"tone\":\"FLASH\"}}},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/x\","
                             "\"resourceData\":{\"state\":\"established\",\"toneInfo\":{\"sequenceId\":4,\"tone\":\"tone12\"}}}]}",
                             &l), 0);
  DT_ASSERT_EQ_INT(l.count, 3);
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_TONE);
  DT_ASSERT_EQ_INT(l.events[0].tone, '9');
  DT_ASSERT(l.events[0].tone_sequence_id == INT64_C(9007199254740993));
  DT_ASSERT_EQ_INT(l.events[1].tone, 'F');
  /* An unknown tone is not a tone event. */
  DT_ASSERT_EQ_INT(l.events[2].type, DT_EVENT_CALL_STATE);
  DT_ASSERT_EQ_INT(l.events[2].tone, 0);
  dt_event_list_free(&l);
}

/* Graph: "resourceData ... is either an entity or a collection of entities". */
DT_TEST(resource_data_array_and_single_roster_object) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str("{\"value\":[{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/A\","
                             "\"resourceData\":[{\"state\":\"establishing\"},{\"state\":\"established\"}]},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/A/participants\","
                             "\"resourceData\":{\"id\":\"p1\",\"isMuted\":true}},"
                             "{\"changeType\":\"deleted\",\"resourceUrl\":\"/communications/calls/A\",\"resourceData\":[]}]}",
                             &l), 0);
  DT_ASSERT_EQ_INT(l.count, 4);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_ESTABLISHING);
  DT_ASSERT_EQ_INT(l.events[1].state, DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_INT(l.events[2].type, DT_EVENT_ROSTER);
  DT_ASSERT(cJSON_IsArray(l.events[2].resource_data));
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(l.events[2].resource_data), 1);
  DT_ASSERT_EQ_STR(str_at(cJSON_GetArrayItem(l.events[2].resource_data, 0), "id", NULL, NULL, NULL), "p1");
  DT_ASSERT_EQ_INT(l.events[3].type, DT_EVENT_CALL_TERMINATED);
  DT_ASSERT(l.events[3].resource_data == NULL);
  dt_event_list_free(&l);
}

/* No deduplication: that is the registry's job. */
DT_TEST(duplicates_are_kept_in_order) {
  const char *one = "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/D\","
                    "\"resourceData\":{\"state\":\"established\"}}";
  char *body = dt_xasprintf("{\"value\":[%s,%s,{\"changeType\":\"updated\",\"resourceUrl\":"
                            "\"/communications/calls/D\",\"resourceData\":{\"state\":\"establishing\"}}]}",
                            one, one);
  dt_event_list_t l;
  int rc = parse_str(body, &l);
  free(body);
  DT_ASSERT_EQ_INT(rc, 0);
  DT_ASSERT_EQ_INT(l.count, 3);
  DT_ASSERT_EQ_INT(l.events[0].state, DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_INT(l.events[1].state, DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_INT(l.events[2].state, DT_CALL_STATE_ESTABLISHING);
  dt_event_list_free(&l);
}

DT_TEST(unknown_kinds_are_skipped) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_str("{\"value\":["
                             "{\"changeType\":\"acknowledged\",\"resourceUrl\":\"/communications/calls/A\"},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/onlineMeetings/M\"},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/A/audioRoutingGroups/g\"},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/callRecords/R\"},"
                             "{\"changeType\":\"deleted\",\"resourceUrl\":\"/communications/calls/A/participants/p\"},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/\"},"
                             "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/A\"}]}", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_STR(l.events[0].call_id, "A");
  DT_ASSERT_EQ_INT(l.events[0].type, DT_EVENT_CALL_STATE);
  dt_event_list_free(&l);
  DT_ASSERT_EQ_INT(parse_str("{\"value\":[]}", &l), 0);
  DT_ASSERT_EQ_INT(l.count, 0);
  DT_ASSERT(l.events == NULL);
  dt_event_list_free(&l);
}

DT_TEST(garbage_is_eparse) {
  static const char *const bad[] = {
      "", "{", "null", "[]", "42", "\"value\"", "{\"value\":{}}", "{\"values\":[]}",
      "{\"value\":[1]}", "{\"value\":[{\"resourceUrl\":\"/communications/calls/A\"}]}",
      "{\"value\":[{\"changeType\":\"updated\"}]}",
      "{\"value\":[{\"changeType\":7,\"resourceUrl\":\"/communications/calls/A\"}]}",
      "{\"value\":[{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/A\",\"resourceData\":\"x\"}]}",
      /* A bare notification: Graph always sends the envelope. */
      "{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/A\"}",
      "{\"value\":[]} trailing",
      "{\"value\":[]}{\"value\":[]}",
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    dt_event_list_t l = {(dt_event_t *)&l, 99};
    char err[128] = "";
    int rc = dt_notify_parse(bad[i], strlen(bad[i]), &l, err, sizeof err);
    DT_ASSERT_MSG(rc == DT_EPARSE, "case %zu (%s): rc %d", i, bad[i], rc);
    DT_ASSERT(l.events == NULL && l.count == 0);
    DT_ASSERT_MSG(err[0] != '\0', "case %zu has no detail", i);
  }
  /* Embedded NUL inside the stated length. */
  const char nul[] = "{\"value\":[]}\0x";
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(dt_notify_parse(nul, sizeof nul - 1, &l, NULL, 0), DT_EPARSE);
}

DT_TEST(limits) {
  /* 101 notifications. */
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "{\"value\":[");
  for (int i = 0; i < DT_NOTIFY_MAX_NOTIFICATIONS + 1; i++)
    dt_buf_appendf(&b, "%s{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/c%d\"}",
                   i ? "," : "", i);
  dt_buf_appendf(&b, "]}");
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(dt_notify_parse(b.data, b.len, &l, NULL, 0), DT_EPARSE);
  /* Exactly 100 is fine. */
  dt_buf_reset(&b);
  dt_buf_appendf(&b, "{\"value\":[");
  for (int i = 0; i < DT_NOTIFY_MAX_NOTIFICATIONS; i++)
    dt_buf_appendf(&b, "%s{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/c%d\"}",
                   i ? "," : "", i);
  dt_buf_appendf(&b, "]}");
  DT_ASSERT_EQ_INT(dt_notify_parse(b.data, b.len, &l, NULL, 0), 0);
  DT_ASSERT_EQ_INT(l.count, DT_NOTIFY_MAX_NOTIFICATIONS);
  DT_ASSERT_EQ_STR(l.events[99].call_id, "c99");
  dt_event_list_free(&l);
  /* An array resourceData counts element by element. */
  dt_buf_reset(&b);
  dt_buf_appendf(&b, "{\"value\":[{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/A\",\"resourceData\":[");
  for (int i = 0; i < DT_NOTIFY_MAX_NOTIFICATIONS + 1; i++) dt_buf_appendf(&b, "%s{}", i ? "," : "");
  dt_buf_appendf(&b, "]}]}");
  DT_ASSERT_EQ_INT(dt_notify_parse(b.data, b.len, &l, NULL, 0), DT_EPARSE);
  /* Over 1 MiB. */
  dt_buf_reset(&b);
  dt_buf_appendf(&b, "{\"value\":[],\"pad\":\"");
  while (b.len < DT_NOTIFY_MAX_BODY) dt_buf_appendf(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  dt_buf_appendf(&b, "\"}");
  DT_ASSERT_EQ_INT(dt_notify_parse(b.data, b.len, &l, NULL, 0), DT_ETOOBIG);
  dt_buf_free(&b);
}

DT_TEST(strings_are_truncated_on_utf8_boundaries) {
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "{\"value\":[{\"changeType\":\"deleted\",\"resourceUrl\":\"/communications/calls/");
  for (int i = 0; i < 400; i++) dt_buf_appendf(&b, "a");
  dt_buf_appendf(&b, "/operations/o\",\"resourceData\":{\"status\":\"completed\",\"resultInfo\":{\"code\":200,\"message\":\"x");
  for (int i = 0; i < 1000; i++) dt_buf_appendf(&b, "\xc3\xa9"); /* é, two bytes each */
  dt_buf_appendf(&b, "\"}}}]}");
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(dt_notify_parse(b.data, b.len, &l, NULL, 0), 0);
  dt_buf_free(&b);
  DT_ASSERT_EQ_INT(l.count, 1);
  DT_ASSERT_EQ_INT(strlen(l.events[0].call_id), DT_NOTIFY_MAX_ID);
  size_t n = strlen(l.events[0].result.message);
  /* 'x' + whole é's: an odd length, at most the limit, never half a character. */
  DT_ASSERT(n <= DT_NOTIFY_MAX_TEXT);
  DT_ASSERT(n >= DT_NOTIFY_MAX_TEXT - 1);
  DT_ASSERT_EQ_INT(n % 2, 1);
  DT_ASSERT_EQ_STR(l.events[0].op_id, "o");
  dt_event_list_free(&l);
}

/* Consumers may take over resource_data or a string (documented in notify.h). */
DT_TEST(fields_can_be_taken_over) {
  dt_event_list_t l;
  DT_ASSERT_EQ_INT(parse_file("invite_p2p_incoming.json", &l), 0);
  cJSON *data = l.events[0].resource_data;
  char *id = l.events[0].call_id;
  l.events[0].resource_data = NULL;
  l.events[0].call_id = NULL;
  dt_event_list_free(&l);
  DT_ASSERT_EQ_STR(str_at(data, "direction", NULL, NULL, NULL), "incoming");
  DT_ASSERT_EQ_STR(id, CALL_57);
  cJSON_Delete(data);
  free(id);
}

/* ---- name tables ---- */

DT_TEST(tone_names_round_trip) {
  const char *tones = "0123456789*#ABCDF";
  for (const char *t = tones; *t; t++) {
    const char *name = dt_tone_name(*t);
    DT_ASSERT(name != NULL);
    DT_ASSERT_EQ_INT(dt_tone_from_name(name), *t);
    char upper[8];
    snprintf(upper, sizeof upper, "%s", name);
    for (char *p = upper; *p; p++) if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
    DT_ASSERT_EQ_INT(dt_tone_from_name(upper), *t);
  }
  DT_ASSERT_EQ_STR(dt_tone_name('1'), "tone1");
  DT_ASSERT_EQ_STR(dt_tone_name('*'), "star");
  DT_ASSERT_EQ_STR(dt_tone_name('#'), "pound");
  DT_ASSERT_EQ_STR(dt_tone_name('A'), "a");
  DT_ASSERT_EQ_STR(dt_tone_name('F'), "flash");
  DT_ASSERT(dt_tone_name('x') == NULL);
  DT_ASSERT(dt_tone_name('a') == NULL);
  DT_ASSERT_EQ_INT(dt_tone_from_name("Tone1"), '1');
  DT_ASSERT_EQ_INT(dt_tone_from_name("a"), 'A');
  DT_ASSERT_EQ_INT(dt_tone_from_name("tone"), 0);
  DT_ASSERT_EQ_INT(dt_tone_from_name("tone10"), 0);
  DT_ASSERT_EQ_INT(dt_tone_from_name("e"), 0);
  DT_ASSERT_EQ_INT(dt_tone_from_name("#"), 0);
  DT_ASSERT_EQ_INT(dt_tone_from_name(""), 0);
  DT_ASSERT_EQ_INT(dt_tone_from_name(NULL), 0);
}

DT_TEST(state_and_status_names) {
  for (int s = DT_CALL_STATE_INCOMING; s <= DT_CALL_STATE_TERMINATED; s++)
    DT_ASSERT_EQ_INT(dt_call_state_from_name(dt_call_state_name((dt_call_state_t)s)), s);
  DT_ASSERT_EQ_STR(dt_call_state_name(DT_CALL_STATE_ESTABLISHED), "established");
  DT_ASSERT_EQ_STR(dt_call_state_name(DT_CALL_STATE_TRANSFER_ACCEPTED), "transferAccepted");
  DT_ASSERT_EQ_INT(dt_call_state_from_name("TRANSFERACCEPTED"), DT_CALL_STATE_TRANSFER_ACCEPTED);
  DT_ASSERT_EQ_INT(dt_call_state_from_name("Established"), DT_CALL_STATE_ESTABLISHED);
  DT_ASSERT_EQ_INT(dt_call_state_from_name("establishedx"), DT_CALL_STATE_UNKNOWN);
  DT_ASSERT_EQ_INT(dt_call_state_from_name(NULL), DT_CALL_STATE_UNKNOWN);
  DT_ASSERT_EQ_STR(dt_call_state_name((dt_call_state_t)99), "unknown");
  DT_ASSERT_EQ_INT(dt_op_status_from_name("Running"), DT_OP_STATUS_RUNNING);
  DT_ASSERT_EQ_INT(dt_op_status_from_name("notStarted"), DT_OP_STATUS_NOT_STARTED);
  DT_ASSERT_EQ_STR(dt_op_status_name(DT_OP_STATUS_FAILED), "failed");
  DT_ASSERT_EQ_STR(dt_event_type_name(DT_EVENT_TONE), "tone");
  DT_ASSERT_EQ_STR(dt_event_type_name(DT_EVENT_CALL_TERMINATED), "terminated");
}

/* Found by fuzz_notify: a key repeated inside resourceData leaked its first value. The last
   one wins (cJSON keeps both), and ASan's leak check fails this test if the first leaks. */
DT_TEST(repeated_keys_keep_the_last_value_without_leaking) {
  const char *body =
      "{\"value\":[{\"changeType\":\"deleted\","
      "\"resourceUrl\":\"/communications/calls/c1/operations/o1\","
      "\"resourceData\":{\"@odata.type\":\"#microsoft.graph.recordOperation\","
      "\"@odata.type\":\"#microsoft.graph.recordOperation\",\"status\":\"completed\","
      "\"clientContext\":\"first\",\"clientContext\":\"second\","
      "\"recordingLocation\":\"https://a/1\",\"recordingLocation\":\"https://a/2\","
      "\"recordingAccessToken\":\"t1\",\"recordingAccessToken\":\"t2\","
      "\"completionReason\":\"x\",\"completionReason\":\"stopToneDetected\","
      "\"terminationReason\":\"a\",\"terminationReason\":\"b\"}}]}";
  dt_event_list_t list = {0};
  DT_ASSERT_EQ_INT(dt_notify_parse(body, strlen(body), &list, NULL, 0), 0);
  DT_ASSERT_EQ_INT(list.count, 1);
  DT_ASSERT_EQ_STR(list.events[0].client_context, "second");
  DT_ASSERT_EQ_STR(list.events[0].recording_location, "https://a/2");
  DT_ASSERT_EQ_STR(list.events[0].recording_access_token, "t2");
  DT_ASSERT_EQ_STR(list.events[0].completion_reason, "stopToneDetected");
  dt_event_list_free(&list);
}

DT_TEST(arena_parse_gives_the_same_events_and_resets) {
  const char *body =
      "{\"value\":[{\"changeType\":\"updated\",\"resourceUrl\":\"/communications/calls/AB-cd\","
      "\"resourceData\":{\"@odata.type\":\"#microsoft.graph.call\",\"state\":\"established\"}}]}";
  dt_notify_arena_t arena = {0};
  dt_event_list_t a, b;
  char err[256];
  DT_ASSERT_EQ_INT(dt_notify_parse_arena(&arena, body, strlen(body), &a, err, sizeof err), 0);
  DT_ASSERT(arena.base != NULL && arena.cap == DT_NOTIFY_ARENA_BYTES);
  DT_ASSERT(arena.used > 0); /* the tree came from the arena */
  DT_ASSERT_EQ_INT(dt_notify_parse(body, strlen(body), &b, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(a.count, b.count);
  DT_ASSERT_EQ_INT(a.events[0].type, b.events[0].type);
  DT_ASSERT_EQ_STR(a.events[0].call_id, b.events[0].call_id);
  DT_ASSERT(a.events[0].resource_data != NULL); /* detached from the tree, still readable */
  dt_event_list_free(&a);
  dt_event_list_free(&b);
  dt_notify_arena_reset(&arena);
  DT_ASSERT_EQ_INT(arena.used, 0);
  /* a failed parse resets the arena itself */
  DT_ASSERT_EQ_INT(dt_notify_parse_arena(&arena, "{\"value\":[", 11, &a, err, sizeof err), DT_EPARSE);
  DT_ASSERT_EQ_INT(arena.used, 0);
  DT_ASSERT_EQ_INT(a.count, 0);
  free(arena.base);
}

DT_TEST_MAIN()
