/*
 * loop_watch.h — the loop-stall watchdog (issue 10, point 3). Everything dialtone does
 * runs on one libuv loop, so anything that keeps the loop busy delays every call. The
 * watchdog measures each loop iteration's busy time (wall time minus the time spent
 * waiting in the poller, uv_metrics_idle_time), keeps the longest as the gauge
 * dt_loop_busy_max_seconds, counts iterations busy for longer than the stall threshold in
 * dt_loop_stalls_total, and logs such a stall (warn, at most one line per 10 s with the
 * number of stalls not logged) with the call whose flow ran longest in that iteration.
 *
 * Promises: no timers (it only observes iterations: an idle loop costs nothing), its
 * handles never keep the loop alive, and closing it is immediate for the caller (the
 * handles finish closing on the loop and free the watchdog).
 */
#ifndef DIALTONE_LOOP_WATCH_H
#define DIALTONE_LOOP_WATCH_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include "dialtone/metrics.h"

typedef struct dt_loop_watch_s dt_loop_watch_t;

typedef struct {
  uv_loop_t *loop;               /* required */
  dt_metrics_t *metrics;         /* optional, borrowed */
  double stall_seconds;          /* an iteration busy longer than this is a stall; 0 = 0.1 */
  /* Optional: the call whose work took longest since the previous question (its id into
     id, its seconds into *seconds), forgetting it; false when no call ran. */
  bool (*blame)(void *ud, char *id, size_t idlen, double *seconds);
  void *blame_ud;
} dt_loop_watch_options_t;

/* Starts watching. DT_EINVAL without a loop. */
int dt_loop_watch_start(const dt_loop_watch_options_t *o, dt_loop_watch_t **out);
/* Stops watching at once (blame is never called again); NULL is fine. */
void dt_loop_watch_close(dt_loop_watch_t *w);
/* A signal arrived in this iteration (call it from the uv_signal_t callback). A signal
   interrupts the poller's wait (EINTR), and libuv then drops the interrupted wait from its
   idle time, so the time the loop slept before the signal would read as busy: a stall that
   never was (every SIGHUP and SIGTERM after a quiet spell). This iteration is not measured. */
void dt_loop_watch_signal_arrived(dt_loop_watch_t *w);
/* The longest busy iteration seen, in seconds. */
double dt_loop_watch_busy_max(const dt_loop_watch_t *w);

#endif
