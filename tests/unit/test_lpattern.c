/*
 * test_lpattern.c — a Lua pattern checked whole (lua/lpattern.c): the well-formed patterns
 * Lua accepts pass, the malformed ones fail with Lua's own words, even where Lua's matcher
 * would never reach the bad part; and every pattern the check passes runs in Lua without a
 * syntax error on a few subjects.
 */
#include <stdbool.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "harness/dt_test.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/lpattern.h"

static const char *const GOOD[] = {
    "", "^%d%d%d%d%d%d$", "^[12]$", "^[%d*#]+$", "[]]", "[^]]", "[%]]", "a*b+c-d?", "%bxy", "%f[%w]%w+",
    "(a)%1", "()a", "(()a)", "^$", "$a", "a$b", "[a-z]", "%%", "^(%d+)-(%d+)$", "[^%s]", "%f[^%z]",
};

static const struct {
  const char *p, *why;
} BAD[] = {
    {"%", "malformed pattern (ends with '%')"},
    {"^%d(", "unfinished capture"},
    {"a)", "invalid pattern capture"},
    {"[a", "malformed pattern (missing ']')"},
    {"[", "malformed pattern (missing ']')"},
    {"[]", "malformed pattern (missing ']')"},
    {"[%", "malformed pattern (missing ']')"},
    {"%f", "missing '[' after '%f' in pattern"},
    {"%fa", "missing '[' after '%f' in pattern"},
    {"%f[a", "malformed pattern (missing ']')"},
    {"%b", "missing arguments to '%b'"},
    {"%bx", "missing arguments to '%b'"},
    {"%1", "invalid capture index %1"},
    {"(a%1)", "invalid capture index %1"},
    {"%0", "invalid capture index %0"},
    {"^%d%d%d%d%d%d$(", "unfinished capture"},
};

DT_TEST(good_patterns_pass_and_run) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  char err[128];
  for (size_t i = 0; i < DT_ARRAY_SIZE(GOOD); i++) {
    DT_ASSERT_MSG(dt_lpattern_check(GOOD[i], strlen(GOOD[i]), err, sizeof err) == 0, "%s: %s", GOOD[i], err);
    const char *subjects[] = {"", "123456", "a(b)c]x yz", "xaaybz"};
    for (size_t j = 0; j < 4; j++) {
      lua_getglobal(L, "string");
      lua_getfield(L, -1, "find");
      lua_pushstring(L, subjects[j]);
      lua_pushstring(L, GOOD[i]);
      DT_ASSERT_MSG(lua_pcall(L, 2, 0, 0) == LUA_OK, "%s: %s", GOOD[i], lua_tostring(L, -1));
      lua_settop(L, 0);
    }
  }
  lua_close(L);
}

DT_TEST(bad_patterns_fail_with_luas_words) {
  char err[128];
  for (size_t i = 0; i < DT_ARRAY_SIZE(BAD); i++) {
    DT_ASSERT_MSG(dt_lpattern_check(BAD[i].p, strlen(BAD[i].p), err, sizeof err) == DT_EINVAL, "%s", BAD[i].p);
    DT_ASSERT_EQ_STR(err, BAD[i].why);
  }
  /* 33 captures: one too many */
  char many[80] = "";
  for (int i = 0; i < 33; i++) strcat(many, "()");
  DT_ASSERT_EQ_INT(dt_lpattern_check(many, strlen(many), err, sizeof err), DT_EINVAL);
  DT_ASSERT_EQ_STR(err, "too many captures");
}

/* Whenever Lua reports a malformed pattern while matching, the check refused it too. */
DT_TEST(the_check_refuses_whatever_lua_refuses) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  const char alphabet[] = "%[]()^$ab*-f1";
  char p[6], err[128];
  unsigned seed = 12345;
  for (int k = 0; k < 20000; k++) {
    size_t n = 1 + (seed >> 16) % 5;
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      p[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    p[n] = '\0';
    seed = seed * 1103515245u + 12345u;
    bool ok = dt_lpattern_check(p, n, err, sizeof err) == 0;
    const char *subjects[] = {"", "ab", "a(b)", "[]%$^", "aaaaab1f"};
    for (size_t j = 0; j < 5; j++) {
      lua_getglobal(L, "string");
      lua_getfield(L, -1, "find");
      lua_pushstring(L, subjects[j]);
      lua_pushlstring(L, p, n);
      int st = lua_pcall(L, 2, 0, 0);
      if (st != LUA_OK && ok) DT_ASSERT_MSG(false, "'%s' passed the check, Lua says %s", p, lua_tostring(L, -1));
      lua_settop(L, 0);
    }
  }
  lua_close(L);
}

DT_TEST_MAIN()
