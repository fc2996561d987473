/*
 * call_registry.c — the registry's life: dt_calls_new (the options copied, the metrics
 * described, the upper modules' entry points wired into the registry), drain, hang up all,
 * close (every call hung up and finalized, the registry freed once every call's timer has
 * closed), and the JSON array GET /calls serves.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/cdr.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "dialtone/text.h"
#include "call_internal.h"

/* log.h's fields hook (ud = the registry): the tags of the call with this id. */
static size_t call_log_fields(void *reg, const char *call_id, const dt_log_field_t **out) {
  dt_call_t *c = dt_calls_find(reg, call_id);
  if (c == NULL || c->tags.count == 0) return 0;
  *out = c->tags.items;
  return c->tags.count;
}

int dt_calls_new(const dt_calls_options_t *opts, dt_calls_t **out) {
  if (!opts->loop || !opts->graph || !opts->callback_uri || !opts->hooks.on_result) return DT_EINVAL;
  dt_calls_t *r = dt_xcalloc(1, sizeof *r);
  r->o = *opts;
  r->callback_uri = dt_xstrdup(opts->callback_uri);
  r->recordings_dir = dt__xstrdup_or_null(opts->recordings_dir);
  r->default_flow = dt_xstrdup(opts->default_flow ? opts->default_flow : "main");
  if (dt_log_fields_hook_ud() == NULL) dt_log_set_fields_hook(call_log_fields, r); /* the call's tags in its log lines */
  if (!r->o.op_timeout_ms) r->o.op_timeout_ms = 60000;
  r->nroutes = opts->route_count;
  if (r->nroutes) {
    r->routes = dt_xcalloc(r->nroutes, sizeof *r->routes);
    for (size_t i = 0; i < r->nroutes; i++) {
      r->routes[i].match = dt_xstrdup(opts->routes[i].match ? opts->routes[i].match : "*");
      r->routes[i].flow = dt_xstrdup(opts->routes[i].flow ? opts->routes[i].flow : r->default_flow);
      r->routes[i].subject = opts->routes[i].subject ? dt_xstrdup(opts->routes[i].subject) : NULL;
      r->routes[i].policy_recording = opts->routes[i].policy_recording;
      r->routes[i].transferred = opts->routes[i].transferred;
      r->routes[i].meeting = opts->routes[i].meeting;
    }
  }
  r->o.routes = NULL;
  r->o.callback_uri = r->callback_uri;
  r->o.recordings_dir = r->recordings_dir;
  r->o.default_flow = r->default_flow;
  dt__calls_pstn_init(r, opts);
  uv_timer_init(opts->loop, &r->close_timer);
  r->close_timer.data = r;
  dt__calls_keepalive_init(r);
  /* the upper modules' entry points the lower ones reach through the registry (they
     cannot name them: see call_internal.h) */
  r->on_timer = dt__call_on_timer;
  r->on_response = dt__call_graph_cb;
  r->replay = dt__calls_limbo_replay;
  r->keepalive_start = dt__call_keepalive_start;
  r->keepalive_stop = dt__call_keepalive_stop;
  if (r->o.metrics) {
    static const dt_metrics_family_t families[] = {
        {"dt_calls_active", "gauge", "Calls in the registry."},
        {"dt_calls_total", "counter", "Calls ended, by direction and outcome."},
        {"dt_flow_calls_total", "counter", "Calls ended, by the flow that ran them and outcome."},
        {"dt_tones_duplicate_total", "counter", "Tone notifications dropped as duplicates (same sequence id)."},
        {"dt_tones_missing_total", "counter", "Gathers that gave up waiting for a key with an earlier sequence id."},
        {"dt_notifications_unknown_call_total", "counter",
         "Notifications for calls the engine does not know (ignored)."},
    };
    dt_metrics_describe_all(r->o.metrics, families, DT_ARRAY_SIZE(families));
    dt_metrics_set(r->o.metrics, "dt_calls_active", NULL, 0);
  }
  *out = r;
  return 0;
}

void dt_calls_drain(dt_calls_t *r) { r->draining = true; }

static bool needs_drain_hangup(const dt_call_t *c) {
  if (c->flags & (DT_CALLF_RELEASED | DT_CALLF_FLOW_DONE)) return false;
  return !dt_call_is_gone(c) || c->wait != DT_WAIT_NONE;
}

void dt_calls_hangup_all(dt_calls_t *r) {
  r->draining = true;
  /* Failing a wait resumes its flow, which may end calls (and take them out of the list):
     start over from the head after each one rather than trust a saved next pointer.
     Each call is handled once (it is gone and not waiting afterwards). */
  for (;;) {
    dt_call_t *c = r->head;
    while (c && !needs_drain_hangup(c)) c = c->next;
    if (!c) return;
    if (!c->outcome) c->outcome = DT_OUTCOME_DRAINED;
    if (!dt_call_is_gone(c) && dt_call_hangup_async(c) < 0) {
      c->flags |= DT_CALLF_ENDED; /* nothing could be sent: do not try again */
      dt_log(DT_LOG_WARN, c->id, "drain: the hang-up could not be sent");
    }
    if (c->wait != DT_WAIT_NONE) dt__call_wait_fail(c, DT_EHANGUP, "hangup", "the engine is shutting down");
  }
}

void dt_calls_close(dt_calls_t *r, void (*done)(void *ud), void *ud) {
  r->closing = true;
  r->draining = true;
  r->close_done = (dt_done_t){done, ud};
  dt__calls_bare_dials_cancel(r); /* the process is going away: nobody waits for these calls */
  while (r->head) {
    dt_call_t *c = r->head;
    if (c->wait != DT_WAIT_NONE) dt__call_wait_end_quiet(c);
    if (!c->outcome) c->outcome = DT_OUTCOME_DRAINED;
    if (!(c->flags & DT_CALLF_TERMINATED) && !(c->flags & DT_CALLF_ENDED)) dt_call_hangup_async(c);
    dt__call_finalize(c); /* cancels what hangup_async sent: the process is going away */
  }
  dt__calls_keepalive_close(r); /* the registry is freed once this timer has closed too */
  dt__calls_maybe_free(r);
}

void dt_calls_render_json(dt_calls_t *r, dt_buf_t *b) {
  uint64_t now = dt_now_ms();
  dt_buf_append(b, "[", 1);
  for (dt_call_t *c = r->head; c; c = c->next) {
    if (c != r->head) dt_buf_append(b, ",", 1);
    dt_buf_append(b, "{\"id\":", 6);
    dt_text_json_string(b, c->id);
    dt_buf_append(b, ",\"direction\":", 13);
    dt_text_json_string(b, c->direction == DT_CALL_INCOMING ? "incoming" : "outgoing");
    dt_buf_append(b, ",\"flow\":", 8);
    if (c->flow) dt_text_json_string(b, c->flow);
    else dt_buf_append(b, "null", 4);
    dt_buf_appendf(b, ",\"flow_version\":%u,\"state\":", c->flow_version);
    dt_text_json_string(b, dt_call_state_name(c->state));
    dt_buf_appendf(b, ",\"age_s\":%.3f,\"waiting\":", (double)(now - c->start_mono_ms) / 1000.0);
    if (c->wait != DT_WAIT_NONE) {
      dt_text_json_string(b, dt_wait_kind_name((dt_wait_kind_t)c->wait));
      dt_buf_appendf(b, ",\"waiting_s\":%.3f", (double)(now - c->wait_since_ms) / 1000.0);
    } else {
      dt_text_json_string(b, (c->flags & DT_CALLF_FLOW_DONE) ? "ending" : "running");
      dt_buf_append(b, ",\"waiting_s\":null", 17);
    }
    dt_buf_appendf(b, ",\"buffered_digits\":%u,\"tags\":", (unsigned)c->tone_len);
    dt_call_tags_json(&c->tags, b);
    dt__call_live_render(c, b, now);
    dt_buf_append(b, "}", 1);
  }
  dt_buf_append(b, "]", 1);
}
