/*
 * call_lua.h — the call handle a flow sees, its primitives, dialtone.dial/log/print
 * (call_lua.c). Internal to lua/.
 */
#ifndef DIALTONE_CALL_LUA_H
#define DIALTONE_CALL_LUA_H
#include <stdint.h>
#include <lua.h>
#include "rt_internal.h"

#define DT_CALL_MT "dialtone.call"
#define DT_ERROR_MT "dialtone.error"

/* Registers both metatables in L; leaves the methods table on the stack (the prelude adds
   menu and on_hangup to it). */
void dt__call_lua_open(lua_State *L);
/* Sets dial, log and print on the table at the top of the stack. */
void dt__call_lua_dialtone_funcs(lua_State *L);
/* Pushes the call's handle (one userdata per call, made on first use). */
void dt__call_lua_push(lua_State *L, dt_runtime_t *rt, dt_call_t *call);
/* The call leaves: its handle no longer reaches it (a flow keeping it sees "ended"). */
void dt__call_lua_forget(dt_runtime_t *rt, dt_lcall_t *lc);
/* A flow wait of `seconds` as timer milliseconds under the timer scale (at least 1). */
uint64_t dt__call_lua_timer_ms(const dt_runtime_t *rt, double seconds);

#endif
