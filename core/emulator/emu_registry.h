/*
 * emu_registry.h — the calls the emulator knows and what each call owns (emu_registry.c):
 * the table of calls (live and the history of ended ones), references and the freeing of
 * a call, its state field, its operations list, its participants, and the behaviour table
 * of called parties. Calls emu_util, emu_sched, emu_timeline, emu_script.
 */
#ifndef DT_EMU_REGISTRY_H
#define DT_EMU_REGISTRY_H
#include "emu_model.h"

/* ------------------------------------------------------------------ calls */
/* A new call in the table (one reference: the table's). */
emu_call_t *dt__emu_call_new(dt_emulator_t *emu, bool incoming);
emu_call_t *dt__emu_call_find(dt_emulator_t *emu, const char *id); /* any, ended included */
emu_call_t *dt__emu_call_find_live(dt_emulator_t *emu, const char *id);
void dt__emu_call_ref(emu_call_t *c);
void dt__emu_call_unref(emu_call_t *c);
void dt__emu_call_free(emu_call_t *c); /* teardown: whatever the references */
/* Cancels every pending event of the call and forgets the timers that named them. */
void dt__emu_call_cancel_events(emu_call_t *c);
/* Sets the state in the call's resource and its timeline. */
void dt__emu_call_set_state(emu_call_t *c, int st);
/* An ended call leaves the live count and joins the history, which evicts the oldest. */
void dt__emu_call_retire(emu_call_t *c);

/* ------------------------------------------------------------------ operations */
emu_op_t *dt__emu_op_new(emu_call_t *c, int type, const char *client_context);
emu_op_t *dt__emu_op_find(emu_call_t *c, const char *id);
void dt__emu_op_free(emu_op_t *op);

/* ------------------------------------------------------------------ participants */
cJSON *dt__emu_participant_new(const cJSON *identity_set, const char *pid, bool muted,
                               const char *source_id);
cJSON *dt__emu_participant_find(emu_call_t *c, const char *pid);
/* Adds a participant with identity (a new id when pid is NULL) to the call's roster. */
void dt__emu_participant_add(emu_call_t *c, const cJSON *identity, const char *pid);
/* The bot's own participant (myParticipantId), once. */
void dt__emu_participant_add_bot(emu_call_t *c);

/* ------------------------------------------------------------------ called parties */
/* Lower-cased identity key of a party (1 to 255 bytes; false otherwise). */
bool dt__emu_party_key(const char *id, char out[260]);
/* Party behaviour for an identity id (NULL = none set: the default). */
const emu_party_t *dt__emu_party(dt_emulator_t *emu, const char *identity_id);
void dt__emu_party_free(void *p);
int dt__emu_party_behaviour(const emu_party_t *p);             /* EMU_PARTY_* */
int64_t dt__emu_party_delay(dt_emulator_t *emu, const emu_party_t *p); /* simulated ms */
/* Simulated ms from ringing to the party's decision: its answer delay when it answers, 1 s
   when it is busy or rejects, the ring timeout when it never answers. */
int64_t dt__emu_party_ring_ms(dt_emulator_t *emu, const emu_party_t *p);
const char *dt__emu_party_behaviour_name(int behaviour);      /* "answer", "busy", ... */

/* ------------------------------------------------------------------ notification queue */
void dt__emu_nq_item_free(emu_nq_t *it);
void dt__emu_nq_free(emu_call_t *c); /* drops every queued notification */

#endif
