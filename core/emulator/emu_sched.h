/*
 * emu_sched.h — the emulator's clocks (emu_sched.c): a binary heap of events driven by one
 * uv_timer. Calls no other emulator module (the owner hooks in dt__emu_sched_t hold a
 * firing event's call).
 */
#ifndef DT_EMU_SCHED_H
#define DT_EMU_SCHED_H
#include "emu_model.h"

void dt__emu_sched_init(dt__emu_sched_t *s, dt_emulator_t *emu, uv_loop_t *loop, bool real,
                        double scale);
uint64_t dt__emu_sched_now(const dt__emu_sched_t *s);
void dt__emu_sched_set_scale(dt__emu_sched_t *s, double scale);
/* Manual mode (simulated clock only): the clock stands still until _next or _advance. */
void dt__emu_sched_set_manual(dt__emu_sched_t *s, bool manual);
/* To the earliest event; runs the events due then that were scheduled before this call.
   Returns how many ran (0: nothing is scheduled), DT_ESTATE when not manual, DT_EBUSY
   from inside an event. */
int dt__emu_sched_next(dt__emu_sched_t *s);
/* By ms: runs every event due within them in order, then the clock reads now + ms. */
int dt__emu_sched_advance(dt__emu_sched_t *s, uint64_t ms);
/* The due time of the earliest event into *due; DT_ENOENT when none is scheduled. */
int dt__emu_sched_next_due(const dt__emu_sched_t *s, uint64_t *due);
/* The due time of the earliest event that is not lazy into *due; DT_ENOENT when none. */
int dt__emu_sched_next_active_due(const dt__emu_sched_t *s, uint64_t *due);
/* Schedules fn after delay ms of this clock; call (may be NULL) owns the event. */
dt__emu_ev_t *dt__emu_at(dt__emu_sched_t *s, emu_call_t *call, int64_t delay, dt__emu_ev_fn fn);
/* Same at an absolute time of this clock (a time already past fires on the next turn). */
dt__emu_ev_t *dt__emu_at_abs(dt__emu_sched_t *s, emu_call_t *call, uint64_t due, dt__emu_ev_fn fn);
void dt__emu_ev_cancel(dt__emu_ev_t *ev);
/* Frees every pending event (no callbacks) and closes the timer (close_cb may be NULL). */
void dt__emu_sched_close(dt__emu_sched_t *s, uv_close_cb close_cb);

#endif
