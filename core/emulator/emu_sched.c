/*
 * emu_sched.c — the emulator's clocks: a binary heap of events driven by one uv_timer.
 *
 * Two instances per emulator: the simulated clock (delays multiplied by time_scale, so at
 * scale 0 events fire on the next loop iteration in due order) and the real clock (bot
 * facing timeouts). Promises: events fire in (due, scheduling order); an event scheduled
 * from inside a callback never runs in the same timer callback (I/O gets a turn first);
 * a cancelled event never fires; every event is on its call's list so a call can drop
 * all of its timers at once. Simulated time advances to each event's due time when it
 * fires (scale 0) or follows the real clock divided by the scale.
 *
 * Manual mode (the simulated clock only; dt_emulator_set_clock_manual): the clock stands
 * still and its timer is never armed; time moves only when the owner calls
 * dt__emu_sched_next (to the earliest event, running the events due at that instant that
 * were scheduled before the call) or dt__emu_sched_advance (by N ms, running every event
 * due within them in order). `dialtone test` drives the clock this way so that it can
 * wait for the engine between two instants.
 *
 * Calls no other emulator module: the call that owns a firing event is held through the
 * owner hooks (s->ref/s->unref) its owner sets.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "emu_sched.h"

static void sched_arm(dt__emu_sched_t *s);

void dt__emu_sched_init(dt__emu_sched_t *s, dt_emulator_t *emu, uv_loop_t *loop, bool real,
                        double scale) {
  memset(s, 0, sizeof *s);
  s->emu = emu;
  s->real = real;
  s->scale = real ? 1.0 : scale;
  uv_timer_init(loop, &s->timer);
  s->timer.data = s;
  s->anchor_real = uv_now(loop);
  s->anchor_sim = real ? s->anchor_real : 0;
}

uint64_t dt__emu_sched_now(const dt__emu_sched_t *s) {
  uint64_t real_now = uv_now(s->timer.loop);
  if (s->real) return real_now;
  if (s->manual || s->scale <= 0.0) return s->anchor_sim;
  double el = (double)(real_now - s->anchor_real) / s->scale;
  return s->anchor_sim + (uint64_t)el;
}

void dt__emu_sched_set_scale(dt__emu_sched_t *s, double scale) {
  if (s->real) return;
  if (scale < 0) scale = 0;
  if (s->manual) { /* the clock stands still: the scale applies once it runs again */
    s->scale = scale;
    return;
  }
  s->anchor_sim = dt__emu_sched_now(s);
  s->anchor_real = uv_now(s->timer.loop);
  s->scale = scale;
  sched_arm(s);
}

static bool ev_less(const dt__emu_ev_t *a, const dt__emu_ev_t *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(dt__emu_sched_t *s, size_t i, size_t j) {
  dt__emu_ev_t *t = s->heap[i];
  s->heap[i] = s->heap[j];
  s->heap[j] = t;
  s->heap[i]->idx = i;
  s->heap[j]->idx = j;
}

static void heap_up(dt__emu_sched_t *s, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_less(s->heap[i], s->heap[p])) break;
    heap_swap(s, i, p);
    i = p;
  }
}

static void heap_down(dt__emu_sched_t *s, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->n && ev_less(s->heap[l], s->heap[m])) m = l;
    if (r < s->n && ev_less(s->heap[r], s->heap[m])) m = r;
    if (m == i) break;
    heap_swap(s, i, m);
    i = m;
  }
}

static void heap_remove(dt__emu_sched_t *s, dt__emu_ev_t *ev) {
  size_t i = ev->idx;
  s->n--;
  if (i != s->n) {
    s->heap[i] = s->heap[s->n];
    s->heap[i]->idx = i;
    heap_down(s, i);
    heap_up(s, i);
  }
}

static void unlink_call(dt__emu_ev_t *ev) {
  if (ev->call) dt_list_remove(&ev->call->evs, &ev->clink);
}

/* Runs the events due at or before now, in (due, seq) order, those with seq < limit_seq
   only (later ones were scheduled by this batch), at most budget of them. */
static size_t run_due(dt__emu_sched_t *s, uint64_t now, uint64_t limit_seq, size_t budget) {
  size_t ran = 0;
  s->running = true;
  while (ran < budget && s->n > 0) {
    dt__emu_ev_t *ev = s->heap[0];
    if (ev->due > now || ev->seq >= limit_seq) break;
    heap_remove(s, ev);
    unlink_call(ev);
    /* the callback may end and evict its own call: keep it alive until we are done */
    emu_call_t *call = s->ref ? ev->call : NULL;
    if (call) s->ref(call);
    ev->fn(ev);
    free(ev);
    if (call) s->unref(call);
    ran++;
  }
  s->running = false;
  return ran;
}

static void on_timer(uv_timer_t *t) {
  dt__emu_sched_t *s = t->data;
  if (s->n == 0 || s->manual) return;
  uint64_t now;
  if (!s->real && s->scale <= 0.0) {
    /* instant time: jump to the earliest event */
    if (s->heap[0]->due > s->anchor_sim) s->anchor_sim = s->heap[0]->due;
    now = s->anchor_sim;
  } else {
    now = dt__emu_sched_now(s);
  }
  /* events scheduled from now on wait for the next turn; the batch is bounded so one
     turn never starves the loop */
  run_due(s, now, s->seq, 4096);
  sched_arm(s);
}

void dt__emu_sched_set_manual(dt__emu_sched_t *s, bool manual) {
  if (s->real || s->manual == manual) return;
  if (manual) {
    s->anchor_sim = dt__emu_sched_now(s);
    s->manual = true;
    uv_timer_stop(&s->timer);
  } else {
    s->manual = false;
    s->anchor_real = uv_now(s->timer.loop);
    sched_arm(s);
  }
}

int dt__emu_sched_next(dt__emu_sched_t *s) {
  if (!s->manual) return DT_ESTATE;
  if (s->running) return DT_EBUSY;
  if (s->n == 0) return 0;
  if (s->heap[0]->due > s->anchor_sim) s->anchor_sim = s->heap[0]->due;
  return (int)run_due(s, s->anchor_sim, s->seq, 4096);
}

int dt__emu_sched_advance(dt__emu_sched_t *s, uint64_t ms) {
  if (!s->manual) return DT_ESTATE;
  if (s->running) return DT_EBUSY;
  uint64_t target = s->anchor_sim + ms;
  size_t total = 0;
  /* every event up to target, those the batch schedules within it included; bounded, so
     a script that reschedules itself at the same instant cannot hang the caller */
  while (s->n > 0 && s->heap[0]->due <= target && total < 1000000) {
    if (s->heap[0]->due > s->anchor_sim) s->anchor_sim = s->heap[0]->due;
    total += run_due(s, s->anchor_sim, UINT64_MAX, 4096);
  }
  if (s->n == 0 || s->heap[0]->due > target) s->anchor_sim = target;
  return total > INT32_MAX ? INT32_MAX : (int)total;
}

int dt__emu_sched_next_due(const dt__emu_sched_t *s, uint64_t *due) {
  if (s->n == 0) return DT_ENOENT;
  if (due) *due = s->heap[0]->due;
  return 0;
}

int dt__emu_sched_next_active_due(const dt__emu_sched_t *s, uint64_t *due) {
  const dt__emu_ev_t *best = NULL;
  for (size_t i = 0; i < s->n; i++) { /* lazy events are few: a scan is enough */
    const dt__emu_ev_t *e = s->heap[i];
    if (!e->lazy && (!best || e->due < best->due || (e->due == best->due && e->seq < best->seq))) best = e;
  }
  if (!best) return DT_ENOENT;
  if (due) *due = best->due;
  return 0;
}

static void sched_arm(dt__emu_sched_t *s) {
  if (s->running) return;
  if (s->manual) {
    uv_timer_stop(&s->timer);
    return;
  }
  if (s->n == 0) {
    uv_timer_stop(&s->timer);
    return;
  }
  uint64_t due = s->heap[0]->due;
  uint64_t now = dt__emu_sched_now(s);
  uint64_t delay = 0;
  if (due > now) {
    double d = s->real ? (double)(due - now) : (double)(due - now) * s->scale;
    delay = (uint64_t)ceil(d);
  }
  uv_timer_start(&s->timer, on_timer, delay, 0);
}

dt__emu_ev_t *dt__emu_at(dt__emu_sched_t *s, emu_call_t *call, int64_t delay, dt__emu_ev_fn fn) {
  if (delay < 0) delay = 0;
  return dt__emu_at_abs(s, call, dt__emu_sched_now(s) + (uint64_t)delay, fn);
}

dt__emu_ev_t *dt__emu_at_abs(dt__emu_sched_t *s, emu_call_t *call, uint64_t due, dt__emu_ev_fn fn) {
  dt__emu_ev_t *ev = dt_xcalloc(1, sizeof *ev);
  ev->due = due;
  ev->seq = s->seq++;
  ev->sched = s;
  ev->fn = fn;
  ev->call = call;
  if (call) dt_list_push_front(&call->evs, &ev->clink);
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->heap = dt_xrealloc(s->heap, s->cap * sizeof *s->heap);
  }
  ev->idx = s->n;
  s->heap[s->n++] = ev;
  heap_up(s, ev->idx);
  if (ev->idx == 0) sched_arm(s);
  return ev;
}

void dt__emu_ev_cancel(dt__emu_ev_t *ev) {
  if (ev == NULL) return;
  dt__emu_sched_t *s = ev->sched;
  bool was_top = ev->idx == 0;
  heap_remove(s, ev);
  unlink_call(ev);
  free(ev);
  if (was_top) sched_arm(s);
}

void dt__emu_sched_close(dt__emu_sched_t *s, uv_close_cb close_cb) {
  for (size_t i = 0; i < s->n; i++) {
    unlink_call(s->heap[i]);
    free(s->heap[i]);
  }
  free(s->heap);
  s->heap = NULL;
  s->n = s->cap = 0;
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, close_cb);
}
