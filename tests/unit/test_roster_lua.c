/*
 * test_roster_lua.c — lua/roster_lua.c: the roster and participant methods are on every call
 * handle, and belong to the call's own flow (a foreign handle is refused before any argument
 * is read). Their argument checks and results run end to end in
 * examples/incident_announcer (dialtone test, both dialects, test_flowtest).
 */
#include "call_handle.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

DT_TEST(methods_are_on_the_handle_and_belong_to_the_own_flow) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "call-9", "main");
  dt__call_handle_push(f.rt->L, f.rt, &c);
  lua_setglobal(f.rt->L, "h");
  static const char *const M[] = {"wait_participant", "participant", "mute_participant", "remove_participant",
                                  "start_hold_music", "stop_hold_music"};
  for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
    char code[128], want[128];
    snprintf(code, sizeof code, "h:%s('p-1')", M[i]);
    snprintf(want, sizeof want, "call:%s: this call handle belongs to another call's flow", M[i]);
    DT_ASSERT_CONTAINS(rtf_eval(&f, code), want);
  }
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST_MAIN()
