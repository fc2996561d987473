/*
 * rt_fixture.h — a flow runtime over a temporary directory for the lua/ unit tests
 * (test_runtime.c, test_flows.c, test_call_lua.c, test_scheduler.c ...): flows in DIR/flows,
 * prompts in DIR/prompts, and fake calls that the registry has already released (so the
 * scheduler can run a flow to its end without a registry, a network or a loop).
 */
#ifndef DT_RT_FIXTURE_H
#define DT_RT_FIXTURE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lauxlib.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/runtime.h"
#include "rt_internal.h"

typedef struct {
  char dir[64], flows[96], prompts[96];
  dt_runtime_t *rt;
} rt_fixture_t;

static inline void rtf_write(const char *dir, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static inline void rtf_remove(const char *dir, const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
}

/* NULL options: the defaults (budget 10M instructions). */
static inline int rtf_open(rt_fixture_t *f, const dt_runtime_options_t *opts) {
  snprintf(f->dir, sizeof f->dir, "/tmp/dt_rtf_XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->flows, sizeof f->flows, "%s/flows", f->dir);
  snprintf(f->prompts, sizeof f->prompts, "%s/prompts", f->dir);
  mkdir(f->flows, 0755);
  mkdir(f->prompts, 0755);
  rtf_write(f->prompts, "welcome.wav", "RIFF");
  dt_runtime_options_t o = opts ? *opts : (dt_runtime_options_t){0};
  o.flows_dir = f->flows;
  o.prompts_dir = f->prompts;
  o.prompts_base_url = "https://bot.example/prompts/";
  char err[256];
  return dt_runtime_new(&o, &f->rt, err, sizeof err);
}

static inline void rtf_close(rt_fixture_t *f) {
  dt_runtime_free(f->rt);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", f->dir);
}

/* A call the registry has released: the flow runs, and its end changes nothing in core. */
static inline void rtf_call(dt_call_t *c, const char *id, const char *flow) {
  memset(c, 0, sizeof *c);
  c->id = (char *)id;
  c->flow = (char *)flow;
  c->flags = DT_CALLF_RELEASED;
}

/* Runs Lua text on the runtime's main state; returns its error message or NULL. */
static inline const char *rtf_eval(rt_fixture_t *f, const char *code) {
  lua_State *L = f->rt->L;
  lua_settop(L, 0);
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
    return luaL_tolstring(L, -1, NULL); /* error objects have a __tostring */
  return NULL;
}

/* Runs code as the flow of call c would (in a coroutine, c as the running call); returns
   its error message or NULL. */
static inline const char *rtf_in_flow(rt_fixture_t *f, dt_call_t *c, const char *code) {
  lua_State *L = f->rt->L;
  lua_settop(L, 0);
  *(dt_call_t **)lua_getextraspace(L) = c; /* a new thread copies the main thread's */
  lua_State *co = lua_newthread(L);
  *(dt_call_t **)lua_getextraspace(L) = NULL;
  if (luaL_loadstring(co, code) != LUA_OK) return lua_tostring(co, -1);
  int nres = 0;
  int st = lua_resume(co, L, 0, &nres);
  if (st == LUA_OK || st == LUA_YIELD) return NULL;
  lua_xmove(co, L, 1);
  return luaL_tolstring(L, -1, NULL); /* error objects have a __tostring */
}

#endif
