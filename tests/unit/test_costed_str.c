/*
 * test_costed_str.c — the costed string functions (lua/costed_str.c) called directly as
 * closures over a meter: results as Lua's own, the work charged (per matcher step, per
 * byte built), and a meter that raises stops a backtracking pattern.
 * (tests/unit/test_costed_lib.c compares every costed function with Lua's own at length.)
 */
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "costed_lib.h"
#include "costed_str.h"
#include "harness/dt_test.h"
#include "harness/meter_fixture.h"


static lua_State *with(dt_cost_meter_t *meter) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  const struct {
    const char *name;
    lua_CFunction fn;
  } fns[] = {{"find", dt__costed_str_find},
             {"match", dt__costed_str_match},
             {"gmatch", dt__costed_str_gmatch},
             {"gsub", dt__costed_str_gsub},
             {"rep", dt__costed_str_rep}};
  lua_newtable(L);
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    lua_pushlightuserdata(L, meter);
    lua_pushcclosure(L, fns[i].fn, 1);
    lua_setfield(L, -2, fns[i].name);
  }
  lua_setglobal(L, "S");
  return L;
}

static const char *run(lua_State *L, const char *code) {
  if (luaL_dostring(L, code) != LUA_OK) return lua_tostring(L, -1);
  return NULL;
}

DT_TEST(results_are_luas_own) {
  budget_t b = {0, UINT64_MAX};
  dt_cost_meter_t m = {charge, &b};
  lua_State *L = with(&m);
  const char *e = run(L, "assert(S.find('hello world', 'o w') == 5)\n"
                         "assert(select(2, S.find('key=val', '(%w+)=(%w+)')) == 7)\n"
                         "assert(S.match('key=val', '=(%w+)') == 'val')\n"
                         "local t = {} for w in S.gmatch('a b c', '%a') do t[#t + 1] = w end assert(#t == 3)\n"
                         "assert(S.gsub('abc', '%w', '%0%0') == 'aabbcc')\n"
                         "assert(S.rep('ab', 3, ',') == 'ab,ab,ab' and S.rep('x', 0) == '')");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  DT_ASSERT(b.used > 0);
  lua_close(L);
}

DT_TEST(rep_charges_the_bytes_it_builds) {
  budget_t b = {0, UINT64_MAX};
  dt_cost_meter_t m = {charge, &b};
  lua_State *L = with(&m);
  DT_ASSERT(run(L, "assert(#S.rep('x', 320000) == 320000)") == NULL);
  DT_ASSERT(b.used >= 320000 / DT_COST_BYTES_PER_UNIT);
  lua_close(L);
}

DT_TEST(a_spent_meter_stops_a_backtracking_pattern) {
  budget_t b = {0, 100000};
  dt_cost_meter_t m = {charge, &b};
  lua_State *L = with(&m);
  const char *e = run(L, "S.find(string.rep('a', 10000), '.-.-.-.-b')");
  DT_ASSERT_CONTAINS(e, "budget spent in string.find");
  b.used = 0;
  e = run(L, "S.rep('', 1e15)"); /* nothing built, nothing to loop over */
  DT_ASSERT_MSG(e == NULL, "%s", e);
  lua_close(L);
}

DT_TEST_MAIN()
