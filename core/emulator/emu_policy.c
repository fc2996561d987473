/*
 * emu_policy.c — the rules Graph applies beyond a request's shape, kept in one place:
 *   - PSTN: "requires an application instance with a PSTN number assigned"
 *     (application-post-calls.md Example 7, call-transfer.md Example 3): a peer-to-peer
 *     create-call to a phone number needs source.identity.applicationInstance with an id
 *     (group calls are left alone: graph-create-call.md's group call with a phone target and
 *     an application source is answered as that document shows);
 *     a transfer to a phone number needs a call that has one — an outgoing call created with
 *     that source, or an incoming call to an application instance or a phone number
 *     (call-answer.md's PSTN matrix: "Incoming call to Bot's UPN and then bot transfer to
 *     another PSTN: Not supported");
 *   - strict mode (dt_emulator_options_t.strict, POST /emulator/config "strict"): a
 *     callbackUri must be https ("This must be `https`", call-answer.md, call.md); the
 *     default takes http too, so loopback bots and tests work.
 * Pure: reads the request and the call, decides, says why; emu_graph.c answers.
 */
#include <string.h>
#include "emu_policy.h"
#include "emu_util.h"

static bool has_phone(const cJSON *invitation) {
  const char *kind = NULL;
  return dt__emu_identity_id(dt__emu_json_get(invitation, "identity"), &kind) && kind && strcmp(kind, "phone") == 0;
}

/* The identitySet names an application instance with an id. */
static bool instance_in(const cJSON *identity_set) {
  const cJSON *ai = dt__emu_json_get(identity_set, "applicationInstance");
  const char *id = dt__emu_json_str(ai, "id");
  return id && id[0];
}

static const char PSTN_CREATE[] =
    "Invalid request: a call to a phone number needs 'source' with identity.applicationInstance "
    "(the id of an application instance with a phone number assigned) and the call's 'tenantId'.";

const char *dt__emu_policy_pstn_create(const cJSON *body) {
  /* peer to peer only: graph-create-call.md's group-call example (a user and a phone,
     chatInfo, source application) is answered 201, as the document shows */
  if (cJSON_GetArraySize(dt__emu_json_get(body, "targets")) != 1 || dt__emu_json_get(body, "chatInfo") ||
      dt__emu_json_get(body, "meetingInfo"))
    return NULL;
  bool phone = false;
  const cJSON *t;
  cJSON_ArrayForEach(t, dt__emu_json_get(body, "targets")) phone = phone || has_phone(t);
  if (!phone) return NULL;
  return instance_in(dt__emu_json_get(dt__emu_json_get(body, "source"), "identity")) ? NULL : PSTN_CREATE;
}

const char *dt__emu_policy_pstn_transfer(const emu_call_t *c, const cJSON *target) {
  if (!has_phone(target)) return NULL;
  const cJSON *res = c->res;
  if (c->incoming) {
    const cJSON *to = dt__emu_json_get(cJSON_GetArrayItem(dt__emu_json_get(res, "targets"), 0), "identity");
    const char *kind = NULL;
    if (instance_in(to) || (dt__emu_identity_id(to, &kind) && kind && strcmp(kind, "phone") == 0)) return NULL;
  } else if (instance_in(dt__emu_json_get(dt__emu_json_get(res, "source"), "identity"))) {
    return NULL;
  }
  return "Invalid request: transfer to a phone number is supported only for calls of an application "
         "instance (a call placed with source.identity.applicationInstance, or a call to one).";
}

bool dt__emu_policy_callback_ok(const dt_emulator_t *emu, const char *uri) {
  if (!dt__emu_valid_url(uri)) return false;
  return !emu->cfg.strict || dt_strncasecmp(uri, "https://", 8) == 0;
}

const char *dt__emu_policy_callback_rule(const dt_emulator_t *emu) {
  return emu->cfg.strict ? "must be an https URL" : "must be an http(s) URL";
}
