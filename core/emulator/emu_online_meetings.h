/*
 * emu_online_meetings.h — Graph's onlineMeeting resource in the emulator
 * (emu_online_meetings.c). Calls emu_http (admission: faults, bearer token; answers),
 * emu_util.
 */
#ifndef DT_EMU_ONLINE_MEETINGS_H
#define DT_EMU_ONLINE_MEETINGS_H
#include <stdbool.h>
#include "emu_model.h"

#define EMU_ONLINE_MEETINGS_MAX 1000 /* kept; the oldest goes first */

/* Handles the request if path (after the version base: "/users/{id}/onlineMeetings…",
   "/app/onlineMeetings…", "/communications/onlineMeetings…") is an onlineMeetings path;
   false (nothing answered) if it is not. base: "/v1.0", "/beta" or "". */
bool dt__emu_online_meetings(dt_emulator_t *emu, dt_http_request_t *req, const char *base, const char *path);
/* The meeting whose joinWebUrl is url (NULL if none); organizer: only that organizer's
   meetings (NULL: anyone's). */
const cJSON *dt__emu_online_meeting_find(const dt_emulator_t *emu, const char *url, const char *organizer);
/* The meeting whose chatInfo.threadId is thread (case-folded), or NULL. */
const cJSON *dt__emu_online_meeting_by_thread(const dt_emulator_t *emu, const char *thread);
/* Forgets every meeting (dt_emulator_reset, close). */
void dt__emu_online_meetings_clear(dt_emulator_t *emu);

#endif
