/*
 * libs.h — the flows' library modules, {flows_dir}/lib/NAME.lua (libs.c). Internal to lua/.
 */
#ifndef DIALTONE_LIBS_H
#define DIALTONE_LIBS_H
#include <stdbool.h>
#include <stddef.h>
#include "rt_internal.h"

#define DT_LIBS_MAX 512            /* module files in flows_dir/lib */
#define DT_LIB_MAX_BYTES (4u << 20) /* one module (as a flow file: DT_FLOW_MAX_BYTES) */

/* Rescans {flows_dir}/lib: a module whose text changed and compiles replaces the old one
   in a new snapshot (rt->lib_gen goes up); one that does not compile changes nothing (the
   previous text stays in use) and is logged once with file and line; a removed file takes
   its module away. Returns the number of modules that failed (error text of the first in
   err, when failed_before is false); *changed (may be NULL) says whether the snapshot
   changed. */
unsigned dt__libs_refresh(dt_runtime_t *rt, bool *changed, char *err, size_t errlen);
/* Whether the flow text depends on a module changed after generation `since`: a module
   depends on what its text names as a quoted string ("name" or 'name'), transitively. */
bool dt__libs_stale(dt_runtime_t *rt, const char *text, size_t len, unsigned since);
/* internals.lib_snapshot(): the current snapshot table (name -> source), scanned on first
   use. A flow version keeps the one it was compiled with. */
int dt__libs_l_snapshot(lua_State *L);
/* internals.lib_source(name, snapshot) -> source, chunkname | nil, message. */
int dt__libs_l_source(lua_State *L);
/* Frees the module records (the snapshot tables belong to the Lua state). */
void dt__libs_free(dt_runtime_t *rt);

#endif
