/*
 * test_call_tag.c — lua/call_tag.c's refusals outside a call's own flow: a handle of
 * another call, something not a handle, a call whose record is written. (Tags merged from a
 * running flow, and every bad value, are in tests/flows/hours_test.lua.)
 */
#include "call_handle.h"
#include "call_tag.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

DT_TEST(only_the_calls_own_flow_tags_it) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  dt_call_t c;
  rtf_call(&c, "call-3", "main");
  dt__call_handle_push(L, f.rt, &c);
  lua_setglobal(L, "h");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h:tag{a = '1'}"), "call:tag: this call handle belongs to another call's flow");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h.tag({}, {a = '1'})"), "bad argument");
  DT_ASSERT_EQ_INT(c.tags.count, 0);
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST_MAIN()
