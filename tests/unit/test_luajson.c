/*
 * test_luajson.c — cJSON to Lua values (lua/luajson.c): each JSON type, integers and floats,
 * null members left out, the depth cap.
 */
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "dialtone/luajson.h"
#include "harness/dt_test.h"

/* Pushes JSON text as J, then runs code; returns NULL or Lua's error. */
static const char *run(lua_State *L, const char *json, const char *code) {
  cJSON *j = cJSON_Parse(json);
  if (j == NULL) return "bad JSON in the test";
  dt_lua_push_json(L, j);
  cJSON_Delete(j);
  lua_setglobal(L, "J");
  if (luaL_dostring(L, code) != LUA_OK) return lua_tostring(L, -1);
  return NULL;
}

DT_TEST(each_json_type_becomes_its_lua_value) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  const char *e = run(L, "{\"s\":\"x\",\"t\":true,\"f\":false,\"n\":null,\"i\":3,\"d\":1.5,\"a\":[1,\"b\",{\"k\":[]}]}",
                      "assert(J.s == 'x' and J.t == true and J.f == false)\n"
                      "assert(J.n == nil and next({}) == nil)\n"
                      "assert(math.type(J.i) == 'integer' and J.i == 3)\n"
                      "assert(math.type(J.d) == 'float' and J.d == 1.5)\n"
                      "assert(#J.a == 3 and J.a[1] == 1 and J.a[2] == 'b' and type(J.a[3].k) == 'table')");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  e = run(L, "1e300", "assert(math.type(J) == 'float')");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  e = run(L, "null", "assert(J == nil)");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  lua_close(L);
}

DT_TEST(nesting_deeper_than_64_levels_is_nil) {
  char deep[200 * 2 + 1], shallow[64 * 2 + 1];
  memset(deep, '[', 200);
  memset(deep + 200, ']', 200);
  deep[400] = '\0';
  memset(shallow, '[', 64);
  memset(shallow + 64, ']', 64);
  shallow[128] = '\0';
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  static const char depth_of_J[] = "local d, t = 0, J\n"
                                   "while type(t) == 'table' do\n"
                                   "  d = d + 1\n"
                                   "  t = t[1]\n"
                                   "end\n";
  char code[256];
  snprintf(code, sizeof code, "%sassert(d == 65, d)", depth_of_J); /* levels 0..64 are tables */
  const char *e = run(L, deep, code);
  DT_ASSERT_MSG(e == NULL, "%s", e);
  snprintf(code, sizeof code, "%sassert(d == 64, d)", depth_of_J);
  e = run(L, shallow, code);
  DT_ASSERT_MSG(e == NULL, "%s", e);
  lua_close(L);
}

DT_TEST_MAIN()
