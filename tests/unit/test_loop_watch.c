/* Unit tests for loop_watch.c: a busy iteration is measured, counted and logged with the
   call the blame hook names; quick iterations are not stalls; the watchdog never keeps the
   loop alive; closing frees it on the loop. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/loop_watch.h"
#include "dialtone/metrics.h"
#include "harness/dt_test.h"

static void spin_ms(int ms) {
  uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
  while (uv_hrtime() < end) {
  }
}

typedef struct {
  int asked;
  bool have; /* a call ran since the last question */
} blame_t;

static int spin_for, ticks;
static blame_t *running; /* the spinning tick is "a call's flow" when set */
/* Spins on the second tick only: the first may run before the watchdog has seen an
   iteration start (a slow start, under valgrind, makes the first tick due at once). */
static void on_timer(uv_timer_t *t) {
  if (++ticks == 2) {
    spin_ms(spin_for);
    if (running) running->have = true;
  }
  if (ticks == 3) uv_timer_stop(t);
}

static bool blame(void *ud, char *id, size_t idlen, double *seconds) {
  blame_t *b = ud;
  b->asked++;
  if (!b->have) return false;
  snprintf(id, idlen, "call-slow");
  *seconds = 0.15;
  b->have = false; /* forgotten once asked */
  return true;
}

/* One timer that spins for ms inside one callback, then the loop runs dry. */
static void run_busy(uv_loop_t *loop, int ms) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  spin_for = ms;
  ticks = 0;
  uv_timer_start(&t, on_timer, 1, 5);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
}

DT_TEST(start_needs_a_loop) {
  dt_loop_watch_t *w = NULL;
  DT_ASSERT_EQ_INT(dt_loop_watch_start(NULL, &w), DT_EINVAL);
  dt_loop_watch_options_t o = {0};
  DT_ASSERT_EQ_INT(dt_loop_watch_start(&o, &w), DT_EINVAL);
  DT_ASSERT(w == NULL);
  dt_loop_watch_close(NULL); /* fine */
  DT_ASSERT(dt_loop_watch_busy_max(NULL) == 0);
}

DT_TEST(idle_watchdog_does_not_keep_the_loop_alive) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_metrics_t *m = dt_metrics_new();
  dt_loop_watch_options_t o = {.loop = &loop, .metrics = m};
  dt_loop_watch_t *w = NULL;
  DT_ASSERT_EQ_INT(dt_loop_watch_start(&o, &w), 0);
  DT_ASSERT_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0); /* returns at once: nothing else is alive */
  DT_ASSERT(dt_metrics_get(m, "dt_loop_stalls_total", NULL) == 0);
  dt_buf_t b = {0};
  dt_metrics_render(m, &b);
  DT_ASSERT_CONTAINS(b.data, "dt_loop_busy_max_seconds 0");
  DT_ASSERT_CONTAINS(b.data, "dt_loop_stalls_total 0");
  dt_buf_free(&b);
  dt_loop_watch_close(w);
  uv_run(&loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0); /* every handle closed */
  dt_metrics_free(m);
}

DT_TEST(busy_iteration_is_a_stall_blamed_on_its_call) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_metrics_t *m = dt_metrics_new();
  blame_t bl = {0, false};
  running = &bl;
  dt_loop_watch_options_t o = {.loop = &loop, .metrics = m, .stall_seconds = 0.2, .blame = blame, .blame_ud = &bl};
  dt_loop_watch_t *w = NULL;
  DT_ASSERT_EQ_INT(dt_loop_watch_start(&o, &w), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  dt_log_set_output(mem);
  run_busy(&loop, 300); /* well over the threshold, which is well over a slow (valgrind) iteration */
  dt_log_set_output(NULL);
  fclose(mem);
  DT_ASSERT(dt_loop_watch_busy_max(w) >= 0.3);
  DT_ASSERT(dt_metrics_get(m, "dt_loop_busy_max_seconds", NULL) >= 0.3);
  DT_ASSERT(dt_metrics_get(m, "dt_loop_stalls_total", NULL) == 1);
  DT_ASSERT(bl.asked >= 1);
  DT_ASSERT_CONTAINS(text, "loop stalled for ");
  DT_ASSERT_CONTAINS(text, "[call call-slow]");
  DT_ASSERT_CONTAINS(text, "call call-slow ran 150 ms in one go");
  free(text);

  /* a second stall within 10 s is counted, not logged; nobody to blame this time */
  running = NULL;
  text = NULL;
  mem = open_memstream(&text, &len);
  dt_log_set_output(mem);
  run_busy(&loop, 250);
  dt_log_set_output(NULL);
  fclose(mem);
  DT_ASSERT(dt_metrics_get(m, "dt_loop_stalls_total", NULL) == 2);
  DT_ASSERT(len == 0);
  free(text);

  int asked = bl.asked;
  dt_loop_watch_close(w); /* blame is never called again */
  run_busy(&loop, 250);
  DT_ASSERT_EQ_INT(bl.asked, asked);
  DT_ASSERT(dt_metrics_get(m, "dt_loop_stalls_total", NULL) == 2);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  dt_metrics_free(m);
}

DT_TEST(quick_iterations_are_not_stalls) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_metrics_t *m = dt_metrics_new();
  blame_t bl = {0, false};
  dt_loop_watch_options_t o = {.loop = &loop, .metrics = m, .stall_seconds = 0.5, .blame = blame, .blame_ud = &bl};
  dt_loop_watch_t *w = NULL;
  DT_ASSERT_EQ_INT(dt_loop_watch_start(&o, &w), 0);
  run_busy(&loop, 5);
  DT_ASSERT(dt_metrics_get(m, "dt_loop_stalls_total", NULL) == 0);
  DT_ASSERT(dt_loop_watch_busy_max(w) >= 0.005 && dt_loop_watch_busy_max(w) < 0.5);
  DT_ASSERT(bl.asked >= 1); /* each quiet iteration forgets its heaviest call */
  dt_loop_watch_close(w);
  uv_run(&loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  dt_metrics_free(m);
}


/* A signal after a quiet spell is not a stall. The signal interrupts the poller's wait
   (EINTR) and libuv drops that wait from its idle time, so without
   dt_loop_watch_signal_arrived the sleep before SIGHUP/SIGTERM read as a busy iteration. */
typedef struct {
  int signals;
  dt_loop_watch_t *w;
  uv_signal_t sig;
  uv_timer_t after; /* one more iteration, so the watchdog measures the signalled one */
} quiet_t;

static void *signal_later(void *arg) {
  (void)arg;
  struct timespec ts = {0, 400 * 1000000L}; /* longer than the 0.2 s threshold */
  nanosleep(&ts, NULL);
  kill(getpid(), SIGUSR1); /* as `kill -HUP` does: the process, while its loop sleeps */
  return NULL;
}

static void close_timer(uv_timer_t *t) { uv_close((uv_handle_t *)t, NULL); }

static void on_usr1(uv_signal_t *h, int signum) {
  (void)signum;
  quiet_t *q = h->data;
  dt_loop_watch_signal_arrived(q->w);
  q->signals++;
  uv_close((uv_handle_t *)h, NULL);
  uv_timer_init(h->loop, &q->after);
  uv_timer_start(&q->after, close_timer, 5, 0);
}

DT_TEST(a_signal_after_a_quiet_spell_is_not_a_stall) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  dt_metrics_t *m = dt_metrics_new();
  dt_loop_watch_options_t o = {.loop = &loop, .metrics = m, .stall_seconds = 0.2};
  quiet_t q = {0};
  DT_ASSERT_EQ_INT(dt_loop_watch_start(&o, &q.w), 0);
  uv_signal_init(&loop, &q.sig);
  q.sig.data = &q;
  uv_signal_start(&q.sig, on_usr1, SIGUSR1);
  /* one iteration first, so the watchdog measures the quiet one */
  uv_run(&loop, UV_RUN_NOWAIT);
  pthread_t th;
  DT_ASSERT_EQ_INT(pthread_create(&th, NULL, signal_later, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT); /* sleeps in the poller until the signal, then runs dry */
  pthread_join(th, NULL);
  DT_ASSERT_EQ_INT(q.signals, 1);
  DT_ASSERT(dt_metrics_get(m, "dt_loop_stalls_total", NULL) == 0);
  DT_ASSERT(dt_loop_watch_busy_max(q.w) < 0.2);
  dt_loop_watch_close(q.w);
  uv_run(&loop, UV_RUN_DEFAULT);
  DT_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  dt_metrics_free(m);
}

DT_TEST_MAIN()
