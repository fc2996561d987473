/*
 * flows.h — the flow registry: versions, compile, reload (flows.c). Internal to lua/.
 */
#ifndef DIALTONE_FLOWS_H
#define DIALTONE_FLOWS_H
#include <stdbool.h>
#include <stddef.h>
#include "rt_internal.h"

#define DT_FLOW_MAX_BYTES (4u << 20) /* a flow file (a module of flows_dir/lib: DT_LIB_MAX_BYTES) */

/* The flow called name, or NULL (it may have no current version: its file was removed). */
dt_flow_t *dt__flows_find(dt_runtime_t *rt, const char *name);
/* Current version of a flow (0 = no such flow). */
unsigned dt__flows_version(dt_runtime_t *rt, const char *name);
/* The call runs on f's current version (which must exist) until dt__flows_drop. */
void dt__flows_take(dt_runtime_t *rt, dt_lcall_t *lc, dt_flow_t *f);
/* The call's flow stops using its version (finished, or the call was released). */
void dt__flows_drop(dt_runtime_t *rt, dt_lcall_t *lc);
/* dt_runtime_load_flow and dt_runtime_reload (runtime.h). */
int dt__flows_load(dt_runtime_t *rt, const char *name, const char *text, size_t len, char *err, size_t errlen);
int dt__flows_reload(dt_runtime_t *rt, unsigned *failed, char *err, size_t errlen);
/* Frees every flow record and drops the current versions (before the state closes). */
void dt__flows_free(dt_runtime_t *rt);

#endif
