/*
 * call_end.c — a call's end: starting its flow (hooks.on_start), the flow being done
 * (dt_call_flow_done), winding down (the error prompt, then DELETE or reject, then waiting
 * for Graph's termination at most op_timeout_ms), the CDR (the per-call log of digits,
 * recordings and transfers, the flat dt_cdr_record_t, written once), and the release
 * (hooks.on_release, tombstone, the call freed from its timer's close callback).
 *
 * Promises: the CDR is written exactly once per call; the call leaves the registry once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/clock.h"
#include "dialtone/cdr.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/text.h"
#include "call_internal.h"

static void wind_down(dt_call_t *c, const char *prompt);

void dt__call_log_item(dt_buf_t *b, const char *text) {
  if (b->len) dt_buf_append(b, ",", 1);
  dt_text_json_string(b, text);
}

void dt_call_log_digits(dt_call_t *c, const char *digits) {
  if (c->log.digits.len < 4096) dt__call_log_item(&c->log.digits, digits);
}

void dt__call_log_transfer(dt_call_t *c, const char *result) {
  dt_buf_t *b = &c->log.transfers;
  if (b->len > 8192) return;
  if (b->len) dt_buf_append(b, ",", 1);
  dt_buf_append(b, "{\"target\":", 10);
  dt_text_json_string(b, c->transfer_target ? c->transfer_target : "");
  dt_buf_append(b, ",\"result\":", 10);
  dt_text_json_string(b, result);
  dt_buf_append(b, "}", 1);
  dt__call_eventf(c, "transfer", "result", result);
}

static void call_release(dt_call_t *c) {
  if (c->flags & DT_CALLF_RELEASED) return;
  dt_calls_t *r = c->reg;
  c->flags |= DT_CALLF_RELEASED;
  uv_timer_stop(&c->timer);
  c->wait = DT_WAIT_NONE;
  c->gen++;
  while (c->ops) dt__call_op_free(c->ops);
  dt__call_early_clear(c);
  dt__calls_remove(r, c);
  if (!r->closing) dt__calls_tomb_add(r, c->key);
  if (r->o.hooks.on_release) r->o.hooks.on_release(c, r->o.hooks.ud);
  uv_close((uv_handle_t *)&c->timer, dt__call_closed);
}

/* The call's CDR fields, flat (borrowed from the call). */
void dt__call_cdr_record(const dt_call_t *c, dt_cdr_record_t *rec) {
  *rec = (dt_cdr_record_t){.call_id = c->id,
                           .direction = c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing",
                           .from = c->from,
                           .to = c->to,
                           .flow = c->flow,
                           .flow_version = c->flow_version,
                           .start_ms = c->start_ms,
                           .answer_ms = c->answer_ms,
                           .end_ms = c->end_ms,
                           .outcome = dt_outcome_name(c->outcome),
                           .digits = c->log.digits.data,
                           .digits_len = c->log.digits.len,
                           .recordings = c->log.recordings.data,
                           .recordings_len = c->log.recordings.len,
                           .transfers = c->log.transfers.data,
                           .transfers_len = c->log.transfers.len,
                           .error = c->error,
                           .end_code = c->end_code,
                           .end_subcode = c->end_subcode,
                           .end_message = c->end_message};
}

void dt__call_finalize(dt_call_t *c) {
  if (c->flags & DT_CALLF_RELEASED) return;
  dt_calls_t *r = c->reg;
  if (!(c->flags & DT_CALLF_CDR)) {
    c->flags |= DT_CALLF_CDR;
    if (!c->end_ms) c->end_ms = dt_clock_unix_ms();
    if (!c->outcome) c->outcome = DT_OUTCOME_COMPLETED;
    if (r->o.cdr) {
      dt_cdr_record_t rec;
      dt__call_cdr_record(c, &rec);
      dt_buf_t tags = {0};
      if (c->tags.count) {
        dt_call_tags_json(&c->tags, &tags);
        rec.tags = tags.data;
        rec.tags_len = tags.len;
      }
      dt_cdr_write(r->o.cdr, &rec);
      dt_buf_free(&tags);
    }
    if (r->o.metrics) {
      char labels[160];
      snprintf(labels, sizeof labels, "direction=\"%s\",outcome=\"%s\"",
               c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing", dt_outcome_name(c->outcome));
      dt_metrics_inc(r->o.metrics, "dt_calls_total", labels);
      /* per flow: flow names are file names, but a label only takes a plain one */
      const char *flow = c->flow && c->flow[0] && strlen(c->flow) <= 64 &&
                                 strspn(c->flow, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                                     strlen(c->flow)
                             ? c->flow
                             : "(none)";
      snprintf(labels, sizeof labels, "flow=\"%s\",outcome=\"%s\"", flow, dt_outcome_name(c->outcome));
      dt_metrics_inc(r->o.metrics, "dt_flow_calls_total", labels);
    }
    dt__call_live_ended(c);
    dt_log(DT_LOG_INFO, c->id, "call ended: %s%s%s", dt_outcome_name(c->outcome), c->error ? ": " : "",
           c->error ? c->error : "");
  }
  call_release(c);
}

void dt__call_start_flow(dt_call_t *c) {
  dt_calls_t *r = c->reg;
  c->flags |= DT_CALLF_STARTED | DT_CALLF_FLOW;
  dt__call_eventf(c, "started", "direction", c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing");
  int rc = r->o.hooks.on_start ? r->o.hooks.on_start(c, r->o.hooks.ud) : DT_EUNSUPPORTED;
  if (rc < 0 && !(c->flags & DT_CALLF_FLOW_DONE)) {
    char msg[256];
    snprintf(msg, sizeof msg, "flow \"%s\" could not start: %s", c->flow ? c->flow : "?", dt_strerror(rc));
    dt_log(DT_LOG_ERROR, c->id, "%s", msg);
    dt_call_flow_done(c, DT_OUTCOME_ERROR, msg, NULL);
  }
}

void dt_call_flow_done(dt_call_t *c, dt_outcome_t outcome, const char *error, const char *prompt) {
  if (c->flags & (DT_CALLF_FLOW_DONE | DT_CALLF_RELEASED)) return;
  c->flags |= DT_CALLF_FLOW_DONE;
  c->flags &= (uint16_t)~DT_CALLF_FLOW;
  if (c->wait != DT_WAIT_NONE) dt__call_wait_end_quiet(c);
  if (error && !c->error) c->error = dt_xstrdup(error);
  if (error) dt__call_eventf(c, "error", "message", error);
  if (!c->outcome) {
    if (outcome == DT_OUTCOME_NONE || outcome == DT_OUTCOME_COMPLETED)
      outcome = ((c->flags & DT_CALLF_TERMINATED) && !(c->flags & DT_CALLF_ENDED)) ? DT_OUTCOME_HANGUP
                                                                                   : DT_OUTCOME_COMPLETED;
    c->outcome = outcome;
  }
  c->stage = WD_NONE;
  wind_down(c, prompt);
}

static void wind_down(dt_call_t *c, const char *prompt) {
  if (c->flags & DT_CALLF_RELEASED) return;
  if (c->flags & DT_CALLF_TERMINATED) {
    dt__call_finalize(c);
    return;
  }
  if (c->flags & DT_CALLF_ENDED) {
    c->stage = WD_AWAIT_END;
    dt__call_arm(c, dt__call_op_timeout(c));
    return;
  }
  if (prompt && (c->flags & DT_CALLF_ESTABLISHED)) {
    dt_op_t *op = dt__call_op_new(c, ROLE_ERRPROMPT);
    dt_media_t m = {.uri = prompt};
    if (dt_graph_play_prompt(c->reg->o.graph, c->id, &m, 1, NULL, c->reg->on_response, op, &op->req) == 0) {
      c->stage = WD_PROMPT;
      dt__call_arm(c, dt__call_op_timeout(c));
      return;
    }
    dt__call_op_free(op);
  }
  dt__call_send_end(c);
}

/* Hangs the call up (or rejects it if it was never answered) while winding down. */
void dt__call_send_end(dt_call_t *c) {
  dt_calls_t *r = c->reg;
  for (dt_op_t *op = c->ops, *next; op; op = next) { /* the error prompt is over */
    next = op->next;
    if (op->role == ROLE_ERRPROMPT) dt__call_op_free(op);
  }
  dt_op_t *op = dt__call_op_new(c, ROLE_DELETE);
  int rc;
  if (c->direction == DT_CALL_INCOMING && !(c->flags & (DT_CALLF_ANSWERED | DT_CALLF_ESTABLISHED)))
    rc = dt_graph_reject(r->o.graph, c->id, c->outcome == DT_OUTCOME_REJECTED ? "busy" : "none", NULL,
                         c->reg->on_response, op, &op->req);
  else
    rc = dt_graph_delete_call(r->o.graph, c->id, c->reg->on_response, op, &op->req);
  c->flags |= DT_CALLF_DELETING | DT_CALLF_ENDED;
  c->stage = WD_DELETE;
  if (rc < 0) {
    dt__call_op_free(op);
    c->flags |= DT_CALLF_TERMINATED;
    dt__call_finalize(c);
    return;
  }
  dt__call_arm(c, dt__call_op_timeout(c));
}
