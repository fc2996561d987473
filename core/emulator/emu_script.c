/*
 * emu_script.c — caller scripts: a JSON array of steps run in order; a step waits for its
 * trigger ("on"), then "after_ms" of simulated time, then does its actions (tones, speak,
 * hangup). See docs/emulator.md "Caller scripts".
 *
 * This file parses and renders scripts and moves the cursor (c->step): it arms each step
 * on its trigger and, when the step is due, records it in the timeline and hands it to
 * emu->script_act, which emu_calls.c installs (the actions are the caller's: keys go to
 * the media, a hang-up ends the call, both above this module).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "emu_sched.h"
#include "emu_script.h"
#include "emu_timeline.h"
#include "emu_util.h"

#define EMU_SCRIPT_MAX_STEPS 64

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

static void script_arm_at(emu_call_t *c, uint64_t from);

static void on_step_fire(dt__emu_ev_t *ev) {
  emu_call_t *c = ev->call;
  c->step_timer = NULL;
  if (c->step >= c->script.n || c->ended) return;
  const emu_step_t *st = &c->script.steps[c->step++];
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddNumberToObject(tl, "step", (double)c->step);
  dt__emu_timeline(c, "script_step", tl);
  if (c->emu->script_act) c->emu->script_act(c, st, ev->due); /* keys, speech, hang-up */
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
