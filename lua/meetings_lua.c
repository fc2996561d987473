/*
 * meetings_lua.c — dialtone.meetings: the onlineMeeting resource in flows.
 *
 *   dialtone.meetings.create{organizer = "user id", subject =, start_time =, end_time =,
 *                            attendees = {"user id", …}}        -> meeting
 *   dialtone.meetings.get{join_url = "https://teams.microsoft.com/l/meetup-join/…",
 *                         organizer = "user id"}                -> meeting | nil, "not found"
 *
 * A meeting is a table {id, join_url, subject, start_time, end_time, created_time,
 * chat_info = {thread_id, message_id, reply_chain_message_id}, organizer = {id, tenant_id,
 * name}, attendees = {{id, name}…}, meeting_info = {organizer_id, tenant_id}}; its join_url
 * goes straight into dialtone.dial{meeting = {join_url = m.join_url}}.
 *
 * Like dialtone.dial: only from a call's flow (the request waits on that call: the coroutine
 * yields until Graph answers); bad arguments raise a plain error naming the option; a Graph
 * refusal raises the dialtone.error {code = "graph", status, graph_code, message} (a 403
 * says an application access policy is missing). get's organizer defaults to the link's
 * organizer (the context's Oid) for a classic link.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/luajson.h"
#include "dialtone/meeting_link.h"
#include "dialtone/online_meeting.h"
#include "call_handle.h"
#include "meetings_lua.h"

static const char *const CREATE_OPTS[] = {"organizer", "subject", "start_time", "end_time", "attendees", NULL};
static const char *const GET_OPTS[] = {"join_url", "organizer", NULL};

/* Option key of table 1 as a string of 1..max bytes, or NULL when absent. The string stays
   referenced by the option table. */
static const char *opt_string(lua_State *L, const char *prim, const char *key, size_t max) {
  const char *s = NULL;
  if (lua_getfield(L, 1, key) != LUA_TNIL) {
    size_t n = 0;
    s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    if (!s || n == 0 || n > max) luaL_error(L, "%s: %s must be a string of 1 to %d bytes", prim, key, (int)max);
  }
  lua_pop(L, 1);
  return s;
}

/* The running flow's call, able to wait (as dialtone.dial requires). Whether it still
   lives is asked after the arguments are checked (started()), so bad arguments always say so. */
static dt_call_t *own_call(lua_State *L, const char *prim) {
  dt_call_t *c = dt__call_handle_self(L);
  if (!c) luaL_error(L, "%s can only be used from a call's flow", prim);
  if (!lua_isyieldable(L)) luaL_error(L, "%s cannot wait here; call it from the flow's own code", prim);
  return c;
}

static bool ended(const dt_call_t *c) { return (c->flags & (DT_CALLF_FLOW_DONE | DT_CALLF_RELEASED)) != 0; }

static int k_meeting(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) {
    if (c->result.http_status == 403 && c->result.message) {
      char *m = dt_xasprintf("%s (an application needs an application access policy for the organizer: "
                             "see docs/operator.md)", c->result.message);
      free(c->result.message);
      c->result.message = m;
    }
    return dt__call_handle_raise_result(L, c);
  }
  if (!c->result.json) {
    lua_pushnil(L);
    lua_pushstring(L, "not found");
    return 2;
  }
  dt_lua_push_json(L, c->result.json);
  return 1;
}

static int l_create(lua_State *L) {
  const char *prim = "dialtone.meetings.create";
  dt_call_t *c = own_call(L, prim);
  luaL_checktype(L, 1, LUA_TTABLE);
  dt__call_handle_check_options(L, 1, prim, CREATE_OPTS);
  dt_online_meeting_params_t p = {0};
  p.organizer_id = opt_string(L, prim, "organizer", DT_GRAPH_MAX_ID);
  if (!p.organizer_id) return luaL_error(L, "%s: organizer is required (the organizer's user id)", prim);
  p.subject = opt_string(L, prim, "subject", DT_ONLINE_MEETING_MAX_SUBJECT);
  p.start = opt_string(L, prim, "start_time", 64);
  p.end = opt_string(L, prim, "end_time", 64);
  const char **att = NULL;
  if (lua_getfield(L, 1, "attendees") != LUA_TNIL) {
    int t = lua_gettop(L); /* stays on the stack: it keeps the id strings alive */
    if (!lua_istable(L, t)) return luaL_error(L, "%s: attendees must be a list of user ids", prim);
    lua_Integer n = luaL_len(L, t);
    if (n > DT_ONLINE_MEETING_MAX_ATTENDEES)
      return luaL_error(L, "%s: at most %d attendees", prim, DT_ONLINE_MEETING_MAX_ATTENDEES);
    att = lua_newuserdatauv(L, sizeof *att * (size_t)(n > 0 ? n : 1), 0); /* freed by the GC */
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, t, i);
      size_t len = 0;
      const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
      if (!s || len == 0 || len > DT_GRAPH_MAX_ID)
        return luaL_error(L, "%s: attendee %d must be a user id (a string)", prim, (int)i);
      att[i - 1] = s;
      lua_pop(L, 1);
    }
    p.attendees = att;
    p.attendee_count = (size_t)n;
  }
  char why[200], *path = NULL;
  cJSON *body = NULL;
  /* the checks are the same in both dialects: run them here for a sentence that names the option */
  if (dt_online_meeting_create_request(DT_GRAPH_V1, &p, &path, &body, why, sizeof why) != 0)
    return luaL_error(L, "%s: %s", prim, why);
  free(path);
  cJSON_Delete(body);
  if (ended(c)) return dt__call_handle_hangup(L);
  int rc = dt_call_meeting_create(c, &p);
  if (rc == DT_EINVAL) return luaL_error(L, "%s: invalid arguments", prim);
  return dt__call_handle_wait(L, "meetings.create", rc, k_meeting);
}

static int l_get(lua_State *L) {
  const char *prim = "dialtone.meetings.get";
  dt_call_t *c = own_call(L, prim);
  luaL_checktype(L, 1, LUA_TTABLE);
  dt__call_handle_check_options(L, 1, prim, GET_OPTS);
  const char *url = opt_string(L, prim, "join_url", DT_ONLINE_MEETING_MAX_URL);
  if (!url) return luaL_error(L, "%s: join_url is required", prim);
  const char *organizer = opt_string(L, prim, "organizer", DT_GRAPH_MAX_ID);
  dt_meeting_link_t *link = lua_newuserdatauv(L, sizeof *link, 0); /* stays on the stack */
  char why[200];
  if (dt_meeting_link_parse(url, link, why, sizeof why) != 0)
    return luaL_error(L, "%s: cannot read join_url: %s", prim, why);
  if (!organizer && link->kind == DT_MEETING_LINK_CLASSIC && link->organizer_id[0]) organizer = link->organizer_id;
  char *path = NULL;
  if (dt_online_meeting_find_path(DT_GRAPH_BETA, organizer, url, &path, why, sizeof why) != 0)
    return luaL_error(L, "%s: %s", prim, why);
  free(path);
  if (ended(c)) return dt__call_handle_hangup(L);
  int rc = dt_call_meeting_find(c, organizer, url);
  if (rc == DT_EINVAL) /* only v1.0 refuses more than the checks above: it needs the organizer */
    return luaL_error(L, "%s: v1.0 looks meetings up under their organizer: give organizer (a user id; "
                         "this link names none)", prim);
  return dt__call_handle_wait(L, "meetings.get", rc, k_meeting);
}

void dt__meetings_lua_open(lua_State *L) {
  static const luaL_Reg FUNCS[] = {{"create", l_create}, {"get", l_get}, {NULL, NULL}};
  lua_createtable(L, 0, 2);
  luaL_setfuncs(L, FUNCS, 0);
  lua_setfield(L, -2, "meetings");
}
