/*
 * sandbox.c — what a flow's world is made of (see rt_internal.h for the modules): the
 * call bindings, the internals the prelude needs (prompt_exists, lib_source for require,
 * is_error), the embedded API schema, digits.lua (gather's validation, confirm), and the
 * embedded prelude, which builds each flow's
 * _ENV (make_env) and the runner every call's coroutine starts with (run).
 *
 * Promises: after dt__sandbox_open, rt->run_ref, rt->make_env_ref and rt->prelude_ref
 * hold the prelude's functions and table; require reads only Lua source from
 * {flows_dir}/lib/NAME.lua (NAME: letters, digits and _), through libs.c's snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "dialtone/common.h"
#include "dialtone/embedded.h"
#include "dialtone/error.h"
#include "dialtone/lpattern.h"
#include "call_handle.h"
#include "call_lua.h"
#include "flow_settings.h"
#include "flow_time.h"
#include "meetings_lua.h"
#include "flow_http.h"
#include "roster_lua.h"
#include "flows.h"
#include "libs.h"
#include "prompts.h"
#include "rt_state.h"
#include "sandbox.h"
#include "say.h"

static int l_prompt_exists(lua_State *L) {
  lua_pushboolean(L, dt__prompts_exists(dt__rt_state_of(L), luaL_checkstring(L, 1)));
  return 1;
}

/* A metric label value: a plain name of at most 64 bytes, else "other" (flows choose these). */
static const char *plain_label(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-*#") != n)
    return "other";
  return s;
}

/* internals.menu_choice(menu, choice): dt_menu_choices_total{flow, menu, choice} + 1 for the
   running call's flow (call:menu's outcome; choice "none" when the tries ran out). */
static int l_menu_choice(lua_State *L) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  dt_call_t *c = dt__call_handle_self(L);
  if (!rt->o.metrics || !c) return 0;
  char labels[256];
  snprintf(labels, sizeof labels, "flow=\"%s\",menu=\"%s\",choice=\"%s\"", plain_label(c->flow),
           plain_label(luaL_optstring(L, 1, "menu")), plain_label(luaL_optstring(L, 2, "none")));
  dt_metrics_inc(rt->o.metrics, "dt_menu_choices_total", labels);
  return 0;
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
  /* digits.lua: gather's validating loop (pattern, invalid, retries) and call:confirm */
  if ((rc = load_embedded(L, "digits", err, errlen)) != 0) return rc;
  lua_pushvalue(L, -2);
  lua_pushcfunction(L, dt_lpattern_l_check);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) return dt_seterr(err, errlen, DT_ELUA, "digits: %s", lua_tostring(L, -1));
  lua_getfield(L, -1, "check_options"); /* methods, digits, check_options */
  lua_remove(L, -2);
  lua_createtable(L, 0, 8); /* internals */
  lua_insert(L, -2);
  lua_setfield(L, -2, "check_options"); /* the option-table check digits.lua and the prelude share */
  static const luaL_Reg INTERNALS[] = {
      {"prompt_exists", l_prompt_exists}, {"lib_source", dt__libs_l_source}, {"lib_snapshot", dt__libs_l_snapshot},
      {"pattern_check", dt_lpattern_l_check}, {"is_error", l_is_error_mt}, {"menu_choice", l_menu_choice},
      {NULL, NULL}};
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
