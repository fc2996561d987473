/*
 * emu_registry.c — the calls the emulator knows and what each call owns.
 *
 * Promises: a call is in the table from dt__emu_call_new until the history cap evicts it
 * after it ended (or a reset); it is freed when it is out of the table and its last
 * reference goes (or at teardown, whatever the references). Freeing a call frees all it
 * owns: events, operations, queued notifications, timeline, script, resource JSON. A
 * call's operation list stays bounded (EMU_MAX_OPS; the oldest finished one goes).
 * Party behaviours are keyed by the lower-cased identity id.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "emu_registry.h"
#include "emu_sched.h"
#include "emu_script.h"
#include "emu_timeline.h"
#include "emu_util.h"

#define EMU_MAX_OPS 64

/* ------------------------------------------------------------------ calls */
emu_call_t *dt__emu_call_new(dt_emulator_t *emu, bool incoming) {
  emu_call_t *c = dt_xcalloc(1, sizeof *c);
  c->emu = emu;
  c->refs = 1; /* the table's */
  c->incoming = incoming;
  dt_guid(c->id);
  dt__emu_id_key(c->id, c->key, sizeof c->key);
  dt_guid(c->chain_id);
  dt_guid(c->my_pid);
  c->state = incoming ? EMU_CS_INCOMING : EMU_CS_ESTABLISHING;
  c->res = cJSON_CreateObject();
  c->participants = cJSON_CreateArray();
  c->created_unix = dt_unix_time();
  c->created_sim = dt__emu_sched_now(&emu->sim);
  c->serial = emu->n_calls;
  dt_hashmap_put(&emu->calls, c->key, c);
  emu->active_calls++;
  emu->n_calls++;
  if (emu->metrics) dt_metrics_inc(emu->metrics, "dt_emulator_calls_total", incoming ? "direction=\"incoming\"" : "direction=\"outgoing\"");
  return c;
}

emu_call_t *dt__emu_call_find(dt_emulator_t *emu, const char *id) {
  char key[64];
  if (id == NULL || strlen(id) > 200) return NULL;
  dt__emu_id_key(id, key, sizeof key);
  return dt_hashmap_get(&emu->calls, key);
}

emu_call_t *dt__emu_call_find_live(dt_emulator_t *emu, const char *id) {
  emu_call_t *c = dt__emu_call_find(emu, id);
  return (c && !c->ended) ? c : NULL;
}

void dt__emu_call_ref(emu_call_t *c) { c->refs++; }

void dt__emu_call_cancel_events(emu_call_t *c) {
  while (c->evs.head) dt__emu_ev_cancel(DT_LIST_ENTRY(c->evs.head, dt__emu_ev_t, clink));
  c->answer_timer = c->keepalive_timer = c->ring_timer = c->speech_timer = NULL;
  c->step_timer = NULL;
  for (emu_op_t *op = c->ops; op; op = op->next) op->ev = NULL;
}

void dt__emu_call_free(emu_call_t *c) {
  dt__emu_call_cancel_events(c);
  emu_op_t *op = c->ops;
  while (op) {
    emu_op_t *next = op->next;
    dt__emu_op_free(op);
    op = next;
  }
  dt__emu_nq_free(c);
  dt__emu_timeline_free(&c->tl);
  dt__emu_script_free(&c->script);
  cJSON_Delete(c->res);
  cJSON_Delete(c->participants);
  DT_FREE_ALL(c->callback_uri, c->remote_id, c->bot_token_hint, c->transfer_target, c->transfer_replaces,
              c->end_reason, c->meeting);
  free(c);
}

void dt__emu_call_unref(emu_call_t *c) {
  if (--c->refs == 0) dt__emu_call_free(c);
}

static void evict_oldest(dt_emulator_t *emu) {
  emu_call_t *c = DT_LIST_ENTRY(dt_list_pop_front(&emu->hist), emu_call_t, hlink);
  if (c == NULL) return;
  dt_hashmap_del(&emu->calls, c->key);
  c->evicted = true;
  dt__emu_call_unref(c);
}

void dt__emu_call_retire(emu_call_t *c) {
  dt_emulator_t *emu = c->emu;
  emu->active_calls--;
  dt_list_push_back(&emu->hist, &c->hlink);
  while (dt_list_count(&emu->hist) > emu->cfg.history) evict_oldest(emu);
}

void dt__emu_call_set_state(emu_call_t *c, int st) {
  c->state = (uint8_t)st;
  cJSON_DeleteItemFromObjectCaseSensitive(c->res, "state");
  cJSON_AddStringToObject(c->res, "state", dt__emu_state_name(st));
  cJSON *f = cJSON_CreateObject();
  cJSON_AddStringToObject(f, "state", dt__emu_state_name(st));
  dt__emu_timeline(c, "state", f);
}

/* ------------------------------------------------------------------ operations */
void dt__emu_op_free(emu_op_t *op) {
  if (op == NULL) return;
  if (op->ev) dt__emu_ev_cancel(op->ev);
  for (size_t i = 0; i < op->nurls; i++) free(op->urls[i]);
  DT_FREE_ALL(op->urls, op->client_context, op->recording_location, op->recording_token, op->tones);
  cJSON_Delete(op->participants);
  free(op);
}

/* Keeps the op list bounded: the oldest finished, unqueued operation goes. */
static void prune_ops(emu_call_t *c) {
  if (c->nops <= EMU_MAX_OPS) return;
  emu_op_t **victim = NULL;
  for (emu_op_t **pp = &c->ops; *pp; pp = &(*pp)->next)
    if (((*pp)->status == EMU_OPS_COMPLETED || (*pp)->status == EMU_OPS_FAILED) && !(*pp)->queued &&
        (*pp)->ev == NULL && (*pp)->invite_pending == 0)
      victim = pp;
  if (victim == NULL) return;
  emu_op_t *op = *victim;
  *victim = op->next;
  c->nops--;
  dt__emu_op_free(op);
}

emu_op_t *dt__emu_op_new(emu_call_t *c, int type, const char *client_context) {
  emu_op_t *op = dt_xcalloc(1, sizeof *op);
  dt_guid(op->id);
  op->type = (uint8_t)type;
  op->status = EMU_OPS_RUNNING;
  op->client_context = client_context ? dt_xstrdup(client_context) : NULL;
  dt__emu_iso_now(op->created);
  op->next = c->ops;
  c->ops = op;
  c->nops++;
  prune_ops(c);
  return op;
}

emu_op_t *dt__emu_op_find(emu_call_t *c, const char *id) {
  char k1[64], k2[64];
  if (strlen(id) > 60) return NULL;
  dt__emu_id_key(id, k1, sizeof k1);
  for (emu_op_t *op = c->ops; op; op = op->next) {
    dt__emu_id_key(op->id, k2, sizeof k2);
    if (strcmp(k1, k2) == 0) return op;
  }
  return NULL;
}

/* ------------------------------------------------------------------ called parties */
bool dt__emu_party_key(const char *id, char out[260]) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 255) return false;
  for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)id[i]);
  out[n] = '\0';
  return true;
}

const emu_party_t *dt__emu_party(dt_emulator_t *emu, const char *identity_id) {
  if (identity_id == NULL) return NULL;
  char key[260];
  return dt__emu_party_key(identity_id, key) ? dt_hashmap_get(&emu->parties, key) : NULL;
}

void dt__emu_party_free(void *p) {
  emu_party_t *party = p;
  if (party == NULL) return;
  dt__emu_script_free(&party->script);
  free(party);
}

int dt__emu_party_behaviour(const emu_party_t *p) { return p ? p->behaviour : EMU_PARTY_ANSWER; }

int64_t dt__emu_party_delay(dt_emulator_t *emu, const emu_party_t *p) {
  if (p && p->answer_delay_ms >= 0) return p->answer_delay_ms;
  return emu->cfg.answer_delay_ms;
}

int64_t dt__emu_party_ring_ms(dt_emulator_t *emu, const emu_party_t *p) {
  switch (dt__emu_party_behaviour(p)) {
  case EMU_PARTY_BUSY:
  case EMU_PARTY_REJECT: return 1000;
  case EMU_PARTY_NOANSWER: return emu->cfg.ring_timeout_ms;
  default: return dt__emu_party_delay(emu, p);
  }
}

const char *dt__emu_party_behaviour_name(int b) {
  switch (b) {
  case EMU_PARTY_BUSY: return "busy";
  case EMU_PARTY_NOANSWER: return "noanswer";
  case EMU_PARTY_REJECT: return "reject";
  default: return "answer";
  }
}

/* ------------------------------------------------------------------ participants */
cJSON *dt__emu_participant_new(const cJSON *identity_set, const char *pid, bool muted,
                               const char *source_id) {
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "@odata.type", "#microsoft.graph.participant");
  cJSON_AddStringToObject(p, "id", pid);
  cJSON *info = cJSON_AddObjectToObject(p, "info");
  cJSON_AddStringToObject(info, "@odata.type", "#microsoft.graph.participantInfo");
  cJSON_AddItemToObject(info, "identity",
                        identity_set ? cJSON_Duplicate(identity_set, 1) : cJSON_CreateObject());
  cJSON_AddStringToObject(info, "endpointType", "default");
  cJSON_AddStringToObject(info, "region", "westus");
  cJSON_AddStringToObject(info, "languageId", "en-US");
  cJSON *ms = cJSON_AddArrayToObject(p, "mediaStreams");
  cJSON *s = cJSON_CreateObject();
  cJSON_AddStringToObject(s, "@odata.type", "#microsoft.graph.mediaStream");
  cJSON_AddStringToObject(s, "mediaType", "audio");
  cJSON_AddStringToObject(s, "label", "main-audio");
  cJSON_AddStringToObject(s, "sourceId", source_id ? source_id : "1");
  cJSON_AddStringToObject(s, "direction", "sendReceive");
  cJSON_AddBoolToObject(s, "serverMuted", false);
  cJSON_AddItemToArray(ms, s);
  cJSON_AddBoolToObject(p, "isMuted", muted);
  cJSON_AddBoolToObject(p, "isInLobby", false);
  return p;
}

cJSON *dt__emu_participant_find(emu_call_t *c, const char *pid) {
  char k1[64], k2[64];
  dt__emu_id_key(pid, k1, sizeof k1);
  cJSON *p;
  cJSON_ArrayForEach(p, c->participants) {
    const char *id = dt__emu_json_str(p, "id");
    if (id == NULL) continue;
    dt__emu_id_key(id, k2, sizeof k2);
    if (strcmp(k1, k2) == 0) return p;
  }
  return NULL;
}

void dt__emu_participant_add(emu_call_t *c, const cJSON *identity, const char *pid) {
  char src[16];
  snprintf(src, sizeof src, "%d", cJSON_GetArraySize(c->participants) + 1);
  char gen[37];
  if (pid == NULL) {
    dt_guid(gen);
    pid = gen;
  }
  cJSON_AddItemToArray(c->participants, dt__emu_participant_new(identity, pid, false, src));
}

void dt__emu_participant_add_bot(emu_call_t *c) {
  if (dt__emu_participant_find(c, c->my_pid)) return;
  cJSON *set = cJSON_CreateObject();
  cJSON *app = cJSON_AddObjectToObject(set, "application");
  cJSON_AddStringToObject(app, "@odata.type", "#microsoft.graph.identity");
  cJSON_AddStringToObject(app, "id", c->emu->app_id);
  cJSON_AddStringToObject(app, "displayName", "Calling Bot");
  dt__emu_participant_add(c, set, c->my_pid);
  cJSON_Delete(set);
}

/* ------------------------------------------------------------------ notification queue */
void dt__emu_nq_item_free(emu_nq_t *it) {
  free(it->url);
  free(it->body);
  free(it);
}

void dt__emu_nq_free(emu_call_t *c) {
  emu_nq_t *it;
  while ((it = DT_LIST_ENTRY(dt_list_pop_front(&c->nq), emu_nq_t, link)) != NULL) dt__emu_nq_item_free(it);
}
