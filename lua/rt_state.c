/*
 * rt_state.c — the flow runtime's capped lua_State (see rt_internal.h for the modules):
 * the allocator that attributes every block to the call that allocated it and enforces
 * the per-call and the global memory caps, the per-resume instruction budget (count hook
 * and cost meter) with the kill switch, and the per-call data (dt_lcall_t). The state
 * itself comes from the one factory, lstate.c, with this allocator.
 *
 * Promises: a call over its own cap, or over the instruction budget, is killed (every
 * later instruction and costed library call raises); at the global cap the call holding
 * the most is killed, and one parked at that moment is marked mem_doomed with
 * rt->doomed_pending set, for the scheduler to finish at its next safe point. Nothing
 * here resumes a coroutine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/lstate.h"
#include "rt_internal.h"
#include "rt_state.h"

/* ---------------------------------------------------------------- allocator */

static void kill_call(dt_lcall_t *lc, const char *reason);

/* Memory is attributed to calls (issue 10, point 4): every block carries a header naming
   the call that owns it (a slot of rt->owners and the slot's generation, so a block that
   outlives its call is nobody's). A new block belongs to the call running; a block grown
   by a running call becomes that call's if it was nobody's. The per-call cap stops the
   call that would exceed it; at the global cap Lua first collects garbage (a refused
   request is retried after a full collection), then the call holding the most memory is
   stopped (even parked: it is finished at the next safe point, see scheduler.c) and its
   bytes count as free until they are collected. */
typedef struct {
  uint32_t slot, gen;
} mem_hdr_t;
#define MEM_HDR sizeof(mem_hdr_t) /* 8: keeps the 8-byte alignment Lua needs */

static dt_mem_owner_t *owner_of(dt_runtime_t *rt, const mem_hdr_t *h) {
  if (h->slot == 0 || h->slot >= rt->owners_len) return NULL;
  dt_mem_owner_t *o = &rt->owners[h->slot];
  return o->gen == h->gen && o->lc ? o : NULL;
}

static void owner_sub(dt_mem_owner_t *o, size_t n) { o->bytes = o->bytes > n ? o->bytes - n : 0; }

/* Makes room for `grow` more bytes under the global cap, or says why not. */
static bool global_room(dt_runtime_t *rt, size_t grow) {
  for (;;) {
    size_t doomed = 0, most = 0;
    dt_lcall_t *hog = NULL;
    for (uint32_t i = 1; i < rt->owners_len; i++) {
      dt_mem_owner_t *o = &rt->owners[i];
      if (!o->lc) continue;
      if (o->lc->killed) doomed += o->bytes;
      else if (o->bytes > most) {
        most = o->bytes;
        hog = o->lc;
      }
    }
    size_t live = rt->mem > doomed ? rt->mem - doomed : 0;
    if (live + grow <= rt->mem_limit) return true; /* stopped calls' bytes are as good as free */
    if (!hog) return false;
    kill_call(hog, "memory limit exceeded (this call held the most Lua memory)");
    dt_log(DT_LOG_WARN, hog->call ? hog->call->id : NULL,
           "Lua memory cap (limits.lua_memory_bytes, %zu bytes) reached: stopping the call holding the most (%zu bytes)",
           rt->mem_limit, most);
    if (rt->o.metrics) dt_metrics_inc(rt->o.metrics, "dt_flow_memory_stops_total", "cap=\"global\"");
    if (hog == rt->running) return false; /* the one asking: its allocation fails */
    hog->mem_doomed = true;              /* parked: finished at the next safe point */
    rt->doomed_pending = true;
  }
}

/* While stopped calls wait to be finished their bytes count as free (no collection, no
   new victim, until they are reaped). */
static bool global_room_if_doomed(dt_runtime_t *rt, size_t grow) {
  size_t doomed = 0;
  for (uint32_t i = 1; i < rt->owners_len; i++)
    if (rt->owners[i].lc && rt->owners[i].lc->killed) doomed += rt->owners[i].bytes;
  size_t live = rt->mem > doomed ? rt->mem - doomed : 0;
  return live + grow <= rt->mem_limit;
}

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  dt_runtime_t *rt = ud;
  mem_hdr_t *h = ptr ? (mem_hdr_t *)ptr - 1 : NULL;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    if (h) {
      dt_mem_owner_t *o = owner_of(rt, h);
      if (o) owner_sub(o, old);
      free(h);
    }
    rt->mem -= old;
    return NULL;
  }
  dt_lcall_t *lc = rt->running;
  dt_mem_owner_t *cur = h ? owner_of(rt, h) : NULL;
  dt_mem_owner_t *run = lc && lc->mem_slot ? &rt->owners[lc->mem_slot] : NULL;
  dt_mem_owner_t *to = cur; /* who will own the block */
  if (nsize > old) {
    size_t grow = nsize - old;
    if (!cur && run) to = run;
    /* Filling new memory is work too: `big .. ""` in a loop copies megabytes per instruction. */
    if (lc && !lc->killed) {
      lc->used += grow / DT_COST_BYTES_PER_UNIT;
      if (lc->used > rt->o.instruction_budget) kill_call(lc, "instruction budget exceeded (runaway loop?)");
    } else if (rt->loading) {
      rt->load_used += grow / DT_COST_BYTES_PER_UNIT;
    }
    bool retry = rt->refused && rt->refused_ptr == ptr && rt->refused_nsize == nsize;
    rt->refused = false;
    bool over_call = to && to == run && rt->call_mem_limit && to->bytes + (to == cur ? grow : nsize) > rt->call_mem_limit;
    bool over_global = rt->mem + grow > rt->mem_limit;
    if (over_global && rt->doomed_pending && global_room_if_doomed(rt, grow)) over_global = false;
    if ((over_call || over_global) && !retry) {
      /* Some of it may be garbage: Lua collects everything and asks again (the retry). */
      rt->refused = true;
      rt->refusals++;
      rt->refused_ptr = ptr;
      rt->refused_nsize = nsize;
      return NULL;
    }
    if (over_call) {
      if (!lc->killed) {
        kill_call(lc, "call memory limit exceeded (limits.call_memory)");
        if (rt->o.metrics) dt_metrics_inc(rt->o.metrics, "dt_flow_memory_stops_total", "cap=\"call\"");
      }
      return NULL;
    }
    if (over_global) {
      if (!global_room(rt, grow)) {
        if (lc && !lc->killed) kill_call(lc, "memory limit exceeded");
        return NULL;
      }
    }
  }
  mem_hdr_t *nh = realloc(h, nsize + MEM_HDR);
  if (nh == NULL) return NULL;
  if (!h) {
    nh->slot = to ? (uint32_t)(to - rt->owners) : 0;
    nh->gen = to ? to->gen : 0;
  } else if (to != cur) { /* nobody's block grown by the running call: now its */
    nh->slot = (uint32_t)(to - rt->owners);
    nh->gen = to->gen;
  }
  if (to == cur && cur) {
    if (nsize > old) cur->bytes += nsize - old;
    else owner_sub(cur, old - nsize);
  } else if (to) {
    to->bytes += nsize;
  }
  rt->mem = rt->mem - old + nsize;
  return nh + 1;
}

/* A memory slot for a call's allocations (0 when the table cannot grow: then nobody's). */
uint32_t dt__rt_state_owner_acquire(dt_runtime_t *rt, dt_lcall_t *lc) {
  uint32_t slot = rt->owners_free;
  if (slot) {
    rt->owners_free = rt->owners[slot].next_free;
  } else {
    if (rt->owners_len == rt->owners_cap) {
      uint32_t cap = rt->owners_cap ? rt->owners_cap * 2 : 64;
      dt_mem_owner_t *n = realloc(rt->owners, cap * sizeof *n);
      if (!n) return 0;
      memset(n + rt->owners_cap, 0, (cap - rt->owners_cap) * sizeof *n);
      rt->owners = n;
      rt->owners_cap = cap;
      if (rt->owners_len == 0) rt->owners_len = 1; /* slot 0 is nobody */
    }
    slot = rt->owners_len++;
  }
  dt_mem_owner_t *o = &rt->owners[slot];
  o->lc = lc;
  o->bytes = 0;
  o->next_free = 0;
  return slot;
}

/* The call leaves: what it still holds becomes nobody's (the generation changes). */
void dt__rt_state_owner_release(dt_runtime_t *rt, dt_lcall_t *lc) {
  uint32_t slot = lc->mem_slot;
  if (!slot) return;
  dt_mem_owner_t *o = &rt->owners[slot];
  o->lc = NULL;
  o->bytes = 0;
  o->gen++;
  o->next_free = rt->owners_free;
  rt->owners_free = slot;
  lc->mem_slot = 0;
}

/* ---------------------------------------------------------------- budget */

/* "flow stopped: instruction budget exceeded in string.find" and the like. */
const char *dt__rt_state_kill_text(const dt_lcall_t *lc, char *buf, size_t n) {
  snprintf(buf, n, "flow stopped: %s%s%s", lc->kill_reason, lc->kill_in ? " in " : "", lc->kill_in ? lc->kill_in : "");
  return buf;
}

static int raise_killed(lua_State *L, const dt_lcall_t *lc) {
  char msg[160];
  return luaL_error(L, "%s", dt__rt_state_kill_text(lc, msg, sizeof msg));
}

/* Charges `units` of budget to whoever runs Lua now: top-level code being loaded, or the
   call whose coroutine L is. Kills the call (see kill_call) and raises when it is spent.
   `what` names the library function doing the work (NULL: Lua instructions). */
static void spend(lua_State *L, dt_runtime_t *rt, uint64_t units, const char *what) {
  if (rt->loading) {
    rt->load_used += units;
    if (rt->load_used > rt->o.instruction_budget) {
      if (what) luaL_error(L, "top-level code exceeded the instruction budget in %s", what);
      luaL_error(L, "top-level code exceeded the instruction budget");
    }
    return;
  }
  dt_call_t *c = *(dt_call_t **)lua_getextraspace(L);
  dt_lcall_t *lc = c ? c->rt : NULL;
  if (!lc) return;
  if (lc->killed) raise_killed(L, lc);
  lc->used += units;
  if (lc->used > rt->o.instruction_budget) {
    if (what) {
      kill_call(lc, "instruction budget exceeded");
      lc->kill_in = what;
    } else {
      kill_call(lc, "instruction budget exceeded (runaway loop?)");
    }
    raise_killed(L, lc);
  }
}

void dt__rt_state_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  spend(L, dt__rt_state_of(L), DT_RT_HOOK_STEP, NULL);
}

/* The cost meter of the costed library functions (costed_lib.h): the same budget. */
static void meter_charge(lua_State *L, dt_cost_meter_t *m, uint64_t units, const char *what) {
  spend(L, m->ud, units, what);
}

/* After a kill every instruction raises, so neither pcall nor a message handler can keep
   the flow alive (Redis switches to a line hook for the same reason). Library functions
   raise too (spend), so a pcall'd string.find cannot go on spending either. */
static void kill_call(dt_lcall_t *lc, const char *reason) {
  lc->killed = true;
  lc->kill_reason = reason;
  lc->kill_in = NULL;
  if (lc->co) lua_sethook(lc->co, dt__rt_state_hook, LUA_MASKCOUNT | LUA_MASKLINE, 1);
}


dt_runtime_t *dt__rt_state_of(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  return ud;
}

/* ---------------------------------------------------------------- the state */

lua_State *dt__rt_state_new(dt_runtime_t *rt, char *err, size_t errlen) {
  /* Library functions charge their work to the same budget (issue 10, point 3); the
     costed ones are installed before the prelude, which snapshots the library tables. */
  rt->meter.charge = meter_charge;
  rt->meter.ud = rt;
  dt_lstate_opts_t o = {.alloc = l_alloc,
                        .alloc_ud = rt,
                        .libs = DT_LSTATE_BASE | DT_LSTATE_TABLE | DT_LSTATE_STRING | DT_LSTATE_MATH |
                                DT_LSTATE_UTF8 | DT_LSTATE_OS | DT_LSTATE_DEBUG,
                        .no_dump = true, /* string.dump makes binary chunks; nothing in dialtone needs it */
                        .log_warnings = true,
                        .meter = &rt->meter};
  return rt->L = dt_lstate_new(&o, err, errlen);
}

void dt__rt_state_close(dt_runtime_t *rt) {
  if (rt->L) lua_close(rt->L);
  rt->L = NULL;
  free(rt->owners); /* after lua_close: freeing blocks looks their owners up */
  rt->owners = NULL;
}

dt_lcall_t *dt__rt_state_lcall(dt_runtime_t *rt, dt_call_t *call) {
  dt_lcall_t *lc = call->rt;
  if (lc) return lc;
  lc = dt_xcalloc(1, sizeof *lc);
  lc->rt = rt;
  lc->call = call;
  lc->co_ref = LUA_NOREF;
  lc->ud_ref = LUA_NOREF;
  call->rt = lc;
  return lc;
}

