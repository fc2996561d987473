/*
 * emu_meetings.c — meetings as places several calls share. A meeting is its key (the
 * chatInfo.threadId the join named, case-folded, or "join:" + joinMeetingId): every live
 * bot leg with the same key is in the same meeting. There is no meeting object to keep in
 * step: a leg's roster (c->participants) is the meeting's roster as that leg sees it, and
 * every change (a leg joins or ends, a person joins or leaves) is applied to each leg and
 * notified to each ("updated" on …/participants with the whole roster, as the emulator
 * always sends it).
 *
 * Promises: a person has one participant id in every leg; a leg's own participant
 * (myParticipantId) is in the other legs' rosters while it is established; nothing here
 * touches a call that has ended. Group calls (no meeting key) take people too, one call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "emu_meetings.h"
#include "emu_notify.h"
#include "emu_registry.h"
#include "emu_timeline.h"
#include "emu_util.h"

#define MEETING_KEY_MAX 512
#define MEETING_ROSTER_MAX 250 /* people in one call's roster (the control API's cap) */

void dt__emu_meeting_attach(emu_call_t *c) {
  const char *thread = dt__emu_json_str(dt__emu_json_get(c->res, "chatInfo"), "threadId");
  const cJSON *mi = dt__emu_json_get(c->res, "meetingInfo");
  const char *jid = dt__emu_json_str(mi, "joinMeetingId");
  char key[MEETING_KEY_MAX];
  if (thread && thread[0] && strlen(thread) < sizeof key) {
    size_t i = 0;
    for (; thread[i]; i++) key[i] = (char)((thread[i] >= 'A' && thread[i] <= 'Z') ? thread[i] + 32 : thread[i]);
    key[i] = '\0';
  } else if (jid && jid[0] && strlen(jid) < sizeof key - 8) {
    snprintf(key, sizeof key, "join:%s", jid);
  } else {
    return;
  }
  free(c->meeting);
  c->meeting = dt_xstrdup(key);
}

/* The other live, established legs of c's meeting (a malloc'd array; *n of them). */
static emu_call_t **peers(emu_call_t *c, size_t *n) {
  *n = 0;
  if (c->meeting == NULL) return NULL;
  size_t nv = 0;
  void **vals = dt_hashmap_values(&c->emu->calls, &nv);
  emu_call_t **out = (emu_call_t **)vals;
  for (size_t i = 0; i < nv; i++) {
    emu_call_t *o = vals[i];
    if (o != c && !o->ended && o->state == EMU_CS_ESTABLISHED && o->meeting && strcmp(o->meeting, c->meeting) == 0)
      out[(*n)++] = o;
  }
  return out;
}

static void timeline_person(emu_call_t *c, const char *kind, const char *pid, const cJSON *identity) {
  char desc[96];
  dt__emu_identity_desc(identity, desc, sizeof desc);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "participant", pid);
  cJSON_AddStringToObject(tl, "who", desc);
  const char *kind_of = NULL;
  dt__emu_identity_id(identity, &kind_of);
  if (kind_of) cJSON_AddStringToObject(tl, "identity", kind_of);
  dt__emu_timeline(c, kind, tl);
}

static cJSON *identity_of(const cJSON *participant) {
  return dt__emu_json_get(dt__emu_json_get(participant, "info"), "identity");
}

void dt__emu_meeting_joined(emu_call_t *c) {
  size_t n;
  emu_call_t **ps = peers(c, &n);
  const cJSON *mine = dt__emu_participant_find(c, c->my_pid);
  for (size_t i = 0; i < n; i++) {
    emu_call_t *o = ps[i];
    /* what the other leg sees that this one does not: its people and its own bot */
    const cJSON *p;
    cJSON_ArrayForEach(p, o->participants) {
      const char *pid = dt__emu_json_str(p, "id");
      if (pid && !dt__emu_participant_find(c, pid)) cJSON_AddItemToArray(c->participants, cJSON_Duplicate(p, 1));
    }
    if (mine && !dt__emu_participant_find(o, c->my_pid)) {
      cJSON_AddItemToArray(o->participants, cJSON_Duplicate(mine, 1));
      timeline_person(o, "participant_joined", c->my_pid, identity_of(mine));
      dt__emu_notify_roster(o);
    }
  }
  free(ps);
}

/* Removes participant pid from c's roster; true if it was there. */
static bool roster_remove(emu_call_t *c, const char *pid) {
  cJSON *p = dt__emu_participant_find(c, pid);
  if (p == NULL) return false;
  cJSON_DetachItemViaPointer(c->participants, p);
  cJSON_Delete(p);
  return true;
}

void dt__emu_meeting_left(emu_call_t *c) {
  size_t n;
  emu_call_t **ps = peers(c, &n);
  for (size_t i = 0; i < n; i++) {
    emu_call_t *o = ps[i];
    cJSON *p = dt__emu_participant_find(o, c->my_pid);
    if (p == NULL) continue;
    timeline_person(o, "participant_left", c->my_pid, identity_of(p));
    roster_remove(o, c->my_pid);
    dt__emu_notify_roster(o);
  }
  free(ps);
}

int dt__emu_person_join(emu_call_t *c, const cJSON *identity, char pid[37]) {
  if (!cJSON_IsObject(identity) || dt__emu_identity_id(identity, NULL) == NULL) return DT_EINVAL;
  if (c->ended || !c->multiparty || c->state != EMU_CS_ESTABLISHED) return DT_ESTATE;
  if (cJSON_GetArraySize(c->participants) >= MEETING_ROSTER_MAX) return DT_ESTATE;
  dt_guid(pid);
  size_t n;
  emu_call_t **ps = peers(c, &n);
  dt__emu_participant_add(c, identity, pid);
  timeline_person(c, "participant_joined", pid, identity);
  dt__emu_notify_roster(c);
  for (size_t i = 0; i < n; i++) {
    dt__emu_participant_add(ps[i], identity, pid);
    timeline_person(ps[i], "participant_joined", pid, identity);
    dt__emu_notify_roster(ps[i]);
  }
  free(ps);
  return 0;
}

/* The participant id of `who` in c: who itself when it is a participant id, else the first
   participant whose identity id is who (case-insensitive). NULL: nobody. */
static const char *find_who(emu_call_t *c, const char *who) {
  const cJSON *p = dt__emu_participant_find(c, who);
  if (p) return dt__emu_json_str(p, "id");
  cJSON_ArrayForEach(p, c->participants) {
    const char *iid = dt__emu_identity_id(identity_of(p), NULL);
    if (iid && dt_strcasecmp(iid, who) == 0) return dt__emu_json_str(p, "id");
  }
  return NULL;
}

int dt__emu_person_leave(emu_call_t *c, const char *who) {
  if (who == NULL || !who[0] || strlen(who) > 255) return DT_EINVAL;
  if (c->ended || !c->multiparty || c->state != EMU_CS_ESTABLISHED) return DT_ESTATE;
  const char *found = find_who(c, who);
  if (found == NULL) return DT_ENOENT;
  char pid[64];
  snprintf(pid, sizeof pid, "%s", found);
  if (strcmp(pid, c->my_pid) == 0) return DT_EINVAL; /* the bot's own leg leaves by hanging up */
  size_t n;
  emu_call_t **ps = peers(c, &n);
  cJSON *p = dt__emu_participant_find(c, pid);
  timeline_person(c, "participant_left", pid, identity_of(p));
  roster_remove(c, pid);
  dt__emu_notify_roster(c);
  for (size_t i = 0; i < n; i++) {
    cJSON *q = dt__emu_participant_find(ps[i], pid);
    if (q == NULL) continue;
    timeline_person(ps[i], "participant_left", pid, identity_of(q));
    roster_remove(ps[i], pid);
    dt__emu_notify_roster(ps[i]);
  }
  free(ps);
  return 0;
}
