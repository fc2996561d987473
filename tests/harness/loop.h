/*
 * loop.h — running a test's libuv loop until a flag is set, or for a while (header-only;
 * shared by the tests that drive clients and servers on one loop: test_http_client,
 * test_graph_client, test_graph_retry, test_oauth).
 *
 * run_until wakes every 10 ms so that its deadline holds even when nothing happens on the
 * loop; it returns as soon as the iteration that set *flag ends.
 */
#ifndef DT_HARNESS_LOOP_H
#define DT_HARNESS_LOOP_H
#include <stdint.h>
#include <stdlib.h>
#include <uv.h>
#include "dialtone/common.h"

static inline void dt__harness_wake(uv_timer_t *t) { (void)t; }

/* Runs the loop until *flag is non-zero or `seconds` pass; returns the flag. */
static inline int run_until(uv_loop_t *loop, const int *flag, double seconds) {
  uv_timer_t wake;
  uv_timer_init(loop, &wake);
  uv_timer_start(&wake, dt__harness_wake, 10, 10);
  if (getenv("DT_UNDER_VALGRIND")) seconds *= 6; /* ~30x slower; only a failure waits this long */
  uint64_t deadline = dt_now_ms() + (uint64_t)(seconds * 1000);
  while (!*flag && dt_now_ms() < deadline) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&wake, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return *flag;
}

/* Runs the loop for about ms milliseconds. */
static inline void run_for(uv_loop_t *loop, unsigned ms) {
  int never = 0;
  run_until(loop, &never, ms / 1000.0);
}

/* A done callback (void *ud) that sets the int ud points to. */
static inline void on_done_flag(void *ud) { *(int *)ud = 1; }

#endif
