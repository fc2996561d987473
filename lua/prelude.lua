-- prelude.lua — the Lua half of the flow runtime, embedded into the binary.
--
-- Loaded once into the shared state with (methods, internals):
--   methods    the call handle's method table (C primitives); the prelude adds
--              call:menu (built on call:gather and call:play) and call:on_hangup.
--   internals  C helpers: prompt_exists, lib_source (require), is_error, schema
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
                   invalid = true, noinput = true}

local function check_key(k)
  if type(k) == "number" and k >= 0 and math.type(k) == "integer" then k = tostring(k) end
  if type(k) ~= "string" or not k:match("^[0-9*#A-D]+$") or #k > 16 then
    error(("call:menu: option '%s' is not a key sequence (0-9 * # A-D)"):format(tostring(k)), 3)
  end
  return k
end

-- call:menu{prompt=, options=, retries=, timeout=, invalid=, noinput=}
--   options: a list of keys {"1","2","0"} (returns the key pressed) or a map
--            {["1"]="sales", ["2"]="support"} (returns the value, then the key).
--   retries: how many more tries after the first (default 2); invalid/noinput: prompts
--   played (interruptible) after a wrong key or silence. Returns nil when tries run out.
function methods.menu(call, o)
  if type(o) ~= "table" then error("call:menu expects an option table", 2) end
  for k in pairs(o) do
    if not MENU_OPTS[k] then
      error(("call:menu: unknown option '%s' (options: prompt, options, retries, timeout, invalid, noinput)")
        :format(tostring(k)), 2)
    end
  end
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
  local terminators = (minlen ~= maxlen) and "#" or ""
  for _ = 1, retries + 1 do
    local digits = call:gather{prompt = o.prompt, max = maxlen, timeout = timeout,
                               terminators = terminators}
    if digits ~= "" then
      local v = map[digits]
      if v ~= nil then return v, digits end
      if o.invalid then call:play(o.invalid, {barge_in = true}) end
    elseif o.noinput then
      call:play(o.noinput, {barge_in = true})
    end
  end
  return nil
end

-- ------------------------------------------------------------------ sandbox

local function readonly(t, name)
  return setmetatable({}, {
    __index = t,
    __newindex = function(_, k)
      error(("%s is read-only (cannot set %s.%s)"):format(name, name, tostring(k)), 2)
    end,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
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

local dialtone_mod = {
  dial = C.dial,
  log = C.log,
  prompt_exists = internals.prompt_exists,
  version = "0.1.0",
}

local modules = {}
local make_env

local function require_(name)
  if type(name) ~= "string" then error("require expects a module name", 2) end
  local m = modules[name]
  if m ~= nil then return m end
  local src, chunkname = internals.lib_source(name)
  if not src then error(chunkname, 2) end
  local fn, err = load(src, chunkname, "t", make_env("lib/" .. name))
  if not fn then error(err, 2) end
  local r = fn()
  if r == nil then r = true end
  modules[name] = r
  return r
end

local IMPL = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, xpcall = xpcall,
  rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset,
  setmetatable = safe_setmetatable, getmetatable = safe_getmetatable,
  string = string, table = table, math = math, utf8 = utf8, os = os_safe,
  print = C.print, dialtone = dialtone_mod, require = require_, _VERSION = _VERSION,
}

local env_mt = {
  __index = function(_, k)
    error(("undefined global '%s'"):format(tostring(k)), 2)
  end,
  __newindex = function(_, k)
    error(("assignment to global '%s' (flows cannot set globals; declare it local)"):format(tostring(k)), 2)
  end,
  __metatable = false,
}

-- A fresh _ENV for one flow (or library): the allow-listed globals of api_schema.lua,
-- tables read-only, undefined reads and every global write raise.
make_env = function(name)
  local env = {}
  for _, g in ipairs(schema.globals) do
    local v = IMPL[g]
    if type(v) == "table" then v = readonly(v, g) end
    env[g] = v
  end
  return setmetatable(env, env_mt)
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
