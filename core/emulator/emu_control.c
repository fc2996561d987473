/*
 * emu_control.c — the control API's route table ({E}/emulator/..., JSON, no auth): the
 * HTTP server's routes and dt_emulator_control (the same table by method and path, for
 * in-process callers that hold requests as text). Each route parses its request, calls the
 * typed API (emu_api.c) and renders the answer; nothing here changes the emulator by
 * itself. GET /emulator/events opens a timeline event stream (emu_timeline.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "emu_api.h"
#include "emu_control.h"
#include "emu_http.h"
#include "emu_registry.h"
#include "emu_timeline.h"
#include "emu_util.h"

/* One control API answer: status and JSON body text (malloc'd, NULL for none). */
typedef struct {
  int status;
  char *body;
  size_t len;
  char rid[37];              /* the request-id header (and an error body's innerError) */
} emu_reply_t;

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
  DT_VFORMAT(msg, fmt);
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
  dt_emulator_call_options_t o;
  char id[DT_EMULATOR_CALL_ID_LEN], err[256] = "";
  int rc = dt_emulator_call_options_json(body, &o, err, sizeof err);
  if (rc == 0) rc = dt_emulator_place_call(emu, &o, id, err, sizeof err);
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
  reply_json(out, 200, dt__emu_party_json(key, dt_hashmap_get(&emu->parties, key)));
}

static void route_config_post(dt_emulator_t *emu, const cJSON *body, const char *crid, emu_reply_t *out) {
  /* every field is checked before anything is applied: a bad request changes nothing */
  dt_emulator_config_t c;
  dt_emulator_get_config(emu, &c);
  char err[256] = "";
  int rc = dt__emu_config_from_json(body, &c, err, sizeof err);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  const cJSON *bot = cJSON_GetObjectItemCaseSensitive(body, "bot_url");
  if (bot && !cJSON_IsNull(bot) && !dt__emu_valid_url(cJSON_IsString(bot) ? bot->valuestring : NULL))
    return reply_error(out, crid, 400, "BadRequest", "\"bot_url\" must be an http(s) URL or null");
  rc = dt_emulator_set_config(emu, &c, err, sizeof err);
  if (rc == 0 && bot) rc = dt_emulator_set_bot_url(emu, cJSON_IsString(bot) ? bot->valuestring : NULL, err, sizeof err);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  reply_json(out, 200, dt_emulator_config_json(emu));
}

static void route_faults_post(dt_emulator_t *emu, const cJSON *body, const char *crid, emu_reply_t *out) {
  dt_emulator_faults_t f = {0}; /* POST replaces every fault: what is not named is off */
  char err[256] = "";
  int rc = dt__emu_faults_from_json(body, &f, err, sizeof err);
  if (rc == 0) rc = dt_emulator_set_faults(emu, &f, err, sizeof err);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  reply_json(out, 200, dt__emu_faults_json(&emu->faults));
}

/* POST /calls/{id}/join {"user":"id","name":…} | {"guest":"name"} | {"phone":…} → 200
   {"participant": id}; POST /calls/{id}/leave {"participant": id} or {"user": id} → 200. */
static void route_person(dt_emulator_t *emu, emu_call_t *c, const char *action, const char *body, size_t body_len,
                         const char *crid, emu_reply_t *out) {
  cJSON *j = parse_body(out, crid, body, body_len, false);
  if (j == NULL) return;
  char err[256] = "", pid[DT_EMULATOR_CALL_ID_LEN] = "";
  int rc;
  if (action[0] == 'j') {
    dt_emulator_person_t who = {.guest = dt__emu_json_str(j, "guest"), .name = dt__emu_json_str(j, "name")};
    cJSON *ident = cJSON_Duplicate(j, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(ident, "name");
    cJSON_DeleteItemFromObjectCaseSensitive(ident, "guest");
    who.identity = ident->child ? ident : NULL;
    rc = dt_emulator_join(emu, c->id, &who, pid, err, sizeof err);
    cJSON_Delete(ident);
  } else {
    const char *who = dt__emu_json_str(j, "participant");
    for (const char *const *k = (const char *const[]){"user", "phone", "guest", "application", NULL}; !who && *k; k++)
      who = dt__emu_json_str(j, *k);
    rc = dt_emulator_leave(emu, c->id, who, err, sizeof err);
  }
  cJSON_Delete(j);
  if (rc != 0) return reply_rc(out, crid, rc, err);
  cJSON *o = dt__emu_call_summary(c);
  if (pid[0]) cJSON_AddStringToObject(o, "participant", pid);
  reply_json(out, 200, o);
}

/* POST /calls/{id}/{tones|speak|hangup} on a live call. */
/* A POST/PUT whose JSON body (empty: {}) one route handles: parses it, hands it over, frees it. */
static void with_json_body(dt_emulator_t *emu, void (*route)(dt_emulator_t *, const cJSON *, const char *, emu_reply_t *),
                           const char *body, size_t body_len, const char *crid, emu_reply_t *out) {
  cJSON *j = parse_body(out, crid, body, body_len, true);
  if (j == NULL) return;
  route(emu, j, crid, out);
  cJSON_Delete(j);
}

static void route_call_action(dt_emulator_t *emu, emu_call_t *c, const char *action, const char *body,
                              size_t body_len, const char *crid, emu_reply_t *out) {
  char err[256] = "";
  int rc;
  if (strcmp(action, "hangup") == 0) {
    rc = dt_emulator_hangup(emu, c->id, err, sizeof err);
  } else if (strcmp(action, "hold") == 0 || strcmp(action, "unhold") == 0) {
    rc = dt_emulator_hold(emu, c->id, action[0] == 'h', err, sizeof err);
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
  } else if (strcmp(action, "join") == 0 || strcmp(action, "leave") == 0) {
    return route_person(emu, c, action, body, body_len, crid, out);
  } else {
    return reply_error(out, crid, 404, "itemNotFound", "no such control resource: POST /emulator/calls/%s/%.60s",
                       c->id, action);
  }
  if (rc != 0) return reply_rc(out, crid, rc, err);
  reply_json(out, 200, dt__emu_call_summary(c));
}

static void control_route(dt_emulator_t *emu, const char *m, const char *path, const char *body,
                           size_t body_len, const char *crid, emu_reply_t *out) {
  memset(out, 0, sizeof *out);
  dt_guid(out->rid);
  bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
  bool put = strcmp(m, "PUT") == 0, del = strcmp(m, "DELETE") == 0;
  char seg[4][256];
  int ns = dt__emu_path_split(path, (char *)seg, sizeof seg[0], 4);
  if (ns < 0) return reply_error(out, crid, 404, "itemNotFound", "no such control resource");
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
        return with_json_body(emu, route_place_call, body, body_len, crid, out);
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
    return with_json_body(emu, route_config_post, body, body_len, crid, out);
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
    return with_json_body(emu, route_faults_post, body, body_len, crid, out);
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
    dt__emu_events_open(emu, req);
    return;
  }
  emu_reply_t r;
  control_route(emu, req->method, path, req->body, req->body_len,
                        dt_http_request_header(req, "client-request-id"), &r);
  dt_http_header_t h[2];
  size_t n = 0;
  if (r.body) h[n++] = (dt_http_header_t){"Content-Type", "application/json"};
  h[n++] = (dt_http_header_t){"request-id", r.rid};
  dt_http_respond_ex(req, r.status, h, n, r.body, r.len);
  free(r.body);
}

int dt_emulator_control(dt_emulator_t *emu, const char *method, const char *path, const char *body,
                        size_t body_len, char **response, size_t *response_len) {
  if (response) *response = NULL;
  if (response_len) *response_len = 0;
  if (emu == NULL || method == NULL || path == NULL || path[0] != '/' || strlen(path) >= 1024 ||
      strlen(method) > 16 || (body == NULL && body_len > 0) || body_len > (1u << 20))
    return DT_EINVAL;
  if (emu->closing) return DT_ECLOSED;
  const char *rest = path;
  if (!dt__emu_path_under(path, "/emulator", &rest)) rest = path;
  /* the path as the HTTP server would hand it: no query, no trailing slash */
  char pathbuf[1024];
  snprintf(pathbuf, sizeof pathbuf, "%s", rest);
  pathbuf[strcspn(pathbuf, "?")] = '\0';
  size_t rl = strlen(pathbuf);
  while (rl > 1 && pathbuf[rl - 1] == '/') pathbuf[--rl] = '\0';
  emu_reply_t r;
  control_route(emu, method, pathbuf, body, body_len, NULL, &r);
  if (response_len) *response_len = r.len;
  if (response) *response = r.body ? r.body : dt_xstrdup("");
  else free(r.body);
  return r.status;
}
