/*
 * test_call_end.c — core/calls/call_end.c: the flat CDR record of a call, a flow that cannot
 * start (outcome error, the reason in the CDR), a flow done on a call the caller hung up
 * (outcome hangup, at once), the CDR written once and the call released once.
 */
#include "harness/call_fixture.h"
#include "call_internal.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

DT_TEST(the_cdr_record_carries_the_call) {
  dt_call_t c;
  memset(&c, 0, sizeof c);
  c.id = "id-1";
  c.direction = DT_CALL_OUTGOING;
  c.from = "user:a";
  c.to = "+1555";
  c.flow = "main";
  c.flow_version = 4;
  c.start_ms = 1000;
  c.answer_ms = 2000;
  c.end_ms = 3000;
  c.outcome = DT_OUTCOME_REDIRECTED;
  c.error = "oops";
  c.end_code = 1;
  c.end_subcode = 2;
  c.end_message = "bye";
  dt__call_log_item(&c.log.digits, "12");
  dt__call_log_item(&c.log.digits, "3\"");
  c.transfer_target = "user:b";
  dt__call_log_transfer(&c, "failed");
  dt_cdr_record_t r;
  dt__call_cdr_record(&c, &r);
  DT_ASSERT_EQ_STR(r.call_id, "id-1");
  DT_ASSERT_EQ_STR(r.direction, "outgoing");
  DT_ASSERT_EQ_STR(r.outcome, "redirected");
  DT_ASSERT_EQ_INT(r.flow_version, 4);
  DT_ASSERT_EQ_INT(r.answer_ms, 2000);
  DT_ASSERT_EQ_INT(r.end_subcode, 2);
  DT_ASSERT_EQ_STR(r.end_message, "bye");
  DT_ASSERT_EQ_INT(r.digits_len, strlen("\"12\",\"3\\\"\""));
  DT_ASSERT(memcmp(r.digits, "\"12\",\"3\\\"\"", r.digits_len) == 0);
  DT_ASSERT_EQ_STR(r.transfers, "{\"target\":\"user:b\",\"result\":\"failed\"}");
  DT_ASSERT_EQ_INT(r.recordings_len, 0);
  dt_buf_free(&c.log.digits);
  dt_buf_free(&c.log.transfers);
}

DT_TEST(a_flow_that_cannot_start_ends_the_call_with_error) {
  call_fx_t f;
  fx_open(&f, NULL, true);
  f.start_rc = DT_ENOENT;
  fx_incoming(&f, "call-e", "u", "app");
  DT_ASSERT_EQ_INT(f.starts, 1);
  FX_UNTIL(&f, 5000, f.releases == 1); /* the reject cannot reach Graph: the call ends anyway */
  char *cdr = fx_close(&f);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(strstr(cdr, "\"outcome\":\"error\"") != NULL);
  DT_ASSERT(strstr(cdr, "could not start") != NULL);
  DT_ASSERT(strchr(cdr, '\n') == cdr + strlen(cdr) - 1); /* one line: written once */
  DT_ASSERT_EQ_INT(f.releases, 1);
  free(cdr);
}

DT_TEST(flow_done_after_the_caller_hung_up_is_outcome_hangup) {
  call_fx_t f;
  fx_open(&f, NULL, true);
  fx_incoming(&f, "call-h", "+1555", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-h");
  fx_state(&f, "call-h", "established");
  DT_ASSERT(c->answer_ms > 0);
  fx_state(&f, "call-h", "terminated");
  DT_ASSERT_EQ_INT(f.releases, 0); /* its flow still runs */
  dt_call_flow_done(c, DT_OUTCOME_COMPLETED, NULL, NULL);
  DT_ASSERT_EQ_INT(f.releases, 1); /* nothing to hang up: released at once */
  char *cdr = fx_close(&f);
  DT_ASSERT(strstr(cdr, "\"outcome\":\"hangup\"") != NULL);
  DT_ASSERT(strstr(cdr, "\"answer\":null") == NULL);
  free(cdr);
}

DT_TEST_MAIN()
