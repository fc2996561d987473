/*
 * test_flows.c — the flow registry (lua/flows.c): versions live while current or in use,
 * reload compiles only changed text, a broken edit keeps the running version, a removed
 * file's flow takes no new calls.
 */
#include "harness/dt_test.h"
#include "flows.h"
#include "harness/rt_fixture.h"

static int reload(rt_fixture_t *f, unsigned *failed) {
  char err[256];
  return dt__flows_reload(f->rt, failed, err, sizeof err);
}

DT_TEST(touching_a_file_is_not_a_new_version) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  rtf_write(f.flows, "main.lua", "return function(call) end");
  unsigned failed = 9;
  DT_ASSERT_EQ_INT(reload(&f, &failed), 1);
  DT_ASSERT_EQ_INT(failed, 0);
  rtf_write(f.flows, "main.lua", "return function(call) end"); /* same text */
  DT_ASSERT_EQ_INT(reload(&f, &failed), 0);
  DT_ASSERT_EQ_INT(dt__flows_version(f.rt, "main"), 1);
  rtf_write(f.flows, "main.lua", "return function(call) return end");
  DT_ASSERT_EQ_INT(reload(&f, &failed), 1);
  DT_ASSERT_EQ_INT(dt__flows_version(f.rt, "main"), 2);
  rtf_close(&f);
}

DT_TEST(a_broken_edit_keeps_the_version_in_use_until_fixed) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  rtf_write(f.flows, "main.lua", "return function(call) end");
  unsigned failed = 0;
  DT_ASSERT_EQ_INT(reload(&f, &failed), 1);
  rtf_write(f.flows, "main.lua", "return function(call) end end");
  DT_ASSERT_EQ_INT(reload(&f, &failed), 0);
  DT_ASSERT_EQ_INT(failed, 1);
  DT_ASSERT_EQ_INT(dt__flows_version(f.rt, "main"), 1);
  DT_ASSERT_EQ_INT(reload(&f, &failed), 0); /* still broken: still reported */
  DT_ASSERT_EQ_INT(failed, 1);
  dt_flow_t *fl = dt__flows_find(f.rt, "main");
  DT_ASSERT(fl && fl->fail_msg);
  rtf_write(f.flows, "main.lua", "return function(call) end"); /* the edit undone */
  DT_ASSERT_EQ_INT(reload(&f, &failed), 0);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT(fl->fail_msg == NULL);
  DT_ASSERT_EQ_INT(dt__flows_version(f.rt, "main"), 1);
  rtf_close(&f);
}

DT_TEST(a_version_lives_while_a_call_runs_on_it) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  rtf_write(f.flows, "main.lua", "return function(call) end");
  unsigned failed;
  DT_ASSERT_EQ_INT(reload(&f, &failed), 1);
  dt_flow_t *fl = dt__flows_find(f.rt, "main");
  dt_lcall_t lc = {0};
  dt__flows_take(f.rt, &lc, fl);
  DT_ASSERT(lc.ver == fl->current);
  DT_ASSERT_EQ_INT(lc.ver->refs, 2); /* current, and the call */
  rtf_remove(f.flows, "main.lua");
  DT_ASSERT_EQ_INT(reload(&f, &failed), 0);
  DT_ASSERT(fl->current == NULL); /* no new calls */
  DT_ASSERT_EQ_INT(dt__flows_version(f.rt, "main"), 0);
  DT_ASSERT_EQ_INT(lc.ver->refs, 1);  /* the call still runs on version 1 */
  DT_ASSERT_EQ_INT(lc.ver->version, 1);
  dt__flows_drop(f.rt, &lc);
  DT_ASSERT(lc.ver == NULL);
  rtf_close(&f);
}

DT_TEST(bad_file_names_are_skipped) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  rtf_write(f.flows, "has space.lua", "return function(call) end");
  rtf_write(f.flows, "notes.txt", "not a flow");
  unsigned failed = 0;
  DT_ASSERT_EQ_INT(reload(&f, &failed), 0);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT(dt__flows_find(f.rt, "has space") == NULL);
  rtf_close(&f);
}

DT_TEST_MAIN()
