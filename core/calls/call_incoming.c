/*
 * call_incoming.c — what Graph says about an incoming call (subject, called identity,
 * chatInfo/meetingInfo, incomingContext) turned into the view a flow reads, and the routes
 * that match on it (see include/dialtone/call_incoming.h).
 *
 * Owns: dt_incoming_view, the facts derived from it (policy recording, transferred, meeting
 * invite), the route matcher and the route check, and dt_calls_route (the first route that
 * matches). Pure: nothing here touches a call, the loop or the network. Promises: every
 * string of the view is bounded (DT_INCOMING_MAX_TEXT), the view only holds what Graph sent.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "dialtone/call_incoming.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/text.h"
#include "call_internal.h"

/* s cut to at most DT_INCOMING_MAX_TEXT bytes, never inside a UTF-8 sequence. */
static void put_text(cJSON *o, const char *key, const char *s) {
  if (s == NULL || s[0] == '\0') return;
  size_t n = strlen(s);
  if (n <= DT_INCOMING_MAX_TEXT) {
    cJSON_AddStringToObject(o, key, s);
    return;
  }
  size_t i = 0;
  while (i < DT_INCOMING_MAX_TEXT) {
    unsigned cp;
    size_t l = (unsigned char)s[i] < 0x80 ? 1 : dt_text_utf8_len(s + i, n - i, &cp);
    if (l == 0) l = 1; /* a stray byte counts as one */
    if (i + l > DT_INCOMING_MAX_TEXT) break;
    i += l;
  }
  char *cut = dt_xmalloc(i + 1);
  memcpy(cut, s, i);
  cut[i] = '\0';
  cJSON_AddStringToObject(o, key, cut);
  free(cut);
}

static const char *str_at(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void put_identity(cJSON *o, const char *key, const cJSON *set) {
  cJSON *id = dt__call_identity_flow(set);
  if (id) cJSON_AddItemToObject(o, key, id);
}

/* An object added only when it got a member. */
static void add_if_any(cJSON *o, const char *key, cJSON *sub) {
  if (sub->child) cJSON_AddItemToObject(o, key, sub);
  else cJSON_Delete(sub);
}

/* A Graph member and its name in the view: a string (is_identity false) or an identitySet. */
typedef struct {
  const char *graph, *view;
  bool is_identity;
} field_t;

static const field_t CHAT[] = {{"threadId", "thread", false}, {"messageId", "message", false},
                               {"replyChainMessageId", "reply_chain", false}, {NULL, NULL, false}};
static const field_t MEETING[] = {{"organizer", "organizer", true}, {"joinMeetingId", "join_id", false},
                                  {"token", "token", false}, {NULL, NULL, false}};
static const field_t CONTEXT[] = {{"sourceParticipantId", "source_participant_id", false},
                                  {"observedParticipantId", "observed_participant_id", false},
                                  {"onBehalfOf", "on_behalf_of", true}, {"transferor", "transferor", true},
                                  {NULL, NULL, false}};

/* The view's object for Graph's object src (NULL when src is not an object). */
static cJSON *fields_of(const cJSON *src, const field_t *f) {
  if (!cJSON_IsObject(src)) return NULL;
  cJSON *o = cJSON_CreateObject();
  for (; f->graph; f++) {
    if (f->is_identity) put_identity(o, f->view, cJSON_GetObjectItemCaseSensitive(src, f->graph));
    else put_text(o, f->view, str_at(src, f->graph));
  }
  return o;
}

cJSON *dt_incoming_view(const cJSON *rd) {
  cJSON *v = cJSON_CreateObject();
  if (!cJSON_IsObject(rd)) return v;
  put_text(v, "subject", str_at(rd, "subject"));
  const cJSON *targets = cJSON_GetObjectItemCaseSensitive(rd, "targets");
  const cJSON *t0 = cJSON_IsArray(targets) ? cJSON_GetArrayItem(targets, 0) : NULL;
  if (cJSON_IsObject(t0)) put_identity(v, "called", cJSON_GetObjectItemCaseSensitive(t0, "identity"));
  cJSON *chat = fields_of(cJSON_GetObjectItemCaseSensitive(rd, "chatInfo"), CHAT);
  if (chat) add_if_any(v, "chat", chat);
  const cJSON *mi = cJSON_GetObjectItemCaseSensitive(rd, "meetingInfo");
  cJSON *m = fields_of(mi, MEETING);
  if (m) {
    /* the organizer's tenant, as dialtone.dial{meeting = {tenant =}} takes it */
    const cJSON *org = cJSON_GetObjectItemCaseSensitive(mi, "organizer");
    const cJSON *ou = cJSON_IsObject(org) ? cJSON_GetObjectItemCaseSensitive(org, "user") : NULL;
    put_text(m, "tenant", str_at(ou, "tenantId"));
    /* an invite whose meetingInfo says nothing we read still is a meeting invite */
    if (m->child == NULL) cJSON_AddTrueToObject(m, "invite");
    cJSON_AddItemToObject(v, "meeting", m);
  }
  cJSON *c = fields_of(cJSON_GetObjectItemCaseSensitive(rd, "incomingContext"), CONTEXT);
  if (c) add_if_any(v, "context", c);
  return v;
}

static const cJSON *context_item(const cJSON *view, const char *key) {
  const cJSON *c = cJSON_IsObject(view) ? cJSON_GetObjectItemCaseSensitive(view, "context") : NULL;
  return cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, key) : NULL;
}

bool dt_incoming_is_policy_recording(const cJSON *view) {
  return context_item(view, "observed_participant_id") != NULL;
}

bool dt_incoming_is_transferred(const cJSON *view) { return context_item(view, "transferor") != NULL; }

bool dt_incoming_is_meeting(const cJSON *view) {
  return cJSON_IsObject(view) && (cJSON_GetObjectItemCaseSensitive(view, "meeting") != NULL ||
                                  cJSON_GetObjectItemCaseSensitive(view, "chat") != NULL);
}

bool dt_glob_match(const char *p, const char *s) {
  /* iterative, with one backtrack point: linear in practice, never exponential */
  const char *star = NULL, *resume = NULL;
  while (*s) {
    if (*p == '*') {
      star = p++;
      resume = s;
    } else if (*p && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
      p++;
      s++;
    } else if (star) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (*p == '*') p++;
  return *p == '\0';
}

static bool flag_ok(uint8_t want, bool fact) {
  return want == DT_ROUTE_ANY || (want == DT_ROUTE_YES) == fact;
}

bool dt_route_matches(const dt_route_t *r, const cJSON *view, const char *const *ids, size_t n) {
  if (r->match && strcmp(r->match, "*") != 0) {
    bool hit = false;
    for (size_t j = 0; j < n && !hit; j++) hit = ids[j] && dt_strcasecmp(ids[j], r->match) == 0;
    if (!hit) return false;
  }
  if (r->subject) {
    const char *subj = str_at(view, "subject");
    if (!dt_glob_match(r->subject, subj ? subj : "")) return false;
  }
  return flag_ok(r->policy_recording, dt_incoming_is_policy_recording(view)) &&
         flag_ok(r->transferred, dt_incoming_is_transferred(view)) &&
         flag_ok(r->meeting, dt_incoming_is_meeting(view));
}

int dt_route_check(const dt_route_t *r, char *err, size_t errlen) {
  if (r->match && r->match[0] == '\0')
    return dt_seterr(err, errlen, DT_ECONFIG, "match: expected a non-empty string (the called identity's id, or \"*\")");
  if (r->subject && (r->subject[0] == '\0' || strlen(r->subject) > DT_ROUTE_MAX_SUBJECT))
    return dt_seterr(err, errlen, DT_ECONFIG, "subject: expected a pattern of 1 to %d bytes (* and ? as wildcards)",
                     DT_ROUTE_MAX_SUBJECT);
  if (r->policy_recording > DT_ROUTE_NO || r->transferred > DT_ROUTE_NO || r->meeting > DT_ROUTE_NO)
    return dt_seterr(err, errlen, DT_ECONFIG, "a condition flag is out of range");
  if (!r->match && !r->subject && !r->policy_recording && !r->transferred && !r->meeting)
    return dt_seterr(err, errlen, DT_ECONFIG,
                     "no condition: give match (the called id, or \"*\"), subject, policy_recording, "
                     "transferred or meeting");
  return 0;
}

static int route_from_json(const cJSON *o, dt_route_t *r, char *err, size_t errlen) {
  if (!cJSON_IsObject(o)) return dt_seterr(err, errlen, DT_ECONFIG, "expected a table {match=, flow=, ...}");
  const cJSON *it;
  cJSON_ArrayForEach(it, o) {
    const char *k = it->string;
    const char **s = strcmp(k, "match") == 0     ? &r->match
                     : strcmp(k, "flow") == 0    ? &r->flow
                     : strcmp(k, "subject") == 0 ? &r->subject
                                                 : NULL;
    uint8_t *f = strcmp(k, "policy_recording") == 0 ? &r->policy_recording
                 : strcmp(k, "transferred") == 0    ? &r->transferred
                 : strcmp(k, "meeting") == 0        ? &r->meeting
                                                    : NULL;
    if (s) {
      if (!cJSON_IsString(it)) return dt_seterr(err, errlen, DT_ECONFIG, ".%s: expected a string", k);
      *s = it->valuestring;
    } else if (f) {
      if (!cJSON_IsBool(it)) return dt_seterr(err, errlen, DT_ECONFIG, ".%s: expected true or false", k);
      *f = cJSON_IsTrue(it) ? DT_ROUTE_YES : DT_ROUTE_NO;
    } else {
      return dt_seterr(err, errlen, DT_ECONFIG,
                       ".%.32s: unknown key (a route has match, subject, policy_recording, transferred, meeting and flow)", k);
    }
  }
  if (r->flow == NULL || r->flow[0] == '\0') return dt_seterr(err, errlen, DT_ECONFIG, ".flow: missing (the flow's name)");
  char why[256];
  if (dt_route_check(r, why, sizeof why) != 0) return dt_seterr(err, errlen, DT_ECONFIG, ": %s", why);
  return 0;
}

int dt_routes_from_json(const cJSON *arr, dt_route_t **out, size_t *n, char *err, size_t errlen) {
  *out = NULL;
  *n = 0;
  if (!cJSON_IsArray(arr)) return dt_seterr(err, errlen, DT_ECONFIG, "routes: expected a list of route tables");
  size_t count = (size_t)cJSON_GetArraySize(arr);
  if (count > DT_ROUTES_JSON_MAX) return dt_seterr(err, errlen, DT_ECONFIG, "routes: more than %d", DT_ROUTES_JSON_MAX);
  dt_route_t *rs = dt_xcalloc(count + 1, sizeof *rs);
  size_t i = 0;
  const cJSON *o;
  cJSON_ArrayForEach(o, arr) {
    char why[300];
    if (route_from_json(o, &rs[i], why, sizeof why) != 0) {
      free(rs);
      return dt_seterr(err, errlen, DT_ECONFIG, "routes[%zu]%s", i + 1, why);
    }
    i++;
  }
  *out = rs;
  *n = count;
  return 0;
}

const char *dt_calls_route(const dt_calls_t *r, const cJSON *view, const char *const *ids, size_t n) {
  for (size_t i = 0; i < r->nroutes; i++)
    if (dt_route_matches(&r->routes[i], view, ids, n)) return r->routes[i].flow;
  return r->default_flow;
}
