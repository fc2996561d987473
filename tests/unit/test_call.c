/*
 * test_call.c — core/calls/call.c (the registry's index): names, routing, calls found by id
 * and counted, a duplicate or late "created" starting nothing (live call, then tombstone),
 * flows pinned from C.
 */
#include "harness/call_fixture.h"
#include "dialtone/error.h"
#include "harness/dt_test.h"

#define APP "8A34A46B-3D17-4ADC-8DCE-DC4E7D572698"

DT_TEST(names) {
  DT_ASSERT_EQ_STR(dt_wait_kind_name(DT_WAIT_GATHER), "gather");
  DT_ASSERT_EQ_STR(dt_wait_kind_name((dt_wait_kind_t)99), "unknown");
  DT_ASSERT_EQ_STR(dt_outcome_name(DT_OUTCOME_TRANSFERRED), "transferred");
  DT_ASSERT_EQ_STR(dt_outcome_name(DT_OUTCOME_DRAINED), "drained");
}

DT_TEST(routes_then_the_default_flow) {
  call_fx_t f;
  dt_route_t routes[] = {{.match = "+15550100", .flow = "sales"}, {.match = APP, .flow = "bot"}};
  fx_open(&f, &(dt_calls_options_t){.routes = routes, .route_count = 2, .default_flow = "fallback"}, false);
  const char *a[] = {"+15550100"}, *b[] = {"x", "8a34a46b-3d17-4adc-8dce-dc4e7d572698"}, *c[] = {"nobody"};
  DT_ASSERT_EQ_STR(dt_calls_route(f.reg, NULL, a, 1), "sales");
  DT_ASSERT_EQ_STR(dt_calls_route(f.reg, NULL, b, 2), "bot"); /* case-insensitive */
  DT_ASSERT_EQ_STR(dt_calls_route(f.reg, NULL, c, 1), "fallback");
  free(fx_close(&f));
}

DT_TEST(an_incoming_call_is_indexed_routed_and_started_once) {
  call_fx_t f;
  dt_route_t routes[] = {{.match = APP, .flow = "bot"}};
  fx_open(&f, &(dt_calls_options_t){.routes = routes, .route_count = 1}, false);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-1", "u-1", APP), 0);
  DT_ASSERT_EQ_INT(f.starts, 1);
  dt_call_t *c = dt_calls_find(f.reg, "call-1");
  DT_ASSERT(c != NULL && c == f.started);
  DT_ASSERT_EQ_STR(c->flow, "bot");
  DT_ASSERT_EQ_STR(c->from, "user:u-1");
  DT_ASSERT_EQ_STR(c->to, "application:" APP);
  DT_ASSERT_EQ_INT(c->direction, DT_CALL_INCOMING);
  DT_ASSERT_EQ_INT((int)dt_calls_count(f.reg), 1);
  DT_ASSERT(dt_calls_first(f.reg) == c);
  DT_ASSERT(dt_calls_find(f.reg, "call-2") == NULL);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-1", "u-1", APP), 0); /* a duplicate "created" */
  DT_ASSERT_EQ_INT(f.starts, 1);
  DT_ASSERT_EQ_INT((int)dt_calls_count(f.reg), 1);
  free(fx_close(&f));
  DT_ASSERT_EQ_INT(f.releases, 1);
}

DT_TEST(an_ended_call_leaves_a_tombstone) {
  call_fx_t f;
  fx_open(&f, NULL, false);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-t", "u-1", APP), 0);
  dt_call_t *c = dt_calls_find(f.reg, "call-t");
  DT_ASSERT(c != NULL);
  DT_ASSERT_EQ_INT(fx_state(&f, "call-t", "terminated"), 0);
  dt_call_flow_done(c, DT_OUTCOME_NONE, NULL, NULL);
  FX_UNTIL(&f, 2000, f.releases == 1);
  DT_ASSERT(dt_calls_find(f.reg, "call-t") == NULL);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-t", "u-1", APP), 0); /* late: nothing starts */
  DT_ASSERT_EQ_INT(f.starts, 1);
  DT_ASSERT_EQ_INT((int)dt_calls_count(f.reg), 0);
  free(fx_close(&f));
}

DT_TEST(a_pinned_flow_wins_over_the_route_once) {
  call_fx_t f;
  dt_route_t routes[] = {{.match = "*", .flow = "routed"}};
  fx_open(&f, &(dt_calls_options_t){.routes = routes, .route_count = 1}, false);
  DT_ASSERT_EQ_INT(dt_calls_pin_flow(f.reg, "", "x"), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_calls_pin_flow(f.reg, "call-p", ""), DT_EINVAL);
  DT_ASSERT_EQ_INT(dt_calls_pin_flow(f.reg, "call-p", "pinned"), 0);
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-p", "u", APP), 0);
  DT_ASSERT_EQ_STR(f.started->flow, "pinned");
  DT_ASSERT_EQ_INT(fx_incoming(&f, "call-q", "u", APP), 0);
  DT_ASSERT_EQ_STR(f.started->flow, "routed");
  free(fx_close(&f));
}

DT_TEST_MAIN()
