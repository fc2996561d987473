/*
 * test_flow_primitives.c — every flow primitive end to end: the engine against the Graph
 * emulator over loopback HTTP, asserting on what the emulator saw (its timeline), the
 * CDR, and what the flow reported through dialtone.log. Built twice: as is (v1.0 dialect)
 * and included by test_flow_primitives_beta.c (beta dialect), so both dialects pass the
 * same tests.
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

#define FLOW_TEST_SCALE(name, scale) H_TEST(name, .time_scale = (scale))
#define FLOW_TEST(name) H_TEST(name, .time_scale = 0)
#define run_call h_run_call
#define outcome_is h_outcome_is

FLOW_TEST(answer_play_hangup) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:play('welcome')\n"
                          "  dialtone.log('info', 'RESULT play', r, call.direction, call.state)\n"
                          "  call:hangup()\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "completed"));
  DT_ASSERT_EQ_STR(h_str(cdr, "flow"), "main");
  DT_ASSERT_EQ_STR(h_str(cdr, "direction"), "incoming");
  DT_ASSERT_EQ_STR(h_str(cdr, "from"), "+15555550100");
  DT_ASSERT(h_str(cdr, "answer") != NULL);
  DT_ASSERT(h_str(cdr, "end") != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT play completed incoming established"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT(tl != NULL);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "answer"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "subscribeToTone"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "welcome"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "method", "DELETE"), 1);
  cJSON_Delete(tl);
}

FLOW_TEST(flow_end_hangs_up) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", "return function(call) call:answer() end"), 0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "method", "DELETE"), 1);
  cJSON_Delete(tl);
}

FLOW_TEST(reject_busy_ends_flow) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:reject{reason = 'busy'}\n"
                          "  dialtone.log('info', 'NOTREACHED')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "rejected"));
  cJSON_Delete(cdr);
  DT_ASSERT(!h_log_has(&H, "NOTREACHED"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "reject"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "answer"), 0);
  cJSON_Delete(tl);
}

FLOW_TEST(redirect_to_user) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:redirect{targets = {{user = 'alice-id', name = 'Alice'}}, timeout = 20}\n"
                          "  dialtone.log('info', 'NOTREACHED')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "redirected"));
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(cdr, "transfers");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(tr), 1);
  DT_ASSERT_EQ_STR(h_str(cJSON_GetArrayItem(tr, 0), "target"), "user:alice-id");
  cJSON_Delete(cdr);
  DT_ASSERT(!h_log_has(&H, "NOTREACHED"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "redirect"), 1);
  cJSON_Delete(tl);
}

/* A key during a barge-in prompt cancels it; the key is kept for the next gather. */
FLOW_TEST_SCALE(play_barge_in_keeps_the_key, 0.05) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:play('main_menu', {barge_in = true})\n"
                          "  local d, why = call:gather{max = 1, timeout = 2}\n"
                          "  dialtone.log('info', 'RESULT', r, d, why)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":500,\"tones\":\"5\"}]", id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT barged 5 max"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "cancelMediaProcessing"), 1);
  cJSON_Delete(tl);
}

FLOW_TEST_SCALE(play_without_barge_in_plays_through, 0.05) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:play({'welcome', 'goodbye'})\n"
                          "  dialtone.log('info', 'RESULT', r, call.buffered_digits)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"welcome\",\"after_ms\":200,\"tones\":\"7\"}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT completed 7"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "cancelMediaProcessing"), 0);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "goodbye"), 1);
  cJSON_Delete(tl);
}

FLOW_TEST(gather_terminator) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local d, why = call:gather{prompt = 'enter_digits', max = 10, timeout = 3}\n"
                          "  dialtone.log('info', 'RESULT', d, why)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"123#\"}]", id);
  DT_ASSERT(cdr != NULL);
  const cJSON *digits = cJSON_GetObjectItemCaseSensitive(cdr, "digits");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(digits), 1);
  DT_ASSERT_EQ_STR(cJSON_GetArrayItem(digits, 0)->valuestring, "123");
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 123 terminator"));
}

/* max ends a gather; the rest is type-ahead for the next one, which plays no prompt. */
FLOW_TEST(gather_max_and_type_ahead) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local a, wa = call:gather{prompt = 'enter_digits', max = 3, timeout = 3}\n"
                          "  call:sleep(0.2)\n"
                          "  local b, wb = call:gather{prompt = 'enter_digits', max = 2, timeout = 3}\n"
                          "  dialtone.log('info', 'RESULT', a, wa, b, wb)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"12345\",\"gap_ms\":0}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 123 max 45 max"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "enter_digits"), 1);
  cJSON_Delete(tl);
}

/* First-digit timeout with nothing pressed, then one key and the inter-digit timeout. */
FLOW_TEST(gather_timeouts) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local a, wa = call:gather{max = 4, timeout = 0.3}\n"
                          "  dialtone.log('info', 'FIRST', '[' .. a .. ']', wa)\n"
                          "  local b, wb = call:gather{max = 4, timeout = 10, inter_digit = 0.3}\n"
                          "  dialtone.log('info', 'RESULT', b, wb)\n"
                          "end\n"),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  H_UNTIL(&H, 10000, h_log_has(&H, "FIRST"));
  DT_ASSERT(h_log_has(&H, "FIRST [] timeout"));
  DT_ASSERT_EQ_INT(h_tones(&H, id, "1"), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, id));
  DT_ASSERT(h_log_has(&H, "RESULT 1 timeout"));
}

FLOW_TEST(gather_min_and_flush) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local a, wa = call:gather{prompt = 'enter_digits', min = 3, max = 6, timeout = 3}\n"
                          "  call:sleep(0.2)\n"
                          "  local b, wb = call:gather{flush = true, max = 2, timeout = 0.3}\n"
                          "  dialtone.log('info', 'RESULT', '[' .. a .. ']', wa, '[' .. b .. ']', wb)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"12#99\",\"gap_ms\":0}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT [] terminator [] timeout"));
}

/* gather{pattern =, invalid =, retries =}: a wrong entry plays invalid and asks again; the
   right one is read back by call:confirm and confirmed with 1. Bad options raise at once. */
FLOW_TEST(gather_pattern_and_confirm) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  for _, o in ipairs{{pattern = '%'}, {pattern = ('x'):rep(300)}, {pattern = 5},\n"
                          "                     {retries = -1}, {invalid = true}} do\n"
                          "    o.max = 1\n"
                          "    local ok, e = pcall(call.gather, call, o)\n"
                          "    dialtone.log('info', 'BAD', ok, e)\n"
                          "  end\n"
                          "  local ok, e = pcall(call.confirm, call, {digits = '12a'})\n"
                          "  dialtone.log('info', 'BAD', ok, e)\n"
                          "  local d, why = call:gather{prompt = 'enter_digits', pattern = '^%d%d%d%d%d%d$',\n"
                          "                             invalid = 'invalid', retries = 2, max = 6, timeout = 3}\n"
                          "  local yes, r2 = call:confirm{digits = d, prompt = 'you_entered', question = 'main_menu'}\n"
                          "  dialtone.log('info', 'RESULT', d, why, yes, r2)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"12#\"},"
                        "{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"427193\"},"
                        "{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"1\"}]",
                        id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "completed"));
  const cJSON *digits = cJSON_GetObjectItemCaseSensitive(cdr, "digits");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(digits), 3);
  DT_ASSERT_EQ_STR(cJSON_GetArrayItem(digits, 0)->valuestring, "12");
  DT_ASSERT_EQ_STR(cJSON_GetArrayItem(digits, 1)->valuestring, "427193");
  DT_ASSERT_EQ_STR(cJSON_GetArrayItem(digits, 2)->valuestring, "1");
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "BAD false call:gather: option 'pattern' is not a valid Lua pattern"));
  DT_ASSERT(h_log_has(&H, "BAD false call:gather: option 'pattern' must be 1 to 256 bytes long"));
  DT_ASSERT(h_log_has(&H, "BAD false call:gather: option 'pattern' must be a string"));
  DT_ASSERT(h_log_has(&H, "BAD false call:gather: option 'retries' must be an integer"));
  DT_ASSERT(h_log_has(&H, "BAD false call:gather: option 'invalid' must be a prompt name"));
  DT_ASSERT(h_log_has(&H, "BAD false call:confirm: option 'digits' must be 1 to 18 keys"));
  DT_ASSERT(h_log_has(&H, "RESULT 427193 max true nil"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "enter_digits"), 2);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "invalid"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "digit_4"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "digit_3"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "main_menu"), 1);
  cJSON_Delete(tl);
}

FLOW_TEST(menu_retries_invalid_then_valid) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local v, k = call:menu{prompt = 'main_menu', options = {['1'] = 'one', ['2'] = 'two'},\n"
                          "                        retries = 2, timeout = 2, invalid = 'invalid', noinput = 'noinput'}\n"
                          "  dialtone.log('info', 'RESULT', v, k)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"9\"},"
                        "{\"on\":\"prompt\",\"match\":\"main_menu\",\"tones\":\"2\"}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT two 2"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "invalid"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "main_menu"), 2);
  cJSON_Delete(tl);
  /* the choice is counted per flow and menu (named by its prompt) */
  dt_metrics_t *m = dt_engine_metrics(H.engine);
  DT_ASSERT(dt_metrics_get(m, "dt_menu_choices_total", "flow=\"main\",menu=\"main_menu\",choice=\"2\"") == 1);
}

FLOW_TEST(menu_gives_up_after_retries) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local v = call:menu{prompt = 'main_menu', options = {'1', '2'},\n"
                          "                     retries = 1, timeout = 0.2, invalid = 'invalid', noinput = 'noinput'}\n"
                          "  dialtone.log('info', 'RESULT', tostring(v))\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT nil"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "noinput"), 2);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "main_menu"), 2);
  cJSON_Delete(tl);
  dt_metrics_t *m = dt_engine_metrics(H.engine);
  DT_ASSERT(dt_metrics_get(m, "dt_menu_choices_total", "flow=\"main\",menu=\"main_menu\",choice=\"none\"") == 1);
}

FLOW_TEST(record_stores_file_and_sidecar) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:record{prompt = 'voicemail_intro', beep = true, max_duration = 10,\n"
                          "                        max_silence = 1, initial_silence = 3, stop_tones = '#'}\n"
                          "  dialtone.log('info', 'RESULT', r.reason, r.file ~= nil, r.duration > 0, r.location ~= nil)\n"
                          "  dialtone.log('info', 'FILE', r.file)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"record\",\"speak_s\":2}]", id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_log_has(&H, "RESULT max_silence true true true"));
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(recs), 1);
  const char *file = cJSON_GetArrayItem(recs, 0)->valuestring;
  DT_ASSERT(strncmp(file, H.rec_dir, strlen(H.rec_dir)) == 0);
  char *wav = NULL, *meta = NULL;
  size_t wl = 0, ml = 0;
  DT_ASSERT_EQ_INT(dt_read_file(file, 64 << 20, &wav, &wl), 0);
  DT_ASSERT(wl > 44 && memcmp(wav, "RIFF", 4) == 0);
  free(wav);
  char metapath[600];
  snprintf(metapath, sizeof metapath, "%.*s.json", (int)(strlen(file) - 4), file);
  DT_ASSERT_EQ_INT(dt_read_file(metapath, 1 << 20, &meta, &ml), 0);
  cJSON *mj = cJSON_Parse(meta);
  free(meta);
  DT_ASSERT(mj != NULL);
  DT_ASSERT(h_same_id(h_str(mj, "call_id"), id));
  DT_ASSERT_EQ_STR(h_str(mj, "reason"), "max_silence");
  cJSON_Delete(mj);
  cJSON_Delete(cdr);
}

FLOW_TEST(record_stop_tone_is_consumed) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:record{max_duration = 30, max_silence = 10, stop_tones = {'#'}}\n"
                          "  local d, why = call:gather{max = 1, timeout = 0.3}\n"
                          "  dialtone.log('info', 'RESULT', r.reason, '[' .. d .. ']', why)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call("\"script\":[{\"on\":\"record\",\"speak_s\":1},{\"after_ms\":1500,\"tones\":\"#\"}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT stop_tone [] timeout"));
}

FLOW_TEST(transfer_success) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local r = call:transfer{target = {user = 'plumber-1'}}\n"
                          "  dialtone.log('info', 'RESULT', r, call.ended)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "transferred"));
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(cdr, "transfers");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(tr), 1);
  DT_ASSERT_EQ_STR(h_str(cJSON_GetArrayItem(tr, 0), "result"), "transferred");
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT transferred true"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "transfer"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "method", "DELETE"), 0);
  cJSON_Delete(tl);
}

FLOW_TEST(transfer_failure_is_catchable) {
  DT_ASSERT_EQ_INT(h_control(&H, "PUT", "parties/busy-plumber", "{\"behaviour\":\"busy\"}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local ok, err = pcall(call.transfer, call, {target = {user = 'busy-plumber'}})\n"
                          "  dialtone.log('info', 'RESULT', ok, err.code, err.graph_code)\n"
                          "  call:play('transfer_failed')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "completed"));
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(cdr, "transfers");
  DT_ASSERT_EQ_STR(h_str(cJSON_GetArrayItem(tr, 0), "result"), "failed");
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT false graph transferFailed"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "transfer_failed"), 1);
  cJSON_Delete(tl);
}

FLOW_TEST(in_call_actions) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local out = {}\n"
                          "  out[#out + 1] = call:mute()\n"
                          "  out[#out + 1] = call:unmute()\n"
                          "  out[#out + 1] = call:send_dtmf('12#')\n"
                          "  out[#out + 1] = call:cancel_media()\n"
                          "  local ok1 = pcall(call.screen_sharing, call, 'viewer')\n"
                          "  local ok2 = pcall(call.update_metadata, call, 'ticket=42')\n"
                          "  local ok3 = pcall(call.mute_all, call)\n"
                          "  call:sleep(0.05)\n"
                          "  local ps = call:participants()\n"
                          "  dialtone.log('info', 'RESULT', table.concat(out, ','), #ps > 0)\n"
                          "  dialtone.log('info', 'OPTIONAL', ok1, ok2, ok3)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT completed,completed,completed,completed true"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "mute"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "unmute"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "sendDtmfTones"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "cancelMediaProcessing"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "changeScreenSharingRole"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "updateMetadata"), 1);
  DT_ASSERT(h_count(tl, "request", "path", "/participants") >= 1);
  cJSON_Delete(tl);
}

/* dialtone.dial: the named flow runs the new call once it is established. */
FLOW_TEST(dial_runs_the_named_flow) {
  DT_ASSERT_EQ_INT(h_flow(&H, "callee",
                          "return function(call)\n"
                          "  dialtone.log('info', 'CALLEE', call.direction, call.to)\n"
                          "  call:play('welcome')\n"
                          "  call:hangup()\n"
                          "end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local out = dialtone.dial{targets = {{user = 'bob-id'}}, flow = 'callee', subject = 'Reminder'}\n"
                          "  dialtone.log('info', 'DIALED', out.id ~= nil, out.direction)\n"
                          "  call:sleep(0.3)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "DIALED true outgoing"));
  H_UNTIL(&H, 10000, h_log_has(&H, "CALLEE outgoing user:bob-id") && dt_engine_active_calls(H.engine) == 0);
  DT_ASSERT(h_log_has(&H, "CALLEE outgoing user:bob-id"));
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
  /* the outbound call's CDR */
  char *text = NULL;
  size_t len = 0;
  DT_ASSERT_EQ_INT(dt_read_file(H.cdr_path, 1 << 20, &text, &len), 0);
  DT_ASSERT(strstr(text, "\"direction\":\"outgoing\"") != NULL);
  DT_ASSERT(strstr(text, "\"flow\":\"callee\"") != NULL);
  free(text);
}

FLOW_TEST(dial_join_meeting_as_guest) {
  DT_ASSERT_EQ_INT(h_flow(&H, "announce",
                          "return function(call)\n"
                          "  dialtone.log('info', 'JOINED', call.direction)\n"
                          "  call:play('welcome')\n"
                          "end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  dialtone.dial{meeting = {organizer = {user = 'organizer-id', tenant = 'tenant-1'}, guest = 'Dialtone bot'},\n"
                          "                chat = {thread = '19:meeting_x@thread.v2', message = '0'}, flow = 'announce'}\n"
                          "  call:sleep(0.2)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  H_UNTIL(&H, 10000, h_log_has(&H, "JOINED outgoing") && dt_engine_active_calls(H.engine) == 0);
  DT_ASSERT(h_log_has(&H, "JOINED outgoing"));
}

/* Escalation of a 1:1 call to a group call: the flow dials a group call; its flow
   invites the first caller with replaces_call, which moves the caller over. */
FLOW_TEST(invite_with_replaces_call_escalates) {
  DT_ASSERT_EQ_INT(h_flow(&H, "group",
                          "return function(call)\n"
                          "  local first = call.dialed_by\n"
                          "  dialtone.log('info', 'GROUP dialed by', first.from)\n"
                          "  local r = call:invite{participants = {{phone = first.from}}, replaces_call = first}\n"
                          "  dialtone.log('info', 'INVITE', r)\n"
                          "  call:sleep(0.2)\n"
                          "end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local g = dialtone.dial{targets = {{user = 'dave-id'}, {user = 'erin-id'}}, flow = 'group'}\n"
                          "  local ok, err = pcall(call.sleep, call, 10)\n"
                          "  dialtone.log('info', 'FIRST', ok, err and err.code)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  H_UNTIL(&H, 10000, h_log_has(&H, "INVITE") && dt_engine_active_calls(H.engine) == 0);
  DT_ASSERT(h_log_has(&H, "GROUP dialed by +15555550100"));
  DT_ASSERT(h_log_has(&H, "INVITE completed"));
  DT_ASSERT(h_log_has(&H, "FIRST false hangup")); /* the 1:1 call was replaced */
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "method", "DELETE"), 0);
  cJSON_Delete(tl);
}

/* Consultative transfer: the flow dials the agent first, then transfers the caller with
   replaces = that call. */
FLOW_TEST(consultative_transfer_with_replaces) {
  DT_ASSERT_EQ_INT(h_flow(&H, "consult",
                          "return function(call)\n"
                          "  dialtone.log('info', 'CONSULT up')\n"
                          "  pcall(call.sleep, call, 10)\n"
                          "end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local agent = dialtone.dial{targets = {{user = 'agent-id'}}, flow = 'consult'}\n"
                          "  call:sleep(0.3)\n"
                          "  local r = call:transfer{target = {user = 'agent-id'}, replaces = agent}\n"
                          "  dialtone.log('info', 'TRANSFER', r)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(outcome_is(cdr, "transferred"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "CONSULT up"));
  DT_ASSERT(h_log_has(&H, "TRANSFER transferred"));
  H_UNTIL(&H, 10000, dt_engine_active_calls(H.engine) == 0);
  DT_ASSERT_EQ_INT(dt_engine_active_calls(H.engine), 0);
}

/* A dial handle can hang up the call it made (without waiting). */
FLOW_TEST(dial_handle_hangup) {
  DT_ASSERT_EQ_INT(h_flow(&H, "callee",
                          "return function(call)\n"
                          "  local ok, err = pcall(call.sleep, call, 10)\n"
                          "  dialtone.log('info', 'CALLEE', ok, err.code)\n"
                          "end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local out = dialtone.dial{targets = {{phone = '+15550009999'}}, flow = 'callee',\n"
                          "                            application_instance = 'instance-1'}\n"
                          "  call:sleep(0.3)\n"
                          "  out:hangup()\n"
                          "  call:sleep(0.3)\n"
                          "  dialtone.log('info', 'MAIN', out.ended)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "CALLEE false hangup"));
  DT_ASSERT(h_log_has(&H, "MAIN true"));
}

DT_TEST_MAIN()
