/*
 * test_libs.c — the modules of flows/lib (lua/libs.c): a changed module gives the flows
 * that require it (directly or through another module) a new version at the next reload
 * and leaves the others alone; a module that does not compile is refused with file:line
 * and the previous text keeps serving; a flow version keeps the snapshot it was compiled
 * with, even for a module it first requires later.
 */
#include "harness/dt_test.h"
#include "flows.h"
#include "libs.h"
#include "harness/rt_fixture.h"

static int reload(rt_fixture_t *f, unsigned *failed, char *err, size_t errlen) {
  return dt__flows_reload(f->rt, failed, err, errlen);
}

/* Runs `return require(name).value` in the environment of flow `flow`'s current version:
   the value its calls would see (a fresh version's function is called with a fake call). */
static lua_Integer value_seen(rt_fixture_t *f, const char *flow) {
  dt_flow_t *fl = dt__flows_find(f->rt, flow);
  if (!fl || !fl->current) return -1;
  lua_State *L = f->rt->L;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fl->current->fn_ref);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "value_seen: %s\n", lua_tostring(L, -1));
    lua_settop(L, 0);
    return -2;
  }
  lua_Integer v = lua_tointeger(L, -1);
  lua_settop(L, 0);
  return v;
}

typedef struct {
  rt_fixture_t f;
  char lib[160];
} fx_t;

static void fx_open(fx_t *x) {
  rtf_open(&x->f, NULL);
  snprintf(x->lib, sizeof x->lib, "%s/lib", x->f.flows);
  mkdir(x->lib, 0755);
}

/* The flows' "function(call)" is called without a call here: it returns the value. */
#define USES(mod) "local m = require('" mod "') return function() return m.value end"

DT_TEST(a_changed_module_gives_its_flows_a_new_version_and_no_other) {
  fx_t x;
  fx_open(&x);
  rtf_write(x.lib, "price.lua", "return {value = 1}");
  rtf_write(x.lib, "other.lua", "return {value = 100}");
  rtf_write(x.f.flows, "shop.lua", USES("price"));
  rtf_write(x.f.flows, "bank.lua", USES("other"));
  unsigned failed = 9;
  char err[512] = "";
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 2);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "shop"), 1);
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 0); /* nothing changed */

  rtf_write(x.lib, "price.lua", "return {value = 2} -- a longer text, so the size changes");
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 1);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT_EQ_INT(dt__flows_version(x.f.rt, "shop"), 2);
  DT_ASSERT_EQ_INT(dt__flows_version(x.f.rt, "bank"), 1);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "shop"), 2);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "bank"), 100);

  /* a module that does not compile: refused, file:line, nothing changes */
  rtf_write(x.lib, "price.lua", "return {value = }");
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(failed, 1);
  DT_ASSERT_CONTAINS(err, "lib/price.lua:1:");
  DT_ASSERT_EQ_INT(dt__flows_version(x.f.rt, "shop"), 2);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "shop"), 2);
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 0); /* still broken: still counted */
  DT_ASSERT_EQ_INT(failed, 1);
  /* a flow compiled now still gets the text that compiled */
  rtf_write(x.f.flows, "late.lua", USES("price"));
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 1);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "late"), 2);

  /* fixed: the flows that require it get it */
  rtf_write(x.lib, "price.lua", "return {value = 3}");
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 2);
  DT_ASSERT_EQ_INT(failed, 0);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "shop"), 3);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "late"), 3);
  DT_ASSERT_EQ_INT(dt__flows_version(x.f.rt, "bank"), 1);
  rtf_close(&x.f);
}

DT_TEST(a_module_required_through_another_counts) {
  fx_t x;
  fx_open(&x);
  rtf_write(x.lib, "base.lua", "return {value = 5}");
  rtf_write(x.lib, "mid.lua", "local b = require 'base' return {value = b.value * 10}");
  rtf_write(x.f.flows, "main.lua", USES("mid"));
  unsigned failed = 0;
  char err[512] = "";
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 1);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "main"), 50);
  rtf_write(x.lib, "base.lua", "return {value = 7} -- changed");
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 1);
  DT_ASSERT_EQ_INT(dt__flows_version(x.f.rt, "main"), 2);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "main"), 70);
  /* removed: the flow that needs it cannot load; its version stays */
  rtf_remove(x.lib, "base.lua");
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 0);
  DT_ASSERT_EQ_INT(failed, 1);
  DT_ASSERT_CONTAINS(err, "module 'base' not found");
  DT_ASSERT_EQ_INT(dt__flows_version(x.f.rt, "main"), 2);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "main"), 70);
  rtf_close(&x.f);
}

/* A module first required mid-call comes from the version's snapshot, not the disk. */
DT_TEST(a_version_keeps_its_snapshot_for_later_requires) {
  fx_t x;
  fx_open(&x);
  rtf_write(x.lib, "late.lua", "return {value = 1}");
  rtf_write(x.f.flows, "main.lua", "return function() return require('late').value end");
  unsigned failed = 0;
  char err[512] = "";
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 1);
  dt_flow_t *fl = dt__flows_find(x.f.rt, "main");
  dt_flow_version_t *v1 = fl->current;
  v1->refs++; /* a call runs on it */
  rtf_write(x.lib, "late.lua", "return {value = 2} -- edited");
  DT_ASSERT_EQ_INT(reload(&x.f, &failed, err, sizeof err), 1); /* named as a string: a new version */
  lua_State *L = x.f.rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, v1->fn_ref);
  DT_ASSERT_EQ_INT(lua_pcall(L, 0, 1, 0), LUA_OK);
  DT_ASSERT_EQ_INT(lua_tointeger(L, -1), 1); /* the old version: the old text */
  lua_settop(L, 0);
  DT_ASSERT_EQ_INT(value_seen(&x.f, "main"), 2);
  v1->refs--;
  if (v1->refs == 0) {
    luaL_unref(L, LUA_REGISTRYINDEX, v1->fn_ref);
    free(v1);
  }
  rtf_close(&x.f);
}

DT_TEST(stale_follows_quoted_names_only) {
  fx_t x;
  fx_open(&x);
  rtf_write(x.lib, "a.lua", "return 1");
  unsigned failed = 0;
  char err[256];
  reload(&x.f, &failed, err, sizeof err);
  const char *yes[] = {"require 'a'", "require(\"a\")", "require [[a]]"};
  const char *no[] = {"require 'ab'", "local a = 1", "-- a"};
  for (size_t i = 0; i < 3; i++) {
    DT_ASSERT(dt__libs_stale(x.f.rt, yes[i], strlen(yes[i]), 0));
    DT_ASSERT(!dt__libs_stale(x.f.rt, no[i], strlen(no[i]), 0));
    DT_ASSERT(!dt__libs_stale(x.f.rt, yes[i], strlen(yes[i]), x.f.rt->lib_gen));
  }
  rtf_close(&x.f);
}

DT_TEST_MAIN()
