/*
 * test_say.c — lua/say.c: the speech methods are on every call handle and belong to the
 * call's own flow; call.language is the default until set; the runtime's text-to-speech
 * defaults. Speech itself, the helpers, language folders and transcripts run end to end in
 * tests/flows/say_test.lua (dialtone test) and tests/integration/test_flow_say.c.
 */
#include "call_handle.h"
#include "dialtone/tts.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"

DT_TEST(methods_are_on_the_handle_and_belong_to_the_own_flow) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "call-9", "main");
  dt__call_handle_push(f.rt->L, f.rt, &c);
  lua_setglobal(f.rt->L, "h");
  static const char *const M[] = {"say", "say_digits", "say_number", "say_date", "say_time", "say_money"};
  for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
    char code[128], want[128];
    snprintf(code, sizeof code, "h:%s('1')", M[i]);
    snprintf(want, sizeof want, "call:%s: this call handle belongs to another call's flow", M[i]);
    DT_ASSERT_CONTAINS(rtf_eval(&f, code), want);
  }
  DT_ASSERT_CONTAINS(rtf_eval(&f, "h:set_language('es')"), "call:set_language: this call handle belongs to another");
  DT_ASSERT(rtf_eval(&f, "assert(h.language == 'en', h.language)") == NULL);
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST(runtime_defaults_and_options) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  DT_ASSERT_EQ_STR(f.rt->tts_voice, "en-us");
  DT_ASSERT_EQ_STR(f.rt->language, "en");
  DT_ASSERT_EQ_INT(f.rt->o.tts_rate, DT_TTS_RATE_DEFAULT);
  DT_ASSERT(f.rt->o.tts_cache_bytes == (uint64_t)64 << 20);
  rtf_close(&f);
  dt_runtime_options_t o = {.tts_voice = "es", .language = "es", .tts_rate = 200, .tts_cache_bytes = 10};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  DT_ASSERT_EQ_STR(f.rt->tts_voice, "es");
  DT_ASSERT_EQ_STR(f.rt->language, "es");
  DT_ASSERT_EQ_INT(f.rt->o.tts_rate, 200);
  DT_ASSERT(f.rt->o.tts_cache_bytes == (uint64_t)1 << 20); /* at least 1 MiB */
  dt_call_t c;
  rtf_call(&c, "call-8", "main");
  dt__call_handle_push(f.rt->L, f.rt, &c);
  lua_setglobal(f.rt->L, "h");
  DT_ASSERT(rtf_eval(&f, "assert(h.language == 'es', h.language)") == NULL);
  dt_runtime_on_release(&c, f.rt);
  rtf_close(&f);
}

DT_TEST_MAIN()
