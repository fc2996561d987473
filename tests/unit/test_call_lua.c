/*
 * test_call_lua.c — the primitives and dialtone functions (lua/call_lua.c): primitives
 * refused outside the call's own flow or on something not a handle, dialtone.dial/log
 * argument checks, flow waits under the timer scale.
 */
#include "call_handle.h"
#include "call_lua.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

static void push_handle(rt_fixture_t *f, dt_call_t *c, const char *global) {
  dt__call_handle_push(f->rt->L, f->rt, c);
  lua_setglobal(f->rt->L, global);
}

DT_TEST(primitives_belong_to_the_calls_own_flow) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "call-2", "main");
  push_handle(&f, &c, "h");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h:play('welcome')"), "call:play: this call handle belongs to another call's flow");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h.answer({})"), "bad argument");
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST(dialtone_functions_check_their_arguments) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  lua_newtable(L);
  dt__call_lua_dialtone_funcs(L);
  lua_setglobal(L, "d");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.dial{flow = 'main'}"), "dialtone.dial can only be used from a call's flow");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.log('loud', 'x')"), "dialtone.log: level must be debug, info, warn or error");
  const char *e = rtf_eval(&f, "d.log('debug', 'a', 1, true) d.print('x', nil)");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  rtf_close(&f);
}

DT_TEST(flow_waits_follow_the_timer_scale) {
  rt_fixture_t f;
  dt_runtime_options_t o = {.timer_scale = 3};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  DT_ASSERT_EQ_INT(dt__call_lua_timer_ms(f.rt, 1.5), 4500);
  DT_ASSERT_EQ_INT(dt__call_lua_timer_ms(f.rt, 1e12), 4000000000u);
  rtf_close(&f);
}

DT_TEST_MAIN()
