/*
 * sandbox.c — what a flow's world is made of (see rt_internal.h for the modules): the
 * call bindings, the internals the prelude needs (prompt_exists, lib_source for require,
 * is_error), the embedded API schema, and the embedded prelude, which builds each flow's
 * _ENV (make_env) and the runner every call's coroutine starts with (run).
 *
 * Promises: after dt__sandbox_open, rt->run_ref, rt->make_env_ref and rt->prelude_ref
 * hold the prelude's functions and table; require reads only Lua source from
 * {flows_dir}/lib/NAME.lua (NAME: letters, digits and _).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "dialtone/common.h"
#include "dialtone/embedded.h"
#include "dialtone/error.h"
#include "call_handle.h"
#include "call_lua.h"
#include "flow_settings.h"
#include "flow_time.h"
#include "meetings_lua.h"
#include "flow_http.h"
#include "roster_lua.h"
#include "flows.h"
#include "prompts.h"
#include "rt_state.h"
#include "sandbox.h"
#include "say.h"

static int l_prompt_exists(lua_State *L) {
  lua_pushboolean(L, dt__prompts_exists(dt__rt_state_of(L), luaL_checkstring(L, 1)));
  return 1;
}

/* require(name) for flows: Lua source from {flows_dir}/lib/NAME.lua (no C modules). */
static int l_lib_source(lua_State *L) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  size_t n;
  const char *name = luaL_checklstring(L, 1, &n);
  for (size_t i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
          (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
      return luaL_error(L, "require: bad module name '%s' (letters, digits and _)", name);
  if (n == 0 || n > 64) return luaL_error(L, "require: bad module name");
  char path[1024];
  snprintf(path, sizeof path, "%s/lib/%s.lua", rt->flows_dir, name);
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, DT_FLOW_MAX_BYTES, &text, &len) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "module '%s' not found (looked for %s)", name, path);
    return 2;
  }
  lua_pushlstring(L, text, len);
  lua_pushfstring(L, "@%s", path);
  free(text);
  return 2;
}

static int l_is_error_mt(lua_State *L) {
  luaL_getmetatable(L, DT_ERROR_MT);
  lua_getmetatable(L, 1);
  lua_pushboolean(L, lua_rawequal(L, -1, -2));
  return 1;
}

static int load_embedded(lua_State *L, const char *name, char *err, size_t errlen) {
  const dt_embedded_file_t *f = dt_embedded_find(name);
  if (!f) return dt_seterr(err, errlen, DT_ENOENT, "embedded %s.lua is missing", name);
  char chunk[64];
  snprintf(chunk, sizeof chunk, "=%s", name);
  if (luaL_loadbufferx(L, f->data, f->len, chunk, "t") != LUA_OK)
    return dt_seterr(err, errlen, DT_ELUA, "%s", lua_tostring(L, -1));
  return 0;
}

int dt__sandbox_open(dt_runtime_t *rt, char *err, size_t errlen) {
  int rc;
  lua_State *L = rt->L;
  dt__call_lua_open(L); /* methods */
  dt__roster_lua_open(L); /* + the roster and participant methods */
  dt__say_open(L); /* + say, say_*, set_language */
  lua_createtable(L, 0, 8); /* internals */
  static const luaL_Reg INTERNALS[] = {
      {"prompt_exists", l_prompt_exists}, {"lib_source", l_lib_source}, {"is_error", l_is_error_mt}, {NULL, NULL}};
  luaL_setfuncs(L, INTERNALS, 0);
  dt__flow_time_os_funcs(L);
  lua_createtable(L, 0, 4);
  dt__call_lua_dialtone_funcs(L);
  dt__flow_time_dialtone_funcs(L);
  dt__flow_settings_push(L, rt->o.settings);
  lua_setfield(L, -2, "settings");
  dt__meetings_lua_open(L); /* + dialtone.meetings */
  dt__flow_http_open(L);     /* + dialtone.http */
  lua_setfield(L, -2, "dialtone");
  if ((rc = load_embedded(L, "api_schema", err, errlen)) != 0) return rc;
  if (lua_pcall(L, 0, 1, 0) != LUA_OK)
    return dt_seterr(err, errlen, DT_ELUA, "api_schema: %s", lua_tostring(L, -1));
  lua_setfield(L, -2, "schema");
  if ((rc = load_embedded(L, "prelude", err, errlen)) != 0) return rc;
  lua_insert(L, -3); /* prelude, methods, internals */
  if (lua_pcall(L, 2, 1, 0) != LUA_OK)
    return dt_seterr(err, errlen, DT_ELUA, "prelude: %s", lua_tostring(L, -1));
  if (!lua_istable(L, -1))
    return dt_seterr(err, errlen, DT_ELUA, "prelude did not return its table");
  lua_getfield(L, -1, "run");
  rt->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, -1, "make_env");
  rt->make_env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rt->prelude_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  return 0;
}
