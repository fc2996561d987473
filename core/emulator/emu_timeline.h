/*
 * emu_timeline.h — per-call timelines and their listeners (emu_timeline.c): the entries
 * the control API shows, the server-sent event streams of GET /emulator/events and the
 * in-process hook (dt_emulator_on_event). Calls emu_util and emu_sched only.
 */
#ifndef DT_EMU_TIMELINE_H
#define DT_EMU_TIMELINE_H
#include "emu_model.h"

/* Appends an entry of kind to c's timeline (fields consumed, may be NULL) and hands it to
   every listener. */
void dt__emu_timeline(emu_call_t *c, const char *kind, cJSON *fields);
/* A slot whose content is known later (a request and its status): it takes its place and
   sequence number now; _fill renders it then. */
emu_tl_slot_t dt__emu_timeline_reserve(emu_call_t *c);
void dt__emu_timeline_fill(emu_call_t *c, emu_tl_slot_t slot, const char *kind, cJSON *fields);
void dt__emu_timeline_free(emu_timeline_t *tl);
/* The timeline as GET /emulator/calls/{id}/timeline answers it (JSON text; caller frees). */
char *dt__emu_timeline_text(const emu_call_t *c, size_t *len);

/* GET /emulator/events: turns req into an event stream that gets every entry from now on. */
void dt__emu_events_open(dt_emulator_t *emu, dt_http_request_t *req);
/* Ends every event stream (closing). */
void dt__emu_events_close_all(dt_emulator_t *emu);

#endif
