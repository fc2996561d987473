/*
 * The emulator end to end: a test bot (an HTTP server in this process) receives the
 * notifications of whole calls and drives them with real Graph requests over loopback.
 */
#include "harness/dt_test.h"
#include "dialtone/notify.h"
#include "harness/emu_harness.h"

/* A short label per notification, to compare sequences. */
static void label(const h_note_t *n, char *out, size_t len) {
  const cJSON *d = h_note_data(n);
  const char *res = h_note_resource(n);
  if (strstr(res, "/operations/")) {
    const char *t = h_json_str(d, "@odata.type");
    snprintf(out, len, "op:%s:%s", strlen(t) > 17 ? t + 17 : t, h_json_str(d, "status"));
  } else if (strstr(res, "/participants")) {
    snprintf(out, len, "roster");
  } else if (cJSON_GetObjectItem(d, "toneInfo")) {
    snprintf(out, len, "tone:%s", h_json_str(cJSON_GetObjectItem(d, "toneInfo"), "tone"));
  } else {
    const cJSON *ri = cJSON_GetObjectItem(d, "resultInfo");
    if (ri && strcmp(h_note_change(n), "updated") == 0)
      snprintf(out, len, "%s:%s:%d", h_note_change(n), h_json_str(d, "state"),
               (int)cJSON_GetObjectItem(ri, "code")->valuedouble);
    else
      snprintf(out, len, "%s:%s", h_note_change(n), h_json_str(d, "state"));
  }
}

/* The labels of the notifications about call id, joined with spaces. */
static void sequence(harness_t *h, const char *id, char *out, size_t len) {
  out[0] = '\0';
  for (int i = 0; i < h->nnotes; i++) {
    if (!strstr(h_note_resource(&h->notes[i]), id)) continue;
    char l[96];
    label(&h->notes[i], l, sizeof l);
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%s%s", n ? " " : "", l);
  }
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* incoming, answer, prompts, tones, a recording, a transfer, hangup — in order, signed. */
DT_TEST(whole_call_in_order) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  h_resp_t pr = h_req(&h, "PUT", "/emulator/parties/busy-agent", "{\"behaviour\":\"busy\"}", "", NULL);
  DT_ASSERT_EQ_INT(pr.status, 200);
  h_resp_free(&pr);
  char *id = h_place(&h, "{\"from\":{\"phone\":\"+15551230000\"},\"script\":["
                         "{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"2\"},"
                         "{\"on\":\"record\",\"speak_s\":2}]}");
  DT_ASSERT(id != NULL);
  int i0 = h_wait_note(&h, id, "created", "incoming", NULL, 0);
  DT_ASSERT(i0 >= 0);
  const cJSON *created = h_note_data(&h.notes[i0]);
  DT_ASSERT_EQ_STR(h_json_str(created, "direction"), "incoming");
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(created, "source"), "identity"), "phone"), "id"),
                   "+15551230000");
  char chain[64];
  snprintf(chain, sizeof chain, "%s", h_json_str(created, "callChainId"));
  DT_ASSERT(strlen(chain) == 36);

  DT_ASSERT(h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "subscribeToTone", "{\"clientContext\":\"tones\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.subscribeToToneOperation");
  DT_ASSERT_EQ_STR(h_json_str(r.json, "status"), "completed");
  h_resp_free(&r);

  char *body = h_prompt_body(&h, "main_menu", 800, "\"clientContext\":\"menu\"");
  r = h_action(&h, id, "playPrompt", body);
  free(body);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.playPromptOperation");
  DT_ASSERT_EQ_STR(h_json_str(r.json, "status"), "running");
  DT_ASSERT_EQ_STR(h_json_str(r.json, "clientContext"), "menu");
  char play_op[64];
  snprintf(play_op, sizeof play_op, "%s", h_json_str(r.json, "id"));
  DT_ASSERT(r.location && strstr(r.location, "/v1.0/communications/calls/") && strstr(r.location, play_op));
  h_resp_free(&r);
  int it = h_wait_tone(&h, id, i0);
  DT_ASSERT(it >= 0);
  const cJSON *ti = cJSON_GetObjectItem(h_note_data(&h.notes[it]), "toneInfo");
  DT_ASSERT(ti != NULL);
  DT_ASSERT_EQ_STR(h_json_str(ti, "tone"), "tone2");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ti, "sequenceId")->valuedouble, 1);
  int ip = h_wait_note(&h, id, "deleted", NULL, "playPromptOperation", 0);
  DT_ASSERT(ip > it);
  DT_ASSERT_EQ_STR(h_json_str(h_note_data(&h.notes[ip]), "status"), "completed");
  DT_ASSERT_EQ_STR(h_json_str(h_note_data(&h.notes[ip]), "clientContext"), "menu");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(h_note_data(&h.notes[ip]), "resultInfo"), "code")->valuedouble, 200);

  r = h_action(&h, id, "recordResponse",
               "{\"bargeInAllowed\":false,\"initialSilenceTimeoutInSeconds\":5,\"maxSilenceTimeoutInSeconds\":1,"
               "\"maxRecordDurationInSeconds\":10,\"playBeep\":true,\"stopTones\":[\"#\"],\"clientContext\":\"rec-1\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.recordOperation");
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(r.json, "recordingLocation")));
  h_resp_free(&r);
  int ir = h_wait_note(&h, id, "deleted", NULL, "recordOperation", 0);
  DT_ASSERT(ir > ip);
  const cJSON *rec = h_note_data(&h.notes[ir]);
  DT_ASSERT_EQ_STR(h_json_str(rec, "status"), "completed");
  DT_ASSERT_EQ_STR(h_json_str(rec, "completionReason"), "maxSilenceTimeout");
  DT_ASSERT_EQ_STR(h_json_str(rec, "clientContext"), "rec-1");
  char loc[256], tok[128];
  snprintf(loc, sizeof loc, "%s", h_json_str(rec, "recordingLocation"));
  snprintf(tok, sizeof tok, "%s", h_json_str(rec, "recordingAccessToken"));
  DT_ASSERT(strncmp(loc, h.emu_url, strlen(h.emu_url)) == 0);
  DT_ASSERT(strlen(tok) > 20);

  /* the recording needs its token */
  h_resp_t w = h_req(&h, "GET", loc, NULL, "", NULL);
  DT_ASSERT_EQ_INT(w.status, 401);
  h_resp_free(&w);
  w = h_req(&h, "GET", loc, NULL, "Bearer wrong", NULL);
  DT_ASSERT_EQ_INT(w.status, 401);
  h_resp_free(&w);
  char auth[160];
  snprintf(auth, sizeof auth, "Bearer %s", tok);
  w = h_req(&h, "GET", loc, NULL, auth, NULL);
  DT_ASSERT_EQ_INT(w.status, 200);
  /* a valid WAV: 8 kHz 16-bit mono PCM, 2 s of voice then 1 s of silence */
  const unsigned char *b = (const unsigned char *)w.body;
  DT_ASSERT(w.len >= 44);
  DT_ASSERT(memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVEfmt ", 8) == 0);
  DT_ASSERT_EQ_INT(b[20] | (b[21] << 8), 1);  /* PCM */
  DT_ASSERT_EQ_INT(b[22] | (b[23] << 8), 1);  /* mono */
  DT_ASSERT_EQ_INT(le32(b + 24), 8000);
  DT_ASSERT_EQ_INT(b[34] | (b[35] << 8), 16);
  DT_ASSERT(memcmp(b + 36, "data", 4) == 0);
  DT_ASSERT_EQ_INT(le32(b + 40), 3000 * 16);
  DT_ASSERT_EQ_INT(w.len, 44 + 3000 * 16);
  DT_ASSERT_EQ_INT(le32(b + 4), w.len - 8);
  long voice = 0, silence = 0;
  for (size_t s = 0; s < 24000; s++) voice += abs((int16_t)(b[44 + 2 * s] | (b[45 + 2 * s] << 8)));
  for (size_t s = 16000; s < 24000; s++) silence += abs((int16_t)(b[44 + 2 * s] | (b[45 + 2 * s] << 8)));
  DT_ASSERT(voice > 0);
  DT_ASSERT_EQ_INT(silence, 0);
  h_resp_free(&w);

  /* a transfer to a busy target fails and the call is back to established */
  r = h_action(&h, id, "transfer", "{\"transferTarget\":{\"@odata.type\":\"#microsoft.graph.invitationParticipantInfo\","
                                   "\"identity\":{\"user\":{\"id\":\"busy-agent\",\"displayName\":\"Agent\"}}}}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  int itr = h_wait_note(&h, id, "updated", "transferring", NULL, ir);
  DT_ASSERT(itr > ir);
  int ie = h_wait_note(&h, id, "updated", "established", NULL, itr);
  DT_ASSERT(ie > itr);
  const cJSON *ri = cJSON_GetObjectItem(h_note_data(&h.notes[ie]), "resultInfo");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "code")->valuedouble, 500);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "subcode")->valuedouble, 7000);

  /* the caller hangs up */
  char path[256];
  snprintf(path, sizeof path, "/emulator/calls/%s/hangup", id);
  r = h_req(&h, "POST", path, NULL, "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int id_del = h_wait_note(&h, id, "deleted", "terminated", NULL, ie);
  DT_ASSERT(id_del > ie);
  h_settle(&h, 50);

  char seq[1024];
  sequence(&h, id, seq, sizeof seq);
  DT_ASSERT_EQ_STR(seq, "created:incoming updated:establishing updated:established updated:established tone:tone2 "
                        "op:playPromptOperation:completed op:recordOperation:completed "
                        "updated:transferring updated:established:500 deleted:terminated");

  /* the engine's own parser reads every notification as the event it is */
  const dt_event_type_t want[] = {DT_EVENT_CALL_INCOMING, DT_EVENT_CALL_STATE, DT_EVENT_CALL_STATE,
                                  DT_EVENT_CALL_STATE /* mediaState audio active */, DT_EVENT_TONE, DT_EVENT_OPERATION, DT_EVENT_OPERATION,
                                  DT_EVENT_CALL_STATE, DT_EVENT_CALL_STATE, DT_EVENT_CALL_TERMINATED};
  DT_ASSERT_EQ_INT(h.nnotes, 10);
  for (int k = 0; k < h.nnotes; k++) {
    dt_event_list_t evs = {0};
    char perr[256];
    DT_ASSERT_MSG(dt_notify_parse(h.notes[k].body, strlen(h.notes[k].body), &evs, perr, sizeof perr) == 0,
                  "notification %d: %s", k, perr);
    DT_ASSERT_EQ_INT(evs.count, 1);
    DT_ASSERT_EQ_INT(evs.events[0].type, want[k]);
    if (want[k] == DT_EVENT_TONE) {
      DT_ASSERT_EQ_INT(evs.events[0].tone, '2');
      DT_ASSERT_EQ_INT(evs.events[0].tone_sequence_id, 1);
    }
    if (k == 6) {
      DT_ASSERT_EQ_STR(evs.events[0].recording_location, loc);
      DT_ASSERT_EQ_STR(evs.events[0].completion_reason, "maxSilenceTimeout");
    }
    if (k == 8) DT_ASSERT_EQ_INT(evs.events[0].result.code, 500);
    dt_event_list_free(&evs);
  }

  /* every notification verifies against the JWKS of the OpenID configuration */
  dt_jwks_t *set = h_fetch_jwks(&h);
  DT_ASSERT(set != NULL);
  for (int k = 0; k < h.nnotes; k++) {
    char err[256];
    DT_ASSERT_MSG(h_verify_note(&h, set, &h.notes[k], err, sizeof err), "notification %d: %s", k, err);
    DT_ASSERT_EQ_STR(h.notes[k].chain, chain);
    DT_ASSERT_EQ_STR(h.notes[k].path, "/api/calls");
  }
  dt_jwks_free(set);

  /* the timeline tells the same story */
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT(tl != NULL);
  const cJSON *e = h_tl_find(tl, "prompt", "name", "main_menu_800");
  DT_ASSERT(e != NULL);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(e, "duration_ms")->valuedouble, 800);
  DT_ASSERT_CONTAINS(h_json_str(e, "url"), "/prompts/main_menu_800.wav");
  e = h_tl_find(tl, "recording", "url", loc);
  DT_ASSERT(e != NULL);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(e, "duration_ms")->valuedouble, 3000);
  DT_ASSERT(h_tl_find(tl, "transfer", "target", "user:busy-agent") != NULL);
  DT_ASSERT(h_tl_find(tl, "transfer_result", "outcome", "failed") != NULL);
  DT_ASSERT(h_tl_find(tl, "tone", "tone", "2") != NULL);
  e = h_tl_find(tl, "request", "action", "answer");
  DT_ASSERT(e != NULL);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(e, "status")->valuedouble, 202);
  DT_ASSERT(h_tl_find(tl, "ended", "by", "remote") != NULL);
  double last = 0;
  int notifications = 0;
  const cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItem(tl, "entries")) {
    double s = cJSON_GetObjectItem(x, "seq")->valuedouble;
    DT_ASSERT(s > last);
    last = s;
    if (strcmp(h_json_str(x, "kind"), "notification") == 0) notifications++;
  }
  DT_ASSERT_EQ_INT(notifications, 10);
  cJSON_Delete(tl);
  /* an ended call answers 404 */
  r = h_action(&h, id, "keepAlive", NULL);
  DT_ASSERT_EQ_INT(r.status, 404);
  h_resp_free(&r);
  free(id);
  h_stop(&h);
}

DT_TEST(transfer_completes) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  /* a call to an application instance: Graph transfers to a phone number only from one */
  char *id = h_place(&h, "{\"to\":{\"applicationInstance\":\"33333333-3333-3333-3333-333333333333\"}}");
  DT_ASSERT(id && h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "microsoft.graph.transfer",
                        "{\"transferTarget\":{\"endpointType\":\"default\",\"identity\":{\"phone\":{\"id\":\"+12345678901\"}}},"
                        "\"clientContext\":\"x\"}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  int d = h_wait_note(&h, id, "deleted", "terminated", NULL, 0);
  DT_ASSERT(d >= 0);
  const cJSON *ri = cJSON_GetObjectItem(h_note_data(&h.notes[d]), "resultInfo");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "code")->valuedouble, 0);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "subcode")->valuedouble, 7015);
  DT_ASSERT_EQ_STR(h_json_str(ri, "message"), "GracefulTransferCompleted");
  char seq[512];
  sequence(&h, id, seq, sizeof seq);
  DT_ASSERT_EQ_STR(seq, "created:incoming updated:establishing updated:established updated:established updated:transferring "
                        "updated:transferAccepted deleted:terminated");
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT(h_tl_find(tl, "transfer_result", "outcome", "completed") != NULL);
  cJSON_Delete(tl);
  free(id);
  h_stop(&h);
}

DT_TEST(consultative_transfer_ends_both_calls) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *caller = h_place(&h, NULL);
  DT_ASSERT(caller && h_answer(&h, caller));
  /* the bot calls the agent */
  char body[512];
  snprintf(body, sizeof body,
           "{\"callbackUri\":\"%s\",\"targets\":[{\"identity\":{\"user\":{\"id\":\"agent-7\"}}}],"
           "\"requestedModalities\":[\"audio\"],\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}",
           h.bot_url);
  h_resp_t r = h_req(&h, "POST", "/v1.0/communications/calls", body, NULL, NULL);
  DT_ASSERT_EQ_INT(r.status, 201);
  char agent[64];
  snprintf(agent, sizeof agent, "%s", h_json_str(r.json, "id"));
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, agent, "updated", "established", NULL, 0) >= 0);
  snprintf(body, sizeof body,
           "{\"transferTarget\":{\"identity\":{\"user\":{\"id\":\"agent-7\"}},\"replacesCallId\":\"%s\"}}", agent);
  r = h_action(&h, caller, "transfer", body);
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  int d1 = h_wait_note(&h, caller, "deleted", "terminated", NULL, 0);
  int d2 = h_wait_note(&h, agent, "deleted", "terminated", NULL, 0);
  DT_ASSERT(d1 >= 0 && d2 >= 0);
  DT_ASSERT_EQ_STR(h_json_str(h_note_data(&h.notes[d1]), "terminationReason"), "AppTransferred");
  free(caller);
  h_stop(&h);
}

DT_TEST(outgoing_callee_answers_busy_or_not) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  h_resp_t r = h_req(&h, "PUT", "/emulator/parties/+15550000001", "{\"behaviour\":\"busy\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_req(&h, "PUT", "/emulator/parties/+15550000002", "{\"behaviour\":\"noanswer\"}", "", NULL);
  h_resp_free(&r);
  /* a callee who answers and presses 1 when the first prompt plays */
  r = h_req(&h, "PUT", "/emulator/parties/+15550000003",
            "{\"behaviour\":\"answer\",\"answer_delay_ms\":3000,\"script\":[{\"on\":\"prompt\",\"tones\":\"1\"}]}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  const char *nums[] = {"+15550000001", "+15550000002", "+15550000003"};
  char ids[3][64];
  for (int k = 0; k < 3; k++) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"callbackUri\":\"%s\",\"source\":{\"identity\":{\"applicationInstance\":{\"id\":\"app-inst\"}}},"
             "\"targets\":[{\"identity\":{\"phone\":{\"id\":\"%s\"}}}],\"requestedModalities\":[\"audio\"],"
             "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"},\"tenantId\":\"t\"}",
             h.bot_url, nums[k]);
    r = h_req(&h, "POST", "/v1.0/communications/calls", body, NULL, NULL);
    DT_ASSERT_EQ_INT(r.status, 201);
    snprintf(ids[k], sizeof ids[k], "%s", h_json_str(r.json, "id"));
    h_resp_free(&r);
  }
  int d = h_wait_note(&h, ids[0], "deleted", "terminated", NULL, 0);
  DT_ASSERT(d >= 0);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(h_note_data(&h.notes[d]), "resultInfo"), "code")->valuedouble, 486);
  d = h_wait_note(&h, ids[1], "deleted", "terminated", NULL, 0);
  DT_ASSERT(d >= 0);
  const cJSON *ri = cJSON_GetObjectItem(h_note_data(&h.notes[d]), "resultInfo");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "code")->valuedouble, 408);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "subcode")->valuedouble, 8544);
  DT_ASSERT(h_wait_note(&h, ids[2], "updated", "established", NULL, 0) >= 0);
  r = h_action(&h, ids[2], "subscribeToTone", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  char *body = h_prompt_body(&h, "reminder", 1000, NULL);
  r = h_action(&h, ids[2], "playPrompt", body);
  free(body);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int t = h_wait_tone(&h, ids[2], 0);
  DT_ASSERT(t >= 0);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(h_note_data(&h.notes[t]), "toneInfo"), "tone"), "tone1");
  char seq[512];
  sequence(&h, ids[0], seq, sizeof seq);
  DT_ASSERT_EQ_STR(seq, "updated:establishing deleted:terminated");
  h_stop(&h);
}

DT_TEST(unanswered_incoming_call_times_out) {
  harness_t h;
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.answer_timeout_ms = 150; /* real time: the bot's deadline, not a simulated delay */
  DT_ASSERT(h_start(&h, 0, &o));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, NULL);
  DT_ASSERT(id != NULL);
  int d = h_wait_note(&h, id, "deleted", "terminated", NULL, 0);
  DT_ASSERT(d >= 0);
  const cJSON *ri = cJSON_GetObjectItem(h_note_data(&h.notes[d]), "resultInfo");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "code")->valuedouble, 408);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "subcode")->valuedouble, 8544);
  h_resp_t r = h_action(&h, id, "answer", "{\"mediaConfig\":{}}");
  DT_ASSERT_EQ_INT(r.status, 404);
  h_resp_free(&r);
  free(id);
  h_stop(&h);
}

DT_TEST(reject_and_redirect) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *a = h_place(&h, NULL);
  char *b = h_place(&h, NULL);
  DT_ASSERT(a && b);
  DT_ASSERT(h_wait_note(&h, b, "created", NULL, NULL, 0) >= 0);
  h_resp_t r = h_action(&h, a, "reject", "{\"reason\":\"busy\"}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  r = h_action(&h, b, "redirect", "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"voicemail-user\"}}}],\"timeout\":30}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  int d = h_wait_note(&h, a, "deleted", "terminated", NULL, 0);
  DT_ASSERT(d >= 0);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(h_note_data(&h.notes[d]), "resultInfo"), "code")->valuedouble, 486);
  DT_ASSERT(h_wait_note(&h, b, "deleted", "terminated", NULL, 0) >= 0);
  cJSON *tl = h_timeline(&h, b);
  DT_ASSERT(h_tl_find(tl, "redirect", NULL, NULL) != NULL);
  cJSON_Delete(tl);
  /* a redirect timeout outside 15-90 s is refused */
  char *c = h_place(&h, NULL);
  r = h_action(&h, c, "redirect", "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}}],\"timeout\":5}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  free(a);
  free(b);
  free(c);
  h_stop(&h);
}

/* At time scale 0 a call full of long prompts and a two-minute recording completes at
   once: the bounded waits below (10 s each) could never see it at real time. */
DT_TEST(time_scale_zero_runs_a_long_call_at_once) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, "{\"script\":[{\"on\":\"record\",\"speak_s\":200}]}");
  DT_ASSERT(id && h_answer(&h, id));
  for (int k = 0; k < 5; k++) {
    char name[32];
    snprintf(name, sizeof name, "part%d", k);
    char *body = h_prompt_body(&h, name, 60000, NULL);
    h_resp_t r = h_action(&h, id, "playPrompt", body);
    free(body);
    DT_ASSERT_EQ_INT(r.status, 200);
    h_resp_free(&r);
  }
  h_resp_t r = h_action(&h, id, "recordResponse", "{\"maxRecordDurationInSeconds\":120}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int ir = h_wait_note(&h, id, "deleted", NULL, "recordOperation", 0);
  DT_ASSERT(ir >= 0);
  DT_ASSERT_EQ_STR(h_json_str(h_note_data(&h.notes[ir]), "completionReason"), "maxRecordDurationReached");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(h_note_data(&h.notes[ir]), "resultInfo"), "subcode")->valuedouble, 8515);
  /* five prompt completions, in order, before the recording's */
  int count = 0;
  for (int k = 0; k < ir; k++)
    if (strstr(h_note_str(&h.notes[k], "@odata.type"), "playPromptOperation")) count++;
  DT_ASSERT_EQ_INT(count, 5);
  cJSON *tl = h_timeline(&h, id);
  const cJSON *e = h_tl_find(tl, "recording", NULL, NULL);
  DT_ASSERT(e != NULL);
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(e, "duration_ms")->valuedouble, 120000);
  /* simulated time advanced five minutes */
  DT_ASSERT(cJSON_GetObjectItem(e, "t_ms")->valuedouble >= 5 * 60000 + 120000);
  cJSON_Delete(tl);
  free(id);
  h_stop(&h);
}

DT_TEST_MAIN()
