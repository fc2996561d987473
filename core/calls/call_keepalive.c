/*
 * call_keepalive.c — Graph's keepAlive: "A call that does not receive this request within
 * 45 minutes is considered inactive and will subsequently end." Every established call gets
 * POST .../keepAlive each keepalive_interval_ms (measured from the establishment, then from
 * the last keepAlive sent). One registry timer sweeps the calls; a call's due time is a
 * field, so no extra handle per call. A 404 means Graph no longer has the call: it ends as
 * if Graph's termination notification had come. Any other failure is logged and retried at
 * the next interval. Flows take no part: no flow can start, stop or delay another call's
 * keepAlive.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

/* The sweep's period: fine enough that a keepAlive is never much later than its due time,
   coarse enough to cost nothing. */
static uint64_t sweep_ms(const dt_calls_t *r) {
  uint64_t t = r->o.keepalive_interval_ms / 10;
  if (t < 10) t = 10;
  if (t > 60000) t = 60000;
  return t;
}

static void on_keepalive(const dt_graph_result_t *res, void *ud) {
  dt_call_t *c = ud; /* still in the registry: leaving it cancels this request */
  c->keepalive_req = NULL;
  if (res->status >= 200 && res->status < 300) return;
  if (res->status == 404) {
    if (dt_call_is_gone(c)) return;
    dt_log(DT_LOG_WARN, c->id, "keepAlive: 404, Graph no longer has the call; ending it");
    dt__call_ended_by_graph(c, "keepAlive: the call no longer exists (404)");
    return;
  }
  if (res->status)
    dt_log(DT_LOG_WARN, c->id, "keepAlive failed (HTTP %d); trying again in %u s", res->status,
           c->reg->o.keepalive_interval_ms / 1000);
  else /* a transport failure, in words */
    dt_log(DT_LOG_WARN, c->id, "keepAlive failed: %s; trying again in %u s",
           res->error_message && *res->error_message ? res->error_message : dt_strerror(res->error),
           c->reg->o.keepalive_interval_ms / 1000);
}

static void send_keepalive(dt_call_t *c) {
  if (dt_graph_keep_alive(c->reg->o.graph, c->id, on_keepalive, c, &c->keepalive_req) != 0) {
    c->keepalive_req = NULL;
    dt_log(DT_LOG_WARN, c->id, "keepAlive could not be sent; trying again next interval");
  }
}

size_t dt_calls_keepalive_sweep(dt_calls_t *r, uint64_t now) {
  size_t sent = 0;
  if (!r->o.keepalive_interval_ms || r->closing) return 0;
  for (dt_call_t *c = r->head; c; c = c->next) {
    if (!c->keepalive_due || c->keepalive_due > now) continue;
    if (dt_call_is_gone(c) || (c->flags & DT_CALLF_RELEASED)) {
      c->keepalive_due = 0;
      continue;
    }
    c->keepalive_due = now + r->o.keepalive_interval_ms;
    if (c->keepalive_req) continue; /* the last one has not been answered: do not pile up */
    /* its callback runs later on the loop (graph.h), never in here: the list stays intact */
    send_keepalive(c);
    sent++;
  }
  return sent;
}

static uint64_t ka_now(const dt_calls_t *r) {
  return r->o.keepalive_clock ? r->o.keepalive_clock(r->o.keepalive_clock_ud) : dt_now_ms();
}

int dt_calls_keepalive_next_due(const dt_calls_t *r, uint64_t *due) {
  uint64_t best = 0;
  if (r->o.keepalive_interval_ms && !r->closing)
    for (const dt_call_t *c = r->head; c; c = c->next)
      if (c->keepalive_due && !dt_call_is_gone(c) && (!best || c->keepalive_due < best)) best = c->keepalive_due;
  if (!best) return DT_ENOENT;
  if (due) *due = best;
  return 0;
}

static void on_sweep(uv_timer_t *t) {
  dt_calls_t *r = t->data;
  dt_calls_keepalive_sweep(r, ka_now(r));
}

void dt__call_keepalive_start(dt_call_t *c) {
  if (!c->reg->o.keepalive_interval_ms || c->keepalive_due) return;
  c->keepalive_due = ka_now(c->reg) + c->reg->o.keepalive_interval_ms;
}

void dt__call_keepalive_stop(dt_call_t *c) {
  c->keepalive_due = 0;
  if (c->keepalive_req) {
    dt_graph_req_t *q = c->keepalive_req;
    c->keepalive_req = NULL;
    dt_graph_req_cancel(q); /* its callback never runs */
  }
}

void dt__calls_keepalive_init(dt_calls_t *r) {
  uv_timer_init(r->o.loop, &r->keepalive_timer);
  r->keepalive_timer.data = r;
  if (r->o.keepalive_interval_ms && !r->o.keepalive_clock) {
    uint64_t t = sweep_ms(r);
    uv_timer_start(&r->keepalive_timer, on_sweep, t, t);
    uv_unref((uv_handle_t *)&r->keepalive_timer); /* it alone does not keep the loop running */
  }
}

static void keepalive_timer_closed(uv_handle_t *h) {
  dt_calls_t *r = h->data;
  r->keepalive_closed = true;
  dt__calls_maybe_free(r);
}

void dt__calls_keepalive_close(dt_calls_t *r) {
  if (!uv_is_closing((uv_handle_t *)&r->keepalive_timer))
    uv_close((uv_handle_t *)&r->keepalive_timer, keepalive_timer_closed);
}
