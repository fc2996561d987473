/*
 * testkit_api.c — `dialtone test`: the C functions testkit.lua (the test API, embedded)
 * calls (src/testkit_api.h); testkit.c runs the command around them.
 *
 * Owns: per test file the engine + emulator (localrun.h) with a temporary directory for
 * CDRs, the simulated clock while a test waits, the timeline hook into the test's Lua
 * state, and the capture of the engine's log. Calls it starts run the flow they name
 * (dt_localrun_place_call, dt_localrun_dial).
 *
 * The simulated clock. The emulator's clock is in manual mode (dt_emulator_set_clock_manual)
 * while a test file runs: it stands still unless the runner moves it, so test code always
 * acts at a known simulated instant ("the recording started: now speak for 3 s, then press
 * #"). While the test waits (drive), the runner moves it one instant at a time
 * (dt_emulator_clock_next: the earliest scheduled event and whatever else is due then), or
 * exactly to a wait's target (dt_emulator_clock_advance), and only once the engine and the
 * emulator are settled (issue 12 point 10: a key's consequences must happen at the key's
 * instant, as they do against the real-time emulator):
 *   - the emulator owes nothing (dt_emulator_busy: no notification queued or in flight, no
 *     prompt fetch in flight, no timeline entry the hook has not seen),
 *   - the engine waits for no answer (dt_engine_requests_in_flight: no Graph, token, key set
 *     or recording request on its way), and
 *   - nothing is due on the loop (uv_backend_timeout is not 0: no idle handle, no pending
 *     callback, no expired timer — the engine's Graph requests start from curl's 0 ms
 *     timer, its flow resumes from the loop),
 * for TK_QUIET_TURNS loop turns in a row, each of which polls I/O without blocking: what
 * one side wrote on loopback is read by the other in the next turn's poll, so a request
 * the engine sent is in the emulator before the clock moves.
 * Timeline entries reach the hook from the emulator's idle handle, before the next
 * prepare, so every instant is seen (and may end the wait) before the next one comes.
 * When nothing is scheduled and no target is set the loop blocks until I/O or the tick.
 * keepAlive (issue 12 point 1) runs on this clock too: the emulator's 45-minute rule is a
 * lazy event and the engine's keepAlives are due on the simulated clock (localrun's
 * keepalive_simulated). The clock goes to either only on its way to a wait's target or to a
 * real event (dt_emulator_clock_next_active_due), never just because the call is idle, so
 * expectations that wait on the engine's instant timers are not carried 30 minutes ahead.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lua.h>
#include <uv.h>
#include <cjson/cJSON.h>
#include "dialtone/call_incoming.h"
#include "dialtone/call_tags.h"
#include "dialtone/common.h"
#include "dialtone/config_settings.h"
#include "dialtone/error.h"
#include "dialtone/hours.h"
#include "dialtone/tz.h"
#include "dialtone/localrun.h"
#include "dialtone/log.h"
#include "dialtone/luajson.h"
#include "dialtone/tts.h"
#include "testkit_api.h"

static tk_t *self(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* ------------------------------------------------------------------ JSON <-> Lua */

static int l_json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  cJSON *j = cJSON_ParseWithLength(s, n);
  if (j == NULL) {
    lua_pushnil(L);
    lua_pushstring(L, "invalid JSON");
    return 2;
  }
  dt_lua_push_json(L, j);
  cJSON_Delete(j);
  return 1;
}

/* ------------------------------------------------------------------ the simulated clock */

static dt_emulator_t *emu_of(tk_t *tk) { return tk->lr ? dt_localrun_emulator(tk->lr) : NULL; }

static int64_t sim_now(tk_t *tk) { return tk->lr ? (int64_t)dt_emulator_clock_now(emu_of(tk)) : 0; }

static void drive_finish(tk_t *tk, const char *why) {
  tk->result = why;
  uv_stop(&tk->loop);
}

/* Wakes the loop so that its poll does not block (settling turns, a step just taken). */
static void on_wd(uv_timer_t *t) { (void)t; }

static void on_tick(uv_timer_t *t) {
  tk_t *tk = t->data;
  tk->check_due = true;
}

/* Whether the engine and the emulator are settled (see the top of this file). The
   runner's 0 ms wake-up does not count (it has fired by now anyway); its tick counts only
   in the turn it is due, which merely delays the next move. */
static bool settled(tk_t *tk) {
  uv_timer_stop(&tk->wd);
  return dt_localrun_settled(tk->lr);
}

/* One move of the simulated clock, once settled: to the next instant, or to the target
   when that comes first. False when there is nothing to move to. */
static bool step_clock(tk_t *tk) {
  dt_emulator_t *emu = emu_of(tk);
  uint64_t now = dt_emulator_clock_now(emu), due = 0, act = 0;
  /* How far the clock may go: the wait's target, or the next event that is not a lazy
     deadline (the keepAlive rule's). Neither: block (the engine's instant timers are real
     time), as an idle call must not be carried to its 45-minute deadline. */
  int64_t bound = tk->target;
  if (dt_emulator_clock_next_active_due(emu, &act) == 0 && (bound < 0 || (int64_t)act < bound)) bound = (int64_t)act;
  if (bound < 0) return false;
  if (dt_localrun_keepalive_step(tk->lr, bound)) { /* the engine's keepAlive comes first */
    tk->sim = sim_now(tk);
    return true;
  }
  bool has = dt_emulator_clock_next_due(emu, &due) == 0;
  if (has && (int64_t)due <= bound) dt_emulator_clock_next(emu);
  else if (tk->target >= 0 && (int64_t)now < tk->target) dt_emulator_clock_advance(emu, (uint64_t)tk->target - now);
  else return false;
  tk->sim = sim_now(tk);
  return true;
}

static void set_lua_error(tk_t *tk, const char *msg) {
  if (tk->lua_error == NULL) tk->lua_error = dt_xstrdup(msg ? msg : "(error object is not a string)");
}

/* Runs the wait's own condition (a Lua function); true when it holds. */
static bool run_check(tk_t *tk) {
  lua_State *L = tk->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, tk->check_ref);
  bool ok = false;
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) set_lua_error(tk, lua_tostring(L, -1));
  else ok = lua_toboolean(L, -1);
  lua_settop(L, top);
  return ok;
}

static void on_prepare(uv_prepare_t *p) {
  tk_t *tk = p->data;
  if (!tk->driving || tk->result) return;
  if (tk->lua_error) return drive_finish(tk, "error");
  if (tk->matched) return drive_finish(tk, "matched");
  if (tk->target >= 0 && tk->sim >= tk->target) return drive_finish(tk, "target");
  if (tk->check_ref != LUA_NOREF && tk->check_due) {
    tk->check_due = false;
    bool ok = run_check(tk);
    if (tk->lua_error) return drive_finish(tk, "error");
    if (ok) return drive_finish(tk, "check");
  }
  if (dt_now_ms() >= tk->deadline) return drive_finish(tk, "timeout");
  tk->quiet = settled(tk) ? tk->quiet + 1 : 0;
  if (tk->quiet == 0) return; /* something is on its way: the poll wakes us when it comes */
  if (tk->quiet < TK_QUIET_TURNS) {
    uv_timer_start(&tk->wd, on_wd, 0, 0); /* poll, but do not block: count the next turn */
    return;
  }
  if (step_clock(tk)) {
    tk->quiet = 0;
    uv_timer_start(&tk->wd, on_wd, 0, 0);
  }
  /* else nothing to move to: block until I/O or the tick */
}

/* The timeline hook: every entry goes to the test's Lua side, which answers whether the
   current wait is over. */
static void on_event(const cJSON *entry, void *ud) {
  tk_t *tk = ud;
  tk->check_due = true;
  if (tk->L == NULL || tk->entry_ref == LUA_NOREF) return;
  lua_State *L = tk->L;
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 8)) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, tk->entry_ref);
  dt_lua_push_json(L, entry);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) set_lua_error(tk, lua_tostring(L, -1));
  else if (tk->driving && lua_toboolean(L, -1)) tk->matched = true;
  lua_settop(L, top);
}

/* ------------------------------------------------------------------ Lua: engine + emulator */

static void remove_tmpdir(tk_t *tk) {
  if (!tk->tmpdir[0]) return;
  DIR *d = opendir(tk->tmpdir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char p[512];
      snprintf(p, sizeof p, "%s/%s", tk->tmpdir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(tk->tmpdir);
  tk->tmpdir[0] = '\0';
}

static void on_closed(void *ud) { ((tk_t *)ud)->closed = true; }

void dt__tk_stop_localrun(tk_t *tk) {
  if (tk->lr == NULL) return;
  tk->closed = false;
  dt_emulator_set_clock_manual(emu_of(tk), false); /* the clock runs by itself (time scale 0):
                                                      the engine's drain finishes its calls */
  dt_localrun_close(tk->lr, on_closed, tk);
  uint64_t end = dt_now_ms() + 30000;
  uv_timer_start(&tk->tick, on_tick, TK_TICK_MS, TK_TICK_MS);
  while (!tk->closed && dt_now_ms() < end) uv_run(&tk->loop, UV_RUN_ONCE);
  uv_timer_stop(&tk->tick);
  if (!tk->closed) fprintf(tk->err, "dialtone test: the engine and emulator did not close within 30 s\n");
  tk->lr = NULL;
  remove_tmpdir(tk);
}

/* ------------------------------------------------------------------ dialtone.http's stubs */

/* Registry keys (their addresses): the Lua function that answers a flow's request
   (testkit.lua's t:http_stub table, through on_http), and the last answer with its header
   array, kept until the next request so the strings the engine reads stay valid. */
static const char HTTP_FN_KEY = 0, HTTP_LAST_KEY = 0, HTTP_HDRS_KEY = 0;

static int l_on_http(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &HTTP_FN_KEY);
  return 0;
}

static int http_error_code(const char *e) {
  static const struct {
    const char *name;
    int err;
  } M[] = {{"timeout", DT_ETIMEDOUT}, {"refused", DT_ECONNREFUSED}, {"dns", DT_EDNS},
           {"tls", DT_ETLS},          {"too_large", DT_ETOOBIG},    {"connection", DT_ECONN}};
  for (size_t i = 0; i < DT_ARRAY_SIZE(M); i++)
    if (strcmp(e, M[i].name) == 0) return M[i].err;
  return DT_ECONN;
}

/* dt_runtime_http_stub_fn: a flow's request goes to testkit.lua's handler, called with
   {method, url, headers, body}; it answers {status, headers, body[, error]} or nil (no stub
   matches: the test fails, naming the request). Runs inside the flow's resume, on the test's
   own Lua state (another state than the flow's). */
static int http_stub(const dt_http_request_options_t *req, dt_http_response_t *res, void *ud) {
  tk_t *tk = ud;
  lua_State *L = tk->L;
  char what[400];
  snprintf(what, sizeof what, "%s %.300s", req->method ? req->method : "GET", req->url);
  if (L == NULL || !lua_checkstack(L, 10)) return DT_ENOENT;
  int top = lua_gettop(L);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &HTTP_FN_KEY) != LUA_TFUNCTION) {
    lua_settop(L, top);
    return DT_ENOENT;
  }
  lua_createtable(L, 0, 4);
  lua_pushstring(L, req->method ? req->method : "GET");
  lua_setfield(L, -2, "method");
  lua_pushstring(L, req->url);
  lua_setfield(L, -2, "url");
  lua_createtable(L, 0, (int)req->header_count);
  for (size_t i = 0; i < req->header_count; i++) {
    lua_pushstring(L, req->headers[i].value ? req->headers[i].value : "");
    lua_setfield(L, -2, req->headers[i].name);
  }
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, req->body ? req->body : "", req->body_len);
  lua_setfield(L, -2, "body");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    char msg[1200];
    snprintf(msg, sizeof msg, "the t:http_stub answering %s raised an error: %s", what,
             lua_tostring(L, -1) ? lua_tostring(L, -1) : "(not a string)");
    set_lua_error(tk, msg);
    lua_settop(L, top);
    return DT_ENOENT;
  }
  if (!lua_istable(L, -1)) {
    char msg[600];
    snprintf(msg, sizeof msg, "the flow sent an HTTP request no t:http_stub answers: %s", what);
    set_lua_error(tk, msg);
    lua_settop(L, top);
    return DT_ENOENT;
  }
  int t = lua_gettop(L);
  lua_getfield(L, t, "error");
  if (lua_isstring(L, -1)) {
    res->error = http_error_code(lua_tostring(L, -1));
    res->error_message = "(a t:http_stub said so)";
  }
  lua_pop(L, 1);
  lua_getfield(L, t, "status");
  res->status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 200;
  lua_pop(L, 1);
  lua_getfield(L, t, "body");
  size_t blen = 0;
  res->body = lua_isstring(L, -1) ? lua_tolstring(L, -1, &blen) : "";
  res->body_len = blen;
  lua_pop(L, 1); /* the string stays referenced by the answer, kept below */
  size_t n = 0;
  if (lua_getfield(L, t, "headers") == LUA_TTABLE) {
    int h = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, h)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) n++;
      lua_pop(L, 1);
    }
    dt_http_header_t *hs = lua_newuserdatauv(L, (n ? n : 1) * sizeof *hs, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, h)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING && i < n) {
        hs[i].name = lua_tostring(L, -2);
        hs[i].value = lua_tostring(L, -1);
        i++;
      }
      lua_pop(L, 1);
    }
    res->headers = hs;
    res->header_count = i;
    lua_rawsetp(L, LUA_REGISTRYINDEX, &HTTP_HDRS_KEY);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, t);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &HTTP_LAST_KEY);
  lua_settop(L, top);
  return 0;
}

static const char *opt_string(lua_State *L, int idx, const char *key) {
  lua_getfield(L, idx, key);
  const char *s = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1); /* the string stays referenced by the table */
  return s;
}

/* The settings table at idx (test.options{settings=}) into s; false with the reason on the
   stack's top. Same rules as the config's flow_settings (config_settings.h). */
static bool test_settings(lua_State *L, int idx, dt_config_settings_t *s) {
  if (lua_getfield(L, idx, "settings") != LUA_TTABLE) {
    lua_pop(L, 1);
    return true;
  }
  char err[256] = "";
  int rc = 0;
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    int t = lua_type(L, -1);
    if (name == NULL || (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN))
      rc = dt_seterr(err, sizeof err, DT_EINVAL, "settings: name = string, number or boolean (at %s)",
                     name ? name : luaL_typename(L, -2));
    else
      rc = dt_settings_set(s, name, t == LUA_TSTRING ? DT_SETTING_STRING : t == LUA_TNUMBER ? DT_SETTING_NUMBER
                                                                                          : DT_SETTING_BOOLEAN,
                           t == LUA_TSTRING ? lua_tostring(L, -1) : NULL, t == LUA_TNUMBER ? lua_tonumber(L, -1) : 0,
                           lua_toboolean(L, -1), err, sizeof err);
    lua_pop(L, 1);
  }
  if (rc != 0) {
    lua_settop(L, idx);
    lua_pushstring(L, err);
    return false;
  }
  lua_pop(L, 1);
  return true;
}

/* start{flows=, prompts=, dialect=, default_flow=, keepalive=, application_instance=, routes=,
   settings=} -> true[, warning] | nil, error */
static int l_start(lua_State *L) {
  tk_t *tk = self(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  if (tk->lr) return luaL_error(L, "the engine is already running");
  dt_config_settings_t settings = {0};
  if (!test_settings(L, 1, &settings)) {
    dt_settings_clear(&settings);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  const char *flows = opt_string(L, 1, "flows");
  const char *prompts = opt_string(L, 1, "prompts");
  const char *dialect = opt_string(L, 1, "dialect");
  const char *default_flow = opt_string(L, 1, "default_flow");
  const char *application_instance = opt_string(L, 1, "application_instance");
  snprintf(tk->tmpdir, sizeof tk->tmpdir, "/tmp/dialtone-test-XXXXXX");
  if (mkdtemp(tk->tmpdir) == NULL) {
    dt_settings_clear(&settings);
    tk->tmpdir[0] = '\0';
    lua_pushnil(L);
    lua_pushfstring(L, "cannot create a temporary directory: %s", strerror(errno));
    return 2;
  }
  snprintf(tk->cdr_path, sizeof tk->cdr_path, "%s/cdr.jsonl", tk->tmpdir);
  dt_localrun_options_t o = {0};
  o.flows_dir = flows;
  o.prompts_dir = prompts;
  o.cdr_path = tk->cdr_path;
  o.time_scale = 0;
  o.dialect = dialect && strcmp(dialect, "beta") == 0 ? DT_GRAPH_BETA : DT_GRAPH_V1;
  o.quiet = 0;
  o.default_flow = default_flow;
  o.application_instance_id = application_instance;
  o.keepalive_simulated = 1; /* the test moves the clock, to the engine's keepAlives too */
  o.flow_settings = &settings; /* copied into the flows' Lua state at the start */
  /* routes = the JSON text of test.options{routes = …} (t:call{routed = true} uses them) */
  const char *routes_json = opt_string(L, 1, "routes");
  cJSON *routes_tree = routes_json ? cJSON_Parse(routes_json) : NULL;
  dt_route_t *routes = NULL;
  if (routes_json) {
    char rerr[400];
    if (dt_routes_from_json(routes_tree, &routes, &o.route_count, rerr, sizeof rerr) != 0) {
      cJSON_Delete(routes_tree);
      dt_settings_clear(&settings);
      remove_tmpdir(tk);
      lua_pushnil(L);
      lua_pushfstring(L, "test.options: %s", rerr);
      return 2;
    }
    o.routes = routes;
  }
  lua_getfield(L, 1, "keepalive"); /* seconds; 0 = the default; < 0 = never */
  o.keepalive_interval_s = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
  lua_pop(L, 1);
  char err[1024] = "";
  tk->L = L;
  int rc = dt_localrun_start(&tk->loop, &o, &tk->lr, err, sizeof err);
  dt_settings_clear(&settings);
  free(routes); /* the engine copied them */
  cJSON_Delete(routes_tree);
  if (rc != 0) {
    tk->lr = NULL;
    remove_tmpdir(tk);
    lua_pushnil(L);
    lua_pushstring(L, err[0] ? err : dt_strerror(rc));
    return 2;
  }
  dt_localrun_on_event(tk->lr, on_event, tk);
  dt_engine_set_http_stub(dt_localrun_engine(tk->lr), http_stub, tk); /* flows never reach the network */
  dt_emulator_set_clock_manual(emu_of(tk), true);
  /* notifications are authenticated: wait for the engine to hold the emulator's keys */
  dt_engine_t *e = dt_localrun_engine(tk->lr);
  uint64_t end = dt_now_ms() + 30000;
  uv_timer_start(&tk->tick, on_tick, TK_TICK_MS, TK_TICK_MS);
  while (!dt_engine_inbound_ready(e) && dt_now_ms() < end) uv_run(&tk->loop, UV_RUN_ONCE);
  uv_timer_stop(&tk->tick);
  if (!dt_engine_inbound_ready(e)) {
    dt__tk_stop_localrun(tk);
    lua_pushnil(L);
    lua_pushstring(L, "the engine did not load the emulator's key set within 30 s");
    return 2;
  }
  lua_pushboolean(L, 1);
  if (err[0]) {
    lua_pushstring(L, err);
    return 2;
  }
  return 1;
}

static int l_stop(lua_State *L) {
  tk_t *tk = self(L);
  tk->L = L;
  dt__tk_stop_localrun(tk);
  return 0;
}

static dt_localrun_t *need_lr(lua_State *L) {
  tk_t *tk = self(L);
  if (tk->lr == NULL) luaL_error(L, "the engine is not running");
  return tk->lr;
}

/* The emulator's typed control API for testkit.lua. Each returns true (or a value) on
   success, or nil and the emulator's reason. JSON-shaped arguments come as JSON text
   (testkit.lua encodes them). */
static int push_refusal(lua_State *L, const char *why) {
  lua_pushnil(L);
  lua_pushstring(L, why[0] ? why : "refused");
  return 2;
}

/* rc 0: true; otherwise nil and why. */
static int push_outcome(lua_State *L, int rc, const char *why) {
  if (rc != 0) return push_refusal(L, why);
  lua_pushboolean(L, 1);
  return 1;
}

static cJSON *json_arg(lua_State *L, int idx) {
  size_t n = 0;
  const char *text = luaL_optlstring(L, idx, NULL, &n);
  cJSON *j = text ? cJSON_ParseWithLength(text, n) : cJSON_CreateObject();
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    luaL_error(L, "testkit: not a JSON object");
  }
  return j;
}

/* place_call(json{from=, to=, script=, modalities=, bot_url=, subject=, meeting=, transferor=,
   on_behalf_of=, policy_recording=}, flow) -> call id
   | nil, why[, true when no such flow]: the call runs the named flow (localrun routes it) */
static int l_place_call(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  const char *flow = luaL_optstring(L, 2, NULL);
  cJSON *b = json_arg(L, 1);
  dt_emulator_call_options_t o;
  char id[DT_EMULATOR_CALL_ID_LEN], why[256] = "";
  int rc = dt_emulator_call_options_json(b, &o, why, sizeof why);
  if (rc == 0) rc = dt_localrun_place_call(lr, flow, &o, id, why, sizeof why);
  cJSON_Delete(b);
  if (rc == DT_ENOENT) {
    push_refusal(L, why);
    lua_pushboolean(L, 1);
    return 3;
  }
  if (rc != 0) return push_refusal(L, why);
  lua_pushstring(L, id);
  return 1;
}

/* dial(flow, {targets = {{kind=, id=, tenant=, name=}, ...}, subject=, organizer=,
   organizer_tenant=, join_id=, passcode=, token=, guest_name=, guest_id=, chat_thread=,
   chat_message=, chat_reply_chain=}) -> true | nil, why: the engine places an outbound call
   that runs flow (testkit.lua flattens t:dial's identities and meeting into this). */
#define TK_MAX_TARGETS 25
static int l_dial(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  const char *flow = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  dt_invitation_t targets[TK_MAX_TARGETS];
  memset(targets, 0, sizeof targets);
  size_t n = 0;
  if (lua_getfield(L, 2, "targets") == LUA_TTABLE) {
    int t = lua_gettop(L);
    while (n < TK_MAX_TARGETS && lua_rawgeti(L, t, (lua_Integer)n + 1) == LUA_TTABLE) {
      dt_identity_t *id = &targets[n].identity;
      id->kind = opt_string(L, -1, "kind");
      id->id = opt_string(L, -1, "id");
      id->tenant_id = opt_string(L, -1, "tenant");
      id->display_name = opt_string(L, -1, "name");
      lua_pop(L, 1); /* the strings stay referenced by the table */
      n++;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1); /* the list stays referenced by argument 2 */
  dt_graph_create_params_t p = {0};
  p.targets = n ? targets : NULL;
  p.target_count = n;
  p.subject = opt_string(L, 2, "subject");
  p.meeting_organizer_id = opt_string(L, 2, "organizer");
  p.meeting_organizer_tenant_id = p.tenant_id = opt_string(L, 2, "organizer_tenant");
  p.meeting_join_id = opt_string(L, 2, "join_id");
  p.meeting_passcode = opt_string(L, 2, "passcode");
  p.meeting_token = opt_string(L, 2, "token");
  p.guest_display_name = opt_string(L, 2, "guest_name");
  p.guest_id = opt_string(L, 2, "guest_id");
  p.chat_thread_id = opt_string(L, 2, "chat_thread");
  p.chat_message_id = opt_string(L, 2, "chat_message");
  p.chat_reply_chain_message_id = opt_string(L, 2, "chat_reply_chain");
  char why[512] = "";
  return push_outcome(L, dt_localrun_dial(lr, flow, &p, why, sizeof why), why);
}

/* press(id, keys, gap_ms) / speak(id, ms) / hangup(id) -> true | nil, why */
static int l_press(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  char why[256] = "";
  int rc = dt_emulator_press(dt_localrun_emulator(lr), luaL_checkstring(L, 1), luaL_checkstring(L, 2),
                             (int64_t)luaL_checkinteger(L, 3), why, sizeof why);
  return push_outcome(L, rc, why);
}

static int l_speak(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  char why[256] = "";
  int rc = dt_emulator_speak(dt_localrun_emulator(lr), luaL_checkstring(L, 1), (int64_t)luaL_checkinteger(L, 2),
                             why, sizeof why);
  return push_outcome(L, rc, why);
}

static int l_hangup(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  char why[256] = "";
  int rc = dt_emulator_hangup(dt_localrun_emulator(lr), luaL_checkstring(L, 1), why, sizeof why);
  return push_outcome(L, rc, why);
}

/* join(id, json{user=|phone=|guest=, name=}) -> participant id | nil, why;
   leave(id, who) -> true | nil, why: people in group calls and meetings */
static int l_join(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  const char *id = luaL_checkstring(L, 1);
  cJSON *b = json_arg(L, 2);
  dt_emulator_person_t who = {0};
  const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "guest");
  const cJSON *nm = cJSON_GetObjectItemCaseSensitive(b, "name");
  who.guest = cJSON_IsString(g) ? g->valuestring : NULL;
  who.name = cJSON_IsString(nm) ? nm->valuestring : NULL;
  if (!who.guest) who.identity = b;
  char pid[DT_EMULATOR_CALL_ID_LEN], why[256] = "";
  int rc = dt_emulator_join(dt_localrun_emulator(lr), id, &who, pid, why, sizeof why);
  cJSON_Delete(b);
  if (rc != 0) return push_refusal(L, why);
  lua_pushstring(L, pid);
  return 1;
}

static int l_leave(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  char why[256] = "";
  int rc = dt_emulator_leave(dt_localrun_emulator(lr), luaL_checkstring(L, 1), luaL_checkstring(L, 2), why, sizeof why);
  return push_outcome(L, rc, why);
}

/* set_party(id, json{behaviour=, answer_delay_ms=, script=}) -> true | nil, why */
/* set_faults(json) -> true | nil, why: POST /emulator/faults (docs/emulator.md "Fault
   injection"); the runner clears them after each test. */
static int l_set_faults(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  const char *body = luaL_checkstring(L, 1);
  cJSON *resp = NULL;
  int status = dt_localrun_control(lr, "POST", "/faults", body, &resp);
  if (status == 200) {
    cJSON_Delete(resp);
    lua_pushboolean(L, 1);
    return 1;
  }
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
  const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
  lua_pushnil(L);
  lua_pushfstring(L, "%d %s", status, msg ? msg : "");
  cJSON_Delete(resp);
  return 2;
}

static int l_set_party(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  const char *id = luaL_checkstring(L, 1);
  cJSON *b = json_arg(L, 2);
  dt_emulator_party_t p = {DT_EMULATOR_ANSWER, -1, cJSON_GetObjectItemCaseSensitive(b, "script")};
  const char *beh = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "behaviour"));
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(b, "answer_delay_ms");
  char why[256] = "";
  int rc = 0;
  if (beh == NULL || strcmp(beh, "answer") == 0) p.behaviour = DT_EMULATOR_ANSWER;
  else if (strcmp(beh, "busy") == 0) p.behaviour = DT_EMULATOR_BUSY;
  else if (strcmp(beh, "noanswer") == 0 || strcmp(beh, "no_answer") == 0) p.behaviour = DT_EMULATOR_NOANSWER;
  else if (strcmp(beh, "reject") == 0 || strcmp(beh, "decline") == 0) p.behaviour = DT_EMULATOR_REJECT;
  else rc = dt_seterr(why, sizeof why, DT_EINVAL, "\"behaviour\" must be \"answer\", \"busy\", \"noanswer\" or \"reject\"");
  if (rc == 0 && d) {
    if (cJSON_IsNumber(d) && d->valuedouble >= 0) p.answer_delay_ms = (int64_t)d->valuedouble;
    else rc = dt_seterr(why, sizeof why, DT_EINVAL, "\"answer_delay_ms\" must be a number from 0 to 86400000");
  }
  if (rc == 0) rc = dt_emulator_set_party(dt_localrun_emulator(lr), id, &p, why, sizeof why);
  cJSON_Delete(b);
  return push_outcome(L, rc, why);
}

/* calls() -> {{id=, ended=, ...}, ...}: every call the emulator holds */
static int l_calls(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  cJSON *r = dt_emulator_calls_json(dt_localrun_emulator(lr));
  dt_lua_push_json(L, cJSON_GetObjectItemCaseSensitive(r, "calls"));
  cJSON_Delete(r);
  return 1;
}

/* reset(): the emulator forgets calls, parties and faults */
static int l_reset(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  self(L)->L = L;
  dt_emulator_reset(dt_localrun_emulator(lr));
  return 0;
}

/* drive{timeout_ms=, target=, check=} -> "matched" | "target" | "check" | "timeout" */
static int l_drive(lua_State *L) {
  tk_t *tk = self(L);
  need_lr(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  if (tk->driving) return luaL_error(L, "cannot wait from inside a timeline callback or wait condition");
  lua_getfield(L, 1, "timeout_ms");
  double timeout = luaL_optnumber(L, -1, tk->timeout_s * 1000.0);
  lua_getfield(L, 1, "target");
  lua_Integer target = luaL_optinteger(L, -1, -1);
  lua_pop(L, 2);
  lua_getfield(L, 1, "check");
  if (lua_isfunction(L, -1)) {
    tk->check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
    tk->check_ref = LUA_NOREF;
  }
  tk->L = L;
  tk->driving = true;
  tk->matched = false;
  tk->quiet = 0;
  tk->check_due = true;
  tk->result = NULL;
  tk->target = target;
  tk->sim = sim_now(tk);
  tk->deadline = dt_now_ms() + (uint64_t)(timeout > 0 ? timeout : 0);
  uv_timer_start(&tk->tick, on_tick, TK_TICK_MS, TK_TICK_MS);
  uv_prepare_start(&tk->prep, on_prepare);
  while (tk->result == NULL) uv_run(&tk->loop, UV_RUN_DEFAULT);
  uv_prepare_stop(&tk->prep);
  uv_timer_stop(&tk->tick);
  uv_timer_stop(&tk->wd);
  tk->driving = false;
  if (tk->check_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, tk->check_ref);
  tk->check_ref = LUA_NOREF;
  if (tk->lua_error) {
    lua_pushstring(L, tk->lua_error);
    free(tk->lua_error);
    tk->lua_error = NULL;
    return lua_error(L);
  }
  lua_pushstring(L, tk->result);
  return 1;
}

static int l_sim_now(lua_State *L) {
  need_lr(L);
  lua_pushinteger(L, (lua_Integer)sim_now(self(L)));
  return 1;
}

static int l_on_entry(lua_State *L) {
  tk_t *tk = self(L);
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (tk->entry_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, tk->entry_ref);
  lua_pushvalue(L, 1);
  tk->entry_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* engine_call(id) -> {flow=, started=, outcome=, state=, gone=} | nil (not in the registry) */
static int l_engine_call(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  const char *id = luaL_checkstring(L, 1);
  dt_call_t *c = dt_calls_find(dt_engine_calls(dt_localrun_engine(lr)), id);
  if (c == NULL) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 6);
  lua_pushstring(L, c->flow ? c->flow : "");
  lua_setfield(L, -2, "flow");
  lua_pushboolean(L, (c->flags & DT_CALLF_STARTED) != 0);
  lua_setfield(L, -2, "started");
  lua_pushstring(L, dt_outcome_name(c->outcome));
  lua_setfield(L, -2, "outcome");
  lua_pushstring(L, dt_call_state_name(c->state));
  lua_setfield(L, -2, "state");
  lua_pushboolean(L, dt_call_is_gone(c));
  lua_setfield(L, -2, "gone");
  lua_pushstring(L, dt_wait_kind_name((dt_wait_kind_t)c->wait));
  lua_setfield(L, -2, "waiting");
  dt_buf_t tags = {0};
  dt_call_tags_json(&c->tags, &tags);
  cJSON *j = cJSON_ParseWithLength(tags.data, tags.len);
  dt_lua_push_json(L, j);
  lua_setfield(L, -2, "tags");
  cJSON_Delete(j);
  dt_buf_free(&tags);
  return 1;
}

/* set_time("2026-12-24T17:59:00", tz) -> the Unix time now on the flows' clock | nil, why.
   The text is the wall-clock time in tz (an IANA zone, default "UTC"); seconds may be
   left out; a trailing Z means UTC (and then tz must be nil or "UTC"). */
static int l_set_time(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  const char *text = luaL_checkstring(L, 1);
  const char *zone = luaL_optstring(L, 2, "UTC");
  size_t n = strlen(text);
  bool z = n > 0 && text[n - 1] == 'Z';
  if (z) n--;
  char date[11];
  int32_t day = 0;
  int h = -1, m = -1, s = 0;
  if (n >= 16 && (text[10] == 'T' || text[10] == ' ')) {
    memcpy(date, text, 10);
    date[10] = '\0';
    char tail[16] = "";
    snprintf(tail, sizeof tail, "%.*s", (int)(n - 11), text + 11);
    int used = 0;
    if (dt_hours_parse_date(date, &day) != 0 ||
        !((sscanf(tail, "%2d:%2d:%2d%n", &h, &m, &s, &used) == 3 && (size_t)used == strlen(tail) && n == 19) ||
          (sscanf(tail, "%2d:%2d%n", &h, &m, &used) == 2 && (size_t)used == strlen(tail) && n == 16)))
      h = -1;
  }
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59) {
    lua_pushnil(L);
    lua_pushfstring(L, "'%s' is not a date and time \"YYYY-MM-DDTHH:MM[:SS]\"", text);
    return 2;
  }
  if (z && strcmp(zone, "UTC") != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "'%s' ends in Z (UTC) but the zone given is %s", text, zone);
    return 2;
  }
  dt_tz_t *tz = NULL;
  char err[256];
  if (dt_tz_load(NULL, zone, &tz, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  int64_t t = dt_tz_from_local(tz, (int64_t)day * 86400 + h * 3600 + m * 60 + s);
  dt_tz_free(tz);
  dt_localrun_set_wall_clock(lr, (double)t);
  lua_pushinteger(L, (lua_Integer)t);
  return 1;
}

/* wall_clock() -> the flows' clock (Unix seconds, simulated) */
static int l_wall_clock(lua_State *L) {
  lua_pushnumber(L, dt_localrun_wall_clock(need_lr(L)));
  return 1;
}

static int l_active_calls(lua_State *L) {
  dt_localrun_t *lr = need_lr(L);
  lua_pushinteger(L, (lua_Integer)dt_engine_active_calls(dt_localrun_engine(lr)));
  return 1;
}

static int l_paths(lua_State *L) {
  tk_t *tk = self(L);
  dt_localrun_t *lr = need_lr(L);
  lua_createtable(L, 0, 3);
  dt__tk_set_string(L, "recordings", dt_localrun_recordings_dir(lr));
  dt__tk_set_string(L, "cdr", tk->cdr_path);
  dt__tk_set_string(L, "emulator", dt_emulator_url(dt_localrun_emulator(lr)));
  return 1;
}

/* ------------------------------------------------------------------ Lua: files and output */

static int l_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *text = NULL;
  size_t len = 0;
  int rc = dt_read_file(path, TK_MAX_FILE_BYTES, &text, &len);
  if (rc != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, rc == DT_ENOENT ? "No such file or directory" : dt_strerror(rc));
    return 2;
  }
  lua_pushlstring(L, text, len);
  free(text);
  return 1;
}

static int l_list_dir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (d == NULL) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  lua_newtable(L);
  lua_Integer i = 1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && i <= 100000) {
    if (e->d_name[0] == '.') continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, i++);
  }
  closedir(d);
  return 1;
}

/* file_kind(path) -> "file" | "dir" | "other" | nil */
static int l_file_kind(lua_State *L) {
  struct stat st;
  if (stat(luaL_checkstring(L, 1), &st) != 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : "other");
  return 1;
}

static int l_write(lua_State *L) {
  tk_t *tk = self(L);
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  fwrite(s, 1, n, tk->out);
  fflush(tk->out);
  return 0;
}

static int l_now_ms(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)dt_now_ms());
  return 1;
}

/* log_begin(): the engine's log goes to a buffer until log_end() returns it. */
static int l_log_begin(lua_State *L) {
  tk_t *tk = self(L);
  if (tk->logf) return 0;
  tk->logbuf = NULL;
  tk->loglen = 0;
  tk->logf = open_memstream(&tk->logbuf, &tk->loglen);
  if (tk->logf) dt_log_set_output(tk->logf);
  return 0;
}

char *dt__tk_log_end(tk_t *tk, size_t *len) {
  if (len) *len = 0;
  if (tk->logf == NULL) return NULL;
  dt_log_set_output(NULL);
  fclose(tk->logf); /* sets logbuf and loglen */
  tk->logf = NULL;
  char *text = tk->logbuf;
  if (len && text) *len = tk->loglen;
  tk->logbuf = NULL;
  return text;
}

/* speech_name(text, voice, rate): the prompt name call:say's speech of text gets (tts.h). */
static int l_speech_name(lua_State *L) {
  char name[DT_TTS_NAME_LEN];
  dt_tts_cache_name(luaL_checkstring(L, 1), luaL_checkstring(L, 2), (int)luaL_checkinteger(L, 3), name);
  lua_pushlstring(L, name, strlen(name) - 4); /* without .wav, as the emulator names prompts */
  return 1;
}

static int l_log_end(lua_State *L) {
  size_t len;
  char *text = dt__tk_log_end(self(L), &len);
  lua_pushlstring(L, text ? text : "", len);
  free(text);
  return 1;
}

const luaL_Reg dt__tk_funcs[] = {
    {"start", l_start},           {"stop", l_stop},           {"place_call", l_place_call},
    {"press", l_press},           {"speak", l_speak},         {"hangup", l_hangup},
    {"set_party", l_set_party},   {"calls", l_calls},         {"reset", l_reset},
    {"set_faults", l_set_faults},
    {"drive", l_drive},           {"sim_now", l_sim_now},     {"on_entry", l_on_entry},
    {"dial", l_dial},             {"engine_call", l_engine_call}, {"active_calls", l_active_calls},
    {"paths", l_paths},           {"read_file", l_read_file}, {"list_dir", l_list_dir},
    {"file_kind", l_file_kind},   {"write", l_write},         {"now_ms", l_now_ms},
    {"json_decode", l_json_decode}, {"log_begin", l_log_begin}, {"log_end", l_log_end},
    {"set_time", l_set_time},     {"wall_clock", l_wall_clock},
    {"join", l_join},             {"leave", l_leave},
    {"on_http", l_on_http},
    {"speech_name", l_speech_name},
    {NULL, NULL}};
