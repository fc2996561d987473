/*
 * call_timer.c — a call's timer (the registry's on_timer): a sleep's end, a gather's
 * timeouts, a recording download that takes too long, a wait's deadline (the operation is
 * read back once with GET before the wait fails with DT_ETIMEDOUT), and the winding down's
 * waits (error prompt, termination notification that never came).
 */
#include <stdlib.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

static void deadline(dt_call_t *c) {
  dt_op_t *op = dt__call_op_main(c);
  if (op && op->graph_id && !c->w.polling) {
    c->w.polling = 1;
    dt_op_t *p = dt__call_op_new(c, ROLE_POLL);
    p->aux = dt_xstrdup(op->key);
    if (dt_graph_get_operation(c->reg->o.graph, c->id, op->graph_id, c->reg->on_response, p, &p->req) == 0) {
      dt__call_arm(c, dt__call_op_timeout(c) / 4 + 1000);
      return;
    }
    dt__call_op_free(p);
  }
  dt__call_wait_fail(c, DT_ETIMEDOUT, "timeout", "%s did not finish within its deadline", dt__call_wait_what(c));
}

void dt__call_on_timer(uv_timer_t *t) {
  dt_call_t *c = t->data;
  if (c->flags & DT_CALLF_RELEASED) return;
  if (dt__call_media_wait_expired(c)) return; /* call_ready.c */
  if (c->wait == DT_WAIT_NONE) {
    if (!(c->flags & DT_CALLF_FLOW_DONE)) return;
    if (c->stage == WD_PROMPT) {
      dt__call_send_end(c);
    } else {
      dt_log(DT_LOG_WARN, c->id, "no termination notification after hang-up; ending the call record");
      c->flags |= DT_CALLF_TERMINATED;
      dt__call_finalize(c);
    }
    return;
  }
  switch (c->wait) {
  case DT_WAIT_ROSTER:
    c->result.reason = "timeout";
    dt__call_wait_finish(c, 0);
    return;
  case DT_WAIT_SLEEP:
    c->result.reason = "completed";
    dt__call_wait_finish(c, 0);
    return;
  case DT_WAIT_PLAY:
    if (c->w.loop && !c->w.done_reason && !c->w.cancel) { /* hold music's timeout (call_media.c) */
      dt__call_play_loop_timeout(c);
      return;
    }
    break;
  case DT_WAIT_GATHER:
    if (c->stage == G_COLLECT) {
      dt__call_gather_timeout(c);
      return;
    }
    break;
  case DT_WAIT_RECORD:
    if (c->stage == R_DOWNLOADING) {
      dt__call_wait_fail(c, DT_ETIMEDOUT, "timeout",
                "the recording download did not finish in time (it goes on in the background: the file "
                "and its sidecar will be written under %s)", c->reg->recordings_dir);
      return;
    }
    break;
  default: break;
  }
  deadline(c);
}
