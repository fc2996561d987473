/*
 * test_call_external.c — core/calls/call_external.c: a wait on work the runtime does itself
 * (DT_WAIT_HTTP). Done reports once (result set by the worker, or a failure with its code
 * and message); hangup, the deadline and the registry's close end the wait and run the
 * cancel exactly once, and never after done; a second wait is refused while one runs; bad
 * arguments start nothing.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

static int cancels;
static void on_cancel(void *ud) {
  (void)ud;
  cancels++;
}

DT_TEST(done_deadline_hangup_and_close) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-1", "u", "app");
  fx_state(&f, "call-1", "established");
  dt_call_t *c = dt_calls_find(f.reg, "call-1");
  DT_ASSERT(c != NULL);
  cancels = 0;

  /* bad arguments start nothing */
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_SLEEP, 1000, on_cancel, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 1000, NULL, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 0, on_cancel, NULL), DT_EINVAL);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_NONE);

  /* done with a result: the runtime hears once, cancel never runs */
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 60000, on_cancel, NULL), 0);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_HTTP);
  DT_ASSERT_EQ_STR(dt_wait_kind_name(DT_WAIT_HTTP), "http");
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 60000, on_cancel, NULL), DT_EBUSY);
  c->result.http_status = 200;
  c->result.data = dt_xstrdup("body");
  c->result.data_len = 4;
  dt_call_external_done(c, 0, NULL, NULL);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_INT(f.last.err, 0);
  DT_ASSERT_EQ_INT(f.last.http_status, 200);
  DT_ASSERT_EQ_INT(c->wait, DT_WAIT_NONE);
  DT_ASSERT_EQ_INT(cancels, 0);
  dt_call_external_done(c, 0, NULL, NULL); /* nothing waits: nothing happens */
  DT_ASSERT_EQ_INT(f.results, 1);

  /* a failure: code and message reach the result; the next wait clears the bytes */
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 60000, on_cancel, NULL), 0);
  DT_ASSERT(c->result.data == NULL);
  dt_call_external_done(c, DT_ECONNREFUSED, "refused", "GET x: connection refused");
  DT_ASSERT_EQ_INT(f.results, 2);
  DT_ASSERT_EQ_INT(f.last.err, DT_ECONNREFUSED);
  DT_ASSERT_EQ_STR(f.last_message, "GET x: connection refused");
  DT_ASSERT_EQ_INT(cancels, 0);

  /* the deadline: DT_ETIMEDOUT, cancel once */
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 20, on_cancel, NULL), 0);
  FX_UNTIL(&f, 5000, f.results == 3);
  DT_ASSERT_EQ_INT(f.last.err, DT_ETIMEDOUT);
  DT_ASSERT_EQ_INT(cancels, 1);
  dt_call_external_done(c, 0, NULL, NULL); /* late: ignored */
  DT_ASSERT_EQ_INT(f.results, 3);

  /* hangup: DT_EHANGUP, cancel once, nothing starts after */
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 60000, on_cancel, NULL), 0);
  fx_state(&f, "call-1", "terminated");
  DT_ASSERT_EQ_INT(f.results, 4);
  DT_ASSERT_EQ_INT(f.last.err, DT_EHANGUP);
  DT_ASSERT_EQ_INT(cancels, 2);
  DT_ASSERT_EQ_INT(dt_call_external_begin(c, DT_WAIT_HTTP, 60000, on_cancel, NULL), DT_EHANGUP);

  /* the registry's close ends a wait quietly, cancel once */
  fx_incoming(&f, "call-2", "u", "app");
  fx_state(&f, "call-2", "established");
  dt_call_t *c2 = dt_calls_find(f.reg, "call-2");
  DT_ASSERT_EQ_INT(dt_call_external_begin(c2, DT_WAIT_HTTP, 60000, on_cancel, NULL), 0);
  free(fx_close(&f));
  DT_ASSERT_EQ_INT(cancels, 3);
}

DT_TEST_MAIN()
