/*
 * loop_watch.c — the loop-stall watchdog (see loop_watch.h).
 *
 * libuv runs, per iteration: timers, pending callbacks, idle, PREPARE, the poller (which
 * blocks, then runs the I/O callbacks), CHECK, closing callbacks. The prepare callback is
 * the last thing before blocking, so from one prepare to the next is one whole iteration;
 * subtracting the time the poller spent blocked (uv_metrics_idle_time, which needs
 * UV_METRICS_IDLE_TIME on the loop) leaves the time the loop was busy in one go. (A loop
 * run with UV_RUN_ONCE by a caller that does its own work between runs, as the tests do,
 * counts that work too: it also delayed every call.)
 */
#include "dialtone/loop_watch.h"
#include <stdio.h>
#include <stdlib.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"

#define DEFAULT_STALL_SECONDS 0.1
#define LOG_EVERY_NS (10ull * 1000000000ull) /* at most one stall line per 10 s */

struct dt_loop_watch_s {
  dt_loop_watch_options_t o;
  uv_prepare_t prepare;
  int open_handles;
  bool started;                  /* one iteration seen: the next prepare measures */
  bool signalled;                /* a signal interrupted this iteration's poll: do not measure it */
  uint64_t last_ns, last_idle_ns;
  double busy_max;
  uint64_t last_log_ns;
  unsigned unlogged;             /* stalls since the last line */
};

static void report_stall(dt_loop_watch_t *w, uint64_t now, double busy) {
  char id[160] = "";
  double call_s = 0;
  bool blamed = w->o.blame && w->o.blame(w->o.blame_ud, id, sizeof id, &call_s);
  if (w->o.metrics) dt_metrics_inc(w->o.metrics, "dt_loop_stalls_total", NULL);
  if (w->last_log_ns && now - w->last_log_ns < LOG_EVERY_NS) {
    w->unlogged++;
    return;
  }
  char more[64] = "";
  if (w->unlogged) snprintf(more, sizeof more, "; %u more stall%s since the last report", w->unlogged,
                            w->unlogged == 1 ? "" : "s");
  if (blamed)
    dt_log(DT_LOG_WARN, id, "loop stalled for %.0f ms: call %s ran %.0f ms in one go%s", busy * 1e3, id,
           call_s * 1e3, more);
  else
    dt_log(DT_LOG_WARN, NULL, "loop stalled for %.0f ms (no flow ran long: engine work)%s", busy * 1e3, more);
  w->last_log_ns = now;
  w->unlogged = 0;
}

static void on_prepare(uv_prepare_t *h) {
  dt_loop_watch_t *w = h->data;
  uint64_t now = uv_hrtime();
  uint64_t idle = uv_metrics_idle_time(w->o.loop);
  if (w->started && !w->signalled) {
    uint64_t span = now - w->last_ns, idled = idle - w->last_idle_ns;
    double busy = span > idled ? (double)(span - idled) / 1e9 : 0.0;
    if (busy > w->busy_max) {
      w->busy_max = busy;
      if (w->o.metrics) dt_metrics_set(w->o.metrics, "dt_loop_busy_max_seconds", NULL, busy);
    }
    if (busy > w->o.stall_seconds) report_stall(w, now, busy);
    else if (w->o.blame) {
      char id[8];
      double s;
      w->o.blame(w->o.blame_ud, id, sizeof id, &s); /* forget this iteration's heaviest call */
    }
  }
  w->started = true;
  w->signalled = false;
  w->last_ns = now;
  w->last_idle_ns = idle;
}

int dt_loop_watch_start(const dt_loop_watch_options_t *o, dt_loop_watch_t **out) {
  if (!o || !o->loop) return DT_EINVAL;
  dt_loop_watch_t *w = dt_xcalloc(1, sizeof *w);
  w->o = *o;
  if (!(w->o.stall_seconds > 0)) w->o.stall_seconds = DEFAULT_STALL_SECONDS;
  /* Idle-time accounting is off by default; it only adds two clock reads per poll. */
  uv_loop_configure(o->loop, UV_METRICS_IDLE_TIME);
  uv_prepare_init(o->loop, &w->prepare);
  w->prepare.data = w;
  uv_prepare_start(&w->prepare, on_prepare);
  uv_unref((uv_handle_t *)&w->prepare); /* never keeps the loop alive */
  w->open_handles = 1;
  if (o->metrics) {
    dt_metrics_describe(o->metrics, "dt_loop_busy_max_seconds", "gauge",
                        "Longest time the event loop was busy in one iteration (every call waited that long).");
    dt_metrics_describe(o->metrics, "dt_loop_stalls_total", "counter",
                        "Loop iterations busy for longer than 100 ms (each is logged, rate-limited, with its call).");
    dt_metrics_set(o->metrics, "dt_loop_busy_max_seconds", NULL, 0);
    dt_metrics_add(o->metrics, "dt_loop_stalls_total", NULL, 0);
  }
  *out = w;
  return 0;
}

void dt_loop_watch_signal_arrived(dt_loop_watch_t *w) {
  if (w) w->signalled = true;
}

static void watch_closed(uv_handle_t *h) {
  dt_loop_watch_t *w = h->data;
  if (--w->open_handles == 0) free(w);
}

void dt_loop_watch_close(dt_loop_watch_t *w) {
  if (!w) return;
  w->o.blame = NULL;
  uv_close((uv_handle_t *)&w->prepare, watch_closed);
}

double dt_loop_watch_busy_max(const dt_loop_watch_t *w) { return w ? w->busy_max : 0; }
