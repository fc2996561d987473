/*
 * test_call_dispatch.c — core/calls/call_dispatch.c: notifications reach the call they name;
 * over max_calls or while draining an incoming call is refused (CDR rejected); tones are
 * buffered and deduplicated; a termination fails the waiting primitive with DT_EHANGUP;
 * notifications for unknown calls change nothing.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

#define APP "app-1"

DT_TEST(over_max_calls_an_incoming_call_is_rejected) {
  call_fx_t f;
  fx_open(&f, &(dt_calls_options_t){.max_calls = 1}, true);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-1", "u", APP), 0);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-2", "u", APP), 0);
  DT_ASSERT_EQ_INT(f.starts, 1); /* the second never reaches a flow */
  FX_UNTIL(&f, 2000, f.releases == 1);
  char *cdr = fx_close(&f);
  char *line = fx_cdr_line(cdr, "call-2");
  free(cdr);
  DT_ASSERT(line != NULL);
  DT_ASSERT(strstr(line, "\"outcome\":\"rejected\"") != NULL);
  DT_ASSERT(strstr(line, "\"error\":\"too many calls\"") != NULL);
  free(line);
}

DT_TEST(while_draining_an_incoming_call_is_rejected) {
  call_fx_t f;
  fx_open(&f, NULL, true);
  dt_calls_drain(f.reg);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-d", "u", APP), 0);
  DT_ASSERT_EQ_INT(f.starts, 0);
  char *cdr = fx_close(&f);
  DT_ASSERT(strstr(cdr, "\"error\":\"draining\"") != NULL);
  free(cdr);
}

DT_TEST(tones_are_buffered_once) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-1", "u", APP), 0);
  dt_call_t *c = dt_calls_find(f.reg, "call-1");
  DT_ASSERT_EQ_INT(fx_tone(&f, "call-1", "tone1", 1), 0);
  DT_ASSERT_EQ_INT(fx_tone(&f, "call-1", "tone1", 1), 0); /* the same notification again */
  DT_ASSERT_EQ_INT(fx_tone(&f, "call-1", "pound", 2), 0);
  DT_ASSERT_EQ_INT(c->tone_len, 2);
  DT_ASSERT(memcmp(c->tones, "1#", 2) == 0);
  DT_ASSERT(c->flags & DT_CALLF_ESTABLISHED); /* a tone says the call is established */
  free(fx_close(&f));
}

DT_TEST(a_termination_fails_the_waiting_primitive_with_hangup) {
  call_fx_t f;
  fx_open(&f, NULL, true);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-h", "u", APP), 0);
  dt_call_t *c = dt_calls_find(f.reg, "call-h");
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 60000), 0);
  DT_ASSERT_EQ_INT(fx_state(&f, "call-h", "terminated"), 0);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_INT(f.last.err, DT_EHANGUP);
  DT_ASSERT(dt_call_is_gone(c));
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 10), DT_EHANGUP);
  dt_call_flow_done(c, DT_OUTCOME_NONE, NULL, NULL);
  FX_UNTIL(&f, 2000, f.releases == 1);
  char *cdr = fx_close(&f);
  DT_ASSERT(strstr(cdr, "\"outcome\":\"hangup\"") != NULL);
  free(cdr);
}

DT_TEST(notifications_for_unknown_calls_change_nothing) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  DT_ASSERT_EQ_INT(fx_tone(&f, "ghost", "tone5", 1), 0);
  DT_ASSERT_EQ_INT(fx_state(&f, "ghost", "established"), 0);
  DT_ASSERT_EQ_INT((int)dt_calls_count(f.reg), 0);
  DT_ASSERT_EQ_INT(f.starts + f.results, 0);
  free(fx_close(&f));
}

DT_TEST_MAIN()
