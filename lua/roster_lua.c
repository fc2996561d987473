/*
 * roster_lua.c — the roster in flows: call:wait_participant{joined= | left= | count=,
 * timeout=} (a wait like any other primitive: the coroutine yields, the scheduler resumes it
 * when a roster notification satisfies it or its timeout passes), and the participant
 * resource: call:participant(id), call:mute_participant(id), call:remove_participant(id),
 * call:start_hold_music(id, {prompt=}), call:stop_hold_music(id) (v1.0). call:participants()
 * (call_lua.c) returns the live roster once Graph has sent one.
 *
 * Arguments are checked before anything starts (unknown options, one of joined/left/count,
 * lengths); a participant is named by its id or by a participant table from the roster.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/error.h"
#include "call_handle.h"
#include "call_lua.h"
#include "prompts.h"
#include "roster_lua.h"
#include "rt_state.h"

#define WHO_MAX 256

/* A participant id at idx: a string, or a table with a string id. */
static const char *participant_id(lua_State *L, int idx, const char *prim) {
  if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "id");
    lua_replace(L, idx);
  }
  size_t n;
  const char *s = lua_tolstring(L, idx, &n);
  if (!s || n == 0 || n > WHO_MAX || lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "call:%s: give a participant id (or a participant from call:participants())", prim);
  return s;
}

static int k_roster(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  const char *r = c->result.reason ? c->result.reason : "";
  if (strcmp(r, "timeout") == 0) {
    lua_pushnil(L);
    lua_pushstring(L, "timeout");
    return 2;
  }
  if (strcmp(r, "left") == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return dt__call_handle_return_json(L, 1); /* joined: that participant; count: the list */
}

static const char *const WAIT_OPTS[] = {"joined", "left", "count", "timeout", NULL};

static int l_wait_participant(lua_State *L) {
  const char *prim = "call:wait_participant";
  dt_call_t *c = dt__call_handle_own(L, 1, "wait_participant");
  luaL_checktype(L, 2, LUA_TTABLE);
  dt__call_handle_check_options(L, 2, prim, WAIT_OPTS);
  int given = 0;
  dt_roster_wait_t mode = DT_ROSTER_COUNT;
  const char *who = NULL;
  unsigned count = 0;
  static const char *const WHO_KEYS[] = {"joined", "left"};
  for (int i = 0; i < 2; i++) {
    if (lua_getfield(L, 2, WHO_KEYS[i]) != LUA_TNIL) {
      size_t n;
      who = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
      if (!who || n == 0 || n > WHO_MAX)
        return luaL_error(L, "%s: %s must be a participant id, a user id or a display name (1 to %d bytes)", prim,
                          WHO_KEYS[i], WHO_MAX);
      mode = i == 0 ? DT_ROSTER_JOINED : DT_ROSTER_LEFT;
      given++;
    }
    lua_pop(L, 1); /* the string stays referenced by the option table */
  }
  if (lua_getfield(L, 2, "count") != LUA_TNIL) {
    lua_Number v = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || !(v >= 1 && v <= 1000) || v != (lua_Number)(unsigned)v)
      return luaL_error(L, "%s: count must be a whole number from 1 to 1000", prim);
    count = (unsigned)v;
    mode = DT_ROSTER_COUNT;
    given++;
  }
  lua_pop(L, 1);
  if (given != 1) return luaL_error(L, "%s: give one of joined=, left= or count=", prim);
  double timeout = 600;
  if (lua_getfield(L, 2, "timeout") != LUA_TNIL) {
    timeout = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || !(timeout > 0 && timeout <= 86400))
      return luaL_error(L, "%s: timeout must be a number of seconds above 0 and at most 86400", prim);
  }
  lua_pop(L, 1);
  uint64_t ms = dt__call_lua_timer_ms(dt__rt_state_of(L), timeout);
  return dt__call_handle_wait(L, "wait_participant", dt_call_wait_participant(c, mode, who, count, ms), k_roster);
}

static int k_participant(lua_State *L, int status, lua_KContext ctx) {
  return dt__call_handle_return_json(L, 0);
}

static int l_participant(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "participant");
  const char *pid = participant_id(L, 2, "participant");
  return dt__call_handle_wait(L, "participant", dt_call_participant_get(c, pid), k_participant);
}

static int k_done(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  lua_pushstring(L, c->result.reason ? c->result.reason : "completed");
  return 1;
}

static int pact(lua_State *L, const char *prim, dt_participant_action_t a, const char *prompt) {
  dt_call_t *c = dt__call_handle_own(L, 1, prim);
  const char *pid = participant_id(L, 2, prim);
  int rc = dt_call_participant_action(c, a, pid, prompt);
  if (rc == DT_EUNSUPPORTED)
    return luaL_error(L, "call:%s: hold music is a v1.0 action (the beta dialect has none)", prim);
  return dt__call_handle_wait(L, prim, rc, k_done);
}

static int l_mute_participant(lua_State *L) { return pact(L, "mute_participant", DT_PACT_MUTE, NULL); }
static int l_remove_participant(lua_State *L) { return pact(L, "remove_participant", DT_PACT_REMOVE, NULL); }
static int l_stop_hold_music(lua_State *L) { return pact(L, "stop_hold_music", DT_PACT_STOP_HOLD, NULL); }

static int l_start_hold_music(lua_State *L) {
  const char *prompt = NULL;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "prompt") != 0)
        return luaL_error(L, "call:start_hold_music: unknown option (options: prompt)");
    }
    if (lua_getfield(L, 3, "prompt") != LUA_TNIL) {
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "call:start_hold_music: prompt must be a name or a URL");
      prompt = dt__prompts_uri(L, dt__rt_state_of(L), lua_tostring(L, -1));
      /* the URI stays on the stack (above the arguments) until the request is built */
    }
  }
  return pact(L, "start_hold_music", DT_PACT_START_HOLD, prompt);
}

void dt__roster_lua_open(lua_State *L) {
  static const luaL_Reg METHODS[] = {{"wait_participant", l_wait_participant},
                                     {"participant", l_participant},
                                     {"mute_participant", l_mute_participant},
                                     {"remove_participant", l_remove_participant},
                                     {"start_hold_music", l_start_hold_music},
                                     {"stop_hold_music", l_stop_hold_music},
                                     {NULL, NULL}};
  luaL_setfuncs(L, METHODS, 0);
}
