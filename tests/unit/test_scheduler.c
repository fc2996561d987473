/*
 * test_scheduler.c — the scheduler (lua/scheduler.c), with calls the registry has already
 * released so that a flow runs to its end without core: a flow runs at start, errors and
 * budget kills end only their own call (counted in dt_flow_errors_total), a flow starts
 * once, unknown flows are refused, release frees the call's data and its version.
 */
#include "dialtone/metrics.h"
#include "harness/dt_test.h"
#include "harness/rt_fixture.h"
#include "dialtone/error.h"
#include "scheduler.h"

static int load(rt_fixture_t *f, const char *name, const char *text) {
  char err[256];
  return dt_runtime_load_flow(f->rt, name, text, strlen(text), err, sizeof err);
}

DT_TEST(a_flow_runs_to_its_end_and_starts_once) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  DT_ASSERT_EQ_INT(load(&f, "main", "return function(call) assert(call.id == 'c1') end"), 0);
  dt_call_t c;
  rtf_call(&c, "c1", "main");
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &c), 0);
  dt_lcall_t *lc = c.rt;
  DT_ASSERT(lc && lc->done && lc->co == NULL && lc->ver == NULL);
  DT_ASSERT_EQ_INT(dt_runtime_active(f.rt), 0);
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &c), DT_EBUSY);
  dt__scheduler_result(f.rt, &c); /* nothing waits: nothing happens */
  dt__scheduler_release(f.rt, &c);
  DT_ASSERT(c.rt == NULL);
  rtf_close(&f);
}

DT_TEST(unknown_flows_and_a_closing_runtime_are_refused) {
  rt_fixture_t f;
  DT_ASSERT_EQ_INT(rtf_open(&f, NULL), 0);
  dt_call_t c;
  rtf_call(&c, "c2", "nosuch");
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &c), DT_ENOENT);
  DT_ASSERT(c.rt == NULL);
  rtf_call(&c, "c2", NULL);
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &c), DT_ENOENT);
  f.rt->closing = true;
  DT_ASSERT_EQ_INT(load(&f, "main", "return function(call) end"), 0);
  rtf_call(&c, "c2", "main");
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &c), DT_ECLOSED);
  f.rt->closing = false;
  rtf_close(&f);
}

DT_TEST(errors_and_kills_end_only_their_own_call) {
  dt_metrics_t *m = dt_metrics_new();
  rt_fixture_t f;
  dt_runtime_options_t o = {.instruction_budget = 200000, .metrics = m};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  DT_ASSERT_EQ_INT(load(&f, "boom", "return function(call) error('boom') end"), 0);
  DT_ASSERT_EQ_INT(load(&f, "spin", "return function(call) while true do pcall(error) end end"), 0);
  DT_ASSERT_EQ_INT(load(&f, "fine", "return function(call) end"), 0);
  dt_call_t a, b, c;
  rtf_call(&a, "a", "boom");
  rtf_call(&b, "b", "spin");
  rtf_call(&c, "c", "fine");
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &a), 0);
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &b), 0);
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &c), 0);
  dt_lcall_t *lb = b.rt;
  DT_ASSERT(lb->killed && lb->done);
  DT_ASSERT_CONTAINS(lb->kill_reason, "instruction budget exceeded");
  DT_ASSERT(!((dt_lcall_t *)c.rt)->killed);
  DT_ASSERT_EQ_INT((long long)dt_metrics_get(m, "dt_flow_errors_total", NULL), 2);
  DT_ASSERT_EQ_INT(dt_runtime_active(f.rt), 0);
  dt__scheduler_release(f.rt, &a);
  dt__scheduler_release(f.rt, &b);
  dt__scheduler_release(f.rt, &c);
  rtf_close(&f);
  dt_metrics_free(m);
}

DT_TEST(a_call_keeps_its_version_across_a_reload) {
  dt_metrics_t *m = dt_metrics_new();
  rt_fixture_t f;
  dt_runtime_options_t o = {.metrics = m};
  DT_ASSERT_EQ_INT(rtf_open(&f, &o), 0);
  DT_ASSERT_EQ_INT(load(&f, "main", "return function(call) end"), 0);
  dt_call_t c;
  rtf_call(&c, "c", "main");
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &c), 0);
  DT_ASSERT_EQ_INT(c.flow_version, 1);
  DT_ASSERT_EQ_INT(load(&f, "main", "return function(call) end"), 0);
  dt_call_t d;
  rtf_call(&d, "d", "main");
  DT_ASSERT_EQ_INT(dt__scheduler_start(f.rt, &d), 0);
  DT_ASSERT_EQ_INT(d.flow_version, 2);
  DT_ASSERT_EQ_INT((long long)dt_metrics_get(m, "dt_calls_active", "flow=\"main\",version=\"1\""), 0);
  dt__scheduler_release(f.rt, &c);
  dt__scheduler_release(f.rt, &d);
  rtf_close(&f);
  dt_metrics_free(m);
}

DT_TEST_MAIN()
