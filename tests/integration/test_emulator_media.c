/*
 * The emulator's service-hosted media: the media queue, cancelMediaProcessing, barge-in,
 * recordings and their timeouts, prompt durations, DTMF both ways.
 */
#include "harness/dt_test.h"
#include "harness/emu_harness.h"

static int wait_op(harness_t *h, const char *id, const char *type, int from) {
  return h_wait_note(h, id, "deleted", NULL, type, from);
}

static double num(const cJSON *o, const char *a, const char *b) {
  const cJSON *v = cJSON_GetObjectItem(o, a);
  if (b) v = cJSON_GetObjectItem(v, b);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Running and queued operations fail 400/8508; the tone subscription stays. */
DT_TEST(cancel_media_processing) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0.05, NULL)); /* a 60 s prompt lasts 3 s: time to cancel it */
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, NULL);
  DT_ASSERT(id && h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "subscribeToTone", NULL);
  h_resp_free(&r);
  char *a = h_prompt_body(&h, "long_a", 60000, "\"clientContext\":\"A\"");
  char *b = h_prompt_body(&h, "long_b", 60000, "\"clientContext\":\"B\"");
  r = h_action(&h, id, "playPrompt", a);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_action(&h, id, "playPrompt", b);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_action(&h, id, "recordResponse", "{\"clientContext\":\"C\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  free(a);
  free(b);
  r = h_action(&h, id, "cancelMediaProcessing", "{\"clientContext\":\"cancel\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.cancelMediaProcessingOperation");
  DT_ASSERT_EQ_STR(h_json_str(r.json, "status"), "completed");
  h_resp_free(&r);
  const char *order[] = {"A", "B", "C"};
  int from = 0;
  for (int k = 0; k < 3; k++) {
    int i = wait_op(&h, id, k < 2 ? "playPromptOperation" : "recordOperation", from);
    DT_ASSERT(i >= 0);
    const cJSON *d = h_note_data(&h.notes[i]);
    DT_ASSERT_EQ_STR(h_json_str(d, "clientContext"), order[k]);
    DT_ASSERT_EQ_STR(h_json_str(d, "status"), "failed");
    DT_ASSERT_EQ_INT(num(d, "resultInfo", "code"), 400);
    DT_ASSERT_EQ_INT(num(d, "resultInfo", "subcode"), 8508);
    DT_ASSERT_EQ_STR(h_json_str(d, "completionReason"), k < 2 ? "mediaOperationCanceled" : "operationCanceled");
    if (k == 2) {
      DT_ASSERT_EQ_STR(h_json_str(d, "recordingLocation"), "");
      DT_ASSERT_EQ_STR(h_json_str(d, "recordingAccessToken"), "");
    }
    from = i + 1;
  }
  /* keys still arrive: cancelMediaProcessing leaves subscribeToTone alone */
  char path[256];
  snprintf(path, sizeof path, "/emulator/calls/%s/tones", id);
  r = h_req(&h, "POST", path, "{\"tones\":\"5\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int t = h_wait_tone(&h, id, from);
  DT_ASSERT(t >= 0);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(h_note_data(&h.notes[t]), "toneInfo"), "tone"), "tone5");
  /* the media queue is empty: nothing else completes */
  h_settle(&h, 300);
  int completions = 0;
  for (int k = 0; k < h.nnotes; k++)
    if (strstr(h_note_resource(&h.notes[k]), "/operations/")) completions++;
  DT_ASSERT_EQ_INT(completions, 3);
  free(id);
  h_stop(&h);
}

/* A recordResponse with bargeInAllowed preempts the prompt that plays, and a stop tone
   ends it; keys are notified all along. */
DT_TEST(barge_in_record_preempts_prompts) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0.05, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, "{\"script\":[{\"on\":\"record\",\"after_ms\":500,\"tones\":\"#\"}]}");
  DT_ASSERT(id && h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "subscribeToTone", NULL);
  h_resp_free(&r);
  char *a = h_prompt_body(&h, "long_a", 60000, "\"clientContext\":\"A\"");
  r = h_action(&h, id, "playPrompt", a);
  free(a);
  h_resp_free(&r);
  r = h_action(&h, id, "recordResponse",
               "{\"bargeInAllowed\":true,\"stopTones\":[\"#\",\"*\"],\"maxRecordDurationInSeconds\":30,\"clientContext\":\"R\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int ia = wait_op(&h, id, "playPromptOperation", 0);
  DT_ASSERT(ia >= 0);
  DT_ASSERT_EQ_STR(h_note_str(&h.notes[ia], "status"), "failed");
  DT_ASSERT_EQ_INT(num(h_note_data(&h.notes[ia]), "resultInfo", "subcode"), 8508);
  int it = h_wait_tone(&h, id, ia);
  DT_ASSERT(it > ia);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(h_note_data(&h.notes[it]), "toneInfo"), "tone"), "pound");
  int ir = wait_op(&h, id, "recordOperation", it);
  DT_ASSERT(ir > it);
  const cJSON *d = h_note_data(&h.notes[ir]);
  DT_ASSERT_EQ_STR(h_json_str(d, "status"), "completed");
  DT_ASSERT_EQ_STR(h_json_str(d, "completionReason"), "stopToneDetected");
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT(h_tl_find(tl, "barge_in", NULL, NULL) != NULL);
  const cJSON *e = h_tl_find(tl, "recording", NULL, NULL);
  DT_ASSERT(e != NULL);
  DT_ASSERT_EQ_INT(num(e, "duration_ms", NULL), 500);
  cJSON_Delete(tl);
  free(id);
  h_stop(&h);
}

DT_TEST(record_timeouts) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  /* first recording: the caller stays silent; second: the caller talks past the limit */
  char *id = h_place(&h, "{\"script\":[{\"on\":\"record\"},{\"on\":\"record\",\"speak_s\":10}]}");
  DT_ASSERT(id && h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "recordResponse", "{\"initialSilenceTimeoutInSeconds\":2,\"playBeep\":false}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int i1 = wait_op(&h, id, "recordOperation", 0);
  DT_ASSERT(i1 >= 0);
  const cJSON *d = h_note_data(&h.notes[i1]);
  DT_ASSERT_EQ_STR(h_json_str(d, "status"), "failed");
  DT_ASSERT_EQ_STR(h_json_str(d, "completionReason"), "initialSilenceTimeout");
  DT_ASSERT_EQ_STR(h_json_str(d, "recordingLocation"), "");
  r = h_action(&h, id, "recordResponse", "{\"maxRecordDurationInSeconds\":3}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int i2 = wait_op(&h, id, "recordOperation", i1 + 1);
  DT_ASSERT(i2 > i1);
  d = h_note_data(&h.notes[i2]);
  DT_ASSERT_EQ_STR(h_json_str(d, "status"), "completed");
  DT_ASSERT_EQ_STR(h_json_str(d, "completionReason"), "maxRecordDurationReached");
  DT_ASSERT_EQ_INT(num(d, "resultInfo", "code"), 200);
  DT_ASSERT_EQ_INT(num(d, "resultInfo", "subcode"), 8515);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(d, "resultInfo"), "message"), "Action completed, max record duration reached.");
  char auth[160];
  snprintf(auth, sizeof auth, "Bearer %s", h_json_str(d, "recordingAccessToken"));
  char loc[256];
  snprintf(loc, sizeof loc, "%s", h_json_str(d, "recordingLocation"));
  h_resp_t w = h_req(&h, "GET", loc, NULL, auth, NULL);
  DT_ASSERT_EQ_INT(w.status, 200);
  DT_ASSERT_EQ_INT(w.len, 44 + 3000 * 16);
  h_resp_free(&w);
  /* out-of-range parameters are refused with the documented limits */
  r = h_action(&h, id, "recordResponse", "{\"maxRecordDurationInSeconds\":121}");
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT_CONTAINS(r.body, "maxRecordDurationInSeconds");
  h_resp_free(&r);
  r = h_action(&h, id, "recordResponse", "{\"stopTones\":[\"x\"]}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  free(id);
  h_stop(&h);
}

/* The caller's voice during a record's prompt cuts the prompt short when barge-in is
   allowed; the recording then holds the voice from its start. */
DT_TEST(voice_barges_into_record_prompt) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, "{\"script\":[{\"on\":\"prompt\",\"match\":\"leave_message\",\"after_ms\":1000,\"speak_s\":2}]}");
  DT_ASSERT(id && h_answer(&h, id));
  char *body = h_prompt_body(&h, "leave_message", 5000, "\"bargeInAllowed\":true,\"maxSilenceTimeoutInSeconds\":1");
  h_resp_t r = h_action(&h, id, "recordResponse", body);
  free(body);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int i = wait_op(&h, id, "recordOperation", 0);
  DT_ASSERT(i >= 0);
  DT_ASSERT_EQ_STR(h_note_str(&h.notes[i], "completionReason"), "maxSilenceTimeout");
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT(h_tl_find(tl, "barge_in", NULL, NULL) != NULL);
  const cJSON *e = h_tl_find(tl, "recording", NULL, NULL);
  DT_ASSERT_EQ_INT(num(e, "duration_ms", NULL), 3000);
  DT_ASSERT_EQ_INT(num(e, "spoken_ms", NULL), 2000);
  cJSON_Delete(tl);
  free(id);
  h_stop(&h);
}

DT_TEST(prompt_durations_come_from_the_wav) {
  harness_t h;
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.default_prompt_ms = 777;
  DT_ASSERT(h_start(&h, 0, &o));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, NULL);
  DT_ASSERT(id && h_answer(&h, id));
  char *p1 = h_prompt_body(&h, "hello", 1234, NULL);
  h_resp_t r = h_action(&h, id, "playPrompt", p1);
  free(p1);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  /* one operation, three prompts: one that is not there, one that is no WAV */
  char body[1024];
  snprintf(body, sizeof body,
           "{\"prompts\":[{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":{\"uri\":\"http://127.0.0.1:1/missing.wav\"}},"
           "{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":{\"uri\":\"%.*s/notawav\"}},"
           "{\"@odata.type\":\"#microsoft.graph.mediaPrompt\",\"mediaInfo\":{\"uri\":\"%.*s/prompts/bye_250.wav\"}}]}",
           (int)(strlen(h.bot_url) - 10), h.bot_url, (int)(strlen(h.bot_url) - 10), h.bot_url);
  r = h_action(&h, id, "playPrompt", body);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  int i1 = wait_op(&h, id, "playPromptOperation", 0);
  int i2 = wait_op(&h, id, "playPromptOperation", i1 + 1);
  DT_ASSERT(i1 >= 0 && i2 > i1);
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT_EQ_INT(num(h_tl_find(tl, "prompt", "name", "hello_1234"), "duration_ms", NULL), 1234);
  DT_ASSERT_EQ_INT(num(h_tl_find(tl, "prompt", "name", "missing"), "duration_ms", NULL), 777);
  DT_ASSERT_EQ_INT(num(h_tl_find(tl, "prompt", "name", "notawav"), "duration_ms", NULL), 777);
  DT_ASSERT_EQ_INT(num(h_tl_find(tl, "prompt", "name", "bye_250"), "duration_ms", NULL), 250);
  /* simulated time: the second operation ended 777 + 777 + 250 ms after it started */
  const cJSON *e;
  double start = -1, end = -1;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(tl, "entries")) {
    if (strcmp(h_json_str(e, "kind"), "prompt") == 0 && strcmp(h_json_str(e, "name"), "missing") == 0)
      start = num(e, "t_ms", NULL);
    if (strcmp(h_json_str(e, "kind"), "operation") == 0) end = num(e, "t_ms", NULL);
  }
  DT_ASSERT_EQ_INT(end - start, 777 + 777 + 250);
  cJSON_Delete(tl);
  /* playPrompt validation: more than 20 prompts, none, no uri */
  r = h_action(&h, id, "playPrompt", "{\"prompts\":[]}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_action(&h, id, "playPrompt", "{\"prompts\":[{\"mediaInfo\":{}}]}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  dt_buf_t many = {0};
  dt_buf_appendf(&many, "{\"prompts\":[");
  for (int k = 0; k < 21; k++) dt_buf_appendf(&many, "%s{\"mediaInfo\":{\"uri\":\"http://x/%d.wav\"}}", k ? "," : "", k);
  dt_buf_appendf(&many, "]}");
  r = h_action(&h, id, "playPrompt", many.data);
  dt_buf_free(&many);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  free(id);
  h_stop(&h);
}

DT_TEST(tones_both_ways) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, NULL);
  DT_ASSERT(id && h_answer(&h, id));
  char path[256];
  snprintf(path, sizeof path, "/emulator/calls/%s/tones", id);
  /* before subscribeToTone: keys are not notified */
  h_resp_t r = h_req(&h, "POST", path, "{\"tones\":\"9\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_action(&h, id, "subscribeToTone", NULL);
  h_resp_free(&r);
  r = h_req(&h, "POST", path, "{\"tones\":\"12*#\"}", "", NULL);
  h_resp_free(&r);
  const char *want[] = {"tone1", "tone2", "star", "pound"};
  int from = 0;
  for (int k = 0; k < 4; k++) {
    int t = h_wait_tone(&h, id, from);
    DT_ASSERT(t >= 0);
    const cJSON *ti = cJSON_GetObjectItem(h_note_data(&h.notes[t]), "toneInfo");
    DT_ASSERT_EQ_STR(h_json_str(ti, "tone"), want[k]);
    DT_ASSERT_EQ_INT(num(ti, "sequenceId", NULL), k + 1);
    from = t + 1;
  }
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT(h_tl_find(tl, "tone", "ignored", "no tone subscription") != NULL);
  cJSON_Delete(tl);
  /* the bot sends DTMF */
  r = h_action(&h, id, "sendDtmfTones",
               "{\"tones\":[\"tone1\",\"tone2\",\"pound\"],\"delayBetweenTonesMs\":100,\"clientContext\":\"dtmf\"}");
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT_EQ_STR(h_json_str(r.json, "@odata.type"), "#microsoft.graph.sendDtmfTonesOperation");
  DT_ASSERT_EQ_STR(h_json_str(r.json, "status"), "running");
  DT_ASSERT(r.location != NULL);
  h_resp_free(&r);
  int d = wait_op(&h, id, "sendDtmfTonesOperation", 0);
  DT_ASSERT(d >= 0);
  DT_ASSERT_EQ_STR(h_note_str(&h.notes[d], "status"), "completed");
  DT_ASSERT_EQ_STR(h_note_str(&h.notes[d], "completionReason"), "completedSuccessfully");
  tl = h_timeline(&h, id);
  DT_ASSERT(h_tl_find(tl, "dtmf_sent", "tones", "12#") != NULL);
  cJSON_Delete(tl);
  r = h_action(&h, id, "sendDtmfTones", "{\"tones\":[\"tone12\"]}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "POST", path, "{\"tones\":\"x\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  free(id);
  h_stop(&h);
}

/* Graph keeps no recording of a call that hung up mid-record (CS#376): the call ends and
   the operation gets no completion. */
DT_TEST(hangup_during_recording_abandons_it) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, "{\"script\":[{\"on\":\"record\",\"speak_s\":5},{\"after_ms\":2000,\"hangup\":true}]}");
  DT_ASSERT(id && h_answer(&h, id));
  h_resp_t r = h_action(&h, id, "recordResponse", "{\"maxRecordDurationInSeconds\":60}");
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, id, "deleted", "terminated", NULL, 0) >= 0);
  h_settle(&h, 100);
  for (int k = 0; k < h.nnotes; k++) DT_ASSERT(!strstr(h_note_resource(&h.notes[k]), "/operations/"));
  cJSON *tl = h_timeline(&h, id);
  DT_ASSERT(h_tl_find(tl, "operation_abandoned", NULL, NULL) != NULL);
  DT_ASSERT(h_tl_find(tl, "ended", "by", "remote") != NULL);
  cJSON_Delete(tl);
  free(id);
  h_stop(&h);
}

DT_TEST_MAIN()
