/*
 * emu_redirect.c — what a redirect of an incoming call does (call-redirect.md, graph_api.md
 * §1.3): the bot's call is handed over, so the bot sees `updated` redirecting and then
 * `deleted` terminated (resultInfo 0/0 "Call redirected." or "Call redirected to
 * voicemail."), whatever the targets do. The targets' side is the emulator's to simulate and
 * is recorded in the call's `redirect` timeline entry:
 *   - one target: forwarded to it; several: simultaneous ring ("all of the targets will be
 *     rang at the same time and only the first target that picks up will be connected"),
 *     the deprecated targetDisposition is recorded but does not change this (Graph: "we will
 *     automatically identify whether it's a forward call or simulring call from the number of
 *     targets provided");
 *   - a voicemail target (endpointType voicemail) always picks up at once;
 *   - other targets behave as their party says (answer after its delay, busy, reject, never);
 *     nobody within the timeout (default 55 s for one target, 60 s for several): no_answer;
 *   - maskCaller: the callee sees the bot's identity instead of the caller's; maskCallee: the
 *     caller sees the bot's instead of the callee's (caller_shown_as / callee_shown_as).
 * Owns no state: everything is decided when the redirect is accepted.
 */
#include <stdio.h>
#include <string.h>
#include "emu_calls.h"
#include "emu_redirect.h"
#include "emu_registry.h"
#include "emu_sched.h"
#include "emu_notify.h"
#include "emu_timeline.h"
#include "emu_util.h"

bool dt__emu_redirect_is_voicemail(const cJSON *inv) {
  const char *e = dt__emu_json_str(inv, "endpointType");
  if (e == NULL) e = dt__emu_json_str(dt__emu_json_get(inv, "identity"), "endpointType");
  return e && dt_strcasecmp(e, "voicemail") == 0;
}

/* One target: its description, outcome and, when it would pick up, after how long. */
static const char *target_outcome(dt_emulator_t *emu, const cJSON *inv, int64_t timeout_ms, int64_t *pickup_ms) {
  *pickup_ms = -1;
  if (dt__emu_redirect_is_voicemail(inv)) {
    *pickup_ms = 0;
    return "voicemail";
  }
  const emu_party_t *p = dt__emu_party(emu, dt__emu_identity_id(dt__emu_json_get(inv, "identity"), NULL));
  switch (dt__emu_party_behaviour(p)) {
  case EMU_PARTY_BUSY: return "busy";
  case EMU_PARTY_REJECT: return "declined";
  case EMU_PARTY_NOANSWER: return "no_answer";
  default: break;
  }
  int64_t d = dt__emu_party_delay(emu, p);
  if (d > timeout_ms) return "no_answer";
  *pickup_ms = d;
  return "answered";
}

void dt__emu_redirect(emu_call_t *c, const cJSON *targets, const emu_redirect_t *r) {
  dt_emulator_t *emu = c->emu;
  if (c->answer_timer) {
    dt__emu_ev_cancel(c->answer_timer);
    c->answer_timer = NULL;
  }
  int n = cJSON_GetArraySize(targets);
  int64_t timeout = r->timeout_ms > 0 ? r->timeout_ms : (n > 1 ? 60000 : 55000);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "disposition", n > 1 ? "simultaneousRing" : "forward");
  if (r->disposition) cJSON_AddStringToObject(tl, "target_disposition", r->disposition);
  cJSON_AddNumberToObject(tl, "timeout_ms", (double)timeout);
  cJSON *arr = cJSON_AddArrayToObject(tl, "targets");
  const cJSON *t;
  int best = -1, i = 0;
  int64_t best_ms = 0;
  bool voicemail = false;
  cJSON_ArrayForEach(t, targets) {
    char desc[96];
    dt__emu_identity_desc(dt__emu_json_get(t, "identity"), desc, sizeof desc);
    int64_t pick;
    const char *outcome = target_outcome(emu, t, timeout, &pick);
    if (pick >= 0 && (best < 0 || pick < best_ms)) {
      best = i;
      best_ms = pick;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "target", desc);
    if (dt__emu_redirect_is_voicemail(t)) cJSON_AddStringToObject(o, "endpoint", "voicemail");
    cJSON_AddStringToObject(o, "outcome", outcome);
    cJSON_AddItemToArray(arr, o);
    i++;
  }
  /* simultaneous ring: the first to pick up is connected, the others stop ringing */
  char connected[96] = "";
  i = 0;
  cJSON *o;
  cJSON_ArrayForEach(o, arr) {
    if (i == best) {
      snprintf(connected, sizeof connected, "%s", dt__emu_json_str(o, "target"));
      voicemail = dt__emu_json_str(o, "endpoint") != NULL;
    } else if (best >= 0 && strcmp(dt__emu_json_str(o, "outcome"), "answered") == 0) {
      cJSON_ReplaceItemInObjectCaseSensitive(o, "outcome", cJSON_CreateString("stopped_ringing"));
    }
    i++;
  }
  char bot[96];
  snprintf(bot, sizeof bot, "application:%s", emu->app_id);
  if (best >= 0) cJSON_AddStringToObject(tl, "connected", connected);
  else cJSON_AddNullToObject(tl, "connected");
  cJSON_AddStringToObject(tl, "caller_shown_as", r->mask_caller ? bot : c->from_desc);
  if (best >= 0) cJSON_AddStringToObject(tl, "callee_shown_as", r->mask_callee ? bot : connected);
  if (r->mask_callee) cJSON_AddBoolToObject(tl, "mask_callee", true);
  if (r->mask_caller) cJSON_AddBoolToObject(tl, "mask_caller", true);
  dt__emu_timeline(c, "redirect", tl);

  dt__emu_notify_state(c, EMU_CS_REDIRECTING, "redirecting");
  dt__emu_call_end(c, false, 0, 0, voicemail ? "Call redirected to voicemail." : "Call redirected.", NULL,
                   "redirect");
}
