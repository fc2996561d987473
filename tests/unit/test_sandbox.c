/*
 * test_sandbox.c — a flow's world (lua/sandbox.c and the embedded prelude): the prelude's
 * functions are anchored, require reads Lua source from flows_dir/lib only, and flows see
 * neither io, string.dump nor the host's globals.
 */
#include <lauxlib.h>
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

static int load(rt_fixture_t *f, const char *text, char *err, size_t n) {
  err[0] = '\0';
  return dt_runtime_load_flow(f->rt, "main", text, strlen(text), err, n);
}

DT_TEST(the_prelude_is_anchored) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  DT_ASSERT_EQ_INT(lua_rawgeti(L, LUA_REGISTRYINDEX, f.rt->run_ref), LUA_TFUNCTION);
  DT_ASSERT_EQ_INT(lua_rawgeti(L, LUA_REGISTRYINDEX, f.rt->make_env_ref), LUA_TFUNCTION);
  DT_ASSERT_EQ_INT(lua_rawgeti(L, LUA_REGISTRYINDEX, f.rt->prelude_ref), LUA_TTABLE);
  lua_settop(L, 0);
  rtf_close(&f);
}

DT_TEST(require_reads_lua_source_from_flows_lib) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  char lib[128], err[512];
  snprintf(lib, sizeof lib, "%s/lib", f.flows);
  mkdir(lib, 0755);
  rtf_write(lib, "util.lua", "return {answer = 42}");
  DT_ASSERT_EQ_INT(load(&f, "local u = require('util') assert(u.answer == 42) return function(call) end", err,
                        sizeof err),
                   0);
  DT_ASSERT(load(&f, "require('nosuch') return function(call) end", err, sizeof err) < 0);
  DT_ASSERT_CONTAINS(err, "module 'nosuch' not found");
  DT_ASSERT(load(&f, "require('../etc/passwd') return function(call) end", err, sizeof err) < 0);
  DT_ASSERT_CONTAINS(err, "require: bad module name");
  rtf_close(&f);
}

DT_TEST(flows_see_no_io_dump_or_host_globals) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_pushinteger(f.rt->L, 7);
  lua_setglobal(f.rt->L, "host_secret");
  char err[512];
  int rc = load(&f, "assert(not pcall(function() return io end) and not pcall(function() return host_secret end))\n"
                    "assert(string.dump == nil)\n"
                    "assert(type(dialtone.log) == 'function' and type(string.find) == 'function')\n"
                    "return function(call) end", err, sizeof err);
  DT_ASSERT_MSG(rc == 0, "%s", err);
  rtf_close(&f);
}

DT_TEST_MAIN()
