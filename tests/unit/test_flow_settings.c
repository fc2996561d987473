/*
 * test_flow_settings.c — lua/flow_settings.c: the config's flow_settings as a Lua table
 * (strings, integers kept integers, other numbers, booleans), and through the runtime as
 * dialtone.settings in a flow's environment, read-only.
 */
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"
#include "flow_settings.h"

DT_TEST(settings_become_a_table) {
  dt_config_settings_t s = {0};
  char err[128];
  dt_settings_set(&s, "queue", DT_SETTING_STRING, "east", 0, false, err, sizeof err);
  dt_settings_set(&s, "retries", DT_SETTING_NUMBER, NULL, 3, false, err, sizeof err);
  dt_settings_set(&s, "ratio", DT_SETTING_NUMBER, NULL, 0.5, false, err, sizeof err);
  dt_settings_set(&s, "vip", DT_SETTING_BOOLEAN, NULL, 0, true, err, sizeof err);
  rt_fixture_t f;
  dt_runtime_options_t o = {.settings = &s};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  lua_State *L = f.rt->L;
  dt__flow_settings_push(L, &s);
  lua_setglobal(L, "S");
  const char *e = rtf_eval(&f, "assert(S.queue == 'east' and math.type(S.retries) == 'integer' and S.retries == 3 "
                               "and S.ratio == 0.5 and S.vip == true)");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  dt__flow_settings_push(L, NULL);
  lua_setglobal(L, "E");
  e = rtf_eval(&f, "assert(next(E) == nil)");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  /* a flow's environment: dialtone.settings, read-only */
  lua_rawgeti(L, LUA_REGISTRYINDEX, f.rt->make_env_ref);
  lua_pushliteral(L, "probe");
  DT_ASSERT_EQ_INT(lua_pcall(L, 1, 1, 0), LUA_OK);
  lua_setglobal(L, "ENV");
  e = rtf_eval(&f, "assert(ENV.dialtone.settings.queue == 'east') "
                   "local ok, err = pcall(function() ENV.dialtone.settings.queue = 'west' end) "
                   "assert(not ok and err:find('dialtone.settings is read%-only'), err) "
                   "assert(ENV.dialtone.settings.queue == 'east') "
                   "assert(type(ENV.dialtone.now()) == 'number' and type(ENV.dialtone.hours) == 'function')");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  rtf_close(&f);
  dt_settings_clear(&s);
}

DT_TEST_MAIN()
