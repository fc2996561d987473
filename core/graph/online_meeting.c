/*
 * online_meeting.c — the onlineMeeting resource for the engine (see dialtone/online_meeting.h):
 * the create body and path, the find-by-join-URL path, the flow's view of a meeting, and
 * the two requests through graph.c's base-relative dt_graph_request_base.
 *
 * Owns: validating what a flow gives (ids, times, subject, attendees), the OData filter
 * (the URL quoted as an OData string, '' for ', then percent-encoded) and the snake_case
 * view. Promises: pure apart from the two request functions; bounded inputs; nothing
 * allocated on a refused argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/meeting_link.h"
#include "dialtone/online_meeting.h"

static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* ISO 8601 date-time "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)" as Unix seconds; false if not. */
bool dt_online_meeting_time(const char *s, long long *out) {
  if (s == NULL || strnlen(s, 65) > 64 || strlen(s) < 20) return false;
  int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
  int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
    return false;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return false;
  const char *p = s + 19;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') p++;
  }
  long off = 0;
  if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
    off = 0;
  } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
    int oh = digits(p + 1, 2), om = digits(p + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
    off = (oh * 60L + om) * 60 * (*p == '-' ? -1 : 1);
  } else {
    return false;
  }
  *out = (long long)days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
  return true;
}

static cJSON *user_identity(const char *id) {
  cJSON *set = cJSON_CreateObject();
  cJSON *user = cJSON_AddObjectToObject(set, "user");
  cJSON_AddStringToObject(user, "id", id);
  return set;
}

int dt_online_meeting_create_request(dt_graph_dialect_t d, const dt_online_meeting_params_t *p, char **path,
                                     cJSON **body, char *err, size_t errlen) {
  *path = NULL;
  *body = NULL;
  if (p == NULL) return dt_seterr(err, errlen, DT_EINVAL, "no meeting given");
  if (!dt_graph_id_ok(p->organizer_id))
    return dt_seterr(err, errlen, DT_EINVAL,
                     "organizer must be the organizer's user id (1 to %d characters: letters, digits, -_.~:@)",
                     DT_GRAPH_MAX_ID);
  if (p->subject && strnlen(p->subject, DT_ONLINE_MEETING_MAX_SUBJECT + 1) > DT_ONLINE_MEETING_MAX_SUBJECT)
    return dt_seterr(err, errlen, DT_EINVAL, "subject is longer than %d bytes", DT_ONLINE_MEETING_MAX_SUBJECT);
  long long ts = 0, te = 0;
  if (p->start && !dt_online_meeting_time(p->start, &ts))
    return dt_seterr(err, errlen, DT_EINVAL, "start must be an ISO 8601 time such as 2026-12-03T18:00:00Z");
  if (p->end && !dt_online_meeting_time(p->end, &te))
    return dt_seterr(err, errlen, DT_EINVAL, "end must be an ISO 8601 time such as 2026-12-03T19:00:00Z");
  if (p->start && p->end && te <= ts) return dt_seterr(err, errlen, DT_EINVAL, "end must be after start");
  if (p->attendee_count > DT_ONLINE_MEETING_MAX_ATTENDEES)
    return dt_seterr(err, errlen, DT_EINVAL, "at most %d attendees", DT_ONLINE_MEETING_MAX_ATTENDEES);
  for (size_t i = 0; i < p->attendee_count; i++)
    if (!dt_graph_id_ok(p->attendees[i]))
      return dt_seterr(err, errlen, DT_EINVAL, "attendee %zu is not a user id", i + 1);

  cJSON *b = cJSON_CreateObject();
  if (p->start) cJSON_AddStringToObject(b, "startDateTime", p->start);
  if (p->end) cJSON_AddStringToObject(b, "endDateTime", p->end);
  if (p->subject) cJSON_AddStringToObject(b, "subject", p->subject);
  cJSON *parts = NULL;
  if (d == DT_GRAPH_BETA || p->attendee_count > 0) parts = cJSON_AddObjectToObject(b, "participants");
  if (d == DT_GRAPH_BETA) { /* /app/onlineMeetings has no user in its path */
    cJSON *org = cJSON_AddObjectToObject(parts, "organizer");
    cJSON_AddItemToObject(org, "identity", user_identity(p->organizer_id));
  }
  if (p->attendee_count > 0) {
    cJSON *att = cJSON_AddArrayToObject(parts, "attendees");
    for (size_t i = 0; i < p->attendee_count; i++) {
      cJSON *a = cJSON_CreateObject();
      cJSON_AddItemToObject(a, "identity", user_identity(p->attendees[i]));
      cJSON_AddItemToArray(att, a);
    }
  }
  *path = d == DT_GRAPH_BETA ? dt_xstrdup("/app/onlineMeetings")
                             : dt_xasprintf("/users/%s/onlineMeetings", p->organizer_id);
  *body = b;
  return 0;
}

int dt_online_meeting_find_path(dt_graph_dialect_t d, const char *user_id, const char *join_url, char **path,
                                char *err, size_t errlen) {
  *path = NULL;
  if (join_url == NULL || *join_url == '\0') return dt_seterr(err, errlen, DT_EINVAL, "join_url is required");
  size_t n = strnlen(join_url, DT_ONLINE_MEETING_MAX_URL + 1);
  if (n > DT_ONLINE_MEETING_MAX_URL)
    return dt_seterr(err, errlen, DT_EINVAL, "join_url is longer than %d bytes", DT_ONLINE_MEETING_MAX_URL);
  if (strncmp(join_url, "https://", 8) != 0)
    return dt_seterr(err, errlen, DT_EINVAL, "join_url must be an https:// Teams link");
  if (d == DT_GRAPH_V1 && !dt_graph_id_ok(user_id))
    return dt_seterr(err, errlen, DT_EINVAL,
                     "v1.0 looks meetings up under their organizer: give organizer (a user id)");
  const char *prefix = d == DT_GRAPH_BETA ? "/app" : "/users/";
  size_t cap = strlen(prefix) + (d == DT_GRAPH_V1 ? strlen(user_id) : 0) + 64 + n * 6;
  char *out = dt_xmalloc(cap);
  int k = snprintf(out, cap, "%s%s/onlineMeetings?$filter=JoinWebUrl%%20eq%%20%%27", prefix,
                   d == DT_GRAPH_V1 ? user_id : "");
  size_t o = (size_t)k;
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)join_url[i];
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 c == '.' || c == '~';
    int times = c == '\'' ? 2 : 1; /* an OData string doubles its quotes */
    for (int t = 0; t < times; t++) {
      if (plain) {
        out[o++] = (char)c;
      } else {
        out[o++] = '%';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
      }
    }
  }
  memcpy(out + o, "%27", 4);
  *path = out;
  return 0;
}

/* ---- the flow's view ---- */

static const char *jstr(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void copy_str(cJSON *to, const char *key, const cJSON *from, const char *from_key) {
  const char *s = jstr(from, from_key);
  if (s) cJSON_AddStringToObject(to, key, s);
}

/* The view's name of a string field, and Graph's. */
typedef struct {
  const char *key, *graph_key;
} rename_t;

static void copy_strs(cJSON *to, const cJSON *from, const rename_t *fields, size_t n) {
  for (size_t i = 0; i < n; i++) copy_str(to, fields[i].key, from, fields[i].graph_key);
}

static const rename_t MEETING_FIELDS[] = {
    {"id", "id"},
    {"join_url", "joinWebUrl"},
    {"subject", "subject"},
    {"start_time", "startDateTime"},
    {"end_time", "endDateTime"},
    {"created_time", "creationDateTime"},
    {"video_teleconference_id", "videoTeleconferenceId"},
};
static const rename_t CHAT_INFO_FIELDS[] = {
    {"thread_id", "threadId"},
    {"message_id", "messageId"},
    {"reply_chain_message_id", "replyChainMessageId"},
};
static const rename_t USER_FIELDS[] = {{"id", "id"}, {"tenant_id", "tenantId"}, {"name", "displayName"}};

/* {id, tenant_id, name} of a meetingParticipantInfo's identity.user (or NULL). */
static cJSON *person(const cJSON *info) {
  const cJSON *user = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(info, "identity"), "user");
  if (!cJSON_IsObject(user)) return NULL;
  cJSON *p = cJSON_CreateObject();
  copy_strs(p, user, USER_FIELDS, DT_ARRAY_SIZE(USER_FIELDS));
  copy_str(p, "upn", info, "upn");
  return p;
}

cJSON *dt_online_meeting_view(const cJSON *m) {
  if (!cJSON_IsObject(m)) return NULL;
  cJSON *v = cJSON_CreateObject();
  copy_strs(v, m, MEETING_FIELDS, DT_ARRAY_SIZE(MEETING_FIELDS));
  const cJSON *ci = cJSON_GetObjectItemCaseSensitive(m, "chatInfo");
  if (cJSON_IsObject(ci)) {
    cJSON *c = cJSON_AddObjectToObject(v, "chat_info");
    copy_strs(c, ci, CHAT_INFO_FIELDS, DT_ARRAY_SIZE(CHAT_INFO_FIELDS));
  }
  const cJSON *parts = cJSON_GetObjectItemCaseSensitive(m, "participants");
  cJSON *org = person(cJSON_GetObjectItemCaseSensitive(parts, "organizer"));
  if (org) cJSON_AddItemToObject(v, "organizer", org);
  const cJSON *att = cJSON_GetObjectItemCaseSensitive(parts, "attendees");
  if (cJSON_IsArray(att)) {
    cJSON *list = cJSON_AddArrayToObject(v, "attendees");
    const cJSON *a;
    cJSON_ArrayForEach(a, att) {
      cJSON *p = person(a);
      if (p) cJSON_AddItemToArray(list, p);
    }
  }
  /* meetingInfo as a dial needs it: the link's organizer and tenant, else the organizer's */
  dt_meeting_link_t link;
  const char *url = jstr(m, "joinWebUrl");
  cJSON *mi = cJSON_CreateObject();
  if (url && dt_meeting_link_parse(url, &link, NULL, 0) == 0 && link.kind == DT_MEETING_LINK_CLASSIC) {
    cJSON_AddStringToObject(mi, "organizer_id", link.organizer_id);
    cJSON_AddStringToObject(mi, "tenant_id", link.tenant_id);
  } else if (org) {
    copy_str(mi, "organizer_id", org, "id");
    copy_str(mi, "tenant_id", org, "tenant_id");
  }
  if (mi->child) cJSON_AddItemToObject(v, "meeting_info", mi);
  else cJSON_Delete(mi);
  return v;
}

/* ---- the requests ---- */

int dt_graph_create_online_meeting(dt_graph_t *g, const dt_online_meeting_params_t *p, dt_graph_fn cb, void *ud,
                                   dt_graph_req_t **out) {
  if (out) *out = NULL;
  if (g == NULL) return DT_EINVAL;
  char *path;
  cJSON *body;
  int rc = dt_online_meeting_create_request(dt_graph_dialect(g), p, &path, &body, NULL, 0);
  if (rc) return rc;
  rc = dt_graph_request_base(g, "POST", path, body, cb, ud, out);
  free(path);
  return rc;
}

int dt_graph_find_online_meeting(dt_graph_t *g, const char *user_id, const char *join_url, dt_graph_fn cb, void *ud,
                                 dt_graph_req_t **out) {
  if (out) *out = NULL;
  if (g == NULL) return DT_EINVAL;
  char *path;
  int rc = dt_online_meeting_find_path(dt_graph_dialect(g), user_id, join_url, &path, NULL, 0);
  if (rc) return rc;
  rc = dt_graph_request_base(g, "GET", path, NULL, cb, ud, out);
  free(path);
  return rc;
}
