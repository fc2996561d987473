/*
 * test_prompts.c — prompt names as flows use them (lua/prompts.c): names become URLs under
 * the base URL, http(s) URLs pass, bad and unknown names raise, and whether a prompt file
 * exists is remembered for up to a second and forgotten on demand.
 */
#include "harness/dt_test.h"
#include "prompts.h"
#include "harness/rt_fixture.h"

static int uri(lua_State *L) {
  dt_runtime_t *rt = lua_touserdata(L, lua_upvalueindex(1));
  dt__prompts_uri(L, rt, luaL_checkstring(L, 1));
  return 1;
}

/* The URL for name, or the error it raised, in out. */
static bool try_uri(rt_fixture_t *f, const char *name, char *out, size_t n) {
  lua_State *L = f->rt->L;
  lua_pushlightuserdata(L, f->rt);
  lua_pushcclosure(L, uri, 1);
  lua_pushstring(L, name);
  bool ok = lua_pcall(L, 1, 1, 0) == LUA_OK;
  snprintf(out, n, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  return ok;
}

DT_TEST(names_become_urls_under_the_base) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  char out[256];
  DT_ASSERT(try_uri(&f, "welcome", out, sizeof out));
  DT_ASSERT_EQ_STR(out, "https://bot.example/prompts/welcome.wav");
  DT_ASSERT(try_uri(&f, "welcome.wav", out, sizeof out));
  DT_ASSERT_EQ_STR(out, "https://bot.example/prompts/welcome.wav");
  DT_ASSERT(try_uri(&f, "https://cdn.example/x.wav", out, sizeof out));
  DT_ASSERT_EQ_STR(out, "https://cdn.example/x.wav");
  DT_ASSERT(!try_uri(&f, "ftp://cdn.example/x.wav", out, sizeof out));
  DT_ASSERT_CONTAINS(out, "only http and https URLs are allowed");
  DT_ASSERT(!try_uri(&f, "../secret", out, sizeof out));
  DT_ASSERT_CONTAINS(out, "bad prompt name '../secret'");
  DT_ASSERT(!try_uri(&f, "goodbye", out, sizeof out));
  DT_ASSERT_CONTAINS(out, "unknown prompt 'goodbye'");
  rtf_close(&f);
}

DT_TEST(existence_is_remembered_until_forgotten) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  DT_ASSERT(dt__prompts_exists(f.rt, "welcome"));
  DT_ASSERT(!dt__prompts_exists(f.rt, "later"));
  rtf_write(f.prompts, "later.wav", "RIFF");
  DT_ASSERT(!dt__prompts_exists(f.rt, "later")); /* the answer of a moment ago */
  dt__prompts_forget(f.rt);
  DT_ASSERT(dt__prompts_exists(f.rt, "later"));
  DT_ASSERT(dt__prompts_exists(f.rt, "welcome"));
  rtf_remove(f.prompts, "welcome.wav");
  DT_ASSERT(dt__prompts_exists(f.rt, "welcome")); /* remembered */
  dt__prompts_forget(f.rt);
  DT_ASSERT(!dt__prompts_exists(f.rt, "welcome"));
  rtf_close(&f);
}

DT_TEST(without_a_prompts_dir_nothing_exists_and_any_name_goes) {
  dt_runtime_t *rt = NULL;
  char err[128];
  dt_runtime_options_t o = {.flows_dir = "/tmp", .prompts_base_url = "http://h/p"};
  DT_ASSERT_EQ_INT(dt_runtime_new(&o, &rt, err, sizeof err), 0);
  DT_ASSERT(!dt__prompts_exists(rt, "welcome"));
  rt_fixture_t f = {.rt = rt};
  char out[256];
  DT_ASSERT(try_uri(&f, "anything/at_all", out, sizeof out));
  DT_ASSERT_EQ_STR(out, "http://h/p/anything/at_all.wav");
  dt_runtime_free(rt);
}

DT_TEST_MAIN()
