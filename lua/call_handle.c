/*
 * call_handle.c — the call handle a flow holds (userdata "dialtone.call": a box pointing at
 * the dt_call_t until the call leaves) and the error objects primitives raise
 * ("dialtone.error": {code=, message=, graph_code=, status=, result_code=,
 * result_subcode=}), with the checks every primitive starts with (the handle is the running
 * flow's own call, the flow can yield) and the yield that waits for core's result.
 *
 * Both metatables are shared by every call, so neither is reachable from a flow:
 * __metatable hides them from getmetatable and refuses setmetatable (issue 10). Handles are
 * read-only; fields are read from the call at each access.
 */
#include <stdio.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/luajson.h"
#include "call_handle.h"
#include "rt_state.h"

/* ---------------------------------------------------------------- errors */

static const char *err_code_name(int err) {
  switch (err) {
  case DT_EHANGUP: return "hangup";
  case DT_ETIMEDOUT: return "timeout";
  case DT_EGRAPH: return "graph";
  case DT_EIO: return "io";
  case DT_ECANCELED: return "cancelled";
  case DT_ECONN:
  case DT_ECONNREFUSED:
  case DT_ETLS: return "network";
  case DT_EAUTH: return "auth";
  default: return "error";
  }
}

void dt__call_handle_error(lua_State *L, const char *code, const char *message) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, message ? message : code);
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, DT_ERROR_MT);
}

void dt__call_handle_set_string(lua_State *L, const char *key, const char *s) {
  if (!s) return;
  lua_pushstring(L, s);
  lua_setfield(L, -2, key);
}

static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "error"), luaL_optstring(L, -1, ""));
  return 1;
}

int dt__call_handle_hangup(lua_State *L) {
  dt__call_handle_error(L, "hangup", "the call has ended");
  return lua_error(L);
}

/* Raises the failed result of the last primitive. */
int dt__call_handle_raise_result(lua_State *L, dt_call_t *c) {
  const dt_call_result_t *r = &c->result;
  dt__call_handle_error(L, err_code_name(r->err), r->message ? r->message : dt_strerror(r->err));
  dt__call_handle_set_string(L, "graph_code", r->error_code);
  if (r->http_status) {
    lua_pushinteger(L, r->http_status);
    lua_setfield(L, -2, "status");
  }
  if (r->code || r->subcode) {
    lua_pushinteger(L, r->code);
    lua_setfield(L, -2, "result_code");
    lua_pushinteger(L, r->subcode);
    lua_setfield(L, -2, "result_subcode");
  }
  return lua_error(L);
}

/* A primitive could not start. */
int dt__call_handle_raise_rc(lua_State *L, const char *prim, int rc) {
  switch (rc) {
  case DT_EHANGUP: return dt__call_handle_hangup(L);
  case DT_ESTATE:
    return luaL_error(L, "call:%s is not allowed in the call's current state", prim);
  case DT_EBUSY: return luaL_error(L, "call:%s: another primitive is already waiting on this call", prim);
  case DT_EINVAL: return luaL_error(L, "call:%s: invalid arguments", prim);
  default: {
    char msg[160];
    snprintf(msg, sizeof msg, "call:%s could not be sent: %s", prim, dt_strerror(rc));
    dt__call_handle_error(L, err_code_name(rc), msg);
    return lua_error(L);
  }
  }
}

/* ---------------------------------------------------------------- handles */

dt_call_t *dt__call_handle_self(lua_State *L) { return *(dt_call_t **)lua_getextraspace(L); }

dt_call_t *dt__call_handle_check(lua_State *L, int idx) {
  dt_call_box_t *b = luaL_checkudata(L, idx, DT_CALL_MT);
  if (b->call == NULL) dt__call_handle_hangup(L);
  return b->call;
}

/* The handle at idx must be the running flow's own call, and we must be able to yield. */
dt_call_t *dt__call_handle_own(lua_State *L, int idx, const char *prim) {
  dt_call_t *c = dt__call_handle_check(L, idx);
  if (dt__call_handle_self(L) != c)
    luaL_error(L, "call:%s: this call handle belongs to another call's flow (use it there)", prim);
  if (!lua_isyieldable(L))
    luaL_error(L, "call:%s cannot wait here (inside a metamethod, iterator, sort comparator or __close?); "
                  "call primitives from the flow's own code", prim);
  if (c->flags & (DT_CALLF_FLOW_DONE | DT_CALLF_RELEASED)) dt__call_handle_hangup(L);
  return c;
}

/* Yields until core reports the result, or continues at once on the fast path. */
int dt__call_handle_wait(lua_State *L, const char *prim, int rc, lua_KFunction k) {
  if (rc < 0) return dt__call_handle_raise_rc(L, prim, rc);
  if (rc == 1) return k(L, LUA_OK, 0);
  return lua_yieldk(L, 0, 0, k);
}

int dt__call_handle_return_json(lua_State *L, int none_as_table) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  if (c->result.json) dt_lua_push_json(L, c->result.json);
  else if (none_as_table) lua_newtable(L);
  else lua_pushnil(L);
  return 1;
}

void dt__call_handle_push(lua_State *L, dt_runtime_t *rt, dt_call_t *call) {
  dt_lcall_t *lc = dt__rt_state_lcall(rt, call);
  if (lc->ud_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ud_ref);
    return;
  }
  dt_call_box_t *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->call = call;
  luaL_setmetatable(L, DT_CALL_MT);
  lua_pushvalue(L, -1);
  lc->ud_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* The call leaves: its handle (if a flow ever saw one) no longer reaches it. */
void dt__call_handle_forget(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (lc->ud_ref == LUA_NOREF) return;
  lua_rawgeti(rt->L, LUA_REGISTRYINDEX, lc->ud_ref);
  dt_call_box_t *b = lua_touserdata(rt->L, -1);
  if (b) b->call = NULL;
  lua_pop(rt->L, 1);
  luaL_unref(rt->L, LUA_REGISTRYINDEX, lc->ud_ref);
  lc->ud_ref = LUA_NOREF;
}

/* ---------------------------------------------------------------- the handle */

/* call.subject, call.called, call.chat, call.meeting, call.context: a member of the incoming
   call's view (call_incoming.h), a fresh table each read; nil when Graph did not send it. */
static bool is_incoming_field(const char *k) {
  return strcmp(k, "subject") == 0 || strcmp(k, "called") == 0 || strcmp(k, "chat") == 0 ||
         strcmp(k, "meeting") == 0 || strcmp(k, "context") == 0;
}

static int call_index(lua_State *L) {
  dt_call_box_t *b = luaL_checkudata(L, 1, DT_CALL_MT);
  const char *k = luaL_checkstring(L, 2);
  /* methods first */
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  dt_call_t *c = b->call;
  if (strcmp(k, "id") == 0) {
    if (c) lua_pushstring(L, c->id);
    else lua_pushnil(L);
  } else if (strcmp(k, "from") == 0) {
    lua_pushstring(L, c ? c->from : NULL);
  } else if (strcmp(k, "to") == 0) {
    lua_pushstring(L, c ? c->to : NULL);
  } else if (strcmp(k, "direction") == 0) {
    lua_pushstring(L, !c ? NULL : c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing");
  } else if (strcmp(k, "flow") == 0) {
    lua_pushstring(L, c ? c->flow : NULL);
  } else if (strcmp(k, "state") == 0) {
    lua_pushstring(L, c ? dt_call_state_name(c->state) : "terminated");
  } else if (strcmp(k, "ended") == 0) {
    lua_pushboolean(L, !c || dt_call_is_gone(c));
  } else if (strcmp(k, "dialed_by") == 0) { /* the call whose flow dialed this one, if still there */
    dt_call_t *p = c && c->dialed_by ? dt_calls_find(c->reg, c->dialed_by) : NULL;
    if (p) dt__call_handle_push(L, dt__rt_state_of(L), p);
    else lua_pushnil(L);
  } else if (is_incoming_field(k)) {
    dt_lua_push_json(L, c && c->incoming ? cJSON_GetObjectItemCaseSensitive(c->incoming, k) : NULL);
  } else if (strcmp(k, "language") == 0) { /* call:set_language's, else the default (say.c) */
    dt_lcall_t *lc = c ? c->rt : NULL;
    lua_pushstring(L, lc && lc->lang[0] ? lc->lang : dt__rt_state_of(L)->language);
  } else if (strcmp(k, "buffered_digits") == 0) {
    lua_pushlstring(L, c ? c->tones : "", c ? c->tone_len : 0);
  } else {
    return luaL_error(L, "call has no field or method '%s'", k);
  }
  return 1;
}

static int call_newindex(lua_State *L) {
  return luaL_error(L, "call handles are read-only (keep your own state in local variables)");
}

static int call_tostring(lua_State *L) {
  dt_call_box_t *b = luaL_checkudata(L, 1, DT_CALL_MT);
  if (b->call) lua_pushfstring(L, "call %s", b->call->id);
  else lua_pushstring(L, "call (ended)");
  return 1;
}

static int call_eq(lua_State *L) {
  dt_call_box_t *a = luaL_testudata(L, 1, DT_CALL_MT), *b = luaL_testudata(L, 2, DT_CALL_MT);
  lua_pushboolean(L, a && b && a->call == b->call);
  return 1;
}

void dt__call_handle_open(lua_State *L, const luaL_Reg *methods) {
  luaL_newmetatable(L, DT_ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  /* Every error object shares this metatable: a flow that could edit it (a __gc, a
     __tostring) would change every other call's errors, so getmetatable gives false and
     setmetatable refuses. The runtime recognises error objects with lua_getmetatable,
     which ignores __metatable. */
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  luaL_newmetatable(L, DT_CALL_MT);
  lua_newtable(L); /* the methods table */
  luaL_setfuncs(L, methods, 0);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, call_index, 1);
  lua_setfield(L, -3, "__index");
  lua_pushliteral(L, "locked");
  lua_setfield(L, -3, "__metatable");
  static const luaL_Reg META[] = {
      {"__newindex", call_newindex}, {"__tostring", call_tostring}, {"__eq", call_eq}, {NULL, NULL}};
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, META, 0);
  lua_pop(L, 1);
  lua_remove(L, -2); /* leave the methods table */
}

void dt__call_handle_check_options(lua_State *L, int idx, const char *prim, const char *const *allowed) {
  if (lua_isnoneornil(L, idx)) return;
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) luaL_error(L, "%s: expected an option table, got %s", prim, luaL_typename(L, idx));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: option names must be strings", prim);
    const char *k = lua_tostring(L, -1);
    bool ok = false;
    for (const char *const *a = allowed; *a; a++)
      if (strcmp(*a, k) == 0) ok = true;
    if (!ok) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (const char *const *a = allowed; *a; a++) {
        if (a != allowed) luaL_addstring(&b, ", ");
        luaL_addstring(&b, *a);
      }
      luaL_pushresult(&b);
      luaL_error(L, "%s: unknown option '%s' (options: %s)", prim, k, lua_tostring(L, -1));
    }
  }
}
