/*
 * rt_internal.h — the data the flow runtime's modules share: the runtime, the per-call
 * data, the flow registry's records. Types only (no functions: each module declares its
 * own in its header beside it). Not a public header.
 *
 * The runtime's modules, bottom up (each uses only those below it):
 *   lstate       the one capped lua_State factory (also config_lua's and check's)
 *   rt_state     the runtime's capped state: memory attributed per call, the instruction
 *                budget, the kill switch, per-call data
 *   prompts      prompt names -> URLs, and whether a prompt file exists (cached)
 *   flows        the flow registry: versions, compile, reload
 *   call_handle  the call handle, error objects, the checks and the wait of primitives
 *   call_lua     the primitives, dialtone.dial/log/print
 *   scheduler    the only lua_resume: start, resume, finish a call's coroutine
 *   sandbox      the bindings, the API schema and the prelude loaded into the state
 *   runtime      runtime.h: options, metrics, composition, the public API
 */
#ifndef DIALTONE_RT_INTERNAL_H
#define DIALTONE_RT_INTERNAL_H
#include <stdbool.h>
#include <lua.h>
#include <lauxlib.h>
#include "dialtone/call.h"
#include "dialtone/list.h"
#include "dialtone/runtime.h"
#include "costed_lib.h"

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
  dt_list_node_t ready_link;     /* in rt->ready while queued to run */
  int nargs;                     /* values to pass at the next resume */
  uint64_t used;                 /* instructions in this resume */
  bool killed, done;
  const char *kill_reason;
  const char *kill_in;           /* the library function that spent the budget, or NULL */
  uint32_t mem_slot;             /* its entry in rt->owners (0: none) */
  bool mem_doomed;               /* stopped at the global memory cap while parked */
  char lang[16];                 /* call:set_language ("" = the default prompts folder's) */
  struct dt_say_job_s *say_job;  /* speech being synthesised for this call (say.c) */
  lua_CFunction say_again;       /* the primitive to run again once it is (say.c) */
  bool say_retrying;             /* ... and it is being run again (a second miss raises) */
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
  dt_list_t ready;               /* calls to resume, in order (scheduler.c) */
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
  struct dt_prompt_seen_s *prompt_seen; /* dt__prompts_exists' answers of the last second */
  struct dt_flow_http_s *http;   /* dialtone.http's state (flow_http.c) */
  char *tts_voice, *language;    /* copies of the options (defaults filled in, say.c) */
};

/* The call box the call handle userdata holds. */
typedef struct {
  dt_call_t *call;               /* NULL once the call left the registry */
} dt_call_box_t;

#endif
