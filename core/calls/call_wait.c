/*
 * call_wait.c — the one primitive a call waits on: starting a wait (its generation bumps, its
 * result is cleared), the deadline timer, ending it quietly or with a result for the runtime
 * (hooks.on_result, exactly once per wait), failing it with a Graph error or an operation's
 * failure, and the guard every primitive passes first.
 *
 * Promises: a wait that ends drops its operations (requests cancelled, running ones kept as
 * orphans); after wait_finish the caller must not touch the call (the flow may have ended it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/text.h"
#include "call_internal.h"

unsigned dt__call_op_timeout(const dt_call_t *c) { return c->reg->o.op_timeout_ms; }

void dt__call_arm(dt_call_t *c, uint64_t ms) { uv_timer_start(&c->timer, c->reg->on_timer, ms, 0); }

void dt__call_wait_begin(dt_call_t *c, dt_wait_kind_t k) {
  dt__call_result_clear(&c->result);
  memset(&c->w, 0, sizeof c->w);
  c->wait = (uint8_t)k;
  c->stage = 0;
  c->gen++;
  c->wait_since_ms = dt_now_ms();
}

/* External work (call_external.c) that did not report: its cancel runs once, forgotten first. */
static void external_cancel(dt_call_t *c) {
  void (*fn)(void *ud) = c->ext_cancel;
  void *ud = c->ext_ud;
  c->ext_cancel = NULL;
  c->ext_ud = NULL;
  if (fn) fn(ud);
}

void dt__call_wait_end_quiet(dt_call_t *c) {
  uint32_t gen = c->gen;
  external_cancel(c);
  uv_timer_stop(&c->timer);
  c->wait = DT_WAIT_NONE;
  c->stage = 0;
  c->gen++;
  free(c->loop_media); /* v1.0 hold music's prompts (call_media.c) */
  c->loop_media = NULL;
  c->loop_n = 0;
  dt__call_ops_drop_wait(c, gen);
}

/* Ends the wait and tells the runtime. The call must not be touched afterwards by the
   caller: the runtime may resume the flow, which may finish the call. */
void dt__call_wait_finish(dt_call_t *c, int err) {
  dt__call_wait_end_quiet(c);
  c->result.err = err;
  if (err && !c->result.message) c->result.message = dt_xstrdup(dt_strerror(err));
  c->reg->o.hooks.on_result(c, c->reg->o.hooks.ud);
}

void dt__call_wait_finish_ended(dt_call_t *c, dt_outcome_t outcome, const char *reason) {
  c->flags |= DT_CALLF_ENDED;
  if (outcome && !c->outcome) c->outcome = outcome;
  c->result.reason = reason;
  dt__call_wait_finish(c, 0);
}

void dt__call_wait_fail(dt_call_t *c, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dt__call_wait_fail(dt_call_t *c, int err, const char *code, const char *fmt, ...) {
  char msg[512];
  DT_VFORMAT(msg, fmt);
  free(c->result.error_code);
  c->result.error_code = dt__xstrdup_or_null(code);
  free(c->result.message);
  c->result.message = dt_xstrdup(msg);
  if (err != DT_EHANGUP) {
    dt_buf_t f = {0};
    dt_buf_append(&f, "\"code\":", 7);
    dt_text_json_string(&f, code ? code : dt_err_name(err));
    dt_buf_append(&f, ",\"message\":", 11);
    dt_text_json_string(&f, msg);
    dt__call_event(c, "error", f.data);
    dt_buf_free(&f);
  }
  dt__call_wait_finish(c, err);
}

void dt__call_fail_graph(dt_call_t *c, const dt_graph_result_t *res, const char *what) {
  int err = res->error ? res->error : DT_EGRAPH;
  c->result.http_status = res->status;
  if (res->status)
    dt__call_wait_fail(c, err, res->error_code, "%s failed: %s (HTTP %d)", what,
              res->error_message && res->error_message[0] ? res->error_message : "no message",
              res->status);
  else
    dt__call_wait_fail(c, err, res->error_code ? res->error_code : dt_err_name(err), "%s failed: %s", what,
              res->error_message && res->error_message[0] ? res->error_message : dt_strerror(err));
}

void dt__call_fail_op(dt_call_t *c, const completion_t *comp, const char *what) {
  c->result.code = comp->code;
  c->result.subcode = comp->subcode;
  dt__call_wait_fail(c, DT_EGRAPH, comp->completion_reason ? comp->completion_reason : "operationFailed",
            "%s failed: %s (code %d, subcode %d)", what, comp->message ? comp->message : "no message",
            comp->code, comp->subcode);
}

bool dt__call_is_cancelled(const completion_t *comp) {
  if (comp->subcode == 8508) return true;
  const char *r = comp->completion_reason;
  return r && (dt_strcasecmp(r, "operationCanceled") == 0 || dt_strcasecmp(r, "mediaOperationCanceled") == 0);
}

int dt__call_guard(dt_call_t *c) {
  if (c->flags & (DT_CALLF_RELEASED | DT_CALLF_FLOW_DONE)) return DT_ESTATE;
  if (dt_call_is_gone(c)) return DT_EHANGUP;
  if (c->wait != DT_WAIT_NONE) return DT_EBUSY;
  return 0;
}

dt_op_t *dt__call_main_op(dt_call_t *c) { return dt__call_op_new(c, ROLE_MAIN); }

dt_op_t *dt__call_begin(dt_call_t *c, dt_wait_kind_t k) {
  dt__call_wait_begin(c, k);
  return dt__call_main_op(c);
}

/* Common tail of a primitive that sent its request: arms the deadline. */
int dt__call_started(dt_call_t *c, dt_op_t *op, int rc, uint64_t deadline_ms) {
  if (rc < 0) {
    dt__call_op_free(op);
    dt__call_wait_end_quiet(c);
    return rc;
  }
  dt__call_arm(c, deadline_ms);
  return 0;
}

const char *dt__call_wait_what(const dt_call_t *c) {
  switch (c->wait) {
  case DT_WAIT_ANSWER: return c->stage == 2 ? "subscribeToTone" : "answer";
  case DT_WAIT_PLAY:
  case DT_WAIT_GATHER: return "playPrompt";
  case DT_WAIT_RECORD: return "record";
  case DT_WAIT_PARTICIPANTS: return "list participants";
  case DT_WAIT_HANGUP: return "hang up";
  case DT_WAIT_DIAL: return "create call";
  case DT_WAIT_SPEECH: return "speech synthesis";
  default: return dt_wait_kind_name((dt_wait_kind_t)c->wait);
  }
}
