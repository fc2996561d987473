/*
 * scheduler.c — the only caller of lua_resume (see rt_internal.h for the modules): each
 * call's coroutine from start to finish, and the glue between the call registry's hooks
 * and the coroutines.
 *
 * Life of a call's coroutine: start creates it on the main state (lua_newthread,
 * anchored with luaL_ref, the dt_call_t in its extra space, the budget's count hook),
 * pushes the prelude's runner, the call handle and the flow function, and queues it. The
 * runner xpcalls the flow; each primitive yields; a result queues the call again. When the
 * runner returns (or an error escapes it, e.g. after a kill) the coroutine is closed and
 * unanchored and core is told the flow is done. release (the call leaves the registry)
 * closes a coroutine still alive (shutdown) and invalidates the call handle.
 *
 * Promises: resumes never nest (a ready queue drained by the outermost caller); calls the
 * allocator stopped while parked (rt_state.c's mem_doomed) are finished here, outside any
 * resume.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_handle.h"
#include "flows.h"
#include "prompts.h"
#include "rt_state.h"
#include "say.h"
#include "scheduler.h"

static bool is_ready(const dt_runtime_t *rt, const dt_lcall_t *lc) {
  return dt_list_linked(&rt->ready, &lc->ready_link);
}

static void ready_remove(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (is_ready(rt, lc)) dt_list_remove(&rt->ready, &lc->ready_link);
}

static void close_co(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (!lc->co) return;
  lua_State *co = lc->co;
  /* lua_resetthread runs the pending <close> variables of a suspended flow, outside any
     resume: they get one resume's budget (a killed flow's raise at once), so a handler that
     never returns cannot hold the loop. Errors in them are swallowed by Lua. */
  lc->used = 0;
  if (!lc->killed) lua_sethook(co, dt__rt_state_hook, LUA_MASKCOUNT, DT_RT_HOOK_STEP);
  dt_lcall_t *outer = rt->running;
  rt->running = lc;
  lua_resetthread(co);
  rt->running = outer;
  lua_sethook(co, NULL, 0, 0);
  *(dt_call_t **)lua_getextraspace(co) = NULL;
  luaL_unref(rt->L, LUA_REGISTRYINDEX, lc->co_ref);
  lc->co_ref = LUA_NOREF;
  lc->co = NULL;
  rt->active--;
}

static void drain(dt_runtime_t *rt);

static void schedule(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (!is_ready(rt, lc)) dt_list_push_back(&rt->ready, &lc->ready_link);
  if (rt->depth == 0) drain(rt);
}

/* First line of a traceback, for the CDR. */
static void first_line(const char *msg, char *out, size_t outlen) {
  size_t n = strcspn(msg, "\n");
  if (n >= outlen) n = outlen - 1;
  memcpy(out, msg, n);
  out[n] = '\0';
}

/* The flow is over: close the coroutine and tell core (which may release the call). */
static void finish(dt_runtime_t *rt, dt_lcall_t *lc, dt_outcome_t outcome, const char *message) {
  dt_call_t *c = lc->call;
  close_co(rt, lc);
  lc->done = true;
  dt__flows_drop(rt, lc);
  char shortmsg[512] = "";
  const char *prompt = NULL;
  char uri[1024];
  if (outcome == DT_OUTCOME_ERROR) {
    dt_log(DT_LOG_ERROR, c->id, "flow %s failed: %s", c->flow ? c->flow : "?", message ? message : "error");
    first_line(message ? message : "error", shortmsg, sizeof shortmsg);
    if (rt->o.metrics) dt_metrics_inc(rt->o.metrics, "dt_flow_errors_total", NULL);
    if (!dt_call_is_gone(c) && dt__prompts_exists(rt, "error")) {
      snprintf(uri, sizeof uri, "%s/error.wav", rt->prompts_base_url);
      prompt = uri;
    }
  }
  dt_call_flow_done(c, outcome, shortmsg[0] ? shortmsg : NULL, prompt);
}

static int traceback_of(lua_State *L) {
  luaL_traceback(L, lua_touserdata(L, 1), lua_tostring(L, 2), 0);
  return 1;
}

static void run(dt_runtime_t *rt, dt_lcall_t *lc) {
  lua_State *co = lc->co;
  dt_call_t *c = lc->call;
  if (!co || lc->done) return;
  int nargs = lc->nargs, nres = 0;
  lc->nargs = 0;
  lc->used = 0;
  rt->depth++;
  rt->running = lc;
  uint64_t t0 = uv_hrtime();
  int st = lua_resume(co, NULL, nargs, &nres);
  uint64_t took = uv_hrtime() - t0;
  rt->running = NULL;
  rt->depth--;
  if (took > rt->slowest_ns) { /* for the loop-stall watchdog */
    rt->slowest_ns = took;
    snprintf(rt->slowest_id, sizeof rt->slowest_id, "%s", c->id ? c->id : "?");
  }
  if (st == LUA_YIELD) {
    lua_pop(co, nres);
    if (c->wait == DT_WAIT_NONE && !is_ready(rt, lc)) /* cannot happen: every yield is a primitive's */
      finish(rt, lc, DT_OUTCOME_ERROR, "the flow yielded outside a primitive");
    return;
  }
  if (st == LUA_OK) {
    const char *outcome = nres >= 2 ? lua_tostring(co, -nres) : NULL;
    const char *msg = nres >= 2 ? lua_tostring(co, -nres + 1) : NULL;
    char *copy = msg ? dt_xstrdup(msg) : NULL;
    dt_outcome_t o = DT_OUTCOME_COMPLETED;
    if (outcome && strcmp(outcome, "hangup") == 0) o = DT_OUTCOME_HANGUP;
    else if (outcome && strcmp(outcome, "error") == 0) o = DT_OUTCOME_ERROR;
    if (lc->killed) { /* killed in the very last instructions */
      char kmsg[160];
      o = DT_OUTCOME_ERROR;
      free(copy);
      copy = dt_xstrdup(dt__rt_state_kill_text(lc, kmsg, sizeof kmsg));
    }
    lua_settop(co, 0);
    finish(rt, lc, o, copy);
    free(copy);
    return;
  }
  /* An error escaped the runner: a kill (budget, memory) or a failure in the runner. */
  const char *msg = lua_tostring(co, -1);
  char *tb;
  if (lc->killed) {
    char kmsg[160];
    tb = dt_xstrdup(dt__rt_state_kill_text(lc, kmsg, sizeof kmsg));
  } else {
    lua_pushcfunction(rt->L, traceback_of);
    lua_pushlightuserdata(rt->L, co);
    lua_pushstring(rt->L, msg ? msg : "(error object is not a string)");
    if (lua_pcall(rt->L, 2, 1, 0) == LUA_OK && lua_tostring(rt->L, -1)) tb = dt_xstrdup(lua_tostring(rt->L, -1));
    else tb = dt_xstrdup(msg ? msg : "flow error");
    lua_pop(rt->L, 1);
  }
  finish(rt, lc, DT_OUTCOME_ERROR, tb);
  free(tb);
}

/* Calls stopped at the global memory cap while parked (global_room) are finished here,
   outside any resume: their coroutine is closed, so what they held becomes garbage. */
static void reap_doomed(dt_runtime_t *rt) {
  if (rt->running) return;
  while (rt->doomed_pending) {
    rt->doomed_pending = false;
    for (uint32_t i = 1; i < rt->owners_len; i++) {
      dt_lcall_t *lc = rt->owners[i].lc;
      if (!lc || !lc->mem_doomed || lc->done || !lc->co) continue;
      lc->mem_doomed = false;
      ready_remove(rt, lc);
      char msg[160];
      finish(rt, lc, DT_OUTCOME_ERROR, dt__rt_state_kill_text(lc, msg, sizeof msg)); /* may free lc */
      rt->doomed_pending = true; /* the table may have changed: look again */
      break;
    }
  }
}

static void drain(dt_runtime_t *rt) {
  rt->depth++; /* whatever happens below queues instead of nesting */
  dt_lcall_t *lc;
  while ((lc = DT_LIST_ENTRY(dt_list_pop_front(&rt->ready), dt_lcall_t, ready_link)) != NULL) {
    rt->depth--;
    run(rt, lc);
    reap_doomed(rt);
    rt->depth++;
  }
  rt->depth--;
}

/* The Lua half of starting a call, run under lua_pcall: the coroutine (anchored), its
   call in the extra space, its budget hook, and runner, handle and flow on its stack. */
static int start_protected(lua_State *L) {
  dt_lcall_t *lc = lua_touserdata(L, 1);
  dt_runtime_t *rt = lc->rt;
  lua_State *co = lua_newthread(L);
  *(dt_call_t **)lua_getextraspace(co) = lc->call;
  lua_pushvalue(L, -1);
  lc->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lc->co = co;
  rt->active++;
  lua_sethook(co, dt__rt_state_hook, LUA_MASKCOUNT, DT_RT_HOOK_STEP);
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->run_ref);
  dt__call_handle_push(L, rt, lc->call);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ver->fn_ref);
  lua_xmove(L, co, 3);
  return 0;
}

int dt__scheduler_start(dt_runtime_t *rt, dt_call_t *c) {
  if (rt->closing) return DT_ECLOSED;
  dt_flow_t *f = c->flow ? dt__flows_find(rt, c->flow) : NULL;
  if (!f || !f->current) return DT_ENOENT;
  lua_State *L = rt->L;
  if (!lua_checkstack(L, 8)) return DT_ENOMEM;
  dt_lcall_t *lc = dt__rt_state_lcall(rt, c);
  if (lc->co || lc->done) return DT_EBUSY;
  dt__flows_take(rt, lc, f);
  c->flow_version = lc->ver->version;
  if (!lc->mem_slot) lc->mem_slot = dt__rt_state_owner_acquire(rt, lc);
  /* Under the memory cap these allocations may fail; unprotected, that would panic. The
     coroutine and its stack are the call's memory. */
  dt_lcall_t *outer = rt->running;
  rt->running = lc;
  lua_pushcfunction(L, start_protected);
  lua_pushlightuserdata(L, lc);
  int pst = lua_pcall(L, 1, 0, 0);
  rt->running = outer;
  reap_doomed(rt);
  if (pst != LUA_OK) {
    dt_log(DT_LOG_ERROR, c->id, "cannot start the flow: %s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    lua_pop(L, 1);
    if (lc->co) close_co(rt, lc);
    return DT_ENOMEM;
  }
  lc->nargs = 2;
  schedule(rt, lc);
  return 0;
}

void dt__scheduler_result(dt_runtime_t *rt, dt_call_t *c) {
  dt_lcall_t *lc = c->rt;
  if (!lc || !lc->co || lc->done) return;
  schedule(rt, lc);
}

void dt__scheduler_release(dt_runtime_t *rt, dt_call_t *c) {
  dt_lcall_t *lc = c->rt;
  if (!lc) return;
  ready_remove(rt, lc);
  if (lc->co) close_co(rt, lc);
  dt__rt_state_owner_release(rt, lc);
  dt__flows_drop(rt, lc);
  dt__call_handle_forget(rt, lc);
  dt__say_forget(lc);
  c->rt = NULL;
  free(lc);
}
