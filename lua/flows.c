/*
 * flows.c — the flow registry (see rt_internal.h for the modules): each flow's versions,
 * compiling a flow in its own sandboxed _ENV (prelude.make_env) with its top level run under
 * the instruction budget, and reloading flows_dir (only changed text is compiled, and the
 * flows that require a changed module of lib/ (libs.c); a file that does not compile changes
 * nothing; a removed file's flow takes no new calls).
 *
 * Promises: a version lives while it is current or a call runs on it (dt__flows_take /
 * dt__flows_drop); the dt_flow_version, dt_calls_active and dt_flow_reloads_total metrics
 * follow. Owns rt->flows.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "flows.h"
#include "libs.h"
#include "prompts.h"
#include "rt_state.h"

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}

dt_flow_t *dt__flows_find(dt_runtime_t *rt, const char *name) {
  for (dt_flow_t *f = rt->flows; f; f = f->next)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

/* dt_calls_active{flow,version}: calls whose flow runs on that version. */
static void version_labels(const dt_flow_version_t *v, char *labels, size_t len) {
  snprintf(labels, len, "flow=\"%s\",version=\"%u\"", v->flow->name, v->version);
}

static void version_gauge(dt_runtime_t *rt, const dt_flow_version_t *v, double delta) {
  if (!rt->o.metrics) return;
  char labels[128];
  version_labels(v, labels, sizeof labels);
  dt_metrics_add(rt->o.metrics, "dt_calls_active", labels, delta);
}

/* A version ends when it is neither current nor run by a call: its series goes with it, so
   /metrics does not keep every old version at 0 forever. */
static void version_unref(dt_runtime_t *rt, dt_flow_version_t *v) {
  if (--v->refs > 0) return;
  if (rt->o.metrics) {
    char labels[128];
    version_labels(v, labels, sizeof labels);
    dt_metrics_remove(rt->o.metrics, "dt_calls_active", labels);
  }
  if (rt->L) luaL_unref(rt->L, LUA_REGISTRYINDEX, v->fn_ref);
  free(v);
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

void dt__flows_take(dt_runtime_t *rt, dt_lcall_t *lc, dt_flow_t *f) {
  lc->ver = f->current;
  lc->ver->refs++;
  version_gauge(rt, lc->ver, 1);
}

void dt__flows_drop(dt_runtime_t *rt, dt_lcall_t *lc) {
  if (!lc->ver) return;
  version_gauge(rt, lc->ver, -1);
  version_unref(rt, lc->ver);
  lc->ver = NULL;
}

unsigned dt__flows_version(dt_runtime_t *rt, const char *name) {
  dt_flow_t *f = dt__flows_find(rt, name);
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

static dt_flow_t *flow_get(dt_runtime_t *rt, const char *name) {
  dt_flow_t *f = dt__flows_find(rt, name);
  if (!f) {
    f = dt_xcalloc(1, sizeof *f);
    f->name = dt_xstrdup(name);
    f->next = rt->flows;
    rt->flows = f;
  }
  return f;
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
  lua_sethook(L, dt__rt_state_hook, LUA_MASKCOUNT, DT_RT_HOOK_STEP);
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
  dt_flow_t *f = flow_get(rt, name);
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
  f->lib_gen = rt->lib_gen; /* its require reads this snapshot of lib/ (libs.c) */
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

int dt__flows_load(dt_runtime_t *rt, const char *name, const char *text, size_t len, char *err, size_t errlen) {
  if (!valid_flow_name(name, strlen(name))) return dt_seterr(err, errlen, DT_EINVAL, "bad flow name '%s'", name);
  char chunk[96];
  snprintf(chunk, sizeof chunk, "@%s.lua", name);
  dt__libs_refresh(rt, NULL, NULL, 0); /* what require reads: lib/ as it is now */
  int rc = compile_flow(rt, name, chunk, text, len, fnv(text, len), err, errlen);
  count_reload(rt, rc == 0);
  if (rc == 0) {
    dt_flow_t *f = dt__flows_find(rt, name);
    f->mtime_ns = 0;
    f->size = -1;
  }
  return rc;
}

int dt__flows_reload(dt_runtime_t *rt, unsigned *failed_out, char *err, size_t errlen) {
  unsigned loaded = 0, failed = 0;
  DIR *d = opendir(rt->flows_dir);
  if (!d) return dt_seterr(err, errlen, DT_ENOENT, "cannot open flows directory %s: %s", rt->flows_dir, strerror(errno));
  for (dt_flow_t *f = rt->flows; f; f = f->next) f->seen = false;
  dt__prompts_forget(rt); /* a reload also looks at the prompt files afresh */
  bool first_err = true;
  /* lib/ first: a changed module gives the flows that require it a new version below */
  failed = dt__libs_refresh(rt, NULL, err, errlen);
  if (failed) first_err = false;
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
    dt_flow_t *f = dt__flows_find(rt, name);
    if (f) f->seen = true;
    bool libs_changed = f && f->lib_gen < rt->lib_gen; /* since it was last compiled */
    if (f && !libs_changed && (f->current || f->fail_hash) &&
        dt__libs_unchanged(mtime, (int64_t)st.st_size, f->mtime_ns, f->size, f->read_ns)) {
      if (f->fail_hash) { /* still broken, already reported */
        failed++;
        if (first_err && err && f->fail_msg) snprintf(err, errlen, "%s", f->fail_msg);
        first_err = false;
      }
      continue;
    }
    int64_t read_ns;
    char *text = NULL;
    size_t len = 0;
    if (dt__libs_read(path, DT_FLOW_MAX_BYTES, &read_ns, &text, &len) != 0) {
      count_reload(rt, false);
      failed++;
      continue;
    }
    uint64_t h = fnv(text, len);
    if (h == 0) h = 1; /* 0 means "no failed text" */
    bool stale = libs_changed && dt__libs_stale(rt, text, len, f->lib_gen); /* a module it requires changed */
    if (libs_changed && !stale) f->lib_gen = rt->lib_gen;
    if (f && !stale && f->current && f->hash == h) { /* touched, not changed (or a broken edit undone) */
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
    if (f && !stale && f->fail_hash == h) { /* the same broken text: reported when it first failed */
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
      f->lib_gen = rt->lib_gen; /* retried when its text or a module it requires changes again */
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

void dt__flows_free(dt_runtime_t *rt) {
  for (dt_flow_t *f = rt->flows; f;) {
    dt_flow_t *next = f->next;
    if (f->current) version_unref(rt, f->current);
    free(f->name);
    free(f->fail_msg);
    free(f);
    f = next;
  }
  rt->flows = NULL;
}
