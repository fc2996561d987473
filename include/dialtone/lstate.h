/*
 * lstate.h — the one factory of capped lua_States (lua/lstate.c). The flow runtime, the
 * configuration loader and `dialtone check` all make their states here.
 *
 * Promises:
 *  - dt_lstate_new makes a state whose allocator is either the caller's (the flow runtime
 *    attributes every block to a call) or the plain capped one of dt_lstate_cap_t; clears
 *    the extra space (a NULL pointer there means "no call"); optionally sends Lua warnings
 *    to the log; opens the chosen standard libraries under lua_pcall, so that running out
 *    of memory is an error and never a panic; optionally removes string.dump (binary
 *    chunks) and installs the costed library functions (lua/costed_lib.h) with a meter.
 *  - The plain cap: an allocation that would take the state past cap->limit bytes fails
 *    (Lua collects garbage and asks again, then raises "not enough memory").
 *  - The instruction budget of a plain-capped state: dt_lstate_arm sets a count hook that
 *    adds cap->hook_every to cap->steps each time it runs; once steps exceed
 *    cap->step_limit it calls cap->over, which raises (and so never returns).
 */
#ifndef DIALTONE_LSTATE_H
#define DIALTONE_LSTATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lua.h>

struct dt_cost_meter_s; /* lua/costed_lib.h */

typedef struct dt_lstate_cap_s dt_lstate_cap_t;

struct dt_lstate_cap_s {
  size_t used, limit;    /* bytes held by the state, and its cap */
  uint64_t steps;        /* instructions counted by the hook */
  uint64_t step_limit;   /* over() runs once steps exceed this */
  int hook_every;        /* the count hook's period (instructions) */
  /* Raises a Lua error naming the place (ar is the hook's); never returns. */
  void (*over)(lua_State *L, lua_Debug *ar, dt_lstate_cap_t *cap);
  void *ud;              /* the owner's */
};

/* Standard libraries to open. */
enum {
  DT_LSTATE_BASE = 1 << 0,
  DT_LSTATE_TABLE = 1 << 1,
  DT_LSTATE_STRING = 1 << 2,
  DT_LSTATE_MATH = 1 << 3,
  DT_LSTATE_UTF8 = 1 << 4,
  DT_LSTATE_OS = 1 << 5,
  DT_LSTATE_DEBUG = 1 << 6,
  DT_LSTATE_ALL = 1 << 7 /* luaL_openlibs: every standard library (io and package too) */
};

typedef struct {
  lua_Alloc alloc;               /* the caller's allocator, or NULL for the plain cap */
  void *alloc_ud;                /* its ud */
  dt_lstate_cap_t *cap;          /* with alloc NULL: the cap (and the hook's budget); must outlive L */
  unsigned libs;                 /* DT_LSTATE_* */
  bool no_dump;                  /* remove string.dump */
  bool log_warnings;             /* warn() goes to the log (else warnings are dropped) */
  struct dt_cost_meter_s *meter; /* costed library functions charging this meter (NULL: none) */
} dt_lstate_opts_t;

/* The state, or NULL with the reason in err. */
lua_State *dt_lstate_new(const dt_lstate_opts_t *o, char *err, size_t errlen);
/* The plain cap of a state made with alloc NULL (NULL otherwise). */
dt_lstate_cap_t *dt_lstate_cap(lua_State *L);
/* Starts (steps from 0) and stops the instruction budget of a plain-capped state. */
void dt_lstate_arm(lua_State *L);
void dt_lstate_disarm(lua_State *L);

#endif
