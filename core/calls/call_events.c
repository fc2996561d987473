/*
 * call_events.c — the bus of call events (include/dialtone/call_events.h): one sequence,
 * a bounded ring of recent events, a small subscriber array that tolerates unsubscribing
 * from inside a callback (entries are marked and swept after the delivery).
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call_events.h"
#include "dialtone/clock.h"
#include "dialtone/error.h"
#include "dialtone/text.h"

typedef struct {
  dt_call_event_t ev;
  char *mem; /* type, call, flow, json in one block */
} kept_t;

typedef struct {
  dt_call_events_fn fn;
  void *ud;
  bool dead;
} sub_t;

struct dt_call_events_s {
  kept_t *ring;
  size_t cap, head, n; /* head: index of the oldest */
  sub_t *subs;
  size_t nsubs, max_subs;
  int delivering;
  uint64_t seq;
};

dt_call_events_t *dt_call_events_new(size_t ring, size_t max_subscribers) {
  dt_call_events_t *b = dt_xcalloc(1, sizeof *b);
  b->cap = ring ? ring : 512;
  b->ring = dt_xcalloc(b->cap, sizeof *b->ring);
  b->max_subs = max_subscribers ? max_subscribers : 64;
  b->subs = dt_xcalloc(b->max_subs, sizeof *b->subs);
  return b;
}

void dt_call_events_free(dt_call_events_t *b) {
  if (!b) return;
  for (size_t i = 0; i < b->cap; i++) free(b->ring[i].mem);
  free(b->ring);
  free(b->subs);
  free(b);
}

int dt_call_events_subscribe(dt_call_events_t *b, dt_call_events_fn fn, void *ud) {
  if (!b || !fn) return DT_EINVAL;
  if (b->nsubs >= b->max_subs) return DT_ELIMIT;
  b->subs[b->nsubs++] = (sub_t){fn, ud, false};
  return 0;
}

static void sweep(dt_call_events_t *b) {
  size_t j = 0;
  for (size_t i = 0; i < b->nsubs; i++)
    if (!b->subs[i].dead) b->subs[j++] = b->subs[i];
  b->nsubs = j;
}

void dt_call_events_unsubscribe(dt_call_events_t *b, dt_call_events_fn fn, void *ud) {
  if (!b) return;
  for (size_t i = 0; i < b->nsubs; i++)
    if (b->subs[i].fn == fn && b->subs[i].ud == ud) b->subs[i].dead = true;
  if (!b->delivering) sweep(b);
}

size_t dt_call_events_subscribers(const dt_call_events_t *b) {
  size_t n = 0;
  for (size_t i = 0; b && i < b->nsubs; i++) n += !b->subs[i].dead;
  return n;
}

uint64_t dt_call_events_last_seq(const dt_call_events_t *b) { return b ? b->seq : 0; }

void dt_call_events_emit(dt_call_events_t *b, const char *type, const char *call, const char *flow,
                         unsigned flow_version, const char *fields) {
  if (!b || !type) return;
  if (!call) call = "";
  if (!flow) flow = "";
  int64_t at = dt_clock_unix_ms();
  dt_buf_t j = {0};
  dt_buf_appendf(&j, "{\"seq\":%llu,\"at\":%lld,\"type\":", (unsigned long long)(b->seq + 1), (long long)at);
  dt_text_json_string(&j, type);
  dt_buf_append(&j, ",\"call\":", 8);
  dt_text_json_string(&j, call);
  dt_buf_append(&j, ",\"flow\":", 8);
  dt_text_json_string(&j, flow);
  dt_buf_appendf(&j, ",\"version\":%u", flow_version);
  if (fields && *fields) {
    dt_buf_append(&j, ",", 1);
    dt_buf_append(&j, fields, strlen(fields));
  }
  dt_buf_append(&j, "}", 1);
  size_t tl = strlen(type) + 1, cl = strlen(call) + 1, fl = strlen(flow) + 1;
  char *mem = dt_xmalloc(tl + cl + fl + j.len + 1);
  memcpy(mem, type, tl);
  memcpy(mem + tl, call, cl);
  memcpy(mem + tl + cl, flow, fl);
  memcpy(mem + tl + cl + fl, j.data, j.len + 1);
  dt_buf_free(&j);
  size_t slot;
  if (b->n < b->cap) {
    slot = (b->head + b->n) % b->cap;
    b->n++;
  } else {
    slot = b->head;
    b->head = (b->head + 1) % b->cap;
    free(b->ring[slot].mem);
  }
  kept_t *k = &b->ring[slot];
  k->mem = mem;
  k->ev = (dt_call_event_t){.seq = ++b->seq, .at_ms = at, .type = mem, .call = mem + tl, .flow = mem + tl + cl,
                            .json = mem + tl + cl + fl, .json_len = strlen(mem + tl + cl + fl)};
  dt_call_event_t ev = k->ev; /* a callback may emit again and overwrite the slot */
  char *own = dt_xmalloc(tl + cl + fl + ev.json_len + 1);
  memcpy(own, mem, tl + cl + fl + ev.json_len + 1);
  ev.type = own;
  ev.call = own + tl;
  ev.flow = own + tl + cl;
  ev.json = own + tl + cl + fl;
  b->delivering++;
  size_t n = b->nsubs; /* subscribers added by a callback see the next event */
  for (size_t i = 0; i < n; i++)
    if (!b->subs[i].dead) b->subs[i].fn(&ev, b->subs[i].ud);
  if (--b->delivering == 0) sweep(b);
  free(own);
}

void dt_call_events_replay(const dt_call_events_t *b, uint64_t after, dt_call_events_fn fn, void *ud) {
  if (!b || !fn) return;
  for (size_t i = 0; i < b->n; i++) {
    const kept_t *k = &b->ring[(b->head + i) % b->cap];
    if (k->ev.seq > after) fn(&k->ev, ud);
  }
}
