/*
 * call_ready.c — media readiness. Graph reports a call's audio stream in the call
 * resource's mediaState (audio "active" / "inactive"), and Microsoft's own IVR samples
 * start prompts only once the call is established and audio is active (graph_api.md §2.3).
 * So an answer's wait ends, and an outbound call's flow starts, once both hold: the flow's
 * first prompt goes out on an active stream.
 *
 * Promises: never a hang. Where Graph says nothing about media (a dialect or a service
 * that never sends mediaState), the answer or the flow goes on media_wait_ms (default 5 s)
 * after the call was established and subscribed. A call answered or dialed without audio
 * (DT_CALLF_NO_AUDIO) waits for nothing. mediaState "inactive" later changes nothing
 * for a flow that already runs.
 */
#include <stdlib.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/log.h"
#include "call_internal.h"

#define MEDIA_WAIT_DEFAULT_MS 5000

static unsigned media_wait_ms(const dt_calls_t *r) {
  return r->o.media_wait_ms ? r->o.media_wait_ms : MEDIA_WAIT_DEFAULT_MS;
}

static bool ready(const dt_call_t *c) { return (c->flags & (DT_CALLF_MEDIA_ACTIVE | DT_CALLF_NO_AUDIO)) != 0; }

static void answer_done(dt_call_t *c) {
  c->result.reason = "established";
  dt__call_wait_finish(c, 0);
}

static void start_held_flow(dt_call_t *c) {
  c->flags &= (uint16_t)~DT_CALLF_MEDIA_HOLD;
  uv_timer_stop(&c->timer);
  dt__call_start_flow(c);
}

bool dt__call_media_state(dt_call_t *c, dt_media_state_t audio) {
  if (audio == DT_MEDIA_ACTIVE) c->flags |= DT_CALLF_MEDIA_ACTIVE;
  else if (audio == DT_MEDIA_INACTIVE) c->flags &= (uint16_t)~DT_CALLF_MEDIA_ACTIVE;
  if (!ready(c)) return false;
  if (c->wait == DT_WAIT_ANSWER && c->stage == ANSWER_MEDIA) {
    answer_done(c);
    return true;
  }
  if (c->wait == DT_WAIT_NONE && (c->flags & DT_CALLF_MEDIA_HOLD)) {
    start_held_flow(c);
    return true;
  }
  return false;
}

void dt__call_answer_ready(dt_call_t *c) {
  if (ready(c)) {
    answer_done(c);
    return;
  }
  c->stage = ANSWER_MEDIA;
  dt__call_arm(c, media_wait_ms(c->reg));
}

void dt__call_start_when_ready(dt_call_t *c) {
  if (ready(c)) {
    dt__call_start_flow(c);
    return;
  }
  c->flags |= DT_CALLF_MEDIA_HOLD;
  dt__call_arm(c, media_wait_ms(c->reg));
}

bool dt__call_media_wait_expired(dt_call_t *c) {
  bool answering = c->wait == DT_WAIT_ANSWER && c->stage == ANSWER_MEDIA;
  bool holding = c->wait == DT_WAIT_NONE && (c->flags & DT_CALLF_MEDIA_HOLD);
  if (!answering && !holding) return false;
  dt_log(DT_LOG_INFO, c->id, "no mediaState audio \"active\" within %u ms of established; going on",
         media_wait_ms(c->reg));
  if (answering) answer_done(c);
  else start_held_flow(c);
  return true;
}
