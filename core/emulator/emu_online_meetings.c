/*
 * emu_online_meetings.c — Graph's onlineMeeting resource in the emulator: create a meeting,
 * get it by id or by join URL, delete it, in both dialects (graph_api.md §8):
 *   v1.0 and beta  /users/{userId}/onlineMeetings            (the user is the organizer)
 *   beta and ""    /app/onlineMeetings                       (the bot era; organizer in the body)
 *   both           /communications/onlineMeetings            (GET by filter; POST in beta only)
 * POST answers 201 with the onlineMeeting (id, creationDateTime, startDateTime, endDateTime,
 * joinWebUrl, subject, participants {organizer, attendees}, chatInfo, …); GET with
 * $filter=JoinWebUrl eq '{url}' answers {"value": [the meeting]} or {"value": []};
 * GET/DELETE …/onlineMeetings/{id} answer the meeting / 204, or 404 itemNotFound.
 *
 * The joinWebUrl is a classic Teams link (thread 19:meeting_…@thread.v2, context Tid/Oid)
 * that core/graph/meeting_link.c reads; a dial by that link names the meeting's thread, which
 * is what emu_meetings.c keys meetings by, so every leg that joins by it meets the others.
 *
 * Refuses as Graph does, in Graph's error shape: 400 BadRequest for a body that is not a
 * JSON object, times that are not ISO 8601 or end before they start, a subject over 1024
 * bytes, more than 250 attendees, a beta /app create without participants.organizer, a
 * collection GET without a JoinWebUrl filter or a filter it cannot read; 405 for other
 * methods. Assumption (written in docs/emulator.md): every user has an application access
 * policy, so the 403 Graph sends without one never comes from the emulator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/clock.h"
#include "dialtone/common.h"
#include "dialtone/graph.h"
#include "dialtone/jwt.h"
#include "dialtone/online_meeting.h"
#include "emu_http.h"
#include "emu_identity.h"
#include "emu_online_meetings.h"
#include "emu_util.h"

#define SUBJECT_MAX 1024
#define ATTENDEES_MAX 250
#define FILTER_MAX 4096

typedef struct {
  dt_emulator_t *emu;
  dt_http_request_t *req;
  bool is_v1;
  bool app_path;          /* /app or /communications: no user in the path */
  char user[DT_GRAPH_MAX_ID + 1]; /* the /users/{id} segment, "" for the app paths */
  char context[512];      /* @odata.context */
} omctx_t;

static int bad(omctx_t *x, const char *msg) {
  dt__emu_respond_error(x->req, 400, "BadRequest", "%s", msg);
  return 400;
}

static const char *organizer_id(const cJSON *m) {
  const cJSON *org = dt__emu_json_get(dt__emu_json_get(m, "participants"), "organizer");
  return dt__emu_json_str(dt__emu_json_get(dt__emu_json_get(org, "identity"), "user"), "id");
}

static bool organized_by(const cJSON *m, const char *user) {
  if (user == NULL || user[0] == '\0') return true;
  const char *id = organizer_id(m);
  const char *upn = dt__emu_json_str(dt__emu_json_get(dt__emu_json_get(m, "participants"), "organizer"), "upn");
  return (id && dt_strcasecmp(id, user) == 0) || (upn && dt_strcasecmp(upn, user) == 0);
}

const cJSON *dt__emu_online_meeting_find(const dt_emulator_t *emu, const char *url, const char *organizer) {
  const cJSON *m;
  cJSON_ArrayForEach(m, emu->online_meetings) {
    const char *u = dt__emu_json_str(m, "joinWebUrl");
    if (u && url && dt_strcasecmp(u, url) == 0 && organized_by(m, organizer)) return m;
  }
  return NULL;
}

const cJSON *dt__emu_online_meeting_by_thread(const dt_emulator_t *emu, const char *thread) {
  const cJSON *m;
  if (thread == NULL) return NULL;
  cJSON_ArrayForEach(m, emu->online_meetings) {
    const char *t = dt__emu_json_str(dt__emu_json_get(m, "chatInfo"), "threadId");
    if (t && dt_strcasecmp(t, thread) == 0) return m;
  }
  return NULL;
}

static cJSON *find_by_id(const dt_emulator_t *emu, const char *id) {
  cJSON *m;
  cJSON_ArrayForEach(m, emu->online_meetings) {
    const char *v = dt__emu_json_str(m, "id");
    if (v && strcmp(v, id) == 0) return m;
  }
  return NULL;
}

void dt__emu_online_meetings_clear(dt_emulator_t *emu) {
  cJSON_Delete(emu->online_meetings);
  emu->online_meetings = NULL;
}

/* A copy of m with the @odata.context of this request first. */
static cJSON *with_context(omctx_t *x, const cJSON *m, const char *suffix) {
  cJSON *out = cJSON_CreateObject();
  char ctx[600];
  snprintf(ctx, sizeof ctx, "%s%s", x->context, suffix);
  cJSON_AddStringToObject(out, "@odata.context", ctx);
  const cJSON *f;
  cJSON_ArrayForEach(f, m) cJSON_AddItemToObject(out, f->string, cJSON_Duplicate(f, true));
  return out;
}

static cJSON *user_identity(const char *id, const char *tenant) {
  cJSON *set = cJSON_CreateObject();
  cJSON *u = cJSON_AddObjectToObject(set, "user");
  cJSON_AddStringToObject(u, "id", id);
  cJSON_AddStringToObject(u, "tenantId", tenant);
  cJSON_AddNullToObject(u, "displayName");
  return set;
}

/* "2026-12-03T18:00:00Z"-like text of a Unix time in seconds. */
static void iso_of(long long unix_s, char out[32]) { dt_clock_format_iso((int64_t)unix_s * 1000, out); }

static int create(omctx_t *x) {
  cJSON *body = NULL;
  if (x->req->body_len > 0) body = cJSON_ParseWithLength(x->req->body, x->req->body_len);
  if (!cJSON_IsObject(body)) {
    cJSON_Delete(body);
    return bad(x, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
                  "valid JSON format.");
  }
  int status = 0;
  const char *subject = dt__emu_json_str(body, "subject");
  const cJSON *sj = dt__emu_json_get(body, "subject");
  const cJSON *st = dt__emu_json_get(body, "startDateTime"), *en = dt__emu_json_get(body, "endDateTime");
  long long ts = 0, te = 0;
  const cJSON *parts = dt__emu_json_get(body, "participants");
  const cJSON *att = dt__emu_json_get(parts, "attendees");
  const char *org = x->user[0] ? x->user : NULL;
  if (x->app_path) org = organizer_id(body);
  if (sj && !cJSON_IsNull(sj) && (!subject || strlen(subject) > SUBJECT_MAX))
    status = bad(x, "Invalid request: 'subject' must be a string of at most 1024 characters.");
  else if (st && !(cJSON_IsString(st) && dt_online_meeting_time(st->valuestring, &ts)))
    status = bad(x, "Invalid request: 'startDateTime' is not a valid DateTimeOffset.");
  else if (en && !(cJSON_IsString(en) && dt_online_meeting_time(en->valuestring, &te)))
    status = bad(x, "Invalid request: 'endDateTime' is not a valid DateTimeOffset.");
  else if (st && en && te <= ts)
    status = bad(x, "Invalid request: 'endDateTime' must be later than 'startDateTime'.");
  else if (att && (!cJSON_IsArray(att) || cJSON_GetArraySize(att) > ATTENDEES_MAX))
    status = bad(x, "Invalid request: 'participants.attendees' must be a list of at most 250 participants.");
  else if (org == NULL || org[0] == '\0')
    status = bad(x, "Invalid request: the meeting needs an organizer (participants.organizer.identity.user.id).");
  else if (!dt_graph_id_ok(org))
    status = bad(x, "Invalid request: the organizer's id is not a user id (an object id or a UPN).");
  if (status) {
    cJSON_Delete(body);
    return status;
  }
  const cJSON *a;
  cJSON_ArrayForEach(a, att) {
    if (!cJSON_IsObject(dt__emu_json_get(a, "identity"))) {
      cJSON_Delete(body);
      return bad(x, "Invalid request: every attendee needs an identity.");
    }
  }
  const char *tenant = x->emu->tenant_id ? x->emu->tenant_id : "";
  char tok[33], thread[64], now[32], sbuf[32], ebuf[32];
  dt__emu_random_token(tok, sizeof tok);
  for (char *p = tok; *p; p++) if (*p == '-' || *p == '_') *p = 'x'; /* a thread id has neither */
  snprintf(thread, sizeof thread, "19:meeting_%s@thread.v2", tok);
  dt__emu_iso_now(now);
  if (!st) ts = dt_clock_unix_ms() / 1000;
  if (!en) te = ts + 3600; /* Graph: an hour after the start */
  iso_of(ts, sbuf);
  iso_of(te, ebuf);
  char *raw_id = dt_xasprintf("1*%s*0**%s", org, thread);
  char *id = dt_base64url_encode(raw_id, strlen(raw_id));
  char *url = dt_xasprintf("https://teams.microsoft.com/l/meetup-join/19%%3ameeting_%s%%40thread.v2/0"
                           "?context=%%7b%%22Tid%%22%%3a%%22%s%%22%%2c%%22Oid%%22%%3a%%22%s%%22%%7d",
                           tok, tenant, org);
  cJSON *m = cJSON_CreateObject();
  cJSON_AddStringToObject(m, "id", id);
  cJSON_AddStringToObject(m, "creationDateTime", now);
  cJSON_AddStringToObject(m, "startDateTime", st ? st->valuestring : sbuf);
  cJSON_AddStringToObject(m, "endDateTime", en ? en->valuestring : ebuf);
  cJSON_AddStringToObject(m, "joinWebUrl", url);
  if (subject) cJSON_AddStringToObject(m, "subject", subject);
  else cJSON_AddNullToObject(m, "subject");
  cJSON *p = cJSON_AddObjectToObject(m, "participants");
  cJSON *o = cJSON_AddObjectToObject(p, "organizer");
  cJSON_AddItemToObject(o, "identity", user_identity(org, tenant));
  cJSON_AddStringToObject(o, "role", "presenter");
  if (strchr(org, '@')) cJSON_AddStringToObject(o, "upn", org);
  cJSON *list = cJSON_AddArrayToObject(p, "attendees");
  cJSON_ArrayForEach(a, att) {
    cJSON *c = cJSON_Duplicate(a, true);
    if (!dt__emu_json_get(c, "role")) cJSON_AddStringToObject(c, "role", "attendee");
    cJSON_AddItemToArray(list, c);
  }
  cJSON *ci = cJSON_AddObjectToObject(m, "chatInfo");
  cJSON_AddStringToObject(ci, "threadId", thread);
  cJSON_AddStringToObject(ci, "messageId", "0");
  cJSON_AddNullToObject(ci, "replyChainMessageId");
  cJSON_AddNullToObject(m, "videoTeleconferenceId");
  cJSON_AddNullToObject(m, "audioConferencing");
  if (!x->is_v1) { /* the bot era's beta object carried these too */
    cJSON_AddStringToObject(m, "accessLevel", "everyone");
    cJSON_AddBoolToObject(m, "isCancelled", false);
  }
  DT_FREE_ALL(raw_id, id, url);
  cJSON_Delete(body);
  if (x->emu->online_meetings == NULL) x->emu->online_meetings = cJSON_CreateArray();
  if (cJSON_GetArraySize(x->emu->online_meetings) >= EMU_ONLINE_MEETINGS_MAX)
    cJSON_DeleteItemFromArray(x->emu->online_meetings, 0);
  cJSON_AddItemToArray(x->emu->online_meetings, m);
  dt__emu_respond_json(x->req, 201, with_context(x, m, "/$entity"), NULL);
  return 201;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Query text decoded ('+' is a space) into out; false if too long or a bad escape. */
static bool decode(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (o + 1 >= cap) return false;
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= n) return false;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return false;
      out[o++] = (char)(h * 16 + l);
      i += 2;
    } else {
      out[o++] = c == '+' ? ' ' : c;
    }
  }
  out[o] = '\0';
  return true;
}

/* The URL of "$filter=JoinWebUrl eq '…'" in query, into url; 0 when there is no $filter,
   -1 when the filter is not one the emulator reads, 1 when url is set. */
static int join_url_filter(const char *query, char *url, size_t cap) {
  char *val = dt_xmalloc(FILTER_MAX);
  int res = 0;
  const char *p = query;
  while (p && *p) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    char name[32];
    const char *eq = memchr(p, '=', len);
    if (eq && decode(p, (size_t)(eq - p), name, sizeof name) && strcmp(name, "$filter") == 0) {
      res = -1;
      if (!decode(eq + 1, len - (size_t)(eq + 1 - p), val, FILTER_MAX)) break;
      const char *v = val;
      while (*v == ' ') v++;
      if (dt_strncasecmp(v, "JoinWebUrl", 10) != 0) break;
      v += 10;
      while (*v == ' ') v++;
      if (dt_strncasecmp(v, "eq", 2) != 0) break;
      v += 2;
      while (*v == ' ') v++;
      if (*v++ != '\'') break;
      size_t o = 0;
      bool closed = false;
      for (; *v; v++) {
        if (*v == '\'') {
          if (v[1] == '\'') v++; /* '' is a quote inside the string */
          else {
            closed = true;
            v++;
            break;
          }
        }
        if (o + 1 >= cap) break;
        url[o++] = *v;
      }
      url[o] = '\0';
      while (closed && *v == ' ') v++;
      if (closed && *v == '\0' && o > 0) res = 1;
      break;
    }
    p = amp ? amp + 1 : NULL;
  }
  free(val);
  return res;
}

static int get_collection(omctx_t *x) {
  char url[FILTER_MAX];
  int f = join_url_filter(x->req->query, url, sizeof url);
  if (f == 0)
    return bad(x, "Listing online meetings is not supported: filter by JoinWebUrl ($filter=JoinWebUrl eq '…').");
  if (f < 0) return bad(x, "Invalid filter clause: only JoinWebUrl eq '{joinWebUrl}' is supported.");
  const cJSON *m = dt__emu_online_meeting_find(x->emu, url, x->user[0] ? x->user : NULL);
  cJSON *out = cJSON_CreateObject();
  cJSON_AddStringToObject(out, "@odata.context", x->context);
  cJSON *value = cJSON_AddArrayToObject(out, "value");
  if (m) cJSON_AddItemToArray(value, cJSON_Duplicate(m, true));
  dt__emu_respond_json(x->req, 200, out, NULL);
  return 200;
}

static int item(omctx_t *x, const char *id) {
  cJSON *m = find_by_id(x->emu, id);
  if (m == NULL || !organized_by(m, x->user[0] ? x->user : NULL)) {
    dt__emu_respond_error(x->req, 404, "itemNotFound", "The requested resource (online meeting) was not found.");
    return 404;
  }
  const char *method = x->req->method;
  if (strcmp(method, "GET") == 0) {
    dt__emu_respond_json(x->req, 200, with_context(x, m, "/$entity"), NULL);
    return 200;
  }
  if (strcmp(method, "DELETE") == 0) {
    cJSON_Delete(cJSON_DetachItemViaPointer(x->emu->online_meetings, m));
    dt_http_respond(x->req, 204, NULL, NULL, 0);
    return 204;
  }
  dt__emu_respond_error(x->req, 405, "methodNotAllowed", "%s is not allowed on %s.", method, x->req->path);
  return 405;
}

bool dt__emu_online_meetings(dt_emulator_t *emu, dt_http_request_t *req, const char *base, const char *path) {
  omctx_t x = {.emu = emu, .req = req, .is_v1 = strcmp(base, "/v1.0") == 0};
  const char *rest = NULL;
  bool beta_create = false;
  if (dt__emu_path_under(path, "/app/onlineMeetings", &rest)) {
    if (x.is_v1) return false; /* v1.0 has no /app (graph_api.md §0): the caller's 404 */
    x.app_path = beta_create = true;
  } else if (dt__emu_path_under(path, "/communications/onlineMeetings", &rest)) {
    x.app_path = true;
    beta_create = !x.is_v1;
  } else if (dt_strncasecmp(path, "/users/", 7) == 0) {
    const char *slash = strchr(path + 7, '/');
    size_t ul = slash ? (size_t)(slash - (path + 7)) : 0;
    if (!slash || ul == 0 || ul > DT_GRAPH_MAX_ID || !dt__emu_path_under(slash, "/onlineMeetings", &rest)) return false;
    memcpy(x.user, path + 7, ul);
    x.user[ul] = '\0';
  } else {
    return false;
  }
  if (!dt__emu_graph_admit(emu, req) || !dt__emu_permit(emu, req, EMU_ROLE_ONLINE_MEETINGS_RW)) return true;
  char *origin = dt__emu_origin(emu, req);
  if (x.user[0])
    snprintf(x.context, sizeof x.context, "%s%s/$metadata#users('%.256s')/onlineMeetings", origin, base, x.user);
  else
    snprintf(x.context, sizeof x.context, "%s%s/$metadata#%s/onlineMeetings", origin, base,
             dt_strncasecmp(path, "/app", 4) == 0 ? "app" : "communications");
  free(origin);
  char seg[2][256];
  int ns = dt__emu_path_split(rest, (char *)seg, sizeof seg[0], 2);
  const char *m = req->method;
  if (ns < 0 || ns > 1) {
    bad(&x, "Unsupported resource path.");
  } else if (ns == 1) {
    item(&x, seg[0]);
  } else if (strcmp(m, "POST") == 0) {
    if (x.app_path && !beta_create)
      dt__emu_respond_error(req, 405, "methodNotAllowed",
                            "POST is not allowed on %s in v1.0: create meetings at /users/{userId}/onlineMeetings.",
                            req->path);
    else
      create(&x);
  } else if (strcmp(m, "GET") == 0) {
    get_collection(&x);
  } else {
    dt__emu_respond_error(req, 405, "methodNotAllowed", "%s is not allowed on %s.", m, req->path);
  }
  return true;
}
