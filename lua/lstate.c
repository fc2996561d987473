/*
 * lstate.c — the one factory of capped lua_States (see lstate.h): the plain capped
 * allocator, the libraries a state starts with, and the instruction budget hook. It knows
 * nothing of calls or flows; the flow runtime brings its own allocator (lua/rt_state.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <lauxlib.h>
#include <lualib.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/lstate.h"
#include "costed_lib.h"

static void *cap_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  dt_lstate_cap_t *cap = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    cap->used -= old;
    return NULL;
  }
  if (nsize > old && cap->used - old + nsize > cap->limit) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) cap->used = cap->used - old + nsize;
  return p;
}

dt_lstate_cap_t *dt_lstate_cap(lua_State *L) {
  void *ud = NULL;
  return lua_getallocf(L, &ud) == cap_alloc ? ud : NULL;
}

static void budget_hook(lua_State *L, lua_Debug *ar) {
  dt_lstate_cap_t *cap = dt_lstate_cap(L);
  cap->steps += (uint64_t)cap->hook_every;
  if (cap->steps > cap->step_limit) cap->over(L, ar, cap);
}

void dt_lstate_arm(lua_State *L) {
  dt_lstate_cap_t *cap = dt_lstate_cap(L);
  cap->steps = 0;
  lua_sethook(L, budget_hook, LUA_MASKCOUNT, cap->hook_every);
}

void dt_lstate_disarm(lua_State *L) { lua_sethook(L, NULL, 0, 0); }

static void log_warning(void *ud, const char *msg, int tocont) {
  (void)ud;
  (void)tocont;
  dt_log(DT_LOG_WARN, NULL, "lua: %s", msg);
}

/* Under lua_pcall: a failed allocation raises instead of panicking. */
static int open_protected(lua_State *L) {
  const dt_lstate_opts_t *o = lua_touserdata(L, 1);
  lua_settop(L, 0);
  static const struct {
    unsigned bit;
    luaL_Reg lib;
  } LIBS[] = {{DT_LSTATE_BASE, {LUA_GNAME, luaopen_base}},       {DT_LSTATE_TABLE, {LUA_TABLIBNAME, luaopen_table}},
              {DT_LSTATE_STRING, {LUA_STRLIBNAME, luaopen_string}}, {DT_LSTATE_MATH, {LUA_MATHLIBNAME, luaopen_math}},
              {DT_LSTATE_UTF8, {LUA_UTF8LIBNAME, luaopen_utf8}},   {DT_LSTATE_OS, {LUA_OSLIBNAME, luaopen_os}},
              {DT_LSTATE_DEBUG, {LUA_DBLIBNAME, luaopen_debug}}};
  if (o->libs & DT_LSTATE_ALL) {
    luaL_openlibs(L);
  } else {
    for (size_t i = 0; i < DT_ARRAY_SIZE(LIBS); i++) {
      if (!(o->libs & LIBS[i].bit)) continue;
      luaL_requiref(L, LIBS[i].lib.name, LIBS[i].lib.func, 1);
      lua_pop(L, 1);
    }
  }
  if (o->no_dump && lua_getglobal(L, LUA_STRLIBNAME) == LUA_TTABLE) {
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
  }
  lua_settop(L, 0);
  if (o->meter) dt_costed_open(L, o->meter);
  return 0;
}

lua_State *dt_lstate_new(const dt_lstate_opts_t *o, char *err, size_t errlen) {
  lua_State *L = o->alloc ? lua_newstate(o->alloc, o->alloc_ud) : lua_newstate(cap_alloc, o->cap);
  if (!L) {
    dt_seterr(err, errlen, DT_ENOMEM, "cannot create a Lua state");
    return NULL;
  }
  *(void **)lua_getextraspace(L) = NULL;
  if (o->log_warnings) lua_setwarnf(L, log_warning, NULL);
  lua_pushcfunction(L, open_protected);
  lua_pushlightuserdata(L, (void *)o);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    dt_seterr(err, errlen, DT_ENOMEM, "cannot open the Lua libraries: %s",
              lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    lua_close(L);
    return NULL;
  }
  return L;
}
