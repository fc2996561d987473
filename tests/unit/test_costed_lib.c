/*
 * test_costed_lib.c — the costed library functions (lua/costed_lib.c) behave exactly as
 * Lua's own (same results, same errors) and charge their work to the meter, which can stop
 * them: a backtracking pattern that ran for 25 s now raises after the meter's budget.
 */
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "costed_lib.h"
#include "dialtone/common.h"
#include "harness/dt_test.h"
#include "harness/meter_fixture.h"


/* A state whose `orig` global holds Lua's own string/table/utf8 functions, the libraries
   themselves being costed. */
static lua_State *new_state(dt_cost_meter_t *meter) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_dostring(L, "orig = {string = {}, table = {}, utf8 = {}}\n"
                   "for _, lib in ipairs{'string', 'table', 'utf8'} do\n"
                   "  for k, v in pairs(_G[lib]) do orig[lib][k] = v end\n"
                   "end\n");
  dt_costed_open(L, meter);
  return L;
}

static const char SAME[] =
    "local function pack(...) return table.pack(...) end\n"
    "local function same(a, b) if a.n ~= b.n then return false end\n"
    "  for i = 1, a.n do if a[i] ~= b[i] then return false end end return true end\n"
    "local function cmp(name, f, g, ...)\n"
    "  local a = pack(pcall(f, ...)); local b = pack(pcall(g, ...))\n"
    "  if not same(a, b) then error(name .. ': ' .. tostring(a[2]) .. ' vs ' .. tostring(b[2]), 0) end\n"
    "end\n"
    "local S = orig.string\n"
    "local subjects = {'', 'hello world', 'key=value; other=thing', '((a)(b))', ' 12 34 56 ', 'aaab', 'THE (quick) fox'}\n"
    "local patterns = {'', 'o', 'l+', '(%w+)=(%w+)', '%b()', '%f[%w]%w+', '^%s*(.-)%s*$', '()a()', 'a-b', 'x*',\n"
    "  '[%a_][%w_]*', '[^%s]+', '(h)(e)(l)', '%d%d?', '.-', '(a*(.))%2', '[a-c]+$', '%', '[a', '(()', '%1'}\n"
    "for _, s in ipairs(subjects) do for _, p in ipairs(patterns) do\n"
    "  cmp('find ' .. p, string.find, S.find, s, p)\n"
    "  cmp('find3 ' .. p, string.find, S.find, s, p, 3)\n"
    "  cmp('findplain ' .. p, string.find, S.find, s, p, 1, true)\n"
    "  cmp('match ' .. p, string.match, S.match, s, p)\n"
    "  cmp('gsub ' .. p, string.gsub, S.gsub, s, p, '<%0>')\n"
    "  cmp('gsubf ' .. p, string.gsub, S.gsub, s, p, function(x) return x and #x end)\n"
    "  cmp('gsubt ' .. p, string.gsub, S.gsub, s, p, {hello = 'HI'}, 2)\n"
    "  local function all(gm) local r = {} local ok, e = pcall(function() for a, b in gm(s, p) do r[#r + 1] = tostring(a) .. '|' .. tostring(b) end end)\n"
    "    return ok and table.concat(r, ',') or e end\n"
    "  if all(string.gmatch) ~= all(S.gmatch) then error('gmatch ' .. p, 0) end\n"
    "end end\n"
    "for _, a in ipairs{{'ab', 3}, {'ab', 3, ', '}, {'', 5}, {'x', 0}, {'x', -1}, {'', 3, ''}, {'abc', 1}} do\n"
    "  cmp('rep', string.rep, S.rep, table.unpack(a))\n"
    "end\n"
    "cmp('rep-big', string.rep, S.rep, 'x', 1e12)\n"
    "local T = orig.table\n"
    "cmp('concat', table.concat, T.concat, {1, 'b', 3}, '-')\n"
    "cmp('concat-bad', table.concat, T.concat, {1, {}, 3})\n"
    "cmp('concat-range', table.concat, T.concat, {1, 2, 3, 4}, '', 2, 3)\n"
    "cmp('unpack', table.unpack, T.unpack, {1, 2, 3}, 2)\n"
    "local function mv(f) return table.concat(f({1, 2, 3, 4, 5}, 2, 4, 1), ',') end\n"
    "if mv(table.move) ~= mv(T.move) then error('move', 0) end\n"
    "local function ins(f) local t = {1, 2, 3}; f(t, 2, 'x'); f(t, 'y'); return table.concat(t, ',') end\n"
    "cmp('insert', ins, ins, table.insert) ; if ins(table.insert) ~= ins(T.insert) then error('insert', 0) end\n"
    "local function rem(f) local t = {1, 2, 3, 4}; local a = f(t, 1); local b = f(t); return a .. b .. table.concat(t, ',') end\n"
    "if rem(table.remove) ~= rem(T.remove) then error('remove', 0) end\n"
    "local function srt(f, c) local t = {} for i = 1, 300 do t[i] = (i * 7919) % 1009 end f(t, c) return table.concat(t, ',') end\n"
    "if srt(table.sort) ~= srt(T.sort) then error('sort', 0) end\n"
    "if srt(table.sort, function(a, b) return a > b end) ~= srt(T.sort, function(a, b) return a > b end) then error('sort-desc', 0) end\n"
    "cmp('sort-bad', table.sort, T.sort, {3, 1, 2}, function() return true end)\n"
    "cmp('format', string.format, S.format, '%5.2f|%q|%s|%d', 3.14159, 'a\\nb', {} ~= nil, 42)\n"
    "cmp('utf8.len', utf8.len, orig.utf8.len, 'h\\xc3\\xa9llo')\n"
    "cmp('byte', string.byte, S.byte, 'hello', 1, -1)\n"
    "cmp('method', function(s) return s:rep(2) end, function(s) return S.rep(s, 2) end, 'ab')\n"
    "return true\n";

DT_TEST(costed_functions_give_the_same_results_and_errors_as_lua) {
  budget_t b = {0, UINT64_MAX};
  dt_cost_meter_t m = {charge, &b};
  lua_State *L = new_state(&m);
  int rc = luaL_dostring(L, SAME);
  if (rc != LUA_OK) fprintf(stderr, "  %s\n", lua_tostring(L, -1));
  DT_ASSERT_EQ_INT(rc, LUA_OK);
  DT_ASSERT(b.used > 0);
  lua_close(L);
}

DT_TEST(a_backtracking_pattern_is_stopped_by_the_meter) {
  static const char *const costly[] = {
      "return string.find(('a'):rep(24), ('a*'):rep(12) .. 'b')",
      "return (('a'):rep(24)):match(('a*'):rep(12) .. 'b')",
      "return (('a'):rep(24)):gsub(('a-'):rep(12) .. 'b', '')",
      "for _ in (('a'):rep(24)):gmatch(('a*'):rep(12) .. 'b') do end",
      "return table.move({}, 1, 1e15, 1, {})",
      "return ('ab'):rep(1e8)",
  };
  for (size_t i = 0; i < DT_ARRAY_SIZE(costly); i++) {
    budget_t b = {0, 1000000};
    dt_cost_meter_t m = {charge, &b};
    lua_State *L = new_state(&m);
    int rc = luaL_dostring(L, costly[i]);
    DT_ASSERT(rc != LUA_OK);
    DT_ASSERT_CONTAINS(lua_tostring(L, -1), "budget spent in ");
    lua_close(L);
  }
}

DT_TEST_MAIN()
