/*
 * sandbox.h — the call bindings, the API schema and the prelude loaded into the runtime's
 * state (sandbox.c). Internal to lua/.
 */
#ifndef DIALTONE_SANDBOX_H
#define DIALTONE_SANDBOX_H
#include <stddef.h>
#include "rt_internal.h"

/* Loads them into rt->L (made by dt__rt_state_new); 0 or DT_ENOENT/DT_ELUA with err. */
int dt__sandbox_open(dt_runtime_t *rt, char *err, size_t errlen);

#endif
