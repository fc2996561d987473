/*
 * test_call_response.c — core/calls/call_response.c, fed with Graph results directly
 * (dt__call_graph_cb, as the Graph client calls it): 204 ends a wait, 404 is a hangup, an
 * operation that runs on completes by its notification (even one that came first), a 5xx
 * fails with the status, and a response to a wait that is over changes nothing.
 */
#include "harness/call_fixture.h"
#include "call_internal.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

/* Starts a wait of kind k with its main operation, as a primitive would (no request). */
static dt_op_t *waiting(dt_call_t *c, dt_wait_kind_t k) {
  dt__call_wait_begin(c, k);
  return dt__call_main_op(c);
}

DT_TEST(no_content_finishes_the_wait) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-1", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-1");
  dt_op_t *op = waiting(c, DT_WAIT_ACTION);
  dt__call_graph_cb(&(dt_graph_result_t){.status = 204, .error_message = ""}, op);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_INT(f.last.err, 0);
  DT_ASSERT_EQ_STR(f.last_reason, "completed");
  DT_ASSERT(c->ops == NULL);
  free(fx_close(&f));
}

DT_TEST(not_found_is_a_hangup_and_5xx_a_graph_error) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-2", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-2");
  dt_op_t *op = waiting(c, DT_WAIT_ACTION);
  dt__call_graph_cb(&(dt_graph_result_t){.status = 503, .error = DT_EGRAPH, .error_message = "busy"}, op);
  DT_ASSERT_EQ_INT(f.last.err, DT_EGRAPH);
  DT_ASSERT_EQ_INT(f.last.http_status, 503);
  DT_ASSERT(strstr(f.last_message, "busy (HTTP 503)") != NULL);
  op = waiting(c, DT_WAIT_PLAY);
  dt__call_graph_cb(&(dt_graph_result_t){.status = 404, .error = DT_EGRAPH, .error_message = "gone"}, op);
  DT_ASSERT_EQ_INT(f.results, 2);
  DT_ASSERT_EQ_INT(f.last.err, DT_EHANGUP);
  DT_ASSERT(c->flags & DT_CALLF_TERMINATED);
  free(fx_close(&f));
}

DT_TEST(a_running_operation_completes_by_notification_even_an_early_one) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-3", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-3");
  /* the completion notification comes before the response naming the operation */
  fx_notify(&f, "{\"value\":[{\"changeType\":\"deleted\",\"resource\":\"/app/calls/call-3/operations/op-9\","
                "\"resourceData\":{\"@odata.type\":\"#microsoft.graph.playPromptOperation\",\"status\":\"completed\"}}]}");
  DT_ASSERT(c->early.head != NULL);
  dt_op_t *op = waiting(c, DT_WAIT_PLAY);
  dt__call_graph_cb(&(dt_graph_result_t){.status = 200, .op_id = "op-9", .op_status = DT_OP_STATUS_RUNNING,
                                         .error_message = ""}, op);
  DT_ASSERT_EQ_INT(f.results, 1);
  DT_ASSERT_EQ_STR(f.last_reason, "completed");
  DT_ASSERT(c->early.head == NULL);
  /* and the usual order: response, then notification */
  op = waiting(c, DT_WAIT_PLAY);
  dt__call_graph_cb(&(dt_graph_result_t){.status = 200, .op_id = "op-10", .op_status = DT_OP_STATUS_RUNNING,
                                         .error_message = ""}, op);
  DT_ASSERT_EQ_INT(f.results, 1);
  fx_notify(&f, "{\"value\":[{\"changeType\":\"deleted\",\"resource\":\"/app/calls/call-3/operations/op-10\","
                "\"resourceData\":{\"@odata.type\":\"#microsoft.graph.playPromptOperation\",\"status\":\"completed\"}}]}");
  DT_ASSERT_EQ_INT(f.results, 2);
  free(fx_close(&f));
}

DT_TEST(a_stale_response_changes_nothing) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  fx_incoming(&f, "call-4", "u", "app");
  dt_call_t *c = dt_calls_find(f.reg, "call-4");
  dt_op_t *op = waiting(c, DT_WAIT_ACTION);
  dt__call_wait_end_quiet(c); /* the wait is over (say, its deadline passed) */
  op = dt__call_op_new(c, ROLE_MAIN);
  op->gen = c->gen - 1;
  dt__call_graph_cb(&(dt_graph_result_t){.status = 204, .error_message = ""}, op);
  DT_ASSERT_EQ_INT(f.results, 0);
  DT_ASSERT(c->ops == NULL);
  free(fx_close(&f));
}

DT_TEST_MAIN()
