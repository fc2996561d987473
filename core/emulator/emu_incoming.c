/*
 * emu_incoming.c — the context of an incoming call the emulator places (see emu_incoming.h):
 * a subject, a meeting invite (chatInfo + organizerMeetingInfo), a transferred call
 * (incomingContext.transferor), a call on behalf of someone (onBehalfOf), and a
 * policy-recording invite (observedParticipantId = the caller's participant id, the target
 * the recorder's application instance).
 *
 * Also reads a placed call's options from the control API's JSON (dt_emulator_call_options_json).
 * Owns the validation of those control-API options (every string bounded, identities in the
 * forms the rest of the control API takes) and their Graph JSON. Promises: a refused option
 * allocates nothing and says why; only what was asked is added.
 */
#include <stdio.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "emu_incoming.h"
#include "emu_util.h"

/* An optional string member of the meeting option: absent, or 1..max bytes. */
static int opt_text(const cJSON *o, const char *key, size_t max, const char **out, char *err, size_t errlen) {
  *out = NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (v == NULL || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > max)
    return dt_seterr(err, errlen, DT_EINVAL, "\"meeting.%s\" must be a string of 1 to %zu bytes", key, max);
  *out = v->valuestring;
  return 0;
}

static cJSON *user_with_tenant(cJSON *set, const char *tenant) {
  cJSON *u = cJSON_GetObjectItemCaseSensitive(set, "user");
  if (cJSON_IsObject(u) && !cJSON_GetObjectItemCaseSensitive(u, "tenantId")) cJSON_AddStringToObject(u, "tenantId", tenant);
  return set;
}

static int meeting_fields(const dt_emulator_call_options_t *o, const char *tenant, cJSON *x, char *err,
                          size_t errlen) {
  const cJSON *m = o->meeting;
  if (m == NULL || cJSON_IsFalse(m) || cJSON_IsNull(m)) return 0;
  if (!cJSON_IsTrue(m) && !cJSON_IsObject(m))
    return dt_seterr(err, errlen, DT_EINVAL,
                     "\"meeting\" must be true or {\"organizer\": identity, \"thread\":, \"message\":}");
  const char *thread = NULL, *message = NULL;
  cJSON *organizer = NULL;
  if (cJSON_IsObject(m)) {
    const cJSON *it;
    cJSON_ArrayForEach(it, m) {
      if (strcmp(it->string, "organizer") && strcmp(it->string, "thread") && strcmp(it->string, "message"))
        return dt_seterr(err, errlen, DT_EINVAL, "\"meeting.%.32s\": unknown (organizer, thread, message)", it->string);
    }
    if (opt_text(m, "thread", EMU_THREAD_MAX, &thread, err, errlen) ||
        opt_text(m, "message", 64, &message, err, errlen))
      return DT_EINVAL;
    const cJSON *org = cJSON_GetObjectItemCaseSensitive(m, "organizer");
    if (org && (organizer = dt__emu_identity_from_short(org)) == NULL)
      return dt_seterr(err, errlen, DT_EINVAL, "\"meeting.organizer\" must be an identity");
  }
  if (organizer == NULL) organizer = o->from ? dt__emu_identity_from_short(o->from) : NULL;
  if (organizer == NULL) {
    cJSON *s = cJSON_CreateString("organizer");
    organizer = dt__emu_identity_from_short(s);
    cJSON_Delete(s);
  }
  char guid[37], tid[96];
  dt_guid(guid);
  snprintf(tid, sizeof tid, "19:meeting_%s@thread.v2", guid);
  cJSON *ci = cJSON_AddObjectToObject(x, "chatInfo");
  cJSON_AddStringToObject(ci, "@odata.type", "#microsoft.graph.chatInfo");
  cJSON_AddStringToObject(ci, "threadId", thread ? thread : tid);
  cJSON_AddStringToObject(ci, "messageId", message ? message : "0");
  cJSON *mi = cJSON_AddObjectToObject(x, "meetingInfo");
  cJSON_AddStringToObject(mi, "@odata.type", "#microsoft.graph.organizerMeetingInfo");
  cJSON_AddItemToObject(mi, "organizer", user_with_tenant(organizer, tenant));
  return 0;
}

int dt__emu_incoming_extra(const dt_emulator_call_options_t *o, const char *tenant, cJSON **extra,
                           bool *observed, char *err, size_t errlen) {
  *extra = NULL;
  *observed = o->policy_recording;
  if (o->subject && (o->subject[0] == '\0' || strlen(o->subject) > EMU_SUBJECT_MAX))
    return dt_seterr(err, errlen, DT_EINVAL, "\"subject\" must be a string of 1 to %d bytes", EMU_SUBJECT_MAX);
  cJSON *transferor = NULL, *behalf = NULL;
  if (o->transferor && (transferor = dt__emu_identity_from_short(o->transferor)) == NULL)
    return dt_seterr(err, errlen, DT_EINVAL, "\"transferor\" must be an identity");
  if (o->on_behalf_of && (behalf = dt__emu_identity_from_short(o->on_behalf_of)) == NULL) {
    cJSON_Delete(transferor);
    return dt_seterr(err, errlen, DT_EINVAL, "\"on_behalf_of\" must be an identity");
  }
  cJSON *x = cJSON_CreateObject();
  if (o->subject) cJSON_AddStringToObject(x, "subject", o->subject);
  if (meeting_fields(o, tenant, x, err, errlen) != 0) {
    cJSON_Delete(x);
    cJSON_Delete(transferor);
    cJSON_Delete(behalf);
    return DT_EINVAL;
  }
  if (transferor || behalf) {
    cJSON *ic = cJSON_AddObjectToObject(x, "incomingContext");
    if (behalf) cJSON_AddItemToObject(ic, "onBehalfOf", behalf);
    if (transferor) cJSON_AddItemToObject(ic, "transferor", transferor);
  }
  if (x->child == NULL) cJSON_Delete(x);
  else *extra = x;
  return 0;
}

int dt_emulator_call_options_json(const cJSON *body, dt_emulator_call_options_t *o, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  if (!cJSON_IsObject(body)) return dt_seterr(err, errlen, DT_EINVAL, "the call's options must be a JSON object");
  o->bot_url = dt__emu_json_str(body, "bot_url");
  if (!o->bot_url) o->bot_url = dt__emu_json_str(body, "callback");
  if (!o->bot_url) o->bot_url = dt__emu_json_str(body, "callbackUri");
  o->from = cJSON_GetObjectItemCaseSensitive(body, "from");
  o->to = cJSON_GetObjectItemCaseSensitive(body, "to");
  o->script = cJSON_GetObjectItemCaseSensitive(body, "script");
  o->tenant_id = dt__emu_json_str(body, "tenant_id");
  o->modalities = cJSON_GetObjectItemCaseSensitive(body, "modalities");
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(body, "subject");
  if (s && !cJSON_IsNull(s) && !cJSON_IsString(s)) return dt_seterr(err, errlen, DT_EINVAL, "\"subject\" must be a string");
  o->subject = cJSON_IsString(s) ? s->valuestring : NULL;
  const cJSON *pr = cJSON_GetObjectItemCaseSensitive(body, "policy_recording");
  if (pr && !cJSON_IsNull(pr) && !cJSON_IsBool(pr))
    return dt_seterr(err, errlen, DT_EINVAL, "\"policy_recording\" must be true or false");
  o->policy_recording = cJSON_IsTrue(pr);
  o->meeting = cJSON_GetObjectItemCaseSensitive(body, "meeting");
  o->transferor = cJSON_GetObjectItemCaseSensitive(body, "transferor");
  o->on_behalf_of = cJSON_GetObjectItemCaseSensitive(body, "on_behalf_of");
  return 0;
}

cJSON *dt__emu_recorder_target(const char *app_id, const char *tenant) {
  cJSON *to = cJSON_CreateObject();
  cJSON *ai = cJSON_AddObjectToObject(to, "applicationInstance");
  cJSON_AddStringToObject(ai, "@odata.type", "#microsoft.graph.identity");
  cJSON_AddStringToObject(ai, "id", app_id);
  cJSON_AddStringToObject(ai, "displayName", "Compliance Recorder");
  cJSON_AddStringToObject(ai, "tenantId", tenant);
  return to;
}

void dt__emu_incoming_apply(cJSON *r, cJSON *extra, bool observed, const char *source_pid) {
  cJSON *ic = cJSON_GetObjectItemCaseSensitive(r, "incomingContext");
  if (observed && ic) cJSON_AddStringToObject(ic, "observedParticipantId", source_pid);
  if (extra == NULL) return;
  cJSON *xic = cJSON_DetachItemFromObjectCaseSensitive(extra, "incomingContext");
  if (ic) dt__emu_json_merge(ic, xic);
  else cJSON_Delete(xic);
  dt__emu_json_merge(r, extra);
}
