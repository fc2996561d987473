/*
 * call_live.c — a call as the live view sees it (issue 14): the events it publishes on the
 * registry's bus (call_events.h: started, answered, prompt, key, recording, transfer,
 * error, ended, tags), each with the call's id, flow and flow version, and its current step
 * for GET /calls (the prompt playing, the keys so far, the time in the current state; the
 * tags are call_tags.c's, shown beside it).
 * Without a bus (options.events NULL) only the step is kept. Bounded: the keys are the last
 * 32, a prompt's text is capped.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/call_tags.h"
#include "dialtone/call_events.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/text.h"
#include "call_internal.h"

#define LIVE_TEXT_MAX 512

/* The registry's bus, NULL without one (or for a call outside a registry, as in tests). */
static dt_call_events_t *bus_of(const dt_call_t *c) { return c->reg ? c->reg->o.events : NULL; }

void dt__call_event(dt_call_t *c, const char *type, const char *fields) {
  dt_call_events_emit(bus_of(c), type, c->id, c->flow, c->flow_version, fields);
}

void dt__call_eventf(dt_call_t *c, const char *type, const char *key, const char *value) {
  if (!bus_of(c)) return;
  dt_buf_t b = {0};
  dt_text_json_string(&b, key);
  dt_buf_append(&b, ":", 1);
  dt_text_json_string(&b, value ? value : "");
  dt__call_event(c, type, b.data);
  dt_buf_free(&b);
}

void dt__call_live_prompt(dt_call_t *c, const dt_media_t *prompts, size_t n) {
  free(c->live_prompt);
  c->live_prompt = NULL;
  if (!prompts || n == 0) return;
  dt_buf_t b = {0};
  for (size_t i = 0; i < n && b.len < LIVE_TEXT_MAX; i++) {
    const char *u = prompts[i].uri ? prompts[i].uri : "";
    const char *slash = strrchr(u, '/'); /* the file name says more than the base URL */
    if (i) dt_buf_append(&b, " ", 1);
    dt_buf_append(&b, slash && slash[1] ? slash + 1 : u, strnlen(slash && slash[1] ? slash + 1 : u, LIVE_TEXT_MAX));
  }
  c->live_prompt = b.data;
  dt__call_eventf(c, "prompt", "prompt", c->live_prompt);
}

void dt__call_live_key(dt_call_t *c, char tone) {
  size_t n = strlen(c->live_keys);
  if (n == sizeof c->live_keys - 1) {
    memmove(c->live_keys, c->live_keys + 1, n - 1);
    n--;
  }
  c->live_keys[n] = tone;
  c->live_keys[n + 1] = '\0';
  char d[2] = {tone, '\0'};
  if (!bus_of(c)) return;
  dt_buf_t b = {0};
  dt_buf_append(&b, "\"key\":", 6);
  dt_text_json_string(&b, d);
  dt_buf_append(&b, ",\"keys\":", 8);
  dt_text_json_string(&b, c->live_keys);
  dt__call_event(c, "key", b.data);
  dt_buf_free(&b);
}

void dt__call_live_ended(dt_call_t *c) {
  if (!bus_of(c)) return;
  dt_buf_t b = {0};
  dt_buf_append(&b, "\"outcome\":", 10);
  dt_text_json_string(&b, dt_outcome_name(c->outcome));
  if (c->error) {
    dt_buf_append(&b, ",\"error\":", 9);
    dt_text_json_string(&b, c->error);
  }
  dt_buf_appendf(&b, ",\"duration_s\":%.3f", c->end_ms > c->start_ms ? (double)(c->end_ms - c->start_ms) / 1000.0 : 0.0);
  dt__call_event(c, "ended", b.data);
  dt_buf_free(&b);
}

void dt_call_tags_changed(dt_call_t *c) {
  if (!c || !bus_of(c)) return;
  dt_buf_t b = {0};
  dt_buf_append(&b, "\"tags\":", 7);
  dt_call_tags_json(&c->tags, &b);
  dt__call_event(c, "tags", b.data);
  dt_buf_free(&b);
}

void dt__call_live_render(const dt_call_t *c, dt_buf_t *b, uint64_t now) {
  bool media = c->wait == DT_WAIT_PLAY || (c->wait == DT_WAIT_GATHER && c->stage != G_COLLECT);
  dt_buf_append(b, ",\"step\":{\"prompt\":", 18);
  if (media && c->live_prompt) dt_text_json_string(b, c->live_prompt);
  else dt_buf_append(b, "null", 4);
  dt_buf_append(b, ",\"digits\":", 10);
  dt_text_json_string(b, c->live_keys);
  uint64_t since = c->wait != DT_WAIT_NONE ? c->wait_since_ms : c->start_mono_ms;
  dt_buf_appendf(b, ",\"in_state_s\":%.3f}", now > since ? (double)(now - since) / 1000.0 : 0.0);
}
