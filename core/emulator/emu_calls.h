/*
 * emu_calls.h — the call state machine and the simulated parties' actions (emu_calls.c).
 * Calls emu_util, emu_sched, emu_timeline, emu_script, emu_registry, emu_notify, emu_media.
 */
#ifndef DT_EMU_CALLS_H
#define DT_EMU_CALLS_H
#include "emu_model.h"

/* Ends the call: optional "terminating" update, then deleted/terminated with resultInfo.
   Media operations in progress are abandoned without notifications (as Graph does). */
void dt__emu_call_end(emu_call_t *c, bool terminating_first, int code, int subcode,
                      const char *message, const char *termination_reason, const char *by);
/* Places an incoming call to the bot (control API); extra (consumed, may be NULL) and
   observed: its context (dt__emu_incoming_extra). */
emu_call_t *dt__emu_incoming_ctx(dt_emulator_t *emu, cJSON *from_identity, cJSON *to_identity, cJSON *extra,
                                 bool observed, const char *bot_url, const emu_script_t *script,
                                 const char *tenant_id, const cJSON *modalities);
/* The same with no context (extra NULL, not observed). */
emu_call_t *dt__emu_incoming(dt_emulator_t *emu, cJSON *from_identity, cJSON *to_identity,
                             const char *bot_url, const emu_script_t *script,
                             const char *tenant_id, const cJSON *modalities);
/* Outgoing call from the bot (Graph create). body is the request (consumed). */
emu_call_t *dt__emu_outgoing(dt_emulator_t *emu, cJSON *body, const char *callback_uri);
void dt__emu_answer(emu_call_t *c, const char *callback_uri);
void dt__emu_reject(emu_call_t *c, const char *reason);
void dt__emu_transfer(emu_call_t *c, const cJSON *target, const char *replaces_call_id);
void dt__emu_hangup_by_bot(emu_call_t *c);
void dt__emu_hangup_by_remote(emu_call_t *c);
void dt__emu_keepalive(emu_call_t *c);
int dt__emu_invite(emu_call_t *c, emu_op_t *op);

/* The simulated caller acts: presses tones gap_ms simulated ms apart (the first one now),
   hangs up (recorded as "caller_hangup"), or does a due script step from simulated time at
   (the emulator's script_act). */
void dt__emu_caller_press(emu_call_t *c, const char *tones, int64_t gap_ms);
void dt__emu_caller_hangup(emu_call_t *c);
void dt__emu_caller_hold(emu_call_t *c, bool on);
void dt__emu_caller_act(emu_call_t *c, const emu_step_t *st, uint64_t at);

#endif
