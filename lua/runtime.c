/*
 * runtime.c — the flow runtime (see runtime.h): the shared lua_State with a capped
 * allocator, the embedded prelude, the flow registry with versions, the scheduler (the
 * only caller of lua_resume, with a ready queue so resumes never nest), the per-resume
 * instruction budget and the kill switch, and the glue between the call registry's hooks
 * and the coroutines.
 *
 * Life of a call's coroutine: on_start creates it on the main state (lua_newthread,
 * anchored with luaL_ref, the dt_call_t in its extra space, a count hook), pushes the
 * prelude's runner, the call handle and the flow function, and queues it. The runner
 * xpcalls the flow; each primitive yields; on_result queues the call again. When the
 * runner returns (or an error escapes it, e.g. after a kill) the coroutine is closed and
 * unanchored and core is told the flow is done. on_release (the call leaves the registry)
 * closes a coroutine still alive (shutdown) and invalidates the call handle.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <lualib.h>
#include "dialtone/common.h"
#include "dialtone/embedded.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "rt_internal.h"

#define HOOK_STEP 1000
#define MAX_FLOW_BYTES (4u << 20)

/* ---------------------------------------------------------------- allocator */

static void kill_call(dt_lcall_t *lc, const char *reason);

/* Memory is attributed to calls (issue 10, point 4): every block carries a header naming
   the call that owns it (a slot of rt->owners and the slot's generation, so a block that
   outlives its call is nobody's). A new block belongs to the call running; a block grown
   by a running call becomes that call's if it was nobody's. The per-call cap stops the
   call that would exceed it; at the global cap Lua first collects garbage (a refused
   request is retried after a full collection), then the call holding the most memory is
   stopped (even parked: it is finished at the next safe point, see reap_doomed) and its
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
static uint32_t owner_acquire(dt_runtime_t *rt, dt_lcall_t *lc) {
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
static void owner_release(dt_runtime_t *rt, dt_lcall_t *lc) {
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

size_t dt_runtime_call_memory(const dt_runtime_t *rt, const dt_call_t *c) {
  const dt_lcall_t *lc = c->rt;
  return lc && lc->mem_slot ? rt->owners[lc->mem_slot].bytes : 0;
}

dt_runtime_t *dt__lua_runtime(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  return ud;
}

size_t dt_runtime_memory(const dt_runtime_t *rt) { return rt->mem; }

bool dt_runtime_take_slowest(void *ud, char *id, size_t idlen, double *seconds) {
  dt_runtime_t *rt = ud;
  if (!rt->slowest_ns) return false;
  snprintf(id, idlen, "%s", rt->slowest_id);
  *seconds = (double)rt->slowest_ns / 1e9;
  rt->slowest_ns = 0;
  return true;
}
size_t dt_runtime_active(const dt_runtime_t *rt) { return rt->active; }

/* ---------------------------------------------------------------- budget */

/* "flow stopped: instruction budget exceeded in string.find" and the like. */
static const char *kill_text(const dt_lcall_t *lc, char *buf, size_t n) {
  snprintf(buf, n, "flow stopped: %s%s%s", lc->kill_reason, lc->kill_in ? " in " : "", lc->kill_in ? lc->kill_in : "");
  return buf;
}

static int raise_killed(lua_State *L, const dt_lcall_t *lc) {
  char msg[160];
  return luaL_error(L, "%s", kill_text(lc, msg, sizeof msg));
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

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  spend(L, dt__lua_runtime(L), HOOK_STEP, NULL);
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
  if (lc->co) lua_sethook(lc->co, count_hook, LUA_MASKCOUNT | LUA_MASKLINE, 1);
}

/* ---------------------------------------------------------------- flows */

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}

static dt_flow_t *flow_find(dt_runtime_t *rt, const char *name) {
  for (dt_flow_t *f = rt->flows; f; f = f->next)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

static void version_unref(dt_runtime_t *rt, dt_flow_version_t *v) {
  if (--v->refs > 0) return;
  if (rt->L) luaL_unref(rt->L, LUA_REGISTRYINDEX, v->fn_ref);
  free(v);
}

/* dt_calls_active{flow,version}: calls whose flow runs on that version. */
static void version_gauge(dt_runtime_t *rt, const dt_flow_version_t *v, double delta) {
  if (!rt->o.metrics) return;
  char labels[128];
  snprintf(labels, sizeof labels, "flow=\"%s\",version=\"%u\"", v->flow->name, v->version);
  dt_metrics_add(rt->o.metrics, "dt_calls_active", labels, delta);
}

static void flow_gauge(dt_runtime_t *rt, const dt_flow_t *f) {
  if (!rt->o.metrics) return;
  char labels[96];
  snprintf(labels, sizeof labels, "flow=\"%s\"", f->name);
  dt_metrics_set(rt->o.metrics, "dt_flow_version", labels, f->current ? f->current->version : 0);
}

static void count_reload(dt_runtime_t *rt, bool ok) {
  if (rt->o.metrics)
    dt_metrics_inc(rt->o.metrics, "dt_flow_reloads_total", ok ? "result=\"ok\"" : "result=\"error\"");
}

/* A call's flow stops using its version (finished, or the call was released). */
static void call_version_drop(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (!lc->ver) return;
  version_gauge(rt, lc->ver, -1);
  version_unref(rt, lc->ver);
  lc->ver = NULL;
}

void dt_runtime_set_timer_scale(dt_runtime_t *rt, double scale) {
  rt->instant_timers = !(scale > 0);
  rt->timer_scale = scale > 0 ? scale : 1.0;
}

uint64_t dt_runtime_timer_ms(const dt_runtime_t *rt, double seconds) {
  double ms = seconds * 1000.0;
  if (rt->instant_timers) ms = ms < DT_INSTANT_TIMER_MS ? ms : DT_INSTANT_TIMER_MS;
  else ms *= rt->timer_scale;
  if (!(ms >= 1.0)) return 1; /* 0 means "default" to some primitives; NaN too */
  if (ms > 4e9) return 4000000000u;
  return (uint64_t)ms;
}

unsigned dt_runtime_flow_version(dt_runtime_t *rt, const char *name) {
  dt_flow_t *f = flow_find(rt, name);
  return f && f->current ? f->current->version : 0;
}

static int traceback_msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = luaL_tolstring(L, 1, NULL);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* luaL_ref may allocate; under the memory cap an unprotected failure would panic. */
static int ref_top(lua_State *L) {
  int *out = lua_touserdata(L, 1);
  lua_pushvalue(L, 2);
  *out = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int protected_ref(lua_State *L, int *out) {
  lua_pushcfunction(L, ref_top);
  lua_pushlightuserdata(L, out);
  lua_pushvalue(L, -3);
  int st = lua_pcall(L, 2, 0, 0);
  if (st != LUA_OK) lua_pop(L, 1);
  else lua_pop(L, 1); /* the value itself */
  return st == LUA_OK ? 0 : DT_ENOMEM;
}

static bool valid_flow_name(const char *s, size_t n) {
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
      return false;
  }
  return true;
}

/* Compiles text as flow `name` in its own sandboxed _ENV, runs its top level under the
   budget, and leaves a new version as the flow's current one. */
static int compile_flow(dt_runtime_t *rt, const char *name, const char *chunkname, const char *text, size_t len,
                        uint64_t hash, char *err, size_t errlen) {
  lua_State *L = rt->L;
  int top = lua_gettop(L);
  lua_pushcfunction(L, traceback_msgh);
  int msgh = lua_gettop(L);
  int rc = 0;
  if (luaL_loadbufferx(L, text, len, chunkname, "t") != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ELUA, "%s", lua_tostring(L, -1));
    goto out;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->make_env_ref);
  lua_pushstring(L, name);
  if (lua_pcall(L, 1, 1, msgh) != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ELUA, "cannot make the sandbox for %s: %s", name, lua_tostring(L, -1));
    goto out;
  }
  if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1); /* a chunk without _ENV uses no globals */
  rt->loading = true;
  rt->load_used = 0;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
  int st = lua_pcall(L, 0, 1, msgh);
  lua_sethook(L, NULL, 0, 0);
  rt->loading = false;
  if (st != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ELUA, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    goto out;
  }
  if (!lua_isfunction(L, -1)) {
    rc = dt_seterr(err, errlen, DT_ELUA, "%s: the flow must return function(call), it returned %s", chunkname + 1,
                   luaL_typename(L, -1));
    goto out;
  }
  dt_flow_t *f = flow_find(rt, name);
  if (!f) {
    f = dt_xcalloc(1, sizeof *f);
    f->name = dt_xstrdup(name);
    f->next = rt->flows;
    rt->flows = f;
  }
  int fn_ref = LUA_NOREF;
  if (protected_ref(L, &fn_ref) != 0) {
    rc = dt_seterr(err, errlen, DT_ENOMEM, "%s: out of Lua memory", chunkname + 1);
    goto out;
  }
  dt_flow_version_t *v = dt_xcalloc(1, sizeof *v);
  v->flow = f;
  v->version = ++f->versions;
  v->fn_ref = fn_ref;
  v->refs = 1;
  if (f->current) version_unref(rt, f->current);
  f->current = v;
  f->hash = hash;
  f->fail_hash = 0;
  free(f->fail_msg);
  f->fail_msg = NULL;
  flow_gauge(rt, f);
  dt_log(DT_LOG_INFO, NULL, "flow %s: version %u loaded", name, v->version);
out:
  lua_settop(L, top);
  return rc;
}

int dt_runtime_load_flow(dt_runtime_t *rt, const char *name, const char *text, size_t len, char *err, size_t errlen) {
  if (!valid_flow_name(name, strlen(name))) return dt_seterr(err, errlen, DT_EINVAL, "bad flow name '%s'", name);
  char chunk[96];
  snprintf(chunk, sizeof chunk, "@%s.lua", name);
  int rc = compile_flow(rt, name, chunk, text, len, fnv(text, len), err, errlen);
  count_reload(rt, rc == 0);
  if (rc == 0) {
    dt_flow_t *f = flow_find(rt, name);
    f->mtime_ns = 0;
    f->size = -1;
  }
  return rc;
}

static dt_flow_t *flow_get(dt_runtime_t *rt, const char *name) {
  dt_flow_t *f = flow_find(rt, name);
  if (!f) {
    f = dt_xcalloc(1, sizeof *f);
    f->name = dt_xstrdup(name);
    f->next = rt->flows;
    rt->flows = f;
  }
  return f;
}

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Timestamps have the granularity of the kernel's coarse clock (a few ms), so a file
   written twice within one tick keeps its mtime: a size and mtime seen before are only
   trusted when the mtime is well older than the read that saw them. */
#define RACY_NS (2 * (int64_t)1000000000)

int dt_runtime_reload(dt_runtime_t *rt, unsigned *failed_out, char *err, size_t errlen) {
  unsigned loaded = 0, failed = 0;
  DIR *d = opendir(rt->flows_dir);
  if (!d) return dt_seterr(err, errlen, DT_ENOENT, "cannot open flows directory %s: %s", rt->flows_dir, strerror(errno));
  for (dt_flow_t *f = rt->flows; f; f = f->next) f->seen = false;
  dt__prompt_seen_free(rt); /* a reload also looks at the prompt files afresh */
  bool first_err = true;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *fn = de->d_name;
    size_t n = strlen(fn);
    if (fn[0] == '.' || n < 5 || strcmp(fn + n - 4, ".lua") != 0) continue;
    if (n > 9 && strcmp(fn + n - 9, "_test.lua") == 0) continue; /* flow tests, run by `dialtone test` */
    char name[72];
    if (!valid_flow_name(fn, n - 4)) {
      dt_log(DT_LOG_WARN, NULL, "%s/%s: not a valid flow name (letters, digits, _ and -); skipped", rt->flows_dir, fn);
      continue;
    }
    memcpy(name, fn, n - 4);
    name[n - 4] = '\0';
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", rt->flows_dir, fn);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    dt_flow_t *f = flow_find(rt, name);
    if (f) f->seen = true;
    if (f && (f->current || f->fail_hash) && f->mtime_ns == mtime && f->size == (int64_t)st.st_size &&
        mtime + RACY_NS < f->read_ns) {
      if (f->fail_hash) { /* still broken, already reported */
        failed++;
        if (first_err && err && f->fail_msg) snprintf(err, errlen, "%s", f->fail_msg);
        first_err = false;
      }
      continue;
    }
    int64_t read_ns = wall_ns();
    char *text = NULL;
    size_t len = 0;
    if (dt_read_file(path, MAX_FLOW_BYTES, &text, &len) != 0) {
      dt_log(DT_LOG_ERROR, NULL, "%s: cannot read (larger than %u bytes, or unreadable)", path, MAX_FLOW_BYTES);
      count_reload(rt, false);
      failed++;
      continue;
    }
    uint64_t h = fnv(text, len);
    if (h == 0) h = 1; /* 0 means "no failed text" */
    if (f && f->current && f->hash == h) { /* touched, not changed (or a broken edit undone) */
      if (f->fail_hash) {
        dt_log(DT_LOG_INFO, NULL, "flow %s: the file is version %u again", name, f->current->version);
        f->fail_hash = 0;
        free(f->fail_msg);
        f->fail_msg = NULL;
      }
      f->mtime_ns = mtime;
      f->size = (int64_t)st.st_size;
      f->read_ns = read_ns;
      free(text);
      continue;
    }
    if (f && f->fail_hash == h) { /* the same broken text: reported when it first failed */
      f->mtime_ns = mtime;
      f->size = (int64_t)st.st_size;
      f->read_ns = read_ns;
      free(text);
      failed++;
      if (first_err && err && f->fail_msg) snprintf(err, errlen, "%s", f->fail_msg);
      first_err = false;
      continue;
    }
    char chunk[1100], msg[1024];
    snprintf(chunk, sizeof chunk, "@%s", path);
    int rc = compile_flow(rt, name, chunk, text, len, h, msg, sizeof msg);
    free(text);
    f = flow_get(rt, name);
    f->seen = true;
    f->mtime_ns = mtime;
    f->size = (int64_t)st.st_size;
    f->read_ns = read_ns;
    if (rc < 0) {
      if (f->current)
        dt_log(DT_LOG_ERROR, NULL, "flow %s not loaded (version %u stays in use): %s", name, f->current->version, msg);
      else
        dt_log(DT_LOG_ERROR, NULL, "flow %s not loaded: %s", name, msg);
      f->fail_hash = h;
      free(f->fail_msg);
      f->fail_msg = dt_xstrdup(msg);
      count_reload(rt, false);
      if (first_err && err) snprintf(err, errlen, "%s", msg);
      first_err = false;
      failed++;
      continue;
    }
    count_reload(rt, true);
    loaded++;
  }
  closedir(d);
  for (dt_flow_t *f = rt->flows; f; f = f->next) {
    if (f->seen || f->size < 0) continue; /* size < 0: loaded from text */
    f->fail_hash = 0; /* a file that comes back is compiled afresh */
    if (!f->current) continue;
    dt_log(DT_LOG_INFO, NULL, "flow %s: file removed; new calls can no longer use it (version %u ends with its calls)",
           f->name, f->current->version);
    version_unref(rt, f->current);
    f->current = NULL;
    f->mtime_ns = 0;
    flow_gauge(rt, f);
  }
  if (failed_out) *failed_out = failed;
  return (int)loaded;
}

/* ---------------------------------------------------------------- scheduler */

dt_lcall_t *dt__lcall_get(dt_runtime_t *rt, dt_call_t *call) {
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

static void ready_remove(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (!lc->ready) return;
  dt_lcall_t **pp = &rt->ready_head, *prev = NULL;
  while (*pp && *pp != lc) {
    prev = *pp;
    pp = &(*pp)->ready_next;
  }
  if (*pp) {
    *pp = lc->ready_next;
    if (rt->ready_tail == lc) rt->ready_tail = prev;
  }
  lc->ready = false;
  lc->ready_next = NULL;
}

static void close_co(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (!lc->co) return;
  lua_State *co = lc->co;
  /* lua_resetthread runs the pending <close> variables of a suspended flow, outside any
     resume: they get one resume's budget (a killed flow's raise at once), so a handler that
     never returns cannot hold the loop. Errors in them are swallowed by Lua. */
  lc->used = 0;
  if (!lc->killed) lua_sethook(co, count_hook, LUA_MASKCOUNT, HOOK_STEP);
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
  if (!lc->ready) {
    lc->ready = true;
    lc->ready_next = NULL;
    if (rt->ready_tail) rt->ready_tail->ready_next = lc;
    else rt->ready_head = lc;
    rt->ready_tail = lc;
  }
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
  call_version_drop(rt, lc);
  char shortmsg[512] = "";
  const char *prompt = NULL;
  char uri[1024];
  if (outcome == DT_OUTCOME_ERROR) {
    dt_log(DT_LOG_ERROR, c->id, "flow %s failed: %s", c->flow ? c->flow : "?", message ? message : "error");
    first_line(message ? message : "error", shortmsg, sizeof shortmsg);
    if (rt->o.metrics) dt_metrics_inc(rt->o.metrics, "dt_flow_errors_total", NULL);
    if (!dt_call_is_gone(c) && dt__prompt_exists(rt, "error")) {
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
    if (c->wait == DT_WAIT_NONE && !lc->ready) /* cannot happen: every yield is a primitive's */
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
      copy = dt_xstrdup(kill_text(lc, kmsg, sizeof kmsg));
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
    tb = dt_xstrdup(kill_text(lc, kmsg, sizeof kmsg));
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
      finish(rt, lc, DT_OUTCOME_ERROR, kill_text(lc, msg, sizeof msg)); /* may free lc */
      rt->doomed_pending = true; /* the table may have changed: look again */
      break;
    }
  }
}

static void drain(dt_runtime_t *rt) {
  rt->depth++; /* whatever happens below queues instead of nesting */
  dt_lcall_t *lc;
  while ((lc = rt->ready_head) != NULL) {
    rt->ready_head = lc->ready_next;
    if (!rt->ready_head) rt->ready_tail = NULL;
    lc->ready = false;
    lc->ready_next = NULL;
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
  lua_sethook(co, count_hook, LUA_MASKCOUNT, HOOK_STEP);
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->run_ref);
  dt__lua_push_call(L, rt, lc->call);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lc->ver->fn_ref);
  lua_xmove(L, co, 3);
  return 0;
}

int dt_runtime_on_start(dt_call_t *c, void *ud) {
  dt_runtime_t *rt = ud;
  if (rt->closing) return DT_ECLOSED;
  dt_flow_t *f = c->flow ? flow_find(rt, c->flow) : NULL;
  if (!f || !f->current) return DT_ENOENT;
  lua_State *L = rt->L;
  if (!lua_checkstack(L, 8)) return DT_ENOMEM;
  dt_lcall_t *lc = dt__lcall_get(rt, c);
  if (lc->co || lc->done) return DT_EBUSY;
  lc->ver = f->current;
  lc->ver->refs++;
  version_gauge(rt, lc->ver, 1);
  c->flow_version = lc->ver->version;
  if (!lc->mem_slot) lc->mem_slot = owner_acquire(rt, lc);
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

void dt_runtime_on_result(dt_call_t *c, void *ud) {
  dt_runtime_t *rt = ud;
  dt_lcall_t *lc = c->rt;
  if (!lc || !lc->co || lc->done) return;
  schedule(rt, lc);
}

void dt_runtime_on_release(dt_call_t *c, void *ud) {
  dt_runtime_t *rt = ud;
  dt_lcall_t *lc = c->rt;
  if (!lc) return;
  ready_remove(rt, lc);
  if (lc->co) close_co(rt, lc);
  owner_release(rt, lc);
  call_version_drop(rt, lc);
  if (lc->ud_ref != LUA_NOREF) {
    lua_rawgeti(rt->L, LUA_REGISTRYINDEX, lc->ud_ref);
    dt_call_box_t *b = lua_touserdata(rt->L, -1);
    if (b) b->call = NULL;
    lua_pop(rt->L, 1);
    luaL_unref(rt->L, LUA_REGISTRYINDEX, lc->ud_ref);
  }
  c->rt = NULL;
  free(lc);
}

/* ---------------------------------------------------------------- state */

static void warnf(void *ud, const char *msg, int tocont) {
  (void)ud;
  (void)tocont;
  dt_log(DT_LOG_WARN, NULL, "lua: %s", msg);
}

static int l_prompt_exists(lua_State *L) {
  lua_pushboolean(L, dt__prompt_exists(dt__lua_runtime(L), luaL_checkstring(L, 1)));
  return 1;
}

/* require(name) for flows: Lua source from {flows_dir}/lib/NAME.lua (no C modules). */
static int l_lib_source(lua_State *L) {
  dt_runtime_t *rt = dt__lua_runtime(L);
  size_t n;
  const char *name = luaL_checklstring(L, 1, &n);
  for (size_t i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
          (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
      return luaL_error(L, "require: bad module name '%s' (letters, digits and _)", name);
  if (n == 0 || n > 64) return luaL_error(L, "require: bad module name");
  char path[1024];
  snprintf(path, sizeof path, "%s/lib/%s.lua", rt->flows_dir, name);
  char *text = NULL;
  size_t len = 0;
  if (dt_read_file(path, MAX_FLOW_BYTES, &text, &len) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "module '%s' not found (looked for %s)", name, path);
    return 2;
  }
  lua_pushlstring(L, text, len);
  lua_pushfstring(L, "@%s", path);
  free(text);
  return 2;
}

static int l_is_error_mt(lua_State *L) {
  luaL_getmetatable(L, DT_ERROR_MT);
  lua_getmetatable(L, 1);
  lua_pushboolean(L, lua_rawequal(L, -1, -2));
  return 1;
}

static int load_embedded(lua_State *L, const char *name, char *err, size_t errlen) {
  const dt_embedded_file_t *f = dt_embedded_find(name);
  if (!f) return dt_seterr(err, errlen, DT_ENOENT, "embedded %s.lua is missing", name);
  char chunk[64];
  snprintf(chunk, sizeof chunk, "=%s", name);
  if (luaL_loadbufferx(L, f->data, f->len, chunk, "t") != LUA_OK)
    return dt_seterr(err, errlen, DT_ELUA, "%s", lua_tostring(L, -1));
  return 0;
}

int dt_runtime_new(const dt_runtime_options_t *opts, dt_runtime_t **out, char *err, size_t errlen) {
  if (!opts->flows_dir || !opts->prompts_base_url)
    return dt_seterr(err, errlen, DT_EINVAL, "flows_dir and prompts_base_url are required");
  dt_runtime_t *rt = dt_xcalloc(1, sizeof *rt);
  rt->o = *opts;
  rt->flows_dir = dt_xstrdup(opts->flows_dir);
  rt->prompts_dir = opts->prompts_dir ? dt_xstrdup(opts->prompts_dir) : NULL;
  size_t bl = strlen(opts->prompts_base_url);
  while (bl > 0 && opts->prompts_base_url[bl - 1] == '/') bl--;
  rt->prompts_base_url = dt_xstrndup(opts->prompts_base_url, bl);
  if (!rt->o.instruction_budget) rt->o.instruction_budget = 10000000;
  rt->mem_limit = opts->memory_bytes ? opts->memory_bytes : (size_t)1 << 30;
  rt->call_mem_limit = opts->call_memory_bytes ? opts->call_memory_bytes : DT_CALL_MEMORY_DEFAULT;
  rt->timer_scale = opts->timer_scale > 0 ? opts->timer_scale : 1.0;
  rt->instant_timers = opts->instant_timers;
  if (rt->o.metrics) {
    dt_metrics_describe(rt->o.metrics, "dt_flow_errors_total", "counter",
                        "Flows that ended in an error (raised, stopped by a budget, or failed to start).");
    dt_metrics_describe(rt->o.metrics, "dt_flow_reloads_total", "counter",
                        "Flow files compiled: result=ok (a new version) or error (the previous version stays).");
    dt_metrics_describe(rt->o.metrics, "dt_flow_version", "gauge",
                        "Current version of each flow (0 once its file was removed).");
    dt_metrics_describe(rt->o.metrics, "dt_calls_active", "gauge", "Calls whose flow runs, per flow version.");
    dt_metrics_describe(rt->o.metrics, "dt_flow_memory_stops_total", "counter",
                        "Flows stopped for Lua memory: cap=call (limits.call_memory) or cap=global (the call "
                        "holding the most when limits.lua_memory_bytes was reached).");
  }
  lua_State *L = lua_newstate(l_alloc, rt);
  if (!L) {
    dt_runtime_free(rt);
    return dt_seterr(err, errlen, DT_ENOMEM, "cannot create the Lua state");
  }
  rt->L = L;
  *(dt_call_t **)lua_getextraspace(L) = NULL;
  lua_setwarnf(L, warnf, rt);
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},   {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_OSLIBNAME, luaopen_os},
                                  {LUA_DBLIBNAME, luaopen_debug}};
  for (size_t i = 0; i < DT_ARRAY_SIZE(libs); i++) {
    luaL_requiref(L, libs[i].name, libs[i].func, 1);
    lua_pop(L, 1);
  }
  /* string.dump makes binary chunks; nothing in dialtone needs it. */
  lua_getglobal(L, LUA_STRLIBNAME);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  /* Library functions charge their work to the same budget (issue 10, point 3). Before
     the prelude, which snapshots the library tables for the sandbox. */
  rt->meter.charge = meter_charge;
  rt->meter.ud = rt;
  dt_costed_open(L, &rt->meter);

  int rc;
  dt__lua_call_open(L); /* methods */
  lua_createtable(L, 0, 8); /* internals */
  lua_pushcfunction(L, l_prompt_exists);
  lua_setfield(L, -2, "prompt_exists");
  lua_pushcfunction(L, l_lib_source);
  lua_setfield(L, -2, "lib_source");
  lua_pushcfunction(L, l_is_error_mt);
  lua_setfield(L, -2, "is_error");
  lua_createtable(L, 0, 4);
  dt__lua_dialtone_funcs(L);
  lua_setfield(L, -2, "dialtone");
  if ((rc = load_embedded(L, "api_schema", err, errlen)) != 0) goto fail;
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ELUA, "api_schema: %s", lua_tostring(L, -1));
    goto fail;
  }
  lua_setfield(L, -2, "schema");
  if ((rc = load_embedded(L, "prelude", err, errlen)) != 0) goto fail;
  lua_insert(L, -3); /* prelude, methods, internals */
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ELUA, "prelude: %s", lua_tostring(L, -1));
    goto fail;
  }
  if (!lua_istable(L, -1)) {
    rc = dt_seterr(err, errlen, DT_ELUA, "prelude did not return its table");
    goto fail;
  }
  lua_getfield(L, -1, "run");
  rt->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, -1, "make_env");
  rt->make_env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rt->prelude_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  *out = rt;
  return 0;
fail:
  dt_runtime_free(rt);
  return rc;
}

void dt_runtime_free(dt_runtime_t *rt) {
  if (!rt) return;
  rt->closing = true;
  for (dt_flow_t *f = rt->flows; f;) {
    dt_flow_t *next = f->next;
    if (f->current) version_unref(rt, f->current);
    free(f->name);
    free(f->fail_msg);
    free(f);
    f = next;
  }
  if (rt->L) lua_close(rt->L);
  free(rt->owners); /* after lua_close: freeing blocks looks their owners up */
  dt__prompt_seen_free(rt);
  free(rt->flows_dir);
  free(rt->prompts_dir);
  free(rt->prompts_base_url);
  free(rt);
}
