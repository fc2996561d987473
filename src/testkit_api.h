/*
 * testkit_api.h — the two halves of `dialtone test` meet here (command-only, beside its
 * code): testkit.c (the command: files, one Lua state per file, the report) and
 * testkit_api.c (the C functions testkit.lua calls: engine + emulator through localrun, the
 * simulated clock, the timeline hook, files and output). tk_t is the run's state; both
 * halves read it, testkit_api.c alone drives the loop while a test waits.
 */
#ifndef DIALTONE_TESTKIT_API_H
#define DIALTONE_TESTKIT_API_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>
#include <uv.h>
#include "dialtone/localrun.h"

#define TK_QUIET_TURNS 4         /* settled loop turns before the simulated clock moves */
#define TK_MAX_FILE_BYTES (4u << 20)
#define TK_TICK_MS 10

typedef struct {
  FILE *out, *err;
  /* command line */
  const char *flows;       /* --flows: default flows dir for files that do not name theirs */
  const char *dialect;     /* --dialect: forced on every file (NULL = the file decides) */
  double timeout_s;        /* --timeout: real-time bound of one wait */
  bool timeout_given;
  const char *filter;      /* --filter: only tests whose name contains it */
  int verbose;
  /* the run */
  uv_loop_t loop;
  uv_timer_t wd, tick;
  uv_prepare_t prep;
  dt_localrun_t *lr;
  char tmpdir[128];
  char cdr_path[192];
  lua_State *L;            /* the state whose C function is running the loop (hook target) */
  int entry_ref;           /* Lua function receiving every timeline entry */
  /* one drive (a wait) */
  bool driving;
  bool matched, check_due, closed;
  int quiet;               /* settled loop turns in a row */
  int check_ref;
  uint64_t deadline;
  int64_t target, sim;
  const char *result;
  char *lua_error;
  /* log capture for one test */
  FILE *logf;
  char *logbuf;
  size_t loglen;
} tk_t;

/* The functions testkit.lua receives as its first argument (upvalue 1: the tk_t). */
extern const luaL_Reg dt__tk_funcs[];
/* Closes the file's engine and emulator (if running) and removes its temporary directory. */
void dt__tk_stop_localrun(tk_t *tk);
/* Ends the capture of the engine's log (log_begin); returns what it holds (the caller frees
   it; NULL when nothing was captured), its length in *len (may be NULL). */
char *dt__tk_log_end(tk_t *tk, size_t *len);

/* t[key] = value for a table on top of the stack; nothing when value is NULL. */
static inline void dt__tk_set_string(lua_State *L, const char *key, const char *value) {
  if (value == NULL) return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, key);
}

#endif
