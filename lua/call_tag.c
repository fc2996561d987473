/*
 * call_tag.c — call:tag{key = value, ...} (see call_tag.h): a flow's own data about the
 * call (a prescription number, a callback number) merged into the call's tags
 * (core/calls/call_tags.c), which go into the CDR, /calls and every log line of the call.
 *
 * Values are strings or numbers (integers as integers, other numbers as Lua prints them,
 * "%.14g"; NaN and infinities are refused). The whole table is checked before anything
 * is merged: a bad key or value, or one tag too many, raises a Lua error naming it and
 * leaves the call's tags as they were. Only the call's own flow may tag it (its
 * call:on_hangup handlers too), until its CDR is written.
 */
#include <math.h>
#include <stdio.h>
#include <lauxlib.h>
#include "dialtone/call_tags.h"
#include "dialtone/error.h"
#include "call_handle.h"
#include "call_tag.h"

int dt__call_tag(lua_State *L) {
  dt_call_t *c = dt__call_handle_check(L, 1);
  if (dt__call_handle_self(L) != c)
    return luaL_error(L, "call:tag: this call handle belongs to another call's flow (use it there)");
  if (c->flags & DT_CALLF_CDR) return luaL_error(L, "call:tag: the call's record is already written");
  if (lua_type(L, 2) != LUA_TTABLE)
    return luaL_error(L, "call:tag expects a table {name = string or number, ...}, got %s", luaL_typename(L, 2));
  dt_log_field_t tags[DT_CALL_TAGS_MAX];
  char nums[DT_CALL_TAGS_MAX][32];
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      return luaL_error(L, "call:tag: tag names are strings, got %s", luaL_typename(L, -2));
    if (n == DT_CALL_TAGS_MAX) return luaL_error(L, "call:tag: a call has at most %d tags", DT_CALL_TAGS_MAX);
    const char *key = lua_tostring(L, -2); /* a key of the table: stays alive until the merge */
    dt_log_field_t *t = &tags[n];
    t->key = key;
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t len;
      t->value = lua_tolstring(L, -1, &len);
      t->number = false;
      char err[160];
      if (dt_call_tag_check(key, lua_rawlen(L, -2), t->value, len, err, sizeof err) != 0)
        return luaL_error(L, "call:tag: %s", err);
    } else if (lua_type(L, -1) == LUA_TNUMBER) {
      if (lua_isinteger(L, -1)) {
        snprintf(nums[n], sizeof nums[n], LUA_INTEGER_FMT, lua_tointeger(L, -1));
      } else {
        double v = lua_tonumber(L, -1);
        if (!isfinite(v)) return luaL_error(L, "call:tag: tag '%s' must be a finite number", key);
        snprintf(nums[n], sizeof nums[n], "%.14g", v);
      }
      t->value = nums[n];
      t->number = true;
    } else {
      return luaL_error(L, "call:tag: tag '%s' must be a string or a number, got %s", key, luaL_typename(L, -1));
    }
    n++;
    lua_pop(L, 1); /* the string value stays referenced by the table */
  }
  char err[160];
  if (dt_call_tags_merge(&c->tags, tags, n, err, sizeof err) != 0) return luaL_error(L, "call:tag: %s", err);
  dt_call_tags_changed(c); /* the live view's "tags" event */
  return 0;
}
