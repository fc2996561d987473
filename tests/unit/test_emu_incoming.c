/* Unit tests of emu_incoming.c: the incoming context the control API places (subject, a
   meeting invite, transferor, onBehalfOf, a policy-recording invite) and what it refuses;
   and, on such a call, updateRecordingStatus over HTTP in both dialects (emu_graph.c): its
   own operation type, its completion notification, the bot's recordingInfo, and Graph's
   refusal of another status. */
#include "harness/emu_fixture.h"
#include "emulator/emu_identity.h"
#include "dialtone/error.h"
#include "emulator/emu_incoming.h"
#include "emulator/emu_util.h"

static int place(ef_t *f, const char *json, char id[DT_EMULATOR_CALL_ID_LEN], char *err, size_t errlen) {
  cJSON *b = cJSON_Parse(json);
  dt_emulator_call_options_t o;
  int rc = dt_emulator_call_options_json(b, &o, err, errlen);
  if (rc == 0) rc = dt_emulator_place_call(f->emu, &o, id, err, errlen);
  cJSON_Delete(b);
  return rc;
}

/* The "created" notification's resourceData of the last note. */
static cJSON *created(ef_t *f) {
  if (!ef_wait_notes(f, 1)) return cJSON_CreateObject();
  cJSON *n = cJSON_Parse(f->notes[f->nnotes - 1]);
  cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(n, "value"), 0);
  const cJSON *ct = cJSON_GetObjectItem(v, "changeType");
  /* an empty object fails every assertion on it */
  cJSON *rd = cJSON_IsString(ct) && strcmp(ct->valuestring, "created") == 0 ? cJSON_DetachItemFromObject(v, "resourceData")
                                                                             : cJSON_CreateObject();
  cJSON_Delete(n);
  return rd;
}

static const char *str(const cJSON *o, const char *path) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  const cJSON *cur = o;
  for (char *tok = strtok(buf, "/"); tok && cur; tok = strtok(NULL, "/"))
    cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, atoi(tok)) : cJSON_GetObjectItem(cur, tok);
  return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

DT_TEST(a_plain_call_names_its_source_participant_only) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char id[DT_EMULATOR_CALL_ID_LEN], err[256];
  DT_ASSERT_EQ_INT(place(&f, "{}", id, err, sizeof err), 0);
  cJSON *rd = created(&f);
  DT_ASSERT(str(rd, "incomingContext/sourceParticipantId") != NULL);
  DT_ASSERT_EQ_STR(str(rd, "incomingContext/sourceParticipantId"), str(rd, "source/participantId"));
  DT_ASSERT(str(rd, "incomingContext/observedParticipantId") == NULL);
  DT_ASSERT(cJSON_GetObjectItem(rd, "subject") == NULL && cJSON_GetObjectItem(rd, "chatInfo") == NULL);
  DT_ASSERT(str(rd, "targets/0/identity/application/id") != NULL);
  cJSON_Delete(rd);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(a_meeting_invite_a_transferred_call_and_a_policy_recording_invite) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char id[DT_EMULATOR_CALL_ID_LEN], err[256];
  DT_ASSERT_EQ_INT(place(&f, "{\"subject\":\"Standup\",\"meeting\":{\"organizer\":{\"user\":\"org-1\"},"
                             "\"thread\":\"19:meeting_x@thread.v2\"}}", id, err, sizeof err), 0);
  cJSON *rd = created(&f);
  DT_ASSERT_EQ_STR(str(rd, "subject"), "Standup");
  DT_ASSERT_EQ_STR(str(rd, "chatInfo/threadId"), "19:meeting_x@thread.v2");
  DT_ASSERT_EQ_STR(str(rd, "chatInfo/messageId"), "0");
  DT_ASSERT_EQ_STR(str(rd, "meetingInfo/@odata.type"), "#microsoft.graph.organizerMeetingInfo");
  DT_ASSERT_EQ_STR(str(rd, "meetingInfo/organizer/user/id"), "org-1");
  DT_ASSERT_EQ_STR(str(rd, "meetingInfo/organizer/user/tenantId"), dt_emulator_tenant_id(f.emu));
  cJSON_Delete(rd);

  DT_ASSERT_EQ_INT(place(&f, "{\"transferor\":{\"user\":\"alice\"},\"on_behalf_of\":\"+15550199\"}", id, err, sizeof err), 0);
  DT_ASSERT(ef_wait_notes(&f, 2));
  rd = created(&f);
  DT_ASSERT_EQ_STR(str(rd, "incomingContext/transferor/user/id"), "alice");
  DT_ASSERT_EQ_STR(str(rd, "incomingContext/onBehalfOf/phone/id"), "+15550199");
  DT_ASSERT(str(rd, "incomingContext/sourceParticipantId") != NULL);
  cJSON_Delete(rd);

  DT_ASSERT_EQ_INT(place(&f, "{\"policy_recording\":true,\"from\":{\"user\":\"obs-1\"}}", id, err, sizeof err), 0);
  DT_ASSERT(ef_wait_notes(&f, 3));
  rd = created(&f);
  DT_ASSERT_EQ_STR(str(rd, "source/identity/user/id"), "obs-1");
  DT_ASSERT_EQ_STR(str(rd, "incomingContext/observedParticipantId"), str(rd, "source/participantId"));
  DT_ASSERT_EQ_STR(str(rd, "targets/0/identity/applicationInstance/id"), dt_emulator_app_id(f.emu));
  cJSON_Delete(rd);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST(bad_context_options_are_refused_and_place_nothing) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char id[DT_EMULATOR_CALL_ID_LEN], err[256];
  static const struct {
    const char *json, *why;
  } cases[] = {
      {"{\"subject\":\"\"}", "\"subject\""},
      {"{\"meeting\":\"yes\"}", "\"meeting\" must be true"},
      {"{\"meeting\":{\"organiser\":\"x\"}}", "meeting.organiser"},
      {"{\"meeting\":{\"thread\":42}}", "meeting.thread"},
      {"{\"meeting\":{\"organizer\":7}}", "meeting.organizer"},
      {"{\"transferor\":42}", "\"transferor\""},
      {"{\"on_behalf_of\":{\"nobody\":1}}", "\"on_behalf_of\""},
      {"{\"subject\":7}", "\"subject\" must be a string"},
      {"{\"policy_recording\":\"yes\"}", "\"policy_recording\" must be true or false"},
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(cases); i++) {
    err[0] = '\0';
    DT_ASSERT_EQ_INT(place(&f, cases[i].json, id, err, sizeof err), DT_EINVAL);
    DT_ASSERT_MSG(strstr(err, cases[i].why) != NULL, "%s: %s", cases[i].json, err);
  }
  char big[EMU_SUBJECT_MAX + 40];
  snprintf(big, sizeof big, "{\"subject\":\"%0*d\"}", EMU_SUBJECT_MAX + 1, 0);
  DT_ASSERT_EQ_INT(place(&f, big, id, err, sizeof err), DT_EINVAL);
  dt_emulator_stats_t st;
  dt_emulator_get_stats(f.emu, &st);
  DT_ASSERT_EQ_INT(st.calls_total, 0);
  ef_settle(&f);
  ef_stop(&f);
}

/* Answers the call, then reports each status through path prefix `base` (a dialect). */
DT_TEST(update_recording_status_in_both_dialects) {
  ef_t f;
  DT_ASSERT(ef_start(&f));
  char id[DT_EMULATOR_CALL_ID_LEN], err[256];
  DT_ASSERT_EQ_INT(place(&f, "{\"policy_recording\":true}", id, err, sizeof err), 0);
  DT_ASSERT(ef_wait_notes(&f, 1));
  char *tok = dt__emu_token_issue(f.emu, 60);
  char *auth = dt_xasprintf("Bearer %s", tok);
  char path[200];
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s/updateRecordingStatus", id);
  ef_resp_t r = ef_http(&f, "POST", path, auth, "{\"status\":\"recording\"}"); /* not answered yet */
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_EQ_STR(str(r.json, "error/code"), "8501");
  ef_resp_free(&r);
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s/answer", id);
  char *answer = dt_xasprintf("{\"callbackUri\":\"%s\",\"mediaConfig\":{\"@odata.type\":"
                               "\"#microsoft.graph.serviceHostedMediaConfig\"},\"acceptedModalities\":[\"audio\"]}",
                               f.bot_url);
  r = ef_http(&f, "POST", path, auth, answer);
  free(answer);
  DT_ASSERT_EQ_INT(r.status, 202);
  ef_resp_free(&r);
  DT_ASSERT(ef_wait_timeline(&f, id, "\"state\":\"established\""));
  const char *bases[] = {"/v1.0/communications/calls", "/beta/app/calls"};
  const char *statuses[] = {"recording", "notRecording"};
  for (int d = 0; d < 2; d++) {
    snprintf(path, sizeof path, "%s/%s/updateRecordingStatus", bases[d], id);
    char body[96];
    snprintf(body, sizeof body, "{\"clientContext\":\"ctx-%d\",\"status\":\"%s\"}", d, statuses[d]);
    r = ef_http(&f, "POST", path, auth, body);
    DT_ASSERT_EQ_INT(r.status, 200);
    DT_ASSERT_EQ_STR(str(r.json, "@odata.type"), "#microsoft.graph.updateRecordingStatusOperation");
    DT_ASSERT_EQ_STR(str(r.json, "status"), "completed");
    DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.json, "resultInfo")));
    DT_ASSERT(r.location && strstr(r.location, bases[d]) && strstr(r.location, "/operations/"));
    ef_resp_free(&r);
  }
  /* Graph's other recordingStatus values cannot be reported; nor can a missing one */
  const char *bad[] = {"{\"status\":\"unknown\"}", "{\"status\":\"Recording!\"}", "{\"clientContext\":\"x\"}",
                       "{\"status\":3}"};
  snprintf(path, sizeof path, "/v1.0/communications/calls/%s/updateRecordingStatus", id);
  for (size_t i = 0; i < DT_ARRAY_SIZE(bad); i++) {
    r = ef_http(&f, "POST", path, auth, bad[i]);
    DT_ASSERT_EQ_INT(r.status, 400);
    DT_ASSERT_EQ_STR(str(r.json, "error/code"), "BadRequest");
    DT_ASSERT_CONTAINS(str(r.json, "error/message"), "'status'");
    ef_resp_free(&r);
  }
  cJSON *detail = dt_emulator_call_json(f.emu, id);
  DT_ASSERT_EQ_STR(str(detail, "recording_status"), "notRecording"); /* the last good one */
  const cJSON *ps = cJSON_GetObjectItem(detail, "participants");
  bool shown = false;
  const cJSON *p;
  cJSON_ArrayForEach(p, ps) {
    const char *rs = str(p, "recordingInfo/recordingStatus");
    if (rs) shown = strcmp(rs, "notRecording") == 0;
  }
  DT_ASSERT_MSG(shown, "the bot's participant shows the status");
  cJSON_Delete(detail);
  /* each operation's completion is notified: "deleted" on .../operations/{id} */
  DT_ASSERT(ef_wait_timeline(&f, id, "updateRecordingStatusOperation completed"));
  int done = 0;
  for (int i = 0; i < f.nnotes; i++)
    if (strstr(f.notes[i], "\"changeType\":\"deleted\"") && strstr(f.notes[i], "/operations/") &&
        strstr(f.notes[i], "#microsoft.graph.updateRecordingStatusOperation") && strstr(f.notes[i], "\"status\":\"completed\""))
      done++;
  DT_ASSERT_EQ_INT(done, 2);
  char *t = ef_timeline(&f, id);
  DT_ASSERT_CONTAINS(t, "\"kind\":\"recording_status\",\"status\":\"recording\"");
  DT_ASSERT_CONTAINS(t, "\"kind\":\"recording_status\",\"status\":\"notRecording\"");
  DT_ASSERT_CONTAINS(t, "\"type\":\"updateRecordingStatusOperation\",\"status\":\"completed\"");
  free(t);
  free(auth);
  free(tok);
  ef_settle(&f);
  ef_stop(&f);
}

DT_TEST_MAIN()
