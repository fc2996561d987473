/*
 * test_call_lua.c — the primitives and dialtone functions (lua/call_lua.c): primitives
 * refused outside the call's own flow or on something not a handle, dialtone.dial/log
 * argument checks, flow waits under the timer scale.
 */
#include <stdio.h>
#include <stdlib.h>
#include "dialtone/log.h"
#include "call_handle.h"
#include "call_lua.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

static void push_handle(rt_fixture_t *f, dt_call_t *c, const char *global) {
  dt__call_handle_push(f->rt->L, f->rt, c);
  lua_setglobal(f->rt->L, global);
}

DT_TEST(primitives_belong_to_the_calls_own_flow) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "call-2", "main");
  push_handle(&f, &c, "h");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h:play('welcome')"), "call:play: this call handle belongs to another call's flow");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h.answer({})"), "bad argument");
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST(dialtone_functions_check_their_arguments) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  lua_newtable(L);
  dt__call_lua_dialtone_funcs(L);
  lua_setglobal(L, "d");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.dial{flow = 'main'}"), "dialtone.dial can only be used from a call's flow");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.log('loud', 'x')"), "dialtone.log: level must be debug, info, warn or error");
  const char *e = rtf_eval(&f, "d.log('debug', 'a', 1, true) d.print('x', nil)");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  rtf_close(&f);
}

/* dialtone.log(level, msg, {fields}): the table as the last argument becomes structured
   fields in the line; bad fields raise naming themselves, and nothing is logged. */
DT_TEST(dialtone_log_takes_structured_fields) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  lua_State *L = f.rt->L;
  lua_newtable(L);
  dt__call_lua_dialtone_funcs(L);
  lua_setglobal(L, "d");
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  dt_log_set_output(mem);
  dt_log_set_format(DT_LOG_JSON);
  const char *e = rtf_eval(&f, "d.log('info', 'lookup', 'done', {rx = '123456', attempts = 2, ok = true, ms = 1.5})");
  DT_ASSERT_MSG(e == NULL, "%s", e);
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.log('info', 'x', {['bad name'] = 1})"), "is not a tag name");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.log('info', 'x', {t = {}})"), "field 't' must be a string, a finite number or a boolean");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.log('info', 'x', {n = 0/0})"), "field 'n'");
  DT_ASSERT_CONTAINS(rtf_eval(&f, "d.log('info', 'x', {v = string.rep('a', 300)})"), "longer than");
  e = rtf_eval(&f, "d.log('info', {1, 2})"); /* a table as the only word is a word, as before */
  DT_ASSERT_MSG(e == NULL, "%s", e);
  dt_log_set_output(NULL);
  dt_log_set_format(DT_LOG_TEXT);
  fclose(mem);
  DT_ASSERT_CONTAINS(text, "\"msg\":\"lookup done\",\"fields\":{");
  DT_ASSERT_CONTAINS(text, "\"rx\":\"123456\"");
  DT_ASSERT_CONTAINS(text, "\"attempts\":2");
  DT_ASSERT_CONTAINS(text, "\"ok\":true");
  DT_ASSERT_CONTAINS(text, "\"ms\":1.5");
  int lines = 0;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  DT_ASSERT_EQ_INT(lines, 2); /* the refused ones wrote nothing */
  free(text);
  rtf_close(&f);
}

DT_TEST(flow_waits_follow_the_timer_scale) {
  rt_fixture_t f;
  dt_runtime_options_t o = {.timer_scale = 3};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  DT_ASSERT_EQ_INT(dt__call_lua_timer_ms(f.rt, 1.5), 4500);
  DT_ASSERT_EQ_INT(dt__call_lua_timer_ms(f.rt, 1e12), 4000000000u);
  rtf_close(&f);
}

DT_TEST_MAIN()
