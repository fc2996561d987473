/*
 * test_lstate.c — the capped lua_State factory (lua/lstate.c): the plain cap refuses growth
 * past its limit, only the chosen libraries are open, string.dump can be removed, the
 * instruction budget calls over() once it is spent, and the costed library functions charge
 * the meter given.
 */
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "costed_lib.h"
#include "dialtone/lstate.h"
#include "harness/dt_test.h"

static int run(lua_State *L, const char *code, const char **msg) {
  int st = luaL_loadstring(L, code);
  if (st == LUA_OK) st = lua_pcall(L, 0, 0, 0);
  *msg = st == LUA_OK ? NULL : lua_tostring(L, -1);
  return st;
}

DT_TEST(the_plain_cap_refuses_growth_past_its_limit) {
  dt_lstate_cap_t cap = {.limit = 1 << 20};
  dt_lstate_opts_t o = {.cap = &cap, .libs = DT_LSTATE_BASE | DT_LSTATE_STRING};
  lua_State *L = dt_lstate_new(&o, NULL, 0);
  DT_ASSERT(L != NULL);
  DT_ASSERT(dt_lstate_cap(L) == &cap);
  DT_ASSERT(cap.used > 0 && cap.used <= cap.limit);
  const char *msg;
  DT_ASSERT_EQ_INT(run(L, "local s = ('x'):rep(4 << 20)", &msg), LUA_ERRMEM);
  DT_ASSERT_EQ_INT(run(L, "local s = ('x'):rep(1000)", &msg), LUA_OK);
  DT_ASSERT(cap.used <= cap.limit);
  lua_close(L);
  DT_ASSERT_EQ_INT(cap.used, 0);
}

DT_TEST(only_the_chosen_libraries_are_open) {
  dt_lstate_cap_t cap = {.limit = 8 << 20};
  dt_lstate_opts_t o = {.cap = &cap, .libs = DT_LSTATE_BASE | DT_LSTATE_STRING | DT_LSTATE_MATH, .no_dump = true};
  lua_State *L = dt_lstate_new(&o, NULL, 0);
  const char *msg;
  DT_ASSERT_EQ_INT(run(L, "assert(string and math and not io and not os and not debug and not table)\n"
                          "assert(string.dump == nil and string.rep ~= nil)", &msg), LUA_OK);
  lua_close(L);
  dt_lstate_opts_t all = {.cap = &cap, .libs = DT_LSTATE_ALL};
  L = dt_lstate_new(&all, NULL, 0);
  DT_ASSERT_EQ_INT(run(L, "assert(io and os and debug and table and string.dump and package)", &msg), LUA_OK);
  lua_close(L);
}

static void over(lua_State *L, lua_Debug *ar, dt_lstate_cap_t *cap) {
  (void)ar;
  luaL_error(L, "spent %d", (int)cap->steps);
}

DT_TEST(the_budget_calls_over_once_spent_and_disarms) {
  dt_lstate_cap_t cap = {.limit = 8 << 20, .hook_every = 100, .step_limit = 1000, .over = over};
  dt_lstate_opts_t o = {.cap = &cap, .libs = DT_LSTATE_BASE};
  lua_State *L = dt_lstate_new(&o, NULL, 0);
  const char *msg;
  dt_lstate_arm(L);
  DT_ASSERT_EQ_INT(run(L, "while true do end", &msg), LUA_ERRRUN);
  DT_ASSERT_CONTAINS(msg, "spent 1100");
  dt_lstate_arm(L); /* steps start again from 0 */
  DT_ASSERT_EQ_INT(run(L, "for i = 1, 10 do end", &msg), LUA_OK);
  dt_lstate_disarm(L);
  DT_ASSERT_EQ_INT(run(L, "for i = 1, 100000 do end", &msg), LUA_OK);
  lua_close(L);
}

static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)osize;
  (*(int *)ud)++;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

static void charge(lua_State *L, dt_cost_meter_t *m, uint64_t units, const char *what) {
  (void)L;
  (void)what;
  *(uint64_t *)m->ud += units;
}

DT_TEST(the_callers_allocator_and_meter_are_used) {
  int calls = 0;
  uint64_t units = 0;
  dt_cost_meter_t meter = {charge, &units};
  dt_lstate_opts_t o = {.alloc = plain_alloc, .alloc_ud = &calls, .libs = DT_LSTATE_BASE | DT_LSTATE_STRING,
                        .meter = &meter};
  lua_State *L = dt_lstate_new(&o, NULL, 0);
  DT_ASSERT(L != NULL);
  DT_ASSERT(calls > 0);
  DT_ASSERT(dt_lstate_cap(L) == NULL); /* not the plain cap */
  DT_ASSERT(*(void **)lua_getextraspace(L) == NULL);
  const char *msg;
  DT_ASSERT_EQ_INT(run(L, "local s = ('ab'):rep(100000); assert(s:find('ba', 1, true) == 2)", &msg), LUA_OK);
  DT_ASSERT(units > 1000); /* rep charged its bytes */
  lua_close(L);
}

DT_TEST(a_state_that_cannot_open_its_libraries_is_an_error) {
  dt_lstate_cap_t cap = {.limit = 2048};
  dt_lstate_opts_t o = {.cap = &cap, .libs = DT_LSTATE_ALL};
  char err[128] = "";
  lua_State *L = dt_lstate_new(&o, err, sizeof err);
  DT_ASSERT(L == NULL);
  DT_ASSERT(err[0] != '\0');
  DT_ASSERT_EQ_INT(cap.used, 0);
}

DT_TEST_MAIN()
