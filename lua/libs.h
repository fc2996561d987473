/*
 * libs.h — the flows' library modules, {flows_dir}/lib/NAME.lua (libs.c). Internal to lua/.
 */
#ifndef DIALTONE_LIBS_H
#define DIALTONE_LIBS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
/* Shared with flows.c's scan of flows_dir. Timestamps have the granularity of the kernel's
   coarse clock (a few ms), so a file written twice within one tick keeps its mtime: a size
   and mtime seen before are only trusted when the mtime is well older than the read that
   saw them (read_ns). */
bool dt__libs_unchanged(int64_t mtime, int64_t size, int64_t seen_mtime, int64_t seen_size, int64_t read_ns);
/* Reads path (at most limit bytes) into *text (caller frees), noting the wall clock of the
   read in *read_ns; logs and returns an error when it is larger or unreadable. */
int dt__libs_read(const char *path, size_t limit, int64_t *read_ns, char **text, size_t *len);
/* Frees the module records (the snapshot tables belong to the Lua state). */
void dt__libs_free(dt_runtime_t *rt);

#endif
