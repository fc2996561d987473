/*
 * graph_body.c — the request bodies of every Graph call action (see dialtone/graph_body.h).
 *
 * Owns: validating a request's arguments (string and id lengths, identity kinds, enums,
 * item counts, what each dialect lacks) and building its JSON body in the shapes of the
 * reference documents and graph_schema_extract.md, with the documents' "@odata.type"
 * annotations. Promises: pure -- no I/O, no loop, no globals; a refused argument returns
 * its code with *out NULL and nothing allocated; keys are literals (the cJSON CS variants
 * skip a strdup per key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/graph_body.h"
#include "dialtone/notify.h" /* dt_tone_name */

#define MAX_TONES 64 /* sendDtmfTones and stop tones */

/* ---- validation helpers ---- */

static bool str_ok(const char *s) { return s == NULL || strnlen(s, DT_GRAPH_MAX_STRING + 1) <= DT_GRAPH_MAX_STRING; }

/* The identitySet member names, as literals (cJSON_AddItemToObjectCS keeps the pointer). */
static const char *identity_key(const char *kind) {
  static const char *const kinds[] = {"user", "phone", "application", "applicationInstance", "guest"};
  return dt_str_among(kind, kinds, DT_ARRAY_SIZE(kinds));
}

static bool identity_ok(const dt_identity_t *id) {
  if (id == NULL) return false;
  const char *key = identity_key(id->kind);
  if (key == NULL) return false;
  bool guest = strcmp(key, "guest") == 0;
  if (!guest && (id->id == NULL || *id->id == '\0')) return false;
  if (guest && (id->id == NULL || *id->id == '\0') && (id->display_name == NULL || *id->display_name == '\0'))
    return false;
  return str_ok(id->id) && str_ok(id->tenant_id) && str_ok(id->display_name);
}

/* ---- cJSON helpers: keys are literals, so the CS variants skip a strdup per key ---- */

static cJSON *typed(const char *odata_type) {
  cJSON *o = cJSON_CreateObject();
  if (odata_type) cJSON_AddItemToObjectCS(o, "@odata.type", cJSON_CreateStringReference(odata_type));
  return o;
}

static void put_str(cJSON *o, const char *key, const char *v) {
  if (v) cJSON_AddItemToObjectCS(o, key, cJSON_CreateString(v));
}

static void put_num(cJSON *o, const char *key, double v) { cJSON_AddItemToObjectCS(o, key, cJSON_CreateNumber(v)); }

static void put_bool(cJSON *o, const char *key, bool v) { cJSON_AddItemToObjectCS(o, key, cJSON_CreateBool(v)); }

static void put(cJSON *o, const char *key, cJSON *item) { cJSON_AddItemToObjectCS(o, key, item); }

static cJSON *identity_set(const dt_identity_t *id) {
  cJSON *set = typed("#microsoft.graph.identitySet");
  cJSON *ident = typed("#microsoft.graph.identity");
  put_str(ident, "displayName", id->display_name);
  put_str(ident, "id", id->id);
  put_str(ident, "tenantId", id->tenant_id);
  put(set, identity_key(id->kind), ident);
  return set;
}

static bool invitation_ok(const dt_invitation_t *inv) {
  return inv && identity_ok(&inv->identity) && str_ok(inv->replaces_call_id);
}

static cJSON *invitation(const dt_invitation_t *inv) {
  cJSON *o = typed("#microsoft.graph.invitationParticipantInfo");
  put(o, "identity", identity_set(&inv->identity));
  put_str(o, "replacesCallId", inv->replaces_call_id);
  return o;
}

static cJSON *participant_info(const dt_identity_t *id) {
  cJSON *o = typed("#microsoft.graph.participantInfo");
  put(o, "identity", identity_set(id));
  return o;
}

static bool media_ok(const dt_media_t *m) {
  return m && m->uri && *m->uri && str_ok(m->uri) && str_ok(m->resource_id);
}

/* mediaInfo; annotated inside prompts (graph_api.md §1.5), bare in preFetchMedia (the
   answer example of call-answer.md). */
static cJSON *media_info(const dt_media_t *m, bool annotate) {
  cJSON *o = typed(annotate ? "#microsoft.graph.mediaInfo" : NULL);
  put_str(o, "uri", m->uri);
  put_str(o, "resourceId", m->resource_id);
  return o;
}

static cJSON *media_prompt(const dt_media_t *m) {
  cJSON *o = typed("#microsoft.graph.mediaPrompt");
  put(o, "mediaInfo", media_info(m, true));
  return o;
}

cJSON *dt_graph_identity_set_json(const dt_identity_t *id) {
  return identity_ok(id) ? identity_set(id) : NULL;
}

cJSON *dt_graph_invitation_json(const dt_invitation_t *inv) {
  return invitation_ok(inv) ? invitation(inv) : NULL;
}

cJSON *dt_graph_media_prompt_json(const dt_media_t *m) { return media_ok(m) ? media_prompt(m) : NULL; }

static bool modalities_ok(const char *const *mods, size_t n) {
  if (n > 0 && mods == NULL) return false;
  if (n > DT_GRAPH_MAX_ITEMS) return false;
  for (size_t i = 0; i < n; i++)
    if (mods[i] == NULL || *mods[i] == '\0' || !str_ok(mods[i])) return false;
  return true;
}

static cJSON *modalities(const char *const *mods, size_t n) {
  cJSON *a = cJSON_CreateArray();
  if (n == 0) {
    cJSON_AddItemToArray(a, cJSON_CreateStringReference("audio"));
  } else {
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(mods[i]));
  }
  return a;
}

static bool invitations_ok(const dt_invitation_t *inv, size_t n) {
  if (n > DT_GRAPH_MAX_ITEMS || (n > 0 && inv == NULL)) return false;
  for (size_t i = 0; i < n; i++)
    if (!invitation_ok(&inv[i])) return false;
  return true;
}

static cJSON *invitations(const dt_invitation_t *inv, size_t n) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, invitation(&inv[i]));
  return a;
}

static bool set(const char *s) { return s != NULL && *s != '\0'; }

/* ---- full bodies ---- */

int dt_graph_create_call_body(dt_graph_dialect_t d, const dt_graph_create_params_t *p, cJSON **out) {
  *out = NULL;
  if (p == NULL || !set(p->callback_uri)) return DT_EINVAL;
  const char *strs[] = {p->callback_uri, p->tenant_id, p->subject, p->meeting_organizer_id,
                        p->meeting_organizer_tenant_id, p->meeting_join_id, p->meeting_passcode,
                        p->meeting_token, p->chat_thread_id, p->chat_message_id,
                        p->chat_reply_chain_message_id, p->guest_display_name, p->guest_id,
                        p->client_context};
  for (size_t i = 0; i < DT_ARRAY_SIZE(strs); i++)
    if (!str_ok(strs[i])) return DT_EINVAL;
  if (!invitations_ok(p->targets, p->target_count)) return DT_EINVAL;
  if (!modalities_ok(p->modalities, p->modality_count)) return DT_EINVAL;
  if (p->source && !identity_ok(p->source)) return DT_EINVAL;
  bool guest = set(p->guest_display_name) || set(p->guest_id);
  if (guest && p->source) return DT_EINVAL;
  int meeting_kinds = set(p->meeting_token) + set(p->meeting_join_id) + set(p->meeting_organizer_id);
  if (meeting_kinds > 1) return DT_EINVAL;
  if (set(p->meeting_join_id) && d != DT_GRAPH_V1) return DT_EUNSUPPORTED;
  bool chat = set(p->chat_thread_id) || set(p->chat_message_id) || set(p->chat_reply_chain_message_id);
  bool meeting = meeting_kinds > 0 || chat;
  if (p->target_count == 0 && !meeting) return DT_EINVAL;

  cJSON *o = typed("#microsoft.graph.call");
  put_str(o, "callbackUri", p->callback_uri);
  if (guest) {
    dt_identity_t g = {"guest", set(p->guest_id) ? p->guest_id : NULL, NULL,
                       set(p->guest_display_name) ? p->guest_display_name : NULL};
    put(o, "source", participant_info(&g));
  } else if (p->source) {
    put(o, "source", participant_info(p->source));
  }
  if (p->target_count > 0) put(o, "targets", invitations(p->targets, p->target_count));
  if (p->no_media) {
    put(o, "requestedModalities", cJSON_CreateArray()); /* and no mediaConfig */
  } else {
    put(o, "requestedModalities", modalities(p->modalities, p->modality_count));
    put(o, "mediaConfig", typed("#microsoft.graph.serviceHostedMediaConfig"));
  }
  put_str(o, "subject", p->subject);
  put_str(o, "tenantId", p->tenant_id);
  if (chat) {
    cJSON *c = typed("#microsoft.graph.chatInfo");
    put_str(c, "threadId", p->chat_thread_id);
    put_str(c, "messageId", p->chat_message_id);
    put_str(c, "replyChainMessageId", p->chat_reply_chain_message_id);
    put(o, "chatInfo", c);
  }
  if (set(p->meeting_token)) {
    cJSON *m = typed("#microsoft.graph.tokenMeetingInfo");
    put_str(m, "token", p->meeting_token);
    put(o, "meetingInfo", m);
  } else if (set(p->meeting_join_id)) {
    cJSON *m = typed("#microsoft.graph.joinMeetingIdMeetingInfo");
    put_str(m, "joinMeetingId", p->meeting_join_id);
    put_str(m, "passcode", p->meeting_passcode);
    put(o, "meetingInfo", m);
  } else if (set(p->meeting_organizer_id)) {
    cJSON *m = typed("#microsoft.graph.organizerMeetingInfo");
    dt_identity_t org = {"user", p->meeting_organizer_id, p->meeting_organizer_tenant_id, NULL};
    put(m, "organizer", identity_set(&org));
    put(o, "meetingInfo", m);
  }
  put_str(o, "clientContext", p->client_context);
  *out = o;
  return 0;
}

int dt_graph_answer_body(const dt_graph_answer_params_t *p, cJSON **out) {
  *out = NULL;
  if (p == NULL || !set(p->callback_uri) || !str_ok(p->callback_uri)) return DT_EINVAL;
  if (!modalities_ok(p->modalities, p->modality_count)) return DT_EINVAL;
  if (p->prefetch_count > DT_GRAPH_MAX_ITEMS || (p->prefetch_count && p->prefetch == NULL)) return DT_EINVAL;
  for (size_t i = 0; i < p->prefetch_count; i++)
    if (!media_ok(&p->prefetch[i])) return DT_EINVAL;
  if (p->participant_capacity < 0) return DT_EINVAL;

  cJSON *o = cJSON_CreateObject();
  put_str(o, "callbackUri", p->callback_uri);
  put(o, "acceptedModalities", modalities(p->modalities, p->modality_count));
  cJSON *mc = typed("#microsoft.graph.serviceHostedMediaConfig");
  if (p->prefetch_count > 0) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < p->prefetch_count; i++) cJSON_AddItemToArray(a, media_info(&p->prefetch[i], false));
    put(mc, "preFetchMedia", a);
  }
  put(o, "mediaConfig", mc);
  if (p->participant_capacity > 0) put_num(o, "participantCapacity", p->participant_capacity);
  *out = o;
  return 0;
}

int dt_graph_reject_body(const char *reason, const char *callback_uri, cJSON **out) {
  *out = NULL;
  if (reason && strcmp(reason, "none") != 0 && strcmp(reason, "busy") != 0 && strcmp(reason, "forbidden") != 0)
    return DT_EINVAL;
  if (!str_ok(callback_uri)) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  put_str(o, "reason", reason);
  put_str(o, "callbackUri", callback_uri);
  *out = o;
  return 0;
}

int dt_graph_redirect_body(const dt_invitation_t *targets, size_t n, int timeout_s,
                           const char *callback_uri, cJSON **out) {
  *out = NULL;
  if (n == 0 || !invitations_ok(targets, n) || timeout_s < 0 || !str_ok(callback_uri)) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  put(o, "targets", invitations(targets, n));
  if (timeout_s > 0) put_num(o, "timeout", timeout_s);
  put_str(o, "callbackUri", callback_uri);
  *out = o;
  return 0;
}

int dt_graph_redirect_params_body(dt_graph_dialect_t d, const dt_graph_redirect_params_t *p, cJSON **out) {
  static const char *const dispositions[] = {"default", "simultaneousRing", "forward"};
  *out = NULL;
  if (p == NULL || p->target_count > 25 || (p->timeout_s != 0 && (p->timeout_s < 15 || p->timeout_s > 90)))
    return DT_EINVAL;
  const char *disp = NULL;
  if (p->disposition) {
    if ((disp = dt_str_among(p->disposition, dispositions, DT_ARRAY_SIZE(dispositions))) == NULL) return DT_EINVAL;
    if (strcmp(disp, "forward") == 0 && p->target_count > 1) return DT_EINVAL;
  }
  int rc = dt_graph_redirect_body(p->targets, p->target_count, p->timeout_s, p->callback_uri, out);
  if (rc != 0) return rc;
  if ((disp || p->mask_callee || p->mask_caller) && d != DT_GRAPH_BETA) {
    cJSON_Delete(*out);
    *out = NULL;
    return DT_EUNSUPPORTED;
  }
  cJSON *t;
  /* endpointType on the invitation: beta's invitationParticipantInfo declares it there and the
     v1.0 documents' transfer example puts it there too (the type is open) */
  if (p->voicemail)
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(*out, "targets"))
      cJSON_AddItemToObjectCS(t, "endpointType", cJSON_CreateStringReference("voicemail"));
  if (disp) put(*out, "targetDisposition", cJSON_CreateStringReference(disp));
  if (p->mask_callee) put_bool(*out, "maskCallee", true);
  if (p->mask_caller) put_bool(*out, "maskCaller", true);
  return 0;
}

int dt_graph_transfer_body(dt_graph_dialect_t d, const dt_invitation_t *target,
                           const dt_identity_t *transferee, cJSON **out) {
  *out = NULL;
  if (!invitation_ok(target)) return DT_EINVAL;
  if (transferee && !identity_ok(transferee)) return DT_EINVAL;
  if (transferee && d != DT_GRAPH_V1) return DT_EUNSUPPORTED;
  cJSON *o = cJSON_CreateObject();
  put(o, "transferTarget", invitation(target));
  if (transferee) put(o, "transferee", participant_info(transferee));
  *out = o;
  return 0;
}

int dt_graph_play_prompt_body(const dt_media_t *prompts, size_t n, const char *client_context, cJSON **out) {
  *out = NULL;
  if (n == 0 || n > DT_GRAPH_MAX_ITEMS || prompts == NULL || !str_ok(client_context)) return DT_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!media_ok(&prompts[i])) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, media_prompt(&prompts[i]));
  put(o, "prompts", a);
  put_str(o, "clientContext", client_context);
  *out = o;
  return 0;
}

int dt_graph_play_prompt_loop_body(dt_graph_dialect_t d, const dt_media_t *prompts, size_t n,
                                   const char *client_context, cJSON **out) {
  *out = NULL;
  if (d != DT_GRAPH_BETA) return DT_EUNSUPPORTED;
  int rc = dt_graph_play_prompt_body(prompts, n, client_context, out);
  if (rc == 0) put_bool(*out, "loop", true);
  return rc;
}

int dt_graph_record_body(const dt_graph_record_params_t *p, cJSON **out) {
  *out = NULL;
  if (p == NULL || !str_ok(p->client_context)) return DT_EINVAL;
  if (p->prompt && !media_ok(p->prompt)) return DT_EINVAL;
  if (p->initial_silence_s < 0 || p->max_silence_s < 0 || p->max_duration_s < 0) return DT_EINVAL;
  if (p->play_beep < -1 || p->play_beep > 1) return DT_EINVAL;
  if (p->stop_tone_count > DT_GRAPH_MAX_ITEMS || (p->stop_tone_count && p->stop_tones == NULL)) return DT_EINVAL;
  for (size_t i = 0; i < p->stop_tone_count; i++)
    if (!set(p->stop_tones[i]) || !str_ok(p->stop_tones[i])) return DT_EINVAL;

  cJSON *o = cJSON_CreateObject();
  if (p->prompt) {
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, media_prompt(p->prompt));
    put(o, "prompts", a);
  }
  put_bool(o, "bargeInAllowed", p->barge_in);
  if (p->initial_silence_s > 0) put_num(o, "initialSilenceTimeoutInSeconds", p->initial_silence_s);
  if (p->max_silence_s > 0) put_num(o, "maxSilenceTimeoutInSeconds", p->max_silence_s);
  if (p->max_duration_s > 0) put_num(o, "maxRecordDurationInSeconds", p->max_duration_s);
  if (p->play_beep >= 0) put_bool(o, "playBeep", p->play_beep == 1);
  if (p->stop_tone_count > 0) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < p->stop_tone_count; i++) cJSON_AddItemToArray(a, cJSON_CreateString(p->stop_tones[i]));
    put(o, "stopTones", a);
  }
  put_str(o, "clientContext", p->client_context);
  *out = o;
  return 0;
}

int dt_graph_send_dtmf_body(const char *tones, int delay_ms, const char *client_context, cJSON **out) {
  *out = NULL;
  if (!set(tones) || delay_ms < 0 || !str_ok(client_context)) return DT_EINVAL;
  size_t n = strnlen(tones, MAX_TONES + 1);
  if (n > MAX_TONES) return DT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    char t = tones[i];
    if (t >= 'a' && t <= 'd') t = (char)(t - 'a' + 'A');
    if (dt_tone_name(t) == NULL) return DT_EINVAL;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    char t = tones[i];
    if (t >= 'a' && t <= 'd') t = (char)(t - 'a' + 'A');
    cJSON_AddItemToArray(a, cJSON_CreateStringReference(dt_tone_name(t)));
  }
  put(o, "tones", a);
  if (delay_ms > 0) put_num(o, "delayBetweenTonesMs", delay_ms);
  put_str(o, "clientContext", client_context);
  *out = o;
  return 0;
}

int dt_graph_invite_body(const dt_invitation_t *participants, size_t n, const char *client_context,
                         cJSON **out) {
  *out = NULL;
  if (n == 0 || !invitations_ok(participants, n) || !str_ok(client_context)) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  put(o, "participants", invitations(participants, n));
  put_str(o, "clientContext", client_context);
  *out = o;
  return 0;
}

int dt_graph_context_body(const char *client_context, cJSON **out) {
  *out = NULL;
  if (!str_ok(client_context)) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  put_str(o, "clientContext", client_context);
  *out = o;
  return 0;
}

int dt_graph_start_hold_music_body(dt_graph_dialect_t d, const dt_media_t *prompt, const char *client_context,
                                   cJSON **out) {
  *out = NULL;
  if (d != DT_GRAPH_V1) return DT_EUNSUPPORTED;
  if (!str_ok(client_context) || (prompt && !media_ok(prompt))) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  if (prompt) cJSON_AddItemToObject(o, "customPrompt", media_prompt(prompt));
  put_str(o, "clientContext", client_context);
  *out = o;
  return 0;
}

int dt_graph_screen_sharing_role_body(const char *role, cJSON **out) {
  *out = NULL;
  if (role == NULL || (strcmp(role, "viewer") != 0 && strcmp(role, "sharer") != 0)) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  put_str(o, "role", role);
  *out = o;
  return 0;
}

bool dt_graph_recording_status_ok(const char *s) {
  return s && (strcmp(s, "recording") == 0 || strcmp(s, "notRecording") == 0 || strcmp(s, "failed") == 0);
}

int dt_graph_recording_status_body(const char *status, const char *client_context, cJSON **out) {
  *out = NULL;
  if (!dt_graph_recording_status_ok(status) || !str_ok(client_context)) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  put_str(o, "clientContext", client_context);
  put_str(o, "status", status);
  *out = o;
  return 0;
}

int dt_graph_update_metadata_body(const char *metadata, const char *client_context, cJSON **out) {
  *out = NULL;
  if (metadata == NULL || !str_ok(metadata) || !str_ok(client_context)) return DT_EINVAL;
  cJSON *o = cJSON_CreateObject();
  put_str(o, "metadata", metadata);
  put_str(o, "clientContext", client_context);
  *out = o;
  return 0;
}

const char *dt_graph_record_action(dt_graph_dialect_t d) { return d == DT_GRAPH_BETA ? "record" : "recordResponse"; }

/* ---- ids ---- */

void dt_graph_id_key(const char *id, char *out) {
  char *o = out;
  for (const char *p = id; *p; p++) {
    char c = *p;
    if (c == '-') continue;
    *o++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  *o = '\0';
}

