/*
 * emu_incoming.h — the Graph fields of an incoming call's context that the control API can
 * ask for (emu_incoming.c): subject, chatInfo/meetingInfo (a meeting invite),
 * incomingContext (transferor, onBehalfOf, observedParticipantId of a policy-recording
 * invite), and the target of a policy-recording invite.
 */
#ifndef DT_EMU_INCOMING_H
#define DT_EMU_INCOMING_H
#include "emu_model.h"

#define EMU_SUBJECT_MAX 1024
#define EMU_THREAD_MAX 512

/* Checks o's context options and builds the call fields they add: *extra gets
   {"subject":, "chatInfo":, "meetingInfo":, "incomingContext": {"transferor":,
   "onBehalfOf":}} (only what was asked; NULL when nothing), *observed whether the caller
   is an observed participant (policy recording). tenant: the call's tenant. 0, or DT_EINVAL
   with why in err (nothing allocated). */
int dt__emu_incoming_extra(const dt_emulator_call_options_t *o, const char *tenant, cJSON **extra,
                           bool *observed, char *err, size_t errlen);

/* The target of a policy-recording invite when the placer names none: the recorder's
   application instance ({"applicationInstance": {id, displayName, tenantId}}). */
cJSON *dt__emu_recorder_target(const char *app_id, const char *tenant);

/* Adds extra (consumed, may be NULL) to a new call's resource r: its subject, chatInfo and
   meetingInfo as they are, and its incomingContext members into r's incomingContext, with
   observedParticipantId = source_pid when observed. */
void dt__emu_incoming_apply(cJSON *r, cJSON *extra, bool observed, const char *source_pid);

#endif
