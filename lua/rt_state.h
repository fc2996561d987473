/*
 * rt_state.h — the flow runtime's capped lua_State (rt_state.c): memory attributed per
 * call, the instruction budget and kill switch, the per-call data. Internal to lua/.
 */
#ifndef DIALTONE_RT_STATE_H
#define DIALTONE_RT_STATE_H
#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "rt_internal.h"

#define DT_RT_HOOK_STEP 1000 /* the budget's count hook runs every this many instructions */

/* Makes rt->L with the attributing allocator, the flow libraries (base, table, string,
   math, utf8, os, debug; no string.dump) and the costed library functions charging the
   running budget. NULL with the reason in err. */
lua_State *dt__rt_state_new(dt_runtime_t *rt, char *err, size_t errlen);
/* Closes rt->L and frees the owner table (after lua_close, which frees blocks). */
void dt__rt_state_close(dt_runtime_t *rt);
/* The runtime a state (or any of its coroutines) belongs to. */
dt_runtime_t *dt__rt_state_of(lua_State *L);
/* The runtime's data for a call (call->rt), made on first use. */
dt_lcall_t *dt__rt_state_lcall(dt_runtime_t *rt, dt_call_t *call);
/* A memory slot for the call's allocations (0: none, the table could not grow), and its
   release when the call leaves (what it still holds becomes nobody's). */
uint32_t dt__rt_state_owner_acquire(dt_runtime_t *rt, dt_lcall_t *lc);
void dt__rt_state_owner_release(dt_runtime_t *rt, dt_lcall_t *lc);
/* The budget's count hook (every DT_RT_HOOK_STEP instructions, or every line once the
   call is killed): charges the running call, or top-level code while rt->loading. */
void dt__rt_state_hook(lua_State *L, lua_Debug *ar);
/* "flow stopped: <reason>[ in <library function>]" for a killed call, in buf. */
const char *dt__rt_state_kill_text(const dt_lcall_t *lc, char *buf, size_t n);

#endif
