/*
 * emu_timeline.c — per-call timelines and their listeners.
 *
 * Timeline: every request the call received, every notification queued for it, prompts
 * (URL and name), tones, speech, recordings (file URL), transfers, state changes, with a
 * sequence number unique in the emulator, the call's simulated time (t_ms, from the call's
 * start) and the wall-clock time. At most EMU_TIMELINE_MAX entries per call; later ones are
 * counted in "dropped". Each entry is also pushed to every GET /emulator/events listener
 * and, when one is installed, to the in-process hook (dt_emulator_on_event), which gets
 * the entries in sequence order from an idle handle, never from inside the emulator's own
 * processing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "emu_sched.h"
#include "emu_timeline.h"
#include "emu_util.h"

#define EMU_TIMELINE_MAX 2000

static void hook_push(dt_emulator_t *emu, cJSON *entry);

static void sse_broadcast(dt_emulator_t *emu, const char *json);

static char *timeline_render(emu_call_t *c, uint64_t seq, uint64_t now, const char *when,
                             const char *kind, cJSON *fields) {
  char iso[32];
  if (when) snprintf(iso, sizeof iso, "%s", when);
  else dt__emu_iso_now(iso);
  cJSON *e = cJSON_CreateObject();
  cJSON_AddNumberToObject(e, "seq", (double)seq);
  cJSON_AddStringToObject(e, "call", c->id);
  cJSON_AddNumberToObject(e, "t_ms", (double)(now >= c->created_sim ? now - c->created_sim : 0));
  cJSON_AddStringToObject(e, "time", iso);
  cJSON_AddStringToObject(e, "kind", kind);
  dt__emu_json_merge(e, fields);
  char *s = cJSON_PrintUnformatted(e);
  if (c->emu->sse) sse_broadcast(c->emu, s);
  if (c->emu->event_fn) hook_push(c->emu, e);
  else cJSON_Delete(e);
  return s;
}

static bool timeline_slot(emu_timeline_t *tl) {
  if (tl->n >= EMU_TIMELINE_MAX) {
    tl->dropped++;
    return false;
  }
  if (tl->n == tl->cap) {
    tl->cap = tl->cap ? tl->cap * 2 : 16;
    tl->items = dt_xrealloc(tl->items, tl->cap * sizeof *tl->items);
  }
  tl->items[tl->n] = NULL;
  return true;
}

void dt__emu_timeline(emu_call_t *c, const char *kind, cJSON *fields) {
  dt_emulator_t *emu = c->emu;
  char *s = timeline_render(c, ++emu->tl_seq, dt__emu_sched_now(&emu->sim), NULL, kind, fields);
  if (!timeline_slot(&c->tl)) {
    free(s);
    return;
  }
  c->tl.items[c->tl.n++] = s;
}

emu_tl_slot_t dt__emu_timeline_reserve(emu_call_t *c) {
  emu_tl_slot_t slot = {0};
  slot.seq = ++c->emu->tl_seq;
  slot.t = dt__emu_sched_now(&c->emu->sim);
  dt__emu_iso_now(slot.time);
  slot.ok = timeline_slot(&c->tl);
  if (slot.ok) slot.idx = c->tl.n++;
  return slot;
}

void dt__emu_timeline_fill(emu_call_t *c, emu_tl_slot_t slot, const char *kind, cJSON *fields) {
  char *s = timeline_render(c, slot.seq, slot.t, slot.time, kind, fields);
  if (!slot.ok || slot.idx >= c->tl.n || c->tl.items[slot.idx] != NULL) {
    free(s);
    return;
  }
  c->tl.items[slot.idx] = s;
}

void dt__emu_timeline_free(emu_timeline_t *tl) {
  for (size_t i = 0; i < tl->n; i++) free(tl->items[i]);
  free(tl->items);
  memset(tl, 0, sizeof *tl);
}

/* ------------------------------------------------------------------ server-sent events */
static void sse_remove(dt_emulator_t *emu, emu_sse_t *s) {
  for (emu_sse_t **pp = &emu->sse; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      return;
    }
}

static void sse_on_abort(dt_http_request_t *req, void *ud) {
  emu_sse_t *s = ud;
  dt_emulator_t *emu = req->user_data;
  sse_remove(emu, s);
  dt_http_stream_end(req);
  free(s);
}

static void sse_broadcast(dt_emulator_t *emu, const char *json) {
  size_t jl = strlen(json);
  char *msg = dt_xmalloc(jl + 32);
  int n = snprintf(msg, jl + 32, "event: timeline\ndata: %s\n\n", json);
  for (emu_sse_t *s = emu->sse; s; s = s->next) dt_http_stream_write(s->req, msg, (size_t)n);
  free(msg);
}

void dt__emu_events_close_all(dt_emulator_t *emu) {
  emu_sse_t *s = emu->sse;
  emu->sse = NULL;
  while (s) {
    emu_sse_t *next = s->next;
    dt_http_stream_end(s->req);
    free(s);
    s = next;
  }
}

void dt__emu_events_open(dt_emulator_t *emu, dt_http_request_t *req) {
  emu_sse_t *s = dt_xcalloc(1, sizeof *s);
  s->req = req;
  req->user_data = emu;
  dt_http_header_t h[] = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
  if (dt_http_stream_begin(req, 200, h, 2, sse_on_abort, s) != 0) {
    free(s);
    return;
  }
  s->next = emu->sse;
  emu->sse = s;
  static const char hello[] = ": dialtone emulator events\n\n";
  dt_http_stream_write(req, hello, sizeof hello - 1);
}

char *dt__emu_timeline_text(const emu_call_t *c, size_t *len) {
  dt_buf_t b = {0};
  dt_buf_appendf(&b, "{\"id\":\"%s\",\"state\":\"%s\",\"ended\":%s,\"dropped\":%zu,\"entries\":[",
                 c->id, dt__emu_state_name(c->state), c->ended ? "true" : "false", c->tl.dropped);
  bool first = true;
  for (size_t i = 0; i < c->tl.n; i++) {
    if (c->tl.items[i] == NULL) continue; /* a reserved slot not filled (yet) */
    if (!first) dt_buf_append(&b, ",", 1);
    first = false;
    dt_buf_append(&b, c->tl.items[i], strlen(c->tl.items[i]));
  }
  dt_buf_append(&b, "]}", 2); /* dt_buf_t keeps its data NUL-terminated */
  *len = b.len;
  return b.data;
}

/* ------------------------------------------------------------------ the in-process hook */
static int cmp_entry_seq(const void *a, const void *b) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)a, "seq");
  const cJSON *y = cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)b, "seq");
  double sx = cJSON_IsNumber(x) ? x->valuedouble : 0, sy = cJSON_IsNumber(y) ? y->valuedouble : 0;
  return sx < sy ? -1 : sx > sy;
}

/* A request's entry takes its sequence number when the request arrives but is rendered
   when its status is known, after what the request caused: sorting each batch by seq
   hands the hook the timeline's own order. */
static void on_hook_idle(uv_idle_t *h) {
  dt_emulator_t *emu = h->data;
  uv_idle_stop(h);
  cJSON **q = emu->hook_q;
  size_t n = emu->hook_n;
  emu->hook_q = NULL;
  emu->hook_n = emu->hook_cap = 0;
  qsort(q, n, sizeof *q, cmp_entry_seq);
  for (size_t i = 0; i < n; i++) {
    /* the hook may remove itself or close the emulator: later entries are dropped then */
    if (emu->event_fn && !emu->closing) emu->event_fn(q[i], emu->event_ud);
    cJSON_Delete(q[i]);
  }
  free(q);
}

static void hook_push(dt_emulator_t *emu, cJSON *entry) {
  if (emu->event_fn == NULL || emu->closing) {
    cJSON_Delete(entry);
    return;
  }
  if (emu->hook_n == emu->hook_cap) {
    emu->hook_cap = emu->hook_cap ? emu->hook_cap * 2 : 64;
    emu->hook_q = dt_xrealloc(emu->hook_q, emu->hook_cap * sizeof *emu->hook_q);
  }
  emu->hook_q[emu->hook_n++] = entry;
  if (emu->hook_n == 1) uv_idle_start(&emu->hook_idle, on_hook_idle);
}

void dt_emulator_on_event(dt_emulator_t *emu, dt_emulator_event_fn fn, void *ud) {
  if (emu == NULL || emu->closing) return;
  emu->event_fn = fn;
  emu->event_ud = ud;
}
