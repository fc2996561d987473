/*
 * emu_meetings.h — meetings as places several calls share (emu_meetings.c): the bot's legs
 * in one meeting (the same chatInfo.threadId, or the same joinMeetingId) see each other and
 * the same people in their rosters; people join and leave group calls and meetings through
 * the control API, with the roster notifications Graph sends. Calls emu_util, emu_registry,
 * emu_timeline, emu_notify.
 */
#ifndef DT_EMU_MEETINGS_H
#define DT_EMU_MEETINGS_H
#include "emu_model.h"

/* The meeting a new outgoing call names (chatInfo.threadId, case-folded; else the v1.0
   joinMeetingId), kept in c->meeting; nothing for a call that names none. */
void dt__emu_meeting_attach(emu_call_t *c);
/* The bot's leg c is in (established): it sees the people and the bot legs already there,
   and they see it (each other leg gets a roster notification). */
void dt__emu_meeting_joined(emu_call_t *c);
/* The bot's leg c ended: the other legs' rosters lose it. */
void dt__emu_meeting_left(emu_call_t *c);
/* A person joins group call or meeting c (and every bot leg in the same meeting), with
   identity (an identitySet, copied). The participant id goes to pid. 0, or DT_ESTATE (c is
   not an established group call or meeting) or DT_EINVAL. */
int dt__emu_person_join(emu_call_t *c, const cJSON *identity, char pid[37]);
/* The person `who` (a participant id or an identity id) leaves c and its meeting's other
   legs. 0, DT_ENOENT (nobody by that id), DT_ESTATE, DT_EINVAL. */
int dt__emu_person_leave(emu_call_t *c, const char *who);

#endif
