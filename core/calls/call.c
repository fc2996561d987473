/*
 * call.c — the call registry's index (see call.h; the modules of core/calls are listed in
 * call_internal.h).
 *
 * Owns: the calls, by dt_graph_id_key(call id) in a hash table and in a list for iteration;
 * each call's memory (created here, freed from its timer's close callback); tombstones of
 * ended calls (so a late duplicate "created" starts nothing), expiring after TOMB_TTL_MS and
 * capped at TOMB_MAX; the limbo (notifications for a call not known yet while an outbound
 * call is being created), kept LIMBO_TTL_MS and capped at LIMBO_MAX; flows pinned from C for
 * incoming calls; the routes; the names of waits and outcomes.
 *
 * Promises: O(1) lookups; the registry is freed only once every call's timer is closed.
 * Calls nothing of the other call modules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/clock.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/hashmap.h"
#include "dialtone/log.h"
#include "call_internal.h"

dt_call_t *dt__calls_lookup(dt_calls_t *r, const char *key) {
  dt_hashmap_node_t *n = dt_hashmap_find(&r->calls, key);
  return n ? DT_CONTAINER_OF(n, dt_call_t, hnode) : NULL;
}

static void gauge(dt_calls_t *r) {
  if (r->o.metrics) dt_metrics_set(r->o.metrics, "dt_calls_active", NULL, (double)dt_hashmap_count(&r->calls));
}

static void reg_insert(dt_calls_t *r, dt_call_t *c) {
  dt_hashmap_insert(&r->calls, &c->hnode, c->key);
  c->prev = NULL;
  c->next = r->head;
  if (r->head) r->head->prev = c;
  r->head = c;
  gauge(r);
}

void dt__calls_remove(dt_calls_t *r, dt_call_t *c) {
  r->keepalive_stop(c);
  dt_hashmap_remove(&r->calls, &c->hnode);
  if (c->prev) c->prev->next = c->next;
  else if (r->head == c) r->head = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  gauge(r);
}

dt_call_t *dt_calls_find(dt_calls_t *r, const char *call_id) {
  size_t n = strlen(call_id);
  if (n >= KEY_MAX) return NULL;
  char key[KEY_MAX];
  dt_graph_id_key(call_id, key);
  return dt__calls_lookup(r, key);
}

size_t dt_calls_count(const dt_calls_t *r) { return dt_hashmap_count(&r->calls); }

dt_call_t *dt_calls_first(dt_calls_t *r) { return r->head; }

/* Tombstones: keys of ended calls, so that late duplicates of "created" start nothing. */
static void tomb_pop(dt_calls_t *r) {
  tomb_t *t = r->thead;
  r->thead = t->fnext;
  if (!r->thead) r->ttail = NULL;
  dt_hashmap_remove(&r->tombs, &t->hnode);
  free(t);
}

static void tomb_expire(dt_calls_t *r, uint64_t now) {
  while (r->thead && (r->thead->expires <= now || dt_hashmap_count(&r->tombs) > TOMB_MAX)) tomb_pop(r);
}

bool dt__calls_tomb_has(dt_calls_t *r, const char *key) {
  dt_hashmap_node_t *n = dt_hashmap_find(&r->tombs, key);
  return n && DT_CONTAINER_OF(n, tomb_t, hnode)->expires > dt_now_ms();
}

void dt__calls_tomb_add(dt_calls_t *r, const char *key) {
  uint64_t now = dt_now_ms();
  tomb_expire(r, now);
  size_t klen = strlen(key);
  tomb_t *t = dt_xmalloc(sizeof *t + klen + 1);
  memcpy(t->key, key, klen + 1);
  t->expires = now + TOMB_TTL_MS;
  t->fnext = NULL;
  dt_hashmap_insert(&r->tombs, &t->hnode, t->key);
  if (r->ttail) r->ttail->fnext = t;
  else r->thead = t;
  r->ttail = t;
}

void dt__call_result_clear(dt_call_result_t *r) {
  DT_FREE_ALL(r->error_code, r->message, r->digits, r->completion_reason, r->location, r->file, r->data);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}

const char *dt_wait_kind_name(dt_wait_kind_t k) {
  static const char *const names[DT_WAIT__COUNT] = {
      "none", "answer", "reject", "redirect", "play", "gather", "record", "transfer",
      "invite", "participants", "action", "sleep", "hangup", "dial", "participant",
      "meeting", "http", "speech"};
  return (unsigned)k < DT_WAIT__COUNT ? names[k] : "unknown";
}

const char *dt_outcome_name(dt_outcome_t o) {
  switch (o) {
  case DT_OUTCOME_COMPLETED: return "completed";
  case DT_OUTCOME_HANGUP: return "hangup";
  case DT_OUTCOME_ERROR: return "error";
  case DT_OUTCOME_REJECTED: return "rejected";
  case DT_OUTCOME_REDIRECTED: return "redirected";
  case DT_OUTCOME_TRANSFERRED: return "transferred";
  case DT_OUTCOME_UNANSWERED: return "unanswered";
  case DT_OUTCOME_DRAINED: return "drained";
  default: return "unknown";
  }
}

bool dt_call_is_gone(const dt_call_t *c) {
  return (c->flags & (DT_CALLF_TERMINATED | DT_CALLF_ENDED | DT_CALLF_RELEASED)) != 0;
}

dt_call_t *dt__call_new(dt_calls_t *r, const char *id, dt_call_direction_t dir) {
  dt_call_t *c = dt_xcalloc(1, sizeof *c);
  c->reg = r;
  c->id = dt_xstrdup(id);
  c->key = dt_xmalloc(strlen(id) + 1);
  dt_graph_id_key(id, c->key);
  c->direction = dir;
  c->tone_max_seq = -1;
  c->start_ms = dt_clock_unix_ms();
  c->start_mono_ms = dt_now_ms();
  uv_timer_init(r->o.loop, &c->timer);
  c->timer.data = c;
  r->unfreed++;
  reg_insert(r, c);
  return c;
}

void dt__calls_closed(uv_handle_t *h) {
  dt_calls_t *r = h->data;
  if (dt_log_fields_hook_ud() == r) dt_log_set_fields_hook(NULL, NULL);
  while (r->thead) tomb_pop(r);
  dt_hashmap_free(&r->tombs);
  while (r->limbo) {
    limbo_t *l = r->limbo;
    r->limbo = l->next;
    dt__calls_limbo_free(l);
  }
  while (r->pins) free(dt__calls_pin_take(r, r->pins->key));
  for (size_t i = 0; i < r->nroutes; i++) {
    free((char *)r->routes[i].match);
    free((char *)r->routes[i].flow);
    free((char *)r->routes[i].subject);
  }
  free(r->routes);
  dt_hashmap_free(&r->calls);
  free(r->callback_uri);
  free(r->recordings_dir);
  free(r->default_flow);
  dt__calls_pstn_free(r);
  dt_free_then_done(r, r->close_done);
}

void dt__call_closed(uv_handle_t *h) {
  dt_call_t *c = h->data;
  dt_calls_t *r = c->reg;
  dt__call_result_clear(&c->result);
  dt_buf_free(&c->log.digits);
  dt_buf_free(&c->log.recordings);
  dt_buf_free(&c->log.transfers);
  dt_call_tags_free(&c->tags);
  DT_FREE_ALL(c->id, c->key, c->from, c->to, c->flow, c->dialed_by, c->error, c->transfer_target, c->roster_who,
              c->end_message, c->loop_media, c->live_prompt);
  cJSON_Delete(c->roster);
  cJSON_Delete(c->incoming);
  free(c);
  r->unfreed--;
  dt__calls_maybe_free(r);
}

void dt__calls_maybe_free(dt_calls_t *r) {
  if (r->closing && r->unfreed == 0 && r->keepalive_closed && !uv_is_closing((uv_handle_t *)&r->close_timer))
    uv_close((uv_handle_t *)&r->close_timer, dt__calls_closed);
}

/* Takes over *flow and *to. */
dt_call_t *dt__calls_outbound_new(dt_calls_t *r, const char *id, char **flow, char **to) {
  dt_call_t *nc = dt__call_new(r, id, DT_CALL_OUTGOING);
  nc->state = DT_CALL_STATE_ESTABLISHING;
  nc->flow = *flow;
  *flow = NULL;
  nc->to = *to;
  *to = NULL;
  dt_log(DT_LOG_INFO, nc->id, "outbound call to %s created: flow %s", nc->to ? nc->to : "?",
         nc->flow ? nc->flow : "?");
  return nc;
}

void dt__calls_limbo_free(limbo_t *l) {
  free(l->key);
  dt_event_list_t tmp = {dt_xmalloc(sizeof l->ev), 1};
  tmp.events[0] = l->ev;
  dt_event_list_free(&tmp);
  free(l);
}

/* Notifications for a call not known yet, kept in arrival order (so expired ones are at
   the head) while an outbound call is being created. */
void dt__calls_limbo_add(dt_calls_t *r, dt_event_t *ev, const char *key) {
  uint64_t now = dt_now_ms();
  while (r->limbo && now - r->limbo->at > LIMBO_TTL_MS) {
    limbo_t *l = r->limbo;
    r->limbo = l->next;
    dt__calls_limbo_free(l);
    r->nlimbo--;
  }
  if (!r->limbo) r->limbo_tail = NULL;
  if (r->nlimbo >= LIMBO_MAX) return;
  limbo_t *l = dt_xcalloc(1, sizeof *l);
  l->at = now;
  l->key = dt_xstrdup(key);
  l->ev = *ev;
  memset(ev, 0, sizeof *ev); /* taken over */
  if (r->limbo_tail) r->limbo_tail->next = l;
  else r->limbo = l;
  r->limbo_tail = l;
  r->nlimbo++;
}

int dt_calls_pin_flow(dt_calls_t *r, const char *call_id, const char *flow) {
  if (!call_id || !call_id[0] || strlen(call_id) >= KEY_MAX || !flow || !flow[0]) return DT_EINVAL;
  if (r->closing) return DT_ECLOSED;
  if (r->npins >= PIN_MAX) return DT_EBUSY;
  pin_t *p = dt_xcalloc(1, sizeof *p);
  p->key = dt_xmalloc(strlen(call_id) + 1);
  dt_graph_id_key(call_id, p->key);
  p->flow = dt_xstrdup(flow);
  p->next = r->pins;
  r->pins = p;
  r->npins++;
  return 0;
}

/* The flow pinned for this incoming call (the caller owns it), or NULL. */
char *dt__calls_pin_take(dt_calls_t *r, const char *key) {
  for (pin_t **pp = &r->pins; *pp; pp = &(*pp)->next) {
    pin_t *p = *pp;
    if (strcmp(p->key, key) != 0) continue;
    *pp = p->next;
    r->npins--;
    char *flow = p->flow;
    free(p->key);
    free(p);
    return flow;
  }
  return NULL;
}

limbo_t *dt__calls_limbo_take(dt_calls_t *r, const char *key) {
  limbo_t *mine = NULL, **tail = &mine, **pp = &r->limbo, *last = NULL;
  while (*pp) {
    limbo_t *l = *pp;
    if (strcmp(l->key, key) != 0) {
      last = l;
      pp = &l->next;
      continue;
    }
    *pp = l->next;
    r->nlimbo--;
    l->next = NULL;
    *tail = l;
    tail = &l->next;
  }
  r->limbo_tail = last;
  return mine;
}
