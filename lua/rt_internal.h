/*
 * rt_internal.h — what lua/runtime.c (scheduler, flows, sandbox, budgets) and
 * lua/call_lua.c (the call handle and its primitives) share. Not a public header.
 */
#ifndef DIALTONE_RT_INTERNAL_H
#define DIALTONE_RT_INTERNAL_H
#include <stdbool.h>
#include <lua.h>
#include <lauxlib.h>
#include "dialtone/call.h"
#include "dialtone/runtime.h"
#include "costed_lib.h"

#define DT_CALL_MT "dialtone.call"
#define DT_ERROR_MT "dialtone.error"

typedef struct dt_flow_s dt_flow_t;

/* One compiled version of a flow. Freed when no call uses it and it is not current. */
typedef struct dt_flow_version_s {
  dt_flow_t *flow;
  unsigned version;
  int fn_ref;                    /* the function the file returned */
  unsigned refs;                 /* calls running on it, +1 while current */
} dt_flow_version_t;

struct dt_flow_s {
  dt_flow_t *next;
  char *name;
  int64_t mtime_ns;
  int64_t size;
  uint64_t hash;                 /* of the text, so touching a file is not a new version */
  int64_t read_ns;               /* wall clock when the file was last read (racy mtimes) */
  uint64_t fail_hash;            /* text that last failed to compile (0 = none) */
  char *fail_msg;                /* its error, for reports while the file stays broken */
  unsigned versions;
  dt_flow_version_t *current;
  bool seen;                     /* reload bookkeeping */
};

/* The runtime's per-call data (call->rt). */
typedef struct dt_lcall_s {
  dt_runtime_t *rt;
  dt_call_t *call;
  lua_State *co;                 /* NULL when no flow runs */
  int co_ref;
  int ud_ref;                    /* the call handle userdata (LUA_NOREF until made) */
  dt_flow_version_t *ver;
  struct dt_lcall_s *ready_next;
  int nargs;                     /* values to pass at the next resume */
  uint64_t used;                 /* instructions in this resume */
  bool ready, killed, done;
  const char *kill_reason;
  const char *kill_in;           /* the library function that spent the budget, or NULL */
  uint32_t mem_slot;             /* its entry in rt->owners (0: none) */
  bool mem_doomed;               /* stopped at the global memory cap while parked */
} dt_lcall_t;

/* Lua memory held by one call (runtime.c's allocator). */
typedef struct {
  dt_lcall_t *lc;                /* NULL: free slot */
  size_t bytes;
  uint32_t gen;                  /* bumped when the call leaves: its blocks become nobody's */
  uint32_t next_free;
} dt_mem_owner_t;

struct dt_runtime_s {
  dt_runtime_options_t o;
  char *flows_dir, *prompts_dir, *prompts_base_url;
  lua_State *L;
  size_t mem, mem_limit;
  size_t call_mem_limit;         /* per call (0 = none) */
  dt_mem_owner_t *owners;        /* slot 0 is nobody */
  uint32_t owners_len, owners_cap, owners_free;
  bool doomed_pending;           /* a parked call was stopped at the memory cap */
  bool refused;                  /* the last request was refused once (Lua retries after a full GC) */
  uint64_t refusals;             /* such full collections at a cap (diagnostics) */
  void *refused_ptr;
  size_t refused_nsize;
  dt_lcall_t *running;           /* the call being resumed */
  dt_lcall_t *ready_head, *ready_tail;
  int depth;                     /* resume nesting guard */
  size_t active;
  dt_flow_t *flows;
  int prelude_ref;               /* table returned by the prelude */
  int run_ref;                   /* prelude.run(call, fn) */
  int make_env_ref;              /* prelude.make_env(name) */
  bool loading;                  /* a flow chunk runs on the main thread */
  uint64_t load_used;
  dt_cost_meter_t meter;         /* library functions' work -> the running budget */
  uint64_t slowest_ns;           /* the longest resume since the watchdog last asked */
  char slowest_id[128];          /* ... and its call */
  bool closing;
  double timer_scale;            /* flow timers: multiplier (1 = real time) */
  bool instant_timers;           /* flow timers fire at once (time scale 0) */
  struct dt_prompt_seen_s *prompt_seen; /* dt__prompt_exists' answers of the last second */
};

/* The call box the call handle userdata holds. */
typedef struct {
  dt_call_t *call;               /* NULL once the call left the registry */
} dt_call_box_t;

/* call_lua.c */
void dt__lua_call_open(lua_State *L);               /* metatables; leaves the methods table on the stack */
void dt__lua_push_call(lua_State *L, dt_runtime_t *rt, dt_call_t *call); /* the call's handle */
void dt__lua_dialtone_funcs(lua_State *L);          /* sets dial, log on the table at the top */
/* Pushes an error object {code=, message=, ...} with the error metatable. */
void dt__lua_push_error(lua_State *L, const char *code, const char *message);
/* The prompt name or URL as a URL (pushed onto the stack); raises on a bad name. */
const char *dt__lua_prompt_uri(lua_State *L, dt_runtime_t *rt, const char *name);
bool dt__prompt_exists(dt_runtime_t *rt, const char *name);
void dt__prompt_seen_free(dt_runtime_t *rt);

/* runtime.c */
dt_runtime_t *dt__lua_runtime(lua_State *L);        /* from the registry */
dt_lcall_t *dt__lcall_get(dt_runtime_t *rt, dt_call_t *call); /* creates on demand */

#endif
