/*
 * emu_control.c — the emulator's control API ({E}/emulator/..., JSON, no auth), per-call
 * timelines, server-sent events, and the caller scripts that drive simulated parties.
 *
 * Timeline: every request the call received, every notification queued for it, prompts
 * (URL and name), tones, speech, recordings (file URL), transfers, state changes, with a
 * sequence number unique in the emulator, the call's simulated time (t_ms, from the call's
 * start) and the wall-clock time. At most EMU_TIMELINE_MAX entries per call; later ones are
 * counted in "dropped". Each entry is also pushed to every GET /emulator/events listener.
 *
 * Scripts: a JSON array of steps run in order; a step waits for its trigger ("on"), then
 * "after_ms" of simulated time, then does its actions (tones, speak, hangup). See
 * docs/emulator.md "Caller scripts".
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "emu_internal.h"

#define EMU_TIMELINE_MAX 2000
#define EMU_SCRIPT_MAX_STEPS 64

/* ------------------------------------------------------------------ timeline */
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
  if (fields) {
    cJSON *it = fields->child;
    while (it) {
      cJSON *next = it->next;
      cJSON_AddItemToObject(e, it->string, cJSON_DetachItemViaPointer(fields, it));
      it = next;
    }
    cJSON_Delete(fields);
  }
  char *s = cJSON_PrintUnformatted(e);
  if (c->emu->sse) sse_broadcast(c->emu, s);
  if (c->emu->event_fn) dt__emu_hook_push(c->emu, e);
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

void dt__emu_sse_close_all(dt_emulator_t *emu) {
  emu_sse_t *s = emu->sse;
  emu->sse = NULL;
  while (s) {
    emu_sse_t *next = s->next;
    dt_http_stream_end(s->req);
    free(s);
    s = next;
  }
}

static void sse_open(dt_emulator_t *emu, dt_http_request_t *req) {
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

/* ------------------------------------------------------------------ scripts */
static int number_field(const cJSON *o, const char *name, double lo, double hi, double *out,
                        char *err, size_t errlen) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (v == NULL) return 0;
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
    return dt_seterr(err, errlen, DT_EINVAL, "\"%s\" must be a number from %g to %g", name, lo, hi);
  *out = v->valuedouble;
  return 1;
}

int dt__emu_script_parse(const cJSON *arr, emu_script_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (arr == NULL || cJSON_IsNull(arr)) return 0;
  if (!cJSON_IsArray(arr)) return dt_seterr(err, errlen, DT_EINVAL, "script must be an array of steps");
  int n = cJSON_GetArraySize(arr);
  if (n > EMU_SCRIPT_MAX_STEPS)
    return dt_seterr(err, errlen, DT_EINVAL, "script has more than %d steps", EMU_SCRIPT_MAX_STEPS);
  out->steps = dt_xcalloc((size_t)n + 1, sizeof *out->steps);
  const cJSON *st;
  int i = 0;
  cJSON_ArrayForEach(st, arr) {
    emu_step_t *s = &out->steps[i];
    out->n = (size_t)++i;
    s->gap_ms = 150;
    if (!cJSON_IsObject(st)) {
      dt__emu_script_free(out);
      return dt_seterr(err, errlen, DT_EINVAL, "script step %d is not an object", i);
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, st) {
      static const char *const known[] = {"on", "match", "after_ms", "tones", "speak_s",
                                          "speak_ms", "hangup", "gap_ms", "comment"};
      bool ok = false;
      for (size_t k = 0; k < DT_ARRAY_SIZE(known); k++)
        if (strcmp(f->string, known[k]) == 0) ok = true;
      if (!ok) {
        dt_seterr(err, errlen, DT_EINVAL, "script step %d: unknown key \"%s\"", i, f->string);
        dt__emu_script_free(out);
        return DT_EINVAL;
      }
    }
    const char *on = dt__emu_json_str(st, "on");
    if (on) {
      if (strcmp(on, "established") == 0 || strcmp(on, "answered") == 0) s->on = EMU_ON_ESTABLISHED;
      else if (strcmp(on, "prompt") == 0) s->on = EMU_ON_PROMPT;
      else if (strcmp(on, "record") == 0) s->on = EMU_ON_RECORD;
      else {
        dt_seterr(err, errlen, DT_EINVAL,
                  "script step %d: \"on\" must be \"established\", \"prompt\" or \"record\"", i);
        dt__emu_script_free(out);
        return DT_EINVAL;
      }
    } else if (cJSON_GetObjectItemCaseSensitive(st, "on")) {
      dt__emu_script_free(out);
      return dt_seterr(err, errlen, DT_EINVAL, "script step %d: \"on\" must be a string", i);
    }
    const char *match = dt__emu_json_str(st, "match");
    if (match) {
      if (strlen(match) > 200) {
        dt__emu_script_free(out);
        return dt_seterr(err, errlen, DT_EINVAL, "script step %d: \"match\" is too long", i);
      }
      s->match = dt_xstrdup(match);
    }
    const char *tones = dt__emu_json_str(st, "tones");
    if (tones) {
      if (!dt__emu_valid_tones(tones)) {
        dt__emu_script_free(out);
        return dt_seterr(err, errlen, DT_EINVAL,
                         "script step %d: \"tones\" must be up to 64 of 0-9 * # A-D", i);
      }
      s->tones = dt_xstrdup(tones);
    }
    double v = 0;
    int r;
    if ((r = number_field(st, "after_ms", 0, 86400000, &v, err, errlen)) < 0) goto bad;
    if (r) s->after_ms = (int64_t)v;
    if ((r = number_field(st, "gap_ms", 0, 60000, &v, err, errlen)) < 0) goto bad;
    if (r) s->gap_ms = (int64_t)v;
    if ((r = number_field(st, "speak_s", 0, 3600, &v, err, errlen)) < 0) goto bad;
    if (r) s->speak_ms = (int64_t)llround(v * 1000.0);
    if ((r = number_field(st, "speak_ms", 0, 3600000, &v, err, errlen)) < 0) goto bad;
    if (r) s->speak_ms = (int64_t)v;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(st, "hangup");
    if (h && !cJSON_IsBool(h)) {
      dt_seterr(err, errlen, DT_EINVAL, "script step %d: \"hangup\" must be true or false", i);
      goto bad;
    }
    s->hangup = cJSON_IsTrue(h);
    continue;
  bad:
    dt__emu_script_free(out);
    return DT_EINVAL;
  }
  return 0;
}

void dt__emu_script_free(emu_script_t *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->steps[i].match);
    free(s->steps[i].tones);
  }
  free(s->steps);
  s->steps = NULL;
  s->n = 0;
}

void dt__emu_script_copy(emu_script_t *dst, const emu_script_t *src) {
  dst->n = src->n;
  dst->steps = src->n ? dt_xcalloc(src->n, sizeof *dst->steps) : NULL;
  for (size_t i = 0; i < src->n; i++) {
    dst->steps[i] = src->steps[i];
    dst->steps[i].match = src->steps[i].match ? dt_xstrdup(src->steps[i].match) : NULL;
    dst->steps[i].tones = src->steps[i].tones ? dt_xstrdup(src->steps[i].tones) : NULL;
  }
}

cJSON *dt__emu_script_json(const emu_script_t *s) {
  static const char *const ons[] = {NULL, "established", "prompt", "record"};
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < s->n; i++) {
    const emu_step_t *st = &s->steps[i];
    cJSON *o = cJSON_CreateObject();
    if (st->on) cJSON_AddStringToObject(o, "on", ons[st->on]);
    if (st->match) cJSON_AddStringToObject(o, "match", st->match);
    if (st->after_ms) cJSON_AddNumberToObject(o, "after_ms", (double)st->after_ms);
    if (st->tones) cJSON_AddStringToObject(o, "tones", st->tones);
    if (st->speak_ms) cJSON_AddNumberToObject(o, "speak_ms", (double)st->speak_ms);
    if (st->hangup) cJSON_AddBoolToObject(o, "hangup", true);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static void on_script_tone(dt__emu_ev_t *ev) { dt__emu_caller_tone(ev->call, (char)ev->i, ev->due); }

static void on_script_hangup(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  dt__emu_timeline(c, "caller_hangup", NULL);
  dt__emu_hangup_by_remote(c);
}

static void script_arm_at(emu_call_t *c, uint64_t from);

static void on_step_fire(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  c->step_timer = NULL;
  if (c->step >= c->script.n || c->ended) return;
  const emu_step_t *st = &c->script.steps[c->step++];
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddNumberToObject(tl, "step", (double)c->step);
  dt__emu_timeline(c, "script_step", tl);
  uint64_t t = ev->due;
  if (st->tones) {
    for (const char *p = st->tones; *p; p++) {
      dt__emu_ev_t *tev = dt__emu_at_abs(&c->emu->sim, c, t, on_script_tone);
      tev->i = *p;
      t += (uint64_t)st->gap_ms;
    }
  }
  if (st->speak_ms > 0) dt__emu_caller_speak(c, st->speak_ms, ev->due);
  if (st->hangup) dt__emu_at_abs(&c->emu->sim, c, t, on_script_hangup);
  script_arm_at(c, ev->due);
}

/* Arms the current step; a step without a trigger runs after_ms after `from`. */
static void script_arm_at(emu_call_t *c, uint64_t from) {
  c->step_waiting = false;
  if (c->step >= c->script.n || c->ended) return;
  const emu_step_t *st = &c->script.steps[c->step];
  if (st->on == EMU_ON_NONE) {
    c->step_timer = dt__emu_at_abs(&c->emu->sim, c, from + (uint64_t)st->after_ms, on_step_fire);
  } else {
    c->step_waiting = true;
  }
}

void dt__emu_script_start(emu_call_t *c) {
  c->step = 0;
  script_arm_at(c, dt__emu_sched_now(&c->emu->sim));
}

void dt__emu_script_trigger(emu_call_t *c, int on, const char *name, const char *url, uint64_t at) {
  if (!c->step_waiting || c->step >= c->script.n || c->ended) return;
  const emu_step_t *st = &c->script.steps[c->step];
  if (st->on != on) return;
  if (st->match && !((name && strstr(name, st->match)) || (url && strstr(url, st->match)))) return;
  c->step_waiting = false;
  c->step_timer = dt__emu_at_abs(&c->emu->sim, c, at + (uint64_t)st->after_ms, on_step_fire);
}

/* ------------------------------------------------------------------ the route table
   Parse → typed call (emu_api.c) → render. Nothing here changes the emulator by itself. */

static void reply_json(emu_reply_t *out, int status, cJSON *body) {
  out->status = status;
  out->body = body ? cJSON_PrintUnformatted(body) : NULL;
  out->len = out->body ? strlen(out->body) : 0;
  cJSON_Delete(body);
}

static void reply_error(emu_reply_t *out, const char *crid, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void reply_error(emu_reply_t *out, const char *crid, int status, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  out->status = status;
  out->body = dt__emu_error_text(code, msg, crid, out->rid);
  out->len = strlen(out->body);
}

/* A typed call's refusal as the control API answers it. */
static void reply_rc(emu_reply_t *out, const char *crid, int rc, const char *err) {
  switch (rc) {
  case DT_ENOENT: reply_error(out, crid, 404, "itemNotFound", "%s", err); break;
  case DT_ESTATE: reply_error(out, crid, 409, "conflict", "%s", err); break;
  case DT_ECLOSED: reply_error(out, crid, 503, "serviceUnavailable", "%s", err); break;
  default: reply_error(out, crid, 400, "BadRequest", "%s", err); break;
  }
}

static cJSON *parse_body(emu_reply_t *out, const char *crid, const char *body, size_t len, bool allow_empty) {
  if (len == 0) {
    if (allow_empty) return cJSON_CreateObject();
    reply_error(out, crid, 400, "BadRequest", "a JSON body is required");
    return NULL;
  }
  cJSON *j = cJSON_ParseWithLength(body, len);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    reply_error(out, crid, 400, "BadRequest", "the body must be a JSON object");
    return NULL;
  }
  return j;
}

static void route_place_call(dt_emulator_t *emu, const cJSON *body, const char *crid, emu_reply_t *out) {
  dt_emulator_call_options_t o = {0};
  o.bot_url = dt__emu_json_str(body, "bot_url");
  if (!o.bot_url) o.bot_url = dt__emu_json_str(body, "callback");
  if (!o.bot_url) o.bot_url = dt__emu_json_str(body, "callbackUri");
  o.from = cJSON_GetObjectItemCaseSensitive(body, "from");
  o.to = cJSON_GetObjectItemCaseSensitive(body, "to");
  o.script = cJSON_GetObjectItemCaseSensitive(body, "script");
  o.tenant_id = dt__emu_json_str(body, "tenant_id");
  o.modalities = cJSON_GetObjectItemCaseSensitive(body, "modalities");
  char id[DT_EMULATOR_CALL_ID_LEN], err[256] = "";
  int rc = dt_emulator_place_call(emu, &o, id, err, sizeof err);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  reply_json(out, 201, dt__emu_call_summary(dt__emu_call_find(emu, id)));
}

static void route_party_put(dt_emulator_t *emu, const char *id, const cJSON *body, const char *crid,
                            emu_reply_t *out) {
  dt_emulator_party_t p = {DT_EMULATOR_ANSWER, -1, NULL};
  const char *b = dt__emu_json_str(body, "behaviour");
  if (!b) b = dt__emu_json_str(body, "behavior");
  if (b == NULL || strcmp(b, "answer") == 0) p.behaviour = DT_EMULATOR_ANSWER;
  else if (strcmp(b, "busy") == 0) p.behaviour = DT_EMULATOR_BUSY;
  else if (strcmp(b, "noanswer") == 0 || strcmp(b, "no_answer") == 0) p.behaviour = DT_EMULATOR_NOANSWER;
  else if (strcmp(b, "reject") == 0 || strcmp(b, "decline") == 0) p.behaviour = DT_EMULATOR_REJECT;
  else
    return reply_error(out, crid, 400, "BadRequest",
                       "\"behaviour\" must be \"answer\", \"busy\", \"noanswer\" or \"reject\"");
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "answer_delay_ms");
  if (d) {
    if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 86400000)
      return reply_error(out, crid, 400, "BadRequest", "\"answer_delay_ms\" must be a number from 0 to 86400000");
    p.answer_delay_ms = (int64_t)d->valuedouble;
  }
  p.script = cJSON_GetObjectItemCaseSensitive(body, "script");
  char err[256] = "";
  int rc = dt_emulator_set_party(emu, id, &p, err, sizeof err);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  char key[260];
  dt__emu_party_key(id, key);
  reply_json(out, 200, dt__emu_party_json(key, dt__emu_map_get(&emu->parties, key)));
}

static void route_config_post(dt_emulator_t *emu, const cJSON *body, const char *crid, emu_reply_t *out) {
  /* every field is checked before anything is applied: a bad request changes nothing */
  static const struct { const char *name; double lo, hi; } nums[] = {
      {"time_scale", 0, 1000}, {"default_prompt_ms", 0, 3600000}, {"answer_timeout_ms", 1, 3600000},
      {"ring_timeout_ms", 0, 3600000}, {"answer_delay_ms", 0, 3600000}, {"history", 1, 1000000}};
  const cJSON *v;
  for (size_t i = 0; i < DT_ARRAY_SIZE(nums); i++) {
    v = cJSON_GetObjectItemCaseSensitive(body, nums[i].name);
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble >= nums[i].lo && v->valuedouble <= nums[i].hi)))
      return reply_error(out, crid, 400, "BadRequest", "\"%s\" must be a number from %g to %g", nums[i].name,
                         nums[i].lo, nums[i].hi);
  }
  const cJSON *bot = cJSON_GetObjectItemCaseSensitive(body, "bot_url");
  if (bot && !cJSON_IsNull(bot) && !dt__emu_valid_url(cJSON_IsString(bot) ? bot->valuestring : NULL))
    return reply_error(out, crid, 400, "BadRequest", "\"bot_url\" must be an http(s) URL or null");
  dt_emulator_config_t c;
  dt_emulator_get_config(emu, &c);
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "time_scale"))) c.time_scale = v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "default_prompt_ms"))) c.default_prompt_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "answer_timeout_ms"))) c.answer_timeout_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "ring_timeout_ms"))) c.ring_timeout_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "answer_delay_ms"))) c.answer_delay_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "history"))) c.history = (size_t)v->valuedouble;
  char err[256] = "";
  int rc = dt_emulator_set_config(emu, &c, err, sizeof err);
  if (rc == 0 && bot) rc = dt_emulator_set_bot_url(emu, cJSON_IsString(bot) ? bot->valuestring : NULL, err, sizeof err);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  reply_json(out, 200, dt_emulator_config_json(emu));
}

static void route_faults_post(dt_emulator_t *emu, const cJSON *body, const char *crid, emu_reply_t *out) {
  dt_emulator_faults_t f = {0}; /* POST replaces every fault: what is not named is off */
  static const char *const probs[] = {"drop_notifications", "duplicate_notifications",
                                      "delay_notifications", "reorder_notifications"};
  double *pv[] = {&f.drop_notifications, &f.duplicate_notifications, &f.delay_notifications,
                  &f.reorder_notifications};
  static const char *const ints[] = {"delay_ms", "retry_after_s", "graph_status", "graph_status_count",
                                     "recording_status", "recording_status_count"};
  int64_t delay_ms = 0;
  int iv[6] = {0};
  static const char *const bools[] = {"graph_hang", "ops_never_complete", "pascal_case",
                                      "swap_answer_notifications", "recording_hang"};
  bool *bv[] = {&f.graph_hang, &f.ops_never_complete, &f.pascal_case, &f.swap_answer_notifications,
                &f.recording_hang};
  const cJSON *it;
  cJSON_ArrayForEach(it, body) {
    bool known = false, ok = true;
    for (size_t i = 0; i < DT_ARRAY_SIZE(probs); i++)
      if (strcmp(it->string, probs[i]) == 0) {
        known = true;
        ok = cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= 1;
        if (ok) *pv[i] = it->valuedouble;
      }
    for (size_t i = 0; i < DT_ARRAY_SIZE(ints); i++)
      if (strcmp(it->string, ints[i]) == 0) {
        known = true;
        ok = cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble <= 3600000;
        if (ok && i == 0) delay_ms = (int64_t)it->valuedouble;
        else if (ok) iv[i] = (int)it->valuedouble;
      }
    for (size_t i = 0; i < DT_ARRAY_SIZE(bools); i++)
      if (strcmp(it->string, bools[i]) == 0) {
        known = true;
        ok = cJSON_IsBool(it);
        if (ok) *bv[i] = cJSON_IsTrue(it);
      }
    if (!known) return reply_error(out, crid, 400, "BadRequest", "unknown fault \"%.80s\"", it->string);
    if (!ok) return reply_error(out, crid, 400, "BadRequest", "bad value for fault \"%.80s\"", it->string);
  }
  f.delay_ms = delay_ms;
  f.retry_after_s = iv[1];
  f.graph_status = iv[2];
  f.graph_status_count = iv[3];
  f.recording_status = iv[4];
  f.recording_status_count = iv[5];
  char err[256] = "";
  int rc = dt_emulator_set_faults(emu, &f, err, sizeof err);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  reply_json(out, 200, dt__emu_faults_json(&emu->faults));
}

/* POST /calls/{id}/{tones|speak|hangup} on a live call. */
static void route_call_action(dt_emulator_t *emu, emu_call_t *c, const char *action, const char *body,
                              size_t body_len, const char *crid, emu_reply_t *out) {
  char err[256] = "";
  int rc;
  if (strcmp(action, "hangup") == 0) {
    rc = dt_emulator_hangup(emu, c->id, err, sizeof err);
  } else if (strcmp(action, "tones") == 0 || strcmp(action, "speak") == 0) {
    cJSON *j = parse_body(out, crid, body, body_len, false);
    if (j == NULL) return;
    if (action[0] == 't') {
      const char *tones = dt__emu_json_str(j, "tones");
      const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "gap_ms");
      int64_t gap = cJSON_IsNumber(g) && g->valuedouble >= 0 && g->valuedouble <= 60000 ? (int64_t)g->valuedouble : -1;
      rc = dt_emulator_press(emu, c->id, tones ? tones : "", gap, err, sizeof err);
    } else {
      const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "seconds");
      if (!cJSON_IsNumber(s) || s->valuedouble <= 0 || s->valuedouble > 3600) {
        cJSON_Delete(j);
        return reply_error(out, crid, 400, "BadRequest", "\"seconds\" must be a number above 0 and at most 3600");
      }
      int64_t ms = (int64_t)llround(s->valuedouble * 1000.0);
      rc = dt_emulator_speak(emu, c->id, ms > 0 ? ms : 1, err, sizeof err);
    }
    cJSON_Delete(j);
  } else {
    return reply_error(out, crid, 404, "itemNotFound", "no such control resource: POST /emulator/calls/%s/%.60s",
                       c->id, action);
  }
  if (rc != 0) return reply_rc(out, crid, rc, err);
  reply_json(out, 200, dt__emu_call_summary(c));
}

void dt__emu_control_route(dt_emulator_t *emu, const char *m, const char *path, const char *body,
                           size_t body_len, const char *crid, emu_reply_t *out) {
  memset(out, 0, sizeof *out);
  dt_guid(out->rid);
  bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
  bool put = strcmp(m, "PUT") == 0, del = strcmp(m, "DELETE") == 0;
  char seg[4][256];
  int ns = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    size_t n = strcspn(p, "/");
    if (ns == 4 || n >= sizeof seg[0]) return reply_error(out, crid, 404, "itemNotFound", "no such control resource");
    memcpy(seg[ns], p, n);
    seg[ns][n] = '\0';
    ns++;
    p += n;
  }
  cJSON *j = NULL;
  if (ns == 0 || (ns == 1 && strcmp(seg[0], "health") == 0)) {
    if (!get) goto not_allowed;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddStringToObject(o, "url", emu->url);
    return reply_json(out, 200, o);
  }
  if (strcmp(seg[0], "calls") == 0) {
    if (ns == 1) {
      if (post) {
        if ((j = parse_body(out, crid, body, body_len, true)) == NULL) return;
        route_place_call(emu, j, crid, out);
        cJSON_Delete(j);
        return;
      }
      if (!get) goto not_allowed;
      return reply_json(out, 200, dt_emulator_calls_json(emu));
    }
    emu_call_t *c = dt__emu_call_find(emu, seg[1]);
    if (c == NULL) return reply_error(out, crid, 404, "itemNotFound", "no call %s", seg[1]);
    if (ns == 2) {
      if (!get) goto not_allowed;
      return reply_json(out, 200, dt__emu_call_detail(c));
    }
    if (ns != 3) goto not_found;
    if (strcmp(seg[2], "timeline") == 0) {
      if (!get) goto not_allowed;
      out->status = 200;
      out->body = dt__emu_timeline_text(c, &out->len);
      return;
    }
    if (!post) goto not_allowed;
    if (c->ended) return reply_error(out, crid, 409, "conflict", "call %s has ended", c->id);
    return route_call_action(emu, c, seg[2], body, body_len, crid, out);
  }
  if (strcmp(seg[0], "parties") == 0) {
    if (ns == 1) {
      if (!get) goto not_allowed;
      return reply_json(out, 200, dt_emulator_parties_json(emu));
    }
    if (ns != 2) goto not_found;
    if (put || post) {
      if ((j = parse_body(out, crid, body, body_len, true)) == NULL) return;
      route_party_put(emu, seg[1], j, crid, out);
      cJSON_Delete(j);
      return;
    }
    if (!del) goto not_allowed;
    dt_emulator_remove_party(emu, seg[1]);
    out->status = 204;
    return;
  }
  if (ns == 1 && strcmp(seg[0], "config") == 0) {
    if (get) return reply_json(out, 200, dt_emulator_config_json(emu));
    if (!post && !put) goto not_allowed;
    if ((j = parse_body(out, crid, body, body_len, true)) == NULL) return;
    route_config_post(emu, j, crid, out);
    cJSON_Delete(j);
    return;
  }
  if (ns == 1 && strcmp(seg[0], "bot") == 0) {
    if (!post && !put) goto not_allowed;
    if ((j = parse_body(out, crid, body, body_len, false)) == NULL) return;
    const char *u = dt__emu_json_str(j, "url");
    char err[256] = "";
    int rc = dt__emu_valid_url(u) ? dt_emulator_set_bot_url(emu, u, err, sizeof err) : DT_EINVAL;
    cJSON_Delete(j);
    if (rc != 0) return reply_error(out, crid, 400, "BadRequest", "\"url\" must be an http(s) URL");
    return reply_json(out, 200, dt_emulator_config_json(emu));
  }
  if (ns == 1 && strcmp(seg[0], "reset") == 0) {
    if (!post) goto not_allowed;
    dt_emulator_reset(emu);
    return reply_json(out, 200, dt_emulator_config_json(emu));
  }
  if (ns == 1 && strcmp(seg[0], "events") == 0) {
    if (!get) goto not_allowed;
    /* the HTTP server opens the stream before it comes here */
    return reply_error(out, crid, 400, "BadRequest",
                       "the event stream needs a connection; in-process, use dt_emulator_on_event");
  }
  if (ns == 1 && strcmp(seg[0], "faults") == 0) {
    if (get) return reply_json(out, 200, dt__emu_faults_json(&emu->faults));
    if (del) {
      dt_emulator_faults_t none = {0};
      dt_emulator_set_faults(emu, &none, NULL, 0);
      return reply_json(out, 200, dt__emu_faults_json(&emu->faults));
    }
    if (!post && !put) goto not_allowed;
    if ((j = parse_body(out, crid, body, body_len, true)) == NULL) return;
    route_faults_post(emu, j, crid, out);
    cJSON_Delete(j);
    return;
  }
  if (ns == 1 && strcmp(seg[0], "stats") == 0) {
    if (!get) goto not_allowed;
    return reply_json(out, 200, dt__emu_stats_json(emu));
  }
not_found:
  reply_error(out, crid, 404, "itemNotFound", "no such control resource: %s /emulator%.300s", m, path);
  return;
not_allowed:
  reply_error(out, crid, 405, "methodNotAllowed", "%s is not allowed on /emulator%.300s", m, path);
}

static bool is_events_path(const char *path) {
  while (*path == '/') path++;
  if (strncmp(path, "events", 6) != 0) return false;
  for (path += 6; *path == '/'; path++) {}
  return *path == '\0';
}

void dt__emu_control(dt_emulator_t *emu, dt_http_request_t *req, const char *path) {
  dt_http_request_set_route(req, "/emulator");
  if (strcmp(req->method, "GET") == 0 && is_events_path(path)) {
    sse_open(emu, req);
    return;
  }
  emu_reply_t r;
  dt__emu_control_route(emu, req->method, path, req->body, req->body_len,
                        dt_http_request_header(req, "client-request-id"), &r);
  dt_http_header_t h[2];
  size_t n = 0;
  if (r.body) h[n++] = (dt_http_header_t){"Content-Type", "application/json"};
  h[n++] = (dt_http_header_t){"request-id", r.rid};
  dt_http_respond_ex(req, r.status, h, n, r.body, r.len);
  free(r.body);
}
