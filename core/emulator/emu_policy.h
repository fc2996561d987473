/*
 * emu_policy.h — what Graph refuses beyond a request's shape (emu_policy.c): calls and
 * transfers to phone numbers without an application instance, and (strict mode) callback
 * URIs that are not https.
 */
#ifndef DT_EMU_POLICY_H
#define DT_EMU_POLICY_H
#include <stdbool.h>
#include "emu_model.h"

/* Create call: NULL when allowed, else the refusal's message (a literal). */
const char *dt__emu_policy_pstn_create(const cJSON *body);
/* Transfer of call c to target (invitationParticipantInfo): NULL or the refusal's message. */
const char *dt__emu_policy_pstn_transfer(const emu_call_t *c, const cJSON *target);
/* A callbackUri the emulator takes: http(s) by default, https only in strict mode. */
bool dt__emu_policy_callback_ok(const dt_emulator_t *emu, const char *uri);
/* What the refusal of a callbackUri says ("must be an http(s) URL" or "... https ..."). */
const char *dt__emu_policy_callback_rule(const dt_emulator_t *emu);

#endif
