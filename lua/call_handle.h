/*
 * call_handle.h — the call handle, the error objects, and the checks and the wait every
 * primitive uses (call_handle.c). Internal to lua/.
 */
#ifndef DIALTONE_CALL_HANDLE_H
#define DIALTONE_CALL_HANDLE_H
#include <lauxlib.h>
#include <lua.h>
#include "rt_internal.h"

#define DT_CALL_MT "dialtone.call"
#define DT_ERROR_MT "dialtone.error"

/* Registers both metatables; the handle's methods are `methods`, in a table left on the
   stack. */
void dt__call_handle_open(lua_State *L, const luaL_Reg *methods);
/* Pushes the call's handle (one userdata per call, made on first use). */
void dt__call_handle_push(lua_State *L, dt_runtime_t *rt, dt_call_t *call);
/* The call leaves: its handle no longer reaches it (a flow keeping it sees "ended"). */
void dt__call_handle_forget(dt_runtime_t *rt, dt_lcall_t *lc);

/* Pushes an error object {code=, message=} with the error metatable. */
void dt__call_handle_error(lua_State *L, const char *code, const char *message);
/* t[key] = s for the table on top of the stack; nothing when s is NULL (an optional
   field of a result or error object). */
void dt__call_handle_set_string(lua_State *L, const char *key, const char *s);
/* Raise: "hangup" (the call has ended); the failed result of the last primitive; a
   primitive that could not start (rc < 0). */
int dt__call_handle_hangup(lua_State *L);
int dt__call_handle_raise_result(lua_State *L, dt_call_t *c);
int dt__call_handle_raise_rc(lua_State *L, const char *prim, int rc);

/* The call whose flow runs on L (NULL on the main state). */
dt_call_t *dt__call_handle_self(lua_State *L);
/* The call of the handle at idx; raises hangup when it has left. */
dt_call_t *dt__call_handle_check(lua_State *L, int idx);
/* The same, and it must be the running flow's own call, able to yield, not yet ended. */
dt_call_t *dt__call_handle_own(lua_State *L, int idx, const char *prim);
/* After starting a primitive (rc: < 0 error, 1 done at once, else pending): continues at
   once with k, or yields until core reports the result and then continues with k. */
int dt__call_handle_wait(lua_State *L, const char *prim, int rc, lua_KFunction k);
/* The continuation of a primitive whose result is JSON (call:participants, call:participant):
   raises the running call's failed result, else returns its result.json as Lua values; with no
   JSON, an empty table (none_as_table) or nil. */
int dt__call_handle_return_json(lua_State *L, int none_as_table);

/* Raises "PRIM: unknown option 'k' (options: a, b, …)" for a key of the option table at idx
   that is not in allowed (NULL-terminated); nil or none at idx is no options; another type,
   or a key that is not a string, raises too. */
void dt__call_handle_check_options(lua_State *L, int idx, const char *prim, const char *const *allowed);

#endif
