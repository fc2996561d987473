/*
 * call_control.c — the call-control primitives: answer (then subscribeToTone), reject,
 * redirect, transfer, invite, the in-call actions, sleep, hangup (also
 * fire-and-forget), dial from a flow, and dials started from C (dt_calls_dial, no calling
 * call: their requests are owned by the registry until Graph answers).
 *
 * Promises (call.h): each primitive returns 0 and later finishes its wait once, or 1 when it
 * finished at once, or a negative DT_E* and sends nothing.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

int dt_call_answer(dt_call_t *c, const char *const *modalities, size_t nmod, const dt_media_t *prefetch,
                   size_t nprefetch) {
  dt_graph_answer_params_t p = {.modalities = modalities,
                                .modality_count = nmod,
                                .prefetch = prefetch,
                                .prefetch_count = nprefetch};
  return dt_call_answer_with(c, &p);
}

int dt_call_answer_with(dt_call_t *c, const dt_graph_answer_params_t *params) {
  const char *const *modalities = params->modalities;
  size_t nmod = params->modality_count;
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (c->direction == DT_CALL_OUTGOING || (c->flags & DT_CALLF_ANSWERED)) {
    dt__call_result_clear(&c->result);
    c->result.reason = "established";
    return 1;
  }
  dt__call_wait_begin(c, DT_WAIT_ANSWER);
  bool audio = nmod == 0;
  for (size_t i = 0; i < nmod; i++) audio = audio || (modalities[i] && strcmp(modalities[i], "audio") == 0);
  if (!audio) c->flags |= DT_CALLF_NO_AUDIO;
  dt_graph_answer_params_t p = *params;
  p.callback_uri = c->reg->callback_uri;
  dt_op_t *op = dt__call_main_op(c);
  rc = dt_graph_answer(c->reg->o.graph, c->id, &p, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

void dt__call_answer_subscribe(dt_call_t *c) {
  if (c->flags & DT_CALLF_SUBSCRIBED) {
    dt__call_answer_ready(c);
    return;
  }
  c->stage = 2;
  dt_op_t *op = dt__call_main_op(c);
  int rc = dt_graph_context_action(c->reg->o.graph, c->id, DT_GRAPH_SUBSCRIBE_TO_TONE, NULL, c->reg->on_response, op,
                                   &op->req);
  if (rc < 0) {
    dt__call_op_free(op);
    dt__call_wait_fail(c, rc, "subscribeToTone", "subscribeToTone could not be sent: %s", dt_strerror(rc));
  }
}

void dt__call_answered(dt_call_t *c) {
  c->flags |= DT_CALLF_ANSWERED;
  if (c->flags & DT_CALLF_ESTABLISHED) dt__call_answer_subscribe(c);
  else c->stage = 1;
}

int dt_call_reject(dt_call_t *c, const char *reason) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (c->direction != DT_CALL_INCOMING || (c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    return DT_ESTATE;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_REJECT);
  rc = dt_graph_reject(c->reg->o.graph, c->id, reason ? reason : "none", NULL, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_redirect(dt_call_t *c, const dt_graph_redirect_params_t *p) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (p == NULL || p->target_count == 0 || p->targets == NULL) return DT_EINVAL;
  if (c->direction != DT_CALL_INCOMING || (c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    return DT_ESTATE;
  dt__call_wait_begin(c, DT_WAIT_REDIRECT);
  free(c->transfer_target);
  c->transfer_target = dt__call_invitation_text(&p->targets[0].identity);
  dt_graph_redirect_params_t q = *p;
  q.callback_uri = c->reg->callback_uri;
  dt_op_t *op = dt__call_main_op(c);
  rc = dt_graph_redirect(c->reg->o.graph, c->id, &q, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_transfer(dt_call_t *c, const dt_invitation_t *target, const dt_identity_t *transferee) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt__call_wait_begin(c, DT_WAIT_TRANSFER);
  free(c->transfer_target);
  c->transfer_target = dt__call_invitation_text(&target->identity);
  dt_op_t *op = dt__call_main_op(c);
  rc = dt_graph_transfer(c->reg->o.graph, c->id, target, transferee, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

void dt__call_transfer_success(dt_call_t *c) {
  dt__call_log_transfer(c, "transferred");
  dt__call_wait_finish_ended(c, DT_OUTCOME_TRANSFERRED, "transferred");
}

int dt_call_invite(dt_call_t *c, const dt_invitation_t *parts, size_t n) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (n == 0) return DT_EINVAL;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_INVITE);
  rc = dt_graph_invite(c->reg->o.graph, c->id, parts, n, NULL, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_action(dt_call_t *c, dt_action_t action, const char *arg) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt_graph_t *g = c->reg->o.graph;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_ACTION);
  switch (action) {
  case DT_ACTION_MUTE: rc = dt_graph_context_action(g, c->id, DT_GRAPH_MUTE, NULL, c->reg->on_response, op, &op->req);
    break;
  case DT_ACTION_UNMUTE: rc = dt_graph_context_action(g, c->id, DT_GRAPH_UNMUTE, NULL, c->reg->on_response, op, &op->req);
    break;
  case DT_ACTION_MUTE_ALL: rc = dt_graph_context_action(g, c->id, DT_GRAPH_MUTE_ALL, NULL, c->reg->on_response, op, &op->req);
    break;
  case DT_ACTION_SCREEN_SHARING:
    rc = dt_graph_change_screen_sharing_role(g, c->id, arg, c->reg->on_response, op, &op->req);
    break;
  case DT_ACTION_UPDATE_METADATA:
    rc = dt_graph_update_metadata(g, c->id, arg, NULL, c->reg->on_response, op, &op->req);
    break;
  case DT_ACTION_SEND_DTMF: rc = dt_graph_send_dtmf(g, c->id, arg, 0, NULL, c->reg->on_response, op, &op->req); break;
  case DT_ACTION_CANCEL_MEDIA: rc = dt_graph_context_action(g, c->id, DT_GRAPH_CANCEL_MEDIA, NULL, c->reg->on_response, op, &op->req);
    break;
  case DT_ACTION_RECORDING_STATUS: /* clientContext: the call's id, to find the operation in Graph's logs */
    rc = dt_graph_update_recording_status(g, c->id, arg, strlen(c->id) <= 256 ? c->id : NULL, c->reg->on_response,
                                          op, &op->req);
    break;
  default: rc = DT_EINVAL;
  }
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_sleep(dt_call_t *c, uint64_t ms) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt__call_wait_begin(c, DT_WAIT_SLEEP);
  dt__call_arm(c, ms);
  return 0;
}

int dt_call_hangup(dt_call_t *c) {
  if (c->flags & (DT_CALLF_RELEASED | DT_CALLF_FLOW_DONE)) return DT_ESTATE;
  if (dt_call_is_gone(c)) { /* already over: nothing to send */
    dt__call_result_clear(&c->result);
    c->result.reason = "completed";
    return 1;
  }
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt_op_t *op = dt__call_begin(c, DT_WAIT_HANGUP);
  if (c->direction == DT_CALL_INCOMING && !(c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    rc = dt_graph_reject(c->reg->o.graph, c->id, "none", NULL, c->reg->on_response, op, &op->req);
  else
    rc = dt_graph_delete_call(c->reg->o.graph, c->id, c->reg->on_response, op, &op->req);
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

int dt_call_hangup_async(dt_call_t *c) {
  if (dt_call_is_gone(c) || (c->flags & DT_CALLF_DELETING)) return 0;
  dt_op_t *op = dt__call_op_new(c, ROLE_FIRE);
  int rc;
  if (c->direction == DT_CALL_INCOMING && !(c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    rc = dt_graph_reject(c->reg->o.graph, c->id, "none", NULL, c->reg->on_response, op, &op->req);
  else
    rc = dt_graph_delete_call(c->reg->o.graph, c->id, c->reg->on_response, op, &op->req);
  if (rc < 0) {
    dt__call_op_free(op);
    return rc;
  }
  c->flags |= DT_CALLF_ENDED | DT_CALLF_DELETING;
  return 0;
}

int dt_call_dial(dt_call_t *c, const dt_graph_create_params_t *p, const char *flow, const char *to_text) {
  int rc = dt__call_guard(c);
  if (rc) return rc;
  if (!flow || !flow[0]) return DT_EINVAL;
  dt_calls_t *r = c->reg;
  if (r->draining || r->closing) return DT_ESTATE;
  dt__call_wait_begin(c, DT_WAIT_DIAL);
  dt_graph_create_params_t q = *p;
  q.callback_uri = r->callback_uri;
  dt_identity_t src;
  dt__calls_pstn_source(r, &q, &src);
  dt_op_t *op = dt__call_main_op(c);
  op->aux = dt_xstrdup(flow);
  op->aux2 = dt__xstrdup_or_null(to_text);
  bool audio = !p->no_media && p->modality_count == 0;
  for (size_t i = 0; !p->no_media && i < p->modality_count; i++)
    audio = audio || (p->modalities[i] && strcmp(p->modalities[i], "audio") == 0);
  op->no_audio = !audio;
  rc = dt_graph_create_call(r->o.graph, &q, c->reg->on_response, op, &op->req);
  if (rc == 0) {
    r->dials++;
    op->orphan = false;
  }
  return dt__call_started(c, op, rc, dt__call_op_timeout(c));
}

static void bare_dial_free(bare_dial_t *d) {
  dt_calls_t *r = d->reg;
  for (bare_dial_t **pp = &r->bare_dials; *pp; pp = &(*pp)->next)
    if (*pp == d) {
      *pp = d->next;
      break;
    }
  r->dials--;
  free(d->flow);
  free(d->to);
  free(d);
}

static void bare_dial_cb(const dt_graph_result_t *res, void *ud) {
  bare_dial_t *d = ud;
  dt_calls_t *r = d->reg;
  d->req = NULL;
  r->last_dial_ms = dt_now_ms();
  if (!dt__call_res_ok(res) || !res->call_id) {
    dt_log(DT_LOG_WARN, NULL, "dial to %s (flow %s): create call failed: %d %s", d->to ? d->to : "?", d->flow,
           res->status, res->error_message && res->error_message[0] ? res->error_message : "no call id");
    bare_dial_free(d);
    return;
  }
  dt_call_t *nc = dt__calls_outbound_new(r, res->call_id, &d->flow, &d->to);
  bare_dial_free(d);
  if (!(nc->flags & DT_CALLF_RELEASED)) r->replay(r, nc);
}

int dt_calls_dial(dt_calls_t *r, const dt_graph_create_params_t *p, const char *flow, const char *to_text) {
  if (!p || !flow || !flow[0]) return DT_EINVAL;
  if (r->draining || r->closing) return DT_ESTATE;
  bare_dial_t *d = dt_xcalloc(1, sizeof *d);
  d->reg = r;
  d->flow = dt_xstrdup(flow);
  d->to = dt__xstrdup_or_null(to_text);
  dt_graph_create_params_t q = *p;
  q.callback_uri = r->callback_uri;
  dt_identity_t src;
  dt__calls_pstn_source(r, &q, &src);
  d->next = r->bare_dials;
  r->bare_dials = d;
  r->dials++;
  int rc = dt_graph_create_call(r->o.graph, &q, bare_dial_cb, d, &d->req);
  if (rc < 0) bare_dial_free(d);
  return rc < 0 ? rc : 0;
}

void dt__calls_bare_dials_cancel(dt_calls_t *r) {
  while (r->bare_dials) {
    dt_graph_req_cancel(r->bare_dials->req);
    bare_dial_free(r->bare_dials);
  }
}
