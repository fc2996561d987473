/*
 * call_lua.c — every primitive on the call handle (call_handle.c), plus dialtone.dial, log
 * and print.
 *
 * Each primitive validates all its arguments first (raising with a clear message, unknown
 * option names included) while nothing is allocated outside Lua, then starts the
 * engine-neutral primitive in core/calls and yields with a continuation (lua_yieldk).
 * The scheduler resumes the coroutine when core reports the result; the continuation
 * turns call->result into return values, or raises an error object that pcall can catch
 * (code "hangup" when the call ended while waiting).
 *
 * Sits above rt_state, prompts, flows and call_handle, below the scheduler (see
 * rt_internal.h): it never resumes a coroutine, it only yields.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "dialtone/error.h"
#include "dialtone/graph_body.h"
#include "dialtone/call_tags.h"
#include "dialtone/log.h"
#include "dialtone/meeting_link.h"
#include "call_handle.h"
#include "call_tag.h"
#include "call_lua.h"
#include "flows.h"
#include "prompts.h"
#include "rt_state.h"
#include "say.h"

/* ---------------------------------------------------------------- timers */

uint64_t dt__call_lua_timer_ms(const dt_runtime_t *rt, double seconds) {
  double ms = seconds * 1000.0;
  if (rt->instant_timers) ms = ms < DT_INSTANT_TIMER_MS ? ms : DT_INSTANT_TIMER_MS;
  else ms *= rt->timer_scale;
  if (!(ms >= 1.0)) return 1; /* 0 means "default" to some primitives; NaN too */
  if (ms > 4e9) return 4000000000u;
  return (uint64_t)ms;
}

/* ---------------------------------------------------------------- option helpers */

/* Pushes t[key] (nil if t is not a table). */
static int get_opt(lua_State *L, int idx, const char *key) {
  if (!lua_istable(L, idx)) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, idx, key);
}

/* The start of every call:PRIM{…} that takes options: the running flow's own call (the
   handle at 1), then the option table at idx checked against allowed ("call:PRIM: unknown
   option …"). */
static dt_call_t *own_with_options(lua_State *L, const char *prim, int idx, const char *const *allowed) {
  dt_call_t *c = dt__call_handle_own(L, 1, prim);
  char full[40];
  snprintf(full, sizeof full, "call:%s", prim);
  dt__call_handle_check_options(L, idx, full, allowed);
  return c;
}

/* Pushes the required option t[key], or raises "PRIM: KEY is required". */
static void need_opt(lua_State *L, int idx, const char *prim, const char *key) {
  if (get_opt(L, idx, key) == LUA_TNIL) luaL_error(L, "%s: %s is required", prim, key);
}

/* The call id at idx: a string as it is, or a call handle's call (NULL for nil). */
static const char *call_id_at(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  if (t == LUA_TNIL) return NULL;
  return t == LUA_TSTRING ? lua_tostring(L, idx) : dt__call_handle_check(L, idx)->id;
}

/* Pushes the option t[key] and returns its type: nil when absent; a value of another type
   than `want` raises "PRIM: option 'KEY' must be WHAT, got TYPE". The caller pops it. */
static int typed_opt(lua_State *L, int idx, const char *prim, const char *key, int want, const char *what) {
  int t = get_opt(L, idx, key);
  if (t != LUA_TNIL && t != want) luaL_error(L, "%s: option '%s' must be %s, got %s", prim, key, what, lua_typename(L, t));
  return t;
}

static double opt_num(lua_State *L, int idx, const char *prim, const char *key, double def, double min,
                      double max) {
  double v = def;
  if (typed_opt(L, idx, prim, key, LUA_TNUMBER, "a number") != LUA_TNIL) {
    v = lua_tonumber(L, -1);
    if (!(v >= min && v <= max)) {
      char msg[200];
      snprintf(msg, sizeof msg, "%s: option '%s' must be between %g and %g", prim, key, min, max);
      luaL_error(L, "%s", msg);
    }
  }
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, int idx, const char *prim, const char *key, int def) {
  int v = typed_opt(L, idx, prim, key, LUA_TBOOLEAN, "a boolean") != LUA_TNIL ? lua_toboolean(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

/* The string stays valid while the option table is on the stack. */
static const char *opt_str(lua_State *L, int idx, const char *prim, const char *key, const char *def) {
  const char *v = typed_opt(L, idx, prim, key, LUA_TSTRING, "a string") != LUA_TNIL ? lua_tostring(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

/* Reads a prompt or a list of prompts at idx into a dt_media_t array that lives in a
   userdata left on the stack (with the URI strings anchored in a table under it). */
static dt_media_t *check_prompts(lua_State *L, int idx, const char *prim, size_t *n, size_t maxn) {
  idx = lua_absindex(L, idx);
  size_t count;
  if (lua_type(L, idx) == LUA_TSTRING) count = 1;
  else if (lua_istable(L, idx)) count = lua_rawlen(L, idx);
  else {
    luaL_error(L, "%s: prompts must be a name, a URL or a list of them, got %s", prim, luaL_typename(L, idx));
    return NULL;
  }
  if (count == 0) luaL_error(L, "%s: no prompt given", prim);
  if (count > maxn) luaL_error(L, "%s: at most %d prompts", prim, (int)maxn);
  lua_createtable(L, (int)count, 0); /* anchors */
  int anchors = lua_gettop(L);
  dt_media_t *m = lua_newuserdatauv(L, count * sizeof *m, 0);
  memset(m, 0, count * sizeof *m);
  for (size_t i = 0; i < count; i++) {
    const char *name;
    if (lua_type(L, idx) == LUA_TSTRING) {
      name = lua_tostring(L, idx);
    } else {
      if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TSTRING)
        luaL_error(L, "%s: prompt %d must be a string", prim, (int)i + 1);
      name = lua_tostring(L, -1);
      lua_pop(L, 1); /* still referenced by the table */
    }
    const char *uri = dt__say_prompt_uri(L, name); /* language folder, NAME.txt spoken */
    m[i].uri = uri;
    lua_rawseti(L, anchors, (lua_Integer)i + 1);
  }
  *n = count;
  return m;
}

/* ---------------------------------------------------------------- identities */

static const struct {
  const char *lua, *graph;
} KINDS[] = {{"user", "user"},
             {"phone", "phone"},
             {"application", "application"},
             {"application_instance", "applicationInstance"},
             {"applicationInstance", "applicationInstance"},
             {"guest", "guest"}};

/* Reads an identity table ({user="id"}, {user={id=,tenant=,name=}}, {phone="+1…"},
   {application="id"}, {guest={name=,id=}}) at idx. Strings stay owned by the table. */
static void check_identity(lua_State *L, int idx, const char *prim, dt_identity_t *out, const char **replaces) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx))
    luaL_error(L, "%s: an identity must be a table such as {user=\"id\"} or {phone=\"+1…\"}, got %s", prim,
               luaL_typename(L, idx));
  memset(out, 0, sizeof *out);
  if (replaces) *replaces = NULL;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (!k) luaL_error(L, "%s: identity keys must be strings", prim);
    bool kind = false;
    for (size_t i = 0; i < DT_ARRAY_SIZE(KINDS); i++) {
      if (strcmp(k, KINDS[i].lua) != 0) continue;
      kind = true;
      if (out->kind) luaL_error(L, "%s: an identity names one party (%s and %s given)", prim, out->kind, KINDS[i].graph);
      out->kind = KINDS[i].graph;
      if (lua_type(L, -1) == LUA_TSTRING) {
        if (strcmp(k, "guest") == 0) out->display_name = lua_tostring(L, -1);
        else out->id = lua_tostring(L, -1);
      } else if (lua_istable(L, -1)) {
        int t = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, t)) {
          const char *ik = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
          if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: identity field '%s' must be a string", prim, ik);
          if (strcmp(ik, "id") == 0) out->id = lua_tostring(L, -1);
          else if (strcmp(ik, "tenant") == 0) out->tenant_id = lua_tostring(L, -1);
          else if (strcmp(ik, "name") == 0) out->display_name = lua_tostring(L, -1);
          else luaL_error(L, "%s: unknown identity field '%s' (id, tenant, name)", prim, ik);
          lua_pop(L, 1);
        }
      } else {
        luaL_error(L, "%s: identity '%s' must be a string or a table", prim, k);
      }
    }
    if (!kind) {
      if (lua_type(L, -1) != LUA_TSTRING && !(replaces && strcmp(k, "replaces_call") == 0))
        luaL_error(L, "%s: identity field '%s' must be a string", prim, k);
      if (strcmp(k, "name") == 0) out->display_name = lua_tostring(L, -1);
      else if (strcmp(k, "tenant") == 0) out->tenant_id = lua_tostring(L, -1);
      else if (replaces && strcmp(k, "replaces_call") == 0) {
        *replaces = call_id_at(L, -1);
      } else
        luaL_error(L, "%s: unknown identity field '%s' (user, phone, application, application_instance, "
                      "guest, name, tenant%s)", prim, k, replaces ? ", replaces_call" : "");
    }
    lua_pop(L, 1);
  }
  if (!out->kind) luaL_error(L, "%s: the identity names nobody (use user=, phone=, application=, guest=)", prim);
  if (!out->id && strcmp(out->kind, "guest") != 0) luaL_error(L, "%s: the %s identity needs an id", prim, out->kind);
}

/* One identity table or a list of them at idx → an invitation array in a userdata left on
   the stack. */
static dt_invitation_t *check_invitations(lua_State *L, int idx, const char *prim, size_t *n, size_t maxn) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) luaL_error(L, "%s: expected an identity or a list of identities", prim);
  bool single = lua_rawlen(L, idx) == 0;
  size_t count = single ? 1 : lua_rawlen(L, idx);
  if (count > maxn) luaL_error(L, "%s: at most %d parties", prim, (int)maxn);
  dt_invitation_t *inv = lua_newuserdatauv(L, count * sizeof *inv, 0);
  memset(inv, 0, count * sizeof *inv);
  for (size_t i = 0; i < count; i++) {
    if (single) {
      check_identity(L, idx, prim, &inv[i].identity, &inv[i].replaces_call_id);
    } else {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      check_identity(L, -1, prim, &inv[i].identity, &inv[i].replaces_call_id);
      lua_pop(L, 1); /* referenced by the list */
    }
  }
  *n = count;
  return inv;
}

/* ---------------------------------------------------------------- primitives */

static int k_none(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  return 0;
}

static int k_true(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  lua_pushboolean(L, 1);
  return 1;
}

static int k_reason(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  lua_pushstring(L, c->result.reason ? c->result.reason : "completed");
  return 1;
}

/* reject and redirect end the flow: the runner treats code "ended" as a normal end. */
static int k_ended(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  dt__call_handle_error(L, "ended", c->result.reason ? c->result.reason : "ended");
  return lua_error(L);
}

/* The modalities option at the top of the stack (left there: the strings live in it) into
   mods[0..3); returns the count. allow_none: {} is allowed (a join without media). */
static size_t check_modalities(lua_State *L, const char *prim, const char *mods[3], bool allow_none) {
  int t = lua_gettop(L);
  if (!lua_istable(L, t))
    luaL_error(L, "%s: modalities must be a list such as {\"audio\"}%s", prim,
               allow_none ? ", or {} to join without media" : "");
  size_t n = lua_rawlen(L, t);
  if ((n == 0 && !allow_none) || n > 3) luaL_error(L, "%s: modalities needs 1 to 3 entries", prim);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, t, (lua_Integer)i + 1);
    const char *m = lua_tostring(L, -1);
    if (!m || (strcmp(m, "audio") && strcmp(m, "video") && strcmp(m, "videoBasedScreenSharing")))
      luaL_error(L, "%s: unknown modality '%s' (audio, video, videoBasedScreenSharing)", prim, m ? m : "?");
    mods[i] = m;
    lua_pop(L, 1);
  }
  return n;
}

static const char *const ANSWER_OPTS[] = {"modalities", "prefetch", "participant_capacity", NULL};
static int l_answer(lua_State *L) {
  dt_call_t *c = own_with_options(L, "answer", 2, ANSWER_OPTS);
  const char *mods[3];
  size_t nmod = 0;
  if (get_opt(L, 2, "modalities") != LUA_TNIL) nmod = check_modalities(L, "call:answer", mods, false);
  size_t npre = 0;
  dt_media_t *pre = NULL;
  if (get_opt(L, 2, "prefetch") != LUA_TNIL) pre = check_prompts(L, -1, "call:answer prefetch", &npre, 64);
  /* participantCapacity (Int32): how many participants the bot handles (policy recording) */
  double cap = opt_num(L, 2, "call:answer", "participant_capacity", 0, 1, 10000);
  if (cap != (double)(int)cap) luaL_error(L, "call:answer: option 'participant_capacity' must be a whole number");
  dt_graph_answer_params_t p = {.modalities = nmod ? mods : NULL,
                                .modality_count = nmod,
                                .prefetch = pre,
                                .prefetch_count = npre,
                                .participant_capacity = (int)cap};
  int rc = dt_call_answer_with(c, &p);
  return dt__call_handle_wait(L, "answer", rc, k_true);
}

static const char *const REJECT_OPTS[] = {"reason", NULL};
static int l_reject(lua_State *L) {
  dt_call_t *c = own_with_options(L, "reject", 2, REJECT_OPTS);
  const char *reason = opt_str(L, 2, "call:reject", "reason", "none");
  if (strcmp(reason, "none") && strcmp(reason, "busy") && strcmp(reason, "forbidden"))
    luaL_error(L, "call:reject: reason must be \"busy\", \"forbidden\" or \"none\", got '%s'", reason);
  int rc = dt_call_reject(c, reason);
  if (rc == DT_ESTATE) return luaL_error(L, "call:reject: only an incoming call that was not answered can be rejected (use call:hangup)");
  return dt__call_handle_wait(L, "reject", rc, k_ended);
}

static const char *const REDIRECT_OPTS[] = {"targets", "timeout", "voicemail", "disposition", "mask_callee",
                                            "mask_caller", NULL};
static int l_redirect(lua_State *L) {
  dt_call_t *c = own_with_options(L, "redirect", 2, REDIRECT_OPTS);
  dt_graph_redirect_params_t p = {0};
  size_t n = 0;
  dt_invitation_t *t = NULL;
  bool has_targets = get_opt(L, 2, "targets") != LUA_TNIL;
  if (has_targets) t = check_invitations(L, -1, "call:redirect", &n, 25);
  if (get_opt(L, 2, "voicemail") != LUA_TNIL) { /* voicemail = IDENTITY: that user's voicemail */
    if (has_targets) return luaL_error(L, "call:redirect: give targets= or voicemail=, not both");
    t = check_invitations(L, -1, "call:redirect voicemail", &n, 1);
    p.voicemail = true;
  } else if (!has_targets) {
    return luaL_error(L, "call:redirect: targets is required (or voicemail = {user = \"id\"})");
  }
  p.targets = t;
  p.target_count = n;
  p.timeout_s = (int)opt_num(L, 2, "call:redirect", "timeout", 0, 15, 90);
  const char *disp = opt_str(L, 2, "call:redirect", "disposition", NULL);
  if (disp) {
    if (strcmp(disp, "simultaneous_ring") == 0 || strcmp(disp, "simultaneousRing") == 0) p.disposition = "simultaneousRing";
    else if (strcmp(disp, "forward") == 0 || strcmp(disp, "default") == 0) p.disposition = disp;
    else return luaL_error(L, "call:redirect: disposition must be \"forward\", \"simultaneous_ring\" or \"default\", got '%s'", disp);
    if (strcmp(p.disposition, "forward") == 0 && n > 1)
      return luaL_error(L, "call:redirect: disposition \"forward\" takes one target (%d given: they ring simultaneously)", (int)n);
  }
  p.mask_callee = opt_bool(L, 2, "call:redirect", "mask_callee", 0);
  p.mask_caller = opt_bool(L, 2, "call:redirect", "mask_caller", 0);
  int rc = dt_call_redirect(c, &p);
  if (rc == DT_ESTATE) return luaL_error(L, "call:redirect: only an incoming call that was not answered can be redirected");
  if (rc == DT_EUNSUPPORTED)
    return luaL_error(L, "call:redirect: disposition, mask_callee and mask_caller need the beta dialect");
  return dt__call_handle_wait(L, "redirect", rc, k_ended);
}

static const char *const PLAY_OPTS[] = {"barge_in", "loop", "timeout", NULL};
static int l_play(lua_State *L) {
  dt_call_t *c = own_with_options(L, "play", 3, PLAY_OPTS);
  bool barge = opt_bool(L, 3, "call:play", "barge_in", 0);
  bool loop = opt_bool(L, 3, "call:play", "loop", 0);
  if (!loop && get_opt(L, 3, "timeout") != LUA_TNIL)
    luaL_error(L, "call:play: option 'timeout' goes with loop = true (hold music until the timeout)");
  double timeout = opt_num(L, 3, "call:play", "timeout", 0, 0.001, 86400);
  size_t n;
  dt_media_t *m = check_prompts(L, 2, "call:play", &n, 20);
  /* flow timers follow the engine's timer scale (runtime.h); with instant timers (`dialtone
     test`) the music's timeout is due at once, so the simulated clock does not run the
     music on while a real-time timer waits */
  dt_runtime_t *rt = dt__rt_state_of(L);
  int64_t ms = timeout <= 0 ? -1 : rt->instant_timers ? 0 : (int64_t)dt__call_lua_timer_ms(rt, timeout);
  int rc = loop ? dt_call_play_loop(c, m, n, barge, ms) : dt_call_play(c, m, n, barge);
  return dt__call_handle_wait(L, "play", rc, k_reason);
}

static int k_gather(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  lua_pushstring(L, c->result.digits ? c->result.digits : "");
  lua_pushstring(L, c->result.reason ? c->result.reason : "timeout");
  return 2;
}

static bool valid_tone(char t) { return (t >= '0' && t <= '9') || t == '*' || t == '#' || (t >= 'A' && t <= 'D'); }

/* pattern, invalid, noinput, retries: the validating loop of lua/digits.lua, which wraps this */
static const char *const GATHER_OPTS[] = {"prompt", "max", "min", "timeout", "inter_digit", "terminators", "flush",
                                          "pattern", "invalid", "noinput", "retries", NULL};
static int l_gather(lua_State *L) {
  dt_call_t *c = own_with_options(L, "gather", 2, GATHER_OPTS);
  dt_gather_params_t p = {0};
  p.max = (unsigned)opt_num(L, 2, "call:gather", "max", 64, 1, 64);
  p.min = (unsigned)opt_num(L, 2, "call:gather", "min", 0, 0, 64);
  if (p.min > p.max) luaL_error(L, "call:gather: min (%d) is larger than max (%d)", (int)p.min, (int)p.max);
  double timeout = opt_num(L, 2, "call:gather", "timeout", 5, 0.001, 3600);
  double inter = opt_num(L, 2, "call:gather", "inter_digit", timeout, 0.001, 3600);
  /* flow timers follow the engine's timer scale (runtime.h); deadlines do not */
  p.timeout_ms = (unsigned)dt__call_lua_timer_ms(dt__rt_state_of(L), timeout);
  p.inter_digit_ms = (unsigned)dt__call_lua_timer_ms(dt__rt_state_of(L), inter);
  p.terminators = opt_str(L, 2, "call:gather", "terminators", "#");
  if (strlen(p.terminators) > 7) luaL_error(L, "call:gather: at most 7 terminators");
  for (const char *t = p.terminators; *t; t++)
    if (!valid_tone(*t)) luaL_error(L, "call:gather: '%c' is not a DTMF key (0-9 * # A-D)", *t);
  p.flush = opt_bool(L, 2, "call:gather", "flush", 0);
  if (get_opt(L, 2, "prompt") != LUA_TNIL) p.prompts = check_prompts(L, -1, "call:gather", &p.prompt_count, 20);
  int rc = dt_call_gather(c, &p);
  return dt__call_handle_wait(L, "gather", rc, k_gather);
}

static int k_record(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  const dt_call_result_t *r = &c->result;
  lua_createtable(L, 0, 5);
  dt__call_handle_set_string(L, "reason", r->reason ? r->reason : "completed");
  dt__call_handle_set_string(L, "location", r->location);
  dt__call_handle_set_string(L, "file", r->file);
  lua_pushnumber(L, r->duration);
  lua_setfield(L, -2, "duration");
  dt__call_handle_set_string(L, "completion_reason", r->completion_reason);
  return 1;
}

static const char *const RECORD_OPTS[] = {"prompt", "beep", "max_duration", "max_silence", "initial_silence",
                                          "stop_tones", "barge_in", NULL};
static int l_record(lua_State *L) {
  dt_call_t *c = own_with_options(L, "record", 2, RECORD_OPTS);
  dt_graph_record_params_t p = {0};
  p.max_duration_s = (int)opt_num(L, 2, "call:record", "max_duration", 0, 1, 120);
  p.max_silence_s = (int)opt_num(L, 2, "call:record", "max_silence", 0, 1, 120);
  p.initial_silence_s = (int)opt_num(L, 2, "call:record", "initial_silence", 0, 1, 120);
  p.play_beep = opt_bool(L, 2, "call:record", "beep", -1);
  p.barge_in = opt_bool(L, 2, "call:record", "barge_in", 0);
  const char **stops = NULL;
  if (get_opt(L, 2, "stop_tones") != LUA_TNIL) {
    int t = lua_gettop(L);
    size_t n = lua_type(L, t) == LUA_TSTRING ? lua_rawlen(L, t) : lua_istable(L, t) ? lua_rawlen(L, t) : 99;
    if (n > 12) luaL_error(L, "call:record: stop_tones must be a string such as \"#*\" or a list of keys (at most 12)");
    stops = lua_newuserdatauv(L, (n ? n : 1) * sizeof *stops, 0);
    lua_createtable(L, (int)n, 0); /* anchors */
    int anchors = lua_gettop(L);
    for (size_t i = 0; i < n; i++) {
      char key[2] = {0, 0};
      if (lua_type(L, t) == LUA_TSTRING) key[0] = lua_tostring(L, t)[i];
      else {
        lua_rawgeti(L, t, (lua_Integer)i + 1);
        const char *s = lua_tostring(L, -1);
        key[0] = (s && strlen(s) == 1) ? s[0] : 0;
        lua_pop(L, 1);
      }
      if (!valid_tone(key[0])) luaL_error(L, "call:record: stop tone %d is not a DTMF key (0-9 * # A-D)", (int)i + 1);
      lua_pushstring(L, key);
      stops[i] = lua_tostring(L, -1);
      lua_rawseti(L, anchors, (lua_Integer)i + 1);
    }
    p.stop_tones = stops;
    p.stop_tone_count = n;
  }
  size_t np = 0;
  if (get_opt(L, 2, "prompt") != LUA_TNIL) p.prompt = check_prompts(L, -1, "call:record", &np, 1);
  int rc = dt_call_record(c, &p);
  return dt__call_handle_wait(L, "record", rc, k_record);
}

static const char *const TRANSFER_OPTS[] = {"target", "replaces", "transferee", NULL};
static int l_transfer(lua_State *L) {
  dt_call_t *c = own_with_options(L, "transfer", 2, TRANSFER_OPTS);
  need_opt(L, 2, "call:transfer", "target");
  dt_invitation_t target = {0};
  check_identity(L, -1, "call:transfer", &target.identity, NULL);
  get_opt(L, 2, "replaces");
  target.replaces_call_id = call_id_at(L, -1);
  /* transferee: who is transferred, needed only out of a group call (v1.0 only) */
  dt_identity_t transferee = {0};
  bool has_transferee = get_opt(L, 2, "transferee") != LUA_TNIL;
  if (has_transferee) check_identity(L, -1, "call:transfer transferee", &transferee, NULL);
  int rc = dt_call_transfer(c, &target, has_transferee ? &transferee : NULL);
  if (rc == DT_EUNSUPPORTED)
    return luaL_error(L, "call:transfer: transferee needs the v1.0 dialect (Graph's beta transfer has no transferee)");
  return dt__call_handle_wait(L, "transfer", rc, k_reason);
}

static const char *const INVITE_OPTS[] = {"participants", "replaces_call", NULL};
static int l_invite(lua_State *L) {
  dt_call_t *c = own_with_options(L, "invite", 2, INVITE_OPTS);
  need_opt(L, 2, "call:invite", "participants");
  size_t n;
  dt_invitation_t *inv = check_invitations(L, -1, "call:invite", &n, 5);
  get_opt(L, 2, "replaces_call");
  const char *rep = call_id_at(L, -1);
  for (size_t i = 0; rep && i < n; i++)
    if (!inv[i].replaces_call_id) inv[i].replaces_call_id = rep;
  int rc = dt_call_invite(c, inv, n);
  return dt__call_handle_wait(L, "invite", rc, k_reason);
}

static int k_participants(lua_State *L, int status, lua_KContext ctx) {
  return dt__call_handle_return_json(L, 1);
}

static int l_participants(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "participants");
  return dt__call_handle_wait(L, "participants", dt_call_participants(c), k_participants);
}

static int action(lua_State *L, const char *prim, dt_action_t a, const char *arg) {
  dt_call_t *c = dt__call_handle_own(L, 1, prim);
  return dt__call_handle_wait(L, prim, dt_call_action(c, a, arg), k_reason);
}

static int l_mute(lua_State *L) { return action(L, "mute", DT_ACTION_MUTE, NULL); }
static int l_unmute(lua_State *L) { return action(L, "unmute", DT_ACTION_UNMUTE, NULL); }
static int l_mute_all(lua_State *L) { return action(L, "mute_all", DT_ACTION_MUTE_ALL, NULL); }
static int l_cancel_media(lua_State *L) { return action(L, "cancel_media", DT_ACTION_CANCEL_MEDIA, NULL); }

static int l_screen_sharing(lua_State *L) {
  const char *role = luaL_checkstring(L, 2);
  if (strcmp(role, "viewer") && strcmp(role, "sharer"))
    return luaL_error(L, "call:screen_sharing: role must be \"viewer\" or \"sharer\", got '%s'", role);
  return action(L, "screen_sharing", DT_ACTION_SCREEN_SHARING, role);
}

/* call:recording_status("recording" | "notRecording" | "failed"): updateRecordingStatus,
   which a compliance-recording bot must send (Graph's names, so the docs read the same). */
static int l_recording_status(lua_State *L) {
  const char *status = luaL_checkstring(L, 2);
  if (!dt_graph_recording_status_ok(status))
    return luaL_error(L, "call:recording_status: status must be \"recording\", \"notRecording\" or \"failed\", got '%s'",
                      status);
  return action(L, "recording_status", DT_ACTION_RECORDING_STATUS, status);
}

static int l_update_metadata(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  luaL_argcheck(L, n <= 4096, 2, "metadata longer than 4096 bytes");
  return action(L, "update_metadata", DT_ACTION_UPDATE_METADATA, s);
}

static int l_send_dtmf(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  luaL_argcheck(L, n > 0 && n <= 64, 2, "tones must be 1 to 64 keys");
  for (size_t i = 0; i < n; i++)
    if (!valid_tone(s[i])) return luaL_error(L, "call:send_dtmf: '%c' is not a DTMF key (0-9 * # A-D)", s[i]);
  return action(L, "send_dtmf", DT_ACTION_SEND_DTMF, s);
}

static int l_sleep(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "sleep");
  double s = luaL_checknumber(L, 2);
  luaL_argcheck(L, s >= 0 && s <= 86400, 2, "seconds must be between 0 and 86400");
  uint64_t ms = s > 0 ? dt__call_lua_timer_ms(dt__rt_state_of(L), s) : 0;
  return dt__call_handle_wait(L, "sleep", dt_call_sleep(c, ms), k_none);
}

static int l_hangup(lua_State *L) {
  dt_call_box_t *b = luaL_checkudata(L, 1, DT_CALL_MT);
  if (b->call == NULL) return 0; /* already gone: nothing to do */
  if (dt__call_handle_self(L) != b->call) { /* a handle from dialtone.dial: hang it up without waiting */
    int rc = dt_call_hangup_async(b->call);
    if (rc < 0) return dt__call_handle_raise_rc(L, "hangup", rc);
    return 0;
  }
  dt_call_t *c = dt__call_handle_own(L, 1, "hangup");
  return dt__call_handle_wait(L, "hangup", dt_call_hangup(c), k_none);
}

/* ---------------------------------------------------------------- dialtone.dial */

/* The option application_instance = "id" or {id =, name =} (the source of a PSTN call,
   overriding graph.application_instance_id); false when absent. */
static bool check_application_instance(lua_State *L, int idx, const char *prim, dt_identity_t *out) {
  int t = get_opt(L, idx, "application_instance");
  memset(out, 0, sizeof *out);
  out->kind = "applicationInstance";
  if (t == LUA_TSTRING) {
    out->id = lua_tostring(L, -1);
  } else if (t == LUA_TTABLE) {
    int o = lua_gettop(L);
    static const char *const KEYS[] = {"id", "name", NULL};
    dt__call_handle_check_options(L, o, prim, KEYS);
    out->id = opt_str(L, o, prim, "id", NULL);
    out->display_name = opt_str(L, o, prim, "name", NULL);
  } else if (t != LUA_TNIL) {
    luaL_error(L, "%s: application_instance must be an id or {id =, name =}, got %s", prim, lua_typename(L, t));
  }
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return false;
  }
  if (out->id == NULL || out->id[0] == '\0' || strlen(out->id) > 256)
    luaL_error(L, "%s: application_instance needs an id (at most 256 characters)", prim);
  lua_pop(L, 1); /* the strings stay referenced by the option table */
  return true;
}

static int k_dial(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  if (!c->result.new_call) return dt__call_handle_hangup(L);
  dt__call_handle_push(L, dt__rt_state_of(L), c->result.new_call);
  return 1;
}

static const char *const DIAL_OPTS[] = {"targets", "meeting", "chat", "flow", "subject", "application_instance",
                                        "modalities", NULL};
static const char *const MEETING_KEYS[] = {"organizer", "tenant", "join_id", "passcode", "token", "guest",
                                           "join_url", NULL};
static const char *const CHAT_KEYS[] = {"thread", "message", "reply_chain", NULL};

static int l_dial(lua_State *L) {
  dt_call_t *c = dt__call_handle_self(L);
  if (!c) return luaL_error(L, "dialtone.dial can only be used from a call's flow");
  if (!lua_isyieldable(L)) return luaL_error(L, "dialtone.dial cannot wait here; call it from the flow's own code");
  if (c->flags & (DT_CALLF_FLOW_DONE | DT_CALLF_RELEASED)) return dt__call_handle_hangup(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  dt__call_handle_check_options(L, 1, "dialtone.dial", DIAL_OPTS);
  dt_runtime_t *rt = dt__rt_state_of(L);
  const char *flow = opt_str(L, 1, "dialtone.dial", "flow", NULL);
  if (!flow) return luaL_error(L, "dialtone.dial: flow is required (the flow that runs the new call)");
  if (dt__flows_version(rt, flow) == 0) return luaL_error(L, "dialtone.dial: no flow named '%s'", flow);
  dt_graph_create_params_t p = {0};
  p.subject = opt_str(L, 1, "dialtone.dial", "subject", NULL);
  size_t n = 0;
  dt_invitation_t *targets = NULL;
  if (get_opt(L, 1, "targets") != LUA_TNIL) targets = check_invitations(L, -1, "dialtone.dial", &n, 25);
  p.targets = targets;
  p.target_count = n;
  dt_identity_t organizer = {0};
  if (get_opt(L, 1, "meeting") != LUA_TNIL) {
    int m = lua_gettop(L);
    if (!lua_istable(L, m)) return luaL_error(L, "dialtone.dial: meeting must be a table");
    dt__call_handle_check_options(L, m, "dialtone.dial meeting", MEETING_KEYS);
    int t = get_opt(L, m, "organizer");
    if (t == LUA_TSTRING) {
      p.meeting_organizer_id = lua_tostring(L, -1);
    } else if (t == LUA_TTABLE) {
      check_identity(L, -1, "dialtone.dial meeting.organizer", &organizer, NULL);
      p.meeting_organizer_id = organizer.id;
      p.meeting_organizer_tenant_id = organizer.tenant_id;
    }
    p.meeting_organizer_tenant_id = opt_str(L, m, "dialtone.dial", "tenant", p.meeting_organizer_tenant_id);
    p.tenant_id = p.meeting_organizer_tenant_id;
    p.meeting_join_id = opt_str(L, m, "dialtone.dial", "join_id", NULL);
    p.meeting_passcode = opt_str(L, m, "dialtone.dial", "passcode", NULL);
    p.meeting_token = opt_str(L, m, "dialtone.dial", "token", NULL);
    t = get_opt(L, m, "guest");
    if (t == LUA_TSTRING) {
      p.guest_display_name = lua_tostring(L, -1);
    } else if (t == LUA_TTABLE) {
      p.guest_display_name = opt_str(L, -1, "dialtone.dial", "name", NULL);
      p.guest_id = opt_str(L, -1, "dialtone.dial", "id", NULL);
    }
    const char *join_url = opt_str(L, m, "dialtone.dial", "join_url", NULL);
    if (join_url) {
      if (p.meeting_join_id || p.meeting_token || p.meeting_organizer_id)
        return luaL_error(L, "dialtone.dial: meeting.join_url names the meeting by itself (no organizer, join_id "
                             "or token with it)");
      if (get_opt(L, 1, "chat") != LUA_TNIL)
        return luaL_error(L, "dialtone.dial: meeting.join_url gives the chat too (no chat= with it)");
      lua_pop(L, 1);
      dt_meeting_link_t *link = lua_newuserdatauv(L, sizeof *link, 0); /* stays on the stack */
      char why[200];
      if (dt_meeting_link_parse(join_url, link, why, sizeof why) != 0)
        return luaL_error(L, "dialtone.dial: cannot read meeting.join_url: %s", why);
      if (link->kind == DT_MEETING_LINK_CLASSIC) {
        p.meeting_organizer_id = link->organizer_id;
        p.meeting_organizer_tenant_id = link->tenant_id;
        p.tenant_id = link->tenant_id;
        p.chat_thread_id = link->thread_id;
        p.chat_message_id = link->message_id;
        p.chat_reply_chain_message_id = link->reply_chain_id[0] ? link->reply_chain_id : NULL;
      } else {
        p.meeting_join_id = link->join_meeting_id;
        p.meeting_passcode = link->passcode[0] ? link->passcode : NULL;
      }
    }
    if (!p.meeting_join_id && !p.meeting_token && !p.meeting_organizer_id)
      return luaL_error(L, "dialtone.dial: meeting needs join_url, join_id (and passcode), token, or organizer");
  }
  if (get_opt(L, 1, "chat") != LUA_TNIL) {
    int ch = lua_gettop(L);
    if (!lua_istable(L, ch)) return luaL_error(L, "dialtone.dial: chat must be a table");
    dt__call_handle_check_options(L, ch, "dialtone.dial chat", CHAT_KEYS);
    p.chat_thread_id = opt_str(L, ch, "dialtone.dial", "thread", NULL);
    p.chat_message_id = opt_str(L, ch, "dialtone.dial", "message", NULL);
    p.chat_reply_chain_message_id = opt_str(L, ch, "dialtone.dial", "reply_chain", NULL);
  }
  if (n == 0 && !p.meeting_join_id && !p.meeting_token && !p.meeting_organizer_id)
    return luaL_error(L, "dialtone.dial: give targets= (people to call) or meeting= (a meeting to join)");
  dt_identity_t instance;
  if (check_application_instance(L, 1, "dialtone.dial", &instance)) p.source = &instance;
  const char *mods[3];
  if (get_opt(L, 1, "modalities") != LUA_TNIL) {
    p.modality_count = check_modalities(L, "dialtone.dial", mods, true);
    p.modalities = p.modality_count ? mods : NULL;
    p.no_media = p.modality_count == 0; /* {}: join without media */
  }
  char *to = NULL;
  if (n > 0) {
    const dt_identity_t *id = &targets[0].identity;
    to = strcmp(id->kind, "phone") == 0 ? dt_xstrdup(id->id) : dt_xasprintf("%s:%s", id->kind, id->id ? id->id : "");
  } else {
    to = dt_xstrdup("meeting");
  }
  int rc = dt_call_dial(c, &p, flow, to);
  free(to);
  if (rc == DT_EUNSUPPORTED)
    return luaL_error(L, "dialtone.dial: meeting.join_id needs the v1.0 dialect (use token or organizer)");
  if (rc == DT_EINVAL)
    return luaL_error(L, "dialtone.dial: Graph would refuse this call (one meeting kind only; guest and a "
                         "source do not mix; strings at most a few KiB)");
  return dt__call_handle_wait(L, "dial", rc, k_dial);
}

/* Logs the arguments first..n, each as tostring() gives it, joined by sep, with fields, on
   the running call's log line. */
static void log_args(lua_State *L, dt_log_level_t level, int first, int n, char sep, const dt_log_field_t *fields,
                     size_t nfields) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = first; i <= n; i++) {
    if (i > first) luaL_addchar(&b, sep);
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  dt_call_t *c = dt__call_handle_self(L);
  dt_log_fields(level, c ? c->id : NULL, fields, nfields, lua_tostring(L, -1));
}

#define LOG_MAX_FIELDS 32

/* dialtone.log's structured fields (the table at idx), under call:tag's rules for names and
   string values (dt_call_tag_check); numbers (finite) and booleans too; at most
   LOG_MAX_FIELDS. The strings stay anchored in the table (texts holds the numbers'). Raises
   naming the bad field. */
static size_t log_fields(lua_State *L, int idx, dt_log_field_t *f, char (*texts)[32]) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "dialtone.log: field names must be strings");
    if (n == LOG_MAX_FIELDS) luaL_error(L, "dialtone.log: at most %d fields", LOG_MAX_FIELDS);
    size_t klen, vlen = 0;
    const char *key = lua_tolstring(L, -2, &klen);
    int t = lua_type(L, -1);
    const char *value = t == LUA_TSTRING ? lua_tolstring(L, -1, &vlen) : "";
    char why[160];
    if (dt_call_tag_check(key, klen, value, vlen, why, sizeof why) != 0) luaL_error(L, "dialtone.log: %s", why);
    f[n] = (dt_log_field_t){.key = key, .value = value, .number = t != LUA_TSTRING};
    if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
      snprintf(texts[n], 32, LUA_INTEGER_FMT, lua_tointeger(L, -1));
    } else if (t == LUA_TNUMBER && isfinite(lua_tonumber(L, -1))) {
      snprintf(texts[n], 32, "%.14g", lua_tonumber(L, -1));
    } else if (t == LUA_TBOOLEAN) {
      snprintf(texts[n], 32, "%s", lua_toboolean(L, -1) ? "true" : "false"); /* JSON's, unquoted */
    } else if (t != LUA_TSTRING) {
      luaL_error(L, "dialtone.log: field '%s' must be a string, a finite number or a boolean, got %s", key,
                 luaL_typename(L, -1));
    }
    if (t != LUA_TSTRING) f[n].value = texts[n];
    n++;
    lua_pop(L, 1);
  }
  return n;
}

/* dialtone.log(level, ...): the words joined by spaces; a table as the last of three or more
   arguments is structured fields instead (JSON "fields":{...}, text key=value). */
static int l_log(lua_State *L) {
  const char *level = luaL_checkstring(L, 1);
  int lv = dt_log_level_from_name(level);
  if (lv < 0 || lv == DT_LOG_OFF) return luaL_error(L, "dialtone.log: level must be debug, info, warn or error");
  int top = lua_gettop(L);
  dt_log_field_t fields[LOG_MAX_FIELDS];
  char texts[LOG_MAX_FIELDS][32];
  size_t n = 0;
  if (top >= 3 && lua_istable(L, top)) n = log_fields(L, top--, fields, texts);
  log_args(L, (dt_log_level_t)lv, 2, top, ' ', fields, n);
  return 0;
}

static int l_print(lua_State *L) {
  log_args(L, DT_LOG_INFO, 1, lua_gettop(L), '\t', NULL, 0);
  return 0;
}

void dt__call_lua_dialtone_funcs(lua_State *L) {
  static const luaL_Reg FUNCS[] = {{"dial", l_dial}, {"log", l_log}, {"print", l_print}, {NULL, NULL}};
  luaL_setfuncs(L, FUNCS, 0);
}

static const luaL_Reg METHODS[] = {{"answer", l_answer},
                                   {"reject", l_reject},
                                   {"redirect", l_redirect},
                                   {"play", l_play},
                                   {"gather", l_gather},
                                   {"record", l_record},
                                   {"transfer", l_transfer},
                                   {"invite", l_invite},
                                   {"participants", l_participants},
                                   {"mute", l_mute},
                                   {"unmute", l_unmute},
                                   {"mute_all", l_mute_all},
                                   {"screen_sharing", l_screen_sharing},
                                   {"recording_status", l_recording_status},
                                   {"update_metadata", l_update_metadata},
                                   {"send_dtmf", l_send_dtmf},
                                   {"cancel_media", l_cancel_media},
                                   {"sleep", l_sleep},
                                   {"hangup", l_hangup},
                                   {"tag", dt__call_tag},
                                   {NULL, NULL}};

void dt__call_lua_open(lua_State *L) {
  dt__call_handle_open(L, METHODS); /* leaves the methods table (the prelude adds menu, on_hangup) */
}
