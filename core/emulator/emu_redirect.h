/*
 * emu_redirect.h — redirect of an incoming call (emu_redirect.c): the call's end and what
 * became of its targets.
 */
#ifndef DT_EMU_REDIRECT_H
#define DT_EMU_REDIRECT_H
#include "emu_model.h"

typedef struct {
  int64_t timeout_ms;          /* 0 = Graph's default (55 s one target, 60 s several) */
  const char *disposition;     /* beta targetDisposition as sent, or NULL */
  bool mask_callee, mask_caller;
} emu_redirect_t;

/* The redirect was accepted (202 sent): the call goes to "redirecting", then ends
   (deleted/terminated 0/0), and the timeline records each target's outcome. */
void dt__emu_redirect(emu_call_t *c, const cJSON *targets, const emu_redirect_t *r);
/* The invitation asks for its identity's voicemail (endpointType "voicemail" on the
   invitation, as beta declares it, or on the identitySet, as v1.0's communicationsIdentitySet). */
bool dt__emu_redirect_is_voicemail(const cJSON *invitation);

#endif
