/*
 * scheduler.h — the only lua_resume: a call's coroutine from start to finish
 * (scheduler.c). Internal to lua/; runtime.c's registry hooks call these.
 */
#ifndef DIALTONE_SCHEDULER_H
#define DIALTONE_SCHEDULER_H
#include "rt_internal.h"

/* dt_runtime_on_start: the call's flow starts on its current version (0, or DT_ECLOSED,
   DT_ENOENT no such flow, DT_EBUSY already started, DT_ENOMEM). */
int dt__scheduler_start(dt_runtime_t *rt, dt_call_t *c);
/* dt_runtime_on_result: the primitive the flow waits on has its result: resume it. */
void dt__scheduler_result(dt_runtime_t *rt, dt_call_t *c);
/* dt_runtime_on_release: the call leaves the registry; its coroutine, memory slot, flow
   version and handle go (frees call->rt). */
void dt__scheduler_release(dt_runtime_t *rt, dt_call_t *c);

#endif
