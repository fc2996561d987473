/* Unit tests of emu_sched.c: the emulator's clocks — order by due time then FIFO,
   cancellation, instant time, manual mode (next / advance) and the owner hooks. */
#include "harness/dt_test.h"
#include "dialtone/error.h"
#include "emulator/emu_sched.h"


static char order[64];
static size_t norder;
static void ev_mark(dt__emu_ev_t *ev) {
  if (norder + 1 < sizeof order) order[norder++] = (char)ev->i;
  order[norder] = '\0';
}

DT_TEST(scheduler_orders_by_due_then_fifo_and_cancels) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_emulator_t emu;
  memset(&emu, 0, sizeof emu);
  dt__emu_sched_t s;
  dt__emu_sched_init(&s, &emu, &loop, false, 0); /* instant time */
  norder = 0;
  order[0] = '\0';
  dt__emu_ev_t *e;
  e = dt__emu_at(&s, NULL, 60000, ev_mark); e->i = 'd';
  e = dt__emu_at(&s, NULL, 10, ev_mark); e->i = 'b';
  e = dt__emu_at(&s, NULL, 0, ev_mark); e->i = 'a';
  e = dt__emu_at(&s, NULL, 10, ev_mark); e->i = 'c';
  dt__emu_ev_t *x = dt__emu_at(&s, NULL, 20, ev_mark); x->i = 'x';
  dt__emu_ev_cancel(x);
  uint64_t t0 = dt__emu_sched_now(&s);
  while (norder < 4 && uv_run(&loop, UV_RUN_ONCE)) {}
  DT_ASSERT_EQ_STR(order, "abcd");
  /* instant time jumped a minute ahead */
  DT_ASSERT(dt__emu_sched_now(&s) - t0 >= 60000);
  dt__emu_sched_close(&s, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

static int refs, unrefs;
static void hold(emu_call_t *c) { (void)c; refs++; }
static void release(emu_call_t *c) { (void)c; unrefs++; }

DT_TEST(manual_clock_moves_only_when_told_and_holds_owners) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_emulator_t emu;
  memset(&emu, 0, sizeof emu);
  dt__emu_sched_t s;
  dt__emu_sched_init(&s, &emu, &loop, false, 1.0);
  s.ref = hold;
  s.unref = release;
  refs = unrefs = 0;
  DT_ASSERT_EQ_INT(dt__emu_sched_next(&s), DT_ESTATE); /* not manual yet */
  dt__emu_sched_set_manual(&s, true);
  uint64_t t0 = dt__emu_sched_now(&s);
  emu_call_t call;
  memset(&call, 0, sizeof call);
  norder = 0;
  order[0] = '\0';
  dt__emu_ev_t *e;
  e = dt__emu_at(&s, &call, 100, ev_mark); e->i = 'a';
  e = dt__emu_at(&s, NULL, 100, ev_mark); e->i = 'b';
  e = dt__emu_at(&s, &call, 500, ev_mark); e->i = 'c';
  DT_ASSERT(call.evs.head != NULL); /* the call's events are on its list */
  uint64_t due = 0;
  DT_ASSERT_EQ_INT(dt__emu_sched_next_due(&s, &due), 0);
  DT_ASSERT_EQ_INT(due, t0 + 100);
  uv_run(&loop, UV_RUN_NOWAIT); /* a manual clock never fires by itself */
  DT_ASSERT_EQ_STR(order, "");
  DT_ASSERT_EQ_INT(dt__emu_sched_next(&s), 2); /* both events at +100 */
  DT_ASSERT_EQ_STR(order, "ab");
  DT_ASSERT_EQ_INT(dt__emu_sched_now(&s), t0 + 100);
  DT_ASSERT_EQ_INT(refs, 1); /* only the event with an owner held it */
  DT_ASSERT_EQ_INT(unrefs, 1);
  DT_ASSERT_EQ_INT(dt__emu_sched_advance(&s, 50), 0);
  DT_ASSERT_EQ_INT(dt__emu_sched_now(&s), t0 + 150);
  DT_ASSERT_EQ_INT(dt__emu_sched_advance(&s, 1000), 1);
  DT_ASSERT_EQ_STR(order, "abc");
  DT_ASSERT_EQ_INT(dt__emu_sched_now(&s), t0 + 1150); /* exactly now + ms */
  DT_ASSERT(call.evs.head == NULL && call.evs.count == 0);
  DT_ASSERT_EQ_INT(dt__emu_sched_next_due(&s, &due), DT_ENOENT);
  DT_ASSERT_EQ_INT(dt__emu_sched_next(&s), 0);
  dt__emu_sched_close(&s, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

DT_TEST_MAIN()
