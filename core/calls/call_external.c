/*
 * call_external.c — a wait on work the flow runtime does itself (dialtone.http's request,
 * DT_WAIT_HTTP; text to speech rendered in libuv's pool, DT_WAIT_SPEECH): core holds the wait as it holds any primitive's, so the call shows what it
 * waits for (GET /calls), has a deadline, and hangup, the engine's drain and its close end
 * the wait as they end any other.
 *
 * Promises: the cancel function given at the start runs exactly once when the wait ends in
 * any way other than dt_call_external_done (hangup, deadline, drain, close, release), before
 * the runtime hears of the end, and never after dt_call_external_done; the runtime then
 * frees its own work there. dt_call_external_done is the one way the work reports back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "call_internal.h"

int dt_call_external_begin(dt_call_t *c, dt_wait_kind_t kind, uint64_t deadline_ms, void (*cancel)(void *ud),
                           void *ud) {
  if ((kind != DT_WAIT_HTTP && kind != DT_WAIT_SPEECH) || cancel == NULL || deadline_ms == 0) return DT_EINVAL;
  int rc = dt__call_guard(c);
  if (rc) return rc;
  dt__call_wait_begin(c, kind);
  c->ext_cancel = cancel;
  c->ext_ud = ud;
  dt__call_arm(c, deadline_ms);
  return 0;
}

void dt_call_external_done(dt_call_t *c, int err, const char *code, const char *message) {
  if (c->ext_cancel == NULL) return; /* not waiting on external work (any more) */
  c->ext_cancel = NULL;
  c->ext_ud = NULL;
  if (err == 0) {
    if (!c->result.reason) c->result.reason = "completed";
    dt__call_wait_finish(c, 0);
    return;
  }
  dt__call_wait_fail(c, err, code, "%s", message ? message : dt_strerror(err));
}
