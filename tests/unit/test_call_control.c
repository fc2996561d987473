/*
 * test_call_control.c — core/calls/call_control.c: what each control primitive refuses at
 * once (state, arguments, a call that is gone), the fast paths (answer of an answered or
 * outbound call, hangup of a call already over), and a request that fails reported once.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(refusals_and_fast_paths) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-1", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-1");
  dt_graph_redirect_params_t none = {.timeout_s = 20};
  DT_ASSERT_EQ_INT(dt_call_redirect(c, &none), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_invite(c, NULL, 0), DT_EINVAL);
  dt_graph_create_params_t cp = {0};
  DT_ASSERT_EQ_INT(dt_call_dial(c, &cp, "", NULL), DT_EINVAL);
  c->flags |= DT_CALLF_ESTABLISHED; /* answered calls cannot be rejected or redirected */
  DT_ASSERT_EQ_INT(dt_call_reject(c, "busy"), DT_ESTATE);
  dt_invitation_t t = {.identity = {.kind = "user", .id = "u2"}};
  dt_graph_redirect_params_t rp = {.targets = &t, .target_count = 1};
  DT_ASSERT_EQ_INT(dt_call_redirect(c, &rp), DT_ESTATE);
  c->flags |= DT_CALLF_ANSWERED;
  DT_ASSERT_EQ_INT(dt_call_answer(c, NULL, 0, NULL, 0), 1);
  DT_ASSERT_EQ_STR(c->result.reason, "established");
  dt_calls_drain(f.reg); /* no dialing while draining */
  DT_ASSERT_EQ_INT(dt_call_dial(c, &cp, "other", NULL), DT_ESTATE);
  DT_ASSERT_EQ_INT(dt_calls_dial(f.reg, &cp, "other", NULL), DT_ESTATE);
  fx_state(&f, "call-1", "terminated");
  DT_ASSERT_EQ_INT(dt_call_hangup(c), 1); /* already over: nothing to send */
  DT_ASSERT_EQ_STR(c->result.reason, "completed");
  DT_ASSERT_EQ_INT(dt_call_answer(c, NULL, 0, NULL, 0), DT_EHANGUP);
  DT_ASSERT_EQ_INT(dt_call_hangup_async(c), 0);
  free(fx_close(&f));
  DT_ASSERT_EQ_INT(f.results, 0);
}

DT_TEST(a_reject_that_cannot_reach_graph_fails_once) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-2", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-2");
  DT_ASSERT_EQ_INT(dt_call_reject(c, "busy"), 0);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_REJECT);
  FX_UNTIL(&f, 5000, f.results == 1);
  DT_ASSERT(f.last.err != 0);
  DT_ASSERT(strstr(f.last_message, "reject failed") != NULL);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_NONE);
  free(fx_close(&f));
  DT_ASSERT_EQ_INT(f.results, 1);
}

static void count_cancel(void *ud) { (*(int *)ud)++; }

/* Speech uses the external wait (call_external.c) with its own kind: one wait at a time, the
   work's end resumes it once, a hangup ends it (the work is cancelled once) and a late end
   changes nothing. */
DT_TEST(a_speech_wait_ends_once) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-3", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-3");
  int cancels = 0;
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_SPEECH, 60000, count_cancel, &cancels), 0);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_SPEECH);
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_SPEECH, 60000, count_cancel, &cancels), DT_EBUSY);
  dt_call_external_done(c, DT_EIO, NULL, "speech synthesis failed: no voice");
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_INT(f.last.err, DT_EIO);
  DT_ASSERT(strstr(f.last_message, "no voice") != NULL);
  dt_call_external_done(c, 0, NULL, NULL); /* again: the wait is over */
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_INT(cancels, 0);
  /* a hangup ends the wait and cancels the work once; the work's end later changes nothing */
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_SPEECH, 60000, count_cancel, &cancels), 0);
  fx_state(&f, "call-3", "terminated");
  DT_ASSERT_EQ_INT(f.results, 2);
  DT_ASSERT_EQ_INT(f.last.err, DT_EHANGUP);
  DT_ASSERT_EQ_INT(cancels, 1);
  dt_call_external_done(c, 0, NULL, NULL);
  DT_ASSERT_EQ_INT(f.results, 2);
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_SPEECH, 60000, count_cancel, &cancels), DT_EHANGUP);
  free(fx_close(&f));
  DT_ASSERT_EQ_INT(cancels, 1);
}

DT_TEST_MAIN()
