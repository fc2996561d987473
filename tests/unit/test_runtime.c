/*
 * test_runtime.c — the flow runtime's public API (lua/runtime.c, runtime.h): required
 * options, flows loaded from text and from flows_dir with versions, compile errors with
 * file:line, the top-level budget, the timer scale, memory accounting, the hooks.
 */
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"
#include "dialtone/error.h"

DT_TEST(flows_dir_and_base_url_are_required) {
  dt_runtime_t *rt = NULL;
  char err[128] = "";
  dt_runtime_options_t o = {.flows_dir = "/tmp"};
  DT_ASSERT_EQ_INT(dt_runtime_new(&o, &rt, err, sizeof err), DT_EINVAL);
  DT_ASSERT_CONTAINS(err, "prompts_base_url");
  DT_ASSERT(rt == NULL);
}

DT_TEST(a_flow_from_text_gets_a_new_version_each_compile) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  const char *text = "return function(call) end";
  char err[256];
  DT_ASSERT_EQ_INT(dt_runtime_flow_version(f.rt, "main"), 0);
  DT_ASSERT_EQ_INT(dt_runtime_load_flow(f.rt, "main", text, strlen(text), err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_runtime_flow_version(f.rt, "main"), 1);
  DT_ASSERT_EQ_INT(dt_runtime_load_flow(f.rt, "main", text, strlen(text), err, sizeof err), 0);
  DT_ASSERT_EQ_INT(dt_runtime_flow_version(f.rt, "main"), 2);
  DT_ASSERT_EQ_INT(dt_runtime_load_flow(f.rt, "no/slash", text, strlen(text), err, sizeof err), DT_EINVAL);
  rtf_close(&f);
}

DT_TEST(compile_errors_name_the_file_and_line_and_change_nothing) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  char err[256] = "";
  const char *good = "return function(call) end";
  DT_ASSERT_EQ_INT(dt_runtime_load_flow(f.rt, "main", good, strlen(good), err, sizeof err), 0);
  const char *bad = "local x =\nreturn function(call) end end";
  DT_ASSERT(dt_runtime_load_flow(f.rt, "main", bad, strlen(bad), err, sizeof err) < 0);
  DT_ASSERT_CONTAINS(err, "main.lua:2:");
  const char *notfn = "return 42";
  DT_ASSERT(dt_runtime_load_flow(f.rt, "main", notfn, strlen(notfn), err, sizeof err) < 0);
  DT_ASSERT_CONTAINS(err, "the flow must return function(call), it returned number");
  DT_ASSERT_EQ_INT(dt_runtime_flow_version(f.rt, "main"), 1);
  rtf_close(&f);
}

DT_TEST(top_level_code_runs_under_the_instruction_budget) {
  rt_fixture_t f;
  dt_runtime_options_t o = {.instruction_budget = 100000};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  char err[256] = "";
  const char *loop = "while true do end";
  DT_ASSERT(dt_runtime_load_flow(f.rt, "spin", loop, strlen(loop), err, sizeof err) < 0);
  DT_ASSERT_CONTAINS(err, "top-level code exceeded the instruction budget");
  const char *pattern = "string.find(string.rep('a', 5000), '.-.-.-.-b') return function() end";
  DT_ASSERT(dt_runtime_load_flow(f.rt, "slow", pattern, strlen(pattern), err, sizeof err) < 0);
  DT_ASSERT_CONTAINS(err, "top-level code exceeded the instruction budget in string.find");
  rtf_close(&f);
}

DT_TEST(reload_compiles_the_files_of_flows_dir) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  rtf_write(f.flows, "main.lua", "return function(call) end");
  rtf_write(f.flows, "broken.lua", "return function(");
  rtf_write(f.flows, "main_test.lua", "error('a flow test is not a flow')");
  unsigned failed = 0;
  char err[256] = "";
  DT_ASSERT_EQ_INT(dt_runtime_reload(f.rt, &failed, err, sizeof err), 1);
  DT_ASSERT_EQ_INT(failed, 1);
  DT_ASSERT_CONTAINS(err, "broken.lua:1:");
  DT_ASSERT_EQ_INT(dt_runtime_flow_version(f.rt, "main"), 1);
  DT_ASSERT_EQ_INT(dt_runtime_flow_version(f.rt, "main_test"), 0);
  rtf_close(&f);
}

DT_TEST(timer_scale_multiplies_flow_waits) {
  rt_fixture_t f;
  dt_runtime_options_t o = {.timer_scale = 0.5};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  DT_ASSERT_EQ_INT(dt_runtime_timer_ms(f.rt, 2.0), 1000);
  dt_runtime_set_timer_scale(f.rt, 2);
  DT_ASSERT_EQ_INT(dt_runtime_timer_ms(f.rt, 2.0), 4000);
  dt_runtime_set_timer_scale(f.rt, 0); /* instant: at most DT_INSTANT_TIMER_MS */
  DT_ASSERT_EQ_INT(dt_runtime_timer_ms(f.rt, 60.0), DT_INSTANT_TIMER_MS);
  DT_ASSERT_EQ_INT(dt_runtime_timer_ms(f.rt, 0.0001), 1);
  rtf_close(&f);
}

DT_TEST(memory_and_hooks_through_the_public_api) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  DT_ASSERT(dt_runtime_memory(f.rt) > 0);
  DT_ASSERT_EQ_INT(dt_runtime_active(f.rt), 0);
  char id[64];
  double s;
  DT_ASSERT(!dt_runtime_take_slowest(f.rt, id, sizeof id, &s));
  const char *text = "return function(call) local t = {} for i = 1, 1000 do t[i] = i end end";
  char err[256];
  DT_ASSERT_EQ_INT(dt_runtime_load_flow(f.rt, "main", text, strlen(text), err, sizeof err), 0);
  dt_call_t c;
  rtf_call(&c, "call-1", "main");
  DT_ASSERT_EQ_INT(dt_runtime_on_start(&c, f.rt), 0);
  DT_ASSERT_EQ_INT(dt_runtime_active(f.rt), 0); /* ran to its end at once */
  DT_ASSERT_EQ_INT(c.flow_version, 1);
  DT_ASSERT(dt_runtime_take_slowest(f.rt, id, sizeof id, &s));
  DT_ASSERT_EQ_STR(id, "call-1");
  DT_ASSERT(dt_runtime_call_memory(f.rt, &c) > 0);
  dt_runtime_on_release(&c, f.rt);
  DT_ASSERT(c.rt == NULL);
  DT_ASSERT_EQ_INT(dt_runtime_call_memory(f.rt, &c), 0);
  rtf_close(&f);
}

DT_TEST_MAIN()
