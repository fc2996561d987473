/*
 * config_lua.c — runs dialtone.conf.lua in a throw-away sandboxed lua_State and walks the
 * table it returns against the config schema (see config_lua.h). This is the only place
 * configuration touches Lua; everything it finds goes into dt_config_t through the
 * engine-neutral setters of config.h, so the engine never sees a Lua value.
 *
 * The walk runs inside lua_pcall (nothing it does may raise outside a protected frame),
 * but reports problems through the err buffer and a code, not by raising, so messages
 * keep the exact form "FILE: KEY.PATH: problem".
 *
 * The sandbox promises the file cannot hang or crash dialtone: text chunks only, an
 * instruction budget and a memory cap while it runs (a state from lstate.c's factory), and no finalizers (setmetatable
 * refuses a __gc field: finalizers run at lua_close with hooks off, where no budget could
 * stop them). Every error names the file and the line that raised it, whatever was raised.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lua.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/config.h"
#include "dialtone/config_lua.h"
#include "dialtone/error.h"
#include "dialtone/lstate.h"
#include "costed_lib.h"

#define CONF_MEMORY_MAX (16u * 1024 * 1024)
#define CONF_INSTRUCTIONS 1000000
#define PATH_MAX_LEN 256

/* The instruction budget is spent (lstate.h's over). */
static void conf_over(lua_State *L, lua_Debug *ar, dt_lstate_cap_t *cap) {
  (void)cap;
  /* luaL_where cannot see the running chunk from inside a hook; ar can. */
  if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
    luaL_error(L, "%s:%d: the configuration ran for more than %d instructions", ar->short_src,
               ar->currentline, CONF_INSTRUCTIONS);
  luaL_error(L, "the configuration ran for more than %d instructions", CONF_INSTRUCTIONS);
}

/* setmetatable(t, mt) without __gc (upvalue 1: the real setmetatable). Lua marks an object
   for finalization when its metatable has a __gc field at setmetatable time, whatever the
   field's value, so any __gc field is refused; one added later never marks the object. */
static int conf_setmetatable(lua_State *L) {
  lua_settop(L, 2);
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "__gc metamethods are not allowed in the configuration (a finalizer cannot be stopped)");
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

/* Message handler: error({}), error(42) and error("x", 0) carry no position, so the
   innermost Lua function on the stack (the line that raised) is named here. A message that
   already starts with the chunk's name keeps its own position. __tostring is never called
   (it could loop, and hooks would not stop it here in time). */
static int conf_msgh(lua_State *L) {
  int t = lua_type(L, 1);
  const char *msg = (t == LUA_TSTRING || t == LUA_TNUMBER) ? lua_tostring(L, 1) : NULL;
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
    size_t n = strlen(ar.short_src);
    if (msg && strncmp(msg, ar.short_src, n) == 0 && msg[n] == ':') return 1; /* positioned already */
    if (msg) lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
    else lua_pushfstring(L, "%s:%d: (error object is a %s value)", ar.short_src, ar.currentline, lua_typename(L, t));
    return 1;
  }
  if (!msg) lua_pushfstring(L, "(error object is a %s value)", lua_typename(L, t));
  else lua_pushvalue(L, 1);
  return 1;
}

static int conf_getenv(lua_State *L) {
  const char *v = getenv(luaL_checkstring(L, 1));
  if (v) lua_pushstring(L, v);
  else lua_pushnil(L);
  return 1;
}

typedef struct {
  dt_config_t *cfg;
  const char *file;
  char *err;
  size_t errlen;
  int rc;
} walk_t;

static int fail(walk_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(walk_t *w, const char *fmt, ...) {
  char msg[512];
  DT_VFORMAT(msg, fmt);
  w->rc = dt_seterr(w->err, w->errlen, DT_ECONFIG, "%s: %s", w->file, msg);
  return w->rc;
}

/* The setter's message already names the key; prefix the file. */
static int setter_result(walk_t *w, int rc, const char *msg) {
  if (rc == 0) return 0;
  return fail(w, "%s", msg);
}

static const char *type_of(lua_State *L, int idx) { return luaL_typename(L, idx); }

static int get_string(walk_t *w, lua_State *L, int idx, const char *path, const char **out) {
  if (lua_type(L, idx) != LUA_TSTRING)
    return fail(w, "%s: expected a string, got %s", path, type_of(L, idx));
  size_t len = 0;
  const char *s = lua_tolstring(L, idx, &len);
  if (strlen(s) != len) return fail(w, "%s: string contains a NUL byte", path);
  *out = s;
  return 0;
}

static int walk_table(walk_t *w, lua_State *L, int idx, const char *prefix);

static int walk_strlist(walk_t *w, lua_State *L, int idx, const char *path) {
  char msg[512];
  if (lua_type(L, idx) == LUA_TSTRING) { /* a single string is a list of one */
    const char *s;
    if (get_string(w, L, idx, path, &s)) return w->rc;
    return setter_result(w, dt_config_set_strlist(w->cfg, path, &s, 1, w->file, msg, sizeof msg), msg);
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    return fail(w, "%s: expected a list of strings, got %s", path, type_of(L, idx));
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  if (n > 64) return fail(w, "%s: more than 64 items", path);
  /* every key must be 1..n */
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int ok = lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 && lua_tointeger(L, -2) <= n;
    lua_pop(L, 1);
    if (!ok) {
      lua_pop(L, 1);
      return fail(w, "%s: expected a list of strings (a table with keys 1..n only)", path);
    }
  }
  const char *items[64];
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    char sub[PATH_MAX_LEN + 32];
    snprintf(sub, sizeof sub, "%s[%lld]", path, (long long)i);
    int rc = get_string(w, L, -1, sub, &items[i - 1]);
    lua_pop(L, 1); /* the string stays alive: the table holds it */
    if (rc) return rc;
  }
  return setter_result(w, dt_config_set_strlist(w->cfg, path, items, (size_t)n, w->file, msg, sizeof msg),
                       msg);
}

#define ROUTE_KEYS "match, subject, policy_recording, transferred, meeting and flow"

/* A route's yes/no condition: true or false (dt_route_flag_t). */
static int get_flag(walk_t *w, lua_State *L, int idx, const char *path, uint8_t *out) {
  if (lua_type(L, idx) != LUA_TBOOLEAN) return fail(w, "%s: expected true or false, got %s", path, type_of(L, idx));
  *out = lua_toboolean(L, idx) ? DT_ROUTE_YES : DT_ROUTE_NO;
  return 0;
}

static int walk_route(walk_t *w, lua_State *L, int idx, lua_Integer i) {
  char path[64];
  snprintf(path, sizeof path, "routes[%lld]", (long long)i);
  if (lua_type(L, idx) != LUA_TTABLE)
    return fail(w, "%s: expected a table {match=, flow=}, got %s", path, type_of(L, idx));
  dt_config_route_t r = {0};
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      const char *kt = type_of(L, -2);
      lua_pop(L, 2);
      return fail(w, "%s: unexpected %s key (a route has " ROUTE_KEYS ")", path, kt);
    }
    const char *k = lua_tostring(L, -2);
    char sub[128];
    snprintf(sub, sizeof sub, "%s.%.32s", path, k);
    int rc;
    /* the strings stay alive: the routes table holds them */
    if (strcmp(k, "match") == 0) rc = get_string(w, L, -1, sub, (const char **)&r.match);
    else if (strcmp(k, "flow") == 0) rc = get_string(w, L, -1, sub, (const char **)&r.flow);
    else if (strcmp(k, "subject") == 0) rc = get_string(w, L, -1, sub, (const char **)&r.subject);
    else if (strcmp(k, "policy_recording") == 0) rc = get_flag(w, L, -1, sub, &r.policy_recording);
    else if (strcmp(k, "transferred") == 0) rc = get_flag(w, L, -1, sub, &r.transferred);
    else if (strcmp(k, "meeting") == 0) rc = get_flag(w, L, -1, sub, &r.meeting);
    else rc = fail(w, "%s: unknown key (a route has " ROUTE_KEYS ")", sub);
    lua_pop(L, 1);
    if (rc) {
      lua_pop(L, 1);
      return rc;
    }
  }
  if (!r.match && !r.subject && !r.policy_recording && !r.transferred && !r.meeting)
    return fail(w, "%s: no condition (give match = the called identity's id or \"*\", or subject, "
                   "policy_recording, transferred, meeting)", path);
  if (r.flow == NULL) return fail(w, "%s.flow: missing (the flow's name)", path);
  char msg[512];
  return setter_result(w, dt_config_add_route(w->cfg, &r, msg, sizeof msg), msg);
}

static int walk_routes(walk_t *w, lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE)
    return fail(w, "routes: expected %s, got %s", dt_config_type_name(DT_CFG_ROUTES), type_of(L, idx));
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  dt_config_clear_routes(w->cfg, w->file);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    int rc = walk_route(w, L, lua_gettop(L), i);
    lua_pop(L, 1);
    if (rc) return rc;
  }
  /* Named members (routes.default) go through the generic table walk; list items are done. */
  return walk_table(w, L, idx, "routes");
}

/* flow_settings = {name = string | number | boolean, ...} */
static int walk_settings(walk_t *w, lua_State *L, int idx, const char *path) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    return fail(w, "%s: expected %s, got %s", path, dt_config_type_name(DT_CFG_SETTINGS), type_of(L, idx));
  char msg[512];
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) return fail(w, "%s: names must be strings, got %s", path, type_of(L, -2));
    const char *name = lua_tostring(L, -2);
    int t = lua_type(L, -1), rc;
    if (t == LUA_TSTRING)
      rc = dt_config_set_setting(w->cfg, name, DT_SETTING_STRING, lua_tostring(L, -1), 0, false, w->file, msg, sizeof msg);
    else if (t == LUA_TNUMBER)
      rc = dt_config_set_setting(w->cfg, name, DT_SETTING_NUMBER, NULL, lua_tonumber(L, -1), false, w->file, msg,
                                 sizeof msg);
    else if (t == LUA_TBOOLEAN)
      rc = dt_config_set_setting(w->cfg, name, DT_SETTING_BOOLEAN, NULL, 0, lua_toboolean(L, -1), w->file, msg,
                                 sizeof msg);
    else
      return fail(w, "%s.%s: expected a string, a number or a boolean, got %s", path, name, type_of(L, -1));
    if (rc) return setter_result(w, rc, msg);
    lua_pop(L, 1);
  }
  return 0;
}

static int walk_value(walk_t *w, lua_State *L, int idx, const char *path) {
  const dt_config_key_t *k = dt_config_find_key(path);
  char msg[512];
  if (k == NULL) {
    const char *s = dt_config_suggest(path);
    if (s) return fail(w, "%s: unknown key (did you mean %s?)", path, s);
    return fail(w, "%s: unknown key", path);
  }
  switch (k->type) {
  case DT_CFG_TABLE:
    if (lua_type(L, idx) != LUA_TTABLE) return fail(w, "%s: expected a table, got %s", path, type_of(L, idx));
    return walk_table(w, L, idx, path);
  case DT_CFG_ROUTES:
    return walk_routes(w, L, idx);
  case DT_CFG_STRING: {
    const char *s;
    if (get_string(w, L, idx, path, &s)) return w->rc;
    return setter_result(w, dt_config_set_string(w->cfg, path, s, w->file, msg, sizeof msg), msg);
  }
  case DT_CFG_INTEGER:
  case DT_CFG_NUMBER: {
    if (lua_type(L, idx) != LUA_TNUMBER)
      return fail(w, "%s: expected %s, got %s", path, dt_config_type_name(k->type), type_of(L, idx));
    double v = lua_isinteger(L, idx) ? (double)lua_tointeger(L, idx) : (double)lua_tonumber(L, idx);
    return setter_result(w, dt_config_set_number(w->cfg, path, v, w->file, msg, sizeof msg), msg);
  }
  case DT_CFG_STRLIST:
    return walk_strlist(w, L, idx, path);
  case DT_CFG_SETTINGS:
    return walk_settings(w, L, idx, path);
  }
  return fail(w, "%s: unsupported key type", path);
}

/* Walks the string keys of the table at idx; prefix "" for the top level. For "routes"
   the integer keys 1..#t are the route list (handled by walk_routes) and are skipped. */
static int walk_table(walk_t *w, lua_State *L, int idx, const char *prefix) {
  int is_routes = strcmp(prefix, "routes") == 0;
  lua_Integer n = is_routes ? (lua_Integer)lua_rawlen(L, idx) : 0;
  if (!lua_checkstack(L, 8)) return fail(w, "%s: tables nested too deeply", prefix);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int vidx = lua_gettop(L);
    if (lua_type(L, -2) != LUA_TSTRING) {
      int list_item = is_routes && lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
                      lua_tointeger(L, -2) <= n;
      if (list_item) {
        lua_pop(L, 1);
        continue;
      }
      char shown[64];
      if (lua_type(L, -2) == LUA_TNUMBER) snprintf(shown, sizeof shown, "[%g]", (double)lua_tonumber(L, -2));
      else snprintf(shown, sizeof shown, "a %s", type_of(L, -2));
      lua_pop(L, 2);
      return fail(w, "%s%skeys must be names, got %s%s", prefix, prefix[0] ? ": " : "", shown,
                  prefix[0] ? "" : " (the file must return a table of named keys)");
    }
    size_t klen = 0;
    const char *key = lua_tolstring(L, -2, &klen);
    char path[PATH_MAX_LEN];
    if (klen > 64 || strlen(key) != klen) {
      lua_pop(L, 2);
      return fail(w, "%s%s%.32s...: unknown key", prefix, prefix[0] ? "." : "", key);
    }
    snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", key);
    int rc = walk_value(w, L, vidx, path);
    lua_pop(L, 1);
    if (rc) {
      lua_pop(L, 1);
      return rc;
    }
  }
  return 0;
}

static int walk_entry(lua_State *L) {
  walk_t *w = lua_touserdata(L, lua_upvalueindex(1));
  walk_table(w, L, 1, "");
  return 0;
}

/* Under lua_pcall, on a state made by the factory with the libraries open: the globals a
   configuration may not have, and getenv and the __gc-refusing setmetatable. */
static int protected_open(lua_State *L) {
  static const char *const removed[] = {"load", "loadfile", "dofile", "print", "collectgarbage", "require"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(removed); i++) {
    lua_pushnil(L);
    lua_setglobal(L, removed[i]);
  }
  lua_pushcfunction(L, conf_getenv);
  lua_setglobal(L, "getenv");
  lua_getglobal(L, "setmetatable");
  lua_pushcclosure(L, conf_setmetatable, 1);
  lua_setglobal(L, "setmetatable");
  return 0;
}

/* The costed library functions (costed_lib.h: patterns, rep, table.move...) charge their
   work here, against the same bound as the instruction hook's, so one library call cannot
   hang the loader (tests/fuzz/corpus/fuzz_config/hang-string-pattern.lua). */
static void conf_charge(lua_State *L, dt_cost_meter_t *m, uint64_t units, const char *what) {
  uint64_t *used = m->ud;
  *used += units;
  if (*used <= CONF_INSTRUCTIONS) return;
  luaL_where(L, 1); /* the line that called the library function */
  lua_pushfstring(L, "the configuration ran for more than %d instructions (in %s)", CONF_INSTRUCTIONS, what);
  lua_concat(L, 2);
  lua_error(L);
}

int dt_config_load_lua(dt_config_t *cfg, const char *path, bool required, char *err, size_t errlen) {
  if (path == NULL) path = DT_CONFIG_DEFAULT_FILE;
  char *src = NULL;
  size_t len = 0;
  int rc = dt_read_file(path, DT_CONFIG_FILE_MAX, &src, &len);
  if (rc == DT_ENOENT && !required) return 0;
  if (rc == DT_ENOENT)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: no such file (check the --config path)", path);
  if (rc == DT_ETOOBIG)
    return dt_seterr(err, errlen, DT_ECONFIG, "%s: larger than %d bytes", path, DT_CONFIG_FILE_MAX);
  if (rc) return dt_seterr(err, errlen, DT_ECONFIG, "%s: cannot read: %s", path, dt_strerror(rc));

  walk_t w = {cfg, path, err, errlen, 0};
  uint64_t library_units = 0;
  dt_cost_meter_t meter = {conf_charge, &library_units};
  /* The hook runs once, after CONF_INSTRUCTIONS instructions. */
  dt_lstate_cap_t cap = {.limit = CONF_MEMORY_MAX,
                         .hook_every = CONF_INSTRUCTIONS,
                         .step_limit = CONF_INSTRUCTIONS - 1,
                         .over = conf_over};
  dt_lstate_opts_t o = {.cap = &cap,
                        .libs = DT_LSTATE_BASE | DT_LSTATE_STRING | DT_LSTATE_TABLE | DT_LSTATE_MATH | DT_LSTATE_UTF8,
                        .meter = &meter};
  char why[128];
  lua_State *L = dt_lstate_new(&o, why, sizeof why);
  if (L == NULL) {
    free(src);
    return dt_seterr(err, errlen, DT_ENOMEM, "%s: %s", path, why);
  }
  lua_pushcfunction(L, protected_open);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ECONFIG, "%s: cannot set up the sandbox", path);
    goto out;
  }
  char chunkname[PATH_MAX_LEN + 2];
  snprintf(chunkname, sizeof chunkname, "@%s", path);
  /* Text only: a precompiled chunk could crash the VM. */
  if (luaL_loadbufferx(L, src, len, chunkname, "t") != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ECONFIG, "%s", lua_tostring(L, -1));
    goto out;
  }
  lua_pushcfunction(L, conf_msgh);
  lua_insert(L, -2);
  dt_lstate_arm(L);
  int status = lua_pcall(L, 0, 1, -2);
  dt_lstate_disarm(L);
  if (status != LUA_OK) {
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error object is not a string)";
    rc = dt_seterr(err, errlen, DT_ECONFIG, "%s%s%s", status == LUA_ERRMEM ? path : "",
                   status == LUA_ERRMEM ? ": uses too much memory: " : "", msg);
    goto out;
  }
  if (lua_type(L, -1) != LUA_TTABLE) {
    rc = dt_seterr(err, errlen, DT_ECONFIG, "%s: must return a table (got %s); write `return { listen = ... }`",
                   path, luaL_typename(L, -1));
    goto out;
  }
  lua_pushlightuserdata(L, &w);
  lua_pushcclosure(L, walk_entry, 1);
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    rc = dt_seterr(err, errlen, DT_ECONFIG, "%s: %s", path, lua_tostring(L, -1));
    goto out;
  }
  rc = w.rc;
out:
  lua_close(L);
  free(src);
  return rc;
}

int dt_config_load(dt_config_t *cfg, const char *file, const dt_config_override_t *overrides,
                   size_t override_count, char *err, size_t errlen) {
  dt_config_init(cfg);
  int rc = dt_config_load_lua(cfg, file, file != NULL, err, errlen);
  if (rc) return rc;
  if ((rc = dt_config_apply_env(cfg, err, errlen))) return rc;
  for (size_t i = 0; i < override_count; i++) {
    rc = dt_config_set_text(cfg, overrides[i].path, overrides[i].value, overrides[i].origin, err, errlen);
    if (rc) return rc;
  }
  return dt_config_finalize(cfg, err, errlen);
}
