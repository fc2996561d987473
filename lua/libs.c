/*
 * libs.c — the flows' library modules, {flows_dir}/lib/NAME.lua (see rt_internal.h for the
 * modules): what `require` reads, and which flows an edit of a module concerns.
 *
 * A reload (flows.c) first rescans lib/ here. A module whose text changed is compiled
 * (syntax only: its top level runs when a flow requires it); if it compiles, the module
 * records get its text and a new snapshot table (name -> source) is made, and rt->lib_gen
 * goes up; if not, the previous text stays in the snapshot and the error is logged once
 * with file and line. Flow versions keep the snapshot they were compiled with (prelude.lua:
 * make_env asks internals.lib_snapshot() and require reads internals.lib_source(name,
 * snapshot)), so a running call never sees a module change under it, and a module first
 * required mid-call comes from the same snapshot as the rest.
 *
 * Promises: at most DT_LIBS_MAX modules of at most DT_LIB_MAX_BYTES each; names are
 * letters, digits and _; only Lua source is read. Owns rt->libs and rt->libs_ref.
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
#include "libs.h"
#include "rt_state.h"

static bool valid_lib_name(const char *s, size_t n) {
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

static dt_lib_t *lib_find(dt_runtime_t *rt, const char *name) {
  for (dt_lib_t *l = rt->libs; l; l = l->next)
    if (strcmp(l->name, name) == 0) return l;
  return NULL;
}

bool dt__libs_unchanged(int64_t mtime, int64_t size, int64_t seen_mtime, int64_t seen_size, int64_t read_ns) {
  return mtime == seen_mtime && size == seen_size && mtime + 2 * (int64_t)1000000000 < read_ns;
}

int dt__libs_read(const char *path, size_t limit, int64_t *read_ns, char **text, size_t *len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  *read_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  int rc = dt_read_file(path, limit, text, len);
  if (rc != 0) dt_log(DT_LOG_ERROR, NULL, "%s: cannot read (larger than %zu bytes, or unreadable)", path, limit);
  return rc;
}

static void set_fail(dt_lib_t *l, char *text, size_t len, const char *msg) {
  free(l->fail_text);
  free(l->fail_msg);
  l->fail_text = text;
  l->fail_len = len;
  l->fail_msg = msg ? dt_xstrdup(msg) : NULL;
}

/* Builds the snapshot table from the records (protected: it allocates under the cap). */
static int build_snapshot(lua_State *L) {
  dt_runtime_t *rt = lua_touserdata(L, 1);
  lua_createtable(L, 0, 8);
  for (dt_lib_t *l = rt->libs; l; l = l->next) {
    if (!l->text) continue;
    lua_pushlstring(L, l->text, l->len);
    lua_setfield(L, -2, l->name);
  }
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (rt->libs_ref > 0) luaL_unref(L, LUA_REGISTRYINDEX, rt->libs_ref);
  rt->libs_ref = ref;
  return 0;
}

/* Checks that text compiles; on failure writes "path:line: message" into msg. */
static bool compiles(dt_runtime_t *rt, const char *path, const char *text, size_t len, char *msg, size_t msglen) {
  lua_State *L = rt->L;
  char chunk[1500];
  snprintf(chunk, sizeof chunk, "@%s", path);
  int top = lua_gettop(L);
  int st = luaL_loadbufferx(L, text, len, chunk, "t");
  if (st != LUA_OK) snprintf(msg, msglen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "out of memory");
  lua_settop(L, top);
  return st == LUA_OK;
}

unsigned dt__libs_refresh(dt_runtime_t *rt, bool *changed_out, char *err, size_t errlen) {
  unsigned failed = 0;
  bool changed = rt->lib_gen == 0; /* the first scan makes the first snapshot, even empty */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/lib", rt->flows_dir);
  for (dt_lib_t *l = rt->libs; l; l = l->next) l->seen = false;
  DIR *d = opendir(dir);
  struct dirent *de;
  size_t count = 0;
  while (d && (de = readdir(d)) != NULL) {
    const char *fn = de->d_name;
    size_t n = strlen(fn);
    if (fn[0] == '.' || n < 5 || strcmp(fn + n - 4, ".lua") != 0) continue;
    if (n > 9 && strcmp(fn + n - 9, "_test.lua") == 0) continue;
    if (!valid_lib_name(fn, n - 4)) {
      dt_log(DT_LOG_WARN, NULL, "%s/%s: not a valid module name (letters, digits and _); skipped", dir, fn);
      continue;
    }
    char path[1400], name[72];
    snprintf(path, sizeof path, "%s/%s", dir, fn);
    memcpy(name, fn, n - 4);
    name[n - 4] = '\0';
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    dt_lib_t *l = lib_find(rt, name);
    if (count >= DT_LIBS_MAX) {
      dt_log(DT_LOG_ERROR, NULL, "%s: more than %d modules; %s skipped", dir, DT_LIBS_MAX, fn);
      continue;
    }
    count++;
    if (!l) {
      l = dt_xcalloc(1, sizeof *l);
      l->name = dt_xstrdup(name);
      l->next = rt->libs;
      rt->libs = l;
    }
    l->seen = true;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if ((l->text || l->fail_text) && dt__libs_unchanged(mtime, (int64_t)st.st_size, l->mtime_ns, l->size, l->read_ns)) {
      if (l->fail_text) {
        failed++;
        if (failed == 1 && err && l->fail_msg) snprintf(err, errlen, "%s", l->fail_msg);
      }
      continue;
    }
    int64_t read_ns;
    char *text = NULL;
    size_t len = 0;
    if (dt__libs_read(path, DT_LIB_MAX_BYTES, &read_ns, &text, &len) != 0) {
      failed++;
      continue;
    }
    l->mtime_ns = mtime;
    l->size = (int64_t)st.st_size;
    l->read_ns = read_ns;
    if (l->text && l->len == len && memcmp(l->text, text, len) == 0) { /* touched, or a broken edit undone */
      if (l->fail_text) dt_log(DT_LOG_INFO, NULL, "module %s: the file is the version in use again", name);
      set_fail(l, NULL, 0, NULL);
      free(text);
      continue;
    }
    if (l->fail_text && l->fail_len == len && memcmp(l->fail_text, text, len) == 0) { /* reported already */
      free(text);
      failed++;
      if (failed == 1 && err && l->fail_msg) snprintf(err, errlen, "%s", l->fail_msg);
      continue;
    }
    char msg[1024];
    if (!compiles(rt, path, text, len, msg, sizeof msg)) {
      dt_log(DT_LOG_ERROR, NULL, "module %s not loaded (%s): %s", name,
             l->text ? "the previous version stays in use" : "flows that require it cannot load", msg);
      set_fail(l, text, len, msg);
      if (rt->o.metrics) dt_metrics_inc(rt->o.metrics, "dt_flow_reloads_total", "result=\"error\"");
      failed++;
      if (failed == 1 && err) snprintf(err, errlen, "%s", msg);
      continue;
    }
    set_fail(l, NULL, 0, NULL);
    free(l->text);
    l->text = text;
    l->len = len;
    l->gen = rt->lib_gen + 1;
    changed = true;
    dt_log(DT_LOG_INFO, NULL, "module %s: new text (flows that require it get a new version)", name);
  }
  if (d) closedir(d);
  for (dt_lib_t **pl = &rt->libs; *pl;) {
    dt_lib_t *l = *pl;
    if (l->seen) {
      pl = &l->next;
      continue;
    }
    if (l->text) {
      dt_log(DT_LOG_INFO, NULL, "module %s: file removed; flows that require it are reloaded", l->name);
      free(l->text);
      l->text = NULL;
      l->len = 0;
      l->gen = rt->lib_gen + 1;
      changed = true;
    }
    set_fail(l, NULL, 0, NULL);
    l->mtime_ns = 0;
    pl = &l->next; /* kept (without text): its gen tells the flows naming it to reload */
  }
  if (changed) {
    lua_State *L = rt->L;
    lua_pushcfunction(L, build_snapshot);
    lua_pushlightuserdata(L, rt);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      dt_log(DT_LOG_ERROR, NULL, "modules: out of Lua memory for the new snapshot; the previous one stays");
      lua_pop(L, 1);
      changed = false;
    } else {
      rt->lib_gen++;
    }
  }
  if (changed_out) *changed_out = changed;
  return failed;
}

/* Whether text names `name` as a quoted string: "name", 'name' or [[name]]. */
static bool names(const char *text, size_t len, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 1; i + n < len; i++) {
    char q = text[i - 1];
    if (q != '"' && q != '\'' && q != '[') continue;
    if (memcmp(text + i, name, n) != 0) continue;
    char e = text[i + n];
    if ((q == '[' && e == ']') || (q != '[' && e == q)) return true;
  }
  return false;
}

bool dt__libs_stale(dt_runtime_t *rt, const char *text, size_t len, unsigned since) {
  size_t n = 0;
  for (dt_lib_t *l = rt->libs; l; l = l->next) n++;
  if (n == 0) return false;
  /* reached[i]: module i is named by the flow or by a module reached before */
  dt_lib_t **order = dt_xcalloc(n, sizeof *order);
  bool *reached = dt_xcalloc(n, sizeof *reached);
  size_t i = 0;
  for (dt_lib_t *l = rt->libs; l; l = l->next) order[i++] = l;
  bool stale = false, grew = true;
  for (i = 0; i < n; i++) reached[i] = names(text, len, order[i]->name);
  while (grew && !stale) {
    grew = false;
    for (i = 0; i < n; i++) {
      if (!reached[i]) continue;
      if (order[i]->gen > since) stale = true;
      for (size_t j = 0; j < n && order[i]->text; j++)
        if (!reached[j] && names(order[i]->text, order[i]->len, order[j]->name)) reached[j] = grew = true;
    }
  }
  free(order);
  free(reached);
  return stale;
}

int dt__libs_l_snapshot(lua_State *L) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  if (rt->lib_gen == 0) dt__libs_refresh(rt, NULL, NULL, 0);
  if (rt->libs_ref > 0) lua_rawgeti(L, LUA_REGISTRYINDEX, rt->libs_ref);
  else lua_newtable(L);
  return 1;
}

int dt__libs_l_source(lua_State *L) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  size_t n;
  const char *name = luaL_checklstring(L, 1, &n);
  if (!valid_lib_name(name, n))
    return luaL_error(L, "require: bad module name '%s' (letters, digits and _, at most 64)", name);
  char path[1100];
  snprintf(path, sizeof path, "%s/lib/%s.lua", rt->flows_dir, name);
  if (lua_istable(L, 2) && lua_getfield(L, 2, name) == LUA_TSTRING) {
    lua_pushfstring(L, "@%s", path);
    return 2;
  }
  lua_pushnil(L);
  dt_lib_t *l = lib_find(rt, name);
  if (l && l->fail_msg && !l->text)
    lua_pushfstring(L, "module '%s' does not compile: %s", name, l->fail_msg);
  else
    lua_pushfstring(L, "module '%s' not found (looked for %s)", name, path);
  return 2;
}

void dt__libs_free(dt_runtime_t *rt) {
  for (dt_lib_t *l = rt->libs; l;) {
    dt_lib_t *next = l->next;
    free(l->name);
    free(l->text);
    free(l->fail_text);
    free(l->fail_msg);
    free(l);
    l = next;
  }
  rt->libs = NULL;
}
