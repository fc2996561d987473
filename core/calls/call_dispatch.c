/*
 * call_dispatch.c — notifications (dt_calls_dispatch): a new incoming call (routed, or
 * refused when draining or over max_calls), call states, tones, operation completions and
 * termination, each handed to the call's waiting primitive; notifications for a call not
 * known yet while a dial is in flight go to the limbo and are replayed (the registry's
 * replay) when the create response names the call.
 *
 * Promises (call.h): duplicates change nothing twice; O(1) work per event; events for
 * unknown calls are counted and dropped.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/call_incoming.h"
#include "dialtone/clock.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

static void on_state(dt_call_t *c, dt_event_t *ev) {
  dt_call_state_t s = ev->state;
  if (s == DT_CALL_STATE_ESTABLISHED && !(c->flags & DT_CALLF_ESTABLISHED)) {
    c->flags |= DT_CALLF_ESTABLISHED;
    if (!c->answer_ms) c->answer_ms = dt_clock_unix_ms();
    dt__call_event(c, "answered", NULL);
    c->reg->keepalive_start(c);
  }
  /* establishing after established is the documented reordering, not a regression */
  if (s != DT_CALL_STATE_UNKNOWN && !(s == DT_CALL_STATE_ESTABLISHING && (c->flags & DT_CALLF_ESTABLISHED)))
    c->state = s;
  if (dt__call_media_state(c, ev->media_audio)) return; /* call_ready.c */
  switch (c->wait) {
  case DT_WAIT_ANSWER:
    if (c->stage == 1 && (c->flags & DT_CALLF_ESTABLISHED)) dt__call_answer_subscribe(c);
    return;
  case DT_WAIT_TRANSFER:
    if (s == DT_CALL_STATE_TRANSFER_ACCEPTED) {
      dt__call_transfer_success(c);
    } else if (s == DT_CALL_STATE_ESTABLISHED && ev->result.present && ev->result.code >= 400) {
      c->result.code = ev->result.code;
      c->result.subcode = ev->result.subcode;
      dt__call_log_transfer(c, "failed");
      dt__call_wait_fail(c, DT_EGRAPH, "transferFailed", "transfer failed: %s (code %d, subcode %d)",
                ev->result.message ? ev->result.message : "no message", ev->result.code, ev->result.subcode);
    }
    return;
  default: break;
  }
  if (c->direction == DT_CALL_OUTGOING && !(c->flags & (DT_CALLF_STARTED | DT_CALLF_FLOW_DONE)) &&
      (c->flags & DT_CALLF_ESTABLISHED)) {
    c->flags |= DT_CALLF_STARTED;
    dt_op_t *op = dt__call_op_new(c, ROLE_AUTOSUB);
    if (dt_graph_context_action(c->reg->o.graph, c->id, DT_GRAPH_SUBSCRIBE_TO_TONE, NULL, c->reg->on_response, op,
                                &op->req) < 0) {
      dt__call_op_free(op);
      dt__call_start_flow(c);
    }
  }
}

static void on_tone(dt_call_t *c, dt_event_t *ev) {
  if (ev->tone == 0) return;
  if (c->wait == DT_WAIT_RECORD && c->w.stop_tones[0] && strchr(c->w.stop_tones, ev->tone)) {
    dt_call_tone_push(c, ev->tone_sequence_id, 0); /* the recording consumed it */
    return;
  }
  if (!dt_call_tone_push(c, ev->tone_sequence_id, ev->tone)) {
    if (c->reg->o.metrics) dt_metrics_inc(c->reg->o.metrics, "dt_tones_duplicate_total", NULL);
    return;
  }
  dt__call_live_key(c, ev->tone);
  switch (c->wait) {
  case DT_WAIT_PLAY:
    if (!c->w.barge_in || c->w.cancel) return;
    if (c->stage == P_RUNNING) {
      dt__call_send_cancel(c);
      c->stage = P_CANCELLING;
      if (c->w.cancel == 3) { /* could not send the cancel: report the barge-in anyway */
        c->result.reason = "barged";
        dt__call_wait_finish(c, 0);
      }
    } else {
      c->w.cancel = 1;
    }
    return;
  case DT_WAIT_GATHER: dt__call_gather_check(c, true); return;
  default: return;
  }
}

static void on_operation(dt_call_t *c, dt_event_t *ev) {
  if (ev->op_status != DT_OP_STATUS_COMPLETED && ev->op_status != DT_OP_STATUS_FAILED) return;
  if (!ev->op_id || strlen(ev->op_id) >= KEY_MAX) return;
  char key[KEY_MAX];
  dt_graph_id_key(ev->op_id, key);
  completion_t comp;
  dt__call_completion_from_event(ev, &comp);
  dt_op_t *op = dt__call_op_find(c, key);
  if (!op) {
    dt__call_early_add(c, key, &comp);
    dt__call_completion_free(&comp);
    return;
  }
  if (op->orphan) {
    dt__call_op_free(op);
    dt__call_recording_orphan(c, &comp);
  } else if (op->role == ROLE_ERRPROMPT) {
    dt__call_op_free(op);
    if (c->stage == WD_PROMPT && c->wait == DT_WAIT_NONE) dt__call_send_end(c);
  } else if (op->role == ROLE_MAIN && op->gen == c->gen && c->wait != DT_WAIT_NONE) {
    dt__call_op_completed(c, op, &comp);
  } else {
    dt__call_op_free(op);
  }
  dt__call_completion_free(&comp);
}

static void on_terminated(dt_call_t *c, dt_event_t *ev) {
  if (c->flags & DT_CALLF_TERMINATED) return;
  c->flags |= DT_CALLF_TERMINATED;
  c->state = DT_CALL_STATE_TERMINATED;
  c->end_ms = dt_clock_unix_ms();
  if (ev->result.present) {
    c->end_code = ev->result.code;
    c->end_subcode = ev->result.subcode;
    c->end_message = dt__xstrdup_or_null(ev->result.message);
  } else if (ev->termination_reason) {
    c->end_message = dt_xstrdup(ev->termination_reason);
  }
  if (c->wait != DT_WAIT_NONE) {
    switch (c->wait) {
    case DT_WAIT_REJECT:
    case DT_WAIT_REDIRECT:
    case DT_WAIT_HANGUP: /* the call's end is what these requests asked for */
      dt__call_accepted(c);
      return;
    case DT_WAIT_TRANSFER:
      /* Only Graph's "transfer completed" (7015) ends the call as transferred. stage 1 means
         no more than that Graph accepted the request: the target may still be ringing, and
         a caller who hangs up then was not transferred (transferAccepted, had it come, has
         already finished this wait). */
      if (ev->result.present && ev->result.subcode == 7015) {
        dt__call_transfer_success(c);
        return;
      }
      dt__call_log_transfer(c, "hangup");
      break;
    default: break;
    }
    dt__call_wait_fail(c, DT_EHANGUP, "hangup", "the call has ended");
    return;
  }
  if (c->flags & DT_CALLF_FLOW_DONE) {
    dt__call_finalize(c);
    return;
  }
  if (!(c->flags & DT_CALLF_FLOW)) { /* no flow ran (yet) */
    if (!c->outcome)
      c->outcome = (c->direction == DT_CALL_OUTGOING && !(c->flags & DT_CALLF_ESTABLISHED)) ? DT_OUTCOME_UNANSWERED
                                                                                            : DT_OUTCOME_HANGUP;
    dt__call_finalize(c);
  }
  /* else: the flow runs now (its result is being delivered) and meets the hangup at its
     next primitive */
}

void dt__call_ended_by_graph(dt_call_t *c, const char *message) {
  dt_event_t ev;
  memset(&ev, 0, sizeof ev);
  ev.termination_reason = (char *)message;
  on_terminated(c, &ev);
}

static void dispatch_one(dt_call_t *c, dt_event_t *ev) {
  if (c->flags & DT_CALLF_RELEASED) return;
  if (dt_log_get_level() <= DT_LOG_DEBUG)
    dt_log(DT_LOG_DEBUG, c->id, "event %s state %s op %s/%s tone %c seq %lld; waiting %s stage %u",
           dt_event_type_name(ev->type), dt_call_state_name(ev->state), ev->op_id ? ev->op_id : "-",
           dt_op_status_name(ev->op_status), ev->tone ? ev->tone : '-', (long long)ev->tone_sequence_id,
           dt_wait_kind_name((dt_wait_kind_t)c->wait), c->stage);
  switch (ev->type) {
  case DT_EVENT_CALL_STATE: on_state(c, ev); return;
  case DT_EVENT_TONE:
    if (ev->state == DT_CALL_STATE_ESTABLISHED && !(c->flags & DT_CALLF_ESTABLISHED)) on_state(c, ev);
    on_tone(c, ev);
    return;
  case DT_EVENT_OPERATION: on_operation(c, ev); return;
  case DT_EVENT_CALL_TERMINATED: on_terminated(c, ev); return;
  case DT_EVENT_ROSTER: dt__call_roster_update(c, ev->resource_data); return;
  default: return;
  }
}

static void incoming(dt_calls_t *r, dt_event_t *ev, const char *key) {
  if (dt__calls_lookup(r, key) || dt__calls_tomb_has(r, key)) return; /* a duplicate "created" */
  dt_call_t *c = dt__call_new(r, ev->call_id, DT_CALL_INCOMING);
  c->state = DT_CALL_STATE_INCOMING;
  const cJSON *rd = ev->resource_data;
  const char *ids[16];
  size_t nids = 0;
  if (cJSON_IsObject(rd)) {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(rd, "source");
    if (cJSON_IsObject(src)) c->from = dt__call_identity_text(cJSON_GetObjectItemCaseSensitive(src, "identity"));
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(rd, "targets");
    const cJSON *t;
    cJSON_ArrayForEach(t, targets) {
      const cJSON *set = cJSON_GetObjectItemCaseSensitive(t, "identity");
      if (!c->to) c->to = dt__call_identity_text(set);
      nids = dt__call_identity_ids(set, ids, nids, DT_ARRAY_SIZE(ids));
    }
  }
  c->incoming = dt_incoming_view(rd);
  char *pinned = dt__calls_pin_take(r, key);
  c->flow = pinned ? pinned : dt_xstrdup(dt_calls_route(r, c->incoming, ids, nids));
  dt_log(DT_LOG_INFO, c->id, "incoming call from %s to %s: flow %s", c->from ? c->from : "?",
         c->to ? c->to : "?", c->flow);
  if (r->draining || r->closing || (r->o.max_calls && dt_calls_count(r) > r->o.max_calls)) {
    c->flags |= DT_CALLF_STARTED;
    c->outcome = DT_OUTCOME_REJECTED;
    dt_call_flow_done(c, DT_OUTCOME_REJECTED, r->draining || r->closing ? "draining" : "too many calls", NULL);
    return;
  }
  dt__call_start_flow(c);
}

void dt__calls_limbo_replay(dt_calls_t *r, dt_call_t *c) {
  limbo_t *mine = dt__calls_limbo_take(r, c->key); /* first: dispatching may add to the list */
  while (mine) {
    limbo_t *l = mine;
    mine = l->next;
    if (!(c->flags & DT_CALLF_RELEASED)) dispatch_one(c, &l->ev);
    dt__calls_limbo_free(l);
  }
}

void dt_calls_dispatch(dt_calls_t *r, dt_event_list_t *list) {
  char key[KEY_MAX];
  for (size_t i = 0; i < list->count; i++) {
    dt_event_t *ev = &list->events[i];
    if (!ev->call_id || strlen(ev->call_id) >= KEY_MAX) continue;
    dt_graph_id_key(ev->call_id, key);
    if (ev->type == DT_EVENT_CALL_INCOMING) {
      if (!r->closing) incoming(r, ev, key);
      continue;
    }
    dt_call_t *c = dt__calls_lookup(r, key);
    if (c) {
      dispatch_one(c, ev);
      continue;
    }
    if (dt__calls_tomb_has(r, key)) continue;
    if (r->dials > 0 || (r->last_dial_ms && dt_now_ms() - r->last_dial_ms < LIMBO_WINDOW_MS)) {
      dt__calls_limbo_add(r, ev, key);
      continue;
    }
    if (r->o.metrics) dt_metrics_inc(r->o.metrics, "dt_notifications_unknown_call_total", NULL);
    dt_log(DT_LOG_DEBUG, ev->call_id, "notification (%s) for an unknown call ignored", dt_event_type_name(ev->type));
  }
}
