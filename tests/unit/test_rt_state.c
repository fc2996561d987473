/*
 * test_rt_state.c — the flow runtime's capped state (lua/rt_state.c): the state knows its
 * runtime, per-call data is made once, memory is attributed to the running call and
 * becomes nobody's when the call leaves, a call over its own cap is killed, and the kill
 * text names the reason.
 */
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"
#include "rt_state.h"

/* Runs code on the main state as if call lc were running. */
static int run_as(rt_fixture_t *f, dt_lcall_t *lc, const char *code) {
  lua_State *L = f->rt->L;
  f->rt->running = lc;
  int st = luaL_loadstring(L, code);
  if (st == LUA_OK) st = lua_pcall(L, 0, 0, 0);
  if (st != LUA_OK) lua_pop(L, 1);
  f->rt->running = NULL;
  return st;
}

DT_TEST(the_state_knows_its_runtime_and_calls_get_their_data_once) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  DT_ASSERT(dt__rt_state_of(f.rt->L) == f.rt);
  dt_call_t c;
  rtf_call(&c, "c", "main");
  dt_lcall_t *lc = dt__rt_state_lcall(f.rt, &c);
  DT_ASSERT(lc && c.rt == lc && lc->call == &c && lc->rt == f.rt);
  DT_ASSERT(dt__rt_state_lcall(f.rt, &c) == lc);
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST(memory_is_attributed_to_the_running_call_until_it_leaves) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "c", "main");
  dt_lcall_t *lc = dt__rt_state_lcall(f.rt, &c);
  lc->mem_slot = dt__rt_state_owner_acquire(f.rt, lc);
  DT_ASSERT(lc->mem_slot != 0);
  DT_ASSERT_EQ_INT(run_as(&f, lc, "keep = string.rep('x', 100000)"), LUA_OK);
  DT_ASSERT(dt_runtime_call_memory(f.rt, &c) >= 100000);
  DT_ASSERT(dt_runtime_memory(f.rt) >= dt_runtime_call_memory(f.rt, &c));
  uint32_t slot = lc->mem_slot;
  dt__rt_state_owner_release(f.rt, lc);
  DT_ASSERT_EQ_INT(lc->mem_slot, 0);
  DT_ASSERT_EQ_INT(dt_runtime_call_memory(f.rt, &c), 0);
  dt_call_t d;
  rtf_call(&d, "d", "main");
  dt_lcall_t *ld = dt__rt_state_lcall(f.rt, &d);
  DT_ASSERT_EQ_INT(dt__rt_state_owner_acquire(f.rt, ld), slot); /* the slot is reused */
  DT_ASSERT_EQ_INT(f.rt->owners[slot].bytes, 0);                /* the old blocks are nobody's */
  dt__rt_state_owner_release(f.rt, ld);
  dt_runtime_on_release(&c, f.rt);
  dt_runtime_on_release(&d, f.rt);
  rtf_close(&f);
}

DT_TEST(a_call_over_its_own_cap_is_killed) {
  rt_fixture_t f;
  dt_runtime_options_t o = {.call_memory_bytes = 1 << 20};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  dt_call_t c;
  rtf_call(&c, "c", "main");
  dt_lcall_t *lc = dt__rt_state_lcall(f.rt, &c);
  lc->mem_slot = dt__rt_state_owner_acquire(f.rt, lc);
  DT_ASSERT_EQ_INT(run_as(&f, lc, "local t = {} for i = 1, 1e6 do t[i] = i end"), LUA_ERRMEM);
  DT_ASSERT(lc->killed);
  char buf[160];
  DT_ASSERT_EQ_STR(dt__rt_state_kill_text(lc, buf, sizeof buf),
                   "flow stopped: call memory limit exceeded (limits.call_memory)");
  lc->kill_in = "string.rep";
  DT_ASSERT_CONTAINS(dt__rt_state_kill_text(lc, buf, sizeof buf), "exceeded (limits.call_memory) in string.rep");
  DT_ASSERT_EQ_INT(run_as(&f, NULL, "local t = {} for i = 1, 1e6 do t[i] = i end"), LUA_OK); /* nobody's: no cap */
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST_MAIN()
