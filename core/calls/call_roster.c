/*
 * call_roster.c — a call's participants as Graph reports them: the live roster (every
 * "updated" notification on …/participants replaces it: the emulator and the documents send
 * the whole roster), the participants primitive (the roster at once once Graph has sent one,
 * else a GET), wait_participant (someone joined, left, or the roster reached a count; checked
 * on each roster notification, ended by its timeout), and the participant resource: get,
 * mute, remove, start/stop hold music.
 *
 * Promises (call.h): a wait_participant already true finishes at once (1); otherwise exactly
 * one result, on the first roster that makes it true or at its timeout (reason "timeout",
 * err 0) or at hang-up (DT_EHANGUP). Rosters are capped (DT_ROSTER_MAX participants kept).
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

#define DT_ROSTER_MAX 1000
#define WHO_MAX 256

static const char *str_of(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A person, not a bot: its identity is not an application's. */
static bool is_person(const cJSON *p) {
  return !cJSON_HasObjectItem(p, "application") && !cJSON_HasObjectItem(p, "applicationInstance");
}

/* Does participant p (flow shape) answer to who: its id, its identity's id, its name. */
static bool is_who(const cJSON *p, const char *who) {
  static const char *const KEYS[] = {"id", "user", "guest", "phone", "application", "applicationInstance"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(KEYS); i++) {
    const char *v = str_of(p, KEYS[i]);
    if (v && v[0] && dt_strcasecmp(v, who) == 0) return true;
  }
  const char *name = str_of(p, "name");
  return name && dt_strcasecmp(name, who) == 0;
}

static const cJSON *find_who(const cJSON *roster, const char *who) {
  const cJSON *p;
  cJSON_ArrayForEach(p, roster) if (is_who(p, who)) return p;
  return NULL;
}

static size_t people(const cJSON *roster) {
  size_t n = 0;
  const cJSON *p;
  cJSON_ArrayForEach(p, roster) n += is_person(p);
  return n;
}

/* Whether the wait is satisfied by the call's roster; sets the result when it is. */
static bool satisfied(dt_call_t *c, uint8_t mode, const char *who, unsigned count) {
  const cJSON *r = c->roster;
  switch (mode) {
  case DT_ROSTER_JOINED: {
    const cJSON *p = r ? find_who(r, who) : NULL;
    if (!p) return false;
    c->result.json = cJSON_Duplicate(p, 1);
    c->result.reason = "joined";
    return true;
  }
  case DT_ROSTER_LEFT:
    if (!r || find_who(r, who)) return false; /* no roster yet: nobody is known to have left */
    c->result.json = cJSON_Duplicate(r, 1);
    c->result.reason = "left";
    return true;
  default:
    if (!r || people(r) < count) return false;
    c->result.json = cJSON_Duplicate(r, 1);
    c->result.reason = "count";
    return true;
  }
}

void dt__call_roster_update(dt_call_t *c, const cJSON *participants) {
  if (!cJSON_IsArray(participants)) return;
  cJSON *r = dt__call_participants_json(participants);
  while (cJSON_GetArraySize(r) > DT_ROSTER_MAX) cJSON_DeleteItemFromArray(r, DT_ROSTER_MAX);
  cJSON_Delete(c->roster);
  c->roster = r;
  dt_log(DT_LOG_DEBUG, c->id, "roster: %d participants", cJSON_GetArraySize(r));
  if (c->wait != DT_WAIT_ROSTER) return;
  if (satisfied(c, c->w.roster_mode, c->roster_who, c->w.roster_count)) dt__call_wait_finish(c, 0);
}

int dt_call_participants(dt_call_t *c) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (c->roster) {
    dt__call_result_clear(&c->result);
    c->result.json = cJSON_Duplicate(c->roster, 1);
    c->result.reason = "completed";
    return 1;
  }
  dt_op_t *op = dt__call_begin(c, DT_WAIT_PARTICIPANTS);
  rc = dt_graph_list_participants(c->reg->o.graph, c->id, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_wait_participant(dt_call_t *c, dt_roster_wait_t mode, const char *who, unsigned count,
                             uint64_t timeout_ms) {
  if (mode < DT_ROSTER_JOINED || mode > DT_ROSTER_COUNT) return DT_EINVAL;
  if (mode != DT_ROSTER_COUNT && (!who || !who[0] || strlen(who) > WHO_MAX)) return DT_EINVAL;
  if (mode == DT_ROSTER_COUNT && (count == 0 || count > DT_ROSTER_MAX)) return DT_EINVAL;
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt__call_result_clear(&c->result);
  if (satisfied(c, (uint8_t)mode, who, count)) return 1;
  dt__call_wait_begin(c, DT_WAIT_ROSTER);
  c->w.roster_mode = (uint8_t)mode;
  c->w.roster_count = count;
  free(c->roster_who);
  c->roster_who = who ? dt_xstrdup(who) : NULL;
  dt__call_arm(c, timeout_ms ? timeout_ms : 1);
  return 0;
}

int dt_call_participant_get(dt_call_t *c, const char *pid) {
  if (!pid || !pid[0] || strlen(pid) > WHO_MAX) return DT_EINVAL;
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_PARTICIPANTS);
  rc = dt_graph_get_participant(c->reg->o.graph, c->id, pid, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_participant_action(dt_call_t *c, dt_participant_action_t a, const char *pid, const char *prompt_uri) {
  if (!pid || !pid[0] || strlen(pid) > WHO_MAX) return DT_EINVAL;
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt_graph_t *g = c->reg->o.graph;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_ACTION);
  switch (a) {
  case DT_PACT_MUTE: rc = dt_graph_mute_participant(g, c->id, pid, NULL, c->reg->on_response, op, &op->req); break;
  case DT_PACT_REMOVE: rc = dt_graph_remove_participant(g, c->id, pid, c->reg->on_response, op, &op->req); break;
  case DT_PACT_START_HOLD:
    rc = dt_graph_start_hold_music(g, c->id, pid, prompt_uri, NULL, c->reg->on_response, op, &op->req);
    break;
  case DT_PACT_STOP_HOLD: rc = dt_graph_stop_hold_music(g, c->id, pid, NULL, c->reg->on_response, op, &op->req); break;
  default: rc = DT_EINVAL;
  }
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}
