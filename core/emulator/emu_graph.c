/*
 * emu_graph.c — the Graph calls REST surface: request validation, state checks, status
 * codes, Location headers and response bodies as the documents show them.
 *
 * Every request needs "Authorization: Bearer <token from the token endpoint>" (401
 * InvalidAuthenticationToken otherwise). Errors use Graph's shape
 * {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}:
 *   400 BadRequest    malformed JSON, missing or invalid parameters, unknown segments
 *   400 8501          an action the call's state does not allow ("Action is not valid ...")
 *   404 8522          unknown or ended call ("Call not found.", as the calling service says)
 *   404 itemNotFound  unknown operation or participant
 *   405               a method the resource does not have
 * Every request on a call is written to the call's timeline with the status it got.
 *
 * About 800 lines, kept whole: one request surface whose context and validation helpers
 * (gctx_t, bad_param, int_param, completed_op, ...) serve every action below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/log.h"
#include "emu_calls.h"
#include "emu_graph.h"
#include "emu_http.h"
#include "emu_identity.h"
#include "emu_media.h"
#include "emu_notify.h"
#include "emu_policy.h"
#include "emu_redirect.h"
#include "emu_registry.h"
#include "emu_timeline.h"
#include "emu_util.h"

#define EMU_CLIENT_CONTEXT_MAX 256

typedef struct {
  dt_emulator_t *emu;
  dt_http_request_t *req;
  const char *base;       /* "/v1.0", "/beta" or "" */
  const char *collection; /* "/communications/calls" or "/app/calls" */
  emu_call_t *call;
  cJSON *body;            /* parsed object (empty object when there was no body) */
  const char *action;
  char op_id[37];
  bool is_v1;
  emu_tl_slot_t slot;
  bool has_slot;
  char method[16];        /* copies: the request is freed once answered */
  char path[256];
} gctx_t;

static int bad(gctx_t *g, const char *msg) {
  dt__emu_respond_error(g->req, 400, "BadRequest", "%s", msg);
  return 400;
}

static int bad_param(gctx_t *g, const char *name, const char *what) {
  dt__emu_respond_error(g->req, 400, "BadRequest", "Invalid request: '%s' %s.", name, what);
  return 400;
}

static int wrong_state(gctx_t *g) {
  dt__emu_respond_error(g->req, 400, "8501", "Action is not valid when the call is in state '%s'.",
                        dt__emu_state_name(g->call->state));
  return 400;
}

static int not_found_item(gctx_t *g, const char *what) {
  dt__emu_respond_error(g->req, 404, "itemNotFound", "%s not found.", what);
  return 404;
}

static char *location_of(gctx_t *g, const char *call_id, const char *op_id) {
  char *origin = dt__emu_origin(g->emu, g->req);
  char *loc = op_id ? dt_xasprintf("%s%s%s/%s/operations/%s", origin, g->base, g->collection, call_id, op_id)
                    : dt_xasprintf("%s%s%s/%s", origin, g->base, g->collection, call_id);
  free(origin);
  return loc;
}

static int respond_op(gctx_t *g, emu_op_t *op, int status) {
  char *loc = location_of(g, g->call->id, op->id);
  snprintf(g->op_id, sizeof g->op_id, "%s", op->id);
  dt__emu_respond_json(g->req, status, dt__emu_op_json(g->call, op, false), loc);
  free(loc);
  return status;
}

/* "@odata.context": {origin}{base}/$metadata#{collection}{what}. */
static void add_context(gctx_t *g, cJSON *o, const char *what) {
  char *origin = dt__emu_origin(g->emu, g->req);
  char *ctx = dt_xasprintf("%s%s/$metadata#%s%s", origin, g->base[0] ? g->base : "/v1.0",
                           g->collection + 1, what);
  cJSON_AddStringToObject(o, "@odata.context", ctx);
  free(ctx);
  free(origin);
}

static const char *client_context(gctx_t *g, bool *ok) {
  const cJSON *v = dt__emu_json_get(g->body, "clientContext");
  *ok = true;
  if (v == NULL || cJSON_IsNull(v)) return NULL;
  if (!cJSON_IsString(v) || strlen(v->valuestring) > EMU_CLIENT_CONTEXT_MAX) {
    *ok = false;
    bad_param(g, "clientContext", "must be a string of at most 256 characters");
    return NULL;
  }
  return v->valuestring;
}

/* An operation that is complete when answered (its clientContext checked); NULL: the
   request was answered 400. */
static emu_op_t *completed_op(gctx_t *g, int type) {
  bool ok;
  const char *cc = client_context(g, &ok);
  if (!ok) return NULL;
  emu_op_t *op = dt__emu_op_new(g->call, type, cc);
  op->status = EMU_OPS_COMPLETED;
  return op;
}

/* The beta dialect: a /beta prefix or the /app/calls collection (graph_api.md). */
static bool is_beta(const gctx_t *g) {
  return strcmp(g->base, "/beta") == 0 || strcmp(g->collection, "/app/calls") == 0;
}

static bool identity_ok(const cJSON *inv) {
  return cJSON_IsObject(inv) && dt__emu_identity_id(dt__emu_json_get(inv, "identity"), NULL) != NULL;
}

/* An optional integer parameter in [lo, hi]; *out keeps its default when absent. */
static bool int_param(gctx_t *g, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  const cJSON *v = dt__emu_json_get(g->body, name);
  if (v == NULL || cJSON_IsNull(v)) return true;
  if (!cJSON_IsNumber(v) || v->valuedouble < (double)lo || v->valuedouble > (double)hi ||
      v->valuedouble != (double)(int64_t)v->valuedouble) {
    char what[96];
    snprintf(what, sizeof what, "must be an integer from %lld to %lld", (long long)lo, (long long)hi);
    bad_param(g, name, what);
    return false;
  }
  *out = (int64_t)v->valuedouble;
  return true;
}

static bool bool_param(gctx_t *g, const char *name, bool *out) {
  const cJSON *v = dt__emu_json_get(g->body, name);
  if (v == NULL || cJSON_IsNull(v)) return true;
  if (!cJSON_IsBool(v)) {
    bad_param(g, name, "must be true or false");
    return false;
  }
  *out = cJSON_IsTrue(v);
  return true;
}

/* The prompts parameter: mediaPrompt objects with mediaInfo.uri (into op->urls; nothing
   is left there when it fails). */
static bool prompts_param(gctx_t *g, bool required, size_t max, emu_op_t *op) {
  const cJSON *p = dt__emu_json_get(g->body, "prompts");
  if (p == NULL || cJSON_IsNull(p)) {
    if (required) bad_param(g, "prompts", "is required");
    return !required;
  }
  int n = cJSON_IsArray(p) ? cJSON_GetArraySize(p) : -1;
  if (n < 0 || (required && n == 0) || (size_t)n > max) {
    char what[96];
    snprintf(what, sizeof what, "must be an array of %s%zu mediaPrompt objects", required ? "1 to " : "at most ", max);
    bad_param(g, "prompts", what);
    return false;
  }
  op->urls = dt_xcalloc((size_t)n + 1, sizeof *op->urls);
  const cJSON *it;
  cJSON_ArrayForEach(it, p) {
    const cJSON *mi = dt__emu_json_get(it, "mediaInfo");
    const char *uri = dt__emu_json_str(mi, "uri");
    if (uri == NULL || uri[0] == '\0' || strlen(uri) > 2048) {
      bad_param(g, "prompts", "must be mediaPrompt objects with mediaInfo.uri");
      for (size_t i = 0; i < op->nurls; i++) free(op->urls[i]);
      free(op->urls);
      op->urls = NULL;
      op->nurls = 0;
      return false;
    }
    op->urls[op->nurls++] = dt_xstrdup(uri);
  }
  return true;
}

/* A media operation (play, record) holding the request's prompts; NULL: the request was
   answered 400 and nothing was made. */
static emu_op_t *media_op(gctx_t *g, int type, const char *cc, bool prompts_required, size_t max_prompts) {
  emu_op_t tmp = {0};
  if (!prompts_param(g, prompts_required, max_prompts, &tmp)) return NULL;
  emu_op_t *op = dt__emu_op_new(g->call, type, cc);
  op->urls = tmp.urls;
  op->nurls = tmp.nurls;
  return op;
}

/* ------------------------------------------------------------------ create / get / delete */
static int create_call(gctx_t *g) {
  cJSON *b = g->body;
  const char *cb = dt__emu_json_str(b, "callbackUri");
  if (cb == NULL) cb = dt__emu_json_str(b, "callback"); /* legacy spelling in the documents */
  if (!dt__emu_policy_callback_ok(g->emu, cb))
    return bad_param(g, "callbackUri", g->emu->cfg.strict ? "is required and must be an https URL" : "is required and must be an http(s) URL");
  const cJSON *targets = dt__emu_json_get(b, "targets");
  if (targets && !cJSON_IsArray(targets)) return bad_param(g, "targets", "must be an array");
  int nt = targets ? cJSON_GetArraySize(targets) : 0;
  const cJSON *t;
  cJSON_ArrayForEach(t, targets) {
    if (!identity_ok(t)) return bad_param(g, "targets", "must be invitationParticipantInfo objects with an identity");
  }
  bool meeting = dt__emu_json_get(b, "meetingInfo") || dt__emu_json_get(b, "chatInfo");
  if (nt == 0 && !meeting) return bad(g, "Invalid request: a call needs 'targets' or meeting coordinates ('meetingInfo', 'chatInfo').");
  const cJSON *mc = dt__emu_json_get(b, "mediaConfig");
  if (mc && !cJSON_IsObject(mc)) return bad_param(g, "mediaConfig", "must be an object");
  const cJSON *rm = dt__emu_json_get(b, "requestedModalities");
  if (rm && !cJSON_IsArray(rm)) return bad_param(g, "requestedModalities", "must be an array");
  const cJSON *src = dt__emu_json_get(b, "source");
  if (src && !cJSON_IsObject(src)) return bad_param(g, "source", "must be a participantInfo object");
  const char *refused = dt__emu_policy_pstn_create(b);
  if (refused) return bad(g, refused);
  char *cb_copy = dt_xstrdup(cb);
  g->body = NULL; /* consumed by the call */
  emu_call_t *c = dt__emu_outgoing(g->emu, b, cb_copy);
  if (c) c->beta = is_beta(g);
  free(cb_copy);
  g->call = c;
  dt__emu_call_ref(c);
  cJSON *resp = cJSON_Duplicate(c->res, 1);
  add_context(g, resp, "/$entity");
  char *loc = location_of(g, c->id, NULL);
  dt__emu_respond_json(g->req, 201, resp, loc);
  free(loc);
  return 201;
}

static int get_call(gctx_t *g) {
  cJSON *resp = cJSON_Duplicate(g->call->res, 1);
  add_context(g, resp, "/$entity");
  dt__emu_respond_json(g->req, 200, resp, NULL);
  return 200;
}

/* ------------------------------------------------------------------ incoming-call actions */
/* Graph's answer to an action parameter the dialect's schema does not have. */
static int unknown_param(gctx_t *g, const char *name, const char *action) {
  char msg[160];
  snprintf(msg, sizeof msg, "The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.",
           name, action);
  return bad(g, msg);
}

static int act_answer(gctx_t *g) {
  emu_call_t *c = g->call;
  if (c->state != EMU_CS_INCOMING) return wrong_state(g);
  const char *cb = dt__emu_json_str(g->body, "callbackUri");
  if (cb == NULL) cb = dt__emu_json_str(g->body, "callback");
  const cJSON *cbv = dt__emu_json_get(g->body, "callbackUri");
  if ((cbv && !cJSON_IsNull(cbv) && !dt__emu_policy_callback_ok(g->emu, cb)) ||
      (cb && !dt__emu_policy_callback_ok(g->emu, cb)))
    return bad_param(g, "callbackUri", dt__emu_policy_callback_rule(g->emu));
  const cJSON *mc = dt__emu_json_get(g->body, "mediaConfig");
  if (!cJSON_IsObject(mc)) return bad_param(g, "mediaConfig", "is required");
  const cJSON *am = dt__emu_json_get(g->body, "acceptedModalities");
  if (am == NULL) am = dt__emu_json_get(g->body, "acceptModalities");
  if (am && !cJSON_IsArray(am)) return bad_param(g, "acceptedModalities", "must be an array");
  int64_t capacity = 0; /* participantCapacity: Edm.Int32 */
  if (!int_param(g, "participantCapacity", 1, 2147483647, &capacity)) return 400;
  const char *mct = dt__emu_json_str(mc, "@odata.type");
  c->app_hosted = mct && strstr(mct, "appHostedMediaConfig");
  const cJSON *m;
  cJSON_ArrayForEach(m, dt__emu_json_get(mc, "preFetchMedia")) {
    const char *u = dt__emu_json_str(m, "uri");
    if (u == NULL) u = dt__emu_json_str(m, "url");
    if (u) dt__emu_prefetch(g->emu, u);
  }
  if (am) {
    cJSON_DeleteItemFromObjectCaseSensitive(c->res, "activeModalities");
    cJSON_AddItemToObject(c->res, "activeModalities", cJSON_Duplicate(am, 1));
  }
  if (capacity > 0) {
    cJSON *tl = cJSON_CreateObject();
    cJSON_AddNumberToObject(tl, "participantCapacity", (double)capacity);
    dt__emu_timeline(c, "answer_options", tl);
  }
  dt__emu_answer(c, cb);
  dt_http_respond(g->req, 202, NULL, NULL, 0);
  return 202;
}

/* An optional new callbackUri for the call (reject, redirect); false: answered 400. */
static bool take_callback(gctx_t *g) {
  const char *cb = dt__emu_json_str(g->body, "callbackUri");
  if (cb && !dt__emu_policy_callback_ok(g->emu, cb)) {
    bad_param(g, "callbackUri", dt__emu_policy_callback_rule(g->emu));
    return false;
  }
  if (cb) {
    free(g->call->callback_uri);
    g->call->callback_uri = dt_xstrdup(cb);
  }
  return true;
}

static int act_reject(gctx_t *g) {
  if (g->call->state != EMU_CS_INCOMING) return wrong_state(g);
  const cJSON *r = dt__emu_json_get(g->body, "reason");
  const char *reason = NULL;
  if (r && !cJSON_IsNull(r)) {
    reason = cJSON_IsString(r) ? r->valuestring : NULL;
    if (reason == NULL || (dt_strcasecmp(reason, "none") != 0 && dt_strcasecmp(reason, "busy") != 0 &&
                           dt_strcasecmp(reason, "forbidden") != 0))
      return bad_param(g, "reason", "must be one of none, busy, forbidden");
  }
  if (!take_callback(g)) return 400;
  dt_http_respond(g->req, 202, NULL, NULL, 0);
  dt__emu_reject(g->call, reason);
  return 202;
}

/* redirect's beta-only parameters (targetDisposition, maskCallee, maskCaller): v1.0's
   redirect has no such parameters, so OData refuses them there as it refuses any unknown
   action parameter. false: answered 400. */
static bool redirect_beta_params(gctx_t *g, emu_redirect_t *r) {
  static const char *const beta_only[] = {"targetDisposition", "maskCallee", "maskCaller"};
  for (size_t i = 0; g->is_v1 && i < DT_ARRAY_SIZE(beta_only); i++)
    if (dt__emu_json_get(g->body, beta_only[i])) {
      dt__emu_respond_error(g->req, 400, "BadRequest",
                            "The parameter '%s' in the request payload is not a valid parameter for the "
                            "operation 'redirect'.", beta_only[i]);
      return false;
    }
  const cJSON *d = dt__emu_json_get(g->body, "targetDisposition");
  if (d && !cJSON_IsNull(d)) {
    static const char *const values[] = {"default", "simultaneousRing", "forward"};
    for (size_t i = 0; cJSON_IsString(d) && i < DT_ARRAY_SIZE(values); i++)
      if (dt_strcasecmp(d->valuestring, values[i]) == 0) r->disposition = values[i];
    if (r->disposition == NULL) {
      bad_param(g, "targetDisposition", "must be one of default, simultaneousRing, forward");
      return false;
    }
  }
  return bool_param(g, "maskCallee", &r->mask_callee) && bool_param(g, "maskCaller", &r->mask_caller);
}

static int act_redirect(gctx_t *g) {
  if (g->call->state != EMU_CS_INCOMING) return wrong_state(g);
  cJSON *targets = dt__emu_json_get(g->body, "targets");
  int n = cJSON_IsArray(targets) ? cJSON_GetArraySize(targets) : 0;
  if (n < 1 || n > 25) return bad_param(g, "targets", "must be an array of 1 to 25 invitationParticipantInfo objects");
  const cJSON *t;
  cJSON_ArrayForEach(t, targets) {
    if (!identity_ok(t)) return bad_param(g, "targets", "must be invitationParticipantInfo objects with an identity");
  }
  int64_t timeout = 0;
  if (!int_param(g, "timeout", 15, 90, &timeout)) return 400;
  emu_redirect_t r = {.timeout_ms = timeout * 1000};
  if (!redirect_beta_params(g, &r)) return 400;
  if (!take_callback(g)) return 400;
  dt_http_respond(g->req, 202, NULL, NULL, 0);
  dt__emu_redirect(g->call, targets, &r);
  return 202;
}

/* ------------------------------------------------------------------ established-call actions */
static int act_transfer(gctx_t *g) {
  if (g->call->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  const cJSON *tt = dt__emu_json_get(g->body, "transferTarget");
  if (!identity_ok(tt)) return bad_param(g, "transferTarget", "is required (an invitationParticipantInfo with an identity)");
  const cJSON *te = dt__emu_json_get(g->body, "transferee");
  if (te && !cJSON_IsNull(te) && is_beta(g)) return unknown_param(g, "transferee", "microsoft.graph.transfer");
  if (te && !cJSON_IsNull(te) && !identity_ok(te))
    return bad_param(g, "transferee", "must be a participantInfo with an identity");
  const char *refused = dt__emu_policy_pstn_transfer(g->call, tt);
  if (refused) return bad(g, refused);
  const char *rep = dt__emu_json_str(tt, "replacesCallId");
  dt_http_respond(g->req, 202, NULL, NULL, 0);
  dt__emu_transfer(g->call, tt, rep);
  return 202;
}

static bool media_ok(gctx_t *g) {
  if (g->call->state != EMU_CS_ESTABLISHED) {
    wrong_state(g);
    return false;
  }
  if (g->call->app_hosted) {
    bad(g, "Invalid request: this action is only supported for calls with serviceHostedMediaConfig.");
    return false;
  }
  return true;
}

static int act_play_prompt(gctx_t *g) {
  if (!media_ok(g)) return 400;
  bool ok;
  const char *cc = client_context(g, &ok);
  if (!ok) return 400;
  bool loop = false;
  if (g->is_v1 && dt__emu_json_get(g->body, "loop")) return unknown_param(g, "loop", "microsoft.graph.playPrompt");
  if (!bool_param(g, "loop", &loop)) return 400;
  emu_op_t *op = media_op(g, EMU_OP_PLAY, cc, true, 20);
  if (op == NULL) return 400;
  op->loop = loop;
  int st = respond_op(g, op, 200);
  dt__emu_media_enqueue(g->call, op);
  return st;
}

static int act_record(gctx_t *g, bool beta_record) {
  if (!media_ok(g)) return 400;
  bool ok;
  const char *cc = client_context(g, &ok);
  if (!ok) return 400;
  int64_t init = 5, maxsil = 5, maxdur = 5;
  bool barge = false, beep = true, stream = false;
  if (!int_param(g, "initialSilenceTimeoutInSeconds", 1, 120, &init) ||
      !int_param(g, "maxSilenceTimeoutInSeconds", 1, 120, &maxsil) ||
      !int_param(g, "maxRecordDurationInSeconds", 1, 120, &maxdur) ||
      !bool_param(g, "bargeInAllowed", &barge) || !bool_param(g, "playBeep", &beep) ||
      !bool_param(g, "streamWhileRecording", &stream))
    return 400;
  char stops[24] = {0};
  const cJSON *st = dt__emu_json_get(g->body, "stopTones");
  if (st && !cJSON_IsNull(st)) {
    if (!cJSON_IsArray(st) || cJSON_GetArraySize(st) > 16) return bad_param(g, "stopTones", "must be an array of tones");
    const cJSON *it;
    size_t k = 0;
    cJSON_ArrayForEach(it, st) {
      char ch = cJSON_IsString(it) ? dt__emu_tone_char(it->valuestring) : 0;
      if (ch == 0) return bad_param(g, "stopTones", "must hold tones such as \"#\", \"1\", \"*\"");
      if (!strchr(stops, ch) && k + 1 < sizeof stops) stops[k++] = ch;
    }
  }
  emu_op_t *op = media_op(g, EMU_OP_RECORD, cc, false, 1);
  if (op == NULL) return 400;
  op->beta_record = beta_record;
  op->initial_silence_ms = init * 1000;
  op->max_silence_ms = maxsil * 1000;
  op->max_duration_ms = maxdur * 1000;
  op->barge_in = barge;
  op->beep = beep;
  memcpy(op->stop_tones, stops, sizeof stops);
  int s = respond_op(g, op, 200);
  dt__emu_media_enqueue(g->call, op);
  return s;
}

static int act_subscribe_tone(gctx_t *g) {
  emu_call_t *c = g->call;
  if (c->state != EMU_CS_ESTABLISHED && c->state != EMU_CS_ESTABLISHING && c->state != EMU_CS_RINGING)
    return wrong_state(g);
  if (c->app_hosted) return bad(g, "Invalid request: this action is only supported for calls with serviceHostedMediaConfig.");
  emu_op_t *op = completed_op(g, EMU_OP_SUBSCRIBE_TONE);
  if (op == NULL) return 400;
  c->tone_subscribed = true;
  return respond_op(g, op, 200);
}

static int act_send_dtmf(gctx_t *g) {
  if (g->call->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  bool ok;
  const char *cc = client_context(g, &ok);
  if (!ok) return 400;
  const cJSON *tones = dt__emu_json_get(g->body, "tones");
  int n = cJSON_IsArray(tones) ? cJSON_GetArraySize(tones) : 0;
  if (n < 1 || n > 64) return bad_param(g, "tones", "is required (an array of 1 to 64 tones such as \"tone1\", \"pound\")");
  char buf[72];
  size_t k = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, tones) {
    char ch = cJSON_IsString(it) && strlen(it->valuestring) > 1 ? dt__emu_tone_char(it->valuestring) : 0;
    if (ch == 0) return bad_param(g, "tones", "must hold tone names: tone0-tone9, star, pound, a-d, flash");
    buf[k++] = ch;
  }
  buf[k] = '\0';
  int64_t delay = 0;
  if (!int_param(g, "delayBetweenTonesMs", 0, 10000, &delay)) return 400;
  emu_op_t *op = dt__emu_op_new(g->call, EMU_OP_DTMF, cc);
  op->tones = dt_xstrdup(buf);
  op->tone_delay_ms = delay;
  int s = respond_op(g, op, 200);
  dt__emu_dtmf_start(g->call, op);
  return s;
}

static int act_cancel_media(gctx_t *g) {
  emu_call_t *c = g->call;
  if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  emu_op_t *op = completed_op(g, EMU_OP_CANCEL_MEDIA);
  if (op == NULL) return 400;
  int s = respond_op(g, op, 200);
  dt__emu_media_cancel_all(c, true);
  return s;
}

static void set_muted(cJSON *participant, bool muted) {
  cJSON_DeleteItemFromObjectCaseSensitive(participant, "isMuted");
  cJSON_AddBoolToObject(participant, "isMuted", muted);
}

static int act_mute(gctx_t *g, bool mute) {
  emu_call_t *c = g->call;
  if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  emu_op_t *op = completed_op(g, mute ? EMU_OP_MUTE : EMU_OP_UNMUTE);
  if (op == NULL) return 400;
  c->muted = mute;
  cJSON *me = dt__emu_participant_find(c, c->my_pid);
  if (me) set_muted(me, mute);
  int s = respond_op(g, op, 200);
  dt__emu_timeline(c, mute ? "muted" : "unmuted", NULL);
  dt__emu_notify_roster(c);
  return s;
}

static int act_screen_sharing(gctx_t *g) {
  if (g->call->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  const char *role = dt__emu_json_str(g->body, "role");
  if (role == NULL || (strcmp(role, "viewer") != 0 && strcmp(role, "sharer") != 0))
    return bad_param(g, "role", "is required: viewer or sharer");
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "role", role);
  dt__emu_timeline(g->call, "screen_sharing_role", tl);
  dt_http_respond(g->req, 202, NULL, NULL, 0);
  return 202;
}

static int act_update_metadata(gctx_t *g) {
  emu_call_t *c = g->call;
  if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  const char *md = dt__emu_json_str(g->body, "metadata");
  if (md == NULL || strlen(md) > 4096) return bad_param(g, "metadata", "is required (a string of at most 4096 characters)");
  emu_op_t *op = completed_op(g, EMU_OP_UPDATE_METADATA);
  if (op == NULL) return 400;
  cJSON *me = dt__emu_participant_find(c, c->my_pid);
  if (me) {
    cJSON_DeleteItemFromObjectCaseSensitive(me, "metadata");
    cJSON_AddStringToObject(me, "metadata", md);
  }
  char *loc = location_of(g, c->id, op->id);
  snprintf(g->op_id, sizeof g->op_id, "%s", op->id);
  dt_http_header_t h[] = {{"Location", loc}};
  dt_http_respond_ex(g->req, 202, h, 1, NULL, 0);
  free(loc);
  dt__emu_notify_roster(c);
  return 202;
}

/* updateRecordingStatus: 200 + a completed updateRecordingStatusOperation, then its
   "deleted" notification (as mute is answered); the bot's participant shows the status in
   recordingInfo, and the roster says so. Graph's recordingStatus enum also has unknown and
   unknownFutureValue, which a bot cannot report: refused like any other value. */
static int act_update_recording_status(gctx_t *g) {
  emu_call_t *c = g->call;
  if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  const cJSON *sv = dt__emu_json_get(g->body, "status");
  if (sv == NULL || cJSON_IsNull(sv)) return bad_param(g, "status", "is required: notRecording, recording or failed");
  const char *st = cJSON_IsString(sv) ? sv->valuestring : NULL;
  if (st == NULL || (strcmp(st, "notRecording") != 0 && strcmp(st, "recording") != 0 && strcmp(st, "failed") != 0))
    return bad_param(g, "status", "must be one of notRecording, recording, failed");
  emu_op_t *op = completed_op(g, EMU_OP_UPDATE_RECORDING_STATUS);
  if (op == NULL) return 400;
  snprintf(c->recording_status, sizeof c->recording_status, "%s", st);
  cJSON *me = dt__emu_participant_find(c, c->my_pid);
  if (me) {
    cJSON_DeleteItemFromObjectCaseSensitive(me, "recordingInfo");
    cJSON *ri = cJSON_AddObjectToObject(me, "recordingInfo");
    cJSON_AddStringToObject(ri, "@odata.type", "#microsoft.graph.recordingInfo");
    const cJSON *info = dt__emu_json_get(me, "info");
    const cJSON *ident = info ? dt__emu_json_get(info, "identity") : NULL;
    if (ident) cJSON_AddItemToObject(ri, "initiator", cJSON_Duplicate(ident, 1));
    cJSON_AddStringToObject(ri, "recordingStatus", st);
  }
  int s = respond_op(g, op, 200);
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "status", st);
  dt__emu_timeline(c, "recording_status", tl);
  dt__emu_op_finish(c, op, EMU_OPS_COMPLETED, 200, 0, "Action completed successfully.", NULL);
  dt__emu_notify_roster(c);
  return s;
}

static int act_keep_alive(gctx_t *g) {
  dt__emu_keepalive(g->call);
  dt_http_respond(g->req, 200, NULL, NULL, 0);
  return 200;
}

/* ------------------------------------------------------------------ participants */
static int list_participants(gctx_t *g) {
  cJSON *o = cJSON_CreateObject();
  char what[96];
  snprintf(what, sizeof what, "('%s')/participants", g->call->id);
  add_context(g, o, what);
  cJSON_AddItemToObject(o, "value", cJSON_Duplicate(g->call->participants, 1));
  dt__emu_respond_json(g->req, 200, o, NULL);
  return 200;
}

static int act_invite(gctx_t *g) {
  emu_call_t *c = g->call;
  if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  const cJSON *ps = dt__emu_json_get(g->body, "participants");
  int n = cJSON_IsArray(ps) ? cJSON_GetArraySize(ps) : 0;
  if (n < 1 || n > 5) return bad_param(g, "participants", "is required (1 to 5 invitationParticipantInfo objects)");
  const cJSON *it;
  cJSON_ArrayForEach(it, ps) {
    if (!identity_ok(it)) return bad_param(g, "participants", "must be invitationParticipantInfo objects with an identity");
    const cJSON *rep = dt__emu_json_get(it, "replacesCallId");
    if (rep && !cJSON_IsNull(rep) && !cJSON_IsString(rep)) return bad_param(g, "replacesCallId", "must be a string");
  }
  bool ok;
  const char *cc = client_context(g, &ok);
  if (!ok) return 400;
  emu_op_t *op = dt__emu_op_new(c, EMU_OP_INVITE, cc);
  op->participants = cJSON_Duplicate(ps, 1);
  int s = respond_op(g, op, 200);
  dt__emu_invite(c, op);
  return s;
}

static int act_mute_all(gctx_t *g) {
  emu_call_t *c = g->call;
  /* muteAll is in the 2021 beta schema only; v1.0 has no such action */
  if (g->is_v1) return bad(g, "Resource not found for the segment 'muteAll'.");
  if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
  emu_op_t *op = completed_op(g, EMU_OP_MUTE_ALL);
  if (op == NULL) return 400;
  cJSON *p;
  cJSON_ArrayForEach(p, c->participants) {
    const char *id = dt__emu_json_str(p, "id");
    if (id && strcmp(id, c->my_pid) != 0) set_muted(p, true);
  }
  int s = respond_op(g, op, 200);
  dt__emu_timeline(c, "muted_all", NULL);
  dt__emu_notify_roster(c);
  return s;
}

static int participant_action(gctx_t *g, const char *pid, const char *action) {
  emu_call_t *c = g->call;
  cJSON *p = dt__emu_participant_find(c, pid);
  const char *m = g->req->method;
  if (action == NULL) {
    if (strcmp(m, "GET") == 0) {
      if (p == NULL) return not_found_item(g, "Participant");
      dt__emu_respond_json(g->req, 200, cJSON_Duplicate(p, 1), NULL);
      return 200;
    }
    if (strcmp(m, "DELETE") == 0) {
      if (p == NULL) return not_found_item(g, "Participant");
      if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
      bool me = strcmp(dt__emu_json_str(p, "id"), c->my_pid) == 0;
      cJSON_DetachItemViaPointer(c->participants, p);
      cJSON_Delete(p);
      dt_http_respond(g->req, 204, NULL, NULL, 0);
      cJSON *tl = cJSON_CreateObject();
      cJSON_AddStringToObject(tl, "participant", pid);
      dt__emu_timeline(c, "participant_removed", tl);
      int remaining = cJSON_GetArraySize(c->participants);
      if (me || (!c->multiparty && remaining <= 1))
        dt__emu_call_end(c, false, 0, 0, "The last other participant was removed.", NULL, "removed");
      else
        dt__emu_notify_roster(c);
      return 204;
    }
    dt__emu_respond_error(g->req, 405, "methodNotAllowed", "%s is not allowed on a participant.", m);
    return 405;
  }
  if (strcmp(m, "POST") != 0) {
    dt__emu_respond_error(g->req, 405, "methodNotAllowed", "%s is not allowed here.", m);
    return 405;
  }
  if (strcmp(action, "mute") == 0) {
    if (p == NULL) return not_found_item(g, "Participant");
    if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
    /* "server mute" is for group calls and meetings (graph_api.md §1.11) */
    if (!c->multiparty) return bad(g, "Muting another participant is supported only in group calls and meetings.");
    emu_op_t *op = completed_op(g, EMU_OP_MUTE_PARTICIPANT);
    if (op == NULL) return 400;
    set_muted(p, true);
    int s = respond_op(g, op, 200);
    dt__emu_notify_roster(c);
    return s;
  }
  bool start = strcmp(action, "startHoldMusic") == 0;
  if ((start || strcmp(action, "stopHoldMusic") == 0) && g->is_v1) { /* v1.0 only (not in the 2021 beta schema) */
    if (p == NULL) return not_found_item(g, "Participant");
    if (c->state != EMU_CS_ESTABLISHED) return wrong_state(g);
    const cJSON *cp = dt__emu_json_get(g->body, "customPrompt");
    if (cp && !cJSON_IsNull(cp) && !cJSON_IsObject(cp)) return bad_param(g, "customPrompt", "must be a mediaPrompt object");
    bool ok;
    const char *cc = client_context(g, &ok);
    if (!ok) return 400;
    /* "Only one participant can be placed on hold at any given time" (graph_api.md §1.11). Graph's
       status for the refusal is undocumented: 400 BadRequest, as for other refused actions
       (docs/emulator.md). A holder who has left the call no longer counts. */
    const char *pid_now = dt__emu_json_str(p, "id");
    if (pid_now == NULL) pid_now = pid;
    if (start && c->held_pid[0] && strcmp(c->held_pid, pid_now) != 0 &&
        dt__emu_participant_find(c, c->held_pid) != NULL) {
      dt__emu_respond_error(g->req, 400, "BadRequest",
                            "Only one participant can be placed on hold at any given time; participant '%s' is on hold.",
                            c->held_pid);
      return 400;
    }
    if (start) snprintf(c->held_pid, sizeof c->held_pid, "%.63s", pid_now); /* ids are 36 chars */
    else if (strcmp(c->held_pid, pid_now) == 0) c->held_pid[0] = '\0';
    emu_op_t *op = dt__emu_op_new(c, start ? EMU_OP_START_HOLD_MUSIC : EMU_OP_STOP_HOLD_MUSIC, cc);
    op->status = EMU_OPS_RUNNING;
    int s = respond_op(g, op, 202);
    cJSON *tl = cJSON_CreateObject();
    cJSON_AddStringToObject(tl, "participant", pid);
    const char *uri = dt__emu_json_str(dt__emu_json_get(cp, "mediaInfo"), "uri");
    if (uri) cJSON_AddStringToObject(tl, "prompt", uri);
    dt__emu_timeline(c, start ? "hold_music_started" : "hold_music_stopped", tl);
    /* completion comes as the operation's "deleted" notification (graph_api.md §1.11) */
    dt__emu_op_finish(c, op, EMU_OPS_COMPLETED, 200, 0, "Success", NULL);
    return s;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "Resource not found for the segment '%.60s'.", action);
  return bad(g, msg);
}

/* ------------------------------------------------------------------ dispatch */
static const char *strip_ns(const char *seg) {
  return dt_strncasecmp(seg, "microsoft.graph.", 16) == 0 ? seg + 16 : seg;
}

static int call_action(gctx_t *g, const char *a) {
  if (strcmp(a, "answer") == 0) return act_answer(g);
  if (strcmp(a, "reject") == 0) return act_reject(g);
  if (strcmp(a, "redirect") == 0) return act_redirect(g);
  if (strcmp(a, "transfer") == 0) return act_transfer(g);
  if (strcmp(a, "playPrompt") == 0) return act_play_prompt(g);
  if (strcmp(a, "recordResponse") == 0) return act_record(g, false);
  if (strcmp(a, "record") == 0 && !g->is_v1) return act_record(g, true);
  if (strcmp(a, "subscribeToTone") == 0) return act_subscribe_tone(g);
  if (strcmp(a, "sendDtmfTones") == 0) return act_send_dtmf(g);
  if (strcmp(a, "cancelMediaProcessing") == 0) return act_cancel_media(g);
  if (strcmp(a, "mute") == 0) return act_mute(g, true);
  if (strcmp(a, "unmute") == 0) return act_mute(g, false);
  if (strcmp(a, "changeScreenSharingRole") == 0) return act_screen_sharing(g);
  if (strcmp(a, "updateMetadata") == 0) return act_update_metadata(g);
  if (strcmp(a, "updateRecordingStatus") == 0) return act_update_recording_status(g);
  if (strcmp(a, "keepAlive") == 0) return act_keep_alive(g);
  char msg[128];
  snprintf(msg, sizeof msg, "Resource not found for the segment '%.60s'.", a);
  return bad(g, msg);
}

static int method_not_allowed(gctx_t *g) {
  dt__emu_respond_error(g->req, 405, "methodNotAllowed", "%s is not allowed on %s.", g->req->method,
                        g->req->path);
  return 405;
}

static bool parse_body(gctx_t *g) {
  dt_http_request_t *req = g->req;
  size_t n = req->body_len;
  const char *b = req->body;
  while (n && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')) {
    b++;
    n--;
  }
  if (n == 0) {
    g->body = cJSON_CreateObject();
    return true;
  }
  g->body = cJSON_ParseWithLength(b, n);
  if (!cJSON_IsObject(g->body)) {
    cJSON_Delete(g->body);
    g->body = NULL;
    dt__emu_respond_error(req, 400, "BadRequest",
                          "Unable to read JSON request payload. Please ensure Content-Type header is "
                          "set and payload is of valid JSON format.");
    return false;
  }
  return true;
}

static void timeline_request(gctx_t *g, int status) {
  if (g->call == NULL) return;
  if (!g->has_slot) {
    g->slot = dt__emu_timeline_reserve(g->call);
    g->has_slot = true;
  }
  cJSON *tl = cJSON_CreateObject();
  cJSON_AddStringToObject(tl, "method", g->method);
  cJSON_AddStringToObject(tl, "path", g->path);
  if (g->action) cJSON_AddStringToObject(tl, "action", g->action);
  cJSON_AddNumberToObject(tl, "status", status);
  if (g->op_id[0]) cJSON_AddStringToObject(tl, "op", g->op_id);
  dt__emu_timeline_fill(g->call, g->slot, "request", tl);
}

/* The application permissions a request needs (any one of them), as Graph's reference lists
   them: a meeting join needs JoinGroupCall(AsGuest), a call to several targets
   InitiateGroupCall, a peer-to-peer call Initiate (or InitiateGroupCall); recording and
   tones need AccessMedia; everything else any calling permission. */
#define CALL_ROLES (EMU_ROLE_CALLS_INITIATE | EMU_ROLE_CALLS_INITIATE_GROUP | EMU_ROLE_CALLS_JOIN_GROUP | \
                    EMU_ROLE_CALLS_JOIN_GROUP_GUEST)
static unsigned create_needs(const cJSON *body) {
  if (cJSON_GetObjectItem(body, "meetingInfo") || cJSON_GetObjectItem(body, "chatInfo"))
    return EMU_ROLE_CALLS_JOIN_GROUP | EMU_ROLE_CALLS_JOIN_GROUP_GUEST;
  if (cJSON_GetArraySize(cJSON_GetObjectItem(body, "targets")) > 1) return EMU_ROLE_CALLS_INITIATE_GROUP;
  return EMU_ROLE_CALLS_INITIATE | EMU_ROLE_CALLS_INITIATE_GROUP;
}

static unsigned action_needs(int ns, const char *action) {
  if (ns == 2 && (strcmp(action, "recordResponse") == 0 || strcmp(action, "record") == 0 ||
                  strcmp(action, "subscribeToTone") == 0))
    return EMU_ROLE_CALLS_ACCESS_MEDIA;
  return CALL_ROLES;
}

void dt__emu_graph(dt_emulator_t *emu, dt_http_request_t *req, const char *base,
                   const char *collection, const char *rest) {
  gctx_t g = {.emu = emu, .req = req, .base = base, .collection = collection};
  g.is_v1 = strcmp(base, "/v1.0") == 0;
  snprintf(g.method, sizeof g.method, "%s", req->method);
  snprintf(g.path, sizeof g.path, "%s", req->path);
  if (!dt__emu_graph_admit(emu, req)) return;

  char seg[5][128];
  int ns = dt__emu_path_split(rest, (char *)seg, sizeof seg[0], 5);
  if (ns < 0) {
    dt__emu_respond_error(req, 400, "BadRequest", "Unsupported resource path.");
    return;
  }
  const char *m = req->method;
  bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0, del = strcmp(m, "DELETE") == 0;
  int status;
  if (ns == 0) {
    if (!post) {
      method_not_allowed(&g);
      return;
    }
    if (!parse_body(&g)) return;
    if (!dt__emu_permit(emu, req, create_needs(g.body))) {
      cJSON_Delete(g.body);
      return;
    }
    g.action = "create";
    status = create_call(&g);
    timeline_request(&g, status);
    cJSON_Delete(g.body);
    if (g.call) dt__emu_call_unref(g.call);
    return;
  }
  if (!dt__emu_permit(emu, req, action_needs(ns, strip_ns(seg[ns > 1 ? 1 : 0])))) return;
  emu_call_t *c = dt__emu_call_find_live(emu, seg[0]);
  if (c == NULL) {
    /* an ended call still gets the request in its timeline */
    emu_call_t *old = dt__emu_call_find(emu, seg[0]);
    dt__emu_respond_error(req, 404, "8522", "Call not found.");
    if (old) {
      g.call = old;
      g.action = ns >= 2 ? strip_ns(seg[1]) : NULL;
      timeline_request(&g, 404);
    }
    return;
  }
  g.call = c;
  if (emu->probe_fn) emu->probe_fn(DT_EMU_PROBE_REQUEST, c->id, uv_hrtime(), emu->probe_ud);
  dt__emu_call_ref(c);
  /* the request comes first in the timeline, before what it causes */
  g.slot = dt__emu_timeline_reserve(c);
  g.has_slot = true;
  if (ns == 1) {
    if (get) status = get_call(&g);
    else if (del) {
      g.action = "delete";
      dt_http_respond(req, 204, NULL, NULL, 0);
      status = 204;
      timeline_request(&g, status);
      dt__emu_hangup_by_bot(c);
      dt__emu_call_unref(c);
      return;
    } else status = method_not_allowed(&g);
    timeline_request(&g, status);
    dt__emu_call_unref(c);
    return;
  }
  const char *s1 = strip_ns(seg[1]);
  g.action = s1;
  if (strcmp(s1, "participants") == 0) {
    if (ns == 2) {
      status = get ? list_participants(&g) : method_not_allowed(&g);
    } else {
      const char *s2 = strip_ns(seg[2]);
      if (ns == 3 && post && (strcmp(s2, "invite") == 0 || strcmp(s2, "muteAll") == 0)) {
        g.action = s2;
        if (!parse_body(&g)) {
          status = 400;
        } else {
          status = strcmp(s2, "invite") == 0 ? act_invite(&g) : act_mute_all(&g);
        }
      } else if (ns <= 4) {
        if (post && !parse_body(&g)) status = 400;
        else {
          if (g.body == NULL) g.body = cJSON_CreateObject();
          g.action = ns == 4 ? strip_ns(seg[3]) : "participant";
          status = participant_action(&g, seg[2], ns == 4 ? strip_ns(seg[3]) : NULL);
        }
      } else {
        status = bad(&g, "Unsupported resource path.");
      }
    }
  } else if (strcmp(s1, "operations") == 0) {
    g.action = "operation";
    if (ns != 3) status = bad(&g, "Unsupported resource path.");
    else if (!get) status = method_not_allowed(&g);
    else {
      emu_op_t *op = dt__emu_op_find(c, seg[2]);
      if (op == NULL) status = not_found_item(&g, "Operation");
      else {
        dt__emu_respond_json(req, 200, dt__emu_op_json(c, op, false), NULL);
        status = 200;
      }
    }
  } else if (ns == 2) {
    if (!post) status = method_not_allowed(&g);
    else if (!parse_body(&g)) status = 400;
    else status = call_action(&g, s1);
  } else {
    status = bad(&g, "Unsupported resource path.");
  }
  timeline_request(&g, status);
  cJSON_Delete(g.body);
  dt__emu_call_unref(c);
}
