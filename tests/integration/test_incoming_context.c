/*
 * test_incoming_context.c — issue 12 points 4 and 7 (recording status) end to end: incoming
 * calls placed through the emulator's HTTP control API with a subject, as a meeting invite, a
 * transferred call and a policy-recording invite reach the engine over loopback HTTP, are
 * routed on that context, and the flow reads it (call.subject, call.meeting, call.context …);
 * call:recording_status sends updateRecordingStatus, which the emulator records. Built twice:
 * as is (v1.0) and included by test_incoming_context_beta.c (beta).
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

static const dt_route_t ROUTES[] = {
    {.policy_recording = DT_ROUTE_YES, .flow = "recorder"},
    {.meeting = DT_ROUTE_YES, .subject = "standup*", .flow = "meeting"},
    {.transferred = DT_ROUTE_YES, .flow = "transferred"},
};

static const char *REPORT = "  dialtone.log('info', 'CTX', call.subject, call.called.application_instance and 'instance' or call.called.application and 'app',\n"
                            "    call.meeting and call.meeting.organizer.user, call.chat and call.chat.thread,\n"
                            "    call.context.transferor and call.context.transferor.user,\n"
                            "    call.context.on_behalf_of and call.context.on_behalf_of.phone,\n"
                            "    call.context.observed_participant_id == call.context.source_participant_id)\n";

H_TEST(routes_match_on_the_context_and_flows_read_it, .time_scale = 0, .routes = ROUTES, .route_count = 3) {
  char *body = dt_xasprintf("return function(call)\n%s  call:answer()\nend\n", REPORT);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", body), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "recorder", body), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "meeting", body), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "transferred", body), 0);
  free(body);
  char id[128];
  cJSON *cdr = h_run_call("\"policy_recording\":true,\"from\":{\"user\":\"obs-1\"}", id);
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "recorder");
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "CTX nil instance nil nil nil nil true"));

  cdr = h_run_call("\"subject\":\"Standup 9:00\",\"meeting\":{\"organizer\":{\"user\":\"org-1\"},"
                   "\"thread\":\"19:meeting_t@thread.v2\"}", id);
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "meeting");
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "CTX Standup 9:00 app org-1 19:meeting_t@thread.v2 nil nil false"));

  cdr = h_run_call("\"subject\":\"Weekly\",\"meeting\":true", id); /* a meeting, not the subject */
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "main");
  cJSON_Delete(cdr);

  cdr = h_run_call("\"transferor\":{\"user\":\"alice\"},\"on_behalf_of\":\"+15550199\"", id);
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "transferred");
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "CTX nil app nil nil alice +15550199 false"));

  cdr = h_run_call(NULL, id); /* no route matches */
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "main");
  cJSON_Delete(cdr);

  char url[256];
  snprintf(url, sizeof url, "%s/emulator/calls", H.emu_url);
  int st = 0;
  cJSON *j = h_http_json(&H, "POST", url, "{\"policy_recording\":\"yes\"}", &st);
  DT_ASSERT_EQ_INT(st, 400);
  DT_ASSERT_CONTAINS(h_str(cJSON_GetObjectItem(j, "error"), "message"), "policy_recording");
  cJSON_Delete(j);
}

H_TEST(recording_status_is_sent_and_a_bad_one_raises, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:recording_status('recording')\n"
                          "  local ok, err = pcall(call.recording_status, call, 'paused')\n"
                          "  dialtone.log('info', 'RESULT', r, ok, tostring(err))\n"
                          "  call:recording_status('failed')\n"
                          "  call:recording_status('notRecording')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"policy_recording\":true", id);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT completed false"));
  DT_ASSERT(h_log_has(&H, "status must be \"recording\", \"notRecording\" or \"failed\", got 'paused'"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "updateRecordingStatus"), 3);
  DT_ASSERT_EQ_INT(h_count(tl, "recording_status", "status", "recording"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "recording_status", "status", "failed"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "recording_status", "status", "notRecording"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "operation", "type", "updateRecordingStatusOperation"), 3);
  cJSON_Delete(tl);
}

DT_TEST_MAIN()
