-- prelude.lua — the Lua half of the flow runtime, embedded into the binary.
--
-- Loaded once into the shared state with (methods, internals):
--   methods    the call handle's method table (C primitives); the prelude adds
--              call:menu (built on call:gather and call:play) and call:on_hangup.
--   internals  C helpers: prompt_exists, lib_snapshot and lib_source (require), is_error,
--              pattern_check (lpattern.c), schema
--              (api_schema.lua, the globals a flow may see), dialtone (dial, log, print).
-- Returns {run = runner, make_env = sandbox builder}.
--
-- The runner is the body of every call's coroutine: it xpcalls the flow, tells a hangup
-- (error code "hangup") and a flow-ending primitive (code "ended": reject, redirect) from
-- real errors (which get a traceback), runs the call:on_hangup handlers once, and returns
-- outcome, message to the scheduler.
local methods, internals = ...

local traceback = debug.traceback
local is_error = internals.is_error
local C = internals.dialtone
local schema = internals.schema

local function err_code(e)
  if type(e) == "table" and is_error(e) then return e.code end
  return nil
end

-- ------------------------------------------------------------------ hangup handlers

local handlers = setmetatable({}, {__mode = "k"})

function methods.on_hangup(call, fn)
  if type(fn) ~= "function" then
    error("call:on_hangup expects a function(call, outcome)", 2)
  end
  local list = handlers[call]
  if not list then
    list = {}
    handlers[call] = list
  end
  list[#list + 1] = fn
end

-- ------------------------------------------------------------------ menus

local MENU_OPTS = {prompt = true, options = true, retries = true, timeout = true,
                   invalid = true, noinput = true, flush = true, name = true}
local menu_choice = internals.menu_choice

local function check_key(k)
  if type(k) == "number" and k >= 0 and math.type(k) == "integer" then k = tostring(k) end
  if type(k) ~= "string" or not k:match("^[0-9*#A-D]+$") or #k > 16 then
    error(("call:menu: option '%s' is not a key sequence (0-9 * # A-D)"):format(tostring(k)), 3)
  end
  return k
end

-- call:menu{prompt=, options=, retries=, timeout=, invalid=, noinput=, flush=}
--   options: a list of keys {"1","2","0"} (returns the key pressed) or a map
--            {["1"]="sales", ["2"]="support"} (returns the value, then the key).
--   retries: how many more tries after the first (default 2); invalid/noinput: prompts
--   played (interruptible) after a wrong key or silence. Returns nil when tries run out.
--   flush (default true): keys pressed BEFORE the menu starts are dropped, so a key meant
--   for an earlier prompt (e.g. during the previous menu's last "no input" prompt) never
--   picks an option here and the menu's prompt is always heard (FreeSWITCH
--   playAndGetDigits and Twilio <Gather> behave the same). Keys pressed during the menu's
--   own prompts, its invalid/noinput prompts included, answer its next try. flush = false
--   keeps type-ahead from before the menu (power users who know the tree).
function methods.menu(call, o)
  internals.check_options("call:menu", o, MENU_OPTS,
                          "prompt, options, retries, timeout, invalid, noinput, flush, name")
  -- the menu's name in dt_menu_choices_total: name =, else its prompt when that is a name
  local menu_name = o.name
  if menu_name ~= nil and (type(menu_name) ~= "string" or #menu_name == 0 or #menu_name > 64) then
    error("call:menu: option 'name' must be a string of 1 to 64 characters", 2)
  end
  if menu_name == nil then menu_name = type(o.prompt) == "string" and o.prompt or "menu" end
  local options = o.options
  if type(options) ~= "table" or next(options) == nil then
    error("call:menu: options is required (a list of keys or a map key -> choice)", 2)
  end
  local map, maxlen, minlen = {}, 0, math.huge
  if #options > 0 then
    for _, k in ipairs(options) do
      k = check_key(k)
      map[k] = k
    end
  else
    for k, v in pairs(options) do
      map[check_key(k)] = v
    end
  end
  for k in pairs(map) do
    if #k > maxlen then maxlen = #k end
    if #k < minlen then minlen = #k end
  end
  local retries = o.retries or 2
  if math.type(retries) ~= "integer" or retries < 0 or retries > 20 then
    error("call:menu: retries must be an integer between 0 and 20", 2)
  end
  local timeout = o.timeout or 5
  if type(timeout) ~= "number" or timeout <= 0 then
    error("call:menu: timeout must be a positive number of seconds", 2)
  end
  local flush = o.flush
  if flush == nil then flush = true end
  if type(flush) ~= "boolean" then
    error(("call:menu: option 'flush' must be a boolean, got %s"):format(type(flush)), 2)
  end
  local terminators = (minlen ~= maxlen) and "#" or ""
  for _ = 1, retries + 1 do
    local digits = call:gather{prompt = o.prompt, max = maxlen, timeout = timeout,
                               terminators = terminators, flush = flush}
    flush = false -- later tries keep what was pressed during this menu's own prompts
    if digits ~= "" then
      local v = map[digits]
      if v ~= nil then
        menu_choice(menu_name, digits)
        return v, digits
      end
      if o.invalid then call:play(o.invalid, {barge_in = true}) end
    elseif o.noinput then
      call:play(o.noinput, {barge_in = true})
    end
  end
  menu_choice(menu_name, "none")
  return nil
end

-- ------------------------------------------------------------------ sandbox
--
-- Every flow shares this lua_State, so what a flow can reach must be its own or read-only
-- and hand out nothing writable (issue 10):
--   * library tables (string, table, math, utf8, os, dialtone) are read-only views: an
--     empty proxy over a private snapshot (nested tables become views too). Iteration
--     (pairs, next) walks the snapshot but returns the view as the iterator's state, so
--     the snapshot never escapes; getmetatable gives false; rawset refuses views.
--   * each flow's _ENV is its own; rawset refuses it too (globals raise on write).
--   * require has one module cache per environment tree: a flow version and the modules it
--     loads share a cache, another flow (or another version) loads its own instances.
--     Calls of one flow version share its modules just as they share the flow file's
--     top-level locals: both are that flow's own code.
--   * the string metatable is hidden (getmetatable("") is nil); the error objects' and
--     call handles' metatables are protected in C (__metatable).
--   * no __gc: a finalizer runs with hooks off, so flow code there could hold the loop
--     forever. setmetatable refuses a metatable with a __gc field (Lua marks an object for
--     finalization only if the field exists when the metatable is set).

local weak_keys = {__mode = "k"}
local protected = setmetatable({}, weak_keys)    -- view or environment -> its name (rawset refuses them)
local view_backing = setmetatable({}, weak_keys) -- view -> the private snapshot it reads from
local view_of = {}      -- source table -> its view (one view per library, shared by all flows)

local function readonly_error(name, k, level)
  error(("%s is read-only (cannot set %s.%s)"):format(name, name, tostring(k)), level + 1)
end

local function sandbox_next(t, k)
  local backing = view_backing[t]
  if backing then return next(backing, k) end
  return next(t, k)
end

-- A read-only view of t, taken once: t must not change afterwards (the libraries do not).
local function readonly(t, name)
  local view = view_of[t]
  if view then return view end
  local backing = {}
  view = {}
  view_of[t] = view
  for k, v in next, t do
    if type(v) == "table" then v = readonly(v, name .. "." .. tostring(k)) end
    backing[k] = v
  end
  view_backing[view] = backing
  protected[view] = name
  return setmetatable(view, {
    __index = backing,
    __newindex = function(_, k) readonly_error(name, k, 2) end,
    __pairs = function(v) return sandbox_next, v, nil end,
    __len = function() return #backing end,
    __metatable = false,
  })
end

local function safe_rawset(t, k, v)
  local name = protected[t]
  if name == true then
    error(("the flow's globals are read-only (cannot rawset '%s'; declare it local)"):format(tostring(k)), 2)
  elseif name then
    readonly_error(name, k, 2)
  end
  return rawset(t, k, v)
end

local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in flows (use <close> variables or call:on_hangup)", 2)
  end
  return setmetatable(t, mt)
end

local function safe_getmetatable(v)
  if type(v) == "string" then return nil end -- the string metatable is shared by everyone
  return getmetatable(v)
end

local os_safe = {}
for _, k in ipairs(schema.os_safe) do os_safe[k] = os[k] end
os_safe.time = internals.os_time -- on the flows' clock (flow_time.c): simulated in flow tests
os_safe.date = internals.os_date

-- dialtone.prompts{"bye_en", "bye_es", pattern = "^bye_%a%a$"}: declares prompt names a
-- flow builds at run time, for `dialtone check` (which checks them against the prompt
-- files); here only its form is checked. Returns the table.
local function declare_prompts(t)
  if type(t) ~= "table" then error("dialtone.prompts expects a table of prompt names (and pattern =)", 2) end
  for k, v in pairs(t) do
    if k == "pattern" then
      if type(v) ~= "string" or #v > 256 or not internals.pattern_check(v) then
        error("dialtone.prompts: pattern must be a valid Lua pattern (at most 256 bytes)", 2)
      end
    elseif math.type(k) ~= "integer" then
      error(("dialtone.prompts: unknown option '%s' (pattern)"):format(tostring(k)), 2)
    elseif type(v) ~= "string" then
      error("dialtone.prompts: prompt names must be strings", 2)
    end
  end
  return t
end

local dialtone_mod = {
  dial = C.dial,
  meetings = C.meetings,
  http = C.http,
  log = C.log,
  prompts = declare_prompts,
  prompt_exists = internals.prompt_exists,
  version = "0.1.0",
  now = C.now,
  hours = C.hours,
  settings = C.settings,
}

local make_env
local SNAPSHOT = {} -- modules[SNAPSHOT]: the lib/ texts this flow version reads (lua/libs.c)

-- require for one flow version: modules is that version's own cache, shared with the
-- modules it loads (their environments get the same require).
local function make_require(modules)
  return function(name)
    if type(name) ~= "string" then error("require expects a module name", 2) end
    local m = modules[name]
    if m ~= nil then return m end
    local src, chunkname = internals.lib_source(name, modules[SNAPSHOT])
    if not src then error(chunkname, 2) end
    local fn, err = load(src, chunkname, "t", make_env("lib/" .. name, modules))
    if not fn then error(err, 2) end
    local r = fn()
    if r == nil then r = true end
    modules[name] = r
    return r
  end
end

local IMPL = {
  assert = assert, error = error, ipairs = ipairs, next = sandbox_next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, xpcall = xpcall,
  rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = safe_rawset,
  setmetatable = safe_setmetatable, getmetatable = safe_getmetatable,
  string = string, table = table, math = math, utf8 = utf8, os = os_safe,
  print = C.print, dialtone = dialtone_mod, _VERSION = _VERSION,
  require = make_require, -- a factory: each environment tree gets its own require (make_env)
}

-- The tables are turned into views once, here: every flow gets the same read-only views.
local GLOBALS = {}
for _, g in ipairs(schema.globals) do
  local v = IMPL[g]
  if type(v) == "table" then v = readonly(v, g) end
  GLOBALS[g] = v
end

-- A miss in an environment's globals is an error, not nil (typos surface at once).
local undefined_mt = {
  __index = function(_, k)
    error(("undefined global '%s'"):format(tostring(k)), 2)
  end,
}

local function global_newindex(_, k)
  error(("assignment to global '%s' (flows cannot set globals; declare it local)"):format(tostring(k)), 2)
end

-- A fresh _ENV for one flow version (modules nil: a new module cache) or for a library it
-- requires (its flow's cache): the allow-listed globals of api_schema.lua, tables as
-- read-only views, undefined reads and every global write raise. The _ENV itself stays
-- empty (its globals sit behind __index), so assigning even an existing global such as
-- `print = nil` reaches __newindex and raises instead of changing it for the flow's
-- other calls; rawset refuses it.
make_env = function(name, modules)
  local globals = setmetatable({}, undefined_mt)
  for g, v in next, GLOBALS do globals[g] = v end
  if GLOBALS.require then globals.require = make_require(modules or {[SNAPSHOT] = internals.lib_snapshot()}) end
  local env = setmetatable({}, {__index = globals, __newindex = global_newindex, __metatable = false})
  protected[env] = true
  return env
end

-- ------------------------------------------------------------------ runner

local function on_error(e)
  local code = err_code(e)
  if code == "hangup" or code == "ended" then return e end
  local msg
  if type(e) == "string" then msg = e
  elseif code then msg = tostring(e)
  else msg = ("(error object is a %s value)"):format(type(e)) end
  return traceback(msg, 2)
end

local function run(call, flow)
  local ok, err = xpcall(flow, on_error, call)
  local outcome, message = "completed", nil
  if not ok then
    local code = err_code(err)
    if code == "hangup" then
      outcome = "hangup"
    elseif code ~= "ended" then
      outcome = "error"
      message = tostring(err)
    end
  end
  local list = handlers[call]
  if list then
    handlers[call] = nil
    for i = 1, #list do
      local ok2, e2 = xpcall(list[i], on_error, call, outcome)
      if not ok2 and err_code(e2) ~= "hangup" then
        C.log("warn", "call:on_hangup handler failed: " .. tostring(e2))
      end
    end
  end
  return outcome, message
end

return {run = run, make_env = make_env}
