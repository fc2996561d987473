/*
 * flow_time.h — time for flows (flow_time.c): dialtone.now, dialtone.hours and the clock
 * behind os.time / os.date. Internal to lua/.
 */
#ifndef DIALTONE_FLOW_TIME_H
#define DIALTONE_FLOW_TIME_H
#include <lua.h>
#include "rt_internal.h"

/* The flows' wall clock in Unix seconds: rt->o.clock, or the real clock. */
double dt__flow_time_now(const dt_runtime_t *rt);
/* Sets now and hours in the table at the top of the stack (the C side of `dialtone`). */
void dt__flow_time_dialtone_funcs(lua_State *L);
/* Sets os_time and os_date (the sandbox's os.time and os.date, on the flows' clock) in the
   table at the top of the stack (the prelude's internals). */
void dt__flow_time_os_funcs(lua_State *L);

#endif
