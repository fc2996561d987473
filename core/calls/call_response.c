/*
 * call_response.c — Graph's HTTP responses to what a call sent (the registry's on_response):
 * the waiting primitive's request (an operation that runs on, completed at once, or accepted
 * with nothing to wait for; 404 = the call is gone), a barge-in's cancel, the deadline's
 * GET operation, the winding down's DELETE and error prompt, an outbound call's
 * subscribeToTone, and responses for waits that are already over.
 *
 * Promises: every response frees its dt_op_t; a stale response never finishes a wait; a call
 * created for a dial nobody waits for is hung up.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/clock.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

/* A request finished with no operation to wait for (202/204, or 200 without one). */
void dt__call_accepted(dt_call_t *c) {
  switch (c->wait) {
  case DT_WAIT_ANSWER:
    if (c->stage == 0) dt__call_answered(c);
    else {
      c->flags |= DT_CALLF_SUBSCRIBED;
      dt__call_answer_ready(c);
    }
    return;
  case DT_WAIT_REJECT:
    dt__call_wait_finish_ended(c, DT_OUTCOME_REJECTED, "rejected");
    return;
  case DT_WAIT_REDIRECT:
    dt__call_log_transfer(c, "redirected");
    dt__call_wait_finish_ended(c, DT_OUTCOME_REDIRECTED, "redirected");
    return;
  case DT_WAIT_PLAY:
    c->result.reason = c->w.done_reason ? c->w.done_reason : c->w.cancel ? "barged" : "completed";
    dt__call_wait_finish(c, 0);
    return;
  case DT_WAIT_GATHER: dt__call_gather_prompt_done(c, NULL); return;
  case DT_WAIT_RECORD:
    dt__call_wait_fail(c, DT_EGRAPH, "noOperation", "record returned no operation to wait for");
    return;
  case DT_WAIT_TRANSFER:
    c->stage = 1; /* the outcome comes as call state notifications */
    return;
  case DT_WAIT_HANGUP:
    dt__call_wait_finish_ended(c, DT_OUTCOME_NONE, "completed");
    return;
  default:
    c->result.reason = "completed";
    dt__call_wait_finish(c, 0);
    return;
  }
}

/* An accepted answer naming an operation that has not finished yet. */
static bool still_running(const dt_graph_result_t *res) {
  return dt__call_res_ok(res) && res->op_id && res->op_status != DT_OP_STATUS_COMPLETED &&
         res->op_status != DT_OP_STATUS_FAILED;
}

/* Keys op by its Graph operation id, so that its completion notification finds it, and
   takes a completion that arrived before this answer: true with *comp filled (free it
   with dt__call_completion_free), false when none came yet. */
static bool key_and_take_early(dt_call_t *c, dt_op_t *op, const char *op_id, completion_t *comp) {
  op->key = dt_xmalloc(strlen(op_id) + 1);
  dt_graph_id_key(op_id, op->key);
  return dt__call_early_take(c, op->key, comp);
}

/* Graph says the operation is running; its completion will be a notification. */
static void op_running(dt_call_t *c) {
  switch (c->wait) {
  case DT_WAIT_PLAY:
    if (c->stage == P_SENT) c->stage = P_RUNNING;
    if (c->w.cancel == 1) {
      dt__call_send_cancel(c);
      c->stage = P_CANCELLING;
    }
    break;
  case DT_WAIT_GATHER:
    if (c->stage == G_PROMPT_SENT) c->stage = G_PROMPT_RUNNING;
    else if (c->stage == G_COLLECT && c->w.cancel == 1) dt__call_send_cancel(c);
    break;
  case DT_WAIT_RECORD: c->stage = R_RUNNING; break;
  default: break;
  }
}

/* The current wait's operation finished (op is freed here). */
void dt__call_op_completed(dt_call_t *c, dt_op_t *op, completion_t *comp) {
  dt__call_op_free(op);
  switch (c->wait) {
  case DT_WAIT_ANSWER:
    if (comp->status == DT_OP_STATUS_FAILED) {
      dt__call_fail_op(c, comp, dt__call_wait_what(c));
    } else if (c->stage == 0) {
      dt__call_answered(c);
    } else {
      c->flags |= DT_CALLF_SUBSCRIBED;
      dt__call_answer_ready(c);
    }
    return;
  case DT_WAIT_PLAY: dt__call_play_done(c, comp); return;
  case DT_WAIT_GATHER: dt__call_gather_prompt_done(c, comp); return;
  case DT_WAIT_RECORD: dt__call_record_done(c, comp); return;
  case DT_WAIT_TRANSFER:
    if (comp->status == DT_OP_STATUS_FAILED) {
      dt__call_log_transfer(c, "failed");
      dt__call_fail_op(c, comp, "transfer");
    } else {
      c->stage = 1;
    }
    return;
  default:
    if (comp->status == DT_OP_STATUS_FAILED) {
      dt__call_fail_op(c, comp, dt__call_wait_what(c));
      return;
    }
    c->result.reason = "completed";
    dt__call_wait_finish(c, 0);
    return;
  }
}

static void dial_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res) {
  dt_calls_t *r = c->reg;
  r->last_dial_ms = dt_now_ms();
  if (!dt__call_res_ok(res) || !res->call_id) {
    dt__call_op_free(op);
    if (dt__call_res_ok(res)) dt__call_wait_fail(c, DT_EGRAPH, "noCallId", "create call returned no call id");
    else dt__call_fail_graph(c, res, "create call");
    return;
  }
  dt_call_t *nc = dt__calls_outbound_new(r, res->call_id, &op->aux, &op->aux2);
  if (op->no_audio) nc->flags |= DT_CALLF_NO_AUDIO;
  dt__call_op_free(op);
  nc->dialed_by = dt_xstrdup(c->id);
  c->result.new_call = nc;
  c->result.reason = "created";
  dt__call_wait_finish(c, 0);
  if (!(nc->flags & DT_CALLF_RELEASED)) r->replay(r, nc);
}

static void main_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res) {
  if (c->wait == DT_WAIT_DIAL) {
    dial_response(c, op, res);
    return;
  }
  if (c->wait == DT_WAIT_MEETING) { /* a 404 here is Graph's about a user, not the call's end */
    dt__call_meeting_response(c, op, res);
    return;
  }
  if (!dt__call_res_ok(res)) {
    dt__call_op_free(op);
    if (c->wait == DT_WAIT_HANGUP && res->status == 404) { /* already gone */
      dt__call_wait_finish_ended(c, DT_OUTCOME_NONE, "completed");
      return;
    }
    if (res->status == 404 && c->wait != DT_WAIT_DIAL) {
      /* the call ended under the request (its termination notification is on its way or
         lost): that is a hangup, not a Graph failure */
      dt_log(DT_LOG_INFO, c->id, "%s: the call is gone (404); treating it as a hangup", dt__call_wait_what(c));
      c->flags |= DT_CALLF_TERMINATED;
      c->state = DT_CALL_STATE_TERMINATED;
      if (!c->end_ms) c->end_ms = dt_clock_unix_ms();
      dt__call_wait_fail(c, DT_EHANGUP, "hangup", "the call has ended");
      return;
    }
    if (c->wait == DT_WAIT_GATHER && c->stage == G_COLLECT) { /* the prompt no longer matters */
      dt__call_gather_prompt_done(c, NULL);
      return;
    }
    if (c->wait == DT_WAIT_TRANSFER) dt__call_log_transfer(c, "failed");
    dt__call_fail_graph(c, res, dt__call_wait_what(c));
    return;
  }
  if (c->wait == DT_WAIT_PARTICIPANTS) {
    dt__call_op_free(op);
    if (cJSON_IsObject(res->body) && !cJSON_HasObjectItem(res->body, "value")) { /* one participant */
      cJSON *wrap = cJSON_CreateArray();
      cJSON_AddItemReferenceToArray(wrap, (cJSON *)res->body);
      cJSON *list = dt__call_participants_json(wrap);
      cJSON_Delete(wrap);
      c->result.json = cJSON_DetachItemFromArray(list, 0);
      cJSON_Delete(list);
    } else {
      c->result.json = dt__call_participants_json(res->body);
    }
    c->result.reason = "completed";
    dt__call_wait_finish(c, 0);
    return;
  }
  /* An operation still running completes by notification. A 202 with only a Location
     (no operation body, e.g. updateMetadata) says the action was accepted: only media
     and invite operations are waited for then. */
  bool media = c->wait == DT_WAIT_PLAY || c->wait == DT_WAIT_GATHER || c->wait == DT_WAIT_RECORD ||
               c->wait == DT_WAIT_INVITE;
  bool running = res->op_status == DT_OP_STATUS_RUNNING || res->op_status == DT_OP_STATUS_NOT_STARTED ||
                 (res->op_status == DT_OP_STATUS_UNKNOWN && media);
  if (res->op_id && running) {
    op->graph_id = dt_xstrdup(res->op_id);
    completion_t comp;
    if (key_and_take_early(c, op, res->op_id, &comp)) {
      dt__call_op_completed(c, op, &comp);
      dt__call_completion_free(&comp);
      return;
    }
    op_running(c);
    return;
  }
  if (res->op_status == DT_OP_STATUS_COMPLETED || res->op_status == DT_OP_STATUS_FAILED) {
    completion_t comp;
    dt__call_completion_from_json(res->body, &comp);
    if (comp.status == DT_OP_STATUS_UNKNOWN) comp.status = res->op_status;
    dt__call_op_completed(c, op, &comp);
    dt__call_completion_free(&comp);
    return;
  }
  dt__call_op_free(op);
  dt__call_accepted(c);
}

/* A response for a wait that is over (hangup, deadline): remember a running operation so
   its completion is dropped; hang up a call created for a dial nobody waits for. */
static void stale_response(dt_call_t *c, dt_op_t *op, const dt_graph_result_t *res) {
  if (op->aux && op->role == ROLE_MAIN && dt__call_res_ok(res) && res->call_id) {
    dt_call_t *nc = dt__calls_outbound_new(c->reg, res->call_id, &op->aux, &op->aux2);
    dt__call_op_free(op);
    dt_call_flow_done(nc, DT_OUTCOME_UNANSWERED, "the dialing flow ended before the call was created", NULL);
    return;
  }
  if (still_running(res)) {
    completion_t comp;
    if (key_and_take_early(c, op, res->op_id, &comp)) {
      dt__call_completion_free(&comp);
      dt__call_op_free(op);
      return;
    }
    op->orphan = true;
    return;
  }
  dt__call_op_free(op);
}

void dt__call_graph_cb(const dt_graph_result_t *res, void *ud) {
  dt_op_t *op = ud;
  dt_call_t *c = op->call;
  if (dt_log_get_level() <= DT_LOG_DEBUG)
    dt_log(DT_LOG_DEBUG, c->id, "response %d (role %d, op %s %s) waiting %s stage %u%s", res->status, op->role,
           res->op_id ? res->op_id : "-", dt_op_status_name(res->op_status),
           dt_wait_kind_name((dt_wait_kind_t)c->wait), c->stage, op->gen == c->gen ? "" : " (stale)");
  if (op->role == ROLE_MAIN && op->aux) c->reg->dials--;
  op->req = NULL;
  bool current = op->gen == c->gen && c->wait != DT_WAIT_NONE;
  switch (op->role) {
  case ROLE_MAIN:
    if (!current) stale_response(c, op, res);
    else main_response(c, op, res);
    return;
  case ROLE_CANCEL:
    dt__call_op_free(op);
    if (!current) return;
    c->w.cancel = 3;
    if (c->wait == DT_WAIT_PLAY) {
      c->result.reason = c->w.done_reason ? c->w.done_reason : "barged";
      dt__call_wait_finish(c, 0);
    } else if (c->wait == DT_WAIT_GATHER && c->w.done_reason) {
      dt__call_gather_finish(c, true);
    }
    return;
  case ROLE_POLL: {
    char *mkey = op->aux;
    op->aux = NULL;
    dt__call_op_free(op);
    if (!current) {
      free(mkey);
      return;
    }
    dt_op_t *mainop = mkey ? dt__call_op_find(c, mkey) : NULL;
    free(mkey);
    completion_t comp;
    dt__call_completion_from_json(dt__call_res_ok(res) ? res->body : NULL, &comp);
    if (mainop && (comp.status == DT_OP_STATUS_COMPLETED || comp.status == DT_OP_STATUS_FAILED)) {
      dt__call_op_completed(c, mainop, &comp);
      dt__call_completion_free(&comp);
      return;
    }
    dt__call_completion_free(&comp);
    dt__call_wait_fail(c, DT_ETIMEDOUT, "timeout", "%s: the operation did not complete within %u s", dt__call_wait_what(c),
              dt__call_op_timeout(c) / 1000);
    return;
  }
  case ROLE_DELETE:
    dt__call_op_free(op);
    if (!dt__call_res_ok(res)) { /* gone already (404) or refused: nothing more will come */
      c->flags |= DT_CALLF_TERMINATED;
      dt__call_finalize(c);
      return;
    }
    c->stage = WD_AWAIT_END;
    return;
  case ROLE_ERRPROMPT:
    if (still_running(res)) {
      completion_t comp;
      if (!key_and_take_early(c, op, res->op_id, &comp)) return; /* wait for its completion */
      dt__call_completion_free(&comp);
    }
    dt__call_op_free(op);
    if (c->stage == WD_PROMPT) dt__call_send_end(c);
    return;
  case ROLE_AUTOSUB:
    dt__call_op_free(op);
    if (dt__call_res_ok(res)) c->flags |= DT_CALLF_SUBSCRIBED;
    else if (res->status)
      dt_log(DT_LOG_WARN, c->id, "subscribeToTone failed (HTTP %d); the flow will get no digits", res->status);
    else
      dt_log(DT_LOG_WARN, c->id, "subscribeToTone failed: %s; the flow will get no digits",
             res->error_message && *res->error_message ? res->error_message : dt_strerror(res->error));
    dt__call_start_when_ready(c);
    return;
  default: dt__call_op_free(op); return;
  }
}
