/*
 * config_lua.h — reading dialtone.conf.lua into a dt_config_t (see config.h).
 *
 * The file is a Lua chunk that returns a table. It runs in a fresh, sandboxed lua_State:
 * base functions without load/loadfile/dofile/print/collectgarbage, plus string, table,
 * math and utf8, and getenv(name) for reading secrets from the environment; no io, os,
 * require or debug. It may run for 1,000,000 instructions and use 16 MiB at most. The
 * returned table is walked against the schema: unknown keys and wrong types are errors
 * naming the file and the full key path ("dialtone.conf.lua: graph.dialct: unknown key
 * (did you mean dialect?)"). Syntax and runtime errors carry the file and line.
 */
#ifndef DIALTONE_CONFIG_LUA_H
#define DIALTONE_CONFIG_LUA_H
#include <stdbool.h>
#include <stddef.h>
#include "dialtone/config.h"

#define DT_CONFIG_FILE_MAX (1024 * 1024)

/* Applies the file at path to cfg (already initialised). If required is false and the
   file does not exist, nothing happens and 0 is returned. */
int dt_config_load_lua(dt_config_t *cfg, const char *path, bool required, char *err, size_t errlen);

/* A command-line override: key path, text value (parsed like an environment variable) and
   the flag's name for messages ("--listen"). */
typedef struct {
  const char *path;
  const char *value;
  const char *origin;
} dt_config_override_t;

/* The whole start-up sequence: dt_config_init, the file (file NULL = dialtone.conf.lua,
   which may be missing; a named file must exist), the DIALTONE_* environment, the
   overrides in order, then dt_config_finalize. cfg is always initialised, so free it with
   dt_config_free whatever the result. Returns 0 or DT_ECONFIG with the message in err. */
int dt_config_load(dt_config_t *cfg, const char *file, const dt_config_override_t *overrides,
                   size_t override_count, char *err, size_t errlen);

#endif
