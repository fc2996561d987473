/*
 * test_hold_media.c — hold music, media readiness and the call options of issue 12 points
 * 7-9, end to end: the engine against the emulator over loopback HTTP. Built twice: as is
 * (v1.0) and included by test_hold_media_beta.c (beta), because the dialects differ here:
 * beta loops a prompt itself ("loop": true, one playPrompt), v1.0 has no loop (the engine
 * sends playPrompt again); transferee is v1.0 only; callState "ringing" is beta only.
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

#define FLOW_TEST_SCALE(name, scale) H_TEST(name, .time_scale = (scale))
#define FLOW_TEST(name) H_TEST(name, .time_scale = 0)
#define IS_BETA (H_DIALECT == DT_GRAPH_BETA)

/* The id the flow logged after "TAG " (a leg's own call id). */
static bool logged_id(const char *tag, char out[128]) {
  fflush(H.log);
  const char *p = H.log_text ? strstr(H.log_text, tag) : NULL;
  if (!p) return false;
  return sscanf(p + strlen(tag), " %127[^ \n]", out) == 1;
}

/* Runs one call through the flow main (text) and checks it completed; id gets the call id. */
static bool run_main(const char *text, char id[128]) {
  if (h_flow(&H, "main", text) != 0) return false;
  cJSON *cdr = h_run_call(NULL, id);
  bool ok = cdr != NULL && h_outcome_is(cdr, "completed");
  cJSON_Delete(cdr);
  return ok;
}

/* Hold music plays over and over until the caller presses a key (barge_in). */
FLOW_TEST_SCALE(hold_music_loops_until_a_key, 0.05) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:play('welcome', {loop = true, barge_in = true})\n"
                          "  local d = call:gather{max = 1, timeout = 2}\n"
                          "  dialtone.log('info', 'RESULT', r, d)\n"
                          "end\n"),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  cJSON *tl = NULL;
  /* three rounds of the music, then a key */
  H_UNTIL(&H, 30000, (cJSON_Delete(tl), tl = h_timeline(&H, id), h_count(tl, "prompt", "name", "welcome") >= 3));
  DT_ASSERT(h_count(tl, "prompt", "name", "welcome") >= 3);
  cJSON_Delete(tl);
  DT_ASSERT_EQ_INT(h_tones(&H, id, "7"), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
  DT_ASSERT(h_log_has(&H, "RESULT barged 7"));
  tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "cancelMediaProcessing"), 1);
  int plays = h_count(tl, "request", "action", "playPrompt");
  if (IS_BETA) DT_ASSERT_EQ_INT(plays, 1); /* Graph loops it: one request */
  else DT_ASSERT(plays >= 3);              /* the engine sends it again each round */
  cJSON_Delete(tl);
}

/* ... or until its timeout: "timeout", the music stopped with cancelMediaProcessing. */
FLOW_TEST_SCALE(hold_music_ends_at_its_timeout, 0.05) {
  char id[128];
  DT_ASSERT(run_main("return function(call)\n"
                     "  call:answer()\n"
                     "  local r = call:play('welcome', {loop = true, timeout = 0.3})\n"
                     "  dialtone.log('info', 'RESULT', r)\n"
                     "  call:play('goodbye')\n"
                     "end\n",
                     id));
  DT_ASSERT(h_log_has(&H, "RESULT timeout"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "cancelMediaProcessing"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "goodbye"), 1);
  cJSON_Delete(tl);
}

/* The caller hangs up on hold: the loop ends with the call, nothing more is sent. */
FLOW_TEST_SCALE(hangup_on_hold_ends_the_loop, 0.05) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:play('welcome', {loop = true})\n"
                          "  dialtone.log('info', 'NOTREACHED')\n"
                          "end\n"),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  cJSON *tl = NULL;
  H_UNTIL(&H, 30000, (cJSON_Delete(tl), tl = h_timeline(&H, id), h_count(tl, "prompt", "name", "welcome") >= 2));
  cJSON_Delete(tl);
  DT_ASSERT_EQ_INT(h_hangup(&H, id), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
  cJSON *cdr = h_cdr(&H, id);
  DT_ASSERT(h_outcome_is(cdr, "hangup"));
  cJSON_Delete(cdr);
  DT_ASSERT(!h_log_has(&H, "NOTREACHED"));
}

/* Media readiness: the first prompt goes out after Graph reports audio active. */
FLOW_TEST_SCALE(first_prompt_waits_for_audio_active, 1.0) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"media_delay_ms\":400}"), 200);
  char id[128];
  DT_ASSERT(run_main("return function(call) call:answer() call:play('welcome') end", id));
  cJSON *tl = h_timeline(&H, id);
  int est = h_index(tl, "notification", "summary", "established");
  int active = h_index(tl, "notification", "summary", "media active");
  int play = h_index(tl, "request", "action", "playPrompt");
  DT_ASSERT(est >= 0 && active > est);
  DT_ASSERT_MSG(play > active, "playPrompt (entry %d) before mediaState active (entry %d)", play, active);
  cJSON_Delete(tl);
}

/* A service that never reports mediaState: the flow goes on after the bound, no hang. */
FLOW_TEST(no_media_state_does_not_hang) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"no_media_state\":true}"), 200);
  char id[128];
  DT_ASSERT(run_main("return function(call) call:answer() dialtone.log('info', 'RESULT', call:play('welcome')) end", id));
  DT_ASSERT(h_log_has(&H, "RESULT completed"));
  DT_ASSERT(h_log_has(&H, "no mediaState audio"));
}

/* participantCapacity on answer reaches Graph (the emulator records it). */
FLOW_TEST(answer_with_participant_capacity) {
  char id[128];
  DT_ASSERT(run_main("return function(call)\n"
                     "  call:answer{participant_capacity = 12}\n"
                     "  local ok, err = pcall(call.answer, call, {participant_capacity = 1.5})\n"
                     "  dialtone.log('info', 'BAD', ok, tostring(err):match('whole number') ~= nil)\n"
                     "end\n",
                     id));
  DT_ASSERT(h_log_has(&H, "BAD false true"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "answer_options", NULL, NULL), 1);
  const cJSON *e = cJSON_GetArrayItem(tl, h_index(tl, "answer_options", NULL, NULL));
  DT_ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(e, "participantCapacity")->valueint, 12);
  cJSON_Delete(tl);
}

/* transferee: v1.0 sends it (Graph's group-call transfer); beta has no such parameter. */
FLOW_TEST(transfer_with_transferee) {
  DT_ASSERT_EQ_INT(h_control(&H, "PUT", "parties/agent-id", "{\"behaviour\":\"answer\"}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local ok, err = pcall(call.transfer, call, {target = {user = 'agent-id'},\n"
                          "                        transferee = {user = 'caller-id'}})\n"
                          "  dialtone.log('info', 'RESULT', ok, tostring(err))\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  if (IS_BETA) {
    DT_ASSERT(h_log_has(&H, "transferee needs the v1.0 dialect"));
  } else {
    DT_ASSERT(h_outcome_is(cdr, "transferred"));
    cJSON *tl = h_timeline(&H, id);
    DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "transfer"), 1);
    cJSON_Delete(tl);
  }
  cJSON_Delete(cdr);
}

/* An outgoing call: beta shows "ringing" while the callee's phone rings; a no-media dial
   (modalities = {}) starts its flow without waiting for audio. */
FLOW_TEST(dial_rings_and_joins_without_media) {
  DT_ASSERT_EQ_INT(h_flow(&H, "leg", "return function(call) dialtone.log('info', 'LEG', call.id) end\n"), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  dialtone.dial{targets = {{user = 'bob-id'}}, flow = 'leg', modalities = {}}\n"
                          "  local ok, err = pcall(dialtone.dial, {targets = {{user = 'bob-id'}}, flow = 'leg',\n"
                          "                                        modalities = {'smell'}})\n"
                          "  dialtone.log('info', 'BADMOD', ok, tostring(err):match('unknown modality') ~= nil)\n"
                          "  call:sleep(0.2)\n"
                          "end\n"),
                   0);
  char id[128], leg[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "BADMOD false true"));
  H_UNTIL(&H, 10000, logged_id("LEG", leg));
  DT_ASSERT(logged_id("LEG", leg));
  DT_ASSERT(!h_log_has(&H, "no mediaState audio")); /* nothing to wait for */
  cJSON *tl = h_timeline(&H, leg);
  DT_ASSERT_EQ_INT(h_count(tl, "notification", "summary", "ringing"), IS_BETA ? 1 : 0);
  DT_ASSERT_EQ_INT(h_count(tl, "notification", "summary", "media active"), 0);
  cJSON_Delete(tl);
}

/* The remote party holds the call: "hold" then "established"; media actions refused on hold. */
FLOW_TEST_SCALE(hold_state_from_the_remote_party, 0.05) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:sleep(60)\n"
                          "end\n"),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  cJSON *tl = NULL;
  H_UNTIL(&H, 20000, (cJSON_Delete(tl), tl = h_timeline(&H, id), h_count(tl, "request", "action", "subscribeToTone") == 1));
  cJSON_Delete(tl);
  char path[256];
  snprintf(path, sizeof path, "calls/%s/unhold", id);
  DT_ASSERT_EQ_INT(h_control(&H, "POST", path, "{}"), 409); /* not on hold */
  snprintf(path, sizeof path, "calls/%s/hold", id);
  DT_ASSERT_EQ_INT(h_control(&H, "POST", path, "{}"), 200);
  snprintf(path, sizeof path, "calls/%s/unhold", id);
  DT_ASSERT_EQ_INT(h_control(&H, "POST", path, "{}"), 200);
  tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "notification", "summary", "hold"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "notification", "summary", "established (off hold)"), 1);
  cJSON_Delete(tl);
  DT_ASSERT_EQ_INT(h_hangup(&H, id), 200);
  H_UNTIL(&H, 20000, h_has_cdr(&H, id));
}

DT_TEST_MAIN()
