/*
 * test_call_media.c — core/calls/call_media.c: gather from type-ahead at once (fast path,
 * the digits logged for the CDR), gather completed by tones (terminator, max), min not met,
 * flush, a barge-in play skipped by buffered tones, argument checks, and a play whose
 * request fails.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

static dt_call_t *one_call(call_fx_t *f, const char *id) {
  fx_incoming(f, id, "u", "app");
  return dt_calls_find(f->reg, id);
}

DT_TEST(type_ahead_completes_a_gather_at_once) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_call_t *c = one_call(&f, "call-1");
  fx_tone(&f, "call-1", "tone4", 1);
  fx_tone(&f, "call-1", "tone2", 2);
  fx_tone(&f, "call-1", "pound", 3);
  fx_tone(&f, "call-1", "tone9", 4);
  dt_gather_params_t p = {.max = 8, .min = 1, .timeout_ms = 5000, .terminators = "#"};
  DT_ASSERT_EQ_INT(dt_call_gather(c, &p), 1);
  DT_ASSERT_EQ_STR(c->result.digits, "42");
  DT_ASSERT_EQ_STR(c->result.reason, "terminator");
  DT_ASSERT_EQ_INT(c->tone_len, 1); /* the 9 stays for the next one */
  DT_ASSERT(strstr(c->log.digits.data, "\"42\"") != NULL);
  DT_ASSERT_EQ_INT(f.results, 0); /* the fast path calls no hook */
  free(fx_close(&f));
}

DT_TEST(tones_complete_a_waiting_gather) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_call_t *c = one_call(&f, "call-2");
  dt_gather_params_t p = {.max = 3, .min = 1, .timeout_ms = 5000};
  DT_ASSERT_EQ_INT(dt_call_gather(c, &p), 0);
  fx_tone(&f, "call-2", "tone1", 1);
  fx_tone(&f, "call-2", "tone2", 2);
  DT_ASSERT_EQ_INT(f.results, 0);
  fx_tone(&f, "call-2", "tone3", 3);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_STR(f.last_digits, "123");
  DT_ASSERT_EQ_STR(f.last_reason, "max");
  free(fx_close(&f));
}

DT_TEST(too_few_digits_give_an_empty_result_and_flush_drops_type_ahead) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_call_t *c = one_call(&f, "call-3");
  fx_tone(&f, "call-3", "tone1", 1);
  fx_tone(&f, "call-3", "pound", 2);
  DT_ASSERT_EQ_INT(dt_call_gather(c, &(dt_gather_params_t){.max = 4, .min = 2, .timeout_ms = 50, .terminators = "#"}), 1);
  DT_ASSERT_EQ_STR(c->result.digits, "");
  fx_tone(&f, "call-3", "tone7", 3);
  DT_ASSERT_EQ_INT(dt_call_gather(c, &(dt_gather_params_t){.max = 1, .timeout_ms = 20, .flush = true}), 0);
  FX_UNTIL(&f, 2000, f.results == 1);
  DT_ASSERT_EQ_STR(f.last_digits, "");
  DT_ASSERT_EQ_STR(f.last_reason, "timeout");
  free(fx_close(&f));
}

DT_TEST(buffered_tones_skip_a_barge_in_play_and_bad_arguments_are_refused) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_call_t *c = one_call(&f, "call-4");
  dt_media_t m = {.uri = "https://x/a.wav"};
  DT_ASSERT_EQ_INT(dt_call_play(c, &m, 0, false), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_gather(c, &(dt_gather_params_t){.max = 0}), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_gather(c, &(dt_gather_params_t){.max = 65}), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_gather(c, &(dt_gather_params_t){.max = 2, .min = 3}), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_gather(c, &(dt_gather_params_t){.max = 2, .terminators = "12345678"}), DT_EINVAL);
  fx_tone(&f, "call-4", "tone1", 1);
  DT_ASSERT_EQ_INT(dt_call_play(c, &m, 1, true), 1);
  DT_ASSERT_EQ_STR(c->result.reason, "barged");
  DT_ASSERT_EQ_INT(c->tone_len, 1); /* the tone stays buffered */
  free(fx_close(&f));
}

DT_TEST(a_play_whose_request_fails_reports_the_failure) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  dt_call_t *c = one_call(&f, "call-5");
  DT_ASSERT_EQ_INT(dt_call_play(c, &(dt_media_t){.uri = "https://x/a.wav"}, 1, false), 0);
  FX_UNTIL(&f, 5000, f.results == 1);
  DT_ASSERT(f.last.err != 0);
  DT_ASSERT(strstr(f.last_message, "playPrompt failed") != NULL);
  free(fx_close(&f));
}

DT_TEST_MAIN()
