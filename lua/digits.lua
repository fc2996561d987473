-- digits.lua — digit validation on the call handle (issue 13, point 6), embedded into the
-- binary and run once by lua/sandbox.c with the call handle's method table, after the
-- prelude.
--
--   call:gather{…, pattern =, invalid =, noinput =, retries =}
--       wraps the C gather (lua/call_lua.c): without pattern/invalid/noinput/retries it is
--       the C gather unchanged. With them it is FreeSWITCH's playAndGetDigits: play the
--       prompt, collect, check the entry against the Lua pattern, on a wrong entry play
--       `invalid` (on silence `noinput`, else `invalid`) and try again, `retries` more
--       times; then return nil and a reason ("invalid" or "noinput").
--   call:confirm{digits =, prompt =, question =, yes =, no =, …}
--       "you entered 1 2 3, press 1 to confirm, 2 to re-enter": true, false, or nil and
--       a reason once the tries run out.
--
-- Promises: every option is checked before anything is played (a bad one raises at once,
-- nothing sent); the pattern is at most MAX_PATTERN bytes and compiles (a malformed one
-- raises, checked whole by lua/lpattern.c: Lua itself reports a bad part only when the
-- matcher reaches it); entries are at most 64 keys (gather's own bound), and matching them runs
-- under the flow's instruction budget like any string.find, so no pattern can hold the
-- loop.
local methods, pattern_check = ... -- pattern_check: lua/lpattern.c

local c_gather = methods.gather
local find, type, error, tostring = string.find, type, error, tostring
local mtype = math.type

-- Refuses an argument that is not an option table, and any unknown option, naming the
-- primitive and its options (list, in words); the error points at the flow's line. Shared
-- with the prelude's call:menu (sandbox.c hands it over as internals.check_options).
local function check_options(prim, o, allowed, list)
  if type(o) ~= "table" then error(prim .. " expects an option table", 3) end
  for k in pairs(o) do
    if not allowed[k] then error(("%s: unknown option '%s' (options: %s)"):format(prim, tostring(k), list), 3) end
  end
end

local MAX_PATTERN = 256
local MAX_RETRIES = 20
local MAX_CONFIRM_DIGITS = 18 -- + prompt + question: Graph plays at most 20 prompts at once

local function check_retries(prim, v, default)
  if v == nil then return default end
  if mtype(v) ~= "integer" or v < 0 or v > MAX_RETRIES then
    error(("%s: option 'retries' must be an integer between 0 and %d"):format(prim, MAX_RETRIES), 3)
  end
  return v
end

local function check_pattern(p)
  if p == nil then return nil end
  if type(p) ~= "string" then
    error(("call:gather: option 'pattern' must be a string (a Lua pattern), got %s"):format(type(p)), 3)
  end
  if #p == 0 or #p > MAX_PATTERN then
    error(("call:gather: option 'pattern' must be 1 to %d bytes long"):format(MAX_PATTERN), 3)
  end
  local ok, err = pattern_check(p)
  if not ok then error(("call:gather: option 'pattern' is not a valid Lua pattern (%s)"):format(err), 3) end
  return p
end

-- The prompt options are checked by the C primitives when they are played; a type error
-- here is clearer than one from call:play later.
local function check_prompt_opt(prim, name, v)
  if v ~= nil and type(v) ~= "string" and type(v) ~= "table" then
    error(("%s: option '%s' must be a prompt name, a URL or a list of them, got %s"):format(prim, name, type(v)), 3)
  end
end

function methods.gather(call, o)
  if type(o) ~= "table" or (o.pattern == nil and o.invalid == nil and o.noinput == nil and o.retries == nil) then
    return c_gather(call, o)
  end
  local pattern = check_pattern(o.pattern)
  local retries = check_retries("call:gather", o.retries, 2)
  check_prompt_opt("call:gather", "invalid", o.invalid)
  check_prompt_opt("call:gather", "noinput", o.noinput)
  -- later tries keep the keys pressed during invalid/noinput (flush: before the first only)
  local again = o
  if o.flush then
    again = {}
    for k, v in pairs(o) do again[k] = v end
    again.flush = false
  end
  local why = "noinput"
  for try = 1, retries + 1 do
    local digits, reason = c_gather(call, try == 1 and o or again)
    local valid
    if pattern then valid = find(digits, pattern) ~= nil else valid = digits ~= "" end
    if valid then return digits, reason end
    why = digits == "" and "noinput" or "invalid"
    if try <= retries then
      local p = (why == "noinput" and o.noinput) or o.invalid
      if p ~= nil then call:play(p, {barge_in = true}) end
    end
  end
  return nil, why
end

-- ------------------------------------------------------------------ confirm

local CONFIRM_OPTS = {digits = true, prompt = true, question = true, yes = true, no = true, retries = true,
                      timeout = true, invalid = true, noinput = true, readback = true, digit_prompts = true,
                      flush = true}
local CONFIRM_LIST = "digits, prompt, question, yes, no, retries, timeout, invalid, noinput, readback, " ..
                     "digit_prompts, flush"

local function check_key(name, v, default)
  if v == nil then return default end
  if mtype(v) == "integer" and v >= 0 and v <= 9 then v = tostring(v) end
  if type(v) ~= "string" or not find(v, "^[0-9*#A-D]$") then
    error(("call:confirm: option '%s' must be one DTMF key (0-9 * # A-D)"):format(name), 3)
  end
  return v
end

-- Appends p (nil, a prompt or a list of prompts) to list; returns list.
local function append_prompts(list, p)
  if type(p) == "table" then
    for i = 1, #p do list[#list + 1] = p[i] end
  elseif p ~= nil then
    list[#list + 1] = p
  end
  return list
end

-- The read-back as prompts: digit_prompts (a string.format template, default "digit_%s")
-- for 0-9, "star" and "pound" for * and #.
local function digit_prompt_list(o, digits)
  local tpl = o.digit_prompts or "digit_%s"
  if type(tpl) ~= "string" or not find(tpl, "%%s") or #tpl > 64 then
    error("call:confirm: option 'digit_prompts' must be a name template such as \"digit_%s\"", 3)
  end
  local list = append_prompts({}, o.prompt)
  for i = 1, #digits do
    local d = digits:sub(i, i)
    list[#list + 1] = d == "*" and "star" or d == "#" and "pound" or tpl:format(d)
  end
  return list
end

function methods.confirm(call, o)
  check_options("call:confirm", o, CONFIRM_OPTS, CONFIRM_LIST)
  local digits = o.digits
  if type(digits) ~= "string" or not find(digits, "^[0-9*#]+$") or #digits > MAX_CONFIRM_DIGITS then
    error(("call:confirm: option 'digits' must be 1 to %d keys (0-9 * #)"):format(MAX_CONFIRM_DIGITS), 2)
  end
  local yes, no = check_key("yes", o.yes, "1"), check_key("no", o.no, "2")
  if yes == no then error("call:confirm: yes and no must be different keys", 2) end
  local retries = check_retries("call:confirm", o.retries, 2)
  local timeout = o.timeout or 5
  if type(timeout) ~= "number" or timeout <= 0 or timeout > 3600 then
    error("call:confirm: option 'timeout' must be a number of seconds (0 to 3600)", 2)
  end
  local readback = o.readback
  if readback ~= nil and type(readback) ~= "function" then
    error("call:confirm: option 'readback' must be a function(call, digits)", 2)
  end
  for _, k in ipairs {"prompt", "question", "invalid", "noinput"} do check_prompt_opt("call:confirm", k, o[k]) end
  local flush = o.flush
  if flush == nil then flush = true end
  if type(flush) ~= "boolean" then error("call:confirm: option 'flush' must be a boolean", 2) end
  -- The read-back: a flow's own function, else say_digits when this engine has it, else
  -- one prompt per key. The prompts' form is replayed at every try and the caller may
  -- answer during it; the other forms play once, then the question is asked each try
  -- (flush then drops what was pressed before the question, the read-back included).
  local say_digits = rawget(methods, "say_digits")
  local prompt
  if readback == nil and say_digits == nil then
    prompt = append_prompts(digit_prompt_list(o, digits), o.question)
    if #prompt > 20 then error("call:confirm: at most 20 prompts (prompt + digits + question)", 2) end
  else
    if o.prompt ~= nil then call:play(o.prompt) end
    if readback then readback(call, digits) else say_digits(call, digits) end
    prompt = o.question
  end
  local choice, why = call:gather{prompt = prompt, max = 1, timeout = timeout, terminators = "", flush = flush,
                                  pattern = "^[" .. yes:gsub("[*#]", "%%%0") .. no:gsub("[*#]", "%%%0") .. "]$",
                                  retries = retries, invalid = o.invalid, noinput = o.noinput}
  if choice == nil then return nil, why end
  return choice == yes
end

return {check_options = check_options}
