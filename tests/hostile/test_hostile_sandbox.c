/*
 * test_hostile_sandbox.c — no flow can reach shared state (issue 10, points 1 and 2).
 *
 * All flows share one lua_State, so every route by which a flow could get hold of a table,
 * metatable or function that other calls also use is tried here by a hostile call, while a
 * victim call of ANOTHER flow waits in a gather. Afterwards the victim reports what the
 * shared library functions, a required module and its own error objects do; the test
 * asserts the victim saw normal behaviour, that each hostile attempt failed with a clear
 * error (or reached only harmless read-only views), and that no finalizer ever ran flow
 * code (the engine is closed, which runs every pending finalizer, and the log is read).
 */
#include <stdio.h>
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

#define HOSTILE_FROM "\"to\":{\"phone\":\"+18005550100\"}"
static const dt_route_t ROUTES[] = {{.match = "+18005550100", .flow = "hostile"}};

/* A library module both flows require: its tables must be each flow's own. */
static int write_lib(dt_harness_t *h, const char *name, const char *text) {
  char path[700];
  snprintf(path, sizeof path, "%s/lib", h->flows_dir);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/lib/%s.lua", h->flows_dir, name);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(text, f);
  return fclose(f);
}

/* The victim: parks in a gather while the hostile call runs, then reports what it sees. */
static const char VICTIM[] =
    "local shared = require('shared')\n"
    "return function(call)\n"
    "  call:answer()\n"
    "  call:gather{max = 1, timeout = 60}\n"
    "  dialtone.log('info', 'VICTIM rep', string.rep('ab', 2), ('ab'):rep(2), ('x'):upper())\n"
    "  dialtone.log('info', 'VICTIM libs', table.concat({1, 2}, ','), math.max(1, 2), utf8.char(72),\n"
    "               type(os.time()), dialtone.version, _VERSION)\n"
    "  dialtone.log('info', 'VICTIM module', shared.greeting, shared.list[1], shared.hello(),\n"
    "               require('shared') == shared)\n"
    "  local ok, e = pcall(call.gather, call, {max = 1, timeout = 60}) -- the test hangs up here\n"
    "  dialtone.log('info', 'VICTIM error', ok, tostring(e), e.code, rawget(e, 'pwned'), e.pwned)\n"
    "end\n";

static const char LIB[] =
    "local M = {greeting = 'hello', list = {1, 2}}\n"
    "function M.hello() return M.greeting end\n"
    "return M\n";

/* Each attempt logs "HOSTILE <route> <result>". evil() replaces whatever it reaches. */
static const char HOSTILE[] =
    "local function evil() return 'pwned' end\n"
    "local function log(...) dialtone.log('info', 'HOSTILE', ...) end\n"
    "local function msg(e) return (tostring(e):gsub('^[^:]*:%d+: ', '')) end\n"
    "local function try(route, f)\n"
    "  local ok, e = pcall(f)\n"
    "  log(route, ok and 'ok' or 'refused', ok and tostring(e) or msg(e))\n"
    "end\n"
    "-- write evil() into every key of t (and one more key), wherever t came from\n"
    "local function poison(t)\n"
    "  if type(t) ~= 'table' then return 'not-a-table' end\n"
    "  local keys = {}\n"
    "  for k in next, t do keys[#keys + 1] = k end\n"
    "  local ok = pcall(function()\n"
    "    for _, k in ipairs(keys) do t[k] = evil end\n"
    "    t.version = 'pwned'; t.greeting = 'pwned'\n"
    "  end)\n"
    "  return ok and 'poisoned' or 'read-only'\n"
    "end\n"
    "local LIBS = {string = string, table = table, math = math, utf8 = utf8, os = os, dialtone = dialtone}\n"
    "local NAMES = {'string', 'table', 'math', 'utf8', 'os', 'dialtone'}\n"
    "local shared = require('shared')\n"
    "return function(call)\n"
    "  call:answer()\n"
    "  for _, name in ipairs(NAMES) do\n"
    "    local lib = LIBS[name]\n"
    "    -- pairs: the iterator state must not be the backing table\n"
    "    local f, s = pairs(lib)\n"
    "    log('pairs', name, rawequal(s, lib) and 'state-is-the-view' or type(s), poison(s))\n"
    "    -- values handed out by iteration and by next() are functions, numbers, strings or views\n"
    "    local n, tables = 0, 0\n"
    "    for k, v in pairs(lib) do\n"
    "      n = n + 1\n"
    "      if type(v) == 'table' then tables = tables + 1; log('nested', name, k, poison(v)) end\n"
    "    end\n"
    "    local k1, v1 = next(lib)\n"
    "    log('iterate', name, n > 0 and 'keys' or 'empty', tables, k1 ~= nil and type(v1) or 'nil')\n"
    "    log('getmetatable', name, tostring(getmetatable(lib)))\n"
    "    try('rawset-' .. name, function() rawset(lib, 'max', evil) end)\n"
    "    try('set-' .. name, function() lib.max = evil end)\n"
    "  end\n"
    "  -- the one table inside dialtone (dialtone.meetings) is a read-only view too\n"
    "  log('poison-meetings', poison(dialtone.meetings), type(dialtone.meetings.create))\n"
    "  -- the string metatable and its __index (the real string table)\n"
    "  log('strmeta', tostring(getmetatable('')), type(('').rep))\n"
    "  try('strset', function() local s = ''; s.rep = evil end)\n"
    "  -- the environment\n"
    "  log('envmeta', tostring(getmetatable(_ENV)))\n"
    "  try('rawset-env', function() rawset(_ENV, 'string', {rep = evil}) end)\n"
    "  try('global-existing', function() string = {rep = evil} end)\n"
    "  try('global-nil', function() print = nil end)\n"
    "  log('own-rep', string.rep('ab', 2), type(print))\n"
    "  -- the call handle\n"
    "  log('callmeta', type(getmetatable(call)), tostring(getmetatable(call)))\n"
    "  try('call-set', function() call.menu = evil end)\n"
    "  -- a required module: the flow's own instance, so mutating it stays here\n"
    "  shared.greeting = 'pwned'; shared.list[1] = 99; shared.hello = evil\n"
    "  log('module', require('shared').greeting)\n"
    "  -- __gc: refused directly, harmless when added later to a metatable the flow owns\n"
    "  try('gc-direct', function() setmetatable({}, {__gc = function() dialtone.log('info', 'GC RAN direct') end}) end)\n"
    "  try('gc-false', function() setmetatable({}, {__gc = false}) end)\n"
    "  local late = {}\n"
    "  setmetatable({}, late)\n"
    "  late.__gc = function() dialtone.log('info', 'GC RAN late') end\n"
    "  -- an error object a primitive raised: its metatable is shared by every error object\n"
    "  call:hangup()\n"
    "  local ok, err = pcall(call.play, call, 'welcome')\n"
    "  log('errobj', ok, type(err), err and err.code)\n"
    "  local mt = getmetatable(err)\n"
    "  log('errmeta', type(mt), tostring(mt))\n"
    "  if type(mt) == 'table' then\n"
    "    mt.__tostring = evil\n"
    "    mt.__index = function() return 'pwned' end\n"
    "    mt.__gc = function() dialtone.log('info', 'GC RAN errmeta') end\n"
    "    rawset(mt, '__gc', mt.__gc)\n"
    "  end\n"
    "  try('errmeta-set', function() setmetatable(err, {}) end)\n"
    "end\n";

static bool has(const char *needle) {
  if (h_log_has(&H, needle)) return true;
  fprintf(stderr, "  log lacks: %s\n", needle);
  return false;
}

/* Every route at once: the victim (another flow, running concurrently) sees nothing change. */
H_TEST(a_hostile_flow_cannot_change_what_other_flows_see, .time_scale = 0, .routes = ROUTES,
       .route_count = 1) {
  DT_ASSERT_EQ_INT(write_lib(&H, "shared", LIB), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main", VICTIM), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "hostile", HOSTILE), 0);
  char victim[128], hostile[128];
  DT_ASSERT_EQ_INT(h_place_call(&H, NULL, victim), 201);
  H_UNTIL(&H, 10000, h_count_requests(&H, victim, "subscribeToTone") == 1);
  DT_ASSERT_EQ_INT(h_count_requests(&H, victim, "subscribeToTone"), 1);

  cJSON *cdr = h_run_call(HOSTILE_FROM, hostile);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(has("HOSTILE errmeta-set "));

  /* the victim, running all along, carries on */
  DT_ASSERT(!h_has_cdr(&H, victim));
  DT_ASSERT_EQ_INT(h_tones(&H, victim, "5"), 200);
  H_UNTIL(&H, 10000, h_log_has(&H, "VICTIM module")); /* then it waits in its second gather */
  DT_ASSERT_EQ_INT(h_hangup(&H, victim), 200);
  H_UNTIL(&H, 10000, h_has_cdr(&H, victim));
  cdr = h_cdr(&H, victim);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "hangup"));
  cJSON_Delete(cdr);

  DT_ASSERT(has("HOSTILE nested dialtone settings read-only"));
  DT_ASSERT(has("HOSTILE nested dialtone meetings read-only"));
  DT_ASSERT(!h_log_has(&H, "poisoned"));
  /* what the victim saw: the real library functions, its own module, plain error objects */
  DT_ASSERT(has("VICTIM rep abab abab X"));
  DT_ASSERT(has("VICTIM libs 1,2 2 H number 0.1.0 Lua 5.4"));
  DT_ASSERT(has("VICTIM module hello 1 hello true"));
  DT_ASSERT(has("VICTIM error false hangup: the call has ended hangup nil nil"));

  DT_ASSERT(has("HOSTILE poison-meetings read-only function"));
  /* pairs/next hand out the read-only view, never the backing table; values are not tables */
  static const char *const libs[] = {"string", "table", "math", "utf8", "os", "dialtone"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(libs); i++) {
    char line[160];
    snprintf(line, sizeof line, "HOSTILE pairs %s state-is-the-view read-only", libs[i]);
    DT_ASSERT(has(line));
    /* dialtone holds two tables, dialtone.meetings and dialtone.settings: views like the others */
    int nested = strcmp(libs[i], "dialtone") == 0 ? 2 : 0;
    snprintf(line, sizeof line, "HOSTILE iterate %s keys %d ", libs[i], nested);
    DT_ASSERT(has(line));
    snprintf(line, sizeof line, "HOSTILE iterate %s keys %d nil", libs[i], nested); /* next() works on a view */
    DT_ASSERT(!h_log_has(&H, line));
    snprintf(line, sizeof line, "HOSTILE getmetatable %s false", libs[i]);
    DT_ASSERT(has(line));
    snprintf(line, sizeof line, "HOSTILE rawset-%s refused %s is read-only", libs[i], libs[i]);
    DT_ASSERT(has(line));
    snprintf(line, sizeof line, "HOSTILE set-%s refused %s is read-only (cannot set %s.max)", libs[i], libs[i],
             libs[i]);
    DT_ASSERT(has(line));
  }
  DT_ASSERT(has("HOSTILE strmeta nil function"));
  DT_ASSERT(has("HOSTILE strset refused attempt to index a string value"));
  DT_ASSERT(has("HOSTILE envmeta false"));
  DT_ASSERT(has("HOSTILE rawset-env refused the flow's globals are read-only (cannot rawset 'string'; declare it local)"));
  DT_ASSERT(has("HOSTILE global-existing refused assignment to global 'string' (flows cannot set globals"));
  DT_ASSERT(has("HOSTILE global-nil refused assignment to global 'print'"));
  DT_ASSERT(has("HOSTILE own-rep abab function"));
  DT_ASSERT(has("HOSTILE callmeta string locked"));
  DT_ASSERT(has("HOSTILE call-set refused call handles are read-only"));
  DT_ASSERT(has("HOSTILE module pwned")); /* its own instance: its own business */
  DT_ASSERT(has("HOSTILE gc-direct refused __gc metamethods are not allowed"));
  DT_ASSERT(has("HOSTILE gc-false refused __gc metamethods are not allowed"));
  DT_ASSERT(has("HOSTILE errobj false table hangup"));
  DT_ASSERT(has("HOSTILE errmeta boolean false"));
  DT_ASSERT(has("HOSTILE errmeta-set refused cannot change a protected metatable"));

  /* closing the engine runs every pending finalizer: none may be flow code */
  DT_ASSERT(h_close_engine(&H));
  DT_ASSERT(!h_log_has(&H, "GC RAN"));
}

/* Two calls of two flows requiring the same module get two instances; a call that changes
   its module's table changes it for its own flow only (calls of one flow version share it,
   as they share the flow file's top-level locals). */
H_TEST(required_modules_are_per_flow, .time_scale = 0, .routes = ROUTES, .route_count = 1) {
  DT_ASSERT_EQ_INT(write_lib(&H, "counter", "local M = {n = 0}\nfunction M.bump() M.n = M.n + 1 return M.n end\nreturn M\n"), 0);
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "local c = require('counter')\n"
                          "return function(call) dialtone.log('info', 'MAIN', c.bump(), c.bump()) end\n"),
                   0);
  DT_ASSERT_EQ_INT(h_flow(&H, "hostile",
                          "return function(call)\n"
                          "  local c = require('counter')\n"
                          "  c.n = 1000\n"
                          "  dialtone.log('info', 'HOSTILE', c.bump())\n"
                          "end\n"),
                   0);
  char a[128], b[128], c[128];
  cJSON *cdr = h_run_call(HOSTILE_FROM, a);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  cdr = h_run_call(NULL, b);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  cdr = h_run_call(NULL, c);
  DT_ASSERT(cdr != NULL);
  cJSON_Delete(cdr);
  DT_ASSERT(has("HOSTILE 1001"));
  DT_ASSERT(has("MAIN 1 2"));
  DT_ASSERT(has("MAIN 3 4")); /* the same flow's calls share its module, like its top-level locals */
}

DT_TEST_MAIN()
