-- testkit.lua — `dialtone test`: the flow test API (embedded into the binary; the C half is
-- src/testkit.c). One test file runs in its own Lua state, separate from the engine's flows,
-- against its own engine + emulator at time scale 0. docs/flow-testing.md is the guide.
--
--   local test = require "dialtone.test"      -- (also the global `test`)
--   test.options{flows = "../../flows"}        -- optional, relative to this file
--   test("voicemail is saved", function(t)
--     local call = t:call{from = {phone = "+15550100"}}
--     call:expect_prompt("welcome")
--     call:press("1")
--     call:expect_recording_started()
--     call:speak(3); call:press("#")
--     local rec = call:expect_recording{duration = 3}
--     call:expect_hangup()
--   end)
--
-- Time. The emulator's clock is simulated and frozen while test code runs: an action
-- (press, speak, hangup) happens at the simulated instant the last expectation saw. An
-- expectation lets the simulation run, one batch of events at a time, until what it
-- waits for appears in the call's timeline. speak(s) and wait(s) let s simulated seconds
-- pass. The engine's own timers (gather timeouts, call:sleep) are real time.
--
-- Order. Expectations on a call are ordered: each one looks at the timeline after the
-- entry the previous one matched. expect_prompt is strict: the next prompt played must be
-- the one named.
local C, cli = ...

local DEFAULT_WITHIN = 120 -- simulated seconds an expectation waits, from the call's latest event
local FILE = cli.file

-- ---------------------------------------------------------------- small helpers

local function dirname(p)
  return p:match("^(.*)/[^/]*$") or "."
end

local function join(dir, p)
  if p:sub(1, 1) == "/" or dir == "." or dir == "" then return p end
  return dir .. "/" .. p
end

local ESC = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
             ["\r"] = "\\r", ["\t"] = "\\t"}

local function json_encode(v)
  local t = type(v)
  if v == nil then return "null"
  elseif t == "boolean" then return tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v ~= v or v == math.huge or v == -math.huge then error("cannot encode " .. tostring(v) .. " as JSON", 2) end
    return ("%.17g"):format(v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return ESC[c] or ("\\u%04x"):format(c:byte()) end) .. '"'
  elseif t == "table" then
    local out = {}
    if #v > 0 then
      for i = 1, #v do out[i] = json_encode(v[i]) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do out[#out + 1] = json_encode(k) .. ":" .. json_encode(v[k]) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  error("cannot encode a " .. t .. " as JSON", 2)
end

local function secs(ms) return (ms or 0) / 1000 end

-- "user:alice" / "phone:+1555…" for an identity written the way flows write them
-- ({user="id"}, {user={id=}}, {phone="+1…"}, "+1…", "alice").
local ID_KINDS = {"user", "phone", "application", "application_instance", "applicationInstance", "guest"}

local function identity_desc(x)
  if type(x) == "string" then
    if x:find(":", 1, true) then return x:lower() end
    if x:sub(1, 1) == "+" then return "phone:" .. x:lower() end
    return x:lower() -- an id alone: matches any kind
  end
  if type(x) ~= "table" then return nil end
  if x.identity then return identity_desc(x.identity) end
  for _, k in ipairs(ID_KINDS) do
    local v = x[k]
    if v ~= nil then
      local kind = k == "application_instance" and "applicationinstance" or k:lower()
      if type(v) == "table" then v = v.id or v.name end
      return kind .. ":" .. tostring(v):lower()
    end
  end
  return nil
end

local function identity_id(x)
  if type(x) == "string" then return x:match("^[%w]+:(.*)$") or x end
  local d = identity_desc(x)
  return d and (d:match("^[%w]+:(.*)$") or d)
end

-- Does an emulator description ("user:alice") match what the test named?
local function identity_matches(desc, want)
  if want == nil then return true end
  local w = identity_desc(want)
  if not w or type(desc) ~= "string" then return false end
  desc = desc:lower()
  if w:find(":", 1, true) then return desc == w end
  return (desc:match("^[%w]+:(.*)$") or desc) == w
end

local function same(a, b)
  if type(a) == "string" and type(b) == "string" then return a == b end
  if type(a) == "number" and type(b) == "number" then return a == b end
  if type(a) == "table" and type(b) == "table" then
    if #a ~= #b then return false end
    for i = 1, #a do if not same(a[i], b[i]) then return false end end
    for k, v in pairs(a) do
      if math.type(k) ~= "integer" and not same(v, b[k]) then return false end
    end
    return true
  end
  return a == b
end

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) == "table" then
    local ok, s = pcall(json_encode, v)
    return ok and s or tostring(v)
  end
  return tostring(v)
end

-- ---------------------------------------------------------------- failures

-- A failed expectation: raised with error(); the runner prints it with the timeline.
local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(f) return f.message end

-- The file:line in the test file that made the failing call.
local function where()
  for level = 3, 60 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source == "@" .. FILE and info.currentline and info.currentline > 0 then
      return FILE .. ":" .. info.currentline
    end
  end
  return FILE
end

local function fail(call, message)
  error(setmetatable({message = message, where = where(), call = call}, Failure), 0)
end

local function check_opts(name, o, allowed)
  if o == nil then return {} end
  if type(o) ~= "table" then error(name .. ": expected an option table, got " .. type(o), 3) end
  for k in pairs(o) do
    if not allowed[k] then
      local list = {}
      for a in pairs(allowed) do list[#list + 1] = a end
      table.sort(list)
      error(("%s: unknown option '%s' (options: %s)"):format(name, tostring(k), table.concat(list, ", ")), 3)
    end
  end
  return o
end

-- ---------------------------------------------------------------- the run's state

local S = {
  log = {},          -- call id -> {entries = {...}, ended = entry|nil}
  outgoing = {},     -- ids of outgoing calls, in the order they appeared
  calls = {},        -- id -> Call object
  waiter = nil,      -- function() -> true when the current wait is over
  flows = nil,       -- flows dir of this file
  default_flow = "main",
  within = DEFAULT_WITHIN,
  timeout_ms = (cli.timeout or 30) * 1000,
  paths = nil,
  warnings = {},
}

local function record(id)
  local r = S.log[id]
  if not r then
    r = {entries = {}}
    S.log[id] = r
  end
  return r
end

C.on_entry(function(e)
  if type(e.call) == "string" then
    local r = record(e.call)
    if e.kind == "outgoing" and not r.outgoing then
      r.outgoing = e
      S.outgoing[#S.outgoing + 1] = e.call
    end
    r.entries[#r.entries + 1] = e
    if e.kind == "ended" then r.ended = e end
  end
  if S.waiter then return S.waiter() end
  return false
end)

-- Runs the simulation until scan() returns something (a value) or the wait gives up.
-- Returns value, how ("matched", "timeout", ...).
local function wait_for(scan, o)
  o = o or {}
  local v = scan()
  if v ~= nil then return v, "matched" end
  S.waiter = function()
    v = scan()
    return v ~= nil
  end
  local ok, how = pcall(C.drive, {timeout_ms = o.timeout_ms or S.timeout_ms, check = o.check, target = o.target})
  S.waiter = nil
  if not ok then error(how, 0) end
  if v == nil and how == "check" then v = scan() end
  return v, how
end

-- ---------------------------------------------------------------- timelines, readable

local HIDDEN = {notification = true, script_step = false}

local function describe(e)
  local k = e.kind
  if k == "incoming" then return ("from %s to %s"):format(tostring(e.from), tostring(e.to))
  elseif k == "outgoing" then
    return ("from %s to %s%s%s"):format(tostring(e.from), tostring(e.to),
      (e.targets or 0) > 1 and (" (+%d more)"):format(e.targets - 1) or "",
      e.subject and (' subject "%s"'):format(e.subject) or "")
  elseif k == "request" then
    local what = e.action or (e.path or ""):match("([^/]+)$") or e.path or "?"
    if not e.action and e.method == "DELETE" then what = "(hang up)" end
    return ("%s %s -> %s"):format(e.method or "?", what, tostring(e.status))
  elseif k == "prompt" then
    return ("%s (%.1f s)%s"):format(e.name or e.url or "?", secs(e.duration_ms), e.record and ", before a recording" or "")
  elseif k == "recording" then
    if (e.url or "") == "" then return ("no audio: %s"):format(e.reason or "?") end
    return ("%.1f s (%.1f s spoken), %s"):format(secs(e.duration_ms), secs(e.spoken_ms), e.reason or "?")
  elseif k == "tone" then
    return e.tone .. (e.ignored and (" (ignored: " .. e.ignored .. ")") or "")
  elseif k == "speak" then return ("caller speaks for %.1f s"):format(secs(e.ms))
  elseif k == "state" then return e.state
  elseif k == "operation" then return ("%s %s%s"):format(e.type or "?", e.status or "?", e.reason and (" (" .. e.reason .. ")") or "")
  elseif k == "transfer" then return "to " .. tostring(e.target) .. (e.replacesCallId and " replacing " .. e.replacesCallId or "")
  elseif k == "transfer_result" then return ("%s %s%s"):format(tostring(e.target), e.outcome or "?", e.reason and (" (" .. e.reason .. ")") or "")
  elseif k == "caller_hangup" then return "the caller hangs up"
  elseif k == "hangup" then return "the bot hangs up"
  elseif k == "recording_started" then return "listening"
  elseif k == "beep" then return "beep"
  elseif k == "barge_in" then return "the caller interrupted the prompt"
  elseif k == "answered" then return tostring(e.callee or "") .. " answered"
  elseif k == "ended" then
    return ("by %s (%s/%s%s)"):format(e.by or "?", tostring(e.code), tostring(e.subcode), e.message and (" " .. e.message) or "")
  end
  local parts = {}
  for key, v in pairs(e) do
    if key ~= "seq" and key ~= "call" and key ~= "t_ms" and key ~= "time" and key ~= "kind" and key ~= "op" then
      parts[#parts + 1] = key .. "=" .. (type(v) == "table" and show(v) or tostring(v))
    end
  end
  table.sort(parts)
  return table.concat(parts, " ")
end

local function visible(e)
  if HIDDEN[e.kind] then return false end
  if e.kind == "operation" and e.status == "completed" then return false end
  return true
end

-- The timeline of a call as text lines; mark = index after which the wait was looking;
-- upto = how many entries existed when the test ended (later ones are the runner's cleanup).
local function timeline_text(id, mark, call, upto)
  local r = S.log[id]
  local lines = {}
  local head = ("  timeline of call %s"):format(id)
  if call then
    head = head .. (" (%s%s)"):format(tostring(call.direction or "placed by the runner"), call.flow and (", flow " .. call.flow) or "")
  end
  lines[1] = head .. ":"
  if not r or #r.entries == 0 then
    lines[2] = "    (nothing happened)"
    return table.concat(lines, "\n")
  end
  local n = math.min(upto or #r.entries, #r.entries)
  local marked = false
  for i = 1, n do
    local e = r.entries[i]
    if visible(e) then
      lines[#lines + 1] = ("    %8.3f s  %-18s %s"):format(secs(e.t_ms), e.kind, describe(e))
    end
    if mark and i == mark and not marked and i < n then
      lines[#lines + 1] = "    ---------- the expectation looked from here on"
      marked = true
    end
  end
  if mark and not marked then lines[#lines + 1] = "    ---------- the expectation was waiting here" end
  if n < #r.entries then
    local ended = false
    for i = 1, n do
      if r.entries[i].kind == "ended" then ended = true end
    end
    if not ended then lines[#lines + 1] = "    (then the test ended and the runner hung up the call)" end
  end
  return table.concat(lines, "\n")
end

-- ---------------------------------------------------------------- calls

local Call = {}
Call.__index = Call
Call.__tostring = function(c) return "call " .. c.id end

local function new_call(t, id, direction, extra)
  local c = setmetatable({t = t, id = id, direction = direction, cursor = 0}, Call)
  for k, v in pairs(extra or {}) do c[k] = v end
  S.calls[id] = c
  t._calls[#t._calls + 1] = c
  record(id)
  return c
end

function Call:entries() return S.log[self.id].entries end
function Call:timeline() return S.log[self.id].entries end
function Call:ended() return S.log[self.id].ended ~= nil end

-- Names of the prompts played so far.
function Call:prompts()
  local out = {}
  for _, e in ipairs(self:entries()) do
    if e.kind == "prompt" then out[#out + 1] = e.name end
  end
  return out
end

function Call:_last_t()
  local es = self:entries()
  return es[#es] and es[#es].t_ms or 0
end

-- The core of every expectation. want(e) answers true (this entry satisfies it), a string
-- (this entry contradicts it: the failure message), or false/nil (not about this entry).
-- Returns the entry and its index; moves the call's cursor past it unless o.keep.
function Call:_await(desc, want, o)
  o = o or {}
  local within = o.within or S.within
  local limit = self:_last_t() + within * 1000
  local from = self.cursor
  local scan = function()
    local r = S.log[self.id]
    for i = from + 1, #r.entries do
      local e = r.entries[i]
      if e.t_ms and e.t_ms > limit then
        return {fail = ("no %s within %g s (simulated)"):format(desc, within)}
      end
      local w = want(e)
      if w == true then return {entry = e, idx = i} end
      if type(w) == "string" then return {fail = w} end
      if e.kind == "ended" then
        return {fail = ("the call ended (%s) before %s"):format(describe(e), desc)}
      end
    end
    return nil
  end
  local res, how = wait_for(scan, {timeout_ms = o.timeout and o.timeout * 1000})
  if not res then
    if how == "timeout" then
      fail(self, ("expected %s, but nothing came within %g s (real time)"):format(desc, (o.timeout or S.timeout_ms / 1000)))
    end
    fail(self, ("expected %s (the wait ended: %s)"):format(desc, tostring(how)))
  end
  if res.fail then
    self._mark = from
    fail(self, "expected " .. desc .. ", but " .. res.fail)
  end
  if not o.keep then self.cursor = res.idx end
  return res.entry, res.idx
end

-- ---- actions (at the simulated instant the test is at)

-- Runs one operation of the emulator's typed control API (C.place_call, C.press ...);
-- a refusal fails the test with the emulator's reason.
local function control(call, what, fn, ...)
  local r, why = fn(...)
  if r == nil then fail(call, ("%s: the emulator refused it (%s)"):format(what, tostring(why))) end
  return r
end

-- Lets ms of simulated time pass (exactly: the caller's own keys and speech end then).
local function advance(call, ms)
  if ms <= 0 then return end
  local target = C.sim_now() + math.floor(ms)
  local _, how = wait_for(function() return nil end, {
    target = target,
    check = call and function() return S.log[call.id].ended ~= nil end,
  })
  if how == "timeout" then
    fail(call, ("simulated time did not reach +%.1f s within %g s (real time)"):format(ms / 1000, S.timeout_ms / 1000))
  end
end

-- call:press("12#", {gap = 0.15}): the caller presses keys (gap seconds apart, simulated).
function Call:press(keys, o)
  o = check_opts("press", o, {gap = true})
  if type(keys) == "number" then keys = tostring(keys) end
  if type(keys) ~= "string" or not keys:match("^[0-9*#A-D]+$") or #keys > 64 then
    error("press: keys must be a string of 0-9 * # A-D (at most 64)", 2)
  end
  local gap = math.floor((o.gap or 0.15) * 1000)
  control(self, ("press('%s')"):format(keys), C.press, self.id, keys, gap)
  advance(self, (#keys - 1) * gap)
  return self
end

-- call:speak(3): the caller talks for 3 simulated seconds; returns when they stop.
function Call:speak(seconds)
  if type(seconds) ~= "number" or seconds <= 0 or seconds > 3600 then
    error("speak: seconds must be a number above 0 and at most 3600", 2)
  end
  control(self, ("speak(%g)"):format(seconds), C.speak, self.id, math.max(1, math.floor(seconds * 1000 + 0.5)))
  advance(self, seconds * 1000)
  return self
end

-- call:hangup(): the caller (or the callee, for outgoing calls) hangs up.
function Call:hangup()
  control(self, "hangup()", C.hangup, self.id)
  return self
end

-- meeting:join{user = "id", name = "Alice"} | {guest = "Visitor"} | {phone = "+1…"}: a person
-- joins the group call or meeting (every bot leg in the same meeting sees them); returns
-- their participant id. meeting:leave(who): they leave (who: that id, or their user id).
function Call:join(o)
  o = check_opts("join", o, {user = true, phone = true, guest = true, name = true})
  local n = (o.user and 1 or 0) + (o.phone and 1 or 0) + (o.guest and 1 or 0)
  if n ~= 1 then error("join: give one of user=, phone= or guest=", 2) end
  for k, v in pairs(o) do
    if type(v) ~= "string" or v == "" or #v > 256 then error(("join: %s must be a string of 1 to 256 bytes"):format(k), 2) end
  end
  local desc = o.user or o.phone or o.guest
  return control(self, ("join(%s)"):format(desc), C.join, self.id, json_encode(o))
end

function Call:leave(who)
  if type(who) ~= "string" or who == "" or #who > 256 then
    error("leave: give the participant id join returned (or their user id)", 2)
  end
  control(self, ("leave(%s)"):format(who), C.leave, self.id, who)
  return self
end

-- call:wait(2): the caller does nothing for 2 simulated seconds.
function Call:wait(seconds)
  self.t:wait(seconds)
  return self
end

-- ---- expectations

local PROMPT_OPTS = {within = true, timeout = true}

local function prompt_is(e, name)
  return e.name == name or (e.url and (e.url == name or e.url:sub(-#name - 5) == "/" .. name .. ".wav"))
end

-- call:expect_prompt("welcome"): the next prompt played is welcome. Returns
-- {name=, url=, duration= seconds, record=}.
function Call:expect_prompt(name, o)
  o = check_opts("expect_prompt", o, PROMPT_OPTS)
  if type(name) ~= "string" then error("expect_prompt: give the prompt's name", 2) end
  local e = self:_await(("prompt '%s'"):format(name), function(e)
    if e.kind ~= "prompt" then return false end
    if prompt_is(e, name) then return true end
    return ("the next prompt was '%s'"):format(e.name or e.url)
  end, o)
  return {name = e.name, url = e.url, duration = secs(e.duration_ms), record = e.record == true}
end

-- call:expect_speech("text", {voice =, rate =}): the next prompt played is call:say's speech
-- of exactly that text (voice "en-us" and rate 165 unless given: the engine's defaults), or
-- a prompt spoken from its NAME.txt, or a say helper's words spoken. Returns as expect_prompt.
function Call:expect_speech(text, o)
  if type(text) ~= "string" then error("expect_speech: give the text spoken", 2) end
  o = o or {}
  local name = C.speech_name(text, o.voice or "en-us", o.rate or 165)
  local po = {}
  for k, v in pairs(o) do if k ~= "voice" and k ~= "rate" then po[k] = v end end
  return self:expect_prompt(name, po)
end

-- call:expect_prompts{"you_entered", "digit_4", "digit_2"}: these prompts, in order.
function Call:expect_prompts(names, o)
  if type(names) ~= "table" then error("expect_prompts: give a list of prompt names", 2) end
  local out = {}
  for i, n in ipairs(names) do out[i] = self:expect_prompt(n, o) end
  return out
end

-- call:expect_no_prompt(["name"]): from here until the call ends, no prompt (of that name)
-- plays. Waits for the end of the call; does not move the call's cursor.
function Call:expect_no_prompt(name, o)
  if type(name) == "table" then name, o = nil, name end
  o = check_opts("expect_no_prompt", o, PROMPT_OPTS)
  local what = name and ("prompt '%s'"):format(name) or "prompt"
  local from = self.cursor
  local res, how = wait_for(function()
    local r = S.log[self.id]
    for i = from + 1, #r.entries do
      local e = r.entries[i]
      if e.kind == "prompt" and (name == nil or prompt_is(e, name)) then
        return {fail = ("'%s' was played"):format(e.name or e.url)}
      end
    end
    if r.ended then return {ok = true} end
    return nil
  end, {timeout_ms = o.timeout and o.timeout * 1000})
  if not res then
    fail(self, ("expected no %s until the call ends, but it did not end within %g s (real time)"):format(what,
      o.timeout or S.timeout_ms / 1000))
  end
  if res.fail then
    self._mark = from
    fail(self, ("expected no %s until the call ends, but %s"):format(what, res.fail))
  end
  return true
end

function Call:expect_recording_started(o)
  o = check_opts("expect_recording_started", o, PROMPT_OPTS)
  self:_await("the recording to start", function(e)
    if e.kind == "recording_started" then return true end
    if e.kind == "recording" then return "it ended without starting (" .. tostring(e.reason) .. ")" end
    return false
  end, o)
  return self
end

-- The engine's stored copy of a recording (its .json beside the .wav names the location).
local function stored_recording(url)
  local dir = S.paths.recordings
  local names = C.list_dir(dir) or {}
  for _, n in ipairs(names) do
    if n:match("%.json$") then
      local text = C.read_file(dir .. "/" .. n)
      local meta = text and C.json_decode(text)
      if type(meta) == "table" and meta.location == url then
        meta.file = meta.file or (dir .. "/" .. n:gsub("%.json$", ".wav"))
        meta.duration_s = meta.duration_s or meta.duration
        return meta
      end
    end
  end
  return nil
end

-- call:expect_recording{reason=, duration=, min=, max=, tolerance=, file=}: a recording
-- finished. Returns {reason=, duration=, spoken=, url=, file=, bytes=} (seconds; file is
-- the engine's stored WAV, waited for unless file=false).
function Call:expect_recording(o)
  o = check_opts("expect_recording", o, {reason = true, duration = true, min = true, max = true,
                                          tolerance = true, file = true, within = true, timeout = true})
  local e = self:_await("a recording" .. (o.reason and (" (" .. o.reason .. ")") or ""), function(e)
    return e.kind == "recording"
  end, o)
  local rec = {reason = e.reason, duration = secs(e.duration_ms), spoken = secs(e.spoken_ms), url = e.url}
  if o.reason and e.reason ~= o.reason then
    fail(self, ("expected a recording ending with %s, but it ended with %s"):format(o.reason, tostring(e.reason)))
  end
  if (e.url or "") == "" then
    if not o.reason then fail(self, ("expected a recording, but none was made (%s)"):format(tostring(e.reason))) end
    return rec
  end
  local tol = o.tolerance or 0.25
  if o.duration and math.abs(rec.duration - o.duration) > tol then
    fail(self, ("expected a recording of about %g s, but it lasted %.3f s"):format(o.duration, rec.duration))
  end
  if o.min and rec.duration < o.min then
    fail(self, ("expected a recording of at least %g s, but it lasted %.3f s"):format(o.min, rec.duration))
  end
  if o.max and rec.duration > o.max then
    fail(self, ("expected a recording of at most %g s, but it lasted %.3f s"):format(o.max, rec.duration))
  end
  if o.file ~= false then
    local meta = wait_for(function() return stored_recording(e.url) end, {check = function() return stored_recording(e.url) ~= nil end})
    if not meta then fail(self, "the recording was made, but the engine did not store it in " .. S.paths.recordings) end
    if meta.error then fail(self, "the recording was made, but the engine could not store it: " .. tostring(meta.error)) end
    if C.file_kind(meta.file) ~= "file" then fail(self, "the engine's recording file " .. tostring(meta.file) .. " does not exist") end
    rec.file, rec.bytes, rec.stored_duration = meta.file, meta.bytes, meta.duration_s
  end
  return rec
end

-- Waits for Graph's outcome of a request the flow made (what: "the transfer to X"); when
-- o.outcome is given and the outcome differs, fails with mismatch(result).
function Call:_await_outcome(what, match, o, mismatch)
  local r = self:_await("the outcome of " .. what, match, {within = o.within, timeout = o.timeout})
  if o.outcome and r.outcome ~= o.outcome then fail(self, mismatch(r)) end
  return r
end

-- call:expect_transfer{to=, outcome="completed"|"failed"}: the flow transferred the call;
-- waits for Graph's outcome. Returns {target=, outcome=, reason=}.
function Call:expect_transfer(o)
  o = check_opts("expect_transfer", o, {to = true, outcome = true, within = true, timeout = true})
  local desc = "a transfer" .. (o.to and (" to " .. identity_desc(o.to)) or "")
  local e = self:_await(desc, function(e)
    if e.kind ~= "transfer" then return false end
    if identity_matches(e.target, o.to) then return true end
    return ("the call was transferred to %s"):format(tostring(e.target))
  end, o)
  local r = self:_await_outcome("the transfer to " .. tostring(e.target), function(x)
    return x.kind == "transfer_result"
  end, o, function(r)
    return ("expected the transfer to %s to be %s, but it %s (%s)"):format(tostring(e.target), o.outcome,
      tostring(r.outcome), tostring(r.reason or "no reason given"))
  end)
  return {target = e.target, outcome = r.outcome, reason = r.reason}
end

-- group:expect_invite{participant=, outcome="joined"|"busy"|...}: the flow invited someone.
function Call:expect_invite(o)
  o = check_opts("expect_invite", o, {participant = true, outcome = true, within = true, timeout = true})
  local desc = "an invitation" .. (o.participant and (" of " .. identity_desc(o.participant)) or "")
  local e = self:_await(desc, function(e)
    if e.kind ~= "invite" then return false end
    return identity_matches(e.participant, o.participant)
  end, o)
  local r = self:_await_outcome("the invitation of " .. tostring(e.participant), function(x)
    return x.kind == "invite_result" and x.participant == e.participant
  end, o, function(r)
    return ("expected the invitation of %s to end %s, but it ended %s"):format(tostring(e.participant), o.outcome,
      tostring(r.outcome))
  end)
  return {participant = e.participant, outcome = r.outcome, replaces = e.replacesCallId}
end

-- call:expect_hangup{by=}: the call ended (by "bot", "remote", "transfer", "replaced", ...).
-- Returns {by=, code=, subcode=, message=}.
function Call:expect_hangup(o)
  o = check_opts("expect_hangup", o, {by = true, within = true, timeout = true})
  local e = self:_await("the call to end" .. (o.by and (" (by " .. o.by .. ")") or ""), function(e)
    if e.kind ~= "ended" then return false end
    if o.by and e.by ~= o.by then return ("it was ended by %s (%s/%s)"):format(tostring(e.by), tostring(e.code), tostring(e.subcode)) end
    return true
  end, o)
  return {by = e.by, code = e.code, subcode = e.subcode, message = e.message}
end

-- call:expect(kind, {field = value, ...}): the next entry of that kind has those fields.
function Call:expect(kind, fields, o)
  if type(kind) ~= "string" then error("expect: give the timeline entry's kind (\"tone\", \"reject\", ...)", 2) end
  o = check_opts("expect", o, PROMPT_OPTS)
  fields = fields or {}
  local parts = {}
  for k, v in pairs(fields) do parts[#parts + 1] = k .. "=" .. show(v) end
  table.sort(parts)
  local desc = ("a '%s' entry%s"):format(kind, #parts > 0 and (" with " .. table.concat(parts, ", ")) or "")
  return (self:_await(desc, function(e)
    if e.kind ~= kind then return false end
    for k, v in pairs(fields) do
      if not same(e[k], v) and not (type(v) == "string" and type(e[k]) == "string" and identity_matches(e[k], v)) then
        return false
      end
    end
    return true
  end, o))
end

-- call:expect_dtmf("123"): the flow sent these tones (call:send_dtmf).
function Call:expect_dtmf(tones, o)
  return self:expect("dtmf_sent", {tones = tones}, o)
end

local function read_cdrs()
  local text = C.read_file(S.paths.cdr)
  local out = {}
  if text then
    for line in text:gmatch("[^\n]+") do
      local r = C.json_decode(line)
      if type(r) == "table" then out[#out + 1] = r end
    end
  end
  return out
end

local function find_cdr(id)
  for _, r in ipairs(read_cdrs()) do
    if r.call_id == id then return r end
  end
  return nil
end

-- call:tags(): the call's tags (call:tag) — the engine's while the call is up, then its
-- CDR's once written; {} when it has none.
function Call:tags()
  local ec = C.engine_call(self.id)
  if ec then return ec.tags or {} end
  local rec = find_cdr(self.id)
  return rec and rec.tags or {}
end

-- call:expect_cdr{outcome=, digits=, ...}: the call's CDR line (written once the call is
-- over) has these fields. Returns the whole record.
function Call:expect_cdr(fields, o)
  o = check_opts("expect_cdr", o, {timeout = true})
  fields = fields or {}
  local rec = wait_for(function() return find_cdr(self.id) end,
                       {check = function() return find_cdr(self.id) ~= nil end,
                        timeout_ms = o.timeout and o.timeout * 1000})
  if not rec then fail(self, "expected a CDR for the call, but none was written") end
  for k, v in pairs(fields) do
    local got = rec[k]
    if not same(got, v) then
      fail(self, ("expected the CDR's %s to be %s, but it is %s"):format(k, show(v), show(got)))
    end
  end
  return rec
end

-- ---------------------------------------------------------------- incoming calls

-- Waits until the engine runs a flow for an incoming call we placed.
local function await_start(call)
  local function started()
    local ec = C.engine_call(call.id)
    if ec and ec.started then return true end
    local r = record(call.id)
    if r.ended then return true end
    for _, e in ipairs(r.entries) do
      if e.kind == "request" then return true end
    end
    return nil
  end
  local ok = wait_for(started, {check = started})
  if not ok then fail(call, "the engine did not start a flow for the call") end
end

-- ---------------------------------------------------------------- the test context

local T = {}
T.__index = T

local CALL_OPTS = {flow = true, from = true, to = true, script = true, modalities = true, subject = true,
                   meeting = true, transferor = true, on_behalf_of = true, policy_recording = true, routed = true}

-- t:call{flow=, from=, to=, script=, subject=, meeting=, transferor=, on_behalf_of=,
-- policy_recording=, routed=}: places an incoming call that runs flow (the engine routes it
-- there by the call's id); returns the Call. subject .. policy_recording: what Graph says
-- about the call (docs/emulator.md "Incoming context"). routed = true: no flow is named, the
-- engine's routes (test.options{routes=}) choose it, as they would in `dialtone run`.
function T:call(o)
  o = check_opts("t:call", o, CALL_OPTS)
  if o.routed and o.flow then error("t:call: routed = true lets the routes choose the flow; drop flow", 2) end
  if o.subject ~= nil and type(o.subject) ~= "string" then error("t:call: subject must be a string", 2) end
  if o.policy_recording ~= nil and type(o.policy_recording) ~= "boolean" then
    error("t:call: policy_recording must be true or false", 2)
  end
  local flow = (not o.routed) and (o.flow or S.default_flow) or nil
  local body = {from = o.from or {phone = "+15555550100"}, to = o.to, script = o.script, modalities = o.modalities,
                subject = o.subject, meeting = o.meeting, transferor = o.transferor, on_behalf_of = o.on_behalf_of,
                policy_recording = o.policy_recording}
  local id, why, no_such_flow = C.place_call(json_encode(body), flow)
  if not id and no_such_flow then fail(nil, ("t:call: %s"):format(why)) end
  if not id then fail(nil, ("t:call: the emulator refused it (%s)"):format(tostring(why))) end
  local c = new_call(self, id, "incoming", {flow = flow, from = body.from})
  await_start(c)
  if o.routed then -- the flow the routes chose (from the CDR when the call is already over)
    local ec = C.engine_call(id)
    local cdr = not ec and find_cdr(id)
    c.flow = ec and ec.flow or cdr and cdr.flow or nil
  end
  return c
end

-- t:faults{recording_status = 404, graph_status = 500, graph_status_count = 1, ...}: the
-- emulator's fault injection (docs/emulator.md "Fault injection": the same keys), in force
-- until the test ends.
function T:faults(o)
  if type(o) ~= "table" then error("t:faults expects a table (docs/emulator.md \"Fault injection\")", 2) end
  control(nil, "t:faults", C.set_faults, json_encode(o))
  return self
end

-- t:party("agent-7", {behaviour = "busy"|"noanswer"|"answer"|"reject", answer_delay=, script=})
function T:party(who, o)
  o = check_opts("t:party", o, {behaviour = true, behavior = true, answer_delay = true, script = true})
  local id = identity_id(who)
  if type(id) ~= "string" or id == "" then error("t:party: give an identity id or table", 2) end
  local body = {behaviour = o.behaviour or o.behavior or "answer", script = o.script}
  if o.answer_delay then body.answer_delay_ms = math.floor(o.answer_delay * 1000) end
  control(nil, "t:party", C.set_party, id, json_encode(body))
  return self
end

-- t:expect_dial{to=, meeting=}: a flow placed an outbound call (dialtone.dial). Returns the
-- new call's Call.
function T:expect_dial(o)
  o = check_opts("t:expect_dial", o, {to = true, meeting = true, timeout = true, flow = true})
  local desc = "an outbound call" .. (o.to and (" to " .. identity_desc(o.to)) or "") .. (o.meeting and " (meeting)" or "")
  local function scan()
    for i = self._dial_cursor + 1, #S.outgoing do
      local id = S.outgoing[i]
      local e = S.log[id].outgoing
      local ok = e and identity_matches(e.to, o.to)
      if ok and o.meeting ~= nil then ok = (e.meeting == true) == (o.meeting == true) end
      if ok then return {idx = i, id = id, e = e} end
    end
    return nil
  end
  local res, how = wait_for(scan, {timeout_ms = o.timeout and o.timeout * 1000})
  if not res then
    local seen = {}
    for i = self._dial_cursor + 1, #S.outgoing do
      local e = S.log[S.outgoing[i]].outgoing
      seen[#seen + 1] = e and tostring(e.to) or "?"
    end
    fail(nil, ("expected %s, but %s"):format(desc, #seen > 0 and ("only these were dialed: " .. table.concat(seen, ", "))
      or (how == "timeout" and "none was placed within " .. (o.timeout or S.timeout_ms / 1000) .. " s (real time)" or "none was placed")))
  end
  self._dial_cursor = res.idx
  return S.calls[res.id] or new_call(self, res.id, "outgoing", {to = res.e.to, flow = o.flow})
end

-- t:expect_no_dial(): no flow has placed an outbound call (other than those t:expect_dial
-- returned) so far. Checks at once: put it after an expectation that shows the flow is done.
function T:expect_no_dial()
  local seen = {}
  for i = self._dial_cursor + 1, #S.outgoing do
    seen[#seen + 1] = tostring(S.log[S.outgoing[i]].outgoing.to)
  end
  if #seen > 0 then fail(nil, "expected no outbound call, but the flow dialed " .. table.concat(seen, ", ")) end
  return self
end

-- dialtone.dial's identities ({phone="+1…"}, {user="id"}, {user={id=, tenant=, name=}},
-- {application=}, {application_instance=}, {guest=}, with name=/tenant= beside) as the
-- {kind=, id=, tenant=, name=} records C.dial takes.
local IDENTITY_KINDS = {user = "user", phone = "phone", application = "application",
                        application_instance = "applicationInstance", applicationInstance = "applicationInstance",
                        guest = "guest"}
local function flat_identity(v)
  if type(v) ~= "table" then error("t:dial: an identity must be a table such as {user=\"id\"} or {phone=\"+1…\"}", 4) end
  local out = {tenant = v.tenant, name = v.name}
  for key, kind in pairs(IDENTITY_KINDS) do
    local x = v[key]
    if x ~= nil then
      if out.kind then error("t:dial: an identity names one party", 4) end
      out.kind = kind
      if type(x) == "table" then out.id, out.tenant, out.name = x.id, x.tenant or out.tenant, x.name or out.name
      elseif kind == "guest" then out.name = x
      else out.id = x end
    end
  end
  if not out.kind then error("t:dial: the identity names nobody (use user=, phone=, application=, guest=)", 4) end
  return out
end

-- t:dial's options as the flat table C.dial takes (dialtone.dial's meaning of each).
local function flat_dial(p)
  local d = {subject = p.subject, targets = {}}
  local targets = p.targets
  if targets and #targets == 0 then targets = {targets} end -- one identity, not a list
  for i, v in ipairs(targets or {}) do d.targets[i] = flat_identity(v) end
  local m = p.meeting
  if m ~= nil then
    if type(m) ~= "table" then error("t:dial: meeting must be a table", 3) end
    if type(m.organizer) == "table" then
      local org = flat_identity(m.organizer)
      d.organizer, d.organizer_tenant = org.id, org.tenant
    else
      d.organizer = m.organizer
    end
    d.organizer_tenant = m.tenant or d.organizer_tenant
    d.join_id, d.passcode, d.token = m.join_id, m.passcode, m.token
    if type(m.guest) == "table" then d.guest_name, d.guest_id = m.guest.name, m.guest.id else d.guest_name = m.guest end
    if not d.join_id and not d.token and not d.organizer then
      error("t:dial: meeting needs join_id (and passcode), token, or organizer", 3)
    end
  end
  if p.chat ~= nil then
    if type(p.chat) ~= "table" then error("t:dial: chat must be a table", 3) end
    d.chat_thread, d.chat_message, d.chat_reply_chain = p.chat.thread, p.chat.message, p.chat.reply_chain
  end
  return d
end

-- t:dial{flow=, to=, meeting=, subject=}: makes the engine place an outbound call that runs
-- flow (as dialtone.dial{targets={to}, flow=flow} would from a flow) and returns that call.
function T:dial(o)
  o = check_opts("t:dial", o, {flow = true, to = true, targets = true, meeting = true, chat = true, subject = true})
  if type(o.flow) ~= "string" then error("t:dial: flow is required (the flow the new call runs)", 2) end
  local params = {flow = o.flow, subject = o.subject, meeting = o.meeting, chat = o.chat}
  if o.targets then params.targets = o.targets
  elseif o.to then params.targets = {type(o.to) == "string" and (o.to:sub(1, 1) == "+" and {phone = o.to} or {user = o.to}) or o.to}
  end
  if not params.targets and not params.meeting then error("t:dial: give to= (or targets=) or meeting=", 2) end
  local ok, why = C.dial(o.flow, flat_dial(params))
  if not ok then fail(nil, "t:dial: " .. tostring(why)) end
  local to = params.targets and params.targets[1]
  local c = self:expect_dial{to = to, meeting = params.meeting and not params.targets and true or nil}
  c.flow = o.flow
  return c
end

T.dial_flow = T.dial

-- t:wait(2): 2 simulated seconds pass.
function T:wait(seconds)
  if type(seconds) ~= "number" or seconds < 0 or seconds > 86400 then error("wait: seconds must be from 0 to 86400", 2) end
  if seconds == 0 then return self end
  -- the runner moves the simulated clock to exactly that instant (running what is due
  -- on the way, and waiting for the engine between instants)
  advance(nil, math.floor(seconds * 1000))
  return self
end

-- t:calls(): every Call of this test, in order.
function T:calls()
  local out = {}
  for i, c in ipairs(self._calls) do out[i] = c end
  return out
end

function T:fail(message) fail(nil, tostring(message)) end

-- t:cdrs(): every CDR written so far.
function T:cdrs() return read_cdrs() end

-- t:set_time("2026-12-24T17:59:00", "America/New_York"): the flows' clock (dialtone.now,
-- os.time, os.date, hours:open) reads that wall-clock time of that zone (default UTC; a
-- trailing Z is UTC) from now on, and runs on with the simulated clock. Returns the Unix
-- time. Calls already running see the jump too.
function T:set_time(when, tz)
  if type(when) ~= "string" then fail(nil, "t:set_time expects a date and time \"YYYY-MM-DDTHH:MM[:SS]\"") end
  if tz ~= nil and type(tz) ~= "string" then fail(nil, "t:set_time: the zone must be a string like \"America/New_York\"") end
  local t, why = C.set_time(when, tz)
  if not t then fail(nil, ("t:set_time: %s"):format(why)) end
  return t
end

-- t:now(): the flows' clock (Unix seconds with a fraction), as dialtone.now() reads it.
function T:now() return C.wall_clock() end

-- ---------------------------------------------------------------- the file

local tests = {}
local file_options = {}
local OPTION_KEYS = {flows = true, prompts = true, dialect = true, flow = true, within = true, timeout = true,
                     keepalive = true, application_instance = true, routes = true, settings = true}

local test = setmetatable({}, {
  __call = function(_, name, fn)
    if type(name) ~= "string" or type(fn) ~= "function" then
      error("test(name, function(t) ... end)", 2)
    end
    tests[#tests + 1] = {name = name, fn = fn}
  end,
})

function test.skip(name, fn)
  tests[#tests + 1] = {name = name, fn = fn, skip = true}
end

-- test.options{flows=, prompts=, dialect=, flow=, within=, timeout=, keepalive=, routes=}: for
-- the whole file; paths are relative to the test file. keepalive: the engine's keepAlive period
-- in seconds (900..2700, default 1800) or false (never: the emulator ends every call after
-- 45 simulated minutes, as Graph would). application_instance: the engine's
-- graph.application_instance_id (the source of calls to phone numbers; without it the
-- emulator refuses them, as Graph does). routes: the config file's routes ({match=, subject=,
-- policy_recording=, transferred=, meeting=, flow=} tables), for t:call{routed = true}.
-- settings: the flows' dialtone.settings for the file (as the config's flow_settings:
-- name = string, number or boolean).
function test.options(o)
  if type(o) ~= "table" then error("test.options expects a table", 2) end
  for k, v in pairs(o) do
    if not OPTION_KEYS[k] then
      error(("test.options: unknown option '%s' (flows, prompts, dialect, flow, within, timeout, keepalive, application_instance, routes, settings)"):format(tostring(k)), 2)
    end
    file_options[k] = v
  end
end

test.json_encode = json_encode

local function resolve_options()
  local dir = dirname(FILE)
  local base = FILE:match("([^/]+)_test%.lua$")
  local sibling = base and C.file_kind(join(dir, base .. ".lua")) == "file"
  if file_options.flows then S.flows = join(dir, file_options.flows)
  elseif cli.flows then S.flows = cli.flows
  elseif sibling then S.flows = dir
  elseif cli.env_flows then S.flows = cli.env_flows
  else S.flows = "flows" end
  S.prompts = file_options.prompts and join(dir, file_options.prompts) or nil
  S.dialect = cli.dialect or file_options.dialect or "v1.0"
  test.dialect = S.dialect -- what a test reads to expect what its dialect has
  if S.dialect ~= "v1.0" and S.dialect ~= "beta" then error("test.options: dialect must be \"v1.0\" or \"beta\"") end
  if file_options.flow then S.default_flow = file_options.flow
  elseif base and C.file_kind(join(S.flows, base .. ".lua")) == "file" then S.default_flow = base
  else S.default_flow = "main" end
  if file_options.within then S.within = file_options.within end
  if file_options.timeout and not cli.timeout then S.timeout_ms = file_options.timeout * 1000 end
  if file_options.routes ~= nil then
    if type(file_options.routes) ~= "table" or #file_options.routes == 0 then
      error("test.options: routes must be a non-empty list of {match=, subject=, ..., flow=} tables")
    end
    S.routes = json_encode(file_options.routes)
  end
  local ka = file_options.keepalive
  if ka == false then S.keepalive = -1
  elseif ka == nil then S.keepalive = 0
  elseif math.type(ka) == "integer" and ka >= 900 and ka <= 2700 then S.keepalive = ka
  else error("test.options: keepalive must be false or whole seconds in 900..2700") end
  local ai = file_options.application_instance
  if ai ~= nil and (type(ai) ~= "string" or #ai == 0 or #ai > 256 or ai:find("[%c ]")) then
    error("test.options: application_instance must be an id (1 to 256 characters, no spaces)")
  end
  S.application_instance = ai
  local st = file_options.settings
  if st ~= nil and type(st) ~= "table" then
    error("test.options: settings must be a table name = string, number or boolean (dialtone.settings)")
  end
  S.settings = st
end

-- ---------------------------------------------------------------- dialtone.http's stubs

-- t:http_stub(pattern, response): answers the flow's dialtone.http requests whose URL matches
-- pattern: "URL" (that URL, with any query), "URL*" ('*' = any characters, the whole URL with
-- its query must match), either with a method first ("POST https://api/x"). response: a table
-- {status = 200, headers = {}, body = "" | json = {...}, error = "timeout" | "refused" | "dns" |
-- "tls" | "too_large" | "connection"}, or a function(request) returning one (or nil: not
-- answered). request = {method, url, headers, body, json}. The latest stub that matches wins.
-- A request no stub answers fails the test, naming its method and URL. Stubs last one test.
S.http_stubs, S.http_requests = {}, {}

local function glob_match(pat, s)
  local lp = "^" .. pat:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
  return s:find(lp) ~= nil
end

local function stub_matches(st, req)
  if st.method and st.method ~= req.method then return false end
  if st.url:find("*", 1, true) then return glob_match(st.url, req.url) end
  return req.url == st.url or req.url:sub(1, #st.url + 1) == st.url .. "?"
end

local function stub_answer(st, req)
  local r = st.response
  if type(r) == "function" then
    r = r(req)
    if r == nil then return nil end
    if type(r) ~= "table" then error(("t:http_stub(%q): the function must return a table or nil, got %s"):format(st.pattern, type(r)), 0) end
  end
  local out = {status = r.status or 200, headers = {}, body = r.body, error = r.error}
  for k, v in pairs(r.headers or {}) do out.headers[k] = tostring(v) end
  if r.json ~= nil and out.body == nil then
    out.body = json_encode(r.json)
    local has_ct = false
    for k in pairs(out.headers) do if k:lower() == "content-type" then has_ct = true end end
    if not has_ct then out.headers["Content-Type"] = "application/json" end
  end
  out.body = out.body or ""
  return out
end

C.on_http(function(req)
  local ct = ""
  for k, v in pairs(req.headers) do if k:lower() == "content-type" then ct = v end end
  if ct:find("json", 1, true) and req.body ~= "" then req.json = C.json_decode(req.body) end
  S.http_requests[#S.http_requests + 1] = req
  for i = #S.http_stubs, 1, -1 do
    local st = S.http_stubs[i]
    if stub_matches(st, req) then
      local a = stub_answer(st, req)
      if a then return a end
    end
  end
  return nil
end)

local STUB_ERRORS = {timeout = true, refused = true, dns = true, tls = true, too_large = true, connection = true}

function T:http_stub(pattern, response)
  if type(pattern) ~= "string" or pattern == "" then error("t:http_stub: give a URL pattern such as \"https://api.example.com/rx/*\"", 2) end
  local method, url = pattern:match("^(%u+)%s+(%S+)$")
  url = url or pattern
  if url:find("%s") then error("t:http_stub: the pattern is \"URL\" or \"METHOD URL\", got " .. ("%q"):format(pattern), 2) end
  if type(response) == "table" then
    check_opts("t:http_stub", response, {status = true, headers = true, body = true, json = true, error = true})
    if response.error ~= nil and not STUB_ERRORS[response.error] then
      error("t:http_stub: error must be timeout, refused, dns, tls, too_large or connection", 2)
    end
    if response.body ~= nil and response.json ~= nil then error("t:http_stub: give body or json, not both", 2) end
    if response.body ~= nil and type(response.body) ~= "string" then error("t:http_stub: body must be a string", 2) end
    if response.status ~= nil and math.type(response.status) ~= "integer" then error("t:http_stub: status must be an integer", 2) end
  elseif type(response) ~= "function" then
    error("t:http_stub: the response is a table {status =, headers =, body = | json =} or a function(request)", 2)
  end
  S.http_stubs[#S.http_stubs + 1] = {pattern = pattern, method = method, url = url, response = response}
  return self
end

-- t:http_requests() -> every request the flows sent in this test, in order: {method, url,
-- headers, body, json}.
function T:http_requests() return S.http_requests end

-- After a test: every call still up is hung up by its far end, the engine is left with no
-- calls, and the emulator forgets parties and faults.
local function cleanup()
  for _, c in ipairs(C.calls()) do
    if not c.ended then C.hangup(c.id) end
  end
  local function idle() return C.active_calls() == 0 end
  wait_for(function() return idle() or nil end, {check = idle, timeout_ms = 15000})
  local left = C.active_calls()
  C.reset()
  return left
end

local function forget()
  S.log, S.outgoing, S.calls = {}, {}, {}
  S.http_stubs, S.http_requests = {}, {}
end

local function indent(text, pad)
  return (text:gsub("\n$", ""):gsub("[^\n]+", function(l) return pad .. l end))
end

local function report(tc, t, err, log, counts)
  local out = {}
  local function tl(c, mark) return timeline_text(c.id, mark, c, counts[c.id]) end
  if getmetatable(err) == Failure then
    out[#out + 1] = ("  %s: %s"):format(err.where, err.message)
    local shown = {}
    if err.call then
      out[#out + 1] = tl(err.call, err.call._mark or err.call.cursor)
      shown[err.call.id] = true
    end
    for _, c in ipairs(t._calls) do
      if not shown[c.id] then
        out[#out + 1] = tl(c)
        shown[c.id] = true
      end
    end
  else
    out[#out + 1] = "  error: " .. indent(tostring(err), "  "):gsub("^%s+", "")
    for _, c in ipairs(t._calls) do out[#out + 1] = tl(c) end
  end
  if log and log ~= "" then
    local lines = {}
    for l in log:gmatch("[^\n]+") do
      -- the runner's own clock calls (t:wait) refuse their notifications on purpose
      if not l:find("/emulator/health failed", 1, true) then lines[#lines + 1] = l end
    end
    local first = cli.verbose and 1 or math.max(1, #lines - 30)
    out[#out + 1] = ("  engine log%s:"):format(first > 1 and (" (last %d lines)"):format(#lines - first + 1) or "")
    for i = first, #lines do out[#out + 1] = "    " .. lines[i] end
  end
  return table.concat(out, "\n") .. "\n"
end

local function handler(e)
  if getmetatable(e) == Failure then return e end
  local tb = debug.traceback(tostring(e), 2)
  -- the runner's own frames say nothing about the test
  local lines = {}
  for l in tb:gmatch("[^\n]+") do
    if not l:find("^%s*testkit:") and not l:find("^%s*%[C%]: in function 'xpcall'") then lines[#lines + 1] = l end
  end
  return table.concat(lines, "\n")
end

local function run_test(tc)
  local t = setmetatable({name = tc.name, _calls = {}, _dial_cursor = 0, flows = S.flows}, T)
  local ok, err = xpcall(tc.fn, handler, t)
  local counts = {}
  for id, r in pairs(S.log) do counts[id] = #r.entries end
  if type(err) == "table" and err.call and not S.log[err.call.id] then err.call = nil end
  local left = cleanup()
  if ok and left > 0 then
    ok, err = false, setmetatable({message = ("%d call(s) were still running in the engine 15 s after the test"):format(left),
                                   where = FILE}, Failure)
  end
  local log = C.log_end()
  C.log_begin()
  if ok then
    C.write(("ok   %s: %s\n"):format(FILE, tc.name))
    if cli.verbose and log ~= "" then C.write(indent(log, "    ") .. "\n") end
  else
    C.write(("FAIL %s: %s\n"):format(FILE, tc.name))
    C.write(report(tc, t, err, log, counts))
  end
  forget()
  return ok
end

-- ---------------------------------------------------------------- main

_G.test = test
package.preload["dialtone.test"] = function() return test end

local chunk, lerr = loadfile(FILE)
if not chunk then
  C.write(("FAIL %s: %s\n"):format(FILE, lerr))
  return 0, 1
end
local ok, err = xpcall(chunk, debug.traceback)
if not ok then
  C.write(("FAIL %s: the file raised an error while loading:\n  %s\n"):format(FILE, indent(tostring(err), "  "):gsub("^%s+", "")))
  return 0, 1
end
if #tests == 0 then
  C.write(("FAIL %s: no tests in the file (declare them with test(\"name\", function(t) ... end))\n"):format(FILE))
  return 0, 1
end
local selected = {}
for _, tc in ipairs(tests) do
  if not cli.filter or tc.name:find(cli.filter, 1, true) then selected[#selected + 1] = tc end
end
if #selected == 0 then return 0, 0 end

ok, err = pcall(resolve_options)
if not ok then
  C.write(("FAIL %s: %s\n"):format(FILE, tostring(err)))
  return 0, 1
end
C.log_begin()
local started, warning = C.start{flows = S.flows, prompts = S.prompts, dialect = S.dialect,
                                 default_flow = S.default_flow, keepalive = S.keepalive,
                                 application_instance = S.application_instance, routes = S.routes,
                                 settings = S.settings}
if not started then
  local log = C.log_end()
  C.write(("FAIL %s: the engine and emulator did not start: %s\n"):format(FILE, tostring(warning)))
  if log ~= "" then C.write(indent(log, "    ") .. "\n") end
  return 0, 1
end
S.paths = C.paths()
-- The engine compiles every *.lua of the flows directory, this test file too when it sits
-- beside its flow (examples/NAME/NAME_test.lua): that one is not a flow.
if warning and not warning:find("_test%.lua:%d+:") then
  C.write(("note %s: %s\n"):format(FILE, warning))
end
C.log_end()
C.log_begin()

local passed, failed = 0, 0
for _, tc in ipairs(selected) do
  if tc.skip then
    C.write(("skip %s: %s\n"):format(FILE, tc.name))
  elseif run_test(tc) then
    passed = passed + 1
  else
    failed = failed + 1
  end
end
C.stop()
C.log_end()
return passed, failed
