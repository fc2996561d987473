/*
 * call_meetings.c — onlineMeetings made from a call's flow (dialtone.meetings in lua/): create
 * a meeting, find one by its join URL. A wait like every primitive (DT_WAIT_MEETING, the
 * call's main operation and its deadline); the answer becomes result.json, the flow's view
 * of the meeting (online_meeting.c).
 *
 * Promises: a Graph refusal fails the wait with Graph's status and code (a 403 for a user
 * without an application access policy, a 404 for an unknown user) and never ends the call,
 * unlike a 404 on a call action; a lookup that finds nothing finishes with reason
 * "not_found" and no json; the call must be live (dt__call_guard).
 */
#include <stdlib.h>
#include "dialtone/error.h"
#include "dialtone/online_meeting.h"
#include "call_internal.h"

int dt_call_meeting_create(dt_call_t *c, const dt_online_meeting_params_t *p) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_MEETING);
  rc = dt_graph_create_online_meeting(c->reg->o.graph, p, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_meeting_find(dt_call_t *c, const char *user_id, const char *join_url) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_MEETING);
  rc = dt_graph_find_online_meeting(c->reg->o.graph, user_id, join_url, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

void dt__call_meeting_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res) {
  dt__call_op_free(op);
  if (!dt__call_res_ok(res)) {
    dt__call_fail_graph(c, res, "onlineMeetings");
    return;
  }
  const cJSON *m = res->body;
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(res->body, "value");
  if (cJSON_IsArray(list)) m = cJSON_GetArrayItem(list, 0); /* a lookup: the first match */
  else if (!cJSON_IsObject(m) || !cJSON_HasObjectItem(m, "joinWebUrl")) m = NULL;
  if (m == NULL && !cJSON_IsArray(list)) {
    dt__call_wait_fail(c, DT_EGRAPH, "noMeeting", "onlineMeetings: Graph answered HTTP %d without a meeting",
                       res->status);
    return;
  }
  c->result.json = m ? dt_online_meeting_view(m) : NULL;
  c->result.reason = m ? "completed" : "not_found";
  dt__call_wait_finish(c, 0);
}
