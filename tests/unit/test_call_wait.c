/*
 * test_call_wait.c — core/calls/call_wait.c: one primitive waits at a time (DT_EBUSY),
 * nothing after the flow is done (DT_ESTATE), a finished wait reports once through
 * on_result and leaves the call free for the next one, and a failed request fails the
 * wait with its message.
 */
#include "harness/call_fixture.h"
#include "call_internal.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(one_wait_at_a_time_and_one_result_each) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-w", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-w");
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 20), 0);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_SLEEP);
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 20), DT_EBUSY);
  DT_ASSERT_EQ_INT(dt_call_play(c, &(dt_media_t){.uri = "https://x/a.wav"}, 1, false), DT_EBUSY);
  FX_UNTIL(&f, 2000, f.results == 1);
  DT_ASSERT_EQ_INT(f.last.err, 0);
  DT_ASSERT_EQ_STR(f.last_reason, "completed");
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_NONE);
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 1), 0); /* free again */
  FX_UNTIL(&f, 2000, f.results == 2);
  dt_call_flow_done(c, DT_OUTCOME_COMPLETED, NULL, NULL);
  DT_ASSERT_EQ_INT(dt_call_sleep(c, 1), DT_ESTATE);
  free(fx_close(&f));
  DT_ASSERT_EQ_INT(f.results, 2);
}

DT_TEST(wait_fail_sets_code_and_message) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-f", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-f");
  dt__call_wait_begin(c, DT_WAIT_ACTION);
  DT_ASSERT_EQ_STR(dt__call_wait_what(c), "action");
  dt__call_wait_fail(c, DT_EGRAPH, "someCode", "it failed: %d", 42);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_INT(f.last.err, DT_EGRAPH);
  DT_ASSERT_EQ_STR(f.last_message, "it failed: 42");
  DT_ASSERT_EQ_STR(c->result.error_code, "someCode");
  free(fx_close(&f));
}

DT_TEST(cancelled_completions_are_recognised) {
  completion_t a = {.subcode = 8508}, b = {.completion_reason = "MediaOperationCanceled"}, c = {.subcode = 1};
  DT_ASSERT(dt__call_is_cancelled(&a));
  DT_ASSERT(dt__call_is_cancelled(&b));
  DT_ASSERT(!dt__call_is_cancelled(&c));
}

DT_TEST_MAIN()
