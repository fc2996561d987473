/*
 * emu_api.c — the emulator's typed control API (include/dialtone/emulator.h "control API
 * in C") and the JSON views the control API renders.
 *
 * Owns: the operations a test or a person does to the emulator from outside — place an
 * incoming call, press keys, speak, hang up, set the bot URL, party behaviours, settings,
 * faults, reset — each validated completely before anything changes (a refused call
 * changes nothing and says why in err). The HTTP routes (emu_control.c) and in-process
 * callers (localrun, the demo, the console, `dialtone test`) both come here, so the two
 * cannot drift apart.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "emu_api.h"
#include "emu_calls.h"
#include "emu_incoming.h"
#include "emu_media.h"
#include "emu_meetings.h"
#include "emu_online_meetings.h"
#include "emu_registry.h"
#include "emu_sched.h"
#include "emu_script.h"
#include "emu_timeline.h"
#include "emu_util.h"

/* The call a control operation acts on: live ones only (an ended call answers DT_ESTATE). */
static int live_call(dt_emulator_t *emu, const char *call_id, emu_call_t **out, char *err, size_t errlen) {
  if (emu == NULL || call_id == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no call id");
  if (emu->closing) return dt_seterr(err, errlen, DT_ECLOSED, "the emulator is closing");
  emu_call_t *c = strlen(call_id) < 256 ? dt__emu_call_find(emu, call_id) : NULL;
  if (c == NULL) return dt_seterr(err, errlen, DT_ENOENT, "no call %.80s", call_id);
  if (c->ended) return dt_seterr(err, errlen, DT_ESTATE, "call %s has ended", c->id);
  *out = c;
  return 0;
}

/* ------------------------------------------------------------------ calls */
int dt_emulator_place_call(dt_emulator_t *emu, const dt_emulator_call_options_t *o,
                           char call_id[DT_EMULATOR_CALL_ID_LEN], char *err, size_t errlen) {
  if (call_id) call_id[0] = '\0';
  if (emu == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no emulator");
  if (emu->closing) return dt_seterr(err, errlen, DT_ECLOSED, "the emulator is closing");
  dt_emulator_call_options_t none = {0};
  if (o == NULL) o = &none;
  const char *bot = o->bot_url ? o->bot_url : emu->bot_url;
  if (!dt__emu_valid_url(bot))
    return dt_seterr(err, errlen, DT_EINVAL,
                     "no bot URL: give \"bot_url\" or set one with POST /emulator/config");
  cJSON *from = o->from ? dt__emu_identity_from_short(o->from) : NULL;
  if (o->from && from == NULL)
    return dt_seterr(err, errlen, DT_EINVAL,
                     "\"from\" must be an identity: {\"user\":\"id\"}, {\"phone\":\"+1...\"}, an identitySet or a string");
  cJSON *to = o->to ? dt__emu_identity_from_short(o->to) : NULL;
  if (o->to && to == NULL) {
    cJSON_Delete(from);
    return dt_seterr(err, errlen, DT_EINVAL, "\"to\" must be an identity");
  }
  bool mods_ok = o->modalities == NULL || (cJSON_IsArray(o->modalities) && cJSON_GetArraySize(o->modalities) <= 8);
  const cJSON *mit;
  if (mods_ok) cJSON_ArrayForEach(mit, o->modalities) if (!cJSON_IsString(mit)) mods_ok = false;
  if (!mods_ok) {
    cJSON_Delete(from);
    cJSON_Delete(to);
    return dt_seterr(err, errlen, DT_EINVAL, "\"modalities\" must be an array of strings such as \"audio\"");
  }
  if (o->tenant_id && strlen(o->tenant_id) > 200) {
    cJSON_Delete(from);
    cJSON_Delete(to);
    return dt_seterr(err, errlen, DT_EINVAL, "\"tenant_id\" is too long");
  }
  const char *tenant = o->tenant_id ? o->tenant_id : emu->tenant_id;
  cJSON *extra = NULL;
  bool observed = false;
  int xrc = dt__emu_incoming_extra(o, tenant, &extra, &observed, err, errlen);
  if (xrc != 0) {
    cJSON_Delete(from);
    cJSON_Delete(to);
    return xrc;
  }
  emu_script_t script;
  char serr[160] = "";
  if (dt__emu_script_parse(o->script, &script, serr, sizeof serr) != 0) {
    cJSON_Delete(from);
    cJSON_Delete(to);
    cJSON_Delete(extra);
    return dt_seterr(err, errlen, DT_EINVAL, "%s", serr);
  }
  if (from == NULL) {
    cJSON *s = cJSON_CreateString("+15555550100");
    from = dt__emu_identity_from_short(s);
    cJSON_Delete(s);
  }
  if (to == NULL && observed) to = dt__emu_recorder_target(emu->app_id, tenant);
  if (to == NULL) {
    to = cJSON_CreateObject();
    cJSON *app = cJSON_AddObjectToObject(to, "application");
    cJSON_AddStringToObject(app, "@odata.type", "#microsoft.graph.identity");
    cJSON_AddStringToObject(app, "id", emu->app_id);
    cJSON_AddStringToObject(app, "displayName", "Calling Bot");
  }
  emu_call_t *c = dt__emu_incoming_ctx(emu, from, to, extra, observed, bot, &script, o->tenant_id, o->modalities);
  dt__emu_script_free(&script);
  cJSON_Delete(from);
  cJSON_Delete(to);
  if (call_id) snprintf(call_id, DT_EMULATOR_CALL_ID_LEN, "%s", c->id);
  return 0;
}

int dt_emulator_press(dt_emulator_t *emu, const char *call_id, const char *tones, int64_t gap_ms,
                      char *err, size_t errlen) {
  if (tones == NULL || tones[0] == '\0' || !dt__emu_valid_tones(tones))
    return dt_seterr(err, errlen, DT_EINVAL, "\"tones\" must be a string of up to 64 of 0-9 * # A-D");
  if (gap_ms > 60000) return dt_seterr(err, errlen, DT_EINVAL, "\"gap_ms\" must be from 0 to 60000");
  if (gap_ms < 0) gap_ms = 150;
  emu_call_t *c = NULL;
  int rc = live_call(emu, call_id, &c, err, errlen);
  if (rc != 0) return rc;
  dt__emu_caller_press(c, tones, gap_ms);
  return 0;
}

int dt_emulator_speak(dt_emulator_t *emu, const char *call_id, int64_t ms, char *err, size_t errlen) {
  if (ms <= 0 || ms > 3600000)
    return dt_seterr(err, errlen, DT_EINVAL, "\"seconds\" must be a number above 0 and at most 3600");
  emu_call_t *c = NULL;
  int rc = live_call(emu, call_id, &c, err, errlen);
  if (rc != 0) return rc;
  dt__emu_caller_speak(c, ms, 0);
  return 0;
}

int dt_emulator_hangup(dt_emulator_t *emu, const char *call_id, char *err, size_t errlen) {
  emu_call_t *c = NULL;
  int rc = live_call(emu, call_id, &c, err, errlen);
  if (rc != 0) return rc;
  dt__emu_caller_hangup(c);
  return 0;
}

/* ------------------------------------------------------------------ people in meetings */
/* The identitySet of who (a new object), or NULL with err set. */
static cJSON *person_identity(const dt_emulator_person_t *who, char *err, size_t errlen) {
  if (who->name && strlen(who->name) > 256) {
    dt_seterr(err, errlen, DT_EINVAL, "\"name\" must be at most 256 characters");
    return NULL;
  }
  cJSON *set;
  if (who->guest) {
    if (!who->guest[0] || strlen(who->guest) > 256 || who->identity) {
      dt_seterr(err, errlen, DT_EINVAL, "\"guest\" must be a display name of 1 to 256 characters, alone");
      return NULL;
    }
    char gid[37];
    dt_guid(gid);
    set = cJSON_CreateObject();
    cJSON *g = cJSON_AddObjectToObject(set, "guest");
    cJSON_AddStringToObject(g, "@odata.type", "#microsoft.graph.identity");
    cJSON_AddStringToObject(g, "id", gid);
    cJSON_AddStringToObject(g, "displayName", who->guest);
    return set;
  }
  set = dt__emu_identity_from_short(who->identity);
  if (set == NULL) {
    dt_seterr(err, errlen, DT_EINVAL, "say who joins: {\"user\":\"id\"}, {\"phone\":\"+1…\"} or {\"guest\":\"name\"}");
    return NULL;
  }
  if (who->name) {
    const char *kind = NULL;
    dt__emu_identity_id(set, &kind);
    cJSON *ident = kind ? cJSON_GetObjectItemCaseSensitive(set, kind) : NULL;
    if (cJSON_IsObject(ident)) {
      cJSON_DeleteItemFromObjectCaseSensitive(ident, "displayName");
      cJSON_AddStringToObject(ident, "displayName", who->name);
    }
  }
  return set;
}

int dt_emulator_join(dt_emulator_t *emu, const char *call_id, const dt_emulator_person_t *who,
                     char participant_id[DT_EMULATOR_CALL_ID_LEN], char *err, size_t errlen) {
  if (who == NULL) return dt_seterr(err, errlen, DT_EINVAL, "nobody to join");
  emu_call_t *c = NULL;
  int rc = live_call(emu, call_id, &c, err, errlen);
  if (rc != 0) return rc;
  cJSON *set = person_identity(who, err, errlen);
  if (set == NULL) return DT_EINVAL;
  char pid[37];
  rc = dt__emu_person_join(c, set, pid);
  cJSON_Delete(set);
  if (rc == DT_ESTATE)
    return dt_seterr(err, errlen, rc, "call %s is not an established group call or meeting (nobody joins a 1:1 call)",
                     c->id);
  if (rc != 0) return dt_seterr(err, errlen, rc, "the identity names nobody");
  if (participant_id) snprintf(participant_id, DT_EMULATOR_CALL_ID_LEN, "%s", pid);
  return 0;
}

int dt_emulator_leave(dt_emulator_t *emu, const char *call_id, const char *who, char *err, size_t errlen) {
  emu_call_t *c = NULL;
  int rc = live_call(emu, call_id, &c, err, errlen);
  if (rc != 0) return rc;
  rc = dt__emu_person_leave(c, who);
  switch (rc) {
  case 0: return 0;
  case DT_ENOENT: return dt_seterr(err, errlen, rc, "nobody '%.80s' is in call %s", who, c->id);
  case DT_ESTATE:
    return dt_seterr(err, errlen, rc, "call %s is not an established group call or meeting", c->id);
  default:
    return dt_seterr(err, errlen, rc, "\"who\" must be a participant id or an identity id (not the bot's own)");
  }
}

int dt_emulator_hold(dt_emulator_t *emu, const char *call_id, bool on, char *err, size_t errlen) {
  emu_call_t *c = NULL;
  int rc = live_call(emu, call_id, &c, err, errlen);
  if (rc != 0) return rc;
  if (c->state != (on ? EMU_CS_ESTABLISHED : EMU_CS_HOLD))
    return dt_seterr(err, errlen, DT_ESTATE, "the call is %s, not %s", dt__emu_state_name(c->state),
                     on ? "established" : "on hold");
  dt__emu_caller_hold(c, on);
  return 0;
}

/* ------------------------------------------------------------------ bot URL, parties */
int dt_emulator_set_bot_url(dt_emulator_t *emu, const char *url, char *err, size_t errlen) {
  if (emu == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no emulator");
  if (url != NULL && !dt__emu_valid_url(url))
    return dt_seterr(err, errlen, DT_EINVAL, "\"bot_url\" must be an http(s) URL or null");
  free(emu->bot_url);
  emu->bot_url = url ? dt_xstrdup(url) : NULL;
  return 0;
}

const char *dt_emulator_bot_url(const dt_emulator_t *emu) { return emu ? emu->bot_url : NULL; }

int dt_emulator_set_party(dt_emulator_t *emu, const char *id, const dt_emulator_party_t *party,
                          char *err, size_t errlen) {
  char key[260];
  if (emu == NULL || party == NULL || !dt__emu_party_key(id, key))
    return dt_seterr(err, errlen, DT_EINVAL, "a party needs an identity id of 1 to 255 bytes");
  if (party->behaviour < DT_EMULATOR_ANSWER || party->behaviour > DT_EMULATOR_REJECT)
    return dt_seterr(err, errlen, DT_EINVAL,
                     "\"behaviour\" must be \"answer\", \"busy\", \"noanswer\" or \"reject\"");
  if (party->answer_delay_ms > 86400000)
    return dt_seterr(err, errlen, DT_EINVAL, "\"answer_delay_ms\" must be a number from 0 to 86400000");
  emu_party_t *p = dt_xcalloc(1, sizeof *p);
  p->behaviour = (int)party->behaviour;
  p->answer_delay_ms = party->answer_delay_ms < 0 ? -1 : party->answer_delay_ms;
  char serr[160] = "";
  if (dt__emu_script_parse(party->script, &p->script, serr, sizeof serr) != 0) {
    free(p);
    return dt_seterr(err, errlen, DT_EINVAL, "%s", serr);
  }
  dt__emu_party_free(dt_hashmap_del(&emu->parties, key));
  dt_hashmap_put(&emu->parties, key, p);
  return 0;
}

int dt_emulator_remove_party(dt_emulator_t *emu, const char *id) {
  char key[260];
  if (emu == NULL || !dt__emu_party_key(id, key)) return DT_EINVAL;
  dt__emu_party_free(dt_hashmap_del(&emu->parties, key));
  return 0;
}

/* ------------------------------------------------------------------ settings, faults */
/* A field of the settings (dt_emulator_config_t) or the faults (dt_emulator_faults_t) as
   their tables below name it: its JSON name, C type, place in the struct and range. The
   typed setters check by these tables, and so do the POST /emulator/config and /faults
   parsers, so a range is written once. */
typedef enum { FIELD_DOUBLE, FIELD_I64, FIELD_INT, FIELD_SIZE, FIELD_BOOL } field_type_t;
typedef struct {
  const char *name;
  field_type_t type;
  size_t offset;
  double lo, hi;
  bool zero_is_off; /* 0 is allowed too: the field is off */
} field_t;

static double field_get(const void *base, const field_t *f) {
  const char *p = (const char *)base + f->offset;
  switch (f->type) {
  case FIELD_DOUBLE: return *(const double *)p;
  case FIELD_I64: return (double)*(const int64_t *)p;
  case FIELD_INT: return *(const int *)p;
  case FIELD_SIZE: return (double)*(const size_t *)p;
  default: return *(const bool *)p;
  }
}

static bool field_ok(const field_t *f, double v) { return (f->zero_is_off && v == 0) || (v >= f->lo && v <= f->hi); }

/* v is within the field's range (field_ok), so it fits its type. */
static void field_put(void *base, const field_t *f, double v) {
  char *p = (char *)base + f->offset;
  switch (f->type) {
  case FIELD_DOUBLE: *(double *)p = v; break;
  case FIELD_I64: *(int64_t *)p = (int64_t)v; break;
  case FIELD_INT: *(int *)p = (int)v; break;
  case FIELD_SIZE: *(size_t *)p = (size_t)v; break;
  default: *(bool *)p = v != 0; break;
  }
}

/* The numeric settings (strict is a boolean beside them). */
#define SETTING(name, type, lo, hi) {#name, type, offsetof(dt_emulator_config_t, name), lo, hi, false}
static const field_t SETTINGS[] = {
    SETTING(time_scale, FIELD_DOUBLE, 0, 1000),
    SETTING(default_prompt_ms, FIELD_I64, 0, 3600000),
    SETTING(answer_timeout_ms, FIELD_I64, 1, 3600000),
    SETTING(ring_timeout_ms, FIELD_I64, 0, 3600000),
    SETTING(answer_delay_ms, FIELD_I64, 0, 3600000),
    SETTING(history, FIELD_SIZE, 1, 1000000),
};
#undef SETTING

/* 0, or DT_EINVAL with "\"NAME\" must be a number from LO to HI" in err. */
static int setting_ok(const field_t *f, double v, char *err, size_t errlen) {
  if (field_ok(f, v)) return 0;
  return dt_seterr(err, errlen, DT_EINVAL, "\"%s\" must be a number from %.10g to %.10g", f->name, f->lo, f->hi);
}

void dt_emulator_get_config(const dt_emulator_t *emu, dt_emulator_config_t *out) { *out = emu->cfg; }

int dt_emulator_set_config(dt_emulator_t *emu, const dt_emulator_config_t *c, char *err, size_t errlen) {
  if (emu == NULL || c == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no settings");
  for (size_t i = 0; i < DT_ARRAY_SIZE(SETTINGS); i++) {
    int rc = setting_ok(&SETTINGS[i], field_get(c, &SETTINGS[i]), err, errlen);
    if (rc) return rc;
  }
  if (c->time_scale != emu->cfg.time_scale) dt_emulator_set_time_scale(emu, c->time_scale);
  emu->cfg = *c;
  return 0;
}

int dt__emu_config_from_json(const cJSON *body, dt_emulator_config_t *c, char *err, size_t errlen) {
  dt_emulator_config_t next = *c;
  for (size_t i = 0; i < DT_ARRAY_SIZE(SETTINGS); i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, SETTINGS[i].name);
    if (v == NULL) continue;
    int rc = setting_ok(&SETTINGS[i], cJSON_IsNumber(v) ? v->valuedouble : NAN, err, errlen); /* NaN: in no range */
    if (rc) return rc;
    field_put(&next, &SETTINGS[i], v->valuedouble);
  }
  const cJSON *strict = cJSON_GetObjectItemCaseSensitive(body, "strict");
  if (strict && !cJSON_IsBool(strict)) return dt_seterr(err, errlen, DT_EINVAL, "\"strict\" must be true or false");
  if (strict) next.strict = cJSON_IsTrue(strict);
  *c = next;
  return 0;
}

void dt_emulator_set_time_scale(dt_emulator_t *emu, double scale) {
  if (scale < 0) scale = 0;
  emu->cfg.time_scale = scale;
  dt__emu_sched_set_scale(&emu->sim, scale);
}

/* Every fault once, in the order of the JSON view. */
#define FAULT(name, type, lo, hi, zero_is_off) {#name, type, offsetof(dt_emulator_faults_t, name), lo, hi, zero_is_off}
#define PROB(name) FAULT(name, FIELD_DOUBLE, 0, 1, false)
#define MS(name) FAULT(name, FIELD_I64, 0, 3600000, false)
#define COUNT(name) FAULT(name, FIELD_INT, 0, 3600000, false)
#define STATUS(name) FAULT(name, FIELD_INT, 400, 599, true)
#define FLAG(name) FAULT(name, FIELD_BOOL, 0, 1, false)
static const field_t FAULTS[] = {
    PROB(drop_notifications), PROB(duplicate_notifications), PROB(delay_notifications), MS(delay_ms),
    PROB(reorder_notifications), STATUS(graph_status), COUNT(graph_status_count), COUNT(retry_after_s),
    FLAG(graph_hang), FLAG(ops_never_complete), FLAG(pascal_case), FLAG(swap_answer_notifications),
    STATUS(recording_status), COUNT(recording_status_count), FLAG(recording_hang), FLAG(no_media_state),
    MS(media_delay_ms),
};
#undef FAULT
#undef PROB
#undef MS
#undef COUNT
#undef STATUS
#undef FLAG

void dt_emulator_get_faults(const dt_emulator_t *emu, dt_emulator_faults_t *out) { *out = emu->faults; }

int dt_emulator_set_faults(dt_emulator_t *emu, const dt_emulator_faults_t *f, char *err, size_t errlen) {
  if (emu == NULL || f == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no faults");
  for (size_t i = 0; i < DT_ARRAY_SIZE(FAULTS); i++)
    if (!field_ok(&FAULTS[i], field_get(f, &FAULTS[i])))
      return dt_seterr(err, errlen, DT_EINVAL, "bad value for fault \"%s\"", FAULTS[i].name);
  emu->faults = *f;
  return 0;
}

int dt__emu_faults_from_json(const cJSON *body, dt_emulator_faults_t *out, char *err, size_t errlen) {
  dt_emulator_faults_t f = {0}; /* what is not named is off */
  const cJSON *it;
  cJSON_ArrayForEach(it, body) {
    size_t i = 0;
    while (i < DT_ARRAY_SIZE(FAULTS) && strcmp(it->string, FAULTS[i].name) != 0) i++;
    if (i == DT_ARRAY_SIZE(FAULTS)) return dt_seterr(err, errlen, DT_EINVAL, "unknown fault \"%.80s\"", it->string);
    bool is_bool = FAULTS[i].type == FIELD_BOOL;
    if (is_bool ? !cJSON_IsBool(it) : !(cJSON_IsNumber(it) && field_ok(&FAULTS[i], it->valuedouble)))
      return dt_seterr(err, errlen, DT_EINVAL, "bad value for fault \"%.80s\"", it->string);
    field_put(&f, &FAULTS[i], is_bool ? cJSON_IsTrue(it) : it->valuedouble);
  }
  *out = f;
  return 0;
}

cJSON *dt__emu_faults_json(const emu_faults_t *f) {
  cJSON *o = cJSON_CreateObject();
  for (size_t i = 0; i < DT_ARRAY_SIZE(FAULTS); i++) {
    if (FAULTS[i].type == FIELD_BOOL) cJSON_AddBoolToObject(o, FAULTS[i].name, field_get(f, &FAULTS[i]) != 0);
    else cJSON_AddNumberToObject(o, FAULTS[i].name, field_get(f, &FAULTS[i]));
  }
  return o;
}

/* ------------------------------------------------------------------ reset, stats */
void dt_emulator_reset(dt_emulator_t *emu) {
  if (emu == NULL || emu->closing) return;
  size_t n = 0;
  void **vals = dt_hashmap_values(&emu->calls, &n);
  for (size_t i = 0; i < n; i++) {
    emu_call_t *c = vals[i];
    dt__emu_call_cancel_events(c);
    dt__emu_media_cancel_all(c, false);
    dt__emu_nq_free(c); /* queued, not yet sent: dropped */
    if (!c->ended) emu->active_calls--;
    c->ended = true;
    c->evicted = true;
    dt_hashmap_del(&emu->calls, c->key);
    dt__emu_call_unref(c);
  }
  free(vals);
  emu->hist = (dt_list_t){0}; /* its calls are gone from the map; what still holds one frees it */
  dt_hashmap_clear(&emu->parties, dt__emu_party_free);
  dt__emu_prompt_cache_forget_known(emu);
  memset(&emu->faults, 0, sizeof emu->faults);
  dt__emu_online_meetings_clear(emu);
}

void dt_emulator_get_stats(const dt_emulator_t *emu, dt_emulator_stats_t *out) {
  memset(out, 0, sizeof *out);
  out->active_calls = emu->active_calls;
  out->calls_total = emu->n_calls;
  out->ended_calls_kept = dt_list_count(&emu->hist);
  out->requests_total = emu->n_requests;
  out->notifications_total = emu->n_notifications;
  out->notifications_failed = emu->n_notify_failed;
  out->prompts_cached = dt_hashmap_count(&emu->prompts);
  out->recordings = emu->nrec;
  out->recording_requests = emu->n_rec_requests;
  out->recording_downloads = emu->n_rec_served;
  out->sim_time_ms = dt__emu_sched_now(&emu->sim);
}

cJSON *dt__emu_stats_json(const dt_emulator_t *emu) {
  dt_emulator_stats_t s;
  dt_emulator_get_stats(emu, &s);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "active_calls", (double)s.active_calls);
  cJSON_AddNumberToObject(o, "calls_total", (double)s.calls_total);
  cJSON_AddNumberToObject(o, "ended_calls_kept", (double)s.ended_calls_kept);
  cJSON_AddNumberToObject(o, "requests_total", (double)s.requests_total);
  cJSON_AddNumberToObject(o, "notifications_total", (double)s.notifications_total);
  cJSON_AddNumberToObject(o, "notifications_failed", (double)s.notifications_failed);
  cJSON_AddNumberToObject(o, "prompts_cached", (double)s.prompts_cached);
  cJSON_AddNumberToObject(o, "recordings", (double)s.recordings);
  cJSON_AddNumberToObject(o, "recording_requests", (double)s.recording_requests);
  cJSON_AddNumberToObject(o, "recording_downloads", (double)s.recording_downloads);
  cJSON_AddNumberToObject(o, "sim_time_ms", (double)s.sim_time_ms);
  return o;
}

/* ------------------------------------------------------------------ JSON views */
cJSON *dt__emu_call_summary(const emu_call_t *c) {
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

static const char *op_kind(int t) {
  switch (t) {
  case EMU_OP_PLAY: return "playPrompt";
  case EMU_OP_RECORD: return "record";
  default: return "other";
  }
}

cJSON *dt__emu_call_detail(const emu_call_t *c) {
  cJSON *o = dt__emu_call_summary(c);
  cJSON_AddItemToObject(o, "resource", cJSON_Duplicate(c->res, 1));
  cJSON_AddItemToObject(o, "participants", cJSON_Duplicate(c->participants, 1));
  cJSON_AddBoolToObject(o, "tone_subscribed", c->tone_subscribed);
  cJSON_AddNumberToObject(o, "tone_sequence", (double)c->tone_seq);
  cJSON_AddBoolToObject(o, "muted", c->muted);
  if (c->recording_status[0]) cJSON_AddStringToObject(o, "recording_status", c->recording_status);
  cJSON *mq = cJSON_AddArrayToObject(o, "media_queue");
  for (dt_list_node_t *n = c->mq.head; n; n = n->next) {
    const emu_op_t *op = DT_LIST_ENTRY(n, emu_op_t, qlink);
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

static int cmp_serial(const void *a, const void *b) {
  const emu_call_t *x = *(emu_call_t *const *)a, *y = *(emu_call_t *const *)b;
  return x->serial < y->serial ? -1 : x->serial > y->serial;
}

cJSON *dt_emulator_calls_json(const dt_emulator_t *emu) {
  size_t n = 0;
  void **vals = dt_hashmap_values(&emu->calls, &n);
  qsort(vals, n, sizeof *vals, cmp_serial);
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "calls");
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, dt__emu_call_summary(vals[i]));
  free(vals);
  cJSON_AddNumberToObject(o, "active", (double)emu->active_calls);
  return o;
}

cJSON *dt_emulator_call_json(dt_emulator_t *emu, const char *call_id) {
  emu_call_t *c = call_id && strlen(call_id) < 256 ? dt__emu_call_find(emu, call_id) : NULL;
  return c ? dt__emu_call_detail(c) : NULL;
}

cJSON *dt_emulator_timeline_json(dt_emulator_t *emu, const char *call_id) {
  emu_call_t *c = call_id && strlen(call_id) < 256 ? dt__emu_call_find(emu, call_id) : NULL;
  if (c == NULL) return NULL;
  size_t len = 0;
  char *text = dt__emu_timeline_text(c, &len);
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  return j;
}

cJSON *dt_emulator_config_json(const dt_emulator_t *emu) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "url", emu->url);
  cJSON_AddNumberToObject(o, "time_scale", emu->cfg.time_scale);
  if (emu->bot_url) cJSON_AddStringToObject(o, "bot_url", emu->bot_url);
  else cJSON_AddNullToObject(o, "bot_url");
  cJSON_AddStringToObject(o, "app_id", emu->app_id);
  cJSON_AddStringToObject(o, "tenant_id", emu->tenant_id);
  cJSON_AddNumberToObject(o, "default_prompt_ms", (double)emu->cfg.default_prompt_ms);
  cJSON_AddNumberToObject(o, "answer_timeout_ms", (double)emu->cfg.answer_timeout_ms);
  cJSON_AddNumberToObject(o, "ring_timeout_ms", (double)emu->cfg.ring_timeout_ms);
  cJSON_AddNumberToObject(o, "answer_delay_ms", (double)emu->cfg.answer_delay_ms);
  cJSON_AddNumberToObject(o, "history", (double)emu->cfg.history);
  cJSON_AddBoolToObject(o, "strict", emu->cfg.strict);
  char *tu = dt_xasprintf("%s/%s/oauth2/v2.0/token", emu->url, emu->tenant_id);
  cJSON_AddStringToObject(o, "token_url", tu);
  free(tu);
  char *gu = dt_xasprintf("%s/v1.0", emu->url);
  cJSON_AddStringToObject(o, "graph_url", gu);
  free(gu);
  return o;
}

cJSON *dt__emu_party_json(const char *key, const emu_party_t *p) {
  static const char *const names[] = {"answer", "busy", "noanswer", "reject"};
  cJSON *x = cJSON_CreateObject();
  cJSON_AddStringToObject(x, "id", key);
  cJSON_AddStringToObject(x, "behaviour", names[p->behaviour]);
  if (p->answer_delay_ms >= 0) cJSON_AddNumberToObject(x, "answer_delay_ms", (double)p->answer_delay_ms);
  cJSON_AddItemToObject(x, "script", dt__emu_script_json(&p->script));
  return x;
}

cJSON *dt_emulator_parties_json(const dt_emulator_t *emu) {
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "parties");
  dt_hashmap_iter_t it = dt_hashmap_iter(&emu->parties);
  for (dt_hashmap_node_t *n; (n = dt_hashmap_next(&it)) != NULL;)
    cJSON_AddItemToArray(arr, dt__emu_party_json(n->key, dt_hashmap_entry(n)->val));
  return o;
}

/* ------------------------------------------------------------------ the simulated clock */
void dt_emulator_set_clock_manual(dt_emulator_t *emu, bool manual) {
  if (emu == NULL || emu->closing) return;
  if (!manual && emu->keepalive_sim) {
    /* a free-running clock (instant at scale 0) would jump to the keepAlive rule's deadline
       whenever idle: from now on the rule runs in real time, each live call's from now */
    emu->keepalive_sim = false;
    size_t n = 0;
    emu_call_t **calls = dt_xcalloc(emu->sim.n + 1, sizeof *calls);
    for (size_t i = 0; i < emu->sim.n; i++)
      if (emu->sim.heap[i]->lazy && emu->sim.heap[i]->call) calls[n++] = emu->sim.heap[i]->call;
    for (size_t i = 0; i < n; i++) dt__emu_keepalive(calls[i]);
    free(calls);
  }
  dt__emu_sched_set_manual(&emu->sim, manual);
}

uint64_t dt_emulator_clock_now(const dt_emulator_t *emu) { return dt__emu_sched_now(&emu->sim); }

int dt_emulator_clock_next_due(const dt_emulator_t *emu, uint64_t *due) {
  return dt__emu_sched_next_due(&emu->sim, due);
}

int dt_emulator_clock_next_active_due(const dt_emulator_t *emu, uint64_t *due) {
  return dt__emu_sched_next_active_due(&emu->sim, due);
}

int dt_emulator_clock_next(dt_emulator_t *emu) {
  if (emu == NULL) return DT_EINVAL;
  if (emu->closing) return DT_ECLOSED;
  return dt__emu_sched_next(&emu->sim);
}

int dt_emulator_clock_advance(dt_emulator_t *emu, uint64_t ms) {
  if (emu == NULL || ms > UINT64_MAX / 4) return DT_EINVAL;
  if (emu->closing) return DT_ECLOSED;
  return dt__emu_sched_advance(&emu->sim, ms);
}

bool dt_emulator_busy(const dt_emulator_t *emu) {
  if (emu == NULL || emu->closing) return false;
  if (emu->inflight.head != NULL || emu->hook_n > 0) return true; /* deliveries, prompt fetches */
  dt_hashmap_iter_t it = dt_hashmap_iter(&emu->calls);
  for (dt_hashmap_node_t *n; (n = dt_hashmap_next(&it)) != NULL;) {
    const emu_call_t *c = dt_hashmap_entry(n)->val;
    if (c->nq_busy || c->nq.head) return true;
  }
  return false;
}
