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
#include <ctype.h>
#include <math.h>
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
  if (dt__emu_in_process(req)) {
    dt__emu_respond_error(req, 400, "BadRequest",
                          "the event stream needs a connection; in-process, use dt_emulator_on_event");
    return;
  }
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
static bool valid_tones(const char *t) {
  if (strlen(t) > 64) return false;
  for (; *t; t++)
    if (!dt__emu_tone_name(*t) || *t == 'F') return false;
  return true;
}

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
      if (!valid_tones(tones)) {
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

/* ------------------------------------------------------------------ helpers */
static void respond_ok(dt_http_request_t *req, cJSON *body) { dt__emu_respond_json(req, 200, body, NULL); }

static void bad(dt_http_request_t *req, const char *fmt, const char *detail) {
  dt__emu_respond_error(req, 400, "BadRequest", fmt, detail ? detail : "");
}

static cJSON *parse_body(dt_http_request_t *req, bool allow_empty) {
  if (req->body_len == 0) {
    if (allow_empty) return cJSON_CreateObject();
    bad(req, "a JSON body is required%s", "");
    return NULL;
  }
  cJSON *j = cJSON_ParseWithLength(req->body, req->body_len);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    bad(req, "the body must be a JSON object%s", "");
    return NULL;
  }
  return j;
}

static cJSON *call_summary(emu_call_t *c) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", c->id);
  cJSON_AddStringToObject(o, "direction", c->incoming ? "incoming" : "outgoing");
  cJSON_AddStringToObject(o, "state", dt__emu_state_name(c->state));
  cJSON_AddBoolToObject(o, "ended", c->ended);
  if (c->end_reason) cJSON_AddStringToObject(o, "ended_by", c->end_reason);
  cJSON_AddStringToObject(o, "from", c->from_desc);
  cJSON_AddStringToObject(o, "to", c->to_desc);
  if (c->callback_uri) cJSON_AddStringToObject(o, "callback_uri", c->callback_uri);
  cJSON_AddNumberToObject(o, "created", (double)c->created_unix);
  cJSON_AddStringToObject(o, "chain_id", c->chain_id);
  return o;
}

static int cmp_serial(const void *a, const void *b) {
  const emu_call_t *x = *(emu_call_t *const *)a, *y = *(emu_call_t *const *)b;
  return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static const char *op_kind(int t) {
  switch (t) {
  case EMU_OP_PLAY: return "playPrompt";
  case EMU_OP_RECORD: return "record";
  default: return "other";
  }
}

static cJSON *call_detail(emu_call_t *c) {
  cJSON *o = call_summary(c);
  cJSON_AddItemToObject(o, "resource", cJSON_Duplicate(c->res, 1));
  cJSON_AddItemToObject(o, "participants", cJSON_Duplicate(c->participants, 1));
  cJSON_AddBoolToObject(o, "tone_subscribed", c->tone_subscribed);
  cJSON_AddNumberToObject(o, "tone_sequence", (double)c->tone_seq);
  cJSON_AddBoolToObject(o, "muted", c->muted);
  cJSON *mq = cJSON_AddArrayToObject(o, "media_queue");
  for (emu_op_t *op = c->mq_head; op; op = op->qnext) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "op", op->id);
    cJSON_AddStringToObject(m, "type", op_kind(op->type));
    cJSON_AddBoolToObject(m, "started", op->started);
    cJSON_AddItemToArray(mq, m);
  }
  cJSON_AddItemToObject(o, "script", dt__emu_script_json(&c->script));
  cJSON_AddNumberToObject(o, "script_step", (double)c->step);
  return o;
}

static void respond_timeline(dt_http_request_t *req, emu_call_t *c) {
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
  dt_buf_append(&b, "]}", 2);
  dt_http_header_t h[] = {{"Content-Type", "application/json"}};
  dt__emu_respond_raw(req, 200, h, 1, b.data, b.len);
  dt_buf_free(&b);
}

static cJSON *config_json(dt_emulator_t *emu) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "url", emu->url);
  cJSON_AddNumberToObject(o, "time_scale", emu->time_scale);
  if (emu->bot_url) cJSON_AddStringToObject(o, "bot_url", emu->bot_url);
  else cJSON_AddNullToObject(o, "bot_url");
  cJSON_AddStringToObject(o, "app_id", emu->app_id);
  cJSON_AddStringToObject(o, "tenant_id", emu->tenant_id);
  cJSON_AddNumberToObject(o, "default_prompt_ms", (double)emu->default_prompt_ms);
  cJSON_AddNumberToObject(o, "answer_timeout_ms", (double)emu->answer_timeout_ms);
  cJSON_AddNumberToObject(o, "ring_timeout_ms", (double)emu->ring_timeout_ms);
  cJSON_AddNumberToObject(o, "answer_delay_ms", (double)emu->answer_delay_ms);
  cJSON_AddNumberToObject(o, "history", (double)emu->history_max);
  char *tu = dt_xasprintf("%s/%s/oauth2/v2.0/token", emu->url, emu->tenant_id);
  cJSON_AddStringToObject(o, "token_url", tu);
  free(tu);
  char *gu = dt_xasprintf("%s/v1.0", emu->url);
  cJSON_AddStringToObject(o, "graph_url", gu);
  free(gu);
  return o;
}

static bool valid_url(const char *u) {
  return u && strlen(u) < 2048 &&
         (dt_strncasecmp(u, "http://", 7) == 0 || dt_strncasecmp(u, "https://", 8) == 0);
}

/* ------------------------------------------------------------------ handlers */
static void place_call(dt_emulator_t *emu, dt_http_request_t *req) {
  cJSON *body = parse_body(req, true);
  if (body == NULL) return;
  const char *bot = dt__emu_json_str(body, "bot_url");
  if (!bot) bot = dt__emu_json_str(body, "callback");
  if (!bot) bot = dt__emu_json_str(body, "callbackUri");
  if (!bot) bot = emu->bot_url;
  if (!valid_url(bot)) {
    cJSON_Delete(body);
    bad(req, "no bot URL: give \"bot_url\" or set one with POST /emulator/config%s", "");
    return;
  }
  const cJSON *fromv = cJSON_GetObjectItemCaseSensitive(body, "from");
  const cJSON *tov = cJSON_GetObjectItemCaseSensitive(body, "to");
  cJSON *from = fromv ? dt__emu_identity_from_short(fromv) : NULL;
  if (fromv && from == NULL) {
    cJSON_Delete(body);
    bad(req, "\"from\" must be an identity: {\"user\":\"id\"}, {\"phone\":\"+1...\"}, an identitySet or a string%s", "");
    return;
  }
  if (from == NULL) {
    cJSON *s = cJSON_CreateString("+15555550100");
    from = dt__emu_identity_from_short(s);
    cJSON_Delete(s);
  }
  cJSON *to = tov ? dt__emu_identity_from_short(tov) : NULL;
  if (tov && to == NULL) {
    cJSON_Delete(from);
    cJSON_Delete(body);
    bad(req, "\"to\" must be an identity%s", "");
    return;
  }
  if (to == NULL) {
    to = cJSON_CreateObject();
    cJSON *app = cJSON_AddObjectToObject(to, "application");
    cJSON_AddStringToObject(app, "@odata.type", "#microsoft.graph.identity");
    cJSON_AddStringToObject(app, "id", emu->app_id);
    cJSON_AddStringToObject(app, "displayName", "Calling Bot");
  }
  emu_script_t script;
  char err[160];
  if (dt__emu_script_parse(cJSON_GetObjectItemCaseSensitive(body, "script"), &script, err, sizeof err) != 0) {
    cJSON_Delete(from);
    cJSON_Delete(to);
    cJSON_Delete(body);
    bad(req, "%s", err);
    return;
  }
  const char *tenant = dt__emu_json_str(body, "tenant_id");
  const cJSON *mods = cJSON_GetObjectItemCaseSensitive(body, "modalities");
  bool mods_ok = mods == NULL || (cJSON_IsArray(mods) && cJSON_GetArraySize(mods) <= 8);
  const cJSON *mit;
  cJSON_ArrayForEach(mit, mods) if (!cJSON_IsString(mit)) mods_ok = false;
  if (!mods_ok) {
    dt__emu_script_free(&script);
    cJSON_Delete(from);
    cJSON_Delete(to);
    cJSON_Delete(body);
    bad(req, "\"modalities\" must be an array of strings such as \"audio\"%s", "");
    return;
  }
  emu_call_t *c = dt__emu_incoming(emu, from, to, bot, &script, tenant, mods);
  dt__emu_script_free(&script);
  cJSON_Delete(from);
  cJSON_Delete(to);
  cJSON_Delete(body);
  cJSON *o = call_summary(c);
  dt__emu_respond_json(req, 201, o, NULL);
}

static void parties_put(dt_emulator_t *emu, dt_http_request_t *req, const char *id) {
  cJSON *body = parse_body(req, true);
  if (body == NULL) return;
  emu_party_t *p = dt_xcalloc(1, sizeof *p);
  p->answer_delay_ms = -1;
  const char *b = dt__emu_json_str(body, "behaviour");
  if (!b) b = dt__emu_json_str(body, "behavior");
  if (b == NULL || strcmp(b, "answer") == 0) p->behaviour = EMU_PARTY_ANSWER;
  else if (strcmp(b, "busy") == 0) p->behaviour = EMU_PARTY_BUSY;
  else if (strcmp(b, "noanswer") == 0 || strcmp(b, "no_answer") == 0) p->behaviour = EMU_PARTY_NOANSWER;
  else if (strcmp(b, "reject") == 0 || strcmp(b, "decline") == 0) p->behaviour = EMU_PARTY_REJECT;
  else {
    free(p);
    cJSON_Delete(body);
    bad(req, "\"behaviour\" must be \"answer\", \"busy\", \"noanswer\" or \"reject\"%s", "");
    return;
  }
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "answer_delay_ms");
  if (d) {
    if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 86400000) {
      free(p);
      cJSON_Delete(body);
      bad(req, "\"answer_delay_ms\" must be a number from 0 to 86400000%s", "");
      return;
    }
    p->answer_delay_ms = (int64_t)d->valuedouble;
  }
  char err[160];
  if (dt__emu_script_parse(cJSON_GetObjectItemCaseSensitive(body, "script"), &p->script, err, sizeof err) != 0) {
    free(p);
    cJSON_Delete(body);
    bad(req, "%s", err);
    return;
  }
  cJSON_Delete(body);
  char key[260];
  size_t i = 0;
  for (; id[i] && i + 1 < sizeof key; i++) key[i] = (char)tolower((unsigned char)id[i]);
  key[i] = '\0';
  dt__emu_party_free(dt__emu_map_del(&emu->parties, key));
  dt__emu_map_put(&emu->parties, key, p);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", key);
  static const char *const names[] = {"answer", "busy", "noanswer", "reject"};
  cJSON_AddStringToObject(o, "behaviour", names[p->behaviour]);
  if (p->answer_delay_ms >= 0) cJSON_AddNumberToObject(o, "answer_delay_ms", (double)p->answer_delay_ms);
  cJSON_AddItemToObject(o, "script", dt__emu_script_json(&p->script));
  respond_ok(req, o);
}

static void parties_list(dt_emulator_t *emu, dt_http_request_t *req) {
  static const char *const names[] = {"answer", "busy", "noanswer", "reject"};
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "parties");
  for (size_t i = 0; i < emu->parties.nbuckets; i++)
    for (dt__emu_map_entry_t *e = emu->parties.buckets[i]; e; e = e->next) {
      emu_party_t *p = e->val;
      cJSON *x = cJSON_CreateObject();
      cJSON_AddStringToObject(x, "id", e->key);
      cJSON_AddStringToObject(x, "behaviour", names[p->behaviour]);
      if (p->answer_delay_ms >= 0) cJSON_AddNumberToObject(x, "answer_delay_ms", (double)p->answer_delay_ms);
      cJSON_AddItemToObject(x, "script", dt__emu_script_json(&p->script));
      cJSON_AddItemToArray(arr, x);
    }
  respond_ok(req, o);
}

static void config_post(dt_emulator_t *emu, dt_http_request_t *req) {
  cJSON *body = parse_body(req, true);
  if (body == NULL) return;
  const cJSON *v;
  /* validate everything first, then apply: a bad request changes nothing */
  static const struct { const char *name; double lo, hi; } nums[] = {
      {"time_scale", 0, 1000}, {"default_prompt_ms", 0, 3600000}, {"answer_timeout_ms", 1, 3600000},
      {"ring_timeout_ms", 0, 3600000}, {"answer_delay_ms", 0, 3600000}, {"history", 1, 1000000}};
  for (size_t i = 0; i < DT_ARRAY_SIZE(nums); i++) {
    v = cJSON_GetObjectItemCaseSensitive(body, nums[i].name);
    if (v && (!cJSON_IsNumber(v) || !(v->valuedouble >= nums[i].lo && v->valuedouble <= nums[i].hi))) {
      char msg[128];
      snprintf(msg, sizeof msg, "\"%s\" must be a number from %g to %g", nums[i].name, nums[i].lo,
               nums[i].hi);
      cJSON_Delete(body);
      bad(req, "%s", msg);
      return;
    }
  }
  v = cJSON_GetObjectItemCaseSensitive(body, "bot_url");
  if (v && !cJSON_IsNull(v) && !valid_url(cJSON_IsString(v) ? v->valuestring : NULL)) {
    cJSON_Delete(body);
    bad(req, "\"bot_url\" must be an http(s) URL or null%s", "");
    return;
  }
  if (v) {
    free(emu->bot_url);
    emu->bot_url = cJSON_IsString(v) ? dt_xstrdup(v->valuestring) : NULL;
  }
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "time_scale"))) dt_emulator_set_time_scale(emu, v->valuedouble);
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "default_prompt_ms"))) emu->default_prompt_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "answer_timeout_ms"))) emu->answer_timeout_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "ring_timeout_ms"))) emu->ring_timeout_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "answer_delay_ms"))) emu->answer_delay_ms = (int64_t)v->valuedouble;
  if ((v = cJSON_GetObjectItemCaseSensitive(body, "history"))) emu->history_max = (size_t)v->valuedouble;
  cJSON_Delete(body);
  respond_ok(req, config_json(emu));
}

static cJSON *faults_json(const emu_faults_t *f) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "drop_notifications", f->drop_notifications);
  cJSON_AddNumberToObject(o, "duplicate_notifications", f->duplicate_notifications);
  cJSON_AddNumberToObject(o, "delay_notifications", f->delay_notifications);
  cJSON_AddNumberToObject(o, "delay_ms", (double)f->delay_ms);
  cJSON_AddNumberToObject(o, "reorder_notifications", f->reorder_notifications);
  cJSON_AddNumberToObject(o, "graph_status", f->graph_status);
  cJSON_AddNumberToObject(o, "graph_status_count", f->graph_status_count);
  cJSON_AddNumberToObject(o, "retry_after_s", f->retry_after_s);
  cJSON_AddBoolToObject(o, "graph_hang", f->graph_hang);
  cJSON_AddBoolToObject(o, "ops_never_complete", f->ops_never_complete);
  cJSON_AddBoolToObject(o, "pascal_case", f->pascal_case);
  cJSON_AddBoolToObject(o, "swap_answer_notifications", f->swap_answer_notifications);
  cJSON_AddNumberToObject(o, "recording_status", f->recording_status);
  cJSON_AddNumberToObject(o, "recording_status_count", f->recording_status_count);
  cJSON_AddBoolToObject(o, "recording_hang", f->recording_hang);
  return o;
}

static void faults_post(dt_emulator_t *emu, dt_http_request_t *req) {
  cJSON *body = parse_body(req, true);
  if (body == NULL) return;
  emu_faults_t f = {0};
  static const char *const probs[] = {"drop_notifications", "duplicate_notifications",
                                      "delay_notifications", "reorder_notifications"};
  double *pv[] = {&f.drop_notifications, &f.duplicate_notifications, &f.delay_notifications,
                  &f.reorder_notifications};
  const cJSON *it;
  cJSON_ArrayForEach(it, body) {
    bool known = false;
    for (size_t i = 0; i < DT_ARRAY_SIZE(probs); i++)
      if (strcmp(it->string, probs[i]) == 0) {
        known = true;
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1) goto bad_value;
        *pv[i] = it->valuedouble;
      }
    if (strcmp(it->string, "recording_status") == 0 || strcmp(it->string, "recording_status_count") == 0) {
      known = true;
      if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 3600000) goto bad_value;
      if (strcmp(it->string, "recording_status") == 0) {
        f.recording_status = (int)it->valuedouble;
        if (f.recording_status != 0 && (f.recording_status < 400 || f.recording_status > 599)) goto bad_value;
      } else f.recording_status_count = (int)it->valuedouble;
    }
    if (strcmp(it->string, "delay_ms") == 0 || strcmp(it->string, "retry_after_s") == 0 ||
        strcmp(it->string, "graph_status") == 0 || strcmp(it->string, "graph_status_count") == 0) {
      known = true;
      if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 3600000) goto bad_value;
      if (strcmp(it->string, "delay_ms") == 0) f.delay_ms = (int64_t)it->valuedouble;
      else if (strcmp(it->string, "retry_after_s") == 0) f.retry_after_s = (int)it->valuedouble;
      else if (strcmp(it->string, "graph_status") == 0) {
        f.graph_status = (int)it->valuedouble;
        if (f.graph_status != 0 && (f.graph_status < 400 || f.graph_status > 599)) goto bad_value;
      } else f.graph_status_count = (int)it->valuedouble;
    }
    static const char *const bools[] = {"graph_hang", "ops_never_complete", "pascal_case",
                                        "swap_answer_notifications", "recording_hang"};
    bool *bv[] = {&f.graph_hang, &f.ops_never_complete, &f.pascal_case, &f.swap_answer_notifications,
                  &f.recording_hang};
    for (size_t i = 0; i < DT_ARRAY_SIZE(bools); i++)
      if (strcmp(it->string, bools[i]) == 0) {
        known = true;
        if (!cJSON_IsBool(it)) goto bad_value;
        *bv[i] = cJSON_IsTrue(it);
      }
    if (!known) {
      char msg[160];
      snprintf(msg, sizeof msg, "unknown fault \"%.80s\"", it->string);
      cJSON_Delete(body);
      bad(req, "%s", msg);
      return;
    }
    continue;
  bad_value: {
    char msg[160];
    snprintf(msg, sizeof msg, "bad value for fault \"%.80s\"", it->string);
    cJSON_Delete(body);
    bad(req, "%s", msg);
    return;
  }
  }
  cJSON_Delete(body);
  emu->faults = f;
  respond_ok(req, faults_json(&emu->faults));
}

static void reset(dt_emulator_t *emu) {
  size_t n = 0;
  void **vals = dt__emu_map_values(&emu->calls, &n);
  for (size_t i = 0; i < n; i++) {
    emu_call_t *c = vals[i];
    dt__emu_call_cancel_events(c);
    dt__emu_media_cancel_all(c, false);
    dt__emu_nq_free(c); /* queued, not yet sent: dropped */
    if (!c->ended) emu->active_calls--;
    c->ended = true;
    c->evicted = true;
    dt__emu_map_del(&emu->calls, c->key);
    dt__emu_call_unref(c);
  }
  free(vals);
  emu->hist_head = emu->hist_tail = NULL;
  emu->hist_n = 0;
  dt__emu_map_free(&emu->parties, dt__emu_party_free);
  dt__emu_map_init(&emu->parties);
  dt__emu_prompt_cache_forget_known(emu);
  memset(&emu->faults, 0, sizeof emu->faults);
}

static void stats(dt_emulator_t *emu, dt_http_request_t *req) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "active_calls", (double)emu->active_calls);
  cJSON_AddNumberToObject(o, "calls_total", (double)emu->n_calls);
  cJSON_AddNumberToObject(o, "ended_calls_kept", (double)emu->hist_n);
  cJSON_AddNumberToObject(o, "requests_total", (double)emu->n_requests);
  cJSON_AddNumberToObject(o, "notifications_total", (double)emu->n_notifications);
  cJSON_AddNumberToObject(o, "notifications_failed", (double)emu->n_notify_failed);
  cJSON_AddNumberToObject(o, "prompts_cached", (double)emu->prompts.count);
  cJSON_AddNumberToObject(o, "recordings", (double)emu->nrec);
  cJSON_AddNumberToObject(o, "recording_requests", (double)emu->n_rec_requests);
  cJSON_AddNumberToObject(o, "recording_downloads", (double)emu->n_rec_served);
  cJSON_AddNumberToObject(o, "sim_time_ms", (double)dt__emu_sched_now(&emu->sim));
  respond_ok(req, o);
}

/* path is the part after "/emulator" ("" or "/calls/..."). */
void dt__emu_control(dt_emulator_t *emu, dt_http_request_t *req, const char *path) {
  const char *m = req->method;
  bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
  bool put = strcmp(m, "PUT") == 0, del = strcmp(m, "DELETE") == 0;
  dt__emu_set_route(req, "/emulator");
  char seg[4][256];
  int ns = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    size_t n = strcspn(p, "/");
    if (ns == 4 || n >= sizeof seg[0]) {
      dt__emu_respond_error(req, 404, "itemNotFound", "no such control resource");
      return;
    }
    memcpy(seg[ns], p, n);
    seg[ns][n] = '\0';
    ns++;
    p += n;
  }
  if (ns == 0 || (ns == 1 && strcmp(seg[0], "health") == 0)) {
    if (!get) goto not_allowed;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", true);
    cJSON_AddStringToObject(o, "url", emu->url);
    respond_ok(req, o);
    return;
  }
  if (strcmp(seg[0], "calls") == 0) {
    if (ns == 1) {
      if (post) {
        place_call(emu, req);
        return;
      }
      if (!get) goto not_allowed;
      size_t n = 0;
      void **vals = dt__emu_map_values(&emu->calls, &n);
      qsort(vals, n, sizeof *vals, cmp_serial);
      cJSON *o = cJSON_CreateObject();
      cJSON *arr = cJSON_AddArrayToObject(o, "calls");
      for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, call_summary(vals[i]));
      free(vals);
      cJSON_AddNumberToObject(o, "active", (double)emu->active_calls);
      respond_ok(req, o);
      return;
    }
    emu_call_t *c = dt__emu_call_find(emu, seg[1]);
    if (c == NULL) {
      dt__emu_respond_error(req, 404, "itemNotFound", "no call %s", seg[1]);
      return;
    }
    if (ns == 2) {
      if (!get) goto not_allowed;
      respond_ok(req, call_detail(c));
      return;
    }
    if (ns != 3) goto not_found;
    if (strcmp(seg[2], "timeline") == 0) {
      if (!get) goto not_allowed;
      respond_timeline(req, c);
      return;
    }
    if (!post) goto not_allowed;
    if (c->ended) {
      dt__emu_respond_error(req, 409, "conflict", "call %s has ended", c->id);
      return;
    }
    if (strcmp(seg[2], "hangup") == 0) {
      dt__emu_timeline(c, "caller_hangup", NULL);
      dt__emu_hangup_by_remote(c);
      respond_ok(req, call_summary(c));
      return;
    }
    cJSON *body = parse_body(req, false);
    if (body == NULL) return;
    if (strcmp(seg[2], "tones") == 0) {
      const char *tones = dt__emu_json_str(body, "tones");
      if (tones == NULL || tones[0] == '\0' || !valid_tones(tones)) {
        cJSON_Delete(body);
        bad(req, "\"tones\" must be a string of up to 64 of 0-9 * # A-D%s", "");
        return;
      }
      int64_t gap = 150;
      const cJSON *g = cJSON_GetObjectItemCaseSensitive(body, "gap_ms");
      if (cJSON_IsNumber(g) && g->valuedouble >= 0 && g->valuedouble <= 60000) gap = (int64_t)g->valuedouble;
      int64_t t = 0;
      for (const char *q = tones; *q; q++) {
        if (t == 0) {
          dt__emu_caller_tone(c, *q, 0); /* the first key now: the response then tells it happened */
        } else {
          dt__emu_ev_t *ev = dt__emu_at(&emu->sim, c, t, on_script_tone);
          ev->i = *q;
        }
        t += gap;
      }
      cJSON_Delete(body);
      respond_ok(req, call_summary(c));
      return;
    }
    if (strcmp(seg[2], "speak") == 0) {
      const cJSON *s = cJSON_GetObjectItemCaseSensitive(body, "seconds");
      if (!cJSON_IsNumber(s) || s->valuedouble <= 0 || s->valuedouble > 3600) {
        cJSON_Delete(body);
        bad(req, "\"seconds\" must be a number above 0 and at most 3600%s", "");
        return;
      }
      dt__emu_caller_speak(c, (int64_t)llround(s->valuedouble * 1000.0), 0);
      cJSON_Delete(body);
      respond_ok(req, call_summary(c));
      return;
    }
    cJSON_Delete(body);
    goto not_found;
  }
  if (strcmp(seg[0], "parties") == 0) {
    if (ns == 1) {
      if (!get) goto not_allowed;
      parties_list(emu, req);
      return;
    }
    if (ns != 2) goto not_found;
    if (put || post) {
      parties_put(emu, req, seg[1]);
      return;
    }
    if (del) {
      char key[260];
      size_t i = 0;
      for (; seg[1][i] && i + 1 < sizeof key; i++) key[i] = (char)tolower((unsigned char)seg[1][i]);
      key[i] = '\0';
      dt__emu_party_free(dt__emu_map_del(&emu->parties, key));
      dt__emu_respond_raw(req, 204, NULL, 0, NULL, 0);
      return;
    }
    goto not_allowed;
  }
  if (ns == 1 && strcmp(seg[0], "config") == 0) {
    if (get) respond_ok(req, config_json(emu));
    else if (post || put) config_post(emu, req);
    else goto not_allowed;
    return;
  }
  if (ns == 1 && strcmp(seg[0], "bot") == 0) {
    if (!post && !put) goto not_allowed;
    cJSON *body = parse_body(req, false);
    if (body == NULL) return;
    const char *u = dt__emu_json_str(body, "url");
    if (!valid_url(u)) {
      cJSON_Delete(body);
      bad(req, "\"url\" must be an http(s) URL%s", "");
      return;
    }
    free(emu->bot_url);
    emu->bot_url = dt_xstrdup(u);
    cJSON_Delete(body);
    respond_ok(req, config_json(emu));
    return;
  }
  if (ns == 1 && strcmp(seg[0], "reset") == 0) {
    if (!post) goto not_allowed;
    reset(emu);
    respond_ok(req, config_json(emu));
    return;
  }
  if (ns == 1 && strcmp(seg[0], "events") == 0) {
    if (!get) goto not_allowed;
    sse_open(emu, req);
    return;
  }
  if (ns == 1 && strcmp(seg[0], "faults") == 0) {
    if (get) respond_ok(req, faults_json(&emu->faults));
    else if (post || put) faults_post(emu, req);
    else if (del) {
      memset(&emu->faults, 0, sizeof emu->faults);
      respond_ok(req, faults_json(&emu->faults));
    } else goto not_allowed;
    return;
  }
  if (ns == 1 && strcmp(seg[0], "stats") == 0) {
    if (!get) goto not_allowed;
    stats(emu, req);
    return;
  }
not_found:
  dt__emu_respond_error(req, 404, "itemNotFound", "no such control resource: %s %s", m, req->path);
  return;
not_allowed:
  dt__emu_respond_error(req, 405, "methodNotAllowed", "%s is not allowed on %s", m, req->path);
}
