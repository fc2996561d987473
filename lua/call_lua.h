/*
 * call_lua.h — the primitives of the call handle, dialtone.dial/log/print
 * (call_lua.c). Internal to lua/.
 */
#ifndef DIALTONE_CALL_LUA_H
#define DIALTONE_CALL_LUA_H
#include <stdint.h>
#include <lua.h>
#include "rt_internal.h"

/* Registers the handle (call_handle.h) with every primitive as a method; leaves the methods
   table on the stack (the prelude adds menu and on_hangup to it). */
void dt__call_lua_open(lua_State *L);
/* Sets dial, log and print on the table at the top of the stack. */
void dt__call_lua_dialtone_funcs(lua_State *L);
/* Pushes JSON as Lua values (objects and arrays as tables; null as nil). */
struct cJSON;
/* A flow wait of `seconds` as timer milliseconds under the timer scale (at least 1). */
uint64_t dt__call_lua_timer_ms(const dt_runtime_t *rt, double seconds);

#endif
