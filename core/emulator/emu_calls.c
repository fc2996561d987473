/*
 * emu_calls.c — calls and the simulated parties in them: the call state machine of
 * graph_api.md §2.3 and the notifications each transition sends.
 *
 *   incoming:  created/incoming → (answer) establishing → established [+ mediaState active]
 *              no answer/reject/redirect within answer_timeout (real time) → deleted 408/8544
 *   outgoing:  201 establishing → updated/establishing → established (callee answers) or
 *              deleted 486 (busy) / 408/8544 (no answer within ring_timeout) / 603 (declines)
 *   transfer:  transferring → transferAccepted → deleted 0/7015 "GracefulTransferCompleted",
 *              or back to established with resultInfo 500/7000 when the target fails
 *   hangup:    DELETE → terminating → deleted/terminated; remote hangup → deleted/terminated
 * An ended call answers 404 to every Graph request but stays readable through the control
 * API until `history` newer ended calls push it out (emu_registry.c keeps them).
 *
 * The simulated caller's own actions (keys, speech, hang-up) are here too: the control API
 * and caller scripts (emu_script.c hands due steps to dt__emu_caller_act) both do them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/log.h"
#include "emu_calls.h"
#include "emu_incoming.h"
#include "emu_media.h"
#include "emu_meetings.h"
#include "emu_online_meetings.h"
#include "emu_notify.h"
#include "emu_registry.h"
#include "emu_sched.h"
#include "emu_script.h"
#include "emu_timeline.h"
#include "emu_util.h"

/* Simulated ms between a request and the state change it causes. */
#define EMU_SETUP_MS 200
#define EMU_KEEPALIVE_MS (45LL * 60 * 1000)

static cJSON *result_info(int code, int subcode, const char *message) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "@odata.type", "#microsoft.graph.resultInfo");
  cJSON_AddNumberToObject(r, "code", code);
  cJSON_AddNumberToObject(r, "subcode", subcode);
  if (message) cJSON_AddStringToObject(r, "message", message);
  return r;
}

void dt__emu_call_end(emu_call_t *c, bool terminating_first, int code, int subcode,
                      const char *message, const char *termination_reason, const char *by) {
  dt_emulator_t *emu = c->emu;
  if (c->ended) return;
  if (terminating_first) {
    dt__emu_notify_state(c, EMU_CS_TERMINATING, "terminating");
  }
  dt__emu_call_set_state(c, EMU_CS_TERMINATED);
  c->ended = true;
  c->ended_sim = dt__emu_sched_now(&emu->sim);
  if (c->meeting) dt__emu_meeting_left(c);
  dt__emu_media_abandon(c);
  /* every timer of the call goes; the notification queue keeps draining */
  dt__emu_call_cancel_events(c);
  cJSON_DeleteItemFromObjectCaseSensitive(c->res, "resultInfo");
  cJSON_AddItemToObject(c->res, "resultInfo", result_info(code, subcode, message));
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", "terminated");
  cJSON_AddItemToObject(f, "resultInfo", result_info(code, subcode, message));
  if (termination_reason) cJSON_AddStringToObject(f, "terminationReason", termination_reason);
  char summary[64];
  snprintf(summary, sizeof summary, "terminated %d/%d", code, subcode);
  dt__emu_notify_call(c, "deleted", f, summary);
  free(c->end_reason);
  c->end_reason = dt_xstrdup(by ? by : "unknown");
  cJSON *t = cJSON_CreateObject();
  cJSON_AddStringToObject(t, "by", c->end_reason);
  cJSON_AddNumberToObject(t, "code", code);
  cJSON_AddNumberToObject(t, "subcode", subcode);
  if (message) cJSON_AddStringToObject(t, "message", message);
  dt__emu_timeline(c, "ended", t);
  if (!emu->quiet)
    dt_log(DT_LOG_DEBUG, c->id, "emulator: call ended by %s (%d/%d)", c->end_reason, code, subcode);
  dt__emu_call_retire(c);
}

static char *lower_dup(const char *s) {
  char *d = dt_xstrdup(s ? s : "");
  for (char *q = d; *q; q++) *q = (char)tolower((unsigned char)*q);
  return d;
}

/* ------------------------------------------------------------------ keepAlive (45 min rule) */
/* The call resource's server-set fields, in Graph's order. */
static void put_call_fields(emu_call_t *c, const char *state, const char *direction,
                            const char *callback_uri) {
  cJSON *r = c->res;
  cJSON_AddStringToObject(r, "@odata.type", "#microsoft.graph.call");
  cJSON_AddStringToObject(r, "id", c->id);
  cJSON_AddStringToObject(r, "state", state);
  cJSON_AddStringToObject(r, "direction", direction);
  cJSON_AddStringToObject(r, "callbackUri", callback_uri);
  cJSON_AddStringToObject(r, "callChainId", c->chain_id);
}

static void on_keepalive_expired(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  c->keepalive_timer = NULL;
  dt__emu_call_end(c, false, 0, 0, "Call ended after 45 minutes without keepAlive.", NULL,
                   "inactivity");
}

void dt__emu_keepalive(emu_call_t *c) {
  if (c->keepalive_timer) dt__emu_ev_cancel(c->keepalive_timer);
  dt__emu_sched_t *clock = c->emu->keepalive_sim ? &c->emu->sim : &c->emu->real;
  c->keepalive_timer = dt__emu_at(clock, c, EMU_KEEPALIVE_MS, on_keepalive_expired);
  if (c->keepalive_timer) c->keepalive_timer->lazy = true;
}

/* ------------------------------------------------------------------ establishing */
/* mediaState {audio} into the notification f and the call resource. */
static void put_media_state(emu_call_t *c, cJSON *f, const char *audio) {
  cJSON *ms = cJSON_AddObjectToObject(f, "mediaState");
  cJSON_AddStringToObject(ms, "@odata.type", "#microsoft.graph.callMediaState");
  cJSON_AddStringToObject(ms, "audio", audio);
  cJSON_DeleteItemFromObjectCaseSensitive(c->res, "mediaState");
  cJSON_AddItemToObject(c->res, "mediaState", cJSON_Duplicate(ms, 1));
}

/* The audio stream comes up after the call is established (graph_api.md §7.3: "then
   mediaState.audio active"), as its own notification. */
static void media_active(emu_call_t *c) {
  if (c->state != EMU_CS_ESTABLISHED) return;
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", "established");
  put_media_state(c, f, "active");
  dt__emu_notify_call(c, "updated", f, "media active");
}

static void on_media_active(dt__emu_ev_t *ev) { media_active(ev->call); }

static bool has_audio(const cJSON *modalities) {
  const cJSON *m;
  cJSON_ArrayForEach(m, modalities)
    if (cJSON_IsString(m) && dt_strcasecmp(m->valuestring, "audio") == 0) return true;
  return false;
}

static void established(emu_call_t *c) {
  dt__emu_call_set_state(c, EMU_CS_ESTABLISHED);
  dt__emu_participant_add_bot(c);
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", "established");
  const cJSON *am = cJSON_GetObjectItemCaseSensitive(c->res, "activeModalities");
  if (am == NULL) {
    /* what the call ended up with: the answer's acceptedModalities, else what was requested */
    const cJSON *rm = dt__emu_json_get(c->res, "requestedModalities");
    cJSON_AddItemToObject(c->res, "activeModalities", cJSON_IsArray(rm) ? cJSON_Duplicate(rm, 1) : cJSON_CreateArray());
    am = cJSON_GetObjectItemCaseSensitive(c->res, "activeModalities");
  }
  cJSON_AddItemToObject(f, "activeModalities", cJSON_Duplicate(am, 1));
  bool audio = has_audio(am) && !c->emu->faults.no_media_state;
  if (audio) put_media_state(c, f, "inactive");
  dt__emu_notify_call(c, "updated", f, "established");
  if (audio && c->emu->faults.media_delay_ms > 0) dt__emu_at(&c->emu->sim, c, c->emu->faults.media_delay_ms, on_media_active);
  else if (audio) media_active(c); /* the next notification */
}

static void notify_establishing(emu_call_t *c) {
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", "establishing");
  if (!c->incoming) cJSON_AddStringToObject(f, "direction", "outgoing");
  dt__emu_notify_call(c, "updated", f, "establishing");
}

static void party_joined(emu_call_t *c) {
  c->remote_joined = true;
  dt__emu_script_trigger(c, EMU_ON_ESTABLISHED, NULL, NULL, dt__emu_sched_now(&c->emu->sim));
}

/* ------------------------------------------------------------------ incoming */
static void on_answer_timeout(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  c->answer_timer = NULL;
  if (c->state != EMU_CS_INCOMING) return;
  dt__emu_timeline(c, "answer_timeout", NULL);
  dt__emu_call_end(c, false, 408, 8544, "Callee could not be reached.", NULL, "answer_timeout");
}

emu_call_t *dt__emu_incoming(dt_emulator_t *emu, cJSON *from, cJSON *to, const char *bot_url,
                             const emu_script_t *script, const char *tenant_id, const cJSON *modalities) {
  return dt__emu_incoming_ctx(emu, from, to, NULL, false, bot_url, script, tenant_id, modalities);
}

emu_call_t *dt__emu_incoming_ctx(dt_emulator_t *emu, cJSON *from, cJSON *to, cJSON *extra, bool observed,
                                 const char *bot_url, const emu_script_t *script, const char *tenant_id,
                                 const cJSON *modalities) {
  emu_call_t *c = dt__emu_call_new(emu, true);
  c->callback_uri = dt_xstrdup(bot_url);
  const char *rid = dt__emu_identity_id(from, NULL);
  c->remote_id = lower_dup(rid);
  dt__emu_identity_desc(from, c->from_desc, sizeof c->from_desc);
  dt__emu_identity_desc(to, c->to_desc, sizeof c->to_desc);
  char remote_pid[37];
  dt_guid(remote_pid);

  cJSON *r = c->res;
  put_call_fields(c, "incoming", "incoming", bot_url);
  cJSON *src = cJSON_AddObjectToObject(r, "source");
  cJSON_AddStringToObject(src, "@odata.type", "#microsoft.graph.participantInfo");
  cJSON_AddItemToObject(src, "identity", cJSON_Duplicate(from, 1));
  cJSON_AddStringToObject(src, "endpointType", "default");
  cJSON_AddStringToObject(src, "region", "westus");
  cJSON_AddStringToObject(src, "languageId", "en-US");
  cJSON_AddStringToObject(src, "participantId", remote_pid);
  cJSON *tg = cJSON_AddArrayToObject(r, "targets");
  cJSON *t0 = cJSON_CreateObject();
  cJSON_AddStringToObject(t0, "@odata.type", "#microsoft.graph.invitationParticipantInfo");
  cJSON_AddItemToObject(t0, "identity", cJSON_Duplicate(to, 1));
  cJSON_AddItemToArray(tg, t0);
  if (cJSON_IsArray(modalities)) {
    cJSON_AddItemToObject(r, "requestedModalities", cJSON_Duplicate(modalities, 1));
  } else {
    cJSON *mods = cJSON_AddArrayToObject(r, "requestedModalities");
    cJSON_AddItemToArray(mods, cJSON_CreateString("audio"));
  }
  cJSON_AddStringToObject(r, "tenantId", tenant_id ? tenant_id : emu->tenant_id);
  cJSON_AddStringToObject(r, "myParticipantId", c->my_pid);
  cJSON *ic = cJSON_AddObjectToObject(r, "incomingContext");
  cJSON_AddStringToObject(ic, "@odata.type", "#microsoft.graph.incomingContext");
  cJSON_AddStringToObject(ic, "sourceParticipantId", remote_pid);
  /* subject, meeting invite, transferor, onBehalfOf, policy recording (emu_incoming.c) */
  dt__emu_incoming_apply(r, extra, observed, remote_pid);
  dt__emu_participant_add(c, from, remote_pid);
  c->remote_joined = true;

  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "from", c->from_desc);
  cJSON_AddStringToObject(tl, "to", c->to_desc);
  cJSON_AddStringToObject(tl, "bot_url", bot_url);
  dt__emu_timeline(c, "incoming", tl);

  cJSON *d = cJSON_Duplicate(r, 1);
  dt__emu_notify(c, c->callback_uri, "created", NULL, c, d, "incoming");
  c->answer_timer = dt__emu_at(&emu->real, c, emu->cfg.answer_timeout_ms, on_answer_timeout);
  dt__emu_keepalive(c);
  if (script) dt__emu_script_copy(&c->script, script);
  dt__emu_script_start(c);
  return c;
}

static void on_answer_established(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  if (c->state != EMU_CS_ESTABLISHING) return;
  if (c->emu->faults.swap_answer_notifications) {
    /* Graph documents that establishing/established may arrive out of order */
    established(c);
    notify_establishing(c);
    dt__emu_call_set_state(c, EMU_CS_ESTABLISHED);
  } else {
    established(c);
  }
  party_joined(c);
}

void dt__emu_answer(emu_call_t *c, const char *callback_uri) {
  if (c->answer_timer) {
    dt__emu_ev_cancel(c->answer_timer);
    c->answer_timer = NULL;
  }
  if (callback_uri && callback_uri[0]) {
    free(c->callback_uri);
    c->callback_uri = dt_xstrdup(callback_uri);
    cJSON_DeleteItemFromObjectCaseSensitive(c->res, "callbackUri");
    cJSON_AddStringToObject(c->res, "callbackUri", callback_uri);
  }
  c->answered_once = true;
  dt__emu_call_set_state(c, EMU_CS_ESTABLISHING);
  if (!c->emu->faults.swap_answer_notifications) notify_establishing(c);
  dt__emu_at(&c->emu->sim, c, EMU_SETUP_MS, on_answer_established);
}

void dt__emu_reject(emu_call_t *c, const char *reason) {
  if (c->answer_timer) {
    dt__emu_ev_cancel(c->answer_timer);
    c->answer_timer = NULL;
  }
  int code = 603;
  const char *msg = "Call rejected by the application.";
  if (reason && dt_strcasecmp(reason, "busy") == 0) {
    code = 486;
    msg = "Call rejected by the application: busy.";
  } else if (reason && dt_strcasecmp(reason, "forbidden") == 0) {
    code = 403;
    msg = "Call rejected by the application: forbidden.";
  }
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "reason", reason ? reason : "none");
  dt__emu_timeline(c, "reject", tl);
  dt__emu_call_end(c, false, code, 0, msg, NULL, "reject");
}

/* ------------------------------------------------------------------ transfer and invite targets */
/* event ("transfer", "invite") in the timeline: key = the target's description, and the call
   it replaces. */
static void timeline_target(emu_call_t *c, const char *event, const char *key, const cJSON *ident,
                            const char *replaces) {
  char desc[96];
  dt__emu_identity_desc(ident, desc, sizeof desc);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, key, desc);
  if (replaces) cJSON_AddStringToObject(tl, "replacesCallId", replaces);
  dt__emu_timeline(c, event, tl);
}

/* When the target decides: after the setup time when it is already in the live call it
   replaces (it moves over), else when its party answers (answered) or refuses (refused, with
   ev->s = refusal[behaviour]). */
static dt__emu_ev_t *target_decides(emu_call_t *c, const cJSON *ident, const char *replaces,
                                    dt__emu_ev_fn answered, dt__emu_ev_fn refused,
                                    const char *const refusal[]) {
  dt_emulator_t *emu = c->emu;
  if (replaces && dt__emu_call_find_live(emu, replaces))
    return dt__emu_at(&emu->sim, c, EMU_SETUP_MS, answered);
  const emu_party_t *p = dt__emu_party(emu, dt__emu_identity_id(ident, NULL));
  int b = dt__emu_party_behaviour(p);
  dt__emu_ev_t *ev = dt__emu_at(&emu->sim, c, dt__emu_party_ring_ms(emu, p),
                                b == EMU_PARTY_ANSWER ? answered : refused);
  if (b != EMU_PARTY_ANSWER) snprintf(ev->s, sizeof ev->s, "%s", refusal[b]);
  return ev;
}

/* ------------------------------------------------------------------ transfer */
static void transfer_done(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  if (c->state != EMU_CS_TRANSFER_ACCEPTED) return;
  emu_call_t *other = c->transfer_replaces ? dt__emu_call_find_live(c->emu, c->transfer_replaces) : NULL;
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "target", c->transfer_target ? c->transfer_target : "");
  cJSON_AddStringToObject(tl, "outcome", "completed");
  dt__emu_timeline(c, "transfer_result", tl);
  dt__emu_call_end(c, false, 0, 7015, "GracefulTransferCompleted", other ? "AppTransferred" : NULL,
                   "transfer");
  if (other && other != c)
    dt__emu_call_end(other, false, 0, 7015, "GracefulTransferCompleted", "AppTransferred", "transfer");
}

static void transfer_accepted(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  if (c->state != EMU_CS_TRANSFERRING) return;
  dt__emu_notify_state(c, EMU_CS_TRANSFER_ACCEPTED, "transferAccepted");
  dt__emu_at(&c->emu->sim, c, EMU_SETUP_MS, transfer_done);
}

static void transfer_failed(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  if (c->state != EMU_CS_TRANSFERRING) return;
  const char *why = ev->s;
  dt__emu_call_set_state(c, EMU_CS_ESTABLISHED);
  char msg[96];
  snprintf(msg, sizeof msg, "Transfer failed: the target %s.", why);
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", "established");
  cJSON_AddItemToObject(f, "resultInfo", result_info(500, 7000, msg));
  dt__emu_notify_call(c, "updated", f, "established (transfer failed)");
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "target", c->transfer_target ? c->transfer_target : "");
  cJSON_AddStringToObject(tl, "outcome", "failed");
  cJSON_AddStringToObject(tl, "reason", why);
  dt__emu_timeline(c, "transfer_result", tl);
}

void dt__emu_transfer(emu_call_t *c, const cJSON *target, const char *replaces) {
  const cJSON *ident = dt__emu_json_get(target, "identity");
  const char *tid = dt__emu_identity_id(ident, NULL);
  free(c->transfer_target);
  c->transfer_target = lower_dup(tid);
  free(c->transfer_replaces);
  c->transfer_replaces = replaces ? dt_xstrdup(replaces) : NULL;
  timeline_target(c, "transfer", "target", ident, replaces);

  dt__emu_notify_state(c, EMU_CS_TRANSFERRING, "transferring");

  /* consultative (replaces): the target is already talking to the bot */
  static const char *const why[] = {[EMU_PARTY_BUSY] = "is busy", [EMU_PARTY_REJECT] = "declined",
                                     [EMU_PARTY_NOANSWER] = "did not answer"};
  target_decides(c, ident, replaces, transfer_accepted, transfer_failed, why);
}

/* ------------------------------------------------------------------ hang-ups */
void dt__emu_hangup_by_bot(emu_call_t *c) {
  dt__emu_timeline(c, "hangup", cJSON_CreateObject());
  dt__emu_call_end(c, true, 0, 0, "Call ended by the application.", NULL, "bot");
}

void dt__emu_hangup_by_remote(emu_call_t *c) {
  if (c->ended) return;
  dt__emu_call_end(c, false, 0, 0, "The remote party ended the call.", NULL, "remote");
}

/* ------------------------------------------------------------------ outgoing */
static void on_callee_answer(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  c->ring_timer = NULL;
  if (c->state != EMU_CS_ESTABLISHING && c->state != EMU_CS_RINGING) return;
  const cJSON *targets = dt__emu_json_get(c->res, "targets");
  const cJSON *t0 = cJSON_GetArrayItem(targets, 0);
  dt__emu_participant_add(c, dt__emu_json_get(t0, "identity"), NULL);
  established(c);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "callee", c->to_desc);
  dt__emu_timeline(c, "answered", tl);
  const emu_party_t *p = dt__emu_party(c->emu, c->remote_id);
  if (p && p->script.n) {
    dt__emu_script_free(&c->script);
    dt__emu_script_copy(&c->script, &p->script);
  }
  dt__emu_script_start(c);
  party_joined(c);
}

static void on_callee_fail(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  c->ring_timer = NULL;
  if (c->state != EMU_CS_ESTABLISHING && c->state != EMU_CS_RINGING) return;
  switch (ev->i) {
  case EMU_PARTY_BUSY: dt__emu_call_end(c, false, 486, 0, "Callee is busy.", NULL, "busy"); break;
  case EMU_PARTY_REJECT:
    dt__emu_call_end(c, false, 603, 0, "Callee declined the call.", NULL, "declined");
    break;
  default:
    dt__emu_call_end(c, false, 408, 8544, "Callee could not be reached.", NULL, "no_answer");
  }
}

/* Group calls and meetings: the bot's leg joins the conference; targets join as they answer. */
static void on_conference_joined(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  if (c->state != EMU_CS_ESTABLISHING) return;
  established(c);
  dt__emu_meeting_joined(c);
  dt__emu_notify_roster(c);
}

static void on_group_target(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  const cJSON *t = cJSON_GetArrayItem(dt__emu_json_get(c->res, "targets"), (int)ev->i);
  const cJSON *ident = dt__emu_json_get(t, "identity");
  char desc[96];
  dt__emu_identity_desc(ident, desc, sizeof desc);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "target", desc);
  if (ev->p == NULL) {
    dt__emu_participant_add(c, ident, NULL);
    cJSON_AddStringToObject(tl, "outcome", "joined");
    dt__emu_timeline(c, "participant_joined", tl);
    dt__emu_notify_roster(c);
  } else {
    cJSON_AddStringToObject(tl, "outcome", (const char *)ev->p);
    dt__emu_timeline(c, "participant_failed", tl);
  }
}

/* The callee's phone rings: callState "ringing" exists in beta only (graph_schema_extract.md:
   v1.0's enum skips value 2), so a v1.0 bot sees establishing until the answer. */
static void on_outgoing_ringing(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  if (c->state != EMU_CS_ESTABLISHING) return;
  dt__emu_notify_state(c, EMU_CS_RINGING, "ringing");
}

static void on_outgoing_establishing(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  if (c->state != EMU_CS_ESTABLISHING) return;
  notify_establishing(c);
  if (c->beta && !c->multiparty) on_outgoing_ringing(ev);
}

emu_call_t *dt__emu_outgoing(dt_emulator_t *emu, cJSON *body, const char *callback_uri) {
  emu_call_t *c = dt__emu_call_new(emu, false);
  cJSON_Delete(c->res);
  c->res = body;
  c->callback_uri = dt_xstrdup(callback_uri);
  cJSON *r = c->res;
  static const char *const server_fields[] = {"id", "state", "direction", "callChainId",
                                              "myParticipantId", "@odata.type", "callbackUri",
                                              "resultInfo", "mediaState"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(server_fields); i++)
    cJSON_DeleteItemFromObjectCaseSensitive(r, server_fields[i]);
  cJSON_DeleteItemFromObjectCaseSensitive(r, "callback"); /* the documents' legacy spelling */
  put_call_fields(c, "establishing", "outgoing", callback_uri);
  cJSON_AddStringToObject(r, "myParticipantId", c->my_pid);
  if (!cJSON_HasObjectItem(r, "source")) {
    cJSON *src = cJSON_AddObjectToObject(r, "source");
    cJSON_AddStringToObject(src, "@odata.type", "#microsoft.graph.participantInfo");
    cJSON *ident = cJSON_AddObjectToObject(src, "identity");
    cJSON *app = cJSON_AddObjectToObject(ident, "application");
    cJSON_AddStringToObject(app, "id", emu->app_id);
    cJSON_AddStringToObject(app, "displayName", "Calling Bot");
  }
  const cJSON *mc = dt__emu_json_get(r, "mediaConfig");
  const char *mct = dt__emu_json_str(mc, "@odata.type");
  if (mct && strstr(mct, "appHostedMediaConfig")) c->app_hosted = true;
  const cJSON *pre = dt__emu_json_get(mc, "preFetchMedia");
  const cJSON *m;
  cJSON_ArrayForEach(m, pre) {
    const char *u = dt__emu_json_str(m, "uri");
    if (u == NULL) u = dt__emu_json_str(m, "url");
    if (u) dt__emu_prefetch(emu, u);
  }
  const cJSON *targets = dt__emu_json_get(r, "targets");
  int nt = cJSON_IsArray(targets) ? cJSON_GetArraySize(targets) : 0;
  bool meeting = dt__emu_json_get(r, "meetingInfo") || dt__emu_json_get(r, "chatInfo");
  c->multiparty = meeting || nt > 1;
  if (meeting) dt__emu_meeting_attach(c);
  const cJSON *t0 = cJSON_GetArrayItem(targets, 0);
  const char *rid = dt__emu_identity_id(dt__emu_json_get(t0, "identity"), NULL);
  c->remote_id = lower_dup(rid);
  dt__emu_identity_desc(dt__emu_json_get(dt__emu_json_get(r, "source"), "identity"), c->from_desc,
                        sizeof c->from_desc);
  if (meeting && nt == 0) snprintf(c->to_desc, sizeof c->to_desc, "meeting");
  else dt__emu_identity_desc(dt__emu_json_get(t0, "identity"), c->to_desc, sizeof c->to_desc);

  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "from", c->from_desc);
  cJSON_AddStringToObject(tl, "to", c->to_desc);
  cJSON_AddNumberToObject(tl, "targets", nt);
  cJSON_AddBoolToObject(tl, "meeting", meeting);
  if (dt__emu_json_str(r, "subject")) cJSON_AddStringToObject(tl, "subject", dt__emu_json_str(r, "subject"));
  const cJSON *om = dt__emu_online_meeting_by_thread(c->emu, dt__emu_json_str(dt__emu_json_get(r, "chatInfo"), "threadId"));
  if (om && dt__emu_json_str(om, "id")) cJSON_AddStringToObject(tl, "online_meeting", dt__emu_json_str(om, "id"));
  dt__emu_timeline(c, "outgoing", tl);

  /* the 201 goes out first, then establishing (the documents' order) */
  dt__emu_at(&emu->sim, c, 0, on_outgoing_establishing);
  dt__emu_keepalive(c);
  if (!c->multiparty) {
    const emu_party_t *p = dt__emu_party(emu, c->remote_id);
    int b = dt__emu_party_behaviour(p);
    c->ring_timer = dt__emu_at(&emu->sim, c, dt__emu_party_ring_ms(emu, p),
                               b == EMU_PARTY_ANSWER ? on_callee_answer : on_callee_fail);
    c->ring_timer->i = b;
    return c;
  }
  /* conference: meeting organizer (if a user) is present; targets ring */
  const cJSON *org = dt__emu_json_get(dt__emu_json_get(r, "meetingInfo"), "organizer");
  if (cJSON_IsObject(org) && c->meeting == NULL) dt__emu_participant_add(c, org, NULL);
  dt__emu_at(&emu->sim, c, EMU_SETUP_MS, on_conference_joined);
  for (int i = 0; i < nt; i++) {
    const cJSON *t = cJSON_GetArrayItem(targets, i);
    const emu_party_t *p = dt__emu_party(emu, dt__emu_identity_id(dt__emu_json_get(t, "identity"), NULL));
    int b = dt__emu_party_behaviour(p);
    int64_t ms = (b == EMU_PARTY_ANSWER ? EMU_SETUP_MS : 0) + dt__emu_party_ring_ms(emu, p);
    dt__emu_ev_t *ev = dt__emu_at(&emu->sim, c, ms, on_group_target);
    if (b != EMU_PARTY_ANSWER) ev->p = (void *)dt__emu_party_behaviour_name(b);
    ev->i = i;
  }
  return c;
}

/* ------------------------------------------------------------------ invite */
/* The call that an invitation replaces ends, reported through the conference's queue so
   the bot sees it after the roster (the order graph-participant-invite.md shows). */
static void end_replaced(emu_call_t *conf, emu_call_t *old) {
  if (old->ended) return;
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "@odata.type", "#microsoft.graph.call");
  cJSON_AddStringToObject(f, "state", "terminated");
  cJSON_AddStringToObject(f, "terminationReason", "AppInitiated");
  dt__emu_notify(conf, old->callback_uri, "updated", NULL, old, f, "terminated (replaced)");
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "@odata.type", "#microsoft.graph.call");
  dt__emu_notify(conf, old->callback_uri, "deleted", NULL, old, d, "deleted (replaced)");
  /* it ends without notifications of its own: the two above were its last */
  dt_emulator_t *emu = old->emu;
  old->state = EMU_CS_TERMINATED;
  cJSON_DeleteItemFromObjectCaseSensitive(old->res, "state");
  cJSON_AddStringToObject(old->res, "state", "terminated");
  cJSON *t = cJSON_CreateObject();
  cJSON_AddStringToObject(t, "by", "replaced");
  cJSON_AddStringToObject(t, "replaced_by", conf->id);
  dt__emu_timeline(old, "ended", t);
  old->ended = true;
  old->ended_sim = dt__emu_sched_now(&emu->sim);
  dt__emu_media_abandon(old);
  dt__emu_call_cancel_events(old);
  free(old->end_reason);
  old->end_reason = dt_xstrdup("replaced");
  dt__emu_call_retire(old);
}

static void invite_settle(emu_call_t *c, emu_op_t *op) {
  if (--op->invite_pending > 0) return;
  if (op->invite_joined > 0)
    dt__emu_op_finish(c, op, EMU_OPS_COMPLETED, 200, 0, "Action completed successfully.", NULL);
  else
    dt__emu_op_finish(c, op, EMU_OPS_FAILED, op->invite_failed_code ? op->invite_failed_code : 408,
                      op->invite_failed_code == 408 || op->invite_failed_code == 0 ? 8544 : 0,
                      op->invite_failed_code == 486 ? "Callee is busy."
                                                    : "Callee could not be reached.",
                      NULL);
  c->multiparty = true;
  dt__emu_notify_roster(c);
  /* replaced calls end after the roster shows their party here */
  const cJSON *inv;
  cJSON_ArrayForEach(inv, op->participants) {
    const char *rep = dt__emu_json_str(inv, "replacesCallId");
    emu_call_t *old = rep ? dt__emu_call_find_live(c->emu, rep) : NULL;
    if (old && old != c) end_replaced(c, old);
  }
}

static void on_invitee(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  emu_op_t *op = ev->p;
  const cJSON *inv = cJSON_GetArrayItem(op->participants, (int)ev->i);
  const cJSON *ident = dt__emu_json_get(inv, "identity");
  char desc[96];
  dt__emu_identity_desc(ident, desc, sizeof desc);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "participant", desc);
  if (ev->s[0] == '\0') {
    dt__emu_participant_add(c, ident, NULL);
    op->invite_joined++;
    cJSON_AddStringToObject(tl, "outcome", "joined");
  } else {
    op->invite_failed_code = ev->s[0] == 'b' ? 486 : ev->s[0] == 'r' ? 603 : 408;
    cJSON_AddStringToObject(tl, "outcome", ev->s);
  }
  dt__emu_timeline(c, "invite_result", tl);
  invite_settle(c, op);
}

int dt__emu_invite(emu_call_t *c, emu_op_t *op) {
  static const char *const outcome[] = {[EMU_PARTY_BUSY] = "busy", [EMU_PARTY_REJECT] = "rejected",
                                        [EMU_PARTY_NOANSWER] = "no answer"};
  int n = cJSON_GetArraySize(op->participants);
  op->invite_pending = n;
  for (int i = 0; i < n; i++) {
    const cJSON *inv = cJSON_GetArrayItem(op->participants, i);
    const cJSON *ident = dt__emu_json_get(inv, "identity");
    const char *rep = dt__emu_json_str(inv, "replacesCallId");
    timeline_target(c, "invite", "participant", ident, rep);
    dt__emu_ev_t *ev = target_decides(c, ident, rep, on_invitee, on_invitee, outcome);
    ev->p = op;
    ev->i = i;
  }
  return 0;
}

/* ------------------------------------------------------------------ the caller acts */
static void on_caller_key(dt__emu_ev_t *ev) { dt__emu_caller_tone(ev->call, (char)ev->i, ev->due); }

void dt__emu_caller_press(emu_call_t *c, const char *tones, int64_t gap_ms) {
  int64_t t = 0;
  for (const char *q = tones; *q; q++) {
    if (q == tones) {
      dt__emu_caller_tone(c, *q, 0); /* the first key now: the answer then tells it happened */
    } else {
      dt__emu_ev_t *ev = dt__emu_at(&c->emu->sim, c, t, on_caller_key);
      ev->i = *q;
    }
    t += gap_ms;
  }
}

/* Graph documents no trigger for "hold" to a service-hosted bot (graph_api.md §2.3); the
   emulator sends it when a test puts the call on hold: "updated" state hold, and back to
   "established" when it is taken off hold. Media actions answer 8501 while on hold. */
void dt__emu_caller_hold(emu_call_t *c, bool on) {
  dt__emu_call_set_state(c, on ? EMU_CS_HOLD : EMU_CS_ESTABLISHED);
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", on ? "hold" : "established");
  dt__emu_notify_call(c, "updated", f, on ? "hold" : "established (off hold)");
}

void dt__emu_caller_hangup(emu_call_t *c) {
  dt__emu_timeline(c, "caller_hangup", NULL);
  dt__emu_hangup_by_remote(c);
}

static void on_caller_hangup(dt__emu_ev_t *ev) { dt__emu_caller_hangup(ev->call); }

void dt__emu_caller_act(emu_call_t *c, const emu_step_t *st, uint64_t at) {
  uint64_t t = at;
  if (st->tones) {
    for (const char *p = st->tones; *p; p++) {
      dt__emu_ev_t *tev = dt__emu_at_abs(&c->emu->sim, c, t, on_caller_key);
      tev->i = *p;
      t += (uint64_t)st->gap_ms;
    }
  }
  if (st->speak_ms > 0) dt__emu_caller_speak(c, st->speak_ms, at);
  if (st->hangup) dt__emu_at_abs(&c->emu->sim, c, t, on_caller_hangup);
}
