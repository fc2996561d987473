/*
 * emu_notify.h — notifications to the bot (emu_notify.c): commsNotifications bodies,
 * signed delivery, per-call ordering, notification faults. Calls emu_util, emu_sched,
 * emu_timeline, emu_registry.
 */
#ifndef DT_EMU_NOTIFY_H
#define DT_EMU_NOTIFY_H
#include "emu_model.h"

/* Queues a notification about call `about` (resource suffix such as "/participants" or
   NULL) on call q's queue (ordered per call) to url. data is consumed. */
void dt__emu_notify(emu_call_t *q, const char *url, const char *change_type,
                    const char *resource_suffix, emu_call_t *about, cJSON *resource_data,
                    const char *summary);
/* A #microsoft.graph.call resource with fields (consumed) to the call's callback. */
void dt__emu_notify_call(emu_call_t *c, const char *change_type, cJSON *fields,
                         const char *summary);
/* Moves call c to emulator state st and tells the bot: "updated" with just callState
   graph_state (which is also the summary). */
void dt__emu_notify_state(emu_call_t *c, int st, const char *graph_state);
/* The roster of a multiparty call ("updated" on .../participants); nothing otherwise. */
void dt__emu_notify_roster(emu_call_t *c);
/* The bearer token notifications carry (cached; re-signed when less than 60 s are left). */
const char *dt__emu_jwt(dt_emulator_t *emu);

#endif
