/*
 * test_flow_semantics.c — the promises flows rely on, end to end against the emulator:
 * hangup is cancellation, errors stay in their call, digits are never lost (type-ahead,
 * duplicates, reordering, completions racing their responses), nothing waits forever,
 * runaway flows are stopped, the sandbox. Built for v1.0 here and for beta by
 * test_flow_semantics_beta.c.
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

/* The caller hangs up in the middle of a prompt: the waiting play raises a hangup error
   that unwinds the flow, <close> variables and on_hangup handlers run, and the engine
   sends nothing after the hangup. */
H_TEST(hangup_during_prompt_cancels_the_flow, .time_scale = 0.05) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:on_hangup(function(c, outcome) dialtone.log('info', 'HANDLER', outcome, c.ended) end)\n"
                          "  local guard <close> = setmetatable({}, {__close = function() dialtone.log('info', 'CLOSED') end})\n"
                          "  call:play('main_menu')\n"
                          "  dialtone.log('info', 'NOTREACHED')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":1000,\"hangup\":true}]", id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "hangup"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "CLOSED"));
  DT_ASSERT(h_log_has(&H, "HANDLER hangup true"));
  DT_ASSERT(!h_log_has(&H, "NOTREACHED"));
  cJSON *tl = h_timeline(&H, id);
  int hup = h_index(tl, "caller_hangup", NULL, NULL);
  DT_ASSERT(hup >= 0);
  DT_ASSERT_EQ_INT(h_requests_after(tl, hup), 0);
  cJSON_Delete(tl);
}

/* A hangup while the flow waits in a gather, caught with pcall: every later primitive
   raises again at once and sends nothing. */
H_TEST(hangup_caught_by_pcall_sends_nothing_more, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local ok, err = pcall(call.gather, call, {max = 4, timeout = 10})\n"
                          "  local ok2, err2 = pcall(call.play, call, 'goodbye')\n"
                          "  dialtone.log('info', 'RESULT', ok, err.code, ok2, err2.code)\n"
                          "end\n"),
                   0);
  char id[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, id), 201);
  H_UNTIL(&H, 10000, dt_engine_active_calls(H.engine) == 1 && H.started && h_count_requests(&H, id, "subscribeToTone") == 1);
  DT_ASSERT_EQ_INT(h_hangup(&H, id), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, id));
  DT_ASSERT(h_log_has(&H, "RESULT false hangup false hangup"));
  cJSON *tl = h_timeline(&H, id);
  int hup = h_index(tl, "caller_hangup", NULL, NULL);
  DT_ASSERT(hup >= 0);
  DT_ASSERT_EQ_INT(h_requests_after(tl, hup), 0);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "goodbye"), 0);
  cJSON_Delete(tl);
}

/* Keys pressed while a prompt plays (no barge-in) wait for the next gather. */
H_TEST(digits_during_a_prompt_reach_the_next_gather, .time_scale = 0.05) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:play('welcome')\n"
                          "  local d, why = call:gather{prompt = 'enter_digits', max = 2, timeout = 2}\n"
                          "  dialtone.log('info', 'RESULT', d, why)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"welcome\",\"after_ms\":300,\"tones\":\"42\"}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 42 max"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "enter_digits"), 0); /* type-ahead skips the prompt */
  cJSON_Delete(tl);
}

/* A flow that raises ends only its own call: traceback with the call id in the log, the
   error prompt, then hangup; a concurrent call is untouched. */
H_TEST(errors_stay_in_their_call, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  if call.from == '+15550000001' then\n"
                          "    local t = nil\n"
                          "    return t.field -- boom\n"
                          "  end\n"
                          "  local d = call:gather{max = 1, timeout = 60}\n"
                          "  dialtone.log('info', 'OTHER', d)\n"
                          "end\n"),
                   0);
  char good[128], bad[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, "\"from\":{\"phone\":\"+15550000002\"}", good), 201);
  cJSON *cdr = h_run_call("\"from\":{\"phone\":\"+15550000001\"}", bad);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "error"));
  DT_ASSERT_CONTAINS(h_str(cdr, "error"), "attempt to index a nil value");
  cJSON_Delete(cdr);
  char line[300];
  snprintf(line, sizeof line, "[call %s] flow main failed: main.lua:5:", bad);
  DT_ASSERT(h_log_has(&H, line));
  DT_ASSERT(h_log_has(&H, "stack traceback"));
  cJSON *tl = h_timeline(&H, bad);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "error"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "method", "DELETE"), 1);
  cJSON_Delete(tl);
  /* the other call still waits in its gather, and finishes normally */
  DT_ASSERT(!h_has_cdr(&H, good));
  DT_ASSERT_EQ_INT(h_tones(&H, good, "7"), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, good));
  cdr = h_cdr(&H, good);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "OTHER 7"));
}

/* An endless loop (even wrapped in pcall) is stopped by the instruction budget; only
   that call ends. */
H_TEST(runaway_loop_is_stopped, .time_scale = 0, .instruction_budget = 2000000) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  if call.from == '+15550000001' then\n"
                          "    while true do pcall(function() while true do end end) end\n"
                          "  end\n"
                          "  local d = call:gather{max = 1, timeout = 60}\n"
                          "  dialtone.log('info', 'OTHER', d)\n"
                          "end\n"),
                   0);
  char good[128], bad[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, "\"from\":{\"phone\":\"+15550000002\"}", good), 201);
  cJSON *cdr = h_run_call("\"from\":{\"phone\":\"+15550000001\"}", bad);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "error"));
  DT_ASSERT_CONTAINS(h_str(cdr, "error"), "instruction budget");
  cJSON_Delete(cdr);
  DT_ASSERT_EQ_INT(h_tones(&H, good, "3"), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, good));
  cdr = h_cdr(&H, good);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "OTHER 3"));
}

/* A flow that eats memory hits the Lua memory cap and is stopped; pcall cannot keep it. */
H_TEST(memory_hog_is_stopped, .time_scale = 0, .lua_memory_bytes = 48u << 20) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  if call.from == '+15550000001' then\n"
                          "    local t = {}\n"
                          "    while true do\n"
                          "      pcall(function() for i = 1, 1e9 do t[#t + 1] = ('x'):rep(4096) .. i end end)\n"
                          "    end\n"
                          "  end\n"
                          "  local d = call:gather{max = 1, timeout = 60}\n"
                          "  dialtone.log('info', 'OTHER', d)\n"
                          "end\n"),
                   0);
  char good[128], bad[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, "\"from\":{\"phone\":\"+15550000002\"}", good), 201);
  cJSON *cdr = h_run_call("\"from\":{\"phone\":\"+15550000001\"}", bad);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "error"));
  DT_ASSERT_CONTAINS(h_str(cdr, "error"), "memory limit");
  cJSON_Delete(cdr);
  DT_ASSERT_EQ_INT(h_tones(&H, good, "4"), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, good));
  cdr = h_cdr(&H, good);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "OTHER 4"));
}

/* A completion notification that never comes: at the deadline the engine reads the
   operation back (GET …/operations/{id}) and goes on with what Graph says. */
H_TEST(a_lost_completion_is_read_back_at_the_deadline, .time_scale = 0, .op_timeout_s = 1) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"ops_never_complete\":true}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  dialtone.log('info', 'RESULT', call:play('welcome'))\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT completed"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT(h_count(tl, "fault_op_never_completes", NULL, NULL) >= 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "method", "GET"), 1);
  DT_ASSERT(h_count(tl, "request", "path", "/operations/") >= 1);
  cJSON_Delete(tl);
}

/* An operation still running at its deadline fails the primitive with a catchable
   "timeout" error (here a prompt longer than the deadline, in real time). */
H_TEST(an_operation_past_its_deadline_fails_the_primitive, .time_scale = 1, .op_timeout_s = 1) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local ok, err = pcall(call.play, call, 'main_menu')\n"
                          "  dialtone.log('info', 'RESULT', ok, err.code)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT false timeout"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT(h_count(tl, "request", "path", "/operations/") >= 1);
  cJSON_Delete(tl);
}

/* Notifications delivered twice (or more): one answer, one subscription, digits once
   each. (A probability of 1 makes the emulator duplicate its duplicates forever.) */
H_TEST(duplicated_notifications_cause_no_duplicate_action, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"duplicate_notifications\":0.6}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local d, why = call:gather{prompt = 'enter_digits', max = 3, timeout = 3}\n"
                          "  dialtone.log('info', 'RESULT', d, why, call.buffered_digits == '')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"123\"}]", id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  const cJSON *digits = cJSON_GetObjectItemCaseSensitive(cdr, "digits");
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(digits), 1);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 123 max true"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT(h_count(tl, "fault_duplicated", NULL, NULL) > 0);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "answer"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "subscribeToTone"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "playPrompt"), 1);
  cJSON_Delete(tl);
}

/* established before establishing: answered once, the flow goes on. */
H_TEST(established_before_establishing_answers_once, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"swap_answer_notifications\":true}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:answer()\n"
                          "  dialtone.log('info', 'RESULT', call.state, call:play('welcome'))\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT established completed"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "answer"), 1);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "subscribeToTone"), 1);
  cJSON_Delete(tl);
}

/* Notifications delivered out of order: tones still come out in sequence order. */
H_TEST(reordered_tones_keep_their_sequence, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  call:play('welcome')\n"
                          "  call:sleep(0.3)\n"
                          "  local d, why = call:gather{max = 6, timeout = 1}\n"
                          "  dialtone.log('info', 'RESULT', d, why)\n"
                          "end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"reorder_notifications\":0.5}"), 200);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"welcome\",\"tones\":\"123456\",\"gap_ms\":0}]", id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 123456 max"));
}

/* PascalCase enum values (as real deliveries carry) work like camelCase ones. */
H_TEST(pascal_case_notifications, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_control(&H, "POST", "faults", "{\"pascal_case\":true}"), 200);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  local d = call:gather{prompt = 'enter_digits', max = 2, timeout = 3}\n"
                          "  dialtone.log('info', 'RESULT', d)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call("\"script\":[{\"on\":\"prompt\",\"match\":\"enter_digits\",\"tones\":\"58\"}]", id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT 58"));
}

/* At time scale 0 an operation's completion often arrives before the response that
   created it; none may be lost. */
H_TEST(completions_racing_their_responses_are_not_lost, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  for i = 1, 40 do call:play('digit_' .. (i % 10)) end\n"
                          "  dialtone.log('info', 'RESULT done')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "RESULT done"));
}

/* The sandbox: only the allow-listed globals; no global writes; no io, os.execute, load,
   require of C modules, coroutine, string.dump, __gc. */
H_TEST(sandbox, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "local function try(name, f)\n"
                          "  local ok, err = pcall(f)\n"
                          "  dialtone.log('info', 'SANDBOX', name, ok, (tostring(err):gsub('^[^:]*:%d+: ', '')))\n"
                          "end\n"
                          "return function(call)\n"
                          "  try('io', function() return io.open('/etc/passwd') end)\n"
                          "  try('execute', function() return os.execute('true') end)\n"
                          "  try('coroutine', function() return coroutine.create(print) end)\n"
                          "  try('load', function() return load('return 1') end)\n"
                          "  try('dump', function() return string.dump(print) end)\n"
                          "  try('global', function() x = 1 end)\n"
                          "  try('gc', function() setmetatable({}, {__gc = print}) end)\n"
                          "  try('require', function() return require('os') end)\n"
                          "  try('strlib', function() string.upper = nil end)\n"
                          "  try('strmeta', function() return getmetatable('').__index end)\n"
                          "  try('time', function() return type(os.time()) end)\n"
                          "  call:hangup()\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "SANDBOX io false undefined global 'io'"));
  DT_ASSERT(h_log_has(&H, "SANDBOX execute false attempt to call a nil value (field 'execute')"));
  DT_ASSERT(h_log_has(&H, "SANDBOX coroutine false undefined global 'coroutine'"));
  DT_ASSERT(h_log_has(&H, "SANDBOX load false undefined global 'load'"));
  DT_ASSERT(h_log_has(&H, "SANDBOX dump false attempt to call a nil value (field 'dump')"));
  DT_ASSERT(h_log_has(&H, "SANDBOX global false assignment to global 'x'"));
  DT_ASSERT(h_log_has(&H, "SANDBOX gc false __gc metamethods are not allowed"));
  DT_ASSERT(h_log_has(&H, "SANDBOX require false module 'os' not found"));
  DT_ASSERT(h_log_has(&H, "SANDBOX strlib false string is read-only"));
  DT_ASSERT(h_log_has(&H, "SANDBOX strmeta false attempt to index a nil value"));
  DT_ASSERT(h_log_has(&H, "SANDBOX time true number"));
}

/* Misuse raises clear errors, unknown option names included. */
H_TEST(misuse_raises_clear_errors, .time_scale = 0) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "local function try(name, f)\n"
                          "  local ok, err = pcall(f)\n"
                          "  dialtone.log('info', 'MISUSE', name, ok, (tostring(err):gsub('^[^:]*:%d+: ', '')))\n"
                          "end\n"
                          "return function(call)\n"
                          "  call:answer()\n"
                          "  try('option', function() call:gather{mx = 3} end)\n"
                          "  try('type', function() call:gather{max = 'three'} end)\n"
                          "  try('range', function() call:gather{max = 99} end)\n"
                          "  try('prompt', function() call:play('no_such_prompt') end)\n"
                          "  try('identity', function() call:transfer{target = {usr = 'x'}} end)\n"
                          "  try('reject', function() call:reject{} end)\n"
                          "  try('method', function() call:gahter() end)\n"
                          "  try('menu', function() call:menu{options = {'1'}, tries = 2} end)\n"
                          "  try('dial', function() dialtone.dial{targets = {{user = 'x'}}, flow = 'nope'} end)\n"
                          "  try('tones', function() call:send_dtmf('12x') end)\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "MISUSE option false call:gather: unknown option 'mx'"));
  DT_ASSERT(h_log_has(&H, "MISUSE type false call:gather: option 'max' must be a number, got string"));
  DT_ASSERT(h_log_has(&H, "MISUSE range false call:gather: option 'max' must be between 1 and 64"));
  DT_ASSERT(h_log_has(&H, "MISUSE prompt false unknown prompt 'no_such_prompt'"));
  DT_ASSERT(h_log_has(&H, "MISUSE identity false call:transfer: unknown identity field 'usr'"));
  DT_ASSERT(h_log_has(&H, "MISUSE reject false call:reject: only an incoming call that was not answered"));
  DT_ASSERT(h_log_has(&H, "MISUSE method false call has no field or method 'gahter'"));
  DT_ASSERT(h_log_has(&H, "MISUSE menu false call:menu: unknown option 'tries'"));
  DT_ASSERT(h_log_has(&H, "MISUSE dial false dialtone.dial: no flow named 'nope'"));
  DT_ASSERT(h_log_has(&H, "MISUSE tones false call:send_dtmf: 'x' is not a DTMF key"));
}

DT_TEST_MAIN()
