/*
 * test_call_incoming.c — core/calls/call_incoming.c: an incoming call's view (subject,
 * called, chat, meeting, context) from Graph's JSON, the facts routes match on, the glob,
 * the route matcher and the route check.
 */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/call_incoming.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

/* A policy-recording invite: the observed user is the source, the recorder's application
   instance the target (docs/emulator.md "Incoming context"). */
static const char *PBR =
    "{\"state\":\"incoming\",\"subject\":\"Quarterly review\","
    "\"source\":{\"identity\":{\"user\":{\"id\":\"u-obs\",\"displayName\":\"Olga\"}}},"
    "\"targets\":[{\"identity\":{\"applicationInstance\":{\"id\":\"ai-1\",\"displayName\":\"Recorder\"}}}],"
    "\"chatInfo\":{\"threadId\":\"19:meeting_x@thread.v2\",\"messageId\":\"0\"},"
    "\"meetingInfo\":{\"@odata.type\":\"#microsoft.graph.organizerMeetingInfo\","
    "\"organizer\":{\"user\":{\"id\":\"u-org\",\"tenantId\":\"t-1\",\"displayName\":\"Ola\"}}},"
    "\"incomingContext\":{\"sourceParticipantId\":\"p-1\",\"observedParticipantId\":\"p-1\","
    "\"onBehalfOf\":{\"user\":{\"id\":\"u-obs\"}}}}";

DT_TEST(the_view_holds_what_graph_sent_in_the_flow_api_form) {
  cJSON *rd = cJSON_Parse(PBR);
  cJSON *v = dt_incoming_view(rd);
  char *s = cJSON_PrintUnformatted(v);
  DT_ASSERT_EQ_STR(s, "{\"subject\":\"Quarterly review\","
                      "\"called\":{\"application_instance\":\"ai-1\",\"name\":\"Recorder\"},"
                      "\"chat\":{\"thread\":\"19:meeting_x@thread.v2\",\"message\":\"0\"},"
                      "\"meeting\":{\"organizer\":{\"user\":\"u-org\",\"name\":\"Ola\",\"tenant\":\"t-1\"},\"tenant\":\"t-1\"},"
                      "\"context\":{\"source_participant_id\":\"p-1\",\"observed_participant_id\":\"p-1\","
                      "\"on_behalf_of\":{\"user\":\"u-obs\"}}}");
  free(s);
  DT_ASSERT(dt_incoming_is_policy_recording(v));
  DT_ASSERT(dt_incoming_is_meeting(v));
  DT_ASSERT(!dt_incoming_is_transferred(v));
  cJSON_Delete(v);
  cJSON_Delete(rd);
}

DT_TEST(a_plain_call_has_only_the_called_identity_and_its_source_participant) {
  cJSON *rd = cJSON_Parse("{\"targets\":[{\"identity\":{\"application\":{\"id\":\"app\"}}}],"
                          "\"incomingContext\":{\"sourceParticipantId\":\"p-9\",\"transferor\":null},"
                          "\"subject\":\"\"}");
  cJSON *v = dt_incoming_view(rd);
  char *s = cJSON_PrintUnformatted(v);
  DT_ASSERT_EQ_STR(s, "{\"called\":{\"application\":\"app\"},\"context\":{\"source_participant_id\":\"p-9\"}}");
  free(s);
  DT_ASSERT(!dt_incoming_is_policy_recording(v) && !dt_incoming_is_meeting(v) && !dt_incoming_is_transferred(v));
  cJSON_Delete(v);
  cJSON_Delete(rd);
  v = dt_incoming_view(NULL); /* not an object: an empty view */
  DT_ASSERT(v != NULL && v->child == NULL);
  cJSON_Delete(v);
}

DT_TEST(a_transferred_call_and_a_long_subject) {
  char big[3000];
  memset(big, 'a', sizeof big);
  big[sizeof big - 1] = '\0';
  big[DT_INCOMING_MAX_TEXT - 1] = '\xc3'; /* a 2-byte sequence across the cut */
  big[DT_INCOMING_MAX_TEXT] = '\xa9';
  cJSON *rd = cJSON_CreateObject();
  cJSON_AddStringToObject(rd, "subject", big);
  cJSON *ic = cJSON_AddObjectToObject(rd, "incomingContext");
  cJSON *tr = cJSON_AddObjectToObject(ic, "transferor");
  cJSON *u = cJSON_AddObjectToObject(tr, "phone");
  cJSON_AddStringToObject(u, "id", "+15550100");
  cJSON *v = dt_incoming_view(rd);
  DT_ASSERT(dt_incoming_is_transferred(v));
  const cJSON *subj = cJSON_GetObjectItem(v, "subject");
  DT_ASSERT_EQ_INT(strlen(subj->valuestring), DT_INCOMING_MAX_TEXT - 1); /* not inside the é */
  const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "context"), "transferor");
  DT_ASSERT_EQ_STR(cJSON_GetObjectItem(t, "phone")->valuestring, "+15550100");
  cJSON_Delete(v);
  cJSON_Delete(rd);
}

DT_TEST(glob) {
  DT_ASSERT(dt_glob_match("*", ""));
  DT_ASSERT(dt_glob_match("Incident*", "incident 42: database"));
  DT_ASSERT(dt_glob_match("*urgent*", "An URGENT call"));
  DT_ASSERT(dt_glob_match("a?c", "abc"));
  DT_ASSERT(!dt_glob_match("a?c", "ac"));
  DT_ASSERT(!dt_glob_match("Incident*", "Re: Incident"));
  DT_ASSERT(dt_glob_match("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
  DT_ASSERT(!dt_glob_match("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

DT_TEST(routes_match_on_every_condition_they_set) {
  cJSON *rd = cJSON_Parse(PBR);
  cJSON *pbr = dt_incoming_view(rd);
  cJSON *plain = dt_incoming_view(NULL);
  const char *ids[] = {"ai-1"};
  DT_ASSERT(dt_route_matches(&(dt_route_t){.policy_recording = DT_ROUTE_YES, .flow = "r"}, pbr, ids, 1));
  DT_ASSERT(!dt_route_matches(&(dt_route_t){.policy_recording = DT_ROUTE_YES, .flow = "r"}, plain, NULL, 0));
  DT_ASSERT(dt_route_matches(&(dt_route_t){.policy_recording = DT_ROUTE_NO, .flow = "r"}, plain, NULL, 0));
  DT_ASSERT(dt_route_matches(&(dt_route_t){.meeting = DT_ROUTE_YES, .subject = "quarterly*"}, pbr, ids, 1));
  DT_ASSERT(!dt_route_matches(&(dt_route_t){.meeting = DT_ROUTE_YES, .subject = "weekly*"}, pbr, ids, 1));
  DT_ASSERT(dt_route_matches(&(dt_route_t){.subject = "*"}, NULL, NULL, 0)); /* no subject reads as "" */
  DT_ASSERT(!dt_route_matches(&(dt_route_t){.subject = "?*"}, plain, NULL, 0));
  DT_ASSERT(dt_route_matches(&(dt_route_t){.match = "AI-1", .transferred = DT_ROUTE_NO}, pbr, ids, 1));
  DT_ASSERT(!dt_route_matches(&(dt_route_t){.match = "other", .policy_recording = DT_ROUTE_YES}, pbr, ids, 1));
  DT_ASSERT(!dt_route_matches(&(dt_route_t){.transferred = DT_ROUTE_YES}, pbr, ids, 1));
  cJSON_Delete(pbr);
  cJSON_Delete(plain);
  cJSON_Delete(rd);
}

DT_TEST(route_check) {
  char err[256];
  DT_ASSERT_EQ_INT(dt_route_check(&(dt_route_t){.flow = "x"}, err, sizeof err), DT_ECONFIG);
  DT_ASSERT(strstr(err, "no condition") != NULL);
  DT_ASSERT_EQ_INT(dt_route_check(&(dt_route_t){.subject = "", .flow = "x"}, err, sizeof err), DT_ECONFIG);
  DT_ASSERT(strstr(err, "subject") != NULL);
  DT_ASSERT_EQ_INT(dt_route_check(&(dt_route_t){.match = "", .flow = "x"}, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_INT(dt_route_check(&(dt_route_t){.meeting = 7, .flow = "x"}, err, sizeof err), DT_ECONFIG);
  DT_ASSERT_EQ_INT(dt_route_check(&(dt_route_t){.policy_recording = DT_ROUTE_YES, .flow = "x"}, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_route_check(&(dt_route_t){.match = "*", .flow = "x"}, err, sizeof err), 0);
}

DT_TEST_MAIN()
