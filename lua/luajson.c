/*
 * luajson.c — cJSON to Lua values; see include/dialtone/luajson.h for what it promises.
 */
#include <lauxlib.h>
#include "dialtone/luajson.h"

#define MAX_DEPTH 64

static void push(lua_State *L, const cJSON *j, int depth) {
  if (depth > MAX_DEPTH) {
    lua_pushnil(L);
    return;
  }
  luaL_checkstack(L, 2, "JSON nested too deep"); /* a table per level stays on the stack */
  if (cJSON_IsArray(j)) {
    lua_createtable(L, cJSON_GetArraySize(j), 0);
    lua_Integer i = 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
      push(L, e, depth + 1);
      lua_rawseti(L, -2, i++);
    }
  } else if (cJSON_IsObject(j)) {
    lua_createtable(L, 0, 8);
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
      if (cJSON_IsNull(e) || e->string == NULL) continue;
      push(L, e, depth + 1);
      lua_setfield(L, -2, e->string);
    }
  } else if (cJSON_IsString(j)) {
    lua_pushstring(L, j->valuestring);
  } else if (cJSON_IsBool(j)) {
    lua_pushboolean(L, cJSON_IsTrue(j));
  } else if (cJSON_IsNumber(j)) {
    double d = j->valuedouble;
    if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(lua_Integer)d)
      lua_pushinteger(L, (lua_Integer)d);
    else
      lua_pushnumber(L, d);
  } else {
    lua_pushnil(L);
  }
}

void dt_lua_push_json(lua_State *L, const cJSON *j) { push(L, j, 0); }
