/*
 * test_flow_say.c — call:say and the say helpers end to end: the engine against the Graph
 * emulator over loopback HTTP. The speech is a WAV the engine serves at /prompts/_tts/: the
 * emulator fetched it (the prompt lasts as long as the file, not the emulator's 2 s guess),
 * and it decodes as 16 kHz mono 16-bit PCM that is not silence. say_digits uses the prompt
 * set flows/prompts has (digit_N); in Spanish, with no Spanish set, it speaks.
 */
#include <math.h>
#include "dialtone/tts.h"
#include "dialtone/wav.h"
#include "harness/dt_test.h"
#include "harness/engine_harness.h"
#include "harness/speech_wav.h"

#define FLOW_TEST(name) H_TEST(name, .time_scale = 0)

/* The timeline's first prompt entry whose url contains part. */
static const cJSON *prompt_with(const cJSON *tl, const char *part) {
  const cJSON *e;
  cJSON_ArrayForEach(e, tl) {
    const char *k = h_str(e, "kind"), *u = h_str(e, "url");
    if (k && strcmp(k, "prompt") == 0 && u && strstr(u, part)) return e;
  }
  return NULL;
}

/* Runs one call through the flow text (as "main"); it must complete. id gets its id. */
static void run_completed(const char *flow, char id[128]) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main", flow), 0);
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "completed"));
  cJSON_Delete(cdr);
}

FLOW_TEST(say_plays_speech_the_emulator_fetched_from_prompts) {
  char id[128] = "";
  run_completed("return function(call)\n"
                "  call:answer()\n"
                "  local r = call:say('Your order ships today. ' .. call.id)\n"
                "  dialtone.log('info', 'RESULT say', r)\n"
                "  call:hangup()\n"
                "end\n",
                id);
  DT_ASSERT(h_log_has(&H, "RESULT say completed"));
  cJSON *tl = h_timeline(&H, id);
  const cJSON *p = prompt_with(tl, "/prompts/_tts/tts-");
  DT_ASSERT(p != NULL);
  /* the file the URL names, as the engine wrote it */
  const char *url = h_str(p, "url");
  char path[1024];
  snprintf(path, sizeof path, "%s/_tts/%s", H.prompts_dir, strrchr(url, '/') + 1);
  speech_wav_t w = speech_wav_read(path);
  DT_ASSERT(speech_wav_graph_format(&w));
  DT_ASSERT_MSG(w.secs > 1.0 && w.secs < 40.0, "%.2f s", w.secs); /* five words and the call id, spelt out */
  DT_ASSERT_MSG(w.rms > 300, "rms %.1f", w.rms);                    /* not silence */
  /* the emulator fetched it over HTTP from the engine: the prompt lasted the file's length */
  double ms = cJSON_GetObjectItemCaseSensitive(p, "duration_ms")->valuedouble;
  DT_ASSERT_MSG(fabs(ms - w.secs * 1000.0) < 2.0, "prompt %.0f ms, file %.3f s", ms, w.secs);
  cJSON_Delete(tl);
}

FLOW_TEST(say_digits_uses_the_prompt_set_else_speaks) {
  char id[128] = "";
  run_completed("return function(call)\n"
                "  call:answer()\n"
                "  call:say_digits('427')\n"
                "  call:set_language('es')\n"
                "  call:say_digits('9')\n"
                "  call:hangup()\n"
                "end\n",
                id);
  cJSON *tl = h_timeline(&H, id);
  int a = h_index(tl, "prompt", "name", "digit_4"), b = h_index(tl, "prompt", "name", "digit_2"),
      c = h_index(tl, "prompt", "name", "digit_7");
  DT_ASSERT(a >= 0 && a < b && b < c);
  /* Spanish: no prompts/es/digit_9.wav, so "nueve" is spoken by the Spanish voice */
  char name[DT_TTS_NAME_LEN];
  dt_tts_cache_name("nueve", "es", DT_TTS_RATE_DEFAULT, name);
  DT_ASSERT(prompt_with(tl, name) != NULL);
  DT_ASSERT_EQ_INT(h_count(tl, "prompt", "name", "digit_9"), 0);
  cJSON_Delete(tl);
}

FLOW_TEST(synthesis_failure_is_an_error_the_flow_can_catch) {
  char id[128] = "";
  run_completed("return function(call)\n"
                "  call:answer()\n"
                "  local ok, err = pcall(call.say, call, 'hello', {voice = 'zz-none'})\n"
                "  dialtone.log('info', 'RESULT', ok, err.code, err.message)\n"
                "  call:hangup()\n"
                "end\n",
                id);
  DT_ASSERT_MSG(h_log_has(&H, "RESULT false error speech synthesis failed: espeak-ng has no voice 'zz-none'"), "%s",
                H.log_text);
}

DT_TEST_MAIN()
